"""The operator's dispatch policy: which unit's step gets the next free crew, and when a unit
begins.

The platform's mechanics (:mod:`sim.engine.platform`: what a step does, locks, stopped VMs,
windows, the write throttle) ask a :class:`Dispatch` these things, and nothing else about
scheduling:

- :meth:`Dispatch.begin`: a unit whose must-precede predecessors have committed and whose
  blockers allow it may begin; the policy decides when (``not_before`` is the earliest start its
  wave allows, ``plan.waves``);
- :meth:`Dispatch.runs_just_in_time`: whether the unit's window-bound sequence is admitted as a
  whole (:meth:`Dispatch.admit`) or step by step;
- :meth:`Dispatch.admit`: a crew, a concurrency slot (``plan.max_parallel``) and a start at
  which the unit's whole window-bound sequence fits inside one maintenance window;
- :meth:`Dispatch.crew` / :meth:`Dispatch.release`: a crew for one step of a unit, handed back
  when the step ends; :meth:`Dispatch.parallel` / :meth:`Dispatch.unpark`: the concurrency slot
  of a unit between Prepare start and Commit end when it is not admitted as a whole;
- :meth:`Dispatch.slot`: a crew and a start time at which one window-bound step (Commit; the
  Stop-Deallocate-Prepare-Start of a unit that stops VMs) fits inside one maintenance window.

**Work in progress first.** The crews are a :class:`simpy.PriorityResource` of ``plan.crews``
(:class:`Crews`): a request carries ``(class, priority)``, class 0 for a unit that has begun (its
first step started) and 1 for one that has not, so a begun unit gets the next free crew ahead of
every unit that has not; within a class the unit's priority decides (lower first; equal
priorities in request order). The crew handed out is the lowest-numbered free one, so
``events.csv`` names crews 1..N deterministically.

The two policies (``plan.dispatch``):

- :class:`JustInTime` (the default): every unit is admitted as a whole: its disruptive pre-steps,
  Validate, Prepare, Check, Commit and restores run back to back on one crew, started only when
  the whole sequence, with its durations already drawn, fits inside one maintenance window (at
  once without windows). No lock, outage or gap runs out of its window except after a failure.
- :class:`PrepareAhead`: a unit with a disruptive pre-step is admitted as a whole as above; any
  other unit prepares when a crew is free and, when Commit must wait for a window, waits
  Prepared (its management plane locked) until one fits: fewer steps inside the window, longer
  locks.

In both, the unit at position ``i`` of the order has priority ``i``.
"""

from __future__ import annotations

import bisect
import heapq
import math
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

import simpy
from simpy.events import NORMAL
from simpy.resources.resource import PriorityRequest, SortedQueue

from sim.engine.replay import EPS as REPLAY_EPS
from sim.engine.replay import Wake

Proc = Generator[Any, Any, Any]
"""A SimPy process body: a generator of events."""

Fits = Callable[[float, float], float | None]
"""``fits(t, minutes)``: the earliest time from ``t`` at which ``minutes`` fit entirely inside
one maintenance window (``t`` itself without windows), or ``None`` when no window is long
enough."""

SequenceLength = Callable[[float], float]
"""``total(t)``: the minutes a window-bound sequence started at ``t`` lasts (the write throttle
makes it depend on the start)."""


class _PriorityQueue(SortedQueue):
    """SimPy's ``SortedQueue`` without the full sort on every request: the same order.

    ``SortedQueue.append`` appends and re-sorts the whole queue (stable, by ``key``), which costs
    O(n log n) per crew request with thousands of units waiting. Inserting after every item of an
    equal or smaller key (``insort_right``) gives exactly the list that stable sort gives.
    """

    def append(self, item: Any) -> None:
        if self.maxlen is not None and len(self) >= self.maxlen:
            raise RuntimeError("Cannot append event. Queue is full.")
        bisect.insort_right(self, item, key=_REQUEST_KEY)


_REQUEST_KEY = operator.attrgetter("key")


class _Cycled:
    """The type of :data:`CYCLED`."""

    def __repr__(self) -> str:
        return "CYCLED"


CYCLED = _Cycled()
"""What a unit waiting for a crew is resumed with when it is to ask again from the top (its
fit at a wake of :meth:`Crews._wake` is no window at all, or its priority changed)."""


