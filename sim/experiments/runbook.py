"""The runbook of a plan: what ``migsim runbook`` builds (the writers are in
:mod:`sim.outputs.runbook`; ``docs/runbook.md`` is the user's page).

The plan
    The runbook is the deterministic plan: every duration at its central value and no failure
    drawn (``plan.failures`` set to zero), so every step succeeds at its first attempt. That is
    the schedule the crews are given; what failures and retries cost is in the P80 column. One
    row per step the engine starts, in the order it starts them (``events.csv``'s order).

The P80 end
    Given a run folder with replications (``migsim run --replications N --out DIR``), each
    replication listed in ``replications.csv`` is run again from the folder's scenario with the
    same seed (:meth:`~sim.experiments.replications.Prepared.replicate`), and each row gets the
    80th percentile over those replications of the time its step had ended (a step done twice,
    such as a pre-step undone and redone, counts its last end; a step that never ended, its unit
    left behind, counts as not reached). Every re-run replication is checked against its row
    in ``replications.csv``: a folder written by another migsim version, or whose scenario
    changed, is refused rather than given wrong percentiles. ``kept-windows.csv`` is not used:
    it holds windows, not step ends, of only the first few replications.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from sim.common.clocktime import at_minutes, clock_text, span_text
from sim.common.errors import InputError, ReferenceProblem
from sim.common.inputfiles import read_input_text, regular_file_in, shown_path
from sim.common.stats import PERCENTILE_METHOD
from sim.common.timeparse import format_clock, format_minutes
from sim.common.version import __version__
from sim.engine.sampling import replication_seed
from sim.experiments.answers import finish_answers
from sim.experiments.replications import Prepared, ReplicationRow, row_of
from sim.experiments.run import RunResult, run_scenario
from sim.experiments.runner import replications_csv
from sim.model.calendar import EPS, Calendar
from sim.model.commands import (
    ExistingVNet,
    remedy_action,
    rollback_note,
    step_command,
    step_label,
    step_rule,
)
from sim.model.graph import node_id
from sim.model.plan import MAX_SEED, Plan
from sim.model.remedies import REMEDIES
from sim.model.rules import Finding
from sim.model.scenario import Scenario, load_scenario
from sim.model.units import MigrationUnits
from sim.outputs.records import Event, Replication, Window
from sim.outputs.report import check_summary
from sim.outputs.runbook import Opened, Runbook, RunbookStep, WindowOccurrence, names

Progress = Callable[[int, int], None]

P80 = 80.0
"""The percentile of each step's end given from replications."""

_RULE = re.compile(r"^(MIG\d+):")


def failure_free(scenario: Scenario) -> Scenario:
    """``scenario`` with every failure probability set to zero: the plan as the crews run it."""
    failures = scenario.plan.failures.model_copy(
        update={"validate_": 0.0, "prepare": 0.0, "commit": 0.0}
    )
    plan = scenario.plan.model_copy(update={"failures": failures})
    return scenario.model_copy(update={"plan": plan})


def plan_run(scenario: Scenario) -> RunResult:
    """The deterministic, failure-free run the runbook is made of."""
    return run_scenario(failure_free(scenario), deterministic=True)


# ---- reading a run folder ----------------------------------------------------------------------


