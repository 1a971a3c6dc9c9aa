"""MIG031-MIG035, the conditions of the platform's common-errors list: each fires on a minimal
estate and not on its near-miss; ``validate --format json`` reports them as ``rules.md`` lists
them; the remediations MIG031 and MIG035 run as pre-steps with their stated durations.

Estates are dicts around a default: VNet ``vnet-a`` (subnet ``s1``), storage account ``st1``, and
the cloud services a test passes in.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.engine.simulation import simulate
from sim.model import rules
from sim.model.plan import Plan
from sim.model.remedies import REMEDIES
from sim.model.rules import CATALOGUE, Finding
from sim.model.scenario import Scenario
from sim.model.units import build_units
from sim.outputs.records import Replication

RunRules = Callable[..., list[Finding]]  # the run_rules fixture of conftest.py

ROOT = Path(__file__).resolve().parents[1]
SHARED_RULES = ROOT.parent / "shared" / "domain" / "rules.md"
NEW_RULES = ("MIG031", "MIG032", "MIG033", "MIG034", "MIG035")


def vm(name: str = "vm-1", **fields: Any) -> dict[str, Any]:
    """A VM in subnet s1 with its OS disk in st1; ``fields`` override."""
    return {"name": name, "subnets": ["s1"], "os_disk": {"storage_account": "st1"}, **fields}


def cs(name: str = "cs-a", *vms: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A cloud service in vnet-a holding ``vms``; pass ``vnet=None`` for one outside VNets."""
    return {"name": name, "vnet": "vnet-a", "vms": list(vms), **fields}


def estate(*services: dict[str, Any]) -> dict[str, Any]:
    return {
        "subscription": "sub-a",
        "location": "West Europe",
        "vnets": [{"name": "vnet-a", "subnets": [{"name": "s1"}]}],
        "cloud_services": list(services),
        "storage_accounts": [{"name": "st1"}, {"name": "st2"}],
    }


def of(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def shapes(findings: list[Finding], rule: str) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(f.severity, f.unit, f.resources) for f in of(findings, rule)}


def disk(account: str = "st1", **fields: Any) -> dict[str, Any]:
    return {"storage_account": account, **fields}


# ---- the catalogue against the specification ----------------------------------------------------


def _spec_rows() -> dict[str, list[str]]:
    if not SHARED_RULES.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SHARED_RULES} is missing under CI")
        pytest.skip(f"the shared rule catalogue is not at {SHARED_RULES}")
    rows: dict[str, list[str]] = {}
    for line in SHARED_RULES.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| (MIG\d{3}) \|(.*)\|$", line)
        if m:
            rows[m.group(1)] = [cell.strip() for cell in m.group(2).split(" | ")]
    return rows


@pytest.mark.parametrize("rule", NEW_RULES)
def test_catalogue_entry_is_the_specifications_row(rule: str) -> None:
    title, severity, caught_at, remediation, window = _spec_rows()[rule]
    spec = CATALOGUE[rule]
    assert (spec.title, spec.severity, spec.caught_at) == (title, severity, caught_at)
    assert (spec.remediation, spec.window) == (remediation, window)


# ---- MIG031: extension status not reported -------------------------------------------------------


def test_mig031_fires_on_agent_not_ready_with_an_extension(run_rules: RunRules) -> None:
    found = run_rules(
        estate(cs("cs-a", vm("vm-1", agent_ready=False, extensions=["BGInfo/2.1", "VMAccess/2.0"])))
    )
    assert shapes(found, "MIG031") == {("remediate", "vnet-a", ("vm:vm-1",))}
    (finding,) = of(found, "MIG031")
    assert finding.caught_at == "validate"
    assert "VM vm-1" in finding.message and "guest agent does not report Ready" in finding.message
    assert "BGInfo/2.1, VMAccess/2.0" in finding.message
    assert finding.remediation.startswith("Restore status reporting")


