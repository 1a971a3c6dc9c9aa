"""Every rule MIG001-MIG030: one estate that fires it, one near-miss that does not (MIG031-MIG035:
in ``test_rules_common_errors.py``).

Estates are built as dicts around a default: VNet ``vnet-a`` (subnets ``s1``, ``s2``), storage
account ``st1``, and the cloud services a test passes in.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sim.common.errors import InputError
from sim.model.estate import Estate
from sim.model.plan import Plan
from sim.model.rules import (
    CATALOGUE,
    RULES,
    SEVERITY_RANK,
    Finding,
    check,
    is_backup_extension,
    is_security_center_extension,
    is_site_recovery_extension,
    is_xml_extension,
    quota_needs,
    unit_status,
)
from sim.model.scenario import load_scenario
from sim.model.units import build_units

RunRules = Callable[..., list[Finding]]  # the run_rules fixture of conftest.py

# ---- building tiny estates ---------------------------------------------------------------------


def vm(name: str = "vm-1", **fields: Any) -> dict[str, Any]:
    """A VM in subnet s1 with its OS disk in st1; ``fields`` override."""
    return {"name": name, "subnets": ["s1"], "os_disk": {"storage_account": "st1"}, **fields}


def loose_vm(name: str = "vm-1", **fields: Any) -> dict[str, Any]:
    """A VM of a cloud service outside any VNet (no subnets)."""
    return vm(name, subnets=[], **fields)


def cs(name: str = "cs-a", *vms: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A cloud service in vnet-a holding ``vms``; pass ``vnet=None`` for one outside VNets."""
    return {"name": name, "vnet": "vnet-a", "vms": list(vms), **fields}


def estate(*services: dict[str, Any], **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "subscription": "sub-a",
        "location": "West Europe",
        "vnets": [{"name": "vnet-a", "subnets": [{"name": "s1"}, {"name": "s2"}]}],
        "cloud_services": list(services),
        "storage_accounts": [{"name": "st1"}],
    }
    return {**base, **fields}


