"""Durations and clock times as scenario files write them; minutes inside the model."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from sim.common.timeparse import ClockMinutes, Minutes, format_minutes, parse_clock, parse_duration


@pytest.mark.parametrize(
    ("written", "minutes"),
    [
        ("90s", 1.5),
        ("30s", 0.5),
        ("45m", 45.0),
        ("2h", 120.0),
        ("1d", 1440.0),
        ("1h30m", 90.0),
        ("1h 30m", 90.0),
        (" 2h ", 120.0),
        ("1d2h3m", 1563.0),
        ("1.5h", 90.0),
        ("0.5d", 720.0),
        ("2H", 120.0),
        ("1M", 1.0),
        ("0m", 0.0),
        ("30", 30.0),
        ("2.5", 2.5),
        (30, 30.0),
        (2.5, 2.5),
        (0, 0.0),
    ],
)
def test_parse_duration_forms(written: Any, minutes: float) -> None:
    got = parse_duration(written)
    assert isinstance(got, float)
    assert got == pytest.approx(minutes)


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("", "expected a duration such as 90s, 45m, 2h, 1d or minutes"),
        ("abc", "expected a duration such as"),
        ("5x", "expected a duration such as"),
        ("h", "expected a duration such as"),
        ("1h-30m", "expected a duration such as"),
        ("-5m", "expected a duration of zero or more"),
        ("two hours", "expected a duration such as"),
        (-1, "expected a duration of zero or more"),
        (-0.5, "expected a duration of zero or more"),
        ("-3", "expected a duration of zero or more"),
        (float("nan"), "expected a finite duration"),
        (float("inf"), "expected a finite duration"),
        ("inf", "expected a finite duration"),
        ("nan", "expected a finite duration"),
        (True, "expected a duration such as"),
        (None, "got NoneType"),
        ([1, 2], "got list"),
        ({"base": 5}, "got dict"),
    ],
)
def test_parse_duration_refuses(written: Any, says: str) -> None:
    with pytest.raises(ValueError, match="expected") as info:
        parse_duration(written)
    assert says in str(info.value)


@pytest.mark.parametrize(
    ("written", "minutes"),
    [("22:00", 1320), ("00:00", 0), ("0:00", 0), ("7:05", 425), ("23:59", 1439), (" 09:30 ", 570)],
)
def test_parse_clock(written: str, minutes: int) -> None:
    assert parse_clock(written) == minutes


def test_parse_clock_explains_unquoted_yaml_time() -> None:
    # YAML 1.1 reads an unquoted 22:00 as 22 * 60 = 1320.
    with pytest.raises(ValueError) as info:
        parse_clock(1320)
    message = str(info.value)
    assert 'quoted clock time such as "22:00"' in message
    assert "1320" in message


@pytest.mark.parametrize(
    "written", ["24:00", "22:60", "2200", "22h", "22:0", "-1:00", "", "noon", True, None, 22.5]
)
def test_parse_clock_refuses(written: Any) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_clock(written)


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (0, "0m"),
        (0.5, "30s"),
        (1.4, "1m"),  # rounded to whole minutes from one minute up
        (1.6, "2m"),
        (1, "1m"),
        (45, "45m"),
        (60, "1h"),
        (90, "1h30m"),
        (120, "2h"),
        (1440, "1d"),
        (1500, "1d1h"),
        (1441, "1d01m"),
        (2 * 1440 + 3 * 60 + 4, "2d3h04m"),
        (6 * 60 + 2, "6h02m"),
    ],
)
def test_format_minutes(minutes: float, shown: str) -> None:
    assert format_minutes(minutes) == shown


@given(st.integers(min_value=0, max_value=10**7))
def test_format_then_parse_round_trips_whole_minutes(minutes: int) -> None:
    assert parse_duration(format_minutes(minutes)) == minutes


@given(
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=48),
    st.integers(min_value=0, max_value=600),
    st.integers(min_value=0, max_value=3600),
)
def test_compound_duration_is_the_sum_of_its_parts(d: int, h: int, m: int, s: int) -> None:
    text = f"{d}d{h}h{m}m{s}s"
    assert parse_duration(text) == pytest.approx(d * 1440 + h * 60 + m + s / 60)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_plain_numbers_are_minutes(minutes: float) -> None:
    assert parse_duration(minutes) == minutes
    assert parse_duration(repr(minutes)) == minutes


@given(st.integers(min_value=0, max_value=23), st.integers(min_value=0, max_value=59))
def test_every_clock_time_parses(hours: int, minutes: int) -> None:
    assert parse_clock(f"{hours:02d}:{minutes:02d}") == hours * 60 + minutes
    assert parse_clock(f"{hours}:{minutes:02d}") == hours * 60 + minutes


class _Timed(BaseModel):
    length: Minutes
    at: ClockMinutes


def test_annotated_fields_validate_and_hold_minutes() -> None:
    timed = _Timed.model_validate({"length": "1h30m", "at": "22:00"})
    assert (timed.length, timed.at) == (90.0, 1320)
    with pytest.raises(ValidationError) as info:
        _Timed.model_validate({"length": "-5m", "at": 1320})
    messages = " ".join(str(e["msg"]) for e in info.value.errors())
    assert "expected a duration" in messages
    assert "quoted clock time" in messages


def test_format_minutes_is_short_for_sub_minute_values() -> None:
    assert format_minutes(1 / 60) == "1s"
    assert parse_duration(format_minutes(1 / 60)) == pytest.approx(1 / 60)
    assert format_minutes(0.75) == "45s"
