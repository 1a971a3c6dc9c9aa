"""The plan record: defaults a planner relies on and the what-if switches."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sim.model.estate import Estate
from sim.model.plan import DEFAULT_STEPS, Plan
from sim.model.rules import check
from sim.model.units import build_units


def test_a_step_mapping_keeps_the_defaults_it_leaves_out() -> None:
    plan = Plan.model_validate(
        {"durations": {"prepare": {"distribution": "lognormal", "spread": 0.3}}}
    )
    prepare = plan.durations.prepare
    assert (prepare.base, prepare.per_vm) == (
        DEFAULT_STEPS["prepare"]["base"],
        DEFAULT_STEPS["prepare"]["per_vm"],
    )
    assert (prepare.distribution, prepare.spread) == ("lognormal", 0.3)


def test_a_constant_step_replaces_the_whole_step() -> None:
    plan = Plan.model_validate({"durations": {"prepare": "30m"}})
    assert (plan.durations.prepare.base, plan.durations.prepare.per_vm) == (30.0, 0.0)
    assert plan.durations.prepare.central(vms=50) == 30.0


def test_future_support_lifts_availability_set_blockers_only() -> None:
    estate = Estate.model_validate(
        {
            "storage_accounts": [{"name": "st"}],
            "cloud_services": [
                {"name": "cs", "roles": [{"name": "r", "kind": "web"}], "vms": [
                    {"name": "a", "availability_set": "as1", "os_disk": {"storage_account": "st"}},
                    {"name": "b", "availability_set": "as2", "os_disk": {"storage_account": "st"}},
                ]},
            ],
        }
    )  # fmt: skip
    for future in (False, True):
        plan = Plan.model_validate({"future_support": future})
        findings = check(estate, build_units(estate, plan), plan)
        blocking = {f.rule for f in findings if f.blocks(plan)}
        assert "MIG001" in blocking  # roles stay unsupported
        assert ("MIG002" in blocking) is not future


def test_a_dumped_plan_loads_back_equal() -> None:
    # summary.json holds the resolved scenario: it must load again as it was
    plan = Plan.model_validate(
        {
            "start": "2026-12-05T22:00:00Z",
            "maintenance_windows": [{"every": "saturday", "at": "22:05", "for": "8h"}],
            "durations": {"prepare": {"spread": 0.3, "distribution": "lognormal"}},
            "ordering": ["a", "b"],
        }
    )
    dumped = plan.model_dump(mode="json", by_alias=True)
    assert dumped["maintenance_windows"][0]["at"] == "22:05"
    assert Plan.model_validate(dumped) == plan


def test_a_huge_crew_count_is_refused_not_a_memory_error() -> None:
    # found by the fresh-user trial: plan.crews=1e20 was killed for memory
    with pytest.raises(ValidationError, match="less than or equal to 10000"):
        Plan.model_validate({"crews": 10**20})
    assert Plan.model_validate({"crews": 10_000}).crews == 10_000
