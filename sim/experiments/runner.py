"""Running many replications: WHAT runs (a picklable batch) apart from WHERE (a backend).

What runs
    A :class:`Batch` is one prepared alternative (:class:`~sim.experiments.replications.Prepared`)
    and a tuple of replication indices. :func:`run_batch` runs them in order and returns a
    :class:`BatchResult`; a replication that raises becomes a :class:`Failure` (alternative,
    replication, seed, error) and the batch carries on with the next one. Replication ``r`` runs on
    ``replication_seed(plan.seed, r)`` whatever batch or worker it lands in, so the rows are the
    same on every backend and every worker count, and every alternative sees the same draws for
    the same ``r`` (common random numbers).

Where it runs
    - serial, in this process, when ``workers == 1``;
    - a local process pool (:class:`concurrent.futures.ProcessPoolExecutor`, ``forkserver``
      context on Linux, ``spawn`` elsewhere; never ``fork``: the parent may hold threads) with
      ``workers`` processes, default ``os.cpu_count()``. Pools are kept for the life of the
      process (an optimiser calls :func:`run_replications` many times) and closed at exit or by
      :func:`close_backends`;
    - an existing Dask distributed cluster when ``scheduler`` is ``tcp://HOST:PORT``: the prepared
      alternatives are scattered once, batches are submitted and gathered as they complete. The
      workers must be able to ``import sim`` (the same migsim version). Clients are kept like
      pools.

Batches hold several replications so per-task overhead (pickling, scheduling) stays small.
Their sizes are guided (:func:`guided_sizes`): each batch takes about ``1 / (2 * workers)`` of
the replications still to cut, at most :data:`MAX_BATCH` (so progress keeps moving) and at least
:data:`MIN_BATCH`, so the run starts with large batches and ends with small ones and no worker is
left alone with a long last batch. The local pool pickles each alternative once per call and a
worker process unpickles it once (:func:`_prepared_from`, a small cache keyed by a digest of
the pickle), not once per batch. ``progress(done, total)`` is called in the calling process,
with ``(0, total)`` first and then as batches complete (after every replication on the serial
backend).

Alternatives that differ only by their order (an optimiser's candidates) share one pickle: the
local pool ships each alternative as the pickle of its other fields (made once and kept for the
next call, :func:`_shipped_base`) plus its order, so a worker unpickles the estate once, not once
per candidate.

A range and a stop
    ``first`` runs replications ``first..first+n-1`` (an optimiser's hold-out runs fresh ones;
    replication ``r`` is the same row whatever call runs it). ``stop``, a function of no
    arguments, is asked before each batch is started or sent: once it returns true no further
    batch starts (those already running finish, batches are then at most
    :data:`STOP_BATCH` replications), and the call returns the rows that finished, the others
    missing (not failures) and ``.stopped`` set.

Failures
    A worker that dies (killed, out of memory) breaks the local pool: the batches it had not
    returned run again on a fresh pool, up to :data:`POOL_RESTARTS` times, and give the same
    rows (a row depends on the seed and the replication index only). Every replication runs
    even when some raise. The result, :class:`Replications`, is a list of
    row lists (one per alternative, rows ordered by replication index, failed replications left
    out) with ``.failures``. With ``on_failure="raise"`` (the default) :func:`run_replications`
    then raises :class:`ReplicationsFailed`, whose message lists every failure with its
    alternative, replication index and seed and whose ``.results`` holds all the rows that did
    run; with ``on_failure="collect"`` it returns them and the caller reports ``.failures``.

Interrupts
    An exception that reaches :func:`run_replications` while batches are out (Ctrl-C, SIGTERM
    turned into an exception by the CLI, a progress callback that raised) stops the work at
    once: the local pool's workers are terminated, not waited for, and the pool, the fork
    server and the resource tracker are stopped; on Dask the batches are cancelled and the
    client closed. Pool workers ignore SIGINT (a Ctrl-C reaches the whole process group): the
    parent decides and stops them.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import dataclasses
import hashlib
import io
import math
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sim.common.atomic import atomic_file
from sim.common.errors import InputError
from sim.engine.sampling import replication_seed
from sim.experiments.replications import METRICS, Prepared, ReplicationRow
from sim.outputs.verdicts import metric_text

# sim.common.stats (and with it scipy, most of this module's import time) is imported by
# metric_statistics() only: the fork server preloads this module, and the workers never compute
# statistics.

Progress = Callable[[int, int], None]
OnFailure = Literal["raise", "collect"]

MAX_BATCH = 64
"""The most replications one batch holds."""

CONNECT_TIMEOUT_SECONDS = 10
"""How long to try to reach a Dask scheduler."""

WORKER_WAIT_SECONDS = 10
"""How long a Dask cluster may take to show its first worker."""

STOP_BATCH = 4
"""The most replications one batch holds when the call has a ``stop``: what runs on after
``stop`` turns true is at most this many replications per worker."""

POOL_RESTARTS = 3
"""How many times the batches of a broken local pool (a worker killed) run again on a fresh
pool before they count as failed."""

STOP_WAIT_SECONDS = 2.0
"""How long a terminated worker may take to exit before it is killed."""

MIN_BATCH = 2
"""The fewest replications a guided batch holds (unless fewer remain)."""

PREPARED_CACHE_SIZE = 4
"""The most alternatives a worker process keeps unpickled (:func:`_prepared_from`)."""

PREPARED_CACHE_BYTES = 32 * 2**20
"""The most bytes of pickles behind the alternatives a worker process keeps (about 7x that in
memory); an alternative whose pickle alone is larger is kept alone."""


# ---- what runs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A replication that raised: which alternative (its index in the call), which replication,
    its seed, and the error (``Type: message``) with the traceback text."""

    alternative: int
    replication: int
    seed: int
    error: str
    traceback: str = ""

    def describe(self, names: Sequence[str] | None = None) -> str:
        """One line: ``alternative 'x', replication 7 (seed 123...): ValueError: ...``."""
        who = (
            repr(names[self.alternative])
            if names is not None and 0 <= self.alternative < len(names)
            else str(self.alternative)
        )
        return f"alternative {who}, replication {self.replication} (seed {self.seed}): {self.error}"


