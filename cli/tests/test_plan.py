"""``kurator plan``: the seed's policies over the simulator's example fleet, and the live query."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
import yaml
from typer.testing import CliRunner

from kurator_cli.main import app
from shared.bus import queries
from shared.placement import plan

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CLUSTERS = str(DATA / "clusters.yaml")
NGINX = [str(EXAMPLES / "01-propagationpolicy-nginx.yaml"), str(DATA / "nginx-deployment.yaml")]
FRONTEND = [str(EXAMPLES / "02-clusterpropagationpolicy-frontend.yaml"), str(DATA / "frontend-deployment.yaml")]

runner = CliRunner()


def kurator(*args: str, stdin: str | None = None) -> Any:
    return runner.invoke(app, ["plan", *args], input=stdin)


def files(paths: list[str]) -> list[str]:
    return [arg for p in paths for arg in ("-f", p)]


def as_json(*args: str) -> dict[str, Any]:
    result = kurator(*args, "-o", "json")
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_the_nginx_policy_duplicates_on_its_three_clusters() -> None:
    result = kurator(*files(NGINX), "--clusters", CLUSTERS)
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
    assert lines[0] == ["CLUSTER", "REPLICAS"]
    # ResourceBinding order: most room first (guangzhou), then by name.
    assert lines[1:4] == [["cluster-guangzhou", "3"], ["cluster-beijing", "3"], ["cluster-shanghai", "3"]]
    assert lines[4][:2] == ["LEFT", "OUT"]
    assert {line[0] for line in lines[5:]} == {"cluster-hangzhou", "cluster-suzhou-staging", "edge-site-hangzhou"}
    assert "did not match the placement cluster affinity constraint" in result.stdout


def test_the_frontend_shorthand_is_planned_as_karmada_would_write_it() -> None:
    answer = as_json(*files(FRONTEND), "--clusters", CLUSTERS)
    # 60:40 static weights over 5 replicas; the odd workload UID does not matter here.
    assert answer["clusters"] == [
        {"name": "cluster-hangzhou", "replicas": 2},
        {"name": "cluster-shanghai", "replicas": 3},
    ]
    assert "Kurator shorthand" in answer["notes"][0]
    assert "Aggregated cannot be honoured" in answer["notes"][1]
    assert answer["excluded"]["edge-site-hangzhou"] == "no staticWeightList rule matches it"
    assert answer["excluded"]["cluster-beijing"].startswith("ClusterAffinity: ")
    table = kurator(*files(FRONTEND), "--clusters", CLUSTERS)
    assert "note: replicaSchedulingType: Weighted with weightList is Kurator shorthand" in table.output


def test_yaml_output_and_a_directory_as_input(tmp_path: Path) -> None:
    for path in FRONTEND:
        (tmp_path / Path(path).name).write_text(Path(path).read_text())
    result = kurator("-f", str(tmp_path), "--clusters", CLUSTERS, "-o", "yaml")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["clusters"][1] == {"name": "cluster-shanghai", "replicas": 3}


def test_stdin_and_dynamic_weights() -> None:
    text = (DATA / "web-dynamic.yaml").read_text()
    answer = json.loads(kurator("-f", "-", "--clusters", CLUSTERS, "-o", "json", stdin=text).stdout)
    # Free room for 2 CPU / 4Gi replicas: guangzhou 48, beijing 24, shanghai 24, hangzhou 12, edge 6.
    # Webster: the 10th seat goes to edge (6 > 48/9); the 12th is a beijing/shanghai tie, and with
    # no workload UID the name ascending wins.
    assert answer["clusters"] == [
        {"name": "cluster-beijing", "replicas": 3},
        {"name": "cluster-guangzhou", "replicas": 5},
        {"name": "cluster-hangzhou", "replicas": 1},
        {"name": "cluster-shanghai", "replicas": 2},
        {"name": "edge-site-hangzhou", "replicas": 1},
    ]
    assert list(answer["excluded"]) == ["cluster-suzhou-staging"]


def test_a_previous_binding_is_kept_on_scale_up() -> None:
    args = ("-f", str(DATA / "web-dynamic.yaml"), "--clusters", CLUSTERS, "--previous", str(DATA / "web-binding.yaml"))
    answer = as_json(*args)
    # 4 more replicas by free room (48:24:24:12:6); the 8 already placed stay where they are.
    assert answer["clusters"] == [
        {"name": "cluster-beijing", "replicas": 4},
        {"name": "cluster-guangzhou", "replicas": 2},
        {"name": "cluster-shanghai", "replicas": 6},
    ]
    rescheduled = as_json(*args, "--reschedule")
    assert sum(c["replicas"] for c in rescheduled["clusters"]) == 12
    assert rescheduled["clusters"] != answer["clusters"]


def test_a_previous_spec_clusters_list(tmp_path: Path) -> None:
    previous = tmp_path / "previous.yaml"
    previous.write_text(
        yaml.safe_dump([{"name": "cluster-shanghai", "replicas": 5}, {"name": "cluster-beijing", "replicas": 3}])
    )
    args = ("-f", str(DATA / "web-dynamic.yaml"), "--clusters", CLUSTERS, "--previous", str(previous))
    assert as_json(*args)["clusters"][2] == {"name": "cluster-shanghai", "replicas": 6}


def test_nothing_fits_is_an_error(tmp_path: Path) -> None:
    big = tmp_path / "web.yaml"
    big.write_text((DATA / "web-dynamic.yaml").read_text().replace("replicas: 12", "replicas: 500"))
    result = kurator("-f", str(big), "--clusters", CLUSTERS)
    assert result.exit_code == 1
    assert "error: Unschedulable: failed to assign replicas: failed to scale up: " in result.stderr
    assert "Clusters available replicas 114 are not enough to schedule." in result.stderr
    assert "LEFT OUT" in result.stdout
    as_doc = kurator("-f", str(big), "--clusters", CLUSTERS, "-o", "json")
    assert as_doc.exit_code == 1
    assert json.loads(as_doc.stdout)["error"]["reason"] == "Unschedulable"


def test_input_errors() -> None:
    no_policy = kurator("-f", str(DATA / "nginx-deployment.yaml"), "--clusters", CLUSTERS)
    assert no_policy.exit_code == 1
    assert "no PropagationPolicy or ClusterPropagationPolicy" in no_policy.stderr
    no_clusters = kurator(*files(NGINX), "--clusters", str(DATA / "nginx-deployment.yaml"))
    assert no_clusters.exit_code == 1
    assert "no cluster.karmada.io/v1alpha1 Cluster objects" in no_clusters.stderr
    two_workloads = kurator(*files(NGINX), "-f", str(DATA / "frontend-deployment.yaml"), "--clusters", CLUSTERS)
    assert two_workloads.exit_code == 0  # the policy picks the one it selects
    assert kurator(*files(NGINX), "--clusters", CLUSTERS, "-o", "wide").exit_code == 2


# --- the live fleet: kurator.query.fleet.plan -------------------------------------------------------


@pytest.fixture
def fleet_query(nats_url: str) -> Iterator[None]:
    """A stand-in fleet service answering ``plan`` with the fixture clusters, in its own loop."""
    clusters = list(yaml.safe_load_all(Path(CLUSTERS).read_text()))
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        nc = await nats.connect(nats_url)

        async def source() -> list[dict[str, Any]]:
            return clusters

        async def handle(body: Any) -> dict[str, Any]:
            return await plan.handle(body, source)

        service = await queries.start(nc, service="fleet", version="0.0.0", handlers={"plan": handle})
        ready.set()
        await stop.wait()
        await service.stop()
        await nc.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


@pytest.mark.usefixtures("fleet_query")
def test_without_clusters_the_live_fleet_plans(nats_url: str) -> None:
    result = kurator(*files(FRONTEND), "--nats-url", nats_url, "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["clusters"] == [
        {"name": "cluster-hangzhou", "replicas": 2},
        {"name": "cluster-shanghai", "replicas": 3},
    ]
