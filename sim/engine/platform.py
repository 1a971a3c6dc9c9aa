"""The platform's mechanics: what each step of a unit does, and what it records.

:class:`Platform` runs every unit through the platform's steps in one SimPy environment and keeps
the records (windows, events, outcomes). It makes no scheduling choice of its own: when a unit
begins and which unit's step gets a free crew are the operator's policy, asked of a
:class:`~sim.engine.dispatch.Dispatch` (:mod:`sim.engine.dispatch`).
:func:`sim.engine.simulation.simulate` wires the two together.

The model (times in minutes from the plan's start; see :mod:`sim.model.calendar` for the clock)
---------------------------------------------------------------------------------------------
**One process per unit.** A unit starts once every predecessor in ``units.dag`` has committed
(``before`` commits before ``after`` starts); when a predecessor is not migrated, neither is the
unit ("waits for X"). A unit of a wave (``plan.waves``) with a ``not_before`` does not start
before it (:func:`sim.model.ordering.wave_starts`), whatever the ordering; within that, the
dispatch policy decides when it begins (:meth:`~sim.engine.dispatch.Dispatch.begin`). Its steps,
in order:

1. remediation pre-steps, only with ``plan.remediation: auto``: one ``remediate`` step per
   ``remediate`` finding of the unit whose remediation has a pre-step (table :data:`REMEDIES`);
2. Validate (retried on failure);
3. Prepare. For a unit that stops VMs (a cloud service not in a VNet; with
   ``plan.future_support`` also the cloud services of MIG002/MIG003 findings) the platform's
   Stop and Deallocate run first, inside Prepare, and Start follows Prepare when
   ``plan.restart_after`` is ``prepare``. A failed Prepare is aborted (Abort, then Start for the
   stopped VMs) and retried from the beginning;
4. Check: ``plan.check`` minutes in the Prepared state, no crew;
5. Commit (Start after it when ``restart_after`` is ``commit``). A failed Commit cannot be
   aborted: it is retried;
6. remediation post-steps (``restore``), after the unit has committed; the re-peering of MIG014
   waits until both VNets of the peering have committed.

**Shared limits.**
- Crews: ``plan.crews``, handed out by the dispatch policy (:mod:`sim.engine.dispatch`; the
  policy the engine runs gives them to units in the order's priority). A step holds one crew while
  it runs; the Stop-Deallocate-Prepare(-Start) sequence is one platform operation and holds one
  crew throughout; Prepare failure and its Abort too. Check holds none.
- One operation at a time per unit (a ``Resource(1)`` per unit: the platform serialises changes
  per cloud service and per VNet): the main sequence holds it from the first pre-step to the end
  of Commit, and each post-step holds it while it runs.
- The Resource Manager write throttle (``plan.write_limit_per_hour``; ``None`` switches it off)
  is a token bucket holding at most one hour of writes, full at time 0 and refilled continuously.
  Each Prepare and each Commit attempt costs ``plan.writes_per_vm`` per VM of the unit plus
  ``plan.writes_per_resource`` per other resource (assumptions, see :mod:`sim.model.plan`). The
  writes are taken when the step starts; a step whose writes exceed what the bucket holds lasts at
  least until the bucket has refilled the shortfall (the bucket may go below zero, so later steps
  wait their turn): big VNets get longer Prepares and Commits (MIG028).
- Maintenance windows: Commit, and for units that stop VMs the whole Stop-Deallocate-Prepare-Start
  sequence (with ``restart_after: commit``: Stop to the Start after Commit, Check included), wait
  until they fit entirely inside one window (:meth:`~sim.engine.dispatch.Dispatch.slot`); the
  sampled durations are known before the step starts (a planner knows how long their windows are,
  not when a step will fail). A sequence longer than every window: the unit is not migrated and the
  reason says so (no endless waiting). Each Commit attempt is fitted again when it starts: a Commit
  that misses its window (crews busy, a failed attempt) waits for the next one, with
  ``restart_after: commit`` VMs still down. A Commit that fits no window after a successful Prepare
  is aborted first.

**Failures.** Each attempt of Validate, Prepare and Commit fails with the plan's probability
(``plan.failures``), drawn from the failures stream. After ``plan.failures.max_attempts``
attempts of one step the unit is not migrated; when that step is Commit, the unit stays locked
(its management window stays open to the end of the run, as on the platform where a failed
Commit cannot be aborted). Blockers caught at Prepare (``caught_at == "prepare"``: MIG011,
MIG029, and MIG010 when the plan runs no remediation) pass Validate, fail the first Prepare,
are aborted and are listed as not migrated; other blockers are not scheduled at all. A unit
that is not migrated after its pre-steps ran rolls them back (``restore`` steps) so the windows
they opened close.

**Windows** (:class:`~sim.outputs.records.Window`):
- ``management``: every resource of the unit, from Prepare start (Stop start for units that stop
  VMs: Stop and Deallocate are part of Prepare) to the end of Commit or Abort, once per attempt;
- ``data``: every stopped VM, from the start of Stop to the end of Start. VMs in a VNet get no
  data window from the migration itself ("applications ... do not incur downtime");
- the windows the remediations open, per :data:`REMEDIES` (``rules.md``, last column): from the
  end of the pre-step (the setting removed) or from the end of Commit (MIG017 monitoring, MIG030
  transit connectivity) to the end of the post-step. Without ``remediation: auto`` no post-step
  runs and a window opened at Commit stays open to the end of the run.
A window still open at the end of the run ends at the run's last event and its cause says so.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import simpy

from sim.common.timeparse import format_minutes
from sim.engine.dispatch import Dispatch, Proc
from sim.engine.remedies import REMEDIES, Remedy, resource_type, short_name
from sim.engine.sampling import Sampler
from sim.engine.throttle import TokenBucket
from sim.model.calendar import Calendar
from sim.model.estate import Estate
from sim.model.graph import node_id
from sim.model.ordering import wave_starts
from sim.model.plan import Plan
from sim.model.rules import FUTURE_SUPPORT_RULES, Finding
from sim.model.units import MigrationUnits, Unit
from sim.outputs.records import Event, PostTask, Replication, UnitOutcome, Window

_WINDOW_ORDER = operator.itemgetter(4, 5, 0, 3, 2)
"""A window's sort key: start, end, resource, kind, unit (fields of :class:`Window`)."""


