"""The rooms of ``sim/`` and the direction of imports between them (``pyproject.toml``).

``make lint`` runs ``lint-imports`` on the tree; these tests show the contracts have teeth: a copy
of the package with one wrong-way import added is refused, and the message names the import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

WRONG_WAY = {
    "outputs import the experiments": (
        "sim/outputs/plots.py",
        "from sim.experiments.run import RunResult",
        "sim.outputs.plots -> sim.experiments.run",
    ),
    "the model imports the engine": (
        "sim/model/rules.py",
        "from sim.engine.simulation import simulate",
        "sim.model.rules -> sim.engine.simulation",
    ),
    "the engine imports the experiments": (
        "sim/engine/platform.py",
        "from sim.experiments.runner import run_replications",
        "sim.engine.platform -> sim.experiments.runner",
    ),
    "the engine draws": (
        "sim/engine/platform.py",
        "from sim.outputs.plots import timeline",
        "sim.engine.platform -> sim.outputs.plots",
    ),
    "an experiment reads an export": (
        "sim/experiments/run.py",
        "from sim.importers.asm import import_asm",
        "sim.experiments.run -> sim.importers.asm",
    ),
    "an importer runs the engine": (
        "sim/importers/result.py",
        "from sim.engine.simulation import simulate",
        "sim.importers.result -> sim.engine.simulation",
    ),
    "outputs and importers know each other": (
        "sim/importers/result.py",
        "from sim.outputs.records import Window",
        "sim.importers.result -> sim.outputs.records",
    ),
    "a helper of every room imports the model": (
        "sim/common/atomic.py",
        "from sim.model.plan import Plan",
        "sim.common.atomic -> sim.model.plan",
    ),
    "the engine prints": (
        "sim/engine/dispatch.py",
        "from rich.console import Console",
        "sim.engine.dispatch -> rich",
    ),
}


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package and its contracts, for changing."""
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(REPO_ROOT / "sim", root / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_tree_keeps_every_contract(tree: Path) -> None:
    done = _lint(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("case", sorted(WRONG_WAY))
def test_a_wrong_way_import_is_refused(tree: Path, case: str) -> None:
    module, line, shown = WRONG_WAY[case]
    path = tree / module
    original = path.read_text(encoding="utf-8")
    head, sep, rest = original.partition("\nfrom __future__ import annotations\n")
    assert sep, module
    path.write_text(f"{head}{sep}{line}  # noqa\n{rest}", encoding="utf-8")
    try:
        done = _lint(tree)
    finally:
        path.write_text(original, encoding="utf-8")
    assert done.returncode == 1, done.stdout
    assert "BROKEN" in done.stdout
    assert shown in done.stdout