class CrewRequest(PriorityRequest):
    """A crew request of a unit waiting to be admitted. ``refit(now)`` is the fit the unit works
    out the moment the crew comes (``fits(now, total(now))``): later than ``now`` means it will
    hand the crew straight back and wait for that fit (:meth:`Crews._too_late`). ``rekey()`` is
    the unit's crew priority as it stands (:meth:`Dispatch._key`)."""

    def __init__(
        self,
        resource: simpy.PriorityResource,
        priority: int,
        refit: Callable[[float], float | None],
        rekey: Callable[[], int],
    ) -> None:
        self.refit = refit
        self.rekey = rekey
        super().__init__(resource, priority)


class _Wakes(simpy.Event):
    """Units of :meth:`Crews._too_late` waiting for their fit at minute ``at``, each at the
    place on SimPy's queue its own timeout would have had (``sleepers``: ``(event id,
    request)`` in that order; the first one's place is this event's)."""

    def __init__(self, crews: Crews, at: float, sleepers: list[tuple[int, CrewRequest]]) -> None:
        super().__init__(crews._env)
        self._ok = True
        self._value = None
        self.at = at
        self.sleepers = sleepers
        self.callbacks.append(crews._wake)
        heapq.heappush(crews._env._queue, (at, NORMAL, sleepers[0][0], self))


class Crews(simpy.PriorityResource):
    """The crews: a :class:`simpy.PriorityResource` queueing in a :class:`_PriorityQueue`.

    **A crew that comes too late.** At the end of a window, a crew handed back goes to the
    first unit waiting; its sequence no longer fits, so it hands the crew back and sleeps until
    its next fit, and so on down the queue; at that fit every one of them wakes and asks for a
    crew again: every waiting unit, in every window, three SimPy events and two resumes each
    (units x windows). For a unit admitted as a whole (:class:`CrewRequest`) the crews do the
    same without the events:

    - :meth:`_too_late`: when no other event due at this minute does anything (so nothing could
      run between those hand-backs), each unit at the head of the queue whose fit has moved on
      leaves it, and is put down to wake at its fit at the place on SimPy's queue its timeout
      would have taken (the ids of SimPy's events are only ever compared);
    - :meth:`_wake`: at that minute, in that order (giving way to every event placed before
      each), the unit works out its fit again as its own code would; now: its request goes
      back into the queue, as a new request would (the crew, if one is free); later: it sleeps
      on; else its own code runs from the top.

    The first unit that fits (or can never fit) gets the crew as before. Nothing a unit or a
    record can see differs, to the bit: ``tests/test_dispatch.py`` holds the records with and
    without (:attr:`at_once`).
    """

    PutQueue = _PriorityQueue
    at_once: bool = True
    """Whether :meth:`_too_late` runs (``False``: every hand-back one event at a time; for
    tests)."""

    def _trigger_put(self, get_event: Any) -> None:
        if get_event is not None and self.at_once:
            self._too_late()
        super()._trigger_put(get_event)

    def _too_late(self) -> None:
        queue = self.put_queue
        if not queue or len(self.users) >= self.capacity:
            return
        env = self._env
        now = float(env._now)
        if not _nothing_due(env._queue, now):
            return  # another event at this minute would run between the hand-backs
        runs: dict[float, list[tuple[int, CrewRequest]]] = {}
        ids = env._eid  # SimPy 4's counter of event ids (hence simpy < 5)
        while queue:
            req = queue[0]
            if not isinstance(req, CrewRequest):
                break
            t = req.refit(now)
            if t is None or t <= now:
                break  # it fits (or never will): it gets the crew and sees for itself
            del queue[0]
            # the unit's own timeout(t - now), as a place on the queue
            runs.setdefault(env._now + (t - now), []).append((next(ids), req))
        for at, sleepers in runs.items():
            _Wakes(self, at, sleepers)

    def _wake(self, event: simpy.Event) -> None:
        assert isinstance(event, _Wakes)
        env = self._env
        due = env._queue
        at, sleepers = event.at, event.sleepers
        for i, (eid, req) in enumerate(sleepers):
            if i and due and due[0][:3] < (at, NORMAL, eid):
                _Wakes(self, at, sleepers[i:])  # an event placed before this unit's runs first
                return
            self._woken(req)

    def _woken(self, req: CrewRequest) -> None:
        """What a unit's own code does as its timeout wakes it: work out the fit; ask for a
        crew now, or sleep until the fit, or (no fit at all, or its priority changed) run on."""
        env = self._env
        now = float(env._now)
        t = req.refit(now)
        if t is not None and t > now:
            _Wakes(self, env._now + (t - now), [(next(env._eid), req)])
        elif t is None or req.rekey() != req.priority:
            resume = simpy.Event(env)
            resume._ok = True
            resume._value = CYCLED
            assert req.proc is not None
            req.proc._resume(resume)
        else:
            self.put_queue.append(req)  # as Put.__init__: queued, and the crew if one is free
            self._trigger_put(None)


