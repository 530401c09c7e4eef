"""Kurator ``Application`` end to end: the fleet and apps services over the simulator.

A Fleet of three simulator clusters; an Application with a Git source and a kustomization
policy selecting ``region: east-china`` (shanghai, hangzhou). Covered: the Application applied
before its Fleet is ``Pending`` and is rendered once the Fleet appears; the Flux objects on the
host are named as upstream names them; status per cluster says what was written, that Flux has
not reported yet, whose kubeconfig Secret is missing, and takes Flux's Ready condition when one
is there; a Fleet losing a member and an Application losing a policy delete the delivery units
left out; invalid Applications are rejected with the field; delete cleans up.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from nats.aio.client import Client

from kurator_apps.adapters.flux import FLUX_RESOURCES
from kurator_apps.applications import service as applications
from kurator_fleet import extensions as fleet_extensions
from kurator_sim import app, testing
from kurator_sim.settings import SimSettings
from shared.bus import client, reader
from shared.contracts import kinds, subjects
from shared.k8s import connection, objects, resources
from shared.testing import services
from shared.testing.eventually import eventually

pytestmark = pytest.mark.slow

CRDS = testing.SHARED_CRDS if testing.SHARED_CRDS.is_dir() else None
NS = "default"
APP = "podinfo"
SHANGHAI, HANGZHOU, BEIJING = "cluster-shanghai", "cluster-hangzhou", "cluster-beijing"
WEBAPP = f"webapp-cluster-{SHANGHAI}"
WEBAPP_HZ = f"webapp-cluster-{HANGZHOU}"
KUSTOMIZE = f"kustomize-cluster-{SHANGHAI}"
KUSTOMIZE_HZ = f"kustomize-cluster-{HANGZHOU}"
OWNED = f"apps.kurator.dev/app-name={APP}"
RESYNC = timedelta(seconds=1)
"""How often the service reconciles every Application again (upstream: 30 s)."""

Obj = dict[str, Any]


def fleet(*clusters: str) -> Obj:
    return {
        "apiVersion": "fleet.kurator.dev/v1alpha1",
        "kind": "Fleet",
        "metadata": {"name": "quickstart", "namespace": NS},
        "spec": {"clusters": [{"name": c, "kind": "Cluster"} for c in clusters]},
    }


def application(*policies: str) -> Obj:
    return {
        "apiVersion": "apps.kurator.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": APP, "namespace": NS},
        "spec": {
            "source": {
                "gitRepository": {
                    "url": "https://github.com/stefanprodan/podinfo",
                    "ref": {"branch": "master"},
                    "interval": "3m0s",
                }
            },
            "destination": {"fleet": "quickstart", "clusterSelector": {"matchLabels": {"region": "east-china"}}},
            "syncPolicies": [
                {"name": name, "kustomization": {"interval": "5m0s", "path": f"./{name}", "prune": True}}
                for name in policies
            ],
        },
    }


def address(doc: Obj) -> subjects.ObjectAddress:
    info = kinds.for_object(doc["apiVersion"], doc["kind"])
    return subjects.ObjectAddress(info.service, info.token, doc["metadata"]["namespace"], doc["metadata"]["name"])


async def submit(nc: Client, doc: Obj, *, verb: str = "apply") -> client.Answer:
    [answer] = await client.submit(nc, [(address(doc), doc)], verb=verb, timeout_seconds=30)
    return answer


async def apply(nc: Client, *docs: Obj) -> None:
    for doc in docs:
        answer = await submit(nc, doc)
        assert answer.ok, (answer.result, answer.reasons)


async def status_of(nc: Client, doc: Obj) -> Obj:
    found = await reader.last(nc.jetstream(), subjects.status(address(doc)))
    assert found is not None, "no status yet"
    st: Obj = found.document.get("status") or {}
    return st


def per_cluster(st: Obj) -> dict[tuple[str, str], tuple[str, str]]:
    """(delivery name, cluster) -> (ready, reason)."""
    return {(s["name"], s["cluster"]): (s["ready"], s["reason"]) for s in st.get("syncStatus") or ()}


@dataclass
class Stack:
    host: objects.Objects
    """The host (Karmada) API server, as a test client."""
    http: aiohttp.ClientSession

    async def flux_reports(self, kind: str, name: str, ready: str, reason: str) -> None:
        """Write a Ready condition on a Flux object, as Flux's controller would."""
        condition = {"type": "Ready", "status": ready, "reason": reason, "message": f"flux says {reason}"}
        path = FLUX_RESOURCES[kind].path(namespace=NS, name=name) + "/status"
        body = {"status": {"conditions": [condition]}}
        reply = await testing.call(self.http, "PATCH", path, body, content_type="application/merge-patch+json")
        assert reply.status == 200, reply.body


