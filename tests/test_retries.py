"""Retries as the platform runs them (issue 15): a failed Prepare is retried as it is, a Check
that finds a problem is aborted and prepared again.

Deterministic durations give exact times; the seeds are chosen so that the first Prepare fails
(each test asserts that it did, so a change of the draws cannot make it pass vacuously)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.engine.sampling import Streams
from sim.engine.simulation import simulate
from sim.model import rules
from sim.model.scenario import Scenario, load_scenario
from sim.model.units import build_units
from sim.outputs.records import Replication, Window

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"

MONDAY = "2027-01-04T09:00:00Z"
SATURDAY_22 = 5 * 1440 + 13 * 60  # minutes from Monday 09:00 to Saturday 22:00
WEEK = 7 * 1440
STEPS = {"validate": "5m", "prepare": "10m", "commit": "5m", "abort": "5m"}


def replicate(sc: Scenario) -> Replication:
    """One run on the plan's own seed, durations at their central values."""
    units = build_units(sc.estate, sc.plan)
    found = rules.check(sc.estate, units, sc.plan)
    return simulate(sc.estate, units, sc.plan, found, deterministic=True)


def contoso(*sets: str) -> Replication:
    return replicate(load_scenario(CONTOSO, sets))


def one_vnet(**plan: Any) -> Scenario:
    """A VNet with one VM, one crew, one 4-hour window a week (Saturday 22:00)."""
    estate = {
        "vnets": [{"name": "v1", "subnets": [{"name": "app"}]}],
        "cloud_services": [
            {
                "name": "cs1",
                "vnet": "v1",
                "vms": [{"name": "a", "os_disk": {"storage_account": "sta"}, "subnets": ["app"]}],
            }
        ],
        "storage_accounts": [{"name": "sta"}],
    }
    base: dict[str, Any] = {
        "start": MONDAY,
        "crews": 1,
        "maintenance_windows": [{"every": "saturday", "at": "22:00", "for": "4h"}],
        "durations": STEPS,
    }
    return Scenario.model_validate({"name": "t", "estate": estate, "plan": {**base, **plan}})


def steps(rep: Replication, unit: str, *names: str) -> list[tuple[str, str, int]]:
    """``(step, outcome, attempt)`` of ``unit``'s steps ``names`` that ended or failed."""
    return [
        (e.step, e.outcome, e.attempt)
        for e in rep.events_of(unit)
        if e.outcome != "start" and e.step in names
    ]


def when(rep: Replication, unit: str, step: str, outcome: str, attempt: int) -> float:
    return next(e.time for e in rep.events_of(unit, step, outcome) if e.attempt == attempt)


def by_resource(windows: tuple[Window, ...] | list[Window]) -> dict[str, list[Window]]:
    out: dict[str, list[Window]] = {}
    for w in sorted(windows, key=lambda w: w.start):
        out.setdefault(w.resource, []).append(w)
    return out


# ---- a failed Prepare, retried as it is ----------------------------------------------------


def test_contoso_failed_prepare_is_retried_after_the_delay_locked_and_stopped_throughout() -> None:
    # Seed 3, failures.prepare 0.3: cs-legacy (a cloud service outside a VNet, its two VMs
    # stopped by the platform) fails its first Prepare and succeeds the second.
    rep = contoso("plan.failures.prepare=0.3", "plan.seed=3")
    unit = "cs-legacy"
    out = rep.outcome(unit)
    assert (out.prepare_attempts, out.migrated) == (2, True)
    assert steps(rep, unit, "stop", "deallocate", "prepare", "abort", "start", "commit") == [
        ("stop", "end", 1),
        ("deallocate", "end", 1),
        ("prepare", "fail", 1),
        ("prepare", "end", 2),  # no Abort, no Start, no Stop between the attempts
        ("start", "end", 2),
        ("commit", "end", 1),
    ]
    # exactly retry_after (contoso: the default 5 minutes) after the failure
    failed = when(rep, unit, "prepare", "fail", 1)
    assert when(rep, unit, "prepare", "start", 2) == pytest.approx(failed + 5.0)
    # one management window per resource, from Stop to Commit, across both attempts
    stop = when(rep, unit, "stop", "start", 1)
    commit = when(rep, unit, "commit", "end", 1)
    locks = by_resource(rep.windows_of(unit=unit, kind="management"))
    assert set(locks) == {"cloud_service:cs-legacy", "reserved_ip:rip-legacy", "vm:legacy-01",
                          "vm:legacy-02"}  # fmt: skip
    for spans in locks.values():
        assert [(w.start, w.end, w.cause) for w in spans] == [
            (stop, commit, "Prepare attempts 1-2 to Commit")
        ]
    # the VMs stay down across the retry: one data window each, Stop to the Start after it
    start = when(rep, unit, "start", "end", 2)
    down = by_resource(rep.windows_of(unit=unit, kind="data"))
    assert {r: [(w.start, w.end) for w in ws] for r, ws in down.items()} == {
        "vm:legacy-01": [(stop, start)],
        "vm:legacy-02": [(stop, start)],
    }


