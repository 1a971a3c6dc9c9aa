"""The benchmark's engine skeleton replays the engine's schedule: its ceiling is the engine's."""

from __future__ import annotations

import pytest

from benchmarks.ceiling import skeleton
from sim.experiments.replications import Prepared
from sim.model.scenario import Scenario


def small_estate(crews: int, **plan_keys: object) -> Prepared:
    """Five cloud services of two VMs in three VNets, two storage accounts; no failures, no
    throttle; ``plan_keys`` added to the plan."""

    def vm(name: str, account: str) -> dict[str, object]:
        return {"name": name, "subnets": ["default"], "os_disk": {"storage_account": account}}

    estate = {
        "storage_accounts": [{"name": "st1"}, {"name": "st2"}],
        "vnets": [{"name": f"v{i}", "subnets": [{"name": "default"}]} for i in range(3)],
        "cloud_services": [
            {"name": f"cs{i}", "vnet": f"v{i % 3}", "vms": [vm(f"a{i}", "st1"), vm(f"b{i}", "st2")]}
            for i in range(5)
        ],
    }
    plan = {
        "crews": crews,
        "write_limit_per_hour": None,
        "failures": {"validate": 0, "prepare": 0, "commit": 0},
        **plan_keys,
    }
    return Prepared.of(Scenario.model_validate({"name": "t", "estate": estate, "plan": plan}))


@pytest.mark.parametrize("crews", [1, 2, 4])
def test_skeleton_ends_when_the_engine_does(crews: int) -> None:
    # No failures, throttle, windows or remediation: the engine's schedule is only its SimPy
    # calls, which the skeleton makes too; the same makespan to the minute.
    prepared = small_estate(crews)
    rep = prepared.replicate(0, deterministic=True)
    assert all(o.migrated for o in rep.outcomes)
    assert skeleton(prepared, "resource").now == pytest.approx(rep.horizon, abs=1e-9)


def test_skeleton_queue_variant_runs_everything_and_rejects_unknown_crews() -> None:
    prepared = small_estate(1)
    # One crew: no ties to break, so the queue variant must reach the same end.
    rep = prepared.replicate(0, deterministic=True)
    assert skeleton(prepared, "queue").now == pytest.approx(rep.horizon)
    with pytest.raises(ValueError, match="crews must be"):
        skeleton(prepared, "threads")