@dataclass(frozen=True)
class Batch:
    """The unit of work shipped to a worker: one alternative and some replication indices."""

    alternative: int
    prepared: Prepared
    replications: tuple[int, ...]
    deterministic: bool = False


@dataclass(frozen=True)
class BatchResult:
    alternative: int
    rows: tuple[ReplicationRow, ...]
    failures: tuple[Failure, ...]


def _seed_of(prepared: Prepared, replication: int) -> int:
    try:
        return replication_seed(prepared.plan.seed, replication)
    except Exception:  # pragma: no cover - a valid plan always has a valid seed
        return -1


def _failure(alternative: int, prepared: Prepared, replication: int, exc: BaseException) -> Failure:
    return Failure(
        alternative=alternative,
        replication=replication,
        seed=_seed_of(prepared, replication),
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(traceback.format_exception(exc)),
    )


def run_one(
    prepared: Prepared, alternative: int, replication: int, deterministic: bool = False
) -> ReplicationRow | Failure:
    """Replication ``replication`` of ``prepared``, or the :class:`Failure` it raised."""
    try:
        return prepared.row(replication, deterministic=deterministic)
    except Exception as exc:  # reported with its seed; the others carry on
        return _failure(alternative, prepared, replication, exc)


def run_batch(batch: Batch) -> BatchResult:
    """Run every replication of ``batch``; one that raises becomes a :class:`Failure`."""
    return _run_batch(batch.prepared, batch.alternative, batch.replications, batch.deterministic)


def _run_batch(
    prepared: Prepared,
    alternative: int,
    replications: Sequence[int],
    deterministic: bool,
    tick: Callable[[int], None] | None = None,
) -> BatchResult:
    rows: list[ReplicationRow] = []
    failures: list[Failure] = []
    for r in replications:
        got = run_one(prepared, alternative, r, deterministic)
        if isinstance(got, Failure):
            failures.append(got)
        else:
            rows.append(got)
        if tick is not None:
            tick(1)
    return BatchResult(alternative, tuple(rows), tuple(failures))


def _batch_failed(batch: Batch, exc: BaseException) -> BatchResult:
    """A batch whose worker died or could not run it: every replication of it failed."""
    return BatchResult(
        batch.alternative,
        (),
        tuple(_failure(batch.alternative, batch.prepared, r, exc) for r in batch.replications),
    )