class RunFolder:
    """What the runbook reads from a folder written by ``migsim run --out DIR``: its scenario
    (``scenario.yaml`` when present, else the one ``summary.json`` embeds), the seed and
    duration mode the run used, and the replication rows of ``replications.csv`` (text)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        summary_path = folder / "summary.json"
        shown = str(summary_path)
        if not regular_file_in(summary_path, shown, "the summary.json of a run"):
            raise InputError(
                str(folder),
                (),
                "holds no run; expected a scenario file or a folder written by migsim run --out"
                " DIR (with summary.json)",
            )
        text = read_input_text(summary_path, shown, "the summary.json of a run")
        try:
            summary = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            line = exc.lineno if isinstance(exc, json.JSONDecodeError) else None
            raise InputError(
                shown_path(shown), (), f"cannot be read as JSON: {exc}", line=line
            ) from None
        if not isinstance(summary, dict):
            raise InputError(shown_path(shown), (), "expected a JSON object")
        self.summary: dict[str, Any] = summary
        self.scenario = self._scenario(summary)
        seed = summary.get("seed")
        if seed is not None:
            if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
                raise InputError(
                    shown_path(shown),
                    ("seed",),
                    f"expected the run's seed, a whole number 0 or more (got {seed!r:.60}) and"
                    f" at most {MAX_SEED:,}",
                )
            plan = self.scenario.plan.model_copy(update={"seed": seed})
            self.scenario = self.scenario.model_copy(update={"plan": plan})
        deterministic = summary.get("deterministic", False)
        if not isinstance(deterministic, bool):
            raise InputError(
                shown_path(shown),
                ("deterministic",),
                f"expected true or false (got {deterministic!r:.60})",
            )
        self.deterministic = deterministic
        try:  # every other figure within what a run writes, as the report reads them
            check_summary(summary)
        except ValueError as exc:
            raise InputError(
                shown_path(shown), (), f"{exc}; expected the summary.json migsim run wrote"
            ) from None
        self.rows = self._rows()
        self.failed = self._failed()

    def _failed(self) -> tuple[int, int] | None:
        """``(requested, failed)`` from ``statistics.json`` when replications failed (a run
        written with ``--allow-failures``), else None."""
        path = self.folder / "statistics.json"
        what = "the statistics.json of a run"
        if not self.rows or not regular_file_in(path, str(path), what):
            return None
        text = read_input_text(path, str(path), what)
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            line = exc.lineno if isinstance(exc, json.JSONDecodeError) else None
            raise InputError(
                shown_path(str(path)), (), f"cannot be read as JSON: {exc}", line=line
            ) from None
        if not isinstance(data, dict) or "replications_failed" not in data:
            return None
        requested: Any = data.get("replications_requested")
        failed: Any = data.get("replications_failed")
        if not (
            _whole(requested)
            and _whole(failed)
            and 0 < failed <= requested
            and requested == failed + len(self.rows)
        ):
            raise InputError(
                shown_path(str(path)),
                ("replications_failed",),
                f"expected the failed replications of the {len(self.rows)} in replications.csv"
                f" (replications_requested {requested!r:.30}, replications_failed"
                f" {failed!r:.30})",
            )
        return requested, failed

    def _scenario(self, summary: dict[str, Any]) -> Scenario:
        beside = self.folder / "scenario.yaml"
        if regular_file_in(beside, str(beside), "the scenario.yaml of a run"):
            return load_scenario(beside)
        data = summary.get("scenario")
        if not isinstance(data, dict) or not data:
            raise InputError(
                str(self.folder),
                (),
                "has no scenario; expected scenario.yaml beside summary.json, or a summary.json"
                " with its scenario",
            )
        try:
            return Scenario.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InputError(
                shown_path(str(self.folder / "summary.json")),
                ("scenario", *first["loc"]),
                f"{first['msg']}; expected the scenario migsim run wrote",
            ) from None
        except ReferenceProblem as exc:
            loc, message = exc.problems[0]
            raise InputError(
                shown_path(str(self.folder / "summary.json")),
                ("scenario", "estate", *loc),
                f"{message}; expected the scenario migsim run wrote",
            ) from None

    def _rows(self) -> list[dict[str, str]]:
        path = self.folder / "replications.csv"
        what = "the replications.csv of a run"
        if not regular_file_in(path, str(path), what):
            return []
        text = read_input_text(path, str(path), what)
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows: list[dict[str, str]] = []
        try:
            for row in reader:
                value = row.get("replication") or ""
                if not _REPLICATION.fullmatch(value):
                    raise InputError(
                        shown_path(str(path)),
                        ("replication",),
                        f"expected a replication number (0 to 999,999,999), got {value!r:.60}",
                        line=reader.line_num,
                    )
                rows.append(row)
        except csv.Error as exc:
            raise InputError(
                shown_path(str(path)), (), f"is not CSV ({exc})", line=reader.line_num
            ) from None
        return rows


_REPLICATION = re.compile(r"[0-9]{1,9}")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---- the steps ---------------------------------------------------------------------------------


def _pairs(events: Sequence[Event]) -> list[tuple[Event, Event]]:
    """Each step's start with its end (or failure), in the order the steps start."""
    open_: dict[tuple[str, str, int], list[int]] = {}
    ends: dict[int, Event] = {}
    starts: list[Event] = []
    for e in events:
        key = (e.unit, e.step, e.attempt)
        if e.outcome == "start":
            open_.setdefault(key, []).append(len(starts))
            starts.append(e)
        elif e.outcome in ("end", "fail") and open_.get(key):
            ends[open_[key].pop(0)] = e
    return [(s, ends[i]) for i, s in enumerate(starts) if i in ends]


