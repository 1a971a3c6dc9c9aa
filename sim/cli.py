"""The ``migsim`` command: a thin shell over the library (load, validate, graph, run).

Exit codes (:data:`EXIT_CODES`, also in ``migsim --help`` and the README):

- 0: done;
- 1: the scenario has blockers (``validate``);
- 2: bad input, with one message naming the file, the key path and what was expected; an output
  that cannot be written (or is taken) is bad input too, named with its path;
- 3: replications failed (how many of how many, and which); nothing was written unless
  ``--allow-failures`` was given;
- 130: stopped by SIGINT (Ctrl-C), 143: stopped by SIGTERM: the workers it started are stopped
  and no output was left half-written.

Only this module prints.
"""

from __future__ import annotations

import json
import math
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import wraps
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from sim.common.errors import InputError
from sim.common.version import __version__
from sim.common.words import plural
from sim.model.rules import Finding
from sim.model.scenario import Scenario, blamed_file, load_scenario
from sim.model.validation import ValidationReport, validate_scenario

if TYPE_CHECKING:
    from sim.experiments.answers import FinishAnswers
    from sim.experiments.runner import Replications
    from sim.experiments.sensitivity import Evaluate
    from sim.importers.result import ImportResult

F = TypeVar("F", bound=Callable[..., Any])

# Piped output (logs, CI) gets a width that fits the comparison tables, not rich's 80 columns.
out = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False)

SEVERITY_STYLE = {
    "blocker": "bold red",
    "remediate": "yellow",
    "dropped": "magenta",
    "note": "cyan",
}
STATUS_STYLE = {"blocked": "bold red", "remediate": "yellow", "clean": "green"}


def _fail(exc: InputError, default_file: str | None, overrides: Sequence[str] = ()) -> None:
    if exc.file is None and default_file is not None:
        exc.file = blamed_file(default_file, exc.loc, overrides)
    err.print(Text("error: ", style="bold red") + Text(exc.render()), soft_wrap=True)
    sys.exit(2)


EXIT_CODES = {
    0: "done",
    1: "the scenario has blockers (validate)",
    2: "bad input or an output that cannot be written, with one message naming it",
    3: "replications failed (nothing written unless --allow-failures)",
    130: "stopped by SIGINT (Ctrl-C)",
    143: "stopped by SIGTERM",
}
"""What every exit status of ``migsim`` means."""

FAILED_EXIT = 3


def _error(message: str) -> None:
    err.print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)


def _os_error(exc: OSError) -> None:
    """A filesystem error no check caught: one line naming the path, exit 2."""
    where = exc.filename if exc.filename is not None else "<output>"
    _error(f"{where}: {exc.strerror or exc}")
    sys.exit(2)


def _replications_failed(failed: int, asked: int, lines: Sequence[str], allow: bool) -> None:
    """Say which replications failed and how many of how many; exit 3 unless ``allow``."""
    if not failed:
        return
    for line in lines[:10]:
        err.print(Text.assemble(("replication failed: ", "bold red"), line), soft_wrap=True)
    if len(lines) > 10:
        err.print(f"  ... and {len(lines) - 10} more", soft_wrap=True)
    if not allow or failed >= asked:
        rest = (
            f" (--allow-failures writes results from the other {asked - failed})"
            if failed < asked
            else ""
        )
        _error(f"{failed} of {asked} replications failed; nothing was written{rest}")
        sys.exit(FAILED_EXIT)
    err.print(
        Text.assemble(
            ("warning: ", "bold yellow"),
            f"{failed} of {asked} replications failed: the results are from the other"
            f" {asked - failed} only (--allow-failures)",
        ),
        soft_wrap=True,
    )