def guided_sizes(total: int, workers: int, most: int | None = None) -> list[int]:
    """Guided batch sizes for ``total`` replications on ``workers`` workers, largest first.

    Each batch takes ``ceil(remaining / (2 * workers))`` replications, kept within
    [:data:`MIN_BATCH`, ``most`` (default :data:`MAX_BATCH`)] and to what remains: the sizes sum
    to ``total`` and never increase, so the last batches are short and the workers finish
    together.
    """
    sizes: list[int] = []
    remaining = total
    step = 2 * max(workers, 1)
    high = MAX_BATCH if most is None else most
    low = min(MIN_BATCH, high)
    while remaining > 0:
        size = min(remaining, max(low, min(high, math.ceil(remaining / step))))
        sizes.append(size)
        remaining -= size
    return sizes


def guided_batches(
    prepared: Sequence[Prepared],
    n: int,
    workers: int,
    deterministic: bool = False,
    *,
    first: int = 0,
    most: int | None = None,
) -> list[Batch]:
    """Every alternative's replications ``first..first+n-1`` in batches of :func:`guided_sizes`
    (at most ``most`` each).

    The sizes are those of all the alternatives' replications one after the other (alternative 0
    first, each in index order); a batch that would span two alternatives is cut in two.
    """
    batches: list[Batch] = []
    sizes = iter(guided_sizes(n * len(prepared), workers, most))
    a, start = 0, 0
    for size in sizes:
        while size > 0:
            stop = min(start + size, n)
            reps = tuple(range(first + start, first + stop))
            batches.append(Batch(a, prepared[a], reps, deterministic))
            size -= stop - start
            start = stop
            if start == n:
                a, start = a + 1, 0
    return batches


# ---- shipping an alternative to a worker process once -----------------------------------------


@dataclass(frozen=True)
class _Shipped:
    """A batch as sent to a local worker: the alternative as its pickle and that pickle's digest.

    The pickle (``bytes``) is made once per alternative in the parent; ``bytes`` cost next to
    nothing to pickle again, and the worker unpickles the alternative only the first time it
    sees its digest.
    """

    alternative: int
    digest: bytes
    payload: bytes
    order: tuple[str, ...]
    replications: tuple[int, ...]
    deterministic: bool


def _pickled(prepared: Prepared) -> tuple[bytes, bytes]:
    """``(digest, pickle)`` of one alternative."""
    payload = pickle.dumps(prepared, protocol=pickle.HIGHEST_PROTOCOL)
    return hashlib.blake2b(payload, digest_size=16).digest(), payload


_base_pickles: OrderedDict[tuple[object, ...], tuple[Prepared, bytes, bytes]] = OrderedDict()
BASE_PICKLES = 2
"""The most alternatives' base pickles the parent keeps between calls (:func:`_shipped_base`)."""


def _shipped_base(prepared: Prepared) -> tuple[bytes, bytes]:
    """``(digest, pickle)`` of ``prepared`` with an empty order: the same bytes for every
    alternative that differs from it only by its order (an optimiser's candidates).

    Kept for the next calls, keyed by the type and the identity of every field but ``order``
    (the entry holds the alternative, so those objects stay alive and their ids unique).
    """
    others = (f.name for f in dataclasses.fields(prepared) if f.name != "order")
    key = (type(prepared), *(id(getattr(prepared, name)) for name in others))
    with _lock:
        hit = _base_pickles.get(key)
        if hit is not None:
            _base_pickles.move_to_end(key)
            return hit[1], hit[2]
    digest, payload = _pickled(dataclasses.replace(prepared, order=()))
    with _lock:
        _base_pickles[key] = (prepared, digest, payload)
        while len(_base_pickles) > BASE_PICKLES:
            _base_pickles.popitem(last=False)
    return digest, payload


_prepared_cache: OrderedDict[bytes, tuple[Prepared, int]] = OrderedDict()
_prepared_cache_lock = threading.Lock()


def _prepared_from(digest: bytes, payload: bytes) -> Prepared:
    """The alternative pickled in ``payload``, unpickled once per process and kept (bounded).

    The cache keeps the :data:`PREPARED_CACHE_SIZE` most recently used alternatives, fewer when
    their pickles exceed :data:`PREPARED_CACHE_BYTES` (the newest one is always kept).
    """
    with _prepared_cache_lock:
        hit = _prepared_cache.get(digest)
        if hit is not None:
            _prepared_cache.move_to_end(digest)
            return hit[0]
    prepared = pickle.loads(payload)
    if not isinstance(prepared, Prepared):
        raise TypeError(f"expected a pickled Prepared, got {type(prepared).__name__}")
    with _prepared_cache_lock:
        _prepared_cache[digest] = (prepared, len(payload))
        _prepared_cache.move_to_end(digest)
        held = sum(size for _, size in _prepared_cache.values())
        while len(_prepared_cache) > 1 and (
            len(_prepared_cache) > PREPARED_CACHE_SIZE or held > PREPARED_CACHE_BYTES
        ):
            _, (_, size) = _prepared_cache.popitem(last=False)
            held -= size
    return prepared


