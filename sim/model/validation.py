"""Checking a scenario against the platform: units, ordering, and every rule, as one report.

This is what ``migsim validate`` prints and what the engine starts from: which units exist, which
findings each has, and whether each unit is blocked, needs remediation, or is clean.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.common.errors import InputError
from sim.model.calendar import Calendar
from sim.model.ordering import STRATEGIES, order_units, wave_starts
from sim.model.rules import SEVERITY_RANK, Finding, check, unit_status
from sim.model.scenario import Scenario
from sim.model.units import MigrationUnits, build_units

STATUS_RANK = {"blocked": 0, "remediate": 1, "clean": 2}


@dataclass(frozen=True)
class ValidationReport:
    scenario: Scenario
    units: MigrationUnits
    findings: tuple[Finding, ...]
    status: dict[str, str]
    refusals: tuple[InputError, ...] = ()
    """Problems for which ``migsim run`` refuses the plan (:func:`run_refusals`), each the very
    error ``run`` raises; ``migsim validate`` prints them after the report and exits 2."""

    @property
    def blocked(self) -> bool:
        """True when any unit cannot migrate as the plan stands (``migsim validate`` exits 1)."""
        return any(s == "blocked" for s in self.status.values())

    def findings_of(self, unit_id: str) -> list[Finding]:
        return [f for f in self.findings if f.unit == unit_id]

    def units_by_status(self) -> list[str]:
        """Unit ids, blocked first, then those needing remediation, then clean; stable within."""
        return sorted(self.units.ids(), key=lambda u: STATUS_RANK[self.status[u]])

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(SEVERITY_RANK, 0)
        for f in self.findings:
            out[f.severity] += 1
        return out

    def as_dict(self) -> dict[str, object]:
        preds: dict[str, list[str]] = {u: [] for u in self.units.ids()}
        for p in self.units.precedences:
            preds[p.after].append(p.before)
        return {
            "scenario": self.scenario.name,
            "blocked": self.blocked,
            "counts": self.counts(),
            "units": [
                {
                    "id": u.id,
                    "kind": u.kind,
                    "name": u.name,
                    "status": self.status[u.id],
                    "vms": list(u.vms),
                    "resources": list(u.resources),
                    "after": preds[u.id],
                }
                for u in self.units.units
            ],
            "findings": [f.as_dict() for f in self.findings],
            "refusals": [
                {"key": ".".join(str(part) for part in e.loc), "message": e.message}
                for e in self.refusals
            ],
        }


def validate_scenario(scenario: Scenario) -> ValidationReport:
    """Cut the estate into units and run every rule; raise :class:`InputError` on a bad plan."""
    plan = scenario.plan
    if isinstance(plan.ordering, str) and plan.ordering not in STRATEGIES:
        raise InputError(
            None,
            ("plan", "ordering"),
            f"unknown strategy {plan.ordering!r}; expected one of: {', '.join(STRATEGIES)}"
            " or a list of unit names",
        )
    units = build_units(scenario.estate, plan)
    wave_starts(units, plan)  # bad wave units are bad input here too, not only at run time
    findings = tuple(check(scenario.estate, units, plan))
    return ValidationReport(
        scenario,
        units,
        findings,
        unit_status(list(findings), plan, units),
        run_refusals(scenario, units),
    )


def run_refusals(scenario: Scenario, units: MigrationUnits) -> tuple[InputError, ...]:
    """Every error for which ``migsim run`` refuses ``scenario``'s plan once it has loaded: an
    explicit ``plan.ordering`` that names an unknown unit or breaks a must-precede constraint
    (the platform's or ``plan.precedence``), a one-off window without ``plan.start``.

    The checks are the very calls the run makes (:func:`~sim.model.ordering.order_units`,
    :meth:`~sim.model.calendar.Calendar.of`), so ``validate`` and ``run`` give one judgement
    with one message. ``()`` when ``run`` accepts the plan.
    """
    plan = scenario.plan
    found: list[InputError] = []
    for check_one in (
        lambda: order_units(units, plan.ordering, plan),
        lambda: Calendar.of(plan),
    ):
        try:
            check_one()
        except InputError as exc:
            found.append(exc)
    return tuple(found)
