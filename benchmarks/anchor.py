"""The plain SimPy anchor of issue 16 in a process of its own.

``python -m benchmarks.anchor VMS ROUNDS REPLICATIONS`` builds the bench's estate of ``VMS`` VMs
and prints one JSON line: :func:`benchmarks.harness.measure_anchor` with ``ROUNDS`` interleaved
rounds of ``REPLICATIONS`` replications each. The process holds that estate and nothing else, as
a planner's script would: in the harness's own process, which by then holds the estates of its
other measures, the plain model ran a third slower than alone (35.0 against 26.8 ms a
replication, 2026-12-01) and the ratio read better than it is.
"""

from __future__ import annotations

import dataclasses
import json
import sys

from benchmarks.harness import FULL, _scenario, measure_anchor


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        vms, rounds, replications = (int(a) for a in args)
    except ValueError:
        print("usage: python -m benchmarks.anchor VMS ROUNDS REPLICATIONS", file=sys.stderr)
        return 2
    from sim.experiments.replications import Prepared

    sizes = dataclasses.replace(
        FULL, engine_vms=vms, anchor_rounds=rounds, anchor_replications=replications
    )
    print(json.dumps(measure_anchor(Prepared.of(_scenario(vms)), sizes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
