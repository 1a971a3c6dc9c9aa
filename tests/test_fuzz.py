"""The fuzz tier: seeded mutants of the shipped scenarios and XML fixtures, through the CLI.

Each case writes a mutant (types changed, boundary and extreme values, unknown units, impossible
dates, unicode, keys deleted, list items duplicated, wrong nesting; elements and attributes of the
XML fixtures rewritten, dropped or duplicated) into ``tmp_path`` and runs ``validate``, ``run``
(``--workers 1``) and ``import asm`` / ``import netcfg`` on it in this process through the
``migsim`` click group, as a user would. Whatever the input, the command must:

- exit 0, 1 or 2 (an exception other than ``SystemExit`` is a failure: hypothesis shows it with
  its traceback and the mutant that caused it, shrunk);
- print no traceback, and on exit 2 say ``error:``;
- finish within ``MIGSIM_FUZZ_CASE_SECONDS`` (default 20 s) and within a memory budget of
  ``MIGSIM_FUZZ_MEMORY_MB`` (default 3,000 MB) above what the test process held;
- leave no output (nor its temporary sibling ``.NAME.*``) when it fails, and write it when it
  says so (exit 0);
- and an estate that ``import`` wrote must load: ``validate`` on it exits 0 or 1.

The runs are seeded (``derandomize``): the same examples every time. ``MIGSIM_FUZZ_EXAMPLES=N``
runs N examples per test instead of the default budget (``docs/testing.md``).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import gc
import os
import re
import resource
import shutil
import signal
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from test_import_netcfg import NETCFG

from sim.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

EXAMPLES = int(os.environ.get("MIGSIM_FUZZ_EXAMPLES", "0") or 0)
"""Examples per fuzz test; 0: the default budget (a couple of minutes in ``make test``)."""
CASE_SECONDS = float(os.environ.get("MIGSIM_FUZZ_CASE_SECONDS", "20"))
"""Wall-clock limit of one command on one mutant (the shipped scenarios run in well under 1 s)."""
MEMORY_MB = int(os.environ.get("MIGSIM_FUZZ_MEMORY_MB", "3000"))
"""Address space one command may add to the test process."""

SCENARIO_EXAMPLES = EXAMPLES or 300
XML_EXAMPLES = EXAMPLES or 450  # 600 until 2026-12-01: the suite crept past 10 minutes
OUTER_SECONDS = 1200 + 4 * max(SCENARIO_EXAMPLES, XML_EXAMPLES)
"""pytest-timeout's last resort for one fuzz test (the per-command limit normally fires first)."""


def _fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,  # the same examples on every run and machine
        database=None,  # nothing written beside the repository
        deadline=None,  # CASE_SECONDS bounds a case; hypothesis's deadline would only time it
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        report_multiple_bugs=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,  # tmp_path is a root; each case has its folder
        ],
    )


# ---- the harness: one command on one mutant ----------------------------------------------------


class CaseTimeout(BaseException):
    """Raised in the command by the per-case alarm (a BaseException: ``except Exception`` in the
    code under test does not swallow it)."""


@dataclass
class Alarm:
    fired: bool = False


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[Alarm]:
    """Raise :class:`CaseTimeout` in the command after ``seconds``. The alarm says whether it
    fired: raised inside a callback (a weakref's, a destructor's), the exception may come out as
    another one (``SystemError``) or not at all."""
    alarm = Alarm()

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        alarm.fired = True
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield alarm
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _address_space() -> int | None:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def memory_limit(megabytes: int) -> Iterator[None]:
    """Cap this process's address space at what it holds now plus ``megabytes`` (Linux), so a
    command that grows without bound ends in MemoryError instead of taking the shared machine's
    memory. Only around the command: hypothesis and pytest (reporting a failure) run uncapped."""
    now = _address_space()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if now is None:
        yield
        return
    cap = now + megabytes * 2**20
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


MAX_PRINTED = 16 * 2**20
"""More than a person reads: a report or message that large repeats something without bound."""
OUT_OF_MEMORY = ("MemoryError", "Cannot allocate memory")
"""What a command says when it ran into the cap (and turned the error into a message)."""


def migsim(*args: str) -> Outcome:
    """Run ``migsim ARGS`` in this process as a user would, within the per-case limits.

    An exception other than SystemExit is re-raised with its own traceback (hypothesis tells
    different ones apart by where they were raised); a command that overruns its time or memory,
    exits with another code, or prints a traceback fails an assertion naming the command.
    """
    shown = "migsim " + " ".join(args)
    runner = CliRunner()
    timed_out = False
    try:
        with time_limit(CASE_SECONDS) as alarm, memory_limit(MEMORY_MB):
            result = runner.invoke(cli, list(args), catch_exceptions=True)
    except CaseTimeout:
        timed_out = True  # raised below, outside this handler: no reference to the command's frames
    if timed_out or alarm.fired:
        with contextlib.suppress(NameError):  # unbound when the CaseTimeout came out
            del result
        gc.collect()  # the interrupted run's objects hold each other (SimPy's events and processes)
        raise AssertionError(f"{shown}: did not finish within {CASE_SECONDS:g} s")
    exception, trace = result.exception, result.exc_info
    printed = len(result.stdout_bytes) + len(result.stderr_bytes)
    if printed > MAX_PRINTED:
        del result, exception, trace
        raise AssertionError(f"{shown}: printed {printed / 2**20:.0f} MB")
    outcome = Outcome(result.exit_code, result.stdout, result.stderr)
    del result
    said = outcome.stdout + outcome.stderr
    if isinstance(exception, MemoryError) or any(s in said for s in OUT_OF_MEMORY):
        del exception, trace  # what filled the memory goes with them
        gc.collect()
        raise AssertionError(f"{shown}: needed more than {MEMORY_MB} MB")
    if exception is not None and not isinstance(exception, SystemExit):
        assert trace is not None
        raise exception.with_traceback(trace[2])
    assert outcome.exit_code in (0, 1, 2), f"{shown}: exit {outcome.exit_code}\n{said[-2000:]}"
    assert "Traceback (most recent call last)" not in said, f"{shown}: printed a traceback"
    if outcome.exit_code == 2:
        assert "error:" in outcome.stderr.lower(), f"{shown}: exit 2 without a message\n{said}"
    return outcome


