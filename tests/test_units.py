"""Migration units: the four scopes of the source document plus circuits, and the ordering DAG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.common.errors import InputError
from sim.model.estate import Estate
from sim.model.ordering import STRATEGIES, order_units, violations
from sim.model.plan import Plan
from sim.model.scenario import load_scenario
from sim.model.units import build_units

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"


def units_of(estate: dict[str, Any], plan: dict[str, Any] | None = None) -> Any:
    return build_units(Estate.model_validate(estate), Plan.model_validate(plan or {}))


def test_contoso_units() -> None:
    sc = load_scenario(CONTOSO)
    units = build_units(sc.estate, sc.plan)
    kinds = {u.id: u.kind for u in units.units}
    assert kinds == {
        "er-ams": "expressroute_circuit",
        "vnet-shared": "vnet",
        "vnet-prod": "vnet",
        "cs-legacy": "cloud_service",
        "stsharedvhds": "storage_account",
        "stprodvhds": "storage_account",
        "stlegacy": "storage_account",
        "stlogs": "storage_account",
        "nsg-orphan": "nsg",
        "rip-spare": "reserved_ip",
    }
    prod = units["vnet-prod"]
    # A VNet migrates with everything in it: one unit, one Prepare, one Commit.
    assert set(prod.vms) == {"web-01", "web-02", "sql-01"}
    assert {
        "gateway:gw-prod", "service:appgw-prod", "nsg:nsg-web", "route_table:rt-web",
        "reserved_ip:rip-web", "availability_set:as-web", "cloud_service:cs-sql",
    } <= set(prod.resources)  # fmt: skip
    assert "reserved_ip:rip-legacy" in units["cs-legacy"].resources
    # every resource belongs to exactly one unit
    all_resources = [r for u in units.units for r in u.resources]
    assert len(all_resources) == len(set(all_resources))


def test_contoso_precedences() -> None:
    sc = load_scenario(CONTOSO)
    units = build_units(sc.estate, sc.plan)
    edges = {(p.before, p.after) for p in units.precedences}
    assert edges == {
        ("er-ams", "vnet-shared"),
        ("vnet-shared", "stsharedvhds"),
        ("vnet-prod", "stprodvhds"),
        ("cs-legacy", "stlegacy"),
    }


def test_shared_nsg_moves_with_first_vnet() -> None:
    units = units_of(
        {
            "nsgs": [{"name": "shared"}],
            "vnets": [
                {"name": "a", "subnets": [{"name": "s", "nsg": "shared"}]},
                {"name": "b", "subnets": [{"name": "s", "nsg": "shared"}]},
            ],
        }
    )
    assert "nsg:shared" in units["a"].resources
    assert "nsg:shared" not in units["b"].resources
    assert "shared" not in units.ids()  # attached, so not a unit of its own


def test_boot_diagnostics_account_goes_after_the_vm() -> None:
    units = units_of(
        {
            "storage_accounts": [{"name": "disks"}, {"name": "diag"}],
            "cloud_services": [
                {"name": "cs", "vms": [{"name": "v", "os_disk": {"storage_account": "disks"},
                                        "boot_diagnostics": "diag"}]}
            ],
        }
    )  # fmt: skip
    assert {(p.before, p.after) for p in units.precedences} == {("cs", "disks"), ("cs", "diag")}


def test_name_collision_qualifies_unit_ids() -> None:
    units = units_of({"nsgs": [{"name": "x"}], "route_tables": [{"name": "x"}]})
    assert set(units.ids()) == {"nsg:x", "route_table:x"}
    assert units.resolve("route_table:x") == "route_table:x"
    assert units.resolve("x") is None


def test_plan_precedence_cycle_names_the_units() -> None:
    estate = {"nsgs": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}
    plan = {"precedence": [
        {"before": "a", "after": "b"}, {"before": "b", "after": "c"}, {"before": "c", "after": "a"},
    ]}  # fmt: skip
    with pytest.raises(InputError) as info:
        units_of(estate, plan)
    assert info.value.key_path == "plan.precedence"
    assert "cycle" in info.value.message
    for name in "abc":
        assert name in info.value.message


def test_plan_precedence_cycle_through_platform_constraint() -> None:
    # The platform wants cs before st (disks); the planner asks for st before cs.
    estate = {
        "storage_accounts": [{"name": "st"}],
        "cloud_services": [
            {"name": "cs", "vms": [{"name": "v", "os_disk": {"storage_account": "st"}}]}
        ],
    }
    with pytest.raises(InputError, match=r"cs -> st -> cs|st -> cs -> st"):
        units_of(estate, {"precedence": [{"before": "st", "after": "cs"}]})


def test_plan_precedence_unknown_unit() -> None:
    with pytest.raises(InputError) as info:
        units_of({"nsgs": [{"name": "a"}]}, {"precedence": [{"before": "a", "after": "zz"}]})
    assert info.value.key_path == "plan.precedence[0].after"
    assert "'zz'" in info.value.message


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_respects_constraints(strategy: str) -> None:
    sc = load_scenario(CONTOSO)
    units = build_units(sc.estate, sc.plan)
    order = order_units(units, strategy)
    assert sorted(order) == sorted(units.ids())
    assert violations(units, order) == []


def test_smallest_first_puts_small_vnets_first() -> None:
    sc = load_scenario(CONTOSO)
    units = build_units(sc.estate, sc.plan)
    order = order_units(units, "smallest_first")
    assert order.index("vnet-shared") < order.index("cs-legacy") < order.index("vnet-prod")
    largest = order_units(units, "largest_first")
    assert largest.index("vnet-prod") < largest.index("cs-legacy")


def test_explicit_order_appends_the_rest_and_checks_constraints() -> None:
    sc = load_scenario(CONTOSO)
    units = build_units(sc.estate, sc.plan)
    order = order_units(units, ["cs-legacy", "stlegacy"])
    assert order[:2] == ["cs-legacy", "stlegacy"] and len(order) == len(units.units)
    with pytest.raises(InputError) as info:
        order_units(units, ["stlegacy", "cs-legacy"])
    assert info.value.key_path == "plan.ordering"
    assert "stlegacy" in info.value.message and "cs-legacy" in info.value.message
    with pytest.raises(InputError) as info:
        order_units(units, ["nope"])
    assert info.value.key_path == "plan.ordering[0]"
    with pytest.raises(InputError) as info:
        order_units(units, "fastest_first")
    assert info.value.key_path == "plan.ordering"
