"""Building blocks shared by several kinds: label selectors, required strings, quantities.

Also the small checks that many validators repeat (DNS names, uniqueness), so that every
kind words the same mistake the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, PlainValidator, model_validator

from shared.contracts import durations, quantity, validation
from shared.contracts.meta import WireModel


def _required(value: str) -> str:
    if not value:
        raise validation.FieldErrors([("", "FieldValueRequired", "Required value")])
    return value


RequiredStr = Annotated[str, AfterValidator(_required)]
"""A string that must be present and non-empty (Kubernetes reports ``""`` as Required)."""


def _resource_list(value: object) -> dict[str, str | int | float]:
    # Validated as a whole so that problems are reported as `limits[memory]`, the same map-key
    # form as labels (pydantic would report `limits.memory`).
    if not isinstance(value, dict):
        raise ValueError(f"must be a map of resource name to quantity, not {type(value).__name__}")
    problems = validation.Problems()
    for name, amount in value.items():
        if isinstance(amount, bool) or not isinstance(amount, str | int | float):
            problems.add(f"[{name}]", f"quantity must be a string or a number, not {type(amount).__name__}")
            continue
        try:
            negative = quantity.parse_quantity(amount) < 0
        except ValueError as exc:
            problems.add(f"[{name}]", str(exc))
            continue
        if negative:
            problems.add(f"[{name}]", f"must be greater than or equal to 0, got {amount!r}")
    problems.raise_if_any()
    return dict(value)


ResourceList = Annotated[dict[str, str | int | float], PlainValidator(_resource_list)]
"""``{resource name: non-negative quantity}``, kept exactly as written (``"500m"``, ``2``, ``"4Gi"``)."""


def _int_or_string(value: object) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"must be an integer or a string, not {type(value).__name__}")
    return value


IntOrString = Annotated[int | str, PlainValidator(_int_or_string)]


def _go_duration(value: str) -> str:
    err = durations.go_duration_error(value)
    if err:
        raise ValueError(err)
    return value


GoDuration = Annotated[str, AfterValidator(_go_duration)]
"""A non-negative Go ``time.Duration`` string (``720h0m0s``), as Velero and Volcano take."""


def _prometheus_duration(value: str) -> str:
    err = durations.prometheus_duration_error(value)
    if err:
        raise ValueError(err)
    return value


PrometheusDuration = Annotated[str, AfterValidator(_prometheus_duration)]
"""A Prometheus duration (``30s``, ``15d``), as the Prometheus Operator takes."""


def _cron(value: str) -> str:
    err = durations.cron_error(value)
    if err:
        raise ValueError(err)
    return value


CronSchedule = Annotated[str, AfterValidator(_required), AfterValidator(_cron)]
"""A Velero schedule: 5-field cron, ``@daily``-style names or ``@every <Go duration>``.

A field-level type (not a model validator) so a bad schedule is reported even when other
fields of the spec are wrong too."""


# --- label selectors -----------------------------------------------------------------------


class LabelSelectorRequirement(WireModel):
    key: RequiredStr
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> LabelSelectorRequirement:
        problems = validation.Problems()
        err = validation.label_key_error(self.key)
        if err:
            problems.add("key", f"invalid label key {self.key!r}: {err}")
        if self.operator in ("In", "NotIn") and not self.values:
            problems.add("values", f"must be specified when `operator` is {self.operator!r}", "FieldValueRequired")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            problems.add("values", f"may not be specified when `operator` is {self.operator!r}", "FieldValueForbidden")
        for i, value in enumerate(self.values or ()):
            verr = validation.label_value_error(value)
            if verr:
                problems.add(f"values[{i}]", f"invalid label value {value!r}: {verr}")
        problems.raise_if_any()
        return self

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        found = self.key in labels and labels[self.key] in (self.values or ())
        return found if self.operator == "In" else not found


class LabelSelector(WireModel):
    """``metav1.LabelSelector``. ``{}`` selects everything (where the consumer allows it)."""

    match_labels: dict[str, str] | None = None
    match_expressions: list[LabelSelectorRequirement] | None = None

    @model_validator(mode="after")
    def _check(self) -> LabelSelector:
        problems = validation.Problems()
        validation.check_labels(problems, "matchLabels", self.match_labels)
        problems.raise_if_any()
        return self

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy every term (an empty selector matches everything)."""
        if any(labels.get(k) != v for k, v in (self.match_labels or {}).items()):
            return False
        return all(req.matches(labels) for req in self.match_expressions or ())


# --- repeated checks -----------------------------------------------------------------------


def check_dns_label(
    problems: validation.Problems, path: str, value: str | None, *, what: str = "name", max_length: int = 63
) -> None:
    """Add a problem if ``value`` is set but not an RFC 1123 label."""
    if value is None:
        return
    err = validation.dns_label_error(value, max_length=max_length)
    if err:
        reason: validation.ReasonCode = "FieldValueRequired" if not value else "FieldValueInvalid"
        problems.add(path, f"invalid {what} {value!r}: {err}", reason)


def check_dns_subdomain(problems: validation.Problems, path: str, value: str | None, *, what: str = "name") -> None:
    """Add a problem if ``value`` is set but not an RFC 1123 subdomain."""
    if value is None:
        return
    err = validation.dns_subdomain_error(value)
    if err:
        reason: validation.ReasonCode = "FieldValueRequired" if not value else "FieldValueInvalid"
        problems.add(path, f"invalid {what} {value!r}: {err}", reason)


def check_unique(problems: validation.Problems, items: Iterable[tuple[str, object]], *, what: str) -> None:
    """Add a ``FieldValueDuplicate`` for every ``(path, value)`` whose value was seen before."""
    seen: set[object] = set()
    for path, value in items:
        if value in seen:
            problems.add(path, f"duplicate {what} {value!r}", "FieldValueDuplicate")
        seen.add(value)


def exactly_one(problems: validation.Problems, path: str, present: Mapping[str, bool], *, where: str = "") -> None:
    """Require exactly one of the named fields: Required if none, Forbidden for the extras."""
    names = [name for name, is_set in present.items() if is_set]
    prefix = f"{path}." if path else ""
    if not names:
        options = ", ".join(f"`{n}`" for n in present)
        problems.add(path, f"exactly one of {options} must be specified{where}", "FieldValueRequired")
        return
    for extra in names[1:]:
        problems.add(
            f"{prefix}{extra}", f"may not be specified together with `{names[0]}`{where}", "FieldValueForbidden"
        )


def check_taint(problems: validation.Problems, key: str, value: str | None) -> None:
    """A taint's key is a label key and its value, when set, a label value (Kubernetes and KubeEdge)."""
    err = validation.label_key_error(key)
    if err:
        problems.add("key", f"invalid taint key {key!r}: {err}")
    if value:
        verr = validation.label_value_error(value)
        if verr:
            problems.add("value", f"invalid taint value {value!r}: {verr}")
