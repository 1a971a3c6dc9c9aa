"""The pictures (sim.outputs.plots): what each figure shows, drawn from results data only."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.text import Text

from sim.common.clocktime import nearest_minute
from sim.experiments.replications import Prepared
from sim.experiments.run import RunResult, run_scenario
from sim.model.scenario import Scenario, load_scenario
from sim.outputs import plots
from sim.outputs.records import Window

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"


@pytest.fixture(scope="module")
def contoso() -> Scenario:
    return load_scenario(CONTOSO)


@pytest.fixture(scope="module")
def contoso_run(contoso: Scenario) -> RunResult:
    return run_scenario(contoso)


def _markers(ax: Axes, marker: str) -> list[Line2D]:
    return [ln for ln in ax.get_lines() if isinstance(ln, Line2D) and ln.get_marker() == marker]


def _xs(line: Line2D) -> npt.NDArray[np.float64]:
    return np.asarray(line.get_xdata(), dtype=np.float64)


# ---- the timeline -------------------------------------------------------------------------------


def test_timeline_keeps_its_signature_and_rows(contoso_run: RunResult) -> None:
    by_resource = plots.timeline(contoso_run, by="resource")
    labels = [t.get_text() for t in by_resource.axes[0].get_yticklabels()]
    n_resources = sum(len(u.resources) for u in contoso_run.units.units)
    assert len(labels) == n_resources + len(contoso_run.units.units)
    assert plots.timeline(contoso_run).axes[0].get_yticklabels()[1].get_text() == labels[1]
    by_unit = plots.timeline(contoso_run, by="unit")
    unit_labels = [t.get_text() for t in by_unit.axes[0].get_yticklabels()]
    assert len(unit_labels) == len(contoso_run.replication.outcomes)
    assert any(label.startswith("vnet-prod (VNet, 3 VMs)") for label in unit_labels)
    assert "one row per unit" in by_unit.axes[0].get_title()


def test_timeline_marks_failures_retries_and_maintenance(contoso_run: RunResult) -> None:
    rep = contoso_run.replication
    fails = [e for e in rep.events if e.outcome == "fail"]
    retries = [e for e in rep.events if e.outcome == "start" and e.attempt > 1]
    assert fails and retries  # seed 42: nsg-orphan's first Commit fails and is retried
    ax = plots.timeline(contoso_run, by="unit").axes[0]
    assert sum(_xs(ln).size for ln in _markers(ax, "X")) == len(fails)
    assert sum(_xs(ln).size for ln in _markers(ax, "o")) == len(retries)
    green = to_rgba(plots.MAINTENANCE)[:3]
    shades = [p for p in ax.patches if tuple(p.get_facecolor()[:3]) == green]
    assert len(shades) == len(rep.maintenance) >= 1
    legend = [t.get_text() for t in ax.figure.legends[0].get_texts()]
    assert "maintenance window" in legend
    assert any("retry" in t for t in legend) and any("failed" in t for t in legend)


def test_timeline_by_unit_merges_overlapping_windows(contoso_run: RunResult) -> None:
    ax = plots.timeline(contoso_run, by="unit").axes[0]
    lock_colour = to_rgba(str(plots.LOCK["facecolor"]), 0.55)
    assert plots.LOCK["alpha"] == 0.55
    bars = [
        c
        for c in ax.collections
        if isinstance(c, PolyCollection)
        and np.asarray(c.get_facecolor()).size
        and tuple(np.asarray(c.get_facecolor())[0]) == lock_colour
    ]
    assert len(bars) == 1  # every lock bar of every row in one collection
    rows: dict[float, list[tuple[float, float]]] = {}
    for v in (np.asarray(p.vertices) for p in bars[0].get_paths()):
        rows.setdefault(float(np.min(v[:, 1]) + np.max(v[:, 1])) / 2, []).append(
            (float(np.min(v[:, 0])), float(np.max(v[:, 0])))
        )
    assert sorted(rows) == list(range(len(contoso_run.replication.outcomes)))  # each unit row
    for spans in rows.values():
        spans.sort()
        assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
    # every unit's resources are locked together here: one lock bar per unit row
    assert min(len(spans) for spans in rows.values()) == 1


def test_timeline_clock_axis_and_title_placement(contoso_run: RunResult) -> None:
    fig = plots.timeline(contoso_run)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time (UTC)"
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0].startswith("Sat 05 Dec")
    # the figure title sits above the axes title, whatever the figure's height
    suptitle = vars(fig)["_suptitle"]
    assert isinstance(suptitle, Text)
    title_box = suptitle.get_window_extent()
    axes_title = ax.title.get_window_extent()
    assert title_box.y0 >= axes_title.y1


def test_timeline_without_a_start_counts_hours(contoso: Scenario) -> None:
    plan = contoso.plan.model_copy(update={"start": None, "maintenance_windows": ()})
    result = run_scenario(contoso.model_copy(update={"plan": plan}))
    ax = plots.timeline(result).axes[0]
    assert ax.get_xlabel().startswith("hours from the plan's start")


# ---- VMs down / resources locked over time ------------------------------------------------------


def _w(resource: str, kind: str, a: float, b: float, rtype: str = "vm") -> Window:
    return Window(resource, rtype, "u", kind, a, b, "")


def test_exposure_counts_vms_once_and_resources_by_class() -> None:
    ws = [
        _w("vm:a", "data", 0, 10),
        _w("vm:a", "data", 5, 15),  # the same VM down twice: counted once
        _w("vm:b", "data", 12, 20),
        _w("service:g", "data", 0, 99, "service"),  # not a VM
        _w("vm:a", "management", 0, 30),
        _w("vnet:v", "management", 0, 30, "vnet"),
        _w("vm:a", "exposure", 40, 50),
    ]
    series = plots.exposure_intervals(ws)
    assert sorted(series["down"]) == [(0, 15), (12, 20)]
    assert sorted(series["locked"]) == [(0, 30), (0, 30)]
    assert series["gap"] == [(40, 50)]
    fig = plots.exposure(ws)
    down = fig.axes[0]
    line = down.get_lines()[0]
    assert float(np.max(np.asarray(line.get_ydata()))) == 2  # vm:a and vm:b overlap at 12-15
    assert "peak 2" in " ".join(t.get_text() for t in down.texts)
    assert not [c for c in down.collections if isinstance(c, PolyCollection)]  # no band


def test_exposure_band_across_replications(contoso: Scenario, contoso_run: RunResult) -> None:
    prepared = Prepared.of(contoso)
    reps = [prepared.replicate(r).windows for r in range(4)]
    rep = contoso_run.replication
    fig = plots.exposure(
        rep.windows,
        origin=rep.origin,
        maintenance=rep.maintenance,
        horizon=rep.horizon,
        replications=reps,
    )
    assert len(fig.axes) == 3
    for ax in fig.axes:
        assert [c for c in ax.collections if isinstance(c, PolyCollection)]  # the P10-P90 band
    assert [a.get_title(loc="left") for a in fig.axes] == [
        "VMs down (data plane)",
        "resources with the management plane locked",
        "resources in a remediation gap",
    ]
    assert fig.axes[-1].get_xlabel() == "time (UTC)"
    assert fig.axes[0].get_ylabel() == "VMs"
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "P10-P90 over 4 replications" in legend


# ---- risk curves --------------------------------------------------------------------------------


def test_ecdf_marks_p50_p80_p90() -> None:
    values = {"a": [float(x) for x in range(1, 11)], "b": [2.0 * x for x in range(1, 11)]}
    fig = plots.ecdf(values, "makespan_hours")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "makespan (hours)"
    for marker, p in (("o", 50), ("s", 80), ("^", 90)):
        lines = _markers(ax, marker)
        xs = sorted(float(np.asarray(ln.get_xdata())[0]) for ln in lines)
        assert xs == pytest.approx(sorted(float(np.percentile(v, p)) for v in values.values()))
        assert all(float(np.asarray(ln.get_ydata())[0]) == p / 100 for ln in lines)
    legend = ax.get_legend()
    assert legend is not None
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts[0] == "a: P50 5.50, P80 8.20, P90 9.10"
    # the two alternatives differ in colour and in line style
    steps = [ln for ln in ax.get_lines() if ln.get_drawstyle() == "steps-post"]
    assert steps[0].get_color() != steps[1].get_color()
    assert steps[0].get_linestyle() != steps[1].get_linestyle()


def test_risk_curves_one_panel_per_metric() -> None:
    rows = [
        [{"makespan_hours": 4.0 + r / 10, "vm_hours_down": 1.0} for r in range(5)],
        [{"makespan_hours": 3.0 + r / 10, "vm_hours_down": 2.0} for r in range(5)],
    ]
    samples = plots.samples_by_alternative(["x", "y"], rows)
    assert samples["makespan_hours"]["y"][0] == 3.0
    fig = plots.risk_curves(samples)
    assert [ax.get_title(loc="left") for ax in fig.axes] == [
        "makespan",
        "VM-hours of data downtime",
    ]


# ---- tornado and criticality --------------------------------------------------------------------


def test_tornado_sorts_by_swing_and_lists_factors_without_effect() -> None:
    rows = [
        plots.TornadoBar("check", "0m", "60m", 4.3, 5.3),
        plots.TornadoBar("crews", "1", "3", 24.1, 3.6),
        plots.TornadoBar("failures.validate", "0", "0", 4.5, 4.5),
        plots.TornadoBar("durations.stop", "x0.5", "x1.5", 4.6, 4.55),  # both below base
    ]
    fig = plots.tornado(rows, base=4.5, metric="makespan_hours", statistic="p80", replications=9)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["crews", "check", "durations.stop"]
    assert ax.get_xlabel() == "P80 makespan (hours)"
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "no effect: failures.validate" in texts
    # with the records' status: a factor whose plan value is 0 was not varied, not without effect
    rows[2] = plots.TornadoBar("failures.validate", "0", "0", 4.5, 4.5, "not varied (base is 0)")
    rows.append(plots.TornadoBar("durations.abort", "x0.5", "x1.5", 4.5, 4.5, "varied"))
    fig = plots.tornado(rows, base=4.5, metric="makespan_hours", statistic="p80")
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "no effect: durations.abort; not varied (base is 0): failures.validate" in texts
    labels = [t.get_text() for t in ax.texts]
    assert "1: 24.1" in labels and "3: 3.60" in labels
    assert "x0.5: 4.60  |  x1.5: 4.55" in labels  # one label when both bars share a side
    assert "9 replications" in ax.get_title()


def test_criticality_bars_highest_first() -> None:
    fig = plots.criticality({"a": 0.2, "b": 1.0, "c": 0.0, "d": 0.55}, replications=20)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "d", "a"]
    assert "1 units never on the critical path" in ax.get_title()
    assert [t.get_text() for t in ax.texts] == ["100%", "55%", "20%"]


def test_criticality_with_resource_criticality_two_bars_per_unit() -> None:
    fig = plots.criticality(
        [("a", 0.0), ("b", 1.0), ("c", 0.0), ("d", 0.0)],
        resource={"a": 0.5, "b": 0.25, "c": 0.0, "d": 0.75},
        replications=4,
    )
    ax = fig.axes[0]
    # by the criticality index, then the resource criticality; c is neither
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "d", "a"]
    assert [t.get_text() for t in ax.texts] == ["100%", "0%", "0%", "25%", "75%", "50%"]
    assert "3 units never on the critical path" in ax.get_title()
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 3 and len(ax.patches) == 6
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "criticality index" in legend and "resource criticality" in legend


# ---- the dependency graph -----------------------------------------------------------------------

UNITS = [
    {"id": "er", "kind": "expressroute_circuit", "status": "clean", "vms": [], "after": []},
    {"id": "vnet", "kind": "vnet", "status": "remediate", "vms": ["a", "b"], "after": ["er"]},
    {"id": "cs", "kind": "cloud_service", "status": "blocked", "vms": ["c"], "after": []},
    {"id": "st1", "kind": "storage_account", "status": "clean", "vms": [], "after": ["vnet"]},
    {"id": "st2", "kind": "storage_account", "status": "clean", "vms": [], "after": ["cs"]},
    {"id": "nsg", "kind": "nsg", "status": "clean", "vms": [], "after": []},
]


def test_dependency_graph_boxes_edges_and_status() -> None:
    fig = plots.dependency_graph(UNITS)
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(boxes) == len(UNITS)
    assert len(arrows) == 3
    label = {t.get_text(): t for t in ax.texts}
    for uid in ("er", "vnet", "cs", "st1", "st2", "nsg"):
        assert uid in label
    assert "VNet, 2 VMs" in label
    colour = {
        t.get_text(): b
        for t, b in zip([t for t in ax.texts if t.get_fontweight() == "bold"], boxes, strict=True)
    }
    blocked = to_rgba(plots.STATUS_STYLE["blocked"]["facecolor"])
    remediate = to_rgba(plots.STATUS_STYLE["remediate"]["facecolor"])
    assert tuple(colour["cs"].get_facecolor()) == blocked
    assert tuple(colour["vnet"].get_facecolor()) == remediate
    assert colour["st2"].get_hatch()  # waits for the blocked cloud service
    assert not colour["st1"].get_hatch()
    # columns by must-precede depth: er, then vnet, then st1
    x = {uid: colour[uid].get_x() for uid in colour}
    assert x["er"] < x["vnet"] < x["st1"] and x["cs"] < x["st2"]
    assert "1 blocked, 1 to remediate, 4 clean" in " ".join(t.get_text() for t in fig.texts)


def test_dependency_graph_of_a_big_estate_keeps_what_matters() -> None:
    units = [
        {"id": f"cs{i}", "kind": "cloud_service", "status": "clean", "vms": ["v"], "after": []}
        for i in range(200)
    ]
    units[5]["status"] = "blocked"
    units[7]["status"] = "remediate"
    units.append(
        {"id": "st", "kind": "storage_account", "status": "clean", "vms": [], "after": ["cs5"]}
    )
    fig = plots.dependency_graph(units, max_units=50)
    boxes = [p for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == 3  # the blocked unit, the one waiting for it, the one to remediate
    assert "201 units: showing the 3" in " ".join(t.get_text() for t in fig.texts)


# ---- writing figures ----------------------------------------------------------------------------


def test_svg_is_inline_ready_deterministic_and_prefixed(contoso_run: RunResult) -> None:
    texts = [plots.svg_text(plots.timeline(contoso_run), prefix="f1-") for _ in range(2)]
    assert texts[0] == texts[1]
    svg = texts[0]
    assert svg.startswith("<svg") and "<?xml" not in svg and "DOCTYPE" not in svg
    assert "<dc:date>" not in svg and "<metadata>" not in svg
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert ids and all(i.startswith("f1-") for i in ids)
    refs = re.findall(r'href="#([^"]+)"', svg) + re.findall(r"url\(#([^)]+)\)", svg)
    assert refs and set(refs) <= set(ids)


def test_picture_shows_as_png_in_a_notebook(contoso_run: RunResult) -> None:
    pic = plots.picture(plots.criticality({"a": 0.5}))
    assert isinstance(pic.figure, Figure)
    assert pic._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


def test_clock_ticks_follow_the_origin() -> None:
    origin = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
    fig = plots.exposure([_w("vm:a", "data", 30, 90)], origin=origin)
    fig.canvas.draw()
    ax = fig.axes[-1]
    assert ax.get_xlabel() == "time (UTC)"
    assert ax.get_xticklabels()[0].get_text() == "Sat 05 Dec\n22:00"
    assert "peak 1 at Sat 22:30" in " ".join(t.get_text() for t in fig.axes[0].texts)


def test_plots_and_report_never_import_the_engine(
    modules_after: Callable[[str], set[str]],
) -> None:
    loaded = modules_after("import sim.outputs.plots, sim.outputs.report")
    engine = {"sim.engine", "sim.model.rules", "sim.experiments.runner"}
    assert not loaded & {*engine, "sim.experiments.replications"}


def test_timeline_of_a_big_estate_is_one_readable_page() -> None:
    # Hundreds of units: one thin row each, a fixed height, some units labelled with their
    # position, not-migrated units ticked instead of a line of text each.
    from sim.importers.generate import generate_estate

    sc = Scenario(name="big", estate=generate_estate(3000, seed=4, vnets=8, rule_share=0.2))
    result = run_scenario(sc)
    n_units = len(result.units.units)
    assert n_units > plots.DENSE_UNIT_ROWS
    fig = plots.timeline(result)
    ax = fig.axes[0]
    assert fig.get_size_inches()[1] == plots.DENSE_HEIGHT
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert 10 <= len(labels) <= plots.DENSE_LABELS + 1
    assert labels[0].startswith("1. ") and ax.get_ylim() == (n_units - 0.5, -0.5)
    not_migrated = sum(not o.migrated for o in result.replication.outcomes)
    assert not_migrated > 0
    assert f"{n_units:,} units, one thin row each" in ax.get_title()
    assert f"{not_migrated:,} not migrated" in ax.get_title()
    assert [t for t in ax.texts if "not migrated" in t.get_text()] == []
    assert sum(_xs(ln).size for ln in _markers(ax, "|")) == not_migrated
    # Batched: a few artists whatever the estate's size, and no autoscaling (one artist per unit,
    # each rescanning the earlier ones, made the timeline of 100,000 VMs take minutes).
    assert len(ax.collections) <= 4 and len(ax.lines) <= 4 and len(ax.patches) < 10
    assert not ax.get_autoscalex_on() and not ax.get_autoscaley_on()


# ---- the plan's time zone, titles that fit, hover texts ------------------------------------------


def _in_zone(contoso: Scenario, zone: str, start: str) -> Scenario:
    data = contoso.model_dump(mode="json", by_alias=True)
    data["plan"].update(timezone=zone, start=start)
    return Scenario.model_validate(data)


def test_timeline_in_the_plan_zone_across_the_october_change(contoso: Scenario) -> None:
    # Saturday 24 October 2026 22:00 in Amsterdam (CEST); the clocks go back at 03:00 CEST.
    result = run_scenario(_in_zone(contoso, "Europe/Amsterdam", "2026-10-24T22:00:00"))
    fig = plots.timeline(result)
    ax = fig.axes[0]
    assert ax.get_xlabel() == (
        "time in Europe/Amsterdam: CEST (UTC+02:00), CET (UTC+01:00) from Sun 25 Oct 02:00"
    )
    fig.canvas.draw()
    labels = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    # Ticks every 30 minutes of elapsed time, labelled with the wall-clock time a person read:
    # the hour from 02:00 shows twice.
    zone = ZoneInfo("Europe/Amsterdam")
    origin = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    assert result.replication.origin == origin
    expected = [
        (origin + timedelta(minutes=30 * k)).astimezone(zone).strftime("%a %d %b %H:%M")
        for k in range(len(labels))
    ]
    assert labels == expected
    assert labels.count("Sun 25 Oct 02:30") == 2
    # The maintenance window opens at 22:00 local: 20:00 UTC, the plan's start.
    green = to_rgba(plots.MAINTENANCE)[:3]
    shade = next(p for p in ax.patches if tuple(p.get_facecolor()[:3]) == green)
    assert shade.get_x() == pytest.approx(float(date2num(origin)))


def test_exposure_axis_names_the_zone(contoso: Scenario) -> None:
    result = run_scenario(_in_zone(contoso, "America/Sao_Paulo", "2026-12-05T22:00:00"))
    rep = result.replication
    fig = plots.exposure(rep.windows, origin=rep.origin, zone=ZoneInfo("America/Sao_Paulo"))
    assert fig.axes[-1].get_xlabel() == "time in America/Sao_Paulo, (UTC-03:00)"
    fig.canvas.draw()
    assert fig.axes[-1].get_xticklabels()[0].get_text() == "Sat 05 Dec\n22:00"


def _inside(fig: Figure, *texts: Text) -> None:
    fig.canvas.draw()
    width, height = fig.bbox.width, fig.bbox.height
    for t in texts:
        box = t.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= width and box.y1 <= height, (t.get_text(), box)


def test_timeline_titles_fit_the_figure(contoso_run: RunResult) -> None:
    # The PNG's title was clipped on the right: every title line stays inside the figure.
    fig = plots.timeline(contoso_run)
    suptitle = vars(fig)["_suptitle"]
    _inside(fig, suptitle, fig.axes[0].title)
    long_name = "contoso-west-europe-classic-to-resource-manager-" * 3
    fig = plots.gantt(
        contoso_run.replication,
        contoso_run.summary,
        {
            u.id: plots.UnitInfo(u.kind, u.vm_count, tuple(u.resources))
            for u in contoso_run.units.units
        },
        long_name,
    )
    _inside(fig, vars(fig)["_suptitle"], fig.axes[0].title)
    labels = fig.axes[0].get_yticklabels()
    assert len(labels) >= len(contoso_run.units.units)  # a row per unit at least
    _inside(fig, *labels)  # row labels start inside the figure (one drawing measures them all)


def test_every_bar_has_a_hover_text_with_its_clock_times(contoso: Scenario) -> None:
    result = run_scenario(_in_zone(contoso, "Europe/Amsterdam", "2026-12-05T22:00:00"))
    rep = result.replication
    fig = plots.timeline(result, by="resource")
    tips = plots.tooltips(fig)
    bars = [t for gid, texts in tips.items() if gid.startswith("bar-") for t in texts]
    assert len(bars) == len(rep.windows)  # one text per window, one window per bar
    zone = ZoneInfo("Europe/Amsterdam")
    for w in rep.windows:
        # to the nearest minute, as every clock time is shown
        start = nearest_minute(rep.origin + timedelta(minutes=w.start)).astimezone(zone)
        head = f"{w.unit} ("
        matching = [
            t
            for t in bars
            if t.startswith(head)
            and t.split("\n")[0].endswith(" " + w.resource.partition(":")[2])
            and w.cause in t
            and start.strftime("%a %Y-%m-%d %H:%M") in t
        ]
        assert matching, w
    assert all("CET (UTC+01:00)" in t for t in bars)
    busy = [t for gid, texts in tips.items() if gid.startswith("busy-") for t in texts]
    assert len(busy) == sum(o.first_start is not None for o in rep.outcomes)
    vnet_prod = next(t for t in busy if t.startswith("vnet-prod (VNet, 3 VMs): busy "))
    steps = [line.split(" ")[0] for line in vnet_prod.split("\n")[1:]]
    assert {"validate", "prepare", "commit"} <= set(steps)
    # In the SVG each bar's path (or use) carries its own <title>.
    svg = plots.svg_text(fig, prefix="f1-")
    titles = re.findall(r"<title>([^<]*)</title>", svg)
    assert sorted(titles) == sorted(
        t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for texts in tips.values()
        for t in (texts if len(texts) > 1 else ["\n".join(texts)])
    )


def test_gap_bars_are_hatched_once_and_answer_a_hover_inside(contoso_run: RunResult) -> None:
    # The hatch is one shape under every gap bar (Agg set a hatch up again for each bar: most of
    # the drawing time of a big estate); each bar over it is painted inside, faintly, so the
    # SVG's hover text shows anywhere in the bar, not only on its outline.
    fig = plots.timeline(contoso_run, by="resource")
    ax = fig.axes[0]
    gaps = [w for w in contoso_run.replication.windows if w.kind not in ("management", "data")]
    assert gaps
    assert len([p for p in ax.patches if p.get_hatch() == plots.GAP["hatch"]]) == 1
    svg = plots.svg_text(fig)
    group = svg[svg.index('<g id="bar-gap-all">') :]
    group = group[: group.index("</g>")]
    styles = re.findall(r'<path\b[^>]*?style="([^"]*)"', group)
    assert len(styles) == len(re.findall("<title>", group)) == len(gaps)
    assert all("fill: none" not in st and "stroke: #cc79a7" in st for st in styles)


def test_unit_rows_merge_bars_and_say_what_they_merge(contoso_run: RunResult) -> None:
    fig = plots.timeline(contoso_run, by="unit")
    tips = plots.tooltips(fig)
    locks = [t for gid, texts in tips.items() if gid.startswith("bar-lock-") for t in texts]
    assert len(locks) == len(contoso_run.replication.outcomes)  # one merged lock bar per unit
    vnet_prod = next(t for t in locks if t.startswith("vnet-prod (VNet, 3 VMs)\n"))
    n = sum(
        w.unit == "vnet-prod" and w.kind == "management" for w in contoso_run.replication.windows
    )
    assert f"management plane locked on {n} resources: " in vnet_prod
    assert vnet_prod.endswith("UTC · " + vnet_prod.rsplit(" · ", 1)[1])


def test_long_names_are_shortened_with_the_full_name_on_hover(contoso_run: RunResult) -> None:
    long = "cs-contoso-production-frontend-webfarm-europe-west-01"
    rename = {"cs-legacy": long}

    def unit(u: str) -> str:
        return rename.get(u, u)

    rep = contoso_run.replication
    renamed = dataclasses.replace(
        rep,
        order=tuple(unit(u) for u in rep.order),
        windows=tuple(w._replace(unit=unit(w.unit)) for w in rep.windows),
        events=tuple(e._replace(unit=unit(e.unit)) for e in rep.events),
        outcomes=tuple(dataclasses.replace(o, unit=unit(o.unit)) for o in rep.outcomes),
    )
    infos = {
        unit(u.id): plots.UnitInfo(u.kind, u.vm_count, tuple(u.resources))
        for u in contoso_run.units.units
    }
    fig = plots.gantt(renamed, contoso_run.summary, infos, "contoso")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    shown = next(label for label in labels if "…" in label)
    name, suffix = shown.split(" (")
    assert suffix == "cloud service, 2 VMs)"
    head, tail = name.split("…")
    assert long.startswith(head) and long.endswith(tail) and len(head) >= len(tail) >= 6
    assert len(name) == max(plots.LABEL_NAME_CHARS, plots.LABEL_CHARS - len(suffix) - 2)
    tips = plots.tooltips(fig)
    assert [f"{long} (cloud service, 2 VMs)"] in tips.values()  # the label's own hover text
    assert any(t.startswith(f"{long} (cloud service, 2 VMs)") for v in tips.values() for t in v)
    _inside(fig, *fig.axes[0].get_yticklabels())


def test_not_migrated_labels_stay_on_the_chart() -> None:
    # A VNet with domain services whose every Prepare fails ends late in the run, locked: its
    # label goes left of its busy span, cut to fit, and says it needs support.
    doc = {
        "name": "t",
        "estate": {
            "storage_accounts": [{"name": "st1"}],
            "vnets": [
                {
                    "name": "v1",
                    "subnets": [{"name": "web"}],
                    "services": [{"name": "dc", "kind": "aad_domain_services"}],
                }
            ],
            "cloud_services": [
                {
                    "name": "cs1",
                    "vnet": "v1",
                    "vms": [
                        {"name": "a", "subnets": ["web"], "os_disk": {"storage_account": "st1"}}
                    ],
                }
            ],
        },
        "plan": {
            "aadds_migration": True,
            "start": "2026-12-05T21:00:00Z",
            "maintenance_windows": [{"every": "saturday", "at": "22:00", "for": "8h"}],
            "failures": {"prepare": 1.0, "max_attempts": 3},
        },
    }
    result = run_scenario(Scenario.model_validate(doc))
    fig = plots.timeline(result)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    box = fig.bbox
    labels = [
        t for t in fig.axes[0].texts if "not migrated" in t.get_text() or "needs" in t.get_text()
    ]
    assert any(t.get_text().strip().startswith("locked, needs support:") for t in labels)
    for t in labels:
        ext = t.get_window_extent(renderer)
        assert box.x0 <= ext.x0 and ext.x1 <= box.x1, t.get_text()


def test_not_migrated_labels_stay_inside_the_axes() -> None:
    # Contoso with every Commit failing: six units left locked, some labelled left of their busy
    # span (the label ran over the row names by a character or two).
    sets = ["plan.failures.commit=1", "plan.failures.max_attempts=2", "plan.failures.retry_after=0"]
    result = run_scenario(load_scenario(CONTOSO, sets))
    fig = plots.timeline(result)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    ax = fig.axes[0]
    box = ax.get_window_extent(renderer)
    labels = [t for t in ax.texts if "needs support" in t.get_text()]
    assert len(labels) == 6
    assert any(t.get_horizontalalignment() == "right" for t in labels)
    for t in labels:
        ext = t.get_window_extent(renderer)
        assert box.x0 <= ext.x0 and ext.x1 <= box.x1, t.get_text()
