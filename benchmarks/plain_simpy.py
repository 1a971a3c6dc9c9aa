"""A plain SimPy model of the same job, written as a planner would write it: the benchmark's anchor.

Issue 16 asks how much migsim's Monte Carlo replication costs against the model a planner would
write by hand in an afternoon: the same units, crews as a ``simpy.PriorityResource`` (priority =
the unit's position in the order), must-precede order (a unit starts after its predecessors
commit), lognormal durations for Validate, Prepare, Check and Commit drawn with numpy, and one
lock window per unit (Prepare start to Commit end) kept in a list. A unit holds its crew from
Validate to Commit, as migsim's just-in-time dispatch does. No failures, remediation, stop and
start of VMs, write throttle, maintenance windows or per-resource records: that is what migsim
adds.

The input is taken from migsim (:func:`job_of`: units, order, must-precede edges and the plan's
central step durations); :func:`simulate` itself uses only SimPy and numpy.
"""

from __future__ import annotations

from collections.abc import Collection, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

STEPS = ("validate", "prepare", "check", "commit")

CHECK_SIGMA = 0.1
"""Sigma of the log of the Check's duration. Assumption: migsim's ``plan.check`` is a fixed time;
the planner's model draws it too, narrowly, so that every step is lognormal."""


@dataclass(frozen=True)
class LockWindow:
    unit: str
    start: float  # minutes: Prepare starts
    end: float  # minutes: Commit ends


@dataclass(frozen=True)
class Job:
    """What the model needs: units in priority order, their predecessors, crews, durations."""

    units: tuple[str, ...]
    predecessors: dict[str, tuple[str, ...]]
    crews: int
    medians: np.ndarray  # shape (units, 4): minutes of each step, in the order of STEPS
    sigmas: tuple[float, float, float, float]  # sigma of the log of each step


def job_of(
    prepared: Any, units: Collection[str] | None = None, *, sigma: float | None = None
) -> Job:
    """The job of a :class:`sim.experiments.replications.Prepared`: its order, its unit DAG, its
    crews; each step's median is the plan's central duration for the unit's VMs and its sigma the
    plan's ``spread`` (:data:`CHECK_SIGMA` for Check). ``units``: only these (the ones migsim
    migrates); ``sigma``: the same sigma for every step (0: every step at its median).
    """
    keep = set(prepared.order if units is None else units)
    order = tuple(uid for uid in prepared.order if uid in keep)
    by_id = {u.id: u for u in prepared.units.units}
    dag = prepared.units.dag
    durations = prepared.plan.durations
    check = float(prepared.plan.check)
    medians = np.array(
        [
            [
                durations.step("validate").central(len(by_id[uid].vms)),
                durations.step("prepare").central(len(by_id[uid].vms)),
                check,
                durations.step("commit").central(len(by_id[uid].vms)),
            ]
            for uid in order
        ],
        dtype=float,
    ).reshape(len(order), len(STEPS))
    if sigma is None:
        sigmas = (
            durations.step("validate").spread,
            durations.step("prepare").spread,
            CHECK_SIGMA,
            durations.step("commit").spread,
        )
    else:
        sigmas = (sigma, sigma, sigma, sigma)
    return Job(
        units=order,
        predecessors={uid: tuple(p for p in dag.predecessors(uid) if p in keep) for uid in order},
        crews=int(prepared.plan.crews),
        medians=medians,
        sigmas=sigmas,
    )


def simulate(job: Job, seed: int) -> tuple[float, list[LockWindow]]:
    """One replication: its makespan (minutes) and the lock window of every unit."""
    rng = np.random.default_rng(seed)
    # median * lognormal(0, sigma) is lognormal(log(median), sigma); a zero median stays zero.
    factors = rng.lognormal(0.0, job.sigmas, size=job.medians.shape)
    durations = (job.medians * factors).tolist()  # [validate, prepare, check, commit] per unit

    env = simpy.Environment()
    crews = simpy.PriorityResource(env, capacity=job.crews)
    committed = {uid: env.event() for uid in job.units}
    locks: list[LockWindow] = []

    def migrate(uid: str, position: int) -> Generator[simpy.Event, Any, None]:
        if job.predecessors[uid]:
            yield env.all_of([committed[p] for p in job.predecessors[uid]])
        validate, prepare, check, commit = durations[position]
        with crews.request(priority=position) as crew:
            yield crew
            yield env.timeout(validate)
            locked = env.now
            yield env.timeout(prepare)
            yield env.timeout(check)
            yield env.timeout(commit)
            locks.append(LockWindow(uid, locked, env.now))
        committed[uid].succeed()

    for position, uid in enumerate(job.units):
        env.process(migrate(uid, position))
    env.run()
    return float(env.now), locks
