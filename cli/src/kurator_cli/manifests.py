"""Reading manifests the way ``kubectl apply -f`` does: a file, a directory, or ``-``.

Files may hold several YAML documents or JSON (one object, a list, or a ``List`` kind with
``items``). Directories are read in name order, ``.yaml``, ``.yml`` and ``.json`` files only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from shared.contracts import kinds, subjects

SUFFIXES = (".yaml", ".yml", ".json")


class ManifestError(ValueError):
    """A document cannot be read or routed; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """One routed document."""

    source: str
    """Where it came from: ``path`` or ``path#2`` for the third document of a file."""
    document: dict[str, Any]
    info: kinds.KindInfo
    address: subjects.ObjectAddress

    @property
    def display(self) -> str:
        """``kind.group/name`` as kubectl prints it."""
        group = f".{self.info.group}" if self.info.group else ""
        return f"{self.info.singular}{group}/{self.address.name}"


def _documents(text: str, source: str) -> Iterator[tuple[str, Any]]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ManifestError(f"{source}: invalid JSON: {exc}") from exc
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            yield (f"{source}#{i}" if len(items) > 1 else source), item
        return
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: invalid YAML: {exc}") from exc
    for i, doc in enumerate(docs):
        yield (f"{source}#{i}" if len(docs) > 1 else source), doc


def _expand_lists(source: str, doc: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
        for i, item in enumerate(doc["items"]):
            yield f"{source}[{i}]", item
    else:
        yield source, doc


def read(paths: list[str], *, recursive: bool = False) -> list[tuple[str, Any]]:
    """Every document under ``paths``, with where it came from."""
    out: list[tuple[str, Any]] = []
    for p in paths:
        if p == "-":
            texts = [("<stdin>", sys.stdin.read())]
        else:
            path = Path(p)
            if path.is_dir():
                pattern = "**/*" if recursive else "*"
                files = sorted(f for f in path.glob(pattern) if f.is_file() and f.suffix in SUFFIXES)
                if not files:
                    raise ManifestError(f"{p}: no .yaml, .yml or .json files")
                texts = [(str(f), f.read_text()) for f in files]
            elif path.is_file():
                texts = [(str(path), path.read_text())]
            else:
                raise ManifestError(f"{p}: no such file or directory")
        for source, text in texts:
            for src, doc in _documents(text, source):
                out.extend(_expand_lists(src, doc))
    return out


def route(source: str, doc: Any, *, namespace: str | None = None) -> Manifest:
    """Find the service that owns ``doc`` and the object's address.

    Raises:
        ManifestError: not an object, no apiVersion/kind/name, or no service owns the kind.
    """
    if not isinstance(doc, dict):
        raise ManifestError(f"{source}: a manifest must be an object with apiVersion, kind and metadata")
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not api_version or not kind:
        raise ManifestError(f"{source}: apiVersion and kind are required")
    try:
        info = kinds.for_object(str(api_version), str(kind))
    except kinds.UnknownKind as exc:
        raise ManifestError(f"{source}: {exc}") from exc
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not name or not isinstance(name, str):
        raise ManifestError(f"{source}: metadata.name is required")
    ns: str | None = None
    if info.namespaced:
        doc_ns = meta.get("namespace") if isinstance(meta, dict) else None
        if namespace and doc_ns and doc_ns != namespace:
            raise ManifestError(
                f"{source}: the namespace from the manifest ({doc_ns}) does not match the namespace "
                f"given on the command line ({namespace})"
            )
        ns = str(doc_ns or namespace or "default")
    address = subjects.ObjectAddress(info.service, info.token, ns, name)
    return Manifest(source=source, document=doc, info=info, address=address)
