"""The engine against arithmetic: deterministic durations, exact sums."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from sim.common.errors import InputError
from sim.engine.dispatch import Dispatch, PrepareAhead, Proc
from sim.engine.simulation import simulate
from sim.engine.throttle import TokenBucket
from sim.experiments.run import run_scenario
from sim.model import rules
from sim.model.calendar import Calendar
from sim.model.graph import node_id
from sim.model.rules import Finding
from sim.model.scenario import Scenario, load_scenario
from sim.model.units import build_units
from sim.outputs.records import Replication

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"


def vm(name: str, account: str = "st1", **kw: Any) -> dict[str, Any]:
    return {"name": name, "os_disk": {"storage_account": account}, **kw}


def vnet(name: str, *subnets: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "subnets": [{"name": s} for s in subnets or ("default",)], **kw}


def make(estate: dict[str, Any], **plan: Any) -> Scenario:
    estate.setdefault("storage_accounts", [{"name": "st1"}])
    return Scenario.model_validate({"name": "t", "estate": estate, "plan": plan})


def run(
    sc: Scenario,
    findings: Sequence[Finding] | None = None,
    *,
    deterministic: bool = True,
) -> Replication:
    units = build_units(sc.estate, sc.plan)
    found = rules.check(sc.estate, units, sc.plan) if findings is None else findings
    return simulate(sc.estate, units, sc.plan, found, deterministic=deterministic)


def c(sc: Scenario, step: str, vms: int) -> float:
    """The central duration of ``step`` for ``vms`` VMs under ``sc``'s plan."""
    return sc.plan.durations.step(step).central(vms)


def rc(sc: Scenario, rule: str, step: str, vms: int) -> float:
    """The central duration of ``rule``'s ``remediate`` or ``restore`` step for ``vms`` VMs."""
    return sc.plan.remedy_step(rule, "remediate" if step == "remediate" else "restore").central(vms)


def span(rep: Replication, unit: str, step: str, attempt: int = 1) -> tuple[float, float]:
    start = next(e.time for e in rep.events_of(unit, step, "start") if e.attempt == attempt)
    end = next(
        e.time
        for e in rep.events
        if e.unit == unit
        and e.step == step
        and e.outcome in ("end", "fail")
        and e.attempt == attempt
    )
    return start, end


ONE_VNET = {
    "vnets": [vnet("v1", "web")],
    "cloud_services": [
        {"name": "cs1", "vnet": "v1", "vms": [vm("a", subnets=["web"]), vm("b", subnets=["web"])]}
    ],
}
LEGACY = {"cloud_services": [{"name": "legacy", "vms": [vm("l1"), vm("l2")]}]}


def test_vnet_lock_is_prepare_check_commit() -> None:
    sc = make(ONE_VNET, check="30m")
    rep = run(sc)
    expected = c(sc, "prepare", 2) + 30.0 + c(sc, "commit", 2)
    assert expected == pytest.approx(12.0 + 30.0 + 5.0 + 2 / 3)
    locks = rep.windows_of(unit="v1", kind="management")
    assert {w.resource for w in locks} == set(build_units(sc.estate).__getitem__("v1").resources)
    for w in locks:
        assert w.duration == pytest.approx(expected)
        assert w.start == pytest.approx(span(rep, "v1", "prepare")[0])
        assert w.end == pytest.approx(span(rep, "v1", "commit")[1])


def test_vms_in_a_vnet_get_no_data_window() -> None:
    rep = run(make(ONE_VNET, check="30m"))
    assert rep.outcome("v1").migrated
    assert [w for w in rep.windows if w.kind == "data"] == []
    assert rep.events_of("v1", "stop") == []


def test_non_vnet_downtime_is_stop_deallocate_prepare_start() -> None:
    sc = make(LEGACY, check="30m")
    rep = run(sc)
    expected = c(sc, "stop", 2) + c(sc, "deallocate", 2) + c(sc, "prepare", 2) + c(sc, "start", 2)
    assert expected == pytest.approx(2 + 2 + 12 + 5)
    data = rep.windows_of(kind="data")
    assert {w.resource for w in data} == {"vm:l1", "vm:l2"}
    for w in data:
        assert w.duration == pytest.approx(expected)
        assert w.start == span(rep, "legacy", "stop")[0]
        assert w.end == span(rep, "legacy", "start")[1]
    # Stop and Deallocate are part of Prepare: the lock starts with Stop
    lock = rep.windows_of(resource="vm:l1", kind="management")[0]
    assert lock.start == span(rep, "legacy", "stop")[0]


def test_restart_after_commit_adds_exactly_check_and_commit() -> None:
    base = run(make(LEGACY, check="30m"))
    sc = make(LEGACY, check="30m", restart_after="commit")
    late = run(sc)
    before = base.windows_of(resource="vm:l1", kind="data")[0].duration
    after = late.windows_of(resource="vm:l1", kind="data")[0].duration
    assert after - before == pytest.approx(30.0 + c(sc, "commit", 2))
    # the VMs start after Commit
    assert span(late, "legacy", "start")[0] == span(late, "legacy", "commit")[1]