_ordered_cache: OrderedDict[tuple[bytes, tuple[str, ...]], Prepared] = OrderedDict()


def _ordered(digest: bytes, payload: bytes, order: tuple[str, ...]) -> Prepared:
    """The alternative of ``payload`` with ``order``: one object per (alternative, order), kept
    like the alternatives themselves (:data:`PREPARED_CACHE_SIZE`), so that what it builds on
    its first replication (its set-up) serves the next batches of the same order."""
    key = (digest, order)
    with _prepared_cache_lock:
        hit = _ordered_cache.get(key)
        if hit is not None:
            _ordered_cache.move_to_end(key)
            return hit
    prepared = dataclasses.replace(_prepared_from(digest, payload), order=order)
    with _prepared_cache_lock:
        _ordered_cache[key] = prepared
        while len(_ordered_cache) > PREPARED_CACHE_SIZE:
            _ordered_cache.popitem(last=False)
    return prepared


def _run_shipped(task: _Shipped) -> BatchResult:
    """Run a batch in a worker process (see :class:`_Shipped`)."""
    prepared = _ordered(task.digest, task.payload, task.order)
    return _run_batch(prepared, task.alternative, task.replications, task.deterministic)


# ---- results ----------------------------------------------------------------------------------


class Replications(list[list[ReplicationRow]]):
    """One list of rows per alternative (ordered by replication index), plus ``failures``.

    A plain ``list`` for callers that only want rows; the rows of failed replications are missing
    (each row carries its ``replication`` index).
    """

    def __init__(
        self,
        rows: Iterable[list[ReplicationRow]] = (),
        failures: Iterable[Failure] = (),
        stopped: bool = False,
    ) -> None:
        super().__init__(rows)
        self.failures: tuple[Failure, ...] = tuple(failures)
        self.stopped = stopped
        """Whether ``stop`` cut the call short (some replications did not run)."""

    def describe_failures(self, names: Sequence[str] | None = None) -> list[str]:
        return [f.describe(names) for f in self.failures]


class ReplicationsFailed(RuntimeError):
    """Some replications raised; raised after every other replication has run.

    ``results`` holds all the rows that did run and the failures.
    """

    def __init__(self, results: Replications, names: Sequence[str] | None = None) -> None:
        self.results = results
        lines = results.describe_failures(names)
        shown = "\n".join(f"  {line}" for line in lines[:20])
        if len(lines) > 20:
            shown += f"\n  ... and {len(lines) - 20} more"
        total = sum(len(rows) for rows in results) + len(lines)
        super().__init__(
            f"{len(lines)} of {total} replications raised (the others finished):\n{shown}"
        )


def common_replications(results: Replications, names: Sequence[str] | None = None) -> Replications:
    """``results`` keeping only the replications every alternative completed, so that rows stay
    paired by index (failures kept). Raises :class:`ReplicationsFailed` when none is left."""
    if not results.failures:
        return results
    done = [{row.replication for row in rows} for rows in results]
    common = set.intersection(*done) if done else set()
    if not common:
        raise ReplicationsFailed(results, names)
    return Replications(
        [[row for row in rows if row.replication in common] for rows in results],
        results.failures,
        results.stopped,
    )


def _assemble(n_alternatives: int, results: Iterable[BatchResult]) -> Replications:
    rows: list[list[ReplicationRow]] = [[] for _ in range(n_alternatives)]
    failures: list[Failure] = []
    for res in results:
        rows[res.alternative].extend(res.rows)
        failures.extend(res.failures)
    for alt_rows in rows:
        alt_rows.sort(key=lambda row: row.replication)
    failures.sort(key=lambda f: (f.alternative, f.replication))
    return Replications(rows, failures)


# ---- where it runs: backends ------------------------------------------------------------------

_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}
_clients: dict[str, Any] = {}  # distributed.Client (untyped)


