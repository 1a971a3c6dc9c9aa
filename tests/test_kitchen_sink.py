"""scenarios/kitchen-sink.yaml fires every rule, and exactly the findings its comments announce."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.common.errors import InputError
from sim.model.ordering import order_units
from sim.model.rules import CATALOGUE, Finding, check, unit_status
from sim.model.scenario import Scenario, load_scenario
from sim.model.units import MigrationUnits, build_units

# (rule, unit, resources), worked out from the scenario file block by block.
EXPECTED: set[tuple[str, str, tuple[str, ...]]] = {
    # vnet-app: cloud services cs-app, cs-avsets, cs-mixed
    (
        "MIG002",
        "vnet-app",
        ("cloud_service:cs-avsets", "availability_set:as-one", "availability_set:as-two"),
    ),
    ("MIG003", "vnet-app", ("cloud_service:cs-mixed", "vm:mix-2")),
    ("MIG012", "vnet-app", ("vm:app-acl",)),
    ("MIG015", "vnet-app", ("vm:app-multinic", "subnet:vnet-app/front", "subnet:vnet-app/back")),
    ("MIG016", "vnet-app", ("vm:app-nosubnet",)),
    ("MIG017", "vnet-app", ("vm:app-alerts",)),
    ("MIG018", "vnet-app", ("vm:app-xml",)),
    ("MIG019", "vnet-app", ("vm:app-bootdiag", "storage_account:st-premium")),
    ("MIG020", "vnet-app", ("vm:app-defender",)),
    ("MIG021", "vnet-app", ("vm:app-backup",)),
    ("MIG022", "vnet-app", ("vm:app-asr",)),
    ("MIG023", "vnet-app", ("vm:app-stuck",)),
    ("MIG024", "vnet-app", ("vnet:vnet-app", "cloud_service:cs-app")),
    ("MIG031", "vnet-app", ("vm:app-agent",)),
    ("MIG032", "vnet-app", ("vm:app-resized", "storage_account:st-app")),
    ("MIG033", "vnet-app", ("vm:app-lostdisk", "storage_account:st-app")),
    ("MIG034", "vnet-app", ("vm:app-slash", "storage_account:st-app")),
    ("MIG035", "vnet-app", ("cloud_service:cs-mixed",)),
    # the first unit that carries VMs takes the cores shortfall
    ("MIG029", "vnet-app", ()),
    # vnet-paas
    (
        "MIG001",
        "vnet-paas",
        ("cloud_service:cs-roles", "role:cs-roles/web-role", "role:cs-roles/worker-role"),
    ),
    ("MIG004", "vnet-paas", ("vnet:vnet-paas", "cloud_service:cs-roles")),
    # vnet-platform
    ("MIG005", "vnet-platform", ("service:ase-web", "vnet:vnet-platform")),
    ("MIG006", "vnet-platform", ("service:hdi-analytics", "vnet:vnet-platform")),
    ("MIG007", "vnet-platform", ("service:lcs-erp", "vnet:vnet-platform")),
    ("MIG008", "vnet-platform", ("service:aadds-corp", "vnet:vnet-platform")),
    ("MIG009", "vnet-platform", ("service:apim-public", "vnet:vnet-platform")),
    ("MIG013", "vnet-platform", ("service:appgw-front", "vnet:vnet-platform")),
    # gateways
    ("MIG010", "vnet-dualgw", ("gateway:gw-dual-er", "expressroute_circuit:er-local")),
    ("MIG011", "vnet-dualgw", ("vnet:vnet-dualgw", "gateway:gw-dual-er", "gateway:gw-dual-vpn")),
    ("MIG010", "vnet-xsub", ("gateway:gw-xsub", "expressroute_circuit:er-partner")),
    ("MIG014", "vnet-hub", ("vnet:vnet-hub", "vnet:vnet-spoke")),
    ("MIG014", "vnet-spoke", ("vnet:vnet-spoke", "vnet:vnet-hub")),
    ("MIG030", "vnet-spoke", ("gateway:gw-spoke",)),
    # vnet-bulk
    ("MIG028", "vnet-bulk", ("vnet:vnet-bulk",)),
    # cs-classic, outside any VNet; rip-classic is the first reserved IP (static public IPs)
    ("MIG025", "cs-classic", ("cloud_service:cs-classic",)),
    ("MIG029", "cs-classic", ()),
    # storage
    ("MIG027", "st-early", ("storage_account:st-early", "cloud_service:cs-classic")),
    ("MIG024", "st-images", ("storage_account:st-images",)),
    ("MIG026", "st-images", ("storage_account:st-images",)),
}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    path = Path(__file__).resolve().parent.parent / "scenarios" / "kitchen-sink.yaml"
    return load_scenario(path)


@pytest.fixture(scope="module")
def units(scenario: Scenario) -> MigrationUnits:
    return build_units(scenario.estate, scenario.plan)


@pytest.fixture(scope="module")
def findings(scenario: Scenario, units: MigrationUnits) -> list[Finding]:
    return check(scenario.estate, units, scenario.plan)


def test_every_rule_fires(findings: list[Finding]) -> None:
    assert {f.rule for f in findings} == set(CATALOGUE)


def test_exactly_the_expected_findings(findings: list[Finding]) -> None:
    got = [(f.rule, f.unit, f.resources) for f in findings]
    assert len(got) == len(set(got)), "a finding is reported twice"
    assert set(got) == EXPECTED


def test_messages_carry_the_specifics(findings: list[Finding]) -> None:
    by_key = {(f.rule, f.unit): f.message for f in findings}
    xsub = by_key["MIG010", "vnet-xsub"]
    assert "cross-subscription authorization link" in xsub
    assert "the plan's ordering lists vnet-xsub before er-partner" in xsub
    assert "cross-subscription" not in by_key["MIG010", "vnet-dualgw"]
    assert "needs 423 cores, quota is 100" in by_key["MIG029", "vnet-app"]
    assert "needs 2 static public IPs, quota is 1" in by_key["MIG029", "cs-classic"]
    assert "VNet vnet-bulk holds 401 VMs" in by_key["MIG028", "vnet-bulk"]
    assert "reserved IP rip-classic" in by_key["MIG025", "cs-classic"]
    assert "IaaSDiagnostics/1.*" in by_key["MIG031", "vnet-app"]
    assert "logical size 100 GB, blob 128 GB" in by_key["MIG032", "vnet-app"]
    assert "blob vhds/app-slash.vhd" in by_key["MIG034", "vnet-app"]


def test_unit_status(scenario: Scenario, units: MigrationUnits, findings: list[Finding]) -> None:
    status = unit_status(findings, scenario.plan, units)
    assert list(status) == units.ids()
    blocked = {u for u, s in status.items() if s == "blocked"}
    remediate = {u for u, s in status.items() if s == "remediate"}
    assert blocked == {
        "vnet-app",
        "vnet-paas",
        "vnet-platform",
        "vnet-dualgw",
        "cs-classic",
        "st-early",
    }
    assert remediate == {"vnet-xsub", "vnet-hub", "vnet-spoke"}


def test_run_refuses_the_explicit_ordering(scenario: Scenario, units: MigrationUnits) -> None:
    with pytest.raises(InputError) as err:
        order_units(units, scenario.plan.ordering)
    assert err.value.loc == ("plan", "ordering")
