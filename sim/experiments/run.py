"""Running a scenario and writing its results: what ``migsim run`` calls.

:func:`run_scenario` turns a loaded :class:`~sim.model.scenario.Scenario` into one replication and
its summary; :func:`write_run` writes ``windows.csv``, ``events.csv``, ``units.csv``,
``summary.json``, ``scenario.yaml``, ``validation.json`` and ``timeline.png`` into a directory,
atomically (a temporary sibling directory renamed into place: never a half-written result). It
replaces a previous run's files (:data:`RUN_FILES`) only with ``force``, and keeps whatever else
the directory holds (``compare/``, ``sensitivity/``, a report): see :mod:`sim.common.atomic`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sim.common.atomic import atomic_dir
from sim.common.errors import InputError
from sim.engine.simulation import simulate
from sim.experiments.answers import FinishAnswers, finish_answers, out_of_scope
from sim.experiments.replications import Prepared, ReplicationRow
from sim.experiments.runner import (
    Failure,
    Progress,
    metric_statistics,
    replications_csv,
    run_replications,
)
from sim.model import rules
from sim.model.ordering import order_units
from sim.model.plan import MAX_SEED
from sim.model.rules import Finding
from sim.model.scenario import Scenario, scenario_to_yaml
from sim.model.units import MigrationUnits, build_units
from sim.model.validation import ValidationReport
from sim.outputs.records import (
    Replication,
    Summary,
    events_csv,
    summarize,
    summary_json,
    units_csv,
    windows_csv,
)
from sim.outputs.verdicts import OrderingBaseline, write_ordering_baseline

OUTPUT_FILES = (
    "windows.csv",
    "events.csv",
    "units.csv",
    "summary.json",
    "scenario.yaml",
    "validation.json",
    "timeline.png",
)

EXPERIMENT_FILES = ("replications.csv", "statistics.json")

RUN_FILES = (
    *OUTPUT_FILES,
    *EXPERIMENT_FILES,
    "kept-windows.csv",
    "orderings.json",
    "replan.json",
    "actuals.csv",
)
"""Every file ``migsim run`` may write into its folder: what ``--force`` replaces there (and
nothing else)."""


@dataclass(frozen=True)
class RunResult:
    """One run of a scenario: the resolved scenario (seed applied), its units and findings, the
    unit order, the replication and its summary."""

    scenario: Scenario
    units: MigrationUnits
    findings: tuple[Finding, ...]
    order: tuple[str, ...]
    replication: Replication
    summary: Summary

    def headline(self) -> list[tuple[str, str]]:
        """The summary's headline numbers as ``(label, value)`` rows for a terminal table."""
        return self.summary.headline()


def run_scenario(
    scenario: Scenario, *, seed: int | None = None, deterministic: bool = False
) -> RunResult:
    """Simulate ``scenario`` once.

    ``seed`` replaces ``plan.seed`` (the summary's resolved scenario shows the seed used);
    ``deterministic`` runs every duration at its central value. Raises
    :class:`~sim.common.errors.InputError` for bad plan input (an ordering naming an unknown unit or
    breaking a must-precede constraint, a one-off window without ``plan.start``, a negative seed).
    """
    scenario = with_seed(scenario, seed)
    estate, plan = scenario.estate, scenario.plan
    units = build_units(estate, plan)
    order = order_units(units, plan.ordering, plan)
    findings = tuple(rules.check(estate, units, plan))
    rep = simulate(estate, units, plan, findings, order=order, deterministic=deterministic)
    return RunResult(
        scenario=scenario,
        units=units,
        findings=findings,
        order=tuple(order),
        replication=rep,
        summary=summarize(rep, scenario),
    )


def with_seed(scenario: Scenario, seed: int | None) -> Scenario:
    """``scenario`` with ``plan.seed`` replaced by ``seed`` (None: as it is). Raises
    :class:`~sim.common.errors.InputError` for a seed that is not a whole number from 0 to
    :data:`~sim.model.plan.MAX_SEED`."""
    if seed is None:
        return scenario
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InputError(
            "--seed", (), f"expected a whole number from 0 to {MAX_SEED}, got {seed!r}"
        )
    return scenario.model_copy(update={"plan": scenario.plan.model_copy(update={"seed": seed})})


def validation_json(result: RunResult) -> str:
    """The validation report of the run's scenario, as ``migsim validate --format json``."""
    report = ValidationReport(
        result.scenario,
        result.units,
        result.findings,
        rules.unit_status(list(result.findings), result.scenario.plan, result.units),
    )
    return json.dumps(report.as_dict(), indent=2) + "\n"


def scenario_yaml(result: RunResult) -> str:
    """``scenario.yaml``: the resolved scenario of the run (after ``--set`` and ``--seed``, its
    estate inline), which ``migsim run`` loads again to the same results."""
    how = " with --deterministic" if result.replication.deterministic else ""
    header = (
        f"The scenario of this run (migsim run, seed {result.scenario.plan.seed}), after --set"
        " and --seed,\nits estate inline: `migsim run scenario.yaml"
        f"{how}` gives the same results."
    )
    return scenario_to_yaml(result.scenario, header)


