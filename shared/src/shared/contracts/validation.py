"""Field-specific validation reasons, shaped like Kubernetes ``StatusCause``s.

A rejected intent must say *which field* is wrong and why. Pydantic reports a location
tuple for each error; model validators that check relations between fields raise
:class:`FieldErrors` carrying paths relative to the model they validate. :func:`reasons_from`
turns both into :class:`Reason` objects whose ``field`` is a JSON path such as
``spec.tasks[1].name``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

ReasonCode = Literal[
    "FieldValueRequired",
    "FieldValueInvalid",
    "FieldValueNotSupported",
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueTooLong",
    "NotFound",
]


class Reason(BaseModel):
    """One thing wrong with an intent."""

    model_config = ConfigDict(frozen=True)

    field: str
    """JSON path of the offending field, e.g. ``spec.tasks[1].name``."""
    reason: ReasonCode = "FieldValueInvalid"
    message: str


class FieldErrors(ValueError):  # noqa: N818 - raised inside pydantic validators, which expect ValueError
    """Raised by a model validator to report problems at paths relative to that model."""

    def __init__(self, problems: Sequence[tuple[str, ReasonCode, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p}: {m}" for p, _, m in self.problems))


class Problems:
    """Collects relative-path problems inside a validator; raises once at the end."""

    def __init__(self) -> None:
        self._items: list[tuple[str, ReasonCode, str]] = []

    def add(self, path: str, message: str, reason: ReasonCode = "FieldValueInvalid") -> None:
        self._items.append((path, reason, message))

    def raise_if_any(self) -> None:
        if self._items:
            raise FieldErrors(self._items)


_PYDANTIC_CODES: Final[dict[str, ReasonCode]] = {
    "missing": "FieldValueRequired",
    "literal_error": "FieldValueNotSupported",
    "enum": "FieldValueNotSupported",
    "string_too_long": "FieldValueTooLong",
    "too_long": "FieldValueTooLong",
}


def join_path(parts: Iterable[str | int]) -> str:
    """``("spec", "tasks", 1, "name")`` -> ``spec.tasks[1].name``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = part
    return out


def _join(base: str, rel: str) -> str:
    if not rel:
        return base
    if not base:
        return rel
    return base + rel if rel.startswith("[") else f"{base}.{rel}"


def reasons_from(exc: ValidationError, *, prefix: str = "") -> list[Reason]:
    """Translate a pydantic ``ValidationError`` into field-specific reasons."""
    reasons: list[Reason] = []
    for err in exc.errors(include_url=False):
        # Pydantic adds the validator kind (e.g. "function-after[...]") to the location of
        # errors raised inside validators; it is noise for a user.
        loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p and p.endswith("]"))]
        base = _join(prefix, join_path(loc))
        ctx: dict[str, Any] = err.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, FieldErrors):
            reasons.extend(Reason(field=_join(base, p), reason=c, message=m) for p, c, m in inner.problems)
            continue
        message = err["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        code = _PYDANTIC_CODES.get(err["type"], "FieldValueInvalid")
        if err["type"] == "missing":
            message = "Required value"
        reasons.append(Reason(field=base or "<root>", reason=code, message=message))
    return reasons


# --- Kubernetes name and label rules (apimachinery/pkg/util/validation) --------------------

_DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME: Final = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE: Final = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@functools.lru_cache(maxsize=4096)
def dns_label_error(value: str, *, max_length: int = 63) -> str | None:
    """Why ``value`` is not an RFC 1123 label, or ``None`` if it is one.

    Cached: namespaces and container names repeat from object to object."""
    if not value:
        return "must not be empty"
    if len(value) > max_length:
        return f"must be no more than {max_length} characters"
    if not _DNS_LABEL.match(value):
        return (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
            "and must start and end with an alphanumeric character"
        )
    return None


def dns_subdomain_error(value: str) -> str | None:
    """Why ``value`` is not an RFC 1123 subdomain, or ``None`` if it is one."""
    if not value:
        return "must not be empty"
    if len(value) > 253:
        return "must be no more than 253 characters"
    if not _DNS_SUBDOMAIN.match(value):
        return (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
            "or '.', and must start and end with an alphanumeric character"
        )
    return None


@functools.lru_cache(maxsize=4096)
def label_key_error(key: str) -> str | None:
    """Why ``key`` is not a valid label/annotation key (``[prefix/]name``).

    Cached: the same few keys (``app``, ``kurator.dev/...``) come with every object."""
    prefix, _, name = key.rpartition("/")
    if prefix:
        err = dns_subdomain_error(prefix)
        if err:
            return f"prefix part {err}"
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', must start and end "
            "with an alphanumeric character and be at most 63 characters"
        )
    return None


def label_value_error(value: str) -> str | None:
    """Why ``value`` is not a valid label value."""
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        return (
            "a valid label value must be an empty string or consist of alphanumeric characters, '-', "
            "'_' or '.', must start and end with an alphanumeric character and be at most 63 characters"
        )
    return None


def check_labels(problems: Problems, path: str, labels: dict[str, str] | None) -> None:
    """Add a problem for every invalid key or value in a label map."""
    for key, value in (labels or {}).items():
        kerr = label_key_error(key)
        if kerr:
            problems.add(f"{path}[{key}]", f"invalid label key {key!r}: {kerr}")
        verr = label_value_error(value) if isinstance(value, str) else "must be a string"
        if verr:
            problems.add(f"{path}[{key}]", f"invalid label value {value!r}: {verr}")