def of(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def shapes(findings: list[Finding], rule: str) -> set[tuple[str, str, tuple[str, ...]]]:
    """``(severity, unit, resources)`` of every finding of ``rule``."""
    return {(f.severity, f.unit, f.resources) for f in of(findings, rule)}


# ---- the catalogue -------------------------------------------------------------------------------


def test_catalogue_and_rules_cover_mig001_to_mig035_in_order() -> None:
    ids = [f"MIG{i:03d}" for i in range(1, 36)]
    assert list(CATALOGUE) == ids
    assert list(RULES) == ids
    for rule_id, spec in CATALOGUE.items():
        assert spec.id == rule_id
        assert spec.severity in SEVERITY_RANK
        assert spec.caught_at in ("validate", "prepare", "plan", "-")
        assert spec.title and spec.remediation and spec.window
    for rule_id, fn in RULES.items():
        assert fn.__name__.startswith(rule_id.lower() + "_")
        assert inspect.getdoc(fn)


def test_catalogue_texts_follow_rules_md() -> None:
    assert CATALOGUE["MIG010"].caught_at == "prepare"
    assert CATALOGUE["MIG017"].severity == "dropped"
    assert CATALOGUE["MIG027"].caught_at == "plan"
    assert CATALOGUE["MIG012"].window == (
        "exposure window (no ACL filtering) from removal to re-creation"
    )
    assert CATALOGUE["MIG029"].title.startswith("Resource Manager quota (cores, NICs, public IPs")


# ---- MIG001-MIG004: roles and availability sets ------------------------------------------------


def test_mig001_fires_per_cloud_service_with_roles(run_rules: RunRules) -> None:
    roles = {
        "name": "cs-roles",
        "roles": [{"name": "w", "kind": "web"}, {"name": "k", "kind": "worker"}],
    }
    found = run_rules(estate(roles))
    assert shapes(found, "MIG001") == {
        ("blocker", "cs-roles", ("cloud_service:cs-roles", "role:cs-roles/w", "role:cs-roles/k"))
    }
    assert "cloud service cs-roles holds PaaS roles" in of(found, "MIG001")[0].message


def test_mig001_near_miss_vms_only(run_rules: RunRules) -> None:
    assert not of(run_rules(estate(cs("cs-a", vm()))), "MIG001")


def test_mig002_fires_on_two_availability_sets(run_rules: RunRules) -> None:
    found = run_rules(
        estate(cs("cs-a", vm("a", availability_set="as1"), vm("b", availability_set="as2")))
    )
    assert shapes(found, "MIG002") == {
        (
            "blocker",
            "vnet-a",
            ("cloud_service:cs-a", "availability_set:as1", "availability_set:as2"),
        )
    }


def test_mig002_near_miss_one_set_used_of_two_declared(run_rules: RunRules) -> None:
    service = cs(
        "cs-a",
        vm("a", availability_set="as1"),
        vm("b", availability_set="as1"),
        availability_sets=["as1", "as2"],
    )
    found = run_rules(estate(service))
    assert not of(found, "MIG002")
    assert not of(found, "MIG003")


def test_mig003_fires_on_vms_in_a_set_and_in_none(run_rules: RunRules) -> None:
    found = run_rules(estate(cs("cs-a", vm("a", availability_set="as1"), vm("b"), vm("c"))))
    assert shapes(found, "MIG003") == {
        ("blocker", "vnet-a", ("cloud_service:cs-a", "vm:b", "vm:c"))
    }
    assert "(a)" in of(found, "MIG003")[0].message


def test_mig003_near_miss_no_sets_at_all(run_rules: RunRules) -> None:
    assert not of(run_rules(estate(cs("cs-a", vm("a"), vm("b")))), "MIG003")


def test_mig004_fires_on_vnet_with_roles_and_vms(run_rules: RunRules) -> None:
    roles = cs("cs-roles", roles=[{"name": "w", "kind": "web"}])
    found = run_rules(estate(roles, cs("cs-vms", vm())))
    assert shapes(found, "MIG004") == {
        ("blocker", "vnet-a", ("vnet:vnet-a", "cloud_service:cs-roles"))
    }
    assert shapes(found, "MIG001") == {
        ("blocker", "vnet-a", ("cloud_service:cs-roles", "role:cs-roles/w"))
    }


def test_mig004_fires_on_one_cloud_service_with_both(run_rules: RunRules) -> None:
    both = cs("cs-both", vm(), roles=[{"name": "w", "kind": "worker"}])
    assert shapes(run_rules(estate(both)), "MIG004") == {
        ("blocker", "vnet-a", ("vnet:vnet-a", "cloud_service:cs-both"))
    }


def test_mig004_near_miss_roles_and_vms_in_different_vnets(run_rules: RunRules) -> None:
    data = estate(
        cs("cs-roles", vnet="vnet-b", roles=[{"name": "w", "kind": "web"}]),
        cs("cs-vms", vm()),
    )
    data["vnets"].append({"name": "vnet-b"})
    found = run_rules(data)
    assert not of(found, "MIG004")
    assert shapes(found, "MIG001") == {
        ("blocker", "vnet-b", ("cloud_service:cs-roles", "role:cs-roles/w"))
    }


# ---- MIG005-MIG009, MIG013: services in a VNet --------------------------------------------------

SERVICE_RULES = [
    ("MIG005", "app_service_environment", "blocker"),
    ("MIG006", "hdinsight", "blocker"),
    ("MIG007", "dynamics_lcs", "blocker"),
    ("MIG008", "aad_domain_services", "blocker"),
    ("MIG009", "api_management", "remediate"),
    ("MIG013", "application_gateway", "remediate"),
]


def with_services(*kinds: str) -> dict[str, Any]:
    data = estate()
    data["vnets"][0]["services"] = [{"name": f"svc-{k}", "kind": k} for k in kinds]
    return data


@pytest.mark.parametrize(("rule", "kind", "severity"), SERVICE_RULES)
def test_vnet_service_fires(run_rules: RunRules, rule: str, kind: str, severity: str) -> None:
    found = run_rules(with_services(kind))
    assert shapes(found, rule) == {(severity, "vnet-a", (f"service:svc-{kind}", "vnet:vnet-a"))}
    assert [f.rule for f in found] == [rule]


@pytest.mark.parametrize(("rule", "kind", "severity"), SERVICE_RULES)
def test_vnet_service_near_miss_other_kinds(
    run_rules: RunRules, rule: str, kind: str, severity: str
) -> None:
    others = [k for _, k, _ in SERVICE_RULES if k != kind]
    assert not of(run_rules(with_services(*others)), rule)


# ---- MIG010, MIG011, MIG030: gateways ------------------------------------------------------------


def with_gateways(*gateways: dict[str, Any], circuit_sub: str | None = None) -> dict[str, Any]:
    data = estate(expressroute_circuits=[{"name": "er1", "subscription": circuit_sub}])
    data["vnets"][0]["gateway"] = list(gateways)
    return data


ER = {"name": "gw-er", "kind": "expressroute", "circuit": "er1"}
VPN = {"name": "gw-vpn", "kind": "vpn"}


def test_mig010_fires_on_gateway_linked_to_circuit(run_rules: RunRules) -> None:
    found = run_rules(with_gateways(ER))
    assert shapes(found, "MIG010") == {
        ("remediate", "vnet-a", ("gateway:gw-er", "expressroute_circuit:er1"))
    }
    (finding,) = of(found, "MIG010")
    assert finding.caught_at == "prepare"
    assert "the circuit must move first" in finding.message
    assert "cross-subscription" not in finding.message
    assert "ordering" not in finding.message


@pytest.mark.parametrize(("circuit_sub", "cross"), [("sub-b", True), ("sub-a", False)])
def test_mig010_cross_subscription_link(run_rules: RunRules, circuit_sub: str, cross: bool) -> None:
    (finding,) = of(run_rules(with_gateways(ER, circuit_sub=circuit_sub)), "MIG010")
    assert ("cross-subscription authorization link" in finding.message) is cross
    assert ("loses connectivity from link removal to reconnection" in finding.message) is cross


def test_mig010_names_an_ordering_that_lists_the_vnet_first(run_rules: RunRules) -> None:
    found = run_rules(with_gateways(ER), {"ordering": ["vnet-a", "er1"]})
    (finding,) = of(found, "MIG010")
    assert "the plan's ordering lists vnet-a before er1: er1 must go first" in finding.message
    assert not of(found, "MIG027")


def test_mig010_near_miss_expressroute_gateway_without_circuit(run_rules: RunRules) -> None:
    found = run_rules(with_gateways({"name": "gw-er", "kind": "expressroute"}))
    assert not of(found, "MIG010")


def test_mig011_fires_on_expressroute_and_vpn_gateways(run_rules: RunRules) -> None:
    found = run_rules(with_gateways(ER, VPN))
    assert shapes(found, "MIG011") == {
        ("blocker", "vnet-a", ("vnet:vnet-a", "gateway:gw-er", "gateway:gw-vpn"))
    }
    assert of(found, "MIG011")[0].caught_at == "prepare"


@pytest.mark.parametrize("gateway", [ER, VPN])
def test_mig011_near_miss_one_gateway(run_rules: RunRules, gateway: dict[str, Any]) -> None:
    assert not of(run_rules(with_gateways(gateway)), "MIG011")


def test_mig030_fires_on_transit_vpn_gateway(run_rules: RunRules) -> None:
    found = run_rules(with_gateways({**VPN, "transit": True}))
    assert shapes(found, "MIG030") == {("note", "vnet-a", ("gateway:gw-vpn",))}


def test_mig030_near_miss_vpn_without_transit(run_rules: RunRules) -> None:
    assert not of(run_rules(with_gateways(VPN)), "MIG030")


# ---- MIG014: peering -----------------------------------------------------------------------------


@pytest.mark.parametrize("both_sides", [False, True])
def test_mig014_fires_once_per_end_of_a_peering(run_rules: RunRules, both_sides: bool) -> None:
    data = estate()
    data["vnets"][0]["peerings"] = ["vnet-b"]
    data["vnets"].append({"name": "vnet-b", "peerings": ["vnet-a"] if both_sides else []})
    assert shapes(run_rules(data), "MIG014") == {
        ("remediate", "vnet-a", ("vnet:vnet-a", "vnet:vnet-b")),
        ("remediate", "vnet-b", ("vnet:vnet-b", "vnet:vnet-a")),
    }


def test_mig014_near_miss_two_vnets_not_peered(run_rules: RunRules) -> None:
    data = estate()
    data["vnets"].append({"name": "vnet-b"})
    assert not of(run_rules(data), "MIG014")


# ---- MIG012, MIG015-MIG017, MIG019, MIG023: VM settings ------------------------------------------


def test_mig012_fires_on_endpoint_acls(run_rules: RunRules) -> None:
    found = run_rules(estate(cs("cs-a", vm("web-01", endpoint_acls=True))))
    assert shapes(found, "MIG012") == {("remediate", "vnet-a", ("vm:web-01",))}
    assert of(found, "MIG012")[0].message == "VM web-01 has endpoint ACLs"


def test_mig012_near_miss_no_acls(run_rules: RunRules) -> None:
    assert not of(run_rules(estate(cs("cs-a", vm("web-01")))), "MIG012")


def test_mig015_fires_on_two_subnets(run_rules: RunRules) -> None:
    found = run_rules(estate(cs("cs-a", vm(subnets=["s1", "s2"]))))
    assert shapes(found, "MIG015") == {
        ("remediate", "vnet-a", ("vm:vm-1", "subnet:vnet-a/s1", "subnet:vnet-a/s2"))
    }


def test_mig015_near_miss_one_subnet(run_rules: RunRules) -> None:
    assert not of(run_rules(estate(cs("cs-a", vm(subnets=["s2"])))), "MIG015")


def test_mig016_fires_on_vm_in_vnet_without_subnet(run_rules: RunRules) -> None:
    found = run_rules(estate(cs("cs-a", vm(subnets=[]))))
    assert shapes(found, "MIG016") == {("blocker", "vnet-a", ("vm:vm-1",))}


def test_mig016_near_miss_vm_outside_any_vnet(run_rules: RunRules) -> None:
    found = run_rules(estate(cs("cs-a", loose_vm(), vnet=None)))
    assert not of(found, "MIG016")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"alerts": True}, "alerts"),
        ({"autoscale": True}, "autoscale policies"),
        ({"alerts": True, "autoscale": True}, "alerts and autoscale policies"),
    ],
)
def test_mig017_fires_on_alerts_or_autoscale(
    run_rules: RunRules, fields: dict[str, Any], words: str
) -> None:
    found = run_rules(estate(cs("cs-a", vm(**fields))))
    assert shapes(found, "MIG017") == {("dropped", "vnet-a", ("vm:vm-1",))}
    assert f"VM vm-1 has {words};" in of(found, "MIG017")[0].message


