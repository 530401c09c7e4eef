"""Content negotiation: which representation a client asked for in its ``Accept`` header.

Clients ask for more than plain JSON: kubectl asks for server-side ``Table``s
(``application/json;as=Table;v=v1;g=meta.k8s.io``), metadata-only informers for
``PartialObjectMetadata``, and client-go >= 1.26 for aggregated discovery
(``application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``), each listed before
a plain ``application/json`` fallback. The first acceptable entry wins, as in the apiserver.
The answer's ``Content-Type`` must echo the chosen parameters: client-go decides by the response
content type whether it received aggregated discovery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kurator_sim import errors

As = Literal["", "Table", "PartialObjectMetadata", "PartialObjectMetadataList", "APIGroupDiscoveryList"]


@dataclass(frozen=True, slots=True)
class MediaType:
    """One acceptable representation: plain JSON (``as_ == ""``) or a transformed one."""

    as_: As = ""
    version: str = ""
    group: str = ""

    @property
    def content_type(self) -> str:
        if not self.as_:
            return "application/json"
        return f"application/json;g={self.group};v={self.version};as={self.as_}"


JSON = MediaType()
_JSON_TYPES = ("application/json", "application/*", "*/*", "*")
_KNOWN: dict[tuple[str, str, str], MediaType] = {
    ("Table", "v1", "meta.k8s.io"): MediaType("Table", "v1", "meta.k8s.io"),
    ("Table", "v1beta1", "meta.k8s.io"): MediaType("Table", "v1beta1", "meta.k8s.io"),
    ("PartialObjectMetadata", "v1", "meta.k8s.io"): MediaType("PartialObjectMetadata", "v1", "meta.k8s.io"),
    ("PartialObjectMetadataList", "v1", "meta.k8s.io"): MediaType("PartialObjectMetadataList", "v1", "meta.k8s.io"),
    ("APIGroupDiscoveryList", "v2", "apidiscovery.k8s.io"): MediaType(
        "APIGroupDiscoveryList", "v2", "apidiscovery.k8s.io"
    ),
    ("APIGroupDiscoveryList", "v2beta1", "apidiscovery.k8s.io"): MediaType(
        "APIGroupDiscoveryList", "v2beta1", "apidiscovery.k8s.io"
    ),
}
_cache: dict[tuple[str, bool, bool], MediaType] = {}


def _parse(accept: str) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, float, int, dict[str, str]]] = []
    for index, entry in enumerate(accept.split(",")):
        pieces = [p.strip() for p in entry.split(";")]
        mime = pieces[0].lower()
        if not mime:
            continue
        params: dict[str, str] = {}
        for p in pieces[1:]:
            key, _, value = p.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 1.0
        if q > 0:
            out.append((mime, -q, index, params))
    out.sort(key=lambda e: (e[1], e[2]))
    return [(mime, params) for mime, _, _, params in out]


def negotiate(accept: str | None, *, discovery: bool = False, resource: bool = False) -> MediaType:
    """The representation to answer with.

    ``discovery``: aggregated discovery is acceptable (``/api``, ``/apis``); ``resource``: Tables
    and partial metadata are (resource reads and watches).

    Raises:
        ApiError: 406 when nothing acceptable is on offer (e.g. protobuf only).
    """
    if not accept:
        return JSON
    key = (accept, discovery, resource)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    chosen: MediaType | None = None
    for mime, params in _parse(accept):
        if mime not in _JSON_TYPES:
            continue
        as_ = params.get("as", "")
        if not as_:
            chosen = JSON
            break
        media = _KNOWN.get((as_, params.get("v", ""), params.get("g", "")))
        if media is None:
            continue
        if media.as_ == "APIGroupDiscoveryList" and discovery:
            chosen = media
            break
        if media.as_ != "APIGroupDiscoveryList" and resource:
            chosen = media
            break
    if chosen is None:
        raise errors.ApiError(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json",
        )
    if len(_cache) < 256:
        _cache[key] = chosen
    return chosen
