"""Result records as DataFrames (``sim.windows_frame`` ...): the same as the files a run writes,
column for column, and the arithmetic of a deterministic run."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.experiments.comparison import (
    CSV_COLUMNS,
    alternatives_from,
    compare,
    write_compare_csv,
    write_compare_replications,
)
from sim.experiments.frames import COMPARISON_COLUMNS
from sim.experiments.replications import ReplicationRow
from sim.experiments.run import Experiment, run_experiment, run_scenario, write_experiment
from sim.model.scenario import Scenario, load_scenario
from sim.outputs.frames import EVENT_COLUMNS, UNIT_COLUMNS, WINDOW_COLUMNS
from sim.outputs.records import Event, Window

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"
SIX_DECIMALS = 5e-7  # the files round to six decimals


@pytest.fixture(scope="module")
def contoso() -> Scenario:
    return load_scenario(CONTOSO, ["plan.timezone=Europe/Amsterdam"])


@pytest.fixture(scope="module")
def written(contoso: Scenario, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Experiment]:
    """Contoso with 6 replications, written as ``migsim run --replications 6`` writes it."""
    experiment = run_experiment(contoso, 6, workers=1)
    out = tmp_path_factory.mktemp("frames") / "run"
    write_experiment(experiment, out)
    return out, experiment


def _same(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` holds what the CSV at ``path`` holds, column for column and row for row."""
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(frame.columns) == list(text.columns)
    assert len(frame) == len(text) > 0
    for name in text.columns:
        got, want = frame[name], text[name]
        if name.endswith("_utc"):
            assert (got == pd.to_datetime(want, utc=True)).all(), name
        elif name.endswith("_local"):  # ISO 8601 with the zone's offset of the day
            assert [t.isoformat() for t in got] == list(want), name
        elif pd.api.types.is_float_dtype(got):
            assert got.to_numpy() == pytest.approx(want.astype(float).to_numpy(), abs=SIX_DECIMALS)
        elif pd.api.types.is_bool_dtype(got):
            assert [str(v).lower() for v in got] == list(want), name
        else:  # strings, categoricals, (nullable) integers: the text the file wrote
            assert ["" if pd.isna(v) else str(v) for v in got] == list(want), name


def test_windows_and_events_frames_are_the_run_files(written: tuple[Path, Experiment]) -> None:
    out, experiment = written
    run = experiment.run
    windows, events = sim.windows_frame(run), sim.events_frame(run)
    _same(windows, out / "windows.csv")
    _same(events, out / "events.csv")
    assert len(windows) == len(run.replication.windows)
    assert len(events) == len(run.replication.events)
    assert windows["kind"].dtype == "category" and events["step"].dtype == "category"
    assert str(windows["start_utc"].dtype) == "datetime64[ns, UTC]"
    assert str(windows["start_local"].dtype) == "datetime64[ns, Europe/Amsterdam]"
    assert str(events["time_local"][0]) == "2026-12-05 23:00:00+01:00"  # 22:00 UTC in winter
    # a replication gives the same frame as the run holding it, given the plan's zone
    assert sim.windows_frame(run.replication, zone="Europe/Amsterdam").equals(windows)
    bare = sim.windows_frame(run.replication)
    assert bare.drop(columns=["start_local", "end_local"]).equals(
        windows.drop(columns=["start_local", "end_local"])
    )
    assert (bare.start_local == windows.start_local).all()  # the same instants, in UTC


def test_replications_frame_is_replications_csv(written: tuple[Path, Experiment]) -> None:
    out, experiment = written
    frame = sim.replications_frame(experiment)
    assert list(frame.columns) == ReplicationRow.columns()
    pd.testing.assert_frame_equal(frame, pd.read_csv(out / "replications.csv"), check_exact=True)
    assert sim.replications_frame(experiment.rows).equals(frame)
    assert frame["replication"].tolist() == list(range(6))
    assert frame["seed"].dtype == "int64" and frame["makespan_hours"].dtype == "float64"


def test_replications_and_comparison_frames_are_the_compare_files(
    contoso: Scenario, tmp_path: Path
) -> None:
    alternatives = alternatives_from(contoso, ["smallest_first", "largest_first"], ())
    comparison = compare(alternatives, 4, workers=1)
    frame = sim.comparison_frame(comparison)
    assert COMPARISON_COLUMNS == CSV_COLUMNS
    _same(frame, write_compare_csv(comparison, tmp_path / "compare.csv"))
    assert len(frame) == 2 * len(comparison.metrics)
    reps = sim.replications_frame(comparison)
    written = write_compare_replications(comparison, tmp_path / "compare-replications.csv")
    pd.testing.assert_frame_equal(
        reps.astype({"alternative": str}), pd.read_csv(written), check_dtype=False
    )
    assert list(reps["alternative"].cat.categories) == ["smallest_first", "largest_first"]
    # the table's mean is the mean of the rows it came from
    makespan = frame[(frame.metric == "makespan_hours")].set_index("alternative")["mean"]
    by_alt = reps.groupby("alternative", observed=True)["makespan_hours"].mean()
    assert makespan.to_dict() == pytest.approx(by_alt.to_dict(), rel=1e-12)


LEGACY = {
    "storage_accounts": [{"name": "st1"}],
    "cloud_services": [
        {
            "name": "legacy",
            "vms": [{"name": n, "os_disk": {"storage_account": "st1"}} for n in ("l1", "l2")],
        }
    ],
}


