"""Locality load balancing on derived ``DestinationRule``s, switched on by annotation.

The VirtualService's annotation ``traffic.kurator.dev/locality-lb`` says what to put into the
derived rules' ``trafficPolicy.loadBalancer.localityLbSetting``:

* absent, ``""`` or ``off`` - nothing (Istio's default);
* ``failover`` - ``{enabled: true}``: Istio keeps traffic in the caller's locality and fails
  over to the nearest healthy one (region, then zone) when endpoints are ejected;
* ``failover:<from>=<to>[,<from>=<to>...]`` - explicit region failover rules
  (``failover:north-china=east-china,east-china=south-china``);
* a JSON object - the whole ``localityLbSetting`` as Istio takes it, e.g. ``{"distribute":
  [{"from": "north-china/*", "to": {"north-china/*": 80, "east-china/*": 20}}]}``.

Istio's rules apply (integrations.md 3.4): ``distribute`` XOR ``failover``, distribute weights
summing to exactly 100, region-only failover rules. Failover takes effect only with outlier
detection (without it Istio merely warns), so every failover setting gets
``trafficPolicy.outlierDetection``: the JSON object in ``traffic.kurator.dev/outlier-detection``
if given, else :data:`DEFAULT_OUTLIER_DETECTION`.

Traffic a route sends to a per-cluster subset stays in that cluster by design; locality
balancing governs traffic addressed to the host without a subset, and outlier detection ejects
failing endpoints within each subset.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError

from shared.contracts import validation
from shared.contracts.models import istio

LOCALITY_ANNOTATION: Final = "traffic.kurator.dev/locality-lb"
OUTLIER_ANNOTATION: Final = "traffic.kurator.dev/outlier-detection"
DEFAULT_OUTLIER_DETECTION: Final[Mapping[str, Any]] = {
    # Eject an endpoint after 5 consecutive 5xx, checked every 10 s, for at least 30 s; any share
    # may be ejected so that a whole locality can fail over.
    "consecutive5xxErrors": 5,
    "interval": "10s",
    "baseEjectionTime": "30s",
    "maxEjectionPercent": 100,
}


def _path(annotation: str) -> str:
    return f"metadata.annotations[{annotation}]"


def _json_object(raw: str, annotation: str, reasons: list[validation.Reason]) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        reasons.append(validation.Reason(field=_path(annotation), message=f"not valid JSON: {exc}"))
        return None
    if not isinstance(value, dict) or not value:
        reasons.append(validation.Reason(field=_path(annotation), message="must be a non-empty JSON object"))
        return None
    return value


def _failover_rules(spec: str, reasons: list[validation.Reason]) -> list[dict[str, str]]:
    rules = []
    for item in (p.strip() for p in spec.split(",")):
        source, sep, target = (s.strip() for s in item.partition("="))
        if not sep or not source or not target:
            message = f"failover rule {item!r} is not '<from region>=<to region>'"
            reasons.append(validation.Reason(field=_path(LOCALITY_ANNOTATION), message=message))
            continue
        rules.append({"from": source, "to": target})
    return rules


def _setting(raw: str, reasons: list[validation.Reason]) -> dict[str, Any] | None:
    text = raw.strip()
    if text in ("", "off"):
        return None
    if text == "failover":
        return {"enabled": True}
    if text.startswith("failover:"):
        return {"enabled": True, "failover": _failover_rules(text.removeprefix("failover:"), reasons)}
    if text.startswith("{"):
        return _json_object(text, LOCALITY_ANNOTATION, reasons)
    message = f"must be 'off', 'failover', 'failover:<from>=<to>,...' or a JSON localityLbSetting, not {raw!r}"
    reasons.append(
        validation.Reason(field=_path(LOCALITY_ANNOTATION), reason="FieldValueNotSupported", message=message)
    )
    return None


def traffic_policy(annotations: Mapping[str, str], reasons: list[validation.Reason]) -> dict[str, Any] | None:
    """The ``trafficPolicy`` the annotations ask for (``None``: none); problems go to ``reasons``."""
    raw = annotations.get(LOCALITY_ANNOTATION)
    if raw is None:
        if OUTLIER_ANNOTATION in annotations:
            message = f"takes effect only with {LOCALITY_ANNOTATION}"
            reasons.append(
                validation.Reason(field=_path(OUTLIER_ANNOTATION), reason="FieldValueForbidden", message=message)
            )
        return None
    before = len(reasons)
    setting = _setting(raw, reasons)
    if setting is None or len(reasons) > before:
        return None
    try:
        checked = istio.LocalityLbSetting.model_validate(setting)
    except ValidationError as exc:
        reasons.extend(validation.reasons_from(exc, prefix=_path(LOCALITY_ANNOTATION)))
        return None
    lb = checked.model_dump(mode="json", by_alias=True, exclude_none=True)
    policy: dict[str, Any] = {"loadBalancer": {"localityLbSetting": lb}}
    custom = annotations.get(OUTLIER_ANNOTATION)
    if custom is not None:
        outlier = _json_object(custom, OUTLIER_ANNOTATION, reasons)
        if outlier is None:
            return None
        policy["outlierDetection"] = outlier
    elif checked.enabled is not False and not checked.distribute:
        # Failover (automatic or by rules) is a no-op without outlier detection.
        policy["outlierDetection"] = dict(DEFAULT_OUTLIER_DETECTION)
    return policy
