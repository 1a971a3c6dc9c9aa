"""The platform's mechanics: what each step of a unit does, and what it records.

:class:`Platform` runs every unit through the platform's steps in one SimPy environment and keeps
the records (windows, events, outcomes). When a unit begins, which unit gets a free crew and
whether a unit's window-bound sequence is admitted as a whole are the operator's policy, asked of
a :class:`~sim.engine.dispatch.Dispatch` (:mod:`sim.engine.dispatch`);
:func:`sim.engine.simulation.simulate` wires the two together. ``docs/model.md`` ("The
simulation") is the model in prose, with the worked example; in short (minutes from the plan's
start; :mod:`sim.model.calendar` for the clock):

**One process per unit.** A unit starts once every predecessor in ``units.dag`` has committed;
when a predecessor is not migrated, neither is the unit ("waits for X"). Blockers stop it (those
caught at Prepare fail its first Prepare and are aborted). Then, with ``plan.remediation: auto``,
the pre-steps that open no window (MIG009, MIG018); then the window-bound sequence:

- *just in time* (:meth:`Platform._just_in_time`, every unit under ``JustInTime``, units with a
  disruptive pre-step under ``PrepareAhead``): admitted when the whole sequence (its disruptive
  pre-steps, gaps first and outages last; the lead time; Validate; Stop, Deallocate, Prepare,
  Start; Check; Commit; the post-steps its Commit makes ready, outages first), durations drawn,
  fits one maintenance window from now; one crew runs it back to back (it stays through Check);
- *step by step* (:meth:`Platform._ahead`): a crew per step, Prepare when one is free, the
  Stop-Deallocate-Prepare-Start block and Commit each when it fits a window (the unit waits
  Prepared, locked).

**Remediation** (table :data:`sim.model.remedies.REMEDIES`): one step per rule and unit over its
affected VMs; a VNet peering (MIG014) removed once by the first end to begin and re-peered once
both ends are done; the Security Center policy (MIG020) switched off and on by the migration lead
once per window (:meth:`Platform._cycle`); the units with Site Recovery VMs (MIG022) and the
storage accounts of their disks migrated as a group on crews of their own in one window
(:meth:`Platform._setup_groups`), replication re-enabled after the storage accounts' Commit. Under
``plan.aadds_migration`` MIG008's domain services prepare runs last before Validate and their
commit first after Commit; from the end of that prepare the unit is never aborted
(:meth:`Platform._no_way_back`): Prepare is retried in place, a Check's problem is fixed forward,
the Commit goes ahead past the window, and a unit given up stays locked (needs support).

**Shared limits.** Crews (the policy's); ``plan.max_parallel``; the Resource Manager write
throttle (``plan.write_limit_per_hour``), a token bucket holding one hour of writes, each Prepare
and Commit costing ``plan.writes_per_vm`` per VM and ``plan.writes_per_resource`` per other
resource: a step whose writes exceed what the bucket holds lasts until the shortfall is refilled;
under just-in-time dispatch those lengths are fixed at admission (:meth:`Platform._project`).

**Failures.** Each attempt of Validate, Prepare, Check and Commit fails with the plan's
probability, drawn from the failures stream (keys of their own: a new draw moves no other). The
platform's steps are idempotent: a failed Prepare is retried as it is after
``plan.failures.retry_after`` (``after_prepare: retry``, the default; the platform's common-errors
list, ``migration-classic-resource-manager-errors``: transient errors clear on a retry of the same
operation), the unit still locked, the VMs the platform stopped still stopped, on the same crew,
while the retry and what must follow it in the same window still fit that window
(:meth:`Platform._retries_in_place`); else, and always with ``after_prepare: abort``, it is aborted
and prepared again (after undoing the unit's pre-steps and waiting for the next window when the
rest no longer fits this one). A Check that finds a problem (``plan.failures.check``) is the
operator's Abort (the lock ends, stopped VMs start again), then a new Prepare attempt. A failed
Commit is retried after ``retry_after`` and cannot be aborted. After ``max_attempts`` Prepare
attempts the unit is aborted and not migrated; after a last failed Commit it stays locked to the
end of the run and needs support. A blocker caught at Prepare fails the first Prepare, which is
aborted at once. A unit not migrated after its pre-steps ran rolls them back.

**Windows** (:class:`~sim.outputs.records.Window`): ``management`` on every resource of the unit
from Prepare start (Stop start outside a VNet) to the end of Commit or Abort (one window across
Prepares retried as they are); ``data`` on stopped VMs from Stop to Start (never for a VM already
StoppedDeallocated), and on the non-VM resources a remediation takes down; ``nic``,
``exposure``, ``connectivity`` and the protection gaps of the remediations, from the pre-step's
end (or Commit's) to the post-step's end. A window still open at the end of the run ends at the
run's last event and its cause says so.
"""

from __future__ import annotations

import heapq
import itertools
import math
import operator
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import simpy
from simpy.events import NORMAL

from sim.common.timeparse import format_minutes
from sim.common.words import plural
from sim.engine.dispatch import CYCLED, CrewRequest, Dispatch, JustInTime, Proc
from sim.engine.replay import (
    EPS,
    Replay,
    ReplayMismatch,
    ReplaySampler,
    StepKey,
    Wake,
    exact_delay,
)
from sim.engine.sampling import OVERDUE_FRACTION, Key, KeyBatch, Sampler, quantile
from sim.engine.throttle import TokenBucket
from sim.model.calendar import Calendar
from sim.model.estate import Estate
from sim.model.graph import node_id
from sim.model.ordering import wave_starts
from sim.model.plan import Plan, StepDuration
from sim.model.remedies import REMEDIES, RESTORE_ORDER, Remedy, resource_type, short_name
from sim.model.rules import FUTURE_SUPPORT_RULES, Finding
from sim.model.units import MigrationUnits, Unit
from sim.outputs.records import (
    NOT_FINISHED,
    Event,
    PostTask,
    Replication,
    Tally,
    UnitOutcome,
    Window,
)

_WINDOW_ORDER = operator.itemgetter(4, 5, 0, 3, 2)
"""A window's sort key: start, end, resource, kind, unit (fields of :class:`Window`)."""

_STEPS = ("validate", "prepare", "commit", "abort", "stop", "deallocate", "start")
"""The platform steps whose durations the plan gives (``plan.durations``)."""

_SPANS = (
    " (may span windows: the units that share its storage accounts could not migrate together"
    " in one window)"
)
"""Said of a MIG022 gap whose group could not migrate in one window."""

_FAILED = " (may span windows: a unit of the group that shares its storage accounts failed a step)"
"""Said of a MIG022 gap whose group's length a failure changed."""


class _At(simpy.Event):
    """An event at minute ``at`` exactly, ordered among the events at that minute as a
    :class:`simpy.events.Timeout` scheduled now would be (``NORMAL`` priority, the next event
    id): the moment a run of steps reaches, however many steps it adds up.

    Put on SimPy's queue at ``at`` itself, as :meth:`simpy.Environment.schedule` puts an event
    at ``now + delay``: ``now + delay`` cannot always reach ``at`` (from 9.166666666666668 no
    delay gives 45.541918749243074, the sum of the steps that reached it one by one), and the
    minute must be the one the steps reach, to the bit."""

    def __init__(self, env: simpy.Environment, at: float) -> None:
        # as simpy.events.Timeout builds itself
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        if not at >= env.now:
            raise ValueError(f"an event at minute {at} is in the past (now {env.now})")
        heapq.heappush(env._queue, (at, NORMAL, next(env._eid), self))


def _no_bound(crews: int) -> float:
    """A group's length where no window bounds it (:meth:`Platform._admit_group`)."""
    return 0.0


_Draw = tuple[Callable[[float], float], Key | None]
_FirstDraws = tuple[str, int, float, tuple[_Draw, ...], tuple[bool, bool, bool]]
"""A unit's first attempts as :meth:`Setup.first_draws` lists them: unit, VMs it stops, writes,
(quantile function, key) per step drawn, and which stretches hold a continuous draw."""

_Static = tuple[float, float, float, float, float, float, bool, float, float]
"""A unit's first attempts, the same at every admission: Validate, Prepare and Commit minutes,
Stop + Deallocate, Start, its writes, whether its VMs start after Commit, Stop, Deallocate."""


@dataclass(slots=True)
class _UnitState:
    status: str = "pending"
    reason: str = ""
    rules: tuple[str, ...] = ()
    first_start: float | None = None
    commit_end: float | None = None
    end: float | None = None
    attempts: dict[str, int] = field(
        default_factory=lambda: {"validate": 0, "prepare": 0, "commit": 0}
    )
    locked_for_good: bool = False  # a failed Commit: no rollback, the lock stays
    locked_at: int = 0  # the Prepare attempt the open lock began with (retries keep it)
    prepare_failures: int = 0
    check_failures: int = 0


@dataclass
class _Open:
    resource: str
    unit: str
    kind: str
    start: float
    cause: str


@dataclass(eq=False)
class _Rem:
    """One remediation as the operator runs it: one pre-step and one post-step for a unit
    (scope ``unit``), a VNet peering (``pair``) or the subscription (``subscription``)."""

    key: str  # the step name after "remediate:" / "restore:"
    rule: str
    remedy: Remedy
    units: list[str]  # the units that need it, in the order's position
    targets: tuple[str, ...]  # the resources whose window it opens
    vms: int  # affected VMs (the per_vm part of its durations)
    waits_for: frozenset[str] = frozenset()  # units done before the post-step (MIG022)
    findings: list[int] = field(default_factory=list)
    claimed: bool = False  # a unit has taken the pre-step on
    removed: float | None = None  # when the pre-step ended
    restoring: bool = False  # the post-step is scheduled
    restored: float | None = None
    # scope "subscription": one cycle per maintenance window (disabled ... re-enabled)
    users: set[str] = field(default_factory=set)  # units admitted into the open cycle
    candidates: set[str] = field(default_factory=set)  # units waiting to be admitted
    ready: simpy.Event | None = None  # fires when the open cycle's lead time has passed
    ready_at: float = 0.0  # when it will fire
    changed: simpy.Event | None = None  # fires when users or candidates change

    def fresh(self) -> _Rem:
        """A replication's own copy of this template (``dataclasses.replace`` with its users
        and candidates empty, built without re-validating the fields)."""
        copy = _Rem.__new__(_Rem)
        copy.__dict__.update(self.__dict__)
        copy.users = set()
        copy.candidates = set()
        return copy


@dataclass(eq=False)
class _Group:
    """MIG022: units that must migrate in one window, on crews of their own (see
    :meth:`Platform._setup_groups`)."""

    members: list[str]  # in must-precede order, then the order's position
    outside: list[str]  # units outside it that one of its units waits for
    started: simpy.Event  # True: admitted with crews; False: dissolved (units go alone)
    held: dict[int, Any] = field(default_factory=dict)  # crew -> the pool's request for it
    free: set[int] = field(default_factory=set)  # its crews no unit of it holds
    waiting: list[tuple[int, simpy.Event]] = field(default_factory=list)  # (position, wake)
    broken: bool = False  # a unit had to wait for another window: the rest go alone
    failed: bool = False  # a unit of it failed a step: its length is no longer bounded


def _stop_cause(kind: str) -> str:
    """Why the platform stops a unit's VMs at Prepare (the cause of their data-plane windows)."""
    if kind == "cloud_service":
        return "stopped and deallocated by the platform (cloud service not in a VNet)"
    return "stopped and deallocated (future_support what-if, MIG002/MIG003)"


@dataclass
class _Held:
    """The crew a just-in-time unit holds (swapped when it has to wait for another window);
    ``group``: a crew of its group's (``None``: of the plan's pool)."""

    req: Any
    crew: int
    group: _Group | None = None


@dataclass
class _Plan:
    """A unit's just-in-time sequence: the pre-steps it runs, their lead time, its writes, and
    ``p_total(t)`` = (Prepare minutes, Commit minutes, whole sequence minutes) if begun at ``t``."""

    pres: list[_Rem]
    lead: float
    p_total: Callable[[float], tuple[float, float, float]]
    writes: float
    rest: float  # minutes of the post-steps run right after Commit
    cycles: list[_Rem]  # subscription-wide remediations this unit opens a cycle of
    after: list[_Rem]  # the post-steps counted in ``rest``
    # (minute, writes) of Prepare and Commit begun at ``t``; ``p``: the Prepare's minutes at
    # ``t`` when known (``p_total(t)[0]``)
    takes: Callable[[float, float | None], list[tuple[float, float]]]


class WindowFit:
    """``Calendar.earliest_fit``, remembered: units re-ask the same question while they wait.

    ``fit(t, minutes)`` is the earliest time from ``t`` at which ``minutes`` fit inside one
    maintenance window, or ``None`` when no window is that long (:data:`~sim.engine.dispatch.Fits`).
    """

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self.cache: dict[tuple[float, float], float | None] = {}
        self.anytime = calendar.always_open
        """No window at all: every question's answer is ``t`` (callers need not time the
        sequence they ask about)."""

    def __call__(self, t: float, minutes: float) -> float | None:
        if self.anytime:
            return t
        key = (t, minutes)
        if key in self.cache:
            return self.cache[key]
        fit = self.cache[key] = self.calendar.earliest_fit(t, minutes)
        return fit