def test_contoso_every_retried_unit_keeps_one_lock_and_no_abort() -> None:
    rep = contoso("plan.failures.prepare=0.3", "plan.seed=4")
    retried = [o for o in rep.outcomes if o.prepare_attempts > 1]
    assert len(retried) >= 3  # seed 4: several units, one of them three times
    assert max(o.prepare_attempts for o in retried) >= 3
    for o in retried:
        assert o.migrated
        assert rep.events_of(o.unit, "abort") == []
        for spans in by_resource(rep.windows_of(unit=o.unit, kind="management")).values():
            assert len(spans) == 1
            assert spans[0].start <= when(rep, o.unit, "prepare", "start", 1)
            assert spans[0].end == when(rep, o.unit, "commit", "end", o.commit_attempts)
        fails = [e.time for e in rep.events_of(o.unit, "prepare", "fail")]
        retries = [
            when(rep, o.unit, "prepare", "start", a) for a in range(2, o.prepare_attempts + 1)
        ]
        assert retries == pytest.approx([t + 5.0 for t in fails])


def test_contoso_after_prepare_abort_keeps_the_abort_between_attempts() -> None:
    rep = contoso("plan.failures.prepare=0.3", "plan.seed=3", "plan.failures.after_prepare=abort")
    unit = "cs-legacy"
    assert rep.outcome(unit).prepare_attempts == 2 and rep.outcome(unit).migrated
    assert steps(rep, unit, "stop", "deallocate", "prepare", "abort", "start", "commit") == [
        ("stop", "end", 1),
        ("deallocate", "end", 1),
        ("prepare", "fail", 1),
        ("abort", "end", 1),
        ("start", "end", 1),  # the VMs run again between the attempts
        ("stop", "end", 2),
        ("deallocate", "end", 2),
        ("prepare", "end", 2),
        ("start", "end", 2),
        ("commit", "end", 1),
    ]
    abort = when(rep, unit, "abort", "end", 1)
    for spans in by_resource(rep.windows_of(unit=unit, kind="management")).values():
        assert [(w.end, w.cause) for w in spans] == [
            (abort, "Prepare attempt 1 to Abort (Prepare failed)"),
            (when(rep, unit, "commit", "end", 1), "Prepare attempt 2 to Commit"),
        ]
    for spans in by_resource(rep.windows_of(unit=unit, kind="data")).values():
        assert [w.end for w in spans] == [
            when(rep, unit, "start", "end", 1),
            when(rep, unit, "start", "end", 2),
        ]


@pytest.mark.parametrize(
    ("check", "in_place"),
    [("3h", True), ("3h30m", False)],
)
def test_just_in_time_retries_in_place_only_while_the_rest_fits_the_window(
    check: str, in_place: bool
) -> None:
    # Seed 3: v1's first Prepare fails (probability 0.5), its second succeeds. Validate 5,
    # Prepare 10: the failure comes 15 minutes into the 4-hour (240-minute) window. A retry in
    # place needs 5 (retry_after) + 10 (Prepare) + Check + 5 (Commit): with a 3-hour Check it
    # ends at 215, inside the window; with 3h30m at 245, past its end, so the operator aborts
    # and the unit waits for next Saturday, as it did before issue 15.
    sc = one_vnet(seed=3, check=check, failures={"prepare": 0.5, "max_attempts": 3})
    rep = replicate(sc)
    out = rep.outcome("v1")
    assert (out.prepare_attempts, out.migrated) == (2, True)
    locks = [
        (w.start - SATURDAY_22, w.end - SATURDAY_22) for w in rep.windows_of(resource="vnet:v1")
    ]
    if in_place:
        assert rep.events_of("v1", "abort") == []
        assert locks == [(5, 215)]
    else:
        assert steps(rep, "v1", "prepare", "abort") == [
            ("prepare", "fail", 1),
            ("abort", "end", 1),
            ("prepare", "end", 2),
        ]
        assert locks == [(5, 20), (WEEK, WEEK + 10 + 210 + 5)]


