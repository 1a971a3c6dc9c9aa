"""The runner: the same rows on every backend and worker count; failures come with their seed."""

from __future__ import annotations

import csv
import io
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.common.errors import InputError
from sim.engine.sampling import replication_seed
from sim.experiments import runner
from sim.experiments.replications import METRICS, Prepared, ReplicationRow
from sim.experiments.runner import (
    MAX_BATCH,
    MIN_BATCH,
    SUMMARY_COLUMNS,
    Batch,
    Failure,
    ReplicationsFailed,
    guided_batches,
    guided_sizes,
    metric_statistics,
    replications_csv,
    run_replications,
    summary_table,
    write_replications,
)
from sim.model.ordering import order_units
from sim.model.scenario import load_scenario

CONTOSO = Path(__file__).resolve().parents[1] / "scenarios" / "contoso.yaml"


@dataclass(frozen=True)
class Flaky(Prepared):
    """A prepared alternative whose listed replications raise (importable by worker processes)."""

    bad: frozenset[int] = frozenset()

    @classmethod
    def wrap(cls, p: Prepared, bad: set[int]) -> Flaky:
        return cls(**{f.name: getattr(p, f.name) for f in fields(Prepared)}, bad=frozenset(bad))

    def row(self, replication: int, *, deterministic: bool = False) -> ReplicationRow:
        if replication in self.bad:
            raise RuntimeError(f"boom in {replication}")
        return super().row(replication, deterministic=deterministic)


LOADS = 0
"""How many times this process unpickled a :class:`CountsLoads`."""


