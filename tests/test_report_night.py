"""The report of a ``migsim replan`` folder: "The night so far" (now, the actuals, P(done in this
window) and the finish beside the plan's, the units to start next and per unit) and its picture
(the actuals solid, the forecast light, each unit's Commit band, now and the two P80 finishes),
the numbers read back from ``replan.json`` and ``events.csv``; a damaged ``replan.json`` stops
the report (exit 2) naming the file, the key and what was expected."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from matplotlib.collections import PolyCollection
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from test_report import CONTOSO, _card

from sim.cli import cli
from sim.common.clocktime import nearest_minute
from sim.common.errors import InputError
from sim.common.timeparse import format_minutes
from sim.experiments.replan import replan, write_replan
from sim.experiments.run import run_scenario, write_run
from sim.model.scenario import Scenario, load_scenario
from sim.outputs import plots
from sim.outputs.report import SIZE_BUDGET, build_report, load_results, render_report, unit_infos

ROOT = Path(__file__).resolve().parents[1]
ACTUALS = ROOT / "scenarios" / "contoso-night-actuals.csv"
WEEKEND = ROOT / "scenarios" / "weekend-2000.yaml"
NOW = "2026-12-06T01:30:00Z"


def write_night(
    scenario: Scenario, out: Path, replications: int = 24, now: str | float = NOW
) -> Path:
    """A ``migsim replan`` folder of ``scenario`` from the shipped night's actuals."""
    result = replan(scenario, ACTUALS, now=now, replications=replications, workers=1)
    write_replan(result, out)
    return out


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_night(load_scenario(CONTOSO), tmp_path_factory.mktemp("night") / "night")


