"""``migsim graph``: every format by suffix, outputs never replaced without ``--force``, a large
estate drawn as migration units (and said so), labels beside nodes and never on them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import defusedxml.ElementTree as ET
import matplotlib.image
import networkx as nx
import pydot
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from sim.importers.generate import generate_estate, scenario_yaml
from sim.model.graph import GRAPH_SUFFIXES, build_graph, dot_text
from sim.model.scenario import load_scenario
from sim.model.units import MigrationUnits, annotate_graph, build_units, unit_graph
from sim.outputs.plots import RESOURCE_DRAWING_LIMIT, drawing_level, graph_drawing

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"
SVG = "{http://www.w3.org/2000/svg}"

# pydot's DOT parser (only the tests read DOT back) still calls pyparsing's old names.
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated - use:DeprecationWarning")


def migsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def _graph_and_units(path: Path) -> tuple[nx.MultiDiGraph, MigrationUnits]:
    sc = load_scenario(path)
    g = build_graph(sc.estate)
    units = build_units(sc.estate, sc.plan)
    annotate_graph(g, units)
    return g, units


@pytest.fixture(scope="module")
def contoso() -> tuple[nx.MultiDiGraph, MigrationUnits]:
    return _graph_and_units(CONTOSO)


@pytest.fixture(scope="module")
def big_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-VM scenario, built through the library (whatever ``migsim generate`` writes)."""
    path = tmp_path_factory.mktemp("big") / "big.yaml"
    path.write_text(scenario_yaml(generate_estate(2000, seed=0), "big-2000"), "utf-8")
    return path


def _svg_nodes(path: Path) -> int:
    """The node markers in an SVG drawing: one ``<use>`` (or ``<path>``) per node in each kind's
    group (``id="nodes-KIND"``)."""
    total = 0
    for g in ET.parse(path).getroot().iter(f"{SVG}g"):
        if g.get("id", "").startswith("nodes-"):
            tags = [e.tag for e in g.iter() if e is not g]
            uses = tags.count(f"{SVG}use")
            total += uses if uses else tags.count(f"{SVG}path")
    return total


def _svg_text(path: Path) -> str:
    return " ".join(t.text or "" for t in ET.parse(path).getroot().iter(f"{SVG}text"))


# ---- every format by suffix --------------------------------------------------------------------


