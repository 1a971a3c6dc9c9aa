"""Ordering strategies: each a small function of the unit graph giving a sort key per unit.

Every strategy yields a topological order of the must-precede DAG; the strategy only breaks ties
among units that are free to go. An explicit list names units in the order wanted; units it leaves
out follow in the estate's order, and a list that breaks a must-precede constraint is reported.

A strategy in :data:`STRATEGIES` is a function ``(units, plan) -> sort key of a Unit``: most look
at the unit alone (:func:`as_listed`, :func:`smallest_first`, :func:`largest_first`,
:func:`priority`); :func:`critical_path_first` reads the DAG and the plan's durations and
:func:`waves` the plan's ``waves``. The order is what the engine hands to the crews: the unit at
position ``i`` asks for a crew with priority ``i``, and no unit starts before its predecessors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import networkx as nx

from sim.common.errors import InputError
from sim.model.plan import Plan
from sim.model.units import MigrationUnits, Unit

SortKey = Callable[[Unit], tuple[float, ...]]
Strategy = Callable[[MigrationUnits, Plan], SortKey]
"""A named strategy: from the unit graph and the plan to a sort key (smaller goes first)."""

CENTRAL_STEPS = ("validate", "prepare", "commit")
"""The steps whose central durations, plus ``plan.check``, make a unit's work in
:func:`critical_path_first`."""


def as_listed(u: Unit) -> tuple[float, ...]:
    """The estate's own order."""
    return (u.index,)


def smallest_first(u: Unit) -> tuple[float, ...]:
    """Fewest VMs first, then fewest resources: "Do the simple virtual networks first"."""
    return (u.vm_count, len(u.resources), u.index)


def largest_first(u: Unit) -> tuple[float, ...]:
    """Most VMs first: start the long Prepares early."""
    return (-u.vm_count, -len(u.resources), u.index)


def priority(u: Unit) -> tuple[float, ...]:
    """Lowest ``priority`` number first; units without one go before any that has one
    ("Schedule production last": give production the highest number)."""
    return (u.priority if u.priority is not None else float("-inf"), u.index)


def unit_work(u: Unit, plan: Plan) -> float:
    """Minutes of Validate + Prepare + Check + Commit of ``u`` at their central values."""
    steps = sum(plan.durations.step(s).central(u.vm_count) for s in CENTRAL_STEPS)
    return steps + plan.check


def tail_lengths(units: MigrationUnits, plan: Plan) -> dict[str, float]:
    """For each unit, the longest chain of :func:`unit_work` it heads: its own work plus the
    longest tail among its DAG successors (a unit without successors: its own work)."""
    by_id = {u.id: u for u in units.units}
    tail: dict[str, float] = {}
    for uid in reversed(list(nx.topological_sort(units.dag))):
        after = max((tail[s] for s in units.dag.successors(uid)), default=0.0)
        tail[uid] = unit_work(by_id[uid], plan) + after
    return tail


def critical_path_first(units: MigrationUnits, plan: Plan) -> SortKey:
    """Units heading the longest remaining chain first (the classic "longest tail" rule of list
    scheduling): a unit's tail is its Validate + Prepare + Check + Commit at its VM count plus
    the longest tail among its successors; ties in the estate's order. A predecessor's tail is
    always longer than its successor's, so the key alone is already a topological order."""
    tail = tail_lengths(units, plan)
    return lambda u: (-tail[u.id], u.index)


def wave_members(units: MigrationUnits, plan: Plan) -> dict[str, tuple[int, int]]:
    """Unit id -> (wave index, position in the wave) for every unit ``plan.waves`` names.

    Raises :class:`InputError` at ``plan.waves[i].units[j]`` for an unknown unit or a unit named
    in two waves.
    """
    found: dict[str, tuple[int, int]] = {}
    for i, wave in enumerate(plan.waves):
        for j, ref in enumerate(wave.units):
            uid = units.resolve(ref)
            loc = ("plan", "waves", i, "units", j)
            if uid is None:
                raise InputError(
                    None,
                    loc,
                    f"unknown unit {ref!r}; expected one of: {', '.join(units.ids()[:12])}",
                )
            if uid in found:
                first = plan.waves[found[uid][0]].name
                raise InputError(
                    None,
                    loc,
                    f"unit {ref!r} is already in wave {first!r}; expected one wave per unit",
                )
            found[uid] = (i, j)
    return found


def wave_starts(units: MigrationUnits, plan: Plan) -> dict[str, float]:
    """Unit id -> earliest start in simulation minutes, for the units of waves with a
    ``not_before`` after the plan's start (what the engine honours, under every ordering).

    A timestamp is placed on the clock by ``plan.start``; one before the start means no wait.
    Raises :class:`InputError` for a timestamp without ``plan.start`` and for the errors of
    :func:`wave_members`.
    """
    members = wave_members(units, plan)
    at: list[float] = []
    for i, wave in enumerate(plan.waves):
        nb = wave.not_before
        if isinstance(nb, datetime):
            if plan.start is None:
                raise InputError(
                    None,
                    ("plan", "waves", i, "not_before"),
                    "a timestamp needs plan.start to place it on the simulation clock; expected"
                    " plan.start or a duration from the start such as 2h",
                )
            at.append(max(0.0, (nb - plan.start).total_seconds() / 60.0))
        else:
            at.append(max(0.0, float(nb)))
    return {uid: at[i] for uid, (i, _) in members.items() if at[i] > 0.0}


