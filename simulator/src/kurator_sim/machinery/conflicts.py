"""The ways a server-side apply is refused.

Owns ``ApplyConflict`` (409 ``Conflict`` with ``FieldManagerConflict`` causes, worded as the
apiserver's ``managedfields/internal/conflict.go`` words it) and ``ApplyError`` (every other
refusal, with its HTTP code).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from kurator_sim.machinery.fieldpaths import Path, path_string
from kurator_sim.machinery.managedfields import ManagerKey, print_manager

__all__ = ["ApplyConflict", "ApplyError", "manager_identifier"]


class ApplyError(Exception):
    """A refused apply other than a conflict: ``code``/``reason``/``message`` as the
    apiserver answers (400 BadRequest for a malformed configuration, 500 otherwise)."""

    def __init__(self, reason: str, message: str, *, code: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.code = code


class ApplyConflict(Exception):  # noqa: N818 - the name callers and the brief use
    """409 ``Conflict``: fields owned by other managers would change.

    ``conflicts`` is ``[(manager, field_path)]``; ``message`` and ``causes`` are the
    ``Status.message`` and ``Status.details.causes`` of the apiserver's answer."""

    code: Final = 409
    reason: Final = "Conflict"

    def __init__(self, conflicts: Sequence[tuple[ManagerKey, Path]]) -> None:
        self.keys = list(conflicts)
        self.conflicts = [(key.manager, path_string(path)) for key, path in self.keys]
        self.message = _conflict_message(self.keys)
        super().__init__(self.message)

    @property
    def causes(self) -> list[dict[str, str]]:
        return [
            {
                "reason": "FieldManagerConflict",
                "message": f"conflict with {print_manager(key)}",
                "field": path_string(path),
            }
            for key, path in self.keys
        ]

    def status(self) -> dict[str, Any]:
        """The full ``Status`` body (``NewApplyConflict``)."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": {"causes": self.causes},
            "code": self.code,
        }


def _conflict_message(conflicts: Sequence[tuple[ManagerKey, Path]]) -> str:
    if len(conflicts) == 1:
        key, path = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {print_manager(key)}: {path_string(path)}"
    by_manager: dict[ManagerKey, list[Path]] = {}
    for key, path in conflicts:
        by_manager.setdefault(key, []).append(path)
    lines: list[str] = []
    for key in sorted(by_manager, key=manager_identifier):
        lines.append(f"conflicts with {print_manager(key)}:")
        lines.extend(f"- {path_string(p)}" for p in by_manager[key])
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


def manager_identifier(key: ManagerKey) -> str:
    # BuildManagerIdentifier: the JSON of the entry without fields and time.
    entry = {"manager": key.manager, "operation": key.operation}
    if key.api_version:
        entry["apiVersion"] = key.api_version
    if key.subresource:
        entry["subresource"] = key.subresource
    return json.dumps(entry, separators=(",", ":"))
