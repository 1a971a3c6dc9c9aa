"""Migration units: the scopes the platform migrates in one Prepare/Commit, and their ordering DAG.

Exactly the four scopes of the source document: a cloud service not in a VNet; a VNet with every
cloud service, gateway, service, NSG, route table and reserved IP in it; a storage account; an
unattached NSG, route table or reserved IP. Classic ExpressRoute circuits are units of their own
and move first. Must-precede edges (``rules.md``, "Ordering constraints") form a DAG over units.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx

from sim.common.errors import InputError
from sim.common.gcpause import paused_gc
from sim.model.estate import CloudService, Estate
from sim.model.graph import node_id
from sim.model.plan import Plan

UNIT_KINDS = (
    "expressroute_circuit",
    "vnet",
    "cloud_service",
    "storage_account",
    "nsg",
    "route_table",
    "reserved_ip",
)


@dataclass(frozen=True)
class Unit:
    """One migration unit. ``resources`` are graph node ids; ``vms`` the VM names it carries."""

    id: str
    kind: str
    name: str
    resources: tuple[str, ...]
    vms: tuple[str, ...] = ()
    cloud_services: tuple[str, ...] = ()
    priority: int | None = None
    index: int = 0  # position in the estate's listing, the tie-break of every ordering

    @property
    def vm_count(self) -> int:
        return len(self.vms)

    @property
    def root(self) -> str:
        """The graph node that stands for the unit (the VNet, cloud service, account...)."""
        return node_id(self.kind, self.name)


@dataclass(frozen=True)
class Precedence:
    before: str
    after: str
    reason: str


@dataclass(frozen=True)
class MigrationUnits:
    """All units of an estate, which unit each resource belongs to, and the must-precede DAG."""

    units: tuple[Unit, ...]
    unit_of: dict[str, str]
    precedences: tuple[Precedence, ...]
    dag: nx.DiGraph = field(compare=False)

    def __getitem__(self, unit_id: str) -> Unit:
        return self._by_id[unit_id]

    @cached_property
    def _by_id(self) -> dict[str, Unit]:
        return {u.id: u for u in self.units}

    def ids(self) -> list[str]:
        return [u.id for u in self.units]

    def resolve(self, ref: str) -> str | None:
        """The unit id for a name a user wrote: a unit id, or ``kind:name``."""
        return self._refs.get(ref)

    @cached_property
    def _refs(self) -> dict[str, str]:
        # The first unit (in listing order) that a reference names, by id or by kind:name.
        refs: dict[str, str] = {}
        for u in self.units:
            refs.setdefault(u.id, u.id)
            refs.setdefault(f"{u.kind}:{u.name}", u.id)
        return refs

    @cached_property
    def resource_rows(self) -> dict[str, tuple[tuple[str, str, str], ...]]:
        """Per unit id, each resource once: ``(node id, resource type, unit it belongs to)``.

        What the engine writes into a management window per resource; built once per set of
        units rather than once per replication.
        """
        return {
            u.id: tuple(
                (r, r.split(":", 1)[0], self.unit_of.get(r, u.id))
                for r in dict.fromkeys(u.resources)
            )
            for u in self.units
        }

    def unit_of_resource(self, kind: str, name: str, parent: str | None = None) -> str:
        return self.unit_of[node_id(kind, name, parent)]


def _cloud_service_resources(cs: CloudService) -> list[str]:
    out = [node_id("cloud_service", cs.name)]
    out += [node_id("role", r.name, cs.name) for r in cs.roles]
    sets = dict.fromkeys(
        [
            *(cs.availability_sets or ()),
            *(vm.availability_set for vm in cs.vms if vm.availability_set),
        ]
    )
    out += [node_id("availability_set", s) for s in sets if s]
    out += [node_id("vm", vm.name) for vm in cs.vms]
    if cs.reserved_ip:
        out.append(node_id("reserved_ip", cs.reserved_ip))
    out += [node_id("nsg", vm.nsg) for vm in cs.vms if vm.nsg]
    return out


@paused_gc()
def build_units(estate: Estate, plan: Plan | None = None) -> MigrationUnits:
    """Cut the estate into units and link them by must-precede edges.

    Raises :class:`InputError` (key ``plan.precedence``) for an unknown unit in the plan's own
    constraints or a cycle among the constraints, naming the units in the cycle.
    """
    drafts: list[tuple[str, str, list[str], list[str], list[str], int | None]] = []
    claimed: set[str] = set()

    def claim(nodes: Iterable[str]) -> list[str]:
        # A resource shared by two units (an NSG on subnets of two VNets) moves with the first.
        out = [n for n in dict.fromkeys(nodes) if n not in claimed]
        claimed.update(out)
        return out

    for circuit in estate.expressroute_circuits:
        nodes = claim([node_id("expressroute_circuit", circuit.name)])
        drafts.append(("expressroute_circuit", circuit.name, nodes, [], [], None))
    by_vnet: dict[str, list[CloudService]] = {}
    for cs in estate.cloud_services:
        if cs.vnet:
            by_vnet.setdefault(cs.vnet, []).append(cs)
    for vnet in estate.vnets:
        nodes = [node_id("vnet", vnet.name)]
        nodes += [node_id("subnet", s.name, vnet.name) for s in vnet.subnets]
        nodes += [node_id("gateway", g.name) for g in vnet.gateways]
        nodes += [node_id("service", s.name) for s in vnet.services]
        nodes += [node_id("nsg", s.nsg) for s in vnet.subnets if s.nsg]
        nodes += [node_id("route_table", s.route_table) for s in vnet.subnets if s.route_table]
        members = by_vnet.get(vnet.name, [])
        for cs in members:
            nodes += _cloud_service_resources(cs)
        vms = [vm.name for cs in members for vm in cs.vms]
        prios = [p for p in [vnet.priority, *(cs.priority for cs in members)] if p is not None]
        drafts.append(
            (
                "vnet",
                vnet.name,
                claim(nodes),
                vms,
                [cs.name for cs in members],
                max(prios, default=None),
            )
        )
    for cs in estate.cloud_services:
        if not cs.vnet:
            vms = [vm.name for vm in cs.vms]
            drafts.append(
                (
                    "cloud_service",
                    cs.name,
                    claim(_cloud_service_resources(cs)),
                    vms,
                    [cs.name],
                    cs.priority,
                )
            )
    for account in estate.storage_accounts:
        nodes = claim([node_id("storage_account", account.name)])
        drafts.append(("storage_account", account.name, nodes, [], [], account.priority))
    for kind, items in (
        ("nsg", estate.nsgs),
        ("route_table", estate.route_tables),
        ("reserved_ip", estate.reserved_ips),
    ):
        for item in items:
            key = node_id(kind, item.name)
            if key not in claimed:
                drafts.append((kind, item.name, claim([key]), [], [], None))

    name_counts: dict[str, int] = {}
    for _, name, *_ in drafts:
        name_counts[name] = name_counts.get(name, 0) + 1
    units = tuple(
        Unit(
            id=name if name_counts[name] == 1 else f"{kind}:{name}",
            kind=kind,
            name=name,
            resources=tuple(nodes),
            vms=tuple(vms),
            cloud_services=tuple(css),
            priority=prio,
            index=i,
        )
        for i, (kind, name, nodes, vms, css, prio) in enumerate(drafts)
    )
    unit_of = {n: u.id for u in units for n in u.resources}

    # The first reason given for each (before, after) pair is kept (as _dedupe would keep it);
    # later ones are not even formatted: a 50,000-VM estate has ~125,000 disk edges.
    first: dict[tuple[str, str], Precedence] = {}
    for vnet in estate.vnets:
        for gw in vnet.gateways:
            if gw.circuit:
                edge = (
                    unit_of[node_id("expressroute_circuit", gw.circuit)],
                    unit_of[node_id("vnet", vnet.name)],
                )
                if edge[0] != edge[1] and edge not in first:
                    first[edge] = Precedence(
                        *edge,
                        f"gateway {gw.name} links to ExpressRoute circuit {gw.circuit}: the circuit"
                        " moves first",
                    )
    for _cs, vm in estate.vms():
        holder = unit_of[node_id("vm", vm.name)]
        for disk in vm.disks:
            edge = (holder, unit_of[node_id("storage_account", disk.storage_account)])
            if edge[0] != edge[1] and edge not in first:
                first[edge] = Precedence(
                    *edge, f"storage account {disk.storage_account} holds disks of VM {vm.name}"
                )
        if vm.boot_diagnostics:
            edge = (holder, unit_of[node_id("storage_account", vm.boot_diagnostics)])
            if edge[0] != edge[1] and edge not in first:
                first[edge] = Precedence(
                    *edge,
                    f"storage account {vm.boot_diagnostics} holds boot diagnostics of VM {vm.name}",
                )
    platform = list(first.values())

    by_ref = MigrationUnits(units, unit_of, (), nx.DiGraph())
    own: list[Precedence] = []
    for i, pair in enumerate(plan.precedence if plan else ()):
        ends = []
        for end in ("before", "after"):
            ref = getattr(pair, end)
            resolved = by_ref.resolve(ref)
            if resolved is None:
                raise InputError(
                    None,
                    ("plan", "precedence", i, end),
                    f"unknown unit {ref!r}; expected one of: {', '.join(by_ref.ids()[:12])}",
                )
            ends.append(resolved)
        if ends[0] == ends[1]:
            raise InputError(
                None, ("plan", "precedence", i), f"unit {ends[0]!r} cannot precede itself"
            )
        own.append(Precedence(ends[0], ends[1], f"plan.precedence[{i}]"))

    dag = nx.DiGraph()
    dag.add_nodes_from((u.id, {"kind": u.kind, "vms": u.vm_count}) for u in units)
    all_edges = _dedupe([*platform, *own])
    for p in all_edges:
        dag.add_edge(p.before, p.after, reason=p.reason)
    try:
        cycle = nx.find_cycle(dag)
    except nx.NetworkXNoCycle:
        cycle = []
    if cycle:
        names = [a for a, _ in cycle] + [cycle[0][0]]
        raise InputError(
            None,
            ("plan", "precedence"),
            "must-precede constraints form a cycle: "
            + " -> ".join(names)
            + "; expected an order that can be satisfied",
        )
    return MigrationUnits(units, unit_of, tuple(all_edges), dag)


def _dedupe(items: list[Precedence]) -> list[Precedence]:
    seen: dict[tuple[str, str], Precedence] = {}
    for p in items:
        if p.before != p.after:
            seen.setdefault((p.before, p.after), p)
    return list(seen.values())


def unit_graph(units: MigrationUnits, *, subscription: str = "", location: str = "") -> nx.DiGraph:
    """The migration units as a graph: one node per unit, one edge per ordering constraint.

    A node (keyed by unit id) carries ``kind``, ``name``, ``vms`` (its VM count), ``resources``
    (how many resources it carries) and ``index`` (its place in the estate's listing); an edge
    ``before -> after`` (``before`` must commit before ``after`` starts) carries ``kind``
    (``must-precede``), ``by`` (``platform`` for the migration rules, ``plan`` for
    ``plan.precedence``) and ``reason``. The graph's ``level`` is ``units``; what ``migsim graph
    --level units`` writes and draws.
    """
    g = nx.DiGraph(subscription=subscription, location=location, level="units")
    for u in units.units:
        g.add_node(
            u.id,
            kind=u.kind,
            name=u.name,
            vms=u.vm_count,
            resources=len(u.resources),
            index=u.index,
        )
    for p in units.precedences:
        by = "plan" if p.reason.startswith("plan.precedence") else "platform"
        g.add_edge(p.before, p.after, kind="must-precede", by=by, reason=p.reason)
    return g


def annotate_graph(g: nx.MultiDiGraph, units: MigrationUnits) -> None:
    """Give every node its ``unit`` and add ``must-precede`` edges between unit roots."""
    index = {u.id: u.index for u in units.units}
    for n in g.nodes:
        g.nodes[n]["unit"] = units.unit_of.get(n, "")
        g.nodes[n]["unit_index"] = index.get(g.nodes[n]["unit"], -1)
    for p in units.precedences:
        a, b = units[p.before].root, units[p.after].root
        g.add_edge(a, b, key="must-precede", kind="must-precede", reason=p.reason)
