"""Bounds at the boundary and the simulated-time horizon (issue 14, items 1 and 2).

Every number and date of a scenario has a range checked when it is loaded: a value outside it is
one message naming the file, the key path and what was expected, and exit 2, never a traceback
nor a run that eats the machine. ``plan.horizon`` stops every run: work not done by then is
reported as "not finished by the horizon", and no accepted input makes a run loop or grow.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sim.cli import cli
from sim.model.calendar import Calendar
from sim.model.plan import DEFAULT_HORIZON, MAX_HORIZON, MaintenanceWindow

SCENARIO = """\
name: bounds
estate:
  vnets:
    - name: vnet-a
      subnets: [{name: web}]
  cloud_services:
    - name: cs-web
      vnet: vnet-a
      vms:
        - {name: web-01, subnets: [web], os_disk: {storage_account: st-a}}
        - {name: web-02, subnets: [web], os_disk: {storage_account: st-a}}
  storage_accounts:
    - {name: st-a}
plan:
  start: 2027-01-08T20:00:00Z
  crews: 2
  maintenance_windows:
    - {every: saturday, at: "22:00", for: 8h}
"""


def write(tmp_path: Path, text: str = SCENARIO) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, "utf-8")
    return path


def migsim(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="migsim")


def assert_refused(result: Result, *fragments: str) -> None:
    """Exit 2, one ``error:`` message holding every fragment, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    text = " ".join(result.output.split())
    assert "Traceback" not in text
    assert text.startswith("error: "), text
    for fragment in fragments:
        assert fragment in text, text


@dataclass(frozen=True)
class Bad:
    id: str
    sets: tuple[str, ...]
    fragments: tuple[str, ...]


