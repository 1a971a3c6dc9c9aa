"""Issue 12's check on a generated estate: do the windows stay inside one maintenance window?

``python -m benchmarks.windows [--vms 10000] [--seed 3] [--replications 20]`` generates the
estate of ``migsim generate --vms VMS --seed SEED``, plans it with 6 crews and one weekend window
(Saturday 00:00 for 48 h, the plan starting Monday 09:00), step durations and failure rates like
contoso's, and prints one JSON document: for the deterministic run and the median of the
replications, the makespan, lock resource-hours, remediation-gap median, p90 and max (with and
without the peering's connectivity, which spans two units), service-hours and VM-hours down,
units migrated, and the windows of units that never failed a step that are longer than a
maintenance window or cross a window's end (``window_faults``; issue 12 wants 0).

Only library calls that the code before issue 12 also has: the same script measures both.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from sim.experiments.replications import Prepared
from sim.importers.generate import generate_estate
from sim.model.calendar import Calendar
from sim.model.scenario import Scenario
from sim.outputs.records import Replication

BOUND_KINDS = frozenset(
    {
        "management",
        "data",
        "nic",
        "exposure",
        "monitoring",
        "diagnostics",
        "security-monitoring",
        "backup",
        "replication",
    }
)
"""The window kinds issue 12 holds to one maintenance window (not the peering's connectivity)."""

PLAN: dict[str, Any] = {
    "start": "2027-01-04T09:00:00Z",
    "crews": 6,
    "check": "30m",
    "maintenance_windows": [{"every": "saturday", "at": "00:00", "for": "48h"}],
    "durations": {
        "validate": {"base": "5m", "per_vm": "10s"},
        "prepare": {"base": "10m", "per_vm": "1m", "distribution": "lognormal", "spread": 0.3},
        "commit": {"base": "5m", "per_vm": "20s", "distribution": "lognormal", "spread": 0.3},
        "start": {"base": "5m", "distribution": "triangular", "spread": 0.5},
    },
    "failures": {"prepare": 0.05, "commit": 0.01},
}


def _union(intervals: Iterable[tuple[float, float]]) -> float:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return sum(b - a for a, b in merged)


def _stats(xs: list[float]) -> tuple[float, float, float]:
    if not xs:
        return 0.0, 0.0, 0.0
    return float(np.median(xs)), float(np.percentile(xs, 90)), max(xs)


def figures(rep: Replication, cal: Calendar) -> dict[str, float]:
    """The figures of one replication (minutes for gaps, hours otherwise)."""
    longest = cal.longest()
    # Before issue 12 the secondary NIC's window (MIG015) was kind "data" on the VM.
    nic = [w for w in rep.windows if w.kind == "nic" or (w.kind == "data" and "MIG015" in w.cause)]
    nic_ids = {id(w) for w in nic}
    gaps = [w for w in rep.windows if w.cause.startswith("MIG")]
    service: dict[tuple[str, str], list[tuple[float, float]]] = {}
    down: dict[str, list[tuple[float, float]]] = {}
    for w in rep.windows:
        if id(w) in nic_ids:
            service.setdefault((w.resource, "nic"), []).append((w.start, w.end))
        elif w.kind == "connectivity" or (w.kind == "data" and w.resource_type != "vm"):
            service.setdefault((w.resource, w.kind), []).append((w.start, w.end))
        elif w.kind == "data":
            down.setdefault(w.resource, []).append((w.start, w.end))
    clean = {
        o.unit
        for o in rep.outcomes
        if o.migrated and o.validate_attempts == o.prepare_attempts == o.commit_attempts == 1
    }
    faults = [
        w
        for w in rep.windows
        if (w.kind in BOUND_KINDS or id(w) in nic_ids)
        and w.unit in clean
        and (w.duration > longest + 1e-6 or not cal.fits(w.start, w.end))
    ]
    median, p90, top = _stats([w.duration for w in gaps])
    median_nc, p90_nc, top_nc = _stats([w.duration for w in gaps if w.kind != "connectivity"])
    return {
        "makespan_hours": rep.makespan / 60,
        "lock_resource_hours": sum(w.duration for w in rep.windows if w.kind == "management") / 60,
        "gap_median_minutes": median,
        "gap_p90_minutes": p90,
        "gap_max_minutes": top,
        "gap_median_minutes_no_peering": median_nc,
        "gap_p90_minutes_no_peering": p90_nc,
        "gap_max_minutes_no_peering": top_nc,
        "service_hours_down": sum(_union(v) for v in service.values()) / 60,
        "vm_hours_down": sum(_union(v) for v in down.values()) / 60,
        "units_migrated": sum(o.migrated for o in rep.outcomes),
        "window_faults": len(faults),
    }


def measure(vms: int, seed: int, replications: int) -> dict[str, Any]:
    estate = generate_estate(vms, seed=seed).model_dump(by_alias=True)
    sc = Scenario.model_validate({"name": "windows", "estate": estate, "plan": PLAN})
    prepared = Prepared.of(sc)
    cal = Calendar(sc.plan.maintenance_windows, sc.plan.start)
    out: dict[str, Any] = {
        "vms": vms,
        "seed": seed,
        "units": len(prepared.order),
        "deterministic": figures(prepared.replicate(0, deterministic=True), cal),
    }
    if replications:
        rows = [figures(prepared.replicate(r), cal) for r in range(replications)]
        median = {k: float(np.median([row[k] for row in rows])) for k in rows[0]}
        median["window_faults_total"] = sum(row["window_faults"] for row in rows)
        out[f"median_of_{replications}"] = median
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--replications", type=int, default=20)
    args = parser.parse_args(argv)
    result = measure(args.vms, args.seed, args.replications)
    print(json.dumps(result, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
