"""Maintenance windows on the simulation clock."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from sim.common.errors import InputError
from sim.model.calendar import WEEK, Calendar, week_offset
from sim.model.plan import MaintenanceWindow, Plan

SAT = 5 * 1440.0
SUN = 6 * 1440.0


def cal(windows: list[dict[str, Any]], start: str | None = None) -> Calendar:
    plan = Plan.model_validate(
        {"maintenance_windows": windows, **({"start": start} if start else {})}
    )
    return Calendar.of(plan)


def test_no_windows_means_always_open() -> None:
    c = cal([])
    assert c.always_open
    assert c.earliest_fit(123.4, 10_000.0) == 123.4
    assert c.fits(0.0, 1e9)
    assert math.isinf(c.longest())


def test_time_zero_is_monday_midnight_without_start() -> None:
    c = cal([{"every": "saturday", "at": "22:00", "for": "8h"}])
    assert c.earliest_fit(0.0, 60.0) == SAT + 22 * 60
    assert c.earliest_fit(SAT + 23 * 60, 60.0) == SAT + 23 * 60  # inside: start now
    # does not fit in what is left of this window: next Saturday
    assert c.earliest_fit(SAT + 22 * 60 + 7.5 * 60, 60.0) == WEEK + SAT + 22 * 60
    assert c.longest() == 480.0


def test_start_shifts_the_clock() -> None:
    # 2026-12-05 is a Saturday: the plan starts at the window's opening.
    c = cal([{"every": "saturday", "at": "22:00", "for": "8h"}], "2026-12-05T22:00:00Z")
    assert c.earliest_fit(0.0, 480.0) == 0.0
    assert c.earliest_fit(0.0, 481.0) is None  # longer than every window: never
    assert c.earliest_fit(10.0, 475.0) == WEEK


def test_week_offset() -> None:
    assert week_offset(None) == 0.0
    assert week_offset(datetime(2026, 12, 5, 22, 0, 30, tzinfo=UTC)) == SAT + 22 * 60 + 0.5


def test_weekday_weekend_and_day() -> None:
    c = cal([{"every": "weekday", "at": "01:00", "for": "1h"}])
    starts = [a for a, _ in c.intervals(0.0, WEEK - 1)]
    assert starts == [d * 1440.0 + 60 for d in range(5)]
    c = cal([{"every": "weekend", "at": "01:00", "for": "1h"}])
    assert [a for a, _ in c.intervals(0.0, WEEK - 1)] == [SAT + 60, SUN + 60]
    c = cal([{"every": "day", "at": "01:00", "for": "1h"}])
    assert len(c.intervals(0.0, WEEK - 1)) == 7


def test_touching_and_overlapping_windows_merge() -> None:
    c = cal(
        [
            {"every": "saturday", "at": "22:00", "for": "3h"},
            {"every": "sunday", "at": "00:00", "for": "3h"},
        ]
    )
    assert c.intervals(SAT, SUN + 1440) == [(SAT + 1320, SUN + 180)]
    assert c.earliest_fit(0.0, 5 * 60) == SAT + 1320
    assert c.longest() == 300.0


def test_windows_covering_all_time() -> None:
    c = cal([{"every": "day", "at": "00:00", "for": "24h"}])
    assert math.isinf(c.longest())
    assert c.earliest_fit(17.0, 5 * WEEK) == 17.0


def test_window_across_the_week_boundary() -> None:
    c = cal([{"every": "sunday", "at": "23:00", "for": "2h"}])
    # the window opens Sunday 23:00 and runs into Monday 01:00 of the next week
    assert c.earliest_fit(0.0, 30.0) == 0.0  # the previous Sunday's window covers minute 0
    assert c.earliest_fit(0.0, 90.0) == SUN + 1380


def test_one_off_window() -> None:
    c = cal(
        [{"start": "2026-12-06T02:00:00Z", "for": "2h"}],
        "2026-12-05T22:00:00Z",
    )
    assert c.earliest_fit(0.0, 60.0) == 240.0
    assert c.earliest_fit(300.0, 60.0) == 300.0
    assert c.earliest_fit(330.0, 60.0) is None
    assert c.fits(240.0, 360.0)
    assert not c.fits(239.0, 300.0)


def test_one_off_window_needs_a_start() -> None:
    plan = Plan.model_validate({"maintenance_windows": [{"start": "2026-12-06T02:00", "for": 60}]})
    with pytest.raises(InputError) as exc:
        Calendar.of(plan)
    assert exc.value.key_path == "plan.maintenance_windows[0].start"


def test_fits_uses_a_tolerance_for_float_sums() -> None:
    c = cal([{"every": "monday", "at": "00:00", "for": "1h"}])
    assert c.fits(0.1, 0.1 + (60.0 - 0.1) + 1e-9)
    assert not c.fits(0.0, 61.0)


def test_window_records_validate() -> None:
    with pytest.raises(ValueError):
        MaintenanceWindow.model_validate({"every": "monday", "at": "01:00", "for": 0})


def test_a_start_with_an_offset_is_read_in_utc() -> None:
    # 09:00 at UTC-5 is 14:00 UTC: recurring windows (read in UTC) and every *_utc column follow.
    from sim.model.plan import Plan

    plan = Plan.model_validate(
        {
            "start": "2026-12-07T09:00:00-05:00",
            "maintenance_windows": [{"start": "2026-12-12T22:00:00+01:00", "for": "1h"}],
        }
    )
    assert plan.start == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    assert plan.maintenance_windows[0].start == datetime(2026, 12, 12, 21, 0, tzinfo=UTC)
    cal = Calendar.of(plan)
    assert cal.intervals(0, WEEK) == [(5 * 1440 + 7 * 60, 5 * 1440 + 8 * 60)]
