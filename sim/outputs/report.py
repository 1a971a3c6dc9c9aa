"""``migsim report RESULTS_DIR``: one self-contained HTML page of a results directory.

The report reads the files a results directory holds (the contract is in ``docs/report.md``)
and nothing else: it never runs the engine or the rules. Every figure is drawn again from the
data by :mod:`sim.outputs.plots` and inlined as SVG; the page carries its own CSS and one small
script, loads nothing from the network (a Content-Security-Policy says so to the browser) and is
byte-identical for the same results. A section whose files are absent is replaced by one line
saying which command produces them.

Files read (all optional except that at least one must be there):

- ``summary.json``, ``scenario.yaml``, ``validation.json``, ``windows.csv``, ``events.csv``,
  ``units.csv`` (``migsim run``);
- ``replications.csv``, ``statistics.json``, ``kept-windows.csv``
  (``migsim run --replications N``);
- ``compare/compare.csv``, ``compare/compare-replications.csv`` (``migsim compare``);
- ``sensitivity/sensitivity.csv``, ``sensitivity/criticality.csv`` (``migsim sensitivity``);
- ``replan.json``, ``actuals.csv`` and ``events.csv``'s ``source`` column (``migsim replan``):
  "The night so far" comes first (:func:`read_replan`; a damaged ``replan.json`` stops the
  report, unlike the other files, whose damage the page names).
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from matplotlib.figure import Figure

from sim.common.atomic import atomic_file, refuse_existing
from sim.common.clocktime import (
    at_minutes,
    clock_text,
    exact_at,
    nearest_minute,
    relative_text,
    span_text,
    zone_tag,
)
from sim.common.errors import InputError
from sim.common.inputfiles import check_folder, read_input_text, regular_file_in
from sim.common.timeparse import format_minutes
from sim.common.version import __version__
from sim.common.words import plural

# The model's ranges (sim.model is below this layer): what a run can write, and so what a run
# folder read back may hold; a number outside makes its file "could not be read".
from sim.model.estate import MAX_COUNT
from sim.model.plan import EARLIEST, LATEST, MAX_HORIZON, MAX_SEED
from sim.outputs import plots
from sim.outputs.records import (
    WINDOW_KINDS,
    Event,
    PostTask,
    Replication,
    Summary,
    UnitOutcome,
    Window,
    is_service_down,
    window_hours,
)
from sim.outputs.verdicts import DURATION_METRICS, OrderingBaseline, Verdict, better

REPORT_NAME = "report.html"
SIZE_BUDGET = 5_000_000
"""Bytes a report should stay under (a test holds a 2,000-VM estate's report to it)."""

RUN_FILES = (
    "summary.json",
    "scenario.yaml",
    "validation.json",
    "windows.csv",
    "events.csv",
    "units.csv",
)
REPLICATION_FILES = ("replications.csv", "statistics.json", "kept-windows.csv", "orderings.json")
COMPARE_FILES = (
    "compare/compare.csv",
    "compare/compare-replications.csv",
    "compare/verdict.json",
    "compare/compare-finish.csv",
)
SENSITIVITY_FILES = ("sensitivity/sensitivity.csv", "sensitivity/criticality.csv")
KNOWN_FILES = RUN_FILES + REPLICATION_FILES + COMPARE_FILES + SENSITIVITY_FILES

HOW_TO = {
    "run": "run `migsim run SCENARIO --out DIR`",
    "replications": "run `migsim run SCENARIO --replications N --out DIR`",
    "compare": "run `migsim compare SCENARIO --orderings a,b --replications N --out DIR/compare`",
    "sensitivity": "run `migsim sensitivity SCENARIO --out DIR/sensitivity`",
}
STAT_COLUMNS = ("p50", "p80", "p90", "p99")
COUNT_METRICS = ("peak_vms_down", "units_not_migrated", "retries", "units_needing_support")
"""Metrics that count things: shown with one decimal."""
COMPARE_OPEN = ("makespan_hours", "vm_hours_down", "peak_vms_down", "service_hours_down")
"""Comparison tables shown open; the other metrics' tables are folded away."""
MAX_REPLICATIONS = 100_000
"""The most replications a run asks for (``--replications``'s maximum, set in
:mod:`sim.experiments.runner`, which this layer may not import)."""
SEVERITY_ORDER = {"blocker": 0, "remediate": 1, "dropped": 2, "note": 3}
STATUS_ORDER = {"blocked": 0, "remediate": 1, "clean": 2}


# ---- reading a results directory ---------------------------------------------------------------


@dataclass(frozen=True)
class FailedReplications:
    """Replications of the plan that failed in a run written with ``--allow-failures``: how
    many were asked for, how many failed, and each failed one (replication, seed, error)."""

    requested: int
    failed: int
    replications: tuple[tuple[int, int, str], ...]

    @property
    def used(self) -> int:
        return self.requested - self.failed

    def sentence(self) -> str:
        return (
            f"statistics from {self.used} of {self.requested} replications;"
            f" {self.failed} failed (the run was written with --allow-failures)"
        )


def read_failed(data: Mapping[str, Any]) -> FailedReplications | None:
    """The failed replications ``statistics.json`` records (``replications_requested``,
    ``replications_failed``, ``failed_replications``), None when it records none; a
    :class:`ValueError` when they are not what ``migsim run`` writes."""
    if "replications_failed" not in data and "replications_requested" not in data:
        return None
    requested: Any = data.get("replications_requested")
    failed: Any = data.get("replications_failed")
    if not (_is_int(requested) and 0 < requested <= MAX_REPLICATIONS):
        raise ValueError(
            f"replications_requested: expected 1 to {MAX_REPLICATIONS:,}, got {requested!r:.60}"
        )
    if not (_is_int(failed) and 0 < failed <= requested):
        raise ValueError(
            f"replications_failed: expected 1 to replications_requested ({requested}),"
            f" got {failed!r:.60}"
        )
    items = data.get("failed_replications")
    if not isinstance(items, list) or len(items) != failed:
        raise ValueError(f"failed_replications: expected a list of {failed} replications")
    out: list[tuple[int, int, str]] = []
    for i, item in enumerate(items):
        if not (
            isinstance(item, dict)
            and _is_int(item.get("replication"))
            and 0 <= item["replication"] < requested
            and _is_int(item.get("seed"))
            and isinstance(item.get("error"), str)
        ):
            raise ValueError(
                f"failed_replications[{i}]: expected replication, seed and error, got {item!r:.60}"
            )
        out.append((item["replication"], item["seed"], item["error"]))
    return FailedReplications(requested, failed, tuple(out))


@dataclass
class ResultsDir:
    """What a results directory holds, read back into plain records. ``None`` / empty where a
    file is absent; ``problems`` lists files that exist but could not be read."""

    root: Path
    summary: dict[str, Any] | None = None
    scenario: dict[str, Any] | None = None
    """The run's scenario (``scenario.yaml``) as plain data, every default filled in."""
    validation: dict[str, Any] | None = None
    windows: list[Window] | None = None
    events: list[Event] | None = None
    sources: list[str] | None = None
    """Per event of ``events.csv``, its ``source`` column (``actual`` or ``forecast``: a
    ``migsim replan`` folder); None when the file has no such column."""
    units: list[UnitOutcome] | None = None
    replications: list[dict[str, float]] | None = None
    statistics: dict[str, dict[str, Any]] | None = None
    finish: dict[str, Any] | None = None
    kept_windows: dict[int, list[Window]] | None = None
    compare: list[dict[str, str]] | None = None
    compare_replications: dict[str, list[dict[str, float]]] | None = None
    verdict: Verdict | None = None
    orderings: OrderingBaseline | None = None
    compare_finish: list[dict[str, str]] | None = None
    sensitivity: list[dict[str, str]] | None = None
    sensitivity_meta: dict[str, Any] = field(default_factory=dict)
    criticality: list[tuple[str, float]] | None = None
    resource_criticality: list[tuple[str, float]] | None = None
    criticality_replications: int | None = None
    failed: FailedReplications | None = None
    """``statistics.json``'s failed replications (``--allow-failures``); None when none failed."""
    night: Night | None = None
    """``replan.json`` (a ``migsim replan`` folder); None in the folder of a plan's run."""
    actuals: list[dict[str, str]] | None = None
    """``actuals.csv``'s rows (a ``migsim replan`` folder): the actuals as read."""
    present: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def origin(self) -> datetime | None:
        start = (self.summary or {}).get("start")
        return _parse_time(start) if isinstance(start, str) else None

    @property
    def timezone(self) -> str:
        """The plan's time zone: ``summary.json``'s ``timezone`` (else the embedded plan's, else
        the ``finish`` block's), UTC for results written before there was one or for a name
        this machine's tz database does not know."""
        s = self.summary or {}
        plan = (s.get("scenario") or {}).get("plan") or {}
        for name in (s.get("timezone"), plan.get("timezone"), (self.finish or {}).get("timezone")):
            if isinstance(name, str) and name:
                try:
                    ZoneInfo(name)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
                return name
        return "UTC"

    @property
    def zone(self) -> ZoneInfo:
        """:attr:`timezone` as a :class:`zoneinfo.ZoneInfo`: every clock time is shown in it."""
        return ZoneInfo(self.timezone)

    def missing(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n not in self.present]


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _text(path: Path) -> str:
    """A file of the results directory: a regular file within the size limit, UTF-8."""
    return read_input_text(path, str(path), f"the {path.name} of a results directory")


def _json(path: Path) -> Any:
    return json.loads(_text(path))


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(_text(path), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


# What summary.json holds (sim.outputs.records.Summary.as_dict); a key of the wrong type makes
# the file unreadable (named at the top of the report) rather than a crash while drawing.
_SUMMARY_INTS = (
    "seed", "units_total", "units_migrated", "peak_vms_down", "failed_attempts",
    "open_windows_at_end", "units_needing_support",
)  # fmt: skip
_SUMMARY_NUMBERS = (
    "makespan_minutes", "vm_hours_down", "peak_vms_down_at_minutes", "lock_resource_hours",
    "throttle_minutes", "service_hours_down", "exposure_hours", "protection_gap_hours",
)  # fmt: skip
_SUMMARY_TEXTS = (
    "scenario_name", "migsim_version", "time_unit", "start", "end", "peak_vms_down_at_utc",
    "timezone", "end_local",
)  # fmt: skip
_TASK_TEXTS = ("unit", "rule", "task", "done_at_utc")
_UNIT_TEXTS = ("unit", "kind", "status", "reason")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _in_time(value: float, what: str, *, signed: bool = False) -> float:
    """``value`` when it is a time the model can make: finite, from 0 (from ``-MAX_HORIZON``
    when ``signed``: a window open before the start) to :data:`~sim.model.plan.MAX_HORIZON`
    minutes; else a :class:`ValueError` (the file is then "could not be read")."""
    low = -MAX_HORIZON if signed else 0.0
    if not (math.isfinite(value) and low <= value <= MAX_HORIZON):
        raise ValueError(
            f"{what}: expected minutes from {low:,.0f} to {MAX_HORIZON:,.0f} (the longest"
            f" plan.horizon), got {value!r:.60}"
        )
    return value


def _in_count(value: int, what: str, most: int = MAX_COUNT) -> int:
    if not 0 <= value <= most:
        raise ValueError(f"{what}: expected a whole number from 0 to {most:,}, got {value!r:.60}")
    return value


def _timestamp(value: Any, what: str) -> None:
    """A ``start``/``end``/``*_utc`` text of summary.json: None, or an ISO 8601 timestamp within
    what a plan takes (from :data:`~sim.model.plan.EARLIEST` to the latest start plus the longest
    horizon)."""
    if value is None:
        return
    t = _parse_time(value) if isinstance(value, str) else None
    if t is not None and t.tzinfo is None:
        t = t.replace(tzinfo=ZoneInfo("UTC"))
    if t is None or not EARLIEST <= t <= LATEST + timedelta(minutes=MAX_HORIZON):
        raise ValueError(f"{what}: expected an ISO 8601 timestamp, got {value!r:.60}")


def _check_items(data: Mapping[str, Any], key: str, texts: Sequence[str]) -> None:
    items = data.get(key)
    if items is None:
        return
    if not isinstance(items, list):
        raise ValueError(f"{key}: expected a list, got {type(items).__name__}")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"{key}[{i}]: expected an object, got {type(item).__name__}")
        for name in texts:
            if item.get(name) is not None and not isinstance(item[name], str):
                raise ValueError(f"{key}[{i}].{name}: expected text, got {item[name]!r:.60}")
        for name in ("rules", "resources"):
            value = item.get(name)
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                raise ValueError(f"{key}[{i}].{name}: expected a list of text, got {value!r:.60}")
        for name, value in item.items():
            if name.endswith("_minutes") and value is not None:
                if not _is_number(value):
                    raise ValueError(f"{key}[{i}].{name}: expected a number, got {value!r:.60}")
                _in_time(value, f"{key}[{i}].{name}")
            if name.endswith("_utc"):
                _timestamp(value, f"{key}[{i}].{name}")
        attempts = item.get("attempts")
        if attempts is not None and not (
            isinstance(attempts, dict)
            and all(_is_int(v) and 0 <= v <= MAX_COUNT for v in attempts.values())
        ):
            raise ValueError(f"{key}[{i}].attempts: expected whole numbers, got {attempts!r:.60}")
        if "vms" in item and not (_is_int(item["vms"]) and 0 <= item["vms"] <= MAX_COUNT):
            raise ValueError(f"{key}[{i}].vms: expected a whole number, got {item['vms']!r:.60}")


def check_summary(data: Any) -> dict[str, Any]:
    """``data`` (``summary.json`` parsed) when every key the report reads has its type, else a
    :class:`ValueError` naming the first key that does not."""
    if not isinstance(data, dict) or "units_total" not in data:
        raise ValueError("not a migsim summary (no 'units_total')")
    for key in _SUMMARY_INTS:
        if data.get(key) is not None and not _is_int(data[key]):
            raise ValueError(f"{key}: expected a whole number, got {data[key]!r:.60}")
    for key in _SUMMARY_NUMBERS:
        if data.get(key) is not None and not _is_number(data[key]):
            raise ValueError(f"{key}: expected a finite number, got {data[key]!r:.60}")
    for key in _SUMMARY_TEXTS:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ValueError(f"{key}: expected text, got {data[key]!r:.60}")
    # ... and every number within what a run can write (a makespan of 1e15 minutes would have
    # the report build a calendar of that length)
    if data.get("seed") is not None:
        _in_count(data["seed"], "seed", MAX_SEED)
    for key in _SUMMARY_INTS:
        if key != "seed" and data.get(key) is not None:
            _in_count(data[key], key)
    for key in _SUMMARY_NUMBERS:
        value = data.get(key)
        if value is None:
            continue
        if key.endswith("_minutes"):
            _in_time(value, key)
        elif value < 0:
            raise ValueError(f"{key}: expected zero or more, got {value!r:.60}")
    stopped = data.get("stopped_at_horizon_minutes")
    if stopped is not None:
        if not _is_number(stopped):
            raise ValueError(f"stopped_at_horizon_minutes: expected a number, got {stopped!r:.60}")
        _in_time(stopped, "stopped_at_horizon_minutes")
    for key in ("start", "end", "peak_vms_down_at_utc"):
        _timestamp(data.get(key), key)
    if data.get("deterministic") is not None and not isinstance(data["deterministic"], bool):
        raise ValueError(
            f"deterministic: expected true or false, got {data['deterministic']!r:.60}"
        )
    hours = data.get("window_hours_by_kind")
    if hours is not None and not (
        isinstance(hours, dict) and all(_is_number(v) and v >= 0 for v in hours.values())
    ):
        raise ValueError(f"window_hours_by_kind: expected numbers by kind, got {hours!r:.60}")
    if data.get("scenario") is not None and not isinstance(data["scenario"], dict):
        raise ValueError("scenario: expected an object")
    _check_items(data, "post_migration_tasks", _TASK_TEXTS)
    _check_items(data, "not_migrated", _UNIT_TEXTS)
    _check_items(data, "units", _UNIT_TEXTS)
    return data


def _need(name: str, header: Sequence[str], columns: Sequence[str]) -> None:
    absent = [c for c in columns if c not in header]
    if absent:
        raise ValueError(f"{name}: missing column(s) {', '.join(absent)}")


def _float(text: str | None) -> float:
    if text is None or text == "":
        return math.nan
    return float(text)


def _opt(text: Any) -> float | None:
    if text is None or text == "":
        return None
    return float(text)


WINDOW_COLUMNS = ("resource", "resource_type", "unit", "kind", "start_min", "end_min")


def _minutes_of(row: Mapping[str, str], key: str) -> float:
    """``row[key]``, a time in minutes within the model's range (:func:`_in_time`)."""
    return _in_time(float(row[key]), key)


def _window(row: Mapping[str, str]) -> Window:
    start, end = _minutes_of(row, "start_min"), _minutes_of(row, "end_min")
    if end < start:
        raise ValueError(f"end_min: expected {end!r} to be at or after start_min {start!r}")
    return Window(
        resource=row["resource"],
        resource_type=row["resource_type"],
        unit=row["unit"],
        kind=row["kind"],
        start=start,
        end=end,
        cause=row.get("cause", "") or "",
    )


def read_windows(path: Path) -> list[Window]:
    """``windows.csv`` back into :class:`~sim.outputs.records.Window` records."""
    header, rows = _rows(path)
    _need(path.name, header, WINDOW_COLUMNS)
    return [_window(r) for r in rows]


def read_kept_windows(path: Path) -> dict[int, list[Window]]:
    """``kept-windows.csv`` (``replication`` then the windows columns) by replication."""
    header, rows = _rows(path)
    _need(path.name, header, ("replication", *WINDOW_COLUMNS))
    out: dict[int, list[Window]] = {}
    for r in rows:
        replication = _in_count(int(r["replication"]), "replication", MAX_REPLICATIONS)
        out.setdefault(replication, []).append(_window(r))
    return out


def read_events(path: Path) -> list[Event]:
    """``events.csv`` back into :class:`~sim.outputs.records.Event` records."""
    return read_events_and_sources(path)[0]


EVENT_SOURCES = ("actual", "forecast")
"""The ``source`` column of a ``migsim replan`` folder's ``events.csv``."""


def read_events_and_sources(path: Path) -> tuple[list[Event], list[str] | None]:
    """``events.csv`` back into :class:`~sim.outputs.records.Event` records, with each row's
    ``source`` (``actual`` or ``forecast``, a ``migsim replan`` folder) or None when the file
    has no such column. A :class:`ValueError` names a source that is neither."""
    header, rows = _rows(path)
    _need(path.name, header, ("time_min", "unit", "step", "outcome", "attempt"))
    events = [
        Event(
            time=_minutes_of(r, "time_min"),
            unit=r["unit"],
            step=r["step"],
            outcome=r["outcome"],
            crew=_in_count(int(r["crew"]), "crew") if r.get("crew") else None,
            attempt=_in_count(int(r["attempt"]), "attempt"),
        )
        for r in rows
    ]
    if "source" not in header:
        return events, None
    for line, r in enumerate(rows, start=2):
        if r["source"] not in EVENT_SOURCES:
            raise ValueError(
                f"line {line}: source: expected actual or forecast, got {r['source']!r:.60}"
            )
    return events, [r["source"] for r in rows]


def _opt_time(row: Mapping[str, str], key: str) -> float | None:
    value = _opt(row.get(key))
    return None if value is None else _in_time(value, key)


def read_units(path: Path) -> list[UnitOutcome]:
    """``units.csv`` back into :class:`~sim.outputs.records.UnitOutcome` records."""
    header, rows = _rows(path)
    _need(path.name, header, ("unit", "kind", "vms", "status", "first_start_min", "end_min"))
    return [
        UnitOutcome(
            unit=r["unit"],
            kind=r["kind"],
            vms=_in_count(int(r["vms"]), "vms"),
            status=r["status"],
            first_start=_opt_time(r, "first_start_min"),
            commit_end=_opt_time(r, "commit_end_min"),
            end=_opt_time(r, "end_min"),
            validate_attempts=_in_count(int(r.get("validate_attempts") or 0), "validate_attempts"),
            prepare_attempts=_in_count(int(r.get("prepare_attempts") or 0), "prepare_attempts"),
            commit_attempts=_in_count(int(r.get("commit_attempts") or 0), "commit_attempts"),
            reason=r.get("reason") or "",
            rules=tuple(x for x in (r.get("rules") or "").split(";") if x),
            needs_support=r.get("needs_support") == "true",
        )
        for r in rows
    ]


def _check_replication_row(row: Mapping[str, float], line: int) -> None:
    """A row of ``replications.csv`` (read as numbers, NaN for an empty cell): every number
    finite and zero or more, the seed within 63 bits, the makespan within the longest horizon."""
    for key, value in row.items():
        if math.isnan(value):
            continue
        most = {
            "replication": MAX_REPLICATIONS,
            "seed": MAX_SEED,
            "makespan_hours": MAX_HORIZON / 60.0,
        }.get(key, math.inf)
        if not (math.isfinite(value) and 0 <= value <= most):
            raise ValueError(
                f"line {line}: {key}: expected a number from 0 to {most:,.0f}, got {value!r:.60}"
            )


MAX_FIGURE = 1e12
"""The largest figure a table of a run folder may hold (hours, counts, means): more than a
million resources down for the longest horizon (8.8e10 resource-hours). Larger is damage."""
_TEXT_COLUMNS = frozenset(
    ("alternative", "metric", "factor", "unit", "timezone", "status", "statistic", "best",
     "low", "high", "label", "better", "cause", "resource", "resource_type", "kind")
)  # fmt: skip


def _check_table(rows: Sequence[Mapping[str, Any]], name: str) -> None:
    """Every number of a CSV table of a run folder within the model's range: finite; minutes
    (``*_min``) within the model's times (a finish may be given before a window, so signed);
    a ``seed`` within 63 bits; shares and probabilities from 0 to 1; any other figure at most
    :data:`MAX_FIGURE` in size. A :class:`ValueError` naming the line and the column."""
    for line, row in enumerate(rows, start=2):
        for key, text in row.items():
            if key is None or key in _TEXT_COLUMNS or not isinstance(text, str) or not text:
                continue
            if key.endswith(("_utc", "_local")):
                _timestamp(text, f"{name}:{line}: {key}")
                continue
            try:
                value = float(text)
            except ValueError:
                continue  # text: the section's own reader says if it wanted a number
            at = f"{name}:{line}: {key}"
            if key.endswith("_min"):
                _in_time(value, at, signed=True)
            elif key == "seed":
                if not (math.isfinite(value) and 0 <= value <= MAX_SEED):
                    raise ValueError(
                        f"{at}: expected a seed from 0 to {MAX_SEED:,}, got {text!r:.60}"
                    )
            elif key.startswith(("prob", "share", "deadline_", "done_by_", "done_in_")) or key in (
                "criticality_index",
                "criticality",
                "index",
                "resource_criticality",
            ):
                if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                    raise ValueError(f"{at}: expected a share from 0 to 1, got {text!r:.60}")
            elif not (math.isfinite(value) and abs(value) <= MAX_FIGURE):
                raise ValueError(
                    f"{at}: expected a finite number of at most {MAX_FIGURE:g}, got {text!r:.60}"
                )


def _check_numbers(data: Any, where: str) -> None:
    """Every number of a JSON file of a run folder finite and at most :data:`MAX_FIGURE` in
    size (a ``seed`` within 63 bits)."""
    if isinstance(data, dict):
        for key, value in data.items():
            at = f"{where}.{key}" if where else str(key)
            if key == "seed" and _is_int(value):
                _in_count(value, at, MAX_SEED)
            elif str(key).startswith(("prob", "share")) and value is not None:
                if not (_is_number(value) and 0.0 <= value <= 1.0):
                    raise ValueError(f"{at}: expected a share from 0 to 1, got {value!r:.60}")
            else:
                _check_numbers(value, at)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_numbers(value, f"{where}[{i}]")
    elif (
        isinstance(data, int | float)
        and not isinstance(data, bool)
        and not (math.isfinite(data) and abs(data) <= MAX_FIGURE)
    ):
        raise ValueError(
            f"{where}: expected a finite number of at most {MAX_FIGURE:g}, got {data!r:.60}"
        )


def _check_finish(block: Any, where: str = "finish") -> None:
    """``statistics.json``'s ``finish`` block: every ``minutes`` within the model's times (a
    window may open before the start), every ``utc`` a timestamp, every share from 0 to 1."""
    if isinstance(block, list):
        for i, item in enumerate(block):
            _check_finish(item, f"{where}[{i}]")
        return
    if not isinstance(block, dict):
        return
    for key, value in block.items():
        at = f"{where}.{key}"
        if key == "minutes" and value is not None:
            if not _is_number(value):
                raise ValueError(f"{at}: expected a number, got {value!r:.60}")
            _in_time(value, at, signed=True)
        elif key in ("utc", "local"):
            _timestamp(value, at)
        elif key in ("share", "share_in", "share_by", "ci_low", "ci_high"):
            if not (_is_number(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"{at}: expected a share from 0 to 1, got {value!r:.60}")
        elif key in ("replications", "window", "later", "not_done", "done_in", "done_by"):
            if not (_is_int(value) and 0 <= value <= MAX_COUNT):
                raise ValueError(f"{at}: expected a whole number, got {value!r:.60}")
        else:
            _check_finish(value, at)


def _numeric_rows(
    rows: Iterable[Mapping[str, str]], skip: Sequence[str] = ()
) -> list[dict[str, float]]:
    return [{k: _float(v) for k, v in r.items() if k not in skip and k is not None} for r in rows]


# ---- a migsim replan folder --------------------------------------------------------------------

REPLAN_FILES = ("replan.json", "actuals.csv")
"""What ``migsim replan`` writes beside a run's files (``sim.experiments.replan.REPLAN_FILES``,
which this layer may not import): ``replan.json`` makes the folder a night's re-forecast."""
QUANTILES = ("P50", "P80", "P90")
UNIT_QUANTILES = ("P10", "P50", "P90")
"""The percentiles of each unit's Commit end in ``replan.json`` (the picture's band)."""


@dataclass(frozen=True)
class NightShare:
    """``done`` of ``replications`` replications with everything committed by the end of the
    current window: the share and its 95 % Wilson interval, as ``replan.json`` writes them."""

    done: int
    replications: int
    share: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class NightUnit:
    """A unit not committed by now: P(its Commit ends in this window), re-forecast and under
    the plan (None without windows), and its Commit end in the re-forecast at P10, P50 and P90
    (minutes from the start; None where that percentile falls among replications that never
    commit it)."""

    unit: str
    p_commit: float | None
    plan_p_commit: float | None
    commit: tuple[float | None, float | None, float | None]


@dataclass(frozen=True)
class NightNext:
    """A unit the re-forecast starts next: when (minutes from the start) and on which crew."""

    unit: str
    start: float
    crew: int | None


@dataclass(frozen=True)
class NightAdvice:
    """One next decision of ``migsim replan --advise``: what it is, the units it leaves for the
    next window, P(every other unit committed in this window) and its difference from
    continuing with the 95 % interval of that difference."""

    what: str
    skipped: tuple[str, ...]
    share: NightShare
    diff: float
    low: float
    high: float


@dataclass(frozen=True)
class Night:
    """``replan.json`` read back and checked (:func:`read_replan`): now (minutes from the
    start), the actuals (their source, how many events, the units begun and committed), the
    current maintenance window (index, start and end minutes; None without windows), the
    shares done in it re-forecast and under the plan, the ``finish`` blocks of both (as in
    ``statistics.json``), the units not yet committed, the units to start next, the
    replications and the failures."""

    now: float
    now_text: str
    source: str
    events: int
    begun: tuple[str, ...]
    committed: tuple[str, ...]
    window: tuple[int, float, float] | None
    done: NightShare | None
    plan_done: NightShare | None
    finish: dict[str, Any] | None
    plan_finish: dict[str, Any] | None
    units: tuple[NightUnit, ...]
    next: tuple[NightNext, ...]
    replications: int
    failures: tuple[str, ...]
    advice: tuple[NightAdvice, ...] = ()

    def p80(self, plan: bool = False) -> float | None:
        """The P80 finish (minutes from the start) of the re-forecast, or of the plan; None
        without replications or when P80 falls among replications never done."""
        block = self.plan_finish if plan else self.finish
        if block is None:
            return None
        minutes = block["quantiles"]["P80"].get("minutes")
        return None if minutes is None else float(minutes)


class _Checked:
    """Checks of one JSON file: each a :class:`~sim.common.errors.InputError` naming the file,
    the key path and what was expected (the report refuses a damaged ``replan.json``)."""

    def __init__(self, shown: str) -> None:
        self.shown = shown

    def bad(self, loc: Sequence[str | int], message: str) -> InputError:
        return InputError(self.shown, loc, message)

    def obj(self, value: Any, loc: Sequence[str | int], keys: Sequence[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            what = "the replan.json migsim replan writes" if not loc else "an object"
            raise self.bad(loc, f"expected {what}, got {type(value).__name__}")
        absent = [k for k in keys if k not in value]
        if absent:
            raise self.bad(loc, f"has no {', '.join(absent)}; expected {', '.join(keys)}")
        return value

    def text(self, value: Any, loc: Sequence[str | int]) -> str:
        if not isinstance(value, str):
            raise self.bad(loc, f"expected text, got {value!r:.60}")
        return value

    def texts(self, value: Any, loc: Sequence[str | int]) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.bad(loc, f"expected a list of text, got {value!r:.60}")
        return tuple(self.text(v, (*loc, i)) for i, v in enumerate(value))

    def whole(self, value: Any, loc: Sequence[str | int], least: int = 0) -> int:
        if not (_is_int(value) and least <= value <= MAX_COUNT):
            raise self.bad(
                loc, f"expected a whole number from {least} to {MAX_COUNT:,}, got {value!r:.60}"
            )
        return int(value)

    def minutes(self, value: Any, loc: Sequence[str | int]) -> float:
        if not (_is_number(value) and 0.0 <= value <= MAX_HORIZON):
            raise self.bad(
                loc,
                f"expected minutes from the start, from 0 to {MAX_HORIZON:,.0f} (the longest"
                f" plan.horizon), got {value!r:.60}",
            )
        return float(value)

    def share(self, value: Any, loc: Sequence[str | int]) -> float:
        if not (_is_number(value) and 0.0 <= value <= 1.0):
            raise self.bad(loc, f"expected a share from 0 to 1, got {value!r:.60}")
        return float(value)

    def maybe(self, value: Any, read: Any, loc: Sequence[str | int]) -> Any:
        return None if value is None else read(value, loc)


def _night_advice(c: _Checked, value: Any, n: int) -> tuple[NightAdvice, ...]:
    """``replan.json``'s ``advice`` (absent without ``--advise``), checked."""
    if not isinstance(value, list):
        raise c.bad(("advice",), f"expected a list, got {type(value).__name__}")
    out = []
    for i, a in enumerate(value):
        loc: tuple[str | int, ...] = ("advice", i)
        keys = ("what", "skipped", "diff_vs_continue", "diff_low", "diff_high")
        a = c.obj(a, loc, keys)
        # a decision's replications: the file's, less any that failed with --allow-failures
        reps = c.whole(a.get("replications"), (*loc, "replications"), 1)
        if reps > n:
            raise c.bad((*loc, "replications"), f"expected at most {n}, got {reps}")
        share = _night_share(c, a, f"advice[{i}]", reps)
        if share is None:
            raise c.bad(loc, "expected the decision's share, got null")
        diffs = []
        for k in keys[2:]:
            v = a[k]
            if not (_is_number(v) and -1.0 <= v <= 1.0):
                raise c.bad((*loc, k), f"expected a difference of shares, -1 to 1, got {v!r:.60}")
            diffs.append(float(v))
        out.append(
            NightAdvice(
                what=c.text(a["what"], (*loc, "what")),
                skipped=c.texts(a["skipped"], (*loc, "skipped")),
                share=share,
                diff=diffs[0],
                low=diffs[1],
                high=diffs[2],
            )
        )
    return tuple(out)


def _night_share(c: _Checked, value: Any, key: str, n: int) -> NightShare | None:
    if value is None:
        return None
    d = c.obj(value, (key,), ("done", "replications", "share", "ci_low", "ci_high"))
    reps = c.whole(d["replications"], (key, "replications"), 1)
    if reps != n:
        raise c.bad((key, "replications"), f"expected {n} (the file's replications), got {reps}")
    done = c.whole(d["done"], (key, "done"))
    if done > reps:
        raise c.bad((key, "done"), f"expected at most replications ({reps}), got {done}")
    share = c.share(d["share"], (key, "share"))
    if abs(share - done / reps) > 1e-6:
        raise c.bad(
            (key, "share"), f"expected done / replications ({done / reps:.6f}), got {share}"
        )
    low, high = c.share(d["ci_low"], (key, "ci_low")), c.share(d["ci_high"], (key, "ci_high"))
    if not low - 1e-9 <= share <= high + 1e-9:
        raise c.bad((key,), f"expected ci_low <= share <= ci_high, got {low}, {share}, {high}")
    return NightShare(done, reps, share, low, high)


def _night_finish(c: _Checked, value: Any, key: str, n: int) -> dict[str, Any] | None:
    if value is None:
        return None
    d = c.obj(value, (key,), ("replications", "quantiles"))
    if c.whole(d["replications"], (key, "replications")) != n:
        raise c.bad(
            (key, "replications"),
            f"expected {n} (the file's replications), got {d['replications']!r:.60}",
        )
    quantiles = c.obj(d["quantiles"], (key, "quantiles"), QUANTILES)
    for q in QUANTILES:
        c.obj(quantiles[q], (key, "quantiles", q), ("minutes",))
    try:
        _check_finish(d, key)
    except ValueError as exc:
        raise c.bad((), str(exc)) from None
    return d


def read_replan(path: Path) -> Night:
    """``replan.json`` (written by ``migsim replan``) read back into a :class:`Night`.

    Raises :class:`~sim.common.errors.InputError` naming the file, the key path and what was
    expected when it is not what ``migsim replan`` writes: not JSON, a key missing or of the
    wrong type, a time outside the model's range, a share outside 0 to 1, a count larger than
    its replications, a share that is not its count divided by the replications, P10 after P50
    or P50 after P90. (Unlike the run's files, whose damage the page names, a damaged
    ``replan.json`` stops the report: without it the folder would read as a plan's run, its
    cards mixing what happened with one forecast.)"""
    shown = str(path)
    c = _Checked(shown)
    try:
        data = json.loads(_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(
            shown,
            (),
            f"is not JSON ({exc.msg}, column {exc.colno}); expected the replan.json migsim"
            " replan writes",
            line=exc.lineno,
        ) from None
    except RecursionError:
        raise InputError(shown, (), "is nested too deeply; expected replan.json") from None
    keys = (
        "now",
        "actuals",
        "window",
        "done_in_window",
        "plan_done_in_window",
        "finish",
        "plan_finish",
        "units",
        "next",
        "replications",
        "failures",
    )
    d = c.obj(data, (), keys)
    now = c.obj(d["now"], ("now",), ("minutes", "text"))
    actuals = c.obj(
        d["actuals"], ("actuals",), ("source", "events", "units_begun", "units_committed")
    )
    n = c.whole(d["replications"], ("replications",))
    window = None
    if d["window"] is not None:
        w = c.obj(d["window"], ("window",), ("window", "start_minutes", "end_minutes"))
        start = c.minutes(w["start_minutes"], ("window", "start_minutes"))
        end = c.minutes(w["end_minutes"], ("window", "end_minutes"))
        if end < start:
            raise c.bad(("window", "end_minutes"), f"expected at or after start_minutes, got {end}")
        window = (c.whole(w["window"], ("window", "window"), 1), start, end)
    units = []
    if not isinstance(d["units"], list):
        raise c.bad(("units",), f"expected a list, got {type(d['units']).__name__}")
    for i, u in enumerate(d["units"]):
        loc: tuple[str | int, ...] = ("units", i)
        u = c.obj(
            u, loc, ("unit", "p_commit_in_window", "plan_p_commit_in_window", "commit_minutes")
        )
        q = c.obj(u["commit_minutes"], (*loc, "commit_minutes"), UNIT_QUANTILES)
        commit = tuple(
            c.maybe(q[k], c.minutes, (*loc, "commit_minutes", k)) for k in UNIT_QUANTILES
        )
        known = [m for m in commit if m is not None]
        if known != sorted(known) or (None in commit and commit.index(None) < len(known)):
            raise c.bad(
                (*loc, "commit_minutes"),
                f"expected P10 <= P50 <= P90 (None only for the last ones), got {q!r:.80}",
            )
        units.append(
            NightUnit(
                unit=c.text(u["unit"], (*loc, "unit")),
                p_commit=c.maybe(u["p_commit_in_window"], c.share, (*loc, "p_commit_in_window")),
                plan_p_commit=c.maybe(
                    u["plan_p_commit_in_window"], c.share, (*loc, "plan_p_commit_in_window")
                ),
                commit=(commit[0], commit[1], commit[2]),
            )
        )
    nxt = []
    if not isinstance(d["next"], list):
        raise c.bad(("next",), f"expected a list, got {type(d['next']).__name__}")
    for i, u in enumerate(d["next"]):
        u = c.obj(u, ("next", i), ("unit", "start_minutes", "crew"))
        nxt.append(
            NightNext(
                unit=c.text(u["unit"], ("next", i, "unit")),
                start=c.minutes(u["start_minutes"], ("next", i, "start_minutes")),
                crew=c.maybe(u["crew"], c.whole, ("next", i, "crew")),
            )
        )
    return Night(
        now=c.minutes(now["minutes"], ("now", "minutes")),
        now_text=c.text(now["text"], ("now", "text")),
        source=c.text(actuals["source"], ("actuals", "source")),
        events=c.whole(actuals["events"], ("actuals", "events")),
        begun=c.texts(actuals["units_begun"], ("actuals", "units_begun")),
        committed=c.texts(actuals["units_committed"], ("actuals", "units_committed")),
        window=window,
        done=_night_share(c, d["done_in_window"], "done_in_window", n),
        plan_done=_night_share(c, d["plan_done_in_window"], "plan_done_in_window", n),
        finish=_night_finish(c, d["finish"], "finish", n),
        plan_finish=_night_finish(c, d["plan_finish"], "plan_finish", n),
        units=tuple(units),
        next=tuple(nxt),
        replications=n,
        failures=c.texts(d["failures"], ("failures",)),
        advice=_night_advice(c, d.get("advice", []), n),
    )


ACTUALS_COLUMNS = ("time_min", "unit", "step", "outcome", "crew", "attempt", "where")


def read_actuals_csv(path: Path) -> list[dict[str, str]]:
    """``actuals.csv`` (the actuals as ``migsim replan`` read them): its rows, each time a
    minute within the model's range."""
    header, rows = _rows(path)
    _need(path.name, header, ACTUALS_COLUMNS)
    for line, r in enumerate(rows, start=2):
        _in_time(float(r["time_min"]), f"line {line}: time_min")
        if r["attempt"]:
            _in_count(int(r["attempt"]), f"line {line}: attempt")
    return rows


def load_results(results_dir: Path) -> ResultsDir:
    """Read every known file of ``results_dir`` that is present.

    Raises :class:`~sim.common.errors.InputError` when ``results_dir`` is not a directory or holds
    none of the files of a results directory. A file that is present but unreadable (bad JSON,
    a missing column) is recorded in ``problems`` and its section is left out.
    """
    root = Path(results_dir)
    check_folder(root, str(root), "a results directory (written by migsim run --out DIR)")
    res = ResultsDir(root=root)
    for name in KNOWN_FILES:
        try:
            if regular_file_in(root / name, str(root / name), "a file of a results directory"):
                res.present.append(name)
        except InputError as exc:
            res.problems.append(f"{name} could not be read ({exc.message})")
    if not res.present:
        raise InputError(
            str(root),
            (),
            "holds no results: expected summary.json, windows.csv... (written by migsim run"
            " --out DIR), compare/ or sensitivity/",
        )

    def attempt(name: str, read: Any) -> None:
        if name not in res.present:
            return
        try:
            read(root / name)
        except (ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
            res.present.remove(name)
            res.problems.append(f"{name} could not be read ({type(exc).__name__}: {exc})")
        except InputError as exc:
            res.present.remove(name)
            res.problems.append(f"{name} could not be read ({exc.message})")

    def summary(p: Path) -> None:
        res.summary = check_summary(_json(p))

    def scenario(p: Path) -> None:
        from sim.model.scenario import load_scenario

        res.scenario = load_scenario(p).model_dump(mode="json", by_alias=True)

    def validation(p: Path) -> None:
        data = _json(p)
        if not isinstance(data, dict) or "units" not in data:
            raise ValueError("not a migsim validation report (no 'units')")
        res.validation = data

    def windows(p: Path) -> None:
        res.windows = read_windows(p)

    def events(p: Path) -> None:
        res.events, res.sources = read_events_and_sources(p)

    def units(p: Path) -> None:
        res.units = read_units(p)

    def replications(p: Path) -> None:
        header, rows = _rows(p)
        _need(p.name, header, ("replication",))
        res.replications = _numeric_rows(rows)
        for i, row in enumerate(res.replications, start=2):
            _check_replication_row(row, i)

    def statistics(p: Path) -> None:
        data = _json(p)
        failed, finish = None, None
        if isinstance(data, dict):
            failed = read_failed(data)
        if isinstance(data, dict) and isinstance(data.get("finish"), dict):
            finish = data["finish"]
            _check_finish(finish)
        if isinstance(data, dict) and isinstance(data.get("metrics"), dict):
            data = data["metrics"]
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ValueError("expected an object of metric -> statistics")
        for metric, values in data.items():
            for key, value in values.items():
                if value is not None and not _is_number(value):
                    raise ValueError(f"{metric}.{key}: expected a finite number, got {value!r:.60}")
                if value is not None and abs(value) > MAX_FIGURE:
                    raise ValueError(
                        f"{metric}.{key}: expected at most {MAX_FIGURE:g}, got {value!r:.60}"
                    )
        # all or nothing: a file that cannot be read leaves every part of it out
        res.failed, res.finish, res.statistics = failed, finish, data

    def kept(p: Path) -> None:
        res.kept_windows = read_kept_windows(p)

    def orderings(p: Path) -> None:
        data = _json(p)
        _check_numbers(data, "")
        res.orderings = OrderingBaseline.from_dict(data)

    def verdict(p: Path) -> None:
        data = _json(p)
        _check_numbers(data, "")
        res.verdict = Verdict.from_dict(data)

    def compare(p: Path) -> None:
        header, rows = _rows(p)
        _need(p.name, header, ("alternative", "metric"))
        _check_table(rows, p.name)
        res.compare = rows

    def compare_finish(p: Path) -> None:
        header, rows = _rows(p)
        _need(p.name, header, ("alternative", "p50_min", "p80_min", "p90_min"))
        _check_table(rows, p.name)
        res.compare_finish = rows

    def compare_reps(p: Path) -> None:
        header, rows = _rows(p)
        _need(p.name, header, ("alternative",))
        _check_table(rows, p.name)
        by: dict[str, list[dict[str, float]]] = {}
        for r in rows:
            by.setdefault(r["alternative"], []).extend(_numeric_rows([r], skip=("alternative",)))
        res.compare_replications = by

    def sensitivity(p: Path) -> None:
        header, rows = _rows(p)
        _need(p.name, header, ("factor", "low", "high", "at_low", "at_high"))
        _check_table(rows, p.name)
        res.sensitivity = rows
        meta = p.with_name("sensitivity.json")
        if regular_file_in(meta, str(meta), "the sensitivity.json of a results directory"):
            data = _json(meta)
            _check_numbers(data, "sensitivity.json")
            if isinstance(data, dict):
                res.sensitivity_meta = data

    def criticality(p: Path) -> None:
        header, rows = _rows(p)
        key = next((c for c in ("criticality_index", "criticality", "index") if c in header), None)
        if key is None or not header:
            raise ValueError(f"{p.name}: expected columns unit and criticality_index")
        unit = "unit" if "unit" in header else header[0]
        _check_table(rows, p.name)
        res.criticality = [(r[unit], float(r[key])) for r in rows]
        if "resource_criticality" in header:
            res.resource_criticality = [
                (r[unit], float(r["resource_criticality"] or 0)) for r in rows
            ]
        if rows and "replications" in header and rows[0].get("replications"):
            res.criticality_replications = int(float(rows[0]["replications"]))

    attempt("summary.json", summary)
    attempt("scenario.yaml", scenario)
    legacy = (res.summary or {}).get("scenario")
    if res.scenario is None and isinstance(legacy, dict):
        res.scenario = legacy  # a summary.json written before scenario.yaml existed embeds it
    attempt("validation.json", validation)
    attempt("windows.csv", windows)
    attempt("events.csv", events)
    attempt("units.csv", units)
    if res.units is None and isinstance((res.summary or {}).get("units"), list):
        # a summary.json written before units.csv existed holds the outcomes itself
        try:
            res.units = [_outcome(u) for u in (res.summary or {})["units"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            res.problems.append(f"summary.json: its units could not be read ({exc})")
    attempt("replications.csv", replications)
    attempt("statistics.json", statistics)
    attempt("kept-windows.csv", kept)
    attempt("orderings.json", orderings)
    attempt("compare/compare.csv", compare)
    attempt("compare/compare-replications.csv", compare_reps)
    attempt("compare/verdict.json", verdict)
    attempt("compare/compare-finish.csv", compare_finish)
    attempt("sensitivity/sensitivity.csv", sensitivity)
    attempt("sensitivity/criticality.csv", criticality)
    replan = root / "replan.json"
    if regular_file_in(replan, str(replan), "the replan.json of a migsim replan folder"):
        res.night = read_replan(replan)  # a damaged replan.json stops the report (exit 2)
        res.present.append("replan.json")
        try:
            if regular_file_in(root / "actuals.csv", str(root / "actuals.csv"), "a file"):
                res.present.append("actuals.csv")
        except InputError as exc:
            res.problems.append(f"actuals.csv could not be read ({exc.message})")

        def actuals(p: Path) -> None:
            res.actuals = read_actuals_csv(p)

        attempt("actuals.csv", actuals)
    return res


# ---- rebuilding the run's records --------------------------------------------------------------


def _outcome(u: Mapping[str, Any]) -> UnitOutcome:
    attempts = u.get("attempts") or {}
    return UnitOutcome(
        unit=str(u["unit"]),
        kind=str(u.get("kind", "")),
        vms=int(u.get("vms", 0)),
        status=str(u.get("status", "")),
        first_start=_opt(u.get("first_start_minutes")),
        commit_end=_opt(u.get("commit_end_minutes")),
        end=_opt(u.get("end_minutes")),
        validate_attempts=int(attempts.get("validate", 0)),
        prepare_attempts=int(attempts.get("prepare", 0)),
        commit_attempts=int(attempts.get("commit", 0)),
        reason=str(u.get("reason", "")),
        rules=tuple(u.get("rules", ())),
        needs_support=bool(u.get("needs_support", False)),
    )


def _maintenance(
    scenario: Mapping[str, Any] | None, horizon: float, timezone: str = "UTC"
) -> tuple[tuple[float, float], ...]:
    """The plan's maintenance windows from 0 to ``horizon`` (clipped as the engine clips), read
    in the plan's ``timezone`` as the engine reads them (daylight saving included)."""
    from sim.model.calendar import Calendar
    from sim.model.plan import Plan

    plan_data = dict((scenario or {}).get("plan") or {})
    windows = []
    for w in plan_data.get("maintenance_windows") or ():
        w = dict(w)
        at = w.get("at")
        if isinstance(at, int | float) and not isinstance(at, bool):
            w["at"] = "{:02d}:{:02d}".format(*divmod(int(at), 60))  # dumped as minutes
        windows.append({k: v for k, v in w.items() if v is not None})
    try:
        given = {"start": plan_data.get("start"), "maintenance_windows": windows}
        if plan_data.get("horizon") is not None:  # a one-off window may be as long as it
            given["horizon"] = plan_data["horizon"]
        plan = Plan.model_validate({**given, "timezone": timezone})
        cal = Calendar.of(plan)
    except (ValueError, InputError):
        return ()
    return tuple(
        (max(a, 0.0), min(b, horizon))
        for a, b in cal.intervals(0.0, horizon)
        if b > 0.0 and a < horizon
    )


def replication_of(res: ResultsDir) -> Replication | None:
    """The run's :class:`~sim.outputs.records.Replication` rebuilt from ``summary.json``,
    ``units.csv``, ``windows.csv`` and ``events.csv`` (``None`` when one of them is missing)."""
    s = res.summary
    if s is None or res.windows is None or res.events is None or res.units is None:
        return None
    outcomes = tuple(res.units)
    horizon = max(
        [
            float(s.get("makespan_minutes") or 0.0),
            *(e.time for e in res.events),
            *(w.end for w in res.windows),
        ]
    )
    tasks = tuple(
        PostTask(
            unit=str(t.get("unit", "")),
            rule=str(t.get("rule", "")),
            resources=tuple(t.get("resources", ())),
            task=str(t.get("task", "")),
            done_at=_opt(t.get("done_at_minutes")),
        )
        for t in s.get("post_migration_tasks", ())
    )
    return Replication(
        seed=int(s.get("seed", 0)),
        deterministic=bool(s.get("deterministic", False)),
        origin=res.origin,
        horizon=horizon,
        order=tuple(o.unit for o in outcomes),
        windows=tuple(res.windows),
        events=tuple(res.events),
        outcomes=outcomes,
        post_tasks=tasks,
        maintenance=_maintenance(res.scenario, horizon, res.timezone),
        throttle_minutes=float(s.get("throttle_minutes") or 0.0),
        open_windows=int(s.get("open_windows_at_end") or 0),
    )


def summary_of(res: ResultsDir, rep: Replication) -> Summary:
    """The run's :class:`~sim.outputs.records.Summary` from ``summary.json``."""
    s = res.summary or {}
    return Summary(
        scenario_name=str(s.get("scenario_name", "")),
        seed=int(s.get("seed", 0)),
        deterministic=bool(s.get("deterministic", False)),
        migsim_version=str(s.get("migsim_version", "")),
        start=s.get("start"),
        makespan_minutes=float(s.get("makespan_minutes") or 0.0),
        end=s.get("end"),
        units_total=int(s.get("units_total", len(rep.outcomes))),
        units_migrated=int(s.get("units_migrated", 0)),
        vm_hours_down=float(s.get("vm_hours_down") or 0.0),
        peak_vms_down=int(s.get("peak_vms_down") or 0),
        peak_vms_down_at=_opt(s.get("peak_vms_down_at_minutes")),
        lock_resource_hours=float(s.get("lock_resource_hours") or 0.0),
        window_hours_by_kind=tuple(
            (str(k), float(v)) for k, v in (s.get("window_hours_by_kind") or {}).items()
        ),
        failed_attempts=int(s.get("failed_attempts") or 0),
        throttle_minutes=float(s.get("throttle_minutes") or 0.0),
        open_windows=int(s.get("open_windows_at_end") or 0),
        units=rep.outcomes,
        post_migration_tasks=rep.post_tasks,
        origin=rep.origin,
        service_hours_down=_headline_hours(res, "service_hours_down"),
        exposure_hours=_headline_hours(res, "exposure_hours"),
        protection_gap_hours=_headline_hours(res, "protection_gap_hours"),
        timezone=res.timezone,
    )


def _headline_hours(res: ResultsDir, key: str) -> float:
    """``service_hours_down``, ``exposure_hours`` or ``protection_gap_hours`` from
    ``summary.json``; from ``windows.csv`` for results written before the key existed (0 when
    neither has it)."""
    value = (res.summary or {}).get(key)
    if value is not None:
        return float(value)
    if res.windows is None:
        return 0.0
    return float(getattr(window_hours(res.windows), key))


def unit_infos(res: ResultsDir) -> dict[str, plots.UnitInfo]:
    """Each unit's kind, VM count and resources, from ``validation.json``."""
    out: dict[str, plots.UnitInfo] = {}
    for u in (res.validation or {}).get("units", ()):
        out[str(u["id"])] = plots.UnitInfo(
            kind=str(u.get("kind", "")),
            vm_count=len(u.get("vms", ()) or ()),
            resources=tuple(u.get("resources", ()) or ()),
        )
    return out


# ---- HTML helpers ------------------------------------------------------------------------------


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _code(text: str) -> str:
    """Escape ``text``, turning `backticked` parts into <code>."""
    parts = str(text).split("`")
    return "".join(f"<code>{esc(p)}</code>" if i % 2 else esc(p) for i, p in enumerate(parts))


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    cls: str = "",
    numeric: Sequence[int] = (),
    row_classes: Sequence[str] | None = None,
) -> str:
    """A table; cells are HTML already (escape before)."""
    num = set(numeric)
    head = "".join(
        f"<th{' class=num' if i in num else ''}>{esc(h)}</th>" for i, h in enumerate(headers)
    )
    body = []
    for k, row in enumerate(rows):
        rc = f' class="{row_classes[k]}"' if row_classes and row_classes[k] else ""
        cells = "".join(
            f"<td{' class=num' if i in num else ''}>{c}</td>" for i, c in enumerate(row)
        )
        body.append(f"<tr{rc}>{cells}</tr>")
    c = f' class="{cls}"' if cls else ""
    return f"<table{c}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _n(x: Any, digits: int = 2) -> str:
    if x is None:
        return "–"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return esc(x)
    if math.isnan(v):
        return "–"
    if v == int(v) and abs(v) >= 1000:
        return f"{int(v):,}"
    return f"{v:,.{digits}f}"


def _ci(low: Any, high: Any) -> str:
    if _n(low) == "–" or _n(high) == "–":
        return ""
    return f' <span class="ci">({_n(low)} to {_n(high)})</span>'


def _badge(kind: str, text: str | None = None) -> str:
    return f'<span class="badge b-{esc(kind)}">{esc(text or kind)}</span>'


def _note(text: str) -> str:
    return f'<p class="missing">{_code(text)}</p>'


class _Figures:
    """Numbered inline SVG figures (ids prefixed so glyph and clip ids never collide)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, fig: Figure, key: str, caption: str) -> str:
        self.count += 1
        svg = plots.svg_text(fig, prefix=f"f{self.count}-")
        fig.clear()
        return (
            f'<figure class="plot" id="fig-{esc(key)}" data-figure="{esc(key)}">'
            f'<div class="svg">{svg}</div>'
            f"<figcaption><b>Figure {self.count}.</b> {caption}</figcaption></figure>"
        )


# ---- sections ----------------------------------------------------------------------------------


def _estate_counts(estate: Mapping[str, Any]) -> list[tuple[str, str]]:
    def n(key: str) -> int:
        v = estate.get(key) or ()
        return len(v) if isinstance(v, list | tuple) else 0

    vms = sum(len(cs.get("vms") or ()) for cs in estate.get("cloud_services") or ())
    roles = sum(len(cs.get("roles") or ()) for cs in estate.get("cloud_services") or ())
    rows = [
        ("Subscription", esc(estate.get("subscription", "–"))),
        ("Location", esc(estate.get("location", "–"))),
        ("Virtual machines", _n(vms, 0)),
        ("Cloud services", _n(n("cloud_services"), 0)),
        ("Virtual networks", _n(n("vnets"), 0)),
        ("ExpressRoute circuits", _n(n("expressroute_circuits"), 0)),
        ("Storage accounts", _n(n("storage_accounts"), 0)),
        (
            "NSGs / route tables / reserved IPs",
            f"{n('nsgs')} / {n('route_tables')} / {n('reserved_ips')}",
        ),
    ]
    if roles:
        rows.insert(4, ("PaaS web/worker roles", _n(roles, 0)))
    return rows


def _minutes_text(x: Any) -> str:
    try:
        return format_minutes(float(x))
    except (TypeError, ValueError):
        return str(x)


def _minutes(x: Any) -> str:
    """Minutes as ``4h1m``, escaped for HTML."""
    return esc(_minutes_text(x))


def _window_text(w: Mapping[str, Any], zone: ZoneInfo) -> str:
    """A maintenance window as the plan states it, recurring ones in the plan's zone (``every
    saturday at 22:00 Europe/Amsterdam for 8h``), one-off ones as clock times in it."""
    length = _minutes_text(w.get("for", w.get("length", 0)))
    if w.get("every"):
        at = w.get("at")
        if isinstance(at, int | float) and not isinstance(at, bool):
            at = "{:02d}:{:02d}".format(*divmod(int(at), 60))
        return f"every {w['every']} at {at} {zone.key} for {length}"
    return f"from {_clock_text(w.get('start'), zone) or w.get('start')} for {length}"


def _clock_text(value: Any, zone: ZoneInfo) -> str:
    """``2026-12-05T22:00:00Z`` as ``Sat 2026-12-05 23:00 CET (UTC+01:00)`` in ``zone``
    (:func:`sim.common.clocktime.clock_text`; a time without an offset is UTC, as every results
    file writes it; other text unchanged)."""
    if not isinstance(value, str) or not value:
        return ""
    t = _parse_time(value)
    if t is None:
        return value
    if t.tzinfo is None:
        t = t.replace(tzinfo=ZoneInfo("UTC"))
    return clock_text(t, zone)


def _deadline_text(deadline: Any, start: Any, zone: ZoneInfo) -> str:
    """``plan.deadline`` (minutes from the start, or a timestamp) as a clock time, with the
    duration from the start when there is one."""
    origin = _parse_time(start) if isinstance(start, str) else None
    if isinstance(deadline, int | float) and not isinstance(deadline, bool):
        after = f"{format_minutes(float(deadline))} after the start"
        if origin is None:
            return after
        return f"{clock_text(at_minutes(origin, float(deadline)), zone)} ({after})"
    return _clock_text(deadline, zone)


def _plan_rows(plan: Mapping[str, Any], seed: Any, zone: ZoneInfo) -> list[tuple[str, str]]:
    ordering = plan.get("ordering", "as_listed")
    if isinstance(ordering, list | tuple):
        shown = ", ".join(str(o) for o in ordering[:12])
        more = f" … (+{len(ordering) - 12})" if len(ordering) > 12 else ""
        ordering_text = f"explicit list: {esc(shown)}{more}"
    else:
        ordering_text = f"<code>{esc(ordering)}</code>"
    windows = plan.get("maintenance_windows") or []
    fails = plan.get("failures") or {}
    fail_text = ", ".join(
        f"{step} {float(fails.get(step, 0) or 0):.0%}"
        for step in ("validate", "prepare", "check", "commit")
    )
    retry = _minutes(fails.get("retry_after", 5))
    after_prepare = (
        f"a failed Prepare aborted and prepared again; a failed Commit retried after {retry}"
        if fails.get("after_prepare") == "abort"
        else f"a failed Prepare or Commit retried as it is after {retry}"
    )
    rows = [
        (
            "Start",
            esc(
                _clock_text(plan.get("start"), zone)
                or f"not set (minute 0 = a Monday 00:00 {zone.key})"
            ),
        ),
        ("Time zone", f"{esc(zone.key)} <span class=dim>(every clock time in this report)</span>"),
        ("Ordering", ordering_text),
        ("Crews", esc(plan.get("crews", 1))),
        ("Dispatch", f"<code>{esc(plan.get('dispatch', 'just_in_time'))}</code>"),
        ("Check (time Prepared before Commit)", _minutes(plan.get("check", 0))),
        ("Remediation", esc(plan.get("remediation", "auto"))),
        (
            "Maintenance windows",
            "<br>".join(esc(_window_text(w, zone)) for w in windows) or "none (any time)",
        ),
        (
            "Failure probability per attempt",
            f"{esc(fail_text)} (check: the Check finds a problem, the unit is aborted and"
            f" prepared again); at most {esc(fails.get('max_attempts', '–'))} attempts;"
            f" {after_prepare}",
        ),
        ("VMs outside a VNet restart after", esc(plan.get("restart_after", "prepare"))),
        ("Write throttle", f"{esc(plan.get('write_limit_per_hour') or 'none')} writes/hour"),
        ("Seed", esc(seed)),
    ]
    if plan.get("deadline") is not None:
        rows.insert(2, ("Deadline", esc(_deadline_text(plan["deadline"], plan.get("start"), zone))))
    caps = {k: v for k, v in (plan.get("max_parallel") or {}).items() if v is not None}
    if caps:
        shown = ", ".join(f"{kind} {cap}" for kind, cap in caps.items())
        rows.append(("At most at once (Prepare to Commit)", esc(shown)))
    remedies = plan.get("remedies") or {}
    if remedies:
        parts = [
            f"{rule} {step} {_minutes(d.get('base', 0) if isinstance(d, Mapping) else d)}"
            for rule, steps in remedies.items()
            if isinstance(steps, Mapping)
            for step, d in steps.items()
            if d is not None
        ]
        rows.append(("Remediation durations set by the plan", "; ".join(parts)))
    if plan.get("future_support"):
        rows.append(("What-if", "future support: MIG002/MIG003 migrate with downtime"))
    if plan.get("precedence"):
        pre = "; ".join(f"{p.get('before')} → {p.get('after')}" for p in plan["precedence"])
        rows.append(("Own constraints", esc(pre)))
    return rows


def _durations_table(plan: Mapping[str, Any]) -> str:
    rows = []
    for step, d in (plan.get("durations") or {}).items():
        if not isinstance(d, Mapping):
            continue
        spread = float(d.get("spread", 0) or 0)
        rows.append(
            [
                esc(step),
                _minutes(d.get("base", 0)),
                _minutes(d.get("per_vm", 0)),
                esc(d.get("distribution", "deterministic")),
                _n(spread) if spread else "–",
            ]
        )
    if not rows:
        return ""
    return (
        "<details><summary>Step durations</summary>"
        + _table(["step", "base", "per VM", "distribution", "spread"], rows, numeric=(1, 2, 4))
        + "</details>"
    )


def _kv(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


CARD_NOTES = {
    "VM-hours down": "VM-hours with the data plane down: each VM's stopped intervals merged, so a"
    " VM down for two reasons counts once. A VM whose secondary NIC is detached is up: that NIC"
    " counts in service-hours.",
    "Service-hours down": "Hours without data plane of what is not a VM: an Application Gateway"
    " removed, a cross-subscription gateway rebuilt, a VM's secondary NIC detached, a VNet"
    " peering removed (counted on each of its two VNets), a gateway's transit connectivity"
    " lost or a managed domain out during its migration (plan.aadds_migration); each"
    " resource's windows of one kind merged.",
    "Exposure · protection gaps": "Resource-hours of VMs with their endpoint ACLs removed"
    " (exposure), and of protections switched off by a remediation: monitoring, diagnostics,"
    " security monitoring, backup, replication (each resource and protection merged; two"
    " protections off at once count twice).",
    "Locked: needs support": "Units left locked: failed Commits (a Commit cannot be aborted), or"
    " a unit that could no longer be aborted (a domain services migration begun, MIG008) given"
    " up. Only Microsoft support can unlock them.",
}
"""What the less obvious cards count: the card's tooltip and the caption under the cards."""


def _support_count(s: Mapping[str, Any]) -> int:
    if "units_needing_support" in s:
        return int(s.get("units_needing_support") or 0)
    return sum(bool(u.get("needs_support")) for u in s.get("not_migrated") or ())


def _service_parts(res: ResultsDir) -> str:
    """The card's sub-line: service-hours down by what was down, most hours first
    (``connectivity 7.1 h · service 1.3 h``), from ``windows.csv``; a fixed line without it."""
    if res.windows is None:
        return "gateways, NICs, peerings: not VMs"
    parts: dict[str, list[Window]] = {}
    for w in res.windows:
        if is_service_down(w):
            what = plots.kind_word(w.resource_type) if w.kind == "data" else w.kind
            parts.setdefault("NICs" if w.kind == "nic" else what, []).append(w)
    if not parts:
        return "no gateway, NIC or peering down"
    hours = sorted(
        ((window_hours(ws).service_hours_down, what) for what, ws in parts.items()),
        key=lambda hw: (-hw[0], hw[1]),
    )
    return " · ".join(f"{esc(what)} {_n(h, 1)} h" for h, what in hours[:3])


def _cards(res: ResultsDir) -> str:
    s = res.summary
    if s is None:
        return ""
    cards: list[tuple[str, str, str]] = []
    end = s.get("end")
    cards.append(
        (
            "Makespan",
            _minutes(s.get("makespan_minutes", 0)),
            f"ends {esc(_clock_text(end, res.zone))}" if isinstance(end, str) else "this run",
        )
    )
    total, done = s.get("units_total", 0), s.get("units_migrated", 0)
    cards.append(
        (
            "Units migrated",
            f"{esc(done)} of {esc(total)}",
            "all units" if done == total else f"{int(total) - int(done)} not migrated",
        )
    )
    support = _support_count(s)
    if support:
        cards.append(("Locked: needs support", esc(support), "cannot be aborted: open a case"))
    cards.append(("VM-hours down", _n(s.get("vm_hours_down")), "data-plane downtime"))
    at = s.get("peak_vms_down_at_utc")
    at_min = _opt(s.get("peak_vms_down_at_minutes"))
    cards.append(
        (
            "Peak VMs down",
            esc(s.get("peak_vms_down", 0)),
            f"at {esc(_clock_text(at, res.zone))}"
            if isinstance(at, str)
            else f"at +{esc(format_minutes(at_min))} from the start"
            if at_min is not None and s.get("peak_vms_down")
            else "at once",
        )
    )
    cards.append(
        (
            "Service-hours down",
            _n(_headline_hours(res, "service_hours_down")),
            _service_parts(res),
        )
    )
    cards.append(("Resource-hours locked", _n(s.get("lock_resource_hours"), 1), "management plane"))
    cards.append(
        (
            "Exposure · protection gaps",
            f"{_n(_headline_hours(res, 'exposure_hours'), 1)} · "
            f"{_n(_headline_hours(res, 'protection_gap_hours'), 1)}",
            "resource-hours: ACLs off · protections off",
        )
    )
    cards.append(("Failed attempts", esc(s.get("failed_attempts", 0)), "retried or given up"))
    stats = _statistics(res)
    if stats and "makespan_hours" in stats and res.finish is None:
        # Without the clock-time answers (statistics.json of an older migsim): the duration.
        m = stats["makespan_hours"]
        cards.append(
            (
                "P80 makespan",
                esc(_hours_text(m.get("p80"))),
                f"over {esc(int(m.get('n') or len(res.replications or ())))} replications",
            )
        )
    bad = {
        "Units migrated": done != total,
        "Failed attempts": bool(s.get("failed_attempts")),
        "Locked: needs support": True,
    }
    notes = " ".join(
        f"<b>{esc(t)}</b>: {esc(CARD_NOTES[t])}" for t, _, _ in cards if t in CARD_NOTES
    )
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card{" warn" if bad.get(t) else ""}"'
            + (f' title="{esc(CARD_NOTES[t])}"' if t in CARD_NOTES else "")
            + f'><div class="label">{esc(t)}</div>'
            f'<div class="value">{v}</div><div class="sub">{sub}</div></div>'
            for t, v, sub in cards
        )
        + "</div>"
        + f'<p class="cards-note">{notes}</p>'
    )


def _card(label: str, value: str, sub: str, *, warn: bool = False, title: str = "") -> str:
    """One headline card; ``value`` and ``sub`` are HTML already, ``title`` its tooltip."""
    return (
        f'<div class="card{" warn" if warn else ""}"'
        + (f' title="{esc(title)}"' if title else "")
        + f'><div class="label">{esc(label)}</div>'
        f'<div class="value">{value}</div><div class="sub">{sub}</div></div>'
    )


def _hours_text(hours: Any) -> str:
    """A duration given in hours (``makespan_hours``) as ``7h55m``; ``–`` when absent."""
    try:
        value = float(hours)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(value) else format_minutes(value * 60.0)


@dataclass(frozen=True)
class _When:
    """A moment of the ``finish`` block: the clock time (date and time, then the zone) or,
    without ``plan.start``, the duration from the start."""

    value: str  # "Mon 2026-12-07 01:55", or "+1d2h55m"
    sub: str  # "CET (UTC+01:00) · 1d2h55m after the start", or "from the start"
    full: str  # "Mon 2026-12-07 01:55 CET (UTC+01:00)", or "+1d2h55m from the start"
    at: datetime | None
    minutes: float


def _exact(t: datetime, minutes: float) -> datetime:
    """The exact time of a ``*_utc`` value written to the second for ``minutes`` from the start:
    rounded once, to the minute, when shown (a finish at 01:55:29.7 reads 01:55, not 01:56)."""
    origin = t - timedelta(seconds=round(minutes * 60.0))
    return origin + timedelta(minutes=minutes)


def _when(d: Mapping[str, Any], zone: ZoneInfo) -> _When:
    if d.get("minutes") is None:  # a percentile among replications never done
        return _When("not done", "some replications never finish", "not done", None, math.nan)
    minutes = float(d["minutes"])
    after = format_minutes(abs(minutes))
    utc = d.get("utc")
    t = _parse_time(utc) if isinstance(utc, str) else None
    if t is None:
        rel = ("-" if minutes < 0 else "+") + after
        return _When(rel, "from the start", f"{rel} from the start", None, minutes)
    if t.tzinfo is None:
        t = t.replace(tzinfo=ZoneInfo("UTC"))
    t = _exact(t, minutes)
    value = nearest_minute(t).astimezone(zone).strftime("%a %Y-%m-%d %H:%M")
    return _When(
        value, f"{zone_tag(t, zone)} · {after} after the start", clock_text(t, zone), t, minutes
    )


def _span(a: _When, b: _When, zone: ZoneInfo) -> str:
    if a.at is None or b.at is None:
        return f"{a.value} to {b.value} from the start"
    return span_text(a.at, b.at, zone)


def _pct(share: Any) -> str:
    return f"{100.0 * float(share):.1f} %"


@dataclass(frozen=True)
class _Finish:
    """The ``finish`` block of ``statistics.json`` (written by ``migsim run --replications``),
    read for the cards and the statistics section."""

    n: int
    quantiles: list[tuple[str, _When]]
    windows: list[tuple[int, _When, _When, float, float]]  # index, start, end, in, by
    later: float
    not_done: float
    modes: list[tuple[int, float]]  # (window, share finishing in it)
    deadline: tuple[_When, float, float, float] | None  # when, share, CI low, CI high


DEADLINE_WARN = 0.8
"""P(done by the deadline) below this turns its card vermillion (the P80 the report plans on)."""


def _finish(res: ResultsDir) -> _Finish | None:
    """The clock-time answers of the run's replications; None without them. Raises
    ``KeyError``, ``TypeError`` or ``ValueError`` for a block that is not as written."""
    f = res.finish
    if not f:
        return None
    zone = res.zone
    n = int(f["replications"])
    windows = [
        (
            int(w["window"]),
            _when(w["start"], zone),
            _when(w["end"], zone),
            float(w["share_in"]),
            float(w["share_by"]),
        )
        for w in f.get("windows") or ()
    ]
    share_in = {k: s_in for k, _, _, s_in, _ in windows}
    d = f.get("deadline")
    return _Finish(
        n=n,
        quantiles=[(str(p), _when(v, zone)) for p, v in (f.get("quantiles") or {}).items()],
        windows=windows,
        later=int(f.get("later") or 0) / n if n else 0.0,
        not_done=int(f.get("not_done") or 0) / n if n else 0.0,
        modes=[(int(k), share_in.get(int(k), 0.0)) for k in f.get("modes") or ()],
        deadline=None
        if not d
        else (_when(d, zone), float(d["share"]), float(d["ci_low"]), float(d["ci_high"])),
    )


def _failed_card(res: ResultsDir) -> str:
    """A warning above the cards when replications failed (``--allow-failures``)."""
    if res.failed is None:
        return ""
    f = res.failed
    shown = ", ".join(f"{r} (seed {seed})" for r, seed, _ in f.replications[:5])
    more = f" and {f.failed - 5} more" if f.failed > 5 else ""
    return (
        '<div class="cards">'
        + _card(
            "Replications failed",
            f"{esc(f.failed)} of {esc(f.requested)}",
            esc(f"{f.sentence()}: replications {shown}{more} (statistics.json)"),
            warn=True,
            title="The percentiles and answers below leave the failed replications out.",
        )
        + "</div>"
    )


def _answer_cards(res: ResultsDir) -> str:
    """The change board's cards: when everything has committed (P50, P80, P90 as clock times in
    the plan's zone), done in window 1 and by the next windows (the first two, the last, and
    every window a tenth or more of the replications finish in), P(done by the deadline) with its
    confidence interval, and the modes when the finishes fall in several windows."""
    try:
        fin = _finish(res)
    except (KeyError, TypeError, ValueError) as exc:
        return _note(f"statistics.json: its finish block could not be read ({exc!r})")
    if fin is None:
        return ""
    zone = res.zone
    cards = [_card(f"Finish {p}", esc(w.value), esc(w.sub), title=w.full) for p, w in fin.quantiles]
    last = fin.windows[-1][0] if fin.windows else 0
    for k, a, b, share_in, share_by in fin.windows:
        # The first two, the last, and any window a tenth or more of the runs finish in: the
        # window where most finish is never left to the table below.
        if k not in (1, 2, last) and share_in < 0.1:
            continue
        span = _span(a, b, zone)
        label = "Done in window 1" if k == 1 else f"By window {k}"
        sub = span if k == 1 else f"{_pct(share_in)} finish in it · {span}"
        cards.append(_card(label, esc(_pct(share_by)), esc(sub), warn=share_by < 1.0))
    if fin.later:
        cards.append(
            _card(
                f"After window {last}",
                esc(_pct(fin.later)),
                "finish in a later window",
                warn=True,
            )
        )
    if fin.not_done:
        cards.append(
            _card(
                "Never done",
                esc(_pct(fin.not_done)),
                "a unit left behind (not migrated or locked)",
                warn=True,
            )
        )
    if fin.deadline is not None:
        when, share, low, high = fin.deadline
        cards.append(
            _card(
                "Done by the deadline",
                esc(_pct(share)),
                esc(f"95 % CI {100 * low:.1f} to {100 * high:.1f} % · deadline {when.full}"),
                warn=share < DEADLINE_WARN,
            )
        )
    if len(fin.modes) > 1:
        cards.append(
            _card(
                "Several modes",
                esc(" · ".join(f"window {k}" for k, _ in fin.modes)),
                esc(
                    " · ".join(f"{_pct(s)}" for _, s in fin.modes)
                    + " of the finishes: read the windows, not a mean"
                ),
                warn=True,
            )
        )
    where = f"clock times in {zone.key}" if fin.quantiles and fin.quantiles[0][1].at else ""
    return (
        f'<h3 class="answers-head">When is everything committed?'
        f' <span class="dim">over {fin.n} replications{"; " + where if where else ""}</span></h3>'
        f'<div class="cards answers">{"".join(cards)}</div>'
    )


def _section_scenario(res: ResultsDir) -> str:
    s = res.summary
    if s is None:
        return _note("no run summary (summary.json) in this directory: " + HOW_TO["run"])
    sc = res.scenario or {}
    estate = sc.get("estate") or {}
    plan = sc.get("plan") or {}
    units = (res.validation or {}).get("units")
    estate_rows = _estate_counts(estate)
    if units is not None:
        estate_rows.append(("Migration units", _n(len(units), 0)))
    return (
        '<div class="two">'
        f"<div><h3>Estate</h3>{_kv(estate_rows)}</div>"
        f"<div><h3>Plan</h3>{_kv(_plan_rows(plan, s.get('seed'), res.zone))}"
        f"{_durations_table(plan)}</div>"
        "</div>"
    )


FINDINGS_IN_FULL = 60
"""Above this many findings the section shows a summary by rule, the blocked units in full and
every other finding folded away (a big estate's report stays readable)."""


def _findings_table(
    order: Sequence[str],
    info: Mapping[str, Mapping[str, Any]],
    status: Mapping[str, str],
    by_unit: Mapping[str, Sequence[Mapping[str, Any]]],
) -> str:
    """One table: a header row per unit (status, id, kind, VMs), then its findings."""
    body = []
    for uid in order:
        u = info[uid]
        vms = len(u.get("vms") or ())
        kind = esc(plots.kind_word(str(u.get("kind", ""))))
        body.append(
            f'<tr class="unit"><td colspan="5">{_badge(status[uid])} <b>{esc(uid)}</b> '
            f'<span class="dim">{kind}{", " + plural(vms, "VM") if vms else ""}</span></td></tr>'
        )
        for f in sorted(by_unit[uid], key=lambda f: SEVERITY_ORDER.get(str(f.get("severity")), 9)):
            body.append(
                "<tr>"
                f"<td>{_badge(str(f.get('severity', '')))}</td>"
                f"<td><code>{esc(f.get('rule', ''))}</code></td>"
                f"<td>{esc(f.get('message', ''))}</td>"
                f"<td>{esc(f.get('remediation', ''))}</td>"
                f"<td>{esc(f.get('caught_at', ''))}</td>"
                "</tr>"
            )
    head = "".join(
        f"<th>{h}</th>" for h in ("severity", "rule", "finding", "remediation", "caught at")
    )
    return (
        f'<table class="findings"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _by_rule(findings: Sequence[Mapping[str, Any]]) -> str:
    """Findings counted by rule: severity, rule, findings, units, what to do."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for f in findings:
        groups.setdefault(str(f.get("rule", "")), []).append(f)
    rows = []
    for rule, fs in sorted(
        groups.items(),
        key=lambda kv: (SEVERITY_ORDER.get(str(kv[1][0].get("severity")), 9), kv[0]),
    ):
        units = list(dict.fromkeys(str(f.get("unit")) for f in fs))
        shown = ", ".join(units[:8]) + (f" … (+{len(units) - 8})" if len(units) > 8 else "")
        rows.append(
            [
                _badge(str(fs[0].get("severity", ""))),
                f"<code>{esc(rule)}</code>",
                _n(len(fs), 0),
                esc(shown),
                esc(fs[0].get("remediation", "")),
            ]
        )
    return _table(
        ["severity", "rule", "findings", "units", "remediation"], rows, numeric=(2,), cls="byrule"
    )


def _section_validation(res: ResultsDir, figure: _Figures) -> str:
    v = res.validation
    if v is None:
        return _note("no validation.json in this directory: " + HOW_TO["run"])
    units = list(v.get("units", ()))
    status = {str(u["id"]): str(u.get("status", "clean")) for u in units}
    info = {str(u["id"]): u for u in units}
    findings = list(v.get("findings", ()))
    by_unit: dict[str, list[Mapping[str, Any]]] = {}
    for f in findings:
        by_unit.setdefault(str(f.get("unit")), []).append(f)
    counts = v.get("counts") or {}
    blocked = [u for u, st in status.items() if st == "blocked"]
    n_status = {k: sum(1 for st in status.values() if st == k) for k in STATUS_ORDER}
    parts = [
        '<p class="lead">'
        + ", ".join(
            f"{_badge(sev)} {esc(counts.get(sev, 0))}"
            for sev in ("blocker", "remediate", "dropped", "note")
        )
        + f" findings on {plural(len(units), 'unit')}"
        + f" ({n_status['blocked']} blocked, {n_status['remediate']} to remediate,"
        f" {n_status['clean']} clean). "
        + (
            f'<b class="bad">Blocked: {esc(", ".join(blocked[:12]))}'
            f"{' …' if len(blocked) > 12 else ''}.</b>"
            if blocked
            else '<b class="good">No unit is blocked.</b>'
        )
        + "</p>"
    ]
    index = {u: i for i, u in enumerate(status)}
    order = sorted(
        (u for u in status if by_unit.get(u)),
        key=lambda u: (STATUS_ORDER.get(status[u], 3), index[u]),
    )
    if len(findings) <= FINDINGS_IN_FULL:
        if order:
            parts.append(_findings_table(order, info, status, by_unit))
    else:
        parts.append("<h3>Findings by rule</h3>" + _by_rule(findings))
        first = [u for u in order if status[u] == "blocked"]
        if first:
            parts.append("<h3>Blocked units</h3>" + _findings_table(first, info, status, by_unit))
        rest = [u for u in order if status[u] != "blocked"]
        if rest:
            n_rest = sum(len(by_unit[u]) for u in rest)
            parts.append(
                f"<details><summary>All other findings by unit ({plural(n_rest, 'finding')} on"
                f" {plural(len(rest), 'unit')})</summary>"
                + _findings_table(rest, info, status, by_unit)
                + "</details>"
            )
    clean = [u for u in status if not by_unit.get(u)]
    if clean:
        parts.append(
            f'<p class="clean-list">{_badge("clean")} no findings ({len(clean)} units): '
            f"{esc(', '.join(clean))}</p>"
        )
    fig = plots.dependency_graph(units)
    parts.append(
        figure(
            fig,
            "graph",
            "Migration units and their must-precede constraints. Boxes are units, coloured by"
            " validation status; an arrow A → B means A must commit before B starts. Units"
            " drawn dotted wait for a blocked unit, so they will not migrate either.",
        )
    )
    return "".join(parts)


# ---- the night so far (a migsim replan folder) -------------------------------------------------

NIGHT_UNITS_OPEN = 40
"""The per-unit table of the night is shown open up to this many units, folded above."""
ACTUALS_SHOWN = 500
"""Rows of ``actuals.csv`` listed in the folded table of the actuals as read; more are counted."""


def _night_clock(res: ResultsDir, minutes: float | None) -> str:
    """``minutes`` from the start as the clock time ``migsim replan`` writes (``Sun 2026-12-06
    01:30 UTC``), ``+3h30m from the start`` without ``plan.start``, ``not done`` for None."""
    if minutes is None:
        return "not done"
    origin = res.origin
    if origin is None:
        return f"{relative_text(minutes)} from the start"
    return clock_text(exact_at(origin, minutes), res.zone)


def _night_short(res: ResultsDir, minutes: float | None) -> str:
    """``Sun 06 Dec 02:29`` in the plan's zone (a table whose heading names the zone)."""
    if minutes is None:
        return "not committed"
    origin = res.origin
    if origin is None:
        return relative_text(minutes)
    t = nearest_minute(exact_at(origin, minutes))
    return t.astimezone(res.zone).strftime("%a %d %b %H:%M")


def _night_span(res: ResultsDir, a: float, b: float) -> str:
    origin = res.origin
    if origin is None:
        return f"{relative_text(a)} to {relative_text(b)} from the start"
    return span_text(exact_at(origin, a), exact_at(origin, b), res.zone)


def _share_text(s: NightShare | None) -> str:
    """``87.5 % (95 % CI 80.1 to 92.3 %)``, ``–`` when absent."""
    if s is None:
        return "–"
    return f"{_pct(s.share)} (95 % CI {100 * s.ci_low:.1f} to {100 * s.ci_high:.1f} %)"


def _later(res: ResultsDir, new: float | None, plan: float | None) -> tuple[str, str]:
    """How a re-forecast finish compares with the plan's, as the two clock times shown (each
    to the nearest minute) differ: the words and a class (``bad`` later, ``good`` sooner)."""
    if new is None or plan is None:
        return ("–", "")
    origin = res.origin
    if origin is None:
        diff = float(round(new) - round(plan))
    else:
        shown = nearest_minute(exact_at(origin, new)) - nearest_minute(exact_at(origin, plan))
        diff = shown.total_seconds() / 60.0
    if diff == 0:
        return ("the same minute", "")
    words = f"{format_minutes(abs(diff))} {'later' if diff > 0 else 'sooner'}"
    return (words, "bad" if diff > 0 else "good")


def _night_when(block: Mapping[str, Any] | None, q: str, zone: ZoneInfo) -> _When | None:
    if block is None:
        return None
    return _when(block["quantiles"][q], zone)


def _night_figure(res: ResultsDir, night: Night, figure: _Figures) -> str:
    """The picture of the night (:func:`sim.outputs.plots.night`), or a line saying what it
    needs."""
    if res.events is None or res.sources is None:
        return _note(
            "no picture of the night: it needs events.csv with its source column (`migsim"
            " replan` writes it)"
        )
    s = res.summary or {}
    name = str(s.get("scenario_name") or (res.scenario or {}).get("name") or "")
    new, plan = night.p80(), night.p80(plan=True)
    # the windows as far as the picture reaches: its events, the bands and the P80 finishes
    horizon = max(
        [
            night.now,
            *(e.time for e in res.events),
            *(w.end for w in res.windows or ()),
            *(m for m in (new, plan) if m is not None),
            *(m for u in night.units for m in u.commit if m is not None),
        ]
    )
    maintenance = _maintenance(res.scenario, max(horizon, 1.0), res.timezone)
    done = f"{len(night.committed)} of {s.get('units_total', '?')} units committed"
    # the axis names the zone: the subtitle's times are short, so it fits on one line
    sub = f"now {_night_short(res, night.now)}: {done}, {len(night.begun)} begun"
    if new is not None or plan is not None:
        words, _ = _later(res, new, plan)
        sub += (
            f"; P80 finish {_night_short(res, new)}"
            f" (the plan said {_night_short(res, plan)}: {words})"
        )
    fig = plots.night(
        res.events,
        [source == "actual" for source in res.sources],
        night.now,
        bands={u.unit: u.commit for u in night.units},
        finish=new,
        plan_finish=plan,
        maintenance=maintenance,
        origin=res.origin,
        zone=res.zone,
        units=unit_infos(res),
        title=f"{name}: the night so far and the re-forecast",
        subtitle=sub,
    )
    zone = res.zone.key if res.origin is not None else "hours from the start"
    return figure(
        fig,
        "night",
        "The night so far and the re-forecast, one row per unit in order of its first step."
        " Solid bars: steps that happened (the actuals; blue a migration step, purple a"
        " remediation or restore), a step in progress at now solid up to now; light bars: the"
        " steps of one forecast replication from now (events.csv, source forecast); orange: when"
        f" each unit not yet committed ends its Commit in the {night.replications} replications"
        " of the re-forecast, P10 to P90, the tick at P50; ✕ a failed attempt (light: in the"
        " forecast), ◆ a Commit that ended. The black line is now, the dashed vermillion line the"
        " re-forecast's P80 finish, the dotted grey line the plan's; green shading: maintenance"
        f" windows. Clock times in {esc(zone)}. Hover over a bar for the unit, the step and its"
        " times.",
    )


def _section_night(res: ResultsDir, figure: _Figures) -> str:
    """ "The night so far" (a ``migsim replan`` folder, ``replan.json``): now, the actuals,
    P(done in this window) and the finish percentiles beside the plan's, the units to start
    next, each unit not yet committed, the picture, and the actuals as read."""
    night = res.night
    if night is None:
        return ""
    zone = res.zone
    s = res.summary or {}
    total = s.get("units_total")
    n = night.replications
    events = plural(night.events, "actual event")
    parts = [
        f"<p>Re-forecast at <b>{esc(_night_clock(res, night.now))}</b>"
        f" ({esc(format_minutes(night.now))} after the start) from {esc(events)}"
        f" (<code>{esc(night.source)}</code>): {len(night.committed)}"
        + (f" of {esc(total)}" if total is not None else "")
        + f" units committed, {len(night.begun)} begun. "
        + (
            f"Over {n} replications, each run twice on the same draws: from the actuals at now"
            " (the re-forecast), and under the plan alone (what the plan said), so a"
            " difference is the night's, not the draws'.</p>"
            if n
            else "No replications: <code>migsim replan SCENARIO --actuals FILE --replications N"
            "</code> answers P(done in this window) and the finish percentiles.</p>"
        )
    ]
    if night.failures:
        shown = "; ".join(night.failures[:3]) + (" …" if len(night.failures) > 3 else "")
        parts.append(
            f'<p class="bad">{len(night.failures)} replications failed and are left out: '
            f"{esc(shown)}</p>"
        )
    after = f"{format_minutes(night.now)} after the start · {events}"
    if res.origin is not None:
        t = nearest_minute(exact_at(res.origin, night.now)).astimezone(zone)
        now_value, now_sub = t.strftime("%a %Y-%m-%d %H:%M"), f"{zone_tag(t, zone)} · {after}"
    else:
        now_value, now_sub = relative_text(night.now), after
    cards = [_card("Now", esc(now_value), esc(now_sub), title=_night_clock(res, night.now))]
    window_text = ""
    if night.window is not None:
        k, a, b = night.window
        window_text = f"window {k}: {_night_span(res, a, b)}"
    if night.done is not None and night.window is not None:
        k = night.window[0]
        plan_done = night.plan_done
        cards.append(
            _card(
                f"Done in window {k}",
                esc(_pct(night.done.share)),
                esc(
                    f"95 % CI {100 * night.done.ci_low:.1f} to {100 * night.done.ci_high:.1f} %"
                    + (f" · the plan said {_pct(plan_done.share)}" if plan_done else "")
                ),
                warn=night.done.share < 1.0,
                title=f"P(everything committed by the end of {window_text})",
            )
        )
    new80, plan80 = (
        _night_when(night.finish, "P80", zone),
        _night_when(night.plan_finish, "P80", zone),
    )
    if new80 is not None:
        words, _ = _later(res, night.p80(), night.p80(plan=True))
        said = f"the plan said {plan80.full} · {words}" if plan80 is not None else ""
        late = night.window is not None and not (new80.minutes <= night.window[2])
        cards.append(_card("Finish P80", esc(new80.value), esc(said), warn=late, title=new80.full))
    if total is not None:
        cards.append(
            _card(
                "Units committed",
                f"{len(night.committed)} of {esc(total)}",
                esc(f"{len(night.begun)} begun · {int(total) - len(night.committed)} to go"),
            )
        )
    parts.append(f'<div class="cards answers night">{"".join(cards)}</div>')

    # the re-forecast beside the plan
    rows: list[list[str]] = []
    classes: list[str] = []
    if night.done is not None and night.window is not None:
        diff = night.done.share - (night.plan_done.share if night.plan_done else math.nan)
        rows.append(
            [
                esc(f"P(done in this window) · {window_text}"),
                esc(_share_text(night.done)),
                esc(_share_text(night.plan_done)),
                esc(f"{100 * diff:+.1f} points") if not math.isnan(diff) else "–",
            ]
        )
        classes.append("")
    for q in QUANTILES:
        new, plan = _night_when(night.finish, q, zone), _night_when(night.plan_finish, q, zone)
        if new is None:
            continue
        words, cls = _later(
            res,
            None if math.isnan(new.minutes) else new.minutes,
            None if plan is None or math.isnan(plan.minutes) else plan.minutes,
        )
        rows.append(
            [
                f"Finish {q}",
                esc(new.full),
                esc(plan.full if plan is not None else "–"),
                f'<span class="{cls}">{esc(words)}</span>' if cls else esc(words),
            ]
        )
        classes.append("best" if q == "P80" else "")
    if rows:
        parts.append(
            "<h3>The re-forecast beside the plan</h3>"
            + _table(
                ["", "re-forecast", "the plan said", "change"],
                rows,
                row_classes=classes,
                cls="night-answers",
            )
        )
    if night.window is None:
        parts.append(
            _note(
                "no maintenance windows in the plan: P(done in this window) and P(Commit in this"
                " window) do not apply"
            )
        )

    if night.advice:
        parts.append(
            "<h3>What to do next <span class=dim>(migsim replan --advise: P(every other unit"
            " committed in this window), on the same replications)</span></h3>"
            + _table(
                [
                    "decision",
                    "leaves for the next window",
                    "P(the others committed)",
                    "against continuing",
                ],
                [
                    [
                        esc(a.what),
                        esc(", ".join(a.skipped) or "–"),
                        esc(
                            f"{_pct(a.share.share)} (95 % CI {_pct(a.share.ci_low)} to"
                            f" {_pct(a.share.ci_high)})"
                        ),
                        ""
                        if a.what == "continue"
                        else esc(
                            f"{100 * a.diff:+.1f} points ({100 * a.low:+.1f} to"
                            f" {100 * a.high:+.1f})"
                        ),
                    ]
                    for a in night.advice
                ],
                cls="night-advice",
            )
        )
    if night.next:
        parts.append(
            f"<h3>Start next <span class=dim>(the plan's dispatch; clock times in"
            f" {esc(zone.key)})</span></h3>"
            + _table(
                ["#", "unit", "starts (forecast)", "crew"],
                [
                    [str(i), esc(u.unit), esc(_night_short(res, u.start)), esc(u.crew or "–")]
                    for i, u in enumerate(night.next, start=1)
                ],
                numeric=(0, 3),
                cls="narrow",
            )
        )
    if night.units:
        head = f"P(Commit in window {night.window[0]})" if night.window is not None else ""
        unit_rows = []
        # least likely to commit in this window first, then by when the Commit ends (P50)
        for u in sorted(
            night.units,
            key=lambda u: (
                u.p_commit if u.p_commit is not None else math.inf,
                u.commit[1] if u.commit[1] is not None else math.inf,
            ),
        ):
            behind = (
                u.p_commit is not None
                and u.plan_p_commit is not None
                and u.p_commit < u.plan_p_commit
            )
            p = "–" if u.p_commit is None else esc(_pct(u.p_commit))
            shares = [
                f'<span class="bad">{p}</span>' if behind else p,
                "–" if u.plan_p_commit is None else esc(_pct(u.plan_p_commit)),
            ]
            unit_rows.append(
                [
                    esc(u.unit),
                    *(shares if night.window is not None else []),
                    *(esc(_night_short(res, m)) for m in u.commit),
                ]
            )
        behind_n = sum(
            1
            for u in night.units
            if u.p_commit is not None
            and u.plan_p_commit is not None
            and u.p_commit < u.plan_p_commit
        )
        summary = (
            f"Units not yet committed: {len(night.units)}"
            + (
                f", {behind_n} less likely than planned to commit in this window"
                if behind_n
                else ""
            )
            + f" <span class=dim>(clock times in {esc(zone.key)})</span>"
        )
        opened = " open" if len(night.units) <= NIGHT_UNITS_OPEN else ""
        parts.append(
            f"<details{opened} class=night-units><summary>{summary}</summary>"
            + _table(
                [
                    "unit",
                    *(
                        [f"{head}: re-forecast", "the plan said"]
                        if night.window is not None
                        else []
                    ),
                    "Commit P10",
                    "P50",
                    "P90",
                ],
                unit_rows,
                numeric=range(1, 6),
            )
            + "</details>"
        )
    parts.append(_night_figure(res, night, figure))
    if res.actuals is not None:
        shown_rows = res.actuals[:ACTUALS_SHOWN]
        more = len(res.actuals) - len(shown_rows)
        parts.append(
            f"<details><summary>The actuals as read ({plural(len(res.actuals), 'event')},"
            f" actuals.csv)</summary>"
            + _table(
                ["time", "unit", "step", "outcome", "crew", "attempt", "where"],
                [
                    [
                        esc(_night_short(res, float(r["time_min"]))),
                        esc(r["unit"]),
                        esc(r["step"]),
                        esc(r["outcome"]),
                        esc(r["crew"] or "–"),
                        esc(r["attempt"]),
                        esc(r["where"]),
                    ]
                    for r in shown_rows
                ],
                numeric=(4, 5),
            )
            + (f"<p class=dim>… and {more:,} more in actuals.csv</p>" if more else "")
            + "</details>"
        )
    parts.append(
        '<p class="dim">Below: the recorded replication, what happened to now and then one'
        " forecast draw (its cards, timeline and statistics are the re-forecast's).</p>"
    )
    return "".join(parts)


def _section_not_migrated(res: ResultsDir) -> str:
    s = res.summary
    if s is None:
        return ""
    units = list(s.get("not_migrated") or ())
    rows = [
        [
            f"<b>{esc(u.get('unit'))}</b>"
            + (f" {_badge('support', 'locked: needs support')}" if u.get("needs_support") else ""),
            esc(u.get("reason", "")),
            esc(", ".join(u.get("rules") or ())),
        ]
        for u in units
    ]
    if not rows:
        return '<p class="good">Every unit committed in this run.</p>'
    support = [str(u.get("unit")) for u in units if u.get("needs_support")]
    line = (
        f'<p class="bad"><b>Locked: needs support:</b> {esc(", ".join(support))}'
        f" {'is' if len(support) == 1 else 'are'} left locked and cannot be aborted (a failed"
        " Commit, or a domain services migration begun: the reason is in the table): only a"
        " Microsoft support case can unlock "
        f"{'it' if len(support) == 1 else 'them'}.</p>"
        if support
        else ""
    )
    return (
        f"<p>{len(rows)} unit{'s' if len(rows) != 1 else ''} did not migrate in this run:</p>"
        + line
        + _table(["unit", "why", "rules"], rows, cls="notmigrated")
    )


def _section_tasks(res: ResultsDir) -> str:
    s = res.summary
    if s is None:
        return _note("no summary.json: " + HOW_TO["run"])
    tasks = s.get("post_migration_tasks") or []
    if not tasks:
        return "<p>No post-migration task: no setting is dropped by the migration.</p>"
    rows = []
    for t in tasks:
        done = _clock_text(t.get("done_at_utc"), res.zone) or (
            f"+{_minutes_text(t['done_at_minutes'])}"
            if t.get("done_at_minutes") is not None
            else "–"
        )
        rows.append(
            [
                f"<b>{esc(t.get('unit'))}</b>",
                f"<code>{esc(t.get('rule'))}</code>",
                esc(", ".join(t.get("resources") or ())),
                esc(t.get("task", "")),
                esc(done),
            ]
        )
    return "<p>Settings the migration drops: reconfigure them after the unit commits.</p>" + _table(
        ["unit", "rule", "resources", "task", "done in the run at"], rows
    )


def _section_timeline(res: ResultsDir, figure: _Figures) -> str:
    rep = replication_of(res)
    if rep is None:
        missing = res.missing(("summary.json", "windows.csv", "events.csv"))
        missing += [] if res.units is not None else ["units.csv"]
        return _note(
            f"no timeline: {', '.join(missing) or 'the run files'} missing; " + HOW_TO["run"]
        )
    summary = summary_of(res, rep)
    name = summary.scenario_name or (res.scenario or {}).get("name", "")
    fig = plots.gantt(rep, summary, unit_infos(res), str(name), by="auto")
    big = len(rep.outcomes) and sum(len(u.resources) for u in unit_infos(res).values()) > (
        plots.AUTO_UNIT_ROWS
    )
    parts = [
        figure(
            fig,
            "timeline",
            "The migration timeline of this run"
            + (" (one row per unit: the estate is large)" if big else "")
            + ". Light-blue bars: the management plane is locked (no changes to the resource);"
            " vermillion: the data plane is down; hatched purple: a remediation gap (a"
            " protection such as endpoint ACLs, backup or monitoring is off, a VNet peering"
            " removed, a secondary NIC detached); green shading: maintenance windows; ✕ a"
            " failed attempt, ○ a retry. Clock times are in "
            + esc(res.zone.key if rep.origin is not None else "hours from the start")
            + ". Hover over a bar for its unit, resource, what it is and why, and its start"
            " and end; over a unit's grey line for its steps.",
        )
    ]
    kept = list((res.kept_windows or {}).values())
    fig2 = plots.exposure(
        rep.windows,
        origin=rep.origin,
        maintenance=rep.maintenance,
        horizon=rep.horizon,
        replications=kept,
        title=f"{name}: VMs down and resources locked over time",
        zone=res.zone,
    )
    band = (
        f" The shaded band is the P10-P90 range over {len(kept)} replications"
        " (kept-windows.csv), the dashed line their median."
        if len(kept) >= 2
        else ""
    )
    parts.append(
        figure(
            fig2,
            "exposure",
            "How many VMs are down, how many resources are locked and how many are in a"
            " remediation gap at each moment of this run." + band,
        )
    )
    if len(kept) < 2:
        parts.append(
            _note(
                "no band across replications: kept-windows.csv is written by "
                "`migsim run SCENARIO --replications N --keep-windows K --out DIR` (K of the N"
                " replications' windows, at least 2)"
            )
        )
    hours = (res.summary or {}).get("window_hours_by_kind") or {}
    if hours:
        kinds = [k for k in WINDOW_KINDS if k in hours] + sorted(set(hours) - set(WINDOW_KINDS))
        parts.append(
            "<h3>Hours by window kind</h3>"
            + _table(
                ["window kind", "resource-hours"],
                [[esc(k), _n(hours[k])] for k in kinds],
                numeric=(1,),
                cls="narrow",
            )
        )
    return "".join(parts)


def _statistics(res: ResultsDir) -> dict[str, dict[str, Any]] | None:
    """``statistics.json``, or statistics computed from ``replications.csv`` when it is absent."""
    if res.statistics is not None:
        return res.statistics
    if not res.replications:
        return None
    from sim.common.stats import describe

    metrics = [k for k in res.replications[0] if k not in ("replication", "seed")]
    out: dict[str, dict[str, Any]] = {}
    for m in metrics:
        values = [r[m] for r in res.replications if not math.isnan(r[m])]
        if values:
            out[m] = dict(describe(values).as_dict())
    return out


def _stat(d: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in d:
            return d[k]
    return None


FINISH_METRICS = ("finish_window", "done_in_window_1")
"""Per-replication window numbers, answered window by window by the finish table."""


def _value(metric: str, x: Any, digits: int = 2) -> str:
    """A value of ``metric`` as the report writes it: a duration for a duration metric, else a
    number (HTML)."""
    if metric in DURATION_METRICS:
        return esc(_hours_text(x))
    return _n(x, digits)


def _ci_of(metric: str, low: Any, high: Any) -> str:
    """:func:`_ci` in the metric's own format (durations for a duration metric)."""
    if metric not in DURATION_METRICS:
        return _ci(low, high)
    if _hours_text(low) == "–" or _hours_text(high) == "–":
        return ""
    return f' <span class="ci">({esc(_hours_text(low))} to {esc(_hours_text(high))})</span>'


def _quantity(metric: str, x: Any) -> str:
    """A value with its unit (``27.70 VM-hours``), or a duration (``7h55m``)."""
    if metric in DURATION_METRICS:
        return esc(_hours_text(x))
    return f"{_n(x)} {esc(plots.metric_label(metric)[1])}".rstrip()


def _diff(metric: str, x: Any) -> str:
    """A signed difference: ``+0.60`` or, for a duration, ``+36m``."""
    value = _float(x) if isinstance(x, str) or x is None else float(x)
    if metric not in DURATION_METRICS or math.isnan(value):
        return f"{value:+.2f}"
    return ("-" if value < 0 else "+") + esc(_hours_text(abs(value)))


def _finish_table(res: ResultsDir) -> str:
    """ "When is everything committed?": the finish block of ``statistics.json`` as a table,
    every window listed (the cards show the first two and the last)."""
    try:
        fin = _finish(res)
    except (KeyError, TypeError, ValueError):
        return ""  # the cards say the block could not be read
    if fin is None:
        return ""
    zone = res.zone
    rows = [[esc(f"Finish {p}"), esc(w.full)] for p, w in fin.quantiles]
    for k, a, b, share_in, share_by in fin.windows:
        what = "Done in window 1" if k == 1 else f"By window {k}"
        value = _pct(share_by) + (f" ({_pct(share_in)} finish in it)" if k > 1 else "")
        rows.append([esc(f"{what} ({_span(a, b, zone)})"), esc(value)])
    if fin.later:
        rows.append([esc("Later"), esc(_pct(fin.later))])
    if fin.not_done:
        rows.append([esc("Never done (a unit left behind)"), esc(_pct(fin.not_done))])
    if fin.deadline is not None:
        when, share, low, high = fin.deadline
        rows.append(
            [
                esc(f"Done by the deadline ({when.full})"),
                esc(f"{_pct(share)} (95 % CI {100 * low:.1f} to {100 * high:.1f} %)"),
            ]
        )
    if len(fin.modes) > 1:
        where = ", ".join(f"window {k} ({100 * s:.0f} %)" for k, s in fin.modes)
        rows.append(
            [esc("Finish has several modes"), esc(f"{where}: read the windows, not a mean")]
        )
    return (
        f"<h3>When is everything committed? <span class=dim>({fin.n} replications)</span></h3>"
        + _table(["question", "answer"], rows, numeric=(1,), cls="finish")
        + '<p class="dim">Done means every unit committed. A window is one occurrence of a'
        " maintenance window, numbered from the first open at or after the start; a finish in"
        " several windows is a distribution with several modes (the next weekend), read window"
        " by window, not as a mean.</p>"
    )


def _section_statistics(res: ResultsDir, figure: _Figures) -> str:
    stats = _statistics(res)
    if stats is None:
        return _note("no replications in this run: " + HOW_TO["replications"])
    parts = []
    if res.failed is not None:
        failed = "; ".join(
            f"replication {r} (seed {seed}): {e}" for r, seed, e in res.failed.replications[:10]
        )
        parts.append(
            f'<p class="bad"><b>Warning:</b> {esc(res.failed.sentence())}. Failed: {esc(failed)}'
            + (f" and {res.failed.failed - 10} more" if res.failed.failed > 10 else "")
            + "</p>"
        )
    if res.statistics is None:
        parts.append(
            _note("statistics.json is missing: the table below is computed from replications.csv")
        )
    answers = _finish_table(res)
    if answers:
        parts.append(answers)
        fin = _finish(res)  # read once already by _finish_table
        if fin is not None and fin.not_done:
            parts.append(
                f'<p class="bad">In {esc(_pct(fin.not_done))} of the replications a unit was'
                " left behind (not migrated, or locked: needs support): their makespan and"
                " hours in the table and the risk curves below stop where the work stopped,"
                " not at a finish, and an outage or lock left open goes on past it.</p>"
            )
    rows = []
    for metric, d in stats.items():
        if answers and metric in FINISH_METRICS:
            continue  # a window number: the table above answers it window by window
        what, unit = plots.metric_label(metric)
        mean = _stat(d, "mean")
        low = _stat(d, "mean_ci_low", "ci_low")
        high = _stat(d, "mean_ci_high", "ci_high")
        digits = 1 if metric in COUNT_METRICS else 2
        if metric in DURATION_METRICS:
            unit = ""  # written as durations (7h55m)
        rows.append(
            [
                f"{esc(what)}" + (f' <span class="dim">({esc(unit)})</span>' if unit else ""),
                _n(_stat(d, "n"), 0),
                _value(metric, mean, digits) + _ci_of(metric, low, high),
                *(_value(metric, _stat(d, p), digits) for p in STAT_COLUMNS),
            ]
        )
    parts.append(
        _table(
            ["metric", "replications", "mean (95% CI)", "P50", "P80", "P90", "P99"],
            rows,
            numeric=(1, 2, 3, 4, 5, 6),
        )
    )
    parts.append(
        '<p class="dim">P80 is the value 80 % of the replications stay at or below: plan'
        " on it when a late finish is costly. Confidence intervals are 95 %; “–” where there are"
        " too few replications for one.</p>"
    )
    if res.replications:
        samples: dict[str, dict[str, list[float]]] = {
            m: {"this plan": [r[m] for r in res.replications if m in r]}
            for m in ("makespan_hours", "vm_hours_down")
            if m in res.replications[0]
        }
        if samples:
            parts.append(
                figure(
                    plots.risk_curves(samples),
                    "replications-ecdf",
                    "Risk curves of this plan over its replications (replications.csv): the"
                    " share of replications finishing at or below each value; P50, P80 and"
                    " P90 marked.",
                )
            )
    elif "replications.csv" not in res.present:
        parts.append(_note("replications.csv is missing: " + HOW_TO["replications"]))
    if res.orderings is not None:
        parts.append(_orderings(res.orderings))
    return "".join(parts)


def _orderings(o: OrderingBaseline) -> str:
    """The plan's ordering against the named strategies (``orderings.json``)."""
    rows, classes = [], []
    for x in o.outcomes:
        label = ", ".join(x.names) if x.names else o.plan_ordering
        rows.append(
            [
                (f"<b>{esc(label)}</b> (the plan's)" if x.plan else esc(label)),
                _n(x.p50),
                _n(x.p80),
                _n(x.p90),
                _n(x.mean),
                "–" if x.plan else f"{x.diff_to_plan:+.2f}" + _ci(x.diff_ci_low, x.diff_ci_high),
                f"{x.probability_best:.0%}",
            ]
        )
        classes.append("best" if x.best else "")
    what, unit = plots.metric_label(o.metric)
    return (
        f"<h3>The plan's ordering against the named strategies"
        f' <span class="dim">({esc(what)}, {esc(unit)}, {o.replications} replications,'
        " the same draws)</span></h3>"
        f'<p class="verdict">{esc(o.sentence())}</p>'
        + _table(
            ["ordering", "P50", "P80", "P90", "mean", "vs the plan's (95% CI)", "P(best)"],
            rows,
            numeric=(1, 2, 3, 4, 5, 6),
            row_classes=classes,
        )
    )


def _compare_verdict(rows: Sequence[Mapping[str, str]], metric: str) -> str:
    table = [r for r in rows if r.get("metric") == metric]
    best = next((r for r in table if r.get("best", "").lower() == "true"), None)
    if best is None or not table:
        return ""
    what, unit = plots.metric_label(metric)
    higher = better(metric) == "higher"
    tied = [r for r in table if r.get("best", "").lower() == "true"]
    if len(tied) > 1:
        names = ", ".join(f"<b>{esc(r['alternative'])}</b>" for r in tied)
        return (
            f"Tie: {names} have the same mean {esc(what)} ({_quantity(metric, best.get('mean'))});"
            " none is better."
        )
    text = (
        f"<b>{esc(best['alternative'])}</b> has the {'highest' if higher else 'lowest'} mean"
        f" {esc(what)} ({_quantity(metric, best.get('mean'))})"
    )
    if best.get("prob_best"):
        text += f" and is best in {_float(best['prob_best']):.0%} of the replications"
    text += "."
    sign = -1.0 if higher else 1.0
    others = sorted((r for r in table if r is not best), key=lambda r: sign * _float(r.get("mean")))
    if others:
        nxt = others[0]
        low, high = _float(nxt.get("diff_ci_low")), _float(nxt.get("diff_ci_high"))
        if math.isnan(low):
            sure = "too few replications for a confidence interval"
        elif (high < 0) if higher else (low > 0):
            sure = "the 95 % confidence interval excludes 0: the difference is real"
        else:
            sure = "the 95 % confidence interval includes 0: not distinguishable yet"
        text += (
            f" Next: <b>{esc(nxt['alternative'])}</b>,"
            f" {_diff(metric, nxt.get('diff_to_best'))}"
            f"{'' if metric in DURATION_METRICS else ' ' + esc(unit)}"
            f"{_ci_of(metric, low, high)} ({sure})."
        )
    return f'<p class="verdict">{text}</p>'


def _headline_verdict(res: ResultsDir) -> str:
    """Every headline metric's best alternative and the Pareto set (``compare/verdict.json``)."""
    v = res.verdict
    if v is None:
        return _note(
            "compare/verdict.json is missing: no verdict on every headline metric; "
            + HOW_TO["compare"]
        )
    rows = [[esc(cell) for cell in row] for row in v.rows()]
    return (
        "<h3>Every headline metric</h3>"
        + _table(["metric", "better", "best", "best mean"], rows, numeric=(3,))
        + f'<p class="verdict">{esc(v.pareto_text())}</p>'
    )


def _compare_finish(res: ResultsDir) -> str:
    """Each alternative's finish in clock time (``compare-finish.csv``): P50, P80 and P90 in the
    plan's zone, done by windows 1 and 2, P(done by the deadline) with its interval."""
    rows = res.compare_finish
    if not rows:
        return ""
    name = rows[0].get("timezone") or res.timezone
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = res.zone
    tags: set[str] = set()
    cells: list[list[str]] = []

    def clock(r: Mapping[str, str], p: str) -> str:
        t = _parse_time(r.get(f"{p}_utc") or "")
        if not r.get(f"{p}_min"):
            return "not done"
        if t is None:
            return f"+{_minutes_text(r.get(f'{p}_min'))}"
        if t.tzinfo is None:
            t = t.replace(tzinfo=ZoneInfo("UTC"))
        t = _exact(t, _float(r.get(f"{p}_min")))
        tags.add(zone_tag(t, zone))
        return nearest_minute(t).astimezone(zone).strftime("%a %Y-%m-%d %H:%M")

    def share(x: str | None) -> str:
        return _pct(x) if x else "–"

    for r in rows:
        deadline = "–"
        if r.get("deadline_share"):
            deadline = (
                f"{_pct(r['deadline_share'])} <span class=ci>({100 * _float(r['deadline_low']):.0f}"
                f" to {100 * _float(r['deadline_high']):.0f} %)</span>"
            )
        cells.append(
            [
                esc(r.get("alternative", "")),
                *(esc(clock(r, p)) for p in ("p50", "p80", "p90")),
                esc(share(r.get("done_by_window_1"))),
                esc(share(r.get("done_by_window_2"))),
                deadline,
            ]
        )
    where = "from the start" if not tags else f"clock times in {zone.key}"
    if tags and zone.key != "UTC":
        where += f", {' / '.join(sorted(tags))}"
    headers = [
        "alternative",
        "finish P50",
        "P80",
        "P90",
        "done in window 1",
        "by window 2",
        "by the deadline (95% CI)",
    ]
    # the window and deadline columns only when some alternative has a value there
    keep = [i for i in range(len(headers)) if i < 4 or any(c[i] != "–" for c in cells)]
    table = _table(
        [headers[i] for i in keep],
        [[c[i] for i in keep] for c in cells],
        numeric=range(1, len(keep)),
        cls="finish",
    )
    return f"<h3>When is everything committed? <span class=dim>({esc(where)})</span></h3>{table}"


def _section_compare(res: ResultsDir, figure: _Figures) -> str:
    if res.compare is None and res.compare_replications is None:
        return _note("no comparison in this run: " + HOW_TO["compare"])
    parts = [_compare_finish(res)]
    if res.compare is not None:
        metrics = list(dict.fromkeys(r["metric"] for r in res.compare))
        headline = "makespan_hours" if "makespan_hours" in metrics else metrics[0]
        parts.append(_compare_verdict(res.compare, headline))
        parts.append(_headline_verdict(res))
        folded: list[str] = []
        for metric in metrics:
            what, unit = plots.metric_label(metric)
            if metric in DURATION_METRICS:
                unit = "durations"
            rows, classes = [], []
            for r in (r for r in res.compare if r["metric"] == metric):
                best = r.get("best", "").lower() == "true"
                diff = (
                    "best"
                    if best
                    else _diff(metric, r.get("diff_to_best"))
                    + _ci_of(metric, r.get("diff_ci_low"), r.get("diff_ci_high"))
                )
                pb = r.get("prob_best")
                rows.append(
                    [
                        f"<b>{esc(r['alternative'])}</b>" if best else esc(r["alternative"]),
                        _value(metric, r.get("p50")),
                        _value(metric, r.get("p80")),
                        _value(metric, r.get("p90")),
                        _value(metric, r.get("mean"))
                        + _ci_of(metric, r.get("mean_ci_low"), r.get("mean_ci_high")),
                        diff,
                        f"{_float(pb):.0%}" if pb else "–",
                    ]
                )
                classes.append("best" if best else "")
            n = next((r.get("n") for r in res.compare if r["metric"] == metric), "")
            target = parts if metric in COMPARE_OPEN or metric == headline else folded
            target.append(
                f"<h3>{esc(what)}"
                + (
                    f' <span class="dim">({esc(unit)}, {esc(n)} replications)</span>'
                    if unit
                    else ""
                )
                + "</h3>"
                + _table(
                    [
                        "alternative",
                        "P50",
                        "P80",
                        "P90",
                        "mean (95% CI)",
                        "vs best (95% CI)",
                        "P(best)",
                    ],
                    rows,
                    numeric=(1, 2, 3, 4, 5, 6),
                    row_classes=classes,
                )
            )
        if folded:
            parts.append(
                f"<details><summary>The other metrics ({len(folded)})</summary>"
                + "".join(folded)
                + "</details>"
            )
    else:
        parts.append(_note("compare/compare.csv is missing: " + HOW_TO["compare"]))
    if res.compare_replications:
        names = list(res.compare_replications)
        first = next(iter(res.compare_replications.values()), [])
        metrics = [m for m in ("makespan_hours", "vm_hours_down") if first and m in first[0]]
        if metrics:
            samples = {
                m: {a: [r[m] for r in res.compare_replications[a]] for a in names} for m in metrics
            }
            parts.append(
                figure(
                    plots.risk_curves(samples),
                    "compare-ecdf",
                    "Risk curves per alternative (ECDF): for each value on the x axis, the share"
                    " of replications that finish at or below it. Further left is better; read"
                    " each curve where it crosses the P80 line to compare what you can promise"
                    " with 80 % confidence.",
                )
            )
    else:
        parts.append(
            _note(
                "no risk curves: compare/compare-replications.csv is missing; " + HOW_TO["compare"]
            )
        )
    return "".join(parts)


def _section_sensitivity(res: ResultsDir, figure: _Figures) -> str:
    if res.sensitivity is None and res.criticality is None:
        return _note("no sensitivity analysis in this run: " + HOW_TO["sensitivity"])
    parts = []
    if res.sensitivity:
        first = res.sensitivity[0]
        meta = res.sensitivity_meta
        metric = str(first.get("metric") or meta.get("metric") or "makespan_hours")
        stat = str(first.get("statistic") or meta.get("statistic") or "p80")
        reps_text = first.get("replications") or meta.get("replications")
        base = (
            _float(first.get("at_base"))
            if first.get("at_base")
            else _float(str(meta.get("base", "nan")))
        )
        bars = [
            plots.TornadoBar(
                factor=r["factor"],
                low=r["low"],
                high=r["high"],
                at_low=_float(r["at_low"]),
                at_high=_float(r["at_high"]),
                # a file from before the status column: equal settings were nothing to vary
                status=r.get("status")
                or ("not varied (base is 0)" if r["low"] == r["high"] else ""),
            )
            for r in res.sensitivity
        ]
        if math.isnan(base):
            base = bars[0].at_low if bars else 0.0
        fig = plots.tornado(
            bars,
            base=base,
            metric=metric,
            statistic=stat,
            replications=int(float(reps_text)) if reps_text else None,
        )
        unvaried = [b.factor for b in bars if b.status not in ("", "varied")]
        parts.append(
            figure(
                fig,
                "tornado",
                "Tornado: each factor moved one at a time to a low and a high value, everything"
                " else as planned. The longest bars are what drives the result: check those"
                " estimates first, and spend effort (crews, dry runs) there."
                + (
                    f" Not varied (base is 0): {esc(', '.join(unvaried))}. The plan's value is"
                    " 0, so there was nothing to halve or double: this run cannot tell what"
                    " they would change."
                    if unvaried
                    else ""
                ),
            )
        )
    elif "sensitivity/sensitivity.csv" not in res.present:
        parts.append(
            _note("no tornado: sensitivity/sensitivity.csv is missing; " + HOW_TO["sensitivity"])
        )
    if res.criticality:
        index = (
            "the share of replications in which the unit lies on the critical path, the chain of"
            " its own steps and must-precede constraints that ends last, so a delay to it can"
            " delay the end."
        )
        if res.resource_criticality is None:
            caption = (
                f"Criticality index: {index} Units near 100 % set the makespan; speeding up the"
                " others changes little."
            )
        else:
            caption = (
                f"Criticality index (blue): {index} Resource criticality (orange, hatched): the"
                " share of replications in which the unit held a crew that a unit on the"
                " critical path was waiting for, so running it later in the order or adding a"
                " crew can shorten the migration."
            )
        parts.append(
            figure(
                plots.criticality(
                    res.criticality,
                    resource=res.resource_criticality,
                    replications=res.criticality_replications,
                ),
                "criticality",
                caption,
            )
        )
    elif "sensitivity/criticality.csv" not in res.present:
        parts.append(
            _note(
                "no criticality index: sensitivity/criticality.csv is missing; "
                + HOW_TO["sensitivity"]
            )
        )
    return "".join(parts)


# ---- the page ----------------------------------------------------------------------------------

CSS = """
:root{--ink:#1d2230;--dim:#5b6372;--line:#d9dde5;--bg:#f6f7f9;--blue:#0072B2;
--sky:#56B4E9;--verm:#D55E00;--orange:#E69F00;--green:#009E73;--purple:#CC79A7;--yellow:#F0E442}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
header{background:#1d2230;color:#fff;padding:22px 32px 18px}
header h1{margin:0 0 4px;font-size:26px}
header p{margin:2px 0;color:#c9cfdb}
nav{background:#fff;border-bottom:1px solid var(--line);padding:8px 32px;
position:sticky;top:0;z-index:2}
nav a{color:var(--blue);margin-right:16px;text-decoration:none;font-weight:600;font-size:14px}
main{max-width:1280px;margin:0 auto;padding:8px 32px 40px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;margin:18px 0;
padding:6px 22px 18px}
h2{font-size:20px;margin:14px 0 10px;border-bottom:2px solid var(--blue);padding-bottom:4px}
h3{font-size:16px;margin:16px 0 6px}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:6px 0 10px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
thead th{background:#eef1f5;font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{width:42%;font-weight:600;color:var(--dim);background:none}
table.narrow{width:auto;min-width:320px}
tr.unit td{background:#f2f4f8;padding-top:9px}
tr.best td{background:#e7f4ee}
.two{display:grid;grid-template-columns:1fr 1fr;gap:26px}
@media (max-width:900px){.two{grid-template-columns:1fr}}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(165px,1fr));gap:12px;margin:18px 0}
.card{background:#fff;border:1px solid var(--line);border-left:5px solid var(--blue);
border-radius:8px;padding:10px 14px}
.card.warn{border-left-color:var(--verm)}
.card .label{font-size:12.5px;color:var(--dim);text-transform:uppercase;letter-spacing:.03em}
.card .value{font-size:25px;font-weight:700;margin:2px 0}
.card .sub{font-size:12.5px;color:var(--dim)}
.cards-note{font-size:12.5px;color:var(--dim);margin:-6px 0 12px}
.answers-head{margin:10px 0 -8px}
.cards.answers{grid-template-columns:repeat(auto-fit,minmax(250px,1fr))}
.cards.answers .value{font-size:20px;white-space:nowrap}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:700;
border:1px solid rgba(0,0,0,.35);white-space:nowrap}
.b-blocker,.b-blocked,.b-support{background:var(--verm);color:#fff}
.b-remediate{background:var(--yellow);color:#000}
.b-dropped{background:var(--purple);color:#000}
.b-note{background:#dff0fa;color:#000}
.b-clean{background:#CDEBDD;color:#000}
.dim,.ci{color:var(--dim)}
.ci{font-size:12px}
.bad{color:var(--verm)}
.good{color:#006e50}
.missing{color:var(--dim);background:#f4f5f7;border-left:4px solid #aab2bf;
padding:6px 10px;margin:8px 0}
.verdict{font-size:16px;background:#eef6fb;border-left:4px solid var(--blue);padding:8px 12px}
.clean-list{font-size:13.5px}
figure.plot{margin:14px 0 18px}
figure.plot .svg{overflow-x:auto}
figure.plot svg{display:block;width:100%;height:auto;max-width:100%}
figcaption{font-size:13.5px;color:var(--dim);margin-top:4px}
code{font-family:ui-monospace,"DejaVu Sans Mono",Consolas,monospace;
font-size:.92em;background:#f0f2f5;padding:0 3px;border-radius:3px}
details summary{cursor:pointer;color:var(--blue);font-weight:600;margin:6px 0}
footer{max-width:1280px;margin:0 auto;padding:0 32px 30px;color:var(--dim);font-size:13px}
@media print{nav{display:none}section{break-inside:avoid-page;border:none}body{background:#fff}}
"""

# Records a script error on the page (read back by the browser test) before anything else runs.
HEAD_SCRIPT = (
    "window.addEventListener('error',function(e){var d=document.documentElement;"
    "d.setAttribute('data-errors',(d.getAttribute('data-errors')||'')+String(e.message)+';');});"
)
# Writes each figure's rendered size into the DOM (data-rendered-size), so a headless browser's
# dumped DOM shows whether the figures were laid out.
SIZE_SCRIPT = (
    "(function(){var f=document.querySelectorAll('figure.plot'),o=[];"
    "for(var i=0;i<f.length;i++){var s=f[i].querySelector('svg');"
    "var r=s?s.getBoundingClientRect():{width:0,height:0};"
    "var v=Math.round(r.width)+'x'+Math.round(r.height);"
    "f[i].setAttribute('data-rendered-size',v);o.push(v);}"
    "document.body.setAttribute('data-figure-sizes',o.join(' '));"
    "document.body.setAttribute('data-figure-count',String(f.length));})();"
)
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def render_report(results_dir: Path, problems: list[str] | None = None) -> str:
    """The report of ``results_dir`` as HTML text (what :func:`build_report` writes).

    ``problems``, when given, receives the files that exist but could not be read (each is
    named at the top of the page and its section left out)."""
    res = load_results(results_dir)
    if problems is not None:
        problems.extend(res.problems)
    figure = _Figures()
    night = _section_night(res, figure)  # first: the night's picture is Figure 1
    s = res.summary or {}
    sc = res.scenario or {}
    name = str(
        s.get("scenario_name")
        or sc.get("name")
        or (res.validation or {}).get("scenario")
        or Path(results_dir).name
    )
    description = str(sc.get("description") or "")
    sections: list[tuple[str, str, str]] = [
        ("scenario", "Scenario", _section_scenario(res)),
        ("validation", "Validation findings by unit", _section_validation(res, figure)),
        ("outcome", "Units not migrated", _section_not_migrated(res)),
        ("tasks", "Post-migration tasks", _section_tasks(res)),
        ("timeline", "Timeline", _section_timeline(res, figure)),
        ("statistics", "Statistics over replications", _section_statistics(res, figure)),
        ("comparison", "Comparison of alternatives", _section_compare(res, figure)),
        ("sensitivity", "What drives the result", _section_sensitivity(res, figure)),
    ]
    sections = [t for t in sections if t[2]]
    if night:
        sections.insert(0, ("night", "The night so far", night))
    meta = []
    if s:
        meta.append(
            f"seed {esc(s.get('seed'))}"
            + (" (deterministic durations)" if s.get("deterministic") else "")
        )
        if s.get("start"):
            meta.append(f"plan starts {esc(_clock_text(s['start'], res.zone))}")
        meta.append(f"migsim {esc(s.get('migsim_version') or __version__)}")
    nav = "".join(f'<a href="#{k}">{esc(title)}</a>' for k, title, _ in sections)
    # A re-forecast's night goes first, above the cards of its recorded replication.
    first = sections[:1] if night else []
    body, top = (
        "".join(
            f'<section id="{k}"><h2>{esc(title)}</h2>{content}</section>'
            for k, title, content in part
        )
        for part in (sections[len(first) :], first)
    )
    missing = res.missing(KNOWN_FILES)
    foot = [
        f"Results directory <code>{esc(Path(results_dir).name)}</code>: read "
        f"{esc(', '.join(res.present)) or 'nothing'}."
    ]
    if missing:
        foot.append(f"Not present: {esc(', '.join(missing))}.")
    for p in res.problems:
        foot.append(f'<span class="bad">{esc(p)}</span>.')
    notes = "".join(_note(p) for p in res.problems)
    what = "the night re-forecast" if res.night is not None else "migration report"
    if res.night is not None:
        meta.insert(0, f"re-forecast at {esc(_night_clock(res, res.night.now))}")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="generator" content="migsim {esc(__version__)}">'
        f"<title>{esc(name)}: {what}</title>"
        f"<script>{HEAD_SCRIPT}</script>"
        f"<style>{CSS}</style></head>\n"
        "<body>"
        f"<header><h1>{esc(name)}: {what}</h1>"
        + (f"<p>{esc(description)}</p>" if description else "")
        + (f"<p>{' · '.join(meta)}</p>" if meta else "")
        + "</header>"
        f"<nav>{nav}</nav>"
        f"<main>{notes}{_failed_card(res)}{top}{_cards(res)}{_answer_cards(res)}{body}</main>"
        f"<footer>{' '.join(foot)}</footer>"
        f"<script>{SIZE_SCRIPT}</script>"
        "</body></html>\n"
    )


def build_report(
    results_dir: Path,
    out: Path | None = None,
    *,
    force: bool = False,
    problems: list[str] | None = None,
) -> Path:
    """Write the report of ``results_dir`` to ``out`` (default ``RESULTS_DIR/report.html``)
    atomically and return its path; ``problems`` receives the files that could not be read
    (:func:`render_report`). Raises :class:`~sim.common.errors.InputError` when
    ``results_dir`` is not a results directory, or when the report file exists and ``force`` is
    false."""
    results_dir = Path(results_dir)
    target = Path(out) if out is not None else results_dir / REPORT_NAME
    if results_dir.is_dir():
        refuse_existing(target, force=force, what="an HTML file", suffixes=(".html", ".htm"))
    text = render_report(results_dir, problems)
    with atomic_file(target, force=force) as tmp:
        tmp.write_bytes(text.encode("utf-8"))
    return target
