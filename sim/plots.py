"""Pictures of a run (matplotlib, Agg backend, no pyplot state): the Gantt timeline.

Colours are the Okabe-Ito colour-blind-safe palette, and each window class also differs in
shape, so the chart reads in grey too: management lock = tall light-blue bar with a dark-blue
edge; data downtime = narrow solid vermillion bar; remediation gaps = narrow hatched
reddish-purple outline with the gap's kind written beside it; maintenance windows = green
shading. PNGs are written without a "Software" tag so the same run gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.results import Window
from sim.timeparse import format_minutes

if TYPE_CHECKING:
    from sim.experiments import RunResult

LOCK = {"facecolor": "#56B4E9", "edgecolor": "#0072B2", "alpha": 0.55, "linewidth": 0.8}
DATA = {"facecolor": "#D55E00", "edgecolor": "#000000", "linewidth": 0.6}
GAP = {"facecolor": "none", "edgecolor": "#CC79A7", "hatch": "////", "linewidth": 1.0}
MAINTENANCE = "#009E73"
FAIL_COLOUR = "#000000"
COMMIT_COLOUR = "#0072B2"
SPAN_COLOUR = "#999999"
AUTO_UNIT_ROWS = 250
"""Above this many resource rows, ``by="auto"`` draws one row per unit."""

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


def save_figure(fig: Figure, path: Path) -> None:
    """Write ``fig`` as PNG with the Agg backend and no varying metadata."""
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, metadata={"Software": None})


def timeline(result: RunResult, by: Literal["auto", "resource", "unit"] = "auto") -> Figure:
    """The Gantt chart of one run: rows grouped by unit, windows in time, failures marked.

    ``by="resource"`` draws one row per resource under a header row per unit; ``by="unit"``
    one row per unit (for big estates); ``"auto"`` picks ``unit`` above
    :data:`AUTO_UNIT_ROWS` resource rows. The x axis shows UTC clock times when the plan has a
    start, else hours from the start.
    """
    rep = result.replication
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
        uid: list(result.units[uid].resources) for uid in rep.order
    }
    for w in rep.windows:
        if w.resource not in by_unit_res.setdefault(w.unit, []):
            by_unit_res[w.unit].append(w.resource)
    n_res = sum(len(v) for v in by_unit_res.values())
    mode = by if by != "auto" else ("unit" if n_res > AUTO_UNIT_ROWS else "resource")

    if origin is not None:
        base = float(date2num(origin))  # type: ignore[no-untyped-call]

        def x(minutes: float) -> float:
            return base + minutes / 1440.0

        def width(minutes: float) -> float:
            return minutes / 1440.0

    else:

        def x(minutes: float) -> float:
            return minutes / 60.0

        def width(minutes: float) -> float:
            return minutes / 60.0

    rows: list[tuple[str, str, bool]] = []  # (label, unit, is_header)
    row_of: dict[tuple[str, str], int] = {}
    header_of: dict[str, int] = {}
    for uid in unit_order:
        o = outcomes[uid]
        u = result.units[uid]
        vms = f", {u.vm_count} VM{'s' if u.vm_count != 1 else ''}" if u.vm_count else ""
        header_of[uid] = len(rows)
        rows.append((f"{uid} ({_TYPE_WORDS.get(u.kind, u.kind)}{vms})", uid, True))
        if mode == "resource":
            for r in by_unit_res[uid]:
                row_of[(uid, r)] = len(rows)
                rows.append((_label(r), uid, False))

    height = max(4.0, 0.2 * len(rows) + 2.6)
    fig = Figure(figsize=(14.0, height))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)

    horizon = max(rep.horizon, 1.0)
    for a, b in rep.maintenance:
        shade_end = horizon * 1.03 if b >= rep.horizon else b
        ax.axvspan(x(a), x(shade_end), color=MAINTENANCE, alpha=0.13, linewidth=0, zorder=0)

    # alternate light bands per unit so groups read as groups
    for i, uid in enumerate(unit_order):
        first = header_of[uid]
        last = (header_of[unit_order[i + 1]] if i + 1 < len(unit_order) else len(rows)) - 1
        if i % 2 == 1:
            ax.axhspan(first - 0.5, last + 0.5, color="#000000", alpha=0.035, linewidth=0, zorder=0)

    def row(w: Window) -> int:
        if mode == "unit":
            return header_of[w.unit]
        return row_of.get((w.unit, w.resource), header_of[w.unit])

    def bars(windows: Sequence[Window], h: float, style: dict[str, Any], z: float) -> None:
        groups: dict[int, list[tuple[float, float]]] = {}
        for w in windows:
            groups.setdefault(row(w), []).append((x(w.start), max(width(w.duration), 0.0)))
        for y, spans in groups.items():
            ax.broken_barh(spans, (y - h / 2, h), zorder=z, **style)

    locks = [w for w in rep.windows if w.kind == "management"]
    data = [w for w in rep.windows if w.kind == "data"]
    gaps = [w for w in rep.windows if w.kind not in ("management", "data")]
    bars(locks, 0.76, LOCK, 2)
    bars(data, 0.36, DATA, 3)
    bars(gaps, 0.36, GAP, 3)
    if mode == "resource":
        for w in gaps:
            ax.text(
                x(w.end),
                row(w),
                f" {w.kind}",
                fontsize=6.5,
                va="center",
                ha="left",
                color="#7a3d63",
                zorder=4,
            )

    # unit header rows: active span, commit end, failures, not migrated
    fails: dict[int, list[float]] = {}
    for e in rep.events:
        if e.outcome == "fail":
            fails.setdefault(header_of[e.unit], []).append(x(e.time))
    for uid in unit_order:
        o = outcomes[uid]
        y = header_of[uid]
        if o.first_start is not None and o.end is not None:
            ax.hlines(y, x(o.first_start), x(o.end), color=SPAN_COLOUR, linewidth=2.2, zorder=2)
        if o.commit_end is not None:
            ax.plot([x(o.commit_end)], [y], marker="D", color=COMMIT_COLOUR, markersize=5, zorder=5)
        if not o.migrated:
            ax.text(
                x(o.end if o.end is not None else 0.0),
                y,
                "  not migrated: " + _shorten(o.reason, 110),
                fontsize=7,
                va="center",
                ha="left",
                color="#D55E00",
                fontweight="bold",
                zorder=5,
            )
    for y, xs in fails.items():
        ax.plot(
            xs,
            [y] * len(xs),
            linestyle="none",
            marker="X",
            color=FAIL_COLOUR,
            markersize=7,
            zorder=6,
        )

    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([label for label, _, _ in rows], fontsize=7.5)
    for tick, (_, _, header) in zip(ax.get_yticklabels(), rows, strict=True):
        if header:
            tick.set_fontweight("bold")
            tick.set_fontsize(8.5)
    right = horizon * 1.03
    ax.set_xlim(x(0.0), x(right))
    step = _tick_step(right)
    if origin is not None:
        into_day = origin.hour * 60 + origin.minute + origin.second / 60.0
        t0 = math.ceil(into_day / step) * step - into_day
        ticks = [t0 + k * step for k in range(int((right - t0) // step) + 1)]
        ax.set_xticks([x(t) for t in ticks])
        fmt = DateFormatter("%a %d %b\n%H:%M", tz=origin.tzinfo)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(fmt)
        ax.set_xlabel("time (UTC)")
    else:
        ticks = [k * step for k in range(int(right // step) + 1)]
        ax.set_xticks([x(t) for t in ticks])
        ax.set_xlabel("hours from the plan's start (minute 0 = Monday 00:00 UTC)")
    ax.grid(axis="x", color="#cccccc", linewidth=0.5, zorder=1)
    ax.set_axisbelow(True)
    ax.tick_params(axis="x", labelsize=8)

    s = result.summary
    end = f", ends {s.end}" if s.end else ""
    fig.suptitle(
        f"{result.scenario.name}: migration timeline (seed {s.seed}"
        f"{', deterministic durations' if s.deterministic else ''})",
        fontsize=12,
        fontweight="bold",
    )
    ax.set_title(
        f"makespan {format_minutes(s.makespan_minutes)}{end}; {s.units_migrated} of"
        f" {s.units_total} units migrated; {s.vm_hours_down:.2f} VM-hours of data downtime"
        f" (peak {s.peak_vms_down} VMs down); {s.lock_resource_hours:.1f} resource-hours locked",
        fontsize=9,
    )
    handles = [
        Patch(label="management plane locked (Prepare to Commit/Abort)", **_patch(LOCK)),
        Patch(label="data plane down (VM stopped, or service removed)", **_patch(DATA)),
        Patch(label="remediation gap (kind written beside it)", **_patch(GAP)),
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
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.12 / height),
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    fig.subplots_adjust(left=0.2, right=0.9, top=1 - 0.85 / height, bottom=1.45 / height)
    return fig


_TICK_STEPS = (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)


def _tick_step(span_minutes: float) -> int:
    """A round tick interval in minutes giving at most 14 ticks over the span."""
    for step in _TICK_STEPS:
        if span_minutes / step <= 14:
            return step
    return math.ceil(span_minutes / 14 / 10080.0) * 10080


def _patch(style: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in style.items() if k in ("facecolor", "edgecolor", "hatch", "alpha")}


def _shorten(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
