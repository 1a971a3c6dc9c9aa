"""Result records as pandas DataFrames: one call each, one row per record, fixed columns.

:func:`windows_frame`, :func:`events_frame`, :func:`units_frame` and :func:`post_tasks_frame`
turn the records of one replication (:class:`~sim.outputs.records.Replication`, or anything that
holds one as ``.replication``, such as a run result) into a DataFrame whose columns are those of
the files ``migsim run`` writes, in the same order, plus the clock-time columns always (``NaT``
when the plan has no ``start``), so the columns never depend on the plan.

Units are in the column names: ``_min`` minutes from the plan's start (``plan.start``, or a
Monday 00:00 without one), ``_utc`` the clock time in UTC and ``_local`` the same instant in
the plan's zone (``plan.timezone``; a run result and a summary know it, a bare replication or
records take ``zone=``, default UTC), both to the second as the CSV files write them.
Small fixed vocabularies (a window's kind, a resource's type, a step, an outcome, a unit's kind
and status) are categoricals whose categories are listed in the model's order, then any other
value seen, sorted. An empty result gives an empty frame with the same columns and dtypes.
``docs/frames.md`` has every column.

Nothing here runs the engine; pandas is imported when this module is (``import sim`` does not
import it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from sim.model.graph import NODE_KINDS
from sim.model.units import UNIT_KINDS
from sim.outputs import records
from sim.outputs.records import (
    OUTCOMES,
    WINDOW_KINDS,
    Event,
    PostTask,
    Replication,
    Summary,
    UnitOutcome,
    Window,
)

# The columns of windows.csv, events.csv and units.csv, in their order (records.py): a frame
# always has the clock columns (NaT without a plan start).
WINDOW_COLUMNS = records.WINDOW_COLUMNS
EVENT_COLUMNS = records.EVENT_COLUMNS
UNIT_COLUMNS = records.UNIT_COLUMNS

POST_TASK_COLUMNS = (
    "unit",
    "rule",
    "resources",
    "task",
    "done_at_min",
    "done_at_utc",
    "done_at_local",
)
"""The columns of :func:`post_tasks_frame`: ``post_migration_tasks`` of ``summary.json``."""

STEP_ORDER = ("validate", "stop", "deallocate", "prepare", "start", "check", "commit", "abort")
"""The platform's steps in the order a unit meets them (Stop, Deallocate and Start only for VMs
outside a VNet); remediation steps (``remediate:RULE...``, ``restore:RULE...``) follow, sorted."""

UNIT_STATUSES = ("committed", "not_migrated")

CLOCK: Final = "datetime64[ns, UTC]"
"""The dtype of every ``_utc`` column; a ``_local`` column is ``datetime64[ns, ZONE]``."""

LIST_SEPARATOR = " "
"""How a record's tuple (a unit's rules, a task's resources) is joined into one cell."""


class HasReplication(Protocol):
    """Anything that holds one replication (a run result: ``sim.run_scenario(...)``, whose
    ``scenario.plan.zone`` gives the ``_local`` columns)."""

    @property
    def replication(self) -> Replication: ...


Source = Replication | HasReplication
Zone = ZoneInfo | str | None


def _zone(source: object, zone: Zone) -> ZoneInfo:
    """``zone`` when given, else the plan's zone that ``source`` knows (a summary, a run result
    through ``scenario.plan``), else UTC."""
    if zone is not None:
        return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    if isinstance(source, Summary):
        return source.zone
    plan = getattr(getattr(source, "scenario", None), "plan", None)
    own = getattr(plan, "zone", None)
    return own if isinstance(own, ZoneInfo) else ZoneInfo("UTC")


def _replication(source: object, what: str) -> Replication:
    if isinstance(source, Replication):
        return source
    rep = getattr(source, "replication", None)
    if isinstance(rep, Replication):
        return rep
    raise TypeError(
        f"{what} expects a Replication or a run result (with .replication), "
        f"got {type(source).__name__}"
    )


