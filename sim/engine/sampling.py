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

Speed
    Building a ``SeedSequence`` per draw costs about 15 microseconds, a quarter of a replication.
    :class:`Streams` computes the same words itself: NumPy's ``SeedSequence`` mixing
    (O'Neill's ``seed_seq`` design, 32-bit integer arithmetic) done once in Python for the part of
    the entropy every key shares (the seed), then for many keys at once in NumPy arrays
    (:meth:`Streams.uniforms`; the engine asks for the first attempt of every step it may run
    in one call, about 1.4 microseconds a key). Every number is bit-identical to
    ``SeedSequence(entropy=seed, spawn_key=key).generate_state(1, numpy.uint64)``, which
    :meth:`Streams.uniform` still uses for single keys (a test compares the two on random seeds
    and keys).

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
from collections.abc import Iterable
from statistics import NormalDist

import numpy as np

from sim.model.plan import StepDuration

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


# NumPy's SeedSequence constants (numpy/random/bit_generator.pyx), pool size 4.
_MASK = 0xFFFFFFFF
_INIT_A = 0x43B0D7E5
_MULT_A = 0x931E8875
_INIT_B = 0x8B51F9DD
_MULT_B = 0x58F38DED
_MIX_MULT_L = 0xCA01F9DD
_MIX_MULT_R = 0x4973F715
_XSHIFT = 16
_POOL = 4

Key = tuple[str, str, str, int]
"""``(stream, unit, step, attempt)``: the address of one draw."""


@functools.lru_cache(maxsize=65536)
def _words(value: int) -> tuple[int, ...]:
    """An integer as NumPy's SeedSequence reads it: 32-bit words, least significant first."""
    if value == 0:
        return (0,)
    out = []
    while value:
        out.append(value & _MASK)
        value >>= 32
    return tuple(out)


@functools.lru_cache(maxsize=65536)
def _text_words(text: str) -> tuple[int, ...]:
    return _words(stable_hash(text))


def _key_words(key: Key) -> tuple[int, ...]:
    stream, unit, step, attempt = key
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; expected one of {STREAMS}")
    if attempt < 0:
        raise ValueError(f"attempt must be zero or more, got {attempt}")
    return _text_words(stream) + _text_words(unit) + _text_words(step) + _words(attempt)


def _word_to_uniform(word: int) -> float:
    # 53 random bits, centred in their cell: strictly inside (0, 1).
    return ((word >> 11) + 0.5) * 2.0**-53


class KeyBatch:
    """Keys whose numbers are wanted together, their words laid out for :meth:`Streams.uniforms`.

    A key's words do not depend on the seed: a batch built once serves every replication.
    ``groups``: per word count, the keys and their ``(keys, words)`` matrix of ``uint32``.
    Raises ``ValueError`` for a key of an unknown stream or a negative attempt.
    """

    def __init__(self, keys: Iterable[Key]) -> None:
        groups: dict[int, list[tuple[Key, tuple[int, ...]]]] = {}
        for key in keys:
            words = _key_words(key)
            groups.setdefault(len(words), []).append((key, words))
        self.groups: tuple[tuple[tuple[Key, ...], np.ndarray], ...] = tuple(
            (
                tuple(key for key, _ in items),
                np.array([w for _, w in items], dtype=np.uint32),
            )
            for items in groups.values()
        )