def assert_output(outcome: Outcome, target: Path, command: str) -> None:
    """No output and no temporary sibling after a failure; the output after a success."""
    siblings = sorted(p.name for p in target.parent.glob(f".{target.name}.*"))
    if outcome.exit_code == 0:
        assert target.exists(), f"{command} exited 0 without writing {target.name}"
    else:
        assert not target.exists(), f"{command} failed (exit {outcome.exit_code}) but wrote it"
    assert not siblings, f"{command} left temporary files {siblings}"


@contextlib.contextmanager
def case_folder(root: Path) -> Iterator[Path]:
    """A fresh folder under ``tmp_path`` for one example, removed after it."""
    folder = Path(tempfile.mkdtemp(prefix="case-", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---- values a hostile or careless user writes --------------------------------------------------

HUGE_INT = 10**30
NUMBERS: list[Any] = [
    0, -1, 1, -0.0, 0.5, 1e-308, 5e-324, 2**31, 2**63, -(2**63), 10**9, HUGE_INT,
    1e12, 1e300, 1e308, -1e308, float("inf"), float("-inf"), float("nan"),
]  # fmt: skip
UNITS = ["s", "m", "h", "d", "w", "y", "ms", "fortnights", "min", "hours", "µs", "M", "H", "", " m"]
STRINGS: list[Any] = [
    "", " ", "x" * 300, "x" * 20000, "0", "-5m", "1e308m", "1e12m", "inf", ".inf", "nan", "-1",
    "1h-30m", "1.5.3h", "5 fortnights", "10**9", "0x10", "1_000", "true", "null", "~",
    "9999d", "99999999999999999999d", "1d" * 100, "2026-12-05T22:00:00Z", "25:00", "23:60",
    "-01:00", "funday", "Europe/Nowhere", "localtime", "../../etc/passwd", "/dev/zero",
    "/dev/null", "/", ".", "estates", "missing.yaml", "nul\x00byte.yaml", "C:\\estate.yaml",
    "10.0.0.0/33", "10.0.0.300/16", "::/0", "fe80::/200", "10.0.0.0", "not-an-address",
    "naïve", "日本語", "🚀", "\u202eevil", "e\u0301", "tab\there", "line\nbreak", "\ufeffbom",
    "MIG999", "as_listed", "waves", "smallest_first,largest_first", "%s%n", "{0}", "${HOME}",
]  # fmt: skip
DATES: list[Any] = [
    dt.datetime(1, 1, 1, tzinfo=dt.UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
    dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
    dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 5, 22, 0),  # no offset
    dt.date(2026, 12, 5),
    dt.date(1, 1, 1),
    dt.date(9999, 12, 31),
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+14:00",
    "2026-13-05T22:00:00Z",
    "2026-02-30T22:00:00Z",
    "2026-12-05T24:00:00Z",
    "2026-12-05T22:00:00+25:00",
    "2026-12-05 22:00",
    "2026-12-05",
    "2026-W49",
    "yesterday",
    "10000-01-01T00:00:00Z",
    "-2026-12-05T22:00:00Z",
    "2026-12-05T22:00:00.123456789Z",
    "2026-03-29T02:30:00",  # skipped by the clocks in Europe
]
CONTAINERS: list[Any] = [None, True, False, [], {}, [None], [[]], {"x": 1}, [1, 2], {"": None}]
KEYS = ["bogus", "", "Plan", "crews ", "日本", "🚀", "x" * 300, "0", "horizon", "__class__"]
INSERTS = ["\u202e", "🚀", "\u0301", "\x00", "\t", "\ufeff", "\u2028", "é", "\x85", "\ud7ff"]

DURATION = re.compile(r"^\s*(-?[\d.]+)\s*([A-Za-z]+)\s*$")


ADDRESS = re.compile(r"^\s*[\d.]+(/\d+)?\s*$|^[0-9a-fA-F:]+:[0-9a-fA-F:]*(/\d+)?$")
URL = re.compile(r"^https?://", re.IGNORECASE)
NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


def shaped_variants(text: str) -> list[str]:
    """Values shaped like ``text`` but out of range, so a mutant gets past the type checks to
    the bounds: a duration with its number or unit replaced (``30m`` -> ``1e308m``, ``30w``), an
    address with an impossible prefix or octet, a URL with a 300-character host, a number made
    extreme, a name made empty, huge or strange."""
    match = DURATION.match(text)
    if match is not None:
        number, unit = match.groups()
        numbers = ["0", "-1", "1e308", "1e12", "inf", "nan", "99999999999999999999", "0.0000001"]
        return [n + unit for n in numbers] + [number + u for u in UNITS]
    if ADDRESS.match(text):
        return [
            *("10.0.0.0/33", "10.0.0.0/-1", "10.0.0.300/16", "10.0.0.1/24", "0.0.0.0/0"),
            *("255.255.255.255/32", "10.0.0.0/08", "010.0.0.0/16", "::/0", "fe80::/200"),
            *("10.0.0.0", "10.0.0.0/", "10.0.0/16", "10.0.0.0/16 10.1.0.0/16", "", "🚀/16"),
        ]
    if URL.match(text):
        return [
            "https://" + "a" * 300 + ".blob.core.windows.net/vhds/os.vhd",
            "https://" + "a" * 2 + ".blob.core.windows.net/vhds/os.vhd",
            "https://UPPER_case.blob.core.windows.net/vhds/os.vhd",
            "https://.blob.core.windows.net/vhds/os.vhd",
            "https://x.blob.core.windows.net/",
            "https://x.blob.core.windows.net/" + "v" * 5000 + ".vhd",
            "https://üñí.blob.core.windows.net/vhds/os.vhd",
            "https://x.example.com/vhds/os.vhd",
            "file:///dev/zero",
            "https://",
            "not a url",
        ]
    if NUMBER.match(text):
        return ["-1", "0", "1e308", "inf", "NaN", "99999999999999999999", "1.5", "", "0x10", "1_0"]
    return [
        "",
        " ",
        "x" * 300,
        "x" * 100_000,
        text * 50,
        text + "\u202e",
        text + "🚀",
        "../" + text,
    ]


# ---- scenario mutants --------------------------------------------------------------------------

Tree = Any
PathT = tuple[Any, ...]


def _paths(tree: Tree, prefix: PathT = ()) -> list[PathT]:
    """Every node's path, parents first, in document order."""
    found: list[PathT] = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            found += _paths(value, (*prefix, i))
    return found


def _get(tree: Tree, path: PathT) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def _set(tree: Tree, path: PathT, value: Any) -> Tree:
    if not path:
        return value
    _get(tree, path[:-1])[path[-1]] = value
    return tree


def _shown(path: PathT) -> str:
    return (
        "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "<root>"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} chars)"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class Mutant:
    """A shipped scenario (and the estate file it names) with some changes; the repr is what
    hypothesis prints for a failing case: the seed and each change."""

    seed: str
    changes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict, repr=False)
    raw: dict[str, bytes] = field(default_factory=dict, repr=False)
    overrides: list[str] = field(default_factory=list)
    replications: int = 0
    deterministic: bool = False

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis prints this
        printer.text(
            f"Mutant({self.seed!r}, changes={self.changes!r}, overrides={self.overrides!r},"
            f" replications={self.replications}, deterministic={self.deterministic})"
        )

    def write(self, folder: Path) -> Path:
        for name, text in self.files.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        for name, data in self.raw.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return folder / "scenario.yaml"


SCENARIO_SEEDS: dict[str, Path] = {
    "contoso": ROOT / "scenarios" / "contoso.yaml",
    "clean": ROOT / "scenarios" / "clean.yaml",
    "kitchen-sink": ROOT / "scenarios" / "kitchen-sink.yaml",
    "small-what-if": ROOT / "scenarios" / "small-what-if.yaml",
    "shared-contoso": SHARED / "examples" / "contoso.yaml",
}
ESTATE_FILES = {"small-what-if": "estates/small-estate.yaml"}


def _seed_trees(seed: str) -> dict[str, Tree]:
    path = SCENARIO_SEEDS[seed]
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing under CI")
        pytest.skip(f"{path} not found")
    trees = {"scenario.yaml": yaml.safe_load(path.read_text(encoding="utf-8"))}
    if seed in ESTATE_FILES:
        name = ESTATE_FILES[seed]
        trees[name] = yaml.safe_load((path.parent / name).read_text(encoding="utf-8"))
    return trees


SET_KEYS = [
    *("plan.crews", "plan.check", "plan.start", "plan.seed", "plan.deadline", "plan.timezone"),
    *("plan.ordering", "plan.dispatch", "plan.writes_per_vm", "plan.write_limit_per_hour"),
    *("plan.durations.prepare.base", "plan.durations.commit", "plan.failures.max_attempts"),
    *("plan.failures.commit", "plan.maintenance_windows", "plan.max_parallel.vnet"),
    *("plan.waves", "plan.horizon", "plan", "estate", "name", "plan.nosuchkey", "plan..crews"),
]
SET_VALUES = [
    *("1e308", ".inf", "-.inf", ".nan", "-1", "0", "1e9", "99999999999999999999", "2.5"),
    *("9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z", "2026-13-01", "1e12m", "30fortnights"),
    *("", "~", "[", "]", "{", "{a: 1}", "[1, 2]", "'", '"', "&a [*a]", "!!python/object:os.system"),
    *("/dev/zero", "🚀", "x" * 5000, "a=b", "true"),
]


Draw = Callable[[st.SearchStrategy[Any]], Any]


PLAN_KEYS: list[PathT] = [
    *[(k,) for k in ("seed", "start", "deadline", "crews", "check", "horizon", "timezone")],
    *[(k,) for k in ("writes_per_vm", "writes_per_resource", "write_limit_per_hour")],
    *[("max_parallel", k) for k in ("vnet", "cloud_service", "storage_account", "other")],
    *[("failures", k) for k in ("validate", "prepare", "commit", "max_attempts", "retry_after")],
    *[("durations", "prepare", k) for k in ("base", "per_vm", "spread")],
    *[("durations", k) for k in ("commit", "stop", "remediate", "restore")],
    ("remedies", "MIG013", "restore"),
    ("maintenance_windows", 0, "for"),
    ("maintenance_windows", 0, "start"),
]
"""Plan keys a mutant sets, whether the seed has them or not (a key the seed leaves out is
still read: ``writes_per_vm: .inf``)."""
PLAN_VALUES: list[Any] = [
    *NUMBERS,
    *("1e12m", "99999999999999999999d", "1e308", "-5m", "0m", "1w", "525600m", "1000000d"),
    *DATES[:12],
    *(None, True, "", "UTC", "auto"),
]


def _set_plan_key(tree: Tree, path: PathT, value: Any) -> Tree:
    """Set ``plan.<path>`` in a scenario tree, making the mappings (and a first maintenance
    window, recurring or one-off) on the way."""
    if not isinstance(tree, dict) or not isinstance(tree.get("plan", {}), dict):
        return tree
    node = tree.setdefault("plan", {})
    for part in path[:-1]:
        if part == "maintenance_windows":
            windows = node.get(part)
            if not isinstance(windows, list) or not windows or not isinstance(windows[0], dict):
                node[part] = [{"every": "saturday", "at": "22:00", "for": "8h"}]
            if path[-1] == "start":  # a one-off window
                node[part][0] = {"start": "2026-12-05T22:00:00Z", "for": "8h"}
            node = node[part][0]
            break
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}  # a step written as a constant becomes a mapping
        node = child
    node[path[-1]] = value
    return tree


TREE_CHANGES = [
    *("number", "shaped", "date", "plan")
    * 2,  # values of the right type, out of range: the engine's
    *("value", "delete", "duplicate", "nest", "key", "type", "unicode"),  # ... and the loader's
]


def _mutate_tree(draw: Draw, tree: Tree) -> tuple[Tree, str]:
    """One change to ``tree``; returns the tree (new if the root was replaced) and its
    description."""
    paths = _paths(tree)
    kind = draw(st.sampled_from(TREE_CHANGES))
    if kind == "number":
        numeric = [p for p in paths if _is_number(_get(tree, p))]
        if numeric:
            path = draw(st.sampled_from(numeric))
            value = draw(st.sampled_from(NUMBERS))
            return _set(tree, path, value), f"{_shown(path)} = {_short(value)}"
        kind = "value"
    if kind == "plan":
        key = draw(st.sampled_from(PLAN_KEYS))
        value = draw(st.sampled_from(PLAN_VALUES))
        return _set_plan_key(tree, key, value), f"plan.{_shown(key)} = {_short(value)}"
    if kind == "shaped":
        texts = [p for p in paths if isinstance(_get(tree, p), str)]
        if texts:
            path = draw(st.sampled_from(texts))
            value = draw(st.sampled_from(shaped_variants(_get(tree, path))))
            return _set(tree, path, value), f"{_shown(path)} = {_short(value)}"
        kind = "value"
    if kind == "date":
        dated = [
            p
            for p in paths
            if isinstance(_get(tree, p), dt.date)
            or (p and p[-1] in ("start", "deadline", "not_before", "at"))
        ]
        if dated:
            path = draw(st.sampled_from(dated))
            value = draw(st.sampled_from([*DATES, "00:00", "23:59", "24:00", "7:5", 1320]))
            return _set(tree, path, value), f"{_shown(path)} = {_short(value)}"
        kind = "value"
    if kind == "delete":
        removable = [p for p in paths if p]
        if removable:
            path = draw(st.sampled_from(removable))
            parent = _get(tree, path[:-1])
            del parent[path[-1]]
            return tree, f"del {_shown(path)}"
        kind = "value"
    if kind == "duplicate":
        items = [p for p in paths if p and isinstance(p[-1], int)]
        if items:
            path = draw(st.sampled_from(items))
            times = draw(st.sampled_from([1, 2, 50]))
            parent = _get(tree, path[:-1])
            for _ in range(times):
                parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))
            return tree, f"duplicate {_shown(path)} x{times}"
        kind = "value"
    if kind == "nest":
        path = draw(st.sampled_from(paths))
        node = _get(tree, path)
        how = draw(st.sampled_from(["list", "map", "values", "string"]))
        if how == "list":
            value: Any = [node]
        elif how == "map":
            value = {"value": node}
        elif how == "values" and isinstance(node, dict):
            value = list(node.values())
        else:
            value = yaml.safe_dump(node, default_flow_style=True).strip()
        return _set(tree, path, value), f"{_shown(path)} nested as {how}"
    if kind == "key":
        maps = [p for p in paths if isinstance(_get(tree, p), dict)]
        if maps:
            path = draw(st.sampled_from(maps))
            key = draw(st.sampled_from(KEYS))
            value = draw(st.sampled_from(NUMBERS[:4] + STRINGS[:3] + CONTAINERS[:5]))
            _get(tree, path)[key] = value
            return tree, f"{_shown((*path, key))} added = {_short(value)}"
        kind = "value"
    if kind == "type":
        path = draw(st.sampled_from(paths))
        node = _get(tree, path)
        if _is_number(node):
            value = draw(st.sampled_from([str(node), float(node), [node], bool(node), -node]))
        elif isinstance(node, str):
            value = draw(st.sampled_from([len(node), [node], {node: node}, node.upper(), None]))
        else:
            value = draw(st.sampled_from([0, "", None, str(node)[:100]]))
        return _set(tree, path, value), f"{_shown(path)} = {_short(value)}"
    if kind == "unicode":
        texts = [p for p in paths if isinstance(_get(tree, p), str)]
        if texts:
            path = draw(st.sampled_from(texts))
            text = _get(tree, path)
            where = draw(st.integers(0, len(text)))
            insert = draw(st.sampled_from(INSERTS))
            value = text[:where] + insert + text[where:]
            return _set(tree, path, value), f"{_shown(path)} = {_short(value)}"
        kind = "value"
    path = draw(st.sampled_from(paths))
    value = draw(st.sampled_from(NUMBERS + STRINGS + DATES + CONTAINERS))
    return _set(tree, path, value), f"{_shown(path)} = {_short(value)}"


