"""The ordering optimizer: known optima (by exhaustive enumeration), reproducibility, re-runs."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from sim.engine.sampling import stable_hash
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
from sim.model.ordering import STRATEGIES, decode_priorities, order_units, violations
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


# ---- the budget, the screen, the hold-out, reproducibility, moves ------------------------------


class SlowClock:
    """A clock that evaluations move: every replication run costs ``per_row`` seconds."""

    def __init__(self, per_row: float) -> None:
        self.now = 0.0
        self.per_row = per_row

    def __call__(self) -> float:
        return self.now

    def evaluate(
        self, alts: Sequence[Prepared], n: int, *, first: int = 0, stop: Any = None
    ) -> list[list[ReplicationRow]]:
        out: list[list[ReplicationRow]] = []
        for alt in alts:
            rows = []
            for r in range(first, first + n):
                if stop is not None and stop():
                    break
                self.now += self.per_row
                rows.append(alt.row(r))
            out.append(rows)
        return out


@pytest.mark.parametrize("budget", [30.0, 60.0, 200.0])
def test_the_budget_is_kept_hold_out_included(budget: float) -> None:
    # Replications of one second each (contoso's take milliseconds: the clock says otherwise).
    prepared = Prepared.of(load_scenario(CONTOSO))
    clock = SlowClock(1.0)
    res = optimize(
        prepared, replications=6, screen=2, budget_s=budget, holdout=10, evaluate=clock.evaluate,
        clock=clock,
    )  # fmt: skip
    # at most one replication (the one running when the deadline passed) over the budget
    assert clock.now <= budget + 1.0 and res.elapsed_s == clock.now
    assert res.stopped == "time" and res.evaluations >= 4  # contoso's 4 distinct starts
    if budget == 200.0:
        assert res.evaluations > 20  # the search ran: 2 s a candidate
    if not res.found_nothing_better:
        assert 0 < res.holdout_run <= 10
    # a budget too short for the starting points says so, before it has run over
    short = SlowClock(1.0)
    with pytest.raises(BudgetTooShort, match="starting orderings"):
        optimize(prepared, replications=6, screen=2, budget_s=5.0, evaluate=short.evaluate,
                 clock=short)  # fmt: skip
    assert short.now <= 5.0


def test_the_search_leaves_the_hold_out_its_time() -> None:
    # The one-crew case where the search finds better orders: the hold-out must run.
    prepared = Prepared.of(one_crew(accounts=1, nsgs=1, small_vnets=2))
    clock = SlowClock(0.5)
    res = optimize(
        prepared, replications=2, screen=1, budget_s=60.0, holdout=20, evaluate=clock.evaluate,
        clock=clock,
    )  # fmt: skip
    assert not res.found_nothing_better
    assert res.holdout_run == 20 and clock.now <= 60.0  # 40 replications of 0.5 s fitted


def test_a_hold_out_the_budget_cuts_short_is_judged_on_pairs() -> None:
    # 1,000 held-out replications of 0.5 s cannot fit a 60 s budget: the hold-out runs in
    # rounds of both orders, so those that ran are pairs (in one call the first order's would
    # have taken all the time and left none to compare).
    prepared = Prepared.of(one_crew(accounts=1, nsgs=1, small_vnets=2))
    clock = SlowClock(0.5)
    res = optimize(
        prepared, replications=2, screen=1, budget_s=60.0, holdout=1000, evaluate=clock.evaluate,
        clock=clock,
    )  # fmt: skip
    assert not res.found_nothing_better
    assert 8 <= res.holdout_run < 1000 and res.interval.n == res.holdout_run
    assert res.interval_replications == (2, 1002)
    assert clock.now <= 60.5
    assert "held-out replications of the 1000 asked (budget)" in res.verdict()


def test_the_hold_out_runs_fresh_replications_only() -> None:
    prepared = Prepared.of(one_crew(accounts=1, nsgs=1, small_vnets=2))
    ran: list[tuple[tuple[str, ...], int]] = []

    def counting(alts: Sequence[Prepared], n: int, **kw: Any) -> list[list[ReplicationRow]]:
        got = serial_evaluate(alts, n, **kw)
        ran.extend(
            (alt.order, row.replication)
            for alt, rows in zip(alts, got, strict=True)
            for row in rows
        )
        return got

    res = optimize(
        prepared, replications=4, screen=2, budget_s=None, max_evaluations=40, holdout=6,
        seed=7, evaluate=counting,
    )  # fmt: skip
    assert not res.found_nothing_better
    held = [(o, r) for o, r in ran if r >= 4]
    # exactly replications 4..9 of the best named order and of the best, each once
    assert sorted(held) == sorted((o, r) for o in (res.best_named_order, res.best_order)
                                  for r in range(4, 10))  # fmt: skip
    assert res.interval_replications == (4, 10) and res.interval.n == 6
    # and the search never ran one twice
    assert len(ran) == len(set(ran))


def test_the_screen_is_the_paired_t_rule() -> None:
    # d = 1, 2, 3, 4: mean 2.5, sd 1.291; t(0.9, 3) = 1.638: W = 1.638 * 1.291 / 2 = 1.057
    assert stats.t.ppf(0.9, 3) * np.std([1, 2, 3, 4], ddof=1) / 2 == pytest.approx(1.0574, 1e-3)
    assert not survives([1, 2, 3, 4], alpha=0.1)  # 2.5 > 1.057: significantly worse
    assert survives([-1, 2, 0.5, 1], alpha=0.1)  # mean 0.625 <= W = 1.638 * 1.25 / 2 = 1.024
    assert survives([0.0, 0.0, 0.0]) and not survives([0.1, 0.1, 0.1])  # no noise: mean <= 0
    assert survives([-0.5]) and not survives([0.5])  # one replication: no variance
    # Bonferroni over the others: a looser t for each of 2 comparisons
    d = [0.5, 1.5, 1.0, 2.0]  # mean 1.25, sd 0.645: W(alpha 0.1) = 0.529, W(0.05) = 0.759
    assert not survives(d, alpha=0.1) and not survives(d, alpha=0.1, comparisons=2)
    assert survives([0.1, 1.5, 0.2, 1.0], alpha=0.1, comparisons=2)  # 0.7 <= 2.353*.66/2=0.78
    assert not survives([0.1, 1.5, 0.2, 1.0], alpha=0.1)  # one comparison: W = 0.547 < 0.7
    base = [10.0, 11.0, 12.0, 13.0]
    noisy = [b + d_ for b, d_ in zip(base, [0.3, -0.2, 0.1, 0.0], strict=True)]
    worse = [b + d_ for b, d_ in zip(base, [4, 5, 6, 5], strict=True)]
    # t(1 - 0.1/2, 3) = 2.353: against the first, the second's mean 0.05 <= W = 0.245 (kept), the
    # third's 5 > W = 0.96 (dropped); exactly 0.1 worse every time has no noise: dropped
    assert screen_set([base, noisy, worse], alpha=0.1) == [True, True, False]
    assert screen_set([base, [b + 0.1 for b in base]], alpha=0.1) == [True, False]


def rows_of(values: Sequence[float], first: int = 0) -> list[ReplicationRow]:
    return [
        ReplicationRow(
            replication=first + i,
            seed=0,
            makespan_hours=v,
            vm_hours_down=0.0,
            peak_vms_down=0,
            lock_resource_hours=0.0,
            units_not_migrated=0,
            retries=0,
            service_hours_down=0.0,
            exposure_hours=0.0,
            protection_gap_hours=0.0,
            units_needing_support=0,
        )
        for i, v in enumerate(values)
    ]


def test_only_candidates_that_screen_the_incumbent_out_are_promoted() -> None:
    """A fake evaluation with known values: every order scores 100 + its own fixed offset in
    each replication, plus the replication's own noise shared by all (common random numbers).
    The offset is 0 for the named strategies' orders, +-0.01 for half the others each."""
    prepared = Prepared.of(load_scenario(CONTOSO))
    named = {tuple(order_units(prepared.units, s, prepared.plan)) for s in STRATEGIES}
    named.add(prepared.order)
    noise = [0.0, 3.0, -2.0, 1.0, 0.5, -1.5, 2.5, -0.5]
    ranges: list[tuple[tuple[str, ...], int, int]] = []

    def offset(order: tuple[str, ...]) -> float:
        if order in named:
            return 0.0
        return -1.0 if stable_hash(",".join(order)) % 2 else 1.0

    def fake(alts: Sequence[Prepared], n: int, *, first: int = 0, stop: Any = None) -> Any:
        ranges.extend((a.order, first, n) for a in alts)
        return [rows_of([100 + offset(a.order) + noise[r] for r in range(first, first + n)],
                        first) for a in alts]  # fmt: skip

    res = optimize(prepared, replications=8, screen=4, budget_s=None, max_evaluations=30,
                   evaluate=fake)  # fmt: skip
    top_ups = [o for o, first, n in ranges if first == 4]
    searched = [o for o in top_ups if o not in named]
    # A candidate 1 h better in every replication screens out the named incumbent (no
    # variance: mean(incumbent - candidate) = 1 > 0) and is promoted; one 1 h worse never is;
    # once one is the incumbent, the others 1 h better tie it and are not promoted.
    assert len(searched) == 1 and offset(searched[0]) == -1.0
    assert res.best_order == searched[0] and res.promotions == len(top_ups)
    assert res.best_value == pytest.approx(res.named[res.best_named] - 1.0)


