"""Quantities parse to the number the API server means, with the grammar the CRD enforces."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kopfka.model.quantity import QuantityError, parse_quantity, whole_bytes


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