def test_prepare_ahead_retries_in_place_while_the_vms_downtime_fits() -> None:
    # Step by step, a cloud service outside a VNet: Stop 2, Deallocate 2, Prepare 10 (failed),
    # 5 minutes, Prepare 10, Start 5: the VMs are down 34 minutes, inside the window.
    estate = {
        "cloud_services": [
            {"name": "cs1", "vms": [{"name": "a", "os_disk": {"storage_account": "sta"}}]}
        ],
        "storage_accounts": [{"name": "sta"}],
    }
    plan = {
        "start": MONDAY,
        "dispatch": "prepare_ahead",
        "seed": 0,
        "maintenance_windows": [{"every": "saturday", "at": "22:00", "for": "4h"}],
        "durations": {**STEPS, "stop": "2m", "deallocate": "2m", "start": "5m"},
        "failures": {"prepare": 0.5},
    }
    sc = Scenario.model_validate({"name": "t", "estate": estate, "plan": plan})
    seed = next(s for s in range(50) if _fails_first("cs1", s))
    rep = replicate(sc.model_copy(update={"plan": sc.plan.model_copy(update={"seed": seed})}))
    assert rep.outcome("cs1").prepare_attempts == 2
    [down] = rep.windows_of(resource="vm:a", kind="data")
    assert down.duration == pytest.approx(2 + 2 + 10 + 5 + 10 + 5)
    assert rep.events_of("cs1", "abort") == []


def _fails_first(unit: str, seed: int) -> bool:
    """Whether ``unit``'s first Prepare fails and its second succeeds at probability 0.5."""
    s = Streams(seed)
    return (
        s.uniform("failures", unit, "prepare", 1) < 0.5 <= s.uniform("failures", unit, "prepare", 2)
    )


# ---- a Check that finds a problem ------------------------------------------------------------


def test_contoso_check_finding_a_problem_every_time_aborts_twice_and_gives_up() -> None:
    rep = contoso(
        "plan.failures.check=1.0", "plan.failures.max_attempts=2", "plan.restart_after=commit"
    )
    unit = "cs-legacy"
    out = rep.outcome(unit)
    assert not out.migrated and out.prepare_attempts == 2 and out.commit_attempts == 0
    assert out.reason == "Check found a problem 2 times (plan.failures.max_attempts); aborted"
    assert steps(rep, unit, "prepare", "check", "abort") == [
        ("prepare", "end", 1),
        ("check", "fail", 1),  # the Check's failure is in the records
        ("abort", "end", 1),
        ("prepare", "end", 2),
        ("check", "fail", 2),
        ("abort", "end", 2),
    ]
    aborts = [when(rep, unit, "abort", "end", a) for a in (1, 2)]
    stops = [when(rep, unit, "stop", "start", a) for a in (1, 2)]
    # the lock ends at each Abort
    for spans in by_resource(rep.windows_of(unit=unit, kind="management")).values():
        assert [(w.start, w.end) for w in spans] == list(zip(stops, aborts, strict=True))
        assert all(w.cause.endswith("to Abort (the Check found a problem)") for w in spans)
    # restart_after: commit keeps the VMs down through Check: they start after each Abort
    starts = [when(rep, unit, "start", "end", a) for a in (1, 2)]
    assert all(when(rep, unit, "start", "start", a) == aborts[a - 1] for a in (1, 2))
    for spans in by_resource(rep.windows_of(unit=unit, kind="data")).values():
        assert [(w.start, w.end) for w in spans] == list(zip(stops, starts, strict=True))
    # every unit that got to Check shows the same, and what waits for them is not migrated
    for o in rep.outcomes:
        assert not o.migrated
        if o.prepare_attempts:
            assert [s for s, _, _ in steps(rep, o.unit, "prepare", "check", "abort")] == [
                "prepare", "check", "abort", "prepare", "check", "abort"
            ]  # fmt: skip


def test_check_failure_after_restart_after_prepare_needs_no_start() -> None:
    # With restart_after: prepare (contoso's) the VMs run again before Check; the Abort after a
    # Check that found a problem has nothing to start.
    rep = contoso("plan.failures.check=1.0", "plan.failures.max_attempts=1")
    unit = "cs-legacy"
    assert steps(rep, unit, "stop", "prepare", "start", "check", "abort") == [
        ("stop", "end", 1),
        ("prepare", "end", 1),
        ("start", "end", 1),
        ("check", "fail", 1),
        ("abort", "end", 1),
    ]
    assert rep.outcome(unit).reason.startswith("Check found a problem 1 time ")