def write_run(
    result: RunResult,
    out_dir: Path,
    force: bool = False,
    *,
    extra: Callable[[Path], list[str]] | None = None,
    event_sources: Sequence[str] | None = None,
) -> list[Path]:
    """Write the result files (:data:`OUTPUT_FILES`) into ``out_dir``; return their final paths.

    ``validation.json`` is what ``migsim validate --format json`` prints for the resolved
    scenario, so a report can show the findings by unit without re-running the rules;
    ``scenario.yaml`` is that scenario (:func:`scenario_yaml`). ``event_sources``: per event,
    ``actual`` or ``forecast`` (a re-forecast's ``events.csv`` gets a ``source`` column).

    Raises :class:`~sim.common.errors.InputError` when ``out_dir`` holds a run's files
    (:data:`RUN_FILES`) and ``force`` is false, or when it exists and is not a directory. With
    ``force`` those files are replaced (all of them: a previous run's ``replications.csv`` does
    not outlive a run without replications) and the rest of ``out_dir`` is kept.
    """
    from sim.outputs.plots import save_figure, timeline  # matplotlib only when writing

    rep = result.replication
    zone = result.scenario.plan.zone
    out_dir = Path(out_dir)
    with atomic_dir(out_dir, force=force, owned=RUN_FILES, command="migsim run") as tmp:
        (tmp / "windows.csv").write_bytes(
            windows_csv(rep.windows, rep.origin, zone).encode("utf-8")
        )
        text = events_csv(rep.events, rep.origin, zone, sources=event_sources)
        (tmp / "events.csv").write_bytes(text.encode("utf-8"))
        text = units_csv(result.summary.units, rep.origin, zone)
        (tmp / "units.csv").write_bytes(text.encode("utf-8"))
        (tmp / "summary.json").write_bytes(summary_json(result.summary).encode("utf-8"))
        (tmp / "scenario.yaml").write_bytes(scenario_yaml(result).encode("utf-8"))
        (tmp / "validation.json").write_bytes(validation_json(result).encode("utf-8"))
        save_figure(timeline(result), tmp / "timeline.png")
        more = extra(tmp) if extra is not None else []
    return [out_dir / name for name in (*OUTPUT_FILES, *more)]


# ---- many replications -------------------------------------------------------------------------


@dataclass(frozen=True)
class Experiment:
    """``migsim run --replications N``: the base run plus N replications' metric rows.

    ``kept`` holds the full engine results of the first ``keep_windows`` replications (their
    window tables feed the report's band across replications); every other replication keeps
    only its row, so a large experiment's output stays bounded.
    """

    run: RunResult
    rows: tuple[ReplicationRow, ...]
    failures: tuple[str, ...]
    kept: tuple[tuple[int, Replication], ...]
    orderings: OrderingBaseline | None = None
    """The plan's ordering against the named strategies on the same replications."""
    asked: int = 0
    """How many replications were run in all: the plan's own and the named strategies'."""
    requested: int = 0
    """How many replications of the plan's own were asked for (``--replications``)."""
    failed_replications: tuple[Failure, ...] = ()
    """The plan's own replications that raised (kept with ``--allow-failures``): the
    statistics are from the others."""

    @property
    def failed(self) -> int:
        """How many of :attr:`asked` raised (the plan's own and the named strategies')."""
        return len(self.failures) + (len(self.orderings.failures) if self.orderings else 0)

    def statistics(self) -> dict[str, dict[str, float | int | None]]:
        return metric_statistics(self.rows)

    def left_behind(self) -> int:
        """How many replications left behind a unit that could migrate (failed attempts, left
        locked, or waiting for one of those; units out of scope in every replication, blocked
        by a rule or outside the plan, do not count)."""
        run = self.run
        scope = len(out_of_scope(run.units, run.findings, run.scenario.plan))
        return sum(1 for row in self.rows if row.units_not_migrated > scope)

    def caveat(self) -> str | None:
        """What the statistics do not say when replications left units behind, else None."""
        n = self.left_behind()
        if not n:
            return None
        return (
            f"In {n} of {len(self.rows)} replications a unit was left behind (not migrated, or"
            " locked: needs support). Their makespan and hours count to the replication's last"
            " event: where the work stopped, not a finish, and an outage or lock left open goes on"
            " past it. The finish answers count those replications as not done."
        )

    def answers(self) -> FinishAnswers | None:
        """The clock-time answers (:mod:`sim.experiments.answers`); None without rows."""
        if not self.rows:
            return None
        run = self.run
        scope = len(out_of_scope(run.units, run.findings, run.scenario.plan))
        return finish_answers(self.rows, run.scenario.plan, scope)


