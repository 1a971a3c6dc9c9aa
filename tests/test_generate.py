"""Synthetic estates (sim.importers.generate) and the benchmark harness's smoke run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from sim.experiments.run import run_scenario
from sim.importers.generate import (
    MAX_VMS_PER_VNET,
    estate_to_yaml,
    generate_estate,
    scenario_yaml,
)
from sim.model.estate import Estate
from sim.model.scenario import load_estate, load_scenario
from sim.model.units import build_units
from sim.model.validation import validate_scenario

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def estate_1000() -> Estate:
    return generate_estate(1000, seed=3)


def _vms(estate: Estate) -> int:
    return sum(len(cs.vms) for cs in estate.cloud_services)


def test_same_seed_same_yaml_different_seed_different() -> None:
    a = estate_to_yaml(generate_estate(300, seed=5))
    b = estate_to_yaml(generate_estate(300, seed=5))
    c = estate_to_yaml(generate_estate(300, seed=6))
    assert a == b
    assert a != c


@pytest.mark.parametrize("vms", [1, 2, 7, 149, 150, 999, 2500])
def test_vm_count_is_exact(vms: int) -> None:
    assert _vms(generate_estate(vms, seed=1)) == vms


def test_yaml_loads_back_equal(tmp_path: Path, estate_1000: Estate) -> None:
    path = tmp_path / "estate.yaml"
    path.write_text(estate_to_yaml(estate_1000), encoding="utf-8")
    assert load_estate(path) == estate_1000


def test_yaml_leaves_defaults_out(estate_1000: Estate) -> None:
    text = estate_to_yaml(estate_1000)
    assert "priority:" not in text  # a default (None) is never written
    assert "endpoint_acls: false" not in text
    assert "state: Running" not in text


def test_shape_of_the_estate(estate_1000: Estate) -> None:
    e = estate_1000
    assert len(e.vnets) == 1000 // 150
    in_vnet = sum(len(cs.vms) for cs in e.cloud_services if cs.vnet)
    assert 0.8 <= in_vnet / 1000 <= 0.9
    assert all(1 <= len(cs.vms) <= 8 for cs in e.cloud_services if cs.vms)
    for cs in e.cloud_services:
        sets = {vm.availability_set for vm in cs.vms}
        if len(cs.vms) == 1:
            assert sets == {None}
    vms = [vm for cs in e.cloud_services for vm in cs.vms]
    assert all(1 <= len(vm.disks) <= 4 for vm in vms)
    per_account = Counter(d.storage_account for vm in vms for d in vm.disks)
    assert len(per_account) >= 1000 // 40
    assert any(a.premium for a in e.storage_accounts)
    assert e.nsgs and e.reserved_ips
    for kind in (e.vnets, e.cloud_services, e.storage_accounts, e.nsgs, e.reserved_ips):
        names = [x.name for x in kind]
        assert len(names) == len(set(names))
    names = [vm.name for vm in vms]
    assert len(names) == len(set(names))


def test_vnet_sizes_follow_the_platform() -> None:
    units = build_units(generate_estate(20_000, seed=2))
    sizes = [u.vm_count for u in units.units if u.kind == "vnet"]
    assert len(sizes) == 20_000 // 150
    assert min(sizes) >= 10
    assert max(sizes) <= 400  # a few tens to a few hundred VMs; MIG028 (>400) never by default


def test_gateways_route_tables_and_peerings_appear() -> None:
    e = generate_estate(6000, seed=4)
    assert e.expressroute_circuits
    assert any(gw.circuit for v in e.vnets for gw in v.gateways)
    assert any(gw.kind == "vpn" for v in e.vnets for gw in v.gateways)
    assert any(s.route_table for v in e.vnets for s in v.subnets)
    assert any(v.peerings for v in e.vnets)


def test_too_few_vnets_is_refused() -> None:
    with pytest.raises(ValueError, match="2048 VMs"):
        generate_estate(5000, vnets=1)
    assert len(generate_estate(5000, vnets=3).vnets) == 3
    assert MAX_VMS_PER_VNET == 2048


def test_no_vnets() -> None:
    e = generate_estate(50, vnets=0)
    assert not e.vnets
    assert all(cs.vnet is None for cs in e.cloud_services)


@pytest.mark.parametrize(
    "bad", [{"vms": 0}, {"vms": 10, "rule_share": 1.5}, {"vms": 10, "seed": -1}]
)
def test_bad_arguments(bad: dict[str, int | float]) -> None:
    with pytest.raises(ValueError):
        generate_estate(**bad)  # type: ignore[arg-type]


def test_rule_share_zero_gives_no_blocker(tmp_path: Path) -> None:
    estate = generate_estate(2000, seed=9, rule_share=0.0)
    path = tmp_path / "s.yaml"
    path.write_text(scenario_yaml(estate, "clean-synthetic", None), encoding="utf-8")
    report = validate_scenario(load_scenario(path))
    assert not report.blocked
    rules = {f.rule for f in report.findings}
    # What is left: notes, peerings, same-subscription ExpressRoute ordering, dropped nothing.
    assert rules <= {"MIG010", "MIG014", "MIG024", "MIG025", "MIG026", "MIG028"}
    assert all(f.ordering_only for f in report.findings if f.rule == "MIG010")


def test_rule_share_puts_rule_triggers_in(tmp_path: Path) -> None:
    estate = generate_estate(3000, seed=9, rule_share=0.3)
    path = tmp_path / "s.yaml"
    path.write_text(scenario_yaml(estate, "dirty", {"crews": 2}), encoding="utf-8")
    fired = {f.rule for f in validate_scenario(load_scenario(path)).findings}
    for rule in ("MIG001", "MIG012", "MIG015", "MIG017", "MIG018", "MIG021", "MIG025"):
        assert rule in fired


def test_generated_scenario_validates_and_runs(tmp_path: Path) -> None:
    estate = generate_estate(200, seed=11)
    plan = {
        "seed": 3,
        "crews": 2,
        "maintenance_windows": [{"every": "day", "at": "22:00", "for": "8h"}],
    }
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario_yaml(estate, "synthetic-200", plan), encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.estate == estate
    assert scenario.plan.crews == 2
    report = validate_scenario(scenario)
    assert len(report.units.units) > 10
    result = run_scenario(scenario)
    assert result.summary.units_total == len(report.units.units)
    assert result.summary.units_migrated > 0
    assert result.summary.makespan_minutes > 0


def test_scenario_file_is_plain_yaml(estate_1000: Estate) -> None:
    doc = yaml.safe_load(scenario_yaml(estate_1000, "x", None))
    assert doc["name"] == "x"
    assert "plan" not in doc
    assert Estate.model_validate(doc["estate"]) == estate_1000


def test_benchmarks_quick_run_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard, not a time target: benchmarks are not tests
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["quick"] is True
    assert doc["raw_simpy"]["events"] > 0
    assert doc["engine"]["deterministic"]["events"] > 0
    assert [s["vms"] for s in doc["sizes"]] == [100, 300, 1000]
    assert doc["monte_carlo"]["same_rows"] is True
    assert doc["table"] and "Raw SimPy" in proc.stdout
    # the real `migsim optimize` on contoso, 8 orderings within 30 s: what it printed, parsed
    opt = doc["optimizer"]
    assert opt["budget_s"] == 30.0 and opt["wall_s"] > 0 and opt["evaluations"] == 8
    assert opt["command"].endswith("--budget 30 --max-evaluations 8")
    assert opt["verdict"] in ("better", "tie", "worse", "nothing better")
