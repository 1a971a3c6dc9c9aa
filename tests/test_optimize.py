"""The ordering optimizer: known optima (by exhaustive enumeration), reproducibility, re-runs."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from sim.experiments.optimizer import (
    OBJECTIVES,
    BudgetTooShort,
    Moves,
    OptimizeResult,
    OptimizeStatus,
    bootstrap_interval,
    make_scorer,
    optimize,
    optimized_order,
    paired_interval,
    screen_set,
    serial_evaluate,
    survives,
)
from sim.experiments.replications import Prepared, ReplicationRow
from sim.model.ordering import STRATEGIES, order_units, violations
from sim.model.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"


def vm(name: str, account: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "os_disk": {"storage_account": account}, **kw}


def one_crew(accounts: int, nsgs: int = 0, small_vnets: int = 0) -> Scenario:
    """One crew, no windows, no throttle, default (deterministic) durations, check 30m.

    ``big`` is a VNet with 12 VMs whose disks are spread over ``accounts`` storage accounts, so
    every account must follow it; ``small_vnets`` empty VNets are listed before it.
    """
    names = [f"s{i}" for i in range(accounts)]
    estate = {
        "vnets": [
            *({"name": f"v{i}"} for i in range(small_vnets)),
            {"name": "big", "subnets": [{"name": "default"}]},
        ],
        "cloud_services": [
            {
                "name": "cs-big",
                "vnet": "big",
                "vms": [vm(f"vm{i}", names[i % accounts], subnets=["default"]) for i in range(12)],
            }
        ],
        "storage_accounts": [{"name": n} for n in names],
        "nsgs": [{"name": f"n{i}"} for i in range(nsgs)],
    }
    # Preparing ahead: one crew serves other units while a unit sits in Check, so the order
    # decides the makespan (just in time, one crew runs the units back to back in any order).
    plan = {"crews": 1, "check": "30m", "write_limit_per_hour": None, "dispatch": "prepare_ahead"}
    return Scenario.model_validate({"name": "t", "estate": estate, "plan": plan})


def exhaustive(sc: Scenario) -> dict[tuple[str, ...], float]:
    """The makespan (hours) of every topological order: durations are deterministic."""
    base = Prepared.of(sc)
    return {
        tuple(o): dataclasses.replace(base, order=tuple(o)).row(0).makespan_hours
        for o in nx.all_topological_sorts(base.units.dag)
    }


def test_the_long_unit_heading_its_successors_goes_first() -> None:
    sc = one_crew(accounts=2, small_vnets=2)
    every = exhaustive(sc)
    assert len(every) == 40
    optimum = min(every.values())
    best_orders = [o for o, v in every.items() if v == optimum]
    # Proven by enumeration: every optimum starts the long unit first (its accounts then follow
    # while the crew serves the others).
    assert all(o[0] == "big" for o in best_orders)
    units = Prepared.of(sc).units
    named = {name: every[tuple(order_units(units, name, sc.plan))] for name in STRATEGIES}
    assert named["as_listed"] > optimum and named["smallest_first"] > optimum
    assert min(named.values()) > optimum  # no named strategy finds it here

    res = optimize(Prepared.of(sc), replications=2, budget_s=None, max_evaluations=60)
    assert res.best_value == pytest.approx(optimum)
    assert res.best_order in best_orders
    assert res.named == pytest.approx(named)
    assert res.improvement == pytest.approx(min(named.values()) - optimum)
    assert res.improvement > 0
    assert res.interval.low == res.interval.high == pytest.approx(res.improvement)
    boot = res.objective_interval
    assert boot.low == boot.mean == boot.high == pytest.approx(res.improvement)


def test_finds_an_optimum_no_named_strategy_reaches() -> None:
    sc = one_crew(accounts=1, nsgs=1, small_vnets=2)
    every = exhaustive(sc)
    optimum = min(every.values())
    res = optimize(Prepared.of(sc), replications=1, budget_s=None, max_evaluations=200, seed=7)
    assert min(res.named.values()) > optimum
    assert res.best_value == pytest.approx(optimum)
    assert every[res.best_order] == pytest.approx(optimum)
    assert res.evaluations <= 200
    # Proposals in batches (one evaluate call each): found too, and reproducible.
    sizes: list[int] = []

    def evaluate(alts: Sequence[Prepared], n: int, **kw: Any) -> list[list[ReplicationRow]]:
        sizes.append(len(alts))
        return serial_evaluate(alts, n, **kw)

    batched = optimize(
        Prepared.of(sc), replications=1, budget_s=None, max_evaluations=200, batch=4,
        seed=7, evaluate=evaluate,
    )  # fmt: skip
    assert batched.best_value == pytest.approx(optimum)
    assert max(sizes[1:]) <= 4 and batched.evaluations == sum(sizes) <= 200
    again = optimize(
        Prepared.of(sc), replications=1, budget_s=None, max_evaluations=200, batch=4, seed=7
    )
    assert again.best_order == batched.best_order and again.proposals == batched.proposals


def test_reproducible_and_rerunnable_on_contoso(tmp_path: Path) -> None:
    sc = load_scenario(CONTOSO)
    prepared = Prepared.of(sc)

    def go(seed: int | None = None) -> OptimizeResult:
        return optimize(prepared, replications=3, budget_s=None, max_evaluations=14, seed=seed)

    a, b = go(), go()
    assert dataclasses.replace(a, elapsed_s=0.0) == dataclasses.replace(b, elapsed_s=0.0)
    assert a.seed == sc.plan.seed and a.evaluations == 14 and a.stopped == "evaluations"
    assert a.best_value <= min(a.named.values())
    assert violations(prepared.units, a.best_order) == []
    # The printed order, re-run as an explicit plan.ordering, gives the reported objective.
    again = Prepared.of(sc, order=a.best_order)
    p80 = float(np.percentile([again.row(r).makespan_hours for r in range(3)], 80))
    assert p80 == a.best_value
    text = CONTOSO.read_text().replace(
        "  ordering: smallest_first", "  " + a.ordering_yaml().strip()
    )
    (tmp_path / "estates").mkdir()
    path = tmp_path / "c.yaml"
    path.write_text(text)
    reloaded = Prepared.of(load_scenario(path))
    assert reloaded.order == a.best_order
    assert [reloaded.row(r) for r in range(3)] == [again.row(r) for r in range(3)]
    assert go(seed=1).seed == 1


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_beats_or_ties_every_named_strategy(objective: str) -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    res = optimize(prepared, objective=objective, replications=3, budget_s=None, max_evaluations=10)
    assert res.best_value <= min(res.named.values()) + 1e-12
    assert res.improvement >= 0
    assert res.named[res.best_named] == min(res.named.values())
    assert list(res.named) == list(STRATEGIES)
    assert [label for label, _ in res.rows()] == ["optimized", *STRATEGIES, "plan"]
    if objective == "weighted":  # each term relative to the plan's own ordering
        assert res.plan_value == pytest.approx(1.0)


def test_holdout_interval_on_contoso() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    res = optimize(prepared, replications=3, budget_s=None, max_evaluations=8, holdout=4)
    assert res.interval_replications == (3, 7) and res.interval.n == 4 and res.holdout_run == 4
    assert res.objective_interval.n == 4
    assert res.objective_interval.low <= res.objective_interval.mean <= res.objective_interval.high


def test_the_verdict_reads_the_interval_of_the_held_out_replications() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    res = optimize(prepared, replications=3, budget_s=None, max_evaluations=8, holdout=4)
    res = dataclasses.replace(res, best_named_order=())  # as if the best were another order
    assert res.held_out
    assert "On 4 held-out replications (3-6), which the search never saw" in res.verdict()

    def judged(low: float, mean: float, high: float) -> str:
        iv = dataclasses.replace(res.objective_interval, low=low, mean=mean, high=high)
        return dataclasses.replace(res, objective_interval=iv, best_named_order=()).verdict()

    better = judged(0.1, 0.2, 0.3)
    assert better.startswith("Better.") and "by 0.200 h (95 % CI 0.100 to 0.300 h)" in better
    assert judged(-0.3, -0.2, -0.1).startswith("Worse.")
    assert "0.200 h worse than" in judged(-0.3, -0.2, -0.1)
    tie = judged(-0.1, 0.05, 0.2)
    assert tie.startswith("Tie.") and "+0.050 h, 95 % CI -0.100 to 0.200 h, which includes 0" in tie
    assert "nothing better than" in tie and "nothing better than" in judged(-0.3, -0.2, -0.1)
    assert "nothing better" not in better
    cut = dataclasses.replace(res, holdout_run=3, objective_interval=res.objective_interval)
    assert "On 3 held-out replications of the 4 asked (budget)" in cut.verdict()
    assert judged(0.0, 0.0, 0.0).startswith("Tie.")  # the best named order itself
    assert judged(math.nan, 0.1, math.nan).startswith("Not judged")
    searched = optimize(prepared, replications=3, budget_s=None, max_evaluations=8)
    searched = dataclasses.replace(searched, best_named_order=())
    assert not searched.held_out
    assert "On the 3 replications the search chose it on (optimistic" in searched.verdict()
    same = dataclasses.replace(res, best_order=res.best_named_order or ("x",))
    same = dataclasses.replace(same, best_named_order=same.best_order)
    assert same.verdict().startswith(f"Nothing better than {res.best_named} was found")
    assert same.found_nothing_better and not same.better


def test_pluggable_evaluate_and_progress() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    calls: list[tuple[int, int, int]] = []

    def evaluate(alts: Sequence[Prepared], n: int, **kw: Any) -> list[list[ReplicationRow]]:
        calls.append((len(alts), kw.get("first", 0), n))
        return serial_evaluate(alts, n, **kw)

    seen: list[OptimizeStatus] = []
    res = optimize(
        prepared,
        replications=6,
        screen=2,
        budget_s=None,
        max_evaluations=9,
        evaluate=evaluate,
        progress=seen.append,
    )
    screens = [c for c in calls if c[1:] == (0, 2)]
    assert all(c[1:] in ((0, 2), (2, 4)) for c in calls)  # screen 0..1, or the rest 2..5
    assert sum(k for k, _, _ in screens) == res.evaluations == 9
    assert sum(k for k, first, _ in calls if first == 2) == res.promotions
    assert calls[0][0] > 1  # the starting points in one call
    assert seen[-1].evaluations == 9 and seen[-1].fraction == 1.0
    assert [s.evaluations for s in seen] == sorted(s.evaluations for s in seen)
    order = optimized_order(prepared, replications=6, budget_s=None, max_evaluations=9)
    assert order == optimize(prepared, replications=6, budget_s=None, max_evaluations=9).best_order


def test_bad_arguments() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    with pytest.raises(ValueError, match="p80_makespan"):
        optimize(prepared, objective="fastest", max_evaluations=5)
    with pytest.raises(ValueError, match="batch"):
        optimize(prepared, batch=0, max_evaluations=5)
    with pytest.raises(ValueError, match="budget"):
        optimize(prepared, budget_s=None, max_evaluations=None)
    with pytest.raises(ValueError, match="weights"):
        optimize(prepared, objective="weighted", weights={"p80_makespan": 1.0}, max_evaluations=5)


def test_paired_interval_matches_scipy() -> None:
    a = [3.0, 4.5, 2.0, 5.5, 4.0, 3.5]
    b = [2.5, 4.0, 2.5, 4.0, 3.0, 3.5]
    got = paired_interval(a, b)
    ref = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (got.low, got.high) == pytest.approx((ref.low, ref.high))
    assert got.mean == pytest.approx(np.mean(np.subtract(a, b)))
    single = paired_interval([1.0], [0.5])
    assert single.mean == 0.5 and np.isnan(single.low)


def test_bootstrap_interval_of_the_p80_difference() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    a = serial_evaluate([prepared], 30)[0]
    other = dataclasses.replace(
        prepared, order=tuple(order_units(prepared.units, "as_listed", prepared.plan))
    )
    b = serial_evaluate([other], 30)[0]
    scorer = make_scorer("p80_makespan", a)
    rng = np.random.default_rng(1)
    same = bootstrap_interval(scorer, a, a, rng)
    assert (same.low, same.mean, same.high) == (0.0, 0.0, 0.0)
    got = bootstrap_interval(scorer, a, b, np.random.default_rng(1))
    assert got.mean == pytest.approx(scorer.value(a) - scorer.value(b))
    assert got.low < got.mean < got.high
    assert got == bootstrap_interval(scorer, a, b, np.random.default_rng(1))
