"""RRN parsing: accepted shapes, century/sex mapping, dates, and that the number never leaks."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.identifiers import (
    RRN_PATTERN,
    InvalidRRN,
    ResidentRegistrationNumber,
    parse_rrn,
)

TODAY = date(2026, 11, 22)
WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def with_check_digit(twelve: str) -> str:
    """Independent implementation of the historic checksum (13th digit)."""
    total = sum(int(d) * w for d, w in zip(twelve, WEIGHTS, strict=True))
    return twelve + str((11 - total % 11) % 10)


def with_wrong_check_digit(twelve: str) -> str:
    right = int(with_check_digit(twelve)[-1])
    return twelve + str((right + 1) % 10)


def hyphenate(digits: str) -> str:
    return f"{digits[:6]}-{digits[6:]}"


def assert_no_digits(text: str) -> None:
    assert not any(ch.isdigit() for ch in text), text


VALID = [
    # (text, birth date, sex, foreigner)
    (hyphenate(with_check_digit("900101123456")), date(1990, 1, 1), "male", False),
    (with_check_digit("851231234567"), date(1985, 12, 31), "female", False),
    (hyphenate(with_check_digit("010315312345")), date(2001, 3, 15), "male", False),
    (with_check_digit("200704412345"), date(2020, 7, 4), "female", False),
    (hyphenate(with_check_digit("750505512345")), date(1975, 5, 5), "male", True),
    (hyphenate(with_check_digit("750505612345")), date(1975, 5, 5), "female", True),
    (hyphenate(with_check_digit("100101712345")), date(2010, 1, 1), "male", True),
    (with_check_digit("100101812345"), date(2010, 1, 1), "female", True),
    (hyphenate(with_check_digit("991231912345")), date(1899, 12, 31), "male", False),
    (hyphenate(with_check_digit("990101012345")), date(1899, 1, 1), "female", False),
    # leap day: 2000 is a leap year (G=3 -> 2000s)
    (hyphenate(with_check_digit("000229312345")), date(2000, 2, 29), "male", False),
    # 1996 is a leap year
    (hyphenate(with_check_digit("960229212345")), date(1996, 2, 29), "female", False),
    # born today is not in the future
    (hyphenate(with_check_digit("261122412345")), TODAY, "female", False),
]


@pytest.mark.parametrize(("text", "born", "sex", "foreigner"), VALID)
def test_valid_numbers_parse(text: str, born: date, sex: str, foreigner: bool) -> None:
    rrn = parse_rrn(text, today=TODAY)
    assert rrn.birth_date == born
    assert rrn.sex == sex
    assert rrn.is_foreigner is foreigner
    assert rrn.check_digit_valid is True
    assert rrn.canonical() == text.replace("-", "")
    assert len(rrn.canonical()) == 13


def test_surrounding_whitespace_is_ignored() -> None:
    digits = with_check_digit("900101123456")
    assert parse_rrn(f"  {hyphenate(digits)}\n\t", today=TODAY).canonical() == digits


def test_hyphen_is_optional_and_gives_the_same_number() -> None:
    digits = with_check_digit("900101123456")
    assert parse_rrn(digits, today=TODAY) == parse_rrn(hyphenate(digits), today=TODAY)


def test_post_2020_random_check_digit_is_accepted_and_reported() -> None:
    rrn = parse_rrn(hyphenate(with_wrong_check_digit("211105412345")), today=TODAY)
    assert rrn.check_digit_valid is False
    assert rrn.birth_date == date(2021, 11, 5)


@pytest.mark.parametrize(
    ("g", "century", "sex", "foreigner"),
    [
        ("1", 1900, "male", False),
        ("2", 1900, "female", False),
        ("3", 2000, "male", False),
        ("4", 2000, "female", False),
        ("5", 1900, "male", True),
        ("6", 1900, "female", True),
        ("7", 2000, "male", True),
        ("8", 2000, "female", True),
        ("9", 1800, "male", False),
        ("0", 1800, "female", False),
    ],
)
def test_century_digit_mapping(g: str, century: int, sex: str, foreigner: bool) -> None:
    rrn = parse_rrn(f"050607-{g}123456", today=TODAY)
    assert rrn.birth_date == date(century + 5, 6, 7)
    assert (rrn.sex, rrn.is_foreigner) == (sex, foreigner)


INVALID = [
    ("", "format"),
    ("   ", "format"),
    ("900101-123456", "format"),  # 12 digits
    ("900101-12345678", "format"),  # 14 digits
    ("90010112345678", "format"),
    ("900101123456", "format"),
    ("90010a-1234567", "format"),
    ("RRN900101-1234567", "format"),
    ("900101 1234567", "format"),  # space is not a separator we accept
    ("900101–1234567", "format"),  # en dash
    ("900101/1234567", "format"),
    ("900101--1234567", "format"),
    ("9001011-234567", "format"),  # hyphen in the wrong place
    ("９００１０１-１２３４５６７", "format"),  # full-width digits
    ("900101－1234567", "format"),  # full-width hyphen
    ("٩٠٠١٠١-١٢٣٤٥٦٧", "format"),  # Arabic-Indic digits
    ("900101-1234567 900101-1234567", "format"),
    ("901301-1234567", "birth_date"),  # month 13
    ("900001-1234567", "birth_date"),  # month 0
    ("900100-1234567", "birth_date"),  # day 0
    ("900431-1234567", "birth_date"),  # 31 April
    ("990229-1234567", "birth_date"),  # 1999 is not a leap year
    ("000229-1234567", "birth_date"),  # G=1 -> 1900-02-29; 1900 is not a leap year
    ("000229-9234567", "birth_date"),  # G=9 -> 1800-02-29; 1800 is not a leap year
    ("261123-3234567", "future_birth_date"),  # tomorrow
    ("991231-4234567", "future_birth_date"),  # 2099
]


@pytest.mark.parametrize(("text", "reason"), INVALID)
def test_invalid_numbers_are_rejected_without_echoing_them(text: str, reason: str) -> None:
    with pytest.raises(InvalidRRN) as caught:
        parse_rrn(text, today=TODAY)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)
    for shown in (str(caught.value), repr(caught.value), *map(str, caught.value.args)):
        assert_no_digits(shown)
    # No chained exception whose message might carry the digits into a traceback.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_default_today_rejects_far_future() -> None:
    with pytest.raises(InvalidRRN) as caught:
        parse_rrn("991231-3234567")
    assert caught.value.reason == "future_birth_date"


def test_repr_and_str_show_only_the_masked_form() -> None:
    digits = with_check_digit("900101123456")
    rrn = parse_rrn(digits, today=TODAY)
    assert rrn.masked() == "900101-1******"
    for shown in (repr(rrn), str(rrn), f"{rrn}", f"{rrn!r}", "%s" % (rrn,)):  # noqa: UP031
        assert digits[7:] not in shown
        assert "******" in shown


def test_parsed_number_is_immutable() -> None:
    rrn = parse_rrn("900101-1234567", today=TODAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rrn._digits = "8001011234567"  # type: ignore[misc]


def test_direct_construction_validates_the_digits() -> None:
    with pytest.raises(InvalidRRN) as caught:
        ResidentRegistrationNumber("900101-1234567")
    assert caught.value.reason == "format"
    with pytest.raises(InvalidRRN) as caught:
        ResidentRegistrationNumber("9902291234567")
    assert caught.value.reason == "birth_date"


G_BY_CENTURY = {1800: "90", 1900: "1256", 2000: "3478"}


@st.composite
def rrn_texts(draw: st.DrawFn) -> tuple[str, date, str]:
    born = draw(st.dates(min_value=date(1800, 1, 1), max_value=TODAY))
    g = draw(st.sampled_from(G_BY_CENTURY[born.year // 100 * 100]))
    rest = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    digits = f"{born:%y%m%d}{g}{rest}"
    separator = draw(st.sampled_from(["", "-"]))
    return f"{digits[:6]}{separator}{digits[6:]}", born, g


@given(rrn_texts())
def test_every_real_birth_date_round_trips(case: tuple[str, date, str]) -> None:
    text, born, g = case
    rrn = parse_rrn(text, today=TODAY)
    assert rrn.birth_date == born
    assert rrn.sex == ("male" if int(g) % 2 else "female")
    assert rrn.is_foreigner == (g in "5678")
    assert rrn.masked() == f"{text[:6]}-{g}******"


non_digit_text = st.text(alphabet=st.characters(exclude_categories=["Nd"]), max_size=20)


@given(
    st.lists(
        st.tuples(
            st.text(alphabet="0123456789", min_size=13, max_size=13),
            st.sampled_from(["", "-", " "]),
        ),
        max_size=5,
    ),
    st.lists(non_digit_text.filter(bool), min_size=6, max_size=6),
    non_digit_text,
    non_digit_text,
)
def test_rrn_pattern_finds_every_embedded_number(
    numbers: list[tuple[str, str]], gaps: list[str], head: str, tail: str
) -> None:
    rendered = [f"{d[:6]}{sep}{d[6:]}" for d, sep in numbers]
    text = head + "".join(r + gap for r, gap in zip(rendered, gaps, strict=False)) + tail
    found = [m.group() for m in RRN_PATTERN.finditer(text)]
    assert found == rendered


@pytest.mark.parametrize(
    "text",
    [
        "account 12345678901234 ok",  # 14 digits
        "phone 010-1234-5678",
        "900101-123456",  # 12 digits
        "1900101-1234567",  # a seventh leading digit
        "900101-12345678",
    ],
)
def test_rrn_pattern_ignores_other_digit_runs(text: str) -> None:
    assert RRN_PATTERN.search(text) is None


def test_rrn_pattern_overmatches_full_width_digits_for_redaction() -> None:
    assert RRN_PATTERN.search("번호 ９００１０１-１２３４５６７ 입니다")
