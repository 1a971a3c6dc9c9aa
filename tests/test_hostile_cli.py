"""Hostile command lines and values found by a fresh user's trial: each is one line and exit 2,
never a traceback, a hang or a silently changed meaning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from sim.cli import cli

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = str(ROOT / "scenarios" / "contoso.yaml")


def refused(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return " ".join(result.output.split())


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (
            [f"plan.check={10**309}"],
            "--set: plan.check: expected a finite duration, got a number of 310 digits",
        ),
        (["plan.check=٣٠m"], "plan.check: expected a duration such as 90s"),
        (
            ["plan.start=1764972000"],
            "plan.start: expected a timestamp such as 2027-01-09T22:00:00Z, got the number",
        ),
        (
            ["plan.deadline=9999-12-31T23:59:59-23:59"],
            "plan.deadline: expected a timestamp from 1970-01-01 up to (not including) 2200-01-01",
        ),
        (
            ["plan.waves=[{name: a, units: [vnet-prod]}, {name: a, units: [cs-legacy]}]"],
            "plan.waves: wave 'a' is named twice",
        ),
        (
            # a check of the whole plan block blames the override that caused it, and does not
            # print the block back as a Python dict
            ["plan.deadline=1970-01-01T00:00:00Z"],
            "error: --set: plan: plan.deadline 1970-01-01T00:00:00Z is not after plan.start",
        ),
    ],
)
def test_a_hostile_value_is_one_clear_line(sets: list[str], expected: str) -> None:
    message = refused(["validate", CONTOSO, *(a for s in sets for a in ("--set", s))])
    assert expected in message
    assert "datetime.datetime" not in message and "{'seed'" not in message


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("http://127.0.0.1:1", "only tcp:// is supported"),
        ("inproc://x", "only tcp:// is supported"),
        ("tls://127.0.0.1:1", "only tcp:// is supported"),
        ("tcp://127.0.0.1", "a host and a port from 1 to 65535"),
        ("tcp://127.0.0.1:99999", "not a valid address"),
        ("tcp://127.0.0.1:1/path", "nothing after the port"),
    ],
)
def test_a_scheduler_address_is_checked_before_any_work(
    tmp_path: Path, address: str, why: str
) -> None:
    started = time.monotonic()
    out = tmp_path / "r"
    message = refused(
        ["run", CONTOSO, "--replications", "2", "--scheduler", address, "--out", str(out)]
    )
    assert f"--scheduler: expected an address such as tcp://127.0.0.1:8786, got {address!r}" in (
        message
    )
    assert why in message
    assert time.monotonic() - started < 10  # no connection attempted
    assert list(tmp_path.iterdir()) == []


def migsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_a_command_line_click_cannot_parse_is_one_line() -> None:
    for args in (
        ["run", CONTOSO, "--out", "x", "--replications", "1e3"],
        ["run", CONTOSO, "--bogus"],
        ["validate"],
    ):
        done = migsim(*args)
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
        assert "--help` lists what it takes" in lines[0]
        assert "Usage:" not in done.stderr and "Traceback" not in done.stderr


def test_sigint_while_the_pool_starts_stops_cleanly(tmp_path: Path) -> None:
    """A Ctrl-C (to the whole process group, as a terminal sends it) the moment the fork server
    appears: the run used to hang for ever (a half-started worker kept the server alive) or print
    the server's traceback."""
    log = tmp_path / "log.txt"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "sim", "run", CONTOSO, "--out", str(tmp_path / "out")),
                *("--replications", "2000", "--workers", "2"),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            "forkserver" in " ".join(c.cmdline()) for c in parent.children()
        ):
            time.sleep(0.01)
        everyone = [parent, *parent.children(recursive=True)]
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=15) == 130
        _, alive = psutil.wait_procs(everyone, timeout=5)
        assert alive == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    text = log.read_text()
    assert "error: stopped by SIGINT" in text
    assert "Traceback" not in text and "leaked" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.txt"]


@pytest.mark.parametrize("where", ["file", "set"])
def test_a_number_of_thousands_of_digits_is_one_line(tmp_path: Path, where: str) -> None:
    digits = "9" * 5000  # past Python's 4,300-digit limit for reading an int
    if where == "file":
        path = tmp_path / "s.yaml"
        path.write_text(f"name: s\nestate: {{}}\nplan:\n  crews: {digits}\n")
        message = refused(["validate", str(path)])
        assert f"{path}:4: " in message
    else:
        message = refused(["validate", CONTOSO, "--set", f"plan.crews={digits}"])
        assert "--set: plan.crews: " in message
    assert "a number of more than 4,300 digits" in message


def test_the_runbook_never_replaces_a_file_of_the_run_it_reads(tmp_path: Path) -> None:
    run = tmp_path / "r"
    done = CliRunner().invoke(cli, ["run", CONTOSO, "--out", str(run), "--deterministic"])
    assert done.exit_code == 0, done.output
    before = (run / "events.csv").read_bytes()
    message = refused(["runbook", str(run), "--out", str(run / "events.csv"), "--force"])
    assert "is one of the run's own files" in message
    assert (run / "events.csv").read_bytes() == before


def _loading_the_cli(proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    """Wait until ``proc`` (``python -m sim``) maps its first compiled module from site-packages:
    it is then importing the CLI's libraries (pydantic's core, the first), after ``sim.entry``
    took the signals (nothing compiled loads before it) and past Python's own start-up, where a
    Ctrl-C is the interpreter's fatal error, not migsim's. A fixed sleep (50 ms) landed there on
    a busy machine (the suite runs on two workers). Without /proc: the sleep."""
    maps = Path(f"/proc/{proc.pid}/maps")
    if not Path("/proc/self/maps").is_file():
        time.sleep(0.05)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the command ended before it loaded its libraries"
        try:
            text = maps.read_text()
        except OSError:
            text = ""
        if any("site-packages" in line and ".so" in line for line in text.splitlines()):
            return
        time.sleep(0.001)
    raise AssertionError(f"no compiled module loaded after {timeout} s")


def test_a_signal_while_the_command_loads_is_one_line() -> None:
    """A Ctrl-C before the CLI has loaded (its imports take a few hundred milliseconds)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "validate", CONTOSO],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    _loading_the_cli(proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: stopped by SIGINT")