@dataclass(frozen=True)
class CountsLoads(Prepared):
    """Every replication raises with the process id and how often this process unpickled one."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        global LOADS
        LOADS += 1
        self.__dict__.update(state)

    def row(self, replication: int, *, deterministic: bool = False) -> ReplicationRow:
        raise RuntimeError(f"pid {os.getpid()} loads {LOADS}")


@dataclass(frozen=True)
class Unpicklable(Prepared):
    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("cannot pickle this one")


@pytest.fixture(scope="module")
def alternatives() -> list[Prepared]:
    sc = load_scenario(CONTOSO)
    base = Prepared.of(sc)
    return [
        Prepared.of(sc, order_units(base.units, "smallest_first")),
        Prepared.of(sc, order_units(base.units, "largest_first")),
    ]


def test_rows_are_the_replications_in_index_order(alternatives: list[Prepared]) -> None:
    got = run_replications(alternatives, 12, workers=1)
    assert got == [[p.row(r) for r in range(12)] for p in alternatives]
    assert got.failures == ()


def test_same_rows_on_every_worker_count(alternatives: list[Prepared]) -> None:
    serial = run_replications(alternatives, 15, workers=1)
    two = run_replications(alternatives, 15, workers=2)
    three = run_replications(alternatives, 15, workers=3)
    assert serial == two == three
    assert replications_csv(serial[0]) == replications_csv(two[0]) == replications_csv(three[0])


@pytest.mark.parametrize("workers", [1, 2])
def test_a_range_of_replications_is_the_same_rows(
    alternatives: list[Prepared], workers: int
) -> None:
    whole = run_replications(alternatives, 14, workers=1)
    got = run_replications(alternatives, 9, workers=workers, first=5)
    assert got == [rows[5:] for rows in whole] and not got.stopped
    with pytest.raises(ValueError, match="first replication"):
        run_replications(alternatives, 2, workers=1, first=-1)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stop_returns_the_rows_that_finished(alternatives: list[Prepared], workers: int) -> None:
    asked = [0]

    def stop() -> bool:  # true from the third time it is asked: two batches were started
        asked[0] += 1
        return asked[0] >= 3

    got = run_replications(alternatives, 30, workers=workers, stop=stop)
    assert got.stopped and got.failures == ()
    done = [len(rows) for rows in got]
    # two batches of at most STOP_BATCH replications started (alternative 0 first), no more
    assert 0 < sum(done) <= 2 * runner.STOP_BATCH and done[1] == 0
    assert got[0] == [alternatives[0].row(r) for r in range(done[0])]
    never = run_replications(alternatives, 6, workers=workers, stop=lambda: False)
    assert not never.stopped and never == run_replications(alternatives, 6, workers=1)


def test_orders_of_one_alternative_share_one_pickle(alternatives: list[Prepared]) -> None:
    run_replications(alternatives[0], 1, workers=2)  # the pool is running
    counting = CountsLoads(**{f.name: getattr(alternatives[0], f.name) for f in fields(Prepared)})
    variants = _variants(counting, 5)
    got = run_replications(variants, 4, workers=2, on_failure="collect")
    errors = {f.error for f in got.failures}
    assert len(got.failures) == 20
    assert all(e.endswith(" loads 1") for e in errors), errors  # the estate once per worker


def test_single_prepared_gives_one_list(alternatives: list[Prepared]) -> None:
    got = run_replications(alternatives[0], 3, workers=1)
    assert len(got) == 1 and [r.replication for r in got[0]] == [0, 1, 2]


def test_deterministic(alternatives: list[Prepared]) -> None:
    got = run_replications(alternatives[0], 3, workers=1, deterministic=True)
    assert got[0] == [alternatives[0].row(r, deterministic=True) for r in range(3)]


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_counts_replications(alternatives: list[Prepared], workers: int) -> None:
    calls: list[tuple[int, int]] = []
    run_replications(alternatives, 10, workers=workers, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 20) and calls[-1] == (20, 20)
    assert all(t == 20 for _, t in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(calls) >= 2


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_replication_keeps_the_others(alternatives: list[Prepared], workers: int) -> None:
    flaky = Flaky.wrap(alternatives[1], {3, 7})
    got = run_replications([alternatives[0], flaky], 10, workers=workers, on_failure="collect")
    assert got[0] == [alternatives[0].row(r) for r in range(10)]
    assert [r.replication for r in got[1]] == [0, 1, 2, 4, 5, 6, 8, 9]
    assert got[1] == [alternatives[1].row(r) for r in (0, 1, 2, 4, 5, 6, 8, 9)]
    seed = flaky.plan.seed
    assert [(f.alternative, f.replication, f.seed) for f in got.failures] == [
        (1, 3, replication_seed(seed, 3)),
        (1, 7, replication_seed(seed, 7)),
    ]
    assert got.failures[0].error == "RuntimeError: boom in 3"
    assert "boom in 3" in got.failures[0].traceback
    line = got.failures[0].describe(["a", "b"])
    assert line == f"alternative 'b', replication 3 (seed {replication_seed(seed, 3)}): " + (
        "RuntimeError: boom in 3"
    )


def test_failures_raise_after_everything_ran(alternatives: list[Prepared]) -> None:
    flaky = Flaky.wrap(alternatives[0], {1})
    with pytest.raises(ReplicationsFailed) as info:
        run_replications([flaky, alternatives[1]], 4, workers=1, names=["flaky", "ok"])
    message = str(info.value)
    assert "1 of 8 replications raised" in message
    assert f"alternative 'flaky', replication 1 (seed {replication_seed(flaky.plan.seed, 1)})" in (
        message
    )
    results = info.value.results
    assert [len(rows) for rows in results] == [3, 4]
    assert results.failures == (
        Failure(
            0,
            1,
            replication_seed(flaky.plan.seed, 1),
            "RuntimeError: boom in 1",
            results.failures[0].traceback,
        ),
    )


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"n": 0}, "--replications"),
        ({"n": 3, "workers": 0}, "--workers"),
        ({"n": 3, "scheduler": "localhost:8786"}, "--scheduler"),
    ],
)
def test_bad_arguments(alternatives: list[Prepared], kwargs: dict[str, object], flag: str) -> None:
    with pytest.raises(InputError) as info:
        run_replications(alternatives, **kwargs)  # type: ignore[arg-type]
    assert info.value.file == flag


def test_write_replications_is_lossless(alternatives: list[Prepared], tmp_path: Path) -> None:
    rows = run_replications(alternatives[0], 5, workers=1)[0]
    path = write_replications(rows, tmp_path / "out" / "replications.csv")
    text = path.read_text(encoding="utf-8")
    records = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0].split(",") == ReplicationRow.columns()
    for rec, row in zip(records, rows, strict=True):
        for col in ReplicationRow.columns():
            want = getattr(row, col)
            got = float(rec[col]) if isinstance(want, float) else int(rec[col])
            assert got == want  # floats round-trip exactly


def test_metric_statistics(alternatives: list[Prepared]) -> None:
    rows = run_replications(alternatives[0], 30, workers=1)[0]
    summary = metric_statistics(rows)
    assert list(summary) == list(METRICS)
    makespans = np.array([r.makespan_hours for r in rows])
    s = summary["makespan_hours"]
    assert s["n"] == 30
    assert s["mean"] == pytest.approx(makespans.mean())
    assert s["p50"] == np.percentile(makespans, 50)
    assert s["p90"] == np.percentile(makespans, 90)
    low, high = s["mean_ci_low"], s["mean_ci_high"]
    assert low is not None and high is not None and low < s["mean"] < high  # type: ignore[operator]
    with pytest.raises(InputError):
        metric_statistics(rows, ["makespan"])


def test_summary_table(alternatives: list[Prepared]) -> None:
    rows = run_replications(alternatives[0], 5, workers=1)[0]
    table = summary_table(metric_statistics(rows))
    assert [r[0] for r in table] == list(METRICS)
    assert all(len(r) == len(SUMMARY_COLUMNS) for r in table)


def test_an_interrupted_run_leaves_the_pool_usable(alternatives: list[Prepared]) -> None:
    class Stop(Exception):
        pass

    def stop_after_first_batch(done: int, total: int) -> None:
        if done > 0:
            raise Stop

    with pytest.raises(Stop):
        run_replications(alternatives, 40, workers=2, progress=stop_after_first_batch)
    again = run_replications(alternatives, 6, workers=2)
    assert again == [[p.row(r) for r in range(6)] for p in alternatives]


# ---- batch layout, worker-side cache, import cost -------------------------------------------


@pytest.mark.parametrize(
    ("total", "workers"),
    [(1, 1), (1, 2), (2, 2), (7, 1), (30, 2), (1000, 2), (2000, 3), (10_000, 8), (129, 64)],
)
def test_guided_sizes(total: int, workers: int) -> None:
    sizes = guided_sizes(total, workers)
    assert sum(sizes) == total
    assert all(1 <= s <= MAX_BATCH for s in sizes)
    assert sizes == sorted(sizes, reverse=True)  # never increasing: the short ones last
    assert all(s >= MIN_BATCH for s in sizes[:-1])
    if total >= 2 * workers * MAX_BATCH:
        assert sizes[0] == MAX_BATCH
    assert sizes[-1] <= max(MIN_BATCH, MAX_BATCH // 8)


def test_guided_sizes_of_the_benchmark() -> None:
    # 1,000 replications on 2 workers: 64s first, then shrinking to MIN_BATCH.
    sizes = guided_sizes(1000, 2)
    assert sizes[:3] == [64, 64, 64] and sizes[-1] <= MIN_BATCH
    assert len(sizes) < 40


@pytest.mark.parametrize(("n", "workers"), [(1, 2), (5, 2), (23, 2), (100, 3), (300, 2)])
def test_guided_batches_cover_every_replication_once_in_order(
    alternatives: list[Prepared], n: int, workers: int
) -> None:
    batches = guided_batches(alternatives, n, workers, deterministic=True)
    flat = [(b.alternative, r) for b in batches for r in b.replications]
    assert flat == [(a, r) for a in range(len(alternatives)) for r in range(n)]
    assert all(b.prepared is alternatives[b.alternative] for b in batches)
    assert all(b.deterministic for b in batches)
    assert all(1 <= len(b.replications) <= MAX_BATCH for b in batches)
    one = guided_batches(alternatives[:1], n, workers)
    assert [len(b.replications) for b in one] == guided_sizes(n, workers)


def _layout(sizes: list[int]) -> Callable[..., list[Batch]]:
    """A batch layout cutting each alternative's replications by ``sizes`` (cycled)."""

    def batches(
        prepared: list[Prepared],
        n: int,
        workers: int,
        deterministic: bool = False,
        *,
        first: int = 0,
        most: int | None = None,
    ) -> list[Batch]:
        out: list[Batch] = []
        for a, p in enumerate(prepared):
            start, i = 0, 0
            while start < n:
                stop = min(n, start + sizes[i % len(sizes)])
                out.append(Batch(a, p, tuple(range(first + start, first + stop)), deterministic))
                start, i = stop, i + 1
        return out[::-1]  # submitted last-first: the order of batches must not matter either

    return batches


