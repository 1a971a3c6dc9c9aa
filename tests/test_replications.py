"""One replication reduced to its metrics; the same replication index gives the same draws."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest
import simpy

from sim.engine.dispatch import JustInTime
from sim.engine.platform import Platform
from sim.engine.sampling import replication_seed
from sim.experiments.replications import METRICS, Prepared, ReplicationRow, row_of
from sim.experiments.run import run_scenario
from sim.model.ordering import order_units
from sim.model.scenario import load_scenario
from sim.outputs.records import Tally

CONTOSO = Path(__file__).resolve().parents[1] / "scenarios" / "contoso.yaml"


def test_row_matches_the_run_summary() -> None:
    sc = load_scenario(CONTOSO)
    prepared = Prepared.of(sc)
    row = prepared.row(3)
    summary = run_scenario(sc, seed=replication_seed(sc.plan.seed, 3)).summary
    assert row.seed == summary.seed
    assert row.makespan_hours == summary.makespan_minutes / 60.0
    assert row.vm_hours_down == summary.vm_hours_down
    assert row.peak_vms_down == summary.peak_vms_down
    assert row.lock_resource_hours == summary.lock_resource_hours
    assert row.units_not_migrated == summary.units_total - summary.units_migrated
    assert row.retries == summary.failed_attempts


def test_rows_are_reproducible_and_differ_between_replications() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    assert prepared.row(0) == prepared.row(0)
    assert prepared.row(0).makespan_hours != prepared.row(1).makespan_hours


def test_same_ordering_same_row() -> None:
    sc = load_scenario(CONTOSO)
    a = Prepared.of(sc)
    b = Prepared.of(sc, order=order_units(a.units, "smallest_first"))
    assert [a.row(r) for r in range(5)] == [b.row(r) for r in range(5)]


def test_schema() -> None:
    assert set(METRICS) <= set(ReplicationRow.columns())
    assert ReplicationRow.columns()[:2] == ["replication", "seed"]


# ---- the lean path (issue 16): the engine without records gives the same row -----------------

KITCHEN_SINK = CONTOSO.with_name("kitchen-sink.yaml")


def platform_of(prepared: Prepared, replication: int, *, record: bool) -> Platform:
    """The engine of ``prepared``'s replication ``replication``, not yet run."""
    seed = replication_seed(prepared.plan.seed, replication)
    return Platform(
        simpy.Environment(),
        prepared.estate,
        prepared.units,
        prepared.plan.model_copy(update={"seed": seed}),
        prepared.findings,
        prepared.order,
        False,
        JustInTime,
        prepared.setup,
        record=record,
    )


def test_lean_row_is_the_recorded_row_when_the_horizon_cuts_the_run() -> None:
    sc = load_scenario(
        CONTOSO, ("plan.horizon=3h", "plan.failures.prepare=0.3", "plan.failures.commit=0.2")
    )
    prepared = Prepared.of(sc)
    for r in range(6):
        rep = prepared.replicate(r)
        assert rep.stopped_at == 180.0  # the horizon stopped the run with units left
        row = prepared.row(r)
        assert row == row_of(rep, r)
        assert row.units_not_migrated > 0
        assert row.makespan_hours <= 3.0


def test_a_run_without_records_tallies_what_the_records_hold() -> None:
    sc = load_scenario(CONTOSO, ("plan.failures.prepare=0.3",))
    prepared = Prepared.of(sc)
    rep = prepared.replicate(2)
    lean = platform_of(prepared, 2, record=False)
    with pytest.raises(ValueError, match="record=True"):
        lean.run()
    tally = lean.tally()
    recorded = Tally.of(rep)  # one span per resource: the same spans, counted one by one

    def spans(t: Tally) -> list[tuple[float, float]]:
        return [(a, b) for a, b, n in t.lock_spans for _ in range(n)]

    assert spans(tally) == spans(recorded)
    assert dataclasses.replace(tally, lock_spans=()) == dataclasses.replace(recorded, lock_spans=())
    management = [w for w in rep.windows if w.kind == "management"]
    assert len(management) == sum(n for _, _, n in tally.lock_spans) > 0
    assert tally.lock_minutes == sum(w.duration for w in management)
    assert all(w.kind != "management" for w in tally.windows)
    assert tally.failed_attempts == len(rep.events_of(outcome="fail")) > 0