BAD = [
    # durations: finite, not negative, at most 30 days (a step, a check) or 10 years
    Bad("check-1e12", ("plan.check=1e12",), ("plan.check:", "at most 30d")),
    Bad("check-1e308", ("plan.check=1e308",), ("plan.check:", "at most 30d")),
    Bad("check-inf", ("plan.check=.inf",), ("plan.check:", "finite")),
    Bad("check-negative", ("plan.check=-5m",), ("plan.check:", "zero or more")),
    Bad("step-base", ("plan.durations.prepare.base=31d",), ("prepare.base:", "at most 30d")),
    Bad("step-per-vm", ("plan.durations.commit.per_vm=1e9",), ("commit.per_vm:", "at most 30d")),
    Bad("remedy-step", ("plan.remedies.MIG013.restore=1e300",), ("MIG013.restore:", "at most 30d")),
    Bad(
        "retry-after",
        ("plan.failures.retry_after=2d",),
        ("retry_after:", "expected a duration of at most 1d (1,440 minutes), got 2,880 minutes"),
    ),
    Bad("deadline", ("plan.deadline=1e300",), ("plan.deadline:", "at most 3650d")),
    # counts
    Bad("crews", ("plan.crews=1000000000",), ("plan.crews:", "less than or equal to 10000")),
    Bad("attempts", ("plan.failures.max_attempts=1000000000",), ("max_attempts:", "100")),
    Bad("max-parallel", ("plan.max_parallel.vnet=1000000000",), ("max_parallel.vnet:",)),
    Bad("probability-nan", ("plan.failures.commit=.nan",), ("plan.failures.commit:",)),
    Bad("writes-inf", ("plan.writes_per_vm=.inf",), ("plan.writes_per_vm:", "1000")),
    Bad("writes-nan", ("plan.writes_per_resource=.nan",), ("plan.writes_per_resource:",)),
    Bad("write-limit", ("plan.write_limit_per_hour=10000000",), ("write_limit_per_hour:",)),
    Bad("seed-65-bits", (f"plan.seed={2**64}",), ("plan.seed:", str(2**63 - 1))),
    Bad("spread-inf", ("plan.durations.prepare.spread=.inf",), ("prepare.spread:",)),
    # dates: 1970 up to 2200, and real dates
    Bad("start-9999", ("plan.start=9999-12-01T00:00:00Z",), ("plan.start:", "2200-01-01")),
    Bad("start-year-1", ("plan.start=0001-01-01T00:00:00Z",), ("plan.start:", "1970-01-01")),
    Bad("start-month-13", ("plan.start=2026-13-05T22:00:00Z",), ("plan.start:", "month")),
    Bad("start-offset-25h", ("plan.start=2026-12-05T22:00:00+25:00",), ("plan.start:",)),
    Bad("start-feb-30", ("plan.start=2027-02-30",), ("plan.start:", "day value")),
    Bad(
        "wave-9999",
        ("plan.waves=[{name: w, units: [vnet-a], not_before: 9999-01-01T00:00:00Z}]",),
        ("plan.waves[0].not_before:", "2200-01-01"),
    ),
    Bad(
        "wave-duration",
        ("plan.waves=[{name: w, units: [vnet-a], not_before: 1e300}]",),
        ("plan.waves[0].not_before:", "at most 3650d"),
    ),
    Bad("deadline-9999", ("plan.deadline=9999-01-01T00:00:00Z",), ("plan.deadline:", "2200")),
    Bad(
        "oneoff-9999",
        ("plan.maintenance_windows=[{start: 9999-01-01T00:00:00Z, for: 8h}]",),
        ("plan.maintenance_windows[0].start:", "2200-01-01"),
    ),
    # windows: no longer than their repeat; a one-off one no longer than the horizon
    Bad(
        "window-1e300",
        ('plan.maintenance_windows=[{every: saturday, at: "22:00", for: 1e300}]',),
        ("plan.maintenance_windows[0].for:", "at most 3650d"),
    ),
    Bad(
        "daily-window-25h",
        ('plan.maintenance_windows=[{every: day, at: "22:00", for: 25h}]',),
        ("plan.maintenance_windows[0]:", "every day lasts at most 1d"),
    ),
    Bad(
        "weekly-window-8d",
        ('plan.maintenance_windows=[{every: sunday, at: "22:00", for: 8d}]',),
        ("plan.maintenance_windows[0]:", "every sunday lasts at most 7d"),
    ),
    Bad(
        "oneoff-longer-than-horizon",
        ("plan.horizon=2d", "plan.maintenance_windows=[{start: 2027-01-09T00:00:00Z, for: 3d}]"),
        ("plan.maintenance_windows[0] lasts 3d, longer than plan.horizon (2d)",),
    ),
    # the horizon itself: one hour to ten years
    Bad(
        "horizon-short",
        ("plan.horizon=30m",),
        ("plan.horizon:", "expected a horizon of at least 1h (60 minutes), got 30 minutes"),
    ),
    Bad(
        "horizon-long",
        ("plan.horizon=3651d",),
        ("plan.horizon:", "at most 3650d (5,256,000 minutes), got 5,257,440 minutes"),
    ),
    Bad("horizon-inf", ("plan.horizon=.inf",), ("plan.horizon:", "finite")),
    # the estate's numbers
    Bad(
        "disk-size",
        ("estate.cloud_services[0].vms[0].os_disk.size_gb=100000000",),
        ("os_disk.size_gb:", "65536"),
    ),
    Bad("cores", ("estate.cloud_services[0].vms[0].cores=100000",), ("vms[0].cores:", "1024")),
    Bad("rbac", ("estate.vnets[0].rbac_assignments=1000000000",), ("rbac_assignments:",)),
    Bad("priority", ("estate.vnets[0].priority=-1000000000000",), ("vnets[0].priority:",)),
    Bad("quota", ("estate.quotas={cores: 100000000000000}",), ("estate.quotas.cores:",)),
    Bad(
        "role-instances",
        ("estate.cloud_services[0].roles=[{name: r, kind: web, instances: 1000000000}]",),
        ("roles[0].instances:", "10000"),
    ),
]


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.id)
def test_out_of_range_values_are_refused_at_load(case: Bad, tmp_path: Path) -> None:
    path = write(tmp_path)
    sets = [arg for s in case.sets for arg in ("--set", s)]
    assert_refused(migsim("validate", str(path), *sets), *case.fragments)


