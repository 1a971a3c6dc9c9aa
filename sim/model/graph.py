"""The estate as a typed dependency graph (networkx), and its export to DOT, GraphML or JSON.

Nodes are resources, keyed ``kind:name`` (subnets ``subnet:vnet/name``, since subnet names repeat
across VNets); each carries ``kind`` and ``name``. Edges carry ``kind``, one of :data:`EDGE_KINDS`:
``A contains B``, ``A attached-to B``, ``VM disk-in account``, ``VM diagnostics-in account``,
``gateway links-to circuit``, ``vnet peers-with vnet`` (both directions), and ``must-precede``
between the root resources of migration units (added by :mod:`sim.model.units`). The drawings
(``.svg``, ``.png``) are :func:`sim.outputs.plots.graph_drawing`.
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
    g = nx.MultiDiGraph(
        subscription=estate.subscription, location=estate.location, level="resources"
    )

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


KIND_COLOURS = {
    "expressroute_circuit": "#CC79A7",
    "vnet": "#0072B2",
    "subnet": "#56B4E9",
    "gateway": "#882255",
    "service": "#D55E00",
    "cloud_service": "#009E73",
    "role": "#E41A1C",
    "availability_set": "#F0E442",
    "vm": "#999999",
    "storage_account": "#E69F00",
    "nsg": "#000000",
    "route_table": "#555555",
    "reserved_ip": "#AAAAAA",
}
"""A colour-blind safe (Okabe-Ito based) colour per node kind, the same in every picture and DOT
file."""

EDGE_STYLES = {
    "contains": ("#bbbbbb", "solid"),
    "attached-to": ("#777777", "dotted"),
    "disk-in": ("#E69F00", "solid"),
    "diagnostics-in": ("#E69F00", "dashed"),
    "links-to": ("#CC79A7", "solid"),
    "peers-with": ("#0072B2", "dashed"),
    "must-precede": ("#D55E00", "solid"),
}
"""``(colour, line style)`` per edge kind, in pictures and DOT files."""

DATA_SUFFIXES = (".dot", ".graphml", ".json")
"""The data formats :func:`write_graph` writes."""

PICTURE_SUFFIXES = (".svg", ".png")
"""The drawings (:func:`sim.outputs.plots.graph_drawing`)."""

GRAPH_SUFFIXES = (*PICTURE_SUFFIXES, *DATA_SUFFIXES)
"""Every format ``migsim graph`` writes, picked by the output's suffix."""


def write_graph(g: nx.MultiDiGraph | nx.DiGraph, out: Path) -> None:
    """Write ``g`` in the data format its suffix names: ``.dot`` (Graphviz), ``.graphml`` or
    ``.json`` (node-link). Works for the resource graph and for :func:`sim.model.units.unit_graph`.

    The same graph always gives the same bytes. The pictures (``.svg``, ``.png``) are
    :func:`sim.outputs.plots.graph_drawing`. The caller handles atomicity; this writes exactly
    ``out``. Raises ``ValueError`` for another suffix.
    """
    suffix = out.suffix.lower()
    if suffix == ".graphml":
        nx.write_graphml(g, out)
    elif suffix == ".json":
        data = nx.node_link_data(g, edges="edges")
        out.write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")
    elif suffix == ".dot":
        out.write_text(dot_text(g))
    else:
        raise ValueError(f"unsupported graph format {suffix!r}")


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def describe(g: nx.MultiDiGraph | nx.DiGraph) -> str:
    """One line that says what ``g`` shows: ``Resource graph of contoso-prod: 33 resources, 42
    relations`` or, for :func:`sim.model.units.unit_graph`, ``Migration units of contoso-prod: 10
    units, 5 VMs, 4 ordering constraints``."""
    subscription = g.graph.get("subscription", "")
    of = f" of {subscription}" if subscription else ""
    if g.graph.get("level") == "units":
        vms = sum(int(d.get("vms", 0)) for _, d in g.nodes(data=True))
        return (
            f"Migration units{of}: {_count(g.number_of_nodes(), 'unit')}, {_count(vms, 'VM')},"
            f" {_count(g.number_of_edges(), 'ordering constraint')}"
        )
    return (
        f"Resource graph{of}: {_count(g.number_of_nodes(), 'resource')},"
        f" {_count(g.number_of_edges(), 'relation')}"
    )


def _quoted(text: str) -> str:
    # pydot reads ``a:b`` as node a, port b: ids are quoted as pydot quotes attribute values.
    from pydot.core import quote_id_if_necessary

    quoted: str = quote_id_if_necessary(text)
    return quoted if quoted.startswith('"') else f'"{quoted}"'


def _set_attrs(item: Any, data: dict[str, Any], **style: str) -> None:
    # Values are written as strings (pydot quotes them); ``name`` is DOT's own word for ids.
    for k, v in data.items():
        item.set("resource_name" if k == "name" else k, str(v))
    for k, v in style.items():
        item.set(k, v)


def dot_text(g: nx.MultiDiGraph | nx.DiGraph) -> str:
    """``g`` as a Graphviz DOT document (pydot), ready for ``dot -Tsvg``: left to right, every node
    labelled with its name and filled with its kind's colour, every edge coloured by its kind, and
    (resource graphs) each migration unit's resources in a cluster of their own. Every node and
    edge attribute of ``g`` is kept; ``name`` is written ``resource_name``."""
    import pydot

    units_level = g.graph.get("level") == "units"
    dot = pydot.Dot(
        "migsim",
        graph_type="digraph",
        strict=False,
        rankdir="LR",
        fontname="Helvetica",
        label=describe(g),
        labelloc="t",
    )
    for key, value in sorted(g.graph.items()):
        dot.set(key if key not in ("name", "label") else f"graph_{key}", str(value))
    dot.set_node_defaults(style="filled", fontname="Helvetica", fontsize="10")
    dot.set_edge_defaults(arrowsize="0.6")
    clusters: dict[str, pydot.Subgraph] = {}
    for n, data in g.nodes(data=True):
        kind = str(data.get("kind", ""))
        colour = KIND_COLOURS.get(kind, "#FFFFFF")
        label = str(data.get("name", n))
        if units_level:
            vms = int(data.get("vms", 0))
            label += f"\\n{vms} VM{'s' if vms != 1 else ''}" if vms else ""
        node = pydot.Node(_quoted(str(n)))
        _set_attrs(
            node,
            data,
            label=label,
            fillcolor=colour,
            fontcolor="white" if kind in ("vnet", "gateway", "nsg", "route_table") else "black",
            shape="box" if kind in ("vnet", "cloud_service", "storage_account") else "ellipse",
        )
        unit = str(data.get("unit", "")) if not units_level else ""
        if unit:
            if unit not in clusters:
                clusters[unit] = pydot.Subgraph(
                    f"cluster_unit{len(clusters)}",
                    label=f"unit {unit}",
                    style="rounded",
                    color="#999999",
                )
                dot.add_subgraph(clusters[unit])
            clusters[unit].add_node(node)
        else:
            dot.add_node(node)
    for a, b, data in g.edges(data=True):
        kind = str(data.get("kind", "must-precede"))
        colour, style = EDGE_STYLES.get(kind, ("#000000", "solid"))
        if units_level and data.get("by") == "plan":
            style = "dashed"
        edge = pydot.Edge(_quoted(str(a)), _quoted(str(b)))
        _set_attrs(
            edge,
            data,
            color=colour,
            style=style,
            penwidth="1.6" if kind == "must-precede" else "1.0",
        )
        dot.add_edge(edge)
    text: str = dot.to_string()
    return text