def run_experiment(
    scenario: Scenario,
    replications: int,
    *,
    seed: int | None = None,
    deterministic: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    keep_windows: int = 0,
    progress: Progress | None = None,
    baseline: bool = True,
) -> Experiment:
    """The base run of ``scenario`` and ``replications`` more, spawned from its seed.

    A replication that raises is reported in ``failures`` (alternative, replication, seed) and
    does not lose the others. With ``baseline`` and two replications or more, the named ordering
    strategies run on the same replications too (:func:`sim.experiments.baseline.ordering_baseline`;
    ``progress`` counts them after the plan's own).
    """
    if keep_windows < 0:
        raise InputError("--keep-windows", (), f"expected zero or more, got {keep_windows}")
    base = run_scenario(scenario, seed=seed, deterministic=deterministic)
    prepared = Prepared(
        base.scenario.estate,
        base.scenario.plan,
        base.units,
        base.findings,
        base.order,
    )
    from sim.experiments.baseline import named_orders, ordering_baseline  # scipy: only here

    orders = named_orders(base.scenario, prepared) if baseline and replications >= 2 else None
    results = run_replications(
        prepared,
        replications,
        workers=workers,
        scheduler=scheduler,
        progress=_counting(progress, 0, orders.replications(replications) if orders else 0),
        deterministic=deterministic,
        on_failure="collect",
    )
    orderings = None
    if orders is not None:
        orderings = ordering_baseline(
            base.scenario,
            prepared,
            results[0],
            replications,
            orders=orders,
            workers=workers,
            scheduler=scheduler,
            progress=_counting(progress, replications, 0),
            deterministic=deterministic,
        )
    kept = tuple(
        (r, prepared.replicate(r, deterministic=deterministic))
        for r in range(min(keep_windows, replications))
    )
    return Experiment(
        run=base,
        rows=tuple(results[0]),
        failures=tuple(results.describe_failures()),
        kept=kept,
        orderings=orderings,
        asked=replications + (orders.replications(replications) if orders is not None else 0),
        requested=replications,
        failed_replications=results.failures,
    )


def _counting(progress: Progress | None, before: int, after: int) -> Progress | None:
    """``progress`` of one part of a longer task: ``before`` replications done before it and
    ``after`` to do after it."""
    if progress is None or before == after == 0:
        return progress
    return lambda done, total: progress(before + done, before + total + after)


def kept_windows_csv(
    kept: Sequence[tuple[int, Replication]], origin: datetime | None, zone: ZoneInfo | None = None
) -> str:
    """``windows.csv`` of each kept replication, one table with a leading ``replication`` column."""
    parts: list[str] = []
    for i, (r, rep) in enumerate(kept):
        lines = windows_csv(rep.windows, origin, zone).splitlines(keepends=True)
        if i == 0:
            parts.append("replication," + lines[0])
        parts.extend(f"{r},{line}" for line in lines[1:])
    return "".join(parts)


def failed_replications(experiment: Experiment) -> dict[str, Any]:
    """What ``statistics.json`` says of the plan's replications that failed (written only when
    some did, with ``--allow-failures``): how many were asked for, how many failed, and each
    failed one's index, seed and error."""
    failed = experiment.failed_replications
    return {
        "replications_requested": experiment.requested,
        "replications_failed": len(failed),
        "failed_replications": [
            {"replication": f.replication, "seed": f.seed, "error": f.error} for f in failed
        ],
    }


def write_experiment(experiment: Experiment, out_dir: Path, force: bool = False) -> list[Path]:
    """The files of :func:`write_run` plus ``replications.csv``, ``statistics.json`` and, when
    replications were kept, ``kept-windows.csv``; all or nothing (one atomic directory)."""
    run = experiment.run
    stats: dict[str, Any] = {
        "replications": len(experiment.rows),
        "failures": list(experiment.failures),
    }
    if experiment.failed_replications:  # only then: a complete run's file has no such keys
        stats.update(failed_replications(experiment))
    stats["metrics"] = experiment.statistics()
    answers = experiment.answers()
    if answers is not None:
        stats["finish"] = answers.as_dict()

    def extra(tmp: Path) -> list[str]:
        (tmp / "replications.csv").write_bytes(replications_csv(experiment.rows).encode("utf-8"))
        (tmp / "statistics.json").write_bytes(
            (json.dumps(stats, indent=2, allow_nan=False) + "\n").encode("utf-8")
        )
        names = list(EXPERIMENT_FILES)
        if experiment.orderings is not None:
            write_ordering_baseline(experiment.orderings, tmp / "orderings.json")
            names.append("orderings.json")
        if experiment.kept:
            text = kept_windows_csv(experiment.kept, run.replication.origin, run.scenario.plan.zone)
            (tmp / "kept-windows.csv").write_bytes(text.encode("utf-8"))
            names.append("kept-windows.csv")
        return names

    return write_run(run, out_dir, force, extra=extra)