def _records(
    source: object, attr: str, kind: type, what: str
) -> tuple[Sequence[Any], datetime | None]:
    """The records and origin of ``source``: a replication (or a holder of one), or the records
    themselves (their origin then given by the caller)."""
    if isinstance(source, Replication) or hasattr(source, "replication"):
        rep = _replication(source, what)
        return getattr(rep, attr), rep.origin
    if isinstance(source, Iterable) and not isinstance(source, (str, bytes)):
        items = list(source)
        bad = next((x for x in items if not isinstance(x, kind)), None)
        if bad is None:
            return items, None
        raise TypeError(f"{what} expects {kind.__name__} records, got {type(bad).__name__}")
    raise TypeError(
        f"{what} expects a Replication, a run result or {kind.__name__} records, "
        f"got {type(source).__name__}"
    )


def _strings(values: Sequence[str]) -> pd.Series:
    # "str": pandas' default string dtype (object before pandas 3), also for an empty column.
    return pd.Series(list(values), dtype="str")


def _category(values: Sequence[str], known: Sequence[str]) -> pd.Series:
    extra = sorted(set(values) - set(known))
    return pd.Series(pd.Categorical(list(values), categories=[*known, *extra]))


def _minutes(values: Sequence[float | None]) -> pd.Series:
    return pd.Series([np.nan if v is None else v for v in values], dtype="float64")


def _clock(origin: datetime | None, minutes: pd.Series) -> pd.Series:
    """Clock times in UTC to the second, as :func:`sim.outputs.records.iso` writes them (Python's
    ``round``: half to even, as ``numpy.round``); ``NaT`` without an origin or a time."""
    if origin is None:
        return pd.Series(pd.NaT, index=minutes.index, dtype=CLOCK)
    ts = pd.Timestamp(origin)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    seconds = np.round(minutes.to_numpy(dtype="float64") * 60.0)
    clock = ts + pd.to_timedelta(seconds, unit="s")
    return pd.Series(clock, index=minutes.index).astype(CLOCK)


def _local(utc: pd.Series, zone: ZoneInfo) -> pd.Series:
    """The same instants in ``zone`` (``datetime64[ns, ZONE]``), daylight saving included."""
    local: pd.Series = utc.dt.tz_convert(zone)
    return local


