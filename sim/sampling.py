"""Random numbers for the engine: keyed SeedSequence streams and step-duration draws.

Common random numbers
    Every random number the engine uses is addressed by a key ``(stream, unit, step, attempt)``:
    ``stream`` is ``"durations"`` or ``"failures"``, ``unit`` the unit id, ``step`` the step name
    (``"prepare"``, ``"remediate:MIG012:vm:web-01"``...) and ``attempt`` the 1-based attempt. The
    key becomes the ``spawn_key`` of a :class:`numpy.random.SeedSequence` built on the plan's seed,
    so the draw of one key is the same whatever else the run does: the same unit and step get the
    same numbers under any ordering, crew count or window, and durations and failures never share
    a stream. Key parts are turned into integers with a stable hash (BLAKE2b, never Python's
    ``hash()``, which changes between processes).

Durations
    Each step lasts ``c = base + per_vm * vms`` minutes at its central value, drawn from one
    uniform number ``u`` by an inverse CDF, so that a larger ``u`` always gives a longer step
    (monotone coupling: comparisons of spreads or distributions move every draw the same way):

    - ``deterministic``: ``c``;
    - ``triangular``: low ``c*(1-spread)``, mode ``c``, high ``c*(1+spread)``, clipped at 0;
    - ``lognormal``: median ``c``, sigma of the log ``spread``;
    - ``pert``: beta-PERT on ``[c*(1-spread), c*(1+spread)]`` with mode ``c`` and lambda 4
      (a symmetric Beta(3, 3)), clipped at 0.
"""

from __future__ import annotations

import functools
import hashlib
import math
from statistics import NormalDist

import numpy as np

from sim.plan import StepDuration

STREAMS = ("durations", "failures")
"""The independent streams; a key's first part."""

_STANDARD_NORMAL = NormalDist()


@functools.lru_cache(maxsize=65536)  # the same unit and step names are hashed in every draw
def stable_hash(text: str) -> int:
    """A 64-bit integer from ``text`` that is the same on every machine and in every process."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def spawn_key(stream: str, unit: str, step: str, attempt: int) -> tuple[int, int, int, int]:
    """The ``SeedSequence.spawn_key`` of one draw."""
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; expected one of {STREAMS}")
    if attempt < 0:
        raise ValueError(f"attempt must be zero or more, got {attempt}")
    return (stable_hash(stream), stable_hash(unit), stable_hash(step), attempt)


class Streams:
    """The keyed random streams of one replication, built on one seed."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be zero or more, got {seed}")
        self.seed = seed

    def seed_sequence(
        self, stream: str, unit: str, step: str, attempt: int
    ) -> np.random.SeedSequence:
        return np.random.SeedSequence(
            entropy=self.seed, spawn_key=spawn_key(stream, unit, step, attempt)
        )

    def uniform(self, stream: str, unit: str, step: str, attempt: int = 1) -> float:
        """One number strictly inside (0, 1) for the key; the same key gives the same number."""
        word = int(self.seed_sequence(stream, unit, step, attempt).generate_state(1, np.uint64)[0])
        return ((word >> 11) + 0.5) * 2.0**-53

    def generator(self, stream: str, unit: str, step: str, attempt: int = 1) -> np.random.Generator:
        """A full numpy generator on the key, for callers that need more than one number."""
        return np.random.Generator(np.random.PCG64(self.seed_sequence(stream, unit, step, attempt)))


def _beta33_cdf(x: float) -> float:
    # Regularised incomplete beta I_x(3, 3) = 10x^3 - 15x^4 + 6x^5.
    return x * x * x * (10.0 - 15.0 * x + 6.0 * x * x)


def beta33_ppf(u: float) -> float:
    """Inverse CDF of Beta(3, 3) (the symmetric PERT with lambda 4) by bisection."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _beta33_cdf(mid) < u:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def triangular_ppf(u: float, low: float, mode: float, high: float) -> float:
    """Inverse CDF of the triangular distribution on ``[low, high]`` with ``mode``."""
    if high <= low:
        return mode
    cut = (mode - low) / (high - low)
    if u < cut:
        return low + math.sqrt(u * (high - low) * (mode - low))
    return high - math.sqrt((1.0 - u) * (high - low) * (high - mode))


def duration_from_uniform(spec: StepDuration, vms: int, u: float) -> float:
    """The step's duration in minutes for the uniform number ``u`` (see the module doc)."""
    c = spec.central(vms)
    s = spec.spread
    if spec.distribution == "deterministic" or s == 0.0 or c <= 0.0:
        return max(c, 0.0)
    if spec.distribution == "triangular":
        return max(0.0, triangular_ppf(u, c * (1.0 - s), c, c * (1.0 + s)))
    if spec.distribution == "lognormal":
        return c * math.exp(s * _STANDARD_NORMAL.inv_cdf(u))
    # pert
    low, high = c * (1.0 - s), c * (1.0 + s)
    return max(0.0, low + (high - low) * beta33_ppf(u))


class Sampler:
    """Durations and failure outcomes of one replication, each drawn from its own keyed stream.

    ``deterministic`` runs every duration at its central value (failures are still drawn).
    """

    def __init__(self, seed: int, *, deterministic: bool = False) -> None:
        self.streams = Streams(seed)
        self.deterministic = deterministic

    def duration(
        self, spec: StepDuration, vms: int, unit: str, step: str, attempt: int = 1
    ) -> float:
        if self.deterministic or spec.distribution == "deterministic" or spec.spread == 0.0:
            return max(spec.central(vms), 0.0)
        return duration_from_uniform(
            spec, vms, self.streams.uniform("durations", unit, step, attempt)
        )

    def fails(self, probability: float, unit: str, step: str, attempt: int = 1) -> bool:
        """Whether this attempt fails; ``probability`` 0 never draws, 1 always fails."""
        if probability <= 0.0:
            return False
        if probability >= 1.0:
            return True
        return self.streams.uniform("failures", unit, step, attempt) < probability


def replication_seed(plan_seed: int, replication: int) -> int:
    """The seed of replication ``replication`` (0-based) of an experiment on ``plan_seed``.

    Spawned from ``SeedSequence(plan_seed)`` by index, so replication ``r`` draws the same numbers
    however many replications run, on whichever worker; and every alternative of a comparison
    uses the same seed for the same ``r`` (common random numbers).
    """
    if plan_seed < 0 or replication < 0:
        raise ValueError("seed and replication index must be zero or more")
    child = np.random.SeedSequence(plan_seed, spawn_key=(replication,))
    high, low = (int(x) for x in child.generate_state(2, dtype=np.uint32))
    return (high << 32 | low) >> 1  # 63 bits: a valid non-negative plan seed everywhere
