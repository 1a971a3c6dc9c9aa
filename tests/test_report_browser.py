"""The report in a real browser, as a person uses it: headless Chromium renders it without
console errors, every figure laid out at a non-zero size with bars and lines drawn, the headline
cards give the clock-time answers, and hovering a Gantt bar shows its unit, what it is (the step,
or the window's kind and cause) and its start and end as clock times in the plan's time zone
(the SVG ``<title>`` the browser shows as a tooltip). The results are contoso planned in
Europe/Amsterdam with a deadline; the browser is driven over the DevTools protocol on a pipe
(``devtools.py``), and one browser serves the tests that need it. The report of a night's
re-forecast (``migsim replan`` of the shipped actuals, the plan in Europe/Amsterdam) shows "The
night so far" first: its picture drawn, the now line labelled with its clock time, the P80
finish beside the plan's.

Chromium missing: the tests are skipped with the reason, except under ``CI=true``, where a
missing browser fails the run (``.ci/run`` installs Debian's ``chromium`` before ``make test``).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from devtools import FLAGS, Browser
from matplotlib import image
from test_report import CONTOSO, FIGURES, make_results

from sim.common.clocktime import nearest_minute
from sim.experiments.replan import replan, write_replan
from sim.model.scenario import Scenario, load_scenario
from sim.outputs.report import build_report

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def missing_browser(ci: str | None) -> None:
    """Skip with the reason, or fail under ``CI=true``: a CI run must render the report."""
    reason = (
        "Chromium not found (tried " + ", ".join(CANDIDATES) + "): install Debian's"
        " chromium package to render the report in a browser"
    )
    if ci == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        missing_browser(os.environ.get("CI"))
    assert found is not None
    return found


def test_a_missing_browser_skips_except_under_ci() -> None:
    with pytest.raises(pytest.skip.Exception, match="Chromium not found"):
        missing_browser(None)
    with pytest.raises(pytest.fail.Exception, match="CI=true and Chromium not found"):
        missing_browser("true")


def headless(browser: str, profile: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Chromium headless on ``url`` with a fresh profile, no network services, console
    messages logged to stderr."""
    cmd = [
        browser,
        *FLAGS,  # the DevTools session's: headless, no network services
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
        url,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def console_lines(stderr: str) -> list[str]:
    """The page's console messages (errors, uncaught exceptions, CSP refusals) in the log."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


ZONE = "Europe/Amsterdam"


def amsterdam() -> Scenario:
    """contoso planned in Europe/Amsterdam: the start and the deadline are wall-clock times
    there, and so are the Saturday and Sunday 22:00 windows."""
    data = load_scenario(CONTOSO).model_dump(mode="json", by_alias=True)
    data["plan"].update(timezone=ZONE, start="2026-12-05T22:00:00", deadline="2026-12-06T04:00:00")
    return Scenario.model_validate(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_results(tmp_path_factory.mktemp("browser") / "contoso", amsterdam())
    return build_report(root)


@pytest.fixture(scope="module")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with Browser(chromium, tmp_path_factory.mktemp("devtools") / "profile") as b:
        yield b


def test_the_console_check_catches_a_script_error(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>throw new Error('boom')</script>")
    done = headless(chromium, tmp_path / "profile", page.as_uri(), "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert any("boom" in line for line in console_lines(done.stderr)), done.stderr[-2000:]


def test_the_devtools_client_catches_a_script_error(browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>throw new Error('boom')</script>")
    browser.open(page.as_uri())
    assert any("boom" in p for p in browser.problems())


FIGURE_MARKS = """(() => {
  // Per figure: its rendered size, what the report's own size script recorded, and the shapes
  // drawn inside its axes (bars, lines, boxes, markers), the frame, axes, text and legend aside.
  const edge = (b, box) => box && ((Math.abs(b.width - box.width) < 2 && b.height < 2) ||
                                   (Math.abs(b.height - box.height) < 2 && b.width < 2));
  return [...document.querySelectorAll('figure.plot')].map(fig => {
    const svg = fig.querySelector('svg');
    const r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    let marks = 0;
    for (const ax of svg ? svg.querySelectorAll('g[id*="-axes_"]') : []) {
      const bg = ax.querySelector(':scope > g[id*="-patch_"] path');
      const box = bg ? bg.getBoundingClientRect() : null;
      for (const el of ax.querySelectorAll('path, use')) {
        if (el === bg || el.closest('defs, [id*="matplotlib.axis"], [id*="-text_"], ' +
                                    '[id*="-legend_"]')) continue;
        const b = el.getBoundingClientRect();
        if (b.width + b.height > 0 && !edge(b, box)) marks++;
      }
    }
    return {key: fig.dataset.figure, width: r.width, height: r.height, marks: marks,
            recorded: fig.getAttribute('data-rendered-size')};
  });
})()"""


def test_every_figure_is_laid_out_and_drawn(browser: Browser, report: Path) -> None:
    browser.open(report.as_uri())
    figures = browser.js(FIGURE_MARKS)
    assert [f["key"] for f in figures] == list(FIGURES)
    for f in figures:
        assert f["width"] > 300 and f["height"] > 150, f
        assert f["recorded"] == f"{round(f['width'])}x{round(f['height'])}", f
        assert f["marks"] >= 3, f  # bars, lines or boxes, not an empty frame
    assert browser.js("document.documentElement.getAttribute('data-errors')") is None
    assert browser.problems() == []


BARS = """(() => [...document.querySelectorAll(
    '#fig-timeline [id*="-bar-"], #fig-timeline [id*="-busy-"]')].flatMap(g => {
  // Each drawn shape of a bar group (a path, or a use of a path in defs) with its title.
  const shapes = [...g.querySelectorAll('path, use')].filter(e => !e.closest('defs'));
  return shapes.map(e => {
    const own = e.querySelector(':scope > title');
    return {id: g.id, title: (own || g.querySelector(':scope > title')).textContent,
            n: shapes.length};
  });
}))()"""

HOVER = """((id, k) => {
  // Hover shape k of group id like a person: scroll it into view, move the mouse there, and
  // read the tooltip the browser shows: the title of the deepest hovered element or its parent.
  const g = document.getElementById(id);
  const e = [...g.querySelectorAll('path, use')].filter(e => !e.closest('defs'))[k];
  e.scrollIntoView({block: 'center', inline: 'center'});
  const r = e.getBoundingClientRect();
  return [r.left + r.width / 2, r.top + r.height / 2, r.width, r.height];
})"""

TOOLTIP = """(() => {
  const hovered = [...document.querySelectorAll(':hover')];
  for (let el = hovered[hovered.length - 1]; el; el = el.parentElement) {
    const t = el.querySelector(':scope > title');
    if (t) return t.textContent;
  }
  return null;
})()"""


def _hover(browser: Browser, title: str, bars: list[dict[str, Any]]) -> str:
    """Hover the bar whose title is ``title`` and return the tooltip under the mouse."""
    bar = next(b for b in bars if b["title"] == title)
    k = [b for b in bars if b["id"] == bar["id"]].index(bar)
    x, y, w, h = browser.js(f"{HOVER}({json.dumps(bar['id'])}, {k})")
    assert w + h > 0  # a bar has an area, a line a length
    browser.hover(x, y)
    tip = browser.js(TOOLTIP)
    assert isinstance(tip, str)
    return tip


def _local(text: str) -> datetime:
    # to the nearest minute, as the report shows every clock time
    return nearest_minute(datetime.fromisoformat(text))


def test_hovering_a_gantt_bar_shows_unit_step_and_clock_times(
    browser: Browser, report: Path
) -> None:
    browser.open(report.as_uri())
    bars = browser.js(BARS)
    windows = list(csv.DictReader((report.parent / "windows.csv").open()))
    assert bars and all(b["title"] for b in bars)
    assert len([b for b in bars if "-bar-" in b["id"]]) == len(windows)  # one bar per window
    # A management lock and a VM's data downtime: unit, resource, what and why, from and to.
    for resource, kind, what in (
        ("storage_account:stlogs", "management", "management plane locked"),
        ("vm:legacy-01", "data", "data plane down"),
    ):
        w = next(r for r in windows if r["resource"] == resource and r["kind"] == kind)
        start, end = _local(w["start_local"]), _local(w["end_local"])
        title = next(
            b["title"]
            for b in bars
            if resource.split(":")[1] in b["title"].split("\n")[0] and what in b["title"]
        )
        tip = _hover(browser, title, bars)
        assert tip == title  # the bar is on top where a person points at it
        lines = tip.split("\n")
        assert lines[0].startswith(w["unit"] + " (") and lines[0].endswith(resource.split(":")[1])
        assert lines[1] == f"{what}: {w['cause']}"
        assert lines[2].startswith(start.strftime("%a %Y-%m-%d %H:%M to "))
        assert end.strftime("%a %H:%M CET (UTC+01:00)") in lines[2]  # December: CET
        assert start.utcoffset() == end.utcoffset() and start.strftime("%z") == "+0100"
    # A unit's busy line: its steps, each from and to, in the plan's zone.
    events = list(csv.DictReader((report.parent / "events.csv").open()))
    title = next(b["title"] for b in bars if b["title"].startswith("vnet-prod (VNet, 3 VMs): busy"))
    tip = _hover(browser, title, bars)
    assert tip == title and "CET (UTC+01:00)" in tip.split("\n")[0]
    for step in ("validate", "prepare", "commit"):
        start = next(
            e
            for e in events
            if e["unit"] == "vnet-prod" and e["step"] == step and e["outcome"] == "start"
        )
        when = _local(start["time_local"]).strftime("%a %H:%M")
        assert any(line.startswith(f"{step} {when} to ") for line in tip.split("\n")), tip
    assert browser.problems() == []


CARDS = """[...document.querySelectorAll('.card')].map(c => {
  const r = c.getBoundingClientRect();
  const v = c.querySelector('.value').getBoundingClientRect();
  return {label: c.querySelector('.label').textContent, value: c.querySelector('.value')
          .textContent, sub: c.querySelector('.sub').textContent, width: r.width,
          height: r.height, right: Math.max(r.right, v.right), warn: c.classList.contains('warn')};
})"""


def test_the_cards_answer_in_clock_time(browser: Browser, report: Path) -> None:
    browser.open(report.as_uri())
    cards = {c["label"]: c for c in browser.js(CARDS)}
    finish = json.loads((report.parent / "statistics.json").read_text())["finish"]
    assert finish["timezone"] == ZONE
    for p in ("P50", "P80", "P90"):
        card = cards[f"Finish {p}"]
        zone = card["sub"].split(" · ")[0]
        assert f"{card['value']} {zone}" == finish["quantiles"][p]["text"]
        assert zone == "CET (UTC+01:00)"
    first = finish["windows"][0]
    assert cards["Done in window 1"]["value"] == f"{100 * first['share_by']:.1f} %"
    assert cards["Done in window 1"]["sub"] == "Sat 2026-12-05 22:00 to Sun 06:00 CET (UTC+01:00)"
    assert cards["Done in window 1"]["warn"] == (first["share_by"] < 1)
    for w in finish["windows"][1:]:
        card = cards.get(f"By window {w['window']}")
        if card is not None:
            assert card["value"] == f"{100 * w['share_by']:.1f} %"
            assert card["sub"].startswith(f"{100 * w['share_in']:.1f} % finish in it · ")
    deadline = finish["deadline"]
    card = cards["Done by the deadline"]
    assert card["value"] == f"{100 * deadline['share']:.1f} %"
    assert card["sub"] == (
        f"95 % CI {100 * deadline['ci_low']:.1f} to {100 * deadline['ci_high']:.1f} %"
        " · deadline Sun 2026-12-06 04:00 CET (UTC+01:00)"
    )
    assert ("Several modes" in cards) == (len(finish["modes"]) > 1)
    width = browser.js("window.innerWidth")
    for card in cards.values():  # every card laid out, nothing past the window's edge
        assert card["width"] > 100 and card["height"] > 40 and card["right"] <= width, card
    assert cards["Makespan"]["sub"].endswith("CET (UTC+01:00)")


def test_screenshot_is_not_blank(chromium: str, report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = headless(
        chromium,
        tmp_path / "profile",
        report.as_uri(),
        "--window-size=1280,2400",
        f"--screenshot={shot}",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_lines(done.stderr) == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = np.asarray(image.imread(shot))[:, :, :3]
    assert pixels.shape[:2] == (2400, 1280)
    background = np.array([0xF6, 0xF7, 0xF9]) / 255.0
    differs = np.abs(pixels - background).max(axis=2) > 0.02
    assert differs.mean() > 0.3  # cards, tables and figures cover the page
    rgb = (pixels * 255).round().astype(np.int64).reshape(-1, 3)
    colours = np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2])
    assert colours.size > 200  # text, badges, bars: not a flat page
    dark = (pixels.max(axis=2) < 0.3).mean()
    assert 0.005 < dark < 0.5  # text is there, and the page is not black


# ---- the report of a night's re-forecast (migsim replan) -----------------------------------------

NIGHT_ACTUALS = CONTOSO.parent / "contoso-night-actuals.csv"


@pytest.fixture(scope="module")
def night_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """contoso planned in Europe/Amsterdam from 23:00 local (22:00 UTC, where the shipped
    actuals begin), re-forecast at 01:30 UTC (02:30 CET) from those actuals."""
    data = load_scenario(CONTOSO).model_dump(mode="json", by_alias=True)
    data["plan"].update(timezone=ZONE, start="2026-12-05T23:00:00")
    result = replan(
        Scenario.model_validate(data),
        NIGHT_ACTUALS,
        now="2026-12-06T01:30:00Z",
        replications=12,
        workers=1,
    )
    root = tmp_path_factory.mktemp("night") / "night"
    write_replan(result, root)
    return build_report(root)


MARK = """((id) => {
  // The vertical line (or its label) of the night picture called id: scrolled into view, its
  // box, the axes' box, and its own title.
  const g = [...document.querySelectorAll('#fig-night g[id]')].find(e => e.id.endsWith(id));
  g.scrollIntoView({block: 'center', inline: 'center'});
  const r = g.getBoundingClientRect();  // the line, or every glyph of the label
  const axes = document.querySelector('#fig-night g[id*="-axes_"] > g[id*="-patch_"] path')
    .getBoundingClientRect();
  const svg = document.querySelector('#fig-night svg').getBoundingClientRect();
  return {x: r.left + r.width / 2, y: r.top + r.height / 2, left: r.left, right: r.right,
          top: r.top, bottom: r.bottom, axesTop: axes.top, axesBottom: axes.bottom,
          svgLeft: svg.left, svgRight: svg.right, svgTop: svg.top,
          title: g.querySelector(':scope > title').textContent};
})"""

ROW = """((label) => {
  // The cells of the row of the night's answer table whose first cell is label: text and box.
  const row = [...document.querySelectorAll('#night table.night-answers tr')]
    .find(tr => tr.cells[0].textContent === label);
  return [...row.cells].map(c => {
    const r = c.getBoundingClientRect();
    return {text: c.textContent, left: r.left, right: r.right, top: r.top};
  });
})"""


def test_the_night_section_renders_first_with_its_picture(
    browser: Browser, night_report: Path
) -> None:
    browser.open(night_report.as_uri())
    assert browser.js("document.querySelector('main section').id") == "night"
    assert browser.js("document.querySelector('#night h2').textContent") == "The night so far"
    assert browser.js("document.querySelector('nav a').textContent") == "The night so far"
    figures = browser.js(FIGURE_MARKS)
    assert figures[0]["key"] == "night"
    night = figures[0]
    assert night["width"] > 300 and night["height"] > 150, night
    assert night["recorded"] == f"{round(night['width'])}x{round(night['height'])}", night
    assert night["marks"] >= 3, night  # bars, bands, lines: not an empty frame
    # the night's section holds the picture, not the run's sections below it
    assert browser.js("!!document.querySelector('#night #fig-night svg')")
    assert browser.js("document.documentElement.getAttribute('data-errors')") is None
    assert browser.problems() == []


def test_the_now_line_is_labelled_and_the_p80_stands_beside_the_plans(
    browser: Browser, night_report: Path
) -> None:
    data = json.loads((night_report.parent / "replan.json").read_text())
    now = data["now"]["text"]
    assert now == "Sun 2026-12-06 02:30 CET (UTC+01:00)"
    browser.open(night_report.as_uri())
    # The now line: hovering it shows the clock time in the plan's zone; its label is drawn
    # above the chart (inside the picture), its title the same time.
    line = browser.js(f"{MARK}('-night-mark-now')")
    assert line["title"] == f"now: {now}"
    assert line["bottom"] - line["top"] > 100 and line["right"] - line["left"] < 6, line
    browser.hover(line["x"], line["y"])
    assert browser.js(TOOLTIP) == f"now: {now}"
    label = browser.js(f"{MARK}('-night-mark-now-label')")
    assert label["title"] == f"now: {now}"
    assert label["bottom"] <= label["axesTop"] + 1 and label["top"] >= label["svgTop"]
    assert label["left"] >= label["svgLeft"] and label["right"] <= label["svgRight"]
    assert label["right"] - label["left"] > 20  # text drawn, not an empty group
    # the two P80 lines, hovered the same way
    finish, plan = data["finish"]["quantiles"]["P80"], data["plan_finish"]["quantiles"]["P80"]
    for key, what, text in (
        ("p80", "P80 finish, re-forecast", finish["text"]),
        ("plan-p80", "P80 finish, the plan", plan["text"]),
    ):
        mark = browser.js(f"{MARK}('-night-mark-{key}')")
        browser.hover(mark["x"], mark["y"])
        assert browser.js(TOOLTIP) == f"{what}: {text}"
    # the cards: now, and the P80 finish with the plan's beside it
    night_cards = CARDS.replace("querySelectorAll('.card')", "querySelectorAll('#night .card')")
    cards = {c["label"]: c for c in browser.js(night_cards)}
    assert list(cards) == ["Now", "Done in window 1", "Finish P80", "Units committed"]
    card = cards["Now"]
    assert f"{card['value']} {card['sub'].split(' · ')[0]}" == now
    card = cards["Finish P80"]
    assert f"{card['value']} CET (UTC+01:00)" == finish["text"]
    assert card["sub"].startswith(f"the plan said {plan['text']} · ")
    # the answer table: the re-forecast's P80 and the plan's side by side on one row
    cells = browser.js(f"{ROW}('Finish P80')")
    assert [c["text"] for c in cells[1:3]] == [finish["text"], plan["text"]]
    assert cells[1]["right"] <= cells[2]["left"] and abs(cells[1]["top"] - cells[2]["top"]) < 1
    width = browser.js("window.innerWidth")
    for card in cards.values():
        assert card["width"] > 100 and card["height"] > 40 and card["right"] <= width, card
    assert browser.problems() == []
