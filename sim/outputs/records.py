"""What one replication produces: fixed-schema records, the summary, and byte-deterministic writers.

Times are minutes from the plan's start (``plan.start``; without one, minute 0 is a Monday
00:00 UTC, see :mod:`sim.model.calendar`). When the plan has a start, the CSV files carry ISO 8601
UTC columns beside the minutes and the summary gives the clock time of the end.

Determinism: the writers format every number with :func:`fmt_num` (at most six decimals, no
trailing zeros), write ``\\n`` line endings and UTF-8, and keep the record order the engine made,
so the same replication always gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain, repeat
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from sim.common.clocktime import at_minutes, clock_text, local_iso
from sim.common.gcpause import paused_gc
from sim.common.timeparse import format_minutes
from sim.common.version import __version__
from sim.model.scenario import Scenario

WINDOW_KINDS = (
    "management",
    "service",
    "data",
    "nic",
    "exposure",
    "connectivity",
    "monitoring",
    "diagnostics",
    "security-monitoring",
    "backup",
    "replication",
)
"""``management``: the management plane is locked (Prepare start to Commit/Abort end);
``service``: a platform service inside a VNet is out (Azure AD Domain Services from its
prepare to its commit under ``plan.aadds_migration``); ``data``: the resource carries no
traffic; ``nic``: a VM's secondary NIC is detached (the VM is up, the NIC carries no traffic);
the others: the gap each remediation opens (``rules.md``, last
column)."""

PROTECTION_GAP_KINDS = ("monitoring", "diagnostics", "security-monitoring", "backup", "replication")
"""The window kinds ``protection_gap_hours`` adds up: a protection switched off by a remediation."""

OUTCOMES = ("start", "end", "fail", "not_migrated")

NOT_FINISHED = "not finished by the horizon"
"""The start of the ``reason`` of a unit the horizon (``plan.horizon``) stopped."""


class Window(NamedTuple):
    """One interval in which one resource is locked, down, or without a protection.

    Windows and events are named tuples, not dataclasses: a replication of a big estate makes
    tens of thousands of them and a tuple is built three times faster; they stay immutable,
    compare by value, and a list of them is a DataFrame (``pandas.DataFrame(rep.windows)``).
    """

    resource: str
    resource_type: str
    unit: str
    kind: str
    start: float
    end: float
    cause: str

    @property
    def duration(self) -> float:
        return self.end - self.start


class Event(NamedTuple):
    """A step starting, ending or failing; ``crew`` is None for steps that need none (Check)."""

    time: float
    unit: str
    step: str
    outcome: str
    crew: int | None
    attempt: int


@dataclass(frozen=True)
class UnitOutcome:
    """How one unit fared. ``status`` is ``committed`` or ``not_migrated`` (then ``reason``);
    ``needs_support`` when it was left locked (failed Commits, or given up after MIG008's domain
    services migration began: neither can be aborted)."""

    unit: str
    kind: str
    vms: int
    status: str
    first_start: float | None
    commit_end: float | None
    end: float | None
    validate_attempts: int
    prepare_attempts: int
    commit_attempts: int
    reason: str = ""
    rules: tuple[str, ...] = ()
    needs_support: bool = False
    """Left with its management plane locked, unable to be aborted (failed Commits, or MIG008's
    domain services migration begun): only Microsoft support can unlock it."""

    @property
    def migrated(self) -> bool:
        return self.status == "committed"


@dataclass(frozen=True)
class PostTask:
    """A reconfiguration after migration (a ``dropped`` finding); ``done_at`` when simulated."""

    unit: str
    rule: str
    resources: tuple[str, ...]
    task: str
    done_at: float | None


@dataclass(frozen=True)
class Replication:
    """The raw result of one :func:`sim.engine.simulate` call."""

    seed: int
    deterministic: bool
    origin: datetime | None
    horizon: float
    order: tuple[str, ...]
    windows: tuple[Window, ...]
    events: tuple[Event, ...]
    outcomes: tuple[UnitOutcome, ...]
    post_tasks: tuple[PostTask, ...]
    maintenance: tuple[tuple[float, float], ...]
    throttle_minutes: float = 0.0
    open_windows: int = 0
    stopped_at: float | None = None
    """``plan.horizon`` when the horizon stopped the run with units not finished (their
    ``reason`` says so); ``None`` when every unit ended before it."""

    def outcome(self, unit: str) -> UnitOutcome:
        return next(o for o in self.outcomes if o.unit == unit)

    def windows_of(
        self, *, resource: str | None = None, kind: str | None = None, unit: str | None = None
    ) -> list[Window]:
        return [
            w
            for w in self.windows
            if (resource is None or w.resource == resource)
            and (kind is None or w.kind == kind)
            and (unit is None or w.unit == unit)
        ]

    def events_of(
        self, unit: str | None = None, step: str | None = None, outcome: str | None = None
    ) -> list[Event]:
        return [
            e
            for e in self.events
            if (unit is None or e.unit == unit)
            and (step is None or e.step == step)
            and (outcome is None or e.outcome == outcome)
        ]

    @property
    def makespan(self) -> float:
        """Minutes from time 0 to the end of the last step (0 when nothing ran)."""
        return max((e.time for e in self.events if e.outcome != "not_migrated"), default=0.0)


@dataclass(frozen=True)
class Tally:
    """What a replication run without records keeps (:func:`sim.engine.simulate` with
    ``record=False``, the Monte Carlo path): enough for its row of ``replications.csv``, the
    same figures as from its :class:`Replication` (:meth:`of`), to the last bit.

    ``windows``: every window but the management ones, in the order a :class:`Replication`
    lists them; ``lock_spans``: one ``(start, end, resources)`` per management lock of a unit
    (instead of one window per resource), sorted. Minutes from the plan's start.
    """

    seed: int
    makespan: float
    windows: tuple[Window, ...]
    lock_spans: tuple[tuple[float, float, int], ...]
    failed_attempts: int
    units_not_migrated: int
    units_needing_support: int
    maintenance: tuple[tuple[float, float], ...]
    commits: tuple[tuple[str, float], ...] = ()
    """``(unit, minute its Commit ended)`` of each committed unit, in the run's order."""

    @classmethod
    def of(cls, rep: Replication) -> Tally:
        """The tally of a full replication."""
        return cls(
            seed=rep.seed,
            makespan=rep.makespan,
            windows=tuple(w for w in rep.windows if w.kind != "management"),
            lock_spans=tuple((w.start, w.end, 1) for w in rep.windows if w.kind == "management"),
            failed_attempts=sum(1 for e in rep.events if e.outcome == "fail"),
            units_not_migrated=sum(not o.migrated for o in rep.outcomes),
            units_needing_support=sum(o.needs_support for o in rep.outcomes),
            maintenance=rep.maintenance,
            commits=tuple(
                (o.unit, o.commit_end)
                for o in rep.outcomes
                if o.migrated and o.commit_end is not None
            ),
        )

    @property
    def lock_minutes(self) -> float:
        """Resource-minutes of management lock: the sum, in the records' order, of every
        resource's lock window (``sum`` of the same numbers in the same order as over a
        :class:`Replication`'s management windows, so the same float)."""
        return sum(chain.from_iterable(repeat(b - a, n) for a, b, n in self.lock_spans))


