"""``metadata.managedFields`` on the wire, and who a manager is.

Owns decoding/encoding of managedFields entries (``{manager, operation, apiVersion, time,
fieldsType: FieldsV1, fieldsV1, subresource}``, sorted as the apiserver sorts them), the
manager identity rules (an ``Apply`` manager is one entry whatever apiVersion it applies with;
an ``Update`` manager is one entry per apiVersion) and the manager-name fallback from the
User-Agent (``managerOrUserAgent`` in the apiserver's patch/update handlers).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kurator_sim.machinery.fieldpaths import FieldSet

__all__ = [
    "FIELD_MANAGER_MAX_LENGTH",
    "ManagedEntry",
    "ManagerKey",
    "decode_managed_fields",
    "encode_entry",
    "encode_managed_fields",
    "manager_from_user_agent",
    "manager_or_user_agent",
    "print_manager",
]

FIELD_MANAGER_MAX_LENGTH: Final = 128


@dataclass(frozen=True, slots=True)
class ManagerKey:
    """The apiserver's manager identifier: apiVersion only counts for Update managers."""

    manager: str
    operation: str
    api_version: str = ""
    subresource: str = ""

    @classmethod
    def of(cls, manager: str, operation: str, api_version: str, subresource: str = "") -> ManagerKey:
        return cls(manager, operation, "" if operation == "Apply" else api_version, subresource)


@dataclass(slots=True)
class ManagedEntry:
    """One manager's field set, the apiVersion it was recorded at and when."""

    fields: FieldSet
    api_version: str
    time: str | None = None


def _is_printable(ch: str) -> bool:
    # Go unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space.
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def manager_from_user_agent(user_agent: str) -> str:
    """``prefixFromUserAgent``: the part before the first ``/``, printable characters only,
    at most 128 bytes (``OpenAPI-Generator/33.3.0/python`` -> ``OpenAPI-Generator``)."""
    out: list[str] = []
    size = 0
    for ch in user_agent.split("/", 1)[0]:
        if not _is_printable(ch):
            continue
        width = len(ch.encode("utf-8"))
        if size + width > FIELD_MANAGER_MAX_LENGTH:
            break
        out.append(ch)
        size += width
    return "".join(out)


def manager_or_user_agent(field_manager: str | None, user_agent: str) -> str:
    """The ``fieldManager`` query parameter if given, else the User-Agent prefix."""
    return field_manager if field_manager else manager_from_user_agent(user_agent)


def print_manager(key: ManagerKey) -> str:
    """How conflict messages name a manager (apiserver ``printManager``)."""
    text = json.dumps(key.manager, ensure_ascii=False)
    if key.subresource:
        text += f" with subresource {json.dumps(key.subresource, ensure_ascii=False)}"
    if key.operation == "Update":
        text += f" using {key.api_version}"
    return text


def decode_managed_fields(entries: Sequence[Mapping[str, Any]] | None) -> dict[ManagerKey, ManagedEntry]:
    """Parse ``metadata.managedFields``; raises ``ValueError`` on an entry the apiserver
    would reject (unknown operation or fieldsType)."""
    managers: dict[ManagerKey, ManagedEntry] = {}
    for entry in entries or ():
        operation = str(entry.get("operation", ""))
        if operation not in ("Apply", "Update"):
            raise ValueError(f"invalid operation {operation!r}")
        fields_type = entry.get("fieldsType", "FieldsV1")
        if fields_type != "FieldsV1":
            raise ValueError(f"invalid fieldsType {fields_type!r}")
        api_version = str(entry.get("apiVersion", ""))
        key = ManagerKey.of(str(entry.get("manager", "")), operation, api_version, str(entry.get("subresource", "")))
        raw = entry.get("fieldsV1")
        fields = FieldSet.from_fields_v1(raw if isinstance(raw, Mapping) else {})
        time = entry.get("time")
        managers[key] = ManagedEntry(fields, api_version, str(time) if time is not None else None)
    return managers


def _sort_key(item: tuple[ManagerKey, ManagedEntry]) -> tuple[str, str, str, str, str]:
    key, entry = item
    # sortEncodedManagedFields: operation, then time (second precision), manager, apiVersion,
    # subresource. RFC 3339 UTC timestamps sort correctly as strings; no time sorts first.
    return (key.operation, entry.time or "", key.manager, entry.api_version, key.subresource)


def encode_managed_fields(managers: Mapping[ManagerKey, ManagedEntry]) -> list[dict[str, Any]]:
    """Entries in wire form and order; managers with empty sets are dropped."""
    return [
        encode_entry(key, entry, entry.fields.to_fields_v1())
        for key, entry in sorted(managers.items(), key=_sort_key)
        if not entry.fields.empty()
    ]


def encode_entry(key: ManagerKey, entry: ManagedEntry, fields_v1: dict[str, Any]) -> dict[str, Any]:
    """One entry in wire form, with ``entry.fields`` already encoded as ``fields_v1``."""
    encoded: dict[str, Any] = {"manager": key.manager, "operation": key.operation, "apiVersion": entry.api_version}
    if entry.time is not None:
        encoded["time"] = entry.time
    encoded["fieldsType"] = "FieldsV1"
    encoded["fieldsV1"] = fields_v1
    if key.subresource:
        encoded["subresource"] = key.subresource
    return encoded
