"""``run_scenario`` and ``write_run``: the result files, determinism, atomic writing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from sim import __version__
from sim.common.errors import InputError
from sim.experiments.run import OUTPUT_FILES, RunResult, run_scenario, write_run
from sim.model.scenario import Scenario, load_scenario
from sim.outputs.plots import timeline
from sim.outputs.records import (
    Event,
    Window,
    events_csv,
    fmt_num,
    iso,
    local,
    peak_concurrent,
    vm_down_intervals,
    windows_csv,
)

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"


@pytest.fixture(scope="module")
def contoso() -> Scenario:
    return load_scenario(CONTOSO)


@pytest.fixture(scope="module")
def contoso_run(contoso: Scenario) -> RunResult:
    return run_scenario(contoso)


def test_contoso_writes_the_result_files(contoso_run: RunResult, tmp_path: Path) -> None:
    out = tmp_path / "results" / "contoso"
    paths = write_run(contoso_run, out, force=False)
    assert [p.name for p in paths] == list(OUTPUT_FILES)
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.parent.iterdir()] == ["contoso"]  # no temporary left behind

    summary = json.loads((out / "summary.json").read_text())
    assert summary["migsim_version"] == __version__
    assert summary["seed"] == 42
    assert summary["start"] == "2026-12-05T22:00:00Z"
    assert summary["end"].startswith("2026-12-0")
    assert summary["units_total"] == 10
    assert "scenario" not in summary  # written once, beside it
    assert summary["peak_vms_down"] == 2  # the two legacy VMs stop together
    assert summary["vm_hours_down"] > 0
    assert {t["rule"] for t in summary["post_migration_tasks"]} == {"MIG017"}
    for key in ("makespan_minutes", "lock_resource_hours", "not_migrated"):
        assert key in summary
    units = list(csv.DictReader(io.StringIO((out / "units.csv").read_text())))
    assert [u["unit"] for u in units] == [o.unit for o in contoso_run.summary.units]
    assert len(units) == summary["units_total"] == 10
    assert sum(u["status"] == "committed" for u in units) == summary["units_migrated"]

    windows = list(csv.DictReader(io.StringIO((out / "windows.csv").read_text())))
    assert windows and set(windows[0]) == {
        "resource",
        "resource_type",
        "unit",
        "kind",
        "start_min",
        "end_min",
        "duration_min",
        "start_utc",
        "end_utc",
        "start_local",
        "end_local",
        "cause",
    }
    kinds = {w["kind"] for w in windows}
    assert {"management", "data", "exposure", "connectivity", "backup", "monitoring"} <= kinds
    events = list(csv.DictReader(io.StringIO((out / "events.csv").read_text())))
    assert list(events[0]) == [
        "time_min",
        "time_utc",
        "time_local",
        "unit",
        "step",
        "outcome",
        "crew",
        "attempt",
    ]
    assert events[0]["time_utc"] == "2026-12-05T22:00:00Z"
    assert events[0]["time_local"] == "2026-12-05T22:00:00+00:00"  # contoso plans in UTC


def test_same_seed_gives_identical_files(contoso: Scenario, tmp_path: Path) -> None:
    a = write_run(run_scenario(contoso, seed=7), tmp_path / "a")
    b = write_run(run_scenario(contoso, seed=7), tmp_path / "b")
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name


def test_different_seed_gives_different_durations(contoso: Scenario) -> None:
    one = run_scenario(contoso, seed=1).replication
    two = run_scenario(contoso, seed=2).replication
    assert [e.time for e in one.events] != [e.time for e in two.events]
    assert one.makespan != two.makespan


def test_seed_override_is_recorded(contoso: Scenario) -> None:
    result = run_scenario(contoso, seed=99)
    assert result.scenario.plan.seed == 99
    assert result.summary.seed == 99
    with pytest.raises(InputError):
        run_scenario(contoso, seed=-1)


def test_deterministic_runs_central_values() -> None:
    sc = load_scenario(CONTOSO, ["plan.failures.prepare=0", "plan.failures.commit=0"])
    a = run_scenario(sc, seed=1, deterministic=True)
    b = run_scenario(sc, seed=2, deterministic=True)
    assert a.replication.events == b.replication.events  # the seed no longer matters
    assert a.summary.deterministic
    rep = a.replication
    for o in rep.outcomes:
        (start,) = rep.events_of(o.unit, "prepare", "start")
        (end,) = rep.events_of(o.unit, "prepare", "end")
        assert end.time - start.time == pytest.approx(sc.plan.durations.prepare.central(o.vms))
    random = run_scenario(sc, seed=1).replication
    assert random.events != rep.events


def test_existing_output_is_refused_without_force(contoso_run: RunResult, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    write_run(contoso_run, out, force=False)  # nothing of a run's there: nothing to replace
    (out / "summary.json").write_text("old")
    with pytest.raises(InputError) as exc:
        write_run(contoso_run, out, force=False)
    message = str(exc.value)
    assert message.startswith(f"{out}: already holds migsim run's files (events.csv, ")
    assert message.endswith("; --force replaces them and leaves notes.txt in place")
    assert (out / "summary.json").read_text() == "old"
    write_run(contoso_run, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == sorted([*OUTPUT_FILES, "notes.txt"])
    assert (out / "notes.txt").read_text() == "keep me"
    assert (out / "summary.json").read_text() != "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(InputError):
        write_run(contoso_run, afile, force=True)


def test_headline_rows(contoso_run: RunResult) -> None:
    rows = contoso_run.headline()
    labels = [label for label, _ in rows]
    assert labels[:4] == [
        "Makespan",
        "Units migrated",
        "VM-hours of data downtime",
        "Peak VMs down at once",
    ]
    assert all(isinstance(v, str) for _, v in rows)
    assert "2026-12-0" in rows[0][1]


def test_not_migrated_units_appear_in_headline(contoso: Scenario) -> None:
    sc = load_scenario(CONTOSO, ["plan.remediation=none"])
    result = run_scenario(sc)
    labels = [label for label, _ in result.headline()]
    assert any(label.startswith("Not migrated: vnet-prod") for label in labels)
    assert any(u.unit == "vnet-prod" for u in result.summary.not_migrated)


def test_no_clock_columns_without_a_start(tmp_path: Path) -> None:
    sc = load_scenario(CONTOSO, ["plan.start=null", "plan.maintenance_windows=[]"])
    result = run_scenario(sc)
    out = {p.name: p for p in write_run(result, tmp_path / "r")}
    header = out["windows.csv"].read_text().splitlines()[0]
    assert "start_utc" not in header
    assert "_utc" not in out["units.csv"].read_text().splitlines()[0]
    assert json.loads(out["summary.json"].read_text())["start"] is None
    assert out["validation.json"].stat().st_size > 0


def test_timeline_figure(contoso_run: RunResult) -> None:
    fig = timeline(contoso_run)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "vm legacy-01" in labels and any(label.startswith("vnet-prod") for label in labels)
    assert ax.get_legend() is None and fig.legends  # one figure legend below the chart
    by_unit = timeline(contoso_run, by="unit")
    assert len(by_unit.axes[0].get_yticklabels()) == len(contoso_run.replication.outcomes)


def test_writers_are_plain_and_stable() -> None:
    w = Window("vm:a", "vm", "u", "data", 0.0, 12.5, 'stop, "quoted"')
    text = windows_csv([w], None)
    assert text == (
        "resource,resource_type,unit,kind,start_min,end_min,duration_min,cause\n"
        'vm:a,vm,u,data,0,12.5,12.5,"stop, ""quoted"""\n'
    )
    e = Event(1 / 3, "u", "check", "start", None, 1)
    assert events_csv([e], None).splitlines()[1] == "0.333333,u,check,start,,1"
    assert fmt_num(-0.0000001) == "0"
    assert iso(None, 3.0) is None