@dataclass
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
    pre_done: list[int] = field(default_factory=list)
    locked_for_good: bool = False  # a failed Commit: no rollback, the lock stays


@dataclass
class _Open:
    resource: str
    unit: str
    kind: str
    start: float
    cause: str


@dataclass
class _Pair:
    """One VNet peering (MIG014): who removed it, who has re-created their end."""

    vnets: tuple[str, str]
    removers: set[int] = field(default_factory=set)
    restored: set[int] = field(default_factory=set)
    open: bool = False


class WindowFit:
    """``Calendar.earliest_fit``, remembered: units re-ask the same question while they wait.

    ``fit(t, minutes)`` is the earliest time from ``t`` at which ``minutes`` fit inside one
    maintenance window, or ``None`` when no window is that long (:data:`~sim.engine.dispatch.Fits`).
    """

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self.cache: dict[tuple[float, float], float | None] = {}

    def __call__(self, t: float, minutes: float) -> float | None:
        key = (t, minutes)
        if key in self.cache:
            return self.cache[key]
        fit = self.cache[key] = self.calendar.earliest_fit(t, minutes)
        return fit


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
        self.sampler = Sampler(plan.seed, deterministic=deterministic)
        self.cal = Calendar(plan.maintenance_windows, plan.start)
        self.env = env
        # The policy gets the window fit, not this object: no reference cycle, so a finished
        # replication is freed at once rather than by the collector.
        self.dispatch = policy(env, plan.crews, self.order, WindowFit(self.cal))
        self.ops = {uid: simpy.Resource(self.env, capacity=1) for uid in self.order}
        self.done = {uid: self.env.event() for uid in self.order}
        self.bucket = (
            TokenBucket(float(plan.write_limit_per_hour))
            if plan.write_limit_per_hour is not None
            else None
        )
        self.state = {uid: _UnitState() for uid in self.order}
        self.not_before = wave_starts(units, plan)
        self.events: list[Event] = []
        self.closed: list[Window] = []
        self.open: dict[tuple[Any, ...], _Open] = {}
        self.locks: dict[str, tuple[float, str]] = {}  # unit -> (Prepare start, cause)
        self.rows = units.resource_rows
        self.throttle_minutes = 0.0
        self.post_done: dict[int, float] = {}
        self._lifted: dict[str, list[Finding]] | None = None
        self._cs_index: dict[str, int] = {}
        self._setup_findings()
        self._prefetch()

    # ---- findings -> what each unit does -------------------------------------------------------

    def _setup_findings(self) -> None:
        auto = self.plan.remediation == "auto"
        self.early: dict[str, list[Finding]] = {uid: [] for uid in self.order}
        self.at_prepare: dict[str, list[Finding]] = {uid: [] for uid in self.order}
        self.pre: dict[str, list[int]] = {uid: [] for uid in self.order}
        self.commit_open: dict[str, list[int]] = {uid: [] for uid in self.order}
        self.targets: dict[int, tuple[str, ...]] = {}
        self.step_key: dict[int, str] = {}
        self.pairs: dict[int, list[frozenset[str]]] = {}
        self.pair_state: dict[frozenset[str], _Pair] = {}
        seen_keys: dict[str, int] = {}
        for idx, f in enumerate(self.findings):
            if f.unit not in self.by_id:
                raise ValueError(f"finding {f.rule} names unknown unit {f.unit!r}")
            if f.blocks(self.plan):
                (self.at_prepare if f.caught_at == "prepare" else self.early)[f.unit].append(f)
                continue
            remedy = REMEDIES.get(f.rule)
            if remedy is None:
                continue
            targets = self._targets(f, remedy)
            if f.rule == "MIG010" and not targets:
                continue  # same subscription: the ordering is the whole remediation
            self.targets[idx] = targets
            subject = targets[0] if targets else (f.resources or (self.by_id[f.unit].root,))[0]
            base = f"{f.rule}:{subject}"
            seen_keys[base] = seen_keys.get(base, 0) + 1
            self.step_key[idx] = base if seen_keys[base] == 1 else f"{base}#{seen_keys[base]}"
            if remedy.pre and f.severity == "remediate" and auto:
                self.pre[f.unit].append(idx)
            elif remedy.opens == "commit" and remedy.kind is not None:
                self.commit_open[f.unit].append(idx)
            if f.rule == "MIG014":
                own = self.by_id[f.unit].root
                pairs = [frozenset((own, t)) for t in targets if t != own]
                self.pairs[idx] = pairs
                for p in pairs:
                    a, b = sorted(p)
                    self.pair_state.setdefault(p, _Pair((a, b)))
        self.stopped: dict[str, tuple[str, ...]] = {
            uid: self._stopped_vms(self.by_id[uid]) for uid in self.order
        }

    def _prefetch(self) -> None:
        """Ask the sampler for every first-attempt number a scheduled unit draws, in one pass.

        Only a speed-up: a key gives the same number prefetched or not. Retries and remediation
        steps are drawn when they happen.
        """
        durations, failures = self.plan.durations, self.plan.failures
        timed = [
            s
            for s in ("validate", "prepare", "abort", "commit")
            if self.sampler.draws_duration(durations.step(s))
        ]
        vm_steps = [
            s
            for s in ("stop", "deallocate", "start")
            if self.sampler.draws_duration(durations.step(s))
        ]
        risky = [
            s
            for s, p in (
                ("validate", failures.validate_),
                ("prepare", failures.prepare),
                ("commit", failures.commit),
            )
            if self.sampler.draws_failure(p)
        ]
        keys: list[tuple[str, str, str, int]] = []
        for uid in self.order:
            if self.early[uid]:
                continue  # never scheduled: draws nothing
            keys += [("durations", uid, s, 1) for s in timed]
            if self.stopped[uid]:
                keys += [("durations", uid, s, 1) for s in vm_steps]
            keys += [("failures", uid, s, 1) for s in risky]
        self.sampler.prefetch(keys)

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
            return unit.vms
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
        return tuple(vm for vm in dict.fromkeys(vms) if vm in members)

    # ---- bookkeeping --------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return float(self.env.now)

    def _event(self, uid: str, step: str, outcome: str, crew: int | None, attempt: int) -> None:
        now = self.now
        self.events.append(Event(now, uid, step, outcome, crew, attempt))
        st = self.state[uid]
        if outcome == "start" and st.first_start is None:
            st.first_start = now
        if outcome in ("end", "fail"):
            st.end = now

    def _open_window(self, key: tuple[Any, ...], resource: str, kind: str, cause: str) -> None:
        unit = self.units.unit_of.get(resource, key[1] if len(key) > 1 else "")
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
        st.reason = reason
        st.rules = tuple(dict.fromkeys(rules))
        self.events.append(Event(self.now, uid, "unit", "not_migrated", None, 0))
        self.done[uid].succeed(False)

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
        self._event(uid, step, "start", crew, attempt)
        yield self.env.timeout(minutes)
        self._event(uid, step, "fail" if fail else "end", crew, attempt)

    def _draw(self, uid: str, step: str, vms: int, attempt: int = 1) -> float:
        return self.sampler.duration(self.plan.durations.step(step), vms, uid, step, attempt)

    def _writes(self, uid: str) -> float:
        u = self.by_id[uid]
        others = len(u.resources) - u.vm_count
        return self.plan.writes_per_vm * u.vm_count + self.plan.writes_per_resource * others

    def _block(
        self, before: float, writing: float, after: float, writes: float
    ) -> Callable[[float], float]:
        """Minutes of a sequence started at ``t``: ``before``, a throttled step, ``after``."""
        return lambda t: before + self._throttled(writing, writes, t) + after

    def _throttled(self, minutes: float, writes: float, t: float) -> float:
        if self.bucket is None:
            return minutes
        return max(minutes, self.bucket.min_duration(t, writes))

    def _take_writes(self, writes: float, planned: float, actual: float) -> None:
        if self.bucket is not None:
            self.bucket.take(self.now, writes)
            self.throttle_minutes += actual - planned

    def _no_window(self, what: str, minutes: float) -> str:
        longest = self.cal.longest()
        shown = "none" if longest == 0 else format_minutes(longest)
        return (
            f"{what} ({format_minutes(minutes)}) is longer than every maintenance window"
            f" (longest {shown})"
        )

    # ---- the unit process -----------------------------------------------------------------------

    def unit_process(self, uid: str) -> Proc:
        """One unit's life: its predecessors commit (or it is not migrated), its blockers, the
        policy's :meth:`~sim.engine.dispatch.Dispatch.begin`, then under its one-operation lock
        the pre-steps, Validate, Prepare, Check and Commit; then its post-steps, or the rollback
        of its pre-steps."""
        preds = sorted(self.units.dag.predecessors(uid), key=self.position.__getitem__)
        if preds:
            yield self.env.all_of([self.done[p] for p in preds])
            lost = [p for p in preds if not self.done[p].value]
            if lost:
                verb = "was" if len(lost) == 1 else "were"
                self._give_up(uid, f"waits for {', '.join(lost)}, which {verb} not migrated")
                return
        early = self.early[uid]
        if early:
            rules = [f.rule for f in early]
            self._give_up(
                uid,
                f"blocked by {', '.join(dict.fromkeys(rules))}: {early[0].message}",
                rules,
            )
            return
        yield from self.dispatch.begin(uid, self.not_before.get(uid, 0.0))
        op = self.ops[uid].request()
        yield op
        for idx in self.pre[uid]:
            yield from self._pre_step(uid, idx)
        ok = yield from self._validate(uid)
        if ok:
            ok = yield from self._prepare(uid)
        if ok:
            yield from self._run(uid, "check", self.plan.check, None, 1)
            ok = yield from self._commit(uid)
        self.ops[uid].release(op)
        st = self.state[uid]
        if not ok:
            if not st.locked_for_good:
                for idx in self.state[uid].pre_done:
                    if REMEDIES[self.findings[idx].rule].post:
                        self.env.process(self._post_step(uid, idx, rollback=True))
            return
        st.status = "committed"
        self.done[uid].succeed(True)
        for idx in self.commit_open[uid]:
            f = self.findings[idx]
            remedy = REMEDIES[f.rule]
            assert remedy.kind is not None
            for r in self.targets[idx]:
                self._open_window(("remedy", idx, r), r, remedy.kind, f"{f.rule}: {remedy.removed}")
        if self.plan.remediation == "auto":
            for idx in [*self.pre[uid], *self.commit_open[uid]]:
                if REMEDIES[self.findings[idx].rule].post:
                    self.env.process(self._post_step(uid, idx, rollback=False))

    def _pre_step(self, uid: str, idx: int) -> Proc:
        f = self.findings[idx]
        remedy = REMEDIES[f.rule]
        targets = self.targets[idx]
        vms = sum(resource_type(r) == "vm" for r in targets)
        step = f"remediate:{self.step_key[idx]}"
        minutes = self.sampler.duration(self.plan.durations.step("remediate"), vms, uid, step)
        req, crew = yield from self.dispatch.crew(uid)
        yield from self._run(uid, step, minutes, crew, 1)
        self.dispatch.release(req, crew)
        self.state[uid].pre_done.append(idx)
        if remedy.kind is None:
            return
        if f.rule == "MIG014":
            for p in self.pairs[idx]:
                pair = self.pair_state[p]
                pair.removers.add(idx)
                if not pair.open:
                    pair.open = True
                    a, b = pair.vnets
                    cause = (
                        f"MIG014: peering {short_name(a)} <-> {short_name(b)} removed"
                        f" before migrating {uid}, re-peered once both VNets committed"
                    )
                    for r in pair.vnets:
                        self._open_window(("pair", p, r), r, remedy.kind, cause)
            return
        for r in targets:
            self._open_window(
                ("remedy", idx, r),
                r,
                remedy.kind,
                f"{f.rule}: {remedy.removed} before migration, {remedy.restored} after",
            )

    def _post_step(self, uid: str, idx: int, *, rollback: bool) -> Proc:
        f = self.findings[idx]
        if f.rule == "MIG014" and not rollback:
            peers = sorted(
                {
                    self.units.unit_of[r]
                    for p in self.pairs[idx]
                    for r in p
                    if r in self.units.unit_of and self.units.unit_of[r] != uid
                },
                key=self.position.__getitem__,
            )
            if peers:
                yield self.env.all_of([self.done[p] for p in peers])
                if not all(self.done[p].value for p in peers):
                    return  # the peering stays removed: its window stays open
        op = self.ops[uid].request()
        yield op
        targets = self.targets[idx]
        vms = sum(resource_type(r) == "vm" for r in targets)
        step = f"restore:{self.step_key[idx]}"
        minutes = self.sampler.duration(self.plan.durations.step("restore"), vms, uid, step)
        req, crew = yield from self.dispatch.crew(uid)
        yield from self._run(uid, step, minutes, crew, 1)
        self.dispatch.release(req, crew)
        self.ops[uid].release(op)
        if not rollback:
            self.post_done[idx] = self.now
        if f.rule == "MIG014":
            for p in self.pairs[idx]:
                pair = self.pair_state[p]
                pair.restored.add(idx)
                if pair.open and pair.removers <= pair.restored:
                    pair.open = False
                    suffix = " (rolled back: unit not migrated)" if rollback else ""
                    for r in pair.vnets:
                        w = self.open.get(("pair", p, r))
                        if w is not None:
                            self._close_window(("pair", p, r), w.cause + suffix)
            return
        for r in targets:
            w = self.open.get(("remedy", idx, r))
            if w is not None:
                suffix = " (rolled back: unit not migrated)" if rollback else ""
                self._close_window(("remedy", idx, r), w.cause + suffix)

    def _validate(self, uid: str) -> Proc:
        u = self.by_id[uid]
        tries = self.plan.failures.max_attempts
        for attempt in range(1, tries + 1):
            minutes = self._draw(uid, "validate", u.vm_count, attempt)
            req, crew = yield from self.dispatch.crew(uid)
            self.state[uid].attempts["validate"] = attempt
            fail = self.sampler.fails(self.plan.failures.validate_, uid, "validate", attempt)
            yield from self._run(uid, "validate", minutes, crew, attempt, fail)
            self.dispatch.release(req, crew)
            if not fail:
                return True
        self._give_up(uid, f"Validate failed {tries} times (plan.failures.max_attempts)")
        return False

    def _prepare(self, uid: str) -> Proc:
        u = self.by_id[uid]
        stopped = self.stopped[uid]
        n = len(stopped)
        restart_commit = self.plan.restart_after == "commit"
        forced = self.at_prepare[uid]
        writes = self._writes(uid)
        tries = self.plan.failures.max_attempts
        for attempt in range(1, tries + 1):
            d_prep = self._draw(uid, "prepare", u.vm_count, attempt)
            d_abort = self._draw(uid, "abort", u.vm_count, attempt)
            d_stop = self._draw(uid, "stop", n, attempt) if n else 0.0
            d_deall = self._draw(uid, "deallocate", n, attempt) if n else 0.0
            d_start = self._draw(uid, "start", n, attempt) if n else 0.0
            total: Callable[[float], float] | None = None
            if n:
                tail = d_start
                if restart_commit:
                    tail += self.plan.check + self._draw(uid, "commit", u.vm_count, 1)
                total = self._block(d_stop + d_deall, d_prep, tail, writes)
            got = yield from self.dispatch.slot(uid, total)
            if got is None:
                assert total is not None
                what = "Stop, Deallocate, Prepare" + (
                    ", Check, Commit and Start" if restart_commit else " and Start"
                )
                self._give_up(uid, self._no_window(what, total(self.now)))
                return False
            req, crew = got
            self.state[uid].attempts["prepare"] = attempt
            self._lock(uid, f"Prepare attempt {attempt} to Commit")
            d_eff = self._throttled(d_prep, writes, self.now)
            self._take_writes(writes, d_prep, d_eff)
            if n:
                self._stop_vms(
                    uid,
                    "stopped and deallocated by the platform (cloud service not in a VNet)"
                    if u.kind == "cloud_service"
                    else "stopped and deallocated (future_support what-if, MIG002/MIG003)",
                )
                yield from self._run(uid, "stop", d_stop, crew, attempt)
                yield from self._run(uid, "deallocate", d_deall, crew, attempt)
            fail = bool(forced and attempt == 1) or self.sampler.fails(
                self.plan.failures.prepare, uid, "prepare", attempt
            )
            yield from self._run(uid, "prepare", d_eff, crew, attempt, fail)
            if fail:
                yield from self._run(uid, "abort", d_abort, crew, attempt)
                why = f"caught at Prepare: {forced[0].rule}" if forced else "Prepare failed"
                self._unlock(uid, f"Prepare attempt {attempt} to Abort ({why})")
                if n:
                    yield from self._run(uid, "start", d_start, crew, attempt)
                    self._start_vms(uid)
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
                    self._give_up(
                        uid,
                        f"Prepare failed {tries} times (plan.failures.max_attempts); aborted",
                    )
                    return False
                continue
            if n and not restart_commit:
                yield from self._run(uid, "start", d_start, crew, attempt)
                self._start_vms(uid)
            self.dispatch.release(req, crew)
            return True
        return False  # pragma: no cover - the loop always returns

    def _commit(self, uid: str) -> Proc:
        u = self.by_id[uid]
        st = self.state[uid]
        n = len(self.stopped[uid])
        restart_commit = self.plan.restart_after == "commit" and n > 0
        prep_attempt = st.attempts["prepare"]
        d_start = self._draw(uid, "start", n, prep_attempt) if restart_commit else 0.0
        writes = self._writes(uid)
        tries = self.plan.failures.max_attempts
        for attempt in range(1, tries + 1):
            d_commit = self._draw(uid, "commit", u.vm_count, attempt)
            total = self._block(0.0, d_commit, d_start, writes)
            got = yield from self.dispatch.slot(uid, total)
            if got is None:
                what = "Commit" + (" and Start" if restart_commit else "")
                reason = self._no_window(what, total(self.now))
                if attempt > 1:
                    st.locked_for_good = True
                    self._give_up(
                        uid, f"{reason}; a failed Commit cannot be aborted: the unit stays locked"
                    )
                    return False
                req, crew = yield from self.dispatch.crew(uid)
                d_abort = self._draw(uid, "abort", u.vm_count, prep_attempt)
                yield from self._run(uid, "abort", d_abort, crew, prep_attempt)
                self._unlock(uid, f"Prepare attempt {prep_attempt} to Abort (no window for Commit)")
                if restart_commit:
                    yield from self._run(uid, "start", d_start, crew, prep_attempt)
                    self._start_vms(uid)
                self.dispatch.release(req, crew)
                self._give_up(uid, f"{reason}; aborted")
                return False
            req, crew = got
            st.attempts["commit"] = attempt
            d_eff = self._throttled(d_commit, writes, self.now)
            self._take_writes(writes, d_commit, d_eff)
            fail = self.sampler.fails(self.plan.failures.commit, uid, "commit", attempt)
            yield from self._run(uid, "commit", d_eff, crew, attempt, fail)
            if fail:
                self.dispatch.release(req, crew)
                if attempt == tries:
                    st.locked_for_good = True
                    self._give_up(
                        uid,
                        f"Commit failed {tries} times (plan.failures.max_attempts); a failed"
                        " Commit cannot be aborted: the unit stays locked",
                    )
                    return False
                continue
            st.commit_end = self.now
            self._unlock(uid, f"Prepare attempt {prep_attempt} to Commit")
            if restart_commit:
                yield from self._run(uid, "start", d_start, crew, prep_attempt)
                self._start_vms(uid)
            self.dispatch.release(req, crew)
            return True
        return False  # pragma: no cover

    # ---- the run --------------------------------------------------------------------------------

    def run(self) -> Replication:
        for uid in self.order:
            self.env.process(self.unit_process(uid))
        self.env.run()
        horizon = max(self.now, max((e.time for e in self.events), default=0.0))
        open_count = len(self.open) + sum(len(self.rows[uid]) for uid in self.locks)
        for uid, (_, cause) in list(self.locks.items()):
            self._unlock(uid, f"{cause} (still open at the end of the run)", at=horizon)
        for key in list(self.open):
            w = self.open[key]
            self._close_window(key, f"{w.cause} (still open at the end of the run)", at=horizon)
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
                )
            )
        committed = {uid for uid in self.order if self.state[uid].status == "committed"}
        tasks = [
            PostTask(
                unit=f.unit,
                rule=f.rule,
                resources=tuple(f.resources),
                task=f.remediation,
                done_at=self.post_done.get(idx),
            )
            for idx, f in enumerate(self.findings)
            if f.severity == "dropped" and f.unit in committed
        ]
        maintenance = tuple(
            (max(a, 0.0), min(b, horizon))
            for a, b in self.cal.intervals(0.0, horizon)
            if b > 0.0 and a < horizon
        )
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
        )
