"""The runbook of a plan: one row per unit step, for the crews and the change board.

:class:`Runbook` is a record (built by :func:`sim.experiments.runbook.build_runbook`); this module
writes it as a workbook (``.xlsx``, openpyxl), a CSV file or a calendar of change windows
(``.ics``, icalendar), chosen by the file's suffix (:func:`write_runbook`). ``docs/runbook.md``
describes every column.

Clock times are in the plan's zone (``plan.timezone``), daylight saving included. The workbook
writes them as local date-times (so a sheet sorts by time and Excel computes with them), each
cell's number format naming its zone and offset (``Sat 2026-10-24 22:00 CEST (UTC+02:00)``), the
zone in the column header, and a ``Start UTC (sorts exactly)`` column that sorts exactly even
in the hour the clocks go back; the CSV file writes ISO 8601 with the offset and in UTC; the
calendar writes ``TZID`` of the plan's zone with its ``VTIMEZONE``.

Determinism: the same runbook gives the same bytes. The workbook's created and modified
properties and the zip entries' timestamps are the plan's start (not the wall clock); the
calendar's ``DTSTAMP`` is the plan's start too and its ``UID`` values are made of the scenario's
name, the window and the unit.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sim.common.atomic import atomic_file, refuse_existing
from sim.common.clocktime import at_minutes, clock_text, local_iso, span_text
from sim.common.errors import InputError
from sim.common.timeparse import format_minutes
from sim.common.version import __version__
from sim.model.actuals import RUNBOOK_ACTUAL_COLUMNS, RUNBOOK_ACTUAL_HEADINGS
from sim.model.remedies import resource_type, short_name

SUFFIXES = (".xlsx", ".csv", ".ics")
"""What :func:`write_runbook` writes, by the output file's suffix."""

KIND_LABELS = {
    "management": "management lock",
    "service": "service out",
    "data": "data plane down",
    "nic": "secondary NIC detached",
    "connectivity": "connectivity lost",
    "exposure": "exposed (endpoint ACLs off)",
    "monitoring": "monitoring gap",
    "diagnostics": "diagnostics gap",
    "security-monitoring": "security-monitoring gap",
    "backup": "backup gap",
    "replication": "replication gap",
}
"""How a window kind (``windows.csv``) reads in the runbook's lock and downtime columns."""

NAMES_SHOWN = 8
"""Names of one resource type listed in a cell; more are counted ("and 140 more")."""


@dataclass(frozen=True)
class Opened:
    """Windows of one kind a step opens, ending together: the resources (graph node ids), when
    they open and close (minutes from the plan's start)."""

    kind: str
    resources: tuple[str, ...]
    start: float
    end: float


@dataclass(frozen=True)
class RunbookStep:
    """One unit step of the plan, in planned order (``index``, from 1).

    ``window`` is the maintenance-window occurrence holding its start (1 for the first one open
    at or after the plan's start; None outside every window or without windows); ``crew`` None
    for a step that needs none. ``step`` is the engine's name (``events.csv``), ``label`` the
    one a person reads. ``p80_end``: the 80th percentile of the step's end over the run folder's
    replications (None without replications; ``inf`` when the step had not ended in at least
    one run in five)."""

    index: int
    window: int | None
    crew: int | None
    unit: str
    unit_kind: str
    resources: tuple[str, ...]
    step: str
    label: str
    command: str
    start: float
    end: float
    p80_end: float | None
    opens: tuple[Opened, ...]
    rollback: str


@dataclass(frozen=True)
class WindowOccurrence:
    """A maintenance-window occurrence that holds steps of the plan (minutes from the start)."""

    index: int
    start: float
    end: float