def _nothing_due(heap: list[tuple[Any, ...]], now: float) -> bool:
    """Whether no event due at minute ``now`` does anything when SimPy processes it (nobody
    waits for it: a process's end that no one joins). ``heap`` is SimPy 4's queue of
    ``(time, priority, id, event)`` (hence simpy < 5); the events due now are at its root."""
    stack = [0]
    n = len(heap)
    while stack:
        i = stack.pop()
        if i < n and heap[i][0] <= now:
            event = heap[i][3]
            if event.callbacks or not event._ok:
                return False
            stack += (2 * i + 1, 2 * i + 2)
    return True


_LATER = 1 << 40

Admitted = tuple[Any, int, Any]
"""What :meth:`Dispatch.admit` hands over: ``(crew request, crew number, slot request or None)``."""


class Dispatch(ABC):
    """An operator's dispatch policy over ``crews`` crews (see the module docstring).

    The base class holds the crew pool and the concurrency slots; a policy sets each unit's
    priority and implements :meth:`begin`, :meth:`slot` and :meth:`runs_just_in_time`. ``order``
    lists every unit id; ``fits`` answers window questions (:data:`Fits`); ``groups`` maps a unit
    to its ``plan.max_parallel`` group and ``caps`` a group to its cap (a group with no cap is
    absent).
    """

    def __init__(
        self,
        env: simpy.Environment,
        crews: int,
        order: Sequence[str],
        fits: Fits,
        groups: Mapping[str, str] | None = None,
        caps: Mapping[str, int] | None = None,
    ) -> None:
        self.env = env
        self.crews = Crews(env, capacity=crews)
        self.free = set(range(1, crews + 1))
        self.fits = fits
        # A fit that ignores the minutes (no window: WindowFit.anytime) answers every question
        # with its start; the sequence's length is then not worked out to ask it.
        self.anytime: bool = bool(getattr(fits, "anytime", False))
        self.priority: Mapping[str, int] = self.priorities(order)
        self.begun: set[str] = set()
        self.groups: Mapping[str, str] = groups or {}
        self.slots: dict[str, Crews] = {
            group: Crews(env, capacity=cap) for group, cap in (caps or {}).items()
        }
        self.unparked: dict[str, simpy.Event] = {group: env.event() for group in self.slots}
        """Per capped group: fires when one of its slots is handed back."""
        self.gang = simpy.Resource(env, capacity=1)
        """Held while one unit gathers several crews (:meth:`crews_for`): two gatherers never
        hold part of what the other waits for."""
        self.pinned: Mapping[str, Sequence[float]] = {}
        self.until = -math.inf
        self.crew_at: Mapping[str, Sequence[tuple[float, int]]] = {}

    def pin(
        self,
        starts: Mapping[str, Sequence[float]],
        until: float,
        crews: Mapping[str, Sequence[tuple[float, int]]] | None = None,
    ) -> None:
        """A replan's past (:mod:`sim.engine.replay`): until minute ``until`` (its now), no
        crew goes to a unit before its first actual step start (``starts``: per begun unit,
        its actual step starts in time order), nor to any other unit; a window fit that would
        keep a unit from a step the actuals show it starting is not asked (it did start).
        ``crews``: per unit, ``(start, crew)`` of its actual steps that name their crew: a crew
        handed to it at such a start is that one when it is free."""
        self.pinned = starts
        self.until = until
        self.crew_at = crews or {}

    def _fit(self, uid: str, now: float, t: float | None) -> float | None:
        """The plan's fit ``t`` for ``uid`` at ``now``, unless the actuals show the unit's next
        step starting before it (or at all, when the plan says never): then that start."""
        if now > self.until:
            return t
        nxt = next((s for s in self.pinned.get(uid, ()) if s >= now - REPLAY_EPS), None)
        if nxt is None or (t is not None and t <= nxt + REPLAY_EPS):
            return t
        return max(now, nxt)

    def _held(self, uid: str, members: Sequence[str] = ()) -> Proc:
        # Until the replan's now, a unit waits for its actual first start (the others for now)
        # before it asks for a crew; woken ahead of the crews handed back at that moment, as
        # if it had been queueing (replay.Wake). Crews gathered for several units: the first
        # of them to begin.
        now = float(self.env.now)
        if now <= self.until:
            cut = self.until - REPLAY_EPS
            at = min(self.pinned.get(m, (cut,))[0] for m in (members or (uid,)))
            if now < at - REPLAY_EPS:
                yield Wake(self.env, at)

    @abstractmethod
    def priorities(self, order: Sequence[str]) -> Mapping[str, int]:
        """Each unit's crew priority (lower is served first)."""

    @abstractmethod
    def begin(self, uid: str, not_before: float) -> Proc:
        """Wait until unit ``uid`` begins; it may not begin before minute ``not_before``."""

    @abstractmethod
    def slot(self, uid: str, total: SequenceLength | None) -> Proc:
        """A crew for ``uid`` and, with ``total``, a start at which ``total(now)`` minutes fit in
        one window. Returns ``(request, crew)``, or ``None`` when no window is long enough."""

    @abstractmethod
    def runs_just_in_time(self, uid: str, disruptive: bool) -> bool:
        """Whether unit ``uid`` (``disruptive``: it has a pre-step that opens a window) is
        admitted as a whole by :meth:`admit`."""

    def _key(self, uid: str) -> int:
        # Work in progress first: a unit not yet begun asks one class (2**40) further back.
        return self.priority[uid] + (0 if uid in self.begun else _LATER)

    def started(self, uid: str) -> None:
        """Unit ``uid`` has begun: from now on it is work in progress."""
        self.begun.add(uid)

    def crew(self, uid: str) -> Proc:
        """Wait for a crew for one step of ``uid``; returns ``(request, crew number)``."""
        if self.pinned:
            yield from self._held(uid)
        req = self.crews.request(priority=self._key(uid))
        yield req
        crew = self.pick(self.free, (uid,))
        self.free.discard(crew)
        return req, crew

    def pick(self, free: set[int], units: Sequence[str]) -> int:
        """The crew of ``free`` a unit of ``units`` takes: the lowest-numbered; in a replan's
        past, the one the actuals name for a step of theirs starting now, when it is free."""
        if self.crew_at:
            now = float(self.env.now)
            if now <= self.until:
                for uid in units:
                    for s, c in self.crew_at.get(uid, ()):
                        if abs(s - now) <= REPLAY_EPS and c in free:
                            return c
        return min(free)

    def crews_for(
        self, uid: str, n: int, until: float = math.inf, members: Sequence[str] = ()
    ) -> Proc:
        """Up to ``n`` crews for ``uid``, ahead of every other request, gathered until minute
        ``until`` at the latest; returns the list of ``(request, crew)`` (shorter than ``n``
        when time ran out). One gatherer at a time, so gatherers never deadlock; everyone else
        holds a crew for a bounded step, so the crews come. ``members``: the units the crews
        are for (a replan holds the gathering until the first of them actually began)."""
        if self.pinned:
            yield from self._held(uid, members or (uid,))
        with self.gang.request() as turn:
            yield turn
            taken = []
            for _ in range(n):
                req = self.crews.request(priority=self.priority[uid] - _LATER)
                left = until - float(self.env.now)
                if left < math.inf and not req.triggered:
                    if left <= 0:
                        req.cancel()
                        break
                    yield req | self.env.timeout(left)
                    if not req.triggered:
                        req.cancel()
                        break
                else:
                    yield req
                crew = self.pick(self.free, members or (uid,))
                self.free.discard(crew)
                taken.append((req, crew))
        return taken

    def release(self, req: Any, crew: int) -> None:
        """Hand crew ``crew`` (held through ``req``) back."""
        self.crews.release(req)
        self.free.add(crew)

    def parallel(self, uid: str) -> Proc:
        """Wait for a ``plan.max_parallel`` slot of ``uid``'s group; returns the request (``None``
        when the group has no cap). Hand it back with :meth:`unpark`."""
        pool = self.slots.get(self.groups.get(uid, ""))
        if pool is None:
            return None
        req = pool.request(priority=self._key(uid))
        yield req
        return req

    def unpark(self, uid: str, req: Any) -> None:
        """Hand back the slot ``req`` of :meth:`parallel` (``None``: nothing)."""
        if req is not None:
            group = self.groups[uid]
            self.slots[group].release(req)
            event, self.unparked[group] = self.unparked[group], self.env.event()
            event.succeed()

    def admit(self, uid: str, total: SequenceLength) -> Proc:
        """Wait until unit ``uid`` can run its whole window-bound sequence of ``total(now)``
        minutes inside one maintenance window, with a crew and a concurrency slot. Returns
        :data:`Admitted`, or ``None`` when no window is long enough. A unit that gets its crew
        when the sequence no longer fits hands it back and waits for the next fit."""
        group = self.groups.get(uid, "")
        pool = self.slots.get(group)
        # Without a slot or a replan's pins, what the unit finds as its crew comes is its fit
        # alone: the crews may hand it back at once (Crews._too_late)
        fits = self.fits
        at_once = not (self.anytime or self.pinned or pool is not None)
        while True:
            now = float(self.env.now)
            t = now if self.anytime else fits(now, total(now))
            if self.pinned:
                t = self._fit(uid, now, t)
            if t is None:
                return None
            if t > now:
                yield self.env.timeout(t - now)
                continue
            if not at_once:
                req, crew = yield from self.crew(uid)
            else:
                req = CrewRequest(
                    self.crews,
                    self._key(uid),
                    lambda now: fits(now, total(now)),
                    lambda: self._key(uid),
                )
                if (yield req) is CYCLED:
                    continue  # ask again from the top (Crews._woken)
                crew = self.pick(self.free, (uid,))
                self.free.discard(crew)
            # The slot only when one is free as the crew comes: a unit never holds a crew while
            # it waits for a slot (whose holder may wait for a crew).
            if pool is not None and pool.count >= pool.capacity:
                self.release(req, crew)
                yield self.unparked[group]
                continue
            slot = pool.request(priority=self._key(uid)) if pool is not None else None
            if slot is not None:
                yield slot  # granted at once: a slot was free
            now = float(self.env.now)
            t = now if self.anytime else self.fits(now, total(now))
            if self.pinned:
                t = self._fit(uid, now, t)
            if t is not None and t <= now:
                self.started(uid)
                return req, crew, slot
            self.release(req, crew)
            self.unpark(uid, slot)
            if t is None:
                return None
            yield self.env.timeout(t - now)