@st.composite
def scenario_mutants(draw: Draw) -> Mutant:
    seed = draw(st.sampled_from(sorted(SCENARIO_SEEDS)))
    trees = _seed_trees(seed)
    mutant = Mutant(seed)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(sorted(trees)))
        trees[name], change = _mutate_tree(draw, trees[name])
        mutant.changes.append(change if name == "scenario.yaml" else f"{name}: {change}")
    for name, tree in trees.items():
        mutant.files[name] = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)
    if draw(st.integers(0, 9)) == 0:  # now and then, the text itself
        name = draw(st.sampled_from(sorted(mutant.files)))
        data = mutant.files.pop(name).encode("utf-8")
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["truncate", "bytes", "bom", "tab", "nul", "latin-1", "date"]))
        insert = {"bytes": b"\xff\xfe\x80", "bom": b"\xef\xbb\xbf", "tab": b"\t", "nul": b"\x00"}
        if how == "truncate":
            data = data[:at]
        elif how == "date":  # an unquoted date YAML itself reads (and may refuse)
            new = draw(
                st.sampled_from([b"2026-13-05", b"2026-02-30", b"0000-01-01", b"9999-12-31"])
            )
            data = re.sub(rb"\b\d{4}-\d\d-\d\d\b", new, data, count=1)
            how = f"first date unquoted {new.decode()}"
        elif how == "latin-1":
            data = data.decode("utf-8").encode("latin-1", errors="replace")
        else:
            data = data[:at] + insert[how] + data[at:]
        mutant.raw[name] = data
        mutant.changes.append(
            f"{name} text: {how}" + ("" if how.startswith("first") else f" at {at}")
        )
    if draw(st.integers(0, 3)) == 0:  # a --set override on the command line
        key = draw(st.sampled_from(SET_KEYS))
        mutant.overrides.append(f"{key}={draw(st.sampled_from(SET_VALUES))}")
    mutant.replications = draw(st.sampled_from([0, 2]))
    mutant.deterministic = draw(st.booleans())
    return mutant