def _mp_context() -> multiprocessing.context.BaseContext:
    if sys.platform.startswith("linux"):
        ctx = multiprocessing.get_context("forkserver")
        # The fork server imports the simulator once; every worker forks from it ready to run
        # (half the start-up time of a pool whose workers each import it). No effect when the
        # fork server of this process is already running.
        ctx.set_forkserver_preload(["sim.experiments.forkstart", "sim.experiments.runner"])
        return ctx
    return multiprocessing.get_context("spawn")


def _worker_init() -> None:
    """A pool worker ignores SIGINT: a Ctrl-C reaches the whole process group, and the parent,
    not the worker, decides what stops (it terminates the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool(workers: int) -> ProcessPoolExecutor:
    """The kept pool of ``workers`` processes (a new one when there is none or it broke)."""
    with _lock:
        pool = _pools.get(workers)
        if pool is None or getattr(pool, "_broken", False):
            if pool is not None:
                _terminate(pool)
            ctx = _mp_context()
            _start_fork_server(ctx)
            pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=ctx, initializer=_worker_init
            )
            _pools[workers] = pool
        return pool


def _start_fork_server(ctx: multiprocessing.context.BaseContext) -> None:
    """Start the fork server (Linux) with its standard error on ``/dev/null``.

    The server and the workers it forks print nothing of their own: results and errors come
    back through the pool. A Ctrl-C reaches the whole process group, and one that lands while
    the server's interpreter starts (before :mod:`sim.experiments.forkstart` makes it ignore
    SIGINT) used to print its KeyboardInterrupt traceback under the command's own message.
    """
    if ctx.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(2)
    try:
        os.dup2(devnull, 2)  # inherited by the server as its standard error, then put back
        forkserver.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _discard_pool(workers: int, pool: ProcessPoolExecutor) -> None:
    """Forget ``pool`` (broken or interrupted) and terminate its workers."""
    with _lock:
        if _pools.get(workers) is pool:
            del _pools[workers]
    _terminate(pool)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop ``pool`` now: its workers are terminated (killed after :data:`STOP_WAIT_SECONDS`),
    not waited for while they finish their batches."""
    # The processes are private to the executor; Python 3.14 has terminate_workers() for this.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(STOP_WAIT_SECONDS)
            if process.is_alive():
                process.kill()
                process.join(STOP_WAIT_SECONDS)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # after "pid (comm) "
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _stop_helpers() -> None:
    """Stop this process's fork server and the processes it made (started again when
    needed)."""
    from multiprocessing import forkserver

    server = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    if server is not None:
        # Every process the fork server made holds a copy of the pipe whose closing tells the
        # server to stop, so a worker caught half-started (it waits for its set-up from this
        # process, which was interrupted before sending it) would keep the server, and this
        # process waiting for it, alive for ever. Freeze the server (no more forks, and its
        # children keep it as their parent), kill its children, this run's workers, then it.
        with contextlib.suppress(OSError):
            os.kill(server, signal.SIGSTOP)
            for child in _children(server):
                with contextlib.suppress(OSError):
                    os.kill(child, signal.SIGKILL)
            os.kill(server, signal.SIGKILL)
    # Private, but the only way: it otherwise lives until this process exits. The resource
    # tracker is left alone: it ends by itself when this process exits (its last holder, once
    # the workers are gone), after the pool's semaphores are released at exit; stopped before,
    # it reported them as leaked and their release then failed, printed as ignored exceptions.
    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if stop is not None:
        with contextlib.suppress(Exception):
            stop()


def check_scheduler(address: str) -> None:
    """Refuse (:class:`InputError` at ``--scheduler``) anything but ``tcp://HOST:PORT`` with a
    port from 1 to 65535 and nothing after it: the one form a plain Dask scheduler listens on
    (``dask scheduler`` prints it). Other schemes need settings migsim does not pass (TLS
    certificates) or do not leave the process (``inproc://``)."""
    from urllib.parse import urlsplit

    expected = f"expected an address such as tcp://127.0.0.1:8786, got {address!r}"
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:
        raise InputError("--scheduler", (), f"{expected} (not a valid address)") from None
    if parts.scheme != "tcp":
        raise InputError("--scheduler", (), f"{expected} (only tcp:// is supported)")
    if not parts.hostname or port is None or not 1 <= port <= 65535:
        raise InputError("--scheduler", (), f"{expected} (a host and a port from 1 to 65535)")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InputError("--scheduler", (), f"{expected} (nothing after the port)")


