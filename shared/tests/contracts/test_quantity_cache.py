"""The cached quantity parser agrees exactly with the uncached reference, values and errors."""

from __future__ import annotations

import itertools
import math
import random
import re
from decimal import Decimal, InvalidOperation, localcontext

import pytest

from shared.contracts import quantity

# A frozen copy of the parser as it was before caching: the reference the cache must match.
_REF_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]|[eE][+-]?[0-9]+)?$"
)
_REF_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_REF_DECIMAL = {"m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def _reference_parse(value: object) -> Decimal:
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
    match = _REF_QUANTITY.match(value.strip())
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
        except InvalidOperation as exc:  # pragma: no cover
            raise ValueError(f"invalid quantity {value!r}") from exc
        if suffix in _REF_BINARY:
            return base * _REF_BINARY[suffix]
        exponent = _REF_DECIMAL[suffix] if suffix in _REF_DECIMAL else int(suffix[1:])
        if abs(exponent) > 100:
            raise ValueError(f"quantity {value!r} is out of range")
        return base.scaleb(exponent)


def _reference_error(value: object) -> str | None:
    if not isinstance(value, str | int | float):
        return f"quantity must be a string or a number, not {type(value).__name__}"
    try:
        _reference_parse(value)
    except ValueError as exc:
        return str(exc)
    return None


def _outcome(parse: object, value: object) -> tuple[str, str]:
    try:
        result = parse(value)  # type: ignore[operator]
    except ValueError as exc:
        return ("error", str(exc))
    # repr, not ==: the exponent ("0.50" vs "0.5") must match too, not only the value.
    return ("value", repr(result))


def _samples() -> list[object]:
    numbers = ["0", "1", "10", "16", "500", "1.5", ".5", "5.", "+3", "-100", "007", "1.", "", ".", "-", "+", "1.2.3"]
    suffixes = ["", "m", "k", "K", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "i", "Kib", "u", "n"]
    suffixes += ["e3", "E3", "e-3", "E+2", "e", "e100", "e101", "e-100", "e-101", "e999", "ee3", "e3.5"]
    out: list[object] = [n + s for n, s in itertools.product(numbers, suffixes)]
    out += [" 10m", "10m ", " 1Gi\n", "\t2", "1 Gi", "abc", "Gi", "--1", "1ii", "1e", "1" * 70 + "m", "9" * 80]
    rng = random.Random(20261127)
    alphabet = "0123456789.+-eEikKmMGTPn "
    out += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(3000)]
    out += [0, 2, -1, 10**30, 0.25, -0.5, 1e300, float("nan"), float("inf"), True, False, None, [1], {"a": 1}]
    return out


def test_parse_matches_reference_twice() -> None:
    quantity._parse_cached.cache_clear()
    for value in _samples():
        expected = _outcome(_reference_parse, value)
        # First call fills the cache, the second is served from it: both must match.
        assert _outcome(quantity.parse_quantity, value) == expected, value
        assert _outcome(quantity.parse_quantity, value) == expected, value


def test_error_matches_reference_twice() -> None:
    quantity._parse_cached.cache_clear()
    for value in _samples():
        expected = _reference_error(value)
        assert quantity.quantity_error(value) == expected, value
        assert quantity.quantity_error(value) == expected, value


class _Shouting(str):
    def __repr__(self) -> str:
        return "SHOUT"


def test_str_subclass_bypasses_cache() -> None:
    # Equal to the plain string but repr'd differently: the message must use its own repr.
    quantity._parse_cached.cache_clear()
    assert quantity.quantity_error("bad") is not None
    err = quantity.quantity_error(_Shouting("bad"))
    assert err is not None
    assert err.endswith("got SHOUT")
    with pytest.raises(ValueError, match="got SHOUT"):
        quantity.parse_quantity(_Shouting("bad"))


def test_cache_holds_short_strings_only() -> None:
    quantity._parse_cached.cache_clear()
    quantity.parse_quantity("16Mi")
    quantity.parse_quantity("16Mi")
    quantity.parse_quantity("1" * 100)
    info = quantity._parse_cached.cache_info()
    assert (info.hits, info.misses, info.currsize) == (1, 1, 1)
