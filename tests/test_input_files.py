"""Input paths are read only as regular files within a size limit (or as folders where a folder is
expected): every other thing at an input path is exit 2 with one message naming it, through the
real ``migsim`` entry point, never a traceback and never a hang. Also the run-folder files that
``runbook`` and ``report`` read, and the scenario loader's address prefixes (parsed with
``ipaddress``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sim.cli import cli
from sim.common.errors import InputError
from sim.common.inputfiles import read_input

ROOT = Path(__file__).resolve().parents[1]
CONTOSO = ROOT / "scenarios" / "contoso.yaml"
CLEAN = ROOT / "scenarios" / "clean.yaml"
TIMINGS = ROOT / "scenarios" / "dry-run-timings.csv"

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")


def migsim(*args: str) -> Result:
    """The ``migsim`` command in this process (the same entry point as the console script)."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


def flat(text: str) -> str:
    return " ".join(text.split())


def refused(result: Result, *fragments: str) -> str:
    """Exit 2, one ``error:`` message holding every fragment, no traceback; the message."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    message = flat(result.stderr)
    assert message.count("error: ") == 1, result.stderr  # after a progress bar, if any
    message = message[message.index("error: ") :]
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert flat(fragment) in message, message
    return message


def subprocess_migsim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m sim`` in a fresh process: for inputs that would block a reader that opened
    them the ordinary way (the timeout fails the test instead of hanging the suite)."""
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def at(tmp_path: Path) -> Iterator[Path]:
    """Work inside ``tmp_path`` (relative names in messages, as a user types them)."""
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def scenario_with_estate(folder: Path, estate: str, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(f"name: s\nestate: {json.dumps(estate)}\nplan: {{crews: 1}}\n")
    return path


# ---- the scenario argument -----------------------------------------------------------------------


def test_missing_scenario(at: Path) -> None:
    refused(migsim("validate", "nowhere.yaml"), "nowhere.yaml: file not found", ".yaml")


def test_folder_as_scenario(at: Path) -> None:
    (at / "dir.yaml").mkdir()
    refused(migsim("run", "dir.yaml", "--out", "out"), "dir.yaml: is a folder")
    assert not (at / "out").exists()


@needs_dev_zero
def test_device_as_scenario_is_refused_without_reading() -> None:
    started = time.monotonic()
    refused(migsim("validate", "/dev/zero"), "/dev/zero: is a character device")
    assert time.monotonic() - started < 5


def test_symlink_loop(at: Path) -> None:
    (at / "a.yaml").symlink_to("b.yaml")
    (at / "b.yaml").symlink_to("a.yaml")
    refused(migsim("validate", "a.yaml"), "a.yaml: is a loop of symbolic links")


def test_broken_symlink(at: Path) -> None:
    (at / "a.yaml").symlink_to("gone.yaml")
    refused(migsim("validate", "a.yaml"), "a.yaml: file not found")


def test_path_through_a_file(at: Path) -> None:
    (at / "plain").write_text("x")
    refused(migsim("validate", "plain/s.yaml"), "plain/s.yaml: not found (a part of the path")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_scenario(at: Path) -> None:
    path = shutil.copy(CLEAN, at / "locked.yaml")
    os.chmod(path, 0)
    refused(migsim("validate", "locked.yaml"), "locked.yaml: cannot be read (permission denied)")


def test_scenario_over_the_size_limit(at: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.model.scenario as scenario_module

    monkeypatch.setattr(scenario_module, "_MAX_BYTES", 100)
    shutil.copy(CLEAN, at / "big.yaml")
    refused(migsim("validate", "big.yaml"), "big.yaml: is larger than 100 bytes")


@needs_fifo
def test_fifo_as_scenario_never_blocks(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")  # nobody writes to it: an ordinary open would block
    proc = subprocess_migsim("validate", "pipe.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "pipe.yaml: is a FIFO (named pipe), not a regular file" in flat(proc.stderr)


# ---- the estate key ------------------------------------------------------------------------------


@needs_dev_zero
def test_estate_dev_zero_is_refused_at_once(at: Path) -> None:
    scenario_with_estate(at, "/dev/zero")
    started = time.monotonic()
    refused(
        migsim("run", "s.yaml", "--out", "out"),
        "/dev/zero: is a character device, not a regular file; expected an estate file",
    )
    assert time.monotonic() - started < 5
    assert not (at / "out").exists()


def test_estate_path_with_a_nul_byte(at: Path) -> None:
    scenario_with_estate(at, "estate\x00.yaml")
    refused(
        migsim("validate", "s.yaml"),
        "s.yaml:2: estate: the path holds a NUL byte; expected the path of an estate file",
    )


def test_estate_folder_and_missing(at: Path) -> None:
    (at / "estates").mkdir()
    scenario_with_estate(at, "estates")
    refused(migsim("validate", "s.yaml"), "estates: is a folder; expected an estate file")
    scenario_with_estate(at, "estates/none.yaml")
    refused(migsim("validate", "s.yaml"), "estates/none.yaml: file not found")


def test_estate_symlink_loop(at: Path) -> None:
    (at / "loop.yaml").symlink_to("loop.yaml")
    scenario_with_estate(at, "loop.yaml")
    refused(migsim("validate", "s.yaml"), "loop.yaml: is a loop of symbolic links")


@needs_fifo
def test_estate_fifo_never_blocks(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "estate.yaml")
    scenario_with_estate(tmp_path, "estate.yaml")
    proc = subprocess_migsim("validate", "s.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "estate.yaml: is a FIFO (named pipe), not a regular file" in flat(proc.stderr)


# ---- the other commands' inputs ------------------------------------------------------------------


@needs_dev_zero
def test_calibrate_timings_must_be_a_file(at: Path) -> None:
    refused(migsim("calibrate", "/dev/zero"), "/dev/zero: is a character device")
    (at / "t.csv").mkdir()
    refused(migsim("calibrate", "t.csv"), "t.csv: is a folder; expected a timings file (.csv)")


@needs_dev_zero
def test_import_inputs_must_be_what_they_say(at: Path) -> None:
    refused(
        migsim("import", "netcfg", "/dev/zero", "--out", "e.yaml"),
        "/dev/zero: is a character device",
    )
    refused(migsim("import", "asm", "/dev/zero", "--out", "e.yaml"), "/dev/zero: is a character")
    (at / "net.xml").write_text("<x/>")
    refused(migsim("import", "asm", "net.xml", "--out", "e.yaml"), "net.xml: is a file, not a")
    refused(migsim("import", "asm", "gone", "--out", "e.yaml"), "gone: folder not found")
    (at / "cfg").mkdir()
    refused(migsim("import", "netcfg", "cfg", "--out", "e.yaml"), "cfg: is a folder")
    assert not (at / "e.yaml").exists()


@needs_fifo
def test_a_fifo_in_an_export_folder_is_refused(at: Path) -> None:
    shutil.copytree(ROOT / "scenarios" / "asm-export", at / "export")
    os.mkfifo(at / "export" / "zz-pipe.xml")
    refused(
        migsim("import", "asm", "export", "--out", "e.yaml"),
        "export/zz-pipe.xml: is a FIFO (named pipe), not a regular file; expected an XML file",
    )
    assert not (at / "e.yaml").exists()


def test_report_of_a_file_or_nothing(at: Path) -> None:
    (at / "file").write_text("x")
    refused(migsim("report", "file"), "file: is a file, not a folder; expected a results")
    refused(migsim("report", "gone"), "gone: folder not found; expected a results directory")


def test_bounded_read_of_a_file_whose_size_is_not_known() -> None:
    """/proc files say they hold 0 bytes: the reader stops at the limit plus one byte."""
    maps = Path("/proc/self/maps")
    if not maps.is_file():
        pytest.skip("no /proc")
    with pytest.raises(InputError, match="is larger than 10 bytes"):
        read_input(maps, limit=10)
    assert read_input(maps, limit=1 << 20)  # under the limit: read whole


# ---- the files of a run folder -------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    result = migsim("run", str(CLEAN), "--out", str(out), "--replications", "3")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def damaged(run_folder: Path, at: Path) -> Path:
    copy = at / "d"
    shutil.copytree(run_folder, copy)
    return copy


def edit_summary(folder: Path, **values: object) -> None:
    path = folder / "summary.json"
    data = json.loads(path.read_text())
    data.update(values)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("seed", "x", "seed: expected the run's seed, a whole number 0 or more (got 'x')"),
        ("seed", -1, "seed: expected the run's seed"),
        ("deterministic", "yes", "deterministic: expected true or false (got 'yes')"),
    ],
)
def test_runbook_refuses_a_damaged_summary(
    damaged: Path, key: str, value: object, expected: str
) -> None:
    edit_summary(damaged, **{key: value})
    refused(migsim("runbook", "d", "--out", "rb.csv"), f"d/summary.json: {expected}")
    assert not Path("rb.csv").exists()


def test_runbook_refuses_summary_json_that_is_not_json(damaged: Path) -> None:
    (damaged / "summary.json").write_text('{"seed": 1,\n')
    refused(migsim("runbook", "d", "--out", "rb.csv"), "d/summary.json:2: cannot be read as JSON")


@needs_dev_zero
def test_runbook_refuses_a_summary_that_is_a_device(damaged: Path) -> None:
    (damaged / "summary.json").unlink()
    (damaged / "summary.json").symlink_to("/dev/zero")
    refused(migsim("runbook", "d", "--out", "rb.csv"), "d/summary.json: is a character device")


@pytest.mark.parametrize("number", ["x", "²", "-1", "1e3", "12345678901"])
def test_runbook_refuses_a_bad_replication_number(damaged: Path, number: str) -> None:
    path = damaged / "replications.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = number + lines[2][lines[2].index(",") :]
    path.write_text("".join(lines))
    refused(
        migsim("runbook", "d", "--out", "rb.csv"),
        f"d/replications.csv:3: replication: expected a replication number (0 to 999,999,999),"
        f" got {number!r}",
    )


def test_report_names_a_damaged_summary_and_still_writes(damaged: Path) -> None:
    """The report's rule (docs/report.md): a file that cannot be read is named at the top of
    the page and the rest still shows; a summary of the wrong types is such a file."""
    edit_summary(damaged, seed="x", makespan_minutes=float("inf"))
    result = migsim("report", "d")
    assert result.exit_code == 0, result.output
    html = (damaged / "report.html").read_text()
    assert "summary.json could not be read" in html
    assert "seed: expected a whole number, got &#x27;x&#x27;" in html
    # and the terminal says so too, not only the page
    warning = " ".join(result.stderr.split()) if result.stderr_bytes else ""
    assert "warning: d/summary.json could not be read" in warning
    assert "its section is left out of the report" in warning


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("post_migration_tasks", "x", "post_migration_tasks: expected a list"),
        ("not_migrated", [{"unit": 3}], "not_migrated[0].unit: expected text"),
        ("window_hours_by_kind", {"data": "x"}, "window_hours_by_kind: expected numbers"),
        ("units_total", 1.5, "units_total: expected a whole number"),
    ],
)
def test_report_never_crashes_on_summary_types(
    damaged: Path, key: str, value: object, expected: str
) -> None:
    edit_summary(damaged, **{key: value})
    result = migsim("report", "d")
    assert result.exit_code == 0, result.output
    assert expected in (damaged / "report.html").read_text()


# ---- numbers of a run folder outside the model's ranges ----------------------------------------


def report_names(result: Result, folder: Path, name: str, *fragments: str) -> None:
    """The report's rule for a file it cannot read: exit 0, the file named at the top of the
    page and on stderr, its section left out."""
    assert result.exit_code == 0, result.output
    page = flat((folder / "report.html").read_text())
    assert f"{name} could not be read" in page
    for fragment in fragments:
        assert fragment in page, page[:2000]
    assert f"warning: d/{name} could not be read" in flat(result.stderr)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("makespan_minutes", 1e15, "makespan_minutes: expected minutes from 0 to 5,256,000"),
        ("makespan_minutes", 1e9, "got 1000000000.0"),
        ("makespan_minutes", -5, "makespan_minutes: expected minutes from 0 to 5,256,000"),
        ("seed", -1, "seed: expected a whole number from 0 to 9,223,372,036,854,775,807"),
        ("seed", 2**70, "seed: expected a whole number from 0"),
        ("start", "9999-99-99", "start: expected an ISO 8601 timestamp, got &#x27;9999-99-99"),
        ("peak_vms_down_at_minutes", 1e308, "peak_vms_down_at_minutes: expected minutes"),
        ("vm_hours_down", -1, "vm_hours_down: expected zero or more"),
    ],
)
def test_report_refuses_summary_numbers_outside_the_model(
    damaged: Path, key: str, value: object, expected: str
) -> None:
    """A makespan of 1e15 minutes once had the report build a calendar of that length (a
    MemoryError); now it, and every number outside what a run writes, is "could not be read"."""
    edit_summary(damaged, **{key: value})
    report_names(migsim("report", "d"), damaged, "summary.json", expected)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("name", "column", "value", "expected"),
    [
        ("windows.csv", "end_min", "1e308", "end_min: expected minutes from 0 to 5,256,000"),
        ("windows.csv", "start_min", "-1", "start_min: expected minutes"),
        ("events.csv", "time_min", "1e15", "time_min: expected minutes"),
        ("units.csv", "end_min", "inf", "end_min: expected minutes"),
        ("units.csv", "vms", "99999999999", "vms: expected a whole number from 0 to 1,000,000"),
        ("replications.csv", "makespan_hours", "1e300", "makespan_hours: expected a number"),
        ("replications.csv", "vm_hours_down", "-3", "vm_hours_down: expected a number from 0"),
    ],
)
def test_report_refuses_table_numbers_outside_the_model(
    damaged: Path, name: str, column: str, value: str, expected: str
) -> None:
    path = damaged / name
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index(column)] = value
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    report_names(migsim("report", "d"), damaged, name, expected)


