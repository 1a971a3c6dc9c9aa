"""One replication reduced to its metrics; the same replication index gives the same draws."""

from __future__ import annotations

from pathlib import Path

from sim.engine.sampling import replication_seed
from sim.experiments.replications import METRICS, Prepared, ReplicationRow
from sim.experiments.run import run_scenario
from sim.model.ordering import order_units
from sim.model.scenario import load_scenario

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
