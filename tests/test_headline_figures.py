"""The headline figures on hand-built records, with exact arithmetic: what each one counts.

``vm_hours_down`` and ``peak_vms_down`` count ``data`` windows of VMs only; ``service_hours_down``
the data plane of what is not a VM (``data`` of non-VM resources, every ``nic`` and every
``connectivity`` window); ``exposure_hours`` kind ``exposure``; ``protection_gap_hours`` the five
protection kinds. Each figure merges the windows of one resource and one kind first.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from sim.experiments.replications import METRICS, ReplicationRow, row_of
from sim.model.scenario import Scenario, load_scenario
from sim.outputs.records import (
    PROTECTION_GAP_KINDS,
    Replication,
    UnitOutcome,
    Window,
    is_service_down,
    summarize,
    summary_json,
    units_csv,
    vm_down_intervals,
    window_hours,
)

CONTOSO = Path(__file__).resolve().parents[1] / "scenarios" / "contoso.yaml"


def w(resource: str, kind: str, start: float, end: float, unit: str = "u1") -> Window:
    return Window(resource, resource.split(":", 1)[0], unit, kind, start, end, "test")


def outcome(unit: str, status: str = "committed", *, needs_support: bool = False) -> UnitOutcome:
    return UnitOutcome(
        unit=unit,
        kind="vnet",
        vms=2,
        status=status,
        first_start=0.0,
        commit_end=100.0 if status == "committed" else None,
        end=100.0,
        validate_attempts=1,
        prepare_attempts=1,
        commit_attempts=2 if needs_support else 1,
        reason="" if status == "committed" else "Commit failed after 2 attempts",
        rules=("MIG013",),
        needs_support=needs_support,
    )


WINDOWS = (
    # management: in no figure but the lock
    w("vm:web-01", "management", 0, 600),
    w("service:appgw", "management", 0, 600),
    # a VM down twice, overlapping: 0..90 = 1.5 VM-hours
    w("vm:web-01", "data", 0, 60),
    w("vm:web-01", "data", 30, 90),
    # a VM whose secondary NIC is detached is up: 0 VM-hours, 2 service-hours
    w("vm:web-02", "nic", 0, 120),
    # an Application Gateway removed 10..80 and (overlapping) 50..100: 90 min = 1.5 h
    w("service:appgw", "data", 10, 80),
    w("service:appgw", "data", 50, 100),
    # a peering removed, on each of its two VNets: 2 x 0.5 h
    w("vnet:a", "connectivity", 0, 30),
    w("vnet:b", "connectivity", 0, 30),
    # a gateway rebuilt (data) and its transit lost (connectivity): different kinds add up
    w("gateway:gw", "data", 200, 230),
    w("gateway:gw", "connectivity", 210, 240),
    # exposure: overlapping on one VM 0..90 = 1.5 h, another VM 0..30 = 0.5 h
    w("vm:web-01", "exposure", 0, 60),
    w("vm:web-01", "exposure", 30, 90),
    w("vm:web-02", "exposure", 0, 30),
    # protection gaps: backup and monitoring of one VM at once count twice (1 h + 1 h),
    # two overlapping backup windows once (0..60 above plus 30..90: 1.5 h in all for backup)
    w("vm:web-01", "backup", 0, 60),
    w("vm:web-01", "backup", 30, 90),
    w("vm:web-01", "monitoring", 0, 60),
    w("vm:web-03", "diagnostics", 0, 30),
    w("vm:web-03", "security-monitoring", 0, 15),
    w("vm:web-03", "replication", 0, 45),
)

VM_HOURS = 1.5
SERVICE_HOURS = 2.0 + 1.5 + 1.0 + 0.5 + 0.5
EXPOSURE_HOURS = 1.5 + 0.5
GAP_HOURS = 1.5 + 1.0 + 0.5 + 0.25 + 0.75


def replication(
    windows: tuple[Window, ...] = WINDOWS, outcomes: tuple[UnitOutcome, ...] | None = None
) -> Replication:
    return Replication(
        seed=7,
        deterministic=True,
        origin=None,
        horizon=600.0,
        order=("u1", "u2"),
        windows=windows,
        events=(),
        outcomes=outcomes if outcomes is not None else (outcome("u1"), outcome("u2")),
        post_tasks=(),
        maintenance=(),
    )


@pytest.fixture(scope="module")
def contoso() -> Scenario:
    return load_scenario(CONTOSO)


def test_what_counts_as_service_downtime() -> None:
    assert is_service_down(w("service:appgw", "data", 0, 1))
    assert is_service_down(w("gateway:gw", "data", 0, 1))
    assert is_service_down(w("vm:web-02", "nic", 0, 1))
    assert is_service_down(w("vnet:a", "connectivity", 0, 1))
    assert is_service_down(w("gateway:gw", "connectivity", 0, 1))
    assert not is_service_down(w("vm:web-01", "data", 0, 1))
    for kind in ("management", "exposure", *PROTECTION_GAP_KINDS):
        assert not is_service_down(w("service:appgw", kind, 0, 1))


def test_a_nic_window_adds_nothing_to_the_vms_down() -> None:
    assert vm_down_intervals([w("vm:web-02", "nic", 0, 120)]) == {}
    down = vm_down_intervals(WINDOWS)
    assert down == {"vm:web-01": [(0, 90)]}
    rep = replication()
    row = row_of(rep, 0)
    assert row.vm_hours_down == VM_HOURS
    assert row.peak_vms_down == 1  # web-02 is up while its NIC is detached
    # adding a NIC window to a run changes neither VM figure, and adds its hours to the services
    more = replication((*WINDOWS, w("vm:web-01", "nic", 0, 60)))
    assert row_of(more, 0).vm_hours_down == VM_HOURS
    assert row_of(more, 0).peak_vms_down == 1
    assert row_of(more, 0).service_hours_down == pytest.approx(SERVICE_HOURS + 1.0)


def test_overlapping_windows_of_one_resource_count_once() -> None:
    one = window_hours([w("service:appgw", "data", 10, 80), w("service:appgw", "data", 50, 100)])
    assert one.service_hours_down == pytest.approx(1.5)
    hours = window_hours(WINDOWS)
    assert hours.service_hours_down == pytest.approx(SERVICE_HOURS)
    assert hours.exposure_hours == pytest.approx(EXPOSURE_HOURS)
    assert hours.protection_gap_hours == pytest.approx(GAP_HOURS)


def test_row_and_summary_agree(contoso: Scenario) -> None:
    rep = replication()
    row = row_of(rep, 3)
    summary = summarize(rep, contoso)
    assert row.service_hours_down == summary.service_hours_down == pytest.approx(SERVICE_HOURS)
    assert row.exposure_hours == summary.exposure_hours == pytest.approx(EXPOSURE_HOURS)
    assert row.protection_gap_hours == summary.protection_gap_hours == pytest.approx(GAP_HOURS)
    assert row.vm_hours_down == summary.vm_hours_down == VM_HOURS
    assert row.lock_resource_hours == summary.lock_resource_hours == 20.0
    assert row.units_needing_support == 0
    # window_hours_by_kind stays the plain sum of durations (overlaps counted twice)
    by_kind = dict(summary.window_hours_by_kind)
    assert by_kind["data"] == pytest.approx((60 + 60 + 70 + 50 + 30) / 60)
    assert by_kind["exposure"] == pytest.approx((60 + 60 + 30) / 60)
    assert "nic" in by_kind and list(by_kind)[:3] == ["management", "data", "nic"]


def test_needs_support_is_reported(contoso: Scenario) -> None:
    outcomes = (
        outcome("u1"),
        outcome("u2", "not_migrated", needs_support=True),
        outcome("u3", "not_migrated"),
    )
    rep = replication(outcomes=outcomes)
    assert row_of(rep, 0).units_needing_support == 1
    assert row_of(rep, 0).units_not_migrated == 2
    summary = summarize(rep, contoso)
    assert summary.needing_support == (outcomes[1],)
    labels = dict(summary.headline())
    assert labels["Locked: needs support: u2"] == "Commit failed after 2 attempts"
    assert "Not migrated: u3" in labels and "Not migrated: u2" not in labels
    data = json.loads(summary_json(summary))
    assert data["units_needing_support"] == 1
    units = list(csv.DictReader(io.StringIO(units_csv(summary.units, None))))
    assert [u["needs_support"] for u in units] == ["false", "true", "false"]
    assert [u["status"] for u in units] == ["committed", "not_migrated", "not_migrated"]
    assert data["not_migrated"] == [
        {
            "unit": "u2",
            "reason": "Commit failed after 2 attempts",
            "rules": ["MIG013"],
            "needs_support": True,
        },
        {
            "unit": "u3",
            "reason": "Commit failed after 2 attempts",
            "rules": ["MIG013"],
            "needs_support": False,
        },
    ]


def test_summary_json_keeps_its_keys_and_adds_the_new_ones(contoso: Scenario) -> None:
    summary = summarize(replication(), contoso)
    data = json.loads(summary_json(summary))
    keys = list(data)
    assert keys == [
        "scenario_name",
        "migsim_version",
        "seed",
        "deterministic",
        "time_unit",
        "start",
        "makespan_minutes",
        "end",
        "units_total",
        "units_migrated",
        "vm_hours_down",
        "peak_vms_down",
        "peak_vms_down_at_minutes",
        "peak_vms_down_at_utc",
        "lock_resource_hours",
        "window_hours_by_kind",
        "failed_attempts",
        "throttle_minutes",
        "open_windows_at_end",
        "service_hours_down",
        "exposure_hours",
        "protection_gap_hours",
        "units_needing_support",
        "not_migrated",
        "post_migration_tasks",
        "timezone",
        "end_local",
    ]  # per-unit outcomes go to units.csv; the scenario is written once beside it: scenario.yaml
    assert data["service_hours_down"] == pytest.approx(SERVICE_HOURS)
    assert data["exposure_hours"] == pytest.approx(EXPOSURE_HOURS)
    assert data["protection_gap_hours"] == pytest.approx(GAP_HOURS)
    assert list(summary.as_dict()["units"][0])[-3:] == ["reason", "rules", "needs_support"]


def test_new_columns_come_after_the_old_ones() -> None:
    # (finish_window and done_in_window_1 came with the clock-time answers, issue 13)
    assert ReplicationRow.columns() == [
        "replication",
        "seed",
        "makespan_hours",
        "vm_hours_down",
        "peak_vms_down",
        "lock_resource_hours",
        "units_not_migrated",
        "retries",
        "service_hours_down",
        "exposure_hours",
        "protection_gap_hours",
        "units_needing_support",
        "finish_window",
        "done_in_window_1",
    ]
    # done_in_window_1 is a share (higher is better), not a metric to minimise
    assert [*METRICS, "done_in_window_1"] == ReplicationRow.columns()[2:]