@pytest.mark.timeout(60)
def test_run_refuses_before_any_work(tmp_path: Path) -> None:
    # what `validate` refuses, `run` refuses too, with no output folder left behind
    path = write(tmp_path)
    out = tmp_path / "out"
    result = migsim("run", str(path), "--out", str(out), "--set", "plan.check=1e12")
    assert_refused(result, "plan.check:", "at most 30d")
    assert not out.exists()


def test_impossible_timestamp_in_the_file_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, SCENARIO.replace("2027-01-08T20:00:00Z", "2027-13-08T20:00:00Z"))
    assert_refused(migsim("validate", str(path)), "scenario.yaml:15: plan.start:", "month")


def test_values_at_the_bounds_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path)
    at_bounds = [
        "plan.check=30d",
        "plan.durations.prepare.per_vm=30d",
        "plan.horizon=3650d",
        "plan.deadline=3650d",
        f"plan.seed={2**63 - 1}",
        "plan.crews=10000",
        "plan.failures.max_attempts=100",
        "plan.writes_per_vm=1000",
        "plan.write_limit_per_hour=1000000",
        'plan.maintenance_windows=[{every: weekday, at: "00:00", for: 1d},'
        ' {every: saturday, at: "00:00", for: 7d}, {start: 2199-12-31T00:00:00Z, for: 3650d}]',
        "estate.cloud_services[0].vms[0].os_disk.size_gb=65536",
    ]
    result = migsim("validate", str(path), *[arg for s in at_bounds for arg in ("--set", s)])
    assert result.exit_code == 0, result.output


# ---- the horizon --------------------------------------------------------------------------------