def test_deterministic_window_durations_add_up() -> None:
    # Two VMs outside a VNet, default durations at their central values, one unit at a time:
    # Validate 5 + 2 x 10 s; down from Stop to the end of Start: Stop 2 + Deallocate 2 +
    # Prepare (10 + 2 x 1) + Start 5 = 21 min; locked from Stop to the end of Commit: 21 +
    # Check 30 + Commit (5 + 2 x 20 s). It starts at 00:30 UTC on the night Amsterdam moves
    # its clocks from 02:00 to 03:00 (01:00 UTC).
    sc = Scenario.model_validate(
        {
            "name": "t",
            "estate": LEGACY,
            "plan": {
                "start": "2026-03-29T00:30:00Z",
                "timezone": "Europe/Amsterdam",
                "check": "30m",
                "crews": 1,
            },
        }
    )
    result = run_scenario(sc, deterministic=True)
    windows = sim.windows_frame(result)
    validate = 5 + 2 / 6
    down = 2 + 2 + 12 + 5
    lock = down + 30 + 5 + 2 / 3

    data = windows[windows.kind == "data"]
    assert sorted(data.resource) == ["vm:l1", "vm:l2"]
    assert data.duration_min.tolist() == pytest.approx([down, down])
    assert data.start_min.tolist() == pytest.approx([validate, validate])
    assert (data.start_utc == pd.Timestamp("2026-03-29T00:35:20Z")).all()
    assert (data.end_utc - data.start_utc == pd.Timedelta(minutes=down)).all()

    locked = windows[(windows.kind == "management") & (windows.unit == "legacy")]
    assert locked.duration_min.tolist() == pytest.approx([lock] * 3)  # the service and 2 VMs
    assert (locked.end_utc == pd.Timestamp("2026-03-29T01:32:00Z")).all()
    # across the change: 01:35:20 CET to 03:32:00 CEST on the wall, 56 min 40 s in fact
    assert {t.isoformat() for t in locked.start_local} == {"2026-03-29T01:35:20+01:00"}
    assert {t.isoformat() for t in locked.end_local} == {"2026-03-29T03:32:00+02:00"}
    assert (locked.end_local - locked.start_local == pd.Timedelta(minutes=lock)).all()
    hours = windows.groupby("kind", observed=True).duration_min.sum() / 60
    assert hours["data"] == pytest.approx(result.summary.vm_hours_down) == pytest.approx(0.7)
    assert hours["management"] == pytest.approx(result.summary.lock_resource_hours)

    units = sim.units_frame(result).set_index("unit")
    assert units.loc["legacy", "commit_end_min"] == pytest.approx(validate + lock)
    assert units.loc["st1", "first_start_min"] == pytest.approx(validate + lock)  # one crew
    assert units.loc["legacy", "commit_end_utc"] == pd.Timestamp("2026-03-29T01:32:00Z")
    assert units.loc["legacy", "commit_end_local"].isoformat() == "2026-03-29T03:32:00+02:00"
    assert list(units["status"]) == ["committed", "committed"]
    assert sim.units_frame(result.summary).equals(sim.units_frame(result))

    events = sim.events_frame(result)
    legacy = events[(events.unit == "legacy") & (events.outcome == "end")]
    assert legacy.step.tolist() == [
        "validate",
        "stop",
        "deallocate",
        "prepare",
        "start",
        "check",
        "commit",
    ]
    assert legacy.time_min.iloc[-1] == pytest.approx(validate + lock)


def test_units_not_run_have_no_times(contoso: Scenario) -> None:
    result = run_scenario(load_scenario(CONTOSO, ["plan.remediation=none"]))
    units = sim.units_frame(result).set_index("unit")
    blocked = units.loc["vnet-prod"]
    assert blocked["status"] == "not_migrated" and blocked["reason"]
    assert "MIG" in blocked["rules"]
    assert math.isnan(blocked["commit_end_min"]) and pd.isna(blocked["commit_end_utc"])


def test_empty_records_give_empty_frames_with_the_columns() -> None:
    for frame, columns in (
        (sim.windows_frame([]), WINDOW_COLUMNS),
        (sim.events_frame([]), EVENT_COLUMNS),
        (sim.units_frame([]), UNIT_COLUMNS),
    ):
        assert frame.empty and tuple(frame.columns) == columns
    empty = sim.replications_frame([])
    assert empty.empty and list(empty.columns) == ReplicationRow.columns()
    assert sim.windows_frame([]).kind.dtype == "category"
    assert str(sim.events_frame([]).time_utc.dtype) == "datetime64[ns, UTC]"


def test_records_without_a_clock_and_a_step_without_a_crew() -> None:
    windows = [Window("vm:a", "vm", "u", "data", 0.0, 12.5, "stop")]
    frame = sim.windows_frame(windows)
    assert frame.start_utc.isna().all() and frame.duration_min.tolist() == [12.5]
    origin = pd.Timestamp("2026-10-24T22:00:00Z").to_pydatetime()
    clocked = sim.windows_frame(windows, origin=origin)
    assert clocked.end_utc.tolist() == [pd.Timestamp("2026-10-24T22:12:30Z")]
    assert str(clocked.end_local.dtype) == "datetime64[ns, UTC]"  # no plan: UTC
    lisbon = sim.windows_frame(windows, origin=origin, zone="Europe/Lisbon")
    assert lisbon.end_local[0].isoformat() == "2026-10-24T23:12:30+01:00"
    events = sim.events_frame([Event(1.0, "u", "check", "start", None, 1)])
    assert events.crew.isna().tolist() == [True] and str(events.crew.dtype) == "Int64"
    with pytest.raises(TypeError, match="Window records"):
        sim.windows_frame([Event(1.0, "u", "check", "start", None, 1)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="windows_frame"):
        sim.windows_frame(3)  # type: ignore[arg-type]
