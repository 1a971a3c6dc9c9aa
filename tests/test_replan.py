"""migsim replan (issue 17): a re-forecast conditioned on what has happened.

The engine's promise, checked by arithmetic: actuals equal to the first k events of a
deterministic run make a deterministic replan reproduce the rest of that run exactly; a Prepare
60 minutes longer than planned moves the finish by exactly 60 minutes, or to the next window.
Then the command: its answers, files and refusals.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.experiments.replan import replan
from sim.experiments.run import run_scenario
from sim.model.scenario import Scenario, load_scenario
from sim.outputs.records import Event, Replication

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
CONTOSO = SCENARIOS / "contoso.yaml"
NIGHT = SCENARIOS / "contoso-night-actuals.csv"

CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "contoso": ("contoso.yaml", ()),
    "contoso-failures": (
        "contoso.yaml",
        ("plan.failures.prepare=0.3", "plan.failures.commit=0.2", "plan.failures.validate=0.2"),
    ),
    "contoso-prepare-ahead": ("contoso.yaml", ("plan.dispatch=prepare_ahead",)),
    "clean": ("clean.yaml", ()),
    "kitchen-sink": ("kitchen-sink.yaml", ("plan.ordering=smallest_first",)),
    "small-what-if": ("small-what-if.yaml", ()),
    "weekend-2000": ("weekend-2000.yaml", ()),
}
"""The shipped scenarios (and contoso under failures and the other dispatch policy)."""

_BASE: dict[str, tuple[Scenario, Replication]] = {}


def _base(case: str) -> tuple[Scenario, Replication]:
    if case not in _BASE:
        name, overrides = CASES[case]
        sc = load_scenario(SCENARIOS / name, list(overrides))
        _BASE[case] = (sc, run_scenario(sc, deterministic=True).replication)
    return _BASE[case]


def _steps(events: tuple[Event, ...]) -> list[Event]:
    return [e for e in events if e.outcome in ("start", "end", "fail")]


def frame(events: list[Event]) -> pd.DataFrame:
    """Actuals as a notebook passes them: a DataFrame in events.csv's columns (exact minutes)."""
    return pd.DataFrame(
        {
            "time_min": [e.time for e in events],
            "unit": [e.unit for e in events],
            "step": [e.step for e in events],
            "outcome": [e.outcome for e in events],
            "attempt": [e.attempt for e in events],
            "crew": pd.array([e.crew for e in events], dtype="Int64"),
        }
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(case=st.sampled_from(sorted(CASES)), fraction=st.floats(0.0, 1.0))
def test_a_replan_on_the_first_k_events_reproduces_the_rest_of_the_run(
    case: str, fraction: float
) -> None:
    sc, base = _base(case)
    steps = _steps(base.events)
    k = max(1, round(fraction * len(steps)))
    result = replan(sc, frame(steps[:k]), deterministic=True, replications=0)
    rep = result.run.replication
    assert result.now == steps[k - 1].time
    # The same events, each at the same time on the same crew (events at one minute may be
    # listed in another order: a unit held until its actual start queues again at that
    # minute), the same windows, the same outcome of every unit.
    assert sorted(rep.events, key=_event_key) == sorted(base.events, key=_event_key), case
    assert [e.time for e in rep.events] == [e.time for e in base.events], case
    assert rep.windows == base.windows, case
    assert rep.outcomes == base.outcomes, case


def _event_key(e: Event) -> tuple[float, str, str, str, int, int]:
    return (e.time, e.unit, e.step, e.outcome, e.attempt, -1 if e.crew is None else e.crew)


def _critical(sc: Scenario) -> tuple[Replication, Event, Event]:
    """The base run, and the Prepare start and end of the unit whose last step ends last."""
    base = run_scenario(sc, deterministic=True).replication
    last = max(_steps(base.events), key=lambda e: e.time).unit
    start = next(
        e for e in base.events if (e.unit, e.step, e.outcome) == (last, "prepare", "start")
    )
    end = next(e for e in base.events if (e.unit, e.step, e.outcome) == (last, "prepare", "end"))
    return base, start, end


def _late_prepare(base: Replication, start: Event, end: Event, late: float) -> list[Event]:
    """What the night looks like when that Prepare overran by ``late`` minutes: the run's
    events until its late end, but the unit's own only up to its Prepare start, then that
    Prepare's end ``late`` minutes after the planned one."""
    until = end.time + late
    out = [
        e
        for e in _steps(base.events)
        if e.time <= until and not (e.unit == start.unit and e.time >= end.time)
    ]
    return [*out, end._replace(time=until)]


def test_a_prepare_60_minutes_late_moves_the_finish_60_minutes() -> None:
    # No window boundary: contoso around the clock, crews enough that no unit waits for one.
    sc = load_scenario(CONTOSO, ["plan.maintenance_windows=[]", "plan.crews=12"])
    base, start, end = _critical(sc)
    actuals = _late_prepare(base, start, end, 60.0)
    result = replan(sc, frame(actuals), deterministic=True, replications=0)
    rep = result.run.replication
    assert rep.makespan == pytest.approx(base.makespan + 60.0, abs=1e-9)
    # and nothing but that unit's later steps moved
    moved = {e.unit for e in rep.events if e not in base.events}
    assert moved == {start.unit}


def test_a_prepare_60_minutes_late_moves_the_finish_to_the_next_window() -> None:
    # One nightly window just long enough for the plan: 60 minutes more no longer fit in it.
    probe = load_scenario(CONTOSO, ["plan.maintenance_windows=[]", "plan.crews=12"])
    minutes = run_scenario(probe, deterministic=True).replication.makespan
    hours = int(minutes // 60) + 1  # the plan fits, with less than an hour to spare
    window = f"plan.maintenance_windows=[{{every: day, at: '22:00', for: {hours}h}}]"
    sc = load_scenario(CONTOSO, [window, "plan.crews=12"])
    base, start, end = _critical(sc)
    assert base.makespan <= hours * 60  # the plan is done in the first window
    result = replan(
        sc, frame(_late_prepare(base, start, end, 60.0)), deterministic=True, replications=0
    )
    rep = result.run.replication
    next_window = 24 * 60.0  # the next night's window opens a day after the first
    assert rep.makespan > next_window
    commit = next(
        e for e in rep.events if (e.unit, e.step, e.outcome) == (start.unit, "commit", "start")
    )
    assert commit.time >= next_window


# ---- the command -------------------------------------------------------------------------------


def migsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_replan_of_the_shipped_night_answers_in_clock_time(tmp_path: Path) -> None:
    out = tmp_path / "night"
    args = ("replan", str(CONTOSO), "--actuals", str(NIGHT), "--now", "2026-12-06T01:30Z")
    r = migsim(*args, "--replications", "50", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "P(done in this window" in r.stdout and "Finish P80" in r.stdout
    assert "Sun 2026-12-06" in r.stdout  # clock times in the plan's zone
    data = json.loads((out / "replan.json").read_text("utf-8"))
    assert data["now"]["minutes"] == 210.0
    assert data["actuals"]["events"] == 64 and data["replications"] == 50
    assert data["window"] == {"window": 1, "start_minutes": 0.0, "end_minutes": 480.0}
    done = data["done_in_window"]
    assert done["replications"] == 50 and 0 <= done["done"] <= 50
    # the answers are the statistics of the rows written
    rows = list(csv.DictReader(io.StringIO((out / "replications.csv").read_text("utf-8"))))
    assert len(rows) == 50
    ends = [float(row["makespan_hours"]) * 60 for row in rows]
    in_window = sum(1 for m in ends if m <= 480.0 + 1e-6)
    assert done["done"] == in_window
    # every actual event is marked actual in events.csv, at its time; the rest is forecast
    events = list(csv.DictReader(io.StringIO((out / "events.csv").read_text("utf-8"))))
    actual = [e for e in events if e["source"] == "actual"]
    assert len(actual) == 64
    assert all(float(e["time_min"]) <= 210.0 for e in actual)
    assert all(float(e["time_min"]) >= 210.0 - 1e-9 for e in events if e["source"] == "forecast")
    # the same seed gives the same bytes
    again = tmp_path / "again"
    r2 = migsim(*args, "--replications", "50", "--out", str(again))
    assert r2.returncode == 0, r2.stderr
    for name in ("replan.json", "replications.csv", "events.csv", "windows.csv"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_replan_refuses_a_now_before_the_latest_actual(tmp_path: Path) -> None:
    r = migsim(
        "replan",
        str(CONTOSO),
        "--actuals",
        str(NIGHT),
        "--now",
        "2026-12-06T00:30Z",
        "--out",
        str(tmp_path / "x"),
        "--replications",
        "0",
    )
    assert r.returncode == 2
    assert "--now" in r.stderr and "latest actual event" in r.stderr
    assert "Traceback" not in r.stderr


def test_replan_refuses_bad_actuals_with_file_row_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    lines = NIGHT.read_text("utf-8").splitlines()
    row = next(i for i, line in enumerate(lines) if ",vnet-prod," in line)
    lines[row] = lines[row].replace(",vnet-prod,", ",vnet-prd,")
    bad.write_text("\n".join(lines) + "\n", "utf-8")
    r = migsim("replan", str(CONTOSO), "--actuals", str(bad), "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    assert f"bad.csv:{row + 1}" in r.stderr and "unit" in r.stderr and "vnet-prd" in r.stderr
    assert "Traceback" not in r.stderr


def test_replan_refuses_actuals_the_plan_cannot_reproduce(tmp_path: Path) -> None:
    # A third unit started while both crews were busy: under the plan (2 crews) it cannot start
    # then. The refusal names the row.
    _, base = _base("contoso")
    steps = _steps(base.events)
    busy = [e for e in steps if e.time < 30.0]
    begun = {e.unit for e in busy}
    outsider = next(e.unit for e in steps if e.unit not in begun and e.step == "validate")
    actuals = [*busy, Event(10.0, outsider, "validate", "start", None, 1)]
    path = tmp_path / "three.csv"
    frame(sorted(actuals, key=lambda e: e.time)).to_csv(path, index=False)
    r = migsim(
        "replan",
        str(CONTOSO),
        "--actuals",
        str(path),
        "--out",
        str(tmp_path / "x"),
        "--replications",
        "0",
    )
    assert r.returncode == 2, r.stdout
    assert "three.csv:" in r.stderr and outsider in r.stderr
    assert "cannot reproduce" in r.stderr or "crew" in r.stderr
    assert "Traceback" not in r.stderr


def test_advise_compares_skipping_each_next_unit_on_the_same_replications() -> None:
    # A six-hour window: at 01:30 the plan no longer fits; leaving one unit for the next window
    # lets the others commit in this one.
    six = (
        "plan.maintenance_windows=[{every: saturday, at: '22:00', for: 6h},"
        " {every: sunday, at: '22:00', for: 6h}]"
    )
    sc = load_scenario(CONTOSO, [six])
    result = replan(sc, NIGHT, now="2026-12-06T01:30Z", replications=60, advise=True)
    assert result.window is not None and result.window.end == 360.0
    advice = {a.what: a for a in result.advice}
    cont = advice["continue"]
    assert cont.skipped == () and cont.diff == 0.0
    # continue's share is counted from the re-forecast's own rows: every unit committed by 04:00
    assert result.scope == 0  # contoso blocks no unit: every unit is in scope
    scope = result.run.order
    hits = sum(
        1 for r in result.rows if all(dict(r.commits).get(u, 1e18) <= 360.0 + 1e-6 for u in scope)
    )
    assert cont.share.hits == hits and cont.share.n == 60
    skips = [a for a in result.advice if a.what.startswith("skip ")]
    assert 1 <= len(skips) <= 8
    for a in skips:
        unit = a.what.removeprefix("skip ")
        assert unit in a.skipped and unit not in result.actuals.units  # not begun by now
        # the paired difference is the difference of the shares (the same 60 replications)
        assert a.diff == pytest.approx(a.share.share - cont.share.share, abs=1e-12)
    assert result.advice[0].share.share == max(a.share.share for a in result.advice)
    assert max(a.share.share for a in skips) > cont.share.share
    data = result.as_dict()["advice"]
    assert [d["what"] for d in data] == [a.what for a in result.advice]


def test_advise_needs_windows(tmp_path: Path) -> None:
    r = migsim(
        "replan",
        str(CONTOSO),
        "--actuals",
        str(NIGHT),
        "--advise",
        "--replications",
        "5",
        "--set",
        "plan.maintenance_windows=[]",
        "--out",
        str(tmp_path / "x"),
    )
    assert r.returncode == 2 and "--advise" in r.stderr and "maintenance windows" in r.stderr


def test_replan_without_replications_writes_the_recorded_forecast(tmp_path: Path) -> None:
    out = tmp_path / "z"
    r = migsim(
        "replan", str(CONTOSO), "--actuals", str(NIGHT), "--replications", "0", "--out", str(out)
    )
    assert r.returncode == 0, r.stderr
    assert "Start next" in r.stdout and "P(done in this window" not in r.stdout
    assert not (out / "replications.csv").exists() and not (out / "statistics.json").exists()
    data = json.loads((out / "replan.json").read_text("utf-8"))
    assert data["replications"] == 0 and data["done_in_window"] is None
    assert data["now"]["minutes"] == pytest.approx(207 + 52 / 60)  # the latest actual, 01:27:52


@pytest.mark.parametrize("now", ["2026-12-06T05:59Z", "2026-12-06T07:00Z"])
def test_a_retry_before_now_stands_when_a_long_commit_runs_at_now(now: str) -> None:
    # The shipped night retried vnet-shared's failed Prepare in place at 00:47; its Commit,
    # begun 01:27:52, is still running hours later. The plan's fit for that retry, asked with
    # the Commit's length known only since, must not undo what the crews did (the trial found
    # it refused at 05:59).
    result = replan(load_scenario(CONTOSO), NIGHT, now=now, replications=4)
    rep = result.run.replication
    retry = [
        e
        for e in rep.events
        if (e.unit, e.step, e.outcome, e.attempt) == ("vnet-shared", "prepare", "start", 2)
    ]
    # retried in place at 00:46:52, as the actuals say: 2h46m52s after the 22:00 start
    assert len(retry) == 1 and retry[0].time == pytest.approx(166 + 52 / 60)
    commit = next(
        e for e in rep.events if (e.unit, e.step, e.outcome) == ("vnet-shared", "commit", "end")
    )
    assert commit.time > result.now  # it ends after now, as it is still running


def test_replan_refuses_a_crew_logged_on_two_steps_at_once(tmp_path: Path) -> None:
    path = tmp_path / "samecrew.csv"
    path.write_text(
        "time_utc,unit,step,outcome,crew,attempt\n"
        "2026-12-05T22:00:00Z,er-ams,validate,start,1,1\n"
        "2026-12-05T22:00:00Z,stlogs,validate,start,1,1\n",
        "utf-8",
    )
    r = migsim(
        "replan",
        str(CONTOSO),
        "--actuals",
        str(path),
        "--replications",
        "0",
        "--out",
        str(tmp_path / "x"),
    )
    assert r.returncode == 2
    assert "samecrew.csv:3" in r.stderr and "crew 1" in r.stderr and "Traceback" not in r.stderr


def test_an_abort_the_lead_decided_is_followed(tmp_path: Path) -> None:
    # er-ams's Prepare ended at 22:15 and the lead aborted it there, with no failure before:
    # the Abort runs as logged, and the unit prepares again (attempt 2) under the plan.
    _, base = _base("contoso")
    steps = [
        e for e in _steps(base.events) if e.time <= 15.0 and (e.unit, e.step) != ("er-ams", "check")
    ]
    actuals = [
        *steps,
        Event(15.0, "er-ams", "abort", "start", 1, 1),
        Event(20.0, "er-ams", "abort", "end", 1, 1),
    ]
    result = replan(load_scenario(CONTOSO), frame(actuals), deterministic=True, replications=0)
    mine = [e for e in result.run.replication.events if e.unit == "er-ams"]
    abort = [e for e in mine if e.step == "abort"]
    assert [(e.outcome, e.time) for e in abort] == [("start", 15.0), ("end", 20.0)]
    again = next(e for e in mine if (e.step, e.outcome, e.attempt) == ("prepare", "start", 2))
    # aborted to be left for later (as --advise means it): not before the next window, Sunday
    # 22:00, since the actuals show no new Prepare
    assert again.time >= 24 * 60.0
    assert any((e.step, e.outcome) == ("commit", "end") for e in mine)
    # when the crews did prepare it again at once, the log says so and it is followed (the
    # second trial found that row refused)
    redo = [*actuals, Event(25.0, "er-ams", "prepare", "start", 1, 2)]
    result = replan(load_scenario(CONTOSO), frame(redo), deterministic=True, replications=0)
    mine = [e for e in result.run.replication.events if e.unit == "er-ams"]
    again = next(e for e in mine if (e.step, e.outcome, e.attempt) == ("prepare", "start", 2))
    assert again.time == 25.0 and again.crew == 1


def test_advise_offers_to_abort_a_unit_still_prepared() -> None:
    # At 01:30 stprodvhds is in its Check (Prepare ended 01:07:30): aborting it is a decision;
    # in that alternative it aborts when its Check ends and prepares again in the next window.
    six = (
        "plan.maintenance_windows=[{every: saturday, at: '22:00', for: 6h},"
        " {every: sunday, at: '22:00', for: 6h}]"
    )
    sc = load_scenario(CONTOSO, [six])
    result = replan(
        sc, NIGHT, now="2026-12-06T01:30Z", replications=20, advise=True, deterministic=True
    )
    abort = next(a for a in result.advice if a.what == "abort stprodvhds")
    assert "stprodvhds" in abort.skipped
    from dataclasses import replace as dc_replace

    from sim.engine.replay import Replay
    from sim.experiments.replan import ReplanPrepared

    prepared = ReplanPrepared.of(sc)
    replay = Replay.from_events(result.actuals.events, result.now)
    alt = dc_replace(
        prepared,
        replay=dc_replace(replay, deferred={"stprodvhds": 360.0}, aborts=frozenset({"stprodvhds"})),
    )
    events = [e for e in alt.replicate(0, deterministic=True).events if e.unit == "stprodvhds"]
    check_end = next(e for e in events if (e.step, e.outcome, e.attempt) == ("check", "end", 1))
    abort = next(e for e in events if (e.step, e.outcome) == ("abort", "start"))
    assert abort.time == check_end.time == pytest.approx(217.5)  # 01:07:30 + the 30m Check
    again = next(e for e in events if (e.step, e.outcome, e.attempt) == ("prepare", "start", 2))
    assert again.time >= 24 * 60.0  # the next window: Sunday 22:00
