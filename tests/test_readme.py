"""The README's commands, as a planner copies them: in order, right after ``make demo``.

The test copies the shipped scenarios into a temporary folder laid out like the repository, puts
a ``.venv/bin/migsim`` there that runs this interpreter's ``python -m sim``, runs the recipe of
``make demo`` read from the Makefile, then every command of the README's "Using it" block, each
as written (whatever lines the block holds), and checks the exit codes: 0, or 1 for ``validate``
(blockers). Then ``make demo`` once more: it rewrites its own outputs with ``--force`` (every
file it wrote, and no file the README's commands wrote). The second pass runs the same commands
with at most :data:`AGAIN_REPLICATIONS` replications: whether a command replaces its outputs does
not depend on how many replications fill them, and the first pass ran them as written.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAKEFILE = ROOT / "Makefile"
AGAIN_REPLICATIONS = 20
"""Replications of each command of the second ``make demo`` (at least ``--keep-windows``'s 20)."""


def _logical_lines(lines: list[str]) -> list[str]:
    """Lines with their backslash continuations joined."""
    out: list[str] = []
    pending = ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return out


def readme_commands(text: str) -> tuple[list[str], list[str]]:
    """The ``sh`` block under "## Using it": its variable assignments and its commands."""
    section = text.split("## Using it", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, 'no ```sh block under "## Using it"'
    assignments: list[str] = []
    commands: list[str] = []
    for line in _logical_lines(block.group(1).splitlines()):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if re.fullmatch(r"[A-Za-z_]\w*=\S+", stripped):
            assignments.append(stripped)
        else:
            commands.append(stripped)
    return assignments, commands


def demo_recipe(text: str) -> list[str]:
    """The commands of the Makefile's ``demo`` target, its variables expanded as make would."""
    variables: dict[str, str] = {}
    for m in re.finditer(r"^([A-Za-z_]\w*)\s*[:?]?=\s*(.*)$", text, re.M):
        variables.setdefault(m.group(1), m.group(2).strip())
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("demo:"))
    recipe: list[str] = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line[1:])

    def expand(command: str) -> str:
        for _ in range(10):
            command = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), ""), command)
        return command.replace("$$", "$").lstrip("@")

    return [expand(c) for c in _logical_lines(recipe)]


def fewer_replications(command: str, most: int = AGAIN_REPLICATIONS) -> str:
    """``command`` with each ``--replications N`` lowered to at most ``most``."""
    return re.sub(
        r"(--replications\s+)(\d+)", lambda m: f"{m.group(1)}{min(int(m.group(2)), most)}", command
    )


def _files(root: Path) -> dict[Path, int]:
    """Every file under ``root/results`` (path relative to ``root`` -> modification time, ns)."""
    return {
        p.relative_to(root): p.stat().st_mtime_ns
        for p in (root / "results").rglob("*")
        if p.is_file()
    }


def _copy_of_the_repository(root: Path) -> dict[str, str]:
    shutil.copytree(ROOT / "scenarios", root / "scenarios")
    migsim = root / ".venv" / "bin" / "migsim"
    migsim.parent.mkdir(parents=True)
    migsim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m sim "$@"\n', encoding="utf-8")
    migsim.chmod(0o755)
    env = dict(os.environ)
    env.pop("MAKEFLAGS", None)
    return env


def _sh(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_parsers_read_the_files_as_written() -> None:
    assignments, commands = readme_commands(README.read_text(encoding="utf-8"))
    assert assignments == ["M=.venv/bin/migsim"]
    assert commands and all(c.startswith("$M ") for c in commands)
    assert any("--vary plan.crews=1,2 --replications 200" in c for c in commands)  # joined
    recipe = demo_recipe(MAKEFILE.read_text(encoding="utf-8"))
    assert any(c.startswith(".venv/bin/migsim run scenarios/contoso.yaml") for c in recipe)
    assert any("; test $? -le 1" in c for c in recipe)
    assert fewer_replications("run x --replications 200 --keep-windows 20 --force") == (
        "run x --replications 20 --keep-windows 20 --force"
    )
    assert fewer_replications("replan x --replications  5 --out y") == (
        "replan x --replications  5 --out y"
    )


def test_readme_commands_run_in_order_after_make_demo(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    env = _copy_of_the_repository(tmp_path)
    recipe = demo_recipe(MAKEFILE.read_text(encoding="utf-8"))
    for command in recipe:
        done = _sh(command, tmp_path, env)
        assert done.returncode == 0, f"make demo: {command}\n{done.stderr[-2000:]}"
    assert (tmp_path / "results" / "contoso" / "report.html").is_file()
    demo = {p.relative_to(tmp_path) for p in (tmp_path / "results").rglob("*")}
    demo_files = set(_files(tmp_path))

    assignments, commands = readme_commands(README.read_text(encoding="utf-8"))
    prelude = "; ".join(assignments)
    for command in commands:
        done = _sh(f"{prelude}; {command}", tmp_path, env)
        allowed = (0, 1) if command.split()[1:2] == ["validate"] else (0,)
        assert done.returncode in allowed, (
            f"README: {command}\nexit {done.returncode}\n{done.stderr[-2000:]}"
        )
        assert "Traceback" not in done.stderr, command
    # the README wrote beside the demo's results, never over them
    assert demo <= {p.relative_to(tmp_path) for p in (tmp_path / "results").rglob("*")}

    # make demo again (fewer replications, module doc): each command replaces its own outputs
    before = _files(tmp_path)
    for command in recipe:
        again = fewer_replications(command)
        done = _sh(again, tmp_path, env)
        assert done.returncode == 0, f"make demo, again: {again}\n{done.stderr[-2000:]}"
    after = _files(tmp_path)
    assert set(after) == set(before)  # nothing lost, nothing left beside
    assert Path("results/contoso/report.html") in demo_files
    assert sorted(str(p) for p in demo_files if after[p] == before[p]) == []  # each rewritten
    readme_only = set(before) - demo_files
    assert readme_only and all(after[p] == before[p] for p in readme_only)  # never touched