def check_scenario(mutant: Mutant, root: Path) -> None:
    """validate, then run (``--workers 1``), on the mutant; each within the harness's rules."""
    with case_folder(root) as folder:
        scenario = str(mutant.write(folder))
        sets = [arg for override in mutant.overrides for arg in ("--set", override)]
        checked = migsim("validate", scenario, *sets)
        migsim("validate", scenario, "--format", "json", *sets)
        out = folder / "out"
        args = ["run", scenario, *sets, "--out", str(out), "--workers", "1"]
        args += ["--replications", str(mutant.replications)]
        if mutant.deterministic:
            args.append("--deterministic")
        ran = migsim(*args)
        event(f"validate exit {checked.exit_code}, run exit {ran.exit_code}")
        assert_output(ran, out, "migsim run")
        assert_one_judgement(checked, ran)


def _error(outcome: Outcome) -> str:
    return "\n".join(line for line in outcome.stderr.splitlines() if line.startswith("error:"))


def assert_one_judgement(checked: Outcome, ran: Outcome) -> None:
    """``validate`` refuses what ``run`` refuses, with the same message, and passes what it runs
    (a scenario with blockers, exit 1, may still be refused by ``run``)."""
    if checked.exit_code == 2 or ran.exit_code == 2:
        assert (checked.exit_code, _error(checked)) == (ran.exit_code, _error(ran)) or (
            checked.exit_code == 1 and ran.exit_code == 2
        ), (
            f"validate and run judge apart: validate exit {checked.exit_code}"
            f" {_error(checked)!r}, run exit {ran.exit_code} {_error(ran)!r}"
        )


