"""The engine's SimPy skeleton: its events with no migsim code, the ceiling of its speed.

The engine's throughput target is a ratio to raw SimPy timeouts. What SimPy itself costs per event
depends on the kind of event, so this module replays the *shape* of a deterministic replication
with nothing else: one process per unit, waiting for its predecessors (``all_of``), asking the
engine's crews (:class:`sim.engine.dispatch.Crews`, a ``PriorityResource``) for one crew
(priority = position in the order) that it holds, as just-in-time dispatch does, through a
timeout per step at its central duration (Validate, Prepare, Check, Commit), and an event that
tells its successors it committed.
No draws, no records, no windows, no throttle, no failures.

:func:`skeleton` with ``crews="resource"`` is the engine's own choice of SimPy primitives; with
``crews="queue"`` the crews are a hand-written priority queue that hands a crew over with a
plain event and grants a free crew without any event (what a resource-free engine would do).
Their events per second, divided by raw SimPy's, bound what an engine built that way can reach
before it does any work of its own.
"""

from __future__ import annotations

import heapq
from collections.abc import Generator
from typing import Any

import simpy

from sim.engine.dispatch import Crews
from sim.experiments.replications import Prepared

Proc = Generator[Any, Any, None]


class _QueueCrews:
    """Crews as a counter and a heap of waiting events (lowest priority number first, FIFO)."""

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        self.env = env
        self.free = capacity
        self.waiting: list[tuple[int, int, simpy.Event]] = []
        self.seq = 0

    def request(self, priority: int) -> simpy.Event | None:
        """None when a crew is free now (no event at all); else an event to wait for."""
        if self.free:
            self.free -= 1
            return None
        ev = self.env.event()
        self.seq += 1
        heapq.heappush(self.waiting, (priority, self.seq, ev))
        return ev

    def release(self) -> None:
        if self.waiting:
            heapq.heappop(self.waiting)[2].succeed()
        else:
            self.free += 1


def skeleton(prepared: Prepared, crews: str = "resource") -> simpy.Environment:
    """Run the skeleton of ``prepared``'s deterministic replication; returns the environment."""
    units = {u.id: u for u in prepared.units.units}
    order = prepared.order
    prio = {uid: i for i, uid in enumerate(order)}
    dag = prepared.units.dag
    preds = {uid: sorted(dag.predecessors(uid), key=prio.__getitem__) for uid in order}
    spec = prepared.plan.durations
    minutes = {
        uid: tuple(
            spec.step(s).central(units[uid].vm_count) for s in ("validate", "prepare", "commit")
        )
        for uid in order
    }
    check = float(prepared.plan.check)

    env = simpy.Environment()
    done = {uid: env.event() for uid in order}
    if crews == "resource":
        pool = Crews(env, capacity=prepared.plan.crews)

        def unit(uid: str) -> Proc:
            if preds[uid]:
                yield env.all_of([done[p] for p in preds[uid]])
            req = pool.request(priority=prio[uid])
            yield req
            validate, prepare, commit = minutes[uid]
            yield env.timeout(validate)
            yield env.timeout(prepare)
            yield env.timeout(check)
            yield env.timeout(commit)
            pool.release(req)
            done[uid].succeed(True)

    elif crews == "queue":
        queue = _QueueCrews(env, prepared.plan.crews)

        def unit(uid: str) -> Proc:
            if preds[uid]:
                yield env.all_of([done[p] for p in preds[uid]])
            wait = queue.request(prio[uid])
            if wait is not None:
                yield wait
            validate, prepare, commit = minutes[uid]
            yield env.timeout(validate)
            yield env.timeout(prepare)
            yield env.timeout(check)
            yield env.timeout(commit)
            queue.release()
            done[uid].succeed(True)

    else:
        raise ValueError(f"crews must be 'resource' or 'queue', got {crews!r}")

    for uid in order:
        env.process(unit(uid))
    env.run()
    return env
