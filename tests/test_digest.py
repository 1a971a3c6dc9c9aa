"""The results digest: every record a set of runs produces, hashed, against the digests on file.

A refactor that must not change any result (moving modules, splitting the engine) keeps these
digests; a deliberate model change updates them, and says so in its commit:

    .venv/bin/python tests/test_digest.py --update     # rewrites tests/digests.json

Each scenario case is a scenario (a shipped one, a ``--set`` variant of contoso, or a generated
estate of 300 or 2,000 VMs under a plan with windows, failures and uncertain durations). Its
digest covers, for one deterministic run and for replications 0-19 of the Monte Carlo experiment:
every window, event, unit outcome and post-migration task, the maintenance intervals, horizon,
throttle minutes and open-window count of the replication; the summary of the deterministic run
(everything ``summary.json`` holds but the version and the embedded scenario); and each
replication's row of ``replications.csv`` as the Monte Carlo path makes it (the engine keeping no
records), which must equal, float for float, the row of the recorded run. The experiment cases
hash what a comparison, a sensitivity analysis and the optimizer (which draws from a stream of its
own) make of contoso.
Floats are hashed by ``repr``: exact, not rounded.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.experiments.comparison import alternatives_from, compare, compare_csv
from sim.experiments.optimizer import optimize
from sim.experiments.replications import Prepared, row_of
from sim.experiments.run import run_scenario
from sim.experiments.sensitivity import (
    criticality_csv,
    criticality_index,
    sensitivity_csv,
    tornado,
)
from sim.importers.generate import generate_estate, scenario_yaml
from sim.model.scenario import Scenario, load_scenario
from sim.outputs.records import Replication

REPO_ROOT = Path(__file__).resolve().parent.parent
DIGESTS = Path(__file__).with_name("digests.json")
REPLICATIONS = 20

GENERATED_PLAN: dict[str, Any] = {
    "seed": 7,
    "start": "2027-03-06T20:00:00Z",
    "ordering": "largest_first",
    "crews": 4,
    "check": "20m",
    "maintenance_windows": [
        {"every": "saturday", "at": "20:00", "for": "10h"},
        {"every": "sunday", "at": "20:00", "for": "10h"},
    ],
    "durations": {
        "prepare": {"distribution": "lognormal", "spread": 0.3},
        "commit": {"distribution": "pert", "spread": 0.4},
        "start": {"distribution": "triangular", "spread": 0.5},
    },
    "failures": {"validate": 0.02, "prepare": 0.05, "commit": 0.02, "max_attempts": 3},
}
"""The plan of the generated estates: weekend windows, failures, three distributions."""

SHIPPED: dict[str, tuple[str, ...]] = {
    "contoso": (),
    "clean": (),
    # Its explicit ordering is refused by `migsim run` on purpose (MIG027, MIG010).
    "kitchen-sink": ("plan.ordering=smallest_first",),
    "small-what-if": (),
    "weekend-2000": (),
}
"""Shipped scenario -> the ``--set`` overrides it runs with."""

CONTOSO_VARIANTS: dict[str, tuple[str, ...]] = {
    "contoso-no-remediation": ("plan.remediation=none",),
    "contoso-restart-after-commit": ("plan.restart_after=commit", "plan.crews=1"),
    "contoso-future-support": ("plan.future_support=true", "plan.ordering=largest_first"),
    "contoso-failures": (
        "plan.failures.validate=0.2",
        "plan.failures.prepare=0.3",
        "plan.failures.commit=0.2",
        "plan.failures.max_attempts=2",
    ),
    "contoso-throttle-no-windows": (
        "plan.write_limit_per_hour=30",
        "plan.maintenance_windows=[]",
        "plan.ordering=critical_path_first",
    ),
}
"""Plans the shipped scenarios leave out: no remediation, restart after Commit, future support,
frequent failures with few attempts, a tight write throttle without windows."""

GENERATED = {"generated-300": (300, 5), "generated-2000": (2000, 9)}
"""Name -> (VMs, generator seed)."""

EXPERIMENTS = ("contoso-comparison", "contoso-sensitivity", "contoso-optimizer")
"""What the experiments make of contoso (see :func:`experiment_parts`)."""

CASES = (*SHIPPED, *CONTOSO_VARIANTS, *GENERATED, *EXPERIMENTS)


def _scenario(case: str, tmp: Path) -> Scenario:
    if case in SHIPPED:
        return load_scenario(REPO_ROOT / "scenarios" / f"{case}.yaml", SHIPPED[case])
    if case in CONTOSO_VARIANTS:
        return load_scenario(REPO_ROOT / "scenarios" / "contoso.yaml", CONTOSO_VARIANTS[case])
    vms, seed = GENERATED[case]
    path = tmp / f"{case}.yaml"
    path.write_text(scenario_yaml(generate_estate(vms, seed=seed), case, GENERATED_PLAN), "utf-8")
    return load_scenario(path)


def _replication_parts(rep: Replication) -> Iterator[Any]:
    yield ("seed", rep.seed, rep.deterministic, rep.horizon, rep.order)
    yield ("throttle", rep.throttle_minutes, rep.open_windows, rep.maintenance)
    yield from (("window", *w) for w in rep.windows)
    yield from (("event", *e) for e in rep.events)
    yield from (("outcome", repr(o)) for o in rep.outcomes)
    yield from (("task", repr(t)) for t in rep.post_tasks)


def experiment_parts(case: str) -> Iterator[Any]:
    """What one experiment case hashes: the files the CLI writes, or the optimizer's result."""
    scenario = load_scenario(REPO_ROOT / "scenarios" / "contoso.yaml")
    if case == "contoso-comparison":
        orderings = ("smallest_first", "largest_first", "critical_path_first")
        alternatives = alternatives_from(scenario, orderings, ("plan.crews=1,3",))
        yield compare_csv(compare(alternatives, REPLICATIONS, workers=1))
    elif case == "contoso-sensitivity":
        prepared = Prepared.of(scenario)
        yield sensitivity_csv(tornado(prepared, 10))
        yield criticality_csv(criticality_index(prepared, REPLICATIONS))
    else:
        result = optimize(
            Prepared.of(scenario), replications=8, budget_s=None, max_evaluations=12, holdout=20
        )
        yield result.rows(), result.best_order, result.interval, result.objective_interval
        yield result.interval_replications, result.evaluations, result.proposals, result.stopped


