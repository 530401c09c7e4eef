"""The resource registry of a simulator run: built-in kinds plus, when CRD files are given,
their schemas, printer columns and versions."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kurator_sim import resources
from kurator_sim.machinery import crds


def crd_versions(infos: Iterable[crds.CRDInfo]) -> list[resources.CRDVersion]:
    """CRD files' records as the registry's per-version entries."""
    out: list[resources.CRDVersion] = []
    for info in infos:
        for v in info.served_versions:
            columns = tuple(
                {
                    "name": c.name,
                    "type": c.type,
                    "jsonPath": c.json_path,
                    "description": c.description,
                    "priority": c.priority,
                    "format": c.format,
                }
                for c in v.printer_columns
            )
            out.append(
                resources.CRDVersion(
                    group=info.group,
                    version=v.name,
                    kind=info.kind,
                    plural=info.plural,
                    namespaced=info.namespaced,
                    short_names=tuple(info.short_names),
                    categories=tuple(info.categories),
                    storage=v.storage,
                    status_subresource=v.has_status,
                    scale_subresource=v.has_scale,
                    schema=v.schema,
                    printer_columns=columns,
                )
            )
    return out


def registry(crd_dir: Path | None) -> resources.Registry:
    """Every kind the simulator serves; validated against ``crd_dir``'s schemas when given."""
    if crd_dir is None:
        return resources.default_registry()
    return resources.default_registry(crd_versions(crds.load_crds(crd_dir)))
