"""Kubernetes resource quantities ("512Mi", "1.5", "500m", "1e3") as exact numbers.

The grammar is the one the CRD schema enforces at admission (`QUANTITY_PATTERN`, the API server's
own), so the model accepts exactly what `kubectl apply` let through, and the value is the number
the API server means by it.
"""

from __future__ import annotations

import re
from decimal import Decimal

from kopfka.model.schema_dsl import QUANTITY_PATTERN

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_GRAMMAR = re.compile(QUANTITY_PATTERN)
_SPLIT = re.compile(r"([+-]?[0-9.]*)(.*)")
# Kubernetes refuses quantities beyond 2^63-1 in their smallest unit; far beyond any real size.
_LARGEST = Decimal(2**63 - 1)


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(value: object) -> Decimal:
    """The exact number a quantity stands for; QuantityError when the API server would refuse it."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise QuantityError(f"{value!r} is not a quantity (e.g. 512Mi, 2Gi, 500m)")
    text = str(value)
    if not _GRAMMAR.fullmatch(text):
        raise QuantityError(f"{text!r} is not a quantity (e.g. 512Mi, 2Gi, 500m)")
    match = _SPLIT.fullmatch(text)
    assert match is not None  # the grammar matched, so a number and a suffix are there
    number, suffix = match.group(1), match.group(2)
    if number.endswith("."):
        number += "0"
    if suffix[:1] in {"e", "E"} and suffix[1:]:
        if not re.fullmatch(r"[+-]?[0-9]{1,3}", suffix[1:]):
            raise QuantityError(f"{text!r}: the exponent must be a whole number below 1000")
        amount = Decimal(number) * Decimal(10) ** int(suffix[1:])
    else:
        amount = Decimal(number) * _SUFFIXES[suffix]
    if abs(amount) > _LARGEST:
        raise QuantityError(f"{text!r} is too large")
    return amount


def whole_bytes(value: object, field: str) -> tuple[int | None, str | None]:
    """A size that must be a positive whole number of bytes: (bytes, None) or (None, problem)."""
    try:
        amount = parse_quantity(value)
    except QuantityError as error:
        return None, f"{field}: {error}"
    if amount <= 0 or amount != amount.to_integral_value():
        return None, f"{field} {value!r} must be a positive whole number of bytes"
    return int(amount), None


def mebibytes(value: object) -> int:
    """Whole MiB, rounded down, as the JVM's -Xmx wants them."""
    return int(parse_quantity(value) / _SUFFIXES["Mi"])
