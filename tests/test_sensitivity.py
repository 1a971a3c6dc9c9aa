"""Sensitivity: the one-at-a-time tornado and the criticality index on known cases."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from sim.experiments.replications import Prepared, ReplicationRow
from sim.experiments.sensitivity import (
    CRITICALITY_COLUMNS,
    NOT_VARIED,
    STEP_NAMES,
    VARIED,
    Criticality,
    CriticalSets,
    Interval,
    crew_handoff_units,
    critical_path,
    critical_units,
    criticality_csv,
    criticality_index,
    factors,
    sensitivity_csv,
    serial_evaluate,
    statistic,
    tornado,
)
from sim.model.rules import Finding
from sim.model.scenario import Scenario, load_scenario
from sim.model.units import MigrationUnits, Precedence, Unit
from sim.outputs.records import Event, Replication, UnitOutcome

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
    # contoso has no Validate failures: 0 and "twice 0" are the base plan, to the last bit,
    # and the row says it was not varied (not that it has no effect), after the varied ones.
    unmoved = rows["failures.validate"]
    assert unmoved.at_low == unmoved.at_base == unmoved.at_high
    assert unmoved.status == NOT_VARIED == "not varied (base is 0)" and not unmoved.varied
    assert [r.factor for r in t.rows if not r.varied] == ["failures.validate"]
    assert t.rows[-1].factor == "failures.validate"
    assert rows["durations.stop"].status == VARIED
    lines = sensitivity_csv(t).splitlines()
    assert lines[0].endswith(",replications,status")
    assert lines[-1].startswith("failures.validate,0,0,")
    assert lines[-1].endswith(",not varied (base is 0)")
    assert rows["crews"].at_low > rows["crews"].at_base >= rows["crews"].at_high
    # a doubled Check no longer fits a night's window (the crew stays with its unit through
    # Check): with one crew fewer, the two that push the migration into the next weekend
    assert {t.rows[0].factor, t.rows[1].factor} == {"crews", "check"}
    assert rows["durations.prepare"].at_low < t.base < rows["durations.prepare"].at_high


def test_factors_whose_plan_value_is_0_are_not_varied() -> None:
    plan = load_scenario(
        CONTOSO,
        ["plan.check=0m", "plan.durations.stop=0", "plan.failures.validate=0.02"],
    ).plan
    status = {f.name: f.status for f in factors(plan)}
    assert {name for name, s in status.items() if s == NOT_VARIED} == {"check", "durations.stop"}
    by = {f.name: f for f in factors(plan)}
    assert by["check"].low_plan == plan == by["check"].high_plan  # nothing to vary
    assert by["failures.validate"].high_plan.failures.validate_ == pytest.approx(0.04)


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


def test_a_crew_hand_over_is_not_a_link_of_the_critical_path() -> None:
    # One crew, two NSGs and an account, check 0, nothing depends on anything: the crew is the
    # bottleneck. Only the unit that ends last is critical; the others handed it the crew.
    sc = scenario({"nsgs": [{"name": "n1"}, {"name": "n2"}]}, crews=1)
    prepared = Prepared.of(sc)
    rep = prepared.replicate(0)
    path = critical_path(rep, prepared.units, prepared.findings)
    last = path[0].interval
    assert last.end == rep.makespan
    assert {p.interval.unit for p in path} == {last.unit}
    assert path[-1].cause == "start" and path[-1].interval.step == "validate"
    # Its Validate was ready at 0 and took the crew when another unit's step handed it over.
    first = path[-1]
    assert first.ready == 0.0 and first.interval.start > 0
    assert [(h.crew, h.end) for h in first.handoffs] == [(1, first.interval.start)]
    others = {"st1", "n1", "n2"} - {last.unit}
    assert crew_handoff_units(path) == {first.handoffs[0].unit} <= others


def test_critical_path_goes_back_through_a_window() -> None:
    # Time 0 is Monday 00:00; commits wait for Monday 02:00. The wait is in the unit's own
    # chain: its earlier steps stay on the path, the other unit only handed over the crew.
    sc = scenario(
        {"nsgs": [{"name": "n1"}]},
        crews=1,
        maintenance_windows=[{"every": "monday", "at": "02:00", "for": "1h"}],
        dispatch="prepare_ahead",  # units prepare ahead and wait Prepared for the window
    )
    prepared = Prepared.of(sc)
    path = critical_path(prepared.replicate(0), prepared.units, prepared.findings)
    # st1: Validate 0-5, Prepare 5-15, Commit 120-125; n1: Validate 15-20, Prepare 20-30,
    # Commit 125-130 (crew 1 busy with st1's Commit at the window's opening).
    assert [(p.interval.unit, p.interval.step, p.ready) for p in path] == [
        ("n1", "commit", 30.0),
        ("n1", "check", 30.0),
        ("n1", "prepare", 20.0),
        ("n1", "validate", 0.0),
    ]
    assert path[-1].cause == "start"
    assert [(p.interval.step, [(h.unit, h.step) for h in p.handoffs]) for p in path] == [
        ("commit", [("st1", "commit")]),
        ("check", []),
        ("prepare", []),
        ("validate", [("st1", "prepare")]),
    ]


# ---- hand-built replications: exact arithmetic ------------------------------------------------


def units_of(names: str, *edges: tuple[str, str]) -> MigrationUnits:
    """NSG units named by the letters of ``names``; ``edges``: (before, after)."""
    dag = nx.DiGraph()
    dag.add_nodes_from(names)
    dag.add_edges_from(edges)
    return MigrationUnits(
        units=tuple(Unit(u, "nsg", u, (f"nsg:{u}",), index=i) for i, u in enumerate(names)),
        unit_of={f"nsg:{u}": u for u in names},
        precedences=tuple(Precedence(a, b, "test") for a, b in edges),
        dag=dag,
    )


Step = tuple[str, str, float, float, int | None]
"""unit, step, start, end, crew."""


def replication(*steps: Step) -> Replication:
    """The events of ``steps`` (attempt 1, none of length 0), in time order: at equal times an
    end before a start, as the engine records a crew or a unit handed on."""
    events = [Event(s, u, step, "start", crew, 1) for u, step, s, _, crew in steps]
    events += [Event(e, u, step, "end", crew, 1) for u, step, _, e, crew in steps]
    events.sort(key=lambda e: (e.time, e.outcome == "start"))
    names = dict.fromkeys(u for u, *_ in steps)
    outcomes = tuple(
        UnitOutcome(u, "nsg", 0, "committed", None, None, None, 1, 1, 1) for u in names
    )
    return Replication(0, True, None, 0.0, tuple(names), (), tuple(events), outcomes, (), ())


def test_a_must_precede_chain_is_critical_and_a_crew_giver_is_not() -> None:
    # One crew. A (validate, prepare, check, commit); C, independent, takes the crew during
    # A's Check and commits at 27, two minutes after A's Commit was ready; B waits for A.
    units = units_of("ABC", ("A", "B"))
    rep = replication(
        ("A", "validate", 0, 5, 1),
        ("A", "prepare", 5, 10, 1),
        ("A", "check", 10, 25, None),
        ("C", "validate", 10, 15, 1),
        ("C", "prepare", 15, 20, 1),
        ("C", "check", 20, 22, None),
        ("C", "commit", 22, 27, 1),
        ("A", "commit", 27, 32, 1),
        ("B", "validate", 32, 37, 1),
        ("B", "prepare", 37, 47, 1),
        ("B", "check", 47, 57, None),
        ("B", "commit", 57, 62, 1),
    )
    path = critical_path(rep, units)
    assert [(p.interval.unit, p.interval.step, p.cause, p.ready) for p in path] == [
        ("B", "commit", "own step", 57),
        ("B", "check", "own step", 47),
        ("B", "prepare", "own step", 37),
        ("B", "validate", "predecessor", 32),
        ("A", "commit", "own step", 25),
        ("A", "check", "own step", 10),
        ("A", "prepare", "own step", 5),
        ("A", "validate", "start", 0),
    ]
    # A's Commit, ready at 25, started at 27 when C's Commit handed crew 1 over.
    assert [(p.interval.unit, p.handoffs) for p in path if p.handoffs] == [
        ("A", (Interval("C", "commit", 1, 1, 22, 27),))
    ]
    assert critical_units(rep, units) == {"A", "B"}
    assert crew_handoff_units(path) == {"C"}


def test_the_unit_that_ends_last_is_critical_alone() -> None:
    # One crew: A, then B (after A), then C, independent, whose long Check ends last. A and B
    # are not critical; B handed C the crew.
    units = units_of("ABC", ("A", "B"))
    rep = replication(
        ("A", "validate", 0, 5, 1),
        ("A", "commit", 5, 10, 1),
        ("B", "validate", 10, 15, 1),
        ("B", "commit", 15, 20, 1),
        ("C", "validate", 20, 25, 1),
        ("C", "check", 25, 60, None),
        ("C", "commit", 60, 65, 1),
    )
    path = critical_path(rep, units)
    assert [p.interval.step for p in path] == ["commit", "check", "validate"]
    assert critical_units(rep, units) == {"C"}
    assert crew_handoff_units(path) == {"B"}


def test_the_predecessor_that_committed_last_binds_whatever_the_gap() -> None:
    # B waits for A1 (committed at 10) and A2 (at 20), and starts at 30 (its wave, a window):
    # no step ends at 30, so no crew was handed over; A2 binds.
    units = units_of("ABD", ("A", "B"), ("D", "B"))
    rep = replication(
        ("A", "commit", 0, 10, 1),
        ("D", "commit", 0, 20, 2),
        ("B", "validate", 30, 35, 1),
        ("B", "commit", 35, 40, 1),
    )
    path = critical_path(rep, units)
    assert [(p.interval.unit, p.cause) for p in path] == [
        ("B", "own step"),
        ("B", "predecessor"),
        ("D", "start"),
    ]
    assert path[1].ready == 20 and path[1].handoffs == ()
    assert critical_units(rep, units) == {"B", "D"}


def test_a_re_peering_waits_for_the_peer_commit() -> None:
    # VNets P and Q are peered (MIG014 on P). P commits at 10; its re-peering waits for Q's
    # Commit (25): Q is critical through it, and only when the findings are passed.
    dag = nx.DiGraph()
    dag.add_nodes_from("PQ")
    units = MigrationUnits(
        units=(Unit("P", "vnet", "P", ("vnet:P",)), Unit("Q", "vnet", "Q", ("vnet:Q",), index=1)),
        unit_of={"vnet:P": "P", "vnet:Q": "Q"},
        precedences=(),
        dag=dag,
    )
    peering = Finding(
        "MIG014", "remediate", "P", ("vnet:P", "vnet:Q"), "peered", "re-peer", "validate"
    )
    rep = replication(
        ("P", "validate", 0, 5, 1),
        ("P", "commit", 5, 10, 1),
        ("Q", "validate", 0, 5, 2),
        ("Q", "check", 5, 20, None),
        ("Q", "commit", 20, 25, 2),
        ("P", "restore:MIG014:vnet:P", 25, 40, 1),
    )
    path = critical_path(rep, units, [peering])
    assert [(p.interval.unit, p.interval.step, p.cause) for p in path] == [
        ("P", "restore:MIG014:vnet:P", "peer commit"),
        ("Q", "commit", "own step"),
        ("Q", "check", "own step"),
        ("Q", "validate", "start"),
    ]
    assert critical_units(rep, units) == {"P"}  # without the findings: P's own chain only


def test_criticality_index_counts_both_figures() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    found = [
        CriticalSets(frozenset({"vnet-prod"}), frozenset({"er-ams", "stlogs"})),
        CriticalSets(frozenset({"vnet-prod", "stprodvhds"}), frozenset({"stlogs"})),
        CriticalSets(frozenset({"stlogs"}), frozenset()),
        CriticalSets(frozenset({"vnet-prod"}), frozenset({"er-ams"})),
    ]

    def mapper(fn: Any, a: Sequence[Prepared], b: Sequence[int]) -> list[CriticalSets]:
        return [found[r] for r in b]

    rows = criticality_index(prepared, 4, map_fn=mapper)
    assert [(c.unit, c.critical, c.handoffs) for c in rows if c.critical or c.handoffs] == [
        ("vnet-prod", 3, 0),
        ("stlogs", 1, 2),  # ties on the index: more hand-offs first
        ("stprodvhds", 1, 0),
        ("er-ams", 0, 2),
    ]
    assert (rows[1].index, rows[1].resource_index) == (0.25, 0.5)


def test_criticality_csv_has_both_figures() -> None:
    text = criticality_csv([Criticality("a", 3, 4, 1), Criticality("b", 0, 4, 2)])
    assert text.splitlines() == [
        ",".join(CRITICALITY_COLUMNS),
        "a,3,4,0.75,1,0.25",
        "b,0,4,0.0,2,0.5",
    ]
    assert CRITICALITY_COLUMNS == (
        "unit",
        "critical",
        "replications",
        "criticality_index",
        "crew_handoffs",
        "resource_criticality",
    )


def test_contoso_units_nothing_waits_for_are_critical_only_when_they_end_last() -> None:
    # nsg-orphan and rip-spare have no must-precede edges; er-ams precedes vnet-shared (a
    # gateway's circuit moves first), so it is also critical whenever vnet-shared is.
    prepared = Prepared.of(load_scenario(CONTOSO))
    dag = prepared.units.dag
    assert set(dag.successors("nsg-orphan")) == set(dag.successors("rip-spare")) == set()
    assert set(dag.successors("er-ams")) == {"vnet-shared"}
    handed = set()
    for r in range(30):
        rep = prepared.replicate(r)
        path = critical_path(rep, prepared.units, prepared.findings)
        critical = critical_units(rep, prepared.units, prepared.findings)
        assert critical == {p.interval.unit for p in path}
        handed |= crew_handoff_units(path)
        for unit in ("nsg-orphan", "rip-spare", "er-ams"):
            ends_last = rep.outcome(unit).end == rep.makespan
            through = {s for s in dag.successors(unit) if s in critical}
            assert (unit in critical) == (ends_last or bool(through)), (r, unit)
    # Crews the path waited for were held by the shared VNet's work, never by these two.
    assert "vnet-shared" in handed and not {"nsg-orphan", "rip-spare"} & handed


def test_criticality_on_contoso_and_custom_map() -> None:
    prepared = Prepared.of(load_scenario(CONTOSO))
    seen: list[int] = []

    def mapper(fn: Any, a: Sequence[Prepared], b: Sequence[int]) -> list[CriticalSets]:
        seen.extend(b)
        return list(map(fn, a, b))

    rows = criticality_index(prepared, 5, map_fn=mapper)
    assert seen == [0, 1, 2, 3, 4]
    assert [c.unit for c in rows] != [] and {c.unit for c in rows} == set(prepared.order)
    assert all(0.0 <= c.index <= 1.0 and 0.0 <= c.resource_index <= 1.0 for c in rows)
    assert [c.index for c in rows] == sorted((c.index for c in rows), reverse=True)
    assert rows[0].index == 1.0  # some unit ends every replication's path
    assert any(c.handoffs for c in rows)
    assert rows == criticality_index(prepared, 5)