class Setup:
    """What every replication of one alternative shares, worked out once: the seed-independent
    part of :class:`Platform` (the units by id and position, the calendar, the findings turned
    into blockers and remediation templates, the VMs each unit stops, the MIG022 groups, each
    unit's predecessors in the order's position, the keys to prefetch).

    Read-only once built: a replication copies the remediation templates (their state changes
    as it runs) and builds its own SimPy events. Built from the same ``estate``, ``units``,
    ``plan``, ``findings`` and ``order`` as the :class:`Platform` it is given to (the plan's seed
    and the deterministic flag do not matter). Raises ``ValueError`` when ``order`` does not
    list every unit exactly once or a finding names an unknown unit.
    """

    def __init__(
        self,
        estate: Estate,
        units: MigrationUnits,
        plan: Plan,
        findings: Sequence[Finding],
        order: Sequence[str],
    ) -> None:
        self.estate = estate
        self.units = units
        self.plan = plan
        self.findings = list(findings)
        self.order = list(order)
        self.by_id: dict[str, Unit] = {u.id: u for u in units.units}
        if sorted(self.order) != sorted(self.by_id):
            raise ValueError("order must list every unit id exactly once")
        self.position = {uid: i for i, uid in enumerate(self.order)}  # for stable listings
        self.cal = Calendar.of(plan)
        kinds = {uid: self.by_id[uid].kind for uid in self.order}
        self.parallel_groups = {
            uid: k if k in ("vnet", "cloud_service", "storage_account") else "other"
            for uid, k in kinds.items()
        }
        self.caps = {
            g: cap
            for g in ("vnet", "cloud_service", "storage_account", "other")
            if (cap := plan.max_parallel.cap(g)) is not None
        }
        self.not_before = wave_starts(units, plan)
        self.rows = units.resource_rows
        dag = units.dag
        self.preds: dict[str, tuple[str, ...]] = {
            uid: tuple(sorted(dag.predecessors(uid), key=self.position.__getitem__))
            for uid in self.order
        }
        self._lifted: dict[str, list[Finding]] | None = None
        self._disk_units: dict[str, list[str]] | None = None
        self._cs_index: dict[str, int] = {}
        self._keys: dict[bool, KeyBatch] = {}
        self._risks: dict[bool, list[tuple[tuple[str, str, str, int], float]]] = {}
        self._steps_drawn: dict[bool, tuple[list[str], list[str], list[tuple[str, float]]]] = {}
        self._remedy_steps: dict[tuple[str, bool], StepDuration] = {}
        self.specs = {step: plan.durations.step(step) for step in _STEPS}
        self.quantiles: dict[tuple[str, int], Callable[[float], float]] = {}
        """(step, VMs) -> the step's :func:`~sim.engine.sampling.quantile`, made when first
        asked (replications on other workers make their own: the same functions)."""
        self.first: list[tuple[str, int, int, float]] = []
        """``(unit, VMs, VMs it stops, writes)`` of every unit that may be scheduled (no
        blocker before it begins), in the order's order (filled once the VMs stopped are
        known)."""
        self._first_draws: list[_FirstDraws] | None = None
        self._setup_findings()

    def first_draws(self) -> list[_FirstDraws]:
        """:attr:`first` with, per unit, the quantile function of each first attempt it draws
        (Validate, Prepare, Commit, then Stop, Deallocate, Start when it stops VMs) and its key
        (``None`` for a fixed step: its function is a constant), and whether its stretch to
        Prepare start, its Prepare and its Commit hold a duration drawn from a continuous
        distribution (:meth:`Platform._straight` merges only those); made once."""
        if self._first_draws is None:
            sampler = Sampler(0)
            quantiles, specs = self.quantiles, self.specs

            def draw(uid: str, step: str, vms: int) -> _Draw:
                q = quantiles.get((step, vms))
                if q is None:
                    q = quantiles[(step, vms)] = quantile(specs[step], vms)
                random = sampler.draws_duration(specs[step])
                return q, ("durations", uid, step, 1) if random else None

            def smooth(step: str, vms: int) -> bool:
                # Drawn from a continuous distribution with no atom, so no other minute can
                # equal a sum with it: a triangular or PERT step spread over more than its
                # central value is clipped at 0 (sampling.duration_from_uniform), and a step of
                # length 0 ends where it began (found by a trial: lean rows differed).
                spec = specs[step]
                return (
                    sampler.draws_duration(spec)
                    and spec.central(vms) > 0.0
                    and (spec.distribution == "lognormal" or spec.spread <= 1.0)
                )

            self._first_draws = [
                (
                    uid,
                    n,
                    writes,
                    (
                        draw(uid, "validate", vms),
                        draw(uid, "prepare", vms),
                        draw(uid, "commit", vms),
                        *(
                            (
                                draw(uid, "stop", n),
                                draw(uid, "deallocate", n),
                                draw(uid, "start", n),
                            )
                            if n
                            else ()
                        ),
                    ),
                    (
                        smooth("validate", vms)
                        or (n > 0 and (smooth("stop", n) or smooth("deallocate", n))),
                        smooth("prepare", vms),
                        smooth("commit", vms),
                    ),
                )
                for uid, vms, n, writes in self.first
            ]
        return self._first_draws

    def remedy_step(self, rule: str, remediate: bool) -> StepDuration:
        """``plan.remedy_step`` of ``rule``'s pre-step (``remediate``) or post-step, remembered."""
        key = (rule, remediate)
        spec = self._remedy_steps.get(key)
        if spec is None:
            which: Literal["remediate", "restore"] = "remediate" if remediate else "restore"
            spec = self._remedy_steps[key] = self.plan.remedy_step(rule, which)
        return spec

    def prefetch_keys(self, sampler: Sampler) -> KeyBatch:
        """Every first-attempt key a scheduled unit draws (:meth:`Platform._prefetch`), as a
        batch built once for every seed."""
        batch = self._keys.get(sampler.deterministic)
        if batch is not None:
            return batch
        risky = self._drawn_steps(sampler)[2]
        keys: list[tuple[str, str, str, int]] = []
        for uid in self.order:
            if self.early[uid]:
                continue  # never scheduled: draws nothing
            keys += self.unit_keys(sampler, uid, 1)
        batch = self._keys[sampler.deterministic] = KeyBatch(keys)
        probability = dict(risky)
        self._risks[sampler.deterministic] = [
            (key, probability[key[2]]) for key in keys if key[0] == "failures"
        ]
        return batch

    def failure_keys(self, sampler: Sampler) -> list[tuple[tuple[str, str, str, int], float]]:
        """The failure keys of :meth:`prefetch_keys` with the probability of each step."""
        self.prefetch_keys(sampler)
        return self._risks[sampler.deterministic]

    def unit_keys(
        self, sampler: Sampler, uid: str, attempt: int
    ) -> list[tuple[str, str, str, int]]:
        """The keys unit ``uid`` draws for attempt ``attempt`` of its platform steps."""
        timed, vm_steps, risky = self._drawn_steps(sampler)
        keys = [("durations", uid, s, attempt) for s in timed]
        if self.stopped[uid]:
            keys += [("durations", uid, s, attempt) for s in vm_steps]
        keys += [("failures", uid, s, attempt) for s, _ in risky]
        return keys

    def _drawn_steps(
        self, sampler: Sampler
    ) -> tuple[list[str], list[str], list[tuple[str, float]]]:
        """The steps whose durations are drawn (platform and VM steps) and those whose
        failures are, with their probability."""
        steps = self._steps_drawn.get(sampler.deterministic)
        if steps is not None:
            return steps
        durations, failures = self.plan.durations, self.plan.failures
        timed = [
            s
            for s in ("validate", "prepare", "abort", "commit")
            if sampler.draws_duration(durations.step(s))
        ]
        vm_steps = [
            s for s in ("stop", "deallocate", "start") if sampler.draws_duration(durations.step(s))
        ]
        risky = [
            (s, p)
            for s, p in (
                ("validate", failures.validate_),
                ("prepare", failures.prepare),
                ("check", failures.check),
                ("commit", failures.commit),
            )
            if sampler.draws_failure(p)
        ]
        steps = self._steps_drawn[sampler.deterministic] = (timed, vm_steps, risky)
        return steps

    # ---- findings -> what each unit does (templates each replication copies) ------------------

    def _setup_findings(self) -> None:
        auto = self.plan.remediation == "auto"
        self.early: dict[str, list[Finding]] = {uid: [] for uid in self.order}
        self.at_prepare: dict[str, list[Finding]] = {uid: [] for uid in self.order}
        self.rems: list[_Rem] = []
        by_key: dict[tuple[str, ...], _Rem] = {}
        self.rem_of: dict[int, _Rem] = {}  # finding index -> its remediation
        for idx, f in enumerate(self.findings):
            if f.unit not in self.by_id:
                raise ValueError(f"finding {f.rule} names unknown unit {f.unit!r}")
            if f.blocks(self.plan):
                (self.at_prepare if f.caught_at == "prepare" else self.early)[f.unit].append(f)
                continue
            remedy = REMEDIES.get(f.rule)
            if remedy is None:
                continue
            runs_pre = remedy.pre and f.severity == "remediate" and auto
            if not runs_pre and not (remedy.opens == "commit" and remedy.kind is not None):
                continue  # nothing to schedule
            targets = self._targets(f, remedy)
            if f.rule == "MIG010" and not targets:
                continue  # same subscription: the ordering is the whole remediation
            groups: list[tuple[tuple[str, ...], tuple[str, ...], list[str]]] = []
            if remedy.scope == "pair":
                own = self.by_id[f.unit].root
                for t in targets:
                    if t == own:
                        continue
                    a, b = sorted((own, t))
                    members = [self.units.unit_of[r] for r in (a, b) if r in self.units.unit_of]
                    key = f"{f.rule}:{short_name(a)}+{short_name(b)}"
                    groups.append(((f.rule, key), (a, b), members))
            elif remedy.scope == "subscription":
                groups.append(((f.rule, "subscription"), targets, [f.unit]))
            else:
                groups.append(((f.rule, f.unit), targets, [f.unit]))
            for gk, tg, members in groups:
                rem = by_key.get(gk)
                if rem is None:
                    name = (
                        gk[1]
                        if remedy.scope == "pair"
                        else (
                            f"{f.rule}:subscription" if remedy.scope == "subscription" else f.rule
                        )
                    )
                    rem = by_key[gk] = _Rem(name, f.rule, remedy, [], (), 0)
                    self.rems.append(rem)
                rem.targets = tuple(dict.fromkeys([*rem.targets, *tg]))
                for m in members:
                    if m not in rem.units:
                        rem.units.append(m)
                rem.findings.append(idx)
                self.rem_of.setdefault(idx, rem)
        for rem in self.rems:
            rem.units.sort(key=self.position.__getitem__)
            rem.vms = sum(resource_type(r) == "vm" for r in rem.targets)
            if rem.rule == "MIG022":
                rem.waits_for = frozenset(self._storage_units(rem.targets)) - set(rem.units)
        # per unit: what it runs before its sequence, inside it, and which windows its Commit opens
        self.free_pre: dict[str, list[_Rem]] = {uid: [] for uid in self.order}
        self.window_pre: dict[str, list[_Rem]] = {uid: [] for uid in self.order}
        self.shared_pre: dict[str, list[_Rem]] = {uid: [] for uid in self.order}
        self.commit_open: dict[str, list[_Rem]] = {uid: [] for uid in self.order}
        self.involved: dict[str, list[_Rem]] = {uid: [] for uid in self.order}
        _none: list[_Rem] = []  # shared: never changed (see Platform.__init__)
        self.no_rems: dict[str, list[_Rem]] = dict.fromkeys(self.order, _none)
        for rem in self.rems:
            r = rem.remedy
            for uid in rem.units:
                self.involved[uid].append(rem)
                if r.opens == "commit":
                    self.commit_open[uid].append(rem)
                elif r.scope == "subscription":
                    self.shared_pre[uid].append(rem)
                elif r.disruptive:
                    self.window_pre[uid].append(rem)
                else:
                    self.free_pre[uid].append(rem)
            for uid in rem.waits_for:
                self.involved[uid].append(rem)
        for uid in self.order:
            # Gaps first, outages last before Validate, so the outages are the shortest.
            self.window_pre[uid].sort(key=lambda m: -RESTORE_ORDER.get(m.remedy.kind or "", 99))
        self._asleep = {
            vm.name
            for cs in self.estate.cloud_services
            for vm in cs.vms
            if vm.state == "StoppedDeallocated"
        }
        self.stopped: dict[str, tuple[str, ...]] = {
            uid: self._stopped_vms(self.by_id[uid]) for uid in self.order
        }
        # The data windows of each unit's stopped VMs: (resource, type, unit), as
        # Platform._open_window names them.
        self.down_rows: dict[str, tuple[tuple[str, str, str], ...]] = {
            uid: tuple(
                (r, resource_type(r), str(self.units.unit_of.get(r, uid)))
                for r in (node_id("vm", vm) for vm in vms)
            )
            for uid, vms in self.stopped.items()
        }
        wpv, wpr = self.plan.writes_per_vm, self.plan.writes_per_resource
        self.first = [
            (uid, u.vm_count, len(self.stopped[uid]), wpv * u.vm_count + wpr * others)
            for uid in self.order
            if not self.early[uid]
            for u in (self.by_id[uid],)
            for others in (len(u.resources) - u.vm_count,)
        ]
        self._setup_groups()

    def _setup_groups(self) -> None:
        """Groups for MIG022: the units whose Site Recovery replication is disabled and the
        storage accounts of those VMs' disks migrate in one maintenance window, on crews taken
        for the group, so replication is re-enabled in the window it was disabled in.

        One group per connected set (units sharing a storage account join; groups that wait
        for each other's units merge). Its first unit (the leader) waits until every unit
        outside the group that one of its units waits for is done, then takes the crews and
        the window for the whole group (:meth:`_admit_group`). A group with a unit outside it
        that itself waits for one of its units is not formed (it could never start), nor is
        one longer than every window: its units then go alone."""
        self.group_parts: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        caps = self.plan.max_parallel
        # With plan.max_parallel a group's unit could hold the group's crew while it waits for
        # a slot whose holder waits for a crew: groups are formed only without caps.
        self.groups_off = any(
            caps.cap(kind) is not None
            for kind in ("vnet", "cloud_service", "storage_account", "other")
        )
        if self.plan.remediation != "auto" or self.groups_off:
            return
        g: nx.Graph[str] = nx.Graph()
        blocked = {uid for uid in self.order if self.early[uid] or self.at_prepare[uid]}
        for rem in self.rems:
            if rem.rule == "MIG022" and rem.waits_for:
                for m in rem.units:
                    for w in rem.waits_for - blocked:  # a blocked account is done at once
                        if m not in blocked:
                            g.add_edge(m, w)
        dag = self.units.dag
        comps = [set(c) for c in nx.connected_components(g)]
        ancestors: dict[str, set[str]] = {}

        def need(members: set[str]) -> set[str]:
            # every unit that must be done before the chain's leader may be admitted
            out = {p for m in members for p in dag.predecessors(m)} - members
            for u in list(out):
                if u not in ancestors:
                    ancestors[u] = nx.ancestors(dag, u)
                out |= ancestors[u]
            return out

        while True:
            # Chains that wait for each other's units would never start: merge them.
            needs = [need(c) for c in comps]
            owner = {m: i for i, c in enumerate(comps) for m in c}
            h: nx.DiGraph[int] = nx.DiGraph()
            h.add_nodes_from(range(len(comps)))
            for i, n in enumerate(needs):
                h.add_edges_from((i, owner[u]) for u in n if u in owner and owner[u] != i)
            loops = [sorted(c) for c in nx.strongly_connected_components(h) if len(c) > 1]
            if not loops:
                break
            merged = {i for loop in loops for i in loop}
            comps = [c for i, c in enumerate(comps) if i not in merged] + [
                set().union(*(comps[i] for i in loop)) for loop in loops
            ]
        for comp, needed in zip(comps, needs, strict=True):
            if needed & comp:
                continue  # a unit it waits for waits for one of its units: not formed
            sub = dag.subgraph(comp)
            members = list(nx.lexicographical_topological_sort(sub, key=self.position.__getitem__))
            outside = sorted(
                {p for m in members for p in dag.predecessors(m)} - comp,
                key=self.position.__getitem__,
            )
            self.group_parts.append((tuple(members), tuple(outside)))

    def _storage_units(self, vms: Sequence[str]) -> list[str]:
        """The units of the storage accounts holding the disks of ``vms`` (graph node ids)."""
        if self._disk_units is None:  # once per run: VM name -> its disks' storage units
            self._disk_units = {}
            for cs in self.estate.cloud_services:
                for vm in cs.vms:
                    units = self._disk_units.setdefault(vm.name, [])
                    for disk in vm.disks:
                        uid = self.units.unit_of.get(
                            node_id("storage_account", disk.storage_account)
                        )
                        if uid is not None and uid not in units:
                            units.append(uid)
        out: list[str] = []
        for v in vms:
            if resource_type(v) == "vm":
                for uid in self._disk_units.get(short_name(v), ()):
                    if uid not in out:
                        out.append(uid)
        return out

    def _targets(self, f: Finding, remedy: Remedy) -> tuple[str, ...]:
        if remedy.target is None:
            return ()
        if f.rule == "MIG010":
            return tuple(r for r in f.resources if self._cross_subscription_gateway(r))
        if f.rule == "MIG014":
            own = self.by_id[f.unit].root
            vnets = [r for r in f.resources if resource_type(r) == "vnet"]
            if not any(v != own for v in vnets) and self.by_id[f.unit].kind == "vnet":
                vnets += [node_id("vnet", p) for p in self._peers(self.by_id[f.unit].name)]
            return tuple(dict.fromkeys([own, *vnets]))
        picked = tuple(r for r in f.resources if resource_type(r) == remedy.target)
        return picked or tuple(f.resources) or (self.by_id[f.unit].root,)

    def _peers(self, vnet: str) -> list[str]:
        out = [p for v in self.estate.vnets if v.name == vnet for p in v.peerings]
        out += [v.name for v in self.estate.vnets if vnet in v.peerings]
        return list(dict.fromkeys(out))

    def _cross_subscription_gateway(self, resource: str) -> bool:
        if resource_type(resource) != "gateway":
            return False
        circuits = {c.name: c for c in self.estate.expressroute_circuits}
        for vnet in self.estate.vnets:
            for gw in vnet.gateways:
                if node_id("gateway", gw.name) == resource and gw.circuit in circuits:
                    sub = circuits[gw.circuit].subscription
                    return sub is not None and sub != self.estate.subscription
        return False

    def _stopped_vms(self, unit: Unit) -> tuple[str, ...]:
        """The VMs the platform stops, deallocates and starts in this unit's Prepare."""
        if unit.kind == "cloud_service":
            # A VM already StoppedDeallocated is not stopped, and not down, by the migration.
            return tuple(vm for vm in unit.vms if vm not in self._asleep)
        if not self.plan.future_support:
            return ()
        if self._lifted is None:  # once per run, not once per unit: findings grouped by unit
            self._lifted = {}
            for f in self.findings:
                if f.rule in FUTURE_SUPPORT_RULES:
                    self._lifted.setdefault(f.unit, []).append(f)
            self._cs_index = {
                node_id("cloud_service", cs.name): i
                for i, cs in enumerate(self.estate.cloud_services)
            }
        vms: list[str] = []
        for f in self._lifted.get(unit.id, ()):
            named = [r for r in f.resources if resource_type(r) == "cloud_service"]
            for i in sorted({self._cs_index[r] for r in named if r in self._cs_index}):
                vms += [vm.name for vm in self.estate.cloud_services[i].vms]
            vms += [short_name(r) for r in f.resources if resource_type(r) == "vm"]
            if not named and not any(resource_type(r) == "vm" for r in f.resources):
                vms += list(unit.vms)
        members = set(unit.vms)
        return tuple(vm for vm in dict.fromkeys(vms) if vm in members and vm not in self._asleep)