def input_errors(fn: F) -> F:
    """Turn :class:`InputError` into one message on stderr and exit code 2, failed replications
    into exit 3, and a filesystem error into one message naming the path and exit 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            scenario = kwargs.get("scenario")
            overrides = kwargs.get("overrides") or ()
            _fail(exc, str(scenario) if scenario is not None else None, overrides)
        except OSError as exc:
            _os_error(exc)
        except Exception as exc:
            runner = sys.modules.get("sim.experiments.runner")
            if runner is None or not isinstance(exc, runner.ReplicationsFailed):
                raise
            results: Replications = exc.results
            failed = len(results.failures)
            asked = failed + sum(len(rows) for rows in results)
            _replications_failed(failed, asked, results.describe_failures(), allow=False)

    return wrapper  # type: ignore[return-value]


def _hold(claim: AbstractContextManager[None]) -> None:
    """Take the claim on an output (:mod:`sim.common.atomic`) for the rest of the command:
    checked before any work, held until the command ends (or is stopped)."""
    click.get_current_context().with_resource(claim)


allow_failures_option = click.option(
    "--allow-failures",
    is_flag=True,
    help="When replications fail, say so and go on with the others (default: exit 3 and write"
    " nothing).",
)


def _tolerant(evaluate: Callable[..., Replications], tally: list[int]) -> Evaluate:
    """``evaluate`` collecting failures instead of raising: each call keeps the replications all
    its alternatives completed, and ``tally`` counts [asked, failed, ...]."""
    from sim.experiments.runner import common_replications

    def run(alternatives: Any, n: int, *args: Any, **kwargs: Any) -> Replications:
        got = evaluate(alternatives, n, *args, on_failure="collect", **kwargs)
        tally[0] += n * len(got)
        tally[1] += len(got.failures)
        return common_replications(got)

    return run


# migsim, not click, judges the path (regular file, readable, size): one message, exit 2
scenario_arg = click.argument(
    "scenario", type=click.Path(path_type=Path, dir_okay=True, readable=False)
)
set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override a scenario value, e.g. --set plan.crews=3 (repeatable).",
)


def _load(scenario: Path, overrides: Sequence[str]) -> Scenario:
    return load_scenario(scenario, overrides)


def out_dir_option(help_text: str, *, required: bool = False) -> Callable[[F], F]:
    """``--out DIR``: the directory the command writes its files into (atomically)."""
    return click.option(
        "--out",
        "out_dir",
        required=required,
        type=click.Path(path_type=Path),  # a file there: refused by check_outputs, one line
        default=None,
        help=help_text,
    )


def force_option(what: str) -> Callable[[F], F]:
    """``--force``: replace what this command wrote before at OUT, and nothing else."""
    return click.option("--force", is_flag=True, help=f"Replace {what} if it exists.")


FORCE_DIR = "this command's files in OUT (other files and folders there are kept)"


def _in_range(flag: str, value: int | None, low: int, high: int) -> None:
    """Refuse a count option outside ``low..high`` (documented in docs/experiments.md) before
    any work: one message, exit 2."""
    if value is not None and not low <= value <= high:
        raise InputError(flag, (), f"expected a whole number from {low} to {high:,}, got {value}")


def _check_counts(
    replications: int, workers: int | None, scheduler: str | None = None, *, least: int = 1
) -> None:
    from sim.experiments.runner import MAX_REPLICATIONS, MAX_WORKERS, check_scheduler

    _in_range("--replications", replications, least, MAX_REPLICATIONS)
    _in_range("--workers", workers, 1, MAX_WORKERS)
    if scheduler is not None:
        check_scheduler(scheduler)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="migsim")
def cli() -> None:
    """Simulate the Azure classic (ASM) to Resource Manager migration of an estate.

    \b
    Exit codes:
      0    done
      1    the scenario has blockers (validate)
      2    bad input, or an output that cannot be written or is taken (one message naming it)
      3    replications failed: how many of how many; nothing written unless --allow-failures
      130  stopped by SIGINT (Ctrl-C); 143 stopped by SIGTERM: workers stopped, nothing
           half-written
    """


# ---- validate ----------------------------------------------------------------------------------


@cli.command()
@scenario_arg
@set_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Readable report or JSON for scripts.",
)
@input_errors
def validate(scenario: Path, overrides: tuple[str, ...], fmt: str) -> None:
    """Check SCENARIO against the platform's migration rules.

    Exits 1 when any unit is blocked, 0 otherwise, 2 on bad input, including a plan that
    `migsim run` would refuse (an ordering that breaks a must-precede constraint): the report
    is printed first, then the same message `run` gives.
    """
    report = validate_scenario(_load(scenario, overrides))
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report)
    for problem in report.refusals:
        if problem.file is None:
            problem.file = blamed_file(str(scenario), problem.loc, overrides)
        err.print(Text("error: ", style="bold red") + Text(problem.render()), soft_wrap=True)
    sys.exit(2 if report.refusals else 1 if report.blocked else 0)


def _finding_row(table: Table, f: Finding) -> None:
    table.add_row(
        Text(f.severity, style=SEVERITY_STYLE[f.severity]),
        f.rule,
        Text(f.message),
        Text(f.remediation, style="dim"),
    )


def _print_report(report: ValidationReport) -> None:
    sc = report.scenario
    estate = sc.estate
    vms = sum(len(cs.vms) for cs in estate.cloud_services)
    out.print(
        Text.assemble(
            ("Scenario ", "bold"),
            (sc.name, "bold cyan"),
            f"  subscription {estate.subscription}, {estate.location}: "
            f"{plural(len(report.units.units), 'migration unit')}, {plural(vms, 'VM')}",
        )
    )
    clean: list[str] = []
    for uid in report.units_by_status():
        unit = report.units[uid]
        status = report.status[uid]
        findings = report.findings_of(uid)
        if not findings:
            clean.append(uid)
            continue
        head = Text.assemble(
            ("\n", ""),
            (f"{status.upper():<10}", STATUS_STYLE[status]),
            (uid, "bold"),
            (f"  ({unit.kind.replace('_', ' ')}, {plural(unit.vm_count, 'VM')})", "dim"),
        )
        out.print(head)
        table = Table(show_header=False, box=None, pad_edge=False, expand=False)
        table.add_column("severity", no_wrap=True, min_width=9)
        table.add_column("rule", no_wrap=True)
        table.add_column("finding", ratio=3)
        table.add_column("remediation", ratio=2)
        for f in findings:
            _finding_row(table, f)
        out.print(table)
    if clean:
        out.print(Text.assemble(("\nCLEAN     ", STATUS_STYLE["clean"]), ", ".join(clean)))
    counts = report.counts()
    blocked = [u for u, s in report.status.items() if s == "blocked"]
    out.print(
        Text.assemble(
            "\n",
            (
                f"{counts['blocker']} blockers",
                SEVERITY_STYLE["blocker"] if counts["blocker"] else "",
            ),
            f", {counts['remediate']} to remediate, {counts['dropped']} settings dropped,"
            f" {counts['note']} notes. ",
            (
                f"Blocked units: {', '.join(blocked)}." if blocked else "No unit is blocked.",
                "bold red" if blocked else "green",
            ),
        )
    )


# ---- graph -------------------------------------------------------------------------------------


@cli.command()
@scenario_arg
@set_option
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Output file; its suffix picks the format: .svg or .png (a drawing), .dot (Graphviz),"
    " .graphml or .json (node-link).",
)
@click.option(
    "--level",
    type=click.Choice(["auto", "resources", "units"]),
    default="auto",
    show_default=True,
    help="What the nodes are: resources, or migration units with their ordering constraints."
    " auto: resources, but a drawing of a large estate shows units.",
)
@force_option("the file at OUT")
@input_errors
def graph(
    scenario: Path, overrides: tuple[str, ...], out_path: Path, level: str, force: bool
) -> None:
    """Write the dependency graph of SCENARIO's estate (resources, relations, must-precede)."""
    from sim.common.atomic import atomic_file, claim_file
    from sim.model.graph import GRAPH_SUFFIXES, PICTURE_SUFFIXES, build_graph, describe, write_graph
    from sim.model.units import annotate_graph, build_units, unit_graph

    suffix = out_path.suffix.lower()
    if suffix not in GRAPH_SUFFIXES:
        raise InputError(
            str(out_path),
            (),
            f"unsupported suffix {out_path.suffix!r}; expected one of {', '.join(GRAPH_SUFFIXES)}",
        )
    _hold(claim_file(out_path, force=force, what="a picture or graph file"))
    sc = _load(scenario, overrides)
    g = build_graph(sc.estate)
    units = build_units(sc.estate, sc.plan)
    annotate_graph(g, units)
    why_units = ""
    if suffix in PICTURE_SUFFIXES:
        from sim.outputs.plots import RESOURCE_DRAWING_LIMIT, graph_drawing, save_figure

        drawing = graph_drawing(g, units, level)  # type: ignore[arg-type]
        with atomic_file(out_path, force=force) as tmp:
            save_figure(drawing.figure, tmp)
        shown, why_units = drawing.title, drawing.reason
    else:
        data = g
        if level == "units":
            data = unit_graph(
                units, subscription=sc.estate.subscription, location=sc.estate.location
            )
        with atomic_file(out_path, force=force) as tmp:
            write_graph(data, tmp)
        shown = describe(data)
    out.print(f"Wrote {out_path}: {shown[0].lower()}{shown[1:]}", soft_wrap=True)
    if why_units:
        out.print(
            f"It shows the units: {g.number_of_nodes():,} resources are more than the"
            f" {RESOURCE_DRAWING_LIMIT} a drawing of resources keeps readable (--level resources"
            " draws them anyway; .dot, .graphml and .json keep every resource).",
            soft_wrap=True,
        )