def test_check_failure_then_a_passing_check_migrates_on_the_next_attempt() -> None:
    # Arithmetic on one VNet without windows: Validate 5, Prepare 10, Check 30 (a problem),
    # Abort 5, then at once Prepare 10, Check 30, Commit 5: two locks, the first ending at the
    # Abort.
    seed = next(s for s in range(50) if _check_fails_first("v1", s))
    sc = one_vnet(seed=seed, check="30m", maintenance_windows=[], failures={"check": 0.5})
    rep = replicate(sc)
    out = rep.outcome("v1")
    assert (out.prepare_attempts, out.migrated) == (2, True)
    locks = [(w.start, w.end) for w in rep.windows_of(resource="vnet:v1")]
    assert locks == [(5, 50), (50, 95)]


def _check_fails_first(unit: str, seed: int) -> bool:
    s = Streams(seed)
    return s.uniform("failures", unit, "check", 1) < 0.5 <= s.uniform("failures", unit, "check", 2)


def test_the_check_draw_moves_no_other_draw() -> None:
    # The Check's failures are drawn from keys of their own: a Check that (at this seed) never
    # finds a problem leaves every other draw, so the whole run, as it was.
    base = contoso("plan.failures.prepare=0.3", "plan.seed=4")
    tiny = contoso("plan.failures.prepare=0.3", "plan.seed=4", "plan.failures.check=0.000001")
    assert base.events == tiny.events and base.windows == tiny.windows


# ---- a unit left locked ----------------------------------------------------------------------


def test_a_unit_left_locked_runs_no_restore_its_removals_stay_to_the_end() -> None:
    """Commit fails every time: vnet-prod stays locked (needs support). The platform refuses
    writes to its resources, so its Application Gateway, endpoint ACLs, backup and peering are
    not put back: those windows stay open to the end of the run, like its lock."""
    rep = contoso(
        "plan.failures.commit=1",
        "plan.failures.max_attempts=2",
        "plan.failures.retry_after=0",
    )
    out = rep.outcome("vnet-prod")
    assert not out.migrated and out.needs_support and out.commit_attempts == 2
    assert [e.step for e in rep.events_of("vnet-prod") if e.step.startswith("restore:")] == []
    removed = [e.step for e in rep.events_of("vnet-prod", outcome="end")]
    assert {"remediate:MIG012", "remediate:MIG013", "remediate:MIG021"} <= set(removed)
    gaps = [w for w in rep.windows if w.unit == "vnet-prod" and w.kind != "management"]
    assert {w.cause.split(":")[0] for w in gaps} >= {"MIG012", "MIG013", "MIG014", "MIG021"}
    for w in gaps:
        assert w.end == rep.horizon and w.cause.endswith("(still open at the end of the run)")
    # The lock is named from its Prepare: no Commit ended it.
    lock = rep.windows_of(resource="vnet:vnet-prod", kind="management")[0]
    assert lock.cause == "from Prepare attempt 1 (still open at the end of the run)"


def test_the_headline_says_windows_left_open_go_on() -> None:
    from sim.experiments.run import run_scenario

    sc = load_scenario(CONTOSO, ["plan.failures.commit=1", "plan.failures.max_attempts=1"])
    result = run_scenario(sc, deterministic=True)
    assert result.summary.open_windows > 0
    rows = dict(result.headline())
    assert rows["Windows still open at the end"].startswith(
        f"{result.summary.open_windows}: counted only to the run's last event"
    )
    assert "Windows still open at the end" not in dict(
        run_scenario(load_scenario(CONTOSO), deterministic=True).headline()
    )


def test_replications_that_left_units_behind_are_named() -> None:
    """Makespan of a replication that gave a unit up ends where the work stopped: the experiment
    says how many replications did, the same count the finish answers call not done."""
    from sim.experiments.run import run_experiment

    sets = ["plan.failures.prepare=0.3", "plan.failures.max_attempts=2"]
    exp = run_experiment(load_scenario(CONTOSO, sets), 40, workers=1, baseline=False)
    behind = sum(1 for r in exp.rows if r.units_not_migrated > 0)  # contoso: all in scope
    assert 0 < behind < 40
    assert exp.left_behind() == behind
    caveat = exp.caveat()
    assert caveat is not None and caveat.startswith(f"In {behind} of 40 replications")
    clean = run_experiment(load_scenario(CONTOSO), 5, workers=1, baseline=False)
    assert clean.left_behind() == 0 and clean.caveat() is None
