"""What has happened so far on a migration night: the actuals ``migsim replan`` starts from.

The actuals are step events in the vocabulary of ``events.csv`` (:data:`EVENT_COLUMNS` of
:mod:`sim.outputs.records`): a unit, a step (``validate``, ``stop``, ``deallocate``,
``prepare``, ``start``, ``check``, ``commit``, ``abort``, ``remediate:KEY``, ``restore:KEY``),
an outcome (``start``, ``end`` or ``fail``), an attempt (from 1) and, optionally, a crew (1 to
``plan.crews``), at a time in minutes from ``plan.start``. :func:`read_actuals` reads them from

- a CSV file in the columns of ``events.csv`` (``time_utc``, ``time_local``, ``time`` or
  ``time_min``; ``unit``, ``step``, ``outcome``, ``attempt``; ``crew`` optional; other columns
  ignored), such as a run's own ``events.csv``;
- a runbook (``migsim runbook``, ``.xlsx`` or ``.csv``) whose ``Actual start``, ``Actual end``
  and ``Actual outcome`` columns the crews filled;
- a pandas DataFrame of either shape (a notebook's).

and checks them against the scenario with the care of the scenario loader: a bad value, and an
event that contradicts the platform's order (a Commit before its Prepare ended, a unit that
starts before a must-precede predecessor committed, a step that ends before it starts...), is
one :class:`~sim.common.errors.InputError` naming the file, the row (as a spreadsheet numbers
it: the header is row 1) and the column. ``docs/replan.md`` lists every refusal with an example.

The result is an :class:`Actuals`: frozen :class:`ActualEvent` records in time order, with the
questions the engine asks of them (what each unit has ended, failed and has in progress at a
given minute, which units have committed, the latest actual time).

The platform's order checked here is the engine's (:mod:`sim.engine.platform`): the same rules
hold for every replication the engine writes (``tests/test_actuals.py`` reads random runs back).
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
import warnings
import zipfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from sim.common.clocktime import clock_text, exact_at, relative_text
from sim.common.errors import InputError
from sim.common.inputfiles import MiB, read_input, read_input_text, shown_path
from sim.common.timeparse import format_minutes, parse_duration
from sim.model.commands import PLATFORM_STEPS, step_label, step_of_label
from sim.model.remedies import REMEDIES
from sim.model.units import MigrationUnits, build_units

if TYPE_CHECKING:
    import pandas as pd

    from sim.model.plan import Plan
    from sim.model.scenario import Scenario

Outcome = Literal["start", "end", "fail"]
_T = TypeVar("_T")

OUTCOMES: tuple[Outcome, ...] = ("start", "end", "fail")
"""The outcomes an actual event has (``events.csv``'s ``not_migrated`` is the simulator's
conclusion, not an event: it is refused)."""

FAILING_STEPS = ("validate", "prepare", "check", "commit")
"""The steps the engine draws failures for (``plan.failures``): only they may ``fail``."""

VM_STEPS = ("stop", "deallocate", "start")
"""The steps on the VMs the platform stops (a cloud service not in a VNet)."""

TIME_COLUMNS = ("time_utc", "time_local", "time", "time_min")
"""The time columns of an events file, any one of them per row (more must agree)."""

EVENT_FILE_COLUMNS = ("unit", "step", "outcome", "attempt")
"""The columns an events file must have, besides one of :data:`TIME_COLUMNS` (``crew`` is
optional; any other column is ignored)."""

RUNBOOK_ACTUAL_HEADINGS = ("Actual start", "Actual end", "Actual outcome")
"""The runbook workbook's columns the crews fill (the times' headings end with the zone:
``Actual start (Europe/Amsterdam)``)."""

RUNBOOK_ACTUAL_COLUMNS = ("actual_start", "actual_end", "actual_outcome")
"""The same columns in the CSV runbook."""

MAX_WORKBOOK_BYTES = 64 * MiB
"""The largest runbook workbook read (a 100,000-step runbook is about 20 MiB)."""

MAX_WORKBOOK_UNPACKED = 512 * MiB
"""The most a workbook may unpack to (its zip entries' sizes added up): a zip bomb is refused
before openpyxl opens it."""

MAX_ROWS = 2_000_000
"""The most rows read from one actuals source."""

_TOLERANCE = 1.0 / 60.0
"""Minutes by which two time columns of one row may differ: ``events.csv`` writes clock times
to the second and minutes to six decimals."""


# ---- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActualEvent:
    """One step starting, ending or failing, as it happened.

    ``time``: minutes from ``plan.start``; ``unit``: a unit id (:mod:`sim.model.units`);
    ``step``: the engine's step name; ``crew``: 1 to ``plan.crews``, or None (not given, or a
    step that takes none); ``attempt``: from 1, numbered as the engine numbers it (a Check,
    Abort, Stop, Deallocate or Start carries its Prepare's attempt). ``where`` names the row it
    was read from (``actuals.csv:12``), for messages; it takes no part in comparisons.
    """

    time: float
    unit: str
    step: str
    outcome: Outcome
    crew: int | None
    attempt: int
    where: str = field(default="", compare=False)


@dataclass(frozen=True)
class StepRun:
    """One attempt of one step of a unit: its start, and its end or failure (``end`` and
    ``outcome`` None while it is in progress). Minutes from ``plan.start``."""

    unit: str
    step: str
    attempt: int
    crew: int | None
    start: float
    end: float | None = None
    outcome: Literal["end", "fail"] | None = None

    @property
    def in_progress(self) -> bool:
        return self.end is None


@dataclass(frozen=True)
class UnitProgress:
    """Where one unit stands at a minute: its step attempts that ended, failed and are in
    progress (each in the order they started), and when its Commit ended (None: not
    committed)."""

    unit: str
    ended: tuple[StepRun, ...] = ()
    failed: tuple[StepRun, ...] = ()
    in_progress: tuple[StepRun, ...] = ()
    committed_at: float | None = None

    @property
    def began(self) -> bool:
        """Whether any of its steps has started."""
        return bool(self.ended or self.failed or self.in_progress)

    @property
    def committed(self) -> bool:
        return self.committed_at is not None

    def attempts(self, step: str) -> int:
        """The highest attempt of ``step`` started (0: none)."""
        runs = (*self.ended, *self.failed, *self.in_progress)
        return max((r.attempt for r in runs if r.step == step), default=0)


@dataclass(frozen=True)
class Actuals:
    """What has happened so far: checked events in time order (events at one minute in an
    order the platform allows), and where they were read from (``source``).

    Built by :func:`read_actuals`; every question below is answered from ``events`` alone.
    """

    events: tuple[ActualEvent, ...]
    source: str

    @property
    def latest(self) -> float | None:
        """The latest actual time (minutes from ``plan.start``); None without events."""
        return self.events[-1].time if self.events else None

    @cached_property
    def units(self) -> tuple[str, ...]:
        """The units with events, in the order of their first event."""
        return tuple(dict.fromkeys(e.unit for e in self.events))

    def until(self, minute: float) -> Actuals:
        """The events at or before ``minute`` (a step that ended later is in progress)."""
        return Actuals(tuple(e for e in self.events if e.time <= minute), self.source)

    @cached_property
    def runs(self) -> tuple[StepRun, ...]:
        """Every step attempt, in the order it started; ``end`` None while in progress."""
        return _runs(self.events)

    @cached_property
    def committed(self) -> dict[str, float]:
        """Unit -> when its Commit ended, for the units that committed (in that order)."""
        return {e.unit: e.time for e in self.events if e.step == "commit" and e.outcome == "end"}

    def progress(self, minute: float | None = None) -> dict[str, UnitProgress]:
        """Per unit with events at or before ``minute`` (default: all), where it stands then."""
        source = self if minute is None else self.until(minute)
        per: dict[str, list[StepRun]] = {}
        for run in source.runs:
            per.setdefault(run.unit, []).append(run)
        committed = source.committed
        return {
            unit: UnitProgress(
                unit,
                ended=tuple(r for r in runs if r.outcome == "end"),
                failed=tuple(r for r in runs if r.outcome == "fail"),
                in_progress=tuple(r for r in runs if r.in_progress),
                committed_at=committed.get(unit),
            )
            for unit, runs in per.items()
        }

    def unit(self, unit: str, minute: float | None = None) -> UnitProgress:
        """Where ``unit`` stands at ``minute`` (default: after every event); a unit without
        events has begun nothing."""
        return self.progress(minute).get(unit, UnitProgress(unit))


def _runs(events: Sequence[ActualEvent]) -> tuple[StepRun, ...]:
    runs: list[StepRun] = []
    open_: dict[tuple[str, str, int], list[int]] = {}
    for e in events:
        key = (e.unit, e.step, e.attempt)
        if e.outcome == "start":
            open_.setdefault(key, []).append(len(runs))
            runs.append(StepRun(e.unit, e.step, e.attempt, e.crew, e.time))
        elif open_.get(key):
            i = open_[key].pop(0)
            r = runs[i]
            runs[i] = StepRun(r.unit, r.step, r.attempt, r.crew, r.start, e.time, e.outcome)
    return tuple(runs)


# ---- where a value was read --------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    """A row of an actuals source: the file, the row (``line``: as a spreadsheet numbers it,
    the header is row 1; None for a DataFrame) and what goes before the column in the key path
    (a workbook's sheet, a DataFrame's index label)."""

    file: str
    line: int | None
    before: tuple[str | int, ...] = ()

    def error(self, column: str, message: str) -> InputError:
        return InputError(self.file, (*self.before, column), message, line=self.line)

    def text(self) -> str:
        if self.line is None:
            label = self.before[0] if self.before else "?"
            return f"{self.file} row {label}"
        sheet = f" (sheet {self.before[0]})" if self.before else ""
        return f"{self.file}:{self.line}{sheet}"

    def row_text(self) -> str:
        """The row as a message names it beside another one: ``row 12``, ``row 5 of sheet
        Window 1``, ``row 'a'``."""
        if self.line is None:
            return f"row {self.before[0]!r}" if self.before else "a row"
        if self.before:
            return f"row {self.line} of sheet {self.before[0]}"
        return f"row {self.line}"


class _Bad(Exception):
    """A value that is not what was expected; the reader adds the file, row and column."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass
class _Row:
    where: _Where
    cells: dict[str, Any]  # normalized column -> value (None for empty)


@dataclass
class _Table:
    """The rows of one CSV file, workbook sheet or DataFrame: ``columns`` maps each normalized
    column name (:func:`_norm`) to its heading as written."""

    file: str
    columns: dict[str, str]
    rows: list[_Row]
    header: _Where

    def heading(self, key: str) -> str:
        return self.columns.get(key, key)


def _norm(heading: Any) -> str:
    """A column heading compared loosely: case, ``_``/``-`` and a trailing ``(...)`` do not
    count (``Actual start (Europe/Amsterdam)`` and ``actual_start`` are ``actual start``)."""
    text = str(heading).strip().lower()
    text = re.sub(r"\s*\([^()]*\)\s*$", "", text)
    return re.sub(r"[\s_-]+", " ", text).strip()


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(value: Any) -> str:
    """A value as a message quotes it (at most 60 characters)."""
    text = repr(value.strip() if isinstance(value, str) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def _header(file: str, headings: Sequence[Any], where: _Where) -> dict[str, str]:
    columns: dict[str, str] = {}
    for h in headings:
        if _empty(h):
            continue
        key = _norm(h)
        if key in columns:
            raise where.error(
                str(h).strip(),
                f"two columns named {columns[key]!r} and {str(h).strip()!r}; expected each"
                " column once",
            )
        columns[key] = str(h).strip()
    return columns


# ---- reading the sources -----------------------------------------------------------------------


def _csv_table(path: Path, shown: str) -> _Table:
    text = read_input_text(path, shown, "an actuals file (.csv)")
    first = text.split("\n", 1)[0]
    # A spreadsheet saving CSV in a locale whose decimal mark is a comma writes ";" (or a tab).
    delimiter = ","
    if "," not in first:
        delimiter = ";" if ";" in first else "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header_where = _Where(shown, 1)
    rows: list[_Row] = []
    n = 0
    keys: list[str | None] = []
    columns: dict[str, str] = {}
    try:
        for n, record in enumerate(reader, start=1):
            if n == 1:
                columns = _header(shown, record, header_where)
                keys = [None if _empty(h) else _norm(h) for h in record]
                continue
            if not any(c.strip() for c in record):
                continue  # an empty row
            if n > MAX_ROWS:
                raise InputError(shown, (), f"has more than {MAX_ROWS:,} rows", line=n)
            extra = [c for c in record[len(keys) :] if c.strip()]
            if extra:
                raise InputError(
                    shown,
                    (),
                    f"has {len(record)} fields where the header has {len(keys)}; expected one"
                    " field per column",
                    line=n,
                )
            cells = {
                k: (v.strip() or None) for k, v in zip(keys, record, strict=False) if k is not None
            }
            rows.append(_Row(_Where(shown, n), cells))
    except csv.Error as exc:
        raise InputError(shown, (), f"is not CSV ({exc})", line=n + 1) from None
    if n == 0:
        raise InputError(
            shown,
            (),
            "is empty; expected a header row (the columns of events.csv, or a runbook's)",
        )
    return _Table(shown, columns, rows, header_where)


def _check_zip(raw: bytes, shown: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise InputError(
            shown, (), "is not a workbook (.xlsx is a zip archive; this is not one)"
        ) from None
    if len(infos) > 10_000 or sum(i.file_size for i in infos) > MAX_WORKBOOK_UNPACKED:
        raise InputError(
            shown,
            (),
            f"unpacks to more than {MAX_WORKBOOK_UNPACKED // MiB} MiB (or more than 10,000"
            " parts); expected a runbook workbook",
        )


_WORKBOOK_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    OSError,
    EOFError,
    SyntaxError,  # xml.etree's ParseError
)
"""What openpyxl raises on a damaged workbook (and defusedxml on hostile XML, a ValueError)."""


def _xlsx_tables(path: Path, shown: str) -> list[_Table]:
    raw = read_input(path, shown, "a runbook workbook (.xlsx)", limit=MAX_WORKBOOK_BYTES)
    _check_zip(raw, shown)
    from openpyxl import load_workbook

    tables: list[_Table] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns of styles and extensions it drops
            wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
            try:
                for ws in wb.worksheets:
                    table = _sheet_table(shown, ws.title, ws.iter_rows(values_only=True))
                    if table is not None:
                        tables.append(table)
            finally:
                wb.close()
    except InputError:
        raise
    except _WORKBOOK_ERRORS as exc:
        raise InputError(
            shown, (), f"cannot be read as a workbook ({type(exc).__name__}: {exc})"
        ) from None
    if not tables:
        raise InputError(
            shown,
            (),
            "has no sheet with a runbook's columns (Unit, Step, Actual start, Actual end);"
            " expected a runbook written by migsim runbook (or a CSV file of events)",
        )
    return tables


def _sheet_table(shown: str, title: str, rows: Iterator[tuple[Any, ...]]) -> _Table | None:
    """The rows of a step sheet of a runbook; None for another sheet (the Summary)."""
    first = next(rows, None)
    if first is None:
        return None
    keys = [None if _empty(h) else _norm(h) for h in first]
    if not {"unit", "step"} <= set(keys) or not {"actual start", "actual end"} & set(keys):
        return None
    header = _Where(shown, 1, (title,))
    columns = _header(shown, first, header)
    out: list[_Row] = []
    for n, record in enumerate(rows, start=2):
        if n > MAX_ROWS:
            raise InputError(shown, (title,), f"has more than {MAX_ROWS:,} rows", line=n)
        if all(_empty(v) for v in record):
            continue
        cells = {
            k: (None if _empty(v) else v.strip() if isinstance(v, str) else v)
            for k, v in zip(keys, record, strict=False)
            if k is not None
        }
        out.append(_Row(_Where(shown, n, (title,)), cells))
    return _Table(shown, columns, out, header)


def _frame_table(frame: pd.DataFrame, shown: str) -> _Table:
    import numpy as np
    import pandas as pd

    header = _Where(shown, None)
    columns = _header(shown, [str(c) for c in frame.columns], header)
    keys = [_norm(c) for c in frame.columns]
    if len(frame) > MAX_ROWS:
        raise InputError(shown, (), f"has more than {MAX_ROWS:,} rows")

    def plain(value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        if value is None or value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
        if isinstance(value, float | np.floating) and math.isnan(value):
            return None
        if value is pd.NA:
            return None
        if isinstance(value, np.generic):
            return value.item()
        return value

    rows: list[_Row] = []
    for label, record in zip(frame.index, frame.itertuples(index=False, name=None), strict=True):
        shown_label: str | int = label.item() if isinstance(label, np.integer) else label
        if not isinstance(shown_label, int) or isinstance(shown_label, bool):
            shown_label = str(label)
        cells = {k: plain(v) for k, v in zip(keys, record, strict=True)}
        if all(v is None for v in cells.values()):
            continue
        rows.append(_Row(_Where(shown, None, (shown_label,)), cells))
    return _Table(shown, columns, rows, header)


# ---- the plan's clock --------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_TIME_OF_DAY = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?", re.ASCII)
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{1,2}:[0-9]{2}", re.ASCII)
_WHOLE = re.compile(r"[0-9]+", re.ASCII)
_DAY_ZERO = (date(1899, 12, 30), date(1899, 12, 31))
"""The date openpyxl gives a time of day typed into a cell formatted as a date (a spreadsheet's
day zero, by either convention of the 1900 date system)."""
_EXAMPLE = "such as 2026-12-05T22:05:00Z, 2026-12-05T23:05:00+01:00 or 2026-12-05 22:05"


class _Clock:
    """The plan's clock: minutes from ``plan.start``, the zone naive times are read in."""

    def __init__(self, plan: Plan) -> None:
        self.start = plan.start
        self.zone = plan.zone
        self.horizon = plan.horizon

    def text(self, minutes: float) -> str:
        """A minute as a message shows it: ``Sat 2026-12-05 22:05 UTC`` (``+1h05m`` without
        ``plan.start``)."""
        if self.start is None:
            return relative_text(minutes)
        return clock_text(exact_at(self.start, minutes), self.zone, seconds=True)

    def minutes_of(self, t: datetime) -> float:
        if self.start is None:
            raise _Bad(
                f"a clock time ({_shown(t.isoformat())}) needs plan.start in the scenario;"
                " expected time_min (minutes from the start), or plan.start set"
            )
        try:
            return (t.astimezone(UTC) - self.start).total_seconds() / 60.0
        except OverflowError:
            raise _Bad(f"{_shown(t.isoformat())} is not a time the plan can reach") from None

    def localize(self, naive: datetime, zone: ZoneInfo) -> datetime:
        """``naive`` as a wall-clock time in ``zone``; a time the clocks skip or show twice
        (a daylight-saving change) is refused rather than guessed."""
        first = naive.replace(tzinfo=zone, fold=0)
        second = naive.replace(tzinfo=zone, fold=1)
        if first.utcoffset() == second.utcoffset():
            return first
        shown = naive.replace(fold=0).isoformat(sep=" ", timespec="seconds")
        back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None, fold=0)
        if back != naive.replace(fold=0):
            raise _Bad(
                f"{shown} does not happen in {zone.key} (the clocks go forward then); expected"
                " a time that does, or one with its offset"
            )
        raise _Bad(
            f"{shown} happens twice in {zone.key} (the clocks go back then); expected it with"
            f" its offset: {first.isoformat()} or {second.isoformat()}"
        )

    def nearest(self, of_day: time, near: float) -> float:
        """The minute of the time of day ``of_day`` (in the plan's zone) nearest to minute
        ``near``: a date taken from the planned start of a runbook row."""
        assert self.start is not None
        planned = exact_at(self.start, near).astimezone(self.zone)
        best: float | None = None
        for days in (-1, 0, 1):
            day = planned.date() + timedelta(days=days)
            try:
                t = self.localize(datetime.combine(day, of_day.replace(tzinfo=None)), self.zone)
            except _Bad:
                if days == 0:
                    raise
                continue
            m = self.minutes_of(t)
            if best is None or abs(m - near) < abs(best - near):
                best = m
        assert best is not None
        return best

    def parse(
        self,
        value: Any,
        *,
        zone: ZoneInfo | None = None,
        near: float | None = None,
        relative: bool = False,
    ) -> float:
        """Minutes from ``plan.start`` of a clock-time cell: an ISO 8601 date and time with an
        offset or ``Z``, or without one (then in ``zone``, default the plan's); a date-time
        cell of a workbook (in the plan's zone); with ``near`` (a runbook row's planned start)
        a time of day alone, on the date nearest to it; with ``relative``, ``+1h05m`` from the
        start. Raises :class:`_Bad` with what was expected."""
        zone = zone or self.zone
        if isinstance(value, datetime) and value.tzinfo is None and value.date() in _DAY_ZERO:
            value = value.time()  # a time typed into a date-formatted cell: Excel's day zero
        if isinstance(value, datetime):
            t = value if value.tzinfo is not None else self.localize(value, zone)
            return self.minutes_of(t)
        if isinstance(value, time):
            return self._of_day(value, near)
        if isinstance(value, date):
            raise _Bad(f"a date without a time ({value.isoformat()}); expected a date and time")
        if not isinstance(value, str):
            raise _Bad(
                f"expected a date and time {_EXAMPLE} (read in {zone.key}), got {_shown(value)}"
            )
        text = value.strip()
        if relative and text.startswith("+"):
            try:
                return parse_duration(text[1:])
            except ValueError as exc:
                raise _Bad(f"{exc} after the '+' (a time from plan.start)") from None
        m = _TIME_OF_DAY.fullmatch(text)
        if m is not None:
            hh, mm, ss = m.groups()
            return self._of_day(time(int(hh), int(mm), int(ss or 0)), near)
        if not _DATE_TIME.match(text):
            raise _Bad(
                f"expected a date and time {_EXAMPLE} (read in {zone.key}), got {_shown(text)}"
            )
        try:
            t = datetime.fromisoformat(text)
        except ValueError:
            raise _Bad(
                f"expected a date and time {_EXAMPLE} (read in {zone.key}), got {_shown(text)}"
            ) from None
        if t.tzinfo is None:
            t = self.localize(t, zone)
        return self.minutes_of(t)

    def _of_day(self, of_day: time, near: float | None) -> float:
        if of_day.tzinfo is not None:
            raise _Bad("a time of day with an offset; expected a date and time with its offset")
        if near is None or self.start is None:
            raise _Bad(
                f"a time of day without a date ({of_day.isoformat()}); expected a date and"
                f" time {_EXAMPLE}"
            )
        return self.nearest(of_day, near)

    def within(self, minutes: float) -> float:
        """``minutes`` when the plan can hold it: not before ``plan.start``, not after
        ``plan.horizon``."""
        if not math.isfinite(minutes):
            raise _Bad(f"expected a finite time, got {minutes!r}")
        if minutes < 0.0:
            start = self.text(0.0) if self.start is not None else "the start"
            raise _Bad(
                f"{self.text(minutes)} is before plan.start ({start}); expected a time at or"
                " after it"
            )
        if minutes > self.horizon:
            raise _Bad(
                f"{self.text(minutes)} is after plan.horizon ({format_minutes(self.horizon)}"
                " from the start); expected a time within it"
            )
        return minutes


def now_minutes(value: float | str | datetime, plan: Plan, key: str = "--now") -> float:
    """The moment a re-forecast is made, in minutes from ``plan.start``: a number of minutes
    (or its text), an ISO 8601 date and time with an offset or ``Z``, one without (read in the
    plan's zone), ``+1h30m`` from the start, or a timezone-aware datetime. Raises
    :class:`~sim.common.errors.InputError` at ``key`` for anything else, a clock time without
    ``plan.start``, and a moment before the start or after ``plan.horizon``."""
    clock = _Clock(plan)
    try:
        if isinstance(value, bool):
            raise _Bad(f"expected a time, got {value!r}")
        if isinstance(value, int | float) or (
            isinstance(value, str) and _NUMBER.fullmatch(value.strip())
        ):
            return clock.within(_minutes_cell(value))
        return clock.within(clock.parse(value, relative=True))
    except _Bad as bad:
        raise InputError(key, (), bad.message) from None


def _minutes_cell(value: Any) -> float:
    if isinstance(value, bool):
        raise _Bad(f"expected minutes from plan.start (a number such as 95.5), got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value.strip())
    raise _Bad(f"expected minutes from plan.start (a number such as 95.5), got {_shown(value)}")


# ---- the scenario's vocabulary -----------------------------------------------------------------


class _Vocabulary:
    """The units, steps, attempts and crews of the scenario, and the must-precede DAG."""

    def __init__(
        self,
        scenario: Scenario,
        steps: Mapping[str, Collection[str]] | None = None,
        units: MigrationUnits | None = None,
    ) -> None:
        plan = scenario.plan
        self.units = units if units is not None else build_units(scenario.estate, plan)
        self.ids = self.units.ids()
        self.crews = plan.crews
        self.max_attempts = plan.failures.max_attempts
        self.steps = {u: frozenset(s) for u, s in steps.items()} if steps is not None else None
        dag = self.units.dag
        self.preds: dict[str, tuple[str, ...]] = {u: tuple(dag.predecessors(u)) for u in self.ids}
        self.reasons = {(p.before, p.after): p.reason for p in self.units.precedences}

    def unit(self, value: Any) -> str:
        if _empty(value):
            raise _Bad("empty; expected a unit of the scenario")
        text = str(value).strip()
        found = self.units.resolve(text)
        if found is None and text.startswith("'"):  # the CSV runbook's guard before a formula
            found = self.units.resolve(text[1:])
        if found is not None:
            return found
        close = difflib.get_close_matches(text, self.ids, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listed = ", ".join(self.ids[:12]) + (", ..." if len(self.ids) > 12 else "")
        raise _Bad(f"unknown unit {_shown(text)}{hint}; expected one of: {listed}")

    def step(self, value: Any, unit: str) -> str:
        if _empty(value):
            raise _Bad("empty; expected a step such as validate, prepare, check or commit")
        text = str(value).strip()
        step = _step_name(text)
        if step is None:
            if text.lower() == "unit":
                raise _Bad(
                    "step 'unit' (with outcome not_migrated) is the simulator's conclusion that"
                    " a unit was not migrated, not an event; expected a step a crew ran (delete"
                    " the row: replan decides again what migrates)"
                )
            names = [*PLATFORM_STEPS, "remediate:RULE", "restore:RULE"]
            close = difflib.get_close_matches(text.lower(), PLATFORM_STEPS, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _Bad(f"unknown step {_shown(text)}{hint}; expected one of: {', '.join(names)}")
        if self.steps is not None:
            own = self.steps.get(unit, frozenset())
            if step not in own:
                shown = ", ".join(sorted(own, key=_step_order)) or "none (it never starts)"
                close = difflib.get_close_matches(step, sorted(own), n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close and close[0] != step else ""
                raise _Bad(
                    f"{step!r} is not a step of unit {unit} in this scenario{hint}; its steps:"
                    f" {shown}"
                )
        elif step in VM_STEPS and not self.units[unit].vms:
            raise _Bad(
                f"{step!r} is not a step of unit {unit}: it has no VMs for the platform to stop"
                " and start"
            )
        return step

    def attempt(self, value: Any) -> int:
        n = _whole(value)
        if n is None or not 1 <= n <= self.max_attempts:
            raise _Bad(
                f"expected the attempt, a whole number from 1 to {self.max_attempts}"
                f" (plan.failures.max_attempts), got {_shown(value)}"
            )
        return n

    def crew(self, value: Any) -> int | None:
        if _empty(value) or (isinstance(value, str) and value.strip().lower() == "none"):
            return None
        n = _whole(value)
        if n is None or not 1 <= n <= self.crews:
            raise _Bad(
                f"expected a crew from 1 to {self.crews} (plan.crews), or empty (none given, or a"
                f" step that takes none), got {_shown(value)}"
            )
        return n


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _step_name(text: str) -> str | None:
    """The engine's name of a step as written (``commit``, ``Commit``, ``remediate:MIG012``,
    ``Remediate MIG012``); None when it names none."""
    low = text.lower()
    if low in PLATFORM_STEPS:
        return low
    what, sep, key = text.partition(":")
    if sep and what.lower() in ("remediate", "restore"):
        rule, _, detail = key.partition(":")
        remedy = REMEDIES.get(rule.upper())
        if remedy is None or not (remedy.pre if what.lower() == "remediate" else remedy.post):
            return None
        return f"{what.lower()}:{rule.upper()}" + (f":{detail}" if detail else "")
    labelled = step_of_label(text)
    return _step_name(labelled) if labelled is not None and labelled != text else None


def _step_order(step: str) -> tuple[int, str]:
    if step in PLATFORM_STEPS:
        return (1, f"{PLATFORM_STEPS.index(step):02d}")
    return (0 if step.startswith("remediate:") else 2, step)


def _outcome(value: Any) -> Outcome:
    text = "" if value is None else str(value).strip().lower()
    for o in OUTCOMES:
        if text == o:
            return o
    if text == "not_migrated":
        raise _Bad(
            "not_migrated is the simulator's conclusion that a unit was not migrated, not an"
            " event; expected start, end or fail (delete the row: replan decides again what"
            " migrates)"
        )
    raise _Bad(f"expected start, end or fail, got {_shown(value)}")


# ---- rows -> events ----------------------------------------------------------------------------


@dataclass
class _Raw:
    """An event read from a row, not yet checked against the platform's order."""

    time: float
    unit: str
    step: str
    outcome: Outcome
    crew: int | None
    attempt: int
    where: _Where
    column: str  # the time's column heading, where an ordering problem is reported
    seq: int = 0  # its place among the events read: rows at one minute keep the order written

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.unit, self.step, self.attempt)


def _cell(row: _Row, table: _Table, key: str, parse: Callable[[Any], _T]) -> _T:
    try:
        return parse(row.cells.get(key))
    except _Bad as bad:
        raise row.where.error(table.heading(key), bad.message) from None


def _event_rows(table: _Table, vocab: _Vocabulary, clock: _Clock) -> list[_Raw]:
    """The events of a table in ``events.csv``'s columns."""
    missing = [c for c in EVENT_FILE_COLUMNS if c not in table.columns]
    times = [c for c in TIME_COLUMNS if _norm(c) in table.columns]
    if missing or not times:
        what = [*missing] + ([] if times else ["one of time_utc, time_local, time, time_min"])
        raise InputError(
            table.file,
            (*table.header.before,),
            f"has no column {', '.join(what)}; expected the columns of events.csv (time_utc,"
            " time_local, time or time_min; unit, step, outcome, attempt; crew optional)",
            line=table.header.line,
        )
    crew = "crew" in table.columns
    out: list[_Raw] = []
    for row in table.rows:
        unit = _cell(row, table, "unit", vocab.unit)
        step = _cell(row, table, "step", partial(vocab.step, unit=unit))
        outcome = _cell(row, table, "outcome", _outcome)
        attempt = _cell(row, table, "attempt", vocab.attempt)
        crew_no = _cell(row, table, "crew", vocab.crew) if crew else None
        t, column = _row_time(row, table, times, clock)
        out.append(_Raw(t, unit, step, outcome, crew_no, attempt, row.where, column))
    return out


def _row_time(row: _Row, table: _Table, times: list[str], clock: _Clock) -> tuple[float, str]:
    """The time of an events row: each filled time column read, and all must agree; minutes
    (exact) before the clock times (to the second). The column named in an ordering problem is
    the first clock column filled."""
    found: list[tuple[str, float]] = []
    for name in times:
        key = _norm(name)
        value = row.cells.get(key)
        if _empty(value):
            continue
        heading = table.heading(key)
        try:
            if name == "time_min":
                m = _minutes_cell(value)
            else:
                zone = ZoneInfo("UTC") if name == "time_utc" else None
                m = clock.parse(value, zone=zone)
            m = clock.within(m)
        except _Bad as bad:
            raise row.where.error(heading, bad.message) from None
        for other, seen in found:
            if abs(seen - m) > _TOLERANCE:
                raise row.where.error(
                    heading,
                    f"{clock.text(m)} disagrees with {other} ({clock.text(seen)}) by"
                    f" {format_minutes(abs(seen - m))}; expected one time, or times that agree",
                )
        found.append((heading, m))
    if not found:
        raise row.where.error(
            table.heading(_norm(times[0])),
            f"no time; expected the time of the event in {' or '.join(times)}",
        )
    value = next((m for h, m in found if _norm(h) == "time min"), found[0][1])
    return value, found[0][0]


@dataclass
class _Filled:
    """A runbook row the crews filled: its unit, step, crew, the actual times and outcome."""

    where: _Where
    unit: str
    step: str
    crew: int | None
    start: float
    end: float | None
    outcome: Literal["end", "fail"]
    start_column: str
    end_column: str
    key: tuple[str, ...]  # the plan's step (its number), or the unit and step of an added row

    def same(self, other: _Filled) -> bool:
        return (self.start, self.end, self.outcome) == (other.start, other.end, other.outcome)


def _runbook_rows(table: _Table, vocab: _Vocabulary, clock: _Clock) -> list[_Filled]:
    """The filled rows of a runbook table (CSV, a workbook's step sheet, a DataFrame)."""
    missing = [c for c in ("unit", "actual start", "actual end") if c not in table.columns]
    step_key = "step id" if "step id" in table.columns else "step"
    if step_key not in table.columns:
        missing.append("step")
    if missing:
        raise InputError(
            table.file,
            (*table.header.before,),
            f"has no column {', '.join(missing)}; expected a runbook written by migsim runbook"
            " (Unit, Step, Actual start, Actual end; Actual outcome optional)",
            line=table.header.line,
        )
    number_key = "step" if step_key == "step id" else "#"
    out: list[_Filled] = []
    for row in table.rows:
        cells = row.cells
        start_v, end_v = cells.get("actual start"), cells.get("actual end")
        outcome_v = cells.get("actual outcome")
        if _empty(start_v) and _empty(end_v) and _empty(outcome_v):
            continue
        unit = _cell(row, table, "unit", vocab.unit)
        step = _cell(row, table, step_key, partial(vocab.step, unit=unit))
        crew = _cell(row, table, "crew", vocab.crew) if "crew" in table.columns else None
        text = "" if _empty(outcome_v) else str(outcome_v).strip().lower()
        if text not in ("", "end", "fail"):
            raise row.where.error(
                table.heading("actual outcome"),
                f"expected end, fail or empty (ended), got {_shown(outcome_v)}",
            )
        outcome: Literal["end", "fail"] = "fail" if text == "fail" else "end"
        if _empty(start_v):
            column = "actual end" if not _empty(end_v) else "actual outcome"
            raise row.where.error(
                table.heading(column),
                "filled without an actual start; expected the actual start too (when the step"
                " began)",
            )
        if text and _empty(end_v):
            raise row.where.error(
                table.heading("actual outcome"),
                f"{text} without an actual end; expected the actual end too (when the step"
                f" {'failed' if text == 'fail' else 'ended'})",
            )
        if outcome == "fail" and step not in FAILING_STEPS:
            raise row.where.error(
                table.heading("actual outcome"),
                f"{step_label(step)} cannot fail in the model (only Validate, Prepare, Check and"
                " Commit do); expected end or empty",
            )
        near = _planned_start(row, table, clock)
        start = _time_cell(row, table, "actual start", clock, near)
        end = None if _empty(end_v) else _time_cell(row, table, "actual end", clock, near)
        number = cells.get(number_key)
        key: tuple[str, ...] = ("#", str(number)) if not _empty(number) else ("", unit, step)
        out.append(
            _Filled(
                row.where,
                unit,
                step,
                crew,
                start,
                end,
                outcome,
                table.heading("actual start"),
                table.heading("actual end"),
                key,
            )
        )
    return out


def _planned_start(row: _Row, table: _Table, clock: _Clock) -> float | None:
    """A runbook row's planned start (minutes), the date a time of day alone is placed near;
    None when the row has none that reads."""
    for key in ("start min", "start local", "start utc", "start"):
        value = row.cells.get(key)
        if _empty(value) or key not in table.columns:
            continue
        try:
            if key == "start min":
                return _minutes_cell(value)
            return clock.parse(value, relative=True)
        except _Bad:
            continue
    return None


def _time_cell(row: _Row, table: _Table, key: str, clock: _Clock, near: float | None) -> float:
    try:
        return clock.within(clock.parse(row.cells.get(key), near=near, relative=True))
    except _Bad as bad:
        raise row.where.error(table.heading(key), bad.message) from None


def _merge_sheets(tables: list[list[_Filled]]) -> list[_Filled]:
    """The filled rows of a runbook's step sheets as one list: a planned step filled in more
    than one sheet (All steps and its window's sheet) counts once, and must be filled the same
    in each."""
    chosen: dict[tuple[str, ...], list[_Filled]] = {}
    order: list[tuple[str, ...]] = []
    for filled in tables:
        mine: dict[tuple[str, ...], list[_Filled]] = {}
        for f in filled:
            mine.setdefault(f.key, []).append(f)
        for key, rows in mine.items():
            first = chosen.get(key)
            if first is None:
                chosen[key] = rows
                order.append(key)
                continue
            for a, b in zip(first, rows, strict=False):
                if not a.same(b):
                    raise b.where.error(
                        b.start_column,
                        f"{b.unit} {step_label(b.step)} is filled differently here and in"
                        f" {a.where.row_text()}; expected a step filled in one sheet, or the"
                        " same in each",
                    )
            if len(rows) != len(first):
                longer = rows if len(rows) > len(first) else first
                extra = longer[min(len(rows), len(first))]
                raise extra.where.error(
                    extra.start_column,
                    f"{extra.unit} {step_label(extra.step)} has {len(rows)} filled rows here"
                    f" and {len(first)} in another sheet; expected a step filled in one sheet,"
                    " or the same in each",
                )
    return [f for key in order for f in chosen[key]]


def _runbook_events(filled: list[_Filled]) -> list[_Raw]:
    """Events of the filled runbook rows, their attempts numbered as the engine numbers them:
    the n-th filled row of a unit's Validate, Prepare, Commit or remediation step (by actual
    start) is attempt n; Check, Abort and Start carry the attempt of the unit's latest Prepare
    begun, Stop and Deallocate that of the Prepare they come before."""
    ordered = sorted(enumerate(filled), key=lambda p: (p[1].start, p[0]))
    counts: dict[tuple[str, str], int] = {}
    out: list[_Raw] = []
    for _, f in ordered:
        prepares = counts.get((f.unit, "prepare"), 0)
        if f.step in ("check", "abort", "start"):
            attempt = max(prepares, 1)
        elif f.step in ("stop", "deallocate"):
            attempt = prepares + 1
        else:
            attempt = counts.get((f.unit, f.step), 0) + 1
            counts[(f.unit, f.step)] = attempt
        out.append(_Raw(f.start, f.unit, f.step, "start", f.crew, attempt, f.where, f.start_column))
        if f.end is not None:
            out.append(
                _Raw(f.end, f.unit, f.step, f.outcome, f.crew, attempt, f.where, f.end_column)
            )
    return out


# ---- the platform's order ----------------------------------------------------------------------


@dataclass
class _Run:
    raw: _Raw
    end: _Raw | None = None


@dataclass
class _UnitState:
    began: bool = False
    commit_end: float | None = None
    runs: dict[tuple[str, int], _Run] = field(default_factory=dict)  # the platform's steps
    open_rem: dict[tuple[str, int], _Raw] = field(default_factory=dict)  # remediation steps
    running: _Run | None = None  # the platform step in progress
    validated: bool = False
    prepare: int = 0  # the latest Prepare attempt begun
    prepared: bool = False  # that Prepare ended and no Abort followed
    commit_begun: bool = False


class _Order:
    """The platform's order (:mod:`sim.engine.platform`), checked event by event in time order.

    Per unit the platform's steps (Validate, Stop, Deallocate, Prepare, Start, Check, Commit,
    Abort) run one after another, each attempt once; remediation steps may overlap them and
    repeat. See ``docs/replan.md`` for the list."""

    def __init__(self, vocab: _Vocabulary, clock: _Clock, raws: Sequence[_Raw]) -> None:
        self.vocab = vocab
        self.clock = clock
        self.state: dict[str, _UnitState] = {}
        self.starts: dict[tuple[str, str, int], list[_Raw]] = {}
        self.commits: dict[str, _Raw] = {}  # each unit's first Commit end, to say it is late
        for r in raws:
            if r.outcome == "start":
                self.starts.setdefault(r.key, []).append(r)
            elif r.step == "commit" and r.outcome == "end":
                self.commits.setdefault(r.unit, r)

    def at(self, t: float) -> str:
        return self.clock.text(t)

    def name(self, step: str, attempt: int) -> str:
        return f"{step_label(step)} (attempt {attempt})"

    def problem(self, r: _Raw) -> str | None:
        """Why ``r`` cannot happen now (None: it can)."""
        st = self.state.get(r.unit) or _UnitState()
        if r.outcome == "start":
            return self._start(r, st)
        return self._end(r, st)

    def apply(self, r: _Raw) -> None:
        st = self.state.setdefault(r.unit, _UnitState())
        remediation = r.step not in PLATFORM_STEPS
        if r.outcome == "start":
            if not r.step.startswith("restore:"):
                st.began = True
            if remediation:
                st.open_rem[(r.step, r.attempt)] = r
                return
            run = st.runs[(r.step, r.attempt)] = _Run(r)
            st.running = run
            if r.step == "prepare":
                st.prepare, st.prepared = r.attempt, False
            elif r.step == "commit":
                st.commit_begun = True
            return
        if remediation:
            del st.open_rem[(r.step, r.attempt)]
            return
        run = st.runs[(r.step, r.attempt)]
        run.end = r
        if st.running is run:
            st.running = None
        ok = r.outcome == "end"
        if r.step == "validate" and ok:
            st.validated = True
        elif r.step == "prepare":
            st.prepared = ok
        elif r.step == "abort":
            st.prepared = False
        elif r.step == "commit" and ok:
            st.commit_end = r.time

    # -- a step starts ---------------------------------------------------------------------------

    def _start(self, r: _Raw, st: _UnitState) -> str | None:
        what = f"{r.unit} {self.name(r.step, r.attempt)} starts at {self.at(r.time)}"
        restore = r.step.startswith("restore:")
        if not restore:
            late = self._predecessors(r, what)
            if late is not None:
                return late
        if st.commit_end is not None and not restore and r.step != "start":
            return (
                f"{what}, after its Commit ended at {self.at(st.commit_end)}; expected only"
                " Start and restores after a unit's Commit"
            )
        if r.step not in PLATFORM_STEPS:
            if (r.step, r.attempt) in st.open_rem:
                first = st.open_rem[(r.step, r.attempt)]
                return (
                    f"{what} while the same attempt is in progress (started at"
                    f" {self.at(first.time)}, {first.where.row_text()}); expected it to end first"
                )
            return None
        run = st.runs.get((r.step, r.attempt))
        if run is not None:
            return (
                f"{what}: a second start of that attempt (the first at {self.at(run.raw.time)},"
                f" {run.raw.where.row_text()}); expected each attempt to start once"
            )
        if st.running is not None:
            other = st.running.raw
            return (
                f"{what} while its {self.name(other.step, other.attempt)} is in progress"
                f" (started at {self.at(other.time)}, {other.where.row_text()}); expected a"
                " unit's steps one after another"
            )
        return self._platform_start(r, st, what)

    def _predecessors(self, r: _Raw, what: str) -> str | None:
        if self.state.get(r.unit, _UnitState()).began:
            return None
        for p in self.vocab.preds.get(r.unit, ()):
            done = self.state.get(p, _UnitState()).commit_end
            if done is not None and done <= r.time:
                continue
            reason = self.vocab.reasons.get((p, r.unit), "")
            why = f" ({reason})" if reason else ""
            later = self.commits.get(p)
            when = (
                f"{p}'s Commit ends later, at {self.at(later.time)} ({later.where.row_text()})"
                if later is not None
                else f"{p} has not committed"
            )
            return (
                f"{what}, before {p} committed: {p} must precede it{why} and {when}; expected"
                f" {p}'s Commit to end first"
            )
        return None

    def _ended(self, st: _UnitState, step: str, attempt: int) -> _Raw | None:
        run = st.runs.get((step, attempt))
        return run.end if run is not None else None

    def _platform_start(self, r: _Raw, st: _UnitState, what: str) -> str | None:
        step, a = r.step, r.attempt
        if step == "validate":
            if st.validated:
                return f"{what}, after Validate passed; expected no Validate after one passed"
            if a > 1:
                before = self._ended(st, "validate", a - 1)
                if before is None or before.outcome != "fail":
                    return (
                        f"{what} without a failed {self.name('validate', a - 1)} before it;"
                        " expected attempts in order, each after the last one failed"
                    )
            return None
        if step in ("stop", "deallocate", "prepare") and not st.validated:
            return f"{what} before its Validate ended; expected Validate to pass first"
        if step == "deallocate":
            stop = self._ended(st, "stop", a)
            if stop is None:
                return f"{what} before its Stop ended; expected Stop (attempt {a}) first"
            return None
        if step == "prepare":
            if (("stop", a) in st.runs) and self._ended(st, "deallocate", a) is None:
                return (
                    f"{what} before its Deallocate ended; expected Stop and Deallocate"
                    f" (attempt {a}) first"
                )
            if a > 1:
                prep = self._ended(st, "prepare", a - 1)
                check = self._ended(st, "check", a - 1)
                abort = self._ended(st, "abort", a - 1)  # the operator's, with no failure
                if not (
                    (prep is not None and prep.outcome == "fail")
                    or (check is not None and check.outcome == "fail")
                    or abort is not None
                ):
                    return (
                        f"{what} without a failed {self.name('prepare', a - 1)}, a Check"
                        " that found a problem or an Abort before it; expected attempts in"
                        " order, each after the last one failed or was aborted"
                    )
            elif st.prepare:
                return f"{what}, after Prepare attempt {st.prepare}; expected attempts in order"
            return None
        if step in ("check", "start", "abort"):
            prep = self._ended(st, "prepare", a)
            if prep is None:
                return (
                    f"{what} before {self.name('prepare', a)} ended; expected the Prepare of"
                    " the same attempt first"
                )
            if step == "check" and prep.outcome != "end":
                return (
                    f"{what} after {self.name('prepare', a)} failed; expected a Prepare that ended"
                )
            if step == "abort" and st.commit_begun:
                return f"{what}, after Commit began; expected no Abort once a Commit began"
            return None
        if step == "commit":
            if not st.prepared:
                return f"{what} before Prepare ended; expected the unit Prepared first"
            if self._ended(st, "check", st.prepare) is None:
                return (
                    f"{what} before the Check of Prepare attempt {st.prepare} ended; expected"
                    " Check between Prepare and Commit"
                )
            if a > 1:
                before = self._ended(st, "commit", a - 1)
                if before is None or before.outcome != "fail":
                    return (
                        f"{what} without a failed {self.name('commit', a - 1)} before it;"
                        " expected attempts in order, each after the last one failed"
                    )
            elif st.commit_begun:
                return f"{what}, after another Commit attempt; expected attempts in order"
            return None
        return None  # pragma: no cover - every platform step is above

    # -- a step ends or fails --------------------------------------------------------------------

    def _end(self, r: _Raw, st: _UnitState) -> str | None:
        verb = "fails" if r.outcome == "fail" else "ends"
        what = f"{r.unit} {self.name(r.step, r.attempt)} {verb} at {self.at(r.time)}"
        if r.outcome == "fail" and r.step not in FAILING_STEPS:
            return (
                f"{what}: {step_label(r.step)} cannot fail in the model (only Validate, Prepare,"
                " Check and Commit do); expected end"
            )
        if r.step in PLATFORM_STEPS:
            run = st.runs.get((r.step, r.attempt))
            if run is not None and run.end is not None:
                return (
                    f"{what}, but it {'failed' if run.end.outcome == 'fail' else 'ended'}"
                    f" already at {self.at(run.end.time)} ({run.end.where.row_text()});"
                    " expected each attempt to end once"
                )
            if run is not None:
                return None
        elif (r.step, r.attempt) in st.open_rem:
            return None
        later = [s for s in self.starts.get(r.key, ()) if s.time > r.time]
        if later:
            s = later[0]
            return (
                f"{what}, before it starts at {self.at(s.time)} ({s.where.row_text()}); expected"
                " a step to end after it starts"
            )
        return f"{what} but never started; expected its start (outcome start) before it"


def _check_order(raws: list[_Raw], vocab: _Vocabulary, clock: _Clock) -> list[_Raw]:
    """``raws`` in time order, events at one minute in an order the platform allows (the order
    written where it does); the first event that contradicts the platform's order is an
    :class:`InputError` at its row and time column."""
    for i, r in enumerate(raws):
        r.seq = i
    ordered = sorted(raws, key=lambda r: (r.time, r.seq))
    order = _Order(vocab, clock, ordered)
    out: list[_Raw] = []
    i = 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j].time == ordered[i].time:
            j += 1
        pending = ordered[i:j]
        while pending:
            left = []
            for r in pending:
                if order.problem(r) is None:
                    order.apply(r)
                    out.append(r)
                else:
                    left.append(r)
            if len(left) == len(pending):
                first = left[0]
                problem = order.problem(first)
                assert problem is not None
                raise first.where.error(first.column, problem)
            pending = left
        i = j
    return out


# ---- the entry point ---------------------------------------------------------------------------


def read_actuals(
    source: Path | str | pd.DataFrame,
    scenario: Scenario,
    *,
    steps: Mapping[str, Collection[str]] | None = None,
    units: MigrationUnits | None = None,
    name: str | None = None,
) -> Actuals:
    """The actuals in ``source``, checked against ``scenario``.

    ``source``: a ``.csv`` file in the columns of ``events.csv`` or of a runbook, a runbook
    workbook (``.xlsx``), or a pandas DataFrame of either shape (shown in messages as ``name``,
    default ``DataFrame``; its rows are named by their index labels). ``steps``: per unit id,
    the step names the engine may record for it
    (:func:`sim.experiments.actuals.engine_steps`); without it a step is checked against the
    platform's steps and the remediation table only. ``units``: the scenario's units when the
    caller has built them (:func:`sim.model.units.build_units`). Times are minutes from
    ``plan.start``.

    Raises :class:`~sim.common.errors.InputError` (file, row, column) for an unreadable file,
    a missing column, a bad value (unit, step, outcome, attempt, crew, time) and an event that
    contradicts the platform's order (``docs/replan.md`` lists each).
    """
    vocab = _Vocabulary(scenario, steps, units)
    clock = _Clock(scenario.plan)
    if isinstance(source, str | Path):
        path = Path(source)
        shown = shown_path(str(source))
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            tables = _xlsx_tables(path, shown)
            filled = [_runbook_rows(t, vocab, clock) for t in tables]
            raws = _runbook_events(_merge_sheets(filled))
        elif suffix == ".csv":
            raws = _table_events(_csv_table(path, shown), vocab, clock)
        else:
            raise InputError(
                shown,
                (),
                f"expected a .csv file (events, or a runbook) or a runbook workbook (.xlsx), got"
                f" {suffix or 'no suffix'!r}",
            )
    elif hasattr(source, "itertuples") and hasattr(source, "columns"):
        shown = name or "DataFrame"
        raws = _table_events(_frame_table(source, shown), vocab, clock)
    else:
        raise TypeError(f"expected a path or a pandas DataFrame, got {type(source).__name__}")
    checked = _check_order(raws, vocab, clock)
    events = tuple(
        ActualEvent(r.time, r.unit, r.step, r.outcome, r.crew, r.attempt, r.where.text())
        for r in checked
    )
    return Actuals(events, shown)


def _table_events(table: _Table, vocab: _Vocabulary, clock: _Clock) -> list[_Raw]:
    """The events of a CSV file or a DataFrame: in the columns of a runbook when it has
    ``Actual start`` or ``Actual end``, else of ``events.csv``."""
    if {"actual start", "actual end"} & set(table.columns):
        return _runbook_events(_runbook_rows(table, vocab, clock))
    return _event_rows(table, vocab, clock)