@pytest.fixture
async def stack(nats_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    kubeconfig = tmp_path / "kubeconfig"
    settings = SimSettings(port=0, time_scale=20.0, kubeconfig=kubeconfig, crds=CRDS)
    common: dict[str, Any] = {"nats_url": nats_url, "kubeconfig": str(kubeconfig), "lease_seconds": 2}
    async with (
        app.running(settings) as sim,
        services.running("fleet", extensions=fleet_extensions.build, **common),
        services.running("apps", extensions=functools.partial(applications.build, resync_every=RESYNC), **common),
        aiohttp.ClientSession(base_url=sim.base_url) as http,
    ):
        api = await connection.api_client(kubeconfig)
        try:
            yield Stack(objects.Objects(api, field_manager="test"), http)
        finally:
            await api.close()


async def flux_objects(host: objects.Objects) -> dict[tuple[str, str], Obj]:
    found: dict[tuple[str, str], Obj] = {}
    for kind, resource in FLUX_RESOURCES.items():
        for obj in await host.list_objects(resource, namespace=NS, label_selector=OWNED):
            found[(kind, obj["metadata"]["name"])] = obj
    return found


async def test_an_application_over_a_fleet_is_rendered_to_flux_per_cluster(nc: Client, stack: Stack) -> None:
    host = stack.host
    # Flux can reach shanghai only: its kubeconfig Secret is on the host (Cluster API's name).
    kubeconfig_secret = {"metadata": {"name": f"{SHANGHAI}-kubeconfig", "namespace": NS}, "stringData": {"value": "x"}}
    await host.apply(resources.SECRETS, kubeconfig_secret)

    # Before its Fleet exists: accepted, Pending, nothing written.
    await apply(nc, application("webapp", "kustomize"))
    st = await status_of(nc, application())
    assert st["phase"] == "Pending"
    assert "Fleet default/quickstart does not exist" in st["conditions"][0]["message"]
    assert await flux_objects(host) == {}

    # The Fleet appears: the Application is rendered without being applied again.
    await apply(nc, fleet(BEIJING, SHANGHAI, HANGZHOU))
    everything = {("GitRepository", APP), *(("Kustomization", n) for n in (WEBAPP, WEBAPP_HZ, KUSTOMIZE, KUSTOMIZE_HZ))}

    async def written(expected: set[tuple[str, str]]) -> dict[tuple[str, str], Obj]:
        found = await flux_objects(host)
        assert set(found) == expected, sorted(found)
        return found

    found = await eventually(lambda: written(everything), timeout_seconds=20, message="Flux objects written")
    source = found[("GitRepository", APP)]
    assert source["spec"]["url"] == "https://github.com/stefanprodan/podinfo"
    assert [m["manager"] for m in source["metadata"]["managedFields"]] == ["kurator-apps"]
    webapp = found[("Kustomization", WEBAPP)]["spec"]
    assert webapp["sourceRef"] == {"kind": "GitRepository", "name": APP}
    assert webapp["kubeConfig"] == {"secretRef": {"name": f"{SHANGHAI}-kubeconfig", "key": "value"}}
    assert webapp["path"] == "./webapp"

    async def phase(expected: str) -> Obj:
        st = await status_of(nc, application())
        assert st["phase"] == expected, st
        return st

    st = await eventually(lambda: phase("Progressing"), timeout_seconds=10, message="status once rendered")
    assert [m["name"] for m in st["fleet"]["members"]] == [BEIJING, SHANGHAI, HANGZHOU]
    assert per_cluster(st) == {
        (WEBAPP, SHANGHAI): ("Unknown", "WaitingForFlux"),
        (WEBAPP_HZ, HANGZHOU): ("Unknown", "KubeconfigSecretMissing"),
        (KUSTOMIZE, SHANGHAI): ("Unknown", "WaitingForFlux"),
        (KUSTOMIZE_HZ, HANGZHOU): ("Unknown", "KubeconfigSecretMissing"),
    }
    assert st["sourceStatus"]["reason"] == "WaitingForFlux"

    # Flux's Ready conditions are picked up by the periodic resync and reported as Flux wrote them.
    await stack.flux_reports("GitRepository", APP, "True", "Succeeded")
    await stack.flux_reports("Kustomization", WEBAPP, "True", "ReconciliationSucceeded")
    await stack.flux_reports("Kustomization", WEBAPP_HZ, "False", "ReconciliationFailed")

    async def flux_said() -> Obj:
        st = await phase("Failed")
        assert per_cluster(st)[(WEBAPP, SHANGHAI)] == ("True", "ReconciliationSucceeded"), st
        return st

    await eventually(flux_said, timeout_seconds=10, message="Flux's conditions in the status")

    # Applied again with one policy fewer, the Application drops that policy's delivery units.
    answer = await submit(nc, application("webapp"))
    assert answer.result == "updated", answer
    await written({("GitRepository", APP), ("Kustomization", WEBAPP), ("Kustomization", WEBAPP_HZ)})
    assert answer.status is not None
    st = answer.status["status"]  # the answer to this intent (a resync may have published since)
    assert st["phase"] == "Failed"
    assert per_cluster(st) == {
        (WEBAPP, SHANGHAI): ("True", "ReconciliationSucceeded"),
        (WEBAPP_HZ, HANGZHOU): ("False", "ReconciliationFailed"),
    }
    assert sorted(st["pruned"]) == [f"Kustomization/{KUSTOMIZE_HZ}", f"Kustomization/{KUSTOMIZE}"]

    # The Fleet loses hangzhou: its delivery unit goes, and what is left is Ready.
    await apply(nc, fleet(BEIJING, SHANGHAI))
    await eventually(
        lambda: written({("GitRepository", APP), ("Kustomization", WEBAPP)}), timeout_seconds=20, message="pruned"
    )
    st = await eventually(lambda: phase("Ready"), timeout_seconds=10, message="ready once hangzhou left")
    assert per_cluster(st) == {(WEBAPP, SHANGHAI): ("True", "ReconciliationSucceeded")}

    # Another Application with a policy of the same name would take over its delivery units
    # (upstream names them after the policy only): refused, naming the policy.
    rival = application("webapp")
    rival["metadata"]["name"] = "rival"
    answer = await submit(nc, rival)
    assert answer.result == "rejected", answer
    assert [r["field"] for r in answer.reasons] == ["spec.syncPolicies[0].name"]
    assert "belongs to Application default/podinfo" in answer.reasons[0]["message"]
    assert set(await flux_objects(host)) == {("GitRepository", APP), ("Kustomization", WEBAPP)}

    # Delete removes what was written.
    answer = await submit(nc, application(), verb="delete")
    assert answer.result == "deleted", answer
    assert await flux_objects(host) == {}
    # The refused rival stays refused once the names are free: the resync keeps only what an
    # intent got accepted. Absence needs a window: a few resync periods.
    await asyncio.sleep(3 * RESYNC.total_seconds())
    rivals = [o for r in FLUX_RESOURCES.values() for o in await host.list_objects(r, namespace=NS)]
    assert rivals == []


TWO_FLEETS = {
    "destination": {"fleet": "quickstart"},
    "syncPolicies": [
        {"kustomization": {"interval": "5m", "prune": True}},
        {"kustomization": {"interval": "5m", "prune": True}, "destination": {"fleet": "other"}},
    ],
}
HELM_SOURCE = {"source": {"helmRepository": {"url": "https://stefanprodan.github.io/podinfo", "interval": "5m"}}}


INVALID = {
    "spec.syncPolicies[1].destination.fleet": TWO_FLEETS,  # upstream's webhook: one fleet per application
    "spec.source": {"source": {}},
    "spec.syncPolicies[0].kustomization": HELM_SOURCE,  # Flux's Kustomization takes Git or OCI sources
}


async def kurator(nats_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "kurator"), *args, "--nats-url", nats_url]
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60)