def test_mig017_near_miss_neither(run_rules: RunRules) -> None:
    assert not of(run_rules(estate(cs("cs-a", vm()))), "MIG017")


def premium_estate(boot_to: str) -> dict[str, Any]:
    data = estate(cs("cs-a", vm(boot_diagnostics=boot_to)))
    data["storage_accounts"].append({"name": "stp", "sku": "Premium_LRS"})
    return data


def test_mig019_fires_on_premium_boot_diagnostics(run_rules: RunRules) -> None:
    found = run_rules(premium_estate("stp"))
    assert shapes(found, "MIG019") == {("remediate", "vnet-a", ("vm:vm-1", "storage_account:stp"))}


def test_mig019_near_miss_standard_boot_diagnostics(run_rules: RunRules) -> None:
    assert not of(run_rules(premium_estate("st1")), "MIG019")


@pytest.mark.parametrize("state", ["RoleStateUnknown", "ProvisioningTimedOut"])
def test_mig023_fires_on_stuck_state(run_rules: RunRules, state: str) -> None:
    found = run_rules(estate(cs("cs-a", vm(state=state))))
    assert shapes(found, "MIG023") == {("blocker", "vnet-a", ("vm:vm-1",))}
    (finding,) = of(found, "MIG023")
    assert state in finding.message
    assert ("Delete and re-create VM vm-1" in finding.remediation) is (
        state == "ProvisioningTimedOut"
    )


