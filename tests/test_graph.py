"""The dependency graph: every resource a node, every relation a typed edge, and its exports."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

from sim.model.estate import Estate
from sim.model.graph import EDGE_KINDS, build_graph, edges_of_kind, node_id, write_graph
from sim.model.scenario import load_scenario
from sim.model.units import annotate_graph, build_units
from sim.outputs.plots import resource_graph, save_figure

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"


@pytest.fixture(scope="module")
def contoso_graph() -> nx.MultiDiGraph:
    sc = load_scenario(CONTOSO)
    g = build_graph(sc.estate)
    annotate_graph(g, build_units(sc.estate, sc.plan))
    return g


def test_every_resource_is_a_node(contoso_graph: nx.MultiDiGraph) -> None:
    kinds = {d["kind"] for _, d in contoso_graph.nodes(data=True)}
    assert kinds >= {
        "expressroute_circuit", "vnet", "subnet", "gateway", "service", "cloud_service",
        "availability_set", "vm", "storage_account", "nsg", "route_table", "reserved_ip",
    }  # fmt: skip
    # Two GatewaySubnets in different VNets stay two nodes.
    assert node_id("subnet", "GatewaySubnet", "vnet-prod") in contoso_graph
    assert node_id("subnet", "GatewaySubnet", "vnet-shared") in contoso_graph
    # 5 VMs, 4 cloud services, 2 vnets, 7 subnets, 2 gateways, 1 service, 1 set, 4 accounts,
    # 3 NSGs, 1 route table, 3 reserved IPs, 1 circuit
    assert contoso_graph.number_of_nodes() == 6 + 4 + 2 + 5 + 2 + 1 + 1 + 4 + 3 + 1 + 3 + 1


def test_typed_edges(contoso_graph: nx.MultiDiGraph) -> None:
    g = contoso_graph
    assert {k for _, _, k in g.edges(keys=True)} <= set(EDGE_KINDS)
    assert ("vm:sql-01", "storage_account:stprodvhds") in edges_of_kind(g, "disk-in")
    # sql-01 has three disks in one account: one edge that counts them
    assert g.edges["vm:sql-01", "storage_account:stprodvhds", "disk-in"]["disks"] == 3
    assert ("gateway:gw-shared", "expressroute_circuit:er-ams") in edges_of_kind(g, "links-to")
    peers = edges_of_kind(g, "peers-with")
    assert ("vnet:vnet-prod", "vnet:vnet-shared") in peers
    assert ("vnet:vnet-shared", "vnet:vnet-prod") in peers
    assert ("nsg:nsg-web", "subnet:vnet-prod/web") in edges_of_kind(g, "attached-to")
    assert ("vm:web-01", "subnet:vnet-prod/web") in edges_of_kind(g, "attached-to")
    assert ("availability_set:as-web", "vm:web-02") in edges_of_kind(g, "contains")
    assert ("vnet:vnet-prod", "cloud_service:cs-web") in edges_of_kind(g, "contains")


def test_must_precede_edges_between_unit_roots(contoso_graph: nx.MultiDiGraph) -> None:
    precede = set(edges_of_kind(contoso_graph, "must-precede"))
    assert ("expressroute_circuit:er-ams", "vnet:vnet-shared") in precede
    assert ("vnet:vnet-prod", "storage_account:stprodvhds") in precede
    assert ("cloud_service:cs-legacy", "storage_account:stlegacy") in precede
    assert not any(b == "storage_account:stlogs" for _, b in precede)  # blobs and tables only
    assert contoso_graph.nodes["vm:web-01"]["unit"] == "vnet-prod"
    assert contoso_graph.nodes["vm:legacy-01"]["unit"] == "cs-legacy"


def test_diagnostics_edge() -> None:
    estate = Estate.model_validate(
        {
            "storage_accounts": [{"name": "sta"}, {"name": "stdiag", "sku": "Premium_LRS"}],
            "cloud_services": [
                {
                    "name": "cs",
                    "vms": [
                        {"name": "vm1", "os_disk": {"storage_account": "sta"},
                         "boot_diagnostics": "stdiag"},
                    ],
                }
            ],
        }
    )  # fmt: skip
    g = build_graph(estate)
    assert edges_of_kind(g, "diagnostics-in") == [("vm:vm1", "storage_account:stdiag")]


@pytest.mark.parametrize("suffix", [".graphml", ".json"])
def test_exports_round_trip(contoso_graph: nx.MultiDiGraph, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"g{suffix}"
    write_graph(contoso_graph, out)
    if suffix == ".graphml":
        back = nx.read_graphml(out, force_multigraph=True)
    else:
        back = nx.node_link_graph(json.loads(out.read_text()), edges="edges")
    assert back.number_of_nodes() == contoso_graph.number_of_nodes()
    assert back.number_of_edges() == contoso_graph.number_of_edges()
    assert back.nodes["vm:web-01"]["kind"] == "vm"


def _write(g: nx.MultiDiGraph, out: Path) -> None:
    if out.suffix == ".png":
        save_figure(resource_graph(g), out)
    else:
        write_graph(g, out)


def test_exports_are_deterministic(contoso_graph: nx.MultiDiGraph, tmp_path: Path) -> None:
    for suffix in (".graphml", ".json", ".png"):
        a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
        _write(contoso_graph, a)
        _write(contoso_graph, b)
        assert a.read_bytes() == b.read_bytes(), suffix


def test_write_graph_refuses_a_picture_suffix(
    contoso_graph: nx.MultiDiGraph, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"unsupported graph format '\.png'"):
        write_graph(contoso_graph, tmp_path / "g.png")


def test_png_is_a_picture(contoso_graph: nx.MultiDiGraph, tmp_path: Path) -> None:
    import matplotlib.image

    out = tmp_path / "g.png"
    save_figure(resource_graph(contoso_graph), out)
    img = matplotlib.image.imread(out)
    assert img.shape[0] > 500 and img.shape[1] > 800
    assert img.std() > 0.05  # not a blank canvas