# ---- run ---------------------------------------------------------------------------------------


class _RateColumn(ProgressColumn):
    """Replications per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.1f} rep/s" if speed else "", style="cyan")


@contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr (replications done, rate, time left); yields the callback."""
    bar = Progress(
        TextColumn(f"[bold]{what}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
    task = bar.add_task(what, total=None)

    def update(done: int, total: int) -> None:
        if not bar.live.is_started:  # shown from the first count: a refusal before it prints alone
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if bar.live.is_started:
            bar.stop()


def _stats_table(title: str, rows: Sequence[tuple[str, ...]], columns: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        table.add_column(c, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for row in rows:
        table.add_row(*row)
    return table


workers_option = click.option(
    "--workers",
    type=int,
    default=None,
    help="Local worker processes for replications (default: all cores; 1 runs serially).",
)
scheduler_option = click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Run replications on this Dask distributed scheduler instead of local processes.",
)


@cli.command()
@scenario_arg
@set_option
@out_dir_option(
    "Directory for the results (windows.csv, events.csv, summary.json, scenario.yaml, ...);"
    " other files and folders in it (compare/, sensitivity/, report.html) are kept.",
    required=True,
)
@click.option("--seed", type=int, default=None, help="Replace plan.seed.")
@click.option("--deterministic", is_flag=True, help="Run every duration at its central value.")
@click.option(
    "--replications",
    type=int,
    default=0,
    show_default=True,
    help="Also run N replications (seeds spawned from the plan seed): replications.csv and"
    " statistics.json.",
)
@click.option(
    "--keep-windows",
    type=int,
    default=0,
    show_default=True,
    help="Keep the full window tables of the first K replications (kept-windows.csv).",
)
@click.option(
    "--baseline/--no-baseline",
    default=True,
    show_default=True,
    help="With 2 replications or more, also run every named ordering strategy on the same"
    " replications and say how the plan's ordering compares (orderings.json).",
)
@workers_option
@scheduler_option
@allow_failures_option
@force_option(FORCE_DIR)
@input_errors
def run(
    scenario: Path,
    overrides: tuple[str, ...],
    out_dir: Path,
    seed: int | None,
    deterministic: bool,
    replications: int,
    keep_windows: int,
    baseline: bool,
    workers: int | None,
    scheduler: str | None,
    allow_failures: bool,
    force: bool,
) -> None:
    """Simulate the migration of SCENARIO and write its windows, events and timeline.

    With --replications N, also run N independent replications and report P50/P80/P90/P99 and
    95 % confidence intervals of every metric.
    """
    from sim.common.atomic import claim_dir
    from sim.experiments.run import (
        RUN_FILES,
        run_experiment,
        run_scenario,
        write_experiment,
        write_run,
    )

    _check_counts(replications, workers, scheduler, least=0)
    if keep_windows < 0:
        raise InputError("--keep-windows", (), f"expected zero or more, got {keep_windows}")
    if keep_windows > 0 and replications == 0:
        raise InputError(
            "--keep-windows",
            (),
            f"keeps the window tables of replications; expected --replications N with it, got"
            f" --keep-windows {keep_windows} alone",
        )
    _in_range("--keep-windows", keep_windows, 0, replications)
    _hold(claim_dir(out_dir, RUN_FILES, force=force, command="migsim run"))
    sc = _load(scenario, overrides)
    if replications == 0:
        result = run_scenario(sc, seed=seed, deterministic=deterministic)
        with out.status("Drawing the timeline and writing results..."):
            paths = write_run(result, out_dir, force)
    else:
        with _progress("Replications") as progress:
            experiment = run_experiment(
                sc,
                replications,
                seed=seed,
                deterministic=deterministic,
                workers=workers,
                scheduler=scheduler,
                keep_windows=keep_windows,
                progress=progress,
                baseline=baseline,
            )
        failures = list(experiment.failures)
        if experiment.orderings is not None:
            failures += experiment.orderings.failures
        _replications_failed(experiment.failed, experiment.asked, failures, allow_failures)
        result = experiment.run
        with out.status("Drawing the timeline and writing results..."):
            paths = write_experiment(experiment, out_dir, force)
    table = Table(
        title=f"{result.scenario.name}: seed {result.scenario.plan.seed}",
        show_header=False,
        title_justify="left",
    )
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for label, value in result.headline():
        table.add_row(label, value)
    out.print(table)
    if replications:
        from sim.experiments.runner import SUMMARY_COLUMNS, summary_table

        out.print(
            _stats_table(
                f"{len(experiment.rows)} replications",
                summary_table(experiment.statistics()),
                SUMMARY_COLUMNS,
            )
        )
        caveat = experiment.caveat()
        if caveat is not None:
            out.print(caveat, soft_wrap=True)
        answers = experiment.answers()
        if answers is not None:
            out.print(_answers_table(answers))
        if experiment.orderings is not None:
            out.print(experiment.orderings.sentence(), soft_wrap=True)
    out.print(f"Wrote {', '.join(p.name for p in paths)} to {out_dir}/", soft_wrap=True)


def _answers_table(answers: FinishAnswers) -> Table:
    """When is it done, in the plan's time zone, and how sure are we."""
    zone = "" if answers.origin is None else f" ({answers.timezone})"
    table = Table(
        title=f"When is everything committed?{zone}", show_header=False, title_justify="left"
    )
    table.add_column("question", style="bold")
    table.add_column("answer", justify="right")
    for label, value in answers.lines():
        table.add_row(label, value)
    return table


# ---- replan ------------------------------------------------------------------------------------


@cli.command()
@scenario_arg
@set_option
@click.option(
    "--actuals",
    "actuals_path",
    type=click.Path(path_type=Path),
    required=True,
    help="What has happened so far: an events CSV (events.csv's columns), or the runbook"
    " (.xlsx or .csv) with its Actual start / Actual end columns filled (docs/replan.md).",
)
@click.option(
    "--now",
    default=None,
    help="The moment to re-forecast from: a clock time (2026-12-05T01:30+01:00, or"
    " '2026-12-05 01:30' in the plan's zone) or minutes from plan.start; default: the latest"
    " actual event.",
)
@out_dir_option(
    "Directory for the re-forecast (the files of a run, events.csv with a source column,"
    " replan.json, actuals.csv).",
    required=True,
)
@click.option("--seed", type=int, default=None, help="Replace plan.seed.")
@click.option(
    "--deterministic", is_flag=True, help="Run every duration not yet known at its central value."
)
@click.option(
    "--replications",
    type=int,
    default=200,
    show_default=True,
    help="Monte Carlo replications of the rest of the night (and of the plan alone, on the same"
    " seeds, for what changed).",
)
@click.option(
    "--advise",
    is_flag=True,
    help="Also compare the next decisions (continue; abort a unit still Prepared, at the end of"
    " its Check; or skip one of the next units), each leaving the unit for the next window, by"
    " P(done in this window), on the same replications.",
)
@workers_option
@scheduler_option
@allow_failures_option
@force_option(FORCE_DIR)
@input_errors
def replan(
    scenario: Path,
    overrides: tuple[str, ...],
    actuals_path: Path,
    now: str | None,
    out_dir: Path,
    seed: int | None,
    deterministic: bool,
    replications: int,
    advise: bool,
    workers: int | None,
    scheduler: str | None,
    allow_failures: bool,
    force: bool,
) -> None:
    """Re-forecast SCENARIO from what has actually happened (--actuals) at --now.

    Steps that happened run as they did; the rest runs under the plan from now. Prints
    P(done in this window), the P50/P80/P90 finish beside the plan's, and the units to start
    next; writes the run's files and replan.json.
    """
    from sim.common.atomic import claim_dir
    from sim.experiments.replan import replan as do_replan
    from sim.experiments.replan import write_replan
    from sim.experiments.run import RUN_FILES

    _check_counts(replications, workers, scheduler, least=0)
    _hold(claim_dir(out_dir, RUN_FILES, force=force, command="migsim replan"))
    sc = _load(scenario, overrides)
    with _progress("Replications") as progress:
        result = do_replan(
            sc,
            actuals_path,
            now=now,
            replications=replications,
            seed=seed,
            deterministic=deterministic,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            advise=advise,
        )
    asked = (2 + max(0, len(result.advice) - 1)) * replications
    _replications_failed(len(result.failures), asked, list(result.failures), allow_failures)
    with out.status("Drawing the timeline and writing results..."):
        paths = write_replan(result, out_dir, force)
    zone = result.run.scenario.plan.timezone
    table = Table(
        title=f"{result.run.scenario.name}: the night re-forecast ({zone})",
        show_header=False,
        title_justify="left",
    )
    table.add_column("question", style="bold")
    table.add_column("answer")
    for label, value in result.lines():
        table.add_row(label, value)
    out.print(table)
    shares = result.unit_shares()
    if shares:
        units = Table(
            title="P(Commit ends in this window), per unit not yet committed",
            title_justify="left",
        )
        units.add_column("unit", style="bold")
        units.add_column("re-forecast", justify="right")
        units.add_column("the plan said", justify="right")
        # least likely to commit in this window first, as the report lists them
        for u in sorted(shares, key=lambda u: (u.replan or 0.0, u.commit[1] or math.inf)):
            if u.replan is not None and u.plan is not None:
                units.add_row(u.unit, f"{100 * u.replan:.1f} %", f"{100 * u.plan:.1f} %")
        if units.row_count:
            out.print(units)
    if result.advice:
        advice = Table(
            title="What to do next: P(every other unit committed in this window), on the same"
            " replications",
            title_justify="left",
        )
        advice.add_column("decision", style="bold")
        advice.add_column("leaves for the next window")
        advice.add_column("P(the others committed in it)", justify="right")
        advice.add_column("against continuing (95 % CI)", justify="right")
        for a in result.advice:
            against = (
                ""
                if a.what == "continue"
                else f"{100 * a.diff:+.1f} pts ({100 * a.low:+.1f} to {100 * a.high:+.1f})"
            )
            advice.add_row(a.what, ", ".join(a.skipped) or "-", a.share.text(), against)
        out.print(advice)
    out.print(f"Wrote {', '.join(p.name for p in paths)} to {out_dir}/", soft_wrap=True)


# ---- compare -----------------------------------------------------------------------------------


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@cli.command()
@scenario_arg
@set_option
@click.option(
    "--orderings",
    default=None,
    help="Comma-separated strategies to compare; 'plan' is the scenario's own ordering (a"
    " pasted list too), 'optimized' a searched one (default: the plan's own ordering).",
)
@click.option(
    "--vary",
    multiple=True,
    metavar="KEY.PATH=V1,V2,...",
    help="Also vary a plan knob, e.g. --vary plan.crews=1,2,4 (repeatable; all combinations).",
)
@click.option("--replications", type=int, default=200, show_default=True)
@click.option(
    "--metric",
    default="makespan_hours",
    show_default=True,
    help="The metric that decides the winner.",
)
@workers_option
@scheduler_option
@allow_failures_option
@out_dir_option(
    "Directory for compare.csv and compare-replications.csv (e.g. RESULTS_DIR/compare)."
)
@force_option(FORCE_DIR)
@input_errors
def compare(
    scenario: Path,
    overrides: tuple[str, ...],
    orderings: str | None,
    vary: tuple[str, ...],
    replications: int,
    metric: str,
    workers: int | None,
    scheduler: str | None,
    allow_failures: bool,
    out_dir: Path | None,
    force: bool,
) -> None:
    """Compare orderings (and plan knobs) of SCENARIO on the same replications.

    Every alternative sees the same random draws for the same unit and step (common random
    numbers), so differences come from the alternatives, not from luck.
    """
    from sim.common.atomic import atomic_dir, claim_dir
    from sim.experiments import comparison as cmp
    from sim.outputs.verdicts import VERDICT_COLUMNS, write_verdict

    cmp.check_metric(metric)  # before any work: no progress bar, no folder claimed
    _check_counts(replications, workers, scheduler)
    if out_dir is not None:
        _hold(claim_dir(out_dir, cmp.COMPARE_FILES, force=force, command="migsim compare"))
    sc = _load(scenario, overrides)
    alternatives = cmp.alternatives_from(
        sc,
        _split(orderings),
        list(vary),
        extra_orderings=_extra_orderings(replications, workers, scheduler),
    )
    with _progress("Replications") as progress:
        comparison = cmp.compare(
            alternatives,
            replications,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            headline=metric,
            on_failure="collect",
        )
    _replications_failed(
        len(comparison.failures),
        replications * len(comparison.names),
        comparison.failures,
        allow_failures,
    )
    out.print(
        _stats_table(
            f"{metric}: {len(comparison.used)} replications per alternative",
            comparison.rows(),
            cmp.TABLE_COLUMNS,
        )
    )
    out.print(comparison.verdict(), soft_wrap=True)
    overall = comparison.overall()
    out.print(_stats_table("Every headline metric", overall.rows(), VERDICT_COLUMNS))
    out.print(overall.pareto_text(), soft_wrap=True)
    from sim.experiments.answers import (
        ANSWER_COLUMNS,
        answer_rows,
        compare_answers,
        compare_finish_csv,
    )

    answers = compare_answers(comparison)
    if answers:
        zone = answers[0][1].timezone if answers[0][1].origin is not None else "from the start"
        out.print(
            _stats_table(
                f"When is everything committed? ({zone})", answer_rows(answers), ANSWER_COLUMNS
            )
        )
    if out_dir is not None:
        with atomic_dir(
            out_dir, force=force, owned=cmp.COMPARE_FILES, command="migsim compare"
        ) as tmp:
            cmp.write_compare_csv(comparison, tmp / "compare.csv")
            cmp.write_compare_replications(comparison, tmp / "compare-replications.csv")
            (tmp / "compare-finish.csv").write_text(compare_finish_csv(answers), encoding="utf-8")
            write_verdict(overall, tmp / "verdict.json")
        out.print(
            f"Wrote compare.csv, compare-replications.csv, compare-finish.csv, verdict.json"
            f" to {out_dir}/",
            soft_wrap=True,
        )


def _extra_orderings(
    replications: int = 50, workers: int | None = None, scheduler: str | None = None
) -> dict[str, Callable[[Any], Sequence[str]]]:
    """Orderings computed per alternative rather than named strategies: ``optimized`` searches
    (20 s budget) on the same replications the comparison then runs."""
    from functools import partial

    from sim.experiments.optimizer import optimized_order
    from sim.experiments.runner import run_replications

    evaluate = partial(run_replications, workers=workers, scheduler=scheduler)
    return {
        "optimized": partial(
            optimized_order, replications=replications, budget_s=20.0, evaluate=evaluate
        )
    }


# ---- sensitivity -------------------------------------------------------------------------------


@cli.command()
@scenario_arg
@set_option
@click.option("--replications", type=int, default=200, show_default=True)
@click.option("--metric", default="makespan_hours", show_default=True)
@click.option(
    "--statistic",
    default="p80",
    show_default=True,
    type=click.Choice(["mean", "p50", "p80", "p90"]),
)
@workers_option
@scheduler_option
@allow_failures_option
@out_dir_option("Directory for sensitivity.csv and criticality.csv (e.g. RESULTS_DIR/sensitivity).")
@force_option(FORCE_DIR)
@input_errors
def sensitivity(
    scenario: Path,
    overrides: tuple[str, ...],
    replications: int,
    metric: str,
    statistic: str,
    workers: int | None,
    scheduler: str | None,
    allow_failures: bool,
    out_dir: Path | None,
    force: bool,
) -> None:
    """What drives the result: a tornado of each duration and knob, and unit criticality.

    Each step duration and plan knob is set low and high one at a time on the same
    replications; the table is sorted by the swing of the chosen statistic of the metric.
    """
    from functools import partial

    from sim.common.atomic import atomic_dir, claim_dir
    from sim.experiments.replications import Prepared
    from sim.experiments.runner import run_replications
    from sim.experiments.sensitivity import (
        SENSITIVITY_FILES,
        check_metric,
        criticality_csv,
        criticality_index,
        sensitivity_csv,
        tornado,
    )

    try:  # before any work: no progress bar, no folder claimed
        check_metric(metric, statistic)
    except ValueError as exc:
        raise InputError("--metric", (), str(exc)) from None
    _check_counts(replications, workers, scheduler)
    if out_dir is not None:
        _hold(claim_dir(out_dir, SENSITIVITY_FILES, force=force, command="migsim sensitivity"))
    prepared = Prepared.of(_load(scenario, overrides))
    tally = [0, 0]
    with _progress("Sensitivity") as progress:
        base = partial(run_replications, workers=workers, scheduler=scheduler, progress=progress)
        evaluate: Evaluate = _tolerant(base, tally) if allow_failures else base
        try:
            result = tornado(
                prepared, replications, metric=metric, stat=statistic, evaluate=evaluate
            )
        except ValueError as exc:
            raise InputError("--metric", (), str(exc)) from None
    _replications_failed(tally[1], tally[0], [], allow=True)
    with _progress("Criticality") as progress:
        crit = criticality_index(prepared, replications, progress=progress)
    rows = [
        (
            r.factor,
            r.low,
            r.high,
            f"{r.at_low:.2f}",
            f"{r.at_base:.2f}",
            f"{r.at_high:.2f}",
            f"{r.swing:.2f}" if r.varied else r.status,  # "not varied (base is 0)", not 0.00
        )
        for r in result.rows
    ]
    out.print(
        _stats_table(
            f"{statistic.upper()} {metric} over {replications} replications"
            f" (base {result.base:.2f})",
            rows,
            ("factor", "low", "high", "at low", "at base", "at high", "swing"),
        )
    )
    out.print(
        _stats_table(
            f"Criticality over {replications} replications",
            [
                (c.unit, f"{c.index:.0%}", f"{c.resource_index:.0%}")
                for c in crit
                if c.critical or c.handoffs
            ],
            ("unit", "criticality index", "resource criticality"),
        )
    )
    out.print(
        "criticality index: share of replications with the unit on the critical path (its own"
        " steps and the must-precede constraints); resource criticality: share in which it"
        " held a crew the critical path waited for."
    )
    if out_dir is not None:
        with atomic_dir(
            out_dir, force=force, owned=SENSITIVITY_FILES, command="migsim sensitivity"
        ) as tmp:
            (tmp / "sensitivity.csv").write_text(sensitivity_csv(result))
            (tmp / "criticality.csv").write_text(criticality_csv(crit))
        out.print(f"Wrote sensitivity.csv, criticality.csv to {out_dir}/", soft_wrap=True)


# ---- optimize ----------------------------------------------------------------------------------


@cli.command()
@scenario_arg
@set_option
@click.option(
    "--objective",
    default="p80_makespan",
    show_default=True,
    type=click.Choice(["p80_makespan", "vm_hours_down", "peak_vms_down", "weighted"]),
)
@click.option(
    "--replications",
    type=int,
    default=50,
    show_default=True,
    help="Replications the promising orderings and the named strategies are evaluated on (the"
    " same for all; every ordering is first screened on the first 4).",
)
@click.option(
    "--budget",
    type=float,
    default=None,
    help="Wall seconds for the whole command, its hold-out and the worker pool's start included"
    " (the search stops early enough to leave the hold-out its time). Default 30; with"
    " --max-evaluations and no --budget, no time limit.",
)
@click.option(
    "--max-evaluations",
    type=int,
    default=None,
    help="Stop after screening this many orderings: the search is then the same whatever the"
    " machine's speed or --workers.",
)
@click.option("--seed", type=int, default=None, help="Search seed (default: the plan seed).")
@click.option(
    "--holdout",
    type=int,
    default=200,
    show_default=True,
    help="Fresh replications, never run by the search, on which the improvement is judged"
    " (inside --budget).",
)
@workers_option
@scheduler_option
@allow_failures_option
@input_errors
def optimize(
    scenario: Path,
    overrides: tuple[str, ...],
    objective: str,
    replications: int,
    budget: float | None,
    max_evaluations: int | None,
    seed: int | None,
    holdout: int,
    workers: int | None,
    scheduler: str | None,
    allow_failures: bool,
) -> None:
    """Search for the ordering of SCENARIO's units that minimises the objective.

    Simulated annealing over priority lists that respect every must-precede constraint, started
    from every named strategy. Every candidate is screened on a few replications and only the
    promising ones run the full --replications (common random numbers throughout); the best is
    then judged against the best named strategy on --holdout fresh replications. Prints the
    verdict, and the ordering to paste into the scenario when it is better.
    """
    import time
    from functools import partial

    from sim.experiments import optimizer as opt
    from sim.experiments.replications import Prepared
    from sim.experiments.runner import MAX_REPLICATIONS, run_replications
    from sim.model.plan import MAX_SEED

    # The budget counts from the command's start (its imports, loading and the pool included).
    entry = sys.modules.get("sim.entry")
    started = getattr(entry, "STARTED", None) or time.monotonic()
    _check_counts(replications, workers, scheduler)
    _in_range("--holdout", holdout, 0, MAX_REPLICATIONS)
    _in_range("--max-evaluations", max_evaluations, 1, opt.MAX_EVALUATIONS)
    _in_range("--seed", seed, 0, MAX_SEED)
    if budget is not None and not 0 < budget <= opt.MAX_BUDGET_S:  # NaN fails too
        raise InputError(
            "--budget",
            (),
            f"expected seconds more than 0 and at most {opt.MAX_BUDGET_S:,.0f}, got {budget}",
        )
    if budget is None and max_evaluations is None:
        budget = DEFAULT_OPTIMIZE_BUDGET_S
    prepared = Prepared.of(_load(scenario, overrides))
    tally = [0, 0]
    base = partial(run_replications, workers=workers, scheduler=scheduler)
    evaluate: Any = _tolerant(base, tally) if allow_failures else base
    with Progress(
        TextColumn("[bold]Optimizing"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeRemainingColumn(),
        console=err,
    ) as bar:
        task = bar.add_task("", total=1.0)

        def progress(status: opt.OptimizeStatus) -> None:
            bar.update(
                task,
                completed=status.fraction,
                description=f"{status.evaluations} orderings, best {status.best:.3f}",
            )

        try:
            result = opt.optimize(
                prepared,
                objective=objective,
                replications=replications,
                budget_s=budget,
                max_evaluations=max_evaluations,
                seed=seed,
                holdout=holdout,
                batch=OPTIMIZE_BATCH,
                evaluate=evaluate,
                progress=progress,
                started=started,
            )
        except opt.BudgetTooShort as exc:
            raise InputError("--budget", (), str(exc)) from None
    _replications_failed(tally[1], tally[0], [], allow=True)
    out.print(
        _stats_table(
            f"{objective} over {replications} replications ({result.evaluations} orderings"
            f" screened on {result.screen}, {result.promotions} run on all {replications};"
            f" {result.elapsed_s:.0f} s)",
            [
                (
                    label,
                    f"{value:.3f}",
                    str(count) if count == replications else f"{count}: screened out",
                )
                for (label, value), count in zip(result.rows(), result.counts(), strict=True)
            ],
            ("ordering", objective, "replications"),
        )
    )
    out.print(result.verdict("--holdout N"), soft_wrap=True)
    if result.better or (not result.held_out and result.objective_interval.low > 0):
        out.print("To re-run it, put this under plan: in the scenario:", soft_wrap=True)
        out.print(result.ordering_yaml(), soft_wrap=True, end="")
    else:
        out.print(
            f"Keep a named strategy: put this under plan: in the scenario: ordering:"
            f" {result.best_named}",
            soft_wrap=True,
        )


DEFAULT_OPTIMIZE_BUDGET_S = 30.0
"""``migsim optimize --budget`` when neither it nor ``--max-evaluations`` is given."""

OPTIMIZE_BATCH = 2
"""Proposals ``migsim optimize`` screens per call: two keep two workers busy (measured on
scenarios/weekend-2000.yaml, docs/performance.md); fixed, so that the search does not depend on
``--workers``."""


# ---- calibrate ---------------------------------------------------------------------------------


@cli.command()
@click.argument("timings", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the fitted durations: block to this YAML file.",
)
@force_option("OUT")
@input_errors
def calibrate(timings: Path, out_path: Path | None, force: bool) -> None:
    """Fit step durations from dry-run TIMINGS (CSV: unit, step, vms, minutes).

    Microsoft advises a Validate/Prepare/Abort dry run before migrating; its timings give each
    step's base, per-VM time and spread.
    """
    from sim.common.atomic import YAML_SUFFIXES, claim_file
    from sim.experiments.calibration import calibrate as fit
    from sim.experiments.calibration import write_durations

    if out_path is not None:
        what = "a durations file such as durations.yaml"
        _hold(claim_file(out_path, force=force, what=what, suffixes=YAML_SUFFIXES))
    result = fit(timings, str(timings))
    rows = result.rows()
    columns = [c for c in (rows[0] if rows else {"step": ""}) if c != "note"]

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "-" if value != value else f"{value:.3f}"  # NaN: no R² for one point
        return str(value)

    out.print(
        _stats_table(
            f"Fitted from {result.observations} observations (minutes; R² on log durations)",
            [tuple(cell(r[c]) for c in columns) for r in rows],
            columns,
        )
    )
    for r in rows:
        if r.get("note"):
            out.print(f"  {r['step']}: {r['note']}", soft_wrap=True)
    if out_path is None:
        out.print(result.to_yaml(), soft_wrap=True, end="")
    else:
        write_durations(result, out_path, force=force)
        out.print(f"Wrote {out_path}: paste its durations: block under plan:", soft_wrap=True)


# ---- generate ----------------------------------------------------------------------------------


@cli.command()
@click.option("--vms", type=int, required=True, help="How many VMs the estate holds.")
@click.option("--vnets", type=int, default=None, help="How many VNets (default VMs // 150).")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the estate, and the plan's seed of the scenario.",
)
@click.option(
    "--rule-share",
    type=float,
    default=0.05,
    show_default=True,
    help="Share of resources that trigger a migration rule.",
)
@click.option(
    "--estate-only",
    is_flag=True,
    help="Write an estate file (for a scenario's estate: key) instead of a whole scenario.",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(path_type=Path),
    help="The YAML file to write: a scenario (estate and default plan), or with --estate-only"
    " an estate.",
)
@force_option("OUT")
@input_errors
def generate(
    vms: int,
    vnets: int | None,
    seed: int,
    rule_share: float,
    estate_only: bool,
    out_path: Path,
    force: bool,
) -> None:
    """Write a realistic synthetic classic estate, the same for the same seed, as a scenario
    that runs: the estate plus a default plan (one 48-hour window each weekend, 4 crews; every
    value an assumption listed in docs/what-if.md). --estate-only writes the estate alone."""
    from sim.common.atomic import YAML_SUFFIXES, atomic_file, claim_file
    from sim.importers.generate import (
        DEFAULT_CREWS,
        MAX_SEED,
        MAX_VMS,
        default_plan,
        estate_to_yaml,
        generate_estate,
        scenario_yaml,
    )

    _in_range("--vms", vms, 1, MAX_VMS)
    _in_range("--vnets", vnets, 0, vms)
    if not 0 <= rule_share <= 1:
        raise InputError("--rule-share", (), f"expected a share from 0 to 1, got {rule_share}")
    _in_range("--seed", seed, 0, MAX_SEED)
    _hold(claim_file(out_path, force=force, what="a YAML file", suffixes=YAML_SUFFIXES))
    try:
        estate = generate_estate(vms, vnets=vnets, seed=seed, rule_share=rule_share)
    except ValueError as exc:
        raise InputError("--vnets", (), str(exc)) from None
    command = (
        f"migsim generate --vms {vms} --seed {seed}"
        + (f" --vnets {vnets}" if vnets is not None else "")
        + (f" --rule-share {rule_share:g}" if rule_share != 0.05 else "")
    )
    if estate_only:
        text = estate_to_yaml(estate)
    else:
        text = scenario_yaml(
            estate,
            f"synthetic-{vms}",
            default_plan(seed),
            description=f"Synthetic classic estate of {vms} VMs ({command}) under migsim"
            " generate's default plan.",
            header=f"Written by `{command}`. The plan is migsim generate's default"
            ' (docs/what-if.md, "Synthetic scenarios"):\nevery value in it is an assumption;'
            " edit it to your own plan.",
        )
    with atomic_file(out_path, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    shape = (
        f"{len(estate.vnets)} VNets, {len(estate.cloud_services)} cloud services, {vms} VMs"
        f" (seed {seed})"
    )
    if estate_only:
        out.print(
            f"Wrote {out_path}: an estate of {shape}; use it from a scenario with"
            f" estate: {out_path.name}",
            soft_wrap=True,
        )
    else:
        out.print(
            f"Wrote {out_path}: a scenario of {shape} under the default plan (a window from"
            f" Saturday 00:00 UTC for 48 h each weekend, {DEFAULT_CREWS} crews); run it with"
            f" migsim run {out_path} --out DIR",
            soft_wrap=True,
        )


# ---- report ------------------------------------------------------------------------------------


@cli.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The HTML file to write (default RESULTS_DIR/report.html).",
)
@force_option("the report file")
@input_errors
def report(results_dir: Path, out_path: Path | None, force: bool) -> None:
    """Write one self-contained HTML report of RESULTS_DIR (a run, its replications, and the
    compare/ and sensitivity/ folders inside it)."""
    from sim.common.atomic import claim_file
    from sim.outputs.report import REPORT_NAME, build_report

    if out_path is not None or results_dir.is_dir():
        target = out_path if out_path is not None else results_dir / REPORT_NAME
        html = (".html", ".htm")
        _hold(claim_file(target, force=force, what="an HTML file", suffixes=html))
    problems: list[str] = []
    with out.status("Drawing the figures and writing the report..."):
        path = build_report(results_dir, out_path, force=force, problems=problems)
    for problem in problems:
        # the page names them too; a script or a person at the terminal must see them as well
        err.print(
            Text("warning: ", style="bold yellow")
            + Text(f"{results_dir}/{problem}; its section is left out of the report"),
            soft_wrap=True,
        )
    out.print(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", soft_wrap=True)


# ---- runbook -----------------------------------------------------------------------------------


@cli.command()
@click.argument("scenario", metavar="SCENARIO_OR_RUN_DIR", type=click.Path(path_type=Path))
@set_option
@click.option(
    "--out",
    "out_path",
    required=True,
    metavar="FILE",
    type=click.Path(path_type=Path),
    help="The file to write: .xlsx (workbook), .csv or .ics (calendar of the windows).",
)
@click.option(
    "--existing-vnet",
    metavar="GROUP/VNET/SUBNET",
    default=None,
    help="Move cloud services not in a VNet into this Resource Manager VNet"
    " (default: the platform creates one).",
)
@force_option("the file at OUT")
@input_errors
def runbook(
    scenario: Path,
    overrides: tuple[str, ...],
    out_path: Path,
    existing_vnet: str | None,
    force: bool,
) -> None:
    """Write the runbook of a plan: one row per unit step, with its window, crew, command,
    clock times, lock, downtime and rollback (docs/runbook.md).

    From a run folder with replications (migsim run --replications N --out DIR), each step also
    gets its P80 end.
    """
    from sim.common.atomic import claim_file
    from sim.experiments.runbook import build_runbook
    from sim.outputs.runbook import check_runbook_path, write_runbook

    check_runbook_path(out_path, force)
    from sim.experiments.run import RUN_FILES

    if (
        scenario.is_dir()
        and out_path.name in RUN_FILES
        and out_path.parent.resolve() == scenario.resolve()
    ):
        # --force replaces what this command wrote, never the run it reads
        raise InputError(
            str(out_path),
            (),
            f"is one of the run's own files in {scenario}; expected another name for the"
            " runbook (such as runbook.xlsx)",
        )
    _hold(claim_file(out_path, force=force, what="a runbook file"))
    if scenario.is_dir() and (scenario / "replications.csv").is_file() and not overrides:
        with _progress("Replications for the P80 ends") as progress:
            book = build_runbook(
                scenario, overrides=overrides, existing_vnet=existing_vnet, progress=progress
            )
    else:
        book = build_runbook(scenario, overrides=overrides, existing_vnet=existing_vnet)
    path = write_runbook(book, out_path, force)
    p80 = f"; P80 ends from {book.replications_text}" if book.replications else ""
    out.print(
        f"Wrote {path}: {len(book.steps)} steps in {len(book.windows)} maintenance"
        f" window{'s' if len(book.windows) != 1 else ''}, times in {book.timezone}{p80}",
        soft_wrap=True,
    )


# ---- import ------------------------------------------------------------------------------------


@cli.group(name="import")
def import_() -> None:
    """Turn a real classic estate's exports into a migsim estate file."""


def _claim_estate(out_path: Path, force: bool) -> None:
    from sim.common.atomic import YAML_SUFFIXES, claim_file

    _hold(claim_file(out_path, force=force, what="an estate file", suffixes=YAML_SUFFIXES))


def _write_import(result: ImportResult, out_path: Path, force: bool) -> None:
    from sim.importers.result import write_estate

    for warning in result.warnings:
        err.print(Text.assemble(("warning: ", "yellow"), warning), soft_wrap=True)
    write_estate(result, out_path, force=force)
    estate = result.estate
    vms = sum(len(cs.vms) for cs in estate.cloud_services)
    out.print(
        f"Wrote {out_path}: {len(estate.vnets)} VNets, {len(estate.cloud_services)} cloud services,"
        f" {plural(vms, 'VM')}, {len(estate.storage_accounts)} storage accounts"
        f" ({plural(len(result.warnings), 'warning')})"
        f" from {len(result.sources)} files",
        soft_wrap=True,
    )


out_estate_option = click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(path_type=Path),
    help="The estate file to write (YAML; a scenario's estate: key can name it).",
)

location_option = click.option(
    "--location",
    default=None,
    help="The estate's region (e.g. 'West Europe'); needed when the files name only an"
    " affinity group, which is never taken as a location. Default: the most frequent"
    " Location the files name, else 'unknown'.",
)


@import_.command(name="asm")
@click.argument("folder", type=click.Path(path_type=Path))
@out_estate_option
@location_option
@force_option("OUT")
@input_errors
def import_asm_cmd(folder: Path, out_path: Path, location: str | None, force: bool) -> None:
    """Import a folder of Service Management API XML responses (and a netcfg file)."""
    from sim.importers.asm import import_asm
    from sim.importers.result import check_location

    if location is not None:
        check_location(location)
    _claim_estate(out_path, force)
    _write_import(import_asm(folder, location=location), out_path, force)


@import_.command(name="netcfg")
@click.argument("file", type=click.Path(path_type=Path))
@out_estate_option
@location_option
@force_option("OUT")
@input_errors
def import_netcfg_cmd(file: Path, out_path: Path, location: str | None, force: bool) -> None:
    """Import a network configuration file (Get-AzureVNetConfig)."""
    from sim.importers.netcfg import import_netcfg
    from sim.importers.result import check_location

    if location is not None:
        check_location(location)
    _claim_estate(out_path, force)
    _write_import(import_netcfg(file, location=location), out_path, force)


class _Stopped(BaseException):
    """SIGINT or SIGTERM, raised in the main thread: not an ``Exception``, so nothing on the way
    swallows it, and not ``KeyboardInterrupt``, which click would turn into exit 1.

    Built from the signal's number or, as SimPy rebuilds an exception that escapes a process
    (``type(e)(*e.args)``), from its name: a signal landing inside a replication stays this
    exception (it was a ``ValueError``, which the runner took for a failed replication)."""

    def __init__(self, signum: int | str) -> None:
        sig = signal.Signals[signum] if isinstance(signum, str) else signal.Signals(signum)
        super().__init__(sig.name)
        self.signum = int(sig)


_stopping = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _stopping
    if _stopping:  # already stopping: the clean-up is bounded, let it finish
        return
    _stopping = True
    raise _Stopped(signum)


def _stopped(signum: int) -> None:
    """After SIGINT/SIGTERM unwound the command (temporaries removed, claims released): stop
    every process it started, say so, and exit 128 + the signal number (130, 143)."""
    runner = sys.modules.get("sim.experiments.runner")
    if runner is not None:
        runner.close_backends(terminate=True)
    _error(f"stopped by {signal.Signals(signum).name}; no output was left half-written")
    sys.exit(128 + signum)


def _usage(exc: click.UsageError) -> None:
    """A command line click cannot parse (an unknown option, a value of the wrong type, a
    missing argument): one line, as every other bad input, and exit 2."""
    command = exc.ctx.command_path if exc.ctx is not None else "migsim"
    if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
        click.echo(exc.ctx.get_help(), err=True)  # `migsim` alone: its help, as click gives it
        sys.exit(2)
    _error(f"{exc.format_message()} (`{command} --help` lists what it takes)")
    sys.exit(2)


def main() -> None:
    """The ``migsim`` console script: the click group, with signals, usage errors and running
    out of memory turned into one line and the documented exit codes."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal)
    try:
        code = cli.main(prog_name="migsim", standalone_mode=False)
    except _Stopped as stop:
        _stopped(stop.signum)
    except click.UsageError as exc:
        _usage(exc)
    except click.ClickException as exc:  # pragma: no cover - the commands raise InputError
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:  # pragma: no cover - no command prompts
        sys.exit(130)
    except MemoryError:
        runner = sys.modules.get("sim.experiments.runner")
        if runner is not None:
            runner.close_backends(terminate=True)
        _error(
            "ran out of memory; nothing was written. Expected an input this machine can hold"
            " (a smaller estate, fewer replications or workers, or more memory)"
        )
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