@pytest.mark.parametrize("sizes", [[1], [3], [64], [7, 1, 4], [2, 11, 5, 1]])
def test_same_rows_whatever_the_batch_layout(
    alternatives: list[Prepared], monkeypatch: pytest.MonkeyPatch, sizes: list[int]
) -> None:
    n = 17
    serial = run_replications(alternatives, n, workers=1)
    monkeypatch.setattr(runner, "guided_batches", _layout(sizes))
    two = run_replications(alternatives, n, workers=2)
    assert two == serial
    for a, b in zip(serial, two, strict=True):
        assert replications_csv(a) == replications_csv(b)


@pytest.mark.parametrize(("low", "high"), [(1, 1), (1, 3), (4, 4), (2, 64)])
def test_same_rows_whatever_the_guided_bounds(
    alternatives: list[Prepared], monkeypatch: pytest.MonkeyPatch, low: int, high: int
) -> None:
    serial = run_replications(alternatives, 21, workers=1)
    monkeypatch.setattr(runner, "MIN_BATCH", low)
    monkeypatch.setattr(runner, "MAX_BATCH", high)
    assert all(low <= s <= high for s in guided_sizes(42, 2)[:-1])
    assert run_replications(alternatives, 21, workers=2) == serial
    assert run_replications(alternatives, 21, workers=3) == serial


