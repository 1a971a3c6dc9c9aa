"""One replication: the platform's mechanics under the operator's dispatch policy.

:func:`simulate` is a pure function: the same estate, units, plan, findings, order and seed
always give the same :class:`~sim.outputs.records.Replication`. The mechanics are
:mod:`sim.engine.platform`, the policy :mod:`sim.engine.dispatch`, the random numbers
:mod:`sim.engine.sampling`.
"""

from __future__ import annotations

from collections.abc import Sequence

import simpy

from sim.common.gcpause import paused_gc
from sim.engine.dispatch import POLICIES, Dispatch
from sim.engine.platform import Platform, Setup
from sim.engine.replay import Replay
from sim.model.estate import Estate
from sim.model.ordering import order_units
from sim.model.plan import Plan
from sim.model.rules import Finding
from sim.model.units import MigrationUnits
from sim.outputs.records import Replication, Tally


@paused_gc()
def simulate(
    estate: Estate,
    units: MigrationUnits,
    plan: Plan,
    findings: Sequence[Finding] = (),
    *,
    order: Sequence[str] | None = None,
    deterministic: bool = False,
    policy: type[Dispatch] | None = None,
    setup: Setup | None = None,
    replay: Replay | None = None,
) -> Replication:
    """One replication of ``plan`` on ``estate``: a pure function of its arguments.

    ``findings`` are the rule findings (:func:`sim.model.rules.check`); ``order`` the unit ids
    in the order crews take them (default :func:`sim.model.ordering.order_units` of
    ``plan.ordering``); the seed is ``plan.seed``. ``deterministic`` runs every duration at its
    central value. ``policy`` is the operator's dispatch policy (:mod:`sim.engine.dispatch`;
    default the plan's, ``plan.dispatch``). Times in the result are minutes from the plan's
    start. Raises :class:`~sim.common.errors.InputError` for plan input that only the engine can
    judge (a one-off maintenance window without ``plan.start``; a bad ``plan.ordering`` or
    ``plan.waves``). ``setup``: the seed-independent part built once for many replications of
    the same estate, units, plan (any seed), findings and order (:class:`Setup`; default: built
    here). ``replay``: what has already happened (``migsim replan``, :mod:`sim.engine.replay`);
    raises :class:`~sim.engine.replay.ReplayMismatch` when the plan cannot reproduce it.
    """
    return _platform(
        estate, units, plan, findings, order, deterministic, policy, setup, replay=replay
    ).run()


@paused_gc()
def tally(
    estate: Estate,
    units: MigrationUnits,
    plan: Plan,
    findings: Sequence[Finding] = (),
    *,
    order: Sequence[str] | None = None,
    deterministic: bool = False,
    policy: type[Dispatch] | None = None,
    setup: Setup | None = None,
    replay: Replay | None = None,
) -> Tally:
    """:func:`simulate` without its records: the replication's
    :class:`~sim.outputs.records.Tally`, the figures of its ``replications.csv`` row, bit for bit
    those of :func:`simulate`'s record, at a fraction of the cost (no event, no per-resource lock
    window, no outcome is built). The Monte Carlo path. Same arguments and errors as
    :func:`simulate`."""
    return _platform(
        estate, units, plan, findings, order, deterministic, policy, setup, False, replay
    ).tally()


def _platform(
    estate: Estate,
    units: MigrationUnits,
    plan: Plan,
    findings: Sequence[Finding],
    order: Sequence[str] | None,
    deterministic: bool,
    policy: type[Dispatch] | None,
    setup: Setup | None,
    record: bool = True,
    replay: Replay | None = None,
) -> Platform:
    if order is None:
        order = order_units(units, plan.ordering, plan)
    if policy is None:
        policy = POLICIES[plan.dispatch]
    env = simpy.Environment()
    return Platform(
        env,
        estate,
        units,
        plan,
        findings,
        order,
        deterministic,
        policy,
        setup,
        record=record,
        replay=replay,
    )