def test_makespan_with_one_crew_is_the_sum_of_crewed_steps() -> None:
    estate = {
        "expressroute_circuits": [{"name": "er"}],
        "vnets": [
            vnet("v1", "web", gateway={"name": "gw", "kind": "expressroute", "circuit": "er"}),
            vnet("v2", "app"),
        ],
        "cloud_services": [
            {"name": "cs1", "vnet": "v1", "vms": [vm("a", subnets=["web"], endpoint_acls=True)]},
            {"name": "cs2", "vnet": "v2", "vms": [vm("b", "st2", subnets=["app"])]},
            {"name": "legacy", "vms": [vm("l1"), vm("l2", alerts=True)]},
        ],
        "storage_accounts": [{"name": "st1"}, {"name": "st2"}],
        "nsgs": [{"name": "lonely"}],
    }
    sc = make(estate, crews=1, check=0)
    rep = run(sc)
    assert all(o.migrated for o in rep.outcomes)
    crewed = sum(end - start for u in rep.order for (start, end) in _crewed_spans(rep, u))
    assert rep.makespan == pytest.approx(crewed)
    # and the same sum by hand from the plan's durations
    units = build_units(sc.estate)
    vms = {u.id: u.vm_count for u in units.units}
    by_hand = sum(
        c(sc, "validate", n) + c(sc, "prepare", n) + c(sc, "commit", n) for n in vms.values()
    )
    by_hand += c(sc, "stop", 2) + c(sc, "deallocate", 2) + c(sc, "start", 2)
    by_hand += rc(sc, "MIG012", "remediate", 1) + rc(sc, "MIG012", "restore", 1)  # VM a's ACLs
    by_hand += rc(sc, "MIG017", "restore", 1)  # alerts re-created on l2
    assert rep.makespan == pytest.approx(by_hand)


def _crewed_spans(rep: Replication, unit: str) -> list[tuple[float, float]]:
    out = []
    starts: dict[tuple[str, int], float] = {}
    for e in rep.events_of(unit):
        if e.crew is None:
            continue
        if e.outcome == "start":
            starts[(e.step, e.attempt)] = e.time
        elif e.outcome in ("end", "fail"):
            out.append((starts.pop((e.step, e.attempt)), e.time))
    return out


TWO_VNETS = {
    "vnets": [vnet("v1"), vnet("v2")],
    "cloud_services": [
        {"name": "c1", "vnet": "v1", "vms": [vm("a", subnets=["default"])]},
        {"name": "c2", "vnet": "v2", "vms": [vm("b", subnets=["default"])]},
    ],
}


def test_check_holds_no_crew_when_preparing_ahead() -> None:
    rep = run(make(TWO_VNETS, crews=1, check="2h", dispatch="prepare_ahead"))
    check = span(rep, "v1", "check")
    other = span(rep, "v2", "prepare")
    assert all(e.crew is None for e in rep.events_of(step="check"))
    assert check[0] < other[0] < check[1]  # v2 prepares while v1 waits in Check


def test_just_in_time_keeps_the_crew_with_its_unit_through_check() -> None:
    sc = make(TWO_VNETS, crews=1, check="2h")
    rep = run(sc)
    # v2 begins only when v1's whole sequence is over: one crew, one unit at a time
    assert span(rep, "v2", "validate")[0] == span(rep, "v1", "commit")[1]
    one = c(sc, "validate", 1) + c(sc, "prepare", 1) + 120.0 + c(sc, "commit", 1)
    assert rep.outcome("v2").commit_end == pytest.approx(2 * one)


def test_storage_prepares_only_after_every_holder_committed() -> None:
    sc = load_scenario(CONTOSO)
    for seed, deterministic in ((42, True), (1, False), (2, False)):
        result = run_scenario(sc, seed=seed, deterministic=deterministic)
        rep = result.replication
        for p in result.units.precedences:
            after = rep.outcome(p.after)
            if after.kind != "storage_account" or not after.migrated:
                continue
            before = rep.outcome(p.before)
            assert before.commit_end is not None
            assert before.commit_end <= span(rep, p.after, "prepare")[0]


def test_circuit_commits_before_its_vnet_prepares() -> None:
    rep = run_scenario(load_scenario(CONTOSO), deterministic=True).replication
    circuit_commit = span(rep, "er-ams", "commit")[1]
    assert circuit_commit <= span(rep, "vnet-shared", "prepare")[0]
    assert circuit_commit <= rep.outcome("vnet-shared").first_start  # type: ignore[operator]