def waves(units: MigrationUnits, plan: Plan) -> SortKey:
    """``plan.waves`` in turn, each wave's units in the order the wave lists them; units in no
    wave go last, in the estate's order. A unit that must precede a wave's unit is ordered with
    that wave, just before it (it takes the earliest wave and position among itself and every
    unit that must follow it), so a wave is never held up by a straggler left for later. The
    waves' ``not_before`` times gate only the units each wave lists and are honoured by the
    engine (:func:`wave_starts`) whatever the ordering."""
    members = wave_members(units, plan)
    last = (len(plan.waves), 0)
    slot: dict[str, tuple[int, int]] = {}
    for uid in reversed(list(nx.topological_sort(units.dag))):
        slot[uid] = min([members.get(uid, last), *(slot[s] for s in units.dag.successors(uid))])
    return lambda u: (*slot[u.id], u.index)


def _per_unit(key: SortKey) -> Strategy:
    return lambda units, plan: key


STRATEGIES: dict[str, Strategy] = {
    "as_listed": _per_unit(as_listed),
    "smallest_first": _per_unit(smallest_first),
    "largest_first": _per_unit(largest_first),
    "priority": _per_unit(priority),
    "critical_path_first": critical_path_first,
    "waves": waves,
}
"""Every named strategy: ``name -> (units, plan) -> sort key``."""


def violations(units: MigrationUnits, order: Sequence[str]) -> list[tuple[str, str, str]]:
    """Must-precede edges ``(before, after, reason)`` that ``order`` breaks."""
    pos = {uid: i for i, uid in enumerate(order)}
    return [
        (p.before, p.after, p.reason)
        for p in units.precedences
        if p.before in pos and p.after in pos and pos[p.before] > pos[p.after]
    ]


def explicit_order(units: MigrationUnits, names: Sequence[str]) -> list[str]:
    """Resolve an explicit list; units it omits follow in the estate's order."""
    chosen: list[str] = []
    seen: set[str] = set()
    for i, ref in enumerate(names):
        uid = units.resolve(ref)
        if uid is None:
            raise InputError(
                None,
                ("plan", "ordering", i),
                f"unknown unit {ref!r}; expected one of: {', '.join(units.ids()[:12])}",
            )
        if uid in seen:
            raise InputError(None, ("plan", "ordering", i), f"unit {ref!r} is listed twice")
        chosen.append(uid)
        seen.add(uid)
    return chosen + [u for u in units.ids() if u not in seen]


def topological_by(units: MigrationUnits, key: SortKey) -> list[str]:
    """The DAG's topological order that takes, at every point, the free unit with the smallest
    ``key`` (networkx ``lexicographical_topological_sort``)."""
    by_id = {u.id: u for u in units.units}
    return list(nx.lexicographical_topological_sort(units.dag, key=lambda n: key(by_id[n])))


def decode_priorities(units: MigrationUnits, priorities: Sequence[str]) -> list[str]:
    """The serial schedule-generation scheme: repeatedly take the unit listed first in
    ``priorities`` whose predecessors are all placed. Units ``priorities`` leaves out follow in
    the estate's order. The result always respects the DAG."""
    rank = {uid: i for i, uid in enumerate(priorities)}
    n = len(rank)
    return topological_by(units, lambda u: (rank.get(u.id, n), u.index))


def order_units(
    units: MigrationUnits, ordering: str | Sequence[str], plan: Plan | None = None
) -> list[str]:
    """The order in which units are handed to the crews.

    A named strategy always respects the DAG. ``plan`` feeds the strategies that read it
    (``critical_path_first``: durations and check; ``waves``: ``plan.waves``); without it they
    see the default plan (no waves). An explicit list that breaks a constraint raises
    :class:`InputError` at ``plan.ordering`` (``migsim validate`` reports it as MIG027/MIG010).
    """
    if isinstance(ordering, str):
        strategy = STRATEGIES.get(ordering)
        if strategy is None:
            raise InputError(
                None,
                ("plan", "ordering"),
                f"unknown strategy {ordering!r}; expected one of: {', '.join(STRATEGIES)}"
                " or a list of unit names",
            )
        return topological_by(units, strategy(units, plan if plan is not None else Plan()))
    order = explicit_order(units, ordering)
    broken = violations(units, order)
    if broken:
        before, after, reason = broken[0]
        raise InputError(
            None,
            ("plan", "ordering"),
            f"lists {after!r} before {before!r}, but {reason}; expected {before!r} first",
        )
    return order
