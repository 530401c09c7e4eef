"""Properties of the gang fit over random clusters and gangs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.gang import fit, resources
from shared.gang.nodes import Node
from shared.gang.pods import Gang, PodShape

Obj = dict[str, Any]

_nodes = st.lists(
    st.builds(
        lambda i, cpu, gpus, gpu_label, ready: Node(
            f"n{i}",
            {"cpu": Decimal(cpu), "nvidia.com/gpu": Decimal(gpus), "pods": Decimal(4)},
            labels={"node-type": "gpu"} if gpu_label else {},
            ready=ready,
        ),
        st.integers(0, 99),
        st.integers(0, 8),
        st.integers(0, 4),
        st.booleans(),
        st.booleans(),
    ),
    max_size=4,
    unique_by=lambda n: n.name,
)
_pods = st.lists(
    st.builds(
        lambda cpu, gpus, gpu_only: (cpu, gpus, gpu_only),
        st.integers(0, 4),
        st.integers(0, 3),
        st.booleans(),
    ),
    min_size=1,
    max_size=5,
)


def _gang(shapes: list[tuple[int, int, bool]]) -> Gang:
    pods = []
    for i, (cpu, gpus, gpu_only) in enumerate(shapes):
        requests = {"cpu": Decimal(cpu), "nvidia.com/gpu": Decimal(gpus), "pods": Decimal(1)}
        pods.append(
            PodShape(
                f"j-t-{i}",
                "t",
                {k: v for k, v in requests.items() if v},
                node_selector={"node-type": "gpu"} if gpu_only else {},
            )
        )
    return Gang(tuple(pods))


@settings(max_examples=300, deadline=None)
@given(nodes=_nodes, shapes=_pods, used=st.integers(0, 3))
def test_a_fit_is_a_valid_placement_and_a_miss_says_why(
    nodes: list[Node], shapes: list[tuple[int, int, bool]], used: int
) -> None:
    gang = _gang(shapes)
    allocated = {n.name: {"cpu": Decimal(used)} for n in nodes[:1]}
    result = fit.fit_gang(gang, nodes, allocated=allocated)
    assert result == fit.fit_gang(gang, nodes, allocated=allocated)  # deterministic
    assert result.fits == (not result.shortfalls)
    if not result.fits:
        assert result.placements == ()
        assert all(s.message for s in result.shortfalls)
        return
    assert sorted(p.pod for p in result.placements) == sorted(p.name for p in gang.pods)
    by_name = {n.name: n for n in nodes}
    shapes_by_name = {p.name: p for p in gang.pods}
    for name, node in by_name.items():
        placed = [shapes_by_name[p.pod] for p in result.placements if p.node == name]
        if not placed:
            continue
        assert node.usable
        assert all(p.selects(node) for p in placed)
        free = resources.subtract(node.allocatable, allocated.get(name, {}))
        assert not resources.shortages(resources.total(p.requests for p in placed), free)
    headroom = result.headroom
    assert headroom is not None
    assert 0 <= headroom <= 1