def _run(tmp_path: Path, *sets: str) -> tuple[Result, dict[str, object], Path]:
    path = write(tmp_path)
    out = tmp_path / "out"
    result = migsim("run", str(path), "--out", str(out), *[a for s in sets for a in ("--set", s)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    return result, summary, out


@pytest.mark.timeout(60)
def test_work_not_done_by_the_horizon_is_reported_not_finished(tmp_path: Path) -> None:
    # The first window opens 26 h after the start (Saturday 22:00); a one-day horizon ends first.
    result, summary, out = _run(tmp_path, "plan.horizon=1d")
    assert summary["stopped_at_horizon_minutes"] == 1440
    assert summary["units_not_finished_by_horizon"] == summary["units_total"] == 2
    assert summary["units_migrated"] == 0
    reasons = {u["reason"] for u in summary["not_migrated"]}  # type: ignore[attr-defined]
    assert reasons == {"not finished by the horizon (1d from the start)"}
    text = " ".join(result.output.split())
    assert "Stopped at the horizon" in text and "2 units not finished by the horizon" in text
    units = (out / "units.csv").read_text("utf-8")
    assert units.count("not finished by the horizon") == 2


@pytest.mark.timeout(60)
def test_a_unit_locked_at_the_horizon_stays_locked_to_it(tmp_path: Path) -> None:
    # No windows, Prepare takes 10 days: the VNet is Prepared (locked) when a 2-day horizon ends.
    _, summary, out = _run(
        tmp_path,
        "plan.maintenance_windows=[]",
        "plan.durations.prepare=10d",
        "plan.horizon=2d",
    )
    assert summary["stopped_at_horizon_minutes"] == 2880
    lines = (out / "windows.csv").read_text("utf-8").splitlines()
    locks = [row for row in csv.DictReader(lines) if row["kind"] == "management"]
    assert locks, lines
    assert {float(row["end_min"]) for row in locks} == {2880.0}  # the horizon
    assert all("still open at the end of the run" in row["cause"] for row in locks)


@pytest.mark.timeout(60)
def test_a_run_that_ends_in_time_says_nothing_of_the_horizon(tmp_path: Path) -> None:
    result, summary, _ = _run(tmp_path)
    assert summary["units_migrated"] == 2
    assert "stopped_at_horizon_minutes" not in summary
    assert "units_not_finished_by_horizon" not in summary
    assert "horizon" not in result.output


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "sets",
    [
        # a wave that may not start before 2199: waits, and the horizon ends the run
        ("plan.waves=[{name: w, units: [vnet-a], not_before: 2199-01-01T00:00:00Z}]",),
        # the longest check under a weekly window: never fits, given up at once
        ("plan.check=30d",),
        # every attempt fails, as many attempts as allowed, the longest retry
        (
            "plan.failures.commit=1.0",
            "plan.failures.max_attempts=100",
            "plan.failures.retry_after=1d",
            "plan.horizon=3650d",
        ),
        # windows all week long (always open), the longest steps, ten years
        (
            'plan.maintenance_windows=[{every: saturday, at: "00:00", for: 7d}]',
            "plan.durations={prepare: {base: 30d, per_vm: 30d}}",
            "plan.check=30d",
            "plan.horizon=3650d",
        ),
        # the shortest daily window, the longest horizon
        (
            'plan.maintenance_windows=[{every: day, at: "00:00", for: 1m}]',
            "plan.horizon=3650d",
        ),
    ],
    ids=["wave-in-2199", "check-30d-weekly", "commit-always-fails", "longest-steps", "1m-window"],
)
def test_extreme_accepted_plans_finish_quickly(tmp_path: Path, sets: tuple[str, ...]) -> None:
    started = time.monotonic()
    _, summary, _ = _run(tmp_path, *sets)
    assert time.monotonic() - started < 30
    assert summary["units_total"] == 2


# ---- the calendar's cost ------------------------------------------------------------------------


def _calendar(horizon: float, *windows: dict[str, object]) -> Calendar:
    return Calendar(
        [MaintenanceWindow.model_validate(w) for w in windows],
        datetime(2027, 1, 8, 20, tzinfo=UTC),
        horizon=horizon,
    )


@pytest.mark.timeout(30)
def test_searching_for_a_fit_looks_only_inside_the_horizon() -> None:
    # A daily 8-hour window and a one-off 30-day window in 2199: a 20-day step fits only in the
    # latter, beyond a one-year horizon. The search stops at the horizon (the work waits for it,
    # and is not finished by it) without walking the 170 years of daily windows in between.
    far = {"start": datetime(2199, 6, 1, tzinfo=UTC), "for": "30d"}
    cal = _calendar(DEFAULT_HORIZON, {"every": "day", "at": "22:00", "for": "8h"}, far)
    started = time.monotonic()
    assert cal.earliest_fit(0.0, 20 * 1440.0) == DEFAULT_HORIZON
    assert cal.earliest_fit(0.0, 60.0) == 120.0  # Friday 22:00, 2 h after the start
    assert time.monotonic() - started < 1.0
    # longer than every window before the horizon, but not than the far one: wait for the horizon
    assert cal.earliest_fit(0.0, 9 * 60.0) == DEFAULT_HORIZON
    # without the far window, no window is ever long enough: never waited for
    no_far = _calendar(DEFAULT_HORIZON, {"every": "day", "at": "22:00", "for": "8h"})
    assert no_far.earliest_fit(0.0, 9 * 60.0) is None
    assert no_far.earliest_fit(0.0, 1e9) is None
    assert no_far.longest() == 8 * 60.0


@pytest.mark.timeout(30)
def test_the_calendar_of_the_longest_horizon_is_cheap() -> None:
    cal = _calendar(MAX_HORIZON, {"every": "day", "at": "00:00", "for": "1m"})
    started = time.monotonic()
    for k in range(2000):
        assert cal.earliest_fit(k * 1440.0 + 1.0, 1.0) == k * 1440.0 + 240.0  # 00:00
    assert math.isinf(_calendar(MAX_HORIZON).longest())
    assert time.monotonic() - started < 5.0


def test_a_seed_beyond_63_bits_is_refused_on_the_command_line(tmp_path: Path) -> None:
    path = write(tmp_path)
    out = tmp_path / "out"
    assert_refused(
        migsim("run", str(path), "--out", str(out), "--seed", str(2**64)), "--seed:", "0 to"
    )
    assert not out.exists()