def test_vm_downtime_is_counted_once_per_vm() -> None:
    ws = [
        Window("vm:a", "vm", "u", "data", 0.0, 10.0, ""),
        Window("vm:a", "vm", "u", "data", 5.0, 15.0, ""),
        Window("vm:b", "vm", "u", "data", 15.0, 20.0, ""),
        Window("service:g", "service", "u", "data", 0.0, 99.0, ""),
    ]
    down = vm_down_intervals(ws)
    assert down == {"vm:a": [(0.0, 15.0)], "vm:b": [(15.0, 20.0)]}
    assert peak_concurrent([(0.0, 15.0), (15.0, 20.0)]) == (1, 0.0)
    assert peak_concurrent([(0.0, 15.0), (14.0, 20.0)]) == (2, 14.0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 5.0, 7.5, 10.0, 30.0]), st.floats(-5.0, 40.0)).map(
            lambda p: (p[0], p[0] + p[1])
        ),
        max_size=40,
    )
)
def test_peak_concurrent_is_the_sweep_of_starts_and_ends(spans: list[tuple[float, float]]) -> None:
    # The peak of VMs down is a running sum of +1 at each start and -1 at each end, ends first
    # at a tie (half-open intervals); the first minute it is reached is reported with it.
    best, at, now = 0, None, 0
    for t, delta in sorted(
        [(a, 1) for a, b in spans if b > a] + [(b, -1) for a, b in spans if b > a]
    ):
        now += delta
        if now > best:
            best, at = now, t
    assert peak_concurrent(spans) == (best, at)


MINUTES = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 59.99999, 60.0, 1e-7, 1440.5]),
    st.floats(-1e6, 1e7, allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(MINUTES, MINUTES), min_size=1, max_size=30),
    st.sampled_from(["UTC", "Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe"]),
)
def test_csv_clock_columns_are_each_minutes_own_text(
    spans: list[tuple[float, float]], zone_name: str
) -> None:
    # windows.csv and events.csv work a minute's texts out once per file (many windows share a
    # start): every row must still read exactly what formatting its own minutes gives, across
    # repeats, -0.0 and 0.0, and daylight-saving zones.
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    origin = datetime(2027, 3, 27, 23, 0, tzinfo=UTC)
    zone = ZoneInfo(zone_name)
    spans = spans + spans[::-1]  # every minute again, later in the file
    windows = [Window(f"vm:{i}", "vm", "u", "vm_down", a, b, "c") for i, (a, b) in enumerate(spans)]
    rows = list(csv.reader(io.StringIO(windows_csv(windows, origin, zone))))[1:]
    for w, row in zip(windows, rows, strict=True):
        assert row[4:11] == [
            fmt_num(w.start),
            fmt_num(w.end),
            fmt_num(w.end - w.start),
            iso(origin, w.start),
            iso(origin, w.end),
            local(origin, w.start, zone),
            local(origin, w.end, zone),
        ]
    events = [Event(a, "u", "prepare", "start", 1, 1) for a, _ in spans]
    rows = list(csv.reader(io.StringIO(events_csv(events, origin, zone))))[1:]
    for e, row in zip(events, rows, strict=True):
        assert row[:3] == [fmt_num(e.time), iso(origin, e.time), local(origin, e.time, zone)]
