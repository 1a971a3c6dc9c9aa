"""One replication of an experiment, reduced to its headline metrics: a fixed-schema row.

Replication ``r`` of a scenario runs the engine with :func:`sim.engine.sampling.replication_seed` of
the plan's seed and ``r``, so every alternative of a comparison sees the same draws for the same
unit and step (common random numbers). The runner (:mod:`sim.experiments.runner`) maps this over
many replications on a local pool or a Dask cluster; optimisers and sensitivity analyses call it
too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from functools import cached_property
from typing import Any, TypeVar

from sim.engine.platform import Setup
from sim.engine.replay import Replay
from sim.engine.sampling import replication_seed
from sim.engine.simulation import simulate, tally
from sim.model.estate import Estate
from sim.model.ordering import order_units
from sim.model.plan import Plan
from sim.model.rules import Finding, check
from sim.model.scenario import Scenario
from sim.model.units import MigrationUnits, build_units
from sim.outputs.records import (
    Replication,
    Tally,
    peak_concurrent,
    vm_down_intervals,
    window_hours,
)

R = TypeVar("R", Replication, Tally)

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


def row_of(rep: Replication | Tally, replication: int) -> ReplicationRow:
    """The headline metrics of one engine run: from its record or its tally (the same row)."""
    tally = rep if isinstance(rep, Tally) else Tally.of(rep)
    down = vm_down_intervals(tally.windows)
    peak, _ = peak_concurrent(iv for ivs in down.values() for iv in ivs)
    hours = window_hours(tally.windows)
    window = finish_window(tally)
    return ReplicationRow(
        replication=replication,
        seed=tally.seed,
        makespan_hours=tally.makespan / 60.0,
        vm_hours_down=sum(b - a for ivs in down.values() for a, b in ivs) / 60.0,
        peak_vms_down=peak,
        lock_resource_hours=tally.lock_minutes / 60.0,
        units_not_migrated=tally.units_not_migrated,
        retries=tally.failed_attempts,
        service_hours_down=hours.service_hours_down,
        exposure_hours=hours.exposure_hours,
        protection_gap_hours=hours.protection_gap_hours,
        units_needing_support=tally.units_needing_support,
        finish_window=window,
        done_in_window_1=int(tally.units_not_migrated == 0 and window <= 1),
    )


def finish_window(rep: Replication | Tally) -> int:
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

    Built once per alternative (units and rules are not re-derived per replication); the
    engine's seed-independent set-up (:class:`sim.engine.platform.Setup`) is built on the first
    replication and kept (not pickled: a worker builds its own).
    """

    estate: Estate
    plan: Plan
    units: MigrationUnits
    findings: tuple[Finding, ...]
    order: tuple[str, ...]
    replay: Replay | None = None
    """What has already happened (``migsim replan``): every replication runs it first."""

    @classmethod
    def of(cls, scenario: Scenario, order: Sequence[str] | None = None) -> Prepared:
        estate, plan = scenario.estate, scenario.plan
        units = build_units(estate, plan)
        resolved = (
            tuple(order) if order is not None else tuple(order_units(units, plan.ordering, plan))
        )
        return cls(estate, plan, units, tuple(check(estate, units, plan)), resolved)

    @cached_property
    def setup(self) -> Setup:
        """The engine's set-up of this alternative, shared by its replications."""
        return Setup(self.estate, self.units, self.plan, self.findings, self.order)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("setup", None)  # rebuilt where it is needed: cheaper than shipping it
        return state

    def _run(self, engine: Callable[..., R], replication: int, deterministic: bool) -> R:
        """``engine`` (:func:`simulate` or :func:`tally`) on replication ``replication``."""
        plan = self.plan.model_copy(update={"seed": replication_seed(self.plan.seed, replication)})
        return engine(
            self.estate,
            self.units,
            plan,
            self.findings,
            order=self.order,
            deterministic=deterministic,
            setup=self.setup,
            replay=self.replay,
        )

    def replicate(self, replication: int, *, deterministic: bool = False) -> Replication:
        """The engine run of replication ``replication`` (0-based), with all its records."""
        return self._run(simulate, replication, deterministic)

    def row(self, replication: int, *, deterministic: bool = False) -> ReplicationRow:
        """The ``replications.csv`` row of replication ``replication``: the lean path (the
        engine keeps no records, :func:`sim.engine.simulation.tally`), the same row as
        ``row_of(self.replicate(replication), replication)`` to the last bit."""
        return row_of(self._run(tally, replication, deterministic), replication)