def case_digest(case: str, tmp: Path) -> str:
    """The hex digest of one case (see the module docstring)."""
    h = hashlib.sha256()

    def add(part: Any) -> None:
        h.update(repr(part).encode("utf-8"))
        h.update(b"\n")

    if case in EXPERIMENTS:
        for part in experiment_parts(case):
            add(part)
        return h.hexdigest()
    scenario = _scenario(case, tmp)
    base = run_scenario(scenario, deterministic=True)
    for part in _replication_parts(base.replication):
        add(part)
    summary = base.summary.as_dict()
    del summary["migsim_version"]
    add(json.dumps(summary, sort_keys=True))
    prepared = Prepared.of(scenario)
    for r in range(REPLICATIONS):
        rep = prepared.replicate(r)
        for part in _replication_parts(rep):
            add(part)
        row = prepared.row(r)  # the lean path: the engine keeps no records
        # The lean row is the recorded run's row to the last bit (issue 16).
        assert row == row_of(rep, r), f"{case}: replication {r}'s lean row differs"
        add(row)
    return h.hexdigest()


def _on_file() -> dict[str, str]:
    data: dict[str, str] = json.loads(DIGESTS.read_text("utf-8"))
    return data


def test_digests_cover_every_case() -> None:
    assert sorted(_on_file()) == sorted(CASES)


@pytest.mark.parametrize("case", CASES)
def test_results_match_the_digest_on_file(case: str, tmp_path: Path) -> None:
    assert case_digest(case, tmp_path) == _on_file()[case], (
        f"{case}: the results changed. If the change is deliberate, run"
        " `.venv/bin/python tests/test_digest.py --update` and say why in the commit."
    )


def _update() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        digests = {case: case_digest(case, Path(tmp)) for case in CASES}
    DIGESTS.write_text(json.dumps(digests, indent=2) + "\n", "utf-8")
    print(f"wrote {DIGESTS.name}: {len(digests)} cases")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_digest.py --update")
    _update()
