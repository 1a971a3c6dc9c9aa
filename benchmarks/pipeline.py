"""One pipeline run in a fresh process, so that its peak RSS is its own.

``python -m benchmarks.pipeline SCENARIO.yaml`` loads the scenario (and the estate file it names),
builds the resource graph, validates (units and every rule), runs one deterministic replication
and summarises it, then prints one JSON line: the wall time of each phase, the CPU time, the peak
RSS of this process and a few counts. The harness (:mod:`benchmarks.harness`) starts it once per
estate size.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def _peak_rss_kib() -> float:
    """This process's peak resident set, in KiB.

    Linux's ``VmHWM`` first: ``ru_maxrss`` survives ``exec``, so a child started by a large
    parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m benchmarks.pipeline SCENARIO.yaml", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    from sim.engine.simulation import simulate
    from sim.model.graph import build_graph
    from sim.model.scenario import load_scenario
    from sim.model.validation import validate_scenario
    from sim.outputs.records import summarize

    cpu0 = time.process_time()
    t1 = time.perf_counter()
    scenario = load_scenario(args[0])
    t2 = time.perf_counter()
    graph = build_graph(scenario.estate)
    t3 = time.perf_counter()
    report = validate_scenario(scenario)
    t4 = time.perf_counter()
    rep = simulate(
        scenario.estate, report.units, scenario.plan, report.findings, deterministic=True
    )
    t5 = time.perf_counter()
    summary = summarize(rep, scenario)
    t6 = time.perf_counter()
    cpu = time.process_time() - cpu0
    peak_kib = _peak_rss_kib()
    vms = sum(len(cs.vms) for cs in scenario.estate.cloud_services)
    out = {
        "vms": vms,
        "import_s": t1 - t0,
        "load_s": t2 - t1,
        "graph_s": t3 - t2,
        "validate_s": t4 - t3,
        "replication_s": t5 - t4,
        "summary_s": t6 - t5,
        "total_s": t6 - t1,
        "cpu_s": cpu,
        "peak_rss_mib": peak_kib / 1024.0,
        "graph_nodes": graph.number_of_nodes(),
        "units": len(report.units.units),
        "findings": len(report.findings),
        "windows": len(rep.windows),
        "step_events": len(rep.events),
        "makespan_days": summary.makespan_minutes / 1440.0,
        "units_migrated": summary.units_migrated,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