@pytest.mark.parametrize("dispatch", ["just_in_time", "prepare_ahead"])
def test_commit_never_ends_outside_a_window(dispatch: str) -> None:
    estate = {
        "vnets": [vnet("v1"), vnet("v2")],
        "cloud_services": [
            {"name": "c1", "vnet": "v1", "vms": [vm("a", subnets=["default"])]},
            {"name": "c2", "vnet": "v2", "vms": [vm("b", subnets=["default"])]},
            {"name": "legacy", "vms": [vm("l1")]},
        ],
    }
    windows = [{"every": "day", "at": "22:00", "for": "1h"}]
    sc = make(estate, crews=1, check="10m", maintenance_windows=windows, dispatch=dispatch)
    rep = run(sc, deterministic=False)
    cal = Calendar.of(sc.plan)
    commits = [span(rep, u, "commit") for u in rep.order if rep.outcome(u).migrated]
    assert len(commits) == 4
    for start, end in commits:
        assert cal.fits(start, end), (start, end)
        assert end > 22 * 60  # nothing commits before the first window opens
    # the stopping unit's whole Stop..Start sequence lies in one window too
    stop, start_end = span(rep, "legacy", "stop")[0], span(rep, "legacy", "start")[1]
    assert cal.fits(stop, start_end)
    # recorded maintenance intervals cover every commit
    assert rep.maintenance and all(b > a for a, b in rep.maintenance)


def test_sequence_longer_than_every_window_is_not_migrated_and_never_locks() -> None:
    sc = make(ONE_VNET, maintenance_windows=[{"every": "day", "at": "22:00", "for": "5m"}])
    rep = run(sc)
    out = rep.outcome("v1")
    assert not out.migrated
    assert "longer than every maintenance window (longest 5m)" in out.reason
    assert out.reason.startswith("Validate, Prepare, Check and Commit (23m)")
    assert rep.windows == () and rep.events_of("v1", "prepare") == []
    assert rep.outcome("st1").reason.startswith("waits for v1")


def test_commit_longer_than_every_window_is_aborted_when_preparing_ahead() -> None:
    sc = make(
        ONE_VNET,
        maintenance_windows=[{"every": "day", "at": "22:00", "for": "5m"}],
        dispatch="prepare_ahead",
    )
    rep = run(sc)
    out = rep.outcome("v1")
    assert not out.migrated
    assert "longer than every maintenance window" in out.reason
    assert "Commit" in out.reason and "aborted" in out.reason
    # it was prepared, so it is aborted: lock from Prepare start to Abort end
    lock = rep.windows_of(resource="vnet:v1", kind="management")[0]
    assert lock.end == span(rep, "v1", "abort")[1]
    st = rep.outcome("st1")
    assert not st.migrated and st.reason.startswith("waits for v1")


def test_stopping_block_longer_than_every_window_never_locks() -> None:
    sc = make(
        LEGACY,
        maintenance_windows=[{"every": "day", "at": "22:00", "for": "15m"}],
        dispatch="prepare_ahead",
    )
    rep = run(sc)
    out = rep.outcome("legacy")
    assert not out.migrated
    assert "Stop, Deallocate, Prepare and Start" in out.reason
    assert rep.windows == ()


@pytest.mark.parametrize(
    ("restart_after", "steps"),
    [
        ("prepare", "Validate, Stop, Deallocate, Prepare, Start, Check and Commit"),
        ("commit", "Validate, Stop, Deallocate, Prepare, Check, Commit and Start"),
    ],
)
def test_just_in_time_reason_names_the_steps_in_the_order_they_run(
    restart_after: str, steps: str
) -> None:
    sc = make(
        LEGACY,
        maintenance_windows=[{"every": "day", "at": "22:00", "for": "15m"}],
        restart_after=restart_after,
    )
    out = run(sc).outcome("legacy")
    assert not out.migrated
    assert out.reason.startswith(f"{steps} (")


def test_blocked_units_are_listed_and_not_migrated() -> None:
    estate = {
        "vnets": [vnet("v1")],
        "cloud_services": [
            {
                "name": "paas",
                "roles": [{"name": "web", "kind": "web"}],
                "vms": [vm("p1")],
            },
            {"name": "c1", "vnet": "v1", "vms": [vm("a", "st2", subnets=["default"])]},
        ],
        "storage_accounts": [{"name": "st1"}, {"name": "st2"}],
    }
    rep = run(make(estate))
    paas = rep.outcome("paas")
    assert paas.status == "not_migrated"
    assert paas.rules == ("MIG001",)
    assert paas.reason.startswith("blocked by MIG001")
    assert paas.first_start is None and rep.events_of("paas", outcome="start") == []
    assert rep.outcome("st1").reason == "waits for paas, which was not migrated"
    assert rep.outcome("v1").migrated and rep.outcome("st2").migrated
    assert [e.unit for e in rep.events if e.outcome == "not_migrated"] == ["paas", "st1"]


def test_prepare_caught_blocker_fails_prepare_and_aborts() -> None:
    estate = {
        "vnets": [
            vnet(
                "v1",
                "default",
                "GatewaySubnet",
                gateway=[{"name": "er", "kind": "expressroute"}, {"name": "vpn", "kind": "vpn"}],
            )
        ],
        "cloud_services": [{"name": "c1", "vnet": "v1", "vms": [vm("a", subnets=["default"])]}],
    }
    sc = make(estate)
    rep = run(sc)
    out = rep.outcome("v1")
    assert out.status == "not_migrated" and out.rules == ("MIG011",)
    assert "blocked at Prepare by MIG011" in out.reason
    outcomes = [(e.step, e.outcome) for e in rep.events_of("v1") if e.outcome != "start"]
    assert outcomes == [
        ("validate", "end"),
        ("prepare", "fail"),
        ("abort", "end"),
        ("unit", "not_migrated"),
    ]
    lock = rep.windows_of(resource="vnet:v1", kind="management")
    assert len(lock) == 1
    assert lock[0].start == span(rep, "v1", "prepare")[0]
    assert lock[0].end == span(rep, "v1", "abort")[1]
    assert lock[0].duration == pytest.approx(c(sc, "prepare", 1) + c(sc, "abort", 1))
    assert out.prepare_attempts == 1 and out.commit_attempts == 0


