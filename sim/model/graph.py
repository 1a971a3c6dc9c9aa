"""The estate as a typed dependency graph (networkx), and its export to GraphML, JSON or PNG.

Nodes are resources, keyed ``kind:name`` (subnets ``subnet:vnet/name``, since subnet names repeat
across VNets); each carries ``kind`` and ``name``. Edges carry ``kind``, one of :data:`EDGE_KINDS`:
``A contains B``, ``A attached-to B``, ``VM disk-in account``, ``VM diagnostics-in account``,
``gateway links-to circuit``, ``vnet peers-with vnet`` (both directions), and ``must-precede``
between the root resources of migration units (added by :mod:`sim.model.units`).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx

from sim.common.gcpause import paused_gc
from sim.model.estate import Estate

EDGE_KINDS = (
    "contains",
    "attached-to",
    "disk-in",
    "diagnostics-in",
    "links-to",
    "peers-with",
    "must-precede",
)

NODE_KINDS = (
    "expressroute_circuit",
    "vnet",
    "subnet",
    "gateway",
    "service",
    "cloud_service",
    "role",
    "availability_set",
    "vm",
    "storage_account",
    "nsg",
    "route_table",
    "reserved_ip",
)


def node_id(kind: str, name: str, parent: str | None = None) -> str:
    """The graph key of a resource; ``parent`` scopes subnets (by VNet) and roles (by service)."""
    return f"{kind}:{parent}/{name}" if parent else f"{kind}:{name}"


@paused_gc()
def build_graph(estate: Estate) -> nx.MultiDiGraph:
    """Every resource of the estate as a node, every relation between them as a typed edge."""
    g = nx.MultiDiGraph(subscription=estate.subscription, location=estate.location)

    def add(kind: str, name: str, parent: str | None = None, **attrs: Any) -> str:
        key = node_id(kind, name, parent)
        g.add_node(key, kind=kind, name=name, **attrs)
        return key

    def link(a: str, b: str, kind: str, **attrs: Any) -> None:
        g.add_edge(a, b, key=kind, kind=kind, **attrs)

    for circuit in estate.expressroute_circuits:
        add("expressroute_circuit", circuit.name, subscription=circuit.subscription or "")
    for account in estate.storage_accounts:
        add("storage_account", account.name, sku=account.sku)
    for nsg in estate.nsgs:
        add("nsg", nsg.name)
    for table in estate.route_tables:
        add("route_table", table.name)
    for rip in estate.reserved_ips:
        add("reserved_ip", rip.name)

    for vnet in estate.vnets:
        v = add("vnet", vnet.name)
        for subnet in vnet.subnets:
            s = add("subnet", subnet.name, vnet.name, prefix=subnet.prefix or "")
            link(v, s, "contains")
            if subnet.nsg:
                link(node_id("nsg", subnet.nsg), s, "attached-to")
            if subnet.route_table:
                link(node_id("route_table", subnet.route_table), s, "attached-to")
        for gw in vnet.gateways:
            gnode = add("gateway", gw.name, gateway_kind=gw.kind)
            link(v, gnode, "contains")
            if gw.circuit:
                link(gnode, node_id("expressroute_circuit", gw.circuit), "links-to")
        for svc in vnet.services:
            link(v, add("service", svc.name, service_kind=svc.kind), "contains")
    for vnet in estate.vnets:
        for peer in vnet.peerings:
            a, b = node_id("vnet", vnet.name), node_id("vnet", peer)
            link(a, b, "peers-with")
            link(b, a, "peers-with")

    for cs in estate.cloud_services:
        c = add("cloud_service", cs.name)
        if cs.vnet:
            link(node_id("vnet", cs.vnet), c, "contains")
        if cs.reserved_ip:
            link(node_id("reserved_ip", cs.reserved_ip), c, "attached-to")
        for role in cs.roles:
            link(c, add("role", role.name, cs.name, role_kind=role.kind), "contains")
        for set_name in dict.fromkeys(
            [*(cs.availability_sets or ()), *(vm.availability_set for vm in cs.vms)]
        ):
            if set_name:
                link(c, add("availability_set", set_name), "contains")
        for vm in cs.vms:
            m = add("vm", vm.name, size=vm.size, state=vm.state)
            link(c, m, "contains")
            if vm.availability_set:
                link(node_id("availability_set", vm.availability_set), m, "contains")
            for subnet_name in vm.subnets:
                assert cs.vnet is not None  # the loader refuses subnets outside a VNet
                link(m, node_id("subnet", subnet_name, cs.vnet), "attached-to")
            if vm.nsg:
                link(node_id("nsg", vm.nsg), m, "attached-to")
            per_account = Counter(d.storage_account for d in vm.disks)
            for account_name, disks in per_account.items():
                link(m, node_id("storage_account", account_name), "disk-in", disks=disks)
            if vm.boot_diagnostics:
                link(m, node_id("storage_account", vm.boot_diagnostics), "diagnostics-in")
    return g


def edges_of_kind(g: nx.MultiDiGraph, kind: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b, k in g.edges(keys=True) if k == kind]


def write_graph(g: nx.MultiDiGraph, out: Path) -> None:
    """Write ``g`` in the format its suffix names: ``.graphml`` or ``.json`` (node-link).

    The picture (``.png``) is :func:`sim.outputs.plots.resource_graph`. The caller handles
    atomicity; this writes exactly ``out``. Raises ``ValueError`` for another suffix.
    """
    suffix = out.suffix.lower()
    if suffix == ".graphml":
        nx.write_graphml(g, out)
    elif suffix == ".json":
        data = nx.node_link_data(g, edges="edges")
        out.write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")
    else:
        raise ValueError(f"unsupported graph format {suffix!r}")


GRAPH_SUFFIXES = (".graphml", ".json")
"""The data formats :func:`write_graph` writes."""