def _occurrences(plan: Plan, horizon: float) -> list[tuple[float, float]]:
    """The maintenance-window occurrences up to ``horizon``, numbered as
    :func:`sim.experiments.answers.finish_answers` numbers them (the first one open at or after
    the start is 1)."""
    cal = Calendar.of(plan)
    if cal.always_open:
        return []
    return [(a, b) for a, b in cal.intervals(0.0, horizon) if b > 0.0]


def _window_of(t: float, occurrences: Sequence[tuple[float, float]]) -> int | None:
    for k, (a, b) in enumerate(occurrences, start=1):
        if a - EPS <= t < b + EPS:
            return k
    return None


class _Openers:
    """Which row (an index into ``pairs``) opens a window: Prepare opens the management lock; a
    remediation pre-step opens its rule's window when it ends (Commit, for what Commit drops);
    Stop opens the downtime of a cloud service's VMs; otherwise the unit's step that was running
    when the window opened."""

    def __init__(self, pairs: Sequence[tuple[Event, Event]]) -> None:
        self.pairs = pairs
        self.by_unit: dict[str, list[int]] = {}
        self.starts: dict[tuple[str, str, float], int] = {}  # (unit, step, start) -> row
        self.ends: dict[tuple[str, str, float], int] = {}  # (unit, step, end) -> row
        self.pre_ends: dict[tuple[str, float], int] = {}  # (rule, end) -> pre-step row
        for i, (s, e) in enumerate(pairs):
            self.by_unit.setdefault(s.unit, []).append(i)
            self.starts.setdefault((s.unit, s.step, _key(s.time)), i)
            self.ends.setdefault((s.unit, s.step, _key(e.time)), i)
            rule = step_rule(s.step)
            if rule is not None and s.step.startswith("remediate:"):
                self.pre_ends.setdefault((rule, _key(e.time)), i)

    def row(self, w: Window) -> int | None:
        at = _key(w.start)
        if w.kind == "management":
            found = self.starts.get((w.unit, "prepare", at))
            if found is not None:
                return found
        m = _RULE.match(w.cause)
        if m:
            found = self.pre_ends.get((m.group(1), at))
            if found is None:
                found = self.ends.get((w.unit, "commit", at))
            if found is not None:
                return found
        found = self.starts.get((w.unit, "stop", at))
        if found is not None:
            return found
        pairs = self.pairs
        running = [
            i
            for i in self.by_unit.get(w.unit, [])
            if pairs[i][0].time - EPS <= w.start <= pairs[i][1].time + EPS
        ]
        return running[-1] if running else None


def _key(t: float) -> float:
    # Windows open at the very minute a step starts or ends (the same float on the engine's
    # clock); rounding only guards against a last-digit difference.
    return round(t, 6)


def _resources(
    step: str, unit: str, units: MigrationUnits, findings: dict[str, list[Finding]]
) -> tuple[tuple[str, ...], str]:
    """The resources a step works on (graph node ids) and, for a remediation step, the rule's
    remediation text."""
    rule = step_rule(step)
    if rule is not None:
        of_rule = findings.get(rule, [])
        own = [f for f in of_rule if f.unit == unit]
        if rule == "MIG014":  # remediate:MIG014:a+b: the peering of VNets a and b
            ends = set(step.split(":", 2)[-1].split("+"))
            own = [f for f in of_rule if f.unit in ends] or own
        if not own:  # a subscription-wide step (MIG020) runs under one of its units
            own = of_rule
        resources = tuple(dict.fromkeys(r for f in own for r in f.resources))
        return resources, own[0].remediation if own else ""
    u = units[unit]
    if step in ("stop", "deallocate", "start"):
        return tuple(node_id("vm", vm) for vm in u.vms), ""
    return u.resources, ""