def test_prepare_caught_blocker_from_a_hand_made_finding() -> None:
    sc = make(LEGACY)
    quota = Finding("MIG029", "blocker", "legacy", (), "quota", "raise it", "prepare")
    rep = run(sc, [quota])
    assert [(e.step, e.outcome) for e in rep.events_of("legacy") if e.outcome != "start"][:5] == [
        ("validate", "end"),
        ("stop", "end"),
        ("deallocate", "end"),
        ("prepare", "fail"),
        ("abort", "end"),
    ]
    # the stopped VMs are started again after the Abort
    data = rep.windows_of(resource="vm:l1", kind="data")[0]
    assert data.end == span(rep, "legacy", "start")[1]
    assert not rep.outcome("legacy").migrated


def test_prepare_failure_aborts_then_retries_with_after_prepare_abort() -> None:
    sc = make(ONE_VNET, failures={"prepare": 0.5, "max_attempts": 20, "after_prepare": "abort"})
    rep = run(sc)
    out = rep.outcome("v1")
    assert out.migrated and out.prepare_attempts >= 1
    fails = rep.events_of("v1", "prepare", "fail")
    aborts = rep.events_of("v1", "abort", "end")
    assert len(fails) == len(aborts) == out.prepare_attempts - 1
    locks = rep.windows_of(resource="vnet:v1", kind="management")
    assert len(locks) == out.prepare_attempts  # one lock window per attempt


def test_prepare_failing_every_time_gives_up_with_after_prepare_abort() -> None:
    rep = run(
        make(ONE_VNET, failures={"prepare": 1.0, "max_attempts": 3, "after_prepare": "abort"})
    )
    out = rep.outcome("v1")
    assert not out.migrated and out.prepare_attempts == 3
    assert "Prepare failed 3 times" in out.reason
    assert len(rep.events_of("v1", "abort", "end")) == 3


def test_prepare_failing_every_time_is_retried_in_place_then_aborted_once() -> None:
    # after_prepare: retry (the default): each failed Prepare (12 min for 2 VMs) is run again
    # 10 minutes later, locked all along; after the third the operator aborts, once.
    sc = make(ONE_VNET, failures={"prepare": 1.0, "max_attempts": 3, "retry_after": "10m"})
    rep = run(sc)
    out = rep.outcome("v1")
    assert not out.migrated and out.prepare_attempts == 3
    assert out.reason == "Prepare failed 3 times (plan.failures.max_attempts); aborted"
    d = c(sc, "prepare", 2)
    t0 = span(rep, "v1", "prepare", 1)[0]
    starts = [span(rep, "v1", "prepare", a)[0] for a in (1, 2, 3)]
    ends = [span(rep, "v1", "prepare", a)[1] for a in (1, 2, 3)]
    assert starts == pytest.approx([t0, t0 + d + 10, t0 + 2 * d + 20])
    assert ends == pytest.approx([t0 + d, t0 + 2 * d + 10, t0 + 3 * d + 20])
    steps = [(e.step, e.outcome, e.attempt) for e in rep.events_of("v1") if e.outcome != "start"]
    assert steps[1:] == [
        ("prepare", "fail", 1),
        ("prepare", "fail", 2),
        ("prepare", "fail", 3),
        ("abort", "end", 3),
        ("unit", "not_migrated", 0),
    ]
    [lock] = rep.windows_of(resource="vnet:v1", kind="management")
    assert (lock.start, lock.end) == pytest.approx((t0, t0 + 3 * d + 20 + c(sc, "abort", 2)))
    assert lock.cause == "Prepare attempts 1-3 to Abort (Prepare failed)"


def test_commit_failure_is_retried_without_abort() -> None:
    sc = make(ONE_VNET, failures={"commit": 1.0, "max_attempts": 2})
    rep = run(sc)
    out = rep.outcome("v1")
    assert not out.migrated and out.commit_attempts == 2
    assert rep.events_of("v1", "abort") == []
    assert "cannot be aborted" in out.reason
    lock = rep.windows_of(resource="vnet:v1", kind="management")[0]
    assert "still open" in lock.cause and lock.end == rep.horizon
    # Every resource of the unit stays locked, and each counts as a window left open.
    still = [w for w in rep.windows if "still open" in w.cause]
    assert {w.resource for w in still} == set(build_units(sc.estate, sc.plan)["v1"].resources)
    assert rep.open_windows == len(still)


