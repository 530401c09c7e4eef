"""A job's pods and its gang: task order, minAvailable defaults, node selection."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared.gang import pods
from shared.gang.nodes import Node

Obj = dict[str, Any]


def _task(name: str | None, replicas: int, min_available: int | None = None, cpu: str = "1") -> Obj:
    task: Obj = {
        "replicas": replicas,
        "template": {"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}},
    }
    if name is not None:
        task["name"] = name
    if min_available is not None:
        task["minAvailable"] = min_available
    return task


def _job(*tasks: Obj, min_available: int | None = None) -> Obj:
    spec: Obj = {"tasks": list(tasks)}
    if min_available is not None:
        spec["minAvailable"] = min_available
    return {"metadata": {"name": "j"}, "spec": spec}


def test_seed_gang(seed_job: Obj) -> None:
    gang = pods.gang_of(seed_job)
    assert [p.name for p in gang.pods] == [
        "tensorflow-training-ps-0",
        "tensorflow-training-worker-0",
        "tensorflow-training-worker-1",
    ]
    assert gang.rest == ()
    assert gang.min_member == 3
    ps, worker, _ = gang.pods
    assert ps.node_selector == {}
    assert worker.node_selector == {"node-type": "gpu"}
    assert worker.requests == {"cpu": Decimal(2), "memory": Decimal(8 * 2**30), "pods": Decimal(1)}
    assert gang.requests == {"cpu": Decimal(5), "memory": Decimal(20 * 2**30), "pods": Decimal(3)}


def test_task_minimums_come_first_then_task_order() -> None:
    gang = pods.gang_of(_job(_task("a", 3, 1), _task("b", 2, 2), min_available=4))
    assert [p.name for p in gang.pods] == ["j-a-0", "j-b-0", "j-b-1", "j-a-1"]
    assert [p.name for p in gang.rest] == ["j-a-2"]


def test_job_min_available_defaults_to_the_tasks_minimums() -> None:
    gang = pods.gang_of(_job(_task("a", 3, 1), _task("b", 2)))
    assert [p.name for p in gang.pods] == ["j-a-0", "j-b-0", "j-b-1"]
    assert [p.name for p in gang.rest] == ["j-a-1", "j-a-2"]


def test_job_min_available_below_the_task_minimums_trims_the_gang() -> None:
    gang = pods.gang_of(_job(_task("a", 2), _task("b", 2), min_available=3))
    assert [p.name for p in gang.pods] == ["j-a-0", "j-a-1", "j-b-0"]
    assert [p.name for p in gang.rest] == ["j-b-1"]


def test_default_task_names_and_missing_fields() -> None:
    gang = pods.gang_of({"spec": {"tasks": [_task(None, 1), {"replicas": 1}]}})
    assert [(p.name, p.task) for p in gang.pods] == [("job-default0-0", "default0"), ("job-default1-0", "default1")]
    assert pods.gang_of({}).pods == ()


def test_required_node_affinity() -> None:
    spec = {
        "containers": [{"name": "c"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]},
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["special"]}]},
                    ]
                }
            }
        },
    }
    shape = pods.PodShape.from_template("p", "t", spec)
    assert shape.selects(Node("n1", {}, labels={"zone": "a"}))
    assert not shape.selects(Node("n2", {}, labels={"zone": "c"}))
    assert shape.selects(Node("special", {}))
    assert shape.selector_terms() == ("zone In (a,b)",)


def test_affinity_operators() -> None:
    def selects(expr: Obj, labels: dict[str, str]) -> bool:
        term = {"matchExpressions": [expr]}
        return pods.PodShape("p", "t", {}, affinity_terms=(term,)).selects(Node("n", {}, labels=labels))

    assert selects({"key": "gen", "operator": "Gt", "values": ["3"]}, {"gen": "4"})
    assert not selects({"key": "gen", "operator": "Lt", "values": ["3"]}, {"gen": "4"})
    assert not selects({"key": "gen", "operator": "Gt", "values": ["3"]}, {"gen": "x"})
    assert selects({"key": "gpu", "operator": "Exists"}, {"gpu": ""})
    assert selects({"key": "gpu", "operator": "DoesNotExist"}, {})
    assert selects({"key": "zone", "operator": "NotIn", "values": ["a"]}, {})
    assert not selects({"key": "zone", "operator": "Bogus"}, {"zone": "a"})


def test_constraint_key_groups_pods_with_the_same_selection(seed_job: Obj) -> None:
    ps, worker0, worker1 = pods.gang_of(seed_job).pods
    assert worker0.constraint_key == worker1.constraint_key != ps.constraint_key
