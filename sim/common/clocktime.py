"""Clock times as people read them: one format for the CLI, the report, the runbook, the calendar.

The model's clock is UTC minutes from ``plan.start``; a person reads times in the plan's zone
(``plan.timezone``), with the offset beside them so a time is never ambiguous:
``Sat 2026-12-05 22:00 CET (UTC+01:00)``. Durations are written by
:func:`sim.common.timeparse.format_minutes` (``7h55m``, ``1d3h``); CSV files keep UTC and add the
local time as ISO 8601 with its offset (:func:`local_iso`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def utc_offset(t: datetime) -> str:
    """``UTC+01:00`` for an aware datetime (``UTC`` when the offset is zero)."""
    off = t.utcoffset() or timedelta(0)
    if not off:
        return "UTC"
    sign = "+" if off >= timedelta(0) else "-"
    minutes = abs(int(off.total_seconds() // 60))
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def nearest_minute(t: datetime) -> datetime:
    """``t`` rounded to the nearest minute (half a minute up), as durations are rounded
    (:func:`sim.common.timeparse.format_minutes`): a makespan of 5h39m ends at a clock time
    5h39m after the start, not one minute earlier."""
    return (t + timedelta(seconds=30)).replace(second=0, microsecond=0)


def clock_text(t: datetime, zone: ZoneInfo, *, seconds: bool = False) -> str:
    """``t`` (aware, any zone) as ``Sat 2026-12-05 22:00 CET (UTC+01:00)`` in ``zone``;
    ``Sat 2026-12-05 22:00 UTC`` in UTC; to the nearest minute, or with ``seconds`` to the
    second (shown when not zero)."""
    local = t.astimezone(zone) if seconds else nearest_minute(t.astimezone(UTC)).astimezone(zone)
    text = local.strftime("%a %Y-%m-%d %H:%M")
    if seconds and local.second:
        text += f":{local.second:02d}"
    return f"{text} {_zone_tag(local)}"


def zone_tag(t: datetime, zone: ZoneInfo) -> str:
    """The zone as it stands at ``t``: ``CET (UTC+01:00)``, ``CEST (UTC+02:00)``, ``UTC``."""
    return _zone_tag(t.astimezone(zone))


def _zone_tag(local: datetime) -> str:
    # "CET (UTC+01:00)", or "UTC", or "(UTC-03:00)" for zones whose abbreviation is a number.
    name = local.tzname() or ""
    offset = utc_offset(local)
    if offset == "UTC" and name in ("UTC", ""):
        return "UTC"
    if name and not name.startswith(("+", "-")):
        return f"{name} ({offset})"
    return f"({offset})"


def span_text(a: datetime, b: datetime, zone: ZoneInfo) -> str:
    """A span as ``Sat 2026-12-05 22:00 to Sun 06:00 CET (UTC+01:00)``: the end without its date
    when it is within six days of the start, the zone once (twice when the offset changes)."""
    la, lb = (nearest_minute(x.astimezone(UTC)).astimezone(zone) for x in (a, b))
    start = la.strftime("%a %Y-%m-%d %H:%M")
    end = lb.strftime("%a %H:%M" if lb - la < timedelta(days=6) else "%a %Y-%m-%d %H:%M")
    if la.utcoffset() != lb.utcoffset():
        return f"{start} {_zone_tag(la)} to {end} {_zone_tag(lb)}"
    return f"{start} to {end} {_zone_tag(la)}"


def local_iso(t: datetime, zone: ZoneInfo) -> str:
    """ISO 8601 in ``zone`` with its offset, to the second: ``2026-12-05T22:00:00+01:00``."""
    return t.astimezone(zone).replace(microsecond=0).isoformat()


def exact_at(origin: datetime, minutes: float) -> datetime:
    """The UTC time of simulation minute ``minutes`` from ``origin``, not rounded: what a clock
    time shown to a person is rounded from (once, to the minute, by :func:`clock_text`)."""
    return (origin + timedelta(minutes=minutes)).astimezone(UTC)


def relative_text(minutes: float) -> str:
    """A time without a clock (no ``plan.start``): ``+6h``, or ``-2h`` before the start."""
    from sim.common.timeparse import format_minutes

    return ("-" if minutes < 0 else "+") + format_minutes(abs(minutes))


def at_minutes(origin: datetime, minutes: float) -> datetime:
    """The UTC time of simulation minute ``minutes`` from ``origin``, rounded to the second."""
    return (origin + timedelta(seconds=round(minutes * 60.0))).astimezone(UTC)
