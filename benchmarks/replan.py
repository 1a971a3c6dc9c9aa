"""``migsim replan`` of the shipped night as a migration lead runs it, measured from outside.

``python -m benchmarks.replan OUT_DIR`` starts the real CLI as a child process::

    migsim replan scenarios/contoso.yaml --actuals scenarios/contoso-night-actuals.csv \\
        --now 2026-12-06T01:30Z --replications 500 --out OUT_DIR --force

(contoso at 01:30 of its first night, vnet-prod's Prepare failed once: issue 17) and prints one
JSON line: the child's wall time (process start, imports, reading the actuals, the conditioned
run, 500 replications of the re-forecast and 500 of the plan alone, every file), its CPU seconds
and peak RSS, and whether it printed the clock-time answers.
"""

from __future__ import annotations

import json
import shutil
import sys

from benchmarks.endtoend import cli, timed

COMMAND = (
    "replan",
    "scenarios/contoso.yaml",
    "--actuals",
    "scenarios/contoso-night-actuals.csv",
    "--now",
    "2026-12-06T01:30Z",
    "--replications",
    "500",
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m benchmarks.replan OUT_DIR", file=sys.stderr)
        return 2
    (out,) = args
    proc, wall, cpu, rss = timed([*cli(), *COMMAND, "--out", out, "--force"])
    if proc.returncode != 0:
        return 1
    shutil.rmtree(out, ignore_errors=True)
    result = {
        "command": "migsim " + " ".join(COMMAND) + " --out OUT --force",
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mib": rss,
        "answers_printed": "P(done in this window" in proc.stdout and "Finish P80" in proc.stdout,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
