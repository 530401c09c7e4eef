"""The owner a Propagation's status shows is written from the model's fields one by one (no
``model_dump`` per apply): it must stay what ``model_dump(exclude_none=True)`` gives."""

from __future__ import annotations

import pytest

from kurator_fleet import propagations
from shared.contracts.models import propagation


def test_the_owner_model_has_the_fields_the_status_writes() -> None:
    """A new owner field must be added to ``_owner_wire`` too (this fails until it is)."""
    assert list(propagation.PropagationOwner.model_fields) == ["service", "kind", "namespace", "name"]


@pytest.mark.parametrize("namespace", ["shop", None])
def test_the_owner_as_the_status_shows_it(namespace: str | None) -> None:
    owner = propagation.PropagationOwner.model_validate(
        {"service": "apps", "kind": "FederatedDeployment", "namespace": namespace, "name": "web"}
    )
    wire = propagations._owner_wire(owner)
    assert wire == owner.model_dump(exclude_none=True)
    assert list(wire) == list(owner.model_dump(exclude_none=True))