@pytest.mark.timeout(60)
def test_report_refuses_a_finish_block_outside_the_model(damaged: Path) -> None:
    path = damaged / "statistics.json"
    data = json.loads(path.read_text())
    assert "replications_failed" not in data  # only a run with failed replications has it
    data["finish"]["quantiles"]["P80"]["minutes"] = 1e15
    path.write_text(json.dumps(data))
    report_names(migsim("report", "d"), damaged, "statistics.json", "finish.quantiles.P80.minutes")


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("makespan_minutes", 1e15, "makespan_minutes: expected minutes from 0 to 5,256,000"),
        ("makespan_minutes", -5, "makespan_minutes: expected minutes"),
        ("start", "9999-99-99", "start: expected an ISO 8601 timestamp"),
        ("seed", 2**63, "seed: expected the run's seed"),
    ],
)
def test_runbook_refuses_summary_numbers_outside_the_model(
    damaged: Path, key: str, value: object, expected: str
) -> None:
    edit_summary(damaged, **{key: value})
    refused(migsim("runbook", "d", "--out", "rb.csv"), f"d/summary.json: {expected}")
    assert not Path("rb.csv").exists()


# ---- address prefixes in the scenario loader -----------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "why"),
    [
        ("10.0.0.0/33", "the prefix length 33 is more than 32"),
        ("10.0.0.1/8", "host bits are set (the network is 10.0.0.0/8)"),
        ("256.0.0.0/8", "Octet 256 (> 255) not permitted"),
        ("10.0.0.0", "not in the form a.b.c.d/n"),
        ("banana", "not in the form a.b.c.d/n"),
    ],
)
def test_loader_parses_address_space_and_prefixes(at: Path, prefix: str, why: str) -> None:
    text = CONTOSO.read_text()
    assert "address_space: [10.0.0.0/16]" in text and "prefix: 10.0.1.0/24" in text
    line = text.splitlines().index(
        next(x for x in text.splitlines() if "address_space: [10.0.0.0/16]" in x)
    )
    (at / "space.yaml").write_text(text.replace("[10.0.0.0/16]", f"[{prefix}]", 1))
    refused(
        migsim("validate", "space.yaml"),
        f"space.yaml:{line + 1}: estate.vnets[0].address_space[0]: expected an IPv4 CIDR prefix"
        f" such as 10.0.0.0/16, got {prefix!r}: {why}",
    )
    (at / "subnet.yaml").write_text(text.replace("prefix: 10.0.1.0/24", f"prefix: {prefix}", 1))
    refused(migsim("validate", "subnet.yaml"), "estate.vnets[0].subnets[0].prefix:", why)


def test_a_bad_prefix_from_set_blames_set(at: Path) -> None:
    refused(
        migsim("validate", str(CONTOSO), "--set", "estate.vnets[0].subnets[0].prefix=10.0.1.0/33"),
        "error: --set: estate.vnets[0].subnets[0].prefix: expected an IPv4 CIDR prefix",
    )


def shipped() -> Sequence[Path]:
    return sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", shipped(), ids=lambda p: p.name)
def test_shipped_scenarios_still_load(path: Path) -> None:
    result = migsim("validate", str(path), "--format", "json")
    # kitchen-sink's plan is refused by run on purpose (its ordering), after a full report
    assert result.exit_code in ((0, 1, 2) if path.name == "kitchen-sink.yaml" else (0, 1))
    assert json.loads(result.stdout)["units"]