def test_validate_failures_retry() -> None:
    rep = run(make(ONE_VNET, failures={"validate": 1.0, "max_attempts": 2}))
    out = rep.outcome("v1")
    assert not out.migrated and out.validate_attempts == 2
    assert rep.windows == ()


def test_crews_are_given_in_plan_order() -> None:
    estate = {"nsgs": [{"name": "n1"}, {"name": "n2"}, {"name": "n3"}], "storage_accounts": []}
    rep = run(make(estate, crews=1, ordering=["n3", "n1", "n2"]))
    firsts = sorted(rep.order, key=lambda u: rep.outcome(u).first_start or 0.0)
    assert firsts == ["n3", "n1", "n2"]
    assert rep.order == ("n3", "n1", "n2")


class LastFirst(PrepareAhead):
    """A policy that gives crews to the last unit of the order first."""

    def priorities(self, order: Sequence[str]) -> Mapping[str, int]:
        return {uid: -i for i, uid in enumerate(order)}


class NotBeforeAnHour(PrepareAhead):
    """A policy that begins no unit before minute 60."""

    def begin(self, uid: str, not_before: float) -> Proc:
        yield from super().begin(uid, max(not_before, 60.0))


def _run_with(sc: Scenario, policy: type[Dispatch]) -> Replication:
    units = build_units(sc.estate, sc.plan)
    found = rules.check(sc.estate, units, sc.plan)
    return simulate(sc.estate, units, sc.plan, found, deterministic=True, policy=policy)


def test_the_dispatch_policy_decides_who_gets_the_crew() -> None:
    estate = {"nsgs": [{"name": "n1"}, {"name": "n2"}, {"name": "n3"}], "storage_accounts": []}
    sc = make(estate, crews=1, ordering=["n3", "n1", "n2"])
    one = c(sc, "validate", 0) + c(sc, "prepare", 0) + c(sc, "commit", 0)
    # n3 takes the free crew at minute 0; from then on it is work in progress and goes first
    for policy, expected in ((PrepareAhead, ["n3", "n1", "n2"]), (LastFirst, ["n3", "n2", "n1"])):
        rep = _run_with(sc, policy)
        ends = {u: rep.outcome(u).commit_end for u in rep.order}
        assert sorted(rep.order, key=lambda u: ends[u] or 0.0) == expected, policy.__name__
        assert rep.makespan == 3 * one  # one crew, never idle
        assert rep.order == ("n3", "n1", "n2")  # the order itself is the plan's


def test_the_dispatch_policy_decides_when_a_unit_begins() -> None:
    sc = make(ONE_VNET, check="30m")
    base, later = run(sc), _run_with(sc, NotBeforeAnHour)
    assert later.makespan == base.makespan + 60.0
    assert [w.start for w in later.windows] == [w.start + 60.0 for w in base.windows]


def test_crews_bound_concurrency() -> None:
    estate = {"nsgs": [{"name": f"n{i}"} for i in range(5)], "storage_accounts": []}
    rep = run(make(estate, crews=2))
    spans = [s for u in rep.order for s in _crewed_spans(rep, u)]
    for t in {s for s, _ in spans}:
        assert sum(1 for a, b in spans if a <= t < b) <= 2
    assert {e.crew for e in rep.events if e.crew is not None} == {1, 2}


def test_remediation_windows_from_pre_step_to_post_step() -> None:
    estate = {
        "vnets": [
            vnet("v1", services=[{"name": "agw", "kind": "application_gateway"}]),
        ],
        "cloud_services": [
            {"name": "c1", "vnet": "v1", "vms": [vm("a", subnets=["default"], endpoint_acls=True)]}
        ],
    }
    rep = run(make(estate))
    exposure = rep.windows_of(resource="vm:a", kind="exposure")
    assert len(exposure) == 1
    pre = span(rep, "v1", "remediate:MIG012")
    post = span(rep, "v1", "restore:MIG012")
    assert exposure[0].start == pre[1] and exposure[0].end == post[1]
    assert post[0] >= span(rep, "v1", "commit")[1]
    agw = rep.windows_of(resource="service:agw", kind="data")
    assert len(agw) == 1 and agw[0].unit == "v1"
    assert agw[0].start == span(rep, "v1", "remediate:MIG013")[1]
    # the outage is restored first after Commit, then the exposure
    assert agw[0].end == span(rep, "v1", "restore:MIG013")[1] == post[0]
    assert span(rep, "v1", "restore:MIG013")[0] == span(rep, "v1", "commit")[1]
    # and removed last before Validate: the ACLs go first
    assert pre[1] == span(rep, "v1", "remediate:MIG013")[0]


def test_remediation_none_blocks_instead() -> None:
    estate = {
        "vnets": [vnet("v1")],
        "cloud_services": [
            {"name": "c1", "vnet": "v1", "vms": [vm("a", subnets=["default"], endpoint_acls=True)]}
        ],
    }
    rep = run(make(estate, remediation="none"))
    out = rep.outcome("v1")
    assert not out.migrated and out.rules == ("MIG012",)