def test_mig031_fires_on_an_unreported_extension_and_names_only_it(run_rules: RunRules) -> None:
    one = vm(
        "vm-1", extensions=["BGInfo/2.1", "VMAccess/2.0"], extensions_unreported=["VMAccess/2.0"]
    )
    found = run_rules(estate(cs("cs-a", one, vm("vm-2", extensions=["BGInfo/2.1"]))))
    assert shapes(found, "MIG031") == {("remediate", "vnet-a", ("vm:vm-1",))}
    message = of(found, "MIG031")[0].message
    assert "status of its extensions is not reported: VMAccess/2.0" in message
    assert "BGInfo" not in message


def test_mig031_unreported_extension_matches_its_installed_one_in_any_case(
    run_rules: RunRules,
) -> None:
    """Extension names match ignoring case, in the rules and in the check that an unreported
    extension is one the VM has: ``bginfo/2.1`` against ``BGInfo/2.1`` is that extension."""
    one = vm("vm-1", extensions=["BGInfo/2.1"], extensions_unreported=["bginfo/2.1"])
    found = run_rules(estate(cs("cs-a", one)))
    assert shapes(found, "MIG031") == {("remediate", "vnet-a", ("vm:vm-1",))}
    assert "not reported: bginfo/2.1" in of(found, "MIG031")[0].message


def test_mig031_outside_a_vnet_is_on_the_cloud_services_unit(run_rules: RunRules) -> None:
    loose = vm("vm-1", subnets=[], extensions=["X/1"], extensions_unreported=["X/1"])
    found = run_rules(estate(cs("cs-loose", loose, vnet=None)))
    assert shapes(found, "MIG031") == {("remediate", "cs-loose", ("vm:vm-1",))}


def test_mig031_near_miss_agent_not_ready_but_no_extensions(run_rules: RunRules) -> None:
    found = run_rules(
        estate(cs("cs-a", vm("vm-1", agent_ready=False), vm("vm-2", extensions=["X/1"])))
    )
    assert not of(found, "MIG031")


# ---- MIG032: blob size differs from the logical size ---------------------------------------------


def test_mig032_fires_on_a_data_disk_size_mismatch(run_rules: RunRules) -> None:
    data = [disk(size_gb=100), disk("st2", size_gb=100, blob="d1.vhd", blob_size_gb=128)]
    found = run_rules(estate(cs("cs-a", vm("vm-1", data_disks=data))))
    assert shapes(found, "MIG032") == {("note", "vnet-a", ("vm:vm-1", "storage_account:st2"))}
    (finding,) = of(found, "MIG032")
    assert finding.caught_at == "-"
    assert "data_disks[1] (logical size 100 GB, blob 128 GB" in finding.message
    assert "data_disks[0]" not in finding.message
    assert "migration proceeds but the Resource Manager disk gets no size" in finding.message
    assert "detach the disk, update its size to the blob's, re-attach" in finding.remediation
    assert not finding.blocks(Plan.model_validate({"remediation": "none"}))


@pytest.mark.parametrize(
    "near",
    [
        pytest.param({"data_disks": [disk(size_gb=128, blob_size_gb=128)]}, id="equal-sizes"),
        pytest.param({"data_disks": [disk(size_gb=128)]}, id="blob-size-unset"),
        pytest.param({"os_disk": disk(size_gb=127, blob_size_gb=130)}, id="os-disk-mismatch"),
    ],
)
def test_mig032_near_miss(run_rules: RunRules, near: dict[str, Any]) -> None:
    assert not of(run_rules(estate(cs("cs-a", vm("vm-1", **near)))), "MIG032")


# ---- MIG033: media link not reachable ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        pytest.param({"os_disk": disk(reachable=False, blob="os.vhd")}, "os_disk", id="os"),
        pytest.param({"data_disks": [disk("st2", reachable=False)]}, "data_disks[0]", id="data"),
    ],
)
def test_mig033_fires_on_an_unreachable_disk(
    run_rules: RunRules, fields: dict[str, Any], label: str
) -> None:
    found = run_rules(estate(cs("cs-a", vm("vm-1", **fields))))
    account = "st1" if label == "os_disk" else "st2"
    assert shapes(found, "MIG033") == {
        ("blocker", "vnet-a", ("vm:vm-1", f"storage_account:{account}"))
    }
    assert f"cannot be reached: {label} (" in of(found, "MIG033")[0].message