@dataclass(frozen=True)
class Runbook:
    """The runbook of one plan: its steps, the windows they run in and a summary.

    ``summary`` holds ``(label, value)`` rows already written for a person (the plan, the
    windows, the finish, the P80 columns' source); ``origin`` is ``plan.start`` (None: times are
    minutes from the start and no calendar can be written)."""

    scenario_name: str
    timezone: str
    origin: datetime | None
    steps: tuple[RunbookStep, ...]
    windows: tuple[WindowOccurrence, ...]
    summary: tuple[tuple[str, str], ...]
    replications: int = 0
    has_windows: bool = True
    replications_failed: int = 0
    """Replications of the run folder that failed (a run written with ``--allow-failures``):
    the P80 ends leave them out."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def replications_text(self) -> str:
        """``200 replications``, or ``198 of 200 replications; 2 failed`` when some failed."""
        if not self.replications_failed:
            return f"{self.replications} replications"
        asked = self.replications + self.replications_failed
        return f"{self.replications} of {asked} replications; {self.replications_failed} failed"

    def clock(self, minutes: float) -> str:
        """``Sat 2026-12-05 22:00 CET (UTC+01:00)``; ``+1h50m`` without a start."""
        if self.origin is None:
            return f"+{format_minutes(minutes)}"
        return clock_text(at_minutes(self.origin, minutes), self.zone, seconds=True)

    def span(self, a: float, b: float) -> str:
        if self.origin is None:
            return f"+{format_minutes(a)} to +{format_minutes(b)}"
        return span_text(at_minutes(self.origin, a), at_minutes(self.origin, b), self.zone)

    def window_text(self, index: int | None) -> str:
        """``1: Sat 2026-12-05 22:00 to Sun 06:00 CET (UTC+01:00)``, or why there is none."""
        if index is None:
            return "outside every window" if self.has_windows else "no windows (any time)"
        w = self.windows[index - 1]
        return f"{index}: {self.span(w.start, w.end)}"

    def lock_text(self, step: RunbookStep) -> str:
        """The management lock ``step`` opens, with its resources and when it ends."""
        return "; ".join(self._opened(o) for o in step.opens if o.kind == "management")

    def downtime_text(self, step: RunbookStep) -> str:
        """The other windows ``step`` opens (data plane down, gaps), with when each ends."""
        return "; ".join(self._opened(o) for o in step.opens if o.kind != "management")

    def p80_text(self, step: RunbookStep) -> str:
        if step.p80_end is None:
            return ""
        if math.isinf(step.p80_end):
            return "not reached in one run in five or more"
        return self.clock(step.p80_end)

    def _opened(self, o: Opened) -> str:
        label = KIND_LABELS.get(o.kind, f"{o.kind} gap")
        return (
            f"{label}: {names(o.resources)} until {self.clock(o.end)}"
            f" ({format_minutes(o.end - o.start)})"
        )


def names(resources: Sequence[str], limit: int = NAMES_SHOWN) -> str:
    """``vm: web-01, web-02; vnet: vnet-prod``: resource names by type, in the order given,
    at most ``limit`` of a type (then ``and N more``)."""
    by_type: dict[str, list[str]] = {}
    for r in resources:
        by_type.setdefault(resource_type(r), []).append(short_name(r))
    parts = []
    for kind, items in by_type.items():
        shown = ", ".join(items[:limit])
        if len(items) > limit:
            shown += f" and {len(items) - limit} more"
        parts.append(f"{kind}: {shown}")
    return "; ".join(parts)


# ---- CSV -------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "step",
    "window",
    "window_start_local",
    "window_end_local",
    "crew",
    "unit",
    "unit_kind",
    "step_id",
    "step_name",
    "command",
    "start_min",
    "end_min",
    "duration",
    "start_local",
    "end_local",
    "start_utc",
    "end_utc",
    "p80_end_min",
    "p80_end_local",
    "p80_end_utc",
    *RUNBOOK_ACTUAL_COLUMNS,
    "management_lock",
    "downtime",
    "rollback",
    "resources",
)
"""The columns of the CSV runbook (``docs/runbook.md``); ``actual_start``, ``actual_end`` and
``actual_outcome`` are written empty, for the crews to fill (:mod:`sim.model.actuals` reads
them back)."""


def _num(x: float) -> str:
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may read as the start of a formula (OWASP, "CSV Injection")."""


def csv_field(text: str) -> str:
    """``text`` as a field of the CSV runbook: a text that starts with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return gets a leading ``'`` (OWASP's rule against CSV injection:
    a resource named ``=HYPERLINK(...)`` stays text when the file is opened in a spreadsheet);
    a number, negative ones included, is written as it is."""
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def runbook_csv(rb: Runbook) -> str:
    """The runbook as CSV: one row per step, clock times in ISO 8601 with the plan's offset and
    in UTC (empty without ``plan.start``)."""

    def local(minutes: float | None) -> str:
        if rb.origin is None or minutes is None or math.isinf(minutes):
            return ""
        return local_iso(at_minutes(rb.origin, minutes), rb.zone)

    def utc(minutes: float | None) -> str:
        if rb.origin is None or minutes is None or math.isinf(minutes):
            return ""
        return at_minutes(rb.origin, minutes).strftime("%Y-%m-%dT%H:%M:%SZ")

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in rb.steps:
        w = rb.windows[s.window - 1] if s.window is not None else None
        p80 = "" if s.p80_end is None else "inf" if math.isinf(s.p80_end) else _num(s.p80_end)
        row = [
            str(s.index),
            "" if s.window is None else str(s.window),
            local(w.start) if w else "",
            local(w.end) if w else "",
            "" if s.crew is None else str(s.crew),
            s.unit,
            s.unit_kind,
            s.step,
            s.label,
            s.command,
            _num(s.start),
            _num(s.end),
            format_minutes(s.end - s.start),
            local(s.start),
            local(s.end),
            utc(s.start),
            utc(s.end),
            p80,
            local(s.p80_end),
            utc(s.p80_end),
            *("" for _ in RUNBOOK_ACTUAL_COLUMNS),
            rb.lock_text(s),
            rb.downtime_text(s),
            s.rollback,
            names(s.resources, limit=10**9),
        ]
        writer.writerow([csv_field(field) for field in row])
    return buf.getvalue()


