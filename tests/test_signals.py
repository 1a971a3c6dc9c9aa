"""Signals and workers (issue 14, item 6), with real processes: SIGINT and SIGTERM stop a run and
every process it started and leave nothing behind; a killed worker's batches run again and give
the same rows; failed replications exit 3 unless ``--allow-failures``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"


def start(out: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``migsim run CONTOSO --out OUT ...`` in the background, its output in ``log``."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "sim", "run", str(CONTOSO), "--out", str(out), *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


def busy_workers(proc: subprocess.Popen[bytes], workers: int, timeout: float = 60) -> list[int]:
    """Wait until ``proc`` has ``workers`` pool workers running batches; return their pids.

    The workers are the grandchildren under the fork server; they show once replications run.
    """
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before its workers started"
        try:
            grandchildren = [
                g for c in parent.children() for g in c.children() if g.cpu_percent(0.05) > 0
            ]
        except psutil.NoSuchProcess:
            grandchildren = []
        if len(grandchildren) >= workers:
            return [g.pid for g in grandchildren]
        time.sleep(0.1)
    raise AssertionError(f"no {workers} busy workers after {timeout} s")


def family(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """``proc`` and every process under it (fork server, workers, resource tracker)."""
    parent = psutil.Process(proc.pid)
    return [parent, *parent.children(recursive=True)]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "log.txt")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_run_and_every_process_it_started(
    tmp_path: Path, signum: int, code: int
) -> None:
    out = tmp_path / "out"
    log = tmp_path / "log.txt"
    proc = start(out, log, "--replications", "2000", "--workers", "2")
    try:
        busy_workers(proc, 2)
        everyone = family(proc)
        assert len(everyone) >= 4  # the run, the fork server, two workers (and the tracker)
        proc.send_signal(signum)
        assert proc.wait(timeout=5) == code
        _, alive = psutil.wait_procs(everyone, timeout=5)
        assert alive == [], [p.cmdline() for p in alive]
    finally:
        for p in family(proc) if proc.poll() is None else []:
            p.kill()
    text = log.read_text()
    name = signal.Signals(signum).name
    assert f"error: stopped by {name}; no output was left half-written" in text
    assert "Traceback" not in text
    assert leftovers(tmp_path) == []  # no output folder, no temporary, no lock file


def test_a_killed_worker_changes_nothing(tmp_path: Path) -> None:
    args = ("--replications", "600", "--workers", "2", "--no-baseline")
    calm = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(CONTOSO), "--out", str(tmp_path / "calm"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert calm.returncode == 0, calm.stderr
    out = tmp_path / "hit"
    proc = start(out, tmp_path / "log.txt", *args)
    try:
        victim = busy_workers(proc, 2)[0]
        os.kill(victim, signal.SIGKILL)
        assert proc.wait(timeout=120) == 0, (tmp_path / "log.txt").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not psutil.pid_exists(victim) or psutil.Process(victim).status() == "zombie"
    got = (out / "replications.csv").read_bytes()
    assert got == (tmp_path / "calm" / "replications.csv").read_bytes()
    assert got.count(b"\n") == 601  # every replication, none dropped


def test_the_stop_survives_simpy_rebuilding_it() -> None:
    # SimPy rebuilds an exception that escapes a process as type(e)(*e.args): a signal that
    # lands inside a replication must still stop the command (it became a ValueError, which
    # the runner counted as a failed replication and carried on).
    import simpy

    from sim.cli import _Stopped

    env = simpy.Environment()

    def step() -> Any:
        yield env.timeout(1)
        raise _Stopped(signal.SIGINT)

    env.process(step())
    with pytest.raises(_Stopped) as stopped:
        env.run()
    assert stopped.value.signum == signal.SIGINT
    assert isinstance(stopped.value.__cause__, _Stopped)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_run_on_one_worker(tmp_path: Path, signum: int, code: int) -> None:
    out = tmp_path / "out"
    log = tmp_path / "log.txt"
    proc = start(out, log, "--replications", "4000", "--workers", "1")
    try:
        me = psutil.Process(proc.pid)
        deadline = time.monotonic() + 60
        # Replications run in this very process: wait until it is well into them.
        while sum(me.cpu_times()[:2]) < 3.0:
            assert proc.poll() is None and time.monotonic() < deadline, "ended too soon"
            time.sleep(0.1)
        proc.send_signal(signum)
        assert proc.wait(timeout=10) == code
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert f"error: stopped by {signal.Signals(signum).name};" in text
    assert "failed" not in text and "Traceback" not in text
    assert leftovers(tmp_path) == []