@pytest.mark.parametrize("state", ["Running", "Stopped", "StoppedDeallocated"])
def test_mig023_near_miss_settled_state(run_rules: RunRules, state: str) -> None:
    assert not of(run_rules(estate(cs("cs-a", vm(state=state)))), "MIG023")


# ---- MIG018, MIG020-MIG022: extensions -----------------------------------------------------------

EXTENSION_CASES = [
    (
        "MIG018",
        is_xml_extension,
        [
            "BGInfo/1.*",
            "bginfo/1.x",
            "BGInfo/1",
            "BGInfo/1.5",
            "Microsoft.Compute.BGInfo/1.*",
            "VS14CTPDebugger/1.0",
            "VSRemoteDebugger",
            "RemoteDebugVS2015/1.*",
            "WebDeployForVSDevTest/1.*",
        ],
        ["BGInfo/2.*", "BGInfo/2.1", "BGInfo", "BGInfo/10.0", "IaaSAntimalware/1.*"],
    ),
    (
        "MIG020",
        is_security_center_extension,
        [
            "AzureSecurityWindowsAgent/1.*",
            "azuresecuritylinuxagent",
            "SecurityCenterAgent/2.0",
            "Microsoft.Azure.Security.Monitoring/1.0",
        ],
        ["IaaSAntimalware/1.*", "Microsoft.Azure.Security.IaaSAntimalware/1.5", "BGInfo/2.*"],
    ),
    (
        "MIG021",
        is_backup_extension,
        ["VMSnapshot/1.*", "VMSnapshotLinux/1.0", "vmsnapshot"],
        ["VMAccessAgent/2.*", "SnapshotTool/1.0", "VMSnapshotAgent"],
    ),
    (
        "MIG022",
        is_site_recovery_extension,
        [
            "SiteRecovery/1.0",
            "Microsoft.Azure.RecoveryServices.SiteRecovery.Windows",
            "InMageAgent",
        ],
        ["RecoveryAgent/1.0", "VMSnapshot/1.*", "Mage/1.0"],
    ),
]


