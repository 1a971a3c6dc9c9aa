"""migsim's benchmark harness: ``python -m benchmarks`` (``make bench``) from the repository root.

It prints one table for this machine and writes it to ``results/bench.json`` (``--out PATH``):

- raw SimPy timeout throughput, a fixed micro-model measured in the same process;
- migsim engine events per second on a 10,000-VM synthetic estate, and the ratio of the two;
- wall time and peak RSS of load + graph + validate + one deterministic replication at
  1,000 / 10,000 / 50,000 VMs, each in a fresh process;
- replications per second of a 1,000-VM estate on one core and on all cores, and of a
  10,000-VM estate (fewer replications, the time of 1,000 projected);
- end-to-end ``migsim run --deterministic`` (the CLI, outputs and timeline) at 1,000 / 10,000 /
  50,000 / 100,000 VMs: wall, peak RSS and growth per doubling;
- a plain SimPy model of the same job (``benchmarks/plain_simpy.py``) against migsim's Monte Carlo
  replication, per unit-migration.

``--quick`` uses small sizes (a smoke test). Benchmarks are not tests: nothing in the test suite
asserts on a time. See ``docs/performance.md`` for the definitions and the last figures.
"""
