"""Durations and clock times as scenario files write them; minutes inside the model.

``90s``, ``45m``, ``2h``, ``1d``, compounds such as ``1h30m``, or a plain number of minutes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNIT_MINUTES = {"s": 1 / 60, "m": 1.0, "h": 60.0, "d": 1440.0}
# ASCII digits only: Python's float() and \d also take other scripts' digits (Arabic-Indic),
# which a scenario file should not silently read as a number.
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.ASCII)
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[smhd]\s*)+$", re.ASCII)
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_duration(value: Any) -> float:
    """Return the duration in minutes; raise ``ValueError`` with what was expected."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 90s, 45m, 2h, 1d or minutes, got {value!r}")
    if isinstance(value, int | float):
        try:
            minutes = float(value)
        except OverflowError:  # an int beyond a float (more than 308 digits)
            raise ValueError(
                f"expected a finite duration, got a number of {len(str(abs(value)))} digits"
            ) from None
    elif isinstance(value, str):
        text = value.strip().lower()
        if not text.isascii():
            raise ValueError(
                f"expected a duration such as 90s, 45m, 2h, 1d or minutes (ASCII digits), got"
                f" {value[:40]!r}"
            )
        if text.startswith("-") and _WHOLE.match(text[1:]):
            raise ValueError(f"expected a duration of zero or more, got {value!r}")
        try:
            minutes = float(text)
        except ValueError:
            if not _WHOLE.match(text):
                raise ValueError(
                    f"expected a duration such as 90s, 45m, 2h, 1d or minutes, got {value!r}"
                ) from None
            minutes = sum(float(n) * _UNIT_MINUTES[u] for n, u in _PART.findall(text))
    else:
        raise ValueError(
            f"expected a duration such as 90s, 45m, 2h, 1d or minutes, got {type(value).__name__}"
        )
    if minutes != minutes or minutes in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite duration, got {value!r}")
    if minutes < 0:
        raise ValueError(f"expected a duration of zero or more, got {value!r}")
    return minutes


def parse_clock(value: Any) -> int:
    """Return minutes after midnight for ``"HH:MM"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 22:00 as the base-60 number 1320.
        raise ValueError(
            'expected a quoted clock time such as "22:00"'
            f" (YAML read the unquoted value as the number {value})"
        )
    if not isinstance(value, str) or not _CLOCK.match(value.strip()):
        raise ValueError(f'expected a clock time "HH:MM", got {value!r}')
    hours, minutes = value.strip().split(":")
    return int(hours) * 60 + int(minutes)


def format_minutes(minutes: float) -> str:
    """A short human form of a duration: ``2h30m``, ``6h02m``, ``45m``, ``90s``, ``1d3h``; the one
    way durations are written in the CLI, the report and the runbook."""
    if minutes > 0 and round(minutes * 60) < 60:
        return f"{minutes * 60:.0f}s"
    total = round(minutes)
    days, rest = divmod(total, 1440)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days}d")
    if hours:
        parts.append(f"{hours}h")
    if mins or not parts:
        # two digits after hours or days, so a column of durations reads evenly (6h02m)
        parts.append(f"{mins:02d}m" if parts else f"{mins}m")
    return "".join(parts)


def format_hours(hours: float, *, signed: bool = False) -> str:
    """A duration given in hours, written as :func:`format_minutes` writes it (``5h59m``); ``-``
    for NaN; ``signed`` puts ``+`` or ``-`` before it (a difference)."""
    if hours != hours:
        return "-"
    sign = "-" if hours < 0 else "+" if signed else ""
    return sign + format_minutes(abs(hours) * 60.0)


Minutes = Annotated[float, BeforeValidator(parse_duration)]
"""A duration field: accepts the scenario forms, holds minutes."""


def format_clock(minutes: int) -> str:
    """``"HH:MM"`` of minutes after midnight: how a clock time is written back to a file."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


ClockMinutes = Annotated[
    int, BeforeValidator(parse_clock), PlainSerializer(format_clock, return_type=str)
]
"""A clock time field: accepts ``"HH:MM"``, holds minutes after midnight."""