def test_mig033_near_miss_every_disk_reachable(run_rules: RunRules) -> None:
    found = run_rules(estate(cs("cs-a", vm("vm-1", data_disks=[disk(reachable=True)]))))
    assert not of(found, "MIG033")


# ---- MIG034: "/" in the blob name ----------------------------------------------------------------


def test_mig034_fires_on_a_slash_in_any_disks_blob_name(run_rules: RunRules) -> None:
    fields = {
        "os_disk": disk(blob="vhds/os.vhd"),
        "data_disks": [disk(blob="data.vhd"), disk("st2", blob="backup/2016/data.vhd")],
    }
    found = run_rules(estate(cs("cs-a", vm("vm-1", **fields))))
    assert shapes(found, "MIG034") == {
        ("blocker", "vnet-a", ("vm:vm-1", "storage_account:st1", "storage_account:st2"))
    }
    message = of(found, "MIG034")[0].message
    assert "os_disk (blob vhds/os.vhd in storage account st1)" in message
    assert "data_disks[1] (blob backup/2016/data.vhd in storage account st2)" in message
    assert "data.vhd in storage account st1" not in message


def test_mig034_near_miss_blob_name_without_slash(run_rules: RunRules) -> None:
    fields = {"os_disk": disk(blob="vm-1-os.vhd"), "data_disks": [disk(blob="d.1.vhd")]}
    assert not of(run_rules(estate(cs("cs-a", vm("vm-1", **fields)))), "MIG034")


# ---- MIG035: deployment outside the regional scope ----------------------------------------------


@pytest.mark.parametrize(("vnet", "unit"), [("vnet-a", "vnet-a"), (None, "cs-old")])
def test_mig035_fires_on_the_cloud_services_unit(
    run_rules: RunRules, vnet: str | None, unit: str
) -> None:
    one = vm("vm-1", subnets=["s1"] if vnet else [])
    found = run_rules(estate(cs("cs-old", one, vnet=vnet, regional_scope=False)))
    assert shapes(found, "MIG035") == {("remediate", unit, ("cloud_service:cs-old",))}
    (finding,) = of(found, "MIG035")
    assert finding.caught_at == "validate"
    assert "cloud service cs-old" in finding.message and "regional scope" in finding.message
    assert finding.remediation.startswith("Run any update operation on the deployment first")


def test_mig035_near_miss_regional_scope_or_no_deployment(run_rules: RunRules) -> None:
    found = run_rules(
        estate(cs("cs-a", vm("vm-1"), regional_scope=True), cs("cs-empty", regional_scope=False))
    )
    assert not of(found, "MIG035")


# ---- the CLI: validate --format json -------------------------------------------------------------

COMMON_ERRORS = {
    "name": "common-errors",
    "estate": {
        "subscription": "sub-a",
        "location": "West Europe",
        "vnets": [{"name": "vnet-a", "subnets": [{"name": "s1"}]}],
        "cloud_services": [
            {
                "name": "cs-a",
                "vnet": "vnet-a",
                "regional_scope": False,
                "vms": [
                    vm("agent", agent_ready=False, extensions=["BGInfo/2.1"]),
                    vm("sized", data_disks=[disk(size_gb=100, blob_size_gb=128)]),
                    vm("lost", data_disks=[disk(reachable=False)]),
                    vm("slash", os_disk=disk(blob="vhds/slash.vhd")),
                ],
            }
        ],
        "storage_accounts": [{"name": "st1"}],
    },
    "plan": {"seed": 1},
}


