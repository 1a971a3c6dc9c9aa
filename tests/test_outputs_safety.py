"""Outputs never lie (issue 14, item 5): ``--out`` is checked before any work, a second writer of
the same output is refused while the first holds it, nothing that appeared during a run is
replaced without ``--force``, and every filesystem error is exit 2 naming the path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from sim.common import atomic
from sim.common.atomic import atomic_dir, atomic_file, claim_dir, rename_noreplace
from sim.common.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
CONTOSO = SCENARIOS / "contoso.yaml"


def migsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


# Every command that writes, with its --out for a folder output (DIR) or a file output.
WRITERS = [
    ("run", str(CONTOSO), "--out", "DIR"),
    ("compare", str(CONTOSO), "--replications", "2", "--workers", "1", "--out", "DIR"),
    ("sensitivity", str(CONTOSO), "--replications", "1", "--workers", "1", "--out", "DIR"),
    ("graph", str(CONTOSO), "--out", "x.svg"),
    ("generate", "--vms", "5", "--out", "x.yaml"),
    ("calibrate", str(SCENARIOS / "dry-run-timings.csv"), "--out", "x.yaml"),
    ("import", "asm", str(SCENARIOS / "asm-export"), "--out", "x.yaml"),
    ("runbook", str(CONTOSO), "--out", "x.csv"),
    ("report", str(ROOT / "no-such-results"), "--out", "x.html"),
]


def _with_out(command: tuple[str, ...], out: Path) -> list[str]:
    *head, last = command
    return [*head, str(out / last if last != "DIR" else out)]


@pytest.mark.parametrize("command", WRITERS, ids=lambda c: c[0])
def test_an_output_under_a_file_is_refused_in_one_line(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    got = migsim(*_with_out(command, afile / "sub"))
    assert got.returncode == 2, got.stderr
    assert got.stderr.count("\n") == 1 and "Traceback" not in got.stderr
    assert f"{afile} is not a folder" in got.stderr
    assert afile.read_text() == "mine"


@pytest.mark.parametrize("command", WRITERS[:1] + WRITERS[4:5], ids=lambda c: c[0])
def test_an_output_under_proc_is_refused(command: tuple[str, ...]) -> None:
    got = migsim(*_with_out(command, Path("/proc/migsim-nothing/sub")))
    assert got.returncode == 2
    assert got.stderr.startswith("error: /proc/migsim-nothing/sub") and "cannot make" in got.stderr
    assert "Traceback" not in got.stderr


def test_a_folder_output_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    afile = tmp_path / "out.csv"
    afile.write_text("mine")
    got = migsim("run", str(CONTOSO), "--out", str(afile))
    assert got.returncode == 2
    assert got.stderr == f"error: {afile}: exists and is not a directory; expected a folder\n"


def test_a_device_is_never_a_file_output(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="exists and is not a regular file"):
        atomic.refuse_existing(Path("/dev/null"), force=True)


def test_an_unwritable_folder_is_exit_2_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # root writes into a read-only folder anyway: make the lock file's creation fail instead
    real = os.open

    def refused(path: str | os.PathLike[str], *args: object, **kwargs: object) -> int:
        if str(path).endswith(".lock"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic.os, "open", refused)
    with pytest.raises(InputError) as caught, atomic_dir(tmp_path / "run") as tmp:
        (tmp / "x").write_text("x")
    assert caught.value.render() == (
        f"{tmp_path / 'run'}: cannot write in {tmp_path} (Permission denied); nothing was written"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_folder_is_refused_before_the_work(tmp_path: Path) -> None:
    tmp_path.chmod(0o555)
    try:
        got = migsim("run", str(CONTOSO), "--out", str(tmp_path / "run"))
    finally:
        tmp_path.chmod(0o755)
    assert got.returncode == 2 and "Permission denied" in got.stderr


def test_a_failed_command_leaves_no_folder_it_made(tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "run"
    got = migsim("run", str(CONTOSO), "--out", str(out), "--set", "plan.crews=0")
    assert got.returncode == 2
    assert list(tmp_path.iterdir()) == []


def test_an_existing_output_is_refused_before_the_work(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    started = time.monotonic()
    got = migsim("run", str(CONTOSO), "--out", str(out), "--replications", "100000")
    assert got.returncode == 2 and "already holds migsim run's files" in got.stderr
    assert time.monotonic() - started < 30  # 100,000 replications take far longer


# ---- one writer at a time ------------------------------------------------------------------------


def test_two_runs_into_one_folder_started_together_one_wins(tmp_path: Path) -> None:
    out = tmp_path / "same"

    def command(seed: int) -> list[str]:
        return [
            *(sys.executable, "-m", "sim", "run", str(CONTOSO), "--out", str(out)),
            *("--seed", str(seed), "--replications", "20", "--workers", "1"),
        ]

    procs = [
        subprocess.Popen(
            command(seed), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        for seed in (1, 2, 3)
    ]
    results = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2, 2], results
    for code, text in results:
        if code == 2:
            assert f"error: {out}: " in text and "Traceback" not in text
    winner = next(i for i, (code, _) in enumerate(results) if code == 0)
    assert f'"seed": {winner + 1}' in (out / "summary.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same"]  # no lock, no temporary


def test_a_claimed_output_is_refused_to_another_process(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with claim_dir(out, ("summary.json",), force=True):
        got = migsim("run", str(CONTOSO), "--out", str(out), "--force")
        assert got.returncode == 2
        assert f"{out}: another migsim command is writing it now (process {os.getpid()})" in (
            got.stderr
        )
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_folder_that_appeared_during_the_run_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with (
        pytest.raises(InputError, match="already holds this command's files"),
        atomic_dir(out, owned=("summary.json",)) as tmp,
    ):
        (tmp / "summary.json").write_text("mine")
        out.mkdir()  # another program, not holding the claim, wrote it meanwhile
        (out / "summary.json").write_text("theirs")
    assert (out / "summary.json").read_text() == "theirs"
    # an empty folder that appeared is written into (nothing replaced), not silently swapped
    other = tmp_path / "other"
    with atomic_dir(other, owned=("summary.json",)) as tmp:
        (tmp / "summary.json").write_text("mine")
        other.mkdir()
        (other / "keep.txt").write_text("kept")
    assert sorted(p.name for p in other.iterdir()) == ["keep.txt", "summary.json"]


def test_a_file_that_appeared_during_the_write_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "estate.yaml"
    with (
        pytest.raises(InputError, match="appeared while this command ran"),
        atomic_file(target, force=False) as tmp,
    ):
        tmp.write_text("mine")
        target.write_text("theirs")
    assert target.read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["estate.yaml"]


def test_rename_noreplace_never_replaces_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(FileExistsError):
        rename_noreplace(tmp_path / "a", tmp_path / "b")
    rename_noreplace(tmp_path / "a", tmp_path / "c")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "c"]


def test_a_write_error_is_exit_2_naming_the_output(tmp_path: Path) -> None:
    target = tmp_path / "x.yaml"
    with pytest.raises(InputError) as caught, atomic_file(target) as tmp:
        raise OSError(28, "No space left on device", str(tmp))
    assert caught.value.render() == (
        f"{target}: cannot write it (No space left on device); nothing was written"
    )
    assert list(tmp_path.iterdir()) == []


# ---- failed replications: exit 3 unless --allow-failures -----------------------------------------


def test_failed_replications_exit_3_and_write_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    # a hook only the test sets: replications 1 and 3 raise (sim/experiments/replications.py)
    script = (
        "import sys, sim.experiments.replications as r\n"
        "real = r.Prepared.row\n"
        "def row(self, i, **kw):\n"
        "    if i in (1, 3): raise RuntimeError('boom')\n"
        "    return real(self, i, **kw)\n"
        "r.Prepared.row = row\n"
        "from sim.cli import main\n"
        "sys.argv[0] = 'migsim'\n"
        "main()\n"
    )
    base = ["-c", script, "run", str(CONTOSO), "--replications", "6", "--workers", "1"]
    base += ["--no-baseline", "--out"]
    got = subprocess.run(
        [sys.executable, *base, str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert got.returncode == 3, got.stderr
    assert "error: 2 of 6 replications failed; nothing was written (--allow-failures" in got.stderr
    assert "replication 1 " in got.stderr and "RuntimeError: boom" in got.stderr
    assert not out.exists()
    allowed = subprocess.run(
        [sys.executable, *base, str(out), "--allow-failures"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "2 of 6 replications failed: the results are from the other 4 only" in allowed.stderr
    rows = (out / "replications.csv").read_text().splitlines()[1:]
    assert [line.split(",")[0] for line in rows] == ["0", "2", "4", "5"]
    # the files say so too: statistics.json counts and lists them, the report and the runbook warn
    stats = json.loads((out / "statistics.json").read_text())
    assert stats["replications"] == 4
    assert stats["replications_requested"] == 6
    assert stats["replications_failed"] == 2
    assert [(f["replication"], f["error"]) for f in stats["failed_replications"]] == [
        (1, "RuntimeError: boom"),
        (3, "RuntimeError: boom"),
    ]
    assert all(isinstance(f["seed"], int) for f in stats["failed_replications"])
    report = subprocess.run(
        [sys.executable, "-m", "sim", "report", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr
    page = (out / "report.html").read_text()
    assert "statistics from 4 of 6 replications; 2 failed" in page
    assert 'card warn"' in page.split("Replications failed")[0][-200:]
    runbook = subprocess.run(
        [sys.executable, "-m", "sim", "runbook", str(out), "--out", str(tmp_path / "rb.xlsx")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert runbook.returncode == 0, runbook.stderr
    assert "P80 ends from 4 of 6 replications; 2 failed" in " ".join(runbook.stdout.split())
    summary = openpyxl.load_workbook(tmp_path / "rb.xlsx")["Summary"]
    rows = {r[0]: r[1] for r in summary.iter_rows(values_only=True)}
    assert "statistics from 4 of 6 replications; 2 failed" in rows["Replications failed"]
