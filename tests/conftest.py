"""Shared test helpers: the repository root, and the rules run on a tiny estate given as a dict."""

from __future__ import annotations

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
