"""The runbook (``migsim runbook``): the workbook and the calendar read back with openpyxl and
icalendar, as a planner and a crew would open them."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from icalendar import Calendar

from sim.common.errors import InputError
from sim.experiments.run import run_experiment, write_experiment
from sim.experiments.runbook import build_runbook, plan_run
from sim.model.scenario import load_scenario
from sim.outputs.runbook import Runbook, runbook_bytes, write_runbook

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"

# Three storage accounts, one crew, one 8-hour window on Saturdays at 22:00 in Amsterdam: a
# 5-hour Prepare lets one account into each window, so the plan runs on Oct 17, Oct 24 (the
# night the clocks go back, Oct 25 03:00 CEST -> 02:00 CET) and Oct 31.
DST_SCENARIO = """
name: dst-weekends
estate:
  storage_accounts: [{name: sta}, {name: stb}, {name: stc}]
plan:
  timezone: Europe/Amsterdam
  start: 2026-10-17T22:00:00
  crews: 1
  maintenance_windows:
    - {every: saturday, at: "22:00", for: 8h}
  durations:
    prepare: 5h
"""


def migsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def step_rows(path: Path, sheet: str = "All steps") -> list[dict[str, Any]]:
    ws = openpyxl.load_workbook(path)[sheet]
    rows = list(ws.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


@pytest.fixture(scope="module")
def contoso_book() -> Runbook:
    return build_runbook(CONTOSO)


@pytest.fixture(scope="module")
def contoso_xlsx(tmp_path_factory: pytest.TempPathFactory, contoso_book: Runbook) -> Path:
    return write_runbook(contoso_book, tmp_path_factory.mktemp("book") / "runbook.xlsx")


def elapsed(a: datetime, b: datetime) -> timedelta:
    return b.astimezone(UTC) - a.astimezone(UTC)


def by_step(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["Unit"], r["Step"]): r for r in rows}


def test_one_row_per_step_of_the_deterministic_plan_in_planned_order(contoso_xlsx: Path) -> None:
    run = plan_run(load_scenario(CONTOSO))
    starts = [e for e in run.replication.events if e.outcome == "start"]
    rows = step_rows(contoso_xlsx)
    assert len(rows) == len(starts) == 53
    assert [r["#"] for r in rows] == list(range(1, len(rows) + 1))
    assert [r["Unit"] for r in rows] == [e.unit for e in starts]
    # the plan draws no failure: every unit validates, prepares and commits once
    commits = [r["Unit"] for r in rows if r["Step"] == "Commit"]
    assert sorted(commits) == sorted(u.id for u in run.units.units)
    header = next(openpyxl.load_workbook(contoso_xlsx)["All steps"].iter_rows(values_only=True))
    assert len(set(header)) == len(header)  # no two columns of one name, also in UTC
    times = [r["Start UTC (sorts exactly)"] for r in rows]
    assert times == sorted(times)
    assert times[0] == datetime(2026, 12, 5, 22, 0)
    # the plan's last step ends at the planned finish
    assert max(r["End (UTC)"] for r in rows) == datetime(2026, 12, 5, 22) + timedelta(
        minutes=run.summary.makespan_minutes
    )


def test_workbook_layout(contoso_xlsx: Path) -> None:
    wb = openpyxl.load_workbook(contoso_xlsx)
    assert wb.sheetnames == ["Summary", "All steps", "Window 1"]
    for name in ("All steps", "Window 1"):
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        assert ws["A1"].font.b
        assert ws.column_dimensions["G"].width >= 60  # the command
        assert ws.auto_filter.ref
    assert len(step_rows(contoso_xlsx, "Window 1")) == len(step_rows(contoso_xlsx))
    summary = dict(wb["Summary"].iter_rows(values_only=True))
    assert summary["Runbook"] == "contoso-weu"
    assert summary["Crews"] == "2"
    assert summary["Window 1"].startswith("Sat 2026-12-05 22:00 to Sun 06:00 UTC: 53 steps")


def test_commands_per_unit_kind(contoso_xlsx: Path) -> None:
    rows = by_step(step_rows(contoso_xlsx))

    def command(unit: str, step: str) -> str:
        return str(rows[(unit, step)]["Command or action"])

    assert command("vnet-prod", "Prepare") == (
        "Move-AzureVirtualNetwork -Prepare -VirtualNetworkName vnet-prod"
    )
    assert command("vnet-prod", "Validate") == (
        "(Move-AzureVirtualNetwork -Validate -VirtualNetworkName vnet-prod).ValidationMessages"
    )
    deployment = "-DeploymentName (Get-AzureDeployment -ServiceName cs-legacy).DeploymentName"
    assert command("cs-legacy", "Prepare") == (
        f"Move-AzureService -Prepare -ServiceName cs-legacy {deployment} -CreateNewVirtualNetwork"
    )
    assert command("cs-legacy", "Commit") == (
        f"Move-AzureService -Commit -ServiceName cs-legacy {deployment}"
    )
    assert command("cs-legacy", "Stop").startswith("No command: the platform stops")
    assert command("stprodvhds", "Commit") == (
        "Move-AzureStorageAccount -Commit -StorageAccountName stprodvhds"
    )
    assert command("nsg-orphan", "Commit") == (
        "Move-AzureNetworkSecurityGroup -Commit -NetworkSecurityGroupName nsg-orphan"
    )
    assert (
        command("rip-spare", "Prepare") == "Move-AzureReservedIP -Prepare -ReservedIPName rip-spare"
    )
    # an ExpressRoute circuit moves in one documented command, with no Validate switch
    assert command("er-ams", "Commit").startswith(
        "Move-AzExpressRouteCircuit -Name er-ams -ResourceGroupName $ResourceGroupName"
        " -Location 'West Europe' -ServiceKey $ServiceKey"
    )
    assert command("er-ams", "Validate").startswith("No Validate command is documented")
    # remediation steps carry the action and the rule's remediation text
    mig012 = command("vnet-prod", "Remediate MIG012")
    assert "endpoint ACLs removed (vm: web-01)" in mig012
    assert "Remove the ACLs before, re-create them as NSG rules after" in mig012
    assert "re-created as NSG rules" in command("vnet-prod", "Restore MIG012")

    def rollback(unit: str, step: str) -> str:
        return str(rows[(unit, step)]["Rollback"])

    assert rollback("vnet-prod", "Prepare") == (
        "Until Commit: Move-AzureVirtualNetwork -Abort -VirtualNetworkName vnet-prod undoes"
        " Prepare; after Commit there is no rollback"
    )
    assert rollback("vnet-prod", "Commit").startswith("No rollback")
    assert rollback("vnet-prod", "Validate") == "Read-only: nothing to undo"


def test_lock_and_downtime_each_step_opens(contoso_xlsx: Path) -> None:
    rows = by_step(step_rows(contoso_xlsx))
    prepare = rows[("vnet-prod", "Prepare")]
    commit = rows[("vnet-prod", "Commit")]
    lock = str(prepare["Management lock opened"])
    assert lock.startswith(
        "management lock: availability_set: as-web; cloud_service: cs-sql, cs-web"
    )
    assert "; vm: sql-01, web-01, web-02; vnet: vnet-prod until" in lock
    # the lock lasts from Prepare's start to Commit's end
    minutes = (commit["End (UTC)"] - prepare["Start (UTC)"]).total_seconds() / 60
    assert lock.endswith(f"until Sun 2026-12-06 03:01 UTC ({int(minutes)}m)")
    assert minutes == 49
    # the platform stops cs-legacy's VMs: that downtime opens at Stop
    stop = str(rows[("cs-legacy", "Stop")]["Downtime opened"])
    assert stop.startswith("data plane down: vm: legacy-01, legacy-02 until")
    # a pre-step opens its rule's window; the post-step closes it
    acl = str(rows[("vnet-prod", "Remediate MIG012")]["Downtime opened"])
    restore = rows[("vnet-prod", "Restore MIG012")]
    assert acl.startswith("exposed (endpoint ACLs off): vm: web-01 until Sun 2026-12-06 03:38")
    assert restore["End (UTC)"] == datetime(2026, 12, 6, 3, 38)
    assert rows[("vnet-prod", "Validate")]["Downtime opened"] is None


def test_existing_vnet_target_for_cloud_services_not_in_a_vnet() -> None:
    book = build_runbook(CONTOSO, existing_vnet="rg-net/vnet-arm/apps")
    prepare = next(s for s in book.steps if s.unit == "cs-legacy" and s.step == "prepare")
    assert prepare.command.endswith(
        "-UseExistingVirtualNetwork -VirtualNetworkResourceGroupName rg-net"
        " -VirtualNetworkName vnet-arm -SubnetName apps"
    )
    with pytest.raises(InputError, match="expected GROUP/VNET/SUBNET"):
        build_runbook(CONTOSO, existing_vnet="just-a-name")


def test_clock_times_keep_their_local_start_across_the_october_change(tmp_path: Path) -> None:
    scenario = tmp_path / "dst.yaml"
    scenario.write_text(DST_SCENARIO)
    book = build_runbook(scenario)
    xlsx = write_runbook(book, tmp_path / "dst.xlsx")
    ics = write_runbook(book, tmp_path / "dst.ics")

    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["Summary", "All steps", "Window 1", "Window 2", "Window 3"]
    firsts = []
    for k in (1, 2, 3):
        ws = wb[f"Window {k}"]
        header = [c.value for c in ws[1]]
        assert header[7] == "Start (Europe/Amsterdam)"
        utc = header.index("Start UTC (sorts exactly)") + 1
        firsts.append((ws.cell(row=2, column=8), ws.cell(row=2, column=utc)))
    local = [c.value for c, _ in firsts]
    assert local == [datetime(2026, 10, d, 22, 0) for d in (17, 24, 31)]
    assert [c.value.hour for _, c in firsts] == [20, 20, 21]  # UTC: the offset changed
    assert [c.number_format for c, _ in firsts] == [
        'ddd yyyy-mm-dd hh:mm "CEST (UTC+02:00)"',
        'ddd yyyy-mm-dd hh:mm "CEST (UTC+02:00)"',
        'ddd yyyy-mm-dd hh:mm "CET (UTC+01:00)"',
    ]

    cal = Calendar.from_ical(ics.read_bytes())
    events = list(cal.walk("VEVENT"))
    windows = [e for e in events if "maintenance window" in str(e["SUMMARY"])]
    blocks = [e for e in events if "maintenance window" not in str(e["SUMMARY"])]
    assert len(windows) == 3 and len(blocks) == 3
    zone_ids = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    assert zone_ids == {"Europe/Amsterdam"}
    for ev, day, offset in zip(windows, (17, 24, 31), (2, 2, 1), strict=True):
        start = ev.decoded("DTSTART")
        assert (start.day, start.hour, start.minute) == (day, 22, 0)
        assert start.utcoffset() == timedelta(hours=offset)
        assert ev["DTSTART"].params["TZID"] == "Europe/Amsterdam"
        # the window lasts 8 hours of elapsed time, also the night the clocks go back
        # (aware datetimes of one zone subtract as wall-clock times: compare in UTC)
        assert elapsed(start, ev.decoded("DTEND")) == timedelta(hours=8)
    for ev, day in zip(blocks, (17, 24, 31), strict=True):
        start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
        assert (start.day, start.hour, start.minute) == (day, 22, 0)
        assert elapsed(start, end) == timedelta(minutes=5 + 300 + 5)  # Validate, Prepare, Commit
        assert "Move-AzureStorageAccount -Commit -StorageAccountName" in str(ev["DESCRIPTION"])


def test_same_input_same_bytes(tmp_path: Path, contoso_book: Runbook) -> None:
    again = build_runbook(CONTOSO)
    for suffix in (".xlsx", ".csv", ".ics"):
        assert runbook_bytes(contoso_book, suffix) == runbook_bytes(again, suffix), suffix
    # the workbook's dates are the plan's start, not the wall clock
    data = runbook_bytes(contoso_book, ".xlsx")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 12, 5, 22, 0, 0)}
    path = tmp_path / "r.xlsx"
    path.write_bytes(data)
    props = openpyxl.load_workbook(path).properties
    assert props.created == props.modified == datetime(2026, 12, 5, 22, 0)
    cal = Calendar.from_ical(runbook_bytes(contoso_book, ".ics"))
    events = list(cal.walk("VEVENT"))
    assert {e.decoded("DTSTAMP") for e in events} == {datetime(2026, 12, 5, 22, tzinfo=UTC)}
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids) == 1 + 10  # the window and one block per unit


def test_csv_has_local_and_utc_times(contoso_book: Runbook) -> None:
    rows = list(csv.DictReader(io.StringIO(runbook_bytes(contoso_book, ".csv").decode())))
    assert len(rows) == len(contoso_book.steps)
    first = rows[0]
    assert first["start_local"] == "2026-12-05T22:00:00+00:00"
    assert first["start_utc"] == "2026-12-05T22:00:00Z"
    assert all(float(r["end_min"]) >= float(r["start_min"]) for r in rows)


def test_refuses_to_replace_without_force_and_bad_suffix(tmp_path: Path) -> None:
    out = tmp_path / "runbook.csv"
    out.write_text("keep me")
    done = migsim("runbook", str(CONTOSO), "--out", str(out))
    assert done.returncode == 2
    assert "already exists" in done.stderr
    assert out.read_text() == "keep me"
    done = migsim("runbook", str(CONTOSO), "--out", str(out), "--force")
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("step,window,")
    assert "53 steps in 1 maintenance window" in done.stdout

    bad = tmp_path / "runbook.pdf"
    done = migsim("runbook", str(CONTOSO), "--out", str(bad))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "expected a file ending in .xlsx" in lines[0]
    assert not bad.exists()


def test_a_calendar_needs_a_start(tmp_path: Path) -> None:
    scenario = tmp_path / "nostart.yaml"
    scenario.write_text(DST_SCENARIO.replace("  start: 2026-10-17T22:00:00\n", ""))
    book = build_runbook(scenario)
    with pytest.raises(InputError, match="a calendar needs clock times"):
        write_runbook(book, tmp_path / "x.ics")
    # the workbook still gives the time from the start (minute 0 is a Monday 00:00, so the
    # first Saturday 22:00 window opens 5 days and 22 hours in)
    rows = step_rows(write_runbook(book, tmp_path / "x.xlsx"))
    assert rows[0]["Start (from the start)"] == "+5d22h"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run") / "contoso"
    experiment = run_experiment(load_scenario(CONTOSO), 40, workers=1)
    write_experiment(experiment, folder)
    return folder


def test_p80_ends_from_the_replications_of_a_run_folder(run_folder: Path) -> None:
    book = build_runbook(run_folder)
    assert book.replications == 40
    ends = [s.p80_end for s in book.steps]
    assert all(e is not None and math.isfinite(e) for e in ends)
    # within a unit, each platform step ends after the one before it in every replication,
    # so its P80 end does too
    order = ("validate", "prepare", "check", "commit")
    for unit in {s.unit for s in book.steps}:
        mine = [s.p80_end or 0.0 for s in book.steps if s.unit == unit and s.step in order]
        assert mine == sorted(mine), unit
    # no step's P80 end is after the P80 of the whole migration's finish
    stats = json.loads((run_folder / "statistics.json").read_text())
    finish_p80 = stats["finish"]["quantiles"]["P80"]["minutes"]
    assert max(e or 0.0 for e in ends) <= finish_p80 + 1e-6
    summary = dict(book.summary)
    assert summary["Finish P80"] == stats["finish"]["quantiles"]["P80"]["text"]


def test_a_run_folder_that_does_not_reproduce_is_refused(run_folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "changed"
    shutil.copytree(run_folder, copy)
    lines = (copy / "replications.csv").read_text().splitlines()
    cells = lines[3].split(",")
    cells[2] = repr(float(cells[2]) + 1.0)  # makespan_hours of replication 2
    lines[3] = ",".join(cells)
    (copy / "replications.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"replication 2 .* does not give its row back"):
        build_runbook(copy)
    with pytest.raises(InputError, match="applies to a scenario file"):
        build_runbook(run_folder, overrides=["plan.crews=1"])


def test_scenario_yaml_beside_the_summary_is_preferred(run_folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    copy.mkdir()
    summary = json.loads((run_folder / "summary.json").read_text())
    scenario = yaml.safe_load((run_folder / "scenario.yaml").read_text())
    assert "scenario" not in summary  # the run writes it once, beside the summary
    (copy / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(InputError, match=r"expected scenario\.yaml beside summary\.json"):
        build_runbook(copy)
    scenario["plan"]["crews"] = 1
    (copy / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    book = build_runbook(copy)
    assert {s.crew for s in book.steps} == {1}
    assert book.replications == 0
    with pytest.raises(InputError, match="holds no run"):
        build_runbook(tmp_path)


def test_make_demo_writes_the_runbook_and_calendar_after_the_run() -> None:
    recipe = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    lines = [line.strip() for line in recipe.splitlines()]
    run = next(i for i, line in enumerate(lines) if "migsim run scenarios/contoso.yaml" in line)
    xlsx = next(i for i, line in enumerate(lines) if "results/contoso/runbook.xlsx" in line)
    ics = next(i for i, line in enumerate(lines) if "results/contoso/windows.ics" in line)
    # run --force replaces results/contoso: the runbook comes after it, from its replications
    assert run < xlsx and run < ics
    assert "runbook results/contoso " in lines[xlsx] and "runbook results/contoso " in lines[ics]


# ---- names that look like formulas ---------------------------------------------------------------

FORMULA = '=HYPERLINK("http://127.0.0.1","x")'


@pytest.mark.timeout(60)
def test_names_that_look_like_formulas_stay_text(tmp_path: Path) -> None:
    """A VNet (a unit) named like a formula: the workbook stores it as a string, never a formula;
    the CSV prefixes it with a quote (OWASP's rule), and leaves numbers, negative ones too, as
    they are."""
    text = (ROOT / "scenarios" / "clean.yaml").read_text()
    assert "vnet-apps" in text and "vnet-data" in text
    text = text.replace("vnet-apps", yaml.safe_dump(FORMULA).splitlines()[0])
    text = text.replace("vnet-data", "'-2+3'")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text)
    book = build_runbook(scenario)
    write_runbook(book, tmp_path / "r.xlsx")
    write_runbook(book, tmp_path / "r.csv")

    ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["All steps"]
    header = [c.value for c in ws[1]]
    units = [row[header.index("Unit")] for row in ws.iter_rows(min_row=2)]
    formula_cells = [c for c in units if c.value == FORMULA]
    assert formula_cells, units
    assert {c.data_type for c in formula_cells} == {"s"}
    assert {c.data_type for c in units if c.value == "-2+3"} == {"s"}
    with zipfile.ZipFile(tmp_path / "r.xlsx") as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert not any(b"<f>" in archive.read(n) for n in sheets)

    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    unit_column = next(c for c in rows[0] if c.lower() == "unit")
    csv_units = {r[unit_column] for r in rows}
    assert "'" + FORMULA in csv_units and FORMULA not in csv_units
    assert "'-2+3" in csv_units
    assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for r in rows for v in r.values())


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-1.5", "-1.5"),
        ("-3", "-3"),
        ("+4e2", "+4e2"),
        ("web-01", "web-01"),
        ("", ""),
    ],
)
def test_csv_field_prefixes_text_that_starts_a_formula(text: str, written: str) -> None:
    from sim.outputs.runbook import csv_field

    assert csv_field(text) == written


def test_start_after_commit_offers_no_abort() -> None:
    # restart_after: commit starts cs-legacy's VMs after its Commit: nothing can be aborted then
    book = build_runbook(CONTOSO, overrides=["plan.restart_after=commit"])
    steps = [s for s in book.steps if s.unit == "cs-legacy"]
    names = [s.step for s in steps]
    assert names.index("start") > names.index("commit")
    start = next(s for s in steps if s.step == "start")
    assert start.rollback.startswith("After Commit: no rollback")
    stop = next(s for s in steps if s.step == "stop")
    assert stop.rollback.startswith("Until Commit: Move-AzureService -Abort")


def test_workbook_cells_never_hold_control_characters(
    tmp_path: Path, contoso_book: Runbook
) -> None:
    """The loader refuses control characters in names, but a run folder is read as it is: a
    runbook whose scenario, unit and step names hold them is still written, each such character
    a space (openpyxl refuses them: IllegalCharacterError)."""
    from dataclasses import replace

    steps = tuple(
        replace(s, unit=s.unit + "\x01", label=s.label + "\x1b[2J") for s in contoso_book.steps
    )
    book = replace(contoso_book, scenario_name="clean\x01", steps=steps)
    path = write_runbook(book, tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(path)["Summary"]
    assert ws["B1"].value == "clean "
    rows = step_rows(path)
    assert rows[0]["Unit"] == contoso_book.steps[0].unit + " "
    assert rows[0]["Step"] == contoso_book.steps[0].label + " [2J"
