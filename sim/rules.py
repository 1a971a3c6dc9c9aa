"""The platform's migration rules (MIG001-MIG030 of ``rules.md``), each a small check yielding findings.

A rule is a function of :class:`Context` (estate, units, plan) that yields :class:`Finding` records.
:data:`CATALOGUE` holds each rule's fixed facts (severity, where the platform catches it, the
remediation and the window it opens); :func:`check` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from sim.estate import Estate
from sim.plan import Plan
from sim.units import MigrationUnits

Severity = Literal["blocker", "remediate", "dropped", "note"]
CaughtAt = Literal["validate", "prepare", "plan", "-"]
SEVERITY_RANK: dict[str, int] = {"blocker": 0, "remediate": 1, "dropped": 2, "note": 3}


@dataclass(frozen=True)
class RuleSpec:
    id: str
    title: str
    severity: Severity
    caught_at: CaughtAt
    remediation: str
    window: str  # the window its remediation opens, "none" when it opens none


@dataclass(frozen=True)
class Finding:
    """One rule firing on one unit. ``resources`` are graph node ids such as ``vm:web-01``."""

    rule: str
    severity: Severity
    unit: str
    resources: tuple[str, ...]
    message: str
    remediation: str
    caught_at: CaughtAt

    def blocks(self, plan: Plan) -> bool:
        """Whether the unit cannot migrate: blockers, and remediations the plan will not run."""
        return self.severity == "blocker" or (
            self.severity == "remediate" and plan.remediation == "none"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "unit": self.unit,
            "resources": list(self.resources),
            "message": self.message,
            "remediation": self.remediation,
            "caught_at": self.caught_at,
        }


@dataclass(frozen=True)
class Context:
    estate: Estate
    units: MigrationUnits
    plan: Plan


Rule = Callable[[Context], Iterator[Finding]]
