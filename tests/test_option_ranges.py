"""Every count an experiment command takes is refused out of its range before any work: one
message naming the option and the range, exit 2, nothing written (docs/experiments.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli

ROOT = Path(__file__).resolve().parents[1]
CLEAN = str(ROOT / "scenarios" / "clean.yaml")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["run", CLEAN, "--replications", "100001"],
            "--replications: expected a whole number from 0 to 100,000",
        ),
        (["run", CLEAN, "--replications", "-1"], "--replications: expected a whole number from 0"),
        (
            ["run", CLEAN, "--replications", "3", "--workers", "65"],
            "--workers: expected a whole number from 1 to 64",
        ),
        (
            ["run", CLEAN, "--replications", "3", "--keep-windows", "4"],
            "--keep-windows: expected a whole number from 0 to 3",
        ),
        (
            ["run", CLEAN, "--keep-windows", "2"],
            "--keep-windows: keeps the window tables of replications",
        ),
        (["run", CLEAN, "--keep-windows", "-1"], "--keep-windows: expected zero or more"),
        (
            ["compare", CLEAN, "--orderings", "as_listed", "--replications", "100001"],
            "--replications: expected a whole number from 1 to 100,000",
        ),
        (
            ["sensitivity", CLEAN, "--replications", "0"],
            "--replications: expected a whole number from 1",
        ),
        (
            ["optimize", CLEAN, "--budget", "inf"],
            "--budget: expected seconds more than 0 and at most 86,400",
        ),
        (
            ["optimize", CLEAN, "--budget", "nan"],
            "--budget: expected seconds more than 0 and at most 86,400",
        ),
        (
            ["optimize", CLEAN, "--max-evaluations", "0"],
            "--max-evaluations: expected a whole number from 1",
        ),
        (
            ["optimize", CLEAN, "--holdout", "100001"],
            "--holdout: expected a whole number from 0 to 100,000",
        ),
        (
            ["optimize", CLEAN, "--seed", str(2**63)],
            "--seed: expected a whole number from 0 to 9,223,372,036,854,775,807",
        ),
        (["generate", "--vms", "100001"], "--vms: expected a whole number from 1 to 100,000"),
        (
            ["generate", "--vms", "10", "--vnets", "11"],
            "--vnets: expected a whole number from 0 to 10",
        ),
        (
            ["generate", "--vms", "10", "--seed", str(2**63)],
            "--seed: expected a whole number from 0 to 9,223,372,036,854,775,807",
        ),
    ],
)
def test_an_option_out_of_range_is_refused_before_any_work(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    target = tmp_path / ("g.yaml" if args[0] == "generate" else "out")
    with_out = args if args[0] == "optimize" else [*args, "--out", str(target)]
    result = CliRunner().invoke(cli, with_out)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert expected in " ".join(result.output.split())
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # not even a lock or a temporary