def build_steps(
    run: RunResult, *, existing: ExistingVNet | None = None
) -> tuple[list[RunbookStep], list[WindowOccurrence]]:
    """The runbook's rows of ``run`` (the plan's run, :func:`plan_run`) and the
    window occurrences they start in, numbered from the plan's start."""
    rep = run.replication
    plan = run.scenario.plan
    location = run.scenario.estate.location
    pairs = _pairs(rep.events)
    horizon = max((e.time for _, e in pairs), default=0.0) + 1.0
    occurrences = _occurrences(plan, horizon)

    openers = _Openers(pairs)
    opened: dict[int, dict[tuple[str, float, float], list[str]]] = {}
    for w in rep.windows:
        at = openers.row(w)
        if at is not None:
            opened.setdefault(at, {}).setdefault((w.kind, w.start, w.end), []).append(w.resource)

    by_rule: dict[str, list[Finding]] = {}
    for f in run.findings:
        by_rule.setdefault(f.rule, []).append(f)
    steps: list[RunbookStep] = []
    no_way_back: set[str] = set()  # units whose final pre-step (MIG008) has run
    committed: set[str] = set()
    for i, (s, e) in enumerate(pairs):
        unit = run.units[s.unit]
        rule = step_rule(s.step)
        final = s.unit in no_way_back
        if rule is not None and s.step.startswith("remediate:") and REMEDIES[rule].final:
            no_way_back.add(s.unit)
        resources, remediation = _resources(s.step, s.unit, run.units, by_rule)
        if step_rule(s.step) is not None:
            command = remedy_action(s.step, names(resources), remediation)
        else:
            command = step_command(unit, s.step, existing=existing, location=location, final=final)
        opens = tuple(
            Opened(kind, tuple(dict.fromkeys(rs)), a, b)
            for (kind, a, b), rs in opened.get(i, {}).items()
        )
        steps.append(
            RunbookStep(
                index=i + 1,
                window=_window_of(s.time, occurrences),
                crew=s.crew,
                unit=s.unit,
                unit_kind=unit.kind,
                resources=resources,
                step=s.step,
                label=step_label(s.step),
                command=command,
                start=s.time,
                end=e.time,
                p80_end=None,
                opens=opens,
                rollback=rollback_note(
                    unit,
                    s.step,
                    existing=existing,
                    location=location,
                    final=final,
                    committed=s.unit in committed,
                ),
            )
        )
        if s.step == "commit" and e.outcome == "end":
            committed.add(s.unit)
    used = sorted({s.window for s in steps if s.window is not None})
    last = used[-1] if used else 0
    windows = [WindowOccurrence(k, *occurrences[k - 1]) for k in range(1, last + 1)]
    return steps, windows


# ---- P80 ends from replications ---------------------------------------------------------------


def _step_ends(rep: Replication, keys: set[tuple[str, str]]) -> dict[tuple[str, str], list[float]]:
    ends: dict[tuple[str, str], list[float]] = {}
    for e in rep.events:
        if e.outcome == "end" and (e.unit, e.step) in keys:
            ends.setdefault((e.unit, e.step), []).append(e.time)
    return ends


def _matches(row: ReplicationRow, written: dict[str, str]) -> bool:
    mine = next(csv.DictReader(io.StringIO(replications_csv([row]))))
    return all(written.get(c) == v for c, v in mine.items() if c in written)


def p80_ends(
    scenario: Scenario,
    rows: Sequence[dict[str, str]],
    steps: Sequence[RunbookStep],
    *,
    deterministic: bool = False,
    source: str = "replications.csv",
    progress: Progress | None = None,
) -> tuple[list[float], list[ReplicationRow]]:
    """Per step, the P80 of its end over the replications ``rows`` (``replications.csv``'s
    rows) re-run from ``scenario``; and the re-run rows. Raises :class:`InputError` when a
    replication does not give its row back."""
    prepared = Prepared.of(scenario)
    keys = {(s.unit, s.step) for s in steps}
    count: dict[tuple[str, str], int] = {}
    rank: list[int] = []  # the k-th occurrence of its (unit, step) in the plan
    for s in steps:
        key = (s.unit, s.step)
        rank.append(count.get(key, 0))
        count[key] = rank[-1] + 1
    samples: list[list[float]] = [[] for _ in steps]
    again: list[ReplicationRow] = []
    total = len(rows)
    if progress is not None:
        progress(0, total)
    for n, written in enumerate(rows, start=1):
        r = int(written["replication"])
        rep = prepared.replicate(r, deterministic=deterministic)
        row = row_of(rep, r)
        if not _matches(row, written):
            seed = replication_seed(scenario.plan.seed, r)
            raise InputError(
                source,
                (),
                f"replication {r} (seed {seed}) does not give its row back when run again: the"
                " folder was written by another migsim version or its scenario changed;"
                " expected the folder of a fresh migsim run (or give the scenario file)",
            )
        again.append(row)
        ends = _step_ends(rep, keys)
        for i, s in enumerate(steps):
            key = (s.unit, s.step)
            got = ends.get(key, [])
            # Align from the last end: a step redone (a pre-step undone before a wait) ends
            # more often than in the plan, and its last ends are the plan's.
            j = len(got) - count[key] + rank[i]
            samples[i].append(got[j] if 0 <= j < len(got) else math.inf)
        if progress is not None:
            progress(n, total)
    out: list[float] = []
    for values in samples:
        arr = np.sort(np.asarray(values, dtype=np.float64))
        position = (P80 / 100.0) * (arr.size - 1)
        if arr.size == 0 or math.isinf(arr[math.ceil(position)]):
            out.append(math.inf)
        else:
            out.append(float(np.percentile(arr, P80, method=PERCENTILE_METHOD)))
    return out, again


