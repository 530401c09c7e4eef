"""CustomResourceDefinition documents as frozen records: names, scope, and per version the
schema, subresources and printer columns the simulator serves.

Owns reading CRD YAML (recursively, multi-document files, non-CRD documents ignored) and the
few derived facts callers need (served/storage version, namespaced, default printer column).
Both ``apiextensions.k8s.io/v1`` and the legacy ``v1beta1`` layout (schema, subresources and
columns at spec level) are understood.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The C loader is ~10x faster on the large Istio/Prometheus CRDs; fall back if unavailable.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loader that keeps YAML timestamps as strings, as sigs.k8s.io/yaml does (the
    API server sees JSON, where there are no dates)."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))

NAMESPACED = "Namespaced"
CLUSTER = "Cluster"


@dataclass(frozen=True, slots=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry (a Table column for ``kubectl get``)."""

    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0
    format: str = ""


# The column the API server shows when a version declares none (besides NAME).
AGE_COLUMN = PrinterColumn(
    name="Age",
    type="date",
    json_path=".metadata.creationTimestamp",
    description=("CreationTimestamp is a timestamp representing the server time when this object was created."),
)


@dataclass(frozen=True, slots=True)
class ScaleSubresource:
    """The ``scale`` subresource's JSON paths."""

    spec_replicas_path: str
    status_replicas_path: str
    label_selector_path: str = ""


@dataclass(frozen=True, slots=True)
class CRDVersion:
    """One entry of ``spec.versions``."""

    name: str
    served: bool
    storage: bool
    # openAPIV3Schema as a plain dict; treat as read-only (compiled schemas are cached by id)
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)
    has_status: bool = False
    scale: ScaleSubresource | None = None
    printer_columns: tuple[PrinterColumn, ...] = ()
    deprecated: bool = False
    deprecation_warning: str = ""

    @property
    def has_scale(self) -> bool:
        return self.scale is not None

    @property
    def columns(self) -> tuple[PrinterColumn, ...]:
        """Printer columns as served: the declared ones, or Age when none are declared."""
        return self.printer_columns or (AGE_COLUMN,)


@dataclass(frozen=True, slots=True)
class CRDInfo:
    """A CustomResourceDefinition reduced to what serving it needs."""

    name: str
    group: str
    kind: str
    list_kind: str
    plural: str
    singular: str
    scope: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    versions: tuple[CRDVersion, ...] = ()
    source: str = ""

    @property
    def namespaced(self) -> bool:
        return self.scope == NAMESPACED

    @property
    def served_versions(self) -> tuple[CRDVersion, ...]:
        return tuple(v for v in self.versions if v.served)

    @property
    def storage_version(self) -> CRDVersion:
        for version in self.versions:
            if version.storage:
                return version
        return self.versions[0]

    def version(self, name: str) -> CRDVersion | None:
        for version in self.versions:
            if version.name == name:
                return version
        return None


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _str_tuple(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _columns(raw: Any) -> tuple[PrinterColumn, ...]:
    if not isinstance(raw, list):
        return ()
    columns = []
    for col in raw:
        if not isinstance(col, Mapping):
            continue
        columns.append(
            PrinterColumn(
                name=_str(col.get("name")),
                type=_str(col.get("type")),
                # v1 spells it jsonPath, v1beta1 JSONPath
                json_path=_str(col.get("jsonPath") or col.get("JSONPath")),
                description=_str(col.get("description")),
                priority=int(col.get("priority") or 0),
                format=_str(col.get("format")),
            )
        )
    return tuple(columns)


def _scale(raw: Any) -> ScaleSubresource | None:
    if not isinstance(raw, Mapping):
        return None
    return ScaleSubresource(
        spec_replicas_path=_str(raw.get("specReplicasPath")),
        status_replicas_path=_str(raw.get("statusReplicasPath")),
        label_selector_path=_str(raw.get("labelSelectorPath")),
    )


def _version(raw: Mapping[str, Any], spec: Mapping[str, Any]) -> CRDVersion:
    # v1beta1 allowed schema/subresources/columns at spec level, shared by all versions
    schema_block = raw.get("schema") or spec.get("validation") or {}
    schema = schema_block.get("openAPIV3Schema") if isinstance(schema_block, Mapping) else None
    subresources = raw.get("subresources") or spec.get("subresources") or {}
    columns = raw.get("additionalPrinterColumns", spec.get("additionalPrinterColumns"))
    return CRDVersion(
        name=_str(raw.get("name")),
        served=bool(raw.get("served", True)),
        storage=bool(raw.get("storage", False)),
        schema=schema if isinstance(schema, dict) else None,
        has_status=isinstance(subresources, Mapping) and "status" in subresources,
        scale=_scale(subresources.get("scale")) if isinstance(subresources, Mapping) else None,
        printer_columns=_columns(columns),
        deprecated=bool(raw.get("deprecated", False)),
        deprecation_warning=_str(raw.get("deprecationWarning")),
    )


def is_crd(doc: Any) -> bool:
    return (
        isinstance(doc, Mapping)
        and doc.get("kind") == "CustomResourceDefinition"
        and _str(doc.get("apiVersion")).startswith("apiextensions.k8s.io/")
        and isinstance(doc.get("spec"), Mapping)
    )


def parse_crd(doc: Mapping[str, Any], source: str = "") -> CRDInfo:
    """Build a CRDInfo from one decoded CustomResourceDefinition document."""
    spec: Mapping[str, Any] = doc["spec"]
    names: Mapping[str, Any] = spec.get("names") or {}
    kind = _str(names.get("kind"))
    plural = _str(names.get("plural"))
    group = _str(spec.get("group"))
    raw_versions = spec.get("versions")
    if isinstance(raw_versions, list) and raw_versions:
        versions = tuple(_version(v, spec) for v in raw_versions if isinstance(v, Mapping))
    else:
        # v1beta1 single-version form
        versions = (_version({"name": spec.get("version"), "served": True, "storage": True}, spec),)
    metadata = doc.get("metadata") or {}
    return CRDInfo(
        name=_str(metadata.get("name"), f"{plural}.{group}"),
        group=group,
        kind=kind,
        list_kind=_str(names.get("listKind"), f"{kind}List"),
        plural=plural,
        singular=_str(names.get("singular"), kind.lower()),
        scope=_str(spec.get("scope"), NAMESPACED),
        short_names=_str_tuple(names.get("shortNames")),
        categories=_str_tuple(names.get("categories")),
        versions=versions,
        source=source,
    )


def parse_documents(docs: Iterable[Any], source: str = "") -> list[CRDInfo]:
    """CRDs among already decoded YAML/JSON documents (other kinds are skipped)."""
    return [parse_crd(doc, source) for doc in docs if is_crd(doc)]


def load_crds(path: Path) -> list[CRDInfo]:
    """Load every CRD under ``path`` (a file or a directory searched recursively for
    ``*.yaml``/``*.yml``/``*.json``), in sorted file order."""
    files = (
        [path]
        if path.is_file()
        else sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))
    )
    result: list[CRDInfo] = []
    for file in files:
        with file.open(encoding="utf-8") as fh:
            docs = list(yaml.load_all(fh, Loader=_Loader))
        result.extend(parse_documents(docs, str(file)))
    return result
