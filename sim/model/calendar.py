"""Maintenance windows on the simulation clock: where a step of known length may run.

Simulation time is minutes from the plan's start. Recurring windows (``every`` + ``at``) are read
by weekday in the plan's time zone (``plan.timezone``), daylight saving included: ``saturday
22:00`` in Europe/Amsterdam opens at 20:00 UTC in summer and 21:00 UTC in winter. A window's
length is elapsed time (a night window across the change back from summer time ends one wall-clock
hour earlier). One-off windows (``start``) open at their own timestamp. When ``plan.start`` is
absent, time 0 is a Monday 00:00 in the plan's zone, with no date and so no daylight saving, and
``every: saturday, at: "22:00"`` opens at minute ``5 * 1440 + 1320``; a one-off window then has no
place on the clock and is refused.

Windows that overlap or touch are merged: a step may run across two adjacent windows. A step
fits when it starts and ends inside one merged window (both ends included, with a tolerance of
:data:`EPS` minutes for floating-point sums). Without any window every time fits.

The calendar looks no further than the plan's horizon (``plan.horizon``): a search for a fit
stops there, so its cost is in proportion to the windows inside the horizon, never to the
duration asked or to a one-off window years away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sim.common.errors import InputError
from sim.model.plan import MaintenanceWindow, Plan

WEEK = 7 * 1440.0
EPS = 1e-6
"""Minutes of tolerance when comparing a step's end with a window's end."""

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAYS: dict[str, tuple[int, ...]] = {
    **{name: (i,) for i, name in enumerate(WEEKDAYS)},
    "day": (0, 1, 2, 3, 4, 5, 6),
    "weekday": (0, 1, 2, 3, 4),
    "weekend": (5, 6),
}


def week_offset(start: datetime | None) -> float:
    """Minutes from the Monday 00:00 UTC before ``start`` to ``start`` (0 without a start)."""
    if start is None:
        return 0.0
    return (
        start.weekday() * 1440.0
        + start.hour * 60.0
        + start.minute
        + start.second / 60.0
        + start.microsecond / 60e6
    )


def _fixed_offset(zone: ZoneInfo | None, start: datetime | None) -> bool:
    # Without a date there is no daylight saving; UTC never has any.
    return zone is None or start is None or zone.key == "UTC"


def clock(origin: datetime, minutes: float) -> datetime:
    """The wall-clock time of simulation time ``minutes``."""
    return origin + timedelta(minutes=minutes)


class Calendar:
    """The plan's maintenance windows as merged intervals of simulation minutes."""

    def __init__(
        self,
        windows: Sequence[MaintenanceWindow],
        start: datetime | None,
        zone: ZoneInfo | None = None,
        horizon: float = math.inf,
    ) -> None:
        self.start = start
        self.zone = zone
        self.horizon = horizon
        local = start.astimezone(zone) if start is not None and zone is not None else start
        self.offset = week_offset(local)
        # With a date and a zone with daylight saving, week k's windows are placed by their
        # wall-clock time (_week); otherwise the weekly pattern is fixed in minutes.
        self._dst = not _fixed_offset(zone, start)
        self._monday = (
            datetime(local.year, local.month, local.day) - timedelta(days=local.weekday())
            if local is not None
            else None
        )
        self.recurring: list[tuple[float, float]] = []  # (minute of the week, length)
        self.oneoff: list[tuple[float, float]] = []  # (start, end) in simulation minutes
        for i, w in enumerate(windows):
            if w.every is not None:
                assert w.at is not None  # the plan's validator requires it
                for day in DAYS[w.every]:
                    self.recurring.append((day * 1440.0 + w.at, w.length))
            else:
                assert w.start is not None
                if start is None:
                    raise InputError(
                        None,
                        ("plan", "maintenance_windows", i, "start"),
                        "a one-off window needs plan.start to place it on the simulation clock;"
                        " expected plan.start (or a recurring window with every/at)",
                    )
                begin = (w.start - start).total_seconds() / 60.0
                self.oneoff.append((begin, begin + w.length))
        self.recurring.sort()
        self.oneoff.sort()
        self._max_len = max((length for _, length in self.recurring), default=0.0)
        self._last_oneoff = max((end for _, end in self.oneoff), default=-math.inf)
        self._week = lru_cache(maxsize=256)(self._week_uncached)
        self._longest: float | None = None

    @classmethod
    def of(cls, plan: Plan) -> Calendar:
        """The calendar of ``plan``'s windows, in its time zone."""
        return cls(plan.maintenance_windows, plan.start, plan.zone, plan.horizon)

    def _week_uncached(self, k: int) -> tuple[tuple[float, float], ...]:
        # Week k's recurring windows (start, end) in simulation minutes, each placed at its
        # wall-clock time in the plan's zone on its own date.
        assert self._monday is not None and self.start is not None and self.zone is not None
        out = []
        for minute, length in self.recurring:
            wall = self._monday + timedelta(days=7 * k, minutes=minute)
            utc = wall.replace(tzinfo=self.zone).astimezone(UTC)
            a = (utc - self.start).total_seconds() / 60.0
            out.append((a, a + length))
        return tuple(out)

    @property
    def always_open(self) -> bool:
        """No window at all: every step may run at any time."""
        return not self.recurring and not self.oneoff

    def intervals(self, t0: float, t1: float) -> list[tuple[float, float]]:
        """Merged windows that overlap ``[t0, t1]``, in time order (not clipped to it)."""
        raw: list[tuple[float, float]] = [(a, b) for a, b in self.oneoff if b >= t0 and a <= t1]
        if self.recurring:
            first = math.floor((t0 - self._max_len + self.offset) / WEEK) - 1
            last = math.ceil((t1 + self.offset) / WEEK) + 1
            for k in range(first, last + 1):
                if self._dst:
                    week = self._week(k)
                else:
                    base = k * WEEK - self.offset
                    week = tuple((base + m, base + m + length) for m, length in self.recurring)
                for a, b in week:
                    if b >= t0 - WEEK and a <= t1 + WEEK:
                        raw.append((a, b))
        raw.sort()
        merged: list[tuple[float, float]] = []
        for a, b in raw:
            if merged and a <= merged[-1][1] + EPS:
                if b > merged[-1][1]:
                    merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        return [(a, b) for a, b in merged if b >= t0 and a <= t1]

    def earliest_fit(self, t: float, duration: float) -> float | None:
        """The earliest start ``s >= t`` such that ``[s, s + duration]`` lies in one window.

        ``None`` when no window, now or later, is long enough: the caller must not wait.
        The search stops at the calendar's horizon (``plan.horizon``): when no start before it
        fits, but a later window might, the answer is the horizon itself, where the run ends
        (so the work is not finished by the horizon). The windows looked at are those up to the
        horizon, so the cost never grows with the duration asked or with far-off windows.
        """
        if self.always_open:
            return t
        end = max(t, self._last_oneoff) + duration + 3 * WEEK
        stop = min(end, max(t, self.horizon))
        for a, b in self.intervals(t, stop):
            s = max(a, t)
            if s + duration <= b + EPS:
                return s
        if end <= stop:
            return None  # searched as far as any fit could be: no window is long enough
        # Stopped at the horizon: the work waits for it, unless no window anywhere is that long.
        return None if duration > self.longest() + EPS else stop

    def fits(self, start: float, end: float) -> bool:
        """Whether ``[start, end]`` lies inside one (merged) window."""
        if self.always_open:
            return True
        return any(
            a <= start + EPS and end <= b + EPS for a, b in self.intervals(start, max(start, end))
        )

    def longest(self) -> float:
        """The longest merged window (``inf`` without windows or when windows cover all time),
        found without walking the weeks beyond the horizon."""
        if self._longest is None:
            self._longest = self._longest_uncached()
        return self._longest

    def _longest_uncached(self) -> float:
        if self.always_open:
            return math.inf
        # Merged windows up to three weeks past the horizon (or the last one-off window before
        # it); one-off windows further off each count on their own, never the weeks between.
        end = max(0.0, min(self._last_oneoff, self.horizon)) + 3 * WEEK
        spans = [b - a for a, b in self.intervals(0.0, end)]
        spans += [b - a for a, b in self.oneoff if a > end]
        if self.recurring and any(span >= 2 * WEEK for span in spans):
            return math.inf
        return max(spans, default=0.0)