@pytest.mark.fuzz
@pytest.mark.timeout(OUTER_SECONDS, method="thread")
@_fuzz_settings(SCENARIO_EXAMPLES)
@given(mutant=scenario_mutants())
def test_scenario_mutants(mutant: Mutant, tmp_path: Path) -> None:
    check_scenario(mutant, tmp_path)


# ---- XML mutants -------------------------------------------------------------------------------

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_TEXTS: list[str] = [
    "", " ", "x" * 300, "a" * 100_000, "-1", "0", "1e308", "inf", "NaN", "99999999999999999999",
    "10.0.0.0/33", "10.0.0.300/16", "10.0.0.0/-1", "::/0", "fe80::/200", "10.0.0.0",
    "not-an-address", "10.0.0.0/8 10.1.0.0/16", "&", "<![CDATA[x]]>", "naïve", "日本語", "🚀",
    "\u202eevil", "Standard_DS1_v2", "ExtraLarge", "NoSuchSize", "true", "false", "True",
    "2026-13-45T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
    "https://" + "a" * 300 + ".blob.core.windows.net/vhds/os.vhd",
    "https://UPPER.blob.core.windows.net/vhds/os.vhd", "https://x.blob.core.windows.net/",
    "https://.blob.core.windows.net/vhds/os.vhd", "not a url", "vhds/os.vhd",
    "aW52YWxpZA==", "!!notbase64", "Group  ", "Group ASMTest", "Group " + "g" * 300 + " x",
    "Production", "Staging", "Running", "Deleting", "Dedicated", "IPsec", "West US", "",
]  # fmt: skip
NAMES_OF_TAGS = ["Bogus", "Name", "AddressPrefix", "Subnet", "MediaLink", "Role"]


@dataclass
class XmlSeed:
    name: str
    command: str  # "asm" (a folder) or "netcfg" (one file)
    documents: dict[str, bytes]