# ---- the runbook -------------------------------------------------------------------------------


def _window_definitions(plan: Plan) -> str:
    parts = []
    for w in plan.maintenance_windows:
        if w.every is not None and w.at is not None:
            at = format_clock(int(w.at))
            parts.append(f"every {w.every} at {at} for {format_minutes(w.length)}")
        elif w.start is not None:
            parts.append(f"once, {clock_text(w.start, plan.zone)} for {format_minutes(w.length)}")
    return "; ".join(parts) or "none: every step may run at any time"


def _summary(
    scenario: Scenario,
    run: RunResult,
    steps: Sequence[RunbookStep],
    windows: Sequence[WindowOccurrence],
    rb_clock: Callable[[float], str],
    rb_span: Callable[[float, float], str],
    source: str,
    replications: Sequence[ReplicationRow],
    existing: ExistingVNet | None,
    failed: tuple[int, int] | None = None,
) -> list[tuple[str, str]]:
    plan = scenario.plan
    rows: list[tuple[str, str]] = []
    if scenario.description:
        rows.append(("Description", scenario.description))
    rows.append(("Built from", source))
    rows.append(
        (
            "The plan",
            "deterministic: every duration at its central value and no failure drawn, so every"
            " step succeeds at its first attempt (what failures cost is in the P80 column)",
        )
    )
    rows.append(("Start", rb_clock(0.0) if plan.start is not None else "no plan.start"))
    rows.append(
        (
            "Time zone",
            f"{plan.timezone}: every clock time here is in it, daylight saving included;"
            " Start UTC sorts exactly, also in the hour the clocks go back",
        )
    )
    rows.append(("Crews", str(plan.crews)))
    ordering = plan.ordering if isinstance(plan.ordering, str) else "explicit list"
    rows.append(("Ordering", ordering))
    rows.append(("Dispatch", plan.dispatch))
    rows.append(("Check before Commit", format_minutes(plan.check)))
    rows.append(("Maintenance windows", _window_definitions(plan)))
    for w in windows:
        inside = [s for s in steps if s.window == w.index]
        units = list(dict.fromkeys(s.unit for s in inside))
        rows.append(
            (
                f"Window {w.index}",
                f"{rb_span(w.start, w.end)}: {len(inside)} steps of {len(units)} units"
                + (f" ({', '.join(units)})" if units else ""),
            )
        )
    outside = sum(1 for s in steps if s.window is None)
    if outside and windows:
        rows.append(("Outside every window", f"{outside} steps (sheet Outside windows)"))
    makespan = run.summary.makespan_minutes
    end = f" (ends {rb_clock(makespan)})" if plan.start is not None else ""
    rows.append(("Planned finish", f"{format_minutes(makespan)}{end}"))
    rows.append(("Steps", str(len(steps))))
    rows.append(("Units migrated", f"{run.summary.units_migrated} of {run.summary.units_total}"))
    for u in run.summary.not_migrated:
        rows.append((f"Not migrated: {u.unit}", u.reason))
    if replications:
        answers = finish_answers(replications, plan)
        rows.extend(answers.lines())
        rows.append(
            (
                "P80 end (column)",
                f"each step's end at the 80th percentile of {len(replications)} replications of"
                " the run folder, run again with their seeds (failures and retries included)",
            )
        )
        if failed is not None:
            requested, n_failed = failed
            rows.append(
                (
                    "Replications failed",
                    f"warning: statistics from {requested - n_failed} of {requested}"
                    f" replications; {n_failed} failed (the run was written with"
                    " --allow-failures): the P80 column leaves them out",
                )
            )
    else:
        rows.append(
            (
                "P80 end (column)",
                "empty: given a folder of migsim run --replications N, each step's P80 end"
                " comes from its replications",
            )
        )
    kinds = {u.kind for u in run.units.units}
    if "cloud_service" in kinds:
        target = (
            "-CreateNewVirtualNetwork (the platform creates a VNet); --existing-vnet"
            " GROUP/VNET/SUBNET gives -UseExistingVirtualNetwork"
            if existing is None
            else f"-UseExistingVirtualNetwork into {existing.resource_group}/{existing.vnet}"
            f"/{existing.subnet}"
        )
        rows.append(("Cloud services not in a VNet", target))
    if "expressroute_circuit" in kinds:
        rows.append(
            (
                "ExpressRoute circuits",
                "enable each circuit for both deployment models first; set $ResourceGroupName"
                " and $ServiceKey before its Move-AzExpressRouteCircuit (the circuit moves in"
                " one command: no Validate, Prepare or Abort switch is documented)",
            )
        )
    rows.append(("Written by", f"migsim {__version__} (docs/runbook.md describes every column)"))
    return rows


