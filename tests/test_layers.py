"""The rooms of ``sim/`` and the direction of imports between them (``pyproject.toml``).

``make lint`` runs ``lint-imports`` on the tree; these tests show the contracts have teeth: a copy
of the package with one wrong-way import added is refused, and the message names the import.

The linter sees only the imports written in the code. A room's ``__init__`` imports its names
lazily (its list is the ``.pyi`` stub), so ``from sim.outputs import build_report`` inside the
package would hide the edge to ``sim.outputs.report`` from it; the last tests therefore hold the
package to importing every name from the module that defines it, and to never exiting below the
CLI.
"""

from __future__ import annotations

import ast
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


SIM = REPO_ROOT / "sim"


def _is_package(dotted: str) -> bool:
    return (REPO_ROOT.joinpath(*dotted.split(".")) / "__init__.py").is_file()


def _is_module(dotted: str) -> bool:
    path = REPO_ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def hidden_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Imports of ``sim`` that the import graph cannot follow: the root package or a room's
    ``__init__`` for a name (both resolve lazily), a relative import, or a dynamic import of a
    ``sim`` module. Returns ``(line, what)`` pairs."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "sim" or (
                    alias.name.startswith("sim.") and _is_package(alias.name)
                ):
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((node.lineno, "a relative import"))
            elif node.module == "sim":
                names = ", ".join(a.name for a in node.names)
                found.append((node.lineno, f"from sim import {names}"))
            elif node.module and node.module.startswith("sim.") and _is_package(node.module):
                for alias in node.names:
                    if not _is_module(f"{node.module}.{alias.name}"):
                        found.append((node.lineno, f"from {node.module} import {alias.name}"))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0]
            if (
                name in ("import_module", "__import__", "load")
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and arg.value.split(".")[0] == "sim"
            ):
                found.append((node.lineno, f"{name}({arg.value!r})"))
    return found


def exits(tree: ast.Module) -> list[tuple[int, str]]:
    """``SystemExit`` raised or named: only the CLI ends the process (ruff bans the rest)."""
    return [
        (node.lineno, "SystemExit")
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id == "SystemExit"
    ]


def _sources() -> list[Path]:
    return sorted(p for p in SIM.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_import_names_the_defining_module() -> None:
    bad = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {what}"
        for path in _sources()
        for line, what in hidden_imports(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not bad, "imports the linter cannot follow:\n" + "\n".join(bad)


def test_nothing_below_the_cli_raises_system_exit() -> None:
    bad = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {what}"
        for path in _sources()
        if path.name not in ("cli.py", "__main__.py")
        for line, what in exits(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    "code",
    [
        "import sim",
        "from sim import run_scenario",
        "from sim.outputs import build_report",
        "import sim.outputs",
        "from .records import Window",
        "import importlib\nimportlib.import_module('sim.engine.simulation')",
        "__import__('sim.experiments.run')",
    ],
)
def test_a_hidden_import_is_found(code: str) -> None:
    assert hidden_imports(ast.parse(code))


@pytest.mark.parametrize(
    "code",
    [
        "from sim.outputs import plots",
        "from sim.outputs.report import build_report",
        "import sim.outputs.plots",
        "from sim.experiments import comparison as cmp",
        "from importlib import import_module\nimport_module('scipy.stats')",
    ],
)
def test_a_plain_import_is_not(code: str) -> None:
    assert not hidden_imports(ast.parse(code))


def test_an_exit_below_the_cli_is_found() -> None:
    assert exits(ast.parse("def f() -> None:\n    raise SystemExit(2)\n"))