def test_reproducible_with_max_evaluations_whatever_the_workers() -> None:
    from functools import partial

    from sim.experiments.runner import run_replications

    prepared = Prepared.of(load_scenario(CONTOSO))

    def go(workers: int) -> OptimizeResult:
        res = optimize(
            prepared, replications=6, screen=3, budget_s=None, max_evaluations=12, holdout=4,
            batch=2, evaluate=partial(run_replications, workers=workers),
        )  # fmt: skip
        return dataclasses.replace(res, elapsed_s=0.0)

    one, two = go(1), go(2)
    assert one == two and one.evaluations == 12 and one.stopped == "evaluations"


def test_the_cli_says_plainly_when_nothing_better_was_found(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sim.cli import cli

    # one unit: no other order exists, so no search can beat the named strategies
    sc = {"name": "t", "estate": {"vnets": [{"name": "v"}]}, "plan": {"crews": 1}}
    path = tmp_path / "one.yaml"
    path.write_text(json.dumps(sc))
    got = CliRunner().invoke(
        cli, ["optimize", str(path), "--max-evaluations", "5", "--replications", "3",
              "--holdout", "4", "--workers", "1"],
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    assert "Nothing better than as_listed was found" in got.output
    assert "Keep a named strategy" in got.output and "ordering: as_listed" in got.output
    assert "improves" not in got.output and "To re-run it" not in got.output


def test_the_budget_counts_from_the_command_s_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from click.testing import CliRunner

    import sim.entry
    from sim.cli import cli

    # The console script notes when it began; the budget counts from there, so its own loading
    # is inside it. A command begun 50 s ago has nothing left of a 40 s budget.
    monkeypatch.setattr(sim.entry, "STARTED", time.monotonic() - 50.0)
    got = CliRunner().invoke(cli, ["optimize", str(CONTOSO), "--budget", "40", "--workers", "1"])
    assert got.exit_code == 2, got.output
    assert "--budget: the budget of 40.0 s ran out" in got.output
    assert "Traceback" not in got.output


def test_without_a_hold_out_the_verdict_names_the_cli_option(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sim.cli import cli

    got = CliRunner().invoke(
        cli, ["optimize", str(CONTOSO), "--max-evaluations", "40", "--replications", "12",
              "--holdout", "0", "--workers", "1"],
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    text = " ".join(got.output.split())
    if "Nothing better" not in text:
        assert "optimistic: pass --holdout N to judge it on fresh ones" in text
        assert "holdout=" not in text


WAVES = {
    "name": "w",
    "estate": {
        "vnets": [{"name": f"v{i}"} for i in range(6)],
        "storage_accounts": [{"name": f"s{i}"} for i in range(4)],
    },
    "plan": {
        "crews": 2,
        "check": "30m",
        "maintenance_windows": [{"every": "day", "at": "00:00", "for": "2h"}],
        "precedence": [{"before": "v0", "after": "v3"}, {"before": "s1", "after": "v5"}],
        "waves": [{"name": "a", "units": ["v0", "v1", "s0"]}, {"name": "b", "units": ["v2", "v3"]}],
        "durations": {"prepare": {"base": "50m"}},
    },
}


def one_unit_moves(before: Sequence[str], after: Sequence[str]) -> list[tuple[str, str | None]]:
    """Every ``(unit, unit now just after it)`` such that moving that one unit turns ``before``
    into ``after`` (a move by one place has two readings)."""
    found = []
    for u in before:
        if [x for x in before if x != u] == [x for x in after if x != u]:
            i = list(after).index(u)
            found.append((u, after[i + 1] if i + 1 < len(after) else None))
    assert found and list(after) != list(before), "not a one-unit move"
    return found


def test_moves_keep_every_constraint_and_do_what_they_say() -> None:
    prepared = Prepared.of(Scenario.model_validate(WAVES))
    moves = Moves(prepared)
    moves.schedule(prepared.order)
    assert set(moves.kinds()) == {"swap", "shift", "window", "wave"}
    window, wave = moves.window_of, moves.wave_of
    used = sorted(set(window.values()))
    assert len(used) > 1  # the units start in several maintenance windows
    rng = np.random.default_rng(3)
    for _ in range(300):
        proposed = moves.propose(prepared.order, rng)
        assert sorted(proposed) == sorted(prepared.order)
        decoded = decode_priorities(prepared.units, proposed)
        assert violations(prepared.units, decoded) == []  # must-precede holds, always
    order = list(prepared.order)
    changed = [0, 0]
    for seed in range(30):
        # a window move: just before the first unit of the window before or after its own
        out = moves._to_window(list(order), np.random.default_rng(seed))

        def to_window(unit: str, after: str | None) -> bool:
            if after is None or after not in window:
                return False
            i = used.index(window[unit])
            first = next(u for u in order if u != unit and window.get(u) == window[after])
            return window[after] in (used[max(0, i - 1)], used[min(len(used) - 1, i + 1)]) and (
                window[after] != window[unit] and after == first
            )

        # (no change when the unit already sits just before that window's first unit)
        assert out == order or any(to_window(u, a) for u, a in one_unit_moves(order, out))
        changed[0] += out != order
        # a wave move: the front of its wave or of the wave before
        out = moves._to_wave(list(order), np.random.default_rng(seed))

        def to_wave(unit: str, after: str | None) -> bool:
            if after is None or unit not in wave or after not in wave:
                return False
            first = next(u for u in order if u != unit and wave.get(u) == wave[after])
            return wave[after] in (wave[unit], wave[unit] - 1) and after == first

        assert out == order or any(to_wave(u, a) for u, a in one_unit_moves(order, out))
        changed[1] += out != order
    assert min(changed) >= 10  # most moves move something
