"""Ordering strategies: each a small function of the unit graph giving a sort key per unit.

Every strategy yields a topological order of the must-precede DAG; the strategy only breaks ties
among units that are free to go. An explicit list names units in the order wanted; units it leaves
out follow in the estate's order, and a list that breaks a must-precede constraint is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import networkx as nx

from sim.errors import InputError
from sim.units import MigrationUnits, Unit

SortKey = Callable[[Unit], tuple[float, ...]]


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


STRATEGIES: dict[str, SortKey] = {
    "as_listed": as_listed,
    "smallest_first": smallest_first,
    "largest_first": largest_first,
    "priority": priority,
}


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
    for i, ref in enumerate(names):
        uid = units.resolve(ref)
        if uid is None:
            raise InputError(
                None,
                ("plan", "ordering", i),
                f"unknown unit {ref!r}; expected one of: {', '.join(units.ids()[:12])}",
            )
        if uid in chosen:
            raise InputError(None, ("plan", "ordering", i), f"unit {ref!r} is listed twice")
        chosen.append(uid)
    return chosen + [u for u in units.ids() if u not in chosen]


def order_units(units: MigrationUnits, ordering: str | Sequence[str]) -> list[str]:
    """The order in which units are handed to the crews.

    A named strategy always respects the DAG. An explicit list that breaks a constraint raises
    :class:`InputError` at ``plan.ordering`` (``migsim validate`` reports it as MIG027/MIG010).
    """
    if isinstance(ordering, str):
        key = STRATEGIES.get(ordering)
        if key is None:
            raise InputError(
                None,
                ("plan", "ordering"),
                f"unknown strategy {ordering!r}; expected one of: {', '.join(STRATEGIES)}"
                " or a list of unit names",
            )
        by_id = {u.id: u for u in units.units}
        return list(nx.lexicographical_topological_sort(units.dag, key=lambda n: key(by_id[n])))
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