def _frame(columns: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(columns)


def windows_frame(
    source: Source | Iterable[Window], *, origin: datetime | None = None, zone: Zone = None
) -> pd.DataFrame:
    """One row per window (:data:`WINDOW_COLUMNS`), in the order the engine closed them.

    ``source``: a run result, a replication, or windows (then ``origin``, the clock time of
    minute 0, gives the clock columns; without it they are ``NaT``). ``zone`` (an IANA name or
    a ``ZoneInfo``) overrides the plan's zone of the ``_local`` columns.
    """
    windows, own = _records(source, "windows", Window, "windows_frame")
    clock_origin = own if own is not None else origin
    tz = _zone(source, zone)
    cols = list(zip(*windows, strict=True)) if windows else [()] * len(Window._fields)
    resource, resource_type, unit, kind, start, end, cause = cols
    start_min, end_min = _minutes(start), _minutes(end)
    start_utc, end_utc = _clock(clock_origin, start_min), _clock(clock_origin, end_min)
    return _frame(
        {
            "resource": _strings(resource),
            "resource_type": _category(resource_type, NODE_KINDS),
            "unit": _strings(unit),
            "kind": _category(kind, WINDOW_KINDS),
            "start_min": start_min,
            "end_min": end_min,
            "duration_min": end_min - start_min,
            "start_utc": start_utc,
            "end_utc": end_utc,
            "start_local": _local(start_utc, tz),
            "end_local": _local(end_utc, tz),
            "cause": _strings(cause),
        }
    )


def events_frame(
    source: Source | Iterable[Event], *, origin: datetime | None = None, zone: Zone = None
) -> pd.DataFrame:
    """One row per step start, end or failure (:data:`EVENT_COLUMNS`), in simulation order;
    ``crew`` is a nullable integer, missing for steps that take no crew (Check when preparing
    ahead). ``source``, ``origin`` and ``zone`` as for :func:`windows_frame`."""
    events, own = _records(source, "events", Event, "events_frame")
    clock_origin = own if own is not None else origin
    tz = _zone(source, zone)
    cols = list(zip(*events, strict=True)) if events else [()] * len(Event._fields)
    time, unit, step, outcome, crew, attempt = cols
    time_min = _minutes(time)
    time_utc = _clock(clock_origin, time_min)
    return _frame(
        {
            "time_min": time_min,
            "time_utc": time_utc,
            "time_local": _local(time_utc, tz),
            "unit": _strings(unit),
            "step": _category(step, STEP_ORDER),
            "outcome": _category(outcome, OUTCOMES),
            "crew": pd.array(list(crew), dtype="Int64"),
            "attempt": pd.Series(list(attempt), dtype="int64"),
        }
    )


def units_frame(
    source: Source | Summary | Iterable[UnitOutcome], *, zone: Zone = None
) -> pd.DataFrame:
    """One row per unit (:data:`UNIT_COLUMNS`), in the plan's unit order: how it fared, when it
    began, committed and ended (``NaN``/``NaT`` for a unit that never ran), its attempts, and
    the rules behind a unit not migrated (space-separated). ``source``: a run result, a
    replication, a summary, or outcomes (no clock); ``zone`` as for :func:`windows_frame`."""
    tz = _zone(source, zone)
    if isinstance(source, Summary):
        outcomes: Sequence[UnitOutcome] = source.units
        origin = source.origin
    else:
        outcomes, origin = _records(source, "outcomes", UnitOutcome, "units_frame")
    first = _minutes([u.first_start for u in outcomes])
    commit = _minutes([u.commit_end for u in outcomes])
    end = _minutes([u.end for u in outcomes])
    utc = {
        name: _clock(origin, m)
        for name, m in (("first_start", first), ("commit_end", commit), ("end", end))
    }

    def ints(name: str) -> pd.Series:
        return pd.Series([getattr(u, name) for u in outcomes], dtype="int64")

    return _frame(
        {
            "unit": _strings([u.unit for u in outcomes]),
            "kind": _category([u.kind for u in outcomes], UNIT_KINDS),
            "vms": ints("vms"),
            "status": _category([u.status for u in outcomes], UNIT_STATUSES),
            "first_start_min": first,
            "commit_end_min": commit,
            "end_min": end,
            **{f"{name}_utc": clock for name, clock in utc.items()},
            **{f"{name}_local": _local(clock, tz) for name, clock in utc.items()},
            "validate_attempts": ints("validate_attempts"),
            "prepare_attempts": ints("prepare_attempts"),
            "commit_attempts": ints("commit_attempts"),
            "needs_support": pd.Series([u.needs_support for u in outcomes], dtype="bool"),
            "rules": _strings([LIST_SEPARATOR.join(u.rules) for u in outcomes]),
            "reason": _strings([u.reason for u in outcomes]),
        }
    )


def post_tasks_frame(
    source: Source | Summary | Iterable[PostTask], *, zone: Zone = None
) -> pd.DataFrame:
    """One row per reconfiguration after migration (:data:`POST_TASK_COLUMNS`): the unit, the
    rule, its resources (space-separated), the task, and when it was done (``NaN``/``NaT`` when
    not simulated). ``source`` and ``zone`` as for :func:`units_frame`."""
    tz = _zone(source, zone)
    if isinstance(source, Summary):
        tasks: Sequence[PostTask] = source.post_migration_tasks
        origin = source.origin
    else:
        tasks, origin = _records(source, "post_tasks", PostTask, "post_tasks_frame")
    done = _minutes([t.done_at for t in tasks])
    done_utc = _clock(origin, done)
    return _frame(
        {
            "unit": _strings([t.unit for t in tasks]),
            "rule": _strings([t.rule for t in tasks]),
            "resources": _strings([LIST_SEPARATOR.join(t.resources) for t in tasks]),
            "task": _strings([t.task for t in tasks]),
            "done_at_min": done,
            "done_at_utc": done_utc,
            "done_at_local": _local(done_utc, tz),
        }
    )
