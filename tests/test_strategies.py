"""Ordering strategies: every one respects must-precede, and each shows its own order on a small
hand-built estate; waves' not_before times are honoured by the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.common.errors import InputError
from sim.engine.simulation import simulate
from sim.model import rules
from sim.model.ordering import (
    STRATEGIES,
    decode_priorities,
    order_units,
    tail_lengths,
    violations,
    wave_starts,
)
from sim.model.scenario import Scenario, load_scenario
from sim.model.units import MigrationUnits, build_units
from sim.outputs.records import Replication

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"


def vm(name: str, account: str = "st1", **kw: Any) -> dict[str, Any]:
    return {"name": name, "os_disk": {"storage_account": account}, **kw}


def vnet_with(name: str, vms: int, account: str = "st1", **kw: Any) -> tuple[dict[str, Any], ...]:
    """A VNet and one cloud service in it with ``vms`` VMs whose disks are in ``account``."""
    net = {"name": name, "subnets": [{"name": "default"}], **kw}
    cs = {
        "name": f"cs-{name}",
        "vnet": name,
        "vms": [vm(f"{name}-{i}", account, subnets=["default"]) for i in range(vms)],
    }
    return net, cs


def scenario(estate: dict[str, Any], **plan: Any) -> Scenario:
    estate.setdefault("storage_accounts", [{"name": "st1"}])
    return Scenario.model_validate({"name": "t", "estate": estate, "plan": plan})


def units_of(sc: Scenario) -> MigrationUnits:
    return build_units(sc.estate, sc.plan)


def run(sc: Scenario, ordering: str | None = None) -> Replication:
    units = units_of(sc)
    order = order_units(units, ordering or sc.plan.ordering, sc.plan)
    found = rules.check(sc.estate, units, sc.plan)
    return simulate(sc.estate, units, sc.plan, found, order=order, deterministic=True)


def first_start(rep: Replication, unit: str) -> float:
    return min(e.time for e in rep.events_of(unit, outcome="start"))


# A small estate with every kind of constraint: a circuit before a VNet, VM holders before the
# storage accounts of their disks, a planner's own precedence, priorities and waves.
def mixed() -> Scenario:
    v3, cs3 = vnet_with("v3", 3, "st-a", priority=5)
    v1, cs1 = vnet_with("v1", 1, "st-b")
    v6, cs6 = vnet_with("v6", 6, "st-a")
    v1["gateway"] = {"name": "gw1", "kind": "expressroute", "circuit": "er"}
    legacy = {"name": "legacy", "vms": [vm("l1", "st-c"), vm("l2", "st-c")], "priority": 9}
    estate = {
        "expressroute_circuits": [{"name": "er"}],
        "vnets": [v3, v1, v6],
        "cloud_services": [cs3, cs1, cs6, legacy],
        "storage_accounts": [{"name": n} for n in ("st-a", "st-b", "st-c", "st-d")],
        "nsgs": [{"name": "n1"}],
    }
    return scenario(
        estate,
        precedence=[{"before": "n1", "after": "v6"}],
        waves=[
            {"name": "pilot", "units": ["st-a", "v1", "legacy"]},
            {"name": "main", "units": ["v6"], "not_before": "2h"},
        ],
    )


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("which", ["contoso", "mixed"])
def test_every_strategy_respects_must_precede(strategy: str, which: str) -> None:
    sc = load_scenario(CONTOSO) if which == "contoso" else mixed()
    units = units_of(sc)
    order = order_units(units, strategy, sc.plan)
    assert sorted(order) == sorted(units.ids())
    assert violations(units, order) == []
    assert units.precedences  # the check is not vacuous


def test_as_listed_is_the_estate_order() -> None:
    sc = mixed()
    units = units_of(sc)
    # The estate's order among the units free to go: v6 waits for n1, st-a for v6.
    assert order_units(units, "as_listed", sc.plan) == [
        "er", "v3", "v1", "legacy", "st-b", "st-c", "st-d", "n1", "v6", "st-a",
    ]  # fmt: skip


def test_smallest_and_largest_first() -> None:
    sc = mixed()
    units = units_of(sc)
    small = order_units(units, "smallest_first", sc.plan)
    # Units without VMs first (fewest resources first), then 1, 2, 3 VMs; v6 waits for n1 anyway.
    assert small.index("v1") < small.index("legacy") < small.index("v3") < small.index("v6")
    assert small[0] == "er"
    large = order_units(units, "largest_first", sc.plan)
    # v6 has the most VMs but is not free to go until n1 (no VMs) is placed: the strategy only
    # breaks ties among free units.
    assert large[:4] == ["v3", "legacy", "er", "v1"]
    assert large[-3:] == ["n1", "v6", "st-a"]


def test_priority_puts_production_last() -> None:
    sc = mixed()
    units = units_of(sc)
    order = order_units(units, "priority", sc.plan)
    # No priority first (estate order), then v3 (5), then legacy (9, production), then what must
    # follow legacy (its storage account).
    assert order.index("v1") < order.index("v3") < order.index("legacy")
    assert order[-2:] == ["legacy", "st-c"]


def test_critical_path_first_starts_the_longest_chain() -> None:
    # n1 (no VMs) heads n1 -> v2; v5 is independent and larger. Check 0, default durations:
    # work = validate + prepare + commit = 20 + 1.5 * vms minutes.
    v2, cs2 = vnet_with("v2", 2)
    v5, cs5 = vnet_with("v5", 5)
    sc = scenario(
        {"vnets": [v2, v5], "cloud_services": [cs2, cs5], "nsgs": [{"name": "n1"}]},
        precedence=[{"before": "n1", "after": "v2"}],
    )
    units = units_of(sc)
    tail = tail_lengths(units, sc.plan)
    assert tail["v2"] == pytest.approx(20 + 1.5 * 2 + 20)  # v2, then st1 after it
    assert tail["n1"] == pytest.approx(20 + tail["v2"])
    assert tail["v5"] == pytest.approx(20 + 1.5 * 5 + 20)
    assert order_units(units, "critical_path_first", sc.plan)[:3] == ["n1", "v5", "v2"]
    assert order_units(units, "largest_first", sc.plan)[:3] == ["v5", "n1", "v2"]
    # Check time counts in every unit's work: the chain of two units gains it twice.
    slow = sc.plan.model_copy(update={"check": 60.0})
    assert tail_lengths(units, slow)["n1"] == pytest.approx(tail["n1"] + 3 * 60)


def test_critical_path_first_shortens_the_makespan() -> None:
    sc = scenario(
        {
            "vnets": [vnet_with("v2", 2)[0], vnet_with("v5", 5)[0]],
            "cloud_services": [vnet_with("v2", 2)[1], vnet_with("v5", 5)[1]],
            "nsgs": [{"name": "n1"}],
        },
        precedence=[{"before": "n1", "after": "v2"}],
        check="30m",
        dispatch="prepare_ahead",  # a crew serves another unit during Check: the order matters
    )
    cpf = run(sc, "critical_path_first").makespan
    assert cpf < run(sc, "largest_first").makespan
    assert cpf <= min(run(sc, name).makespan for name in STRATEGIES)


def test_waves_order_groups_then_the_rest() -> None:
    sc = mixed()
    units = units_of(sc)
    order = order_units(units, "waves", sc.plan)
    # pilot lists st-a first, but st-a must follow v3 and v6 (their disks), and v6 follows n1:
    # those join the pilot just before it; v1 needs er first. Then main (v6, already placed),
    # then the units in no wave.
    assert order == ["v3", "n1", "v6", "st-a", "er", "v1", "legacy", "st-b", "st-c", "st-d"]
    assert wave_starts(units, sc.plan) == {"v6": 120.0}


def test_waves_not_before_is_honoured_under_every_ordering() -> None:
    v1, cs1 = vnet_with("v1", 1)
    v2, cs2 = vnet_with("v2", 2)
    sc = scenario(
        {"vnets": [v1, v2], "cloud_services": [cs1, cs2]},
        crews=2,
        waves=[{"name": "later", "units": ["v1"], "not_before": "3h"}],
        ordering="waves",
    )
    for ordering in ("waves", "as_listed"):
        rep = run(sc, ordering)
        assert first_start(rep, "v1") == pytest.approx(180.0)
        assert first_start(rep, "v2") == 0.0
    no_waves = sc.model_copy(update={"plan": sc.plan.model_copy(update={"waves": ()})})
    assert first_start(run(no_waves, "as_listed"), "v1") == 0.0


def test_waves_timestamp_needs_start_and_is_placed_by_it(tmp_path: Path) -> None:
    text = """