def _xml_seeds() -> dict[str, XmlSeed]:
    def folder(path: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(path.glob("*.xml"))}

    seeds: dict[str, XmlSeed] = {}  # the richest first
    fixtures = SHARED / "fixtures" / "asm"
    if fixtures.is_dir():
        seeds["shared-asm"] = XmlSeed("shared-asm", "asm", folder(fixtures))
    elif os.environ.get("CI") == "true":
        raise RuntimeError(f"{fixtures} is missing under CI")
    export = folder(ROOT / "scenarios" / "asm-export")
    netcfg = {"netcfg.xml": NETCFG.encode("utf-8")}
    seeds["asm-export+netcfg"] = XmlSeed("asm-export+netcfg", "asm", {**export, **netcfg})
    seeds["asm-export"] = XmlSeed("asm-export", "asm", export)
    seeds["netcfg"] = XmlSeed("netcfg", "netcfg", netcfg)
    return seeds


XML_SEEDS = _xml_seeds()


def _namespaces(data: bytes) -> list[tuple[str, str]]:
    import io

    return [ns for _, ns in ET.iterparse(io.BytesIO(data), events=("start-ns",))]


@dataclass
class XmlMutant:
    seed: str
    changes: list[str] = field(default_factory=list)
    documents: dict[str, bytes] = field(default_factory=dict, repr=False)
    run: bool = False  # also run the estate it imports (validate always checks it)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis prints this
        printer.text(f"XmlMutant({self.seed!r}, changes={self.changes!r}, run={self.run})")

    def write(self, folder: Path) -> Path:
        target = folder / "export"
        target.mkdir()
        for name, data in self.documents.items():
            (target / name).write_bytes(data)
        return target


def _xml_value(text: str) -> st.SearchStrategy[str]:
    """Mostly a value shaped like the one there, sometimes anything."""
    return st.one_of(st.sampled_from(shaped_variants(text.strip())), st.sampled_from(XML_TEXTS))


def _mutate_xml(draw: Draw, root: ET.Element, document: str) -> str:
    """One change to the element tree rooted at ``root``; returns its description."""
    parents = {child: parent for parent in root.iter() for child in parent}
    elements = list(root.iter())

    def where(element: ET.Element) -> str:
        local = element.tag.rsplit("}", 1)[-1]
        return f"{document}: {local}#{elements.index(element)}"

    kind = draw(st.sampled_from(["text", "text", "attr", "drop", "dup", "empty", "rename", "move"]))
    if kind == "text":
        leaves = [e for e in elements if len(e) == 0] or elements
        tag = draw(st.sampled_from(sorted({e.tag for e in leaves})))  # each kind of value alike
        element = draw(st.sampled_from([e for e in leaves if e.tag == tag]))
        element.text = draw(_xml_value(element.text or ""))
        return f"{where(element)} text = {_short(element.text)}"
    if kind == "attr":
        element = draw(st.sampled_from(elements))
        names = [*sorted(element.attrib), "name", "type", f"{{{XSI_NS}}}nil", "Location"]
        name = draw(st.sampled_from(names))
        element.set(name, draw(_xml_value(element.get(name, ""))))
        return f"{where(element)} @{name.rsplit('}', 1)[-1]} = {_short(element.get(name))}"
    children = [e for e in elements if e is not root]
    if not children:
        element = root
        root.text = draw(st.sampled_from(XML_TEXTS))
        return f"{where(element)} text = {_short(root.text)}"
    element = draw(st.sampled_from(children))
    parent = parents[element]
    shown = where(element)
    if kind == "drop":
        parent.remove(element)
        return f"drop {shown}"
    if kind == "dup":
        times = draw(st.sampled_from([1, 2, 200]))
        index = list(parent).index(element)
        for _ in range(times):
            parent.insert(index, copy.deepcopy(element))
        return f"duplicate {shown} x{times}"
    if kind == "empty":
        for child in list(element):
            element.remove(child)
        element.text = None
        element.attrib.clear()
        return f"empty {shown}"
    if kind == "rename":
        namespace = element.tag[: element.tag.index("}") + 1] if "}" in element.tag else ""
        new = draw(st.sampled_from(NAMES_OF_TAGS))
        element.tag = namespace + new
        return f"rename {shown} to {new}"
    # move: the element becomes a child of another element (wrong nesting)
    inside = set(element.iter())
    hosts = [e for e in elements if e not in inside]
    host = draw(st.sampled_from(hosts))
    parent.remove(element)
    host.append(element)
    return f"move {shown} into {where(host)}"


@st.composite
def xml_mutants(draw: Draw) -> XmlMutant:
    seed = XML_SEEDS[draw(st.sampled_from(list(XML_SEEDS)))]
    mutant = XmlMutant(seed.name, documents=dict(seed.documents))
    names = sorted(seed.documents)
    trees: dict[str, ET.Element] = {}
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(names))
        if name not in trees:
            data = seed.documents[name]
            for prefix, uri in _namespaces(data):
                ET.register_namespace(prefix, uri)
            trees[name] = ET.fromstring(data)
        mutant.changes.append(_mutate_xml(draw, trees[name], name))
    for name, tree in trees.items():
        mutant.documents[name] = ET.tostring(tree, encoding="utf-8", xml_declaration=True)
    if draw(st.integers(0, 9)) == 0:
        name = draw(st.sampled_from(names))
        data = mutant.documents[name]
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["truncate", "bytes", "bom", "utf-16"]))
        if how == "truncate":
            data = data[:at]
        elif how == "bytes":
            data = data[:at] + b"\xff\xfe\x80\x00" + data[at:]
        elif how == "bom":
            data = b"\xef\xbb\xbf" + data
        else:
            data = data.decode("utf-8", errors="replace").encode("utf-16")
        mutant.documents[name] = data
        mutant.changes.append(f"{name} bytes: {how} at {at}")
    mutant.run = draw(st.integers(0, 3)) == 0
    return mutant


