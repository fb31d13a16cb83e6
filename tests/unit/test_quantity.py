"""Quantities parse to the number the API server means, with the grammar the CRD enforces, and
render in the form the API server writes back."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from kopfka.model.quantity import QuantityError, canonical, parse_quantity, whole_bytes
from kopfka.model.schema_dsl import QUANTITY_PATTERN


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1Gi", Decimal(2**30)),
        ("1.5Gi", Decimal(3 * 2**29)),
        ("500m", Decimal("0.5")),
        ("100n", Decimal("1e-7")),
        ("2u", Decimal("2e-6")),
        ("1e3", Decimal(1000)),
        ("1E", Decimal(10**18)),
        ("7Ei", Decimal(7 * 2**60)),
        ("1.0000000000000000000000000001", Decimal("1.0000000000000000000000000001")),
        ("1.", Decimal(1)),
        (".5", Decimal("0.5")),
        ("+2Ki", Decimal(2048)),
        ("-1", Decimal(-1)),
        (7, Decimal(7)),
    ],
)
def test_quantities_mean_what_kubernetes_means(text: str | int, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    "text", ["", ".", "1.2.3", "K", "1K", "lots", "1e", "1e1.5", "1e9999", "9" * 40, 1.5, True]
)
def test_what_the_api_server_refuses_is_refused(text: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [("1Gi", 2**30), ("1e3", 1000), ("1.5Ki", 1536)],
)
def test_sizes_are_whole_bytes(text: str, size: int) -> None:
    assert whole_bytes(text, "size") == (size, None)


@pytest.mark.parametrize("text", ["500m", "0", "-1Gi", "1.1", "lots"])
def test_sizes_that_are_not_positive_whole_bytes_are_refused(text: str) -> None:
    size, problem = whole_bytes(text, "spec.brokers.storage.size")
    assert size is None
    assert problem is not None
    assert problem.startswith("spec.brokers.storage.size")


# What the API server writes back (Kubernetes' resource.Quantity serialization); many cases are
# those of apimachinery's own tables (TestQuantityString, TestQuantityParseEmit). The integration
# tier checks the same function against the real API server (tests/integration/test_zero_writes.py).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # decimal SI: no trailing zeros, the exponent a multiple of 3
        ("0.5", "500m"),
        ("2000m", "2"),
        ("1000000", "1M"),
        ("1000M", "1G"),
        ("1.08", "1080m"),
        ("1080000000n", "1080m"),
        ("0.001T", "1G"),
        ("1000u", "1m"),
        ("80m", "80m"),
        ("1234567M", "1234567M"),
        ("1.", "1"),
        (".5", "500m"),
        (1000, "1k"),
        ("9223372036854775807", "9223372036854775807"),
        # binary SI: the largest power of 1024 that divides a whole value of at least 1024
        ("1024Mi", "1Gi"),
        ("1.5Gi", "1536Mi"),
        ("307200Ki", "300Mi"),
        ("1025024Mi", "1001Gi"),
        ("1024Gi", "1Ti"),
        ("1.5Ki", "1536"),
        ("7Ei", "7Ei"),
        ("1.5Ei", "1536Pi"),
        # ... and decimal below 1024, with a fraction or not a multiple of 1024 (the API server
        # stores the bare number and reads it back as decimal)
        ("0.5Ki", "512"),
        ("97.65625Ki", "100k"),
        ("395214843.75Ki", "404700M"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        ("1.1Mi", "1153433600m"),
        # an exponent stays an exponent
        ("1e3", "1e3"),
        ("1E3", "1e3"),
        ("10e2", "1e3"),
        ("1e+3", "1e3"),
        (".001e12", "1e9"),
        ("0.001e0", "1e-3"),
        ("1000e-12", "1e-9"),
        ("80e-3", "80e-3"),
        ("1.5e3", "1500"),
        ("5e0", "5"),
        # E alone is exa, not an exponent
        ("1E", "1E"),
        # zero, signs, leading zeros
        ("0", "0"),
        ("00", "0"),
        ("0Gi", "0"),
        ("0m", "0"),
        ("-0", "0"),
        ("+1Gi", "1Gi"),
        ("01Gi", "1Gi"),
        ("+5", "5"),
        ("-1.5Gi", "-1536Mi"),
        ("-0.5", "-500m"),
        # anything finer than a nano unit rounds up, away from zero
        (".000000000001Ki", "2n"),
        ("1e-12", "1e-9"),
        ("1.0000000000000000000000000001", "1000000001n"),
        ("-0.0000000001", "-1n"),
    ],
)
def test_canonical_is_what_the_api_server_writes(text: str | int, expected: str) -> None:
    assert canonical(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.5", "500m"),
        ("1n", "1m"),
        ("0.0001", "1m"),
        ("1.0001m", "2m"),
        ("100u", "1m"),
        (".000000001Ki", "1m"),
        ("1e-10", "1e-3"),
        ("1.0000001Ki", "1024001m"),
        ("1024Mi", "1Gi"),
        ("-1n", "-1m"),
    ],
)
def test_resource_lists_round_up_to_milli_units(text: str, expected: str) -> None:
    assert canonical(text, resource_list=True) == expected


quantity_texts = st.from_regex(QUANTITY_PATTERN, fullmatch=True)


@settings(max_examples=500)
@given(quantity_texts, st.booleans())
def test_canonical_form_is_the_same_number_and_a_fixed_point(text: str, listed: bool) -> None:
    try:
        value = parse_quantity(text)
    except QuantityError:
        reject()
    normal = canonical(text, resource_list=listed)
    unit = Fraction(1, 1000) if listed else Fraction(1, 10**9)
    # the same number, up to rounding away from zero to the unit (exact arithmetic)
    exact, rendered = Fraction(value), Fraction(parse_quantity(normal))
    assert abs(rendered - exact) < unit
    assert abs(rendered) >= abs(exact)
    assert canonical(normal, resource_list=listed) == normal
    assert re.fullmatch(r"-?[1-9][0-9]*([numkMGTPE]|[KMGTPE]i|e-?[1-9][0-9]*)?|0", normal)