@pytest.mark.parametrize(
    ("rule", "ext"), [(rule, ext) for rule, _, hits, _ in EXTENSION_CASES for ext in hits]
)
def test_extension_rule_fires(run_rules: RunRules, rule: str, ext: str) -> None:
    found = run_rules(estate(cs("cs-a", vm(extensions=["CustomScriptExtension/1.9", ext]))))
    assert shapes(found, rule) == {("remediate", "vnet-a", ("vm:vm-1",))}
    (finding,) = of(found, rule)
    assert ext in finding.message
    assert "CustomScriptExtension" not in finding.message


@pytest.mark.parametrize(
    ("rule", "ext"), [(rule, ext) for rule, _, _, misses in EXTENSION_CASES for ext in misses]
)
def test_extension_rule_near_miss(run_rules: RunRules, rule: str, ext: str) -> None:
    assert not of(run_rules(estate(cs("cs-a", vm(extensions=[ext])))), rule)


def test_extension_rule_is_one_finding_per_vm() -> None:
    data = estate(cs("cs-a", vm(extensions=["BGInfo/1.*", "WebDeploy/1.0"]), vm("vm-2")))
    parsed = Estate.model_validate(data)
    found = check(parsed, build_units(parsed), Plan())
    (finding,) = of(found, "MIG018")
    assert finding.message == "VM vm-1 has XML extensions: BGInfo/1.*, WebDeploy/1.0"


def test_extension_matchers_agree_with_the_cases() -> None:
    for _, match, hits, misses in EXTENSION_CASES:
        assert all(match(e) for e in hits)
        assert not any(match(e) for e in misses)


# ---- MIG024-MIG026: notes ------------------------------------------------------------------------


def test_mig024_one_note_per_unit_with_rbac(run_rules: RunRules) -> None:
    data = estate(cs("cs-a", vm(), rbac_assignments=2), cs("cs-b", loose_vm("vm-2"), vnet=None))
    data["vnets"][0]["rbac_assignments"] = 3
    data["storage_accounts"][0]["rbac_assignments"] = 1
    found = run_rules(data)
    assert shapes(found, "MIG024") == {
        ("note", "vnet-a", ("vnet:vnet-a", "cloud_service:cs-a")),
        ("note", "st1", ("storage_account:st1",)),
    }
    by_unit = {f.unit: f.message for f in of(found, "MIG024")}
    assert by_unit["vnet-a"].startswith("5 classic role assignments on VNet vnet-a (3)")
    assert by_unit["st1"].startswith("1 classic role assignment on storage account st1;")