# ---- workbook --------------------------------------------------------------------------------

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def _cell_text(text: str) -> str:
    # Excel refuses control characters and cells over 32,767 characters; UTF-8 cannot hold a
    # lone surrogate. The loader refuses them in names, but a run folder is read as it is.
    text = _ILLEGAL.sub(" ", text)
    return text if len(text) <= 32000 else text[:32000] + " ..."


def _fixed_time(rb: Runbook) -> datetime:
    """The workbook's created/modified time and the zip entries' time: the plan's start (UTC,
    naive), never earlier than 1980 (the zip format's first year); 2000-01-01 without a start."""
    if rb.origin is None:
        return datetime(2000, 1, 1)
    t = rb.origin.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    return max(t, datetime(1980, 1, 1))


def _date_format(local: datetime, zone: ZoneInfo) -> str:
    """The number format of a local date-time cell: the date, the time and, as literal text,
    the zone and offset that :func:`~sim.common.clocktime.clock_text` gives it."""
    time = "hh:mm:ss" if local.second else "hh:mm"
    text = clock_text(local, zone)
    tag = text[len(local.strftime("%a %Y-%m-%d %H:%M")) + 1 :]
    return f'ddd yyyy-mm-dd {time} "{tag}"'


def runbook_xlsx(rb: Runbook) -> bytes:
    """The runbook as a workbook: a Summary sheet, All steps, and one sheet per window
    occurrence (and Outside windows when a step starts outside every window); frozen header,
    set column widths, an autofilter, clock times in the plan's zone."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.writer.excel import ExcelWriter

    zone_name = rb.timezone
    wb = Workbook()
    fixed = _fixed_time(rb)
    wb.properties.creator = f"migsim {__version__}"
    wb.properties.lastModifiedBy = f"migsim {__version__}"
    wb.properties.title = _cell_text(f"Runbook: {rb.scenario_name}")
    wb.properties.created = fixed
    wb.properties.modified = fixed

    summary = wb.active
    assert summary is not None
    summary.title = "Summary"
    summary.append(["Runbook", _cell_text(rb.scenario_name)])
    summary["A1"].font = Font(bold=True)
    summary["B1"].font = Font(bold=True)
    for label, value in rb.summary:
        summary.append([_cell_text(label), _cell_text(value)])
    summary.column_dimensions["A"].width = 34
    summary.column_dimensions["B"].width = 110
    for row in summary.iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
        row[0].alignment = Alignment(vertical="top")
        row[0].font = Font(bold=True)
    summary.freeze_panes = "A2"

    clock = rb.origin is not None
    where = zone_name if clock else "from the start"
    actual_start, actual_end, actual_outcome = RUNBOOK_ACTUAL_HEADINGS
    columns: list[tuple[str, float, bool]] = [  # header, width, wrap
        ("#", 6, False),
        ("Window", 24, True),
        ("Crew", 6, False),
        ("Unit", 18, False),
        ("Unit kind", 16, False),
        ("Step", 22, False),
        ("Command or action", 70, True),
        (f"Start ({where})", 30, False),
        (f"End ({where})", 30, False),
        ("Duration", 10, False),
        (f"P80 end ({where})", 30, False),
        (f"{actual_start} ({where})", 24, False),
        (f"{actual_end} ({where})", 24, False),
        (actual_outcome, 12, False),
        ("Start UTC (sorts exactly)", 26, False),
        ("Management lock opened", 50, True),
        ("Downtime opened", 50, True),
        ("Rollback", 50, True),
        ("Resources", 50, True),
    ]

    def when(minutes: float) -> tuple[Any, str | None]:
        # (value, number format): a naive local date-time with its zone in the format.
        if rb.origin is None:
            return f"+{format_minutes(minutes)}", None
        t = at_minutes(rb.origin, minutes).astimezone(rb.zone)
        return t.replace(tzinfo=None), _date_format(t, rb.zone)

    def utc_cell(minutes: float) -> tuple[Any, str | None]:
        if rb.origin is None:
            return "", None
        t = at_minutes(rb.origin, minutes)
        return t.replace(tzinfo=None), _date_format(t, ZoneInfo("UTC"))

    def sheet(title: str, steps: Sequence[RunbookStep]) -> None:
        ws = wb.create_sheet(title)
        ws.append([c[0] for c in columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        r = 1  # the row just written (openpyxl's max_row scans every cell: quadratic)
        for s in steps:
            start, start_fmt = when(s.start)
            end, end_fmt = when(s.end)
            if s.p80_end is None or math.isinf(s.p80_end):
                p80: Any = rb.p80_text(s)
                p80_fmt = None
            else:
                p80, p80_fmt = when(s.p80_end)
            utc_value, utc_fmt = utc_cell(s.start)
            values: list[Any] = [
                s.index,
                _cell_text(rb.window_text(s.window)),
                s.crew if s.crew is not None else "none",
                _cell_text(s.unit),
                _cell_text(s.unit_kind),
                _cell_text(s.label),
                _cell_text(s.command),
                start,
                end,
                format_minutes(s.end - s.start),
                p80,
                None,  # the actual start, end and outcome: for the crews to fill
                None,
                None,
                utc_value,
                _cell_text(rb.lock_text(s)),
                _cell_text(rb.downtime_text(s)),
                _cell_text(s.rollback),
                _cell_text(names(s.resources)),
            ]
            ws.append(values)
            r += 1
            for col, fmt in ((8, start_fmt), (9, end_fmt), (11, p80_fmt), (15, utc_fmt)):
                if fmt is not None:
                    ws.cell(row=r, column=col).number_format = fmt
            for col, (_, _, wrap) in enumerate(columns, start=1):
                ws.cell(row=r, column=col).alignment = Alignment(wrap_text=wrap, vertical="top")
        for col, (_, width, _) in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(col)].width = width
        # Actual outcome: a list to pick from, in every row a crew may add too.
        outcome = get_column_letter(1 + [c[0] for c in columns].index(actual_outcome))
        choice = DataValidation(
            type="list",
            formula1='"end,fail"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Actual outcome",
            error="end, fail, or empty (the step ended)",
        )
        ws.add_data_validation(choice)
        choice.add(f"{outcome}2:{outcome}1048576")
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{r}"

    sheet("All steps", rb.steps)
    for w in rb.windows:
        sheet(f"Window {w.index}", [s for s in rb.steps if s.window == w.index])
    outside = [s for s in rb.steps if s.window is None]
    if outside and rb.has_windows:
        sheet("Outside windows", outside)

    # Every text cell is a string, never a formula: openpyxl makes a text that starts with "="
    # a formula (a resource named =HYPERLINK(...) would be live); data type "s" keeps it text.
    for ws in wb.worksheets:
        for cells in ws.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"

    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).write_data()
    return _fixed_zip(raw.getvalue(), fixed)


def _fixed_zip(data: bytes, when: datetime) -> bytes:
    """The zip ``data`` with every entry's timestamp set to ``when`` (openpyxl stamps each entry
    with the wall clock), entries and contents unchanged."""
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


# ---- calendar --------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "x"


def runbook_ics(rb: Runbook) -> bytes:
    """The runbook as an iCalendar file: one event per maintenance-window occurrence that holds
    steps, and one per unit's block of steps in one window (its steps and commands in the
    description), in the plan's zone (``TZID`` and ``VTIMEZONE``).

    Raises :class:`InputError` without ``plan.start``: a calendar needs dates."""
    from icalendar import Calendar, Event

    if rb.origin is None:
        raise InputError(
            None,
            ("plan", "start"),
            "a calendar needs clock times; expected plan.start in the scenario (or write .xlsx"
            " or .csv, which give minutes from the start)",
        )
    origin = rb.origin
    zone = rb.zone
    slug = _slug(rb.scenario_name)
    stamp = origin.astimezone(UTC).replace(microsecond=0)

    def at(minutes: float) -> datetime:
        # A local time the clocks show twice (the hour they go back) would be read as the first
        # of the two (RFC 5545, 3.3.5): such a time is written in UTC instead.
        local = at_minutes(origin, minutes).astimezone(zone)
        if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
            return local.astimezone(UTC)
        return local

    def hhmm(minutes: float) -> str:
        local = at_minutes(origin, minutes).astimezone(zone)
        text = local.strftime("%H:%M")
        if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
            text += f" {local.tzname()}"  # the hour the clocks go back: which of the two
        return text

    cal = Calendar()
    cal.add("prodid", f"-//migsim//runbook {__version__}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{rb.scenario_name}: migration")
    cal.add("x-wr-timezone", rb.timezone)

    for w in rb.windows:
        inside = [s for s in rb.steps if s.window == w.index]
        units = list(dict.fromkeys(s.unit for s in inside))
        crews = sorted({s.crew for s in inside if s.crew is not None})
        last = max(s.end for s in inside) if inside else w.start
        lines = [
            f"Maintenance window {w.index} of {rb.scenario_name}: {rb.span(w.start, w.end)}.",
            f"{len(inside)} planned steps of {len(units)} units on"
            f" {len(crews)} crew{'s' if len(crews) != 1 else ''}: {', '.join(units)}.",
            f"Planned end of the last step: {rb.clock(last)}.",
        ]
        p80s = [s.p80_end for s in inside if s.p80_end is not None]
        if p80s:
            worst = max(p80s)
            text = (
                "not reached in one run in five or more" if math.isinf(worst) else rb.clock(worst)
            )
            lines.append(f"Latest P80 end of these steps: {text} ({rb.replications_text}).")
        ev = Event()
        ev.add("uid", f"{slug}.window-{w.index}@migsim")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", at(w.start))
        ev.add("dtend", at(w.end))
        ev.add("summary", f"{rb.scenario_name}: maintenance window {w.index}")
        ev.add("description", "\n".join(lines))
        ev.add("transp", "OPAQUE")
        cal.add_component(ev)

    blocks: dict[tuple[str, int | None], list[RunbookStep]] = {}
    for s in rb.steps:
        blocks.setdefault((s.unit, s.window), []).append(s)
    for (unit, window), steps in blocks.items():
        crews = sorted({s.crew for s in steps if s.crew is not None})
        who = ", ".join(f"crew {c}" for c in crews) or "no crew"
        head, tail = steps[0], steps[-1]
        lines = [
            f"{unit} ({head.unit_kind}), maintenance window {rb.window_text(window)}; {who}.",
            f"Rollback: {next((s.rollback for s in steps if s.step == 'prepare'), tail.rollback)}",
            "",
        ]
        for s in steps:
            crew = f"crew {s.crew}" if s.crew is not None else "no crew"
            lines.append(f"{hhmm(s.start)}-{hhmm(s.end)} {s.label} ({crew}): {s.command}")
        ev = Event()
        ev.add("uid", f"{slug}.{_slug(unit)}.window-{window or 0}@migsim")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", at(min(s.start for s in steps)))
        ev.add("dtend", at(max(s.end for s in steps)))
        ev.add("summary", f"{unit}: {head.label} to {tail.label} ({who})")
        ev.add("description", "\n".join(lines))
        ev.add("transp", "OPAQUE")
        cal.add_component(ev)

    first_day = (origin - timedelta(days=366)).date()
    last_end = max((s.end for s in rb.steps), default=0.0)
    last_day = (at_minutes(origin, last_end) + timedelta(days=366)).date()
    cal.add_missing_timezones(first_date=first_day, last_date=last_day)
    data: bytes = cal.to_ical()
    return data


# ---- writing ---------------------------------------------------------------------------------


def check_runbook_path(path: Path, force: bool) -> str:
    """The suffix of ``path`` when it is one :func:`write_runbook` writes and ``path`` may be
    written; raises :class:`InputError` otherwise (before anything is computed)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(
            str(path),
            (),
            f"expected a file ending in .xlsx (workbook), .csv or .ics (calendar), got"
            f" {suffix or 'no suffix'!r}",
        )
    refuse_existing(path, force=force, what="a runbook file")  # a directory: always refused
    return suffix


def runbook_bytes(rb: Runbook, suffix: str) -> bytes:
    """The runbook as the bytes of a ``suffix`` file (``.xlsx``, ``.csv`` or ``.ics``)."""
    if suffix == ".xlsx":
        return runbook_xlsx(rb)
    if suffix == ".ics":
        return runbook_ics(rb)
    if suffix == ".csv":
        return runbook_csv(rb).encode("utf-8")
    raise ValueError(f"no runbook writer for {suffix!r}")


def write_runbook(rb: Runbook, path: Path, force: bool = False) -> Path:
    """Write ``rb`` to ``path`` (its suffix picks the format), atomically; refuse to replace an
    existing file without ``force`` (:class:`InputError`)."""
    path = Path(path)
    suffix = check_runbook_path(path, force)
    data = runbook_bytes(rb, suffix)
    with atomic_file(path, force=force) as tmp:
        tmp.write_bytes(data)
    return path
