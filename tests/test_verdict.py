"""The verdict on every headline metric (best per metric, the Pareto set) and the plan's ordering
against the named strategies (``migsim run --replications N``)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.common.stats import Interval
from sim.common.timeparse import format_hours
from sim.experiments.baseline import ordering_baseline
from sim.experiments.comparison import (
    MetricRow,
    alternatives_from,
    compare,
    dominates,
    headline_verdict,
    pareto_set,
    write_compare_csv,
)
from sim.experiments.replications import Prepared
from sim.experiments.run import run_experiment, write_experiment
from sim.model.ordering import order_units
from sim.model.scenario import Scenario, load_scenario
from sim.outputs.report import build_report
from sim.outputs.verdicts import (
    HEADLINE_METRICS,
    OrderingBaseline,
    OrderingOutcome,
    Verdict,
    better,
    write_verdict,
)

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"
HEADS = [m for m, _, _ in HEADLINE_METRICS]


def migsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def tables(means: dict[str, dict[str, float]]) -> dict[str, tuple[MetricRow, ...]]:
    """Comparison tables by hand: ``means[alternative][metric]``; best and tolerance as the
    comparison sets them (a billionth of the largest mean, which is the largest value here)."""
    names = list(means)
    out = {}
    for m in HEADS:
        values = {a: means[a][m] for a in names}
        tol = 1e-9 * max(abs(v) for v in values.values())
        sign = -1.0 if better(m) == "higher" else 1.0
        top = min(sign * v for v in values.values())
        out[m] = tuple(
            MetricRow(
                alternative=a,
                metric=m,
                n=10,
                mean=Interval(v, v, v),
                percentiles={50: v, 80: v, 90: v},
                difference=Interval(0.0, 0.0, 0.0),
                probability_best=0.0,
                best=sign * v <= top + tol,
                tolerance=tol,
            )
            for a, v in values.items()
        )
    return out


def alt(
    makespan: float,
    vm: float,
    service: float,
    lock: float,
    done: float = 0.9,
    not_migrated: float = 0.0,
) -> dict[str, float]:
    values = (makespan, vm, service, lock, done, not_migrated)
    return dict(zip(HEADS, values, strict=True))


def test_the_pareto_set_of_three_alternatives_known_by_construction() -> None:
    # fast is quickest but holds the most locks; careful has the fewest lock hours; slow is
    # beaten by careful on every metric (VM-hours equal everywhere: a tie, not a difference).
    verdict = headline_verdict(
        tables(
            {
                "fast": alt(5.0, 1.0, 6.0, 30.0),
                "careful": alt(6.0, 1.0, 6.0, 20.0),
                "slow": alt(7.0, 1.0, 6.5, 25.0, done=0.8),  # P(done in window 1): lower
            }
        )
    )
    assert verdict.pareto == ("fast", "careful")
    assert verdict.dominated_by == {"slow": "careful"}
    assert verdict.strengths == {"fast": ("makespan_hours",), "careful": ("lock_resource_hours",)}
    best = {m.metric: m.best for m in verdict.metrics}
    assert best["makespan_hours"] == ("fast",)
    assert best["vm_hours_down"] == ("fast", "careful", "slow")  # a tie: no winner
    assert best["service_hours_down"] == ("fast", "careful")
    assert best["lock_resource_hours"] == ("careful",)
    assert best["done_in_window_1"] == ("fast", "careful")
    text = verdict.pareto_text()
    assert text.startswith(
        "Pareto set: fast and careful (trade-off: fast has the lowest makespan; careful has the"
        " lowest lock hours)."
    )
    assert "slow by careful" in text
    rows = {r[0]: r for r in verdict.rows()}
    assert rows["VM-hours down"][2] == "tie: all equal"
    assert rows["service-hours down"][2] == "tie: fast, careful"
    assert rows["makespan"][2:] == ("fast", "5.00")
    assert Verdict.from_dict(json.loads(json.dumps(verdict.as_dict()))) == verdict


def test_a_difference_within_the_tie_tolerance_dominates_nothing() -> None:
    # twin differs from base by float rounding only: neither beats the other, both stay, and
    # they are called equal; a real gain on one metric with rounding on the others does beat.
    noise = 1e-13
    verdict = headline_verdict(
        tables(
            {
                "base": alt(5.0, 1.0, 6.0, 20.0),
                "twin": alt(5.0 + noise, 1.0 - noise, 6.0, 20.0 - noise),
                "worse": alt(5.0 - noise, 1.0, 6.0, 21.0),
            }
        )
    )
    assert verdict.pareto == ("base", "twin")
    assert verdict.dominated_by == {"worse": "base"}
    assert verdict.pareto_text().startswith("Pareto set: base and twin: equal on every headline")
    # Without the tolerance the same numbers would make twin the only winner on VM-hours.
    assert not dominates([5.0, 1.0], [5.0 + noise, 1.0 - noise], [1e-9, 1e-9], [False, False])
    assert dominates([5.0, 1.0 - noise], [5.0 + noise, 1.0], [0.0, 0.0], [False, False])


def test_dominance_reads_each_metrics_direction() -> None:
    # the second metric improves upwards (like P(done in window 1))
    assert dominates([5.0, 0.9], [5.0, 0.8], [0.0, 0.0], [False, True])
    assert not dominates([5.0, 0.8], [5.0, 0.9], [0.0, 0.0], [False, True])
    assert pareto_set([[5.0, 0.8], [6.0, 0.9], [6.0, 0.8]], [0.0, 0.0], [False, True]) == [0, 1]


def test_done_in_window_1_is_won_by_the_highest_share() -> None:
    # contoso: two crews commit everything in the first weekend night, one crew never does.
    sc = load_scenario(CONTOSO)
    result = compare(alternatives_from(sc, vary=["plan.crews=1,2"]), 20, workers=1)
    one, two = result.table("done_in_window_1")
    shares = [
        sum(r.done_in_window_1 for r in rows) / len(rows) for rows in result.results
    ]  # the mean is the share of replications done in window 1
    assert [one.mean.estimate, two.mean.estimate] == shares == [0.0, 1.0]
    assert two.best and not one.best
    assert (one.probability_best, two.probability_best) == (0.0, 1.0)
    assert one.difference.estimate == -1.0  # this one minus the best: below it
    assert result.verdict("done_in_window_1").startswith(
        f"{two.alternative} has the highest mean done_in_window_1 (1.00)"
    )
    overall = result.overall()
    row = next(r for r in overall.rows() if r[0] == "P(done in window 1)")
    assert row == ("P(done in window 1)", "higher", two.alternative, "100%")
    assert overall.pareto == (two.alternative,)


def test_compare_prints_and_writes_the_pareto_set(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = migsim(
        "compare", str(CONTOSO), "--orderings", "smallest_first,largest_first,as_listed",
        "--replications", "30", "--workers", "1", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Every headline metric" in result.stdout
    verdict = json.loads((out / "verdict.json").read_text())
    printed = " ".join(result.stdout.split())
    pareto = verdict["pareto"]
    assert Verdict.from_dict(verdict).pareto_text() in printed
    assert re.search(r"Pareto set: [^.(]*\b" + re.escape(pareto[0]), printed)
    # Arithmetic from compare.csv: whoever is left out has a named alternative that is no worse
    # on any headline metric and better on one; no Pareto member has such an alternative.
    with (out / "compare.csv").open() as fh:
        means = {(r["alternative"], r["metric"]): float(r["mean"]) for r in csv.DictReader(fh)}
    names = verdict["alternatives"]

    def beats(a: str, b: str) -> bool:
        gains = [means[b, m] - means[a, m] for m in HEADS]
        return all(g >= -1e-6 for g in gains) and any(g > 1e-6 for g in gains)

    for name in names:
        if name in pareto:
            assert not any(beats(o, name) for o in names if o != name), name
        else:
            assert beats(verdict["dominated_by"][name], name), name
    assert "smallest_first" not in pareto  # contoso: slower and more service-hours down
    for m in verdict["metrics"]:
        top = min(means[a, m["metric"]] for a in names)
        assert m["best"] == [a for a in names if means[a, m["metric"]] <= top + 1e-6]


@pytest.fixture(scope="module")
def contoso() -> Scenario:
    return load_scenario(CONTOSO)


def test_run_compares_the_plans_ordering_with_compare_on_the_same_seeds(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = migsim(
        "run", str(CONTOSO), "--replications", "40", "--workers", "1", "--out", str(out)
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = OrderingBaseline.from_dict(json.loads((out / "orderings.json").read_text()))
    plan, best = record.plan, record.best_named()
    assert best is not None and not best.plan  # contoso's smallest_first is not the best
    assert record.plan_ordering == "smallest_first" and plan.names[0] == "smallest_first"
    line = " ".join(result.stdout.split())
    assert (
        f"The plan's ordering (smallest_first) finishes at P80 {format_hours(plan.p80)};"
        f" {best.name}, the best named strategy, at {format_hours(best.p80)}" in line
    )
    assert f"{format_hours(plan.p80 - best.p80)} sooner at P80" in line
    assert f"best in {best.probability_best:.0%} of 40 replications" in line

    names = ",".join(o.names[0] for o in record.outcomes)
    cmp = tmp_path / "cmp"
    result = migsim(
        "compare", str(CONTOSO), "--orderings", names, "--replications", "40", "--workers", "1",
        "--out", str(cmp),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with (cmp / "compare.csv").open() as fh:
        rows = {r["alternative"]: r for r in csv.DictReader(fh) if r["metric"] == "makespan_hours"}
    for o in record.outcomes:
        row = rows[o.names[0]]
        for key, value in (("p50", o.p50), ("p80", o.p80), ("p90", o.p90), ("mean", o.mean)):
            assert float(row[key]) == pytest.approx(value, abs=1e-6), (o.names, key)
        assert float(row["prob_best"]) == pytest.approx(o.probability_best, abs=1e-6)
        assert (row["best"] == "true") == o.best
    assert rows[best.name]["best"] == "true"
    diff = float(rows[plan.names[0]]["diff_to_best"])
    assert -best.diff_to_plan == pytest.approx(diff, abs=1e-6)


def test_no_baseline_skips_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = migsim(
        "run", str(CONTOSO), "--replications", "5", "--workers", "1", "--no-baseline",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not (out / "orderings.json").exists()
    assert "plan's ordering" not in result.stdout


def test_strategies_giving_one_order_run_once(contoso: Scenario) -> None:
    # contoso has no priorities and no waves: priority and waves give the estate's order.
    experiment = run_experiment(contoso, 6, workers=1)
    record = experiment.orderings
    assert record is not None and record.replications == 6
    groups = [o.names for o in record.outcomes]
    assert groups[0] == ("smallest_first",)
    assert ("as_listed", "priority", "waves") in groups
    flat = [n for g in groups for n in g]
    assert sorted(flat) == sorted(
        ["as_listed", "smallest_first", "largest_first", "priority", "critical_path_first", "waves"]
    )
    assert sum(o.probability_best for o in record.outcomes) == pytest.approx(1.0)
    assert record.plan.diff_to_plan == 0.0


def test_the_best_plan_ordering_is_called_best(contoso: Scenario) -> None:
    plan = contoso.plan.model_copy(update={"ordering": "largest_first"})
    sc = contoso.model_copy(update={"plan": plan})
    record = run_experiment(sc, 20, workers=1).orderings
    assert record is not None and record.plan.best
    assert record.sentence().startswith(
        "The plan's ordering (largest_first) is the best of the named strategies on 20"
        f" replications: P80 {format_hours(record.plan.p80)}"
    )


def test_an_explicit_list_is_the_plans_ordering(contoso: Scenario) -> None:
    listed = tuple(order_units(Prepared.of(contoso).units, "critical_path_first", contoso.plan))
    sc = contoso.model_copy(update={"plan": contoso.plan.model_copy(update={"ordering": listed})})
    own = Prepared.of(sc)
    record = ordering_baseline(sc, own, [own.row(r) for r in range(8)], 8, workers=1)
    assert record is not None
    assert record.plan_ordering == f"an explicit list of {len(listed)} units"
    # the list is critical_path_first's order: that strategy runs as the plan's, not again
    assert record.plan.names == ("critical_path_first",)
    assert all("critical_path_first" not in o.names for o in record.outcomes if not o.plan)
    assert record.sentence().startswith(
        f"The plan's ordering (an explicit list of {len(listed)} units), the same order as"
        " critical_path_first,"
    )


def test_the_report_says_the_pareto_set_and_the_plans_ordering(
    tmp_path: Path, contoso: Scenario
) -> None:
    root = tmp_path / "contoso"
    experiment = run_experiment(contoso, 8, workers=1)
    write_experiment(experiment, root)
    comparison = compare(alternatives_from(contoso, ["smallest_first", "largest_first"]), 8)
    (root / "compare").mkdir()
    write_compare_csv(comparison, root / "compare" / "compare.csv")
    write_verdict(comparison.overall(), root / "compare" / "verdict.json")
    html = build_report(root).read_text(encoding="utf-8")
    assert experiment.orderings is not None
    sentence = experiment.orderings.sentence().replace("'", "&#x27;")
    assert sentence in html
    assert "Every headline metric" in html
    assert comparison.overall().pareto_text() in html


def outcome(
    names: tuple[str, ...], mean: float, p80: float, *, plan: bool = False, best: bool = False
) -> OrderingOutcome:
    return OrderingOutcome(
        names=names,
        plan=plan,
        mean=mean,
        p50=p80 - 0.5,
        p80=p80,
        p90=p80 + 0.5,
        probability_best=0.6 if best else 0.2,
        best=best,
        diff_to_plan=0.0 if plan else mean - 8.0,
        diff_ci_low=0.0 if plan else mean - 8.1,
        diff_ci_high=0.0 if plan else mean - 7.9,
    )


def baseline(label: str, *outcomes: OrderingOutcome) -> OrderingBaseline:
    return OrderingBaseline("makespan_hours", 50, label, outcomes)


def test_the_ordering_sentence_in_each_case() -> None:
    plan = outcome(("smallest_first",), 8.0, 8.2, plan=True)
    # a faster strategy, sooner at P80 and on average: by how much, how sure, how often best
    faster = outcome(("largest_first",), 7.5, 7.6, best=True)
    assert baseline("smallest_first", plan, faster).sentence() == (
        "The plan's ordering (smallest_first) finishes at P80 8h12m; largest_first, the best"
        " named strategy, at 7h36m (36m sooner at P80; 30m sooner on average, 95 % CI"
        " 24m to 36m; best in 60% of 50 replications)."
    )
    # best on average but later at P80: both said, "on average" named
    steady = outcome(("as_listed", "priority"), 7.9, 8.3, best=True)
    text = baseline("smallest_first", plan, steady).sentence()
    assert "as_listed, the best named strategy on average, at 8h18m (6m later at P80" in text
    assert "6m sooner on average, the 95 % CI includes 0: not distinguishable" in text
    # the plan's own is best: it says so and names the next
    best_plan = outcome(("largest_first",), 7.5, 7.6, plan=True, best=True)
    slower = outcome(("smallest_first",), 8.0, 8.2)
    assert baseline("largest_first", best_plan, slower).sentence() == (
        "The plan's ordering (largest_first) is the best of the named strategies on 50"
        " replications: P80 7h36m, best in 60% of them; the next, smallest_first, finishes at"
        " P80 8h12m (36m later at P80)."
    )
    # an explicit list better than every strategy
    listed = outcome((), 7.5, 7.6, plan=True, best=True)
    text = baseline("an explicit list of 4 units", listed, slower).sentence()
    assert text.startswith("The plan's ordering (an explicit list of 4 units) beats every named")
    # a tie with a strategy: no winner
    twin = outcome(("as_listed",), 8.0, 8.2, best=True)
    tied_plan = outcome(("smallest_first",), 8.0, 8.2, plan=True, best=True)
    assert (
        baseline("smallest_first", tied_plan, twin)
        .sentence()
        .startswith("The plan's ordering (smallest_first) ties with as_listed for the lowest mean")
    )
    # every strategy gives the plan's order
    alone = outcome(("as_listed", "priority", "waves"), 8.0, 8.2, plan=True, best=True)
    assert baseline("as_listed", alone).sentence() == (
        "The plan's ordering (as_listed), the same order as priority and waves, finishes at P80"
        " 8h12m; every named strategy gives this same order."
    )