def _client(address: str) -> Any:
    import distributed

    dist: Any = distributed  # untyped library: keep its calls out of strict checking

    with _lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        if client is not None:
            client.close()
        try:
            client = dist.Client(
                address, timeout=f"{CONNECT_TIMEOUT_SECONDS}s", set_as_default=False
            )
        except Exception as exc:  # OSError, TimeoutError, dask's own: all mean "not there"
            raise InputError(
                "--scheduler",
                (),
                f"cannot reach the Dask scheduler at {address!r} ({type(exc).__name__}: {exc});"
                " expected a running scheduler (start one with `dask scheduler`)",
            ) from None
        _clients[address] = client
        return client


def close_backends(*, terminate: bool = False) -> None:
    """Shut down the cached process pools and close the cached Dask clients.

    ``terminate``: do not wait for running batches; terminate the workers and stop the fork
    server and the resource tracker too (an interrupted command: nothing of it stays alive).
    """
    with _lock:
        pools, clients = list(_pools.values()), list(_clients.values())
        _pools.clear()
        _clients.clear()
    for pool in pools:
        if terminate:
            _terminate(pool)
        else:
            pool.shutdown(wait=True, cancel_futures=True)
    for client in clients:
        with contextlib.suppress(Exception):
            client.close(timeout=STOP_WAIT_SECONDS) if terminate else client.close()
    if terminate and sys.platform.startswith("linux"):
        _stop_helpers()


atexit.register(close_backends)


class _Stopped:
    """Whether a call's ``stop`` fired (set by the backends)."""

    def __init__(self, stop: Callable[[], bool] | None) -> None:
        self.stop = stop
        self.fired = False

    def __call__(self) -> bool:
        if self.stop is not None and not self.fired and self.stop():
            self.fired = True
        return self.fired


def _serial(
    batches: Sequence[Batch], tick: Callable[[int], None], stopped: _Stopped
) -> Generator[BatchResult, None, None]:
    for batch in batches:
        if stopped():
            return
        yield _run_batch(
            batch.prepared, batch.alternative, batch.replications, batch.deterministic, tick
        )


def _send(
    pool: ProcessPoolExecutor,
    queue: Iterator[Batch],
    shipped: dict[int, tuple[bytes, bytes] | Exception],
    pending: dict[Future[BatchResult], Batch],
    broken: list[tuple[Batch, BaseException]],
    in_flight: int,
    stopped: _Stopped,
) -> None:
    """Send batches from ``queue`` until ``in_flight`` are pending, ``queue`` is empty or the
    call's stop fired."""
    while len(pending) < in_flight and not stopped():
        b = next(queue, None)
        if b is None:
            return
        got = shipped[b.alternative]
        assert not isinstance(got, Exception)
        task = _Shipped(
            b.alternative, got[0], got[1], b.prepared.order, b.replications, b.deterministic
        )
        try:
            pending[pool.submit(_run_shipped, task)] = b
        except BrokenProcessPool as exc:  # it broke while batches were being sent
            broken.append((b, exc))


def _local(
    batches: Sequence[Batch], workers: int, tick: Callable[[int], None], stopped: _Stopped
) -> Generator[BatchResult, None, None]:
    # Each alternative is pickled once here (not once per batch; alternatives that differ by
    # their order only, once for all); one that cannot be pickled fails its batches only, as a
    # batch the pool could not send would.
    shipped: dict[int, tuple[bytes, bytes] | Exception] = {}
    for b in batches:
        if b.alternative not in shipped:
            try:
                shipped[b.alternative] = _shipped_base(b.prepared)
            except Exception as exc:
                shipped[b.alternative] = exc
    todo = [b for b in batches if not isinstance(shipped[b.alternative], Exception)]
    for batch in batches:
        error = shipped[batch.alternative]
        if isinstance(error, Exception):
            yield _batch_failed(batch, error)
            tick(len(batch.replications))
    restarts = 0
    while todo:
        pool = _pool(workers)
        pending: dict[Future[BatchResult], Batch] = {}
        broken: list[tuple[Batch, BaseException]] = []
        queue = iter(todo)
        # With a stop, batches are sent a few at a time (two per worker in flight), so that
        # none is sent once it fired; without, all at once.
        in_flight = 2 * workers if stopped.stop is not None else len(todo)
        try:
            _send(pool, queue, shipped, pending, broken, in_flight, stopped)
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    batch = pending.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool as exc:  # a worker died: run it again, below
                        broken.append((batch, exc))
                        continue
                    except Exception as exc:  # a batch the pool could not run or return
                        result = _batch_failed(batch, exc)
                    yield result
                    tick(len(batch.replications))
                _send(pool, queue, shipped, pending, broken, in_flight, stopped)
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM, a progress callback that raised, the caller gave
            # up): stop the workers now rather than let them finish batches nobody reads.
            for fut in pending:
                fut.cancel()
            _discard_pool(workers, pool)
            raise
        todo = [b for b, _ in broken]
        if todo:
            _discard_pool(workers, pool)
            restarts += 1
            if restarts > POOL_RESTARTS:
                for batch, cause in broken:
                    yield _batch_failed(batch, cause)
                    tick(len(batch.replications))
                return


