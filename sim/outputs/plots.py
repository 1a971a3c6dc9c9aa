"""Pictures of a run and of experiments (matplotlib, Agg backend, no pyplot state).

Every function takes results data (records of :mod:`sim.outputs.records`, numbers per alternative,
the rows of a results file) and returns a :class:`~matplotlib.figure.Figure`; nothing here runs the
engine or the rules, so the report (:mod:`sim.outputs.report`) can draw from a results directory
alone.

Colours are the Okabe-Ito colour-blind-safe palette, and each window class also differs in
shape, so the charts read in grey too: management lock = tall light-blue bar with a dark-blue
edge (blue lines elsewhere); data downtime = narrow solid vermillion bar (vermillion lines);
remediation gaps = narrow hatched reddish-purple outline with the gap's kind written beside it
(reddish-purple lines); maintenance windows = green shading. Alternatives are told apart by
colour and line style together; a unit's status by fill and outline (blocked: dark vermillion
with a heavy black outline and white text; remediate: yellow; clean: light green with a green
outline; waiting for a blocked unit: white, dotted, vermillion outline). PNGs are written
without a "Software" tag and SVGs without a date and with a fixed hash salt, so the same data
give the same bytes.
"""

from __future__ import annotations

import io
import math
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import matplotlib
import networkx as nx
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.collections import PolyCollection
from matplotlib.dates import DateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch, PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.common.clocktime import (
    at_minutes,
    clock_text,
    exact_at,
    nearest_minute,
    span_text,
    zone_tag,
)
from sim.common.gcpause import paused_gc
from sim.common.timeparse import format_minutes
from sim.common.words import plural
from sim.model.graph import EDGE_STYLES, KIND_COLOURS, NODE_KINDS, describe
from sim.model.units import MigrationUnits
from sim.outputs.records import Event, Replication, Summary, Window, vm_down_intervals

__all__ = [
    "METRIC_LABELS",
    "RESOURCE_DRAWING_LIMIT",
    "GraphDrawing",
    "Picture",
    "RunRecords",
    "TornadoBar",
    "UnitInfo",
    "criticality",
    "dependency_graph",
    "ecdf",
    "exposure",
    "exposure_intervals",
    "gantt",
    "graph_drawing",
    "kind_word",
    "metric_label",
    "night",
    "picture",
    "png_bytes",
    "resource_graph",
    "risk_curves",
    "samples_by_alternative",
    "save_figure",
    "svg_text",
    "timeline",
    "tooltips",
    "tornado",
    "unit_graph",
]
"""What a notebook calls: each drawing returns a ``Figure``; :func:`picture` shows it."""

LOCK = {"facecolor": "#56B4E9", "edgecolor": "#0072B2", "alpha": 0.55, "linewidth": 0.8}
DATA = {"facecolor": "#D55E00", "edgecolor": "#000000", "linewidth": 0.6}
GAP = {"facecolor": "none", "edgecolor": "#CC79A7", "hatch": "////", "linewidth": 1.0}
MAINTENANCE = "#009E73"
HOVER_FILL = (0.0, 0.0, 0.0, 0.001)
"""The inside of a hatched bar drawn over its hatch: too faint to change a pixel of the PNG
(under half of one 8-bit step), but painted, so an SVG viewer shows the bar's hover text when
the mouse is inside it (an unpainted inside would only answer on the outline)."""
FAIL_COLOUR = "#000000"
COMMIT_COLOUR = "#0072B2"
SPAN_COLOUR = "#999999"
LOCK_LINE = "#0072B2"
DATA_LINE = "#D55E00"
GAP_LINE = "#CC79A7"
LOW_COLOUR = "#0072B2"
"""Tornado: the factor at its low value."""
HIGH_COLOUR = "#E69F00"
"""Tornado: the factor at its high value."""
ALTERNATIVE_COLOURS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
ALTERNATIVE_STYLES = ("-", "--", "-.", ":")
STATUS_STYLE: dict[str, dict[str, Any]] = {
    "blocked": {"facecolor": "#D55E00", "edgecolor": "#000000", "hatch": "", "text": "#FFFFFF"},
    "remediate": {"facecolor": "#F0E442", "edgecolor": "#000000", "hatch": "", "text": "#000000"},
    "clean": {"facecolor": "#CDEBDD", "edgecolor": "#009E73", "hatch": "", "text": "#000000"},
}
WAITING_STYLE: dict[str, Any] = {"facecolor": "#FFFFFF", "edgecolor": "#D55E00", "hatch": ".."}
AUTO_UNIT_ROWS = 250
"""Above this many resource rows, ``by="auto"`` draws one row per unit."""
DENSE_UNIT_ROWS = 150
"""Above this many unit rows the timeline is dense: rows thinner than a label, the figure no
taller than :data:`DENSE_HEIGHT`, only some units labelled (the shape of the whole migration on one
page; each unit's detail is in ``windows.csv`` and ``events.csv``)."""
DENSE_HEIGHT = 16.0
"""The height in inches of a dense timeline."""
DENSE_LABELS = 40
"""About how many units a dense timeline labels."""
SVG_SALT = "migsim"
"""``svg.hashsalt`` of every SVG written, so SVG output is byte-deterministic."""

METRIC_LABELS: dict[str, tuple[str, str]] = {
    "makespan_hours": ("makespan", "hours"),
    "vm_hours_down": ("VM-hours of data downtime", "VM-hours"),
    "peak_vms_down": ("peak VMs down at once", "VMs"),
    "lock_resource_hours": ("resource-hours of management lock", "resource-hours"),
    "units_not_migrated": ("units not migrated", "units"),
    "retries": ("failed attempts (retried or given up)", "attempts"),
    "service_hours_down": ("service-hours of data downtime (not VMs)", "resource-hours"),
    "exposure_hours": ("resource-hours exposed (endpoint ACLs off)", "resource-hours"),
    "protection_gap_hours": ("resource-hours of protection gaps", "resource-hours"),
    "units_needing_support": ("units locked, needing support", "units"),
    "done_in_window_1": (
        "done in window 1 (the mean is its probability)",
        "share, higher is better",
    ),
}
"""What each metric of ``replications.csv`` is, and its unit, for titles and axes."""

_TYPE_WORDS = {
    "expressroute_circuit": "circuit",
    "cloud_service": "cloud service",
    "storage_account": "storage",
    "availability_set": "avail. set",
    "route_table": "route table",
    "reserved_ip": "reserved IP",
    "nsg": "NSG",
    "vnet": "VNet",
}


def _label(resource: str) -> str:
    kind, _, name = resource.partition(":")
    return f"{_TYPE_WORDS.get(kind, kind)} {name}"


def kind_word(kind: str) -> str:
    """A unit or resource kind as a planner reads it (``cloud_service`` -> ``cloud service``)."""
    return _TYPE_WORDS.get(kind, kind.replace("_", " "))


def metric_label(metric: str) -> tuple[str, str]:
    """``(what, unit)`` of a metric column, e.g. ``("makespan", "hours")``."""
    return METRIC_LABELS.get(metric, (metric.replace("_", " "), ""))


# ---- writing figures ---------------------------------------------------------------------------


def save_figure(fig: Figure, path: Path) -> None:
    """Write ``fig`` as SVG when ``path`` ends in ``.svg`` (text kept as text, so a browser finds
    a name with Ctrl-F), as PNG otherwise; no varying metadata, so the same figure gives the same
    bytes."""
    if path.suffix.lower() == ".svg":
        FigureCanvasSVG(fig)
        with matplotlib.rc_context({"svg.hashsalt": SVG_SALT, "svg.fonttype": "none"}):
            fig.savefig(path, format="svg", metadata={"Date": None})
        return
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, metadata={"Software": None})


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """``fig`` as PNG bytes (no varying metadata)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


_ID = re.compile(r'\bid="([^"]+)"')


def svg_text(fig: Figure, prefix: str = "") -> str:
    """``fig`` as an ``<svg>`` element to inline in HTML: no XML prolog or DOCTYPE, no date,
    a fixed hash salt (byte-deterministic), and every id prefixed with ``prefix`` so several
    figures can share one page without their glyph and clip-path ids colliding."""
    FigureCanvasSVG(fig)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": SVG_SALT, "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = _with_tooltips(text, _TOOLTIPS.get(fig, {}))
    if prefix:
        ids = set(_ID.findall(text))

        def rename(m: re.Match[str]) -> str:
            ref = m.group(2)
            return f"{m.group(1)}{prefix}{ref}" if ref in ids else m.group(0)

        text = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', text)
        text = re.sub(r'(href="#)([^"]+)(?=")', rename, text)
        text = re.sub(r"(url\(#)([^)]+)(?=\))", rename, text)
    return text


_TOOLTIPS: weakref.WeakKeyDictionary[Figure, dict[str, list[str]]] = weakref.WeakKeyDictionary()
"""Hover texts of a figure's artists, by the artist's gid: one text per drawn shape of the
artist (a bar of a collection), or one for the whole artist. :func:`svg_text` writes them as SVG
``<title>`` elements, which a browser shows as a tooltip."""


def tooltip(artist: Artist, fig: Figure, name: str, texts: Sequence[str]) -> None:
    """Give ``artist`` (drawn in ``fig``) the hover texts ``texts``: one per shape it draws, in
    drawing order (the bars of a ``broken_barh``), or a single text for the whole artist. Its
    gid becomes ``name`` (unique within the figure)."""
    artist.set_gid(name)
    _TOOLTIPS.setdefault(fig, {})[name] = list(texts)


def tooltips(fig: Figure) -> dict[str, list[str]]:
    """The hover texts of ``fig``'s artists by gid (what :func:`tooltip` recorded)."""
    return dict(_TOOLTIPS.get(fig, {}))


_SHAPE = re.compile(r"<(?:path|use)\b[^>]*?/>")
_DEFS = re.compile(r"<defs>.*?</defs>", re.S)
_G_TAG = re.compile(r"<g\b[^>]*?(/?)>|</g>")


def _group_end(svg: str, start: int) -> int:
    """The index of the ``</g>`` closing the group whose content starts at ``start``."""
    depth = 1
    for m in _G_TAG.finditer(svg, start):
        if m.group(0) == "</g>":
            depth -= 1
            if depth == 0:
                return m.start()
        elif not m.group(1):
            depth += 1
    return len(svg)


def _with_tooltips(svg: str, tips: Mapping[str, Sequence[str]]) -> str:
    """Insert the ``<title>`` of each artist with a tooltip into its ``<g id="gid">`` group: one
    in each shape drawn (a ``<path/>``, or a ``<use/>`` of a path defined in ``<defs>``) when the
    group draws one shape per text, else one for the whole group."""
    for gid, texts in tips.items():
        if not texts:
            continue
        head = f'<g id="{gid}">'
        at = svg.find(head)
        if at < 0:
            continue  # not drawn (outside the figure, or empty)
        start = at + len(head)
        end = _group_end(svg, start)
        body = svg[start:end]
        drawn = _DEFS.sub(lambda m: " " * len(m.group(0)), body)  # shapes outside <defs>
        shapes = list(_SHAPE.finditer(drawn))
        if len(texts) > 1 and len(shapes) == len(texts):
            out, last = [], 0
            for m, text in zip(shapes, texts, strict=True):
                tag = body[m.start() : m.end()]
                name = "path" if tag.startswith("<path") else "use"
                out += [body[last : m.start()], tag[:-2], f"><title>{_xml(text)}</title></{name}>"]
                last = m.end()
            body = "".join([*out, body[last:]])
        else:
            body = f"<title>{_xml(chr(10).join(texts))}</title>" + body
        svg = svg[:start] + body + svg[end:]
    return svg


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Picture:
    """A figure that Jupyter shows as PNG when it is the last expression of a cell:
    ``plots.picture(plots.timeline(result))``."""

    def __init__(self, fig: Figure, dpi: int = 90) -> None:
        self.figure = fig
        self.dpi = dpi

    def _repr_png_(self) -> bytes:
        return png_bytes(self.figure, self.dpi)

    def save(self, path: Path) -> None:
        save_figure(self.figure, path)


def picture(fig: Figure, dpi: int = 90) -> Picture:
    """Wrap ``fig`` so that a notebook displays it (no pyplot needed)."""
    return Picture(fig, dpi)


# ---- the time axis -----------------------------------------------------------------------------

_TICK_STEPS = (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)


def _tick_step(span_minutes: float) -> int:
    """A round tick interval in minutes giving at most 14 ticks over the span."""
    for step in _TICK_STEPS:
        if span_minutes / step <= 14:
            return step
    return math.ceil(span_minutes / 14 / 10080.0) * 10080


