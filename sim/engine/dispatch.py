"""The operator's dispatch policy: which unit's step gets the next free crew, and when a unit
begins.

The platform's mechanics (:mod:`sim.engine.platform`: what a step does, locks, stopped VMs,
windows, the write throttle) ask a :class:`Dispatch` three things, and nothing else about
scheduling:

- :meth:`Dispatch.begin`: a unit whose must-precede predecessors have committed and whose
  blockers allow it may begin; the policy decides when (``not_before`` is the earliest start its
  wave allows, ``plan.waves``);
- :meth:`Dispatch.crew` / :meth:`Dispatch.release`: a crew for one step of a unit, handed back
  when the step ends;
- :meth:`Dispatch.slot`: a crew and a start time at which a window-bound sequence (Commit; the
  Stop-Deallocate-Prepare-Start of a unit that stops VMs) fits inside one maintenance window.

The crews are a :class:`simpy.PriorityResource` of ``plan.crews`` (:class:`Crews`): a request
carries the unit's priority (lower is served first; equal priorities in request order), and the
crew handed out is the lowest-numbered free one, so ``events.csv`` names crews 1..N
deterministically.

:class:`PrepareAhead` is the policy the engine runs: the unit at position ``i`` of the order asks
with priority ``i``, so earlier units get crews first; a unit begins as soon as it may; it
prepares when a crew is free and, when Commit must wait for a window, waits Prepared (its
management plane locked) until one fits.
"""

from __future__ import annotations

import bisect
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

import simpy
from simpy.resources.resource import SortedQueue

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


class Crews(simpy.PriorityResource):
    """The crews: a :class:`simpy.PriorityResource` queueing in a :class:`_PriorityQueue`."""

    PutQueue = _PriorityQueue


class Dispatch(ABC):
    """An operator's dispatch policy over ``crews`` crews (see the module docstring).

    The base class holds the crew pool; a policy sets each unit's priority and implements
    :meth:`begin` and :meth:`slot`. ``order`` lists every unit id; ``fits`` answers window
    questions (:data:`Fits`).
    """

    def __init__(
        self, env: simpy.Environment, crews: int, order: Sequence[str], fits: Fits
    ) -> None:
        self.env = env
        self.crews = Crews(env, capacity=crews)
        self.free = set(range(1, crews + 1))
        self.fits = fits
        self.priority: Mapping[str, int] = self.priorities(order)

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

    def crew(self, uid: str) -> Proc:
        """Wait for a crew for one step of ``uid``; returns ``(request, crew number)``."""
        req = self.crews.request(priority=self.priority[uid])
        yield req
        crew = min(self.free)
        self.free.discard(crew)
        return req, crew

    def release(self, req: Any, crew: int) -> None:
        """Hand crew ``crew`` (held through ``req``) back."""
        self.crews.release(req)
        self.free.add(crew)


class PrepareAhead(Dispatch):
    """Crews in the order's priority; begin as soon as allowed; prepare ahead of the window.

    A window-bound sequence waits, without a crew, for the earliest start at which it fits a
    window, then asks for a crew; a crew that comes too late (the fit has moved on) is handed
    back and the wait starts again.
    """

    def priorities(self, order: Sequence[str]) -> Mapping[str, int]:
        return {uid: i for i, uid in enumerate(order)}

    def begin(self, uid: str, not_before: float) -> Proc:
        now = float(self.env.now)
        if not_before > now:
            yield self.env.timeout(not_before - now)

    def slot(self, uid: str, total: SequenceLength | None) -> Proc:
        while True:
            if total is not None:
                now = float(self.env.now)
                t = self.fits(now, total(now))
                if t is None:
                    return None
                if t > now:
                    yield self.env.timeout(t - now)
            req, crew = yield from self.crew(uid)
            if total is None:
                return req, crew
            now = float(self.env.now)
            t = self.fits(now, total(now))
            if t is not None and t <= now:
                return req, crew
            self.release(req, crew)
            if t is None:
                return None
