"""Rendering: kubectl-style ages, table rows, YAML/JSON lists."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml

from kurator_cli import views

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def test_age_like_kubectl() -> None:
    assert views.age("2026-11-26T11:59:15Z", now=NOW) == "45s"
    assert views.age("2026-11-26T11:48:00Z", now=NOW) == "12m"
    assert views.age("2026-11-26T09:00:00Z", now=NOW) == "3h"
    assert views.age("2026-11-21T12:00:00Z", now=NOW) == "5d"
    assert views.age(None) == "<unknown>"


def test_row_and_documents() -> None:
    doc = {
        "metadata": {"name": "a", "namespace": "ns", "generation": 2, "creationTimestamp": "2026-11-26T11:59:00Z"},
        "status": {"phase": "Accepted", "observedGeneration": 2, "conditions": [{"message": "ok"}]},
    }
    assert views.row(doc, with_namespace=True)[:3] == ["ns", "a", "Accepted"]
    listed = yaml.safe_load(views.document([doc, doc], fmt="yaml", single=False))
    assert listed["kind"] == "List"
    assert len(listed["items"]) == 2
    assert '"name": "a"' in views.document([doc], fmt="json", single=True)
