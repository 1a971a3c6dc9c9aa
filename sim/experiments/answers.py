"""What a change board asks of a Monte Carlo run, answered in clock time.

"When are we done, in our time, and how sure are we?": the finish at P50, P80 and P90 as clock
times in the plan's zone; the share of replications that have everything committed by the end of
each maintenance-window occurrence ("done in window 1: 87 %, by window 2: 100 %"); and, when the
plan sets ``plan.deadline``, P(done by the deadline) with its 95 % Wilson interval. A finish that
falls in several windows is a distribution with several modes (the next weekend): it is reported
window by window, never as one mean.

"Done" means every unit the plan can migrate committed, none left behind or locked by failed
Commits; a replication that leaves such a unit behind is done in no window and counts against
every share. Units the rules block under the plan (``migsim validate`` says "blocked"), and the
units that must wait for them, are out of the night's scope: they are never migrated in any
replication, and they are named apart (:func:`out_of_scope`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import networkx as nx
from scipy.stats import binomtest

from sim.common.clocktime import (
    at_minutes,
    clock_text,
    exact_at,
    local_iso,
    nearest_minute,
    relative_text,
    span_text,
)
from sim.common.stats import CONFIDENCE, percentiles
from sim.experiments.replications import ReplicationRow
from sim.model.calendar import Calendar
from sim.model.plan import Plan
from sim.model.rules import Finding, unit_status
from sim.model.units import MigrationUnits

if TYPE_CHECKING:
    from sim.experiments.comparison import Comparison

QUANTILES = (50.0, 80.0, 90.0)
"""The finish percentiles stated as clock times."""

MODE_SHARE = 0.05
"""A window holding at least this share of the finishes is one mode of the distribution (a
presentation choice: below it, a window is a tail, not a mode)."""

MAX_WINDOWS = 12
"""Windows listed one by one; finishes after the last listed one are summed as "later"."""


@dataclass(frozen=True)
class WindowShare:
    """One maintenance-window occurrence: ``index`` (1-based, the first one open at or after the
    start), its span in minutes from ``plan.start``, how many replications finished inside it
    (``done_in``) and by its end (``done_by``), of ``n``."""

    index: int
    start_min: float
    end_min: float
    done_in: int
    done_by: int
    n: int

    @property
    def share_in(self) -> float:
        return self.done_in / self.n if self.n else 0.0

    @property
    def share_by(self) -> float:
        return self.done_by / self.n if self.n else 0.0


@dataclass(frozen=True)
class Deadline:
    """P(done by ``plan.deadline``): ``done`` of ``n`` replications, with a Wilson interval."""

    minutes: float
    done: int
    n: int
    low: float
    high: float

    @property
    def share(self) -> float:
        return self.done / self.n if self.n else 0.0


@dataclass(frozen=True)
class FinishAnswers:
    """The clock-time answers of ``n`` replications (minutes from ``plan.start``; clock times in
    ``timezone`` when the plan has a start)."""

    n: int
    timezone: str
    origin: datetime | None
    quantiles: tuple[tuple[float, float | None], ...]  # (percentile, minutes or None: not done)
    windows: tuple[WindowShare, ...]
    later: int  # done, but after the last listed window
    not_done: int  # a unit left behind: done in no window
    deadline: Deadline | None
    out_of_scope: int = 0  # units blocked under the plan (and those waiting for them)
    blocked: tuple[str, ...] = ()
    """Units this alternative of a comparison never migrates (blocked under its plan, or waiting
    for a blocked unit) that another alternative can: they keep every replication from being
    done (``out_of_scope`` counts only the units out of scope in every alternative)."""

    def share_by(self, k: int) -> float | None:
        """The share done by the end of window ``k`` (cumulative: after the last window anyone
        finished in, it stays); None when the plan has no windows or ``k`` is past those
        listed (:data:`MAX_WINDOWS`) while some finished later."""
        if not self.windows or (k > self.windows[-1].index and self.later):
            return None
        listed = [w for w in self.windows if w.index <= k]
        return listed[-1].share_by if listed else 0.0

    def blocked_text(self) -> str:
        """``2 units never migrated``: what :attr:`blocked` means to a planner."""
        n = len(self.blocked)
        return f"{n} unit{'s' if n != 1 else ''} never migrated: blocked under this plan"

    def not_migrated_text(self) -> str:
        """Why replications are not done, for a comparison's table: ``2 units (blocked)``, units
        never migrated under this plan; else ``in 12.0 %``, the share of replications that left
        a unit behind or locked; empty when every replication is done."""
        if self.blocked:
            n = len(self.blocked)
            return f"{n} unit{'s' if n != 1 else ''} (blocked)"
        if self.not_done:
            return f"in {100 * self.not_done / self.n:.1f} %"
        return ""

    @property
    def modes(self) -> tuple[WindowShare, ...]:
        """The windows holding at least :data:`MODE_SHARE` of the finishes."""
        return tuple(w for w in self.windows if w.n and w.share_in >= MODE_SHARE)

    def clock(self, minutes: float | None) -> str:
        """A time in the plan's zone, or ``+7h55m`` from the start without ``plan.start``;
        ``not done`` for a percentile that falls among replications never done."""
        if minutes is None:
            return "not done"
        if self.origin is None:
            return f"{relative_text(minutes)} from the start"
        from zoneinfo import ZoneInfo

        return clock_text(exact_at(self.origin, minutes), ZoneInfo(self.timezone))

    def short(self, minutes: float | None) -> str:
        """``Mon 07 Dec 02:05``: a local time for a table whose title names the zone."""
        if minutes is None:
            return "not done"
        if self.origin is None:
            return relative_text(minutes)
        from zoneinfo import ZoneInfo

        t = nearest_minute(exact_at(self.origin, minutes))
        return t.astimezone(ZoneInfo(self.timezone)).strftime("%a %d %b %H:%M")

    def span(self, a: float, b: float) -> str:
        """A window's span in the plan's zone (minutes from the start without ``plan.start``)."""
        if self.origin is None:
            return f"{relative_text(a)} to {relative_text(b)} from the start"
        from zoneinfo import ZoneInfo

        return span_text(
            exact_at(self.origin, a), exact_at(self.origin, b), ZoneInfo(self.timezone)
        )

    def lines(self) -> list[tuple[str, str]]:
        """``(label, value)`` rows: what ``migsim run`` and ``compare`` print."""
        rows = [(f"Finish P{p:g}", self.clock(m)) for p, m in self.quantiles]
        for w in self.windows:
            span = self.span(w.start_min, w.end_min)
            what = "Done in window 1" if w.index == 1 else f"By window {w.index}"
            label = f"{what} ({span})"
            value = f"{100 * w.share_by:.1f} %"
            if w.index > 1:
                value += f" ({100 * w.share_in:.1f} % finish in it)"
            rows.append((label, value))
        if self.later:
            rows.append(("Later", f"{100 * self.later / self.n:.1f} %"))
        if self.not_done:
            rows.append(
                ("Never done (a unit left behind)", f"{100 * self.not_done / self.n:.1f} %")
            )
        if self.blocked:
            rows.append((f"Never migrated ({self.blocked_text()})", ", ".join(self.blocked)))
        if self.out_of_scope:
            rows.append(
                (
                    "Out of scope (blocked, or waiting for a blocked unit)",
                    f"{self.out_of_scope} units: never migrated; the answers leave them out",
                )
            )
        if self.deadline is not None:
            d = self.deadline
            rows.append(
                (
                    f"Done by the deadline ({self.clock(d.minutes)})",
                    f"{100 * d.share:.1f} % (95 % CI {100 * d.low:.1f} to {100 * d.high:.1f} %)",
                )
            )
        modes = self.modes
        if len(modes) > 1:
            where = ", ".join(f"window {w.index} ({100 * w.share_in:.0f} %)" for w in modes)
            rows.append(("Finish has several modes", f"{where}: read the windows, not a mean"))
        return rows

    def as_dict(self) -> dict[str, Any]:
        """The ``finish`` block of ``statistics.json``."""
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(self.timezone)

        def when(minutes: float | None) -> dict[str, Any]:
            if minutes is None:  # a percentile among replications never done
                return {"minutes": None, "text": self.clock(None)}
            out: dict[str, Any] = {"minutes": round(minutes, 6)}
            if self.origin is not None:
                t = at_minutes(self.origin, minutes)
                out["utc"] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
                out["local"] = local_iso(t, zone)
            out["text"] = self.clock(minutes)
            return out

        return {
            "replications": self.n,
            "timezone": self.timezone,
            "quantiles": {f"P{p:g}": when(m) for p, m in self.quantiles},
            "windows": [
                {
                    "window": w.index,
                    "start": when(w.start_min),
                    "end": when(w.end_min),
                    "done_in": w.done_in,
                    "done_by": w.done_by,
                    "share_in": round(w.share_in, 6),
                    "share_by": round(w.share_by, 6),
                }
                for w in self.windows
            ],
            "later": self.later,
            "not_done": self.not_done,
            "out_of_scope_units": self.out_of_scope,
            "blocked_units": list(self.blocked),
            "modes": [w.index for w in self.modes],
            "deadline": None
            if self.deadline is None
            else {
                **when(self.deadline.minutes),
                "done": self.deadline.done,
                "share": round(self.deadline.share, 6),
                "ci_low": round(self.deadline.low, 6),
                "ci_high": round(self.deadline.high, 6),
            },
        }


def _done_percentile(minutes: Sequence[float], done: Sequence[bool], p: float) -> float | None:
    """Percentile ``p`` of the finish, a replication never done counting as never finishing:
    the value :func:`sim.common.stats.percentiles` gives when every replication is done; None
    when the percentile reaches the replications never done (its interpolation would need one
    of their "never" finishes)."""
    finished = sorted(m for m, ok in zip(minutes, done, strict=True) if ok)
    n = len(minutes)
    pos = p / 100.0 * (n - 1)  # numpy's linear method
    if math.ceil(pos) >= len(finished):
        return None
    if len(finished) == n:
        return percentiles(minutes, (p,))[p]
    lo = math.floor(pos)
    return finished[lo] + (finished[math.ceil(pos)] - finished[lo]) * (pos - lo)


def out_of_scope(units: MigrationUnits, findings: Sequence[Finding], plan: Plan) -> frozenset[str]:
    """The units no replication of ``plan`` can migrate: those a finding blocks under the plan,
    and every unit that must wait for one of them (their descendants in the must-precede
    graph)."""
    blocked = {uid for uid, s in unit_status(findings, plan, units).items() if s == "blocked"}
    out = set(blocked)
    for uid in blocked:
        out |= nx.descendants(units.dag, uid)
    return frozenset(out)


def finish_answers(
    rows: Sequence[ReplicationRow], plan: Plan, scope: int = 0, blocked: Sequence[str] = ()
) -> FinishAnswers:
    """The clock-time answers of ``rows`` (replications of ``plan``); ``scope`` units
    (:func:`out_of_scope`) are never migrated and do not keep a replication from being done;
    ``blocked`` units (in a comparison: out of this alternative's scope only) are never migrated
    either and do keep every replication from being done.

    Raises :class:`ValueError` when ``rows`` is empty.
    """
    if not rows:
        raise ValueError("no replications to answer from")
    n = len(rows)
    minutes = [r.makespan_hours * 60.0 for r in rows]
    done = [r.units_not_migrated <= scope and r.units_needing_support == 0 for r in rows]
    last = max((r.finish_window for r, ok in zip(rows, done, strict=True) if ok), default=0)
    if any(r.finish_window for r in rows):  # the plan has windows: window 1 is always answered
        last = max(last, 1)
    shown = min(last, MAX_WINDOWS)
    occurrences: list[tuple[float, float]] = []
    if shown:
        cal = Calendar.of(plan)
        horizon = max(minutes) + 1.0
        while True:
            occurrences = [(a, b) for a, b in cal.intervals(0.0, horizon) if b > 0.0]
            if len(occurrences) >= shown or horizon > 1e8:
                break
            horizon *= 2
    windows = []
    by = 0
    for k in range(1, min(shown, len(occurrences)) + 1):
        inside = sum(1 for r, ok in zip(rows, done, strict=True) if ok and r.finish_window == k)
        by += inside
        a, b = occurrences[k - 1]
        windows.append(WindowShare(k, a, b, inside, by, n))
    no_window = sum(1 for r, ok in zip(rows, done, strict=True) if ok and r.finish_window == 0)
    later = sum(done) - by - no_window
    deadline = None
    limit = plan.deadline_minutes()
    if limit is not None:
        hits = sum(1 for m, ok in zip(minutes, done, strict=True) if ok and m <= limit + 1e-6)
        ci = binomtest(hits, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
        deadline = Deadline(limit, hits, n, float(ci.low), float(ci.high))
    return FinishAnswers(
        n=n,
        timezone=plan.timezone,
        origin=plan.start,
        quantiles=tuple((p, _done_percentile(minutes, done, p)) for p in QUANTILES),
        windows=tuple(windows),
        later=later,
        not_done=n - sum(done),
        deadline=deadline,
        out_of_scope=scope,
        blocked=tuple(blocked),
    )


def compare_answers(comparison: Comparison) -> list[tuple[str, FinishAnswers]]:
    """``(alternative, answers)`` for every alternative of ``comparison``, on the replications
    every alternative completed (the ones its statistics use).

    Only the units out of scope in every alternative (:attr:`Comparison.common_scope`) are left
    out of "done": a unit one alternative blocks and another migrates keeps the first from being
    done in any replication, and its answers name it (:attr:`FinishAnswers.blocked`), so that
    "everything committed" means the same work in every row.
    """
    used = set(comparison.used)
    scopes = comparison.scopes or tuple(
        out_of_scope(p.units, p.findings, p.plan)
        for p in (alt.prepare() for alt in comparison.alternatives)
    )
    common = frozenset.intersection(*scopes) if scopes else frozenset()
    out = []
    for name, alt, rows, scope in zip(
        comparison.names, comparison.alternatives, comparison.results, scopes, strict=True
    ):
        kept = [r for r in rows if r.replication in used]
        if kept:
            blocked = sorted(scope - common)
            answers = finish_answers(kept, alt.scenario.plan, len(scope & common), blocked)
            out.append((name, answers))
    return out


ANSWER_COLUMNS = (
    "alternative",
    "P50",
    "P80",
    "P90",
    "done in window 1",
    "by window 2",
    "deadline",
    "not migrated",
)
"""The columns of :func:`answer_rows`."""


def answer_rows(answers: Sequence[tuple[str, FinishAnswers]]) -> list[tuple[str, ...]]:
    """One terminal row per alternative: finish percentiles as local clock times (the table's
    title names the zone), done in window 1 / by window 2, P(deadline) with its 95 % interval, and
    why replications are not done (:meth:`FinishAnswers.not_migrated_text`): a percentile among
    them reads "not done", never a finish time."""
    rows = []
    for name, a in answers:
        cells = [name]
        for _, minutes in a.quantiles:
            cells.append(a.short(minutes))
        for k in (1, 2):
            share = a.share_by(k)
            cells.append("" if share is None else f"{100 * share:.1f} %")
        d = a.deadline
        cells.append(
            "" if d is None else f"{100 * d.share:.1f} % ({100 * d.low:.0f}-{100 * d.high:.0f})"
        )
        cells.append(a.not_migrated_text())
        rows.append(tuple(cells))
    return rows


def compare_finish_csv(answers: Sequence[tuple[str, FinishAnswers]]) -> str:
    """``compare-finish.csv``: one row per alternative, the finish percentiles (minutes from the
    start, UTC and local ISO 8601 when the plan has a start), done by windows 1 and 2 (shares of
    the replications) and P(done by the deadline) with its 95 % interval (empty without one); a
    percentile among replications never done is empty. Then ``not_done_share`` (replications
    never done: a unit left behind, locked or never migrated) and ``units_never_migrated`` (units
    out of this alternative's scope that another alternative migrates, ``;``-separated)."""
    import csv
    import io

    header = ["alternative", "replications", "timezone"]
    for p in QUANTILES:
        header += [f"p{p:g}_min", f"p{p:g}_utc", f"p{p:g}_local"]
    header += ["done_by_window_1", "done_by_window_2", "deadline_share", "deadline_low"]
    header += ["deadline_high", "not_done_share", "units_never_migrated"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for name, a in answers:
        d = a.as_dict()
        row: list[str] = [name, str(a.n), a.timezone]
        for p in QUANTILES:
            q = d["quantiles"][f"P{p:g}"]
            minutes = "" if q["minutes"] is None else f"{q['minutes']:g}"
            row += [minutes, q.get("utc", ""), q.get("local", "")]
        shares = [a.share_by(k) for k in (1, 2)]  # as the terminal table has them
        row += ["" if s is None else f"{round(s, 6):g}" for s in shares]
        dl = d["deadline"]
        row += (
            ["", "", ""] if dl is None else [f"{dl[k]:g}" for k in ("share", "ci_low", "ci_high")]
        )
        row += [f"{a.not_done / a.n:g}", ";".join(a.blocked)]
        writer.writerow(row)
    return buf.getvalue()
