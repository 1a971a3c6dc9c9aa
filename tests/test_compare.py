"""Comparisons with common random numbers; building alternatives from --orderings and --vary."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from sim.common.errors import InputError
from sim.common.stats import probability_best
from sim.experiments.comparison import (
    CSV_COLUMNS,
    TABLE_COLUMNS,
    Alternative,
    alternatives_from,
    compare,
    compare_csv,
    compare_replications_csv,
    write_compare_csv,
)
from sim.experiments.replications import METRICS, Prepared, ReplicationRow
from sim.model.ordering import STRATEGIES, order_units
from sim.model.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"


@dataclass(frozen=True)
class Flaky(Prepared):
    bad: frozenset[int] = frozenset()

    def row(self, replication: int, *, deterministic: bool = False) -> ReplicationRow:
        if replication in self.bad:
            raise RuntimeError(f"boom in {replication}")
        return super().row(replication, deterministic=deterministic)


@dataclass(frozen=True)
class FlakyAlternative(Alternative):
    """An alternative whose listed replications raise."""

    bad: frozenset[int] = frozenset()

    def prepare(self) -> Prepared:
        p = super().prepare()
        return Flaky(**{f.name: getattr(p, f.name) for f in fields(Prepared)}, bad=self.bad)


@pytest.fixture(scope="module")
def contoso() -> Scenario:
    return load_scenario(CONTOSO)


def test_an_alternative_compared_with_itself_differs_by_exactly_zero(contoso: Scenario) -> None:
    units = Prepared.of(contoso).units
    order = tuple(order_units(units, "largest_first"))
    by_name = contoso.model_copy(
        update={"plan": contoso.plan.model_copy(update={"ordering": "largest_first"})}
    )
    same = [Alternative("named", by_name), Alternative("explicit", contoso, order)]
    result = compare(same, 25, workers=1)
    for metric in METRICS:
        for row in result.table(metric):
            d = row.difference
            assert (d.estimate, d.low, d.high) == (0.0, 0.0, 0.0)
            assert row.probability_best == 0.5  # every replication a tie
        a, b = result.table(metric)
        assert a.mean == b.mean and a.percentiles == b.percentiles


def test_table_matches_reference_statistics(contoso: Scenario) -> None:
    alts = alternatives_from(contoso, ["smallest_first", "largest_first", "as_listed"])
    result = compare(alts, 40, workers=1)
    values = {
        name: np.array([r.makespan_hours for r in rows])
        for name, rows in zip(result.names, result.results, strict=True)
    }
    means = {k: v.mean() for k, v in values.items()}
    best = min(means, key=lambda k: means[k])
    table = result.table()
    assert result.best().alternative == best
    wins = np.argmin(np.array(list(values.values())), axis=0)
    for i, row in enumerate(table):
        x = values[row.alternative]
        assert row.n == 40
        assert row.mean.estimate == pytest.approx(x.mean())
        assert [row.percentiles[p] for p in (50, 80, 90)] == list(np.percentile(x, [50, 80, 90]))
        assert row.probability_best == pytest.approx(float(np.mean(wins == i)))
        if row.alternative == best:
            assert (row.difference.low, row.difference.high) == (0.0, 0.0)
        else:
            ref = sps.ttest_rel(x, values[best]).confidence_interval(0.95)
            assert row.difference.estimate == pytest.approx(float(np.mean(x - values[best])))
            assert (row.difference.low, row.difference.high) == pytest.approx(
                (ref.low, ref.high), rel=1e-9
            )
    assert tuple(r[0] for r in result.rows()) == result.names
    assert all(len(r) == len(TABLE_COLUMNS) for r in result.rows())
    assert best in result.verdict() and "% of 40 replications" in result.verdict()


def test_results_do_not_depend_on_workers(contoso: Scenario) -> None:
    alts = alternatives_from(contoso, ["smallest_first", "largest_first"])
    assert compare_csv(compare(alts, 12, workers=1)) == compare_csv(compare(alts, 12, workers=2))


def test_compare_csv(contoso: Scenario, tmp_path: Path) -> None:
    alts = alternatives_from(contoso, ["smallest_first", "as_listed"])
    result = compare(alts, 10, workers=1, metrics=["peak_vms_down"])
    assert result.metrics == ("makespan_hours", "peak_vms_down")  # the headline always included
    path = write_compare_csv(result, tmp_path / "compare.csv")
    records = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert tuple(records[0]) == CSV_COLUMNS
    assert [(r["alternative"], r["metric"]) for r in records] == [
        ("smallest_first", "makespan_hours"),
        ("as_listed", "makespan_hours"),
        ("smallest_first", "peak_vms_down"),
        ("as_listed", "peak_vms_down"),
    ]
    best = [(r["alternative"], r["metric"]) for r in records if r["best"] == "true"]
    assert all(r["diff_to_best"] == "0" for r in records if r["best"] == "true")
    # one winner on makespan; both orderings stop the same 2 VMs at the peak: a tie, no winner
    assert sum(metric == "makespan_hours" for _, metric in best) == 1
    assert [a for a, metric in best if metric == "peak_vms_down"] == ["smallest_first", "as_listed"]
    reps = compare_replications_csv(result).splitlines()
    assert reps[0].startswith("alternative,replication,seed,")
    assert len(reps) == 1 + 2 * 10


def test_alternatives_are_the_product_of_orderings_and_vary(contoso: Scenario) -> None:
    alts = alternatives_from(contoso, ["smallest_first", "largest_first"], ["plan.crews=1,3"])
    assert [a.name for a in alts] == [
        "smallest_first | crews=1",
        "smallest_first | crews=3",
        "largest_first | crews=1",
        "largest_first | crews=3",
    ]
    assert [(a.scenario.plan.ordering, a.scenario.plan.crews) for a in alts] == [
        ("smallest_first", 1),
        ("smallest_first", 3),
        ("largest_first", 1),
        ("largest_first", 3),
    ]
    # everything else is the scenario as loaded (maintenance windows survive the round trip)
    plain = contoso.plan.model_copy(update={"ordering": "smallest_first", "crews": 1})
    assert alts[0].scenario == contoso.model_copy(update={"plan": plain})


def test_vary_alone_keeps_the_plans_ordering(contoso: Scenario) -> None:
    alts = alternatives_from(contoso, [], ["plan.check=30m,2h", "plan.crews=2,4"])
    own = contoso.plan.ordering
    assert [a.name for a in alts] == [
        f"{own} | check=30m, crews=2",
        f"{own} | check=30m, crews=4",
        f"{own} | check=2h, crews=2",
        f"{own} | check=2h, crews=4",
    ]
    assert [a.scenario.plan.check for a in alts] == [30.0, 30.0, 120.0, 120.0]
    assert all(a.scenario.plan.ordering == contoso.plan.ordering for a in alts)
    only = alternatives_from(contoso)
    assert [a.name for a in only] == [str(contoso.plan.ordering)] and only[0].scenario == contoso


def test_extra_orderings_plug_in(contoso: Scenario) -> None:
    def reverse_largest(p: Prepared) -> list[str]:
        return order_units(p.units, "largest_first")

    alts = alternatives_from(
        contoso, ["as_listed", "optimized"], [], extra_orderings={"optimized": reverse_largest}
    )
    want = tuple(order_units(Prepared.of(contoso).units, "largest_first"))
    assert alts[1].name == "optimized" and alts[1].order == want
    assert alts[1].scenario.plan.ordering == want  # re-runnable from the scenario alone
    result = compare(alts, 5, workers=1)
    assert result.names == ("as_listed", "optimized")


def test_a_pasted_ordering_stands_beside_the_named_strategies(contoso: Scenario) -> None:
    # What `migsim optimize` prints is pasted under plan: as a list; `--orderings plan,...`
    # compares it with named strategies (it was "unknown strategy 'plan'").
    pasted = order_units(Prepared.of(contoso).units, "largest_first")
    plan = contoso.plan.model_copy(update={"ordering": tuple(pasted)})
    sc = contoso.model_copy(update={"plan": plan})
    alts = alternatives_from(sc, ["plan", "largest_first"], ["plan.crews=1,2"])
    assert [a.name for a in alts] == [
        "plan | crews=1",
        "plan | crews=2",
        "largest_first | crews=1",
        "largest_first | crews=2",
    ]
    assert alts[0].scenario.plan.ordering == tuple(pasted)
    assert alts[0].scenario.plan.crews == 1
    result = compare(alts[:1] + alts[2:3], 4, workers=1)
    # the same order under both names: the same rows, replication for replication
    rows = compare_replications_csv(result).splitlines()[1:]
    plan_rows = [r.split(",", 1)[1] for r in rows if r.startswith("plan")]
    named_rows = [r.split(",", 1)[1] for r in rows if r.startswith("largest_first")]
    assert plan_rows == named_rows and len(plan_rows) == 4


def test_unknown_strategy_is_named(contoso: Scenario) -> None:
    with pytest.raises(InputError) as info:
        alternatives_from(contoso, ["smallest_first", "fastest_first"])
    assert info.value.file == "--orderings"
    assert "'fastest_first'" in info.value.message
    assert all(name in info.value.message for name in STRATEGIES)


@pytest.mark.parametrize(
    ("vary", "loc", "needle"),
    [
        ("plan.crewz=1,2", ("plan", "crewz"), "unknown key 'crewz'"),
        ("plan.failures.nope=0.1", ("plan", "failures", "nope"), "unknown key 'nope'"),
        ("planz.crews=1", ("planz",), "unknown key 'planz'"),
        ("plan.crews=2,0", ("plan", "crews"), "greater than or equal to 1"),
        ("plan.crews", (), "expected KEY.PATH=V1,V2"),
        ("plan.crews=1,,2", (), "expected KEY.PATH=V1,V2"),
        ("plan.crews=1,1", (), "listed twice"),
    ],
)
def test_bad_vary_is_named(contoso: Scenario, vary: str, loc: tuple[str, ...], needle: str) -> None:
    with pytest.raises(InputError) as info:
        alternatives_from(contoso, ["as_listed"], [vary])
    assert info.value.file == "--vary"
    assert info.value.loc == loc
    assert needle in info.value.message


def test_failed_replications_are_left_out_of_every_alternative(contoso: Scenario) -> None:
    alts = [Alternative("ok", contoso), FlakyAlternative("flaky", contoso, None, frozenset({2}))]
    result = compare(alts, 6, workers=1, on_failure="collect")
    assert result.used == (0, 1, 3, 4, 5)
    assert all(row.n == 5 for row in result.table())
    assert len(result.failures) == 1 and result.failures[0].startswith(
        "alternative 'flaky', replication 2 (seed "
    )


def test_bad_compare_arguments(contoso: Scenario) -> None:
    alts = alternatives_from(contoso, ["as_listed"])
    with pytest.raises(InputError, match="unknown metric"):
        compare(alts, 3, workers=1, metrics=["makespan"])
    with pytest.raises(InputError, match="listed twice"):
        compare([alts[0], alts[0]], 3, workers=1)
    with pytest.raises(InputError, match="unknown metric"):
        compare(alts, 3, workers=1).rows("nope")


@pytest.mark.parametrize("command", ["compare", "sensitivity"])
def test_cli_unknown_metric_is_refused_before_any_work(tmp_path: Path, command: str) -> None:
    """`migsim compare|sensitivity SCEN --metric nope`: exit 2 with one message, before any
    replication runs (no progress bar) and before the output folder is claimed."""
    import subprocess
    import sys

    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "sim", command, str(CONTOSO), "--metric", "nope",
         "--replications", "50", "--workers", "1", "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "error: --metric: unknown metric 'nope'; expected one of: makespan_hours"
    )
    assert "Replications" not in result.stdout + result.stderr
    assert "Sensitivity" not in result.stdout + result.stderr
    assert not out.exists()


def test_noise_of_a_billionth_is_a_tie_with_p_best_shared() -> None:
    # Sums of the same windows in another order differ by ~1e-16: no winner by that noise.
    base = [1.0, 2.0, 3.0, 4.0]
    noisy = [x + 1e-13 for x in base]
    assert probability_best([base, noisy]) == [0.5, 0.5]
    assert probability_best([base, [x + 0.01 for x in base]]) == [1.0, 0.0]


def test_a_comparison_of_equal_vm_hours_says_tie() -> None:
    # contoso's VMs outside a VNet are down for the same steps whatever the crews: a tie.
    sc = load_scenario(CONTOSO)
    alts = alternatives_from(sc, vary=["plan.crews=1,2"])
    result = compare(alts, 20, workers=1)
    table = result.table("vm_hours_down")
    assert all(r.best for r in table)
    assert [r.probability_best for r in table] == pytest.approx([0.5, 0.5])
    assert result.verdict("vm_hours_down").startswith("Tie on vm_hours_down:")
    assert not all(r.best for r in result.table("makespan_hours"))  # a real difference stays


# ---- alternatives that migrate different units ------------------------------------------------

BLOCKED_ESTATE = """\
name: aadds-what-if
estate:
  storage_accounts: [{name: st-dc}, {name: st-app}]
  vnets:
    - name: vnet-dc
      subnets: [{name: infra}]
      services: [{name: corp-dc, kind: aad_domain_services}]
    - name: vnet-app
      subnets: [{name: app}]
  cloud_services:
    - name: cs-dc
      vnet: vnet-dc
      vms: [{name: dc-01, subnets: [infra], os_disk: {storage_account: st-dc}}]
    - name: cs-app
      vnet: vnet-app
      vms: [{name: app-01, subnets: [app], os_disk: {storage_account: st-app}}]