class _Clock:
    """Simulation minutes on an x axis: matplotlib dates when the plan has a start, else hours.
    Clock labels are wall-clock times in ``zone`` (the plan's, UTC by default), daylight saving
    included; the axis label names the zone and its offset."""

    def __init__(self, origin: datetime | None, zone: ZoneInfo | None = None) -> None:
        self.origin = origin
        self.zone = zone if zone is not None else ZoneInfo("UTC")
        self.base = float(date2num(origin)) if origin is not None else 0.0  # type: ignore[no-untyped-call]

    def x(self, minutes: float) -> float:
        if self.origin is not None:
            return self.base + minutes / 1440.0
        return minutes / 60.0

    def width(self, minutes: float) -> float:
        return minutes / 1440.0 if self.origin is not None else minutes / 60.0

    def xs(self, minutes: Any) -> Any:
        arr = np.asarray(minutes, dtype=float)
        return self.base + arr / 1440.0 if self.origin is not None else arr / 60.0

    def axis(self, ax: Axes, right: float) -> None:
        """Round ticks from 0 to ``right`` minutes, clock labels when there is an origin."""
        ax.set_xlim(self.x(0.0), self.x(right))
        step = _tick_step(right)
        origin = self.origin
        if origin is not None:
            ticks = _wall_ticks(origin, right, step, self.zone)
            ax.set_xticks([self.x(t) for t in ticks])
            fmt = DateFormatter("%a %d %b\n%H:%M", tz=self.zone)  # type: ignore[no-untyped-call]
            ax.xaxis.set_major_formatter(fmt)
            ax.set_xlabel(zone_label(origin, right, self.zone))
        else:
            ticks = [k * step for k in range(int(right // step) + 1)]
            ax.set_xticks([self.x(t) for t in ticks])
            ax.set_xlabel(f"hours from the plan's start (minute 0 = Monday 00:00 {self.zone.key})")
        ax.tick_params(axis="x", labelsize=8.5)

    def when(self, minutes: float) -> str:
        """A short label of simulation time ``minutes``: ``Sat 22:30`` or ``+3h20m``."""
        if self.origin is not None:
            t = nearest_minute(at_minutes(self.origin, minutes))
            return t.astimezone(self.zone).strftime("%a %H:%M")
        return f"+{format_minutes(minutes)}"

    def span(self, a: float, b: float) -> str:
        """A span as a person reads it: ``Sat 2026-12-05 23:05 to Sat 23:55 CET (UTC+01:00)
        · 50m``, or ``+5m to +55m from the start · 50m`` without a start."""
        length = format_minutes(max(b - a, 0.0))
        if self.origin is None:
            return f"+{format_minutes(a)} to +{format_minutes(b)} from the start · {length}"
        at = at_minutes(self.origin, a), at_minutes(self.origin, b)
        return f"{span_text(*at, self.zone)} · {length}"


def _wall_ticks(origin: datetime, right: float, step: int, zone: ZoneInfo) -> list[float]:
    """Ticks from the first round time in ``zone`` at or after ``origin`` to ``right`` minutes
    later, as simulation minutes. Up to an hour apart they are ``step`` minutes of elapsed time
    (the hour the clocks go back shows twice, as a person lived it); further apart they are
    ``step`` minutes of wall-clock time, so midnight stays midnight across a change of daylight
    saving (a wall time that does not exist is skipped)."""
    local = origin.astimezone(zone)
    midnight = datetime(local.year, local.month, local.day)
    into_day = (local.replace(tzinfo=None) - midnight).total_seconds() / 60.0
    k = math.ceil(into_day / step - 1e-9)
    if step <= 60:
        first = k * step - into_day
        return [first + i * step for i in range(int((right - first) // step) + 1)]
    ticks: list[float] = []
    while True:
        wall = midnight + timedelta(minutes=k * step)
        t = wall.replace(tzinfo=zone).astimezone(UTC)
        minutes = (t - origin).total_seconds() / 60.0
        if minutes > right + 1e-9:
            return sorted(set(ticks))
        if t.astimezone(zone).replace(tzinfo=None) == wall and minutes >= -1e-9:
            ticks.append(minutes)
        k += 1


def zone_label(origin: datetime, right: float, zone: ZoneInfo) -> str:
    """The label of a clock axis from ``origin`` to ``right`` minutes later: ``time (UTC)``, or
    ``time in Europe/Amsterdam, CET (UTC+01:00)``; a change of offset inside the span is named
    with its wall-clock time: ``time in Europe/Amsterdam: CEST (UTC+02:00), CET (UTC+01:00)
    from Sun 25 Oct 02:00``."""
    if zone.key == "UTC":
        return "time (UTC)"
    changes = _offset_changes(origin, right, zone)
    first = zone_tag(origin, zone)
    if not changes:
        return f"time in {zone.key}, {first}"
    later = ", ".join(
        f"{zone_tag(t, zone)} from {t.astimezone(zone).strftime('%a %d %b %H:%M')}" for t in changes
    )
    return f"time in {zone.key}: {first}, {later}"


def _offset_changes(origin: datetime, right: float, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants (to the minute) where ``zone``'s offset changes within the span."""
    step = max(60.0, right / 2000.0)
    out: list[datetime] = []
    prev_m = 0.0
    prev = origin.astimezone(zone).utcoffset()
    m = step
    while prev_m < right:
        m = min(m, right)
        now = at_minutes(origin, m).astimezone(zone).utcoffset()
        if now != prev:
            lo, hi = prev_m, m  # offset prev at lo, now at hi: bisect to the minute
            while hi - lo > 1.0:
                mid = (lo + hi) / 2
                if at_minutes(origin, mid).astimezone(zone).utcoffset() == prev:
                    lo = mid
                else:
                    hi = mid
            out.append(at_minutes(origin, math.ceil(hi)))
            prev = now
        prev_m, m = m, m + step
    return out


def _shade_maintenance(
    ax: Axes,
    clock: _Clock,
    maintenance: Iterable[tuple[float, float]],
    horizon: float,
    right: float | None = None,
    alpha: float = 0.13,
) -> None:
    """Shade the windows; one reaching the run's ``horizon`` (where the engine clips them) is
    drawn on to the axis end ``right`` (default 3 % past the horizon)."""
    end = horizon * 1.03 if right is None else right
    for a, b in maintenance:
        shade_end = end if b >= horizon - 1e-9 else min(b, end)
        ax.axvspan(
            clock.x(a), clock.x(shade_end), color=MAINTENANCE, alpha=alpha, linewidth=0, zorder=0
        )


# ---- the Gantt timeline ------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitInfo:
    """What the timeline needs of a unit: its kind, its VM count and its resources."""

    kind: str
    vm_count: int
    resources: tuple[str, ...]


class RunRecords(Protocol):
    """What :func:`timeline` reads of a run: its units, replication and summary (a
    :class:`~sim.experiments.run.RunResult` is one; this module never imports the experiments)."""

    @property
    def units(self) -> MigrationUnits: ...

    @property
    def replication(self) -> Replication: ...

    @property
    def summary(self) -> Summary: ...


def timeline(result: RunRecords, by: Literal["auto", "resource", "unit"] = "auto") -> Figure:
    """The Gantt chart of one run: rows grouped by unit, windows in time, failures marked.

    ``by="resource"`` draws one row per resource under a header row per unit; ``by="unit"``
    one row per unit (for big estates); ``"auto"`` picks ``unit`` above
    :data:`AUTO_UNIT_ROWS` resource rows. The x axis shows clock times in the plan's time zone
    when the plan has a start, else hours from the start; each bar has a hover text in SVG.
    """
    units = {u.id: UnitInfo(u.kind, u.vm_count, tuple(u.resources)) for u in result.units.units}
    return gantt(result.replication, result.summary, units, result.summary.scenario_name, by=by)


def _union(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


ROW_INCHES = 0.27
"""Height of a timeline row (inches): room for a label readable on a projector."""
HEADER_LABEL_SIZE = 11.0
"""Font size (points) of a unit's row label."""
ROW_LABEL_SIZE = 10.0
"""Font size (points) of a resource's row label."""
DENSE_LABEL_SIZE = 9.0
"""Font size (points) of the labels of a dense timeline."""
LABEL_CHARS = 40
"""The longest row label in characters: a longer unit or resource name is shortened in its
middle (``cs-contoso-prod…frontend-web-01``); the full name is in the hover text."""
LABEL_NAME_CHARS = 20
"""A shortened unit name keeps at least this many characters beside its kind and VM count."""
WINDOW_WHAT = {"management": "management plane locked", "data": "data plane down"}
"""How a window kind reads in a hover text (other kinds are remediation gaps)."""
STEP_LINES = 14
"""Steps listed in the hover text of a unit's busy line; more are counted."""


def _middle(text: str, n: int) -> str:
    """``text`` shortened to ``n`` characters by an ellipsis in its middle (both ends kept)."""
    if len(text) <= n:
        return text
    tail = (n - 1) // 2
    return text[: n - 1 - tail] + "…" + text[len(text) - tail :]


def _window_what(kind: str) -> str:
    return WINDOW_WHAT.get(kind, f"remediation gap: {kind}")


def _union_of(windows: Sequence[Window]) -> list[tuple[float, float, list[Window]]]:
    """The union of ``windows`` as spans, each with the windows it merges."""
    out: list[tuple[float, float, list[Window]]] = []
    for w in sorted(windows, key=lambda w: (w.start, w.end)):
        b = max(w.end, w.start)
        if out and w.start <= out[-1][1]:
            a0, b0, members = out[-1]
            members.append(w)
            out[-1] = (a0, max(b0, b), members)
        else:
            out.append((w.start, b, [w]))
    return out


def _step_lines(events: Sequence[Event], clock: _Clock) -> list[str]:
    """``prepare Sun 22:05 to Sun 22:40`` per step of a unit (its events in time order); a
    failed attempt says so; more than :data:`STEP_LINES` are counted."""
    open_at: dict[tuple[str, int], float] = {}
    lines: list[str] = []
    for e in events:
        key = (e.step, e.attempt)
        if e.outcome == "start":
            open_at[key] = e.time
        elif key in open_at:
            a = open_at.pop(key)
            nth = f" (attempt {e.attempt})" if e.attempt > 1 else ""
            failed = ", failed" if e.outcome == "fail" else ""
            lines.append(f"{e.step}{nth} {clock.when(a)} to {clock.when(e.time)}{failed}")
    for (step, attempt), a in open_at.items():
        nth = f" (attempt {attempt})" if attempt > 1 else ""
        lines.append(f"{step}{nth} from {clock.when(a)}")
    if len(lines) > STEP_LINES:
        lines = [*lines[: STEP_LINES - 1], f"… and {len(lines) - STEP_LINES + 1} more steps"]
    return lines


@paused_gc()  # tens of thousands of bars, texts and paths, all alive until the figure is saved
def gantt(
    rep: Replication,
    summary: Summary,
    units: Mapping[str, UnitInfo],
    name: str,
    by: Literal["auto", "resource", "unit"] = "auto",
) -> Figure:
    """:func:`timeline` from its parts: the replication, its summary, the units and the
    scenario's name (what :mod:`sim.outputs.report` reads back from a results directory).

    Clock times are in the plan's zone (``summary.timezone``). Each bar, and each unit's busy
    line, carries a hover text (:func:`tooltip`): the unit, the resource, what the window is and
    why (or the unit's steps), and its start and end as clock times; :func:`svg_text` writes them
    as SVG ``<title>`` elements."""
    origin = rep.origin
    outcomes = {o.unit: o for o in rep.outcomes}
    pos = {uid: i for i, uid in enumerate(rep.order)}
    unit_order = sorted(
        rep.order,
        key=lambda u: (
            outcomes[u].first_start is None,
            outcomes[u].first_start or 0.0,
            pos[u],
        ),
    )
    by_unit_res: dict[str, list[str]] = {
        uid: list(units[uid].resources) if uid in units else [] for uid in rep.order
    }
    for w in rep.windows:
        if w.resource not in by_unit_res.setdefault(w.unit, []):
            by_unit_res[w.unit].append(w.resource)
    n_res = sum(len(v) for v in by_unit_res.values())
    mode = by if by != "auto" else ("unit" if n_res > AUTO_UNIT_ROWS else "resource")
    clock = _Clock(origin, summary.zone)
    x, width = clock.x, clock.width

    # (label shown, full label for the hover text, unit, is_header)
    rows: list[tuple[str, str, str, bool]] = []
    row_of: dict[tuple[str, str], int] = {}
    header_of: dict[str, int] = {}
    unit_text: dict[str, str] = {}
    for uid in unit_order:
        o = outcomes[uid]
        info = units.get(uid)
        kind = info.kind if info is not None else o.kind
        vm_count = info.vm_count if info is not None else o.vms
        vms = f", {vm_count} VM{'s' if vm_count != 1 else ''}" if vm_count else ""
        suffix = f" ({_TYPE_WORDS.get(kind, kind)}{vms})"
        header_of[uid] = len(rows)
        unit_text[uid] = uid + suffix
        shown = _middle(uid, max(LABEL_NAME_CHARS, LABEL_CHARS - len(suffix))) + suffix
        rows.append((shown, unit_text[uid], uid, True))
        if mode == "resource":
            for r in by_unit_res[uid]:
                row_of[(uid, r)] = len(rows)
                rows.append((_middle(_label(r), LABEL_CHARS), _label(r), uid, False))

    dense = mode == "unit" and len(rows) > DENSE_UNIT_ROWS
    s = summary
    end = f", ends {s.end_local}" if s.end_local else ""
    title_lines = [
        f"makespan {format_minutes(s.makespan_minutes)}{end}; {s.units_migrated} of"
        f" {s.units_total} units migrated" + ("; one row per unit" if mode == "unit" else ""),
        f"{s.vm_hours_down:.2f} VM-hours of data downtime"
        f" (peak {plural(s.peak_vms_down, 'VM')} down);"
        f" {s.service_hours_down:.2f} service-hours down; {s.lock_resource_hours:.1f}"
        " resource-hours locked",
    ]
    every = math.ceil(len(rows) / DENSE_LABELS) if dense else 1
    if dense:
        title_lines.append(
            f"{len(rows):,} units, one thin row each in order of their first step, one in"
            f" {every} labelled; {sum(not o.migrated for o in rep.outcomes):,} not migrated"
            " (orange ticks; reasons in summary.json)"
        )
    top_in = 0.62 + 0.22 * len(title_lines)  # the figure title, then the axes title's lines
    bottom_in = 1.55  # tick labels, the axis label, the legend's two rows
    height = DENSE_HEIGHT if dense else max(4.0, ROW_INCHES * len(rows) + top_in + bottom_in)
    fig = Figure(figsize=(14.0, height))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    # Limits are set below (rows, then the clock axis): autoscaling after every artist rescans
    # all earlier ones, quadratic in the units of a big estate.
    ax.set_autoscale_on(False)

    horizon = max(rep.horizon, 1.0)
    _shade_maintenance(ax, clock, rep.maintenance, rep.horizon)

    # alternate light bands per unit so groups read as groups (a dense chart has no room)
    for i, uid in enumerate(unit_order if not dense else ()):
        first = header_of[uid]
        last = (header_of[unit_order[i + 1]] if i + 1 < len(unit_order) else len(rows)) - 1
        if i % 2 == 1:
            ax.axhspan(first - 0.5, last + 0.5, color="#000000", alpha=0.035, linewidth=0, zorder=0)

    def row(w: Window) -> int:
        if mode == "unit":
            return header_of[w.unit]
        return row_of.get((w.unit, w.resource), header_of[w.unit])

    def bar_text(a: float, b: float, members: Sequence[Window]) -> str:
        w = members[0]
        if mode == "resource":
            cause = f": {w.cause}" if w.cause else ""
            return (
                f"{unit_text[w.unit]}: {_label(w.resource)}\n{_window_what(w.kind)}{cause}\n"
                f"{clock.span(a, b)}"
            )
        resources = list(dict.fromkeys(_label(m.resource) for m in members))
        shown = ", ".join(resources[:3]) + (f" … (+{len(resources) - 3})" if resources[3:] else "")
        causes = list(dict.fromkeys(m.cause for m in members if m.cause))
        why = "; ".join(causes[:3]) + (f" … (+{len(causes) - 3})" if causes[3:] else "")
        kinds = ", ".join(dict.fromkeys(_window_what(m.kind) for m in members))
        return (
            f"{unit_text[w.unit]}\n{kinds} on {plural(len(resources), 'resource')}: {shown}\n"
            + (f"{why}\n" if why else "")
            + clock.span(a, b)
        )

    def bars(
        windows: Sequence[Window], h: float, style: dict[str, Any], z: float, cls: str
    ) -> None:
        """One collection for every bar of a class (all rows): one hover text per bar."""
        groups: dict[int, list[Window]] = {}
        for w in windows:
            groups.setdefault(row(w), []).append(w)
        boxes: list[tuple[float, float, float, float]] = []  # x0, x1, y0, y1
        texts: list[str] = []
        for y, ws in groups.items():
            # One row per unit: overlapping windows of its resources drawn once (same look,
            # far fewer shapes for a big estate).
            spans = (
                _union_of(ws)
                if mode == "unit"
                else [(w.start, max(w.end, w.start), [w]) for w in ws]
            )
            for a, b, members in spans:
                x0 = x(a)
                boxes.append((x0, x0 + width(b - a), y - h / 2, y + h / 2))
                texts.append(bar_text(a, b, members))
        if not boxes:
            return
        box = np.asarray(boxes, dtype=float)
        # the rectangles as ax.broken_barh draws them: (x0, y0), (x0, y1), (x1, y1), (x1, y0)
        # one (N, 4, 2) array: PolyCollection's fast path (its stub wants a sequence)
        verts: Any = np.stack(
            [box[:, [0, 2]], box[:, [0, 3]], box[:, [1, 3]], box[:, [1, 2]]], axis=1
        )
        if style.get("hatch"):
            # Agg sets a hatch up again for every shape (a quarter of a millisecond each: most
            # of the time drawing a big estate's timeline): the hatch is drawn once, as one
            # shape of every bar without an outline, and the bars over it are outlines
            # (transparent inside, so hovering inside a bar still finds its text).
            hatched = PathPatch(
                MplPath.make_compound_path_from_polys(verts),
                facecolor="none",
                edgecolor=style["edgecolor"],
                hatch=style["hatch"],
                linewidth=0,
                zorder=z,
            )
            ax.add_artist(hatched)  # not add_patch: it walks every segment for the limits
            style = {**style, "hatch": None, "facecolor": HOVER_FILL}
        drawn = PolyCollection(verts, zorder=z, **style)
        ax.add_collection(drawn, autolim=False)
        tooltip(drawn, fig, f"bar-{cls}-all", texts)

    locks = [w for w in rep.windows if w.kind == "management"]
    # a platform service out (the managed domain, kind "service") is an outage, drawn as one
    down = ("data", "service")
    data = [w for w in rep.windows if w.kind in down]
    gaps = [w for w in rep.windows if w.kind != "management" and w.kind not in down]
    bars(locks, 0.76, LOCK, 2, "lock")
    bars(data, 0.36, DATA, 3, "data")
    bars(gaps, 0.36, GAP, 3, "gap")
    if mode == "resource":
        for w in gaps:
            ax.text(
                x(w.end),
                row(w),
                f" {w.kind}",
                fontsize=8,
                va="center",
                ha="left",
                color="#7a3d63",
                zorder=4,
            )

    # unit header rows: active span, commit end, failures, retries, not migrated
    fails: dict[int, list[float]] = {}
    retries: dict[int, list[float]] = {}
    events_of: dict[str, list[Event]] = {}
    for e in rep.events:
        if e.unit not in header_of:
            continue
        events_of.setdefault(e.unit, []).append(e)
        if e.outcome == "fail":
            fails.setdefault(header_of[e.unit], []).append(x(e.time))
        elif _is_retry(e):
            retries.setdefault(header_of[e.unit], []).append(x(e.time))
    # A dense chart draws the same marks smaller, and marks a unit not migrated without its reason.
    mark = 0.4 if dense else 1.0
    axis_px = ax.get_position().width * fig.get_figwidth() * fig.dpi
    # A bold 8-point character of DejaVu Sans: about 0.62 em on average, 0.7 with room for
    # capitals and digits (a label cut a character early beats one that runs off the chart).
    char_px = 8 * fig.dpi / 72 * 0.7
    # Marks of the same kind are batched: one artist each for all units, not one per unit.
    busy_y: list[int] = []
    busy_from: list[float] = []
    busy_to: list[float] = []
    busy_texts: list[str] = []
    commits: tuple[list[float], list[int]] = ([], [])
    ticks: tuple[list[float], list[int]] = ([], [])
    for uid in unit_order:
        o = outcomes[uid]
        y = header_of[uid]
        if o.first_start is not None and o.end is not None:
            busy_y.append(y)
            busy_from.append(x(o.first_start))
            busy_to.append(x(o.end))
            steps = _step_lines(events_of.get(uid, ()), clock)
            text = f"{unit_text[uid]}: busy {clock.span(o.first_start, o.end)}"
            busy_texts.append("\n".join([text, *steps]))
        if o.commit_end is not None:
            commits[0].append(x(o.commit_end))
            commits[1].append(y)
        if not o.migrated and dense:
            ticks[0].append(x(o.end if o.end is not None else 0.0))
            ticks[1].append(y)
        elif not o.migrated:
            at = o.end if o.end is not None else 0.0
            begun = o.first_start if o.first_start is not None else at
            what = "locked, needs support" if o.needs_support else "not migrated"
            # The label goes on the side of the unit's busy span with more room (right of its
            # end, or left of its start) and is cut to the room there, so it stays on the chart.
            extent = horizon * 1.03
            room_right, room_left = (extent - at) / extent, begun / extent
            left = room_left > room_right
            chars = int(max(room_left, room_right) * axis_px / char_px) - len(what) - 6
            if left:
                at = begun
            ax.text(
                x(at),
                y,
                f"  {what}: "
                + _shorten(o.reason, max(12, min(110, chars)))
                + ("  " if left else ""),
                fontsize=8,
                va="center",
                ha="right" if left else "left",
                color="#D55E00",
                fontweight="bold",
                zorder=5,
            )
    if busy_y:
        busy = ax.hlines(
            busy_y, busy_from, busy_to, color=SPAN_COLOUR, linewidth=2.2 * mark, zorder=2
        )
        tooltip(busy, fig, "busy-all", busy_texts)
    if commits[0]:
        ax.plot(
            *commits, linestyle="none", marker="D", color=COMMIT_COLOUR, markersize=5 * mark,
            zorder=5,
        )  # fmt: skip
    if ticks[0]:
        ax.plot(
            *ticks, linestyle="none", marker="|", color="#D55E00", markersize=6,
            markeredgewidth=1.5, zorder=5,
        )  # fmt: skip
    if retries:
        ax.plot(
            [t for xs in retries.values() for t in xs],
            [y for y, xs in retries.items() for _ in xs],
            linestyle="none",
            marker="o",
            markerfacecolor="#FFFFFF",
            markeredgecolor=FAIL_COLOUR,
            markeredgewidth=1.2,
            markersize=9 * mark,
            zorder=5.5,
        )
    if fails:
        ax.plot(
            [t for xs in fails.values() for t in xs],
            [y for y, xs in fails.items() for _ in xs],
            linestyle="none",
            marker="X",
            color=FAIL_COLOUR,
            markersize=7 * mark,
            zorder=6,
        )

    ax.set_ylim(len(rows) - 0.5, -0.5)
    if dense:
        shown_rows = list(range(0, len(rows), every))
        ax.set_yticks(shown_rows)
        ax.set_yticklabels(
            [f"{i + 1}. {rows[i][0]}" for i in shown_rows], fontsize=DENSE_LABEL_SIZE
        )
    else:
        shown_rows = list(range(len(rows)))
        ax.set_yticks(shown_rows)
        ax.set_yticklabels([r[0] for r in rows], fontsize=ROW_LABEL_SIZE)
        for tick, (_, _, _, header) in zip(ax.get_yticklabels(), rows, strict=True):
            if header:
                tick.set_fontweight("bold")
                tick.set_fontsize(HEADER_LABEL_SIZE)
    for i, tick in zip(shown_rows, ax.get_yticklabels(), strict=True):
        if rows[i][0] != rows[i][1]:
            tooltip(tick, fig, f"label-{i}", [rows[i][1]])
    clock.axis(ax, horizon * 1.03)
    ax.grid(axis="x", color="#cccccc", linewidth=0.5, zorder=1)
    ax.set_axisbelow(True)

    fig.suptitle(
        f"{_shorten(name, 80)}: migration timeline (seed {s.seed}"
        f"{', deterministic durations' if s.deterministic else ''})",
        fontsize=13,
        fontweight="bold",
        y=1 - 0.12 / height,
    )
    ax.set_title("\n".join(title_lines), fontsize=10.5)
    handles = [
        Patch(label="management plane locked (Prepare to Commit/Abort)", **_patch(LOCK)),
        Patch(label="data plane down (VM stopped, or service removed)", **_patch(DATA)),
        Patch(
            label=(
                "remediation gap (kind written beside it)"
                if mode == "resource"
                else "remediation gap (exposure, backup, monitoring...)"
            ),
            **_patch(GAP),
        ),
        Patch(facecolor=MAINTENANCE, alpha=0.25, label="maintenance window"),
        Line2D([], [], color=SPAN_COLOUR, linewidth=2.2, label="unit busy (first to last step)"),
        Line2D([], [], color=COMMIT_COLOUR, marker="D", linestyle="none", label="Commit finished"),
        Line2D(
            [],
            [],
            color=FAIL_COLOUR,
            marker="X",
            linestyle="none",
            markersize=7,
            label="failed attempt (aborted / retried)",
        ),
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            markerfacecolor="#FFFFFF",
            markeredgecolor=FAIL_COLOUR,
            markeredgewidth=1.2,
            markersize=8,
            label="retry started (attempt 2 or later)",
        ),
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.1 / height),
        ncol=4,
        fontsize=9,
        frameon=False,
    )
    left_in = _label_width(fig, ax) + 0.45  # the ticks, their pad and a margin
    fig.subplots_adjust(
        left=min(max(left_in, 1.5), 5.0) / 14.0,
        right=0.9,
        top=1 - top_in / height,
        bottom=bottom_in / height,
    )
    return fig


def _label_width(fig: Figure, ax: Axes) -> float:
    """The width in inches of the widest y tick label of ``ax``, as drawn."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    widest = max(
        (t.get_window_extent(renderer).width for t in ax.get_yticklabels() if t.get_text()),
        default=0.0,
    )
    return float(widest) / fig.dpi


_RETRIED_STEPS = ("validate", "prepare", "commit")


def _is_retry(e: Event) -> bool:
    return e.outcome == "start" and e.attempt > 1 and e.step in _RETRIED_STEPS


def _patch(style: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in style.items() if k in ("facecolor", "edgecolor", "hatch", "alpha")}


def _shorten(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ---- the night so far and the re-forecast (migsim replan) --------------------------------------

ACTUAL_STEP: dict[str, Any] = {"facecolor": "#0072B2", "edgecolor": "#FFFFFF", "linewidth": 0.6}
"""A step that happened (in the actuals): solid dark blue; white edges part consecutive steps."""
ACTUAL_REMEDY: dict[str, Any] = {"facecolor": "#CC79A7", "edgecolor": "#FFFFFF", "linewidth": 0.6}
"""A remediation or restore step that happened: solid reddish purple."""
FORECAST_ALPHA = 0.3
"""How light a step of the recorded forecast is drawn (its colour at this opacity)."""
BAND_COLOUR = "#E69F00"
"""The P10-P90 band of a unit's Commit end in the re-forecast (orange)."""
NOW_COLOUR = "#000000"
NEW_P80_COLOUR = "#D55E00"
PLAN_P80_COLOUR = "#555555"


@dataclass(frozen=True)
class NightMarker:
    """A vertical line of the night picture: ``now``, or a P80 finish (minutes from the start);
    ``label`` is written above the chart; ``what`` begins its hover text (then the clock time
    in full); ``key`` names it in the SVG (``night-mark-KEY``, its label
    ``night-mark-KEY-label``)."""

    key: str
    what: str
    minutes: float
    label: str
    colour: str
    style: str


def _night_steps(
    events: Sequence[Event], actual: Sequence[bool]
) -> list[tuple[str, str, int, float, float | None, bool, bool, bool]]:
    """Each step attempt of the recorded replication: ``(unit, step, attempt, start, end,
    start actual, end actual, failed)``; ``end`` None for one never ended."""
    open_at: dict[tuple[str, str, int], tuple[float, bool]] = {}
    out: list[tuple[str, str, int, float, float | None, bool, bool, bool]] = []
    for e, is_actual in zip(events, actual, strict=True):
        key = (e.unit, e.step, e.attempt)
        if e.outcome == "start":
            open_at[key] = (e.time, is_actual)
        elif e.outcome in ("end", "fail") and key in open_at:
            a, a_actual = open_at.pop(key)
            out.append((*key, a, e.time, a_actual, is_actual, e.outcome == "fail"))
    for key, (a, a_actual) in open_at.items():
        out.append((*key, a, None, a_actual, False, False))
    return out


def _is_remedy(step: str) -> bool:
    return step.startswith(("remediate:", "restore:"))


@paused_gc()
def night(
    events: Sequence[Event],
    actual: Sequence[bool],
    now: float,
    *,
    bands: Mapping[str, tuple[float | None, float | None, float | None]] | None = None,
    finish: float | None = None,
    plan_finish: float | None = None,
    maintenance: Sequence[tuple[float, float]] = (),
    origin: datetime | None = None,
    zone: ZoneInfo | None = None,
    units: Mapping[str, UnitInfo] | None = None,
    title: str = "",
    subtitle: str = "",
) -> Figure:
    """The night so far and the re-forecast (``migsim replan``), one row per unit.

    ``events``: the recorded replication's events (``events.csv``), ``actual`` per event
    whether it is in the actuals (its ``source`` column); ``now``, ``finish`` (the re-forecast's
    P80 finish) and ``plan_finish`` (the plan's) in minutes from the start; ``bands``: per unit
    not yet committed, its Commit end in the re-forecast at P10, P50 and P90 (minutes; None
    where a percentile falls among replications that never commit it). Steps that happened are
    solid bars (a step in progress at ``now`` solid up to ``now``), the recorded forecast's
    steps the same colours drawn light; each band is an orange bar from P10 to P90 under the
    unit's steps with a tick at P50; ✕ a failed attempt, ◆ a Commit that ended. Vertical lines:
    now (black), the re-forecast's P80 finish (vermillion, dashed) and the plan's (grey,
    dotted), each labelled above the chart; maintenance windows shaded green. Clock times in
    ``zone`` (the plan's) when there is an ``origin``, else hours from the start. Above
    :data:`DENSE_UNIT_ROWS` units the rows are thin on a page of :data:`DENSE_HEIGHT` inches and
    about :data:`DENSE_LABELS` are labelled, as on the timeline. Each bar and band has a hover
    text (:func:`tooltip`)."""
    bands = dict(bands or {})
    infos = dict(units or {})
    clock = _Clock(origin, zone)
    x, width = clock.x, clock.width
    steps = _night_steps(events, actual)

    def when(minutes: float) -> str:
        """``Sun 01:30`` rounded once from the exact time, as ``replan.json``'s texts are (a
        P80 of 05:08:29.7 reads 05:08)."""
        if origin is None:
            return f"+{format_minutes(minutes)}"
        t = nearest_minute(exact_at(origin, minutes))
        return t.astimezone(clock.zone).strftime("%a %H:%M")

    first: dict[str, float] = {}
    for uid, _, _, a, *_ in steps:
        first[uid] = min(first.get(uid, a), a)
    order = sorted(first, key=lambda u: (first[u], u))
    order += sorted(
        (u for u in bands if u not in first), key=lambda u: (bands[u][1] or math.inf, u)
    )
    ends = [e.time for e in events] + [b for band in bands.values() for b in band if b is not None]
    horizon = max([now, finish or 0.0, plan_finish or 0.0, *ends, 1.0])
    right = horizon * 1.03

    row_of = {uid: i for i, uid in enumerate(order)}
    labels: list[tuple[str, str]] = []  # (shown, full)
    for uid in order:
        info = infos.get(uid)
        vms = info.vm_count if info is not None else 0
        kind = _TYPE_WORDS.get(info.kind, info.kind) if info is not None else ""
        parts = ", ".join(p for p in (kind, plural(vms, "VM") if vms else "") if p)
        suffix = f" ({parts})" if parts else ""
        shown = _middle(uid, max(LABEL_NAME_CHARS, LABEL_CHARS - len(suffix))) + suffix
        labels.append((shown, uid + suffix))
    n = max(len(order), 1)
    dense = len(order) > DENSE_UNIT_ROWS
    every = math.ceil(n / DENSE_LABELS) if dense else 1

    markers = [NightMarker("now", "now", now, f"now {when(now)}", NOW_COLOUR, "-")]
    if plan_finish is not None:
        markers.append(
            NightMarker(
                "plan-p80",
                "P80 finish, the plan",
                plan_finish,
                f"plan P80 {when(plan_finish)}",
                PLAN_P80_COLOUR,
                ":",
            )
        )
    if finish is not None:
        markers.append(
            NightMarker(
                "p80",
                "P80 finish, re-forecast",
                finish,
                f"re-forecast P80 {when(finish)}",
                NEW_P80_COLOUR,
                "--",
            )
        )

    title_lines = [subtitle] if subtitle else []
    absent = len(set(infos) - set(order))
    if absent:
        title_lines.append(
            f"{plural(absent, 'unit')} not drawn: no step in this replication and no Commit in"
            " the re-forecast (not migrated)"
        )
    if dense:
        title_lines.append(
            f"{n:,} units, one thin row each in order of their first step, one in {every} labelled"
        )
    label_in = 0.62  # up to three levels of marker labels above the axes
    top_in = 0.62 + 0.22 * len(title_lines) + label_in
    bottom_in = 1.55
    height = DENSE_HEIGHT if dense else max(4.2, ROW_INCHES * 1.25 * n + top_in + bottom_in)
    fig = Figure(figsize=(14.0, height))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_autoscale_on(False)
    _shade_maintenance(ax, clock, maintenance, horizon, right)
    if not dense:
        for i in range(1, n, 2):
            ax.axhspan(i - 0.5, i + 0.5, color="#000000", alpha=0.035, linewidth=0, zorder=0)

    # The steps, as four batched collections (actual / forecast x migration / remediation): a
    # step begun before now and ended after it is solid to now, light from now.
    step_h = 0.62 if not dense else 0.8
    y_off = -0.12 if not dense else 0.0
    boxes: dict[tuple[bool, bool], list[tuple[float, float, float]]] = {}
    texts: dict[tuple[bool, bool], list[str]] = {}
    fails: tuple[list[float], list[float], list[bool]] = ([], [], [])
    commits: tuple[list[float], list[float]] = ([], [])

    def add(solid: bool, remedy: bool, a: float, b: float, y: float, text: str) -> None:
        boxes.setdefault((solid, remedy), []).append((a, max(b, a), y))
        texts.setdefault((solid, remedy), []).append(text)

    last_event = max((e.time for e in events), default=now)
    for uid, step, attempt, a, b, a_actual, b_actual, failed in steps:
        y = row_of[uid] + y_off
        remedy = _is_remedy(step)
        what = f"{labels[row_of[uid]][1]}: {step}" + (
            f" (attempt {attempt})" if attempt > 1 else ""
        )
        how = ", failed" if failed else ""
        if a_actual and b is not None and b_actual:
            add(True, remedy, a, b, y, f"{what}{how}\nhappened: {clock.span(a, b)}")
        elif a_actual:
            add(True, remedy, a, now, y, f"{what}\nbegun {when(a)}, in progress at now")
            if b is not None and b > now:
                add(
                    False,
                    remedy,
                    now,
                    b,
                    y,
                    f"{what}{how}\nin progress; forecast to end {when(b)}",
                )
        else:
            end = b if b is not None else last_event
            add(False, remedy, a, end, y, f"{what}{how}\nforecast: {clock.span(a, end)}")
        if failed and b is not None:
            fails[0].append(x(b))
            fails[1].append(y)
            fails[2].append(b_actual)
        if step == "commit" and b is not None and not failed and b_actual:
            commits[0].append(x(b))
            commits[1].append(y)

    for (solid, remedy), rows in sorted(boxes.items()):
        style: dict[str, Any] = dict(ACTUAL_REMEDY if remedy else ACTUAL_STEP)
        if dense:  # a white edge would eat a bar a few pixels wide
            style["linewidth"] = 0
        if not solid:
            style = {"facecolor": style["facecolor"], "alpha": FORECAST_ALPHA, "linewidth": 0}
        arr = np.asarray(rows, dtype=float)
        x0 = clock.xs(arr[:, 0])
        x1 = x0 + width(1.0) * (arr[:, 1] - arr[:, 0])
        y0, y1 = arr[:, 2] - step_h / 2, arr[:, 2] + step_h / 2
        verts: Any = np.stack([np.c_[x0, y0], np.c_[x0, y1], np.c_[x1, y1], np.c_[x1, y0]], axis=1)
        drawn = PolyCollection(verts, zorder=3 if solid else 2, **style)
        ax.add_collection(drawn, autolim=False)
        kind = ("actual" if solid else "forecast") + ("-remedy" if remedy else "-step")
        tooltip(drawn, fig, f"night-{kind}", texts[(solid, remedy)])

    # The re-forecast's band of each unit's Commit end: P10 to P90, a tick at P50.
    band_h = 0.26 if not dense else 0.5
    band_y = 0.3 if not dense else 0.0
    band_rows: list[tuple[float, float, float]] = []
    band_texts: list[str] = []
    p50s: tuple[list[float], list[float]] = ([], [])
    for uid, (p10, p50, p90) in bands.items():
        if uid not in row_of or p10 is None:
            continue
        y = row_of[uid] + band_y
        band_rows.append((p10, p90 if p90 is not None else horizon, y))
        last = when(p90) if p90 is not None else "never (some replications never commit it)"
        band_texts.append(
            f"{labels[row_of[uid]][1]}: Commit ends (re-forecast)\n"
            f"P10 {when(p10)} · P50 {when(p50) if p50 is not None else '–'}"
            f" · P90 {last}"
        )
        if p50 is not None:
            p50s[0].append(x(p50))
            p50s[1].append(y)
    if band_rows:
        arr = np.asarray(band_rows, dtype=float)
        x0 = clock.xs(arr[:, 0])
        x1 = np.maximum(x0 + width(1.0) * (arr[:, 1] - arr[:, 0]), x0 + width(horizon / 400))
        y0, y1 = arr[:, 2] - band_h / 2, arr[:, 2] + band_h / 2
        verts = np.stack([np.c_[x0, y0], np.c_[x0, y1], np.c_[x1, y1], np.c_[x1, y0]], axis=1)
        drawn = PolyCollection(
            verts, facecolor=BAND_COLOUR, edgecolor="#8a5a00", linewidth=0.5, alpha=0.8, zorder=4
        )
        ax.add_collection(drawn, autolim=False)
        tooltip(drawn, fig, "night-band", band_texts)
    mark = 0.45 if dense else 1.0
    if p50s[0]:
        ax.plot(
            *p50s,
            linestyle="none",
            marker="|",
            color="#000000",
            markersize=11 * mark,
            markeredgewidth=1.6,
            zorder=5,
        )
    if commits[0]:
        ax.plot(
            *commits,
            linestyle="none",
            marker="D",
            color=COMMIT_COLOUR,
            markeredgecolor=COMMIT_COLOUR if dense else "#FFFFFF",
            markersize=6 * mark,
            zorder=6,
        )
    for happened in (True, False):
        xs = [a for a, h in zip(fails[0], fails[2], strict=True) if h == happened]
        ys = [b for b, h in zip(fails[1], fails[2], strict=True) if h == happened]
        if xs:
            ax.plot(
                xs,
                ys,
                linestyle="none",
                marker="X",
                color=FAIL_COLOUR,
                alpha=1.0 if happened else 0.4,
                markersize=8 * mark,
                zorder=6,
            )

    # now, and the P80 finishes: lines over the chart, labels above it (staggered when close)
    ax.set_ylim(n - 0.5, -0.5)
    clock.axis(ax, right)
    left_in = 0.0
    ax.set_yticks(list(range(0, n, every)) if order else [])
    ax.set_yticklabels(
        [(f"{i + 1}. " if dense else "") + labels[i][0] for i in range(0, n, every)]
        if order
        else [],
        fontsize=DENSE_LABEL_SIZE if dense else ROW_LABEL_SIZE,
    )
    for i, tick in zip(range(0, n, every), ax.get_yticklabels(), strict=False):
        if labels[i][0] != labels[i][1]:
            tooltip(tick, fig, f"night-label-{i}", [labels[i][1]])
    left_in = _label_width(fig, ax) + 0.45
    left = min(max(left_in, 1.5), 5.0) / 14.0
    axis_in = (0.97 - left) * 14.0
    levels: list[float] = []  # the right end (axes fraction) of the last label on each level
    char = 9.0 / 72.0 * 0.62 / axis_in  # a 9-point character, as a fraction of the axis width
    span = clock.x(right) - clock.x(0.0)
    for m in sorted(markers, key=lambda m: m.minutes):
        frac = (clock.x(m.minutes) - clock.x(0.0)) / span
        w = len(m.label) * char
        ha = "left" if frac < 0.12 else "right" if frac > 0.88 else "center"
        a = frac if ha == "left" else frac - w if ha == "right" else frac - w / 2
        level = next((k for k, end in enumerate(levels) if a > end + char), len(levels))
        level = min(level, 2)
        if level == len(levels):
            levels.append(a + w)
        else:
            levels[level] = max(levels[level], a + w)
        full = (
            f"{m.what}: {clock_text(exact_at(origin, m.minutes), clock.zone)}"
            if origin is not None
            else f"{m.what}: +{format_minutes(m.minutes)} from the start"
        )
        ax.axvline(x(m.minutes), color=m.colour, linestyle=m.style, linewidth=1.8, zorder=7)
        # drawn again wide and all but transparent (HOVER_FILL), so the mouse finds the hover
        # text of a dashed or dotted line between its dashes too
        hover = ax.axvline(x(m.minutes), color=HOVER_FILL, linewidth=8, zorder=7.5)
        tooltip(hover, fig, f"night-mark-{m.key}", [full])
        dy = (0.06 + 0.2 * level) / (height - top_in - bottom_in)  # inches above the axes
        ax.plot(
            [x(m.minutes)] * 2,
            [1.0, 1.0 + dy],
            transform=ax.get_xaxis_transform(),
            color=m.colour,
            linestyle=m.style,
            linewidth=1.0,
            clip_on=False,
            zorder=7,
        )
        label = ax.text(
            x(m.minutes),
            1.0 + dy,
            m.label,
            transform=ax.get_xaxis_transform(),
            ha=ha,
            va="bottom",
            fontsize=9,
            fontweight="bold",
            color=m.colour,
            clip_on=False,
        )
        tooltip(label, fig, f"night-mark-{m.key}-label", [full])
    ax.grid(axis="x", color="#cccccc", linewidth=0.5, zorder=1)
    ax.set_axisbelow(True)
    fig.suptitle(
        _shorten(title, 110) or "The night so far and the re-forecast",
        fontsize=13,
        fontweight="bold",
        y=1 - 0.12 / height,
    )
    if title_lines:
        fig.text(
            0.5, 1 - 0.5 / height, "\n".join(title_lines), ha="center", va="top", fontsize=10.5
        )
    handles = [
        Patch(label="step done (actuals)", **_patch(ACTUAL_STEP)),
        Patch(label="remediation / restore done (actuals)", **_patch(ACTUAL_REMEDY)),
        Patch(
            facecolor=ACTUAL_STEP["facecolor"],
            alpha=FORECAST_ALPHA,
            label="step forecast (one replication)",
        ),
        Patch(
            facecolor=BAND_COLOUR,
            edgecolor="#8a5a00",
            alpha=0.8,
            label="Commit ends: P10 to P90 (re-forecast), | P50",
        ),
        Line2D([], [], color=NOW_COLOUR, linewidth=1.8, label="now"),
        Line2D(
            [],
            [],
            color=NEW_P80_COLOUR,
            linestyle="--",
            linewidth=1.8,
            label="P80 finish, re-forecast",
        ),
        Line2D(
            [],
            [],
            color=PLAN_P80_COLOUR,
            linestyle=":",
            linewidth=1.8,
            label="P80 finish, the plan",
        ),
        Patch(facecolor=MAINTENANCE, alpha=0.25, label="maintenance window"),
        Line2D(
            [],
            [],
            color=COMMIT_COLOUR,
            marker="D",
            linestyle="none",
            label="Commit ended (actuals)",
        ),
        Line2D(
            [],
            [],
            color=FAIL_COLOUR,
            marker="X",
            linestyle="none",
            markersize=7,
            label="failed attempt (light: forecast)",
        ),
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.1 / height),
        ncol=5,
        fontsize=9,
        frameon=False,
    )
    fig.subplots_adjust(left=left, right=0.97, top=1 - top_in / height, bottom=bottom_in / height)
    return fig


# ---- VMs down / resources locked over time -----------------------------------------------------


def exposure_intervals(windows: Iterable[Window]) -> dict[str, list[tuple[float, float]]]:
    """The intervals the "over time" plot counts, per series: ``down`` (each VM's data
    downtime, merged per VM), ``locked`` (each resource's management lock, merged per
    resource) and ``gap`` (each resource's remediation gaps, merged per resource)."""
    ws = list(windows)
    locked: dict[str, list[tuple[float, float]]] = {}
    gap: dict[str, list[tuple[float, float]]] = {}
    for w in ws:
        if w.kind == "management":
            locked.setdefault(w.resource, []).append((w.start, w.end))
        elif w.kind != "data":
            gap.setdefault(w.resource, []).append((w.start, w.end))
    return {
        "down": [iv for ivs in vm_down_intervals(ws).values() for iv in ivs],
        "locked": [iv for ivs in locked.values() for iv in _union(ivs)],
        "gap": [iv for ivs in gap.values() for iv in _union(ivs)],
    }


def _steps(intervals: Sequence[tuple[float, float]], right: float) -> tuple[Any, Any]:
    """A step function ``(x, y)`` counting the open intervals (half-open) from 0 to ``right``."""
    points = sorted(
        [(a, 1) for a, b in intervals if b > a] + [(b, -1) for a, b in intervals if b > a]
    )
    xs, ys, now = [0.0], [0], 0
    for t, d in points:
        now += d
        if xs[-1] == t:
            ys[-1] = now
        else:
            xs.append(t)
            ys.append(now)
    xs.append(max(right, xs[-1]))
    ys.append(ys[-1])
    return np.asarray(xs), np.asarray(ys)


def _count_at(intervals: Sequence[tuple[float, float]], grid: Any) -> Any:
    starts = np.sort(np.asarray([a for a, b in intervals if b > a], dtype=float))
    ends = np.sort(np.asarray([b for a, b in intervals if b > a], dtype=float))
    return np.searchsorted(starts, grid, side="right") - np.searchsorted(ends, grid, side="right")


_SERIES = (
    ("down", "VMs down (data plane)", "VMs", DATA_LINE),
    ("locked", "resources with the management plane locked", "resources", LOCK_LINE),
    ("gap", "resources in a remediation gap", "resources", GAP_LINE),
)


def exposure(
    windows: Sequence[Window],
    *,
    origin: datetime | None = None,
    maintenance: Sequence[tuple[float, float]] = (),
    horizon: float | None = None,
    replications: Sequence[Sequence[Window]] = (),
    title: str = "",
    zone: ZoneInfo | None = None,
) -> Figure:
    """ "VMs down / resources locked over time": step plots of one replication's ``windows``
    (VMs down, resources locked, resources in a remediation gap), with the P10-P90 band and
    the median across ``replications`` (several window tables) when given at least two. Clock
    times are in ``zone`` (default UTC)."""
    series = exposure_intervals(windows)
    ends = [b for ivs in series.values() for _, b in ivs]
    own_end = horizon if horizon is not None else max(ends, default=0.0)
    others = [exposure_intervals(ws) for ws in replications]
    for o in others:
        ends += [b for ivs in o.values() for _, b in ivs]
    right = max([horizon or 0.0, *ends, 1.0])
    clock = _Clock(origin, zone)
    banded = len(others) >= 2

    fig = Figure(figsize=(14.0, 7.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 1, sharex=True)
    grid = np.linspace(0.0, right, 1201)
    for ax, (key, what, unit, colour) in zip(axes, _SERIES, strict=True):
        _shade_maintenance(ax, clock, maintenance, own_end, right * 1.03, alpha=0.08)
        if banded:
            counts = np.vstack([_count_at(o[key], grid) for o in others])
            p10, p50, p90 = np.percentile(counts, [10, 50, 90], axis=0)
            ax.fill_between(
                clock.xs(grid), p10, p90, step="post", color=colour, alpha=0.3, linewidth=0
            )
            ax.step(clock.xs(grid), p50, where="post", color=colour, linewidth=1.0, linestyle="--")
        xs, ys = _steps(series[key], right)
        ax.step(clock.xs(xs), ys, where="post", color=colour, linewidth=1.8, zorder=3)
        peak = int(ys.max()) if ys.size else 0
        if peak > 0:
            at = float(xs[int(np.argmax(ys))])
            ax.annotate(
                f"peak {peak} at {clock.when(at)}",
                (clock.x(at), peak),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize=8,
                va="bottom",
                color="#333333",
            )
        top = max(peak, int(np.max(counts)) if banded else 0, 1)
        ax.set_ylim(0, top * 1.15 + 0.5)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.set_ylabel(unit, fontsize=9)
        ax.set_title(what, loc="left", fontsize=9.5, fontweight="bold")
        ax.grid(color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
    clock.axis(axes[-1], right * 1.03)
    handles: list[Any] = [Line2D([], [], color="#333333", linewidth=1.8, label="this run")]
    if banded:
        handles += [
            Patch(
                facecolor="#777777",
                alpha=0.3,
                label=f"P10-P90 over {len(others)} replications",
            ),
            Line2D([], [], color="#333333", linewidth=1.0, linestyle="--", label="median (P50)"),
        ]
    if maintenance:
        handles.append(Patch(facecolor=MAINTENANCE, alpha=0.25, label="maintenance window"))
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(title or "VMs down and resources locked over time", fontsize=12, fontweight="bold")
    fig.subplots_adjust(left=0.07, right=0.97, top=0.9, bottom=0.17, hspace=0.38)
    return fig


# ---- risk curves: ECDFs per alternative --------------------------------------------------------

MARKED = ((50, "o"), (80, "s"), (90, "^"))
"""The percentiles marked on every ECDF, with their marker."""


def _style(i: int) -> dict[str, Any]:
    return {
        "color": ALTERNATIVE_COLOURS[i % len(ALTERNATIVE_COLOURS)],
        "linestyle": ALTERNATIVE_STYLES[(i // len(ALTERNATIVE_COLOURS) + i) % 4],
    }


def _num(x: float) -> str:
    if math.isnan(x):
        return "-"
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"


def _ecdf_axes(ax: Axes, samples: Mapping[str, Sequence[float]], metric: str) -> None:
    what, unit = metric_label(metric)
    lo = min((min(v) for v in samples.values() if len(v)), default=0.0)
    hi = max((max(v) for v in samples.values() if len(v)), default=1.0)
    pad = (hi - lo) * 0.04 or max(abs(hi) * 0.04, 0.5)
    for p, _ in MARKED:
        ax.axhline(p / 100, color="#999999", linewidth=0.6, linestyle=":", zorder=1)
        ax.text(
            1.005,
            p / 100,
            f"P{p}",
            transform=ax.get_yaxis_transform(),
            fontsize=7.5,
            va="center",
            color="#555555",
        )
    for i, (name, values) in enumerate(samples.items()):
        v = np.sort(np.asarray(values, dtype=float))
        if v.size == 0:
            continue
        style = _style(i)
        n = v.size
        xs = np.concatenate([[lo - pad], v, [hi + pad]])
        ys = np.concatenate([[0.0], np.arange(1, n + 1) / n, [1.0]])
        pct = np.percentile(v, [p for p, _ in MARKED])
        label = f"{name}: " + ", ".join(
            f"P{p} {_num(float(q))}" for (p, _), q in zip(MARKED, pct, strict=True)
        )
        ax.step(xs, ys, where="post", linewidth=1.8, label=label, zorder=3, **style)
        for (p, marker), q in zip(MARKED, pct, strict=True):
            ax.plot(
                [q],
                [p / 100],
                marker=marker,
                color=style["color"],
                markeredgecolor="#000000",
                markeredgewidth=0.6,
                markersize=6.5,
                linestyle="none",
                zorder=4,
            )
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(f"{what} ({unit})" if unit else what, fontsize=9)
    ax.set_ylabel("share of replications at or below", fontsize=9)
    ax.set_title(what, loc="left", fontsize=10, fontweight="bold")
    ax.grid(color="#e3e3e3", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -_ECDF_LEGEND_GAP / _ECDF_AXES_H),
        fontsize=7.5,
        frameon=False,
        title=f"P50 / P80 / P90 in {unit}" if unit else "P50 / P80 / P90",
        title_fontsize=7.5,
    )


_ECDF_AXES_H = 3.6
"""Inches of each ECDF panel; its legend goes below it, one line per alternative."""
_ECDF_LEGEND_GAP = 0.5


def ecdf(samples: Mapping[str, Sequence[float]], metric: str, title: str = "") -> Figure:
    """The ECDF of one metric per alternative (``{name: values, one per replication}``) with
    P50/P80/P90 marked on each curve (circle, square, triangle) and given in the legend."""
    return risk_curves({metric: samples}, title=title)


def risk_curves(
    samples_by_metric: Mapping[str, Mapping[str, Sequence[float]]], title: str = ""
) -> Figure:
    """One ECDF panel per metric (``{metric: {alternative: values}}``), side by side: the
    risk curves of a comparison. Further right is worse; a curve to the left of another at
    the P80 line is the better alternative at that confidence."""
    metrics = list(samples_by_metric)
    n = max(len(metrics), 1)
    alts = max((len(s) for s in samples_by_metric.values()), default=1)
    below = _ECDF_LEGEND_GAP + 0.2 * alts + 0.3 + 0.35  # x label, legend, marker key
    height = 0.75 + _ECDF_AXES_H + below
    fig = Figure(figsize=(7.0 * n if n > 1 else 9.0, height))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        _ecdf_axes(ax, samples_by_metric[metric], metric)
    reps = max((len(v) for s in samples_by_metric.values() for v in s.values()), default=0)
    fig.suptitle(
        title or f"Risk curves: share of {reps} replications finishing at or below each value",
        fontsize=12,
        fontweight="bold",
    )
    handles = [
        Line2D(
            [],
            [],
            marker=m,
            color="#777777",
            markeredgecolor="#000000",
            linestyle="none",
            label=f"P{p}",
        )
        for p, m in MARKED
    ]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.subplots_adjust(
        left=0.07 if n > 1 else 0.1,
        right=0.96,
        top=1 - 0.75 / height,
        bottom=below / height,
        wspace=0.22,
    )
    return fig


def samples_by_alternative(
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    metrics: Sequence[str] = ("makespan_hours", "vm_hours_down"),
) -> dict[str, dict[str, list[float]]]:
    """``{metric: {alternative: values}}`` from one row list per alternative (objects with the
    metric attributes, such as ``ReplicationRow``, or mappings): what :func:`risk_curves`
    takes."""

    def get(r: Any, m: str) -> float:
        return float(r[m] if isinstance(r, Mapping) else getattr(r, m))

    return {
        m: {name: [get(r, m) for r in alt] for name, alt in zip(names, rows, strict=True)}
        for m in metrics
    }


# ---- sensitivity: tornado and criticality ------------------------------------------------------


class TornadoLike(Protocol):
    """One tornado bar: the factor, its low and high settings and the metric at each."""

    @property
    def factor(self) -> str: ...
    @property
    def low(self) -> str: ...
    @property
    def high(self) -> str: ...
    @property
    def at_low(self) -> float: ...
    @property
    def at_high(self) -> float: ...


@dataclass(frozen=True)
class TornadoBar:
    """A tornado bar read back from ``sensitivity.csv``; ``status`` is its last column
    (``varied``, or ``not varied (base is 0)``), empty in files written before it."""

    factor: str
    low: str
    high: str
    at_low: float
    at_high: float
    status: str = ""


def _not_moved(rows: Sequence[TornadoLike]) -> str:
    """The factors that did not move the metric, by why: ``no effect`` (varied, and the metric
    stayed), or their status (``not varied (base is 0)``: nothing to vary)."""
    groups: dict[str, list[str]] = {"no effect": []}
    for r in rows:
        status = str(getattr(r, "status", "") or "varied")
        groups.setdefault("no effect" if status == "varied" else status, []).append(r.factor)
    return "; ".join(f"{why}: {', '.join(names)}" for why, names in groups.items() if names)


def tornado(
    rows: Sequence[TornadoLike],
    *,
    base: float,
    metric: str = "makespan_hours",
    statistic: str = "p80",
    replications: int | None = None,
    top: int = 16,
) -> Figure:
    """The tornado chart: one bar per factor, from the metric at the base plan to the metric
    with the factor at its low (blue) and at its high value (orange), the widest swing on
    top. Factors that do not move the metric are listed under the chart: "no effect" when they
    were varied, their status ("not varied (base is 0)") when they could not be."""
    what, unit = metric_label(metric)
    stat = statistic.upper() if statistic.lower() != "mean" else "mean"
    ordered = sorted(rows, key=lambda r: -abs(r.at_high - r.at_low))
    moving = [r for r in ordered if abs(r.at_high - r.at_low) > 1e-9][:top]
    still = [r for r in ordered if abs(r.at_high - r.at_low) <= 1e-9]
    n = max(len(moving), 1)
    height = 1.9 + 0.42 * n + (0.3 if still else 0.0)
    fig = Figure(figsize=(11.0, height))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    values = [base] + [v for r in moving for v in (r.at_low, r.at_high)]
    span = (max(values) - min(values)) or max(abs(base) * 0.1, 1.0)
    for y, r in enumerate(moving):
        for value, colour in ((r.at_low, LOW_COLOUR), (r.at_high, HIGH_COLOUR)):
            ax.barh(
                y,
                value - base,
                left=base,
                height=0.62,
                color=colour,
                edgecolor="#000000",
                linewidth=0.5,
                zorder=3,
            )
        low_text = f"{r.low}: {_num(r.at_low)}"
        high_text = f"{r.high}: {_num(r.at_high)}"
        if (r.at_low >= base) == (r.at_high >= base):
            # both on one side: one label beyond the longer bar, low setting first
            far = max(r.at_low, r.at_high) if r.at_low >= base else min(r.at_low, r.at_high)
            labels = [(far, f"{low_text}  |  {high_text}")]
        else:
            labels = [(r.at_low, low_text), (r.at_high, high_text)]
        for value, text in labels:
            right = value >= base
            ax.text(
                value + (0.01 if right else -0.01) * span,
                y,
                text,
                va="center",
                ha="left" if right else "right",
                fontsize=8,
                zorder=4,
            )
    ax.axvline(base, color="#000000", linewidth=1.2, zorder=5)
    ax.set_yticks(range(len(moving)))
    ax.set_yticklabels([r.factor for r in moving], fontsize=8.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(min(values) - 0.22 * span, max(values) + 0.22 * span)
    ax.set_xlabel(f"{stat} {what}" + (f" ({unit})" if unit else ""), fontsize=9)
    ax.grid(axis="x", color="#e3e3e3", linewidth=0.5)
    ax.set_axisbelow(True)
    reps = f" over {replications} replications" if replications else ""
    fig.suptitle(
        f"What drives the {stat} {what}: one factor at a time",
        fontsize=12,
        fontweight="bold",
        y=1 - 0.12 / height,
    )
    ax.set_title(
        f"base plan: {_num(base)} {unit}{reps}; bars run from the base to the value with the"
        " factor at its low and at its high setting",
        fontsize=8.5,
    )
    handles = [
        Patch(facecolor=LOW_COLOUR, edgecolor="#000000", label="factor at its low setting"),
        Patch(facecolor=HIGH_COLOUR, edgecolor="#000000", label="factor at its high setting"),
        Line2D([], [], color="#000000", linewidth=1.2, label="base plan"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    if still:
        fig.text(
            0.5,
            0.42 / height,
            _shorten(_not_moved(still), 170),
            ha="center",
            fontsize=7.5,
            color="#555555",
        )
    bottom = (1.05 + (0.3 if still else 0.0)) / height
    fig.subplots_adjust(left=0.2, right=0.96, top=1 - 0.75 / height, bottom=bottom)
    return fig


def _shares(
    values: Mapping[str, float] | Sequence[tuple[str, float]] | None,
) -> dict[str, float]:
    if values is None:
        return {}
    return dict(values.items() if isinstance(values, Mapping) else values)


RESOURCE_COLOUR = HIGH_COLOUR
"""The resource criticality's bars (hatched), beside the criticality index's (blue, solid)."""


def criticality(
    index: Mapping[str, float] | Sequence[tuple[str, float]],
    *,
    resource: Mapping[str, float] | Sequence[tuple[str, float]] | None = None,
    replications: int | None = None,
    top: int = 30,
) -> Figure:
    """The criticality index per unit (share of replications in which the unit lies on the
    critical path), highest first; at most ``top`` units, units never critical left out.

    With ``resource`` (the resource criticality per unit: share of replications in which the
    unit held a crew the critical path waited for), two bars per unit: the criticality index
    (blue, solid) and the resource criticality (orange, hatched); units are sorted by the
    index, then the resource criticality, and a unit shows when either is above 0."""
    crit = _shares(index)
    res = _shares(resource)
    both = resource is not None
    names = list(dict.fromkeys([*crit, *res]))
    names.sort(key=lambda u: (-crit.get(u, 0.0), -res.get(u, 0.0)))
    listed = [u for u in names if crit.get(u, 0.0) > 0 or (both and res.get(u, 0.0) > 0)]
    shown = listed[:top]
    never = sum(1 for u in names if crit.get(u, 0.0) <= 0)
    hidden = len(listed) - len(shown)
    n = max(len(shown), 1)
    height = 1.9 + (0.5 if both else 0.3) * n + (0.3 if both else 0.0)
    fig = Figure(figsize=(10.0, height))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ys = list(range(len(shown)))
    bars: list[tuple[list[float], dict[str, float], float, dict[str, Any]]] = [
        (
            [y - 0.2 for y in ys] if both else [float(y) for y in ys],
            crit,
            0.38 if both else 0.65,
            {"color": LOCK_LINE},
        )
    ]
    if both:
        bars.append(
            (
                [y + 0.2 for y in ys],
                res,
                0.38,
                {"color": RESOURCE_COLOUR, "hatch": "////"},
            )
        )
    for pos, shares, thickness, style in bars:
        vals = [shares.get(u, 0.0) for u in shown]
        ax.barh(pos, vals, height=thickness, edgecolor="#000000", linewidth=0.5, zorder=3, **style)
        for y, v in zip(pos, vals, strict=True):
            ax.text(v + 0.01, y, f"{v:.0%}", va="center", fontsize=8 if not both else 7.5, zorder=4)
    ax.set_yticks(ys)
    ax.set_yticklabels(shown, fontsize=8.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, 1.08)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(
        "share of replications"
        if both
        else "criticality index: share of replications with the unit on the critical path",
        fontsize=9,
    )
    ax.grid(axis="x", color="#e3e3e3", linewidth=0.5)
    ax.set_axisbelow(True)
    notes = []
    if hidden:
        below = "" if both else f" below {crit.get(shown[-1], 0.0):.0%}"
        notes.append(f"{hidden} more units{below} not shown")
    if never:
        notes.append(f"{never} units never on the critical path")
    reps = f" ({replications} replications)" if replications else ""
    title = "Criticality per unit" if both else "Criticality index per unit"
    fig.suptitle(f"{title}{reps}", fontsize=12, fontweight="bold", y=1 - 0.12 / height)
    ax.set_title(
        "; ".join(notes) if notes else "units that set the makespan most often on top",
        fontsize=8.5,
    )
    bottom = 0.75 / height
    if both:
        handles = [
            Patch(
                facecolor=LOCK_LINE,
                edgecolor="#000000",
                label="criticality index: on the critical path (own steps, must-precede)",
            ),
            Patch(
                facecolor=RESOURCE_COLOUR,
                edgecolor="#000000",
                hatch="////",
                label="resource criticality: held a crew the critical path waited for",
            ),
        ]
        fig.legend(handles=handles, loc="lower center", ncol=1, fontsize=8, frameon=False)
        bottom = 1.3 / height
    fig.subplots_adjust(left=0.22, right=0.96, top=1 - 0.75 / height, bottom=bottom)
    return fig


# ---- the unit dependency graph -----------------------------------------------------------------


def _layers(ids: Sequence[str], preds: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Longest-path depth of each unit in the must-precede DAG (a cycle: depth by listing)."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(ids)
    g.add_edges_from((p, u) for u in ids for p in preds.get(u, ()) if p in preds)
    depth: dict[str, int] = {}
    try:
        order = list(nx.topological_sort(g))
    except nx.NetworkXUnfeasible:
        order = list(ids)
    for u in order:
        depth[u] = max((depth.get(p, 0) + 1 for p in g.predecessors(u) if p in depth), default=0)
    return depth


def dependency_graph(
    units: Sequence[Mapping[str, Any]],
    *,
    title: str = "",
    max_units: int = 90,
) -> Figure:
    """The unit dependency graph: units as boxes in columns by must-precede depth (a unit is
    right of every unit it must wait for), arrows for must-precede edges, boxes coloured by
    validation status. Units that wait for a blocked unit (so will not migrate either) are
    outlined and dotted. ``units`` are the ``units`` of ``validation.json`` (``id``, ``kind``,
    ``status``, ``vms``, ``after``).

    Above ``max_units`` units only the blocked and remediate units and their direct
    neighbours are drawn (the rest listed as a count); still too many: the first
    ``max_units`` of those, blocked first.
    """
    by_id = {str(u["id"]): u for u in units}
    preds = {
        uid: [str(p) for p in u.get("after", ()) if str(p) in by_id] for uid, u in by_id.items()
    }
    succs: dict[str, list[str]] = {uid: [] for uid in by_id}
    for uid, ps in preds.items():
        for p in ps:
            succs[p].append(uid)
    status = {uid: str(u.get("status", "clean")) for uid, u in by_id.items()}
    # everything downstream of a blocked unit waits for it forever
    waiting: set[str] = set()
    stack = [uid for uid, s in status.items() if s == "blocked"]
    while stack:
        for nxt in succs[stack.pop()]:
            if nxt not in waiting and status[nxt] != "blocked":
                waiting.add(nxt)
                stack.append(nxt)

    ids = list(by_id)
    note = ""
    if len(ids) > max_units:
        rank = {u: 0 if status[u] == "blocked" else 1 if u in waiting else 2 for u in ids}
        chosen = [u for u in ids if status[u] in ("blocked", "remediate") or u in waiting]
        chosen.sort(key=lambda u: rank[u])
        chosen_set = set(chosen[:max_units])
        ids = [u for u in ids if u in chosen_set]
        note = (
            f"{len(by_id)} units: showing the {len(ids)} that are blocked, wait for a blocked unit"
            f" or need remediation; the other {len(by_id) - len(ids)} are left out"
        )
    shown = set(ids)
    depth = _layers(ids, {u: [p for p in preds[u] if p in shown] for u in ids})
    n_layers = max(depth.values(), default=0) + 1
    per_col = max(8, math.ceil(math.sqrt(len(ids)) * 1.6))
    # columns: each layer cut into sub-columns of at most per_col boxes
    columns: list[list[str]] = []
    y_of: dict[str, float] = {}
    for layer in range(n_layers):
        members = [u for u in ids if depth[u] == layer]
        if layer > 0:  # barycentre of the predecessors' rows, fewer crossings
            members.sort(
                key=lambda u: (
                    np.mean([y_of[p] for p in preds[u] if p in y_of]) if preds[u] else 0.0,
                    ids.index(u),
                )
            )
        for k in range(0, max(len(members), 1), per_col):
            col = members[k : k + per_col]
            if not col:
                continue
            for i, u in enumerate(col):
                y_of[u] = float(i)
            columns.append(col)
    rows = max((len(c) for c in columns), default=1)
    col_w, box_w, row_h, box_h = 2.5, 2.0, 0.52, 0.4
    width = max(8.0, len(columns) * col_w + 0.6)
    height = max(3.6, rows * row_h + 2.0)
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 1.05 / height, 1.0, 1 - 1.85 / height))
    ax.set_axis_off()
    pos: dict[str, tuple[float, float]] = {}
    for c, col in enumerate(columns):
        for i, u in enumerate(col):
            pos[u] = (0.3 + c * col_w, float(i) * row_h)
    for u in ids:
        x0, y0 = pos[u]
        for p in preds[u]:
            if p not in pos:
                continue
            px, py = pos[p]
            blocked_edge = status[p] == "blocked" or p in waiting
            ax.add_patch(
                FancyArrowPatch(
                    (px + box_w, py),
                    (x0, y0),
                    arrowstyle="-|>",
                    mutation_scale=9,
                    color="#D55E00" if blocked_edge else "#555555",
                    linewidth=1.1 if blocked_edge else 0.7,
                    linestyle="--" if blocked_edge else "-",
                    alpha=0.9 if blocked_edge else 0.55,
                    connectionstyle="arc3,rad=0.0",
                    shrinkA=1,
                    shrinkB=1,
                    zorder=1,
                )
            )
    font = 7.5 if rows <= 30 else 6.5
    for u in ids:
        x0, y0 = pos[u]
        info = by_id[u]
        style = dict(STATUS_STYLE.get(status[u], STATUS_STYLE["clean"]))
        if u in waiting:
            style = {**WAITING_STYLE, "text": "#000000"}
        ax.add_patch(
            FancyBboxPatch(
                (x0, y0 - box_h / 2),
                box_w,
                box_h,
                boxstyle="round,pad=0.0,rounding_size=0.06",
                facecolor=style["facecolor"],
                edgecolor=style["edgecolor"],
                hatch=style["hatch"] or None,
                linewidth=2.2 if status[u] == "blocked" else 1.4 if u in waiting else 0.8,
                zorder=2,
            )
        )
        vms = len(info.get("vms", ()) or ())
        sub = kind_word(str(info.get("kind", ""))) + (
            f", {vms} VM{'s' if vms != 1 else ''}" if vms else ""
        )
        ax.text(
            x0 + box_w / 2,
            y0 - 0.05,
            _shorten(u, 26),
            ha="center",
            va="center",
            fontsize=font,
            fontweight="bold",
            color=style["text"],
            zorder=3,
            bbox={"facecolor": style["facecolor"], "edgecolor": "none", "pad": 0.5}
            if style["hatch"]
            else None,
        )
        ax.text(
            x0 + box_w / 2,
            y0 + 0.11,
            sub,
            ha="center",
            va="center",
            fontsize=font - 1.5,
            color=style["text"],
            zorder=3,
            bbox={"facecolor": style["facecolor"], "edgecolor": "none", "pad": 0.3}
            if style["hatch"]
            else None,
        )
    ax.set_xlim(0.0, width)
    ax.set_ylim(max(rows - 1, 0) * row_h + 0.35, -0.35)
    counts = {s: sum(1 for u in by_id if status[u] == s) for s in ("blocked", "remediate", "clean")}
    fig.suptitle(
        title or "Migration units and their must-precede constraints",
        fontsize=12,
        fontweight="bold",
        y=1 - 0.12 / height,
    )
    sub_title = (
        f"{len(by_id)} units: {counts['blocked']} blocked, {counts['remediate']} to remediate,"
        f" {counts['clean']} clean; an arrow A -> B: A must commit before B starts"
    )
    fig.text(0.5, 1 - 0.55 / height, note or sub_title, ha="center", fontsize=8.5)
    handles = [
        Patch(
            **_patch(STATUS_STYLE["blocked"]),
            linewidth=2.0,
            label="blocked (cannot migrate as planned)",
        ),
        Patch(**_patch(STATUS_STYLE["remediate"]), label="needs remediation first"),
        Patch(**_patch(STATUS_STYLE["clean"]), label="clean"),
        Patch(**_patch(WAITING_STYLE), label="waits for a blocked unit"),
        Line2D([], [], color="#555555", linewidth=0.8, label="must precede"),
    ]
    fig.legend(
        handles=handles, loc="lower center", ncol=5 if width >= 11 else 3, fontsize=8, frameon=False
    )
    return fig


# ---- the resource graph and the unit graph (migsim graph) ---------------------------------------

RESOURCE_DRAWING_LIMIT = 250
"""Above this many resources, :func:`graph_drawing` (``level="auto"``) draws the migration units
instead of the resources. Decided by looking at pictures: a 150-VM estate (about 250 resources)
still reads one resource per row at a normal zoom; beyond that the picture is taller than 50
inches, and a 2,000-VM estate (3,354 resources, 10,277 relations) is a grey mass whatever the
layout."""

DRAWING_MAX_HEIGHT = 60.0
"""The tallest drawing in inches; more rows than fit at full size are squeezed and lose labels."""

GRAPH_LABEL_LIMIT = 300
"""At most this many node labels in one drawing; beyond, the biggest units (the unit roots, for
resources) keep theirs and the figure says how many it left out."""

_RESOURCE_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("circuit", ("expressroute_circuit",)),
    ("VNet", ("vnet",)),
    ("subnet, gateway, service", ("subnet", "gateway", "service")),
    ("NSG, route table, reserved IP", ("nsg", "route_table", "reserved_ip")),
    ("cloud service", ("cloud_service",)),
    ("role, avail. set", ("role", "availability_set")),
    ("VM", ("vm",)),
    ("storage account", ("storage_account",)),
)
"""Columns of the resource drawing, left to right: the network, what attaches to it, the compute,
the storage. Each migration unit is a band of rows across them."""

_SQUARE_KINDS = ("vnet", "cloud_service", "storage_account")
_LABEL_GAP = 0.05
"""Inches between a node's marker and its label."""


@dataclass
class _Node:
    label: str
    kind: str
    size: float  # marker diameter in points
    priority: float  # who keeps a label when not all fit (higher first)


@dataclass
class _Layout:
    x: dict[str, float]  # marker centre, inches from the left
    y: dict[str, float]  # marker centre, inches from the top
    port: dict[str, float]  # where edges leave to the right: past the label
    labelled: set[str]
    width: float
    height: float
    pitch: float
    header_x: list[float]
    column_end: list[float]  # right end of each column's longest label
    first: list[str]  # each column's first node
    column: dict[str, int]  # each node's column


def _text_width(text: str, size: float) -> float:
    """The width of ``text`` at ``size`` points, in inches (the glyphs' own metrics)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    w, _, _ = TextToPath().get_text_width_height_descent(text, FontProperties(size=size), False)
    return float(w) / 72.0


def _spaced(candidates: Sequence[tuple[float, float, str]], gap: float, limit: int) -> set[str]:
    """Of ``(priority, y, id)``, the highest priorities whose ys are at least ``gap`` apart."""
    chosen: list[float] = []
    out: set[str] = set()
    for _, y, n in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if len(out) >= limit:
            break
        if all(abs(y - other) >= gap for other in chosen):
            chosen.append(y)
            out.add(n)
    return out


def _layered(
    columns: Sequence[Sequence[str]],
    nodes: Mapping[str, _Node],
    row: Mapping[str, float],
    rows: float,  # (the nodes' marker sizes shrink when the rows are squeezed)
    *,
    pitch: float,
    font: float,
    left: float,
    column_gap: float,
    headers: Sequence[str],
    header_font: float,
) -> _Layout:
    """Place ``columns`` of nodes left to right, each node at its ``row``, every label right of
    its marker and clear of the next column (the column is as wide as its longest label)."""
    if rows * pitch > DRAWING_MAX_HEIGHT:  # squeezed: markers shrink to keep clear of each other
        pitch = DRAWING_MAX_HEIGHT / rows
        for n in nodes:
            nodes[n].size = min(nodes[n].size, max(0.85 * pitch * 72, 1.0))
    label_h = font * 1.3 / 72
    candidates: list[tuple[float, float, str]] = []
    for col in columns:
        for n in col:
            candidates.append((nodes[n].priority, row[n] * pitch, n))
    if pitch >= label_h and len(candidates) <= GRAPH_LABEL_LIMIT:
        labelled = {n for _, _, n in candidates}
    else:  # per column, labels a label's height apart; the limit shared by priority
        labelled = set()
        for col in columns:
            cands = [(nodes[n].priority, row[n] * pitch, n) for n in col]
            labelled |= _spaced(cands, label_h, GRAPH_LABEL_LIMIT)
        if len(labelled) > GRAPH_LABEL_LIMIT:
            keep = sorted(labelled, key=lambda n: (-nodes[n].priority, row[n]))
            labelled = set(keep[:GRAPH_LABEL_LIMIT])
    x: dict[str, float] = {}
    port: dict[str, float] = {}
    header_x: list[float] = []
    column_end: list[float] = []
    y = {n: (row[n] + 0.5) * pitch for col in columns for n in col}
    cursor = left
    for col, header in zip(columns, headers, strict=True):
        radius = max((nodes[n].size for n in col), default=4.0) / 144.0
        widths = {n: _text_width(nodes[n].label, font) if n in labelled else 0.0 for n in col}
        header_w = _text_width(header, header_font) - 2 * radius - _LABEL_GAP + 0.1
        widths[""] = header_w
        header_x.append(cursor)
        centre = cursor + radius
        for n in col:
            x[n] = centre
            r = nodes[n].size / 144.0
            port[n] = centre + r + (_LABEL_GAP + widths[n] + 0.03 if n in labelled else 0.02)
        column_end.append(centre + radius + _LABEL_GAP + max(widths.values(), default=0.0))
        cursor = column_end[-1] + column_gap
    width = cursor - column_gap + 0.4
    height = rows * pitch
    first = [col[0] for col in columns]
    column = {n: c for c, col in enumerate(columns) for n in col}
    return _Layout(x, y, port, labelled, width, height, pitch, header_x, column_end, first, column)


def _edge_path(
    lay: _Layout, a: str, b: str, col: Mapping[str, int], size: Mapping[str, float]
) -> Any:
    """The path of an edge from ``a`` to ``b``, clear of every marker and label it does not join.

    Between neighbouring columns: an S-curve from the right end of the left node's label to the
    right node's marker. Across more columns: out of the left column into the gap after it, then
    along the channel half a row above (or below) the right node's row, which no marker or label
    sits on, and into the right node. Within one column: an arc out to the left.
    """
    from matplotlib.path import Path as MplPath

    if col[a] == col[b]:
        xa, ya, yb = lay.x[a] - size[a] / 144, lay.y[a], lay.y[b]
        bow = xa - min(0.6, 0.15 + 0.08 * abs(ya - yb) / max(lay.pitch, 1e-6))
        return MplPath(
            [(xa, ya), (bow, (ya + yb) / 2), (xa, yb)],
            [MplPath.MOVETO, MplPath.CURVE3, MplPath.CURVE3],
        )
    left, right = (a, b) if col[a] < col[b] else (b, a)
    x0, y0 = lay.port[left], lay.y[left]
    x1, y1 = lay.x[right] - size[right] / 144, lay.y[right]
    if col[right] - col[left] == 1:
        mid = (x0 + x1) / 2
        points = [(x0, y0), (mid, y0), (mid, y1), (x1, y1)]
        codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4]
    else:
        g0 = lay.column_end[col[left]]
        g1 = lay.x[lay.first[col[left] + 1]] - size[lay.first[col[left] + 1]] / 144
        channel = y1 - lay.pitch / 2 if y1 >= y0 else y1 + lay.pitch / 2
        gm = (g0 + g1) / 2
        enter = max(x1 - 0.12, gm + 0.01)
        points = [
            (x0, y0),
            (g0, y0),
            (gm, y0),
            (gm, channel),
            (g1, channel),
            (enter, channel),
            (x1 - 0.03, channel),
            (x1 - 0.03, y1),
            (x1, y1),
        ]
        codes = [
            MplPath.MOVETO,
            MplPath.LINETO,
            MplPath.CURVE4,
            MplPath.CURVE4,
            MplPath.CURVE4,
            MplPath.LINETO,
            MplPath.CURVE4,
            MplPath.CURVE4,
            MplPath.CURVE4,
        ]
    if col[a] > col[b]:  # drawn from a, so that an arrowhead lands on b
        points.reverse()
        codes = [MplPath.MOVETO, *reversed(codes[1:])]
    return MplPath(points, codes)


def _draw_layered(
    title: str,
    notes: Sequence[str],
    headers: Sequence[str],
    columns: Sequence[Sequence[str]],
    nodes: Mapping[str, _Node],
    lay: _Layout,
    edges: Sequence[tuple[str, str, str]],
    edge_styles: Mapping[str, tuple[str, str, float, float, str]],
    arrows: Sequence[str],
    font: float,
    top: float,
    bands: Sequence[tuple[float, float, str]] = (),
) -> Figure:
    """Draw a :func:`_layered` layout: ``edges`` ``(a, b, style)`` with ``edge_styles[style]`` =
    ``(colour, line style, width, alpha, legend label)``; the styles in ``arrows`` get arrowheads.
    ``bands`` ``(top row y, bottom row y, label)`` shade alternate groups of rows and name them in
    the left margin."""
    from matplotlib.collections import PathCollection

    fig = Figure(figsize=(lay.width, lay.height))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(0.0, lay.width)
    ax.set_ylim(lay.height, 0.0)
    col = {n: c for c, members in enumerate(columns) for n in members}
    label_h = font * 1.3 / 72
    band_labels = _spaced(
        [(b - a, (a + b) / 2, str(i)) for i, (a, b, _) in enumerate(bands)],
        label_h,
        GRAPH_LABEL_LIMIT,
    )
    for i, (y0, y1, name) in enumerate(bands):
        if i % 2 == 0:
            ax.axhspan(y0, y1, color="#F2F2F2", linewidth=0, zorder=0)
        if str(i) in band_labels:
            ax.text(0.1, (y0 + y1) / 2, name, fontsize=font, va="center", ha="left", zorder=4)
    for text, x in zip(headers, lay.header_x, strict=True):
        ax.text(x, top - 0.1, text, fontsize=font + 0.5, fontweight="bold", ha="left", va="bottom")
    size = {n: nodes[n].size for n in nodes}
    for style, (colour, line, width, alpha, _) in edge_styles.items():
        mine = [(a, b) for a, b, s in edges if s == style]
        if not mine:
            continue
        if style in arrows:
            for a, b in mine:
                ax.add_patch(
                    FancyArrowPatch(
                        path=_edge_path(lay, a, b, col, size),
                        arrowstyle="-|>",
                        mutation_scale=8,
                        color=colour,
                        linestyle=line,
                        linewidth=width,
                        alpha=alpha,
                        zorder=2,
                    )
                )
        else:
            paths = [_edge_path(lay, a, b, col, size) for a, b in mine]
            ax.add_collection(
                PathCollection(
                    paths,
                    facecolors="none",
                    edgecolors=colour,
                    linestyles=line,
                    linewidths=width,
                    alpha=alpha,
                    zorder=1,
                )
            )
    kinds = [k for k in NODE_KINDS if any(nodes[n].kind == k for n in nodes)]
    for kind in kinds:
        members = [n for c in columns for n in c if nodes[n].kind == kind]
        ax.scatter(
            [lay.x[n] for n in members],
            [lay.y[n] for n in members],
            s=[nodes[n].size ** 2 for n in members],
            c=KIND_COLOURS[kind],
            marker="s" if kind in _SQUARE_KINDS else "o",
            edgecolors="#333333",
            linewidths=0.4,
            zorder=3,
            label=kind_word(kind),
            gid=f"nodes-{kind}",
        )
    for c in columns:
        for n in c:
            if n in lay.labelled:
                ax.text(
                    lay.x[n] + nodes[n].size / 144 + _LABEL_GAP,
                    lay.y[n],
                    nodes[n].label,
                    fontsize=font,
                    va="center",
                    ha="left",
                    zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 0.4},
                )
    fig.suptitle(title, fontsize=12, fontweight="bold", y=1 - 0.1 / lay.height, va="top")
    for i, note in enumerate(notes):
        fig.text(0.5, 1 - (0.45 + 0.22 * i) / lay.height, note, ha="center", va="top", fontsize=9)
    handles: list[Any] = [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="s" if k in _SQUARE_KINDS else "o",
            markerfacecolor=KIND_COLOURS[k],
            markeredgecolor="#333333",
            markersize=7,
            label=kind_word(k),
        )
        for k in kinds
    ]
    for style, (colour, line, _, _, label) in edge_styles.items():
        if any(s == style for _, _, s in edges):
            handles.append(
                Line2D([], [], color=colour, linestyle=line, linewidth=1.4, label=label)  # type: ignore[arg-type]
            )
    ncol = max(1, min(len(handles), int(lay.width / 1.7)))
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.05 / lay.height),
        ncol=ncol,
        fontsize=8,
        frameon=False,
    )
    return fig


def _finish(lay: _Layout, title: str, notes: Sequence[str], legend_entries: int) -> float:
    """Make room above ``lay`` for the title, ``notes`` and column headers, and below it for
    the legend; widen it to fit the title and notes. Returns where the rows now begin."""
    top = 0.45 + 0.22 * len(notes) + 0.6
    lay.y = {n: y + top for n, y in lay.y.items()}
    width = max(
        lay.width,
        9.0,
        1.15 * _text_width(title, 12) + 0.8,
        max((_text_width(note, 9) for note in notes), default=0.0) + 0.8,
    )
    # Spare width goes into the gaps between columns, where the edges run.
    spare = (width - lay.width) / (len(lay.first) + 1)
    shift = [(c + 1) * spare for c in range(len(lay.first))]
    lay.x = {n: x + shift[lay.column[n]] for n, x in lay.x.items()}
    lay.port = {n: x + shift[lay.column[n]] for n, x in lay.port.items()}
    lay.header_x = [x + shift[c] for c, x in enumerate(lay.header_x)]
    lay.column_end = [x + shift[c] for c, x in enumerate(lay.column_end)]
    lay.width = width
    lay.height += top + _legend_height(legend_entries, lay.width) + 0.2
    return top


def _legend_height(entries: int, width: float) -> float:
    ncol = max(1, min(entries, int(width / 1.7)))
    return 0.25 + 0.2 * math.ceil(entries / ncol)


def resource_graph(g: nx.MultiDiGraph, *, notes: Sequence[str] = ()) -> Figure:
    """The resource graph (:func:`sim.model.graph.build_graph`, annotated with units by
    :func:`sim.model.units.annotate_graph`): one band of rows per migration unit, one column per
    group of resource kinds (network, attachments, compute, storage), a label beside every node
    (never on one), edges styled by relation, must-precede edges with arrowheads. Beyond
    :data:`DRAWING_MAX_HEIGHT` rows are squeezed and only unit roots keep their labels."""
    font = 7.5
    order = {k: i for i, (_, kinds) in enumerate(_RESOURCE_COLUMNS) for k in kinds}
    kind_rank = {k: i for i, k in enumerate(NODE_KINDS)}
    units: dict[str, list[str]] = {}
    unit_index: dict[str, int] = {}
    for n, d in g.nodes(data=True):
        u = str(d.get("unit", ""))
        units.setdefault(u, []).append(n)
        unit_index.setdefault(u, int(d.get("unit_index", -1)))
    roots: set[str] = set()
    for u, members in units.items():
        roots |= {n for n in members if n.partition(":")[2] == u and ":" in n}
        roots |= {n for n in members if n == u}
    columns: list[list[str]] = [[] for _ in _RESOURCE_COLUMNS]
    row: dict[str, float] = {}
    bands: list[tuple[int, int, str]] = []
    start = 0
    listed = {u: i for i, u in enumerate(units)}
    vm_column = order["vm"]
    for u in sorted(units, key=lambda u: (unit_index[u], listed[u])):
        members = sorted(units[u], key=lambda n: kind_rank.get(g.nodes[n]["kind"], 99))
        by_column: dict[int, list[str]] = {}
        for n in members:
            by_column.setdefault(order.get(g.nodes[n]["kind"], len(columns) - 1), []).append(n)
        # VMs one a row; a cloud service or availability set level with its first VM, so that
        # what contains them sits beside them; the other columns from the band's top.
        local = {n: i for i, n in enumerate(by_column.get(vm_column, []))}
        for c, ns in sorted(by_column.items()):
            if c != vm_column:
                free = 0
                for n in ns:
                    vm_rows = [
                        local[m]
                        for m in g.successors(n)
                        if m in local
                        and g.nodes[m]["kind"] == "vm"
                        and g.nodes[n]["kind"] in ("cloud_service", "availability_set")
                    ]
                    local[n] = max(free, min(vm_rows, default=free))
                    free = local[n] + 1
        for c, ns in by_column.items():
            columns[c].extend(ns)
        for n, r in local.items():
            row[n] = float(start + r)
        height = max(local.values(), default=0) + 1
        vms = sum(1 for n in members if g.nodes[n]["kind"] == "vm")
        name = f"unit {u}" + (f" · {vms} VM{'s' if vms != 1 else ''}" if vms else "")
        bands.append((start, start + height, name if u else "no unit"))
        start += height
    used = [i for i, c in enumerate(columns) if c]
    nodes = {
        n: _Node(
            label=_shorten(str(d.get("name", n)), 30),
            kind=str(d["kind"]),
            size=9.0 if n in roots else 7.0,
            priority=1.0 if n in roots else 0.0,
        )
        for n, d in g.nodes(data=True)
    }
    lay_columns = [columns[i] for i in used]
    headers = [_RESOURCE_COLUMNS[i][0] for i in used]
    band_names = [b[2] for b in bands]
    left = 0.2 + max((_text_width(b, font) for b in band_names), default=0.0) + 0.3
    edge_kinds = {k for _, _, k in g.edges(keys=True)}
    all_notes = [
        *notes,
        "One band per migration unit; an arrow A -> B: unit A must commit before unit B starts",
    ]
    lay = _layered(
        lay_columns,
        nodes,
        row,
        float(start),
        pitch=0.2,
        font=font,
        left=left,
        column_gap=0.45,
        headers=headers,
        header_font=font + 0.5,
    )
    if len(lay.labelled) < len(nodes):
        all_notes.append(
            f"{len(nodes) - len(lay.labelled):,} of {len(nodes):,} resources are too close"
            " together to name: the units' own resources are named first"
        )
    kinds = {str(d["kind"]) for _, d in g.nodes(data=True)}
    top = _finish(lay, describe(g), all_notes, len(kinds) + len(edge_kinds))
    styles = {
        kind: (
            colour,
            line,
            1.6 if kind == "must-precede" else 0.8,
            0.95 if kind == "must-precede" else 0.7,
            kind,
        )
        for kind, (colour, line) in EDGE_STYLES.items()
    }
    return _draw_layered(
        describe(g),
        all_notes,
        headers,
        lay_columns,
        nodes,
        lay,
        [(a, b, k) for a, b, k in g.edges(keys=True)],
        styles,
        ("must-precede",),
        font,
        top,
        [(top + a * lay.pitch, top + b * lay.pitch, name) for a, b, name in bands],
    )


def _sweep(
    layers: list[list[str]], preds: Mapping[str, Sequence[str]], succs: Mapping[str, Sequence[str]]
) -> list[list[str]]:
    """Order each layer to cross fewer edges: two down-and-up sweeps, each node moved to the mean
    position of its neighbours in the layer just done (a node with none keeps its place). Nodes
    that have no neighbour at all go last, in their given order."""

    def place(
        layer: list[str], neighbours: Mapping[str, Sequence[str]], pos: dict[str, float]
    ) -> None:
        own = {u: i / max(len(layer) - 1, 1) for i, u in enumerate(layer)}
        key = {
            u: float(np.mean(near))
            if (near := [pos[v] for v in neighbours[u] if v in pos])
            else own[u]
            for u in layer
        }
        layer.sort(key=lambda u: (not preds[u] and not succs[u], key[u], own[u]))
        for i, u in enumerate(layer):
            pos[u] = i / max(len(layer) - 1, 1)

    layers = [list(layer) for layer in layers]
    for _ in range(2):
        pos: dict[str, float] = {}
        for layer in layers:
            place(layer, preds, pos)
        pos = {}
        for layer in reversed(layers):
            place(layer, succs, pos)
    return layers


def unit_graph(ug: nx.DiGraph, *, notes: Sequence[str] = ()) -> Figure:
    """The migration units (:func:`sim.model.units.unit_graph`): one node per unit, its area by
    its VM count, in columns by must-precede depth (a unit stands right of every unit it must
    wait for, so every constraint runs left to right), a label beside every node with the unit's
    VM count. Too many units for a label each: the biggest keep theirs, and the figure says so."""
    font = 7.0
    ids = list(ug.nodes)
    preds = {u: list(ug.predecessors(u)) for u in ids}
    depth = _layers(ids, preds)
    n_layers = max(depth.values(), default=0) + 1
    columns = _sweep(
        [[u for u in ids if depth[u] == layer] for layer in range(n_layers) if ids],
        preds,
        {u: list(ug.successors(u)) for u in ids},
    )
    headers = [
        "waits for no unit"
        if i == 0
        else "waits for a unit"
        if i == 1
        else f"waits for a chain of {i}"
        for i in range(len(columns))
    ]
    rows = max((len(c) for c in columns), default=1)
    # centre shorter columns against the tallest
    row = {u: float(i + (rows - len(col)) // 2) for col in columns for i, u in enumerate(col)}
    most = max((int(ug.nodes[u].get("vms", 0)) for u in ids), default=0)

    def size(u: str) -> float:
        vms = int(ug.nodes[u].get("vms", 0))
        return 4.0 + 6.0 * math.sqrt(vms / most) if most else 5.0

    def label(u: str) -> str:
        vms = int(ug.nodes[u].get("vms", 0))
        text = _shorten(u, 30)
        return f"{text} · {vms} VM{'s' if vms != 1 else ''}" if vms else text

    nodes = {
        u: _Node(
            label=label(u),
            kind=str(ug.nodes[u].get("kind", "vnet")),
            size=size(u),
            priority=float(ug.nodes[u].get("vms", 0)) + 0.5 * ug.degree(u) / max(len(ids), 1),
        )
        for u in ids
    }
    all_notes = [
        *notes,
        "A line joins a unit on the left to one on the right that must wait for it to commit;"
        " a unit's column is the longest chain of units it waits for; area grows with VMs",
    ]
    lay = _layered(
        columns,
        nodes,
        row,
        float(rows),
        pitch=0.17,
        font=font,
        left=0.4,
        column_gap=1.2 if ug.number_of_edges() > 3 * len(ids) else 0.8,
        headers=headers,
        header_font=font + 0.5,
    )
    if len(lay.labelled) < len(ids):
        all_notes.append(
            f"{len(ids):,} units are too many to name each: {len(lay.labelled):,} are named,"
            " those with the most VMs first where a name fits"
        )
    kinds = {str(d.get("kind", "")) for _, d in ug.nodes(data=True)}
    top = _finish(lay, describe(ug), all_notes, len(kinds) + 2)
    alpha = (
        0.6
        if ug.number_of_edges() <= 200
        else max(0.12, 0.6 * math.sqrt(200 / ug.number_of_edges()))
    )
    styles = {
        "platform": (
            "#D55E00",
            "solid",
            1.0 if ug.number_of_edges() <= 200 else 0.7,
            alpha,
            "must precede (migration rules)",
        ),
        "plan": ("#0072B2", "dashed", 1.0, max(alpha, 0.6), "must precede (plan.precedence)"),
    }
    return _draw_layered(
        describe(ug),
        all_notes,
        headers,
        columns,
        nodes,
        lay,
        [(a, b, str(d.get("by", "platform"))) for a, b, d in ug.edges(data=True)],
        styles,
        (),
        font,
        top,
    )


GraphLevel = Literal["auto", "resources", "units"]


@dataclass(frozen=True)
class GraphDrawing:
    """What :func:`graph_drawing` drew: the figure, at which level, what it shows (its title)
    and why units were drawn (empty when the level was asked for or resources were drawn)."""

    figure: Figure
    level: Literal["resources", "units"]
    title: str
    reason: str


def drawing_level(resources: int, level: GraphLevel = "auto") -> tuple[str, str]:
    """``(level, reason)``: ``auto`` draws resources up to :data:`RESOURCE_DRAWING_LIMIT` and
    units beyond, with the reason in words."""
    if level != "auto":
        return level, ""
    if resources <= RESOURCE_DRAWING_LIMIT:
        return "resources", ""
    return (
        "units",
        f"drawn as migration units, not resources: {resources:,} resources are more than the"
        f" {RESOURCE_DRAWING_LIMIT} a resource drawing keeps readable",
    )


def graph_drawing(
    g: nx.MultiDiGraph, units: MigrationUnits, level: GraphLevel = "auto"
) -> GraphDrawing:
    """The picture ``migsim graph`` writes: the resources of ``g`` (annotated with ``units``), or,
    above :data:`RESOURCE_DRAWING_LIMIT` resources or when ``level="units"``, the units
    (:func:`unit_graph`), the figure saying why."""
    from sim.model.units import unit_graph as build_unit_graph

    chosen, reason = drawing_level(g.number_of_nodes(), level)
    if chosen == "units":
        ug = build_unit_graph(
            units,
            subscription=str(g.graph.get("subscription", "")),
            location=str(g.graph.get("location", "")),
        )
        notes = [reason[0].upper() + reason[1:]] if reason else []
        return GraphDrawing(unit_graph(ug, notes=notes), "units", describe(ug), reason)
    return GraphDrawing(resource_graph(g), "resources", describe(g), "")
