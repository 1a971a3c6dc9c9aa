"""The actuals of a migration night (``sim.model.actuals``): what is read from an events CSV, a
filled runbook (CSV and workbook) and a DataFrame, and every refusal with its file, row and
column (``docs/replan.md``)."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_properties import scenarios
from test_loader import shared_contoso

from sim.common.errors import InputError
from sim.engine.simulation import simulate
from sim.experiments.actuals import engine_steps, load_actuals
from sim.experiments.run import RunResult, run_scenario
from sim.experiments.runbook import build_runbook
from sim.model import rules
from sim.model.actuals import ActualEvent, StepRun, read_actuals
from sim.model.commands import step_label, step_of_label
from sim.model.scenario import Scenario, load_scenario
from sim.model.units import build_units
from sim.outputs.frames import events_frame
from sim.outputs.records import Event, events_csv
from sim.outputs.runbook import write_runbook

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"

HEADER = "time_utc,unit,step,outcome,attempt,crew\n"
# er-ams (no predecessor) from the start of contoso's plan, Sat 2026-12-05 22:00 UTC: Validate
# 22:00-22:05, Prepare 22:05-22:15, Check 22:15-22:45, Commit 22:45-22:50 (its deterministic run).
ER_AMS = [
    "2026-12-05T22:00:00Z,er-ams,validate,start,1,1",
    "2026-12-05T22:05:00Z,er-ams,validate,end,1,1",
    "2026-12-05T22:05:00Z,er-ams,prepare,start,1,1",
    "2026-12-05T22:15:00Z,er-ams,prepare,end,1,1",
    "2026-12-05T22:15:00Z,er-ams,check,start,1,",
    "2026-12-05T22:45:00Z,er-ams,check,end,1,",
    "2026-12-05T22:45:00Z,er-ams,commit,start,1,1",
    "2026-12-05T22:50:00Z,er-ams,commit,end,1,1",
]


@pytest.fixture(scope="module")
def contoso() -> Scenario:
    """The reference scenario: plan.start 2026-12-05T22:00:00Z, in UTC, two crews."""
    return load_scenario(shared_contoso())


@pytest.fixture(scope="module")
def contoso_run(contoso: Scenario) -> RunResult:
    return run_scenario(contoso, deterministic=True)


def write(tmp_path: Path, lines: list[str], header: str = HEADER, name: str = "a.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def refused(
    tmp_path: Path, scenario: Scenario, lines: list[str], header: str = HEADER
) -> InputError:
    path = write(tmp_path, lines, header)
    with pytest.raises(InputError) as caught:
        read_actuals(path, scenario)
    assert caught.value.file == str(path)
    return caught.value


def plain(events: Any) -> list[tuple[float, str, str, str, int | None, int]]:
    """Events (actual or the engine's) as comparable tuples, times to the six decimals
    ``events.csv`` writes."""
    return [(round(e.time, 6), e.unit, e.step, e.outcome, e.crew, e.attempt) for e in events]


# ---- good inputs -------------------------------------------------------------------------------


def test_an_events_file_in_utc(tmp_path: Path, contoso: Scenario) -> None:
    actuals = read_actuals(write(tmp_path, ER_AMS[:3]), contoso)
    assert actuals.events == (
        ActualEvent(0.0, "er-ams", "validate", "start", 1, 1),
        ActualEvent(5.0, "er-ams", "validate", "end", 1, 1),
        ActualEvent(5.0, "er-ams", "prepare", "start", 1, 1),
    )
    assert actuals.events[1].where == f"{tmp_path / 'a.csv'}:3"
    assert actuals.latest == 5.0
    assert actuals.source == str(tmp_path / "a.csv")


def test_local_times_are_read_in_the_plans_zone(tmp_path: Path) -> None:
    # Amsterdam is UTC+01:00 in December: 23:05 there is 22:05 UTC, 5 minutes after the start.
    scenario = load_scenario(shared_contoso(), ["plan.timezone=Europe/Amsterdam"])
    lines = [
        "2026-12-05T23:00:00,er-ams,validate,start,1,1",  # no offset: Amsterdam's
        "2026-12-05 23:05,er-ams,validate,end,1,1",
        "2026-12-05T23:05:00+01:00,er-ams,prepare,start,1,1",  # its own offset
    ]
    actuals = read_actuals(
        write(tmp_path, lines, "time_local,unit,step,outcome,attempt,crew\n"), scenario
    )
    assert [e.time for e in actuals.events] == [0.0, 5.0, 5.0]
    # a bare "time" column is read the same way
    actuals = read_actuals(
        write(tmp_path, lines, "time,unit,step,outcome,attempt,crew\n"), scenario
    )
    assert [e.time for e in actuals.events] == [0.0, 5.0, 5.0]


def test_minutes_from_the_start_need_no_clock(tmp_path: Path) -> None:
    scenario = load_scenario(CONTOSO, ["plan.start=null"])
    lines = ["0,er-ams,validate,start,1", "5.25,er-ams,validate,end,1"]
    actuals = read_actuals(write(tmp_path, lines, "time_min,unit,step,outcome,attempt\n"), scenario)
    assert [(e.time, e.crew) for e in actuals.events] == [(0.0, None), (5.25, None)]


def test_a_csv_saved_with_semicolons_and_units_by_kind_and_name(
    tmp_path: Path, contoso: Scenario
) -> None:
    # a spreadsheet in a locale whose decimal mark is a comma saves CSV with ";"
    lines = [
        "2026-12-05T22:00:00Z;expressroute_circuit:er-ams;Validate;start;1;1",
        "2026-12-05T22:05:00Z;er-ams;validate;END;1;1",
    ]
    actuals = read_actuals(write(tmp_path, lines, HEADER.replace(",", ";")), contoso)
    assert plain(actuals.events) == [
        (0.0, "er-ams", "validate", "start", 1, 1),
        (5.0, "er-ams", "validate", "end", 1, 1),
    ]


def test_a_runs_events_csv_reads_back_as_its_events(
    tmp_path: Path, contoso: Scenario, contoso_run: RunResult
) -> None:
    rep = contoso_run.replication
    path = tmp_path / "events.csv"
    path.write_text(events_csv(rep.events, rep.origin, contoso.plan.zone), encoding="utf-8")
    assert rep.events_of(outcome="fail")  # the run holds a failed Commit and its retry
    for actuals in (read_actuals(path, contoso), load_actuals(path, contoso)):
        assert plain(actuals.events) == plain(rep.events)
        assert actuals.committed == {
            o.unit: round(o.commit_end, 6) for o in rep.outcomes if o.commit_end is not None
        }
        assert actuals.latest == round(rep.makespan, 6)


def test_rows_in_any_order_read_the_same(
    tmp_path: Path, contoso: Scenario, contoso_run: RunResult
) -> None:
    rep = contoso_run.replication
    text = events_csv(rep.events, rep.origin, contoso.plan.zone)
    header, *rows = text.splitlines()
    random.Random(17).shuffle(rows)
    path = write(tmp_path, rows, header + "\n")
    actuals = read_actuals(path, contoso)
    assert sorted(plain(actuals.events)) == sorted(plain(rep.events))
    assert [e.time for e in actuals.events] == sorted(e.time for e in actuals.events)
    # each event names the row it came from, as shuffled
    first = actuals.events[0]
    line = int(first.where.rsplit(":", 1)[1])
    assert rows[line - 2].split(",")[3:6] == [first.unit, first.step, first.outcome]


def test_a_dataframe_of_a_runs_events(contoso: Scenario, contoso_run: RunResult) -> None:
    rep = contoso_run.replication
    frame = events_frame(contoso_run)
    actuals = load_actuals(frame, contoso)
    assert plain(actuals.events) == plain(rep.events)
    assert actuals.source == "DataFrame"
    assert actuals.events[3].where == "DataFrame row 3"


def test_a_dataframe_written_by_hand(contoso: Scenario) -> None:
    frame = pd.DataFrame(
        {
            "time_utc": pd.to_datetime(["2026-12-05T22:00:00Z", "2026-12-05T22:06:30Z"]),
            "unit": ["stlogs", "stlogs"],
            "step": ["validate", "validate"],
            "outcome": ["start", "fail"],
            "attempt": [1, 1],
        }
    )
    actuals = read_actuals(frame, contoso, name="tonight")
    assert plain(actuals.events) == [
        (0.0, "stlogs", "validate", "start", None, 1),
        (6.5, "stlogs", "validate", "fail", None, 1),
    ]
    assert actuals.source == "tonight"


def test_where_each_unit_stands(tmp_path: Path, contoso: Scenario, contoso_run: RunResult) -> None:
    rep = contoso_run.replication
    path = tmp_path / "events.csv"
    path.write_text(events_csv(rep.events, rep.origin, contoso.plan.zone), encoding="utf-8")
    actuals = load_actuals(path, contoso)
    # at minute 250 vnet-prod has run its four pre-steps and is validating (since 246.5)
    prod = actuals.unit("vnet-prod", 250.0)
    assert [r.step for r in prod.ended] == [
        "remediate:MIG018",
        "remediate:MIG021",
        "remediate:MIG012",
        "remediate:MIG013",
    ]
    assert prod.in_progress == (StepRun("vnet-prod", "validate", 1, 2, 246.5),)
    assert prod.began and not prod.committed and prod.failed == ()
    # nsg-orphan's first Commit failed at 100, the second ended at 110
    orphan = actuals.unit("nsg-orphan")
    assert orphan.failed == (StepRun("nsg-orphan", "commit", 1, 1, 95.0, 100.0, "fail"),)
    assert orphan.committed_at == 110.0 and orphan.attempts("commit") == 2
    assert not actuals.unit("stprodvhds", 300.0).began
    assert set(actuals.progress(60.0)) == {"er-ams", "stlogs", "nsg-orphan", "rip-spare"}
    assert actuals.until(50.0).committed == {"er-ams": 50.0, "stlogs": 50.0}
    assert actuals.until(50.0).latest == 50.0
    assert actuals.units[:2] == ("er-ams", "stlogs")
    assert len(actuals.runs) == sum(e.outcome == "start" for e in rep.events)


# ---- the runbook, filled by the crews ----------------------------------------------------------


@pytest.fixture(scope="module")
def contoso_book_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("book") / "runbook.xlsx"
    write_runbook(build_runbook(shared_contoso()), path)
    return path


def filled(path: Path, out: Path, cells: dict[tuple[str, int], dict[str, Any]]) -> Path:
    """``path`` with cells filled: (sheet, row) -> heading prefix -> value."""
    wb = openpyxl.load_workbook(path)
    for (sheet, row), values in cells.items():
        ws = wb[sheet]
        header = [str(c.value) for c in ws[1]]
        for prefix, value in values.items():
            col = next(i for i, h in enumerate(header, start=1) if h.startswith(prefix))
            ws.cell(row=row, column=col).value = value
    wb.save(out)
    return out


def test_the_runbook_has_empty_actual_columns(contoso_book_xlsx: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(contoso_book_xlsx)
    for ws in wb.worksheets[1:]:
        header = [c.value for c in ws[1]]
        at = header.index("Actual start (UTC)")
        assert header[at : at + 3] == ["Actual start (UTC)", "Actual end (UTC)", "Actual outcome"]
        assert all(
            row[at : at + 3] == (None, None, None)
            for row in ws.iter_rows(min_row=2, values_only=True)
        )
        rules_ = ws.data_validations.dataValidation
        assert [(v.formula1, str(v.sqref)) for v in rules_] == [('"end,fail"', "N2:N1048576")]
    csv_path = write_runbook(build_runbook(shared_contoso()), tmp_path / "r.csv")
    frame = pd.read_csv(csv_path)
    assert frame[["actual_start", "actual_end", "actual_outcome"]].isna().all().all()


def test_a_filled_workbook(contoso_book_xlsx: Path, tmp_path: Path, contoso: Scenario) -> None:
    # rows 2-4 of All steps: er-ams Validate, stlogs Validate, er-ams Prepare (planned 22:00, 22:00,
    # 22:05); a date-time cell, a time of day alone (dated by the row's planned start), text
    path = filled(
        contoso_book_xlsx,
        tmp_path / "filled.xlsx",
        {
            ("All steps", 2): {
                "Actual start": datetime(2026, 12, 5, 22, 0),
                "Actual end": time(22, 6),
            },
            ("All steps", 3): {"Actual start": "22:00", "Actual end": "2026-12-05 22:07:30"},
            ("All steps", 4): {"Actual start": "2026-12-05T22:06:00Z"},
            # the same row filled the same in its window's sheet counts once
            ("Window 1", 2): {
                "Actual start": datetime(2026, 12, 5, 22, 0),
                "Actual end": time(22, 6),
            },
        },
    )
    actuals = load_actuals(path, contoso)
    assert plain(actuals.events) == [
        (0.0, "er-ams", "validate", "start", 1, 1),
        (0.0, "stlogs", "validate", "start", 2, 1),
        (6.0, "er-ams", "validate", "end", 1, 1),
        (6.0, "er-ams", "prepare", "start", 1, 1),
        (7.5, "stlogs", "validate", "end", 2, 1),
    ]
    assert actuals.events[0].where == f"{path}:2 (sheet All steps)"


def test_a_failure_and_its_retry_in_the_runbook(
    contoso_book_xlsx: Path, tmp_path: Path, contoso: Scenario
) -> None:
    # stlogs: Validate row 3, Prepare row 5 fails; the crew copies the Prepare row below the
    # last one (row 200) for the retry, which ends.
    wb = openpyxl.load_workbook(contoso_book_xlsx)
    ws = wb["All steps"]
    prepare = [c.value for c in ws[5]]
    assert (prepare[3], prepare[5]) == ("stlogs", "Prepare")
    ws.append(prepare)
    last = ws.max_row
    wb.save(tmp_path / "copy.xlsx")
    path = filled(
        tmp_path / "copy.xlsx",
        tmp_path / "retry.xlsx",
        {
            ("All steps", 3): {"Actual start": "22:00", "Actual end": "22:05"},
            ("All steps", 5): {
                "Actual start": "22:05",
                "Actual end": "22:12",
                "Actual outcome": "fail",
            },
            ("All steps", last): {
                "Actual start": "22:17",
                "Actual end": "22:27",
                "Actual outcome": "end",
            },
        },
    )
    actuals = load_actuals(path, contoso)
    assert plain(actuals.events)[2:] == [
        (5.0, "stlogs", "prepare", "start", 2, 1),
        (12.0, "stlogs", "prepare", "fail", 2, 1),
        (17.0, "stlogs", "prepare", "start", 2, 2),
        (27.0, "stlogs", "prepare", "end", 2, 2),
    ]


def test_a_filled_csv_runbook(tmp_path: Path, contoso: Scenario) -> None:
    path = write_runbook(build_runbook(shared_contoso()), tmp_path / "r.csv")
    frame = pd.read_csv(path, dtype=str)
    frame.loc[0, ["actual_start", "actual_end"]] = ["2026-12-05T22:00:00Z", "22:05"]
    frame.loc[1, ["actual_start"]] = ["+0m"]  # a time from plan.start
    frame.to_csv(path, index=False)
    actuals = read_actuals(path, contoso)
    assert plain(actuals.events) == [
        (0.0, "er-ams", "validate", "start", 1, 1),
        (0.0, "stlogs", "validate", "start", 2, 1),
        (5.0, "er-ams", "validate", "end", 1, 1),
    ]
    assert actuals.events[1].where == f"{path}:3"
    # the same as a DataFrame (index labels name the rows)
    assert plain(read_actuals(frame, contoso).events) == plain(actuals.events)


def test_step_labels_read_back_as_the_engines_names(contoso_run: RunResult) -> None:
    steps = {e.step for e in contoso_run.replication.events}
    assert "restore:MIG014:vnet-prod+vnet-shared" in steps
    for step in steps:
        assert step_of_label(step_label(step)) == step
    assert step_of_label("commit ") == "commit"
    assert step_of_label("Remediate") is None


# ---- the engine's own runs are valid actuals ---------------------------------------------------

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(sc: Scenario) -> list[Event]:
    units = build_units(sc.estate, sc.plan)
    rep = simulate(sc.estate, units, sc.plan, rules.check(sc.estate, units, sc.plan))
    # "not_migrated" is the engine's conclusion, not an event a crew records
    return [e for e in rep.events if e.outcome != "not_migrated"]


@PROPERTY
@given(scenarios(), st.floats(0.0, 1.0))
def test_any_prefix_of_a_run_is_valid_actuals(sc: Scenario, share: float) -> None:
    events = _run(sc)
    steps = engine_steps(sc)
    assert {e.step for e in events if e.step not in steps[e.unit]} == set()
    cut = round(share * len(events))
    actuals = load_actuals(events_frame(events[:cut]), sc)
    assert plain(actuals.events) == plain(events[:cut])
    if events:
        at = events[cut - 1].time if cut else -1.0
        whole = load_actuals(events_frame(events), sc)
        assert plain(whole.until(at).events) == plain(e for e in events if e.time <= at)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.sampled_from(["just_in_time", "prepare_ahead"]))
def test_runs_of_every_rule_are_valid_actuals(seed: int, dispatch: str) -> None:
    # kitchen-sink fires every rule (MIG020's cycles, MIG022's groups, peerings...) with
    # failures at every step
    sc = load_scenario(
        ROOT / "scenarios" / "kitchen-sink.yaml",
        [
            "plan.ordering=smallest_first",
            f"plan.seed={seed}",
            f"plan.dispatch={dispatch}",
            "plan.failures.prepare=0.4",
            "plan.failures.check=0.3",
            "plan.failures.commit=0.3",
            "plan.failures.validate=0.2",
        ],
    )
    events = _run(sc)
    assert plain(load_actuals(events_frame(events), sc).events) == plain(events)


# ---- bad values: one message naming the file, the row and the column ---------------------------

ROW = "2026-12-05T22:00:00Z,er-ams,validate,start,1,1"


@pytest.mark.parametrize(
    ("row", "column", "gist"),
    [
        (
            "2026-12-05T22:00:00Z,er-amss,validate,start,1,1",
            "unit",
            "unknown unit 'er-amss' (did you mean 'er-ams'?); expected one of: er-ams, "
            "vnet-shared,",
        ),
        ("2026-12-05T22:00:00Z,,validate,start,1,1", "unit", "empty; expected a unit"),
        (
            "2026-12-05T22:00:00Z,er-ams,comit,start,1,1",
            "step",
            "unknown step 'comit' (did you mean 'commit'?); expected one of: validate, stop",
        ),
        ("2026-12-05T22:00:00Z,er-ams,unit,start,1,1", "step", "the simulator's conclusion"),
        (
            "2026-12-05T22:00:00Z,er-ams,remediate:MIG099,start,1,1",
            "step",
            "unknown step 'remediate:MIG099'",
        ),
        (
            "2026-12-05T22:00:00Z,er-ams,stop,start,1,1",
            "step",
            "'stop' is not a step of unit er-ams: it has no VMs",
        ),
        (
            "2026-12-05T22:00:00Z,er-ams,validate,begin,1,1",
            "outcome",
            "expected start, end or fail, got 'begin'",
        ),
        ("2026-12-05T22:00:00Z,er-ams,unit,not_migrated,1,1", "step", "the simulator's conclusion"),
        (
            "2026-12-05T22:00:00Z,er-ams,validate,not_migrated,1,1",
            "outcome",
            "not_migrated is the simulator's conclusion",
        ),
        (
            "2026-12-05T22:00:00Z,er-ams,validate,start,0,1",
            "attempt",
            "expected the attempt, a whole number from 1 to 5 (plan.failures.max_attempts), got "
            "'0'",
        ),
        ("2026-12-05T22:00:00Z,er-ams,validate,start,6,1", "attempt", "from 1 to 5"),
        ("2026-12-05T22:00:00Z,er-ams,validate,start,1.5,1", "attempt", "got '1.5'"),
        (
            "2026-12-05T22:00:00Z,er-ams,validate,start,1,3",
            "crew",
            "expected a crew from 1 to 2 (plan.crews), or empty",
        ),
        ("2026-12-05T22:00:00Z,er-ams,validate,start,1,0", "crew", "got '0'"),
        ("2026-12-05T22:00:00Z,er-ams,validate,start,1,two", "crew", "got 'two'"),
        (
            "Saturday 22:00,er-ams,validate,start,1,1",
            "time_utc",
            "expected a date and time such as 2026-12-05T22:05:00Z",
        ),
        ("22:00,er-ams,validate,start,1,1", "time_utc", "a time of day without a date (22:00:00)"),
        ("2026-12-05,er-ams,validate,start,1,1", "time_utc", "expected a date and time"),
        (
            "2026-12-05T21:59:00Z,er-ams,validate,start,1,1",
            "time_utc",
            "Sat 2026-12-05 21:59 UTC is before plan.start (Sat 2026-12-05 22:00 UTC); expected a "
            "time at or after it",
        ),
        (
            "2027-12-06T22:00:00Z,er-ams,validate,start,1,1",
            "time_utc",
            "is after plan.horizon (365d from the start)",
        ),
        (
            ",er-ams,validate,start,1,1",
            "time_utc",
            "no time; expected the time of the event in time_utc",
        ),
    ],
)
def test_a_bad_value_is_refused_at_its_row_and_column(
    tmp_path: Path, contoso: Scenario, row: str, column: str, gist: str
) -> None:
    exc = refused(tmp_path, contoso, [ROW, row])
    assert (exc.line, exc.loc) == (3, (column,))
    assert gist in exc.message


def test_a_bad_row_of_a_dataframe_is_named_by_its_index_label(contoso: Scenario) -> None:
    frame = pd.DataFrame(
        {
            "time_min": [0.0, 5.0, 5.0],
            "unit": ["er-ams", "er-ams", "er-amz"],
            "step": ["validate", "validate", "prepare"],
            "outcome": ["start", "end", "start"],
            "attempt": [1, 1, 1],
        },
        index=[10, 11, 12],
    )
    with pytest.raises(InputError) as caught:
        read_actuals(frame, contoso)
    exc = caught.value
    assert (exc.file, exc.line, exc.loc) == ("DataFrame", None, (12, "unit"))
    assert str(exc).startswith(
        "DataFrame: [12].unit: unknown unit 'er-amz' (did you mean 'er-ams'?)"
    )


def test_times_in_two_columns_must_agree(tmp_path: Path, contoso: Scenario) -> None:
    header = "time_min,time_utc,unit,step,outcome,attempt\n"
    ok = read_actuals(
        write(tmp_path, ["5,2026-12-05T22:05:00Z,er-ams,validate,start,1"], header), contoso
    )
    assert ok.events[0].time == 5.0
    exc = refused(tmp_path, contoso, ["5,2026-12-05T22:15:00Z,er-ams,validate,start,1"], header)
    assert (exc.line, exc.loc) == (2, ("time_min",))
    assert exc.message == (
        "Sat 2026-12-05 22:05 UTC disagrees with time_utc (Sat 2026-12-05 22:15 UTC) by 10m;"
        " expected one time, or times that agree"
    )


def test_a_clock_time_needs_plan_start(tmp_path: Path) -> None:
    scenario = load_scenario(CONTOSO, ["plan.start=null"])
    exc = refused(tmp_path, scenario, [ROW])
    assert (exc.line, exc.loc) == (2, ("time_utc",))
    assert (
        "needs plan.start in the scenario; expected time_min (minutes from the start)"
        in exc.message
    )


@pytest.mark.parametrize(
    ("local", "gist"),
    [
        (
            "2026-10-25T02:30:00",
            "happens twice in Europe/Amsterdam (the clocks go back then); expected it with its "
            "offset: 2026-10-25T02:30:00+02:00 or 2026-10-25T02:30:00+01:00",
        ),
        ("2027-03-28T02:30:00", "does not happen in Europe/Amsterdam (the clocks go forward then)"),
    ],
)
def test_a_local_time_a_clock_change_makes_unclear_is_refused(
    tmp_path: Path, local: str, gist: str
) -> None:
    scenario = load_scenario(
        CONTOSO, ["plan.timezone=Europe/Amsterdam", "plan.start=2026-10-24T22:00:00"]
    )
    exc = refused(
        tmp_path,
        scenario,
        [f"{local},er-ams,validate,start,1"],
        "time_local,unit,step,outcome,attempt\n",
    )
    assert (exc.line, exc.loc) == (2, ("time_local",))
    assert gist in exc.message
    # with its offset it is clear
    read_actuals(
        write(
            tmp_path,
            [f"{local}+01:00,er-ams,validate,start,1"],
            "time_local,unit,step,outcome,attempt\n",
        ),
        scenario,
    )


def test_a_step_the_engine_never_runs_for_the_unit(tmp_path: Path, contoso: Scenario) -> None:
    # stlogs has no pre-step: the plain reader takes the rule's step, the engine's does not
    path = write(tmp_path, ["2026-12-05T22:00:00Z,stlogs,remediate:MIG013,start,1,1"])
    assert read_actuals(path, contoso).events[0].step == "remediate:MIG013"
    with pytest.raises(InputError) as caught:
        load_actuals(path, contoso)
    assert (caught.value.line, caught.value.loc) == (2, ("step",))
    assert caught.value.message == (
        "'remediate:MIG013' is not a step of unit stlogs in this scenario; its steps: validate,"
        " prepare, check, commit, abort"
    )


@pytest.mark.parametrize(
    ("header", "lines", "line", "loc", "gist"),
    [
        (
            "unit,step,outcome,attempt\n",
            [],
            1,
            (),
            "has no column one of time_utc, time_local, time, time_min",
        ),
        (
            "time_utc,unit,step,outcome\n",
            [],
            1,
            (),
            "has no column attempt; expected the columns of events.csv",
        ),
        (
            "time_utc,unit,Unit,step,outcome,attempt\n",
            [],
            1,
            ("Unit",),
            "two columns named 'unit' and 'Unit'",
        ),
        (HEADER, [ROW + ",x"], 2, (), "has 7 fields where the header has 6"),
        (HEADER, ['"2026-12-05T22:00:00Z,er-ams'], 2, (), "is not CSV"),
        ("", [], None, (), "is empty; expected a header row"),
    ],
)
def test_a_file_that_is_not_an_events_table(
    tmp_path: Path,
    contoso: Scenario,
    header: str,
    lines: list[str],
    line: int | None,
    loc: tuple[str, ...],
    gist: str,
) -> None:
    exc = refused(tmp_path, contoso, lines, header)
    assert (exc.line, exc.loc) == (line, loc)
    assert gist in exc.message


def test_a_file_that_is_not_there_or_not_actuals(
    tmp_path: Path, contoso: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError, match="file not found; expected an actuals file"):
        read_actuals(tmp_path / "missing.csv", contoso)
    (tmp_path / "a.xls").write_bytes(b"x")
    with pytest.raises(InputError, match=r"expected a \.csv file .* got '\.xls'"):
        read_actuals(tmp_path / "a.xls", contoso)
    (tmp_path / "a.xlsx").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="is not a workbook"):
        read_actuals(tmp_path / "a.xlsx", contoso)
    # a zip bomb: refused from the sizes its entries declare, before anything is unpacked
    # (the limit lowered to 1 MiB here; 512 MiB in use)
    monkeypatch.setattr("sim.model.actuals.MAX_WORKBOOK_UNPACKED", 2**20)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/big.xml", b"\0" * (2 * 2**20))
    (tmp_path / "bomb.xlsx").write_bytes(bomb.getvalue())
    with pytest.raises(InputError, match="unpacks to more than 1 MiB"):
        read_actuals(tmp_path / "bomb.xlsx", contoso)
    wb = openpyxl.Workbook()
    wb.active.append(["unit", "step"])  # type: ignore[union-attr]
    wb.save(tmp_path / "other.xlsx")
    with pytest.raises(InputError, match="has no sheet with a runbook's columns"):
        read_actuals(tmp_path / "other.xlsx", contoso)


# ---- contradictions of the platform's order ----------------------------------------------------

START = "Sat 2026-12-05"


@pytest.mark.parametrize(
    ("lines", "line", "gist"),
    [
        # an end with no start, and one before its start
        (
            [ER_AMS[1]],
            2,
            f"er-ams Validate (attempt 1) ends at {START} 22:05 UTC but never started; expected "
            "its start",
        ),
        (
            [ER_AMS[1], ER_AMS[0].replace("22:00", "22:07")],
            2,
            f"ends at {START} 22:05 UTC, before it starts at {START} 22:07 UTC (row 3)",
        ),
        # a second start of one attempt; a second end
        (
            [ER_AMS[0], ER_AMS[0].replace("22:00", "22:01")],
            3,
            "a second start of that attempt (the first at Sat 2026-12-05 22:00 UTC, row 2)",
        ),
        (
            [*ER_AMS[:2], ER_AMS[1].replace("22:05", "22:06")],
            4,
            "but it ended already at Sat 2026-12-05 22:05 UTC (row 3)",
        ),
        # Prepare before its Validate ended (while it runs), and without one
        (
            [ER_AMS[0], ER_AMS[2].replace("22:05", "22:03")],
            3,
            "er-ams Prepare (attempt 1) starts at Sat 2026-12-05 22:03 UTC while its Validate "
            "(attempt 1) is in progress",
        ),
        (
            [ER_AMS[2]],
            2,
            "er-ams Prepare (attempt 1) starts at Sat 2026-12-05 22:05 UTC before its Validate "
            "ended",
        ),
        # a Check or Commit of an attempt whose Prepare did not end
        (
            [*ER_AMS[:3], ER_AMS[3].replace("end", "fail"), ER_AMS[4]],
            6,
            "er-ams Check (attempt 1) starts at Sat 2026-12-05 22:15 UTC after Prepare (attempt "
            "1) failed",
        ),
        (
            [*ER_AMS[:4], ER_AMS[6].replace("22:45", "22:20")],
            6,
            "er-ams Commit (attempt 1) starts at Sat 2026-12-05 22:20 UTC before the Check of "
            "Prepare attempt 1 ended",
        ),
        (
            [*ER_AMS[:2], ER_AMS[6]],
            4,
            "er-ams Commit (attempt 1) starts at Sat 2026-12-05 22:45 UTC before Prepare ended",
        ),
        # an attempt without a failed one before it
        (
            [*ER_AMS[:3], ER_AMS[3], "2026-12-05T22:16:00Z,er-ams,prepare,start,2,1"],
            6,
            "without a failed Prepare (attempt 1), a Check that found a problem or an Abort before",
        ),
        # a step that cannot fail
        (
            [
                *ER_AMS[:4],
                "2026-12-05T22:15:00Z,er-ams,abort,start,1,1",
                "2026-12-05T22:20:00Z,er-ams,abort,fail,1,1",
            ],
            7,
            "Abort cannot fail in the model (only Validate, Prepare, Check and Commit do)",
        ),
        # an Abort once Commit began; a step after Commit ended
        (
            [
                *ER_AMS[:7],
                "2026-12-05T22:47:00Z,er-ams,commit,fail,1,1",
                "2026-12-05T22:48:00Z,er-ams,abort,start,1,1",
            ],
            10,
            "after Commit began; expected no Abort once a Commit began",
        ),
        (
            [*ER_AMS, "2026-12-05T23:00:00Z,er-ams,validate,start,2,1"],
            10,
            "after its Commit ended at Sat 2026-12-05 22:50 UTC; expected only Start and restores "
            "after a unit's Commit",
        ),
        # a unit before a must-precede predecessor committed
        (
            ["2026-12-05T22:00:00Z,vnet-shared,validate,start,1,1"],
            2,
            "vnet-shared Validate (attempt 1) starts at Sat 2026-12-05 22:00 UTC, before er-ams "
            "committed: er-ams must precede it (gateway gw-shared links to ExpressRoute circuit "
            "er-ams: the circuit moves first) and er-ams has not committed",
        ),
        (
            [
                *ER_AMS,
                "2026-12-05T22:49:00Z,vnet-shared,remediate:MIG014:vnet-prod+vnet-shared,start,1,1",
            ],
            10,
            "and er-ams's Commit ends later, at Sat 2026-12-05 22:50 UTC (row 9)",
        ),
    ],
)
def test_an_event_against_the_platforms_order_is_refused(
    tmp_path: Path, contoso: Scenario, lines: list[str], line: int, gist: str
) -> None:
    exc = refused(tmp_path, contoso, lines)
    assert (exc.line, exc.loc) == (line, ("time_utc",))
    assert gist in exc.message


def test_a_predecessor_committing_at_the_same_minute_is_in_time(
    tmp_path: Path, contoso: Scenario
) -> None:
    # written before the Commit's end, at the same minute: the order the platform allows
    start = "2026-12-05T22:50:00Z,vnet-shared,validate,start,1,2"
    actuals = read_actuals(write(tmp_path, [*ER_AMS[:7], start, ER_AMS[7]]), contoso)
    assert [e.step for e in actuals.events][-2:] == ["commit", "validate"]
    # restores may run for a unit that never began (a peering undone for a unit left behind)
    restore = "2026-12-05T22:10:00Z,vnet-shared,restore:MIG014:vnet-prod+vnet-shared,start,1,2"
    assert load_actuals(write(tmp_path, [restore]), contoso).events[0].unit == "vnet-shared"


# ---- a runbook filled wrongly ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "column", "gist"),
    [
        (
            {"Actual start": "22:00", "Actual outcome": "failed"},
            "Actual outcome",
            "expected end, fail or empty (ended), got 'failed'",
        ),
        (
            {"Actual start": "22:00", "Actual outcome": "fail"},
            "Actual outcome",
            "fail without an actual end; expected the actual end too",
        ),
        (
            {"Actual end": "22:05"},
            "Actual end (UTC)",
            "filled without an actual start; expected the actual start too",
        ),
        ({"Actual start": "soon"}, "Actual start (UTC)", "expected a date and time such as"),
        ({"Actual start": 22.5}, "Actual start (UTC)", "got 22.5"),
        (
            {"Actual start": "22:05", "Actual end": "22:01"},
            "Actual end (UTC)",
            "ends at Sat 2026-12-05 22:01 UTC, before it starts at Sat 2026-12-05 22:05 UTC",
        ),
    ],
)
def test_a_runbook_filled_wrongly_is_refused(
    contoso_book_xlsx: Path,
    tmp_path: Path,
    contoso: Scenario,
    cells: dict[str, Any],
    column: str,
    gist: str,
) -> None:
    path = filled(contoso_book_xlsx, tmp_path / "bad.xlsx", {("All steps", 2): cells})
    with pytest.raises(InputError) as caught:
        read_actuals(path, contoso)
    exc = caught.value
    assert (exc.file, exc.line, exc.loc) == (str(path), 2, ("All steps", column))
    assert gist in exc.message


def test_a_step_filled_differently_in_two_sheets(
    contoso_book_xlsx: Path, tmp_path: Path, contoso: Scenario
) -> None:
    path = filled(
        contoso_book_xlsx,
        tmp_path / "two.xlsx",
        {
            ("All steps", 2): {"Actual start": "22:00"},
            ("Window 1", 2): {"Actual start": "22:01"},
        },
    )
    with pytest.raises(InputError) as caught:
        read_actuals(path, contoso)
    exc = caught.value
    assert (exc.line, exc.loc) == (2, ("Window 1", "Actual start (UTC)"))
    assert exc.message.startswith(
        "er-ams Validate is filled differently here and in row 2 of sheet All steps"
    )


def test_a_stop_marked_failed_in_the_runbook(tmp_path: Path, contoso: Scenario) -> None:
    path = write_runbook(build_runbook(shared_contoso()), tmp_path / "r.csv")
    frame = pd.read_csv(path, dtype=str)
    stop = frame.index[(frame.unit == "cs-legacy") & (frame.step_id == "stop")][0]
    frame.loc[stop, ["actual_start", "actual_end", "actual_outcome"]] = ["23:55", "23:57", "fail"]
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as caught:
        read_actuals(path, contoso)
    assert (caught.value.line, caught.value.loc) == (stop + 2, ("actual_outcome",))
    assert "Stop cannot fail in the model" in caught.value.message
