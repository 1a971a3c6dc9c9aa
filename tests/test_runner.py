"""The runner: the same rows on every backend and worker count; failures come with their seed."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pytest

from sim.errors import InputError
from sim.ordering import order_units
from sim.replications import METRICS, Prepared, ReplicationRow
from sim.runner import (
    SUMMARY_COLUMNS,
    Failure,
    ReplicationsFailed,
    batch_size,
    make_batches,
    replications_csv,
    run_replications,
    summarise,
    summary_table,
    write_replications,
)
from sim.sampling import replication_seed
from sim.scenario import load_scenario

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


def test_batches_cover_every_replication_once(alternatives: list[Prepared]) -> None:
    for total, workers in [(1, 2), (30, 2), (600, 2), (10_000, 8), (7, 1)]:
        size = batch_size(total, workers)
        assert 1 <= size <= 64
    batches = make_batches(alternatives, 23, 5)
    seen = sorted((b.alternative, r) for b in batches for r in b.replications)
    assert seen == [(a, r) for a in range(2) for r in range(23)]
    assert max(len(b.replications) for b in batches) == 5


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


def test_summarise(alternatives: list[Prepared]) -> None:
    rows = run_replications(alternatives[0], 30, workers=1)[0]
    summary = summarise(rows)
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
        summarise(rows, ["makespan"])


def test_summary_table(alternatives: list[Prepared]) -> None:
    rows = run_replications(alternatives[0], 5, workers=1)[0]
    table = summary_table(summarise(rows))
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