async def test_invalid_applications_are_rejected_and_the_cli_drives_it(
    nats_url: str, nc: Client, stack: Stack, tmp_path: Path
) -> None:
    """Broken Applications are refused naming the field, before anything is recorded or written;
    ``kurator apply -f`` of an AttachedCluster, a Fleet, an Application and a broken one answers
    each, and ``kurator get`` shows the Application per cluster (the AttachedCluster reached
    through its own kubeconfig Secret)."""
    for field, change in INVALID.items():
        doc = application("webapp")
        doc["spec"].update(copy.deepcopy(change))
        answer = await submit(nc, doc)
        assert answer.result == "rejected", (field, answer)
        assert field in [r["field"] for r in answer.reasons], answer.reasons
    assert await flux_objects(stack.host) == {}

    # An AttachedCluster member: its kubeconfig Secret (in the Fleet's namespace) is what Flux uses.
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "edge", "cluster": {"server": "https://edge-a.example.com:6443"}}],
        "users": [{"name": "edge", "user": {"token": "t0ken"}}],
        "contexts": [{"name": "edge", "context": {"cluster": "edge", "user": "edge"}}],
        "current-context": "edge",
    }
    secret = {
        "metadata": {"name": "edge-a-access", "namespace": NS},
        "stringData": {"config": yaml.safe_dump(kubeconfig)},
    }
    await stack.host.apply(resources.SECRETS, secret)
    attached = {
        "apiVersion": "cluster.kurator.dev/v1alpha1",
        "kind": "AttachedCluster",
        "metadata": {"name": "edge-a", "namespace": NS, "labels": {"region": "east-china"}},
        "spec": {"kubeconfig": {"name": "edge-a-access", "key": "config"}},
    }
    with_edge = fleet(SHANGHAI)
    with_edge["spec"]["clusters"].append({"name": "edge-a", "kind": "AttachedCluster"})

    broken = application("webapp")
    broken["metadata"]["name"] = "broken"
    broken["spec"].update(copy.deepcopy(TWO_FLEETS))
    manifest = tmp_path / "app.yaml"
    manifest.write_text(yaml.safe_dump_all([attached, with_edge, application("webapp"), broken]), encoding="utf-8")
    applied = await kurator(nats_url, "apply", "-f", str(manifest))
    assert applied.returncode != 0  # one document was refused
    out = applied.stdout + applied.stderr
    assert "application.apps.kurator.dev/podinfo created" in out, out
    assert "spec.syncPolicies[1].destination.fleet" in out, out

    async def progressing() -> Obj:
        st = await status_of(nc, application())
        assert st["phase"] == "Progressing", st
        return st

    edge = "webapp-attachedcluster-edge-a"
    expected = {
        (WEBAPP, SHANGHAI): ("Unknown", "KubeconfigSecretMissing"),
        (edge, "edge-a"): ("Unknown", "WaitingForFlux"),
    }

    async def both_members() -> Obj:
        st = await progressing()
        assert per_cluster(st) == expected, st
        return st

    await eventually(both_members, timeout_seconds=20, message="rendered once the Fleet and its members are there")
    found = await flux_objects(stack.host)
    assert found[("Kustomization", edge)]["spec"]["kubeConfig"] == {
        "secretRef": {"name": "edge-a-access", "key": "config"}
    }
    shown = await kurator(nats_url, "get", "application", APP, "-n", NS, "-o", "yaml")
    assert shown.returncode == 0, shown.stderr
    listed = yaml.safe_load(shown.stdout)
    assert listed["status"]["phase"] == "Progressing"
    assert per_cluster(listed["status"]) == expected