plan:
  seed: 7
  start: 2026-12-05T22:00:00Z
  ordering: as_listed
  crews: 2
  maintenance_windows: [{every: saturday, at: "22:00", for: 8h}]
  failures: {prepare: 0, commit: 0}
"""


def _compare_cli(tmp_path: Path, *args: str) -> tuple[str, Path]:
    import os
    import subprocess
    import sys

    scenario = tmp_path / "aadds.yaml"
    scenario.write_text(BLOCKED_ESTATE)
    out = tmp_path / "cmp"
    env = {**os.environ, "COLUMNS": "300"}
    result = subprocess.run(
        [sys.executable, "-m", "sim", "compare", str(scenario), *args, "--replications", "4",
         "--workers", "1", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # What a reader sees, the table borders dropped and the words on one line.
    text = result.stdout.translate({ord(ch): " " for ch in "│┃"})
    return " ".join(text.split()), out


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_an_alternative_that_leaves_units_blocked_is_never_everything_committed(
    tmp_path: Path,
) -> None:
    # Without the what-if MIG008 blocks vnet-dc, and st-dc waits for it: two units never migrate
    # under aadds_migration=false that aadds_migration=true migrates.
    printed, out = _compare_cli(
        tmp_path, "--vary", "plan.aadds_migration=false,true", "--metric", "service_hours_down"
    )
    no, yes = "as_listed | aadds_migration=false", "as_listed | aadds_migration=true"
    stats = {(r["alternative"], r["metric"]): r for r in _csv(out / "compare.csv")}
    assert float(stats[no, "units_not_migrated"]["mean"]) == 2.0
    assert float(stats[yes, "units_not_migrated"]["mean"]) == 0.0
    assert float(stats[no, "done_in_window_1"]["mean"]) == 0.0
    assert float(stats[yes, "done_in_window_1"]["mean"]) == 1.0
    # Less work is quicker: the blocked alternative has the lower makespan and service-hours.
    assert stats[no, "makespan_hours"]["best"] == "true"

    finish = {r["alternative"]: r for r in _csv(out / "compare-finish.csv")}
    assert finish[no]["p50_min"] == finish[no]["p80_min"] == finish[no]["p90_min"] == ""
    assert finish[no]["done_by_window_1"] == "0"  # as compare.csv says
    assert finish[no]["not_done_share"] == "1"
    assert finish[no]["units_never_migrated"] == "st-dc;vnet-dc"
    assert finish[yes]["done_by_window_1"] == "1" and finish[yes]["units_never_migrated"] == ""
    assert float(finish[yes]["p50_min"]) == pytest.approx(
        float(stats[yes, "makespan_hours"]["p50"]) * 60, abs=1e-3
    )
    # The terminal's finish table: no finish time and 0.0 % for the blocked alternative.
    assert f"{no} not done not done not done 0.0 % 0.0 % 2 units (blocked)" in printed
    # (the table wraps its cells: the clock time's second half goes on the next line)
    assert f"{yes} Sat 05 Sat 05 Sat 05 100.0 % 100.0 %" in printed
    assert finish[yes]["p50_local"] == "2026-12-05T23:51:30+00:00" and "Dec 23:52" in printed
    assert printed.count("not done") == 3

    lesser = (
        f"Not the same work: {no} never migrates 2 units that {yes} migrates (st-dc, vnet-dc:"
        " blocked under its plan, or waiting for a blocked unit): its makespan, VM-hours down,"
        " service-hours down and lock hours cover less work."
    )
    # The --metric verdict, then the Pareto sentence, both say it.
    assert printed.count(lesser) == 2
    assert f"makespan lower {no} (migrates fewer units)" in printed
    assert f"units not migrated lower {yes} 0.00" in printed
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["fewer_units"] == {no: 2.0}
    assert verdict["blocked"] == {no: ["st-dc", "vnet-dc"]}
    assert set(verdict["pareto"]) == {no, yes}  # fewer units is no win: both stay
    assert "units_not_migrated" in verdict["strengths"][yes]


def test_units_blocked_in_every_alternative_change_nothing(tmp_path: Path) -> None:
    # vnet-dc and st-dc are blocked under both: the comparison is of the rest, done in window 1.
    printed, out = _compare_cli(tmp_path, "--vary", "plan.crews=1,2")
    stats = {(r["alternative"], r["metric"]): r for r in _csv(out / "compare.csv")}
    finish = {r["alternative"]: r for r in _csv(out / "compare-finish.csv")}
    for name in ("as_listed | crews=1", "as_listed | crews=2"):
        assert float(stats[name, "units_not_migrated"]["mean"]) == 2.0
        assert float(stats[name, "done_in_window_1"]["mean"]) == 1.0
        assert finish[name]["done_by_window_1"] == "1"
        assert finish[name]["units_never_migrated"] == "" and finish[name]["not_done_share"] == "0"
        assert finish[name]["p50_min"] != ""
    assert "Not the same work" not in printed and "migrates fewer units" not in printed
    assert "units not migrated lower tie: all equal 2.00" in printed
    assert json.loads((out / "verdict.json").read_text())["fewer_units"] == {}
