"""Kubernetes resource quantities (``500m``, ``4Gi``, ``1.5``, ``2e3``) as exact decimals.

The grammar is apimachinery's ``resource.Quantity``: a signed decimal number followed by
either a binary-SI suffix (``Ki`` .. ``Ei``), a decimal-SI suffix (``m``, ``k``, ``M`` ..
``E``) or a decimal exponent (``e3``, ``E-2``). Values are returned as :class:`~decimal.Decimal`
so that comparisons (``requests <= limits``, ``guarantee <= deserved``) and capacity sums in
the placement engine never suffer binary floating-point rounding.
"""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal, InvalidOperation, localcontext
from typing import Final

_QUANTITY: Final = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]|[eE][+-]?[0-9]+)?$"
)

_BINARY: Final[dict[str, int]] = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_DECIMAL_EXPONENT: Final[dict[str, int]] = {"m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

# Kubernetes rejects exponents this large long before; the bound keeps Decimal arithmetic
# exact and cheap for hostile input such as "1e999999".
_MAX_EXPONENT: Final = 100


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact value of a quantity: ``"500m"`` -> ``Decimal("0.5")``, ``"4Gi"`` -> ``4294967296``.

    Integers and floats (what YAML gives for ``cpu: 2`` or ``cpu: 0.5``) are accepted too.

    Raises:
        ValueError: ``value`` is not a quantity.
    """
    if type(value) is str and len(value) <= _CACHED_LENGTH:
        parsed, error = _parse_cached(value)
        if parsed is None:
            raise ValueError(error)
        return parsed
    return _parse(value)


def quantity_error(value: object) -> str | None:
    """Why ``value`` is not a quantity, or ``None`` if it is one."""
    if type(value) is str and len(value) <= _CACHED_LENGTH:
        return _parse_cached(value)[1]
    if not isinstance(value, str | int | float):
        return f"quantity must be a string or a number, not {type(value).__name__}"
    try:
        _parse(value)
    except ValueError as exc:
        return str(exc)
    return None


# Every request and limit of every validated object is parsed, and the same few strings
# ("10m", "16Mi", "1Gi") recur; Decimal is immutable, so a parsed value can be shared. Only
# plain, short strings are cached: a str subclass could compare equal yet repr differently in
# the error message, and long hostile strings should not pin memory.
_CACHED_LENGTH: Final = 64


@functools.lru_cache(maxsize=1024)
def _parse_cached(value: str) -> tuple[Decimal | None, str | None]:
    try:
        return _parse(value), None
    except ValueError as exc:
        return None, str(exc)


def _parse(value: str | int | float) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"quantity must be a string or a number, not {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"quantity must be finite, not {value!r}")
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise ValueError(f"quantity must be a string or a number, not {type(value).__name__}")
    match = _QUANTITY.match(value.strip())
    if match is None:
        raise ValueError(
            f"quantities must match the regular expression "
            f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got {value!r}"
        )
    number, suffix = match.group("number"), match.group("suffix") or ""
    with localcontext() as ctx:
        ctx.prec = 200
        try:
            base = Decimal(number)
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid numbers
            raise ValueError(f"invalid quantity {value!r}") from exc
        if suffix in _BINARY:
            return base * _BINARY[suffix]
        exponent = _DECIMAL_EXPONENT[suffix] if suffix in _DECIMAL_EXPONENT else int(suffix[1:])
        if abs(exponent) > _MAX_EXPONENT:
            raise ValueError(f"quantity {value!r} is out of range")
        return base.scaleb(exponent)
