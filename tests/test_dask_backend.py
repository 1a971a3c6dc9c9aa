"""The same experiment on 1 worker, 2 local processes and a real Dask cluster: identical results.

The cluster is a scheduler and two worker processes on 127.0.0.1 started by the test (no network
beyond loopback) and closed when the module's tests are done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import LocalCluster

from sim.common.errors import InputError
from sim.experiments import runner
from sim.experiments.comparison import alternatives_from, compare, compare_csv
from sim.experiments.runner import close_backends, replications_csv, run_replications
from sim.model.scenario import Scenario, load_scenario

CONTOSO = Path(__file__).resolve().parents[1] / "scenarios" / "contoso.yaml"
N = 20


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    logging.getLogger("distributed").setLevel(logging.WARNING)
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    try:
        yield cluster.scheduler_address
    finally:
        close_backends()  # the cached client first, then the cluster it talks to
        cluster.close()


@pytest.fixture(scope="module")
def contoso() -> Scenario:
    return load_scenario(CONTOSO)


def test_identical_rows_serial_pool_and_dask(scheduler: str, contoso: Scenario) -> None:
    assert scheduler.startswith("tcp://127.0.0.1:")
    prepared = [
        a.prepare()
        for a in alternatives_from(contoso, ["smallest_first", "largest_first", "as_listed"])
    ]
    serial = run_replications(prepared, N, workers=1)
    pool = run_replications(prepared, N, workers=2)
    calls: list[tuple[int, int]] = []
    dask = run_replications(
        prepared, N, scheduler=scheduler, progress=lambda d, t: calls.append((d, t))
    )
    assert serial == pool == dask
    assert all(len(rows) == N for rows in dask) and dask.failures == ()
    for a, b, c in zip(serial, pool, dask, strict=True):
        assert replications_csv(a) == replications_csv(b) == replications_csv(c)
    assert calls[0] == (0, 3 * N) and calls[-1] == (3 * N, 3 * N)


def test_identical_comparison_on_dask(scheduler: str, contoso: Scenario) -> None:
    alts = alternatives_from(contoso, ["smallest_first"], ["plan.crews=1,2"])
    serial = compare(alts, N, workers=1)
    dask = compare(alts, N, scheduler=scheduler)
    assert compare_csv(serial) == compare_csv(dask)
    assert serial.rows() == dask.rows()


def test_scheduler_address_must_have_a_scheme(contoso: Scenario) -> None:
    prepared = alternatives_from(contoso, ["as_listed"])[0].prepare()
    with pytest.raises(InputError, match="only tcp:// is supported"):
        run_replications(prepared, 2, scheduler="127.0.0.1:8786")


def test_unreachable_scheduler_is_input_error(
    contoso: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "CONNECT_TIMEOUT_SECONDS", 1)
    prepared = alternatives_from(contoso, ["as_listed"])[0].prepare()
    with pytest.raises(InputError, match="cannot reach the Dask scheduler") as info:
        run_replications(prepared, 2, scheduler="tcp://127.0.0.1:1")
    assert info.value.file == "--scheduler"


def test_scheduler_without_workers_is_input_error(
    contoso: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "WORKER_WAIT_SECONDS", 1)
    prepared = alternatives_from(contoso, ["as_listed"])[0].prepare()
    empty = LocalCluster(
        n_workers=0, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    )
    try:
        with pytest.raises(InputError, match="has no workers"):
            run_replications(prepared, 2, scheduler=empty.scheduler_address)
    finally:
        close_backends()
        empty.close()


def test_a_failing_replication_on_dask_keeps_the_others(scheduler: str, contoso: Scenario) -> None:
    from test_runner import Flaky  # importable by the workers too: they inherit sys.path

    ok = alternatives_from(contoso, ["as_listed"])[0].prepare()
    flaky = Flaky.wrap(ok, {4})
    got = run_replications([ok, flaky], 8, scheduler=scheduler, on_failure="collect")
    assert got == run_replications([ok, flaky], 8, workers=1, on_failure="collect")
    assert [r.replication for r in got[1]] == [0, 1, 2, 3, 5, 6, 7]
    assert [(f.alternative, f.replication) for f in got.failures] == [(1, 4)]
    assert got.failures[0].error == "RuntimeError: boom in 4"


def test_a_range_and_a_stop_on_dask(scheduler: str, contoso: Scenario) -> None:
    prepared = [a.prepare() for a in alternatives_from(contoso, ["smallest_first", "as_listed"])]
    whole = run_replications(prepared, N, workers=1)
    got = run_replications(prepared, N - 5, scheduler=scheduler, first=5)
    assert got == [rows[5:] for rows in whole] and not got.stopped
    stopped = run_replications(prepared, N, scheduler=scheduler, stop=lambda: True)
    # the first batch to finish is kept, the others are cancelled: rows, not failures
    assert stopped.stopped and stopped.failures == ()
    assert 0 < sum(len(rows) for rows in stopped) <= runner.STOP_BATCH
    for rows, w in zip(stopped, whole, strict=True):  # each row is that replication's row
        assert all(row == w[row.replication] for row in rows)