def check_xml(mutant: XmlMutant, root: Path) -> None:
    """import the mutant; an estate it wrote must load (validate exits 0 or 1), and run (one
    mutant in four: a run costs ten imports)."""
    with case_folder(root) as folder:
        export = mutant.write(folder)
        estate = folder / "estate.yaml"
        seed = XML_SEEDS[mutant.seed]
        source = export if seed.command == "asm" else export / "netcfg.xml"
        done = migsim("import", seed.command, str(source), "--out", str(estate))
        event(f"import {seed.command}: exit {done.exit_code}")
        assert_output(done, estate, f"migsim import {seed.command}")
        if done.exit_code != 0:
            return
        scenario = folder / "scenario.yaml"
        scenario.write_text("name: imported\nestate: estate.yaml\n", encoding="utf-8")
        checked = migsim("validate", str(scenario))
        assert checked.exit_code in (0, 1), (
            f"the estate import wrote does not load:\n{checked.stderr}"
        )
        event(f"imported estate: validate exit {checked.exit_code}")
        if mutant.run:
            out = folder / "out"
            ran = migsim("run", str(scenario), "--out", str(out), "--workers", "1")
            event(f"imported estate: run exit {ran.exit_code}")
            assert_output(ran, out, "migsim run")
            assert_one_judgement(checked, ran)


@pytest.mark.fuzz
@pytest.mark.timeout(OUTER_SECONDS, method="thread")
@_fuzz_settings(XML_EXAMPLES)
@given(mutant=xml_mutants())
def test_xml_mutants(mutant: XmlMutant, tmp_path: Path) -> None:
    check_xml(mutant, tmp_path)


# ---- the corpus: mutants issue 14 found by hand ------------------------------------------------


def _contoso_with(*changes: tuple[PathT, Any]) -> Mutant:
    tree = yaml.safe_load((ROOT / "scenarios" / "contoso.yaml").read_text(encoding="utf-8"))
    mutant = Mutant("contoso", replications=2)
    for path, value in changes:
        tree = _set(tree, path, value)
        mutant.changes.append(f"{_shown(path)} = {_short(value)}")
    mutant.files["scenario.yaml"] = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)
    return mutant


def _contoso_text(old: str, new: str, *overrides: str) -> Mutant:
    """contoso with ``old`` replaced by ``new`` in its text (what YAML itself reads), and
    ``--set`` overrides."""
    text = (ROOT / "scenarios" / "contoso.yaml").read_text(encoding="utf-8")
    assert old in text
    mutant = Mutant("contoso", replications=2, overrides=list(overrides))
    mutant.files["scenario.yaml"] = text.replace(old, new, 1)
    if old != new:
        mutant.changes.append(f"text {old!r} -> {new!r}")
    return mutant


REFUSED = frozenset({2})
SATURDAY = {"every": "saturday", "at": "22:00", "for": "8h"}
FAR_WAVE = {"name": "w", "units": ["vnet-shared"], "not_before": "9999-01-01T00:00:00Z"}

CORPUS: dict[str, tuple[Mutant, frozenset[int]]] = {
    # (the mutant, the exit codes validate and run may give: 2 where the input must be refused)
    "start in year 9999": (_contoso_with((("plan", "start"), "9999-12-31T00:00:00Z")), REFUSED),
    "wave not_before in year 9999": (
        # refused, or run to the horizon (plan.horizon) with its units not finished
        _contoso_with((("plan", "ordering"), "waves"), (("plan", "waves"), [FAR_WAVE])),
        frozenset({0, 2}),
    ),
    "writes_per_vm .inf": (_contoso_with((("plan", "writes_per_vm"), float("inf"))), REFUSED),
    "check 1e308 minutes": (_contoso_with((("plan", "check"), 1e308)), REFUSED),
    "check 1e12 minutes, weekly window": (
        _contoso_with((("plan", "check"), 1e12), (("plan", "maintenance_windows"), [SATURDAY])),
        REFUSED,
    ),
    "window for 1e300": (
        _contoso_with((("plan", "maintenance_windows"), [{**SATURDAY, "for": 1e300}])),
        REFUSED,
    ),
    "crews 1e9": (_contoso_with((("plan", "crews"), 10**9)), REFUSED),
    "commit always fails, 1e9 attempts": (
        _contoso_with((("plan", "failures"), {"commit": 1.0, "max_attempts": 10**9})),
        REFUSED,
    ),
    "estate /dev/zero": (_contoso_with((("estate",), "/dev/zero")), REFUSED),
    "estate with a NUL byte": (_contoso_with((("estate",), "est\x00ate.yaml")), REFUSED),
    "estate a folder": (_contoso_with((("estate",), ".")), REFUSED),
    "estate missing": (_contoso_with((("estate",), "missing.yaml")), REFUSED),
    "subnet prefix 10.0.0.0/33": (
        _contoso_with((("estate", "vnets", 0, "subnets", 0, "prefix"), "10.0.0.0/33")),
        REFUSED,
    ),
    # found by this tier on the main of issue 14 (docs/testing.md)
    "unquoted start 2026-13-05 in the file": (
        _contoso_text("start: 2026-12-05T22:00:00Z", "start: 2026-13-05T22:00:00Z"),
        REFUSED,
    ),
    "unquoted start 2026-02-30 in the file": (
        _contoso_text("start: 2026-12-05T22:00:00Z", "start: 2026-02-30T22:00:00Z"),
        REFUSED,
    ),
    "--set plan.start=2026-13-01": (_contoso_text("", "", "plan.start=2026-13-01"), REFUSED),
    "start 9999-12-31T23:59:59-23:59": (
        _contoso_with((("plan", "start"), "9999-12-31T23:59:59-23:59")),
        REFUSED,
    ),
    "start in year 1": (
        _contoso_with((("plan", "start"), "0001-01-01T00:00:00Z")),
        frozenset({0, 2}),
    ),
    "one-off window in year 9999": (
        _contoso_with((("plan", "maintenance_windows"), [{"start": "9999-12-31", "for": "8h"}])),
        REFUSED,
    ),
    "prepare base 1e300 minutes": (
        _contoso_with((("plan", "durations", "prepare"), {"base": 1e300})),
        REFUSED,
    ),
    "window for 1e20 hours": (
        _contoso_with(
            (("plan", "maintenance_windows"), [{**SATURDAY, "for": "99999999999999999999h"}])
        ),
        REFUSED,
    ),
    "address space 10.0.0.300/16": (
        _contoso_with((("estate", "vnets", 0, "address_space", 0), "10.0.0.300/16")),
        REFUSED,
    ),
}


