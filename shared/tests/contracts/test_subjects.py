"""Subject builders: one valid subject per kind, reversible name encoding, no hand-spelled subjects."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contracts import kinds, subjects

TOKEN = re.compile(r"^[a-z0-9_-]+$")


def test_every_kind_maps_to_exactly_one_valid_subject() -> None:
    """Each (apiVersion, kind) routes to one (service, token); tokens are unique per service."""
    seen: dict[tuple[str, str], kinds.KindInfo] = {}
    for info in kinds.KINDS:
        assert info.service in subjects.SERVICES
        assert (info.service, info.token) not in seen, f"{info.kind} reuses token {info.token}"
        seen[(info.service, info.token)] = info
        ns = "default" if info.namespaced else None
        addr = subjects.ObjectAddress(info.service, info.token, ns, "my.app")
        subject = subjects.intent(addr)
        tokens = subject.split(".")
        assert len(tokens) == 6
        assert all(TOKEN.match(t) for t in tokens[1:])
        assert tokens[:4] == ["kurator", "intent", info.service, info.token]
        assert subjects.parse_object(subject) == ("intent", addr)
        assert subjects.parse_object(subjects.status(addr)) == ("status", addr)
        for version in info.versions:
            api_version = f"{info.group}/{version}" if info.group else version
            assert kinds.for_object(api_version, info.kind) is info


def test_cluster_scoped_objects_use_underscore_namespace() -> None:
    addr = subjects.ObjectAddress("edge", "edgenode", None, "edge-node-01")
    assert subjects.intent(addr) == "kurator.intent.edge.edgenode._.edge-node-01"
    assert subjects.status(addr) == "kurator.status.edge.edgenode._.edge-node-01"


@given(st.text(min_size=1, max_size=80))
def test_name_encoding_round_trips_and_yields_one_token(name: str) -> None:
    token = subjects.encode_token(name)
    assert TOKEN.match(token)
    assert subjects.decode_token(token) == name


def test_name_encoding_examples() -> None:
    assert subjects.encode_token("nginx") == "nginx"
    assert subjects.encode_token("my.app") == "my_2eapp"
    assert subjects.encode_token("Bad_Name") == "_42ad_5f_4eame"
    assert subjects.encode_token("🙂") == "_u01f642"
    with pytest.raises(subjects.SubjectError):
        subjects.encode_token("")


def test_other_builders() -> None:
    assert subjects.rejected("fleet") == "kurator.event.fleet.intent.rejected"
    assert subjects.event("fleet", "cluster", "joined") == "kurator.event.fleet.cluster.joined"
    assert subjects.dlq("backup") == "kurator.dlq.backup"
    assert subjects.query("apps", "list") == "kurator.query.apps.list"
    assert subjects.heartbeat("edge-site", "node.1") == "kurator.heartbeat.edge.edge-site.node_2e1"
    assert subjects.intents_of("apps") == "kurator.intent.apps.>"
    assert subjects.statuses() == "kurator.status.*.>"
    assert subjects.statuses("apps", "volcanojob", "default") == "kurator.status.apps.volcanojob.default.*"
    with pytest.raises(subjects.SubjectError):
        subjects.dlq("nope")
    with pytest.raises(subjects.SubjectError):
        subjects.event("fleet", "Cluster", "joined")


def test_resolve_kind_names_like_kubectl() -> None:
    assert kinds.resolve_name("pp").kind == "PropagationPolicy"
    assert kinds.resolve_name("propagationpolicies").kind == "PropagationPolicy"
    assert kinds.resolve_name("PropagationPolicy").kind == "PropagationPolicy"
    assert kinds.resolve_name("vcjob").token == "volcanojob"
    assert kinds.resolve_name("jobs.batch.volcano.sh").token == "volcanojob"
    assert kinds.resolve_name("svc").kind == "Service"
    with pytest.raises(kinds.UnknownKind, match="doesn't have a resource type"):
        kinds.resolve_name("gizmos")


def test_unknown_versions_and_kinds_are_refused() -> None:
    with pytest.raises(kinds.UnknownKind, match="served as"):
        kinds.for_object("policy.karmada.io/v2", "PropagationPolicy")
    with pytest.raises(kinds.UnknownKind, match="no kurator service handles"):
        kinds.for_object("apps/v1", "StatefulSet")


def test_no_code_spells_a_subject_by_hand() -> None:
    """Only the builders module writes 'kurator.<class>.' subject literals."""
    root = Path(__file__).resolve().parents[3]
    pattern = re.compile(r"[\"']kurator\.(intent|status|event|dlq|query|heartbeat)\.")
    offenders = []
    for path in root.glob("*/src/**/*.py"):
        if path.name == "subjects.py":
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(root)}:{i}")
    for path in (root / "services").glob("*/src/**/*.py"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(root)}:{i}")
    assert not offenders, offenders