class JustInTime(Dispatch):
    """Crews in the order's priority, work in progress first; every unit admitted as a whole,
    just in time inside one maintenance window (:meth:`Dispatch.admit`)."""

    def priorities(self, order: Sequence[str]) -> Mapping[str, int]:
        return {uid: i for i, uid in enumerate(order)}

    def begin(self, uid: str, not_before: float) -> Proc:
        now = float(self.env.now)
        if not_before > now:
            yield self.env.timeout(not_before - now)

    def runs_just_in_time(self, uid: str, disruptive: bool) -> bool:
        return True

    def slot(self, uid: str, total: SequenceLength | None) -> Proc:
        return (yield from _slot(self, uid, total))


class PrepareAhead(JustInTime):
    """Crews in the order's priority, work in progress first; a unit with a disruptive pre-step
    is admitted as a whole, any other prepares ahead of its window.

    A window-bound step waits, without a crew, for the earliest start at which it fits a
    window, then asks for a crew; a crew that comes too late (the fit has moved on) is handed
    back and the wait starts again.
    """

    def runs_just_in_time(self, uid: str, disruptive: bool) -> bool:
        return disruptive


def _slot(policy: Dispatch, uid: str, total: SequenceLength | None) -> Proc:
    env = policy.env
    while True:
        if total is not None:
            now = float(env.now)
            t = now if policy.anytime else policy.fits(now, total(now))
            if policy.pinned:
                t = policy._fit(uid, now, t)
            if t is None:
                return None
            if t > now:
                yield env.timeout(t - now)
        req, crew = yield from policy.crew(uid)
        if total is None:
            return req, crew
        now = float(env.now)
        t = now if policy.anytime else policy.fits(now, total(now))
        if policy.pinned:
            t = policy._fit(uid, now, t)
        if t is not None and t <= now:
            return req, crew
        policy.release(req, crew)
        if t is None:
            return None


POLICIES: dict[str, type[Dispatch]] = {
    "just_in_time": JustInTime,
    "prepare_ahead": PrepareAhead,
}
"""``plan.dispatch`` -> the policy class."""
