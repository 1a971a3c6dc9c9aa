"""The benchmark's plain SimPy anchor (benchmarks/plain_simpy.py) models the engine's job."""

from __future__ import annotations

import pytest
from test_ceiling import small_estate

from benchmarks.plain_simpy import job_of, simulate
from sim.experiments.replications import Prepared


def _prepared(crews: int) -> Prepared:
    return small_estate(crews, check="30m")


@pytest.mark.parametrize("crews", [1, 2, 4])
def test_anchor_at_its_medians_ends_when_the_engine_does(crews: int) -> None:
    # No failures, throttle, windows or remediation, every step at its central value: the planner's
    # model and migsim's deterministic replication finish the estate at the same minute.
    prepared = _prepared(crews)
    rep = prepared.replicate(0, deterministic=True)
    assert all(o.migrated for o in rep.outcomes)
    makespan, locks = simulate(job_of(prepared, sigma=0.0), seed=1)
    assert makespan == pytest.approx(rep.horizon, abs=1e-9)
    assert sorted(w.unit for w in locks) == sorted(prepared.order)


def test_anchor_keeps_must_precede_order_and_one_lock_window_per_unit() -> None:
    prepared = _prepared(2)
    job = job_of(prepared)
    assert job.predecessors["st1"]  # a storage account migrates after the VNets of its VMs
    makespan, locks = simulate(job, seed=3)
    by_unit = {w.unit: w for w in locks}
    assert len(by_unit) == len(locks) == len(job.units)
    for uid, preds in job.predecessors.items():
        for p in preds:
            assert by_unit[p].end <= by_unit[uid].start
    assert max(w.end for w in locks) <= makespan
    # Drawn durations: another seed, another schedule; the same seed, the same one.
    assert simulate(job, seed=3) == (makespan, locks)
    assert simulate(job, seed=4)[0] != makespan
