"""Hypothesis strategies for Kubernetes quantities as people write them.

`spelled(value)` writes one exact number in any of the styles the API accepts: plain digits,
decimal SI suffixes (n u m k M G T P E), binary SI suffixes (Ki..Ei, with a fraction when that is
exact: 1.5Gi), exponents (1e9, 15E8, 0.5e3), and the decorations people add (a plus sign, leading
zeros, a trailing dot, an int instead of a string). `quantities()` draws any text the API accepts.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import assume
from hypothesis import strategies as st

from kopfka.model.quantity import QuantityError, parse_quantity
from kopfka.model.schema_dsl import QUANTITY_PATTERN

DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
# At most this many digits after the point in a spelling: people write 1.5Gi, not 1.00048828125Gi.
MAX_FRACTION_DIGITS = 4


def _digits(value: Fraction) -> str | None:
    """`value` in plain decimal digits, or None if that needs too many digits after the point."""
    for places in range(MAX_FRACTION_DIGITS + 1):
        scaled = value * 10**places
        if scaled.denominator == 1:
            text = str(abs(scaled.numerator)).rjust(places + 1, "0")
            whole, fraction = text[: len(text) - places], text[len(text) - places :]
            sign = "-" if value < 0 else ""
            return sign + whole + (f".{fraction}" if fraction else "")
    return None


def spellings(value: Fraction) -> list[str | int]:
    """Every way (within reason) to write `value` as a quantity."""
    found: list[str | int] = []
    plain = _digits(value)
    if plain is not None:
        found.append(plain)
        if value.denominator == 1:
            found.append(int(value))
    for suffix, exponent in DECIMAL_SUFFIXES.items():
        text = _digits(value / Fraction(10) ** exponent)
        if text is not None and text != "0":
            found.append(text + suffix)
    for suffix, exponent in BINARY_SUFFIXES.items():
        text = _digits(value / 2**exponent)
        if text is not None and text != "0":
            found.append(text + suffix)
    for exponent in range(-12, 19):
        text = _digits(value / Fraction(10) ** exponent)
        if text is not None and text != "0":
            found.append(f"{text}{'e' if exponent % 2 else 'E'}{exponent}")
    return found


def _decorated(text: str, style: int) -> str:
    """`text` with what people add that does not change its value."""
    if text.startswith("-"):
        return text
    if style == 1:
        return "+" + text
    if style == 2:
        return "0" + text
    number = text.rstrip("".join(DECIMAL_SUFFIXES) + "i")
    if style == 3 and number.isdigit():
        return number + "." + text[len(number) :]
    return text


@st.composite
def spelled(draw: st.DrawFn, value: Fraction | int) -> str | int:
    """`value` written in one of its spellings; plain ones (no decoration) most of the time."""
    choice = draw(st.sampled_from(spellings(Fraction(value))))
    if isinstance(choice, int):
        return choice
    return _decorated(choice, draw(st.sampled_from([0, 0, 0, 0, 1, 2, 3])))


def _accepted(text: str) -> bool:
    try:
        return parse_quantity(text) >= 0
    except QuantityError:
        return False


@st.composite
def _texts(draw: st.DrawFn) -> str:
    """Text of the API's grammar, part by part: sign, digits (leading zeros and all), point,
    fraction, and any suffix or exponent."""
    sign = draw(st.sampled_from(["", "", "+"]))
    whole = draw(st.from_regex(r"0{0,2}[0-9]{0,7}", fullmatch=True))
    fraction = draw(st.from_regex(r"[0-9]{0,12}", fullmatch=True))
    point = "." if fraction or draw(st.booleans()) else ""
    assume(whole or fraction)
    suffixes = ["", *DECIMAL_SUFFIXES, *BINARY_SUFFIXES]
    suffix = draw(
        st.sampled_from(suffixes)
        | st.builds(
            "{}{}{}".format,
            st.sampled_from(["e", "E"]),
            st.sampled_from(["", "+", "-"]),
            st.integers(0, 18).map(str),
        )
    )
    return f"{sign}{whole}{point}{fraction}{suffix}"


def quantities() -> st.SearchStrategy[str | int]:
    """Any quantity the API accepts that is not negative: text of the API's grammar (built part
    by part, and some drawn from the grammar's regular expression itself), and round values of
    every size spelled in every style."""
    grammar = st.from_regex(QUANTITY_PATTERN, fullmatch=True)
    text = (_texts() | grammar).filter(_accepted)
    binary = st.builds(
        lambda digits, power: Fraction(digits * 2**power),
        st.integers(0, 5000),
        st.integers(0, 50),
    )
    decimal = st.builds(
        lambda digits, power: Fraction(digits) * Fraction(10) ** power,
        st.integers(0, 5000),
        st.integers(-12, 15),
    )
    return text | (binary | decimal).flatmap(spelled)


def exact(value: str | int) -> Fraction:
    return Fraction(Decimal(parse_quantity(value)))