@pytest.mark.fuzz
@pytest.mark.timeout(600, method="thread")
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus(name: str, tmp_path: Path) -> None:
    """The hand-found mutants of issue 14: within the harness's rules, and refused (exit 2)
    where the input is out of its documented range."""
    mutant, allowed = CORPUS[name]
    with case_folder(tmp_path) as folder:
        scenario = str(mutant.write(folder))
        sets = [arg for override in mutant.overrides for arg in ("--set", override)]
        checked = migsim("validate", scenario, *sets)
        out = folder / "out"
        args = ["--out", str(out), "--workers", "1", "--replications", "2"]
        ran = migsim("run", scenario, *sets, *args)
        assert_output(ran, out, "migsim run")
        assert checked.exit_code in allowed, f"validate exit {checked.exit_code}, want {allowed}"
        assert ran.exit_code in allowed, f"run exit {ran.exit_code}, want {allowed}"
        assert_one_judgement(checked, ran)


def _xml_text(seed: str, document: str, local: str, text: str) -> XmlMutant:
    if seed not in XML_SEEDS:
        pytest.skip(f"the {seed} fixtures are not there")
    mutant = XmlMutant(seed, documents=dict(XML_SEEDS[seed].documents))
    data = mutant.documents[document]
    for prefix, uri in _namespaces(data):
        ET.register_namespace(prefix, uri)
    root = ET.fromstring(data)
    local, _, nth = local.partition("#")  # "AddressPrefix#1": the second one
    hits = [e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == local]
    assert len(hits) > int(nth or 0), f"{document} has no {local}#{nth}"
    hits[int(nth or 0)].text = text
    mutant.documents[document] = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    mutant.changes.append(f"{document}: {local} text = {_short(text)}")
    return mutant


XML_CORPUS: dict[str, tuple[str, str, str, str]] = {
    # (seed, document, element, its new text): each must be refused by the importer (exit 2)
    "storage account of 300 characters from a MediaLink": (
        "shared-asm",
        "hostedservices-ASMTest011602-embed-detail-true.xml",
        "MediaLink",
        "https://" + "a" * 300 + ".blob.core.windows.net/vhds/os.vhd",
    ),
    "address prefix 10.0.0.0/33": (
        "asm-export",
        "networking-virtualnetwork.xml",
        "AddressPrefix",
        "10.0.0.0/33",
    ),
    # the second AddressPrefix: a VNet's (the first is a local network site's, which the
    # importer does not take into the estate, so does not judge)
    "netcfg address prefix 10.10.0.0/33": (
        "netcfg",
        "netcfg.xml",
        "AddressPrefix#1",
        "10.10.0.0/33",
    ),
    # issue 15: a MediaLink's blob name is kept (Disk.blob); Azure Storage allows 1,024 characters
    "blob name of 1,025 characters from a MediaLink": (
        "shared-asm",
        "hostedservices-ASMTest011602-embed-detail-true.xml",
        "MediaLink",
        "https://asmtest8155.blob.core.windows.net/vhds/" + "b" * 1025,
    ),
    # found by this tier on the main of issue 14
    "VNet name of 300 characters": (
        "asm-export",
        "hostedservices-cs-fab-web.xml",
        "VirtualNetworkName",
        "v" * 300,
    ),
    "subnet name of 300 characters": (
        "asm-export",
        "hostedservices-cs-fab-web.xml",
        "SubnetName",
        "s" * 300,
    ),
}


@pytest.mark.fuzz
@pytest.mark.timeout(600, method="thread")
@pytest.mark.parametrize("name", sorted(XML_CORPUS))
def test_xml_corpus(name: str, tmp_path: Path) -> None:
    """Hand-found importer values of issue 14: refused with exit 2 and no estate written."""
    mutant = _xml_text(*XML_CORPUS[name])
    with case_folder(tmp_path) as folder:
        export = mutant.write(folder)
        seed = XML_SEEDS[mutant.seed]
        source = export if seed.command == "asm" else export / "netcfg.xml"
        estate = folder / "estate.yaml"
        done = migsim("import", seed.command, str(source), "--out", str(estate))
        assert_output(done, estate, f"migsim import {seed.command}")
        assert done.exit_code == 2, f"import exit {done.exit_code}, want 2\n{done.stdout}"
