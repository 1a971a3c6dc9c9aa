"""A replication conditioned on what has already happened (``migsim replan``).

The engine runs from the plan's start as usual, but the steps the actuals show are not drawn:
each starts when it actually started and, when it has ended, ends when it actually ended, with
its actual outcome; a step still running at ``now`` finishes after a remaining time drawn from
its duration distribution conditioned on having run that long
(:func:`sim.engine.sampling.remaining_from_uniform`). No step the actuals do not show starts
before ``now``: a unit that has not begun waits for ``now``, and a begun unit's next step starts
at ``now`` at the earliest. A unit that has begun is admitted when it actually began (the
operator admitted it; its fit is not asked again) and takes a crew ahead of every other unit.
From ``now`` on the plan and its dispatch policy run the rest.

Failed attempts count toward ``plan.failures.max_attempts``, remediation windows opened stay
open until their restores, crews the actuals show busy are busy: the replay runs them.

When the plan cannot reproduce the actuals (a step it would start later than it actually
started, or never runs at all: the crews were all busy, an ordering the plan refuses, a
step the plan does not have) the engine raises :class:`ReplayMismatch` naming the first
actual step it missed; it never forecasts from a past that did not happen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import simpy
from simpy.events import URGENT

from sim.engine.sampling import Sampler
from sim.model.plan import StepDuration

EPS = 1e-6
"""Minutes: two times this close are the same time (clock times read from a file are rounded
to the microsecond at best)."""

StepKey = tuple[str, str, int]
"""``(unit, step, attempt)``: one attempt of one step, as ``events.csv`` names it."""


class Happened(Protocol):
    """A step event as :meth:`Replay.from_events` reads it (:class:`~sim.outputs.records.Event`
    is one)."""

    @property
    def time(self) -> float: ...
    @property
    def unit(self) -> str: ...
    @property
    def step(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def attempt(self) -> int: ...


@dataclass(frozen=True)
class ActualStep:
    """One attempt of a step as it actually ran: its start, its end (``None``: still running at
    ``now``) and whether it failed; ``where`` and ``end_where``: where the actuals say so
    (``actuals.csv:12``, for messages); ``seq``: the position of its start among the actual
    events (the first mismatch reported is the earliest); ``crew``: the crew its start names
    (None: not said)."""

    start: float
    end: float | None = None
    failed: bool = False
    where: str | None = None
    end_where: str | None = None
    seq: int = 0
    crew: int | None = None


@dataclass(frozen=True)
class Replay:
    """What has happened by minute ``now`` (minutes from ``plan.start``): each step attempt the
    actuals show. ``first_start``: each begun unit's first actual step start (derived).
    ``deferred``: units the operator leaves for later (``migsim replan --advise``: skip a
    unit, or abort one), each with the minute it may begin (or prepare again) at the earliest.
    ``aborts``: Prepared units the operator aborts at the first step boundary from now
    (``--advise``: abort a unit still Prepared)."""

    now: float
    steps: Mapping[StepKey, ActualStep]
    first_start: Mapping[str, float] = field(default_factory=dict)
    deferred: Mapping[str, float] = field(default_factory=dict)
    aborts: frozenset[str] = frozenset()

    @classmethod
    def of(cls, now: float, steps: Mapping[StepKey, ActualStep]) -> Replay:
        """A replay of ``steps`` at ``now``; raises ``ValueError`` when a step starts after
        ``now``, ends after ``now`` or before it starts."""
        first: dict[str, float] = {}
        for (uid, step, attempt), a in steps.items():
            if a.start > now + EPS or (a.end is not None and a.end > now + EPS):
                raise ValueError(f"{uid} {step} attempt {attempt} is after now ({now} min)")
            if a.end is not None and a.end < a.start - EPS:
                raise ValueError(f"{uid} {step} attempt {attempt} ends before it starts")
            first[uid] = min(first.get(uid, math.inf), a.start)
        return cls(now=now, steps=dict(steps), first_start=first)

    @classmethod
    def from_events(cls, events: Iterable[Happened], now: float | None = None) -> Replay:
        """The replay of step events (``events.csv``'s vocabulary: each has ``time``, ``unit``,
        ``step``, ``outcome`` ``start``/``end``/``fail`` and ``attempt``; a ``where`` attribute,
        when there is one, is kept for messages) at ``now`` (default: the latest event's time).
        Events of other outcomes (``not_migrated``) are left out. Raises ``ValueError`` for an
        end with no start, a second start or end of one attempt, or an event after ``now``."""
        starts: dict[StepKey, tuple[float, str | None, int, int | None]] = {}
        ends: dict[StepKey, tuple[float, bool, str | None]] = {}
        latest = -math.inf
        for seq, e in enumerate(events):
            if e.outcome not in ("start", "end", "fail"):
                continue
            key = (e.unit, e.step, e.attempt)
            row = getattr(e, "where", None) or None
            latest = max(latest, e.time)
            if e.outcome == "start":
                if key in starts:
                    raise ValueError(f"{key}: started twice")
                starts[key] = (e.time, row, seq, getattr(e, "crew", None))
            else:
                if key not in starts or key in ends:
                    raise ValueError(f"{key}: an end without its start, or ended twice")
                ends[key] = (e.time, e.outcome == "fail", row)
        at = latest if now is None else now
        steps = {}
        for key, (start, row, seq, crew) in starts.items():
            end = ends.get(key)
            steps[key] = ActualStep(
                start,
                None if end is None else end[0],
                end is not None and end[1],
                row,
                None if end is None else end[2],
                seq,
                crew,
            )
        return cls.of(max(at, 0.0), steps)

    def elapsed(self, key: StepKey) -> float | None:
        """Minutes the step attempt ``key`` has run by ``now`` when it is still running, else
        ``None``."""
        a = self.steps.get(key)
        if a is None or a.end is not None:
            return None
        return max(0.0, self.now - a.start)


class ReplayMismatch(Exception):
    """The plan cannot reproduce an actual step: ``key`` (unit, step, attempt), ``where`` the
    actuals show it (``actuals.csv:12``; None when not known), ``seq`` its position among
    them, and what the plan does instead; ``at``, when the plan starts it later than it
    actually started (``actual``), the minute it does."""

    def __init__(
        self,
        key: StepKey,
        where: str | None,
        what: str,
        seq: int = 0,
        at: float | None = None,
        actual: float | None = None,
    ) -> None:
        self.key = key
        self.where = where
        self.what = what
        self.seq = seq
        self.at = at  # the minute the plan starts it (None: never, or not a start)
        self.actual = actual  # the minute it actually started
        super().__init__(f"{key[0]} {key[1]} attempt {key[2]}: {what}")


class Wake(simpy.Event):
    """An event at minute ``at`` exactly (:func:`exact_delay`), processed before every
    ordinary event at that time (SimPy's ``URGENT`` priority, as its ``Initialize`` uses): a
    unit held until a moment is back in the crew queue before any crew handed back at that
    moment is given out, as it would be had it queued earlier. Built as SimPy's own
    :class:`simpy.events.Timeout` is."""

    def __init__(self, env: simpy.Environment, at: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, exact_delay(float(env.now), at))


def exact_delay(now: float, end: float) -> float:
    """The delay ``d`` for which ``now + d == end`` in floating point (``end - now`` may miss
    by an ulp): an actual end is kept to the bit. Never negative."""
    d = max(0.0, end - now)
    for _ in range(64):
        got = now + d
        if got == end or (d == 0.0 and got > end):
            break
        d = math.nextafter(d, math.inf if got < end else -math.inf)
    return d


class ReplaySampler(Sampler):
    """The replication's :class:`~sim.engine.sampling.Sampler` with the actual steps in it: an
    ended step lasts what it actually lasted and fails as it actually did; a step running at
    ``now`` lasts what it has run plus its remaining time (:meth:`Sampler.remaining`, on the
    step's own number: common random numbers hold). Everything else is drawn as usual."""

    def __init__(self, seed: int, replay: Replay, *, deterministic: bool = False) -> None:
        super().__init__(seed, deterministic=deterministic)
        self.replay = replay

    def duration(
        self, spec: StepDuration, vms: int, unit: str, step: str, attempt: int = 1
    ) -> float:
        key = (unit, step, attempt)
        a = self.replay.steps.get(key)
        if a is None:
            return super().duration(spec, vms, unit, step, attempt)
        if a.end is not None:
            return max(0.0, a.end - a.start)
        elapsed = max(0.0, self.replay.now - a.start)
        if not self.draws_duration(spec):
            whole = max(spec.central(vms), 0.0)
            if whole >= elapsed - EPS:  # its own length, to the bit: not elapsed + what is left
                return whole
        return elapsed + self.remaining(spec, vms, unit, step, attempt, elapsed)

    def fails(self, probability: float, unit: str, step: str, attempt: int = 1) -> bool:
        a = self.replay.steps.get((unit, step, attempt))
        if a is not None and a.end is not None:
            return a.failed
        return super().fails(probability, unit, step, attempt)