class Streams:
    """The keyed random streams of one replication, built on one seed."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be zero or more, got {seed}")
        self.seed = seed
        self._prefix = self._mix_seed(seed)

    @staticmethod
    def _mix_seed(seed: int) -> tuple[tuple[int, ...], int]:
        """The mixing pool after the seed's words, and the hash constant reached there.

        Every key has a spawn key, so SeedSequence pads the seed's words to the pool size; the
        pool then only depends on the seed, and each key goes on from here.
        """
        run = list(_words(seed)) + [0] * max(0, _POOL - len(_words(seed)))
        hc = _INIT_A

        def hashmix(value: int) -> int:
            nonlocal hc
            value ^= hc
            hc = (hc * _MULT_A) & _MASK
            value = (value * hc) & _MASK
            return value ^ (value >> _XSHIFT)

        pool = [hashmix(run[i]) for i in range(_POOL)]
        for src in range(_POOL):
            for dst in range(_POOL):
                if src != dst:
                    pool[dst] = _mix(pool[dst], hashmix(pool[src]))
        for word in run[_POOL:]:
            for dst in range(_POOL):
                pool[dst] = _mix(pool[dst], hashmix(word))
        return tuple(pool), hc

    def seed_sequence(
        self, stream: str, unit: str, step: str, attempt: int
    ) -> np.random.SeedSequence:
        """NumPy's SeedSequence of one key (for :meth:`generator`; draws do not build it)."""
        return np.random.SeedSequence(
            entropy=self.seed, spawn_key=spawn_key(stream, unit, step, attempt)
        )

    def word(self, stream: str, unit: str, step: str, attempt: int = 1) -> int:
        """``seed_sequence(...).generate_state(1, numpy.uint64)[0]``: the key's 64 random bits."""
        state = self.seed_sequence(stream, unit, step, attempt).generate_state(1, np.uint64)
        return int(state[0])

    def uniform(self, stream: str, unit: str, step: str, attempt: int = 1) -> float:
        """One number strictly inside (0, 1) for the key; the same key gives the same number."""
        return _word_to_uniform(self.word(stream, unit, step, attempt))

    def uniforms(self, keys: Iterable[Key] | KeyBatch) -> dict[Key, float]:
        """:meth:`uniform` of many keys at once, in NumPy arrays: the same numbers.

        ``keys`` may be a :class:`KeyBatch` built once for many seeds: the keys' words are the
        same under every seed, so only the seed's part of the mixing is done here."""
        batch = keys if isinstance(keys, KeyBatch) else KeyBatch(keys)
        out: dict[Key, float] = {}
        for group, matrix in batch.groups:
            out.update(zip(group, self._uniform_rows(matrix).tolist(), strict=True))
        return out

    def _uniform_rows(self, matrix: np.ndarray) -> np.ndarray:
        n = matrix.shape[0]
        pool = [np.full(n, p, dtype=np.uint32) for p in self._prefix[0]]
        hc = self._prefix[1]
        mult_l, mult_r = np.uint32(_MIX_MULT_L), np.uint32(_MIX_MULT_R)
        for column in matrix.T:
            for dst in range(_POOL):
                v = column ^ np.uint32(hc)
                hc = (hc * _MULT_A) & _MASK
                v *= np.uint32(hc)
                v ^= v >> 16
                r = mult_l * pool[dst] - mult_r * v
                r ^= r >> 16
                pool[dst] = r
        lo = _state_rows(pool[0], _INIT_B).astype(np.uint64)
        hi = _state_rows(pool[1], (_INIT_B * _MULT_B) & _MASK).astype(np.uint64)
        word = lo | (hi << np.uint64(32))
        return ((word >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53

    def generator(self, stream: str, unit: str, step: str, attempt: int = 1) -> np.random.Generator:
        """A full numpy generator on the key, for callers that need more than one number."""
        return np.random.Generator(np.random.PCG64(self.seed_sequence(stream, unit, step, attempt)))


def _mix(x: int, y: int) -> int:
    r = (_MIX_MULT_L * x - _MIX_MULT_R * y) & _MASK
    return r ^ (r >> _XSHIFT)


def _state_rows(values: np.ndarray, hc: int) -> np.ndarray:
    v = (values ^ np.uint32(hc)) * np.uint32((hc * _MULT_B) & _MASK)
    return v ^ (v >> 16)


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
    :meth:`prefetch` computes the numbers of keys known in advance in one vectorised pass; a key
    not prefetched is computed when asked. Either way a key gives the same number.
    """

    def __init__(self, seed: int, *, deterministic: bool = False) -> None:
        self.streams = Streams(seed)
        self.deterministic = deterministic
        self._ready: dict[Key, float] = {}

    def draws_duration(self, spec: StepDuration) -> bool:
        """Whether :meth:`duration` of ``spec`` uses a random number."""
        return not (
            self.deterministic or spec.distribution == "deterministic" or spec.spread == 0.0
        )

    @staticmethod
    def draws_failure(probability: float) -> bool:
        """Whether :meth:`fails` with ``probability`` uses a random number."""
        return 0.0 < probability < 1.0

    def prefetch(self, keys: Iterable[Key] | KeyBatch) -> None:
        """Compute the numbers of ``keys`` now, in one pass (a speed-up, never a change)."""
        self._ready.update(self.streams.uniforms(keys))

    def failing(self, draws: Iterable[tuple[Key, float]]) -> list[Key]:
        """The failure keys among ``draws`` (``(key, probability)``, each probability strictly
        between 0 and 1) whose attempt fails: :meth:`fails` of each, at the cost of a lookup
        for a key prefetched."""
        ready, uniform = self._ready, self._uniform
        return [key for key, p in draws if (ready.get(key) or uniform(key)) < p]

    def _uniform(self, key: Key) -> float:
        u = self._ready.get(key)
        return self.streams.uniform(*key) if u is None else u

    def duration(
        self, spec: StepDuration, vms: int, unit: str, step: str, attempt: int = 1
    ) -> float:
        if not self.draws_duration(spec):
            return max(spec.central(vms), 0.0)
        return duration_from_uniform(spec, vms, self._uniform(("durations", unit, step, attempt)))

    def fails(self, probability: float, unit: str, step: str, attempt: int = 1) -> bool:
        """Whether this attempt fails; ``probability`` 0 never draws, 1 always fails."""
        if probability <= 0.0:
            return False
        if probability >= 1.0:
            return True
        return self._uniform(("failures", unit, step, attempt)) < probability


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