def test_mig024_near_miss_no_assignments(run_rules: RunRules) -> None:
    assert not of(run_rules(estate(cs("cs-a", vm()))), "MIG024")


@pytest.mark.parametrize("reserved", [True, False])
def test_mig025_fires_on_cloud_service_outside_vnets(run_rules: RunRules, reserved: bool) -> None:
    fields = {"reserved_ip": "rip-1"} if reserved else {}
    data = estate(cs("cs-old", loose_vm("old-1"), loose_vm("old-2"), vnet=None, **fields))
    data["reserved_ips"] = [{"name": "rip-1"}]
    found = run_rules(data)
    assert shapes(found, "MIG025") == {("note", "cs-old", ("cloud_service:cs-old",))}
    (finding,) = of(found, "MIG025")
    assert "stops, deallocates and starts its 2 VMs (old-1, old-2)" in finding.message
    assert "internal IPs change" in finding.message
    assert ("reserved IP rip-1" in finding.message) is reserved
    assert ("no reserved IP" in finding.message) is not reserved


def test_mig025_near_miss_in_vnet_or_without_vms(run_rules: RunRules) -> None:
    roles_only = cs("cs-roles", vnet=None, roles=[{"name": "w", "kind": "web"}])
    assert not of(run_rules(estate(cs("cs-a", vm()), roles_only)), "MIG025")


@pytest.mark.parametrize("content", ["images", "unattached_disks"])
def test_mig026_fires_on_images_or_unattached_disks(run_rules: RunRules, content: str) -> None:
    data = estate()
    data["storage_accounts"].append({"name": "st-img", "contents": ["blobs", content]})
    assert shapes(run_rules(data), "MIG026") == {("note", "st-img", ("storage_account:st-img",))}


def test_mig026_near_miss_plain_data(run_rules: RunRules) -> None:
    data = estate()
    data["storage_accounts"].append(
        {"name": "st-data", "contents": ["blobs", "files", "tables", "queues"]}
    )
    assert not of(run_rules(data), "MIG026")


# ---- MIG027: storage ordering --------------------------------------------------------------------


def test_mig027_fires_when_storage_is_listed_before_its_vms(run_rules: RunRules) -> None:
    found = run_rules(estate(cs("cs-a", vm())), {"ordering": ["st1"]})
    assert shapes(found, "MIG027") == {("blocker", "st1", ("storage_account:st1", "vnet:vnet-a"))}
    (finding,) = of(found, "MIG027")
    assert finding.caught_at == "plan"
    assert "lists storage account st1 before VNet vnet-a" in finding.message
    assert "holds disks of VM vm-1" in finding.message


def test_mig027_fires_for_boot_diagnostics_and_names_each_unit(run_rules: RunRules) -> None:
    data = estate(
        cs("cs-a", vm(boot_diagnostics="st-diag")),
        cs("cs-old", loose_vm("old-1", os_disk={"storage_account": "st-diag"}), vnet=None),
    )
    data["storage_accounts"].append({"name": "st-diag"})
    found = run_rules(data, {"ordering": ["st-diag", "st1"]})
    assert shapes(found, "MIG027") == {
        ("blocker", "st-diag", ("storage_account:st-diag", "vnet:vnet-a")),
        ("blocker", "st-diag", ("storage_account:st-diag", "cloud_service:cs-old")),
        ("blocker", "st1", ("storage_account:st1", "vnet:vnet-a")),
    }


@pytest.mark.parametrize("ordering", [["vnet-a", "st1"], ["vnet-a"], "as_listed", "largest_first"])
def test_mig027_near_miss_orders_that_respect_storage_last(
    run_rules: RunRules, ordering: Any
) -> None:
    found = run_rules(estate(cs("cs-a", vm()), cs("cs-b", vm("vm-2"))), {"ordering": ordering})
    assert not of(found, "MIG027")


