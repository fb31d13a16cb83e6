"""Kubernetes resource quantities ("512Mi", "1.5", "500m") as exact numbers, for comparisons."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
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
_PATTERN = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE])?$")


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(value: str | int | float) -> Decimal:
    text = str(value).strip()
    match = _PATTERN.match(text)
    if not match:
        raise QuantityError(f"{text!r} is not a quantity (e.g. 512Mi, 2Gi, 500m)")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        return Decimal(number) * _SUFFIXES[suffix]
    except InvalidOperation as error:
        raise QuantityError(f"{text!r} is not a quantity (e.g. 512Mi, 2Gi, 500m)") from error


def mebibytes(value: str | int | float) -> int:
    """Whole MiB, rounded down, as the JVM's -Xmx wants them."""
    return int(parse_quantity(value) / _SUFFIXES["Mi"])
