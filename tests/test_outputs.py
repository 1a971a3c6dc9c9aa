"""Outputs treated alike (issue 13, items 5-7): nothing replaced without ``--force``, ``--force``
replacing only what the command writes, ``scenario.yaml`` beside a small ``summary.json``, and
``migsim generate`` writing a scenario that runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sim.common import atomic
from sim.common.atomic import atomic_dir
from sim.common.errors import InputError
from sim.importers.generate import default_plan
from sim.model.scenario import load_scenario, scenario_to_yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
CONTOSO = SCENARIOS / "contoso.yaml"


def migsim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ---- --force replaces only what the command writes ---------------------------------------------


def test_run_force_keeps_what_other_commands_wrote_in_its_folder(tmp_path: Path) -> None:
    out = tmp_path / "contoso"
    reps = ("--replications", "3", "--keep-windows", "1", "--workers", "1")
    assert migsim("run", str(CONTOSO), "--out", str(out), *reps).returncode == 0
    compare = migsim(
        "compare", str(CONTOSO), "--orderings", "smallest_first,largest_first",
        "--replications", "3", "--workers", "1", "--out", str(out / "compare"),
    )  # fmt: skip
    assert compare.returncode == 0, compare.stderr
    assert migsim("report", str(out)).returncode == 0
    (out / "notes.txt").write_text("the change board asked for crews=3\n")
    others = {k: v for k, v in tree(out).items() if k.startswith("compare/")}
    others |= {k: tree(out)[k] for k in ("report.html", "notes.txt")}
    old_summary = (out / "summary.json").read_bytes()

    again = migsim("run", str(CONTOSO), "--out", str(out), "--seed", "7")
    assert again.returncode == 2
    assert again.stderr.startswith(f"error: {out}: already holds migsim run's files (")
    assert "--force replaces them and leaves compare/, notes.txt, report.html in place" in (
        again.stderr
    )
    assert "Replications" not in again.stderr  # refused before any work
    assert (out / "summary.json").read_bytes() == old_summary

    forced = migsim("run", str(CONTOSO), "--out", str(out), "--seed", "7", "--force")
    assert forced.returncode == 0, forced.stderr
    now = tree(out)
    assert {k: now[k] for k in others} == others  # the other commands' files, untouched
    assert json.loads(now["summary.json"])["seed"] == 7
    # the previous run's replications do not outlive a run without replications
    for gone in ("replications.csv", "statistics.json", "kept-windows.csv", "orderings.json"):
        assert gone not in now
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries


def test_compare_force_into_a_run_folder_keeps_the_run(tmp_path: Path) -> None:
    out = tmp_path / "contoso"
    assert migsim("run", str(CONTOSO), "--out", str(out)).returncode == 0
    run_files = tree(out)
    args = ("compare", str(CONTOSO), "--replications", "2", "--workers", "1", "--out", str(out))
    first = migsim(*args)  # the run's folder holds no compare.csv: nothing to replace
    assert first.returncode == 0, first.stderr
    second = migsim(*args)
    assert second.returncode == 2
    owned = "compare-finish.csv, compare-replications.csv, compare.csv, verdict.json"
    assert f"already holds migsim compare's files ({owned})" in second.stderr
    assert migsim(*args, "--force").returncode == 0
    now = tree(out)
    assert {k: now[k] for k in run_files} == run_files
    assert set(now) == {
        *run_files,
        "compare.csv",
        "compare-replications.csv",
        "compare-finish.csv",
    } | {"verdict.json"}


def test_report_needs_force_to_replace_its_file(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert migsim("run", str(CONTOSO), "--out", str(out)).returncode == 0
    assert migsim("report", str(out)).returncode == 0
    (out / "report.html").write_text("a report someone annotated")
    again = migsim("report", str(out))
    assert again.returncode == 2
    assert (
        again.stderr.strip() == f"error: {out / 'report.html'}: already exists; --force replaces it"
    )
    assert (out / "report.html").read_text() == "a report someone annotated"
    assert migsim("report", str(out), "--force").returncode == 0
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    elsewhere = tmp_path / "share" / "contoso.html"
    assert migsim("report", str(out), "--out", str(elsewhere)).returncode == 0
    assert elsewhere.read_bytes() == (out / "report.html").read_bytes()
    assert migsim("report", str(out), "--out", str(elsewhere)).returncode == 2


@pytest.mark.parametrize(
    "command",
    [
        ("generate", "--vms", "10", "--out"),
        ("calibrate", str(SCENARIOS / "dry-run-timings.csv"), "--out"),
        ("import", "asm", str(SCENARIOS / "asm-export"), "--out"),
    ],
)
def test_file_outputs_are_refused_alike(command: tuple[str, ...], tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("mine\n")
    refused = migsim(*command, str(target))
    assert refused.returncode == 2
    assert refused.stderr.strip() == f"error: {target}: already exists; --force replaces it"
    assert target.read_text() == "mine\n"
    assert migsim(*command, str(target), "--force").returncode == 0
    assert target.read_text() != "mine\n"
    # what a file holds shows in its name: YAML is not written to out.json (the trial did)
    wrong = tmp_path / "out.json"
    refused = migsim(*command, str(wrong))
    assert refused.returncode == 2 and not wrong.exists()
    assert "ending in .yaml or .yml, got '.json'" in refused.stderr


def test_a_failed_swap_puts_everything_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    (out / "compare").mkdir(parents=True)
    (out / "compare" / "compare.csv").write_text("theirs")
    (out / "summary.json").write_text("old")
    before = tree(out)
    real = os.replace

    def failing(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(src) == out:  # the moment the old folder makes way for the new one
            raise OSError("disk full")
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", failing)
    with (
        pytest.raises(InputError, match=r"cannot write it \(disk full\); nothing was written"),
        atomic_dir(out, force=True, owned=("summary.json",)) as tmp,
    ):
        (tmp / "summary.json").write_text("new")
    assert tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary left
    with pytest.raises(InputError, match="exists and is not a directory"):
        atomic.check_outputs(out / "summary.json", ("x",), force=True)


# ---- scenario.yaml beside summary.json -----------------------------------------------------------


def test_scenario_yaml_runs_again_to_the_same_results(tmp_path: Path) -> None:
    scenario = SCENARIOS / "small-what-if.yaml"  # its estate is a file of its own
    first, second = tmp_path / "first", tmp_path / "second"
    overrides = ("--set", "plan.crews=2", "--seed", "5")
    assert migsim("run", str(scenario), *overrides, "--out", str(first)).returncode == 0
    summary = json.loads((first / "summary.json").read_text())
    assert "scenario" not in summary and summary["seed"] == 5
    written = yaml.safe_load((first / "scenario.yaml").read_text())
    assert isinstance(written["estate"], dict)  # inline: the folder stands on its own
    assert written["plan"]["crews"] == 2 and written["plan"]["seed"] == 5
    again = migsim("run", str(first / "scenario.yaml"), "--out", str(second))
    assert again.returncode == 0, again.stderr
    assert tree(second) == tree(first)  # every file, byte for byte


def test_scenario_yaml_of_a_deterministic_run_says_how_to_repeat_it(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert migsim("run", str(CONTOSO), "--deterministic", "--out", str(first)).returncode == 0
    text = (first / "scenario.yaml").read_text()
    assert "`migsim run scenario.yaml with --deterministic` gives the same results" in " ".join(
        text.replace("# ", "").split()
    )
    args = ("run", str(first / "scenario.yaml"), "--deterministic", "--out", str(second))
    assert migsim(*args).returncode == 0
    assert tree(second) == tree(first)


@pytest.mark.parametrize(
    "overrides",
    [
        (),
        ("plan.durations.prepare={base: 0, spread: 0.2, distribution: pert}",),
        ("plan.remedies={MIG013: {remediate: 20m}}", "plan.durations.restore=7m"),
        (
            "plan.ordering=waves",
            "plan.waves=[{name: a, units: [vnet-prod], not_before: 2h},"
            " {name: b, units: [cs-legacy], not_before: '2026-12-06T22:00:00Z'}]",
        ),
        (
            "plan.maintenance_windows=[{start: '2026-12-05T22:00:00+01:00', for: 5h},"
            " {every: weekday, at: '21:30', for: 90m}]",
            "plan.max_parallel.vnet=1",
            "plan.write_limit_per_hour=null",
        ),
    ],
)
def test_written_scenarios_load_back_equal(overrides: tuple[str, ...], tmp_path: Path) -> None:
    for path in sorted(SCENARIOS.glob("*.yaml")):
        scenario = load_scenario(path, overrides if path == CONTOSO else ())
        copy = tmp_path / path.name
        copy.write_text(scenario_to_yaml(scenario, "a header\nof two lines"), encoding="utf-8")
        assert load_scenario(copy) == scenario, path.name


# ---- migsim generate writes a scenario that runs -------------------------------------------------


def test_generate_2000_vms_then_run(tmp_path: Path) -> None:
    scenario, out = tmp_path / "x.yaml", tmp_path / "r"
    made = migsim("generate", "--vms", "2000", "--out", str(scenario))
    assert made.returncode == 0, made.stderr
    assert "a scenario of 13 VNets, 550 cloud services, 2000 VMs (seed 0)" in made.stdout
    text = scenario.read_text()
    assert text.startswith("# Written by `migsim generate --vms 2000 --seed 0`.")
    data = yaml.safe_load(text)
    assert data["name"] == "synthetic-2000"
    assert data["plan"] == default_plan(0)
    ran = migsim("run", str(scenario), "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["units_total"] == 171
    # every unit migrates in the default plan's windows but the blocked ones (MIG001 PaaS
    # roles, MIG002 two sets) and those waiting for them: no unit is too long for a window
    reasons = [u["reason"] for u in summary["not_migrated"]]
    assert reasons and all(r.startswith(("blocked by", "waits for")) for r in reasons)
    assert summary["units_migrated"] == 171 - len(reasons)
    assert summary["start"] == "2027-03-06T00:00:00Z"
    # summary.json carries figures: it does not grow with the estate the way the scenario does
    size = (out / "summary.json").stat().st_size
    assert size < 40_000, f"{size:,} bytes"  # 1 MB at 50,000 VMs, scaled to 2,000
    assert (out / "scenario.yaml").stat().st_size > 10 * size


def test_a_bare_estate_is_named_as_such(tmp_path: Path) -> None:
    estate = tmp_path / "x.yaml"
    made = migsim("generate", "--vms", "30", "--estate-only", "--out", str(estate))
    assert made.returncode == 0, made.stderr
    assert "use it from a scenario with estate: x.yaml" in made.stdout
    expected = (
        f"error: {estate}: is an estate, not a scenario: write a scenario with `estate: x.yaml`"
        " and a `plan:` block (docs/scenario-format.md), or use `migsim generate` without"
        " --estate-only"
    )
    for command in (
        ("run", str(estate), "--out", str(tmp_path / "r")),
        ("validate", str(estate)),
        ("graph", str(estate), "--out", str(tmp_path / "g.json")),
        ("compare", str(estate), "--replications", "2"),
    ):
        result = migsim(*command)
        assert result.returncode == 2, command
        assert result.stderr.strip() == expected, command
    (tmp_path / "s.yaml").write_text("name: wrapped\nestate: x.yaml\nplan: {crews: 2}\n")
    assert migsim("validate", str(tmp_path / "s.yaml")).returncode in (0, 1)  # wrapped: fine