@pytest.fixture(scope="module")
def night_html(night: Path) -> str:
    return build_report(night).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def data(night: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((night / "replan.json").read_text())
    return result


def _origin(night: Path) -> datetime:
    start = json.loads((night / "summary.json").read_text())["start"]
    return datetime.fromisoformat(start.replace("Z", "+00:00"))


def _short(origin: datetime, minutes: float) -> str:
    """A time of a table of the night: ``Sun 06 Dec 02:29`` (contoso is planned in UTC)."""
    return nearest_minute(origin + timedelta(minutes=minutes)).strftime("%a %d %b %H:%M")


def _later(new: dict[str, Any], plan: dict[str, Any]) -> str:
    """The change between two finishes as their clock times, each to the minute, differ."""
    a, b = (
        nearest_minute(datetime.fromisoformat(d["utc"].replace("Z", "+00:00"))) for d in (new, plan)
    )
    diff = (a - b).total_seconds() / 60.0
    if diff == 0:
        return "the same minute"
    return f"{format_minutes(abs(diff))} {'later' if diff > 0 else 'sooner'}"


# ---- the section -------------------------------------------------------------------------------


def test_a_replan_folder_shows_the_night_first_and_a_plain_run_does_not(
    night_html: str, tmp_path: Path
) -> None:
    assert "contoso-weu: the night re-forecast</h1>" in night_html
    sections = re.findall(r'<section id="([a-z]+)">', night_html)
    assert sections[0] == "night"
    nav = re.findall(r'<nav><a href="#([a-z]+)">', night_html)
    assert nav == ["night"]
    # the night's picture is Figure 1; the run's own figures follow
    figures = re.findall(r'<figure class="plot" id="fig-([a-z-]+)"', night_html)
    assert figures[:3] == ["night", "graph", "timeline"]
    # above the cards of the recorded replication
    assert night_html.index('<section id="night">') < night_html.index('<div class="cards">')
    # the same scenario run as a plan: no night, no picture of it
    out = tmp_path / "plan"
    write_run(run_scenario(load_scenario(CONTOSO)), out)
    shutil.copy(ACTUALS, out / "actuals.csv")  # an actuals.csv alone does not make a night
    html = render_report(out)
    assert 'id="night"' not in html and 'id="fig-night"' not in html
    assert "The night so far" not in html and "contoso-weu: migration report</h1>" in html


def test_the_cards_give_now_the_window_and_the_p80_beside_the_plans(
    night_html: str, data: dict[str, Any]
) -> None:
    value, sub = _card(night_html, "Now")
    zone, after = sub.split(" · ")[:2]
    assert f"{value} {zone}" == data["now"]["text"] == "Sun 2026-12-06 01:30 UTC"
    assert (
        after
        == f"{format_minutes(data['now']['minutes'])} after the start"
        == "3h30m after the start"
    )
    window = data["window"]["window"]
    done, plan = data["done_in_window"], data["plan_done_in_window"]
    assert done["share"] == done["done"] / done["replications"]
    value, sub = _card(night_html, f"Done in window {window}")
    assert value == f"{100 * done['share']:.1f} %"
    assert sub == (
        f"95 % CI {100 * done['ci_low']:.1f} to {100 * done['ci_high']:.1f} %"
        f" · the plan said {100 * plan['share']:.1f} %"
    )
    new, said = data["finish"]["quantiles"]["P80"], data["plan_finish"]["quantiles"]["P80"]
    value, sub = _card(night_html, "Finish P80")
    assert f"{value} UTC" == new["text"]
    assert sub == f"the plan said {said['text']} · {_later(new, said)}"
    value, sub = _card(night_html, "Units committed")
    committed = len(data["actuals"]["units_committed"])
    begun = len(data["actuals"]["units_begun"])
    assert value == f"{committed} of 10" and sub == f"{begun} begun · {10 - committed} to go"


def test_the_table_sets_each_answer_beside_the_plans(night_html: str, data: dict[str, Any]) -> None:
    done, plan = data["done_in_window"], data["plan_done_in_window"]

    def share(d: dict[str, Any]) -> str:
        ci = f"95 % CI {100 * d['ci_low']:.1f} to {100 * d['ci_high']:.1f} %"
        return f"{100 * d['share']:.1f} % ({ci})"

    row = re.search(
        r"<td>P\(done in this window\) · window 1: ([^<]*)</td><td>([^<]*)</td>"
        r"<td>([^<]*)</td><td>([^<]*)</td>",
        night_html,
    )
    assert row, "the P(done) row"
    assert row.group(1) == "Sat 2026-12-05 22:00 to Sun 06:00 UTC"
    assert (row.group(2), row.group(3)) == (share(done), share(plan))
    assert row.group(4) == f"{100 * (done['share'] - plan['share']):+.1f} points"
    for q in ("P50", "P80", "P90"):
        new, said = data["finish"]["quantiles"][q], data["plan_finish"]["quantiles"][q]
        row = re.search(
            rf'<tr(?: class="best")?><td>Finish {q}</td><td>([^<]*)</td>'
            r"<td>([^<]*)</td><td>(?:<span[^>]*>)?([^<]*)",
            night_html,
        )
        assert row, q
        assert (row.group(1), row.group(2)) == (new["text"], said["text"])
        assert row.group(3) == _later(new, said)
    # the P80 row is the one shaded: the finish to plan on
    assert re.search(r'<tr class="best"><td>Finish P80</td>', night_html)


def test_start_next_and_each_unit_not_yet_committed(
    night: Path, night_html: str, data: dict[str, Any]
) -> None:
    origin = _origin(night)
    start = night_html.index("<h3>Start next")
    rows = re.findall(
        r"<tr><td class=num>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td><td class=num>([^<]*)</td>",
        night_html[start:],
    )
    assert len(data["next"]) == 5
    assert rows[: len(data["next"])] == [
        (str(i), u["unit"], _short(origin, u["start_minutes"]), str(u["crew"]))
        for i, u in enumerate(data["next"], start=1)
    ]
    assert data["next"][0]["start_minutes"] >= data["now"]["minutes"]
    # every unit not committed by now, least likely to commit in this window first, then by
    # when its Commit ends (P50); its shares and its Commit at P10, P50 and P90 as clock times
    units = data["units"]
    committed = set(data["actuals"]["units_committed"])
    assert len(units) == 10 - len(committed) and not committed & {u["unit"] for u in units}
    table = night_html[night_html.index("Units not yet committed: ") :]
    shown = re.findall(
        r"<tr><td>([^<]*)</td><td class=num>(?:<span class=\"bad\">)?([^<]*)(?:</span>)?</td>"
        r"<td class=num>([^<]*)</td><td class=num>([^<]*)</td><td class=num>([^<]*)</td>"
        r"<td class=num>([^<]*)</td></tr>",
        table,
    )
    ordered = sorted(units, key=lambda u: (u["p_commit_in_window"], u["commit_minutes"]["P50"]))
    assert shown == [
        (
            u["unit"],
            f"{100 * u['p_commit_in_window']:.1f} %",
            f"{100 * u['plan_p_commit_in_window']:.1f} %",
            *(_short(origin, u["commit_minutes"][p]) for p in ("P10", "P50", "P90")),
        )
        for u in ordered
    ]
    # the actuals as read, folded: one row per event of actuals.csv
    assert "<summary>The actuals as read (64 events, actuals.csv)</summary>" in night_html
    assert data["actuals"]["events"] == 64


# ---- the picture -------------------------------------------------------------------------------


def _draw(night: Path) -> tuple[Figure, dict[str, Any]]:
    res = load_results(night)
    assert res.night is not None and res.events is not None and res.sources is not None
    fig = plots.night(
        res.events,
        [s == "actual" for s in res.sources],
        res.night.now,
        bands={u.unit: u.commit for u in res.night.units},
        finish=res.night.p80(),
        plan_finish=res.night.p80(plan=True),
        origin=res.origin,
        zone=res.zone,
        units=unit_infos(res),
    )
    return fig, {"origin": res.origin, "now": res.night.now}


def _spans(fig: Figure, gid: str, origin: datetime) -> list[tuple[float, float]]:
    """The bars of a collection as (start, end) minutes from the start."""
    base = float(date2num(origin))
    coll = next(c for c in fig.axes[0].collections if c.get_gid() == gid)
    assert isinstance(coll, PolyCollection)
    out = []
    for path in coll.get_paths():
        xs = path.vertices[:4, 0]
        out.append((round((xs.min() - base) * 1440, 4), round((xs.max() - base) * 1440, 4)))
    return sorted(out)


def _flat(spans: list[tuple[float, float]]) -> list[float]:
    return [x for span in spans for x in span]


def test_the_picture_draws_the_actuals_solid_up_to_now(night: Path) -> None:
    fig, got = _draw(night)
    origin, now = got["origin"], got["now"]
    rows = list(csv.DictReader((night / "events.csv").open()))
    assert {r["source"] for r in rows} == {"actual", "forecast"}
    # the expected solid bars: each actual start to its actual end or failure, or to now
    starts: dict[tuple[str, str, str], float] = {}
    solid: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for r in rows:
        if r["source"] != "actual":
            continue
        key = (r["unit"], r["step"], r["attempt"])
        if r["outcome"] == "start":
            starts[key] = float(r["time_min"])
        elif r["outcome"] in ("end", "fail"):
            a = starts.pop(key)
            solid[r["step"].startswith(("remediate:", "restore:"))].append(
                (a, float(r["time_min"]))
            )
    for (_, step, _), a in starts.items():  # in progress at now
        solid[step.startswith(("remediate:", "restore:"))].append((a, now))
    assert starts, "the shipped night has a step in progress at now"
    for remedy, gid in ((False, "night-actual-step"), (True, "night-actual-remedy")):
        want = sorted((round(a, 4), round(b, 4)) for a, b in solid[remedy])
        assert _flat(_spans(fig, gid, origin)) == pytest.approx(_flat(want), abs=1e-3)
    # no solid bar reaches past now; the forecast's bars start at now or later
    forecast = _spans(fig, "night-forecast-step", origin)
    assert max(b for _, b in _spans(fig, "night-actual-step", origin)) <= now + 1e-3
    assert min(a for a, _ in forecast) >= now - 1e-3


def test_the_picture_bands_each_commit_and_marks_now_and_the_p80s(
    night: Path, data: dict[str, Any]
) -> None:
    fig, got = _draw(night)
    origin = got["origin"]
    want = sorted(
        (round(u["commit_minutes"]["P10"], 4), round(u["commit_minutes"]["P90"], 4))
        for u in data["units"]
    )
    assert _flat(_spans(fig, "night-band", origin)) == pytest.approx(_flat(want), abs=1e-3)
    ax = fig.axes[0]
    ticks = next(line for line in ax.get_lines() if line.get_marker() == "|")
    base = float(date2num(origin))
    p50 = sorted(round((float(x) - base) * 1440, 4) for x in ticks.get_xdata())
    assert p50 == pytest.approx(sorted(u["commit_minutes"]["P50"] for u in data["units"]), abs=1e-3)
    # the three lines, their hover texts and their labels
    tips = plots.tooltips(fig)
    new, said = data["finish"]["quantiles"]["P80"], data["plan_finish"]["quantiles"]["P80"]
    assert tips["night-mark-now"] == [f"now: {data['now']['text']}"]
    assert tips["night-mark-p80"] == [f"P80 finish, re-forecast: {new['text']}"]
    assert tips["night-mark-plan-p80"] == [f"P80 finish, the plan: {said['text']}"]
    labels = {t.get_text() for t in ax.texts}
    assert {
        "now Sun 01:30",
        f"re-forecast P80 {new['text'][:3]} {new['text'][15:20]}",
        f"plan P80 {said['text'][:3]} {said['text'][15:20]}",
    } <= labels
    for key, minutes in (
        ("now", data["now"]["minutes"]),
        ("p80", new["minutes"]),
        ("plan-p80", said["minutes"]),
    ):
        line = next(line for line in ax.get_lines() if line.get_gid() == f"night-mark-{key}")
        assert (float(line.get_xdata()[0]) - base) * 1440 == pytest.approx(minutes, abs=1e-3)
    # one hover text per bar
    for gid in ("night-actual-step", "night-forecast-step", "night-band"):
        assert len(tips[gid]) == len(_spans(fig, gid, origin))
    assert tips["night-band"][0].split("\n")[0].endswith(": Commit ends (re-forecast)")


def test_a_2000_vm_night_stays_readable_and_small(tmp_path: Path) -> None:
    scenario = load_scenario(WEEKEND)
    run = tmp_path / "run"
    write_run(run_scenario(scenario), run)
    now = 1200.0  # Sunday 02:00, 20 hours into the first weekend's window
    actuals = tmp_path / "actuals.csv"
    with (run / "events.csv").open() as f, actuals.open("w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["time_min", "unit", "step", "outcome", "crew", "attempt"])
        for r in csv.DictReader(f):
            if float(r["time_min"]) <= now and r["outcome"] != "not_migrated":
                w.writerow(
                    [r[k] for k in ("time_min", "unit", "step", "outcome", "crew", "attempt")]
                )
    result = replan(scenario, actuals, now=now, replications=3, workers=1)
    write_replan(result, tmp_path / "night")
    path = build_report(tmp_path / "night")
    assert path.stat().st_size < SIZE_BUDGET
    html = path.read_text(encoding="utf-8")
    assert 'id="fig-night"' in html
    # more units than a page holds one per row: the dense layout of the timeline
    fig, _ = _draw(tmp_path / "night")
    ax = fig.axes[0]
    n = round(ax.get_ylim()[0] + 0.5)  # rows from 0 to n - 1, the first at the top
    res = load_results(tmp_path / "night")
    assert res.events is not None and res.night is not None
    drawn = {e.unit for e in res.events if e.step != "unit"}
    drawn |= {u.unit for u in res.night.units if u.commit[0] is not None}
    assert n == len(drawn) > plots.DENSE_UNIT_ROWS
    assert len(unit_infos(res)) == 173  # the rest never start: not migrated
    assert fig.get_figheight() == plots.DENSE_HEIGHT
    every = math.ceil(n / plots.DENSE_LABELS)
    assert len(ax.get_yticklabels()) == math.ceil(n / every) <= plots.DENSE_LABELS
    assert ax.get_yticklabels()[1].get_text().startswith(f"{every + 1}. ")
    # a table that long is folded
    assert re.search(r"<details class=night-units><summary>Units not yet committed: \d+", html)


# ---- what is there, and what is not ------------------------------------------------------------


def test_without_replications_or_windows_the_night_says_so(night: Path, tmp_path: Path) -> None:
    # replan.json of a re-forecast without replications (its recorded replication is the same:
    # the plan's seed). write_replan refuses 0 replications today (metric_statistics of no
    # rows), so the folder is the module's with that replan.json and no statistics.
    bare = tmp_path / "bare"
    shutil.copytree(night, bare)
    alone = replan(load_scenario(CONTOSO), ACTUALS, now=NOW, replications=0)
    (bare / "replan.json").write_text(json.dumps(alone.as_dict()))
    for name in ("replications.csv", "statistics.json", "report.html"):
        (bare / name).unlink(missing_ok=True)
    html = render_report(bare)
    assert "No replications: <code>migsim replan SCENARIO --actuals FILE --replications N" in html
    assert "The re-forecast beside the plan" not in html and 'id="fig-night"' in html
    assert "Finish P80" not in html
    data = load_scenario(CONTOSO).model_dump(mode="json", by_alias=True)
    data["plan"]["maintenance_windows"] = []
    open_plan = write_night(Scenario.model_validate(data), tmp_path / "open", replications=4)
    html = render_report(open_plan)
    assert json.loads((open_plan / "replan.json").read_text())["window"] is None
    assert "no maintenance windows in the plan: P(done in this window) and P(Commit" in html
    assert "Done in window" not in html and "<td>Finish P80</td>" in html
    assert "<th>unit</th><th class=num>Commit P10</th>" in html  # no shares without a window


def test_an_events_csv_with_a_bad_source_is_named_and_the_picture_left_out(
    night: Path, tmp_path: Path
) -> None:
    root = tmp_path / "bad-source"
    shutil.copytree(night, root)
    text = (root / "events.csv").read_text()
    (root / "events.csv").write_text(text.replace(",forecast\n", ",guess\n", 1))
    html = render_report(root)
    assert "events.csv could not be read (ValueError: line " in html
    assert "source: expected actual or forecast, got &#x27;guess&#x27;" in html
    assert 'id="fig-night"' not in html
    assert "no picture of the night: it needs events.csv with its source column" in html
    assert "<h3>The re-forecast beside the plan</h3>" in html  # the rest of the night is there


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value

    return change


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        del d[key]

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_drop("finish"), "replan.json: has no finish; expected now, actuals, window"),
        (
            _set(("now", "minutes"), "01:30"),
            "replan.json: now.minutes: expected minutes from the start",
        ),
        (
            _set(("now", "minutes"), -5),
            "now.minutes: expected minutes from the start, from 0 to 5,256,000",
        ),
        (
            _set(("done_in_window", "share"), 1.5),
            "done_in_window.share: expected a share from 0 to 1, got 1.5",
        ),
        (
            _set(("done_in_window", "done"), 10**5),
            "done_in_window.done: expected at most replications (24)",
        ),
        (
            _set(("done_in_window", "share"), 0.5),
            "done_in_window.share: expected done / replications",
        ),
        (
            _set(("plan_done_in_window", "replications"), 7),
            "plan_done_in_window.replications: expected 24",
        ),
        (
            _set(("units", 0, "commit_minutes", "P10"), 1e5),
            "units[0].commit_minutes: expected P10 <= P50 <= P90",
        ),
        (_set(("units", 0, "unit"), 3), "units[0].unit: expected text, got 3"),
        (_set(("next", 0, "crew"), -1), "next[0].crew: expected a whole number from 0"),
        (
            _set(("finish", "quantiles", "P80", "minutes"), 1e15),
            "finish.quantiles.P80.minutes: expected minutes",
        ),
        (
            _set(("window", "end_minutes"), -1.0),
            "window.end_minutes: expected minutes from the start",
        ),
        (
            _set(("actuals", "units_begun"), "er-ams"),
            "actuals.units_begun: expected a list of text",
        ),
    ],
)
def test_a_damaged_replan_json_stops_the_report(
    night: Path, tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    root = tmp_path / "damaged"
    shutil.copytree(night, root)
    (root / "report.html").unlink(missing_ok=True)
    data = json.loads((root / "replan.json").read_text())
    change(data)
    (root / "replan.json").write_text(json.dumps(data))
    with pytest.raises(InputError) as caught:
        build_report(root)
    assert str(caught.value).startswith(str(root / "replan.json") + ": ")
    assert message in str(caught.value)
    assert not (root / "report.html").exists()


def test_the_command_refuses_a_damaged_replan_json_with_exit_2(night: Path, tmp_path: Path) -> None:
    root = tmp_path / "damaged"
    shutil.copytree(night, root)
    (root / "report.html").unlink(missing_ok=True)
    (root / "replan.json").write_text('{"now": ')
    done = CliRunner().invoke(cli, ["report", str(root)])
    assert done.exit_code == 2, done.output
    assert f"{root / 'replan.json'}:1: is not JSON (Expecting value, column 9)" in " ".join(
        done.output.split()
    )
    assert not (root / "report.html").exists()
    (root / "replan.json").unlink()
    (root / "replan.json").mkdir()  # a folder where the file should be: never opened
    done = CliRunner().invoke(cli, ["report", str(root)])
    assert done.exit_code == 2 and "replan.json" in done.output


def test_the_labels_round_a_time_once_as_replan_json_does() -> None:
    # 23:00:29.6 reads 23:00 (rounded to the second first, it would read 23:01)
    origin = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
    minute = 60 + 29.6 / 60
    fig = plots.night([], [], 30.0, finish=minute, plan_finish=minute + 1, origin=origin)
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert {"now Sat 22:30", "re-forecast P80 Sat 23:00", "plan P80 Sat 23:01"} <= labels
    assert plots.tooltips(fig)["night-mark-p80"] == [
        "P80 finish, re-forecast: Sat 2026-12-05 23:00 UTC"
    ]


def test_the_advice_of_replan_advise_is_shown_and_checked(tmp_path: Path) -> None:
    # A six-hour window, so that skipping a unit changes the answer; the report shows each
    # decision as replan.json has it, and a damaged decision stops the report.
    six = (
        "plan.maintenance_windows=[{every: saturday, at: '22:00', for: 6h},"
        " {every: sunday, at: '22:00', for: 6h}]"
    )
    result = replan(
        load_scenario(CONTOSO, [six]), ACTUALS, now=NOW, replications=20, workers=1, advise=True
    )
    out = tmp_path / "advised"
    write_replan(result, out)
    advice = json.loads((out / "replan.json").read_text())["advice"]
    assert advice and advice[0]["share"] >= advice[-1]["share"]
    html = build_report(out).read_text(encoding="utf-8")
    assert "What to do next" in html
    for a in advice:
        row = f"<td>{a['what']}</td><td>{', '.join(a['skipped']) or '–'}</td>"
        assert row in html, a["what"]
        assert f"{100 * a['share']:.1f} % (95 % CI" in html
        if a["what"] != "continue":
            assert f"{100 * a['diff_vs_continue']:+.1f} points" in html
    data = json.loads((out / "replan.json").read_text())
    data["advice"][0]["diff_low"] = 3
    (out / "replan.json").write_text(json.dumps(data))
    (out / "report.html").unlink()
    with pytest.raises(InputError, match=r"advice\[0\]\.diff_low: expected a difference"):
        build_report(out)