def test_peering_is_removed_and_restored_once_per_pair() -> None:
    estate = {
        "vnets": [vnet("v1", peerings=["v2"]), vnet("v2")],
        "cloud_services": [
            {"name": "c1", "vnet": "v1", "vms": [vm("a", subnets=["default"])]},
            {"name": "c2", "vnet": "v2", "vms": [vm("b", subnets=["default"]) for _ in [0]]},
        ],
    }
    rep = run(make(estate, crews=2))
    conn = rep.windows_of(kind="connectivity")
    assert {w.resource for w in conn} == {"vnet:v1", "vnet:v2"}
    removals = [
        e for e in rep.events if e.step.startswith("remediate:MIG014") and e.outcome == "end"
    ]
    repeers = [e for e in rep.events if e.step.startswith("restore:MIG014") and e.outcome == "end"]
    assert len(removals) == 1 and len(repeers) == 1  # one peering: one removal, one re-peering
    assert removals[0].step == "remediate:MIG014:v1+v2"
    both_committed = max(span(rep, "v1", "commit")[1], span(rep, "v2", "commit")[1])
    repeer = span(rep, repeers[0].unit, "restore:MIG014:v1+v2")
    assert repeer[0] == both_committed  # re-peered by the end that commits last, at once
    for w in conn:
        assert w.start == removals[0].time and w.end == repeer[1]


def test_peering_is_restored_when_the_peer_will_not_migrate() -> None:
    # The peer stays classic (blocked): the migrated end re-peers with it right after its Commit
    # (a Resource Manager VNet may peer with a classic one).
    estate = {
        "vnets": [
            vnet("v1", peerings=["v2"]),
            vnet("v2", services=[{"name": "h", "kind": "hdinsight"}]),
        ],
        "cloud_services": [{"name": "c1", "vnet": "v1", "vms": [vm("a", subnets=["default"])]}],
    }
    rep = run(make(estate))
    assert rep.outcome("v1").migrated and not rep.outcome("v2").migrated
    (conn,) = rep.windows_of(resource="vnet:v1", kind="connectivity")
    assert conn.end == span(rep, "v1", "restore:MIG014:v1+v2")[1]
    assert span(rep, "v1", "restore:MIG014:v1+v2")[0] == span(rep, "v1", "commit")[1]


def test_dropped_alerts_open_a_monitoring_gap_from_commit() -> None:
    sc = make({"cloud_services": [{"name": "legacy", "vms": [vm("l1", alerts=True)]}]})
    result_rep = run(sc)
    gap = result_rep.windows_of(resource="vm:l1", kind="monitoring")[0]
    assert gap.start == span(result_rep, "legacy", "commit")[1]
    assert gap.end == span(result_rep, "legacy", "restore:MIG017")[1]
    assert gap.duration == pytest.approx(rc(sc, "MIG017", "restore", 1))
    (task,) = result_rep.post_tasks
    assert task.rule == "MIG017" and task.done_at == gap.end


def test_cross_subscription_circuit_opens_gateway_downtime() -> None:
    estate = {
        "subscription": "mine",
        "expressroute_circuits": [{"name": "er", "subscription": "theirs"}],
        "vnets": [
            vnet(
                "v1",
                "GatewaySubnet",
                gateway={"name": "gw", "kind": "expressroute", "circuit": "er"},
            )
        ],
    }
    rep = run(make(estate))
    down = rep.windows_of(resource="gateway:gw", kind="data")
    assert len(down) == 1
    assert down[0].start == span(rep, "v1", "remediate:MIG010")[1]
    assert down[0].end == span(rep, "v1", "restore:MIG010")[1]
    # 5 minutes' pause after the links are removed, then Validate (the lead time)
    assert span(rep, "v1", "validate")[0] == down[0].start + 5.0
    # the gateway is rebuilt: at least the 45 minutes a gateway takes to create
    assert span(rep, "v1", "restore:MIG010")[1] - span(rep, "v1", "restore:MIG010")[0] >= 45.0
    # same subscription: the ordering is the whole remediation, no steps
    estate["expressroute_circuits"] = [{"name": "er"}]
    same = run(make(estate))
    assert same.windows_of(kind="data") == []
    assert not [e for e in same.events if e.step.startswith("remediate")]


def test_transit_gateway_loses_connectivity_from_commit() -> None:
    estate = {"vnets": [vnet("v1", gateway={"name": "gw", "kind": "vpn", "transit": True})]}
    rep = run(make(estate))
    w = rep.windows_of(resource="gateway:gw", kind="connectivity")[0]
    assert w.start == span(rep, "v1", "commit")[1]


def test_future_support_migrates_mig002_units_with_downtime() -> None:
    estate = {
        "vnets": [vnet("v1")],
        "cloud_services": [
            {
                "name": "c1",
                "vnet": "v1",
                "vms": [
                    vm("a", subnets=["default"], availability_set="s1"),
                    vm("b", subnets=["default"], availability_set="s2"),
                ],
            }
        ],
    }
    blocked = run(make(estate))
    assert not blocked.outcome("v1").migrated and blocked.outcome("v1").rules == ("MIG002",)
    sc = make(estate, future_support=True)
    rep = run(sc)
    assert rep.outcome("v1").migrated
    data = rep.windows_of(kind="data")
    assert {w.resource for w in data} == {"vm:a", "vm:b"}
    expected = c(sc, "stop", 2) + c(sc, "deallocate", 2) + c(sc, "prepare", 2) + c(sc, "start", 2)
    assert all(w.duration == pytest.approx(expected) for w in data)