def _variants(p: Prepared, k: int) -> list[Prepared]:
    """``k`` alternatives with distinct pickles (the order rotated)."""
    return [replace(p, order=p.order[i:] + p.order[:i]) for i in range(k)]


def test_worker_cache_gives_an_equal_prepared_once(alternatives: list[Prepared]) -> None:
    runner._prepared_cache.clear()
    p = alternatives[0]
    digest, payload = runner._pickled(p)
    assert runner._pickled(p)[0] == digest
    got = runner._prepared_from(digest, payload)
    assert got == p and got is not p
    assert runner._prepared_from(digest, payload) is got  # not unpickled again
    assert got.row(3) == p.row(3)
    runner._prepared_cache.clear()


def test_worker_cache_is_bounded(
    alternatives: list[Prepared], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner._prepared_cache.clear()
    shipped = [
        runner._pickled(v) for v in _variants(alternatives[0], runner.PREPARED_CACHE_SIZE + 3)
    ]
    assert len({digest for digest, _ in shipped}) == len(shipped)
    for digest, payload in shipped:
        runner._prepared_from(digest, payload)
        assert len(runner._prepared_cache) <= runner.PREPARED_CACHE_SIZE
    # the most recently used ones are kept
    assert list(runner._prepared_cache) == [d for d, _ in shipped[-runner.PREPARED_CACHE_SIZE :]]
    # a byte bound below one pickle keeps the newest only
    monkeypatch.setattr(runner, "PREPARED_CACHE_BYTES", len(shipped[0][1]) // 2)
    runner._prepared_from(*shipped[0])
    assert list(runner._prepared_cache) == [shipped[0][0]]
    runner._prepared_cache.clear()


def test_a_worker_unpickles_an_alternative_once(alternatives: list[Prepared]) -> None:
    run_replications(alternatives[0], 1, workers=2)  # the pool is running: it runs them all
    counting = CountsLoads(**{f.name: getattr(alternatives[0], f.name) for f in fields(Prepared)})
    got = run_replications(counting, 40, workers=2, on_failure="collect")
    assert got == [[]] and len(got.failures) == 40
    assert len(guided_sizes(40, 2)) > 2  # several batches per worker
    errors = {f.error for f in got.failures}
    assert all(e.endswith(" loads 1") for e in errors), errors  # once per worker process
    assert f"pid {os.getpid()} " not in " ".join(errors)
    assert LOADS == 0  # this process pickles, never unpickles


def test_an_unpicklable_alternative_fails_its_replications_only(
    alternatives: list[Prepared],
) -> None:
    bad = Unpicklable(**{f.name: getattr(alternatives[1], f.name) for f in fields(Prepared)})
    calls: list[tuple[int, int]] = []
    got = run_replications(
        [alternatives[0], bad],
        6,
        workers=2,
        on_failure="collect",
        progress=lambda d, t: calls.append((d, t)),
    )
    assert got[0] == [alternatives[0].row(r) for r in range(6)] and got[1] == []
    assert [(f.alternative, f.replication) for f in got.failures] == [(1, r) for r in range(6)]
    assert got.failures[0].error == "TypeError: cannot pickle this one"
    assert got.failures[0].seed == replication_seed(bad.plan.seed, 0)
    assert calls[-1] == (12, 12)
    with pytest.raises(TypeError):
        pickle.dumps(bad)


def test_importing_the_runner_leaves_scipy_out(modules_after: Callable[[str], set[str]]) -> None:
    # The fork server preloads sim.experiments.runner: it should hold what a replication needs, no
    # more.
    assert not modules_after("import sim.experiments.runner") & {"scipy", "sim.common.stats"}


def test_a_worker_keeps_one_object_per_alternative_and_order(alternatives: list[Prepared]) -> None:
    # What an alternative builds on its first replication (its set-up) serves its next batches.
    runner._prepared_cache.clear()
    runner._ordered_cache.clear()
    p = alternatives[0]
    digest, payload = runner._shipped_base(p)
    first = runner._ordered(digest, payload, p.order)
    assert runner._ordered(digest, payload, p.order) is first and first == p
    other = runner._ordered(digest, payload, alternatives[1].order)
    assert other is not first and other.order == alternatives[1].order
    assert runner._shipped_base(alternatives[1]) == (digest, payload)  # only the order differs
    assert other.row(2) == alternatives[1].row(2)
    runner._prepared_cache.clear()
    runner._ordered_cache.clear()