def test_the_set_up_is_shared_by_replications_and_never_changed_by_them() -> None:
    sc = load_scenario(KITCHEN_SINK, ("plan.ordering=smallest_first",))
    shared = Prepared.of(sc)
    assert shared.setup is shared.setup
    rows = [shared.row(r) for r in (0, 1, 2, 0, 1)]
    # Each replication copies the remediation templates: running one leaves nothing behind
    # for the next, so the same index gives the same row whatever ran before it.
    assert rows[3:] == rows[:2]
    fresh = [Prepared.of(sc).row(r) for r in (0, 1)]
    assert fresh == rows[:2]
    assert all(not (rem.claimed or rem.users or rem.removed) for rem in shared.setup.rems)


def test_another_order_gets_its_own_set_up_and_a_pickle_leaves_it_behind() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    setup = prepared.setup
    other = dataclasses.replace(
        prepared, order=tuple(reversed(order_units(prepared.units, "smallest_first")))
    )
    assert other.setup is not setup
    assert other.setup.order == list(other.order)
    copy = pickle.loads(pickle.dumps(prepared))
    assert "setup" not in copy.__dict__
    assert copy.row(4) == prepared.row(4)


@pytest.mark.parametrize("record", [True, False])
def test_a_finished_replication_is_freed_without_the_collector(record: bool) -> None:
    # Replications run with the cyclic collector paused, and what they made is moved to its
    # oldest generation: a reference cycle left behind would only go at a rare full collection,
    # and memory grew with every replication (1,000 replications of weekend-2000: 3.9 GB).
    import gc
    import weakref

    prepared = Prepared.of(load_scenario(CONTOSO, ("plan.failures.prepare=0.3",)))
    was = gc.isenabled()
    gc.disable()
    try:
        platform = platform_of(prepared, 1, record=record)
        gone = weakref.ref(platform)
        result = platform.run() if record else platform.tally()
        del platform
        assert gone() is None, "the replication is still referenced: a cycle keeps it alive"
        assert result.seed == replication_seed(prepared.plan.seed, 1)
    finally:
        if was:
            gc.enable()


@pytest.mark.parametrize(
    ("scenario", "overrides"),
    [
        (
            CONTOSO,
            (
                "plan.durations.validate.distribution=triangular",
                "plan.durations.validate.spread=5",
                "plan.write_limit_per_hour=5",
                "plan.crews=10",
            ),
        ),
        (
            KITCHEN_SINK,
            (
                "plan.ordering=smallest_first",
                "plan.durations.validate.distribution=pert",
                "plan.durations.validate.spread=3",
                "plan.write_limit_per_hour=5",
                "plan.crews=10",
            ),
        ),
    ],
)
def test_a_step_that_may_last_zero_minutes_leaves_the_lean_row_exact(
    scenario: Path, overrides: tuple[str, ...]
) -> None:
    # A triangular or PERT step spread over more than its central value is clipped at 0: a
    # Validate of 0 minutes ends the minute it began, where other units' events are. The lean
    # path must run such steps one by one (a trial found 219 of 300 rows off before it did).
    prepared = Prepared.of(load_scenario(scenario, overrides))
    instant = 0  # Validates of 0 minutes run: the case is exercised
    for r in range(30):
        rep = prepared.replicate(r)
        assert prepared.row(r) == row_of(rep, r), r
        starts = rep.events_of(step="validate", outcome="start")
        began = {(e.unit, e.attempt): e.time for e in starts}
        ends = rep.events_of(step="validate", outcome="end")
        instant += sum(e.time == began[e.unit, e.attempt] for e in ends)
    assert instant > 10