def test_write_throttle_lengthens_prepare() -> None:
    estate = {
        "vnets": [vnet("v1")],
        "cloud_services": [
            {
                "name": "c1",
                "vnet": "v1",
                "vms": [vm(f"m{i}", subnets=["default"]) for i in range(10)],
            }
        ],
    }
    sc = make(estate, write_limit_per_hour=20, writes_per_vm=3, writes_per_resource=0)
    rep = run(sc)
    start, end = span(rep, "v1", "prepare")
    # 30 writes from a full bucket of 20 refilled at 1/3 per minute: at least 30 minutes
    assert end - start == pytest.approx(max(c(sc, "prepare", 10), (30 - 20) * 3.0))
    free = run(make(estate, write_limit_per_hour=None))
    s2, e2 = span(free, "v1", "prepare")
    assert e2 - s2 == pytest.approx(c(sc, "prepare", 10))


def test_token_bucket_arithmetic() -> None:
    b = TokenBucket(60.0)  # one write per minute, 60 in the bucket
    assert b.min_duration(0.0, 50.0) == 0.0
    b.take(0.0, 50.0)
    assert b.level_at(5.0) == pytest.approx(15.0)
    assert b.min_duration(5.0, 45.0) == pytest.approx(30.0)
    b.take(5.0, 45.0)
    assert b.level_at(5.0) == pytest.approx(-30.0)
    assert b.level_at(1000.0) == 60.0


def test_ordering_unknown_unit_is_input_error() -> None:
    sc = load_scenario(CONTOSO, ["plan.ordering=[nope]"])
    with pytest.raises(InputError) as exc:
        run_scenario(sc)
    assert exc.value.key_path.startswith("plan.ordering")
    assert "nope" in exc.value.message


def test_ordering_breaking_a_constraint_is_input_error() -> None:
    sc = load_scenario(CONTOSO, ["plan.ordering=[stprodvhds, vnet-prod]"])
    with pytest.raises(InputError) as exc:
        run_scenario(sc)
    assert exc.value.key_path == "plan.ordering"
    assert "vnet-prod" in exc.value.message


def test_simulate_rejects_an_incomplete_order() -> None:
    sc = make(ONE_VNET)
    units = build_units(sc.estate)
    with pytest.raises(ValueError):
        simulate(sc.estate, units, sc.plan, (), order=["v1"])


def test_unit_ids_in_events_and_windows_are_known() -> None:
    result = run_scenario(load_scenario(CONTOSO))
    ids = set(result.units.ids())
    assert {e.unit for e in result.replication.events} <= ids
    assert {w.unit for w in result.replication.windows} <= ids
    assert {w.resource for w in result.replication.windows} <= set(result.units.unit_of)
    assert node_id("vm", "web-01") in {w.resource for w in result.replication.windows}


def _durations(rep: Replication) -> dict[tuple[str, str, int], float]:
    starts: dict[tuple[str, str, int], float] = {}
    out: dict[tuple[str, str, int], float] = {}
    for e in rep.events:
        key = (e.unit, e.step, e.attempt)
        if e.outcome == "start":
            starts[key] = e.time
        elif e.outcome in ("end", "fail"):
            out[key] = e.time - starts[key]
    return out


def test_common_random_numbers_across_orderings_and_crews() -> None:
    a = run_scenario(load_scenario(CONTOSO, ["plan.ordering=smallest_first"])).replication
    b = run_scenario(
        load_scenario(CONTOSO, ["plan.ordering=largest_first", "plan.crews=1", "plan.check=2h"])
    ).replication
    assert a.order != b.order
    da, db = _durations(a), _durations(b)
    shared = set(da) & set(db)
    assert len(shared) > 40
    for key in shared:
        if key[1] != "check":
            assert da[key] == pytest.approx(db[key], abs=1e-9), key
    # and the same failures: which attempts failed does not depend on the ordering
    assert {(e.unit, e.step, e.attempt) for e in a.events if e.outcome == "fail"} == {
        (e.unit, e.step, e.attempt) for e in b.events if e.outcome == "fail"
    }


def test_prefetched_draws_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine computes first-attempt numbers in one vectorised pass; without it every number
    # is computed on demand from NumPy's SeedSequence. The replication must be the same.
    sc = load_scenario(CONTOSO)
    plan = sc.plan.model_copy(
        update={"failures": sc.plan.failures.model_copy(update={"prepare": 0.3, "commit": 0.2})}
    )
    sc = sc.model_copy(update={"plan": plan})
    fast = run(sc)
    monkeypatch.setattr("sim.engine.sampling.Sampler.prefetch", lambda self, keys: None)
    slow = run(sc)
    assert fast == slow
    assert any(e.outcome == "fail" for e in fast.events)  # the failure draws were exercised