def test_cli_validate_json_reports_each_as_rules_md_lists_it(tmp_path: Path) -> None:
    path = tmp_path / "common-errors.yaml"
    path.write_text(yaml.safe_dump(COMMON_ERRORS, sort_keys=False), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # MIG033 and MIG034 block
    findings = json.loads(done.stdout)["findings"]
    got = {f["rule"]: (f["severity"], f["caught_at"], tuple(f["resources"])) for f in findings}
    assert got == {
        "MIG031": ("remediate", "validate", ("vm:agent",)),
        "MIG032": ("note", "-", ("vm:sized", "storage_account:st1")),
        "MIG033": ("blocker", "validate", ("vm:lost", "storage_account:st1")),
        "MIG034": ("blocker", "validate", ("vm:slash", "storage_account:st1")),
        "MIG035": ("remediate", "validate", ("cloud_service:cs-a",)),
    }
    spec = _spec_rows()
    for rule, (severity, caught_at, _) in got.items():
        assert [severity, caught_at] == spec[rule][1:3]


# ---- the engine: pre-steps under remediation auto, blocked under none ---------------------------


def simulate_dict(estate_: dict[str, Any], **plan: Any) -> Replication:
    sc = Scenario.model_validate({"name": "t", "estate": estate_, "plan": plan})
    units = build_units(sc.estate, sc.plan)
    found = rules.check(sc.estate, units, sc.plan)
    return simulate(sc.estate, units, sc.plan, found, deterministic=True)


def span(rep: Replication, unit: str, step: str) -> tuple[float, float]:
    start = next(
        e.time for e in rep.events if e.unit == unit and e.step == step and e.outcome == "start"
    )
    end = next(
        e.time for e in rep.events if e.unit == unit and e.step == step and e.outcome == "end"
    )
    return start, end


TO_REMEDIATE = estate(
    cs(
        "cs-a",
        vm("a", agent_ready=False, extensions=["BGInfo/2.1"]),
        vm("b", extensions=["X/1", "Y/1"], extensions_unreported=["Y/1"]),
        vm("c", data_disks=[disk(size_gb=10, blob_size_gb=12)]),  # MIG032: a note, no step
        regional_scope=False,
    )
)


def test_auto_runs_the_pre_steps_with_their_durations_then_migrates() -> None:
    rep = simulate_dict(TO_REMEDIATE, remediation="auto")
    # MIG031: 10 min + 5 min per affected VM (a, b); MIG035: 10 min for the deployment
    assert REMEDIES["MIG031"].remediate == (10.0, 5.0)
    assert REMEDIES["MIG035"].remediate == (10.0, 0.0)
    assert span(rep, "vnet-a", "remediate:MIG031") == (0.0, 20.0)
    assert span(rep, "vnet-a", "remediate:MIG035") == (20.0, 30.0)
    assert span(rep, "vnet-a", "validate")[0] == 30.0
    assert rep.outcome("vnet-a").migrated
    steps = {e.step for e in rep.events if e.unit == "vnet-a"}
    assert not any(s.startswith(("restore:", "remediate:MIG032")) for s in steps)
    # no window: restoring status reporting or updating a deployment takes nothing down
    assert [w for w in rep.windows if w.kind != "management"] == []


def test_auto_durations_follow_plan_remedies_overrides() -> None:
    rep = simulate_dict(
        TO_REMEDIATE, remediation="auto", remedies={"MIG031": {"remediate": {"base": "1h"}}}
    )
    assert span(rep, "vnet-a", "remediate:MIG031") == (0.0, 60.0)
    assert span(rep, "vnet-a", "validate")[0] == 70.0


def test_none_blocks_the_unit() -> None:
    rep = simulate_dict(TO_REMEDIATE, remediation="none")
    out = rep.outcome("vnet-a")
    assert not out.migrated and out.rules == ("MIG031", "MIG035")
    assert not any(e.step.startswith("remediate:") for e in rep.events)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"data_disks": [disk(reachable=False)]}, id="MIG033"),
        pytest.param({"os_disk": disk(blob="a/b.vhd")}, id="MIG034"),
    ],
)
def test_disk_blockers_stop_the_unit_even_under_auto(bad: dict[str, Any]) -> None:
    rep = simulate_dict(estate(cs("cs-a", vm("a", **bad))), remediation="auto")
    assert not rep.outcome("vnet-a").migrated
    assert not any(e.unit == "vnet-a" and e.step == "validate" for e in rep.events)