def build_runbook(
    source: Path,
    *,
    overrides: Sequence[str] = (),
    existing_vnet: str | None = None,
    progress: Progress | None = None,
) -> Runbook:
    """The runbook of ``source``: a scenario file, or a folder written by ``migsim run --out``
    (then, with replications, each step's P80 end).

    ``overrides`` (``--set``) apply to a scenario file only; ``existing_vnet``
    (``GROUP/VNET/SUBNET``) moves cloud services not in a VNet into that Resource Manager VNet.
    Raises :class:`InputError` for bad input.
    """
    source = Path(source)
    existing = None
    if existing_vnet is not None:
        try:
            existing = ExistingVNet.parse(existing_vnet)
        except ValueError as exc:
            raise InputError("--existing-vnet", (), str(exc)) from None
    folder: RunFolder | None = None
    if source.is_dir():
        if overrides:
            raise InputError(
                "--set",
                (),
                "applies to a scenario file; a run folder's scenario is the one its"
                " replications ran (expected no --set with a folder)",
            )
        folder = RunFolder(source)
        scenario = folder.scenario
    else:
        scenario = load_scenario(source, overrides)
    run = plan_run(scenario)
    steps, windows = build_steps(run, existing=existing)

    again: list[ReplicationRow] = []
    shown = str(source)
    if folder is not None and folder.rows:
        ends, again = p80_ends(
            scenario,
            folder.rows,
            steps,
            deterministic=folder.deterministic,
            source=str(source / "replications.csv"),
            progress=progress,
        )
        steps = [_with_p80(s, p) for s, p in zip(steps, ends, strict=True)]
        shown = f"run folder {source} ({len(again)} replications)"
    elif folder is not None:
        shown = f"run folder {source} (no replications)"
    else:
        shown = f"scenario file {source}"

    plan = scenario.plan
    origin = plan.start
    zone = plan.zone

    def clock(m: float) -> str:
        if origin is None:
            return f"+{format_minutes(m)}"
        return clock_text(at_minutes(origin, m), zone)

    def span(a: float, b: float) -> str:
        if origin is None:
            return f"+{format_minutes(a)} to +{format_minutes(b)}"
        return span_text(at_minutes(origin, a), at_minutes(origin, b), zone)

    failed = folder.failed if folder is not None and folder.rows else None
    summary = _summary(scenario, run, steps, windows, clock, span, shown, again, existing, failed)
    return Runbook(
        scenario_name=scenario.name,
        timezone=plan.timezone,
        origin=origin,
        steps=tuple(steps),
        windows=tuple(windows),
        summary=tuple(summary),
        replications=len(again),
        has_windows=not Calendar.of(plan).always_open,
        replications_failed=failed[1] if failed is not None else 0,
    )


def _with_p80(step: RunbookStep, p80: float) -> RunbookStep:
    return replace(step, p80_end=p80)