@pytest.mark.parametrize(
    "overrides",
    [
        (
            "plan.failures.validate=0.2",
            "plan.failures.prepare=0.3",
            "plan.failures.check=0.2",
            "plan.failures.commit=0.2",
        ),
        ("plan.restart_after=commit", "plan.crews=1", "plan.failures.prepare=0.3"),
        ("plan.future_support=true", "plan.write_limit_per_hour=30"),
        ("plan.maintenance_windows=[]", "plan.crews=3", "plan.ordering=smallest_first"),
    ],
)
def test_the_plain_units_path_changes_nothing(
    overrides: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Units with no blocker, remediation or group run an inlined copy of the general path
    # (Platform._plain_unit, issue 16); a unit whose first attempt of a step fails goes on by
    # the general methods. Every record must be what the general path gives.
    from sim.engine.platform import Platform

    sc = load_scenario(CONTOSO, list(overrides))
    used: list[int] = []
    plain_units = Platform._plain_units

    def counted(self: Platform) -> frozenset[str]:
        plain = plain_units(self)
        used.append(len(plain))
        return plain

    monkeypatch.setattr(Platform, "_plain_units", counted)
    fast = [run(sc, deterministic=d) for d in (True, False)]
    assert min(used) >= 2  # the path ran
    monkeypatch.setattr(Platform, "_plain_units", lambda self: frozenset())
    slow = [run(sc, deterministic=d) for d in (True, False)]
    assert fast == slow


def test_windows_are_sorted_by_start_end_resource_kind_unit() -> None:
    rep = run(load_scenario(CONTOSO))
    keys = [(w.start, w.end, w.resource, w.kind, w.unit) for w in rep.windows]
    assert keys == sorted(keys) and len(keys) > 10


def test_a_finished_replication_is_freed_without_the_collector() -> None:
    # A pool worker runs thousands of replications under a paused collector; a reference cycle
    # through the platform would keep each one's records alive until a full collection.
    import gc
    import weakref

    import simpy

    from sim.engine.platform import Platform

    sc = load_scenario(CONTOSO)
    units = build_units(sc.estate, sc.plan)
    found = rules.check(sc.estate, units, sc.plan)
    order = [u.id for u in units.units]
    gc.disable()
    try:
        platform = Platform(
            simpy.Environment(), sc.estate, units, sc.plan, found, order, False, PrepareAhead
        )
        rep = platform.run()
        alive = weakref.ref(platform)
        del platform
        assert alive() is None
        assert rep.outcomes
    finally:
        gc.enable()


def test_mig018_pre_step_counts_each_affected_vm() -> None:
    # 5 min + 5 min per VM with an XML extension (docs/model.md); two of the three VMs have one
    est = {
        "vnets": [vnet("v1", "web")],
        "cloud_services": [
            {
                "name": "cs1",
                "vnet": "v1",
                "vms": [
                    vm("a", subnets=["web"], extensions=["BGInfo/1.*"]),
                    vm("b", subnets=["web"], extensions=["BGInfo/1.2"]),
                    vm("c", subnets=["web"]),
                ],
            }
        ],
    }
    sc = make(est)
    rep = run(sc)
    a, b = span(rep, "v1", "remediate:MIG018")
    assert b - a == rc(sc, "MIG018", "remediate", 2) == 15.0


def test_a_lean_random_replication_runs_only_the_moments_others_see(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without records and with drawn durations, a unit whose first attempts pass runs its
    # steps as three events (Platform._straight); with records or fixed durations every step
    # is an event. The row is the same either way (test_engine_properties holds it over random
    # estates); here: the path runs where it should, and only there, on contoso.
    import simpy

    from sim.engine.platform import Platform
    from sim.engine.simulation import tally
    from sim.outputs.records import Tally

    sc = load_scenario(CONTOSO, ["plan.failures.prepare=0.2"])
    units = build_units(sc.estate, sc.plan)
    found = rules.check(sc.estate, units, sc.plan)
    straight = Platform._straight
    used: list[str] = []

    def counted(self: Platform, uid: str, *args: Any) -> Proc:
        used.append(uid)
        return (yield from straight(self, uid, *args))

    monkeypatch.setattr(Platform, "_straight", counted)
    steps = []
    step = simpy.Environment.step

    def counting(env: simpy.Environment) -> None:
        steps.append(1)
        step(env)

    monkeypatch.setattr(simpy.Environment, "step", counting)
    lean = tally(sc.estate, units, sc.plan, found)
    lean_events, straight_units = len(steps), len(used)
    steps.clear()
    recorded = simulate(sc.estate, units, sc.plan, found)
    assert len(used) == straight_units  # records: every step an event
    assert straight_units >= 3
    assert len(steps) - lean_events >= straight_units  # four steps or more, three events
    assert lean.makespan == recorded.makespan
    assert sorted(lean.windows) == sorted(Tally.of(recorded).windows)
    tally(sc.estate, units, sc.plan, found, deterministic=True)
    assert len(used) == straight_units  # fixed durations: every step an event