def _dask(
    batches: Sequence[Batch],
    prepared: Sequence[Prepared],
    address: str,
    tick: Callable[[int], None],
    stopped: _Stopped,
) -> Generator[BatchResult, None, None]:
    import distributed

    dist: Any = distributed
    client = _client(address)
    # Ship each alternative once; batches refer to it.
    scattered: list[Any] = client.scatter(list(prepared), hash=False)
    futures = {
        client.submit(
            _run_batch,
            scattered[b.alternative],
            b.alternative,
            b.replications,
            b.deterministic,
            pure=False,
        ): b
        for b in batches
    }
    try:
        for fut in dist.as_completed(list(futures), loop=client.loop):
            batch = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # a batch Dask gave up on (its retries spent) fails
                result = _batch_failed(batch, exc)
            yield result
            tick(len(batch.replications))
            if stopped():  # the cluster drops the batches not yet finished
                client.cancel([f for f in futures if not f.done()], force=True)
                return
    except BaseException:
        # Interrupted: the cluster stops this call's batches; its workers are not ours to stop.
        with contextlib.suppress(Exception):
            client.cancel(list(futures), force=True)
        raise
    finally:
        for fut in futures:
            fut.release()
        for fut in scattered:
            fut.release()


# ---- the API ----------------------------------------------------------------------------------


MAX_REPLICATIONS = 100_000
"""The most replications one call runs per alternative: their rows stay in memory (about a
kilobyte each), and 100,000 gives percentiles far finer than any input is known to."""

MAX_REPLICATION_INDEX = 2 * MAX_REPLICATIONS
"""The end of the replication indices a call may run (``first + n``): room for a hold-out of
up to :data:`MAX_REPLICATIONS` after as many searched ones."""

MAX_WORKERS = 64
"""The most local worker processes: each holds the simulator and the alternatives (about
100-200 MB); more than the machine's cores only adds memory."""


def _check_count(value: int | None, flag: str, what: str, most: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise InputError(flag, (), f"expected {what} from 1 to {most:,}, got {value!r}")


def run_replications(
    prepared: Prepared | Sequence[Prepared],
    n: int,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    deterministic: bool = False,
    on_failure: OnFailure = "raise",
    names: Sequence[str] | None = None,
    first: int = 0,
    stop: Callable[[], bool] | None = None,
) -> Replications:
    """Replications ``first..first+n-1`` (default ``0..n-1``) of every alternative: one row list
    per alternative.

    ``prepared`` is one alternative or a sequence of them (a single one still gives a list of one
    row list). ``workers``: 1 runs serially here, more uses a local process pool (default
    ``os.cpu_count()``); ``scheduler`` (``tcp://HOST:PORT``) runs on that Dask cluster instead and
    ``workers`` is ignored. ``progress(done, total)`` counts replications. ``deterministic`` runs
    every duration at its central value. ``names`` label alternatives in failure messages.
    ``stop()`` is asked before each batch starts: once true, no further batch starts and the
    rows that finished are returned (``.stopped`` set; the missing ones are not failures).

    The rows are identical whichever backend and worker count. A replication that raises does
    not stop the others; afterwards ``on_failure="raise"`` raises :class:`ReplicationsFailed`
    (its ``results`` hold everything that ran) and ``"collect"`` returns the rows with
    ``.failures`` set. Bad arguments raise :class:`~sim.common.errors.InputError`.
    """
    alternatives = [prepared] if isinstance(prepared, Prepared) else list(prepared)
    _check_count(n, "--replications", "a whole number", MAX_REPLICATIONS)
    _check_count(workers, "--workers", "a whole number", MAX_WORKERS)
    if isinstance(first, bool) or not isinstance(first, int) or first < 0:
        raise ValueError(f"expected a first replication of 0 or more, got {first!r}")
    if first + n > MAX_REPLICATION_INDEX:
        raise ValueError(f"expected replications below {MAX_REPLICATION_INDEX:,}")
    if on_failure not in ("raise", "collect"):
        raise ValueError(f"on_failure must be 'raise' or 'collect', got {on_failure!r}")
    if scheduler is not None:
        check_scheduler(scheduler)
    total = n * len(alternatives)
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, total)

    if progress is not None:
        progress(0, total)
    if not alternatives:
        return Replications()

    stopped = _Stopped(stop)
    most = STOP_BATCH if stop is not None else None
    if scheduler is not None:
        threads = _dask_threads(scheduler)
        batches = guided_batches(alternatives, n, threads, deterministic, first=first, most=most)
        stream = _dask(batches, alternatives, scheduler, tick, stopped)
    else:
        count = workers if workers is not None else (os.cpu_count() or 1)
        batches = guided_batches(alternatives, n, count, deterministic, first=first, most=most)
        stream = (
            _serial(batches, tick, stopped) if count == 1 else _local(batches, count, tick, stopped)
        )
    try:
        result = _assemble(len(alternatives), stream)
    except BaseException:
        stream.close()  # the backend's own clean-up (terminate the pool, cancel on Dask)
        raise
    result.stopped = stopped.fired
    if result.failures and on_failure == "raise":
        raise ReplicationsFailed(result, names)
    return result


