"""Shared test helpers: the repository root, the rules run on a tiny estate given as a dict, and
the modules a fresh interpreter holds after some imports."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sim.model.estate import Estate
from sim.model.plan import Plan
from sim.model.rules import Finding, check
from sim.model.units import build_units

REPO_ROOT = Path(__file__).resolve().parent.parent

RunRules = Callable[..., list[Finding]]


@pytest.fixture
def repo_root() -> Path:
    """The repository root, computed from this file (never a machine path)."""
    return REPO_ROOT


@pytest.fixture
def run_rules() -> RunRules:
    """``run_rules(estate_dict, plan_dict=None)``: validate both, cut units, return the findings."""

    def run(estate: dict[str, Any], plan: dict[str, Any] | None = None) -> list[Finding]:
        parsed = Estate.model_validate(estate)
        parsed_plan = Plan.model_validate(plan or {})
        return check(parsed, build_units(parsed, parsed_plan), parsed_plan)

    return run


@pytest.fixture
def modules_after() -> Callable[[str], set[str]]:
    """``modules_after(code)``: the names in ``sys.modules`` of a fresh interpreter that ran
    ``code`` (imports, usually), to check what an import pulls in."""

    def run(code: str) -> set[str]:
        probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return set(json.loads(done.stdout.splitlines()[-1]))

    return run