def test_mig027_ignores_the_plans_own_precedences(run_rules: RunRules) -> None:
    # st2 holds no disks; the plan's own "st2 before st1" is broken by the list, but that is not
    # a platform rule (``migsim run`` refuses the list; validate reports no MIG027 for it).
    data = estate(cs("cs-a", vm()))
    data["storage_accounts"].append({"name": "st2"})
    plan = {"ordering": ["vnet-a", "st1", "st2"], "precedence": [{"before": "st2", "after": "st1"}]}
    assert not of(run_rules(data, plan), "MIG027")


def test_mig027_unknown_unit_in_the_list_raises(run_rules: RunRules) -> None:
    with pytest.raises(InputError) as err:
        run_rules(estate(cs("cs-a", vm())), {"ordering": ["st1", "nope"]})
    assert err.value.loc == ("plan", "ordering", 1)


# ---- MIG028, MIG029: scale -----------------------------------------------------------------------


def bulk(count: int) -> dict[str, Any]:
    return estate(cs("cs-a", *(vm(f"vm-{i:03d}") for i in range(count))))


def test_mig028_fires_above_400_vms(run_rules: RunRules) -> None:
    assert shapes(run_rules(bulk(401)), "MIG028") == {("note", "vnet-a", ("vnet:vnet-a",))}


def test_mig028_near_miss_exactly_400(run_rules: RunRules) -> None:
    assert not of(run_rules(bulk(400)), "MIG028")


def quota_estate(**quotas: int) -> dict[str, Any]:
    """Two units carry VMs: vnet-a (2 VMs, one with two subnets and a public IP) before cs-old."""
    data = estate(
        cs("cs-a", vm("a", size="Standard_D2_v2", subnets=["s1", "s2"], public_ip=True), vm("b")),
        cs("cs-old", loose_vm("c", cores=3), vnet=None, reserved_ip="rip-1"),
        quotas=quotas,
    )
    data["nsgs"] = [{"name": "nsg-1"}]
    data["route_tables"] = [{"name": "rt-1"}, {"name": "rt-2"}]
    data["reserved_ips"] = [{"name": "rip-1"}, {"name": "rip-2"}]
    return data


def test_quota_needs_follow_the_documented_assumptions() -> None:
    needs = {k: n for k, (n, _) in quota_needs(Estate.model_validate(quota_estate())).items()}
    assert needs == {
        "cores": 2 + 1 + 3,
        "nics": 2 + 1 + 1,
        "public_ips": 2 + 1,
        "static_public_ips": 2,
        "load_balancers": 2,
        "nsgs": 1,
        "route_tables": 2,
    }


@pytest.mark.parametrize(
    ("key", "quota", "unit", "words"),
    [
        ("cores", 5, "vnet-a", "needs 6 cores, quota is 5"),
        ("nics", 3, "vnet-a", "needs 4 NICs, quota is 3"),
        ("public_ips", 0, "vnet-a", "needs 3 public IPs, quota is 0"),
        ("static_public_ips", 1, "cs-old", "needs 2 static public IPs, quota is 1"),
        ("load_balancers", 1, "vnet-a", "needs 2 load balancers, quota is 1"),
        ("nsgs", 0, "nsg-1", "needs 1 NSGs, quota is 0"),
        ("route_tables", 1, "rt-1", "needs 2 route tables, quota is 1"),
    ],
)
def test_mig029_fires_per_exceeded_quota(
    run_rules: RunRules, key: str, quota: int, unit: str, words: str
) -> None:
    found = run_rules(quota_estate(**{key: quota}))
    assert shapes(found, "MIG029") == {("blocker", unit, ())}
    (finding,) = of(found, "MIG029")
    assert words in finding.message
    assert finding.caught_at == "prepare"


def test_mig029_near_miss_quotas_just_enough(run_rules: RunRules) -> None:
    enough = {"cores": 6, "nics": 4, "public_ips": 3, "static_public_ips": 2}
    enough |= {"load_balancers": 2, "nsgs": 1, "route_tables": 2}
    assert not of(run_rules(quota_estate(**enough)), "MIG029")