@dataclass(frozen=True)
class Summary:
    """The headline numbers of one replication (the scenario itself is written beside it, once:
    ``scenario.yaml``)."""

    scenario_name: str
    seed: int
    deterministic: bool
    migsim_version: str
    start: str | None
    makespan_minutes: float
    end: str | None
    units_total: int
    units_migrated: int
    vm_hours_down: float
    peak_vms_down: int
    peak_vms_down_at: float | None
    lock_resource_hours: float
    window_hours_by_kind: tuple[tuple[str, float], ...]
    failed_attempts: int
    throttle_minutes: float
    open_windows: int
    units: tuple[UnitOutcome, ...]
    post_migration_tasks: tuple[PostTask, ...]
    origin: datetime | None = None
    service_hours_down: float = 0.0
    exposure_hours: float = 0.0
    protection_gap_hours: float = 0.0
    timezone: str = "UTC"
    stopped_at: float | None = None
    """Minutes of ``plan.horizon`` when it stopped the run with units not finished."""

    @property
    def not_finished(self) -> tuple[UnitOutcome, ...]:
        """Units the horizon stopped (``not_migrated``, reason "not finished by the horizon")."""
        if self.stopped_at is None:
            return ()
        return tuple(u for u in self.units if u.reason.startswith(NOT_FINISHED))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def end_local(self) -> str | None:
        """The end as a person reads it, in the plan's zone (None without ``plan.start``)."""
        if self.origin is None:
            return None
        return clock_text(at_minutes(self.origin, self.makespan_minutes), self.zone)

    @property
    def not_migrated(self) -> tuple[UnitOutcome, ...]:
        return tuple(u for u in self.units if not u.migrated)

    @property
    def needing_support(self) -> tuple[UnitOutcome, ...]:
        """Units left locked (failed Commits, or no Abort possible after MIG008's domain
        services prepare): only Microsoft support can unlock them."""
        return tuple(u for u in self.units if u.needs_support)

    def headline(self) -> list[tuple[str, str]]:
        """Rows ``(label, value)`` for a short terminal table."""
        end = f" (ends {self.end_local})" if self.end_local else ""
        rows = [
            ("Makespan", f"{format_minutes(self.makespan_minutes)}{end}"),
            ("Units migrated", f"{self.units_migrated} of {self.units_total}"),
            ("VM-hours of data downtime", f"{self.vm_hours_down:.2f}"),
            ("Peak VMs down at once", str(self.peak_vms_down)),
            ("Service-hours of data downtime (not VMs)", f"{self.service_hours_down:.2f}"),
            ("Resource-hours of management lock", f"{self.lock_resource_hours:.2f}"),
            ("Resource-hours exposed (endpoint ACLs off)", f"{self.exposure_hours:.2f}"),
            ("Resource-hours of protection gaps", f"{self.protection_gap_hours:.2f}"),
            ("Failed attempts (retried or given up)", str(self.failed_attempts)),
        ]
        if self.throttle_minutes > 0:
            rows.append(("Minutes added by the write throttle", f"{self.throttle_minutes:.1f}"))
        if self.open_windows and self.stopped_at is None:
            rows.append(
                (
                    "Windows still open at the end",
                    f"{self.open_windows}: counted only to the run's last event, the lock or"
                    " outage goes on (windows.csv: 'still open at the end of the run')",
                )
            )
        if self.stopped_at is not None:
            rows.append(
                (
                    "Stopped at the horizon",
                    f"{format_minutes(self.stopped_at)} from the start:"
                    f" {len(self.not_finished)} units not finished by the horizon",
                )
            )
        for u in self.units:
            if u.needs_support:
                rows.append((f"Locked: needs support: {u.unit}", u.reason or "left locked"))
            elif not u.migrated:
                rows.append((f"Not migrated: {u.unit}", u.reason))
        if self.post_migration_tasks:
            rows.append(("Post-migration tasks", str(len(self.post_migration_tasks))))
        rows.append(
            ("Seed", f"{self.seed}{' (deterministic durations)' if self.deterministic else ''}")
        )
        return rows

    def as_dict(self, *, units: bool = True) -> dict[str, Any]:
        """The summary as plain data. ``units=False`` leaves out the per-unit outcomes: that is
        ``summary.json``, which keeps to the figures whatever the estate's size (the outcomes are
        a table of their own, ``units.csv``)."""
        data = {
            "scenario_name": self.scenario_name,
            "migsim_version": self.migsim_version,
            "seed": self.seed,
            "deterministic": self.deterministic,
            "time_unit": "minutes",
            "start": self.start,
            "makespan_minutes": _round(self.makespan_minutes),
            "end": self.end,
            "units_total": self.units_total,
            "units_migrated": self.units_migrated,
            "vm_hours_down": _round(self.vm_hours_down),
            "peak_vms_down": self.peak_vms_down,
            "peak_vms_down_at_minutes": _round(self.peak_vms_down_at),
            "peak_vms_down_at_utc": iso(self.origin, self.peak_vms_down_at),
            "lock_resource_hours": _round(self.lock_resource_hours),
            "window_hours_by_kind": {k: _round(v) for k, v in self.window_hours_by_kind},
            "failed_attempts": self.failed_attempts,
            "throttle_minutes": _round(self.throttle_minutes),
            "open_windows_at_end": self.open_windows,
            "service_hours_down": _round(self.service_hours_down),
            "exposure_hours": _round(self.exposure_hours),
            "protection_gap_hours": _round(self.protection_gap_hours),
            "units_needing_support": len(self.needing_support),
            "units": [_outcome_dict(u, self.origin) for u in self.units] if units else None,
            "not_migrated": [
                {
                    "unit": u.unit,
                    "reason": u.reason,
                    "rules": list(u.rules),
                    "needs_support": u.needs_support,
                }
                for u in self.not_migrated
            ],
            "post_migration_tasks": [
                {
                    "unit": t.unit,
                    "rule": t.rule,
                    "resources": list(t.resources),
                    "task": t.task,
                    "done_at_minutes": _round(t.done_at),
                    "done_at_utc": iso(self.origin, t.done_at),
                }
                for t in self.post_migration_tasks
            ],
            "timezone": self.timezone,
            "end_local": local(self.origin, self.makespan_minutes, self.zone),
        }
        if self.stopped_at is not None:  # only then: a run that ended in time has no such keys
            data["stopped_at_horizon_minutes"] = _round(self.stopped_at)
            data["units_not_finished_by_horizon"] = len(self.not_finished)
        if not units:
            del data["units"]
        return data


