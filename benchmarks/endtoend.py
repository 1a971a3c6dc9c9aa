"""One end-to-end ``migsim run --deterministic`` as a user runs it, measured from outside.

``python -m benchmarks.endtoend SCENARIO.yaml OUT_DIR`` starts the real CLI (the ``migsim``
script next to this Python, else ``python -m sim``) as a child process::

    migsim run SCENARIO.yaml --deterministic --out OUT_DIR --force

and prints one JSON line: the child's wall time (process start, imports, load, validation, the
run, every output file and the timeline), its CPU seconds, its peak RSS and the size of what it
wrote. The harness (:mod:`benchmarks.harness`) starts this module in a fresh process per run, so
that ``resource.getrusage(RUSAGE_CHILDREN)`` covers that one child only. Its ``ru_maxrss`` is the
child's own high-water mark, or this small process's if larger: Linux carries the parent's peak
over the ``exec`` (which is why the harness does not start the CLI itself).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path


def cli() -> list[str]:
    """The command that runs migsim: its console script if installed beside this Python."""
    script = Path(sys.executable).with_name("migsim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sim"]


def timed(command: list[str]) -> tuple[subprocess.CompletedProcess[str], float, float, float]:
    """Run ``command``; its completed process, wall seconds, CPU seconds and peak RSS (MiB) as
    this process's children's usage reads them. Prints what failed to stderr."""
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        print(f"{' '.join(command)} exited {proc.returncode}:\n{proc.stderr}", file=sys.stderr)
    # ru_maxrss is KiB on Linux
    return proc, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m benchmarks.endtoend SCENARIO.yaml OUT_DIR", file=sys.stderr)
        return 2
    scenario, out = args
    command = [*cli(), "run", scenario, "--deterministic", "--out", out, "--force"]
    proc, wall, cpu, rss = timed(command)
    if proc.returncode != 0:
        return 1
    files = [p for p in Path(out).rglob("*") if p.is_file()]
    result = {
        "command": "migsim run SCENARIO --deterministic --out OUT --force",
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mib": rss,
        "output_files": len(files),
        "output_mib": sum(p.stat().st_size for p in files) / 2**20,
        "timeline": any(p.name.startswith("timeline.") for p in files),
    }
    shutil.rmtree(out, ignore_errors=True)  # 100,000 VMs write about 100 MB
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