def _dask_threads(address: str) -> int:
    """The number of worker threads of the cluster (at least 1), to size batches."""
    client = _client(address)
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except TimeoutError:
        raise InputError(
            "--scheduler",
            (),
            f"the Dask scheduler at {address!r} has no workers after {WORKER_WAIT_SECONDS} s;"
            f" expected at least one (start one with `dask worker {address}`)",
        ) from None
    info = client.scheduler_info()
    threads = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
    return max(threads, 1)


# ---- outputs ----------------------------------------------------------------------------------


def _cell(value: float | int) -> str:
    # repr of a float is the shortest text that reads back as the same float: lossless and the
    # same on every machine, so statistics recomputed from the file equal the printed ones.
    return repr(float(value)) if isinstance(value, float) else str(value)


def replications_csv(rows: Sequence[ReplicationRow]) -> str:
    """``replications.csv``: the columns of :meth:`ReplicationRow.columns`, one row each."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    columns = ReplicationRow.columns()
    writer.writerow(columns)
    for row in rows:
        values = row.as_dict()
        writer.writerow([_cell(values[c]) for c in columns])
    return buf.getvalue()


def write_replications(rows: Sequence[ReplicationRow], path: Path) -> Path:
    """Write ``replications.csv`` to ``path`` atomically; return ``path``."""
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_bytes(replications_csv(rows).encode("utf-8"))
    return path


def metric_statistics(
    rows: Sequence[ReplicationRow], metrics: Sequence[str] = METRICS
) -> dict[str, dict[str, float | int | None]]:
    """Summary statistics per metric (see :mod:`sim.common.stats`): ``n``, ``mean`` and its 95 % CI,
    ``std``, ``min``, ``max``, ``p50``/``p80``/``p90``/``p99`` each with its 95 % CI. Undefined
    values (an interval from one replication, a bound too few replications reach) are ``None``.
    """
    if not rows:
        raise ValueError("no replications to summarise")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        known = ", ".join(METRICS)
        raise InputError("--metric", (), f"unknown metric {unknown[0]!r}; expected one of: {known}")
    from sim.common.stats import describe  # here, not at the top: see the imports

    return {m: describe([float(getattr(r, m)) for r in rows]).as_dict() for m in metrics}


SUMMARY_COLUMNS = ("metric", "mean (95% CI)", "P50", "P80", "P90", "P99")
"""The columns of :func:`summary_table`."""


def summary_table(summary: dict[str, dict[str, float | int | None]]) -> list[tuple[str, ...]]:
    """The output of :func:`metric_statistics` as terminal-table rows (:data:`SUMMARY_COLUMNS`)."""

    rows = []
    for metric, s in summary.items():

        def num(x: float | int | None, metric: str = metric) -> str:
            return "-" if x is None else metric_text(metric, float(x))

        mean = f"{num(s['mean'])} ({num(s['mean_ci_low'])} to {num(s['mean_ci_high'])})"
        rows.append((metric, mean, *(num(s[f"p{p}"]) for p in (50, 80, 90, 99))))
    return rows