def _round(x: float | None) -> float | None:
    if x is None:
        return None
    r = round(x, 6)
    return 0.0 if r == 0 else r  # never "-0.0"


def _outcome_dict(u: UnitOutcome, origin: datetime | None) -> dict[str, Any]:
    return {
        "unit": u.unit,
        "kind": u.kind,
        "vms": u.vms,
        "status": u.status,
        "first_start_minutes": _round(u.first_start),
        "commit_end_minutes": _round(u.commit_end),
        "end_minutes": _round(u.end),
        "first_start_utc": iso(origin, u.first_start),
        "commit_end_utc": iso(origin, u.commit_end),
        "end_utc": iso(origin, u.end),
        "attempts": {
            "validate": u.validate_attempts,
            "prepare": u.prepare_attempts,
            "commit": u.commit_attempts,
        },
        "reason": u.reason,
        "rules": list(u.rules),
        "needs_support": u.needs_support,
    }


# ---- metrics -----------------------------------------------------------------------------------


def _union(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def vm_down_intervals(windows: Iterable[Window]) -> dict[str, list[tuple[float, float]]]:
    """Per VM, the union of its ``data`` windows (a VM down for two reasons counts once).

    Only kind ``data`` of resource type ``vm`` counts: a VM whose secondary NIC is detached
    (kind ``nic``) is up, and a non-VM resource's data plane is in ``service_hours_down``."""
    per: dict[str, list[tuple[float, float]]] = {}
    for w in windows:
        if w.kind == "data" and w.resource_type == "vm":
            per.setdefault(w.resource, []).append((w.start, w.end))
    # most VMs are down once: their one interval is already its union
    return {vm: iv if len(iv) == 1 else _union(iv) for vm, iv in per.items()}


def is_service_down(w: Window) -> bool:
    """Whether ``w`` counts in ``service_hours_down``: the data plane of something that is not a
    VM (a ``data`` window of a non-VM resource: an Application Gateway removed, a gateway
    rebuilt), a VM's secondary NIC detached (``nic``: the VM is up, the NIC's traffic is not), or
    a connectivity loss (``connectivity``: a VNet peering removed, on each of its two VNets; a
    gateway's transit connectivity) or a platform service out (``service``: the managed
    domain of Azure AD Domain Services during its migration)."""
    if w.kind == "data":
        return w.resource_type != "vm"
    return w.kind in ("service", "nic", "connectivity")


class WindowHours(NamedTuple):
    """Hours of the windows that are neither the management lock nor a VM down, each resource's
    windows of one kind merged first (:func:`window_hours`)."""

    service_hours_down: float
    exposure_hours: float
    protection_gap_hours: float


def window_hours(windows: Iterable[Window]) -> WindowHours:
    """Service-hours down (:func:`is_service_down`), exposure hours (kind ``exposure``) and
    protection-gap hours (:data:`PROTECTION_GAP_KINDS`). Within each figure the windows of one
    resource and one kind are merged (their union), so a resource out for two overlapping
    reasons of the same kind counts once; different kinds (a VNet's peering and its gateway's
    transit, a VM's backup and its monitoring) add up."""
    service: dict[tuple[str, str], list[tuple[float, float]]] = {}
    exposure: dict[tuple[str, str], list[tuple[float, float]]] = {}
    gaps: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for w in windows:
        if w.kind == "management" or (w.kind == "data" and w.resource_type == "vm"):
            continue  # a lock, a VM down: in neither figure
        if is_service_down(w):
            target = service
        elif w.kind == "exposure":
            target = exposure
        elif w.kind in PROTECTION_GAP_KINDS:
            target = gaps
        else:
            continue
        target.setdefault((w.resource, w.kind), []).append((w.start, w.end))

    def hours(per: dict[tuple[str, str], list[tuple[float, float]]]) -> float:
        return sum(b - a for iv in per.values() for a, b in _union(iv)) / 60.0

    return WindowHours(hours(service), hours(exposure), hours(gaps))


def peak_concurrent(intervals: Iterable[tuple[float, float]]) -> tuple[int, float | None]:
    """Most intervals open at once (half-open: one ending as another starts is no overlap), and
    the first minute that many are open; ``(0, None)`` for none.

    Every start is +1 and every end -1, sorted by time with -1 first at a tie, summed as they
    come: the peak is the largest running sum (in NumPy: a replication has thousands)."""
    spans = np.array([iv for iv in intervals if iv[1] > iv[0]], dtype=np.float64).reshape(-1, 2)
    n = spans.shape[0]
    if n == 0:
        return 0, None
    times = np.concatenate((spans[:, 0], spans[:, 1]))
    deltas = np.concatenate((np.ones(n, dtype=np.int64), np.full(n, -1, dtype=np.int64)))
    order = np.lexsort((deltas, times))  # by time, then -1 before +1
    running = np.cumsum(deltas[order])
    first = int(np.argmax(running))  # the first time the largest sum is reached
    return int(running[first]), float(times[order[first]])


def iso(origin: datetime | None, minutes: float | None) -> str | None:
    """ISO 8601 UTC of simulation time ``minutes`` (to the second), or None without an origin."""
    if origin is None or minutes is None:
        return None
    t = origin + timedelta(seconds=round(minutes * 60.0))
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def local(origin: datetime | None, minutes: float | None, zone: ZoneInfo) -> str | None:
    """ISO 8601 with the offset of ``zone`` of simulation time ``minutes`` (to the second), or
    None without an origin: the ``*_local`` columns beside the ``*_utc`` ones."""
    if origin is None or minutes is None:
        return None
    return local_iso(at_minutes(origin, minutes), zone)


@paused_gc()
def summarize(rep: Replication, scenario: Scenario) -> Summary:
    """The summary of one replication of ``scenario`` (the resolved one, seed included)."""
    down = vm_down_intervals(rep.windows)
    vm_minutes = sum(b - a for iv in down.values() for a, b in iv)
    peak, peak_at = peak_concurrent(iv for ivs in down.values() for iv in ivs)
    lock_minutes = sum(w.duration for w in rep.windows if w.kind == "management")
    by_kind: dict[str, float] = {}
    for w in rep.windows:
        by_kind[w.kind] = by_kind.get(w.kind, 0.0) + w.duration / 60.0
    kinds = [k for k in WINDOW_KINDS if k in by_kind] + sorted(set(by_kind) - set(WINDOW_KINDS))
    hours = window_hours(rep.windows)
    makespan = rep.makespan
    return Summary(
        scenario_name=scenario.name,
        seed=rep.seed,
        deterministic=rep.deterministic,
        migsim_version=__version__,
        start=iso(rep.origin, 0.0),
        makespan_minutes=makespan,
        end=iso(rep.origin, makespan),
        units_total=len(rep.outcomes),
        units_migrated=sum(o.migrated for o in rep.outcomes),
        vm_hours_down=vm_minutes / 60.0,
        peak_vms_down=peak,
        peak_vms_down_at=peak_at,
        lock_resource_hours=lock_minutes / 60.0,
        window_hours_by_kind=tuple((k, by_kind[k]) for k in kinds),
        failed_attempts=sum(1 for e in rep.events if e.outcome == "fail"),
        throttle_minutes=rep.throttle_minutes,
        open_windows=rep.open_windows,
        units=rep.outcomes,
        post_migration_tasks=rep.post_tasks,
        origin=rep.origin,
        service_hours_down=hours.service_hours_down,
        exposure_hours=hours.exposure_hours,
        protection_gap_hours=hours.protection_gap_hours,
        timezone=scenario.plan.timezone,
        stopped_at=rep.stopped_at,
    )


# ---- writers -----------------------------------------------------------------------------------


def fmt_num(x: float) -> str:
    """A number as the CSV files write it: at most six decimals, no trailing zeros."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class _Stamps:
    """:func:`fmt_num`, :func:`iso` and :func:`local` of a minute, each worked out once per
    file: the windows of one unit's resources share their start and end (a 100,000-VM run has
    208,454 windows and far fewer distinct minutes), and the same minute gives the same text."""

    def __init__(self, origin: datetime | None, zone: ZoneInfo) -> None:
        self.origin, self.zone = origin, zone
        self._num: dict[float, str] = {}
        self._utc: dict[float, str] = {}
        self._local: dict[float, str] = {}

    @classmethod
    def of(
        cls, origin: datetime | None, zone: ZoneInfo
    ) -> tuple[Callable[[float], str], Callable[[float], str], Callable[[float], str]]:
        """The three formatters: the number, the UTC time and the time in ``zone`` ("" without
        an origin)."""
        s = cls(origin, zone)
        return s.num, s.utc, s.local

    def num(self, minutes: float) -> str:
        text = self._num.get(minutes)
        if text is None:
            text = self._num[minutes] = fmt_num(minutes)
        return text

    def utc(self, minutes: float) -> str:
        text = self._utc.get(minutes)
        if text is None:
            text = self._utc[minutes] = iso(self.origin, minutes) or ""
        return text

    def local(self, minutes: float) -> str:
        text = self._local.get(minutes)
        if text is None:
            text = self._local[minutes] = local(self.origin, minutes, self.zone) or ""
        return text


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


WINDOW_COLUMNS = (
    "resource",
    "resource_type",
    "unit",
    "kind",
    "start_min",
    "end_min",
    "duration_min",
    "start_utc",
    "end_utc",
    "start_local",
    "end_local",
    "cause",
)
"""The columns of ``windows.csv`` (the ``*_utc`` and ``*_local`` ones only with a plan start)."""

EVENT_COLUMNS = ("time_min", "time_utc", "time_local", "unit", "step", "outcome", "crew", "attempt")
"""The columns of ``events.csv`` (``time_utc`` and ``time_local`` only with a plan start)."""


def _clock_columns(columns: Sequence[str], clock: bool) -> list[str]:
    return [c for c in columns if clock or not c.endswith(("_utc", "_local"))]


def windows_csv(
    windows: Sequence[Window], origin: datetime | None, zone: ZoneInfo | None = None
) -> str:
    """``windows.csv``: one row per window, in the order the engine closed them. With an origin
    (``plan.start``) the clock times follow, in UTC and in ``zone`` (the plan's, with offset)."""
    clock = origin is not None
    tz = zone or ZoneInfo("UTC")
    header = _clock_columns(WINDOW_COLUMNS, clock)

    num, utc, here = _Stamps.of(origin, tz)

    def rows() -> Iterator[list[str]]:  # one at a time: no list of every row kept alive
        for w in windows:
            row = [w.resource, w.resource_type, w.unit, w.kind, num(w.start), num(w.end)]
            row.append(num(w.duration))
            if clock:
                row += [utc(w.start), utc(w.end), here(w.start), here(w.end)]
            row.append(w.cause)
            yield row

    return _csv(header, rows())


def events_csv(
    events: Sequence[Event],
    origin: datetime | None,
    zone: ZoneInfo | None = None,
    *,
    sources: Sequence[str] | None = None,
) -> str:
    """``events.csv``: one row per step start, end or failure, in simulation order (clock times
    in UTC and in ``zone`` with an origin, as :func:`windows_csv`). ``sources``: per event,
    ``actual`` or ``forecast``, written as a last column ``source`` (a re-forecast's,
    ``migsim replan``). Raises ``ValueError`` when ``sources`` is not one per event."""
    clock = origin is not None
    tz = zone or ZoneInfo("UTC")
    header = _clock_columns(EVENT_COLUMNS, clock)
    if sources is not None:
        if len(sources) != len(events):
            raise ValueError(f"expected {len(events)} sources, one per event, got {len(sources)}")
        header = [*header, "source"]

    num, utc, here = _Stamps.of(origin, tz)

    def rows() -> Iterator[list[str]]:  # one at a time, as windows_csv
        for i, e in enumerate(events):
            row = [num(e.time)]
            if clock:
                row += [utc(e.time), here(e.time)]
            crew = "" if e.crew is None else str(e.crew)
            row += [e.unit, e.step, e.outcome, crew, str(e.attempt)]
            if sources is not None:
                row.append(sources[i])
            yield row

    return _csv(header, rows())


UNIT_COLUMNS = (
    "unit",
    "kind",
    "vms",
    "status",
    "first_start_min",
    "commit_end_min",
    "end_min",
    "first_start_utc",
    "commit_end_utc",
    "end_utc",
    "first_start_local",
    "commit_end_local",
    "end_local",
    "validate_attempts",
    "prepare_attempts",
    "commit_attempts",
    "needs_support",
    "rules",
    "reason",
)
"""The columns of ``units.csv`` (the ``*_utc`` and ``*_local`` ones only when the plan has a
start)."""


def units_csv(
    units: Sequence[UnitOutcome], origin: datetime | None, zone: ZoneInfo | None = None
) -> str:
    """``units.csv``: one row per unit in the order of the run (:data:`UNIT_COLUMNS`): its
    kind, VMs, status, first start, end of Commit and end (minutes, and UTC with a plan start;
    empty when it never began), attempts per step, ``needs_support`` (``true``/``false``), the
    rules that kept it back (``;``-separated) and the reason it was not migrated. The clock
    times are in UTC and in ``zone`` (the plan's), as in :func:`windows_csv`."""
    clock = origin is not None
    tz = zone or ZoneInfo("UTC")
    header = _clock_columns(UNIT_COLUMNS, clock)

    def num(x: float | None) -> str:
        return "" if x is None else fmt_num(x)

    rows = []
    for u in units:
        row = [u.unit, u.kind, str(u.vms), u.status, num(u.first_start), num(u.commit_end)]
        row.append(num(u.end))
        if clock:
            row += [iso(origin, t) or "" for t in (u.first_start, u.commit_end, u.end)]
            row += [local(origin, t, tz) or "" for t in (u.first_start, u.commit_end, u.end)]
        row += [str(u.validate_attempts), str(u.prepare_attempts), str(u.commit_attempts)]
        row += ["true" if u.needs_support else "false", ";".join(u.rules), u.reason]
        rows.append(row)
    return _csv(header, rows)


def summary_json(summary: Summary) -> str:
    """``summary.json``: the figures of :meth:`Summary.as_dict` without the per-unit outcomes
    (``units.csv``); two-space indented, keys in a fixed order, a final newline."""
    data = summary.as_dict(units=False)
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