class Platform:
    """One replication's units, steps and records in the SimPy environment ``env``.

    ``order`` lists every unit id once (the ordering's result); ``policy`` is the dispatch policy
    class, built here over ``plan.crews`` crews. :meth:`run` runs the environment to the end and
    returns the :class:`~sim.outputs.records.Replication`. Raises ``ValueError`` when ``order``
    does not list every unit exactly once or a finding names an unknown unit, and
    :class:`~sim.common.errors.InputError` for a one-off window without ``plan.start``.
    """

    def __init__(
        self,
        env: simpy.Environment,
        estate: Estate,
        units: MigrationUnits,
        plan: Plan,
        findings: Sequence[Finding],
        order: Sequence[str],
        deterministic: bool,
        policy: type[Dispatch],
        setup: Setup | None = None,
        record: bool = True,
        replay: Replay | None = None,
    ) -> None:
        if setup is None:
            setup = Setup(estate, units, plan, findings, order)
        self.estate = estate
        self.units = units
        self.plan = plan
        self.findings = setup.findings
        self.order = setup.order
        self.by_id = setup.by_id
        self.position = setup.position
        self.replay = replay
        self.sampler = (
            Sampler(plan.seed, deterministic=deterministic)
            if replay is None
            else ReplaySampler(plan.seed, replay, deterministic=deterministic)
        )
        self._replayed: set[StepKey] = set()  # the actual steps run so far
        self._operator_aborted: set[str] = set()
        self._defer: dict[str, float] = {}  # logged Aborts: no new Prepare before (minute)
        self._mismatches: list[ReplayMismatch] = []
        self._drawn: dict[tuple[str, str, int, int], float] = {}
        self._rem_drawn: dict[tuple[str, str, str, int], float] = {}
        self._static: dict[str, _Static] = {}
        # per unit: which stretches of its first attempts Platform._straight may merge
        self._smooth: dict[str, tuple[bool, bool, bool]] = {}
        self._specs = setup.specs
        self._quantiles = setup.quantiles
        # The steps drawn by their quantile function (a replan's sampler forces some steps'
        # durations: it is asked for each).
        self._by_quantile = (
            frozenset(
                step for step, spec in setup.specs.items() if self.sampler.draws_duration(spec)
            )
            if replay is None
            else frozenset()
        )
        self._fixed_plans: dict[str, _Plan] = {}
        self._plans: dict[str, tuple[int, _Plan]] = {}
        self._epoch = 0  # counted on at every change a remediated unit's plan reads
        self.cal = setup.cal
        self.env = env
        # The policy gets the window fit, not this object: no reference cycle, so a finished
        # replication is freed at once rather than by the collector.
        self.dispatch = policy(
            env,
            plan.crews,
            self.order,
            WindowFit(self.cal),
            setup.parallel_groups,
            setup.caps,
        )
        self.done = {uid: self.env.event() for uid in self.order}
        self.bucket = (
            TokenBucket(float(plan.write_limit_per_hour))
            if plan.write_limit_per_hour is not None
            else None
        )
        self.state = {uid: _UnitState() for uid in self.order}
        self.not_before = setup.not_before
        self.preds = setup.preds
        # Without records (the Monte Carlo path) no Event is kept and a lock is one span per
        # unit, not one window per resource: what the row needs, counted as it happens.
        self.record = record
        self.failed_attempts = 0
        self.last_step = 0.0  # the latest step event: the makespan
        self.last_event = 0.0  # the latest event of any kind
        self.lock_spans: list[tuple[float, float, int]] = []
        self.events: list[Event] = []
        self.closed: list[Window] = []
        self.open: dict[tuple[Any, ...], _Open] = {}
        self.locks: dict[str, tuple[float, str]] = {}  # unit -> (Prepare start, cause)
        self.rows = setup.rows
        self.throttle_minutes = 0.0
        # Writes admitted units will take, not yet taken: unit -> [(minute, writes)] for its
        # Prepare and its Commit (the just-in-time projection of the throttle).
        self.pending: dict[str, list[tuple[float, float]]] = {}
        self._pending_bound = 0.0
        # Writes of straight units set down when next read (_take_later, _settle): a heap of
        # (minute, order, unit, which, writes, minutes the throttle added).
        self._deferred: list[tuple[float, int, str, int | None, float, float]] = []
        self._deferred_seq = itertools.count()
        self._unit_due: dict[str, float] = {}  # per unit: the writes it will take
        self.finished: set[str] = set()  # committed or not migrated
        self.rest: dict[str, float] = {}  # minutes of post-steps planned right after Commit
        self.planned: dict[str, set[int]] = {}  # the post-steps those minutes count
        self.early = setup.early
        self.at_prepare = setup.at_prepare
        self.stopped = setup.stopped
        self.down_rows = setup.down_rows
        # Lean random replications run a plain unit's steps as the moments others can see
        # (:meth:`_straight`); records and deterministic runs keep every step's event.
        self._straight_on = not record and not deterministic and replay is None
        self.groups_off = setup.groups_off
        # This replication's own remediations: the templates' copies, their state fresh.
        own = {id(t): t.fresh() for t in setup.rems}
        none = setup.no_rems

        def mine(per_unit: dict[str, list[_Rem]]) -> dict[str, list[_Rem]]:
            # Most units have none: one shared empty list (the platform never changes these
            # lists), a copy of the set-up's map of them, then the units that have some.
            mapped = none.copy()
            mapped.update({uid: [own[id(t)] for t in ts] for uid, ts in per_unit.items() if ts})
            return mapped

        self.rems = [own[id(t)] for t in setup.rems]
        self.rem_of = {idx: own[id(t)] for idx, t in setup.rem_of.items()}
        self.free_pre = mine(setup.free_pre)
        self.window_pre = mine(setup.window_pre)
        self.shared_pre = mine(setup.shared_pre)
        self.commit_open = mine(setup.commit_open)
        self.involved = mine(setup.involved)
        self.group_of: dict[str, _Group] = {}
        for members, outside in setup.group_parts:
            group = _Group(list(members), list(outside), env.event())
            for m in members:
                self.group_of[m] = group
        self._setup = setup
        # A replan runs every unit by the general path (its steps are pinned: _run).
        self.plain = self._plain_units() if replay is None else frozenset()
        if replay is not None:
            starts: dict[str, list[float]] = {}
            crews: dict[str, list[tuple[float, int]]] = {}
            for (uid, _, _), a in replay.steps.items():
                starts.setdefault(uid, []).append(a.start)
                if a.crew is not None:
                    crews.setdefault(uid, []).append((a.start, a.crew))
            self.dispatch.pin({u: sorted(s) for u, s in starts.items()}, replay.now + EPS, crews)
        f = plan.failures
        # A step that always fails draws nothing: the prefetch's failing units miss it.
        self._certain_failure = max(f.validate_, f.prepare, f.check, f.commit) >= 1.0
        self._prefetch()
        if replay is None:
            self._first_attempts()

    def _plain_units(self) -> frozenset[str]:
        """The units :meth:`_plain_unit` runs: no blocker, no remediation, no group, admitted
        just in time by the base policy's admission, with no concurrency cap."""
        d = self.dispatch
        policy = type(d)
        if not (
            policy.admit is Dispatch.admit
            and policy.crew is Dispatch.crew
            and policy.started is Dispatch.started
            and policy.begin is JustInTime.begin
        ):
            return frozenset()
        return frozenset(
            uid
            for uid in self.order
            if not (
                self.early[uid]
                or self.at_prepare[uid]
                or uid in self.group_of
                or self.window_pre[uid]
                or self.shared_pre[uid]
                or self.free_pre[uid]
                or self.involved[uid]
            )
            and d.runs_just_in_time(uid, False)
            and d.slots.get(d.groups.get(uid, "")) is None
        )

    def _prefetch(self) -> None:
        """Ask the sampler for every first-attempt number a scheduled unit draws, in one pass.

        Only a speed-up: a key gives the same number prefetched or not. The second attempts of
        the units whose first attempt of a step fails are fetched in a second pass; later
        attempts and remediation steps are drawn when they happen.
        """
        setup, sampler = self._setup, self.sampler
        sampler.prefetch(setup.prefetch_keys(sampler))
        failing = dict.fromkeys(key[1] for key in sampler.failing(setup.failure_keys(sampler)))
        self._failing_first = failing.keys()
        if failing:
            sampler.prefetch([key for uid in failing for key in setup.unit_keys(sampler, uid, 2)])

    def _first_attempts(self) -> None:
        """Every scheduled unit's first attempts (:data:`_Static`), in one pass over the numbers
        just prefetched: what :meth:`_jit_plan` would draw unit by unit, the same numbers."""
        sampler, drawn = self.sampler, self._by_quantile
        number = sampler.number
        quantiles, specs = self._quantiles, self._specs

        def first(uid: str, step: str, vms: int) -> float:
            if step not in drawn:
                return sampler.duration(specs[step], vms, uid, step, 1)
            q = quantiles.get((step, vms))
            if q is None:
                q = quantiles[(step, vms)] = quantile(specs[step], vms)
            return q(number(("durations", uid, step, 1)))

        restart = self.plan.restart_after == "commit"
        static = self._static
        if not sampler.deterministic:
            # The same numbers, with each step's quantile function and key looked up once per
            # alternative (Setup.first_draws): the loop a replication's set-up spends most in.
            ready = sampler.prefetched
            smooth_of = self._smooth
            for uid, n, writes, draws, smooth in self._setup.first_draws():
                smooth_of[uid] = smooth
                d = [
                    q(0.5 if key is None else ready[key] if key in ready else number(key))
                    for q, key in draws
                ]
                if n:
                    static[uid] = (d[0], d[1], d[2], d[3] + d[4], d[5], writes, restart, d[3], d[4])
                else:
                    static[uid] = (d[0], d[1], d[2], 0.0, 0.0, writes, False, 0.0, 0.0)
            return
        for uid, vms, n, writes in self._setup.first:
            if n:
                d_stop, d_deall = first(uid, "stop", n), first(uid, "deallocate", n)
                d_start = first(uid, "start", n)
            else:
                d_stop = d_deall = d_start = 0.0
            static[uid] = (
                first(uid, "validate", vms),
                first(uid, "prepare", vms),
                first(uid, "commit", vms),
                (d_stop + d_deall) if n else 0.0,
                d_start,
                writes,
                restart and n > 0,
                d_stop,
                d_deall,
            )

    # ---- bookkeeping --------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return float(self.env.now)

    def _event(self, uid: str, step: str, outcome: str, crew: int | None, attempt: int) -> None:
        now = float(self.env.now)
        if not self.record:
            # The clock never goes back: the latest step event is this one.
            self.last_step = self.last_event = now
            if outcome == "fail":
                self.failed_attempts += 1
            return
        self.events.append(Event(now, uid, step, outcome, crew, attempt))
        st = self.state[uid]
        # A rollback step (a restore) run after the unit was given up is not the unit starting:
        # a unit that waited for a lost predecessor never began.
        if outcome == "start" and st.first_start is None and uid not in self.finished:
            st.first_start = now
        if outcome in ("end", "fail"):
            st.end = now

    def _open_window(
        self, key: tuple[Any, ...], resource: str, kind: str, cause: str, unit: str = ""
    ) -> None:
        unit = self.units.unit_of.get(resource, unit)
        self.open[key] = _Open(resource, str(unit), kind, self.now, cause)

    def _close_window(
        self, key: tuple[Any, ...], cause: str | None = None, at: float | None = None
    ) -> None:
        w = self.open.pop(key, None)
        if w is None:
            return
        self.closed.append(
            Window(
                w.resource,
                resource_type(w.resource),
                w.unit,
                w.kind,
                w.start,
                self.now if at is None else at,
                cause if cause is not None else w.cause,
            )
        )

    def _lock(self, uid: str, cause: str) -> None:
        # One record per unit, not per resource (a VNet unit has hundreds): the per-resource
        # management windows are written when it unlocks.
        self.locks[uid] = (self.now, cause)

    def _unlock(self, uid: str, cause: str, at: float | None = None) -> None:
        held = self.locks.pop(uid, None)
        if held is None:
            return
        start, end = held[0], self.now if at is None else at
        if not self.record:
            self.lock_spans.append((start, end, len(self.rows[uid])))
            return
        self.closed.extend(
            [Window(r, t, owner, "management", start, end, cause) for r, t, owner in self.rows[uid]]
        )

    def _stop_vms(self, uid: str, cause: str) -> None:
        for vm in self.stopped[uid]:
            r = node_id("vm", vm)
            self._open_window(("down", uid, r), r, "data", cause)

    def _start_vms(self, uid: str) -> None:
        for vm in self.stopped[uid]:
            self._close_window(("down", uid, node_id("vm", vm)))

    def _give_up(self, uid: str, reason: str, rules: Sequence[str] = ()) -> None:
        st = self.state[uid]
        st.status = "not_migrated"
        self._epoch += 1
        st.reason = reason
        st.rules = tuple(dict.fromkeys(rules))
        self._not_migrated(uid, self.now)
        self.done[uid].succeed(False)
        self.finished.add(uid)
        self._epoch += 1
        group = self.group_of.get(uid)
        if group is not None:
            if not group.started.triggered and uid == group.members[0]:
                self._dissolve(group)  # its leader will never take the crews
            else:
                self._member_done(uid)

    def _not_migrated(self, uid: str, at: float) -> None:
        if self.record:
            self.events.append(Event(at, uid, "unit", "not_migrated", None, 0))
        else:
            self.last_event = max(self.last_event, at)

    def _dissolve(self, group: _Group) -> None:
        """Let a group's units go each on its own."""
        for m in group.members:
            self.group_of.pop(m, None)
        if not group.started.triggered:
            group.started.succeed(False)

    def _member_done(self, uid: str) -> None:
        """A unit of a started group is done; after the last one the group's crews go back."""
        group = self.group_of.get(uid)
        if group is None or not group.started.triggered or not group.started.value:
            return
        if all(m in self.finished for m in group.members):
            for crew in sorted(group.free):
                self.dispatch.release(group.held.pop(crew), crew)
            group.free.clear()

    def _group_take(self, uid: str, group: _Group) -> Proc:
        """One of ``group``'s crews for ``uid`` (the lowest position first); ``None`` when the
        group broke up meanwhile."""
        if group.broken:
            return None
        if group.free:
            crew = self.dispatch.pick(group.free, (uid,))
            group.free.discard(crew)
            return crew
        wake = self.env.event()
        group.waiting.append((self.position[uid], wake))
        group.waiting.sort(key=lambda w: w[0])
        crew = yield wake
        return crew

    def _group_give(self, group: _Group, crew: int) -> None:
        """Crew ``crew`` of ``group`` is free again: to the next unit waiting, or kept."""
        if group.broken:
            self.dispatch.release(group.held.pop(crew), crew)
        elif group.waiting:
            group.waiting.pop(0)[1].succeed(crew)
        else:
            group.free.add(crew)

    def _fits_never(self, uid: str) -> bool:
        """Whether ``uid``'s just-in-time sequence is longer than every window."""
        if self.cal.always_open:
            return False
        return self.dispatch.fits(self.now, self._jit_plan(uid).p_total(self.now)[2]) is None

    def _fits_now(self, uid: str) -> bool:
        """Whether ``uid``'s sequence, begun now, ends inside the window it begins in."""
        if self.cal.always_open:
            return True
        minutes = self._jit_plan(uid).p_total(self.now)[2]
        return self.dispatch.fits(self.now, minutes) == self.now

    def _break(self, group: _Group) -> None:
        """A unit of ``group`` must wait for another window: the units that have not begun go
        alone, and the group's crews go back to the pool as they come free. Replication gaps
        already open say they may now span windows."""
        if not group.broken:
            self._mark_group(group, _SPANS)
        group.broken = True
        for _, wake in group.waiting:
            wake.succeed(None)
        group.waiting.clear()
        for crew in sorted(group.free):
            self.dispatch.release(group.held.pop(crew), crew)
        group.free.clear()

    def _mark_group(self, group: _Group, why: str) -> None:
        """Say on the group's open replication gaps why they may span windows (once)."""
        for m in group.members:
            for rem in self.involved[m]:
                if rem.rule != "MIG022":
                    continue
                for r in rem.targets:
                    w = self.open.get(("remedy", rem.key, r))
                    if w is not None and "may span windows" not in w.cause:
                        w.cause += why

    def _let_go(self, held: _Held, *, waiting: bool = False) -> None:
        """Hand the crew ``held`` back to where it came from (its group's, or the pool);
        ``waiting``: its unit now waits for another window, which breaks its group up."""
        group = held.group
        if group is not None:
            if waiting:
                self._break(group)
            held.group = None
            self._group_give(group, held.crew)
        else:
            self.dispatch.release(held.req, held.crew)

    # ---- crews, windows, steps -----------------------------------------------------------------

    def _run(
        self,
        uid: str,
        step: str,
        minutes: float,
        crew: int | None,
        attempt: int,
        fail: bool = False,
    ) -> Proc:
        if self.replay is not None:
            minutes, fail = yield from self._as_it_happened(uid, step, minutes, attempt, fail, crew)
        self._event(uid, step, "start", crew, attempt)
        yield self.env.timeout(minutes)
        self._event(uid, step, "fail" if fail else "end", crew, attempt)
        if fail and uid in self.group_of:
            self.group_of[uid].failed = True
            self._mark_group(self.group_of[uid], _FAILED)

    def _as_it_happened(
        self, uid: str, step: str, minutes: float, attempt: int, fail: bool, crew: int | None
    ) -> Generator[simpy.Event, Any, tuple[float, bool]]:
        """A replan's step (:mod:`sim.engine.replay`): an actual one starts when it actually
        started and, when it has ended, ends when it did, as it did; any other waits for the
        replan's now. Returns the step's minutes and whether it fails."""
        assert self.replay is not None
        replay, key = self.replay, (uid, step, attempt)
        a = replay.steps.get(key)
        now = float(self.env.now)
        if a is None:
            if now < replay.now - EPS:  # not begun by now: it begins now at the earliest
                yield Wake(self.env, replay.now)
            return minutes, fail
        self._replayed.add(key)
        if now < a.start - EPS:
            yield Wake(self.env, a.start)
        elif now > a.start + EPS:
            self._mismatches.append(
                ReplayMismatch(key, a.where, "the plan starts it later", a.seq, now, a.start)
            )
        if a.crew is not None and crew is not None and a.crew != crew:
            self._mismatch(
                key,
                a.where,
                f"it is logged on crew {a.crew}, which is busy then under the plan (the step runs"
                f" on crew {crew}): one crew cannot run two steps at once",
                a.seq,
            )
        now = float(self.env.now)
        if a.end is None:  # running at now: what it has run and what is left (the sampler's)
            if now + minutes < replay.now - EPS:  # a fixed step already past its length: overdue
                minutes = (replay.now - now) + OVERDUE_FRACTION * minutes
            return minutes, fail
        if a.failed != fail:
            self._mismatch(key, a.end_where or a.where, "the plan has no failure of it", a.seq)
        return exact_delay(now, a.end), a.failed

    def _actual_choice(
        self, uid: str, step: str, attempt: int, instead: tuple[str, int] | None = None
    ) -> bool | None:
        """In a replan's past, whether the actuals show ``instead`` (False) or else attempt
        ``attempt`` of ``step`` of ``uid`` (True); None when they show neither or after now:
        the plan decides. The operator's decisions before now stand (the plan's window
        fit would ask with durations only known since)."""
        replay = self.replay
        if replay is None or self.now > replay.now + EPS:
            return None
        if instead is not None and (uid, *instead) in replay.steps:
            return False
        if (uid, step, attempt) in replay.steps:
            return True
        return None

    def _mismatch(self, key: StepKey, where: str | None, what: str, seq: int) -> None:
        self._mismatches.append(ReplayMismatch(key, where, what, seq))

    def _draw(self, uid: str, step: str, vms: int, attempt: int = 1) -> float:
        # Remembered: admission asks for the same durations again and again; a key always
        # gives the same number, so this changes no result.
        key = (uid, step, vms, attempt)
        d = self._drawn.get(key)
        if d is None:
            if step in self._by_quantile:
                q = self._quantiles.get((step, vms))
                if q is None:
                    q = self._quantiles[(step, vms)] = quantile(self._specs[step], vms)
                d = self.sampler.duration_by(q, uid, step, attempt)
            else:
                d = self.sampler.duration(self._specs[step], vms, uid, step, attempt)
            self._drawn[key] = d
        return d

    def _writes(self, uid: str) -> float:
        u = self.by_id[uid]
        others = len(u.resources) - u.vm_count
        return self.plan.writes_per_vm * u.vm_count + self.plan.writes_per_resource * others

    def _block(
        self,
        before: float,
        writing: float,
        after: float,
        writes: float,
        then: Callable[[float], float] | None = None,
    ) -> Callable[[float], float]:
        """Minutes of a sequence started at ``t``: ``before``, a throttled step, ``after``, and
        ``then`` (a sequence of its own) after them."""
        if then is not None:
            head = before + writing + after
            return lambda t: head + then(t + head)
        return lambda t: before + self._throttled(writing, writes, t) + after

    def _undo_for_later(self, uid: str) -> list[_Rem]:
        """The unit's own disruptive pre-steps in force (not a peering's or the
        subscription's), in the order they were done."""
        return [
            rem
            for rem in self.window_pre[uid]
            if rem.remedy.scope == "unit"
            and rem.remedy.post
            and rem.removed is not None
            and rem.restored is None
            and rem.units == [uid]
        ]

    def _no_way_back(self, uid: str) -> str | None:
        """The rule of a pre-step of ``uid`` that cannot be rolled back and has run (MIG008's
        domain services migration under ``plan.aadds_migration``): from then on the unit is
        never aborted. None when there is none."""
        for rem in self.involved[uid]:
            if rem.remedy.final and rem.removed is not None:
                return rem.rule
        return None

    def _stuck(self, uid: str, what: str, rule: str) -> None:
        """Give ``uid`` up without an Abort: ``rule``'s migration cannot be rolled back, so
        the lock stays to the end of the run and the unit needs support."""
        self.state[uid].locked_for_good = True
        self._epoch += 1
        self._give_up(
            uid,
            f"{what}; {rule}'s migration cannot be rolled back, so the unit cannot be aborted:"
            " it stays locked (needs support)",
        )

    def _throttled(self, minutes: float, writes: float, t: float) -> float:
        if self.bucket is None:
            return minutes
        self._settle()
        return max(minutes, self.bucket.min_duration(t, writes))

    def _take_writes(self, writes: float, planned: float, actual: float) -> None:
        if self.bucket is not None:
            self._settle()
            self.bucket.take(self.now, writes)
            self.throttle_minutes += actual - planned

    def _take_later(
        self, at: float, uid: str, which: int | None, writes: float, slowed: float
    ) -> None:
        """Unit ``uid`` takes ``writes`` at minute ``at`` (its Prepare's, ``which`` 0, or its
        Commit's, ``None``), with no event of its own (:meth:`_straight`): set down when the
        bucket or the pending writes are next read or written at or after ``at``."""
        heapq.heappush(self._deferred, (at, next(self._deferred_seq), uid, which, writes, slowed))

    def _settle(self) -> None:
        """Apply the deferred takes whose minute has come, in time order (then in the order
        they were deferred), as each unit's own event at that minute would have: its pending
        writes taken off, the bucket drawn down at that minute. Called before every read or
        write of the bucket or of the pending writes, so nothing sees the state without them
        once their minute has come, nor with them before."""
        deferred = self._deferred
        if not deferred:
            return
        now = float(self.env.now)
        bucket = self.bucket
        assert bucket is not None
        while deferred and deferred[0][0] <= now:
            at, _, uid, which, writes, slowed = heapq.heappop(deferred)
            self._taken(uid, which)
            bucket.take(at, writes)
            self.throttle_minutes += slowed

    def _no_window(self, what: str, minutes: float) -> str:
        longest = self.cal.longest()
        shown = "none" if longest == 0 else format_minutes(longest)
        return (
            f"{what} ({format_minutes(minutes)}) is longer than every maintenance window"
            f" (longest {shown})"
        )

    # ---- remediation steps ----------------------------------------------------------------------

    def _rem_minutes(self, rem: _Rem, step: str, uid: str) -> float:
        key = (uid, step, rem.key, rem.vms)
        d = self._rem_drawn.get(key)
        if d is None:  # remembered, as :meth:`_draw`
            spec = self._setup.remedy_step(rem.rule, step == "remediate")
            d = self._rem_drawn[key] = self.sampler.duration(
                spec, rem.vms, uid, f"{step}:{rem.key}"
            )
        return d

    def _rem_cause(self, rem: _Rem, uid: str) -> str:
        r = rem.remedy
        if rem.rule == "MIG014":
            a, b = rem.targets[0], rem.targets[-1]
            return (
                f"MIG014: peering {short_name(a)} <-> {short_name(b)} removed before migrating"
                f" {uid}, re-peered once both VNets are done"
            )
        if r.opens == "commit":
            return f"{rem.rule}: {r.removed}"
        restored = r.restored if "after" in r.restored else f"{r.restored} after"
        cause = f"{rem.rule}: {r.removed} before migration, {restored}"
        if rem.rule == "MIG022" and rem.waits_for:
            group = self.group_of.get(uid)
            if self.groups_off:
                cause += (
                    " (may span windows: with plan.max_parallel set, the units that share its"
                    " storage accounts are not kept together)"
                )
            elif (
                group is None
                or group.broken
                or not group.started.triggered
                or not group.started.value
            ):
                cause += _SPANS
            elif group.failed:
                cause += _FAILED
        return cause

    def _pre_step(self, uid: str, rem: _Rem, crew: int, attempt: int = 1) -> Proc:
        rem.claimed = True
        self._epoch += 1
        minutes = self._rem_minutes(rem, "remediate", uid)
        yield from self._run(uid, f"remediate:{rem.key}", minutes, crew, attempt)
        rem.removed = self.now
        self._epoch += 1
        kind = rem.remedy.kind
        if kind is not None:
            cause = self._rem_cause(rem, uid)
            for r in rem.targets:
                self._open_window(("remedy", rem.key, r), r, kind, cause, uid)

    def _post_step(self, uid: str, rem: _Rem, crew: int, attempt: int = 1, why: str = "") -> Proc:
        minutes = self._rem_minutes(rem, "restore", uid)
        yield from self._run(uid, f"restore:{rem.key}", minutes, crew, attempt)
        rem.restored = self.now
        rolled = not any(self.state[m].status == "committed" for m in rem.units)
        suffix = f" ({why})" if why else " (rolled back: unit not migrated)" if rolled else ""
        for r in rem.targets:
            w = self.open.get(("remedy", rem.key, r))
            if w is not None:
                self._close_window(("remedy", rem.key, r), w.cause + suffix)

    def _ready(self, rem: _Rem, also: str = "", claimed: frozenset[int] = frozenset()) -> bool:
        """Whether ``rem``'s post-step may run now (or once unit ``also`` has committed, its
        pre-steps ``claimed`` done): every unit that needs it is done, and, when one of them
        migrated, every unit it waits for (MIG022's storage accounts). When none migrated the
        post-step rolls the pre-step back at once."""
        r = rem.remedy
        if rem.restoring or not r.post or self.plan.remediation != "auto":
            return False
        if r.scope == "subscription":
            return False  # closed by its cycle (_cycle)
        finished, state = self.finished, self.state
        if not all(m == also or m in finished for m in rem.units):
            return False
        if any(state[m].locked_for_good for m in rem.units):
            # A unit left locked (needs support): the platform refuses writes to its resources,
            # so what its pre-step removed stays removed to the end of the run.
            return False
        migrated = any(m == also or state[m].status == "committed" for m in rem.units)
        if r.opens == "commit" or r.final:
            return migrated  # a final pre-step (MIG008) is never rolled back
        if rem.removed is None and not rem.claimed and id(rem) not in claimed:
            return False
        return not migrated or all(w == also or w in finished for w in rem.waits_for)

    def _now_ready(self, uid: str) -> list[_Rem]:
        """The post-steps that unit ``uid``, just done, may run now (data-plane first)."""
        ready = [rem for rem in dict.fromkeys(self.involved[uid]) if self._ready(rem)]
        for rem in ready:
            rem.restoring = True
            self._epoch += 1
        ready.sort(key=lambda m: RESTORE_ORDER.get(m.remedy.kind or "", 99))
        return ready

    def _restores(self, uid: str, ready: Sequence[_Rem]) -> Proc:
        """Post-steps run after unit ``uid`` is done, each with a crew (work in progress)."""
        self.dispatch.started(uid)
        for rem in ready:
            req, crew = yield from self.dispatch.crew(uid)
            yield from self._post_step(uid, rem, crew)
            self.dispatch.release(req, crew)

    def _finish(self, uid: str, held: _Held | None) -> Proc:
        """Unit ``uid`` is done (committed or not migrated): run the post-steps that became
        ready, on the held crew right away, else as their own process."""
        self.finished.add(uid)
        self._epoch += 1
        if self.pending.pop(uid, None) is not None:  # writes it will never take
            self._pending_changed(uid)
        ready = self._now_ready(uid)
        for rem in self.shared_pre[uid]:
            self._leave(rem, uid)
        if held is None:
            if ready:
                self.env.process(self._restores(uid, ready))
            return
        # On the held crew, outages first: the post-steps its admission counted on, and those
        # that units done meanwhile made ready too (a peer's re-peering) when they still fit the
        # window; else those go as their own process.
        planned = self.planned.pop(uid, set())
        later = [rem for rem in ready if id(rem) not in planned]
        if later and self.cal.always_open:
            later = []
        if later:
            minutes = sum(self._rem_minutes(rem, "restore", uid) for rem in ready)
            if self.dispatch.fits(self.now, minutes) == self.now:
                later = []
        if later:  # first, so another free crew can take them at once
            self.env.process(self._restores(uid, later))
        for rem in ready:
            if rem not in later:
                yield from self._post_step(uid, rem, held.crew)

    # ---- the just-in-time plan of a unit -----------------------------------------------------

    def _due(self, t0: float, t1: float) -> float:
        """Writes admitted units will take in ``(t0, t1]``."""
        return sum(w for takes in self.pending.values() for when, w in takes if t0 < when <= t1)

    def _pending_changed(self, uid: str) -> None:
        """Unit ``uid``'s pending writes changed: the bound of every :meth:`_due` again."""
        # The same sum unfiltered (the writes are never negative), unit by unit, a hair more
        # so that no rounding of either sum can put it below.
        takes = self.pending.get(uid)
        if takes:
            # a Prepare's and a Commit's writes, or one of them
            self._unit_due[uid] = (
                takes[0][1] + takes[1][1] if len(takes) == 2 else sum(w for _, w in takes)
            )
        else:
            self._unit_due.pop(uid, None)
        total = sum(self._unit_due.values())
        self._pending_bound = total * (1.0 + 1e-9) + 1e-9

    def _project(
        self, minutes: float, writes: float, t: float, own: tuple[float, float] | None = None
    ) -> float:
        """A Prepare or Commit of ``minutes`` issuing ``writes`` at minute ``t`` under the
        throttle: the bucket as it will be at ``t`` once every admitted unit has taken the writes
        it will take by then; ``own``: the unit's own Prepare ``(minute, writes)`` before its
        Commit, after which the bucket refills (up to its hour) until ``t``."""
        bucket = self.bucket
        if bucket is None:
            return minutes
        self._settle()
        # First with every pending write counted as due: the bucket is at least that full, so
        # when even then the writes do not slow the step, they do not (the usual case, without
        # the sums over the admitted units). Every operation is monotone: the same result.
        due = self._pending_bound
        if own is None:
            low = bucket.level_at(t) - due
        else:
            tp, taken = own
            low = min(bucket.capacity, bucket.level_at(tp) - due - taken + bucket.rate * (t - tp))
            low -= due
        if (writes - low) / bucket.rate <= minutes:
            return minutes
        if own is None:
            level = bucket.level_at(t) - self._due(-math.inf, t)
        else:
            tp, taken = own
            after = bucket.level_at(tp) - self._due(-math.inf, tp) - taken
            level = min(bucket.capacity, after + bucket.rate * (t - tp)) - self._due(tp, t)
        return max(minutes, (writes - level) / bucket.rate)

    def _taken(self, uid: str, which: int | None = None) -> None:
        """Unit ``uid`` took (or will never take) its planned Prepare (0) or Commit (1) writes;
        ``None``: both."""
        takes = self.pending.get(uid)
        if takes is None:
            return
        if which is None or len(takes) == 1:
            del self.pending[uid]
        else:
            del takes[which if which < len(takes) else -1]
        self._pending_changed(uid)

    def _jit_plan(self, uid: str) -> _Plan:
        """Unit ``uid``'s window-bound sequence as it would run if admitted now."""
        fixed = self._fixed_plans.get(uid)
        if fixed is not None:
            return fixed
        kept = self._plans.get(uid)
        if kept is not None and kept[0] == self._epoch:
            return kept[1]
        static = self._static.get(uid)
        if static is None:
            # First attempts' durations and the unit's writes: the same at every admission.
            # (a replan's: the others are all made by _first_attempts)
            u = self.by_id[uid]
            n = len(self.stopped[uid])
            d_stop = self._draw(uid, "stop", n, 1) if n else 0.0
            d_deall = self._draw(uid, "deallocate", n, 1) if n else 0.0
            static = self._static[uid] = (
                self._draw(uid, "validate", u.vm_count, 1),
                self._draw(uid, "prepare", u.vm_count, 1),
                self._draw(uid, "commit", u.vm_count, 1),
                (d_stop + d_deall) if n else 0.0,
                self._draw(uid, "start", n, 1) if n else 0.0,
                self._writes(uid),
                self.plan.restart_after == "commit" and n > 0,
                d_stop,
                d_deall,
            )
        d_val, d_prep, d_commit, stop, start, writes, restart_commit, _, _ = static
        pres: list[_Rem] = []
        cycles: list[_Rem] = []
        after: list[_Rem] = []
        pre = lead = rest = 0.0
        remediated = bool(self.window_pre[uid] or self.shared_pre[uid] or self.involved[uid])
        if remediated:
            pres = [rem for rem in self.window_pre[uid] if not rem.claimed]
            pre = sum(self._rem_minutes(rem, "remediate", uid) for rem in pres)
            lead = max((rem.remedy.lead for rem in pres), default=0.0)
            cycles = [rem for rem in self.shared_pre[uid] if rem.removed is None]
            # A unit that opens a cycle disables the setting and waits out its lead time first;
            # every unit of a cycle may be the last, which re-enables it: counted in each.
            pre += sum(self._rem_minutes(rem, "remediate", uid) + rem.remedy.lead for rem in cycles)
            closing = sum(self._rem_minutes(rem, "restore", uid) for rem in self.shared_pre[uid])
            # The post-steps this unit's Commit will make ready, as things stand.
            claimed = frozenset(id(rem) for rem in pres)
            after = [
                rem
                for rem in dict.fromkeys(self.involved[uid])
                if (rem.claimed or id(rem) in claimed or rem.remedy.opens == "commit")
                and self._ready(rem, uid, claimed)
            ]
            rest = sum(self._rem_minutes(rem, "restore", uid) for rem in after) + closing
        before_prepare = pre + lead + d_val + stop

        def timing(t: float) -> tuple[float, float, float]:
            p = self._project(d_prep, writes, t + before_prepare)
            tc = before_prepare + p + (0.0 if restart_commit else start) + self.plan.check
            c = self._project(d_commit, writes, t + tc, (t + before_prepare, writes))
            return p, c, tc + c + (start if restart_commit else 0.0) + rest

        def takes(t: float, p: float | None = None) -> list[tuple[float, float]]:
            if p is None:
                p = timing(t)[0]
            tc = before_prepare + p + (0.0 if restart_commit else start) + self.plan.check
            return [(t + before_prepare, writes), (t + tc, writes)]

        plan = _Plan(
            pres,
            lead,
            p_total=timing,
            writes=writes,
            rest=rest,
            cycles=cycles,
            after=after,
            takes=takes,
        )
        if not remediated:
            # Nothing in it changes as the run goes on (the throttle is read when it is
            # timed): asked again at every admission, built once.
            self._fixed_plans[uid] = plan
        else:
            # What it reads (remediations claimed, removed or restoring, units done, their
            # status) changes only where _epoch is counted on: kept until then.
            self._plans[uid] = (self._epoch, plan)
        return plan

    # ---- the unit process -----------------------------------------------------------------------

    def unit_process(self, uid: str) -> Proc:
        """One unit's life: its predecessors commit (or it is not migrated), its blockers, the
        policy's :meth:`~sim.engine.dispatch.Dispatch.begin`, the pre-steps that open no window,
        then its window-bound sequence, just in time (:meth:`_just_in_time`) or step by step
        (:meth:`_ahead`); then its post-steps, or the rollback of its pre-steps."""
        preds = self.preds[uid]
        if preds:
            yield self.env.all_of([self.done[p] for p in preds])
            lost = [p for p in preds if not self.done[p].value]
            if lost:
                yield from self._lost(uid, lost)
                return
        early = self.early[uid]
        if early:
            rules = [f.rule for f in early]
            self._give_up(
                uid,
                f"blocked by {', '.join(dict.fromkeys(rules))}: {early[0].message}",
                rules,
            )
            yield from self._finish(uid, None)
            return
        not_before = self.not_before.get(uid, 0.0)
        if self.replay is not None and uid not in self.replay.first_start:
            # a unit left for later that has not begun (replan --advise: skip it)
            not_before = max(not_before, self.replay.deferred.get(uid, 0.0))
        yield from self.dispatch.begin(uid, not_before)
        disruptive = bool(self.window_pre[uid] or self.shared_pre[uid])
        jit = uid in self.group_of or self.dispatch.runs_just_in_time(uid, disruptive)
        if uid not in self.group_of:  # a group's unit runs them on its group's crew
            yield from self._free_pre_steps(uid, jit)
        if jit:
            yield from self._just_in_time(uid)
        else:
            yield from self._ahead(uid)

    def _plain_unit(self, uid: str) -> Proc:
        """:meth:`unit_process` of a plain unit (:attr:`plain`): no blocker, no remediation, no
        group, admitted just in time by the base :meth:`~sim.engine.dispatch.Dispatch.admit`.

        The general path with its calls inlined, for the Monte Carlo replications' speed: the
        same SimPy events in the same order, the same draws, windows and records (the result
        digests of ``tests/test_digest.py`` hold it to that). Its first attempts' failures are
        known before it starts (every draw is keyed, :mod:`sim.engine.sampling`): a unit that
        will fail a step, or whose Commit no longer fits its window, goes on by the general
        methods from there.
        """
        env = self.env
        preds = self.preds[uid]
        if preds:
            yield env.all_of([self.done[p] for p in preds])
            lost = [p for p in preds if not self.done[p].value]
            if lost:
                yield from self._lost(uid, lost)
                return
        now = float(env.now)
        not_before = self.not_before.get(uid, 0.0)
        if not_before > now:  # JustInTime.begin
            yield env.timeout(not_before - now)
        # Platform._jit_plan with no pre-step, lead time or post-step, inlined: the same sums
        d_val, d_prep, d_commit, stop, start, writes, restart, _, _ = self._static[uid]
        before = d_val + stop
        up, down = (0.0, start) if restart else (start, 0.0)  # Start before Check, or after Commit
        check, project = self.plan.check, self._project

        def timing(t: float) -> tuple[float, float, float]:
            p = project(d_prep, writes, t + before)
            tc = before + p + up + check
            c = project(d_commit, writes, t + tc, (t + before, writes))
            return p, c, tc + c + down

        def refit(t: float) -> float | None:  # what it works out as its crew comes
            return fits(t, timing(t)[2])

        def rekey() -> int:
            return dispatch._key(uid)

        dispatch = self.dispatch
        fits, crews, free = dispatch.fits, dispatch.crews, dispatch.free
        # Dispatch.admit (no cycle: no lead time; no concurrency slot)
        anytime = self.cal.always_open
        while True:
            now = float(env.now)
            t = now if anytime else fits(now, timing(now)[2])
            if t is None:
                yield from self._no_fit(uid)
                return
            if t > now:
                yield env.timeout(t - now)
                continue
            # Dispatch.crew, inlined (no replan's pins: a replan runs no plain unit); the crews
            # may find at once that it comes too late (Crews._too_late)
            if anytime:
                req = crews.request(priority=dispatch._key(uid))
                yield req
            else:
                req = CrewRequest(crews, dispatch._key(uid), refit, rekey)
                if (yield req) is CYCLED:
                    continue  # ask again from the top (Crews._woken)
            crew = min(free)
            free.discard(crew)
            now = float(env.now)
            # kept for the sequence: nothing changes between admission and its start
            p_eff, c_eff, total = timing(now)
            t = fits(now, total)
            if t is not None and t <= now:
                dispatch.started(uid)
                break
            dispatch.release(req, crew)
            if t is None:
                yield from self._no_fit(uid)
                return
            yield env.timeout(t - now)
        held = _Held(req, crew)
        # Platform._sequence
        if self.bucket is not None:
            tc = before + p_eff + up + check
            self.pending[uid] = [(now + before, writes), (now + tc, writes)]
            self._pending_changed(uid)
        if self._fails_first(uid):
            self.rest[uid] = 0.0
            self.planned[uid] = set()
            yield from self._steps(uid, held, None, p_eff, c_eff)
            return
        ok: bool | None = None
        if self._straight_on:
            ok = yield from self._straight(uid, held, now, p_eff, c_eff)
        if ok is None:
            ok = yield from self._step_by_step(uid, held, p_eff, c_eff)
        if ok:
            self._committed(uid)
        # Platform._finish: no post-step
        self.finished.add(uid)
        self._epoch += 1
        if self.pending.pop(uid, None) is not None:
            self._pending_changed(uid)
        crews.release(held.req)  # Platform._let_go: Dispatch.release
        free.add(held.crew)

    def _fails_first(self, uid: str) -> bool:
        """Whether a first attempt of one of ``uid``'s steps fails (every draw is keyed: known
        before the unit starts; the drawn ones were found by :meth:`_prefetch`)."""
        if not self._certain_failure:
            return uid in self._failing_first
        sampler, failures = self.sampler, self.plan.failures
        return (
            sampler.fails(failures.validate_, uid, "validate", 1)
            or sampler.fails(failures.prepare, uid, "prepare", 1)
            or sampler.fails(failures.check, uid, "check", 1)
            or sampler.fails(failures.commit, uid, "commit", 1)
        )

    def _step_by_step(
        self, uid: str, held: _Held, p_eff: float, c_eff: float
    ) -> Generator[Any, Any, bool]:
        """A plain unit's Validate to Commit, every step an event of its own, when no first
        attempt fails (:meth:`_plain_unit`); whether it committed."""
        env, crew = self.env, held.crew
        fits = self.dispatch.fits
        st = self.state[uid]
        event = self._event
        d_val, d_prep, d_commit, _, _, writes, _, _, _ = self._static[uid]
        # Platform._validate, its first attempt
        st.attempts["validate"] = 1
        event(uid, "validate", "start", crew, 1)
        yield env.timeout(d_val)
        event(uid, "validate", "end", crew, 1)
        # Platform._begin_prepare and _prepare, the first attempt
        n = len(self.stopped[uid])
        restart_commit = self.plan.restart_after == "commit"
        st.attempts["prepare"] = st.locked_at = 1
        self._lock(uid, "Prepare attempt 1 to Commit")
        if n:
            d_stop = self._draw(uid, "stop", n, 1)
            d_deall = self._draw(uid, "deallocate", n, 1)
            self._stop_vms(uid, _stop_cause(self.by_id[uid].kind))
            event(uid, "stop", "start", crew, 1)
            yield env.timeout(d_stop)
            event(uid, "stop", "end", crew, 1)
            event(uid, "deallocate", "start", crew, 1)
            yield env.timeout(d_deall)
            event(uid, "deallocate", "end", crew, 1)
        self._taken(uid, 0)
        self._take_writes(writes, d_prep, p_eff)
        event(uid, "prepare", "start", crew, 1)
        yield env.timeout(p_eff)
        event(uid, "prepare", "end", crew, 1)
        if n and not restart_commit:
            d_start = self._draw(uid, "start", n, 1)
            event(uid, "start", "start", crew, 1)
            yield env.timeout(d_start)
            event(uid, "start", "end", crew, 1)
            self._start_vms(uid)
        # Platform._check
        event(uid, "check", "start", crew, 1)
        yield env.timeout(self.plan.check)
        event(uid, "check", "end", crew, 1)
        # Platform._commit, its first attempt
        restart_commit = restart_commit and n > 0
        d_start = self._draw(uid, "start", n, 1) if restart_commit else 0.0
        ok: bool
        if fits(float(env.now), c_eff + (d_start + 0.0)) != float(env.now):
            ok = yield from self._commit(uid, held, c_eff)
        else:
            st.attempts["commit"] = 1
            self._taken(uid)
            self._take_writes(writes, d_commit, c_eff)
            event(uid, "commit", "start", crew, 1)
            yield env.timeout(c_eff)
            event(uid, "commit", "end", crew, 1)
            st.commit_end = float(env.now)
            self._unlock(uid, "Prepare attempt 1 to Commit")
            if restart_commit:
                event(uid, "start", "start", crew, 1)
                yield env.timeout(d_start)
                event(uid, "start", "end", crew, 1)
                self._start_vms(uid)
            ok = True
        return ok

    def _straight(
        self, uid: str, held: _Held, t0: float, p_eff: float, c_eff: float
    ) -> Generator[Any, Any, bool | None]:
        """Validate to Commit of a unit admitted just in time whose first attempts all pass
        (:meth:`_step_by_step`, :meth:`_steps`), in a lean random replication, with fewer
        events: what the steps do (the lock, the stopped VMs' data windows, the write
        throttle's takes, the makespan) is set down at the minutes the steps reach, each the
        same sum of the same durations in the same order, so the tally is the same to the bit.
        Returns whether the unit committed; ``None``, having done nothing, when the horizon
        falls inside the steps (they run one by one).

        Two events at one minute run in the order they were scheduled, and that order comes
        from the steps before them: merging steps may change it only at the minutes where a
        merged stretch ends. So a stretch is merged only when its length holds a duration
        drawn from a continuous distribution, which no other event's minute can equal: Validate
        with Stop and Deallocate (to Prepare start), Prepare with Start and Check (to Commit
        start, and only when the throttle did not set Prepare's length), Commit (with Start
        after it). A stretch of fixed durations runs step by step, as without merging. The
        throttle's takes at a merged minute are set down when the bucket is next read
        (:meth:`_take_later`); Commit start is an event of its own when the unit could yet
        become unabortable or its Commit might not fit its window."""
        env = self.env
        d_val, d_prep, d_commit, _, d_start, writes, restart, d_stop, d_deall = self._static[uid]
        n = len(self.stopped[uid])
        # The clock as the step-by-step path moves it: one addition per step, in its order.
        t_lock = t = t0 + d_val
        if n:
            t = t + d_stop
            t = t + d_deall
        t_prep = t
        t = t + p_eff
        if n and not restart:
            t = t + d_start
        t_up = t
        t_commit = t = t + self.plan.check
        t_done = t + c_eff
        t_end = t_done + d_start if restart else t_done
        if not t_end < self.plan.horizon:
            return None
        smooth_pre, smooth_prep, smooth_commit = self._smooth[uid]
        merge_pre = smooth_pre
        merge_prep = smooth_prep and p_eff == d_prep
        merge_commit = smooth_commit and c_eff == d_commit
        st = self.state[uid]
        st.attempts["validate"] = 1
        st.attempts["prepare"] = st.locked_at = 1
        rest = (d_start if restart else 0.0) + self.rest.get(uid, 0.0)
        # Commit start needs no event when it comes at a merged minute, the Commit will fit its
        # window as it comes (a question of the calendar alone) and no final pre-step can make
        # the unit unabortable first.
        commit_known = (
            merge_prep
            and merge_commit
            and not self.involved[uid]
            and self.dispatch.fits(t_commit, c_eff + rest) == t_commit
        )
        bucket = self.bucket
        # Validate, Stop, Deallocate: to Prepare start
        if merge_pre:
            if bucket is not None:
                self._take_later(t_prep, uid, 0, writes, p_eff - d_prep)
            if not merge_prep:
                yield _At(env, t_prep)
        else:
            yield env.timeout(d_val)
            if n:
                yield env.timeout(d_stop)
                yield env.timeout(d_deall)
            if bucket is not None:  # at t_prep: these sums are env.now's
                self._taken(uid, 0)
                self._take_writes(writes, d_prep, p_eff)
        cause = "Prepare attempt 1 to Commit"
        rows = self.down_rows[uid]
        if commit_known:
            if bucket is not None:
                self._take_later(t_commit, uid, None, writes, c_eff - d_commit)
            yield _At(env, t_end)
            self._settle()
            st.attempts["commit"] = 1
            st.commit_end = t_done
            self.lock_spans.append((t_lock, t_done, len(self.rows[uid])))
            if rows:
                why = _stop_cause(self.by_id[uid].kind)
                up = t_end if restart else t_up
                self.closed.extend(
                    [Window(r, rt, owner, "data", t_lock, up, why) for r, rt, owner in rows]
                )
            self.last_step = self.last_event = t_end
            return True
        # Prepare, Start, Check: to Commit start, an event
        if merge_prep:
            yield _At(env, t_commit)
        else:
            yield env.timeout(p_eff)
            if n and not restart:
                yield env.timeout(d_start)
            yield env.timeout(self.plan.check)
        self._settle()
        self.last_step = self.last_event = t_commit
        self.locks[uid] = (t_lock, cause)
        if rows:
            why = _stop_cause(self.by_id[uid].kind)
            if restart:
                for r, _, owner in rows:
                    self.open[("down", uid, r)] = _Open(r, owner, "data", t_lock, why)
            else:
                self.closed.extend(
                    [Window(r, rt, owner, "data", t_lock, t_up, why) for r, rt, owner in rows]
                )
        if (
            self._no_way_back(uid) is None
            and self.dispatch.fits(t_commit, c_eff + rest) != t_commit
        ):
            ok: bool = yield from self._commit(uid, held, c_eff)
            return ok
        st.attempts["commit"] = 1
        self._taken(uid)
        self._take_writes(writes, d_commit, c_eff)
        if merge_commit:
            yield _At(env, t_end)
        else:
            yield env.timeout(c_eff)
            if restart:
                yield env.timeout(d_start)
        st.commit_end = t_done
        self._unlock(uid, cause, at=t_done)
        if restart:
            self._start_vms(uid)
        self.last_step = self.last_event = t_end
        return True

    def _lost(self, uid: str, lost: Sequence[str]) -> Proc:
        """Give ``uid`` up: its must-precede predecessors ``lost`` were not migrated."""
        verb = "was" if len(lost) == 1 else "were"
        self._give_up(uid, f"waits for {', '.join(lost)}, which {verb} not migrated")
        yield from self._finish(uid, None)

    def _free_pre_steps(self, uid: str, jit: bool = True) -> Proc:
        """The pre-steps that open no window (MIG009, MIG018), each when a crew is free; none
        for a unit run just in time whose sequence fits no window (it will not migrate)."""
        if self.free_pre[uid] and jit and self._fits_never(uid):
            return
        for rem in self.free_pre[uid]:
            if rem.claimed:
                continue
            req, crew = yield from self.dispatch.crew(uid)
            yield from self._pre_step(uid, rem, crew)
            self.dispatch.release(req, crew)

    def _cycle_wait(self, uid: str) -> Proc:
        """Wait while a subscription-wide remediation the unit needs (MIG020) is in its lead
        time: the unit joins the cycle once the lead has passed."""
        while True:
            pending = [
                rem.ready
                for rem in self.shared_pre[uid]
                if rem.ready is not None and not rem.ready.triggered
            ]
            if not pending:
                return
            yield self.env.all_of(pending)

    def _lead_left(self, uid: str, t: float) -> float:
        """Minutes from ``t`` until the open cycles unit ``uid`` needs are past their lead time:
        the sequence starts then (:meth:`_cycle_wait`), so admission counts them."""
        return (
            max(
                (
                    rem.ready_at - t
                    for rem in self.shared_pre[uid]
                    if rem.ready is not None and not rem.ready.triggered
                ),
                default=0.0,
                key=lambda x: x,
            )
            if self.shared_pre[uid]
            else 0.0
        )

    def _signal(self, rem: _Rem) -> None:
        event, rem.changed = rem.changed, self.env.event()
        if event is not None:
            event.succeed()

    def _join(self, rem: _Rem, uid: str) -> None:
        rem.users.add(uid)
        rem.candidates.discard(uid)
        self._signal(rem)

    def _leave(self, rem: _Rem, uid: str) -> None:
        if uid in rem.users or uid in rem.candidates:
            rem.users.discard(uid)
            rem.candidates.discard(uid)
            self._signal(rem)

    def _open(self, rem: _Rem, uid: str) -> None:
        """Open a cycle of ``rem`` (MIG020) for unit ``uid``: see :meth:`_cycle`."""
        rem.ready = self.env.event()
        rem.removed = self.now  # the cycle is opening (_cycle_wait waits for its lead)
        self._epoch += 1
        rem.ready_at = self.now + self._rem_minutes(rem, "remediate", uid) + rem.remedy.lead
        self.env.process(self._cycle(rem, uid))

    def _cycle(self, rem: _Rem, uid: str) -> Proc:
        """One cycle of a subscription-wide remediation (MIG020's Security Center policy): the
        migration lead disables it (no crew: one subscription setting), the lead time passes,
        units needing it join while it is off; it is re-enabled once no unit is in it and none
        is waiting to join, or at the latest when the window it opened in ends (less the
        re-enabling), so the gap stays inside that window."""
        minutes = self._rem_minutes(rem, "remediate", uid)
        yield from self._run(uid, f"remediate:{rem.key}", minutes, None, 1)
        rem.removed = opened = self.now
        self._epoch += 1
        kind = rem.remedy.kind
        assert kind is not None
        cause = self._rem_cause(rem, uid)
        for r in rem.targets:
            self._open_window(("remedy", rem.key, r), r, kind, cause, uid)
        if rem.remedy.lead > 0:
            yield self.env.timeout(rem.remedy.lead)
        assert rem.ready is not None
        rem.ready.succeed()
        last = uid
        closing = self._rem_minutes(rem, "restore", uid)
        deadline = self._window_end(opened) - closing
        while rem.users or (rem.candidates and self.now < deadline):
            if rem.users:
                last = min(rem.users, key=self.position.__getitem__)
            if rem.changed is None:
                rem.changed = self.env.event()
            waits: list[simpy.Event] = [rem.changed]
            if self.now < deadline < math.inf:
                waits.append(self.env.timeout(deadline - self.now))
            yield self.env.any_of(waits)
        yield from self._run(last, f"restore:{rem.key}", closing, None, 1)
        rem.restored = self.now
        rem.removed = None
        self._epoch += 1
        rem.ready = None
        for r in rem.targets:
            w = self.open.get(("remedy", rem.key, r))
            if w is not None:
                self._close_window(("remedy", rem.key, r), w.cause)
        self._signal(rem)

    def _window_end(self, t: float) -> float:
        """The end of the maintenance window holding minute ``t`` (``inf`` without windows)."""
        if self.cal.always_open:
            return math.inf
        ends = [b for a, b in self.cal.intervals(t, t) if a <= t + 1e-6 and t <= b + 1e-6]
        return max(ends, default=t)

    def _with_cycles(self, uid: str, total: Callable[[float], float]) -> Callable[[float], float]:
        """``total`` plus, for a unit that left its cycles, opening one again if none is open
        then (the setting disabled, the lead time)."""
        rems = self.shared_pre[uid]
        if not rems:
            return total

        def length(t: float) -> float:
            again = sum(
                self._rem_minutes(rem, "remediate", uid) + rem.remedy.lead
                for rem in rems
                if rem.removed is None
            )
            return total(t) + again

        return length

    def _leave_cycles(self, uid: str, held: _Held) -> Proc:
        """A unit that must wait for another window leaves its cycles (which close when it was
        the last)."""
        for rem in self.shared_pre[uid]:
            self._leave(rem, uid)
        yield from ()

    def _rejoin_cycles(self, uid: str, held: _Held) -> Proc:
        """Back in a window: join the open cycle (after its lead) or open a new one."""
        yield from self._cycle_wait(uid)
        for rem in self.shared_pre[uid]:
            if rem.removed is None:
                self._open(rem, uid)
            self._join(rem, uid)
        yield from self._cycle_wait(uid)

    def _group_length(self, group: _Group, crews: int, t: float) -> float:
        """An upper bound of the minutes ``group``'s units not yet done take on ``crews`` crews
        from ``t`` (Graham's bound for any schedule that never leaves a crew idle while a unit
        is ready: total work / crews + (1 - 1/crews) * longest chain), with the re-enabling of
        replication counted on every path."""
        return self._group_bound(group, t)(crews)

    def _group_bound(self, group: _Group, t: float) -> Callable[[int], float]:
        """:meth:`_group_length` from ``t`` as a function of the crews: the units' lengths
        summed once for every crew count asked at the same moment."""
        alive = [m for m in group.members if m not in self.finished]
        if not alive:
            return lambda crews: 0.0
        length = {
            m: self._jit_plan(m).p_total(t)[2]
            + sum(self._rem_minutes(rem, "remediate", m) for rem in self.free_pre[m])
            for m in alive
        }
        reenable = {
            id(rem): self._rem_minutes(rem, "restore", rem.units[0])
            for m in alive
            for rem in self.involved[m]
            if rem.rule == "MIG022"
        }
        extra = sum(reenable.values())
        dag = self.units.dag
        path: dict[str, float] = {}
        for m in alive:  # members are in must-precede order
            path[m] = length[m] + max(
                (path[p] for p in dag.predecessors(m) if p in path), default=0
            )
        work, longest = sum(length.values()), max(path.values())
        lead = max(self._lead_left(m, t) for m in alive)  # an open cycle still in its lead
        return lambda crews: lead + work / crews + (1 - 1 / crews) * longest + extra

    def _admit_group(self, uid: str, group: _Group) -> Proc:
        """The leader ``uid`` of ``group``: when every unit outside it that it waits for is
        done, take crews for it (as many as it has units, at most the plan's) at a time when
        the whole group fits inside one maintenance window; or dissolve it."""
        waits = [self.done[p] for p in group.outside]
        if waits:
            yield self.env.all_of(waits)
        alive = [m for m in group.members if m not in self.finished]
        most = max(1, min(self.plan.crews, len(alive)))
        # Without windows any length fits at once: the bound is never needed.
        anytime = self.cal.always_open
        while True:
            now = self.now
            bound = _no_bound if anytime else self._group_bound(group, now)
            t = self.dispatch.fits(now, bound(most))
            if t is None:
                self._dissolve(group)
                return
            if t > now:
                yield self.env.timeout(t - now)
                continue
            # as few crews as the group needs to fit from now: the others go on with other units
            crews = next(k for k in range(1, most + 1) if self.dispatch.fits(now, bound(k)) == now)
            # Gather the crews while the group still fits this window; at the last moment go
            # with the crews gathered if the group fits with them.
            latest = self._window_end(now) - bound(crews)
            self.dispatch.started(uid)
            taken = yield from self.dispatch.crews_for(uid, crews, latest, group.members)
            now = self.now
            bound = _no_bound if anytime else self._group_bound(group, now)
            fits = [k for k in range(len(taken), 0, -1) if self.dispatch.fits(now, bound(k)) == now]
            if fits:
                keep = fits[0]
                for req, crew in taken[keep:]:
                    self.dispatch.release(req, crew)
                group.held = {crew: req for req, crew in taken[:keep]}
                group.free = {crew for _, crew in taken[:keep]}
                group.started.succeed(True)
                return
            for req, crew in taken:
                self.dispatch.release(req, crew)
            t = self.dispatch.fits(now, bound(crews))
            if t is None:
                self._dissolve(group)
                return
            # the crews did not come in time: not in this window
            wait = t - now if t > now else self._window_end(now) - now
            yield self.env.timeout(max(wait, 1.0))

    def _just_in_time(self, uid: str) -> Proc:
        """The window-bound sequence admitted as a whole and run on one crew (a group's unit:
        on one of the crews taken for its group, when the group starts)."""
        group = self.group_of.get(uid)
        if group is not None:
            if uid == group.members[0] and not group.started.triggered:
                yield from self._admit_group(uid, group)
            started = yield group.started
            crew = (yield from self._group_take(uid, group)) if started else None
            if crew is not None:
                self.dispatch.started(uid)
                for rem in self.free_pre[uid]:
                    if not rem.claimed:
                        yield from self._pre_step(uid, rem, crew)
                if not self._fits_now(uid):
                    # The group's bound did not hold (the write throttle moved, a cycle's
                    # lead): the unit waits for another window alone; the group breaks up.
                    self._break(group)
                    self._group_give(group, crew)
                    crew = None
            if crew is not None:
                held = _Held(None, crew, group)
                slot = yield from self.dispatch.parallel(uid)
                yield from self._sequence(uid, held, slot)
                return
            yield from self._free_pre_steps(uid)  # the group dissolved: alone
        rems = self.shared_pre[uid]
        for rem in rems:
            rem.candidates.add(uid)
            self._signal(rem)
        while True:
            yield from self._cycle_wait(uid)
            if rems:
                # Not before it fits (a unit waiting for a later window keeps no cycle open);
                # with no cycle open, open one when the setting's change, its lead time, the
                # unit's sequence and the re-enabling fit the window from now.
                t = (
                    self.now
                    if self.cal.always_open
                    else self.dispatch.fits(self.now, self._jit_plan(uid).p_total(self.now)[2])
                )
                if t is not None and t > self.now:
                    for rem in rems:
                        rem.candidates.discard(uid)
                        self._signal(rem)
                    yield self.env.timeout(t - self.now)
                    for rem in rems:
                        rem.candidates.add(uid)
                        self._signal(rem)
                    continue
                if t is not None and any(rem.removed is None for rem in rems):
                    for rem in rems:
                        if rem.removed is None:
                            self._open(rem, uid)
                    continue
            got = yield from self.dispatch.admit(
                uid, lambda t: self._lead_left(uid, t) + self._jit_plan(uid).p_total(t)[2]
            )
            if got is None or not any(
                (rem.ready is not None and not rem.ready.triggered) or rem.removed is None
                for rem in rems
            ):
                break
            # the cycle closed, or another opened, while this unit got its crew: try again
            req, crew, slot = got
            self.dispatch.release(req, crew)
            self.dispatch.unpark(uid, slot)
        for rem in rems:
            if got is not None:
                self._join(rem, uid)
            else:
                self._leave(rem, uid)
        if got is None:
            yield from self._no_fit(uid)
            return
        req, crew, slot = got
        yield from self._sequence(uid, _Held(req, crew), slot)

    def _no_fit(self, uid: str) -> Proc:
        """Give ``uid`` up: its just-in-time sequence is longer than every window."""
        plan = self._jit_plan(uid)
        parts = ["Validate", "Prepare", "Check", "Commit"]
        if self.stopped[uid]:  # in the order they run: the VMs stop after Validate
            start_at = 6 if self.plan.restart_after == "commit" else 4
            parts = [*parts[:1], "Stop", "Deallocate", *parts[1:]]
            parts.insert(start_at, "Start")
        if plan.pres:
            parts.insert(0, "pre-steps")
        if self.involved[uid] and self.plan.remediation == "auto":
            parts.append("restores")
        what = ", ".join(parts[:-1]) + f" and {parts[-1]}"
        self._give_up(uid, self._no_window(what, plan.p_total(self.now)[2]))
        yield from self._finish(uid, None)

    def _sequence(self, uid: str, held: _Held, slot: Any) -> Proc:
        """Unit ``uid``'s window-bound sequence on the crew ``held``, which it then hands back."""
        crew = held.crew
        yield from self._cycle_wait(uid)  # a group's unit may find a cycle in its lead
        plan = self._jit_plan(uid)
        self.rest[uid] = plan.rest
        self.planned[uid] = {id(rem) for rem in plan.after}
        p_eff, c_eff, _ = plan.p_total(self.now)
        for rem in plan.pres:
            rem.claimed = True
            self._epoch += 1
        if self.bucket is not None:
            self.pending[uid] = plan.takes(self.now, p_eff)
            self._pending_changed(uid)
        if plan.cycles:  # a group's unit: no cycle open, it opens one and waits out the lead
            for rem in plan.cycles:
                self._open(rem, uid)
            yield from self._cycle_wait(uid)
        for rem in self.shared_pre[uid]:
            self._join(rem, uid)
        for rem in plan.pres:
            yield from self._pre_step(uid, rem, crew)
        if plan.lead > 0:
            yield self.env.timeout(plan.lead)
        yield from self._steps(uid, held, slot, p_eff, c_eff)

    def _steps(self, uid: str, held: _Held, slot: Any, p_eff: float, c_eff: float) -> Proc:
        """Validate to Commit on the crew ``held`` (``p_eff``, ``c_eff``: the first Prepare's
        and Commit's minutes fixed at admission), then the post-steps; the crew goes back."""
        ok: bool | None = None
        if self._straight_on and not self.at_prepare[uid] and not self._fails_first(uid):
            ok = yield from self._straight(uid, held, float(self.env.now), p_eff, c_eff)
        if ok is None:
            ok = yield from self._validate(uid, held)
            if ok:
                # the crew stays with its unit through Check (it runs the checks)
                ok = yield from self._prepare_and_check(uid, held, p_eff)
            else:
                self._taken(uid)
            if ok:
                ok = yield from self._commit(uid, held, c_eff)
            elif self.state[uid].attempts["prepare"]:
                self._taken(uid)  # the Commit's writes were never taken
        self.dispatch.unpark(uid, slot)
        if ok:
            self._committed(uid)
        yield from self._finish(uid, held)
        self._let_go(held)
        self._member_done(uid)

    def _ahead(self, uid: str) -> Proc:
        """The sequence step by step: a crew per step, Prepare when one is free, Commit when it
        fits a window (the unit waits Prepared)."""
        ok = yield from self._validate(uid, None)
        slot = None
        if ok:
            slot = yield from self.dispatch.parallel(uid)
            ok = yield from self._prepare_and_check(uid, None, None)
        if ok:
            ok = yield from self._commit(uid, None, None)
        self.dispatch.unpark(uid, slot)
        if ok:
            self._committed(uid)
        yield from self._finish(uid, None)

    def _committed(self, uid: str) -> None:
        st = self.state[uid]
        st.status = "committed"
        self._epoch += 1
        self.done[uid].succeed(True)
        for rem in self.commit_open[uid]:
            kind = rem.remedy.kind
            assert kind is not None
            for r in rem.targets:
                if self.units.unit_of.get(r, uid) == uid:
                    self._open_window(("remedy", rem.key, r), r, kind, self._rem_cause(rem, uid))

    def _validate(self, uid: str, held: _Held | None) -> Proc:
        u = self.by_id[uid]
        tries = self.plan.failures.max_attempts
        for attempt in range(1, tries + 1):
            minutes = self._draw(uid, "validate", u.vm_count, attempt)
            if held is None:
                req, crew = yield from self.dispatch.crew(uid)
                self.dispatch.started(uid)
            else:
                req, crew = held.req, held.crew
            self.state[uid].attempts["validate"] = attempt
            fail = self.sampler.fails(self.plan.failures.validate_, uid, "validate", attempt)
            yield from self._run(uid, "validate", minutes, crew, attempt, fail)
            if held is None:
                self.dispatch.release(req, crew)
            if not fail:
                return True
        self._give_up(uid, f"Validate failed {plural(tries, 'time')} (plan.failures.max_attempts)")
        return False

    def _prepare_and_check(self, uid: str, held: _Held | None, planned: float | None) -> Proc:
        """Prepare (:meth:`_prepare`), then Check (:meth:`_check`); a Check that finds a problem
        is aborted and the unit prepared again, a new attempt. True once a Check passed."""
        tries = self.plan.failures.max_attempts
        attempt, after = 1, "a failed Prepare"
        while True:
            ok = yield from self._prepare(uid, held, planned, attempt, after)
            if not ok:
                return False
            attempt = self.state[uid].attempts["prepare"]
            if self.replay is not None and self._operator_aborts(uid, attempt, True):
                ok, after = False, "the operator's Abort"
                yield from self._abort_by_operator(uid, held, attempt)
            else:
                ok = yield from self._check(uid, held, attempt)
                after = "the Check found a problem"
                if ok and self.replay is not None and self._operator_aborts(uid, attempt, False):
                    ok, after = False, "the operator's Abort"
                    yield from self._abort_by_operator(uid, held, attempt)
            if ok:
                return True
            if attempt == tries:
                if after == "the operator's Abort":
                    self._give_up(
                        uid,
                        f"aborted by the operator after Prepare attempt {attempt}, the last"
                        " (plan.failures.max_attempts)",
                    )
                else:
                    self._give_up(uid, self._spent(uid))
                return False
            attempt += 1

    def _operator_aborts(self, uid: str, attempt: int, before_check: bool) -> bool:
        """A replan's Abort of the Prepared unit ``uid`` that no failure called for: the
        actuals show one after Prepare attempt ``attempt`` (before its Check when they show
        no Check of it), or ``--advise`` tries one at the first step boundary from now."""
        replay = self.replay
        assert replay is not None
        if self._no_way_back(uid) is not None:
            return False
        if (uid, "abort", attempt) in replay.steps:
            if before_check and (uid, "check", attempt) in replay.steps:
                return False
            # Aborted to be left for later, as --advise means it: no new Prepare before this
            # window's end, unless the actuals show one.
            if (uid, "prepare", attempt + 1) not in replay.steps and not self.cal.always_open:
                self._defer[uid] = self._window_end(replay.steps[uid, "abort", attempt].start)
            return True
        if (
            uid in replay.aborts
            and uid not in self._operator_aborted
            and self.now >= replay.now - EPS
        ):
            self._operator_aborted.add(uid)
            return True
        return False

    def _abort_by_operator(self, uid: str, held: _Held | None, attempt: int) -> Proc:
        """The operator aborts the Prepared unit ``uid`` (:meth:`_operator_aborts`): the lock
        ends, stopped VMs start again; the unit prepares again as the plan (or the actuals) say,
        not before its deferral (``Replay.deferred``)."""
        why = "aborted by the operator"
        if held is not None:
            yield from self._abort(uid, held.crew, attempt, why)
        else:
            req, crew = yield from self.dispatch.crew(uid)
            yield from self._abort(uid, crew, attempt, why)
            self.dispatch.release(req, crew)

    def _prepare(
        self,
        uid: str,
        held: _Held | None,
        planned: float | None,
        first: int = 1,
        after: str = "a failed Prepare",
    ) -> Proc:
        """Prepare attempts from ``first`` until one succeeds (Stop and Deallocate before it and
        Start after it for VMs the platform stops); ``after``: what ended the attempt before
        ``first`` (said when pre-steps are undone).

        A failed Prepare is retried as it is after ``plan.failures.retry_after``
        (``after_prepare: retry``, the platform's steps are idempotent): the lock stays open, the
        stopped VMs stay stopped, the crew stays, no Stop or Start between the attempts. That
        holds while the retry and the rest of the sequence still fit the window
        (:meth:`_retries_in_place`); else, and always with ``after_prepare: abort``, the unit is
        aborted and the next attempt starts over (:meth:`_begin_prepare`: just in time, in the
        next window when the rest no longer fits this one). A blocker caught at Prepare and the
        last attempt are aborted and the unit is given up."""
        u = self.by_id[uid]
        st = self.state[uid]
        n = len(self.stopped[uid])
        restart_commit = self.plan.restart_after == "commit"
        forced = self.at_prepare[uid]
        writes = self._writes(uid)
        tries = self.plan.failures.max_attempts
        in_place = False  # this attempt retries the failed one as it is
        req: Any = None
        crew = -1
        for attempt in range(first, tries + 1):
            d_prep = self._draw(uid, "prepare", u.vm_count, attempt)
            if in_place:
                # "retry the operation": locked, VMs stopped, on the same crew
                yield self.env.timeout(self.plan.failures.retry_after)
                st.attempts["prepare"] = attempt
                self.locks[uid] = (self.locks[uid][0], f"{self._lock_span(uid)} to Commit")
            else:
                got = yield from self._begin_prepare(uid, held, attempt, d_prep, after)
                if got is None:
                    return False
                req, crew = got
            if planned is not None and attempt == 1:
                d_eff = planned  # fixed when the unit was admitted
                self._taken(uid, 0)
            else:
                d_eff = self._throttled(d_prep, writes, self.now)
            self._take_writes(writes, d_prep, d_eff)
            fail = bool(forced and attempt == 1) or self.sampler.fails(
                self.plan.failures.prepare, uid, "prepare", attempt
            )
            yield from self._run(uid, "prepare", d_eff, crew, attempt, fail)
            if not fail:
                if n and not restart_commit:
                    yield from self._run(
                        uid, "start", self._draw(uid, "start", n, attempt), crew, attempt
                    )
                    self._start_vms(uid)
                if held is None:
                    self.dispatch.release(req, crew)
                return True
            st.prepare_failures += 1
            final = self._no_way_back(uid)
            if final is not None and (forced or attempt == tries):
                if held is None:
                    self.dispatch.release(req, crew)
                what = (
                    f"blocked at Prepare by {forced[0].rule}: {forced[0].message}"
                    if forced
                    else f"Prepare failed {plural(tries, 'time')} (plan.failures.max_attempts)"
                )
                self._stuck(uid, what, final)
                return False
            # No Abort once a final pre-step has run: the retry goes ahead in place even when
            # the rest no longer fits the window (the lock and the outage run on).
            in_place = (
                not forced
                and attempt < tries
                and (final is not None or self._retries_in_place(uid, held, attempt + 1))
            )
            if in_place:
                continue
            why = f"caught at Prepare: {forced[0].rule}" if forced else "Prepare failed"
            yield from self._abort(uid, crew, attempt, why)
            if held is None:
                self.dispatch.release(req, crew)
            if forced:
                rules = [f.rule for f in forced]
                self._give_up(
                    uid,
                    f"blocked at Prepare by {', '.join(dict.fromkeys(rules))}:"
                    f" {forced[0].message}; aborted",
                    rules,
                )
                return False
            if attempt == tries:
                self._give_up(uid, self._spent(uid))
                return False
            after = "a failed Prepare"
        return False  # pragma: no cover - the loop always returns

    def _begin_prepare(
        self, uid: str, held: _Held | None, attempt: int, d_prep: float, after: str
    ) -> Proc:
        """Prepare attempt ``attempt`` from the start: a crew and a window for it, the lock,
        Stop and Deallocate. Returns ``(request, crew)``, or ``None`` (the unit given up) when no
        window is long enough.

        Step by step (``held`` None): a crew, and a start at which Stop, Deallocate, Prepare and
        Start fit a window. Just in time, after an Abort (attempt > 1): the rest of the sequence
        must fit the window again, or the unit undoes its own pre-steps and waits (unlocked,
        without its crew) for the next one."""
        u = self.by_id[uid]
        n = len(self.stopped[uid])
        restart_commit = self.plan.restart_after == "commit"
        writes = self._writes(uid)
        d_stop = self._draw(uid, "stop", n, attempt) if n else 0.0
        d_deall = self._draw(uid, "deallocate", n, attempt) if n else 0.0
        d_start = self._draw(uid, "start", n, attempt) if n else 0.0
        refit: Callable[[float], float] | None = None
        undone: list[_Rem] = []
        deferred = 0.0
        if self.replay is not None:
            deferred = max(self.replay.deferred.get(uid, 0.0), self._defer.get(uid, 0.0))
        if held is not None and attempt > 1:
            tail = (0.0 if restart_commit else d_start) + self.plan.check
            tail += self._draw(uid, "commit", u.vm_count, 1) + self.rest.get(uid, 0.0)
            tail += d_start if restart_commit else 0.0
            refit = self._block(d_stop + d_deall, d_prep, tail, writes)
            if self.dispatch.fits(self.now, refit(self.now)) == self.now and deferred <= self.now:
                refit = None
            else:
                undone = self._undo_for_later(uid)
                again = sum(self._rem_minutes(rem, "remediate", uid) for rem in undone)
                refit = self._with_cycles(uid, self._block(again, 0.0, 0.0, 0.0, refit))
        if held is not None and refit is None:
            req, crew = held.req, held.crew
        else:
            total: Callable[[float], float] | None = None
            if held is not None:
                total = refit
                # No gateway stays removed, no ACL off, for the week the unit waits:
                # its pre-steps are undone now and done again in its next window.
                for rem in sorted(undone, key=lambda m: RESTORE_ORDER.get(m.remedy.kind or "", 99)):
                    yield from self._post_step(
                        uid,
                        rem,
                        held.crew,
                        attempt - 1,
                        f"undone while the unit waits for its next window after {after}",
                    )
                    rem.removed = rem.restored = None
                    rem.claimed = False
                    self._epoch += 1
                yield from self._leave_cycles(uid, held)
                self._let_go(held, waiting=True)
            elif n:
                tail = d_start
                if restart_commit:
                    tail += self.plan.check + self._draw(uid, "commit", u.vm_count, 1)
                total = self._block(d_stop + d_deall, d_prep, tail, writes)
            if deferred > self.now:  # left for later by the operator (replan --advise)
                yield self.env.timeout(deferred - self.now)
            got = yield from self.dispatch.slot(uid, total)
            if got is None:
                assert total is not None
                what = "Stop, Deallocate, Prepare" + (
                    ", Check, Commit and Start" if restart_commit else " and Start"
                )
                if held is not None:
                    held.req, held.crew = yield from self.dispatch.crew(uid)
                self._give_up(uid, self._no_window(what, total(self.now)))
                return None
            req, crew = got
            if held is not None:
                held.req, held.crew = req, crew
                yield from self._rejoin_cycles(uid, held)
                for rem in undone:  # gaps first, outages last, as before Validate
                    yield from self._pre_step(uid, rem, crew, attempt)
        st = self.state[uid]
        st.attempts["prepare"] = st.locked_at = attempt
        self._lock(uid, f"Prepare attempt {attempt} to Commit")
        if n:
            self._stop_vms(uid, _stop_cause(u.kind))
            yield from self._run(uid, "stop", d_stop, crew, attempt)
            yield from self._run(uid, "deallocate", d_deall, crew, attempt)
        return req, crew

    def _retries_in_place(self, uid: str, held: _Held | None, attempt: int) -> bool:
        """Whether Prepare attempt ``attempt`` retries the failed one as it is
        (``after_prepare: retry``): when, after ``retry_after``, it and what must follow it in
        the same window still fit that window. Just in time that is the rest of the sequence
        (Start, Check, Commit, the post-steps); step by step, the VMs' downtime (Start, and
        Check and Commit with ``restart_after: commit``), nothing when the unit stops no VM.
        Else the operator aborts rather than leave the unit locked (and its VMs down) until the
        next window. In a replan's past the actuals decide: a retry they show with no Abort
        before it was retried in place, whatever the durations known since say."""
        failures = self.plan.failures
        shown = self._actual_choice(uid, "prepare", attempt, ("abort", attempt - 1))
        if shown is not None:
            return shown
        if failures.after_prepare != "retry":
            return False
        n = len(self.stopped[uid])
        if held is None and not n:
            return True
        u = self.by_id[uid]
        d_prep = self._draw(uid, "prepare", u.vm_count, attempt)
        tail = self._draw(uid, "start", n, attempt) if n else 0.0
        then = self.plan.check + self._draw(uid, "commit", u.vm_count, 1)
        if held is not None:
            tail += then + self.rest.get(uid, 0.0)
        elif self.plan.restart_after == "commit":
            tail += then
        total = self._block(failures.retry_after, d_prep, tail, self._writes(uid))
        return self.dispatch.fits(self.now, total(self.now)) == self.now

    def _check(self, uid: str, held: _Held | None, attempt: int) -> Proc:
        """The Check of the Prepared unit (just in time the crew stays through it; step by step
        it holds none). With ``plan.failures.check`` it finds a problem: the operator aborts
        (:meth:`_abort`) and the unit is prepared again. True when the Check passed."""
        fail = self.sampler.fails(self.plan.failures.check, uid, "check", attempt)
        crew = held.crew if held is not None else None
        yield from self._run(uid, "check", self.plan.check, crew, attempt, fail)
        if not fail:
            return True
        self.state[uid].check_failures += 1
        if self._no_way_back(uid) is not None:
            return True  # no Abort possible: the problem is fixed forward, Commit follows
        if held is not None:
            yield from self._abort(uid, held.crew, attempt, "the Check found a problem")
        else:
            req, crew = yield from self.dispatch.crew(uid)
            yield from self._abort(uid, crew, attempt, "the Check found a problem")
            self.dispatch.release(req, crew)
        return False

    def _abort(self, uid: str, crew: int, attempt: int, why: str) -> Proc:
        """Abort the Prepared unit after Prepare attempt ``attempt``: the lock ends, and the VMs
        the platform stopped (still down) start again."""
        u = self.by_id[uid]
        yield from self._run(
            uid, "abort", self._draw(uid, "abort", u.vm_count, attempt), crew, attempt
        )
        self._unlock(uid, f"{self._lock_span(uid)} to Abort ({why})")
        stopped = self.stopped[uid]
        if any(("down", uid, node_id("vm", vm)) in self.open for vm in stopped):
            d_start = self._draw(uid, "start", len(stopped), attempt)
            yield from self._run(uid, "start", d_start, crew, attempt)
            self._start_vms(uid)

    def _lock_span(self, uid: str) -> str:
        """The Prepare attempts the open lock covers: ``Prepare attempt 2``, or ``Prepare
        attempts 1-3`` when failed Prepares were retried as they are."""
        st = self.state[uid]
        first, last = st.locked_at, st.attempts["prepare"]
        return f"Prepare attempt {last}" if first == last else f"Prepare attempts {first}-{last}"

    def _spent(self, uid: str) -> str:
        """Why a unit whose Prepare attempts are all spent is not migrated."""
        st = self.state[uid]
        tries = self.plan.failures.max_attempts
        failed, found = st.prepare_failures, st.check_failures

        if not found:
            what = f"Prepare failed {plural(failed, 'time')}"
        elif not failed:
            what = f"Check found a problem {plural(found, 'time')}"
        else:
            what = (
                f"Prepare failed {plural(failed, 'time')} and the Check found a problem"
                f" {plural(found, 'time')}"
                f" in {tries} attempts"
            )
        return f"{what} (plan.failures.max_attempts); aborted"

    def _commit(self, uid: str, held: _Held | None, planned: float | None) -> Proc:
        u = self.by_id[uid]
        st = self.state[uid]
        n = len(self.stopped[uid])
        restart_commit = self.plan.restart_after == "commit" and n > 0
        prep_attempt = st.attempts["prepare"]
        d_start = self._draw(uid, "start", n, prep_attempt) if restart_commit else 0.0
        writes = self._writes(uid)
        tries = self.plan.failures.max_attempts
        for attempt in range(1, tries + 1):
            if attempt > 1 and self.plan.failures.retry_after > 0:
                # "retry the operation after a short time" (plan.failures.retry_after)
                yield self.env.timeout(self.plan.failures.retry_after)
            d_commit = self._draw(uid, "commit", u.vm_count, attempt)
            if held is not None:
                d_first = planned if planned is not None and attempt == 1 else d_commit
                rest = d_start + self.rest.get(uid, 0.0)
                # A unit that cannot be aborted commits at once, past the window if need be:
                # it is not left locked (its domain services out) until the next window.
                if (
                    self._no_way_back(uid) is None
                    and self.dispatch.fits(self.now, d_first + rest) != self.now
                    and not self._actual_choice(uid, "commit", attempt)
                ):
                    # After a failure the Commit no longer fits this window: the unit waits
                    # Prepared, without its crew, for the next one (every Commit in a window).
                    yield from self._leave_cycles(uid, held)
                    self._let_go(held, waiting=True)
                    if planned is not None:
                        self._taken(uid)  # no longer the admitted plan's Commit
                        planned = None
                    total = self._with_cycles(uid, self._block(0.0, d_commit, rest, writes))
                    got = yield from self.dispatch.slot(uid, total)
                    if got is None:
                        held.req, held.crew = yield from self.dispatch.crew(uid)
                    else:
                        held.req, held.crew = got
                    yield from self._rejoin_cycles(uid, held)
            if held is None:
                total = self._block(0.0, d_commit, d_start, writes)
                got = yield from self.dispatch.slot(uid, total)
                if got is None:
                    what = "Commit" + (" and Start" if restart_commit else "")
                    reason = self._no_window(what, total(self.now))
                    if attempt > 1:
                        st.locked_for_good = True
                        self._epoch += 1
                        self._give_up(
                            uid,
                            f"{reason}; a failed Commit cannot be aborted: the unit stays locked",
                        )
                        return False
                    final = self._no_way_back(uid)
                    if final is not None:
                        self._stuck(uid, reason, final)
                        return False
                    req, crew = yield from self.dispatch.crew(uid)
                    yield from self._abort(uid, crew, prep_attempt, "no window for Commit")
                    self.dispatch.release(req, crew)
                    self._give_up(uid, f"{reason}; aborted")
                    return False
                req, crew = got
            else:
                req, crew = held.req, held.crew
            st.attempts["commit"] = attempt
            if planned is not None and attempt == 1:
                d_eff = planned
                self._taken(uid)
            else:
                d_eff = self._throttled(d_commit, writes, self.now)
            self._take_writes(writes, d_commit, d_eff)
            fail = self.sampler.fails(self.plan.failures.commit, uid, "commit", attempt)
            yield from self._run(uid, "commit", d_eff, crew, attempt, fail)
            if fail:
                if held is None:
                    self.dispatch.release(req, crew)
                if attempt == tries:
                    st.locked_for_good = True
                    self._epoch += 1
                    self._give_up(
                        uid,
                        f"Commit failed {plural(tries, 'time')} (plan.failures.max_attempts);"
                        " a failed Commit cannot be aborted: the unit stays locked (needs support)",
                    )
                    return False
                continue
            st.commit_end = self.now
            self._unlock(uid, f"{self._lock_span(uid)} to Commit")
            if restart_commit:
                yield from self._run(uid, "start", d_start, crew, prep_attempt)
                self._start_vms(uid)
            if held is None:
                self.dispatch.release(req, crew)
            return True
        return False  # pragma: no cover

    # ---- the run --------------------------------------------------------------------------------

    def _run_to_end(self) -> tuple[float, float | None, int]:
        """Run every unit to its end (or the horizon) and close what is still open; returns
        the horizon, the minute the horizon stopped the run (``None``: it did not) and how many
        windows were still open."""
        plain = self.plain
        for uid in self.order:
            self.env.process(self._plain_unit(uid) if uid in plain else self.unit_process(uid))
        limit = self.plan.horizon
        self.env.run(until=limit)
        if self.replay is not None:
            self._check_replay()
        stuck = [uid for uid in self.order if self.state[uid].status == "pending"]
        stopped = None
        if stuck:
            if self.env.peek() == math.inf:
                # Nothing left to happen before the horizon, yet units wait: a bug, never an
                # input; fail loudly rather than report them half-done.
                raise RuntimeError(f"the engine left units waiting forever: {', '.join(stuck[:5])}")
            # The horizon stopped the run with work still to do: those units are not finished.
            stopped = limit
            reason = f"{NOT_FINISHED} ({format_minutes(limit)} from the start)"
            for uid in stuck:
                st = self.state[uid]
                st.status = "not_migrated"
                self._epoch += 1
                st.reason = reason
                self._not_migrated(uid, limit)
        # The last event, not the clock: a cycle's unneeded deadline may have moved the clock on.
        # A run the horizon stopped ends there: what is still open stays open to it.
        horizon = (
            limit
            if stopped is not None
            else max(
                max((e.time for e in self.events), default=self.last_event),
                max((w.end for w in self.closed), default=0.0),
                max((end for _, end, _ in self.lock_spans), default=0.0),
            )
        )
        open_count = len(self.open) + sum(len(self.rows[uid]) for uid in self.locks)
        for uid in list(self.locks):
            # Named from its first Prepare on: no Commit ended it, whatever it was opened for.
            self._unlock(
                uid, f"from {self._lock_span(uid)} (still open at the end of the run)", at=horizon
            )
        for key in list(self.open):
            w = self.open[key]
            self._close_window(key, f"{w.cause} (still open at the end of the run)", at=horizon)
        # The remembered plans' closures refer back to this object: a cycle that, made while
        # the collector is paused, only a full collection would find. Dropped here, the
        # replication is freed by reference counting as soon as it is done.
        self._fixed_plans.clear()
        self._plans.clear()
        return horizon, stopped, open_count

    def _check_replay(self) -> None:
        """Raise :class:`ReplayMismatch` for the first actual step the plan did not reproduce
        (in the actuals' order), or one it never ran."""
        assert self.replay is not None
        missed = [
            ReplayMismatch(
                key,
                a.where,
                "the plan never runs it (under the plan that step does not"
                " come next, or the unit is not migrated)",
                a.seq,
            )
            for key, a in self.replay.steps.items()
            if key not in self._replayed
        ]
        found = self._mismatches + missed
        if found:
            raise min(found, key=lambda m: m.seq)

    def tally(self) -> Tally:
        """Run the environment to the end; what a platform built with ``record=False`` kept:
        the replication's :class:`~sim.outputs.records.Tally` (the same row figures as
        :meth:`run`'s record)."""
        if self.record:
            raise ValueError("tally() is for a platform built with record=False")
        horizon = self._run_to_end()[0]
        return Tally(
            seed=self.plan.seed,
            makespan=self.last_step,
            windows=tuple(sorted(self.closed, key=_WINDOW_ORDER)),
            lock_spans=tuple(sorted(self.lock_spans)),
            failed_attempts=self.failed_attempts,
            units_not_migrated=sum(st.status != "committed" for st in self.state.values()),
            units_needing_support=sum(st.locked_for_good for st in self.state.values()),
            maintenance=self._maintenance(horizon),
            commits=tuple(
                (uid, st.commit_end)
                for uid in self.order
                if (st := self.state[uid]).status == "committed" and st.commit_end is not None
            ),
        )

    def _maintenance(self, horizon: float) -> tuple[tuple[float, float], ...]:
        return tuple(
            (max(a, 0.0), min(b, horizon))
            for a, b in self.cal.intervals(0.0, horizon)
            if b > 0.0 and a < horizon
        )

    def run(self) -> Replication:
        """Run the environment to the end and return the replication's records."""
        if not self.record:
            raise ValueError("run() is for a platform built with record=True; see tally()")
        horizon, stopped, open_count = self._run_to_end()
        windows = sorted(self.closed, key=_WINDOW_ORDER)
        outcomes = []
        for uid in self.order:
            u, st = self.by_id[uid], self.state[uid]
            outcomes.append(
                UnitOutcome(
                    unit=uid,
                    kind=u.kind,
                    vms=u.vm_count,
                    status="committed" if st.status == "committed" else "not_migrated",
                    first_start=st.first_start,
                    commit_end=st.commit_end,
                    end=st.end,
                    validate_attempts=st.attempts["validate"],
                    prepare_attempts=st.attempts["prepare"],
                    commit_attempts=st.attempts["commit"],
                    reason=st.reason,
                    rules=st.rules,
                    needs_support=st.locked_for_good,
                )
            )
        committed = {uid for uid in self.order if self.state[uid].status == "committed"}
        tasks = [
            PostTask(
                unit=f.unit,
                rule=f.rule,
                resources=tuple(f.resources),
                task=f.remediation,
                done_at=rem.restored if (rem := self.rem_of.get(idx)) is not None else None,
            )
            for idx, f in enumerate(self.findings)
            if f.severity == "dropped" and f.unit in committed
        ]
        maintenance = self._maintenance(horizon)
        return Replication(
            seed=self.plan.seed,
            deterministic=self.sampler.deterministic,
            origin=self.plan.start,
            horizon=horizon,
            order=tuple(self.order),
            windows=tuple(windows),
            events=tuple(self.events),
            outcomes=tuple(outcomes),
            post_tasks=tuple(tasks),
            maintenance=maintenance,
            throttle_minutes=self.throttle_minutes,
            open_windows=open_count,
            stopped_at=stopped,
        )
