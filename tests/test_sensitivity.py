"""Sensitivity: the one-at-a-time tornado and the criticality index on known cases."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.experiments.replications import Prepared, ReplicationRow
from sim.experiments.sensitivity import (
    STEP_NAMES,
    critical_path,
    criticality_index,
    factors,
    serial_evaluate,
    statistic,
    tornado,
)
from sim.model.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"


def vm(name: str, account: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "os_disk": {"storage_account": account}, **kw}


def scenario(estate: dict[str, Any], **plan: Any) -> Scenario:
    estate.setdefault("storage_accounts", [{"name": "st1"}])
    return Scenario.model_validate({"name": "t", "estate": estate, "plan": plan})


def long_vnet_and_nsg(**plan: Any) -> Scenario:
    """VNet ``a`` (10 VMs, disks in ``st-a``), a lone NSG ``b``; two crews, default durations
    (deterministic), check 30m: the critical path is a -> st-a, and b is never on it."""
    estate = {
        "vnets": [{"name": "a", "subnets": [{"name": "default"}]}],
        "cloud_services": [
            {
                "name": "cs-a",
                "vnet": "a",
                "vms": [vm(f"a-{i}", "st-a", subnets=["default"]) for i in range(10)],
            }
        ],
        "storage_accounts": [{"name": "st-a"}],
        "nsgs": [{"name": "b"}],
    }
    return scenario(estate, **{"crews": 2, "check": "30m", **plan})


def test_factors_cover_every_step_and_knob() -> None:
    sc = load_scenario(CONTOSO)
    names = [f.name for f in factors(sc.plan)]
    assert names == [
        *(f"durations.{s}" for s in STEP_NAMES),
        "crews",
        "check",
        "failures.validate",
        "failures.prepare",
        "failures.commit",
        "restart_after",
    ]
    by = {f.name: f for f in factors(sc.plan)}
    prep = sc.plan.durations.prepare
    assert by["durations.prepare"].low_plan.durations.prepare.base == prep.base * 0.5
    assert by["durations.prepare"].high_plan.durations.prepare.per_vm == prep.per_vm * 1.5
    assert by["durations.prepare"].high_plan.durations.prepare.spread == prep.spread
    assert by["durations.validate"].low_plan.durations.step("validate").base == 2.5
    assert (by["crews"].low_plan.crews, by["crews"].high_plan.crews) == (1, 3)
    assert (by["check"].low_plan.check, by["check"].high_plan.check) == (0.0, 60.0)
    assert by["failures.prepare"].high_plan.failures.prepare == pytest.approx(0.1)
    assert by["restart_after"].high_plan.restart_after == "commit"


def test_factor_bounds() -> None:
    plan = scenario({}, crews=1, failures={"prepare": 0.6}).plan
    by = {f.name: f for f in factors(plan)}
    assert by["crews"].low_plan.crews == 1
    assert by["failures.prepare"].high_plan.failures.prepare == 1.0
    assert by["failures.prepare"].high == "1"
    with pytest.raises(ValueError):
        factors(plan, low=2.0, high=1.0)


def test_tornado_on_a_known_case() -> None:
    # One NSG, deterministic default durations, check 30m: makespan = 5 + 10 + 30 + 5 minutes.
    sc = scenario({"nsgs": [{"name": "n"}]}, check="30m", crews=1)
    sc = sc.model_copy(update={"estate": sc.estate.model_copy(update={"storage_accounts": ()})})
    t = tornado(Prepared.of(sc), 2, metric="makespan_hours", stat="mean")
    rows = {r.factor: r for r in t.rows}
    assert t.base == pytest.approx(50 / 60)
    assert rows["check"].at_low == pytest.approx(20 / 60)
    assert rows["check"].at_high == pytest.approx(80 / 60)
    assert rows["check"].swing == pytest.approx(1.0)
    assert rows["durations.prepare"].at_low == pytest.approx(45 / 60)
    assert rows["durations.prepare"].at_high == pytest.approx(55 / 60)
    assert t.rows[0].factor == "check"
    assert rows["durations.stop"].swing == 0.0
    swings = [r.swing for r in t.rows]
    assert swings == sorted(swings, reverse=True)


def test_tornado_on_contoso_uses_common_random_numbers() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    t = tornado(prepared, 4)
    assert (t.metric, t.statistic, t.replications) == ("makespan_hours", "p80", 4)
    assert t.base == pytest.approx(
        float(np.percentile([prepared.row(r).makespan_hours for r in range(4)], 80))
    )
    rows = {r.factor: r for r in t.rows}
    assert len(rows) == len(factors(prepared.plan))
    # contoso has no Validate failures: 0 and "twice 0" are the base plan, to the last bit.
    unmoved = rows["failures.validate"]
    assert unmoved.at_low == unmoved.at_base == unmoved.at_high
    assert rows["crews"].at_low > rows["crews"].at_base >= rows["crews"].at_high
    assert t.rows[0].factor == "crews"
    assert rows["durations.prepare"].at_low < t.base < rows["durations.prepare"].at_high


def test_tornado_hands_every_variant_to_evaluate_in_one_call() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    calls: list[tuple[int, int]] = []

    def evaluate(alts: Sequence[Prepared], n: int) -> list[list[ReplicationRow]]:
        calls.append((len(alts), n))
        return serial_evaluate(alts, n)

    t = tornado(prepared, 2, stat="mean", metric="vm_hours_down", evaluate=evaluate)
    assert calls == [(1 + 2 * len(factors(prepared.plan)), 2)]
    assert t.rows[0].factor in {"restart_after", "durations.prepare", "crews"}
    ticks: list[tuple[int, int]] = []
    tornado(prepared, 1, progress=lambda d, n: ticks.append((d, n)))
    assert ticks[-1] == (31, 31) and len(ticks) == 31


def test_tornado_rejects_unknown_metric_or_statistic() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    with pytest.raises(ValueError, match="makespan_hours"):
        tornado(prepared, 2, metric="speed")
    with pytest.raises(ValueError, match="p80"):
        tornado(prepared, 2, stat="median")
    with pytest.raises(ValueError):
        tornado(prepared, 0)


def test_statistic() -> None:
    assert statistic([1.0, 2.0, 3.0, 4.0], "mean") == 2.5
    assert statistic([1.0, 2.0, 3.0, 4.0, 5.0], "p80") == pytest.approx(4.2)
    assert statistic([1.0, 2.0, 3.0], "p50") == 2.0


def test_critical_path_follows_the_predecessor_not_the_short_unit() -> None:
    prepared = Prepared.of(long_vnet_and_nsg())
    path = critical_path(prepared.replicate(0), prepared.units)
    steps = [(p.interval.unit, p.interval.step) for p in path]
    assert steps == [
        ("st-a", "commit"),
        ("st-a", "check"),
        ("st-a", "prepare"),
        ("st-a", "validate"),
        ("a", "commit"),
        ("a", "check"),
        ("a", "prepare"),
        ("a", "validate"),
    ]
    assert [p.cause for p in path][3:5] == ["predecessor", "own step"]
    assert path[-1].cause == "start" and path[-1].interval.start == 0.0
    # The path is gap-free: every step starts when the one before it on the path ends.
    for later, earlier in itertools.pairwise(path):
        assert later.interval.start == pytest.approx(earlier.interval.end)
    index = {c.unit: c.index for c in criticality_index(prepared, 3)}
    assert index == {"a": 1.0, "st-a": 1.0, "b": 0.0}


def test_critical_path_goes_through_the_crew_it_waited_for() -> None:
    # One crew, two NSGs and an account, check 0: the crew is the bottleneck, every unit is on
    # the path, and the links between units are crew hand-overs.
    sc = scenario({"nsgs": [{"name": "n1"}, {"name": "n2"}]}, crews=1)
    prepared = Prepared.of(sc)
    rep = prepared.replicate(0)
    path = critical_path(rep, prepared.units)
    assert {p.interval.unit for p in path} == {"st1", "n1", "n2"}
    assert path[0].interval.end == rep.makespan
    assert any(p.cause == "crew" for p in path)
    for later, earlier in itertools.pairwise(path):
        assert later.interval.start == pytest.approx(earlier.interval.end)


def test_critical_path_starts_at_a_window() -> None:
    # Time 0 is Monday 00:00; commits wait for Monday 02:00: nothing before the window is
    # critical.
    sc = scenario(
        {"nsgs": [{"name": "n1"}]},
        crews=1,
        maintenance_windows=[{"every": "monday", "at": "02:00", "for": "1h"}],
    )
    prepared = Prepared.of(sc)
    path = critical_path(prepared.replicate(0), prepared.units)
    assert [p.interval.step for p in path] == ["commit", "commit"]
    assert path[-1].cause == "start" and path[-1].interval.start == 120.0


def test_criticality_on_contoso_and_custom_map() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    seen: list[int] = []

    def mapper(fn: Any, a: Sequence[Prepared], b: Sequence[int]) -> list[frozenset[str]]:
        seen.extend(b)
        return list(map(fn, a, b))

    rows = criticality_index(prepared, 5, map_fn=mapper)
    assert seen == [0, 1, 2, 3, 4]
    assert [c.unit for c in rows] != [] and {c.unit for c in rows} == set(prepared.order)
    assert all(0.0 <= c.index <= 1.0 for c in rows)
    assert [c.index for c in rows] == sorted((c.index for c in rows), reverse=True)
    assert rows[0].index == 1.0  # some unit ends every replication's path
    assert rows == criticality_index(prepared, 5)
