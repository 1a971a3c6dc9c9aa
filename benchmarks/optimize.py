"""One ``migsim optimize`` as a user runs it, measured from outside.

``python -m benchmarks.optimize SCENARIO.yaml BUDGET [ARGS...]`` starts the real CLI (the
``migsim`` script next to this Python, else ``python -m sim``) as a child process, with the
machine's default worker count::

    migsim optimize SCENARIO.yaml --budget BUDGET [ARGS...]

and prints one JSON line: the child's wall time (process start, imports, loading, the pool's
start, the search and the hold-out), the budget, and what the command printed: the orderings
screened and evaluated in full, the best named strategy, and the verdict on the held-out
replications (better, tie, worse or nothing better found) with the improvement and its 95 %
bootstrap interval.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

from benchmarks.endtoend import cli

COUNTS = re.compile(r"\((\d+) orderings\s+screened on (\d+), (\d+) run on all (\d+);")
JUDGED = re.compile(
    r"(?P<kind>Better|Tie|Worse)\. On (?P<held>\d+) held-out replications.*?"
    r"(?:by (?P<by>[-+\d.]+)|is (?P<worse>[\d.]+)(?: \S+)? worse|improvement is (?P<tie>[-+\d.]+))"
    r".*?95 % CI (?P<low>[-\d.]+) to (?P<high>[-\d.]+)",
    re.S,
)
NOTHING = re.compile(r"Nothing better than (\w+) was found")
BEST_NAMED = re.compile(r"over (\w+) by|and (\w+) cannot be told apart|worse than (\w+) on")


def parse(stdout: str) -> dict[str, object]:
    """What one ``migsim optimize`` printed (see the module doc)."""
    text = " ".join(stdout.split())  # rich wraps the table title and the verdict
    out: dict[str, object] = {}
    counts = COUNTS.search(text)
    if counts:
        out.update(
            evaluations=int(counts[1]),
            screen=int(counts[2]),
            promotions=int(counts[3]),
            replications=int(counts[4]),
        )
    nothing = NOTHING.search(text)
    judged = JUDGED.search(text)
    if judged and not (nothing and nothing.start() < judged.start()):
        kind = judged["kind"].lower()
        mean = judged["by"] or judged["tie"]
        improvement = float(mean) if mean else -float(judged["worse"])
        named = BEST_NAMED.search(text)
        out.update(
            verdict=kind,
            held_out=int(judged["held"]),
            improvement=improvement,
            ci_low=float(judged["low"]),
            ci_high=float(judged["high"]),
            best_named=next(g for g in named.groups() if g) if named else None,
        )
    elif nothing:
        out.update(verdict="nothing better", improvement=0.0, ci_low=0.0, ci_high=0.0)
        out["best_named"] = nothing[1]
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print(
            "usage: python -m benchmarks.optimize SCENARIO.yaml BUDGET [ARGS...]", file=sys.stderr
        )
        return 2
    scenario, budget, *extra = args
    command = [*cli(), "optimize", scenario, "--budget", budget, *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"{' '.join(command)} exited {proc.returncode}:\n{proc.stderr}", file=sys.stderr)
        return 1
    result = {
        "command": " ".join(["migsim optimize", scenario, "--budget", budget, *extra]),
        "budget_s": float(budget),
        "wall_s": wall,
        "over_budget": wall / float(budget),
        **parse(proc.stdout),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