name: t
estate:
  nsgs: [{name: a}, {name: b}]
plan:
  start: 2027-01-09T22:00:00Z
  ordering: waves
  waves:
    - {name: first, units: [b]}
    - {name: second, units: [a], not_before: 2027-01-10T01:30:00Z}
"""
    path = tmp_path / "s.yaml"
    path.write_text(text)
    sc = load_scenario(path)
    units = units_of(sc)
    assert order_units(units, "waves", sc.plan) == ["b", "a"]
    assert wave_starts(units, sc.plan) == {"a": 210.0}
    rep = run(sc)
    assert first_start(rep, "a") == pytest.approx(210.0)
    startless = sc.plan.model_copy(update={"start": None})
    with pytest.raises(InputError) as info:
        wave_starts(units, startless)
    assert info.value.key_path == "plan.waves[1].not_before"
    assert "plan.start" in info.value.message


def test_waves_bad_units_are_named() -> None:
    sc = scenario({"nsgs": [{"name": "a"}]}, waves=[{"name": "w", "units": ["a", "zz"]}])
    with pytest.raises(InputError) as info:
        order_units(units_of(sc), "waves", sc.plan)
    assert info.value.key_path == "plan.waves[0].units[1]"
    assert "'zz'" in info.value.message
    sc = scenario(
        {"nsgs": [{"name": "a"}]},
        waves=[{"name": "w1", "units": ["a"]}, {"name": "w2", "units": ["nsg:a"]}],
    )
    with pytest.raises(InputError) as info:
        run(sc, "as_listed")  # the engine checks the waves whatever the ordering
    assert info.value.key_path == "plan.waves[1].units[0]"
    assert "'w1'" in info.value.message


def test_waves_not_before_rejects_nonsense(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: t\nestate: {nsgs: [{name: a}]}\n"
        "plan:\n  waves: [{name: w, units: [a], not_before: tomorrow}]\n"
    )
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.key_path == "plan.waves[0].not_before"
    assert "2h" in info.value.message


def test_strategies_that_read_the_plan_default_without_one() -> None:
    sc = mixed()
    units = units_of(sc)
    assert order_units(units, "waves") == order_units(units, "as_listed")
    assert violations(units, order_units(units, "critical_path_first")) == []


def test_decode_priorities_is_the_serial_scheme() -> None:
    sc = mixed()
    units = units_of(sc)
    # st-a and v6 head the list but are not free (v3 and v6 hold st-a's disks, n1 precedes v6):
    # v3 goes first, then the units the list leaves out in the estate's order as they free up.
    order = decode_priorities(units, ["st-a", "v6", "v3"])
    assert order == ["v3", "er", "v1", "legacy", "st-b", "st-c", "st-d", "n1", "v6", "st-a"]
    assert decode_priorities(units, ["n1", "v6", "v3", "st-a"])[:4] == ["n1", "v6", "v3", "st-a"]
    assert violations(units, order) == []
    assert sorted(order) == sorted(units.ids())
    listed = order_units(units, "as_listed", sc.plan)
    assert decode_priorities(units, listed) == listed
