"""The Azure AD Domain Services what-if (``plan.aadds_migration``, MIG008).

Without it a VNet holding domain services is blocked (the seed). With it the domain services'
prepare runs before the VNet's Validate, their commit after the VNet's Commit, and the managed
domain is out (window kind ``service``) from the end of its prepare to the end of its commit.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from test_engine import c, make, run, span, vm, vnet

from sim.model import rules
from sim.model.remedies import REMEDIES
from sim.model.scenario import Scenario
from sim.model.units import build_units
from sim.outputs.records import Replication, window_hours

ROOT = Path(__file__).resolve().parents[1]

ESTATE: dict[str, Any] = {
    "vnets": [vnet("v1", "web", services=[{"name": "corp-dc", "kind": "aad_domain_services"}])],
    "cloud_services": [
        {"name": "cs1", "vnet": "v1", "vms": [vm("a", subnets=["web"]), vm("b", subnets=["web"])]}
    ],
}


def scenario(**plan: Any) -> Scenario:
    return make(json.loads(json.dumps(ESTATE)), **plan)


def status(sc: Scenario) -> dict[str, str]:
    units = build_units(sc.estate, sc.plan)
    return rules.unit_status(rules.check(sc.estate, units, sc.plan), sc.plan, units)


def mig008(sc: Scenario) -> rules.Finding:
    units = build_units(sc.estate, sc.plan)
    return next(f for f in rules.check(sc.estate, units, sc.plan) if f.rule == "MIG008")


def service_windows(rep: Replication) -> list[tuple[float, float]]:
    return [(w.start, w.end) for w in rep.windows if w.kind == "service"]


def test_without_the_what_if_the_vnet_is_blocked() -> None:
    sc = scenario()
    assert mig008(sc).severity == "blocker"
    assert status(sc)["v1"] == "blocked"
    rep = run(sc)
    assert rep.outcome("v1").status == "not_migrated"
    assert service_windows(rep) == []


def test_with_the_what_if_the_finding_is_remediated() -> None:
    sc = scenario(aadds_migration=True)
    f = mig008(sc)
    assert f.severity == "remediate"
    assert "no Abort" in f.remediation
    assert status(sc)["v1"] == "remediate"
    # remediation: none turns every remediation into a blocker, this one too
    assert status(scenario(aadds_migration=True, remediation="none"))["v1"] == "blocked"


def test_outage_of_the_managed_domain_is_its_prepare_to_its_commit() -> None:
    sc = scenario(aadds_migration=True)
    rep = run(sc)
    assert rep.outcome("v1").status == "committed"
    prep = REMEDIES["MIG008"].remediate[0]
    commit = REMEDIES["MIG008"].restore[0]
    pre_start, pre_end = span(rep, "v1", "remediate:MIG008")
    assert pre_end - pre_start == prep
    v_start, _ = span(rep, "v1", "validate")
    assert v_start == pre_end  # the domain is prepared right before the VNet's Validate
    _, commit_end = span(rep, "v1", "commit")
    post_start, post_end = span(rep, "v1", "restore:MIG008")
    assert post_start == commit_end  # and committed right after the VNet's Commit
    assert post_end - post_start == commit
    assert service_windows(rep) == [(pre_end, post_end)]
    window = next(w for w in rep.windows if w.kind == "service")
    assert window.resource == "service:corp-dc"
    # exact: Validate, Prepare, Check and Commit of a 2-VM VNet, then the domain's commit
    expected = sum(c(sc, s, 2) for s in ("validate", "prepare", "commit")) + sc.plan.check
    assert post_end - pre_end == expected + commit
    # within the 1-3 hours Microsoft reported for the managed domain's outage
    assert 60.0 <= post_end - pre_end <= 180.0
    # it counts as service-hours down
    assert window_hours(rep.windows).service_hours_down == (post_end - pre_end) / 60.0


def migsim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def aadds_file(tmp_path: Path) -> Path:
    """The one-VNet estate with domain services as a scenario file, the what-if on."""
    estate = json.loads(json.dumps(ESTATE))
    estate["storage_accounts"] = [{"name": "st1"}]
    doc = {"name": "aadds", "estate": estate, "plan": {"aadds_migration": True}}
    path = tmp_path / "aadds.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_cli_validate_and_run(tmp_path: Path) -> None:
    path = aadds_file(tmp_path)
    checked = migsim("validate", str(path), "--format", "json", cwd=ROOT)
    assert checked.returncode == 0, checked.stderr
    found = [f for f in json.loads(checked.stdout)["findings"] if f["rule"] == "MIG008"]
    assert [(f["severity"], f["caught_at"]) for f in found] == [("remediate", "validate")]
    blocked = migsim("validate", str(path), "--set", "plan.aadds_migration=false", cwd=ROOT)
    assert blocked.returncode == 1
    ran = migsim("run", str(path), "--out", str(tmp_path / "r"), cwd=ROOT)
    assert ran.returncode == 0, ran.stderr
    with (tmp_path / "r" / "windows.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] == "service"]
    assert [r["resource"] for r in rows] == ["service:corp-dc"]


def test_runbook_says_there_is_no_way_back(tmp_path: Path) -> None:
    path = aadds_file(tmp_path)
    out = tmp_path / "rb.csv"
    done = migsim("runbook", str(path), "--out", str(out), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rollback = {(r["unit"], r["step_id"]): r["rollback"] for r in rows}
    assert [r["step_id"] for r in rows if r["unit"] == "v1"] == [
        "remediate:MIG008",
        "validate",
        "prepare",
        "check",
        "commit",
        "restore:MIG008",
    ]
    assert rollback[("v1", "remediate:MIG008")].startswith("No rollback")
    assert rollback[("v1", "prepare")].startswith("No Abort")
    assert rollback[("v1", "restore:MIG008")].startswith("No rollback")
    # the storage account's unit is unaffected: it can still be aborted
    assert rollback[("st1", "prepare")].startswith("Until Commit: Move-AzureStorageAccount -Abort")


def test_no_abort_once_the_domain_prepare_has_run() -> None:
    # Every Prepare fails; even with after_prepare: abort the VNet is never aborted: the Prepare
    # is retried as it is, and after the last attempt the unit stays locked (needs support).
    sc = scenario(
        aadds_migration=True,
        failures={"prepare": 1.0, "max_attempts": 3, "after_prepare": "abort", "retry_after": 7},
    )
    rep = run(sc)
    steps = [(e.step, e.outcome, e.attempt) for e in rep.events if e.unit == "v1"]
    assert not any(step == "abort" for step, _, _ in steps)
    assert [a for step, outcome, a in steps if step == "prepare" and outcome == "fail"] == [1, 2, 3]
    for k in (1, 2):
        _, failed = span(rep, "v1", "prepare", k)
        again, _ = span(rep, "v1", "prepare", k + 1)
        assert again - failed == 7.0
    out = rep.outcome("v1")
    assert out.status == "not_migrated"
    assert out.needs_support
    assert "cannot be rolled back" in out.reason
    # one lock from the first Prepare to the end of the run, and the domain stays out
    locks = [w for w in rep.windows if w.kind == "management" and w.resource == "vnet:v1"]
    assert len(locks) == 1
    assert locks[0].start == span(rep, "v1", "prepare", 1)[0]
    (outage,) = [w for w in rep.windows if w.kind == "service"]
    assert outage.end == locks[0].end == max(e.time for e in rep.events)
    # the domain's prepare is never rolled back
    assert not any(e.step == "restore:MIG008" for e in rep.events)


def test_a_check_problem_is_fixed_forward() -> None:
    sc = scenario(aadds_migration=True, failures={"check": 1.0, "max_attempts": 2})
    rep = run(sc)
    steps = [(e.step, e.outcome) for e in rep.events if e.unit == "v1"]
    assert ("check", "fail") in steps
    assert not any(step == "abort" for step, _ in steps)
    assert rep.outcome("v1").status == "committed"
    _, commit_end = span(rep, "v1", "commit")
    (outage,) = [w for w in rep.windows if w.kind == "service"]
    assert outage.end == commit_end + REMEDIES["MIG008"].restore[0]


def test_other_units_still_abort() -> None:
    # the no-abort rule belongs to the VNet with domain services, not to its neighbours
    estate = json.loads(json.dumps(ESTATE))
    estate["vnets"].append(vnet("v2", "app"))
    estate["cloud_services"].append(
        {"name": "cs2", "vnet": "v2", "vms": [vm("c", subnets=["app"])]}
    )
    sc = make(estate, aadds_migration=True, failures={"check": 1.0, "max_attempts": 2})
    rep = run(sc)
    assert [e.attempt for e in rep.events_of("v2", "abort", "start")] == [1, 2]
    assert rep.outcome("v2").status == "not_migrated"
    assert not rep.outcome("v2").needs_support
    assert rep.outcome("v1").status == "committed"


def test_runbook_check_offers_no_abort_once_the_domain_migration_began(tmp_path: Path) -> None:
    path = aadds_file(tmp_path)
    out = tmp_path / "rb.csv"
    assert migsim("runbook", str(path), "--out", str(out), cwd=ROOT).returncode == 0
    with out.open(encoding="utf-8") as fh:
        rows = {(r["unit"], r["step_id"]): r for r in csv.DictReader(fh)}
    assert "-Abort" not in rows[("v1", "check")]["command"]
    assert "no Abort" in rows[("v1", "check")]["command"]
    assert "-Abort" in rows[("st1", "check")]["command"]
