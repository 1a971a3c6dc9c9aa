"""One replication of an experiment, reduced to its headline metrics: a fixed-schema row.

Replication ``r`` of a scenario runs the engine with :func:`sim.engine.sampling.replication_seed` of
the plan's seed and ``r``, so every alternative of a comparison sees the same draws for the same
unit and step (common random numbers). The runner (:mod:`sim.experiments.runner`) maps this over
many replications on a local pool or a Dask cluster; optimisers and sensitivity analyses call it
too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

from sim.engine.sampling import replication_seed
from sim.engine.simulation import simulate
from sim.model.estate import Estate
from sim.model.ordering import order_units
from sim.model.plan import Plan
from sim.model.rules import Finding, check
from sim.model.scenario import Scenario
from sim.model.units import MigrationUnits, build_units
from sim.outputs.records import Replication, peak_concurrent, vm_down_intervals, window_hours

METRICS: tuple[str, ...] = (
    "makespan_hours",
    "vm_hours_down",
    "peak_vms_down",
    "lock_resource_hours",
    "units_not_migrated",
    "retries",
    "service_hours_down",
    "exposure_hours",
    "protection_gap_hours",
    "units_needing_support",
    "finish_window",
)
"""The metrics a planner compares alternatives by (lower is better for every one). New metrics
are appended, so ``replications.csv`` and the tables keep their first columns. The row's last
column, ``done_in_window_1`` (1 when everything committed by the end of the first maintenance
window), is a share to maximise, not a metric: :mod:`sim.experiments.answers` reads it."""


@dataclass(frozen=True)
class ReplicationRow:
    """One row of ``replications.csv`` (what each column counts: ``docs/experiments.md``); a new
    column goes at the end, so the file's first columns never move."""

    replication: int
    seed: int
    makespan_hours: float
    vm_hours_down: float
    peak_vms_down: int
    lock_resource_hours: float
    units_not_migrated: int
    retries: int
    service_hours_down: float
    exposure_hours: float
    protection_gap_hours: float
    units_needing_support: int
    finish_window: int = 0
    done_in_window_1: int = 0

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def row_of(rep: Replication, replication: int) -> ReplicationRow:
    """The headline metrics of one engine run."""
    down = vm_down_intervals(rep.windows)
    peak, _ = peak_concurrent(iv for ivs in down.values() for iv in ivs)
    hours = window_hours(rep.windows)
    return ReplicationRow(
        replication=replication,
        seed=rep.seed,
        makespan_hours=rep.makespan / 60.0,
        vm_hours_down=sum(b - a for ivs in down.values() for a, b in ivs) / 60.0,
        peak_vms_down=peak,
        lock_resource_hours=sum(w.duration for w in rep.windows if w.kind == "management") / 60.0,
        units_not_migrated=sum(not o.migrated for o in rep.outcomes),
        retries=sum(1 for e in rep.events if e.outcome == "fail"),
        service_hours_down=hours.service_hours_down,
        exposure_hours=hours.exposure_hours,
        protection_gap_hours=hours.protection_gap_hours,
        units_needing_support=sum(o.needs_support for o in rep.outcomes),
        finish_window=finish_window(rep),
        done_in_window_1=int(all(o.migrated for o in rep.outcomes) and finish_window(rep) <= 1),
    )


def finish_window(rep: Replication) -> int:
    """The 1-based maintenance-window occurrence by whose end the replication's last step ended:
    1 for the first window that is open at or after the start, ``len + 1`` after the last one
    the run saw; 0 when the plan has no windows."""
    if not rep.maintenance:
        return 0
    end = rep.makespan
    for k, (_, b) in enumerate(rep.maintenance, start=1):
        if end <= b + 1e-6:
            return k
    return len(rep.maintenance) + 1


@dataclass(frozen=True)
class Prepared:
    """What every replication of one alternative shares: estate, plan, units, findings, order.

    Built once per alternative (units and rules are not re-derived per replication).
    """

    estate: Estate
    plan: Plan
    units: MigrationUnits
    findings: tuple[Finding, ...]
    order: tuple[str, ...]

    @classmethod
    def of(cls, scenario: Scenario, order: Sequence[str] | None = None) -> Prepared:
        estate, plan = scenario.estate, scenario.plan
        units = build_units(estate, plan)
        resolved = (
            tuple(order) if order is not None else tuple(order_units(units, plan.ordering, plan))
        )
        return cls(estate, plan, units, tuple(check(estate, units, plan)), resolved)

    def replicate(self, replication: int, *, deterministic: bool = False) -> Replication:
        """The engine run of replication ``replication`` (0-based)."""
        plan = self.plan.model_copy(update={"seed": replication_seed(self.plan.seed, replication)})
        return simulate(
            self.estate,
            self.units,
            plan,
            self.findings,
            order=self.order,
            deterministic=deterministic,
        )

    def row(self, replication: int, *, deterministic: bool = False) -> ReplicationRow:
        return row_of(self.replicate(replication, deterministic=deterministic), replication)