@pytest.mark.parametrize("suffix", GRAPH_SUFFIXES)
def test_each_suffix_writes_a_readable_file(
    tmp_path: Path, suffix: str, contoso: tuple[nx.MultiDiGraph, MigrationUnits]
) -> None:
    g, _ = contoso
    out = tmp_path / "sub" / f"contoso{suffix}"
    result = migsim("graph", str(CONTOSO), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"Wrote {out}" in result.stdout
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left behind
    if suffix == ".svg":
        assert _svg_nodes(out) == g.number_of_nodes() == 33
        text = _svg_text(out)
        assert "Resource graph of contoso-prod" in text
        assert "stprodvhds" in text and "web-01" in text  # names are text a browser can find
    elif suffix == ".png":
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = matplotlib.image.imread(out)
        assert img.shape[0] > 500 and img.shape[1] > 1000
        assert img.std() > 0.05  # not a blank canvas
    elif suffix == ".dot":
        (dot,) = pydot.graph_from_dot_data(out.read_text())
        names: set[str] = set()
        for sub in [dot, *dot.get_subgraphs()]:
            names |= {n.get_name().strip('"') for n in sub.get_nodes()}
        assert names >= set(g.nodes) and len(set(g.nodes)) == 33
        edges = {
            (e.get_source().strip('"'), e.get_destination().strip('"')) for e in dot.get_edges()
        }
        assert ("vnet:vnet-prod", "storage_account:stprodvhds") in edges  # must-precede
        assert len(dot.get_edges()) == g.number_of_edges()
        # each unit's resources in a cluster of their own
        clusters = {s.get_label().strip('"'): s for s in dot.get_subgraphs()}
        in_prod = {n.get_name().strip('"') for n in clusters["unit vnet-prod"].get_nodes()}
        assert {"vm:web-01", "subnet:vnet-prod/web", "cloud_service:cs-web"} <= in_prod
    elif suffix == ".graphml":
        back = nx.read_graphml(out, force_multigraph=True)
        assert back.number_of_nodes() == 33 and back.number_of_edges() == g.number_of_edges()
        assert back.nodes["vm:web-01"]["unit"] == "vnet-prod"
    else:
        back = nx.node_link_graph(json.loads(out.read_text()), edges="edges")
        assert back.number_of_nodes() == 33 and back.number_of_edges() == g.number_of_edges()


def test_unknown_suffix_lists_the_suffixes(tmp_path: Path) -> None:
    out = tmp_path / "g.pdf"
    result = migsim("graph", str(CONTOSO), "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert "'.pdf'" in message
    for suffix in (".svg", ".png", ".dot", ".graphml", ".json"):
        assert suffix in message
    assert not out.exists()


def test_an_existing_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    out = tmp_path / "g.png"
    out.write_text("keep me")
    result = migsim("graph", str(CONTOSO), "--out", str(out))
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "already exists" in message and "--force" in message
    assert out.read_text() == "keep me"
    result = migsim("graph", str(CONTOSO), "--out", str(out), "--force")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() != b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_dot_svg_and_png_are_deterministic(
    tmp_path: Path, contoso: tuple[nx.MultiDiGraph, MigrationUnits]
) -> None:
    from sim.outputs.plots import save_figure

    g, units = contoso
    assert dot_text(g) == dot_text(g)
    for suffix in (".svg", ".png"):
        a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
        save_figure(graph_drawing(g, units).figure, a)
        save_figure(graph_drawing(g, units).figure, b)
        assert a.read_bytes() == b.read_bytes(), suffix


# ---- units instead of resources ----------------------------------------------------------------


def test_auto_draws_resources_up_to_the_limit_and_units_beyond() -> None:
    assert drawing_level(RESOURCE_DRAWING_LIMIT) == ("resources", "")
    level, why = drawing_level(RESOURCE_DRAWING_LIMIT + 1)
    assert level == "units" and f"{RESOURCE_DRAWING_LIMIT + 1:,} resources" in why
    assert drawing_level(10, "units") == ("units", "")
    assert drawing_level(10_000, "resources") == ("resources", "")


def test_a_large_estate_is_drawn_as_units(tmp_path: Path, big_scenario: Path) -> None:
    g, units = _graph_and_units(big_scenario)
    assert g.number_of_nodes() > RESOURCE_DRAWING_LIMIT
    for suffix in (".svg", ".png"):
        out = tmp_path / f"big{suffix}"
        result = migsim("graph", str(big_scenario), "--out", str(out))
        assert result.returncode == 0, result.stderr
        said = " ".join(result.stdout.split())
        assert f"migration units of contoso-synthetic: {len(units.units)} units, 2,000 VMs" in said
        assert (
            f"It shows the units: {g.number_of_nodes():,} resources are more than the"
            f" {RESOURCE_DRAWING_LIMIT}" in said
        )
        if suffix == ".svg":
            assert _svg_nodes(out) == len(units.units) == 171
            text = _svg_text(out)
            assert "Migration units of contoso-synthetic" in text
            assert "Drawn as migration units, not resources" in text
            assert "vnet-07 · 247 VMs" in text  # a unit's label carries its VM count


def test_level_units_writes_the_unit_graph(tmp_path: Path) -> None:
    out = tmp_path / "units.json"
    result = migsim("graph", str(CONTOSO), "--out", str(out), "--level", "units")
    assert result.returncode == 0, result.stderr
    back = nx.node_link_graph(json.loads(out.read_text()), edges="edges")
    sc = load_scenario(CONTOSO)
    units = build_units(sc.estate, sc.plan)
    assert set(back.nodes) == {u.id for u in units.units}
    assert {(p.before, p.after) for p in units.precedences} == set(back.edges)
    assert back.nodes["vnet-prod"]["vms"] == 3 and back.nodes["cs-legacy"]["vms"] == 2
    assert back.nodes["stprodvhds"]["vms"] == 0
    assert back.edges["er-ams", "vnet-shared"]["by"] == "platform"


def test_plan_precedence_edges_are_marked() -> None:
    sc = load_scenario(CONTOSO, ["plan.precedence=[{before: stlogs, after: cs-legacy}]"])
    ug = unit_graph(build_units(sc.estate, sc.plan))
    assert ug.edges["stlogs", "cs-legacy"]["by"] == "plan"
    assert ug.edges["stlogs", "cs-legacy"]["reason"] == "plan.precedence[0]"


# ---- labels beside nodes, never on them ---------------------------------------------------------


def _boxes(fig: Figure) -> tuple[list[Bbox], list[tuple[str, Bbox]]]:
    """The display-space boxes of every node marker and of every text in the drawing's axes."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    (ax,) = fig.axes
    markers: list[Bbox] = []
    for coll in ax.collections:
        if not isinstance(coll, PathCollection) or not str(coll.get_gid()).startswith("nodes-"):
            continue
        points = ax.transData.transform(coll.get_offsets())
        for (x, y), s in zip(points, coll.get_sizes(), strict=True):
            r = (s**0.5) / 2 * fig.dpi / 72
            markers.append(Bbox.from_extents(x - r, y - r, x + r, y + r))
    texts = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts]
    return markers, texts


def _overlap(a: Bbox, b: Bbox, slack: float = 0.5) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > slack and min(a.y1, b.y1) - max(a.y0, b.y0) > slack


@pytest.mark.parametrize("level", ["resources", "units"])
def test_no_label_sits_on_a_node(
    contoso: tuple[nx.MultiDiGraph, MigrationUnits], level: str
) -> None:
    g, units = contoso
    fig = graph_drawing(g, units, level).figure  # type: ignore[arg-type]
    markers, texts = _boxes(fig)
    assert len(markers) == (33 if level == "resources" else 10)
    names = [t for t, _ in texts]
    assert ("web-01" if level == "resources" else "vnet-prod · 3 VMs") in names
    for text, box in texts:
        hits = [m for m in markers if _overlap(box, m)]
        assert not hits, f"label {text!r} lies on a node marker"
    for i, (a, box_a) in enumerate(texts):
        for b, box_b in texts[i + 1 :]:
            assert not _overlap(box_a, box_b), f"labels {a!r} and {b!r} overlap"


def test_no_label_sits_on_a_unit_of_a_large_estate(big_scenario: Path) -> None:
    g, units = _graph_and_units(big_scenario)
    drawing = graph_drawing(g, units)
    assert drawing.level == "units" and "3,354 resources" in drawing.reason
    markers, texts = _boxes(drawing.figure)
    assert len(markers) == len(units.units)
    assert len(texts) > len(units.units)  # every unit named, and the column headers
    for text, box in texts:
        assert not any(_overlap(box, m) for m in markers), f"label {text!r} lies on a node"


def test_an_empty_estate_and_an_unannotated_graph_still_draw(tmp_path: Path) -> None:
    from sim.model.estate import Estate
    from sim.model.graph import write_graph
    from sim.outputs.plots import resource_graph

    estate = Estate.model_validate({})
    g = build_graph(estate)
    units = build_units(estate)
    annotate_graph(g, units)
    titles = {"resources": "0 resources, 0 relations", "units": "0 units, 0 VMs"}
    for level, title in titles.items():
        drawing = graph_drawing(g, units, level)  # type: ignore[arg-type]
        assert title in drawing.title and drawing.level == level
    for suffix in (".dot", ".graphml", ".json"):
        write_graph(unit_graph(units), tmp_path / f"u{suffix}")
        assert (tmp_path / f"u{suffix}").stat().st_size > 0
    # a notebook's graph without units: one band, every resource still drawn and named
    sc = load_scenario(CONTOSO)
    markers, texts = _boxes(resource_graph(build_graph(sc.estate)))
    assert len(markers) == 33 and "web-01" in [t for t, _ in texts]
