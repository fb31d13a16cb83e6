"""Kubernetes resource quantities ("512Mi", "1.5", "500m", "1e3") as exact numbers, and in the
API server's normal form.

The grammar is the one the CRD schema enforces at admission (`QUANTITY_PATTERN`, the API server's
own), so the model accepts exactly what `kubectl apply` let through, and the value is the number
the API server means by it.

`canonical` writes a quantity the way the API server writes it back (Kubernetes'
`resource.Quantity` serialization), so that what the renderers produce is what a GET returns and
an unchanged cluster compares equal to its live objects (`k8s/drift.py`). The rules, from
apimachinery's `pkg/api/resource`:

- Parsing rounds a value up (away from zero) to a whole number of nano units (10^-9); a field of a
  resource list (container requests and limits, volume claim requests) is then rounded up to
  milli units (10^-3) by the API's defaulting (`canonical(..., resource_list=True)`).
- Zero is "0", whatever its suffix.
- The suffix the value was written with picks the family: a binary suffix (Ki..Ei) keeps a binary
  suffix when the value is a whole multiple of 1024, with the largest power of 1024 that divides
  it ("1024Mi" -> "1Gi", "1.5Gi" -> "1536Mi"). Any other binary value falls back to decimal: below
  1024, with a fraction, or not a multiple of 1024 (stored as the bare number, which the API
  server reads back as decimal: "0.5Ki" -> "512", "1.5Ki" -> "1536", "97.65625Ki" -> "100k").
- An exponent ("1e3", "1E3", "10e2") keeps the exponent form: "1e3", or no suffix when the
  exponent is 0 ("1.5e3" -> "1500").
- Otherwise decimal SI: the digits without trailing zeros, the exponent lowered to a multiple of
  3, and its suffix n, u, m, "", k, M, G, T, P or E ("0.5" -> "500m", "2000m" -> "2",
  "1000000" -> "1M", "1.08" -> "1080m").
- A sign only when negative; no leading zeros, no decimal point.

The API server stores some spellings as written: those it parses without rounding whose digits,
less a sign, leading zeros or a trailing point, are already canonical ("+1Gi", "01Gi", "5.", "1E3",
"1e+3"). It stores their canonical form as written too, so rendering `canonical` always compares
equal (tests/integration/test_zero_writes.py checks both against the real API server).
"""

from __future__ import annotations

import re
from decimal import ROUND_UP, Decimal, localcontext

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
_BINARY_SUFFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")  # index: power of 1024
_DECIMAL_SUFFIXES = {
    -9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"
}  # fmt: skip
_GRAMMAR = re.compile(QUANTITY_PATTERN)
_SPLIT = re.compile(r"([+-]?[0-9.]*)(.*)")
_EXPONENT = re.compile(r"[eE]([+-]?[0-9.]+)")  # not E (exa) nor Ei (exbi)
# Kubernetes refuses quantities beyond 2^63-1 in their smallest unit; far beyond any real size.
_LARGEST = Decimal(2**63 - 1)
# Digits of precision beyond those written, so that arithmetic on quantities is exact (2^60, the
# largest factor a suffix stands for, has 19 digits).
_HEADROOM = 40
_NANO = Decimal("1e-9")
_NANOS_PER_UNIT = 10**9
_NANOS_PER_MILLI = 10**6


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def _split(value: object) -> tuple[str, str, str]:
    """(text, number, suffix) of a quantity the API server accepts; QuantityError otherwise."""
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
    exponent = _EXPONENT.fullmatch(suffix)
    if exponent and not re.fullmatch(r"[+-]?[0-9]{1,3}", exponent.group(1)):
        raise QuantityError(f"{text!r}: the exponent must be a whole number below 1000")
    return text, number, suffix


def parse_quantity(value: object) -> Decimal:
    """The exact number a quantity stands for; QuantityError when the API server would refuse it."""
    text, number, suffix = _split(value)
    # Exact: enough digits for every digit written plus those of the suffix's factor.
    with localcontext() as context:
        context.prec = len(text) + _HEADROOM
        if _EXPONENT.fullmatch(suffix):
            amount = Decimal(number).scaleb(int(suffix[1:]))
        else:
            amount = Decimal(number) * _SUFFIXES[suffix]
    if amount.copy_abs() > _LARGEST:
        raise QuantityError(f"{text!r} is too large")
    return amount


def canonical(value: object, *, resource_list: bool = False) -> str:
    """The quantity as the API server writes it back (see the module docstring for the rules).

    `resource_list`: the value sits in a resource list (container resources, a volume claim's
    requests), which the API server also rounds up to milli units.
    """
    _, _, suffix = _split(value)
    amount = parse_quantity(value)
    nanos = _away_from_zero(amount.copy_abs(), _NANO)
    if resource_list:
        nanos = -(-nanos // _NANOS_PER_MILLI) * _NANOS_PER_MILLI
    if nanos == 0:
        return "0"
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(nanos, _NANOS_PER_UNIT)
    if suffix in _BINARY_SUFFIXES[1:] and whole >= 1024 and not fraction:
        power = 0
        while whole % 1024 == 0 and power < len(_BINARY_SUFFIXES) - 1:
            whole //= 1024
            power += 1
        # Without a power of 1024 the API server stores the bare number, which it reads back as a
        # decimal quantity: a GET shows the decimal form below.
        if power:
            return f"{sign}{whole}{_BINARY_SUFFIXES[power]}"
    digits, exponent = nanos, -9
    while digits % 10 == 0:
        digits //= 10
        exponent += 1
    lower = exponent % 3  # down to a multiple of 3, as the suffixes go
    digits, exponent = digits * 10**lower, exponent - lower
    if _EXPONENT.fullmatch(suffix):
        return f"{sign}{digits}" + (f"e{exponent}" if exponent else "")
    return f"{sign}{digits}{_DECIMAL_SUFFIXES[exponent]}"


def _away_from_zero(amount: Decimal, unit: Decimal) -> int:
    """How many `unit`s make `amount` (not negative), rounded up."""
    with localcontext() as context:
        context.prec = len(str(amount)) + _HEADROOM
        return int((amount / unit).to_integral_value(rounding=ROUND_UP))


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