def test_mig029_near_miss_no_quotas(run_rules: RunRules) -> None:
    data = quota_estate()
    del data["quotas"]
    assert not of(run_rules(data), "MIG029")


# ---- check and unit_status -----------------------------------------------------------------------


def test_findings_are_sorted_and_carry_catalogue_facts(run_rules: RunRules) -> None:
    data = estate(
        cs("cs-a", vm(endpoint_acls=True, alerts=True, state="RoleStateUnknown")),
        cs("cs-old", loose_vm("old-1", extensions=["VMSnapshot"]), vnet=None),
    )
    found = run_rules(data)
    assert [(f.rule, f.unit) for f in found] == [
        ("MIG023", "vnet-a"),
        ("MIG012", "vnet-a"),
        ("MIG021", "cs-old"),
        ("MIG017", "vnet-a"),
        ("MIG025", "cs-old"),
    ]
    for f in found:
        spec = CATALOGUE[f.rule]
        assert (f.severity, f.caught_at) == (spec.severity, spec.caught_at)
        assert f.remediation.startswith(spec.remediation)


@pytest.mark.parametrize(
    ("remediation", "acl_status"), [("auto", "remediate"), ("none", "blocked")]
)
def test_unit_status_every_unit_blocked_remediate_or_clean(
    remediation: str, acl_status: str
) -> None:
    data = estate(
        cs("cs-a", vm(endpoint_acls=True)),
        cs("cs-old", loose_vm("old-1", alerts=True), vnet=None),
        cs("cs-bad", loose_vm("bad-1", state="ProvisioningTimedOut"), vnet=None),
    )
    parsed = Estate.model_validate(data)
    units = build_units(parsed)
    plan = Plan.model_validate({"remediation": remediation})
    status = unit_status(check(parsed, units, plan), plan, units)
    assert status == {"vnet-a": acl_status, "cs-old": "clean", "cs-bad": "blocked", "st1": "clean"}


# ---- contoso -------------------------------------------------------------------------------------


def test_contoso_findings(repo_root: Path) -> None:
    scenario = load_scenario(repo_root / "scenarios" / "contoso.yaml")
    units = build_units(scenario.estate, scenario.plan)
    found = check(scenario.estate, units, scenario.plan)
    assert ("remediate", "vnet-prod", ("vm:web-01",)) in shapes(found, "MIG012")
    assert shapes(found, "MIG013") == {
        ("remediate", "vnet-prod", ("service:appgw-prod", "vnet:vnet-prod"))
    }
    assert shapes(found, "MIG014") == {
        ("remediate", "vnet-prod", ("vnet:vnet-prod", "vnet:vnet-shared")),
        ("remediate", "vnet-shared", ("vnet:vnet-shared", "vnet:vnet-prod")),
    }
    assert shapes(found, "MIG025") == {("note", "cs-legacy", ("cloud_service:cs-legacy",))}
    assert "reserved IP rip-legacy" in of(found, "MIG025")[0].message
    assert not of(found, "MIG027")


def test_docs_list_every_rule() -> None:
    from pathlib import Path

    from sim.model.rules import CATALOGUE

    text = (Path(__file__).resolve().parents[1] / "docs" / "rules.md").read_text()
    for rule_id, spec in CATALOGUE.items():
        assert f"| {rule_id} | {spec.title} | {spec.severity} |" in text


def test_mig010_same_subscription_never_blocks_but_cross_subscription_can(
    run_rules: RunRules,
) -> None:
    estate = {
        "subscription": "own",
        "expressroute_circuits": [{"name": "er-own"}, {"name": "er-far", "subscription": "other"}],
        "vnets": [
            {"name": "a", "gateway": {"name": "gw-a", "kind": "expressroute", "circuit": "er-own"}},
            {"name": "b", "gateway": {"name": "gw-b", "kind": "expressroute", "circuit": "er-far"}},
        ],
    }
    plan = Plan.model_validate({"remediation": "none"})
    findings = {f.unit: f for f in run_rules(estate, {"remediation": "none"}) if f.rule == "MIG010"}
    assert not findings["a"].blocks(plan)
    assert findings["b"].blocks(plan)
