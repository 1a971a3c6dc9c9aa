"""``build_report``: one self-contained, deterministic HTML page from a results directory."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from sim.common.clocktime import nearest_minute
from sim.common.errors import InputError
from sim.common.timeparse import format_minutes
from sim.experiments.answers import compare_answers, compare_finish_csv
from sim.experiments.comparison import (
    alternatives_from,
    compare,
    write_compare_csv,
    write_compare_replications,
)
from sim.experiments.replications import Prepared
from sim.experiments.run import run_experiment, run_scenario, write_experiment, write_run
from sim.experiments.sensitivity import (
    criticality_csv,
    criticality_index,
    sensitivity_csv,
    tornado,
)
from sim.model.scenario import Scenario, load_scenario
from sim.outputs.report import (
    SIZE_BUDGET,
    build_report,
    load_results,
    render_report,
    replication_of,
)
from sim.outputs.verdicts import write_verdict

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"
FIGURES = (
    "graph",
    "timeline",
    "exposure",
    "replications-ecdf",
    "compare-ecdf",
    "tornado",
    "criticality",
)


def write_sensitivity(scenario: Scenario, out: Path, n: int = 4) -> None:
    """``sensitivity/sensitivity.csv`` and ``criticality.csv`` as the report reads them."""
    prepared = Prepared.of(scenario)
    out.mkdir(parents=True)
    (out / "sensitivity.csv").write_text(sensitivity_csv(tornado(prepared, n)))
    (out / "criticality.csv").write_text(criticality_csv(criticality_index(prepared, n + 2)))


def make_results(root: Path, scenario: Scenario) -> Path:
    """A results directory with every section: a run with replications and kept windows, a
    comparison of two orderings, and a sensitivity analysis (small counts: seconds)."""
    experiment = run_experiment(scenario, 12, workers=1, keep_windows=4)
    write_experiment(experiment, root)
    alternatives = alternatives_from(scenario, ["smallest_first", "largest_first"])
    comparison = compare(alternatives, 12, workers=1)
    (root / "compare").mkdir()
    write_compare_csv(comparison, root / "compare" / "compare.csv")
    write_compare_replications(comparison, root / "compare" / "compare-replications.csv")
    write_verdict(comparison.overall(), root / "compare" / "verdict.json")
    finish = compare_finish_csv(compare_answers(comparison))
    (root / "compare" / "compare-finish.csv").write_text(finish, encoding="utf-8")
    write_sensitivity(scenario, root / "sensitivity")
    return root


@pytest.fixture(scope="module")
def contoso() -> Scenario:
    return load_scenario(CONTOSO)


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory, contoso: Scenario) -> Path:
    return make_results(tmp_path_factory.mktemp("full") / "contoso", contoso)


@pytest.fixture(scope="module")
def full_html(full: Path) -> str:
    return build_report(full).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def run_only(tmp_path_factory: pytest.TempPathFactory, contoso: Scenario) -> Path:
    out = tmp_path_factory.mktemp("run") / "contoso"
    write_run(run_scenario(contoso), out)
    return out


def test_full_report_has_every_section_and_figure(full: Path, full_html: str) -> None:
    assert (full / "report.html").is_file()
    for section in (
        "scenario",
        "validation",
        "outcome",
        "tasks",
        "timeline",
        "statistics",
        "comparison",
        "sensitivity",
    ):
        assert f'<section id="{section}">' in full_html
    figures = re.findall(r'<figure class="plot" id="fig-([a-z-]+)"', full_html)
    assert figures == list(FIGURES)
    assert full_html.count("<svg") == len(FIGURES)
    assert 'class="missing"' not in full_html  # every file is there
    # scenario summary: name, description, estate counts, plan knobs
    assert "contoso-weu: migration report" in full_html
    assert "Contoso West Europe classic estate" in full_html
    assert "<th>Virtual machines</th><td>6</td>" in full_html
    assert "<th>Crews</th><td>2</td>" in full_html
    assert "every saturday at 22:00 UTC for 8h" in full_html
    assert "Sat 2026-12-05 22:00 UTC" in full_html
    # findings by unit, units needing remediation before clean ones; post-migration tasks
    assert full_html.index("vnet-shared</b>") < full_html.index("cs-legacy</b>")
    assert "MIG017" in full_html and "Re-create after migration" in full_html
    # statistics, comparison (verdict and tables), the band of kept replications
    assert "mean (95% CI)" in full_html and "P99" in full_html
    assert 'class="verdict"' in full_html and "P(best)" in full_html
    assert "P10-P90 range over 4 replications" in full_html
    assert len(full_html.encode()) < SIZE_BUDGET


def test_report_is_self_contained(full_html: str) -> None:
    assert "<link" not in full_html and "@import" not in full_html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", full_html)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", full_html)
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", full_html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert "Content-Security-Policy" in full_html and "default-src 'none'" in full_html
    # ids unique across the inline SVGs
    ids = re.findall(r'\bid="([^"]+)"', full_html)
    assert len(ids) == len(set(ids))


def test_report_is_byte_deterministic(full: Path, full_html: str) -> None:
    assert render_report(full) == full_html


def test_out_option_writes_atomically_where_asked(run_only: Path, tmp_path: Path) -> None:
    target = tmp_path / "boards" / "change-board.html"
    assert build_report(run_only, target) == target
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in target.parent.iterdir()] == ["change-board.html"]


def test_a_plain_run_says_what_is_missing(run_only: Path) -> None:
    html = render_report(run_only)
    assert "no replications in this run: run <code>migsim run SCENARIO --replications N" in html
    assert "no comparison in this run: run <code>migsim compare SCENARIO" in html
    assert "--out DIR/compare</code>" in html
    assert "no sensitivity analysis in this run: run <code>migsim sensitivity" in html
    assert "no band across replications" in html
    assert "--replications N --keep-windows K --out DIR" in html  # the option that writes it
    assert re.findall(r'id="fig-([a-z-]+)"', html) == ["graph", "timeline", "exposure"]


def test_a_comparison_alone_is_a_report(full: Path, tmp_path: Path) -> None:
    root = tmp_path / "only-compare"
    shutil.copytree(full / "compare", root / "compare")
    html = render_report(root)
    assert "no run summary (summary.json)" in html
    assert re.findall(r'id="fig-([a-z-]+)"', html) == ["compare-ecdf"]
    assert 'class="verdict"' in html


def test_criticality_shows_both_figures_and_reads_an_older_file(full: Path, tmp_path: Path) -> None:
    root = tmp_path / "crit"
    shutil.copytree(full / "sensitivity", root / "sensitivity")
    (root / "sensitivity" / "sensitivity.csv").unlink()
    res = load_results(root)
    assert res.criticality is not None and res.resource_criticality is not None
    assert {u for u, _ in res.criticality} == {u for u, _ in res.resource_criticality}
    html = render_report(root)
    assert re.findall(r'id="fig-([a-z-]+)"', html) == ["criticality"]
    assert "Criticality index (blue): the share of replications" in html
    assert "Resource criticality (orange, hatched): the share of replications" in html
    assert "resource criticality: held a crew the critical path waited for" in html
    # A criticality.csv from before the resource criticality: one bar per unit.
    (root / "sensitivity" / "criticality.csv").write_text(
        "unit,critical,replications,criticality_index\nvnet-prod,3,4,0.75\nstlogs,0,4,0.0\n"
    )
    html = render_report(root)
    assert load_results(root).resource_criticality is None
    assert "Criticality index: the share of replications" in html
    assert "Resource criticality" not in html and "resource criticality" not in html


def test_a_factor_with_base_0_is_not_varied_rather_than_without_effect(
    full: Path, full_html: str, tmp_path: Path
) -> None:
    # contoso's Validate never fails: 0 halved or doubled is 0, nothing was varied
    assert "Not varied (base is 0): failures.validate." in full_html
    rows = load_results(full).sensitivity or []
    status = {r["factor"]: r["status"] for r in rows}
    assert status["failures.validate"] == "not varied (base is 0)"
    assert status["durations.abort"] == "varied"  # varied; Abort never ran: no effect
    # A sensitivity.csv from before the status column: equal low and high settings say it.
    root = tmp_path / "old"
    shutil.copytree(full / "sensitivity", root / "sensitivity")
    old = root / "sensitivity" / "sensitivity.csv"
    lines = old.read_text().splitlines()
    old.write_text("".join(line.rsplit(",", 1)[0] + "\n" for line in lines))
    assert "status" not in old.read_text()
    assert "Not varied (base is 0): failures.validate." in render_report(root)


def test_not_a_results_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected a results directory"):
        build_report(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no results"):
        build_report(tmp_path / "empty")


def test_an_unreadable_file_is_named_and_the_rest_still_shows(
    run_only: Path, tmp_path: Path
) -> None:
    root = tmp_path / "broken"
    shutil.copytree(run_only, root)
    (root / "validation.json").write_text("{not json")
    (root / "statistics.json").write_text("[1, 2]")
    html = render_report(root)
    assert "validation.json could not be read (JSONDecodeError" in html
    assert "statistics.json could not be read" in html
    assert 'id="fig-timeline"' in html


def test_statistics_from_replications_when_the_json_is_missing_or_differs(
    full: Path, tmp_path: Path
) -> None:
    root = tmp_path / "stats"
    root.mkdir()
    shutil.copy(full / "replications.csv", root / "replications.csv")
    html = render_report(root)
    assert "statistics.json is missing: the table below is computed from replications.csv" in html
    # the keys of the brief (mean, ci_low, ci_high, p50...) read as well as sim.experiments.runner's
    brief = {
        "makespan_hours": {
            "n": 3,
            "mean": 4.0,
            "ci_low": 3.5,
            "ci_high": 4.5,
            "p50": 4.1,
            "p80": 4.25,
            "p90": 4.3,
            "p99": 4.4,
        }
    }
    (root / "statistics.json").write_text(json.dumps(brief))
    html = render_report(root)
    # the makespan is a duration: 4.0 h is 4h, its CI 3h30m to 4h30m, P80 4.25 h is 4h15m
    assert '4h <span class="ci">(3h30m to 4h30m)</span>' in html
    assert "<td class=num>4h15m</td>" in html


def test_the_run_is_read_back_as_the_engine_made_it(contoso: Scenario, run_only: Path) -> None:
    original = run_scenario(contoso).replication
    back = replication_of(load_results(run_only))
    assert back is not None
    assert back.order == original.order
    for got, want in zip(back.outcomes, original.outcomes, strict=True):
        assert (got.unit, got.kind, got.vms, got.status) == (
            want.unit,
            want.kind,
            want.vms,
            want.status,
        )
        assert (got.commit_end or 0.0) == pytest.approx(want.commit_end or 0.0, abs=1e-5)
    assert len(back.windows) == len(original.windows)
    for a, b in zip(back.windows, original.windows, strict=True):
        assert (a.resource, a.kind, a.unit) == (b.resource, b.kind, b.unit)
        assert a.start == pytest.approx(b.start, abs=1e-5)
        assert a.end == pytest.approx(b.end, abs=1e-5)
    assert [(e.unit, e.step, e.outcome, e.crew, e.attempt) for e in back.events] == [
        (e.unit, e.step, e.outcome, e.crew, e.attempt) for e in original.events
    ]
    assert back.horizon == pytest.approx(original.horizon, abs=1e-5)
    assert len(back.maintenance) == len(original.maintenance) == 1
    for (a0, a1), (b0, b1) in zip(back.maintenance, original.maintenance, strict=True):
        assert (a0, a1) == pytest.approx((b0, b1), abs=1e-5)


def test_text_from_the_results_is_escaped(run_only: Path, tmp_path: Path) -> None:
    root = tmp_path / "hostile"
    shutil.copytree(run_only, root)
    scenario = yaml.safe_load((root / "scenario.yaml").read_text())
    scenario["description"] = "<script>alert('x')</script> & more"
    (root / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    html = render_report(root)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html


def test_a_2000_vm_estate_stays_readable_and_small(tmp_path: Path) -> None:
    from sim.importers.generate import generate_estate

    estate = generate_estate(2000, seed=1)
    scenario = Scenario.model_validate(
        {
            "name": "synthetic-2000",
            "description": "2,000 generated VMs",
            "estate": estate.model_dump(mode="json", by_alias=True),
            "plan": {"crews": 4, "seed": 3, "start": "2026-12-05T22:00:00Z"},
        }
    )
    result = run_scenario(scenario, deterministic=True)
    write_run(result, tmp_path / "big")
    path = build_report(tmp_path / "big")
    size = path.stat().st_size
    assert size < SIZE_BUDGET, f"{size:,} bytes"
    html = path.read_text(encoding="utf-8")
    assert "(one row per unit: the estate is large)" in html
    assert "<h3>Findings by rule</h3>" in html and "<details><summary>All other findings" in html
    units = len(json.loads((tmp_path / "big" / "validation.json").read_text())["units"])
    assert "2000" in html.replace(",", "") and units > 100


def _card(html: str, label: str) -> tuple[str, str]:
    """The value and sub-line of the headline card called ``label``."""
    match = re.search(
        rf'<div class="label">{re.escape(label)}</div><div class="value">([^<]*)</div>'
        r'<div class="sub">([^<]*)</div>',
        html,
    )
    assert match, label
    return match.group(1), match.group(2)


def test_the_cards_show_service_hours_exposure_and_gaps(run_only: Path) -> None:
    html = render_report(run_only)
    summary = json.loads((run_only / "summary.json").read_text())
    # contoso's Application Gateway (~145 min) and its peering (on both VNets) are service-hours
    assert summary["service_hours_down"] > 145 / 60
    value, sub = _card(html, "Service-hours down")
    assert value == f"{summary['service_hours_down']:.2f}"
    windows = load_results(run_only).windows or []
    appgw = [w for w in windows if w.resource == "service:appgw-prod" and w.kind == "data"]
    assert len(appgw) == 1
    connectivity = sum(w.duration for w in windows if w.kind == "connectivity") / 60
    assert sub == f"connectivity {connectivity:.1f} h · service {appgw[0].duration / 60:.1f} h"
    value, sub = _card(html, "Exposure · protection gaps")
    assert value == f"{summary['exposure_hours']:.1f} · {summary['protection_gap_hours']:.1f}"
    assert "resource-hours" in sub
    assert _card(html, "VM-hours down")[0] == f"{summary['vm_hours_down']:.2f}"
    # the caption says what the new cards count; no support card when no unit needs support
    assert '<p class="cards-note"><b>VM-hours down</b>' in html
    assert "an Application Gateway removed" in html and "Locked: needs support" not in html


def test_a_unit_locked_by_failed_commits_is_flagged(run_only: Path, tmp_path: Path) -> None:
    root = tmp_path / "support"
    shutil.copytree(run_only, root)
    with (root / "units.csv").open(newline="") as fh:
        units = list(csv.DictReader(fh))
    unit = units[-1]
    unit.update(
        status="not_migrated", reason="Commit failed after 3 attempts", needs_support="true"
    )
    with (root / "units.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(unit), lineterminator="\n")
        writer.writeheader()
        writer.writerows(units)
    summary = json.loads((root / "summary.json").read_text())
    summary["units_migrated"] -= 1
    summary["units_needing_support"] = 1
    summary["not_migrated"] = [
        {"unit": unit["unit"], "reason": unit["reason"], "rules": [], "needs_support": True}
    ]
    (root / "summary.json").write_text(json.dumps(summary))
    html = render_report(root)
    assert _card(html, "Locked: needs support") == ("1", "cannot be aborted: open a case")
    assert '<div class="card warn" title="Units left locked' in html
    assert '<span class="badge b-support">locked: needs support</span>' in html
    assert f"<b>Locked: needs support:</b> {unit['unit']} is left locked" in html
    back = replication_of(load_results(root))
    assert back is not None and back.outcome(unit["unit"]).needs_support


def test_results_written_before_the_new_figures_still_show_them(
    run_only: Path, tmp_path: Path
) -> None:
    root = tmp_path / "old"
    shutil.copytree(run_only, root)
    summary = json.loads((root / "summary.json").read_text())
    new = ("service_hours_down", "exposure_hours", "protection_gap_hours", "units_needing_support")
    for key in new:
        summary.pop(key)
    (root / "summary.json").write_text(json.dumps(summary))
    html = render_report(root)
    fresh = json.loads((run_only / "summary.json").read_text())
    assert _card(html, "Service-hours down")[0] == f"{fresh['service_hours_down']:.2f}"


# ---- clock times in the plan's zone, and the clock-time answers ---------------------------------


def _variant(contoso: Scenario, **plan: object) -> Scenario:
    data = contoso.model_dump(mode="json", by_alias=True)
    data["plan"].update(plan)
    return Scenario.model_validate(data)


@pytest.fixture(scope="module")
def amsterdam(tmp_path_factory: pytest.TempPathFactory, contoso: Scenario) -> Path:
    """contoso with one crew, planned in Europe/Amsterdam with a deadline: 8 replications."""
    scenario = _variant(
        contoso, timezone="Europe/Amsterdam", start="2026-12-05T22:00:00", crews=1, deadline="8h"
    )
    out = tmp_path_factory.mktemp("ams") / "contoso"
    write_experiment(run_experiment(scenario, 8, workers=1), out)
    return out


def test_every_clock_time_is_in_the_plan_zone(amsterdam: Path) -> None:
    html = render_report(amsterdam)
    summary = json.loads((amsterdam / "summary.json").read_text())
    assert summary["timezone"] == "Europe/Amsterdam"
    assert "plan starts Sat 2026-12-05 22:00 CET (UTC+01:00)" in html
    assert "<th>Start</th><td>Sat 2026-12-05 22:00 CET (UTC+01:00)</td>" in html
    assert "every saturday at 22:00 Europe/Amsterdam for 8h" in html
    assert "Sun 2026-12-06 06:00 CET (UTC+01:00) (8h after the start)" in html  # the deadline
    end = nearest_minute(datetime.fromisoformat(summary["end_local"]))  # as clock times show
    assert _card(html, "Makespan")[1] == f"ends {end:%a %Y-%m-%d %H:%M} CET (UTC+01:00)"
    assert " UTC<" not in html and "Z<" not in html  # no UTC clock time left for a person
    # the timeline's axis, and the maintenance window read in the zone as the engine read it
    assert "<!-- time in Europe/Amsterdam, CET (UTC+01:00) -->" in html  # the SVG's text
    back = replication_of(load_results(amsterdam))
    assert back is not None and back.maintenance[0] == (0.0, 480.0)  # 22:00 to 06:00 CET


def test_the_cards_give_the_finish_as_clock_times(amsterdam: Path) -> None:
    html = render_report(amsterdam)
    finish = json.loads((amsterdam / "statistics.json").read_text())["finish"]
    for p in ("P50", "P80", "P90"):
        value, sub = _card(html, f"Finish {p}")
        q = finish["quantiles"][p]
        assert f"{value} {sub.split(' · ')[0]}" == q["text"]
        assert sub.endswith(f" · {format_minutes(q['minutes'])} after the start")
    windows = finish["windows"]
    assert _card(html, "Done in window 1")[0] == f"{100 * windows[0]['share_by']:.1f} %"
    if len(windows) > 1:  # X + (share finishing in window 2) = Y
        value, sub = _card(html, "By window 2")
        assert value == f"{100 * windows[1]['share_by']:.1f} %"
        assert windows[0]["done_by"] + windows[1]["done_in"] == windows[1]["done_by"]
        assert sub.startswith(f"{100 * windows[1]['share_in']:.1f} % finish in it · ")
    deadline = finish["deadline"]
    value, sub = _card(html, "Done by the deadline")
    assert value == f"{100 * deadline['share']:.1f} %"
    assert sub.startswith(f"95 % CI {100 * deadline['ci_low']:.1f} to ")
    assert "P80 makespan" not in html  # the finish cards say it as a clock time
    assert "<h3>When is everything committed?" in html  # and the statistics section in full


def finishing_in(amsterdam: Path, root: Path, done_in: Sequence[int], modes: list[int]) -> str:
    """The report of the amsterdam run with ``done_in[k - 1]`` replications finishing in weekly
    window ``k`` (its statistics rewritten): its HTML."""
    shutil.copytree(amsterdam, root)
    stats = json.loads((root / "statistics.json").read_text())
    fin = stats["finish"]
    first, total, done_by, windows = fin["windows"][0], sum(done_in), 0, []
    for k, n in enumerate(done_in, start=1):
        done_by += n
        shift = (k - 1) * 7 * 1440
        windows.append(
            {
                **first,
                "window": k,
                "start": {"minutes": first["start"]["minutes"] + shift},
                "end": {"minutes": first["end"]["minutes"] + shift},
                "done_in": n,
                "done_by": done_by,
                "share_in": n / total,
                "share_by": done_by / total,
            }
        )
    fin.update(windows=windows, modes=modes, later=0, not_done=0)
    (root / "statistics.json").write_text(json.dumps(stats))
    return render_report(root)


def test_the_window_most_runs_finish_in_has_its_card(amsterdam: Path, tmp_path: Path) -> None:
    # None done in windows 1 and 2, 95 % in window 3, the rest in window 4: window 3 must not be
    # left to the table (the cards showed 1, 2 and the last only: "needs four weekends").
    html = finishing_in(amsterdam, tmp_path / "third", [0, 0, 19, 1], [3])
    assert _card(html, "Done in window 1")[0] == "0.0 %"
    assert _card(html, "By window 2")[0] == "0.0 %"
    value, sub = _card(html, "By window 3")
    assert value == "95.0 %" and sub.startswith("95.0 % finish in it · ")
    assert _card(html, "By window 4")[0] == "100.0 %"


def test_a_finish_in_several_windows_is_shown_as_modes(amsterdam: Path, tmp_path: Path) -> None:
    # 7 of 8 done in window 1, the eighth two weeks later in window 3
    html = finishing_in(amsterdam, tmp_path / "modes", [7, 0, 1], [1, 3])
    assert _card(html, "Done in window 1")[0] == "87.5 %"
    assert _card(html, "By window 2")[0] == "87.5 %"
    value, sub = _card(html, "By window 3")
    assert value == "100.0 %" and sub.startswith("12.5 % finish in it · ")
    value, sub = _card(html, "Several modes")
    assert value == "window 1 · window 3"
    assert sub == "87.5 % · 12.5 % of the finishes: read the windows, not a mean"
    assert '<div class="card warn"><div class="label">Several modes' in html
    assert "window 1 (88 %), window 3 (12 %): read the windows, not a mean" in html


def test_a_plan_without_a_start_counts_from_the_start(contoso: Scenario, tmp_path: Path) -> None:
    scenario = _variant(contoso, start=None)
    write_experiment(run_experiment(scenario, 4, workers=1), tmp_path / "nostart")
    html = render_report(tmp_path / "nostart")
    finish = json.loads((tmp_path / "nostart" / "statistics.json").read_text())["finish"]
    value, sub = _card(html, "Finish P80")
    assert value == f"+{format_minutes(finish['quantiles']['P80']['minutes'])}"
    assert sub == "from the start"
    assert "not set (minute 0 = a Monday 00:00 UTC)" in html
    value, sub = _card(html, "Done in window 1")
    assert value == f"{100 * finish['windows'][0]['share_by']:.1f} %"
    # Sunday's night window wraps into minute 0 (a Monday 00:00): it opened 2 hours before
    assert sub.startswith(("+", "-")) and sub.endswith(" from the start")
    assert _card(html, "Makespan")[1] == "this run"


def test_a_run_without_replications_has_no_finish_cards(run_only: Path) -> None:
    html = render_report(run_only)
    assert "When is everything committed?" not in html and "Finish P80" not in html
    value, sub = _card(html, "Makespan")
    summary = json.loads((run_only / "summary.json").read_text())
    assert value == format_minutes(summary["makespan_minutes"])
    assert (
        sub
        == f"ends {nearest_minute(datetime.fromisoformat(summary['end'])):%a %Y-%m-%d %H:%M} UTC"
    )


def test_durations_are_written_one_way(full: Path, full_html: str) -> None:
    # The makespan is a duration everywhere (7h55m), VM-hours stay numbers with their unit.
    rows = list(csv.DictReader((full / "compare" / "compare.csv").open()))
    for r in (r for r in rows if r["metric"] == "makespan_hours"):
        p80 = format_minutes(float(r["p80"]) * 60)
        assert f"<td class=num>{p80}</td>" in full_html, r["alternative"]
    vm = next(r for r in rows if r["metric"] == "vm_hours_down")
    assert f"<td class=num>{float(vm['p80']):.2f}</td>" in full_html
    stats = json.loads((full / "statistics.json").read_text())["metrics"]["makespan_hours"]
    assert f"<td class=num>{format_minutes(stats['p90'] * 60)}</td>" in full_html
    assert not re.search(r"\d h</td>", full_html)  # no "4.30 h" in a table


PS = ("p50", "p80", "p90")


def test_the_comparison_says_when_each_alternative_is_done(full: Path, full_html: str) -> None:
    rows = list(csv.DictReader((full / "compare" / "compare-finish.csv").open()))
    assert [r["alternative"] for r in rows] == ["smallest_first", "largest_first"]
    assert "When is everything committed? <span class=dim>(clock times in UTC)" in full_html
    start = datetime.fromisoformat(json.loads((full / "summary.json").read_text())["start"])
    for r in rows:
        # the exact finish (start + minutes), rounded once to the minute
        exact = [start + timedelta(minutes=float(r[f"{p}_min"])) for p in PS]
        clocks = [f"{nearest_minute(t):%a %Y-%m-%d %H:%M}" for t in exact]
        done = f"{100 * float(r['done_by_window_1']):.1f} %"
        row = f"<tr><td>{r['alternative']}</td>" + "".join(
            f"<td class=num>{c}</td>" for c in [*clocks, done]
        )
        assert row in full_html


def test_statistics_say_when_replications_left_units_behind(tmp_path: Path) -> None:
    """A replication that gave a unit up ends early: the report says its makespan is where
    the work stopped, in the share the finish table calls never done."""
    sets = ["plan.failures.prepare=0.3", "plan.failures.max_attempts=2"]
    exp = run_experiment(load_scenario(CONTOSO, sets), 20, workers=1, baseline=False)
    behind = exp.left_behind()
    assert 0 < behind < 20
    write_experiment(exp, tmp_path / "r", False)
    html = build_report(tmp_path / "r").read_text(encoding="utf-8")
    assert f"In {100 * behind / 20:.1f} % of the replications a unit was left behind" in html


@pytest.mark.parametrize(
    ("after_prepare", "words"),
    [
        ("retry", "a failed Prepare or Commit retried as it is after 5m"),
        ("abort", "a failed Prepare aborted and prepared again; a failed Commit retried after 5m"),
    ],
)
def test_plan_table_names_the_check_and_what_follows_a_failed_prepare(
    tmp_path: Path, after_prepare: str, words: str
) -> None:
    sets = ["plan.failures.check=0.2", f"plan.failures.after_prepare={after_prepare}"]
    write_run(run_scenario(load_scenario(CONTOSO, sets)), tmp_path / "r")
    html = build_report(tmp_path / "r").read_text(encoding="utf-8")
    assert "validate 0%, prepare 5%, check 20%, commit 1%" in html
    assert words in html
