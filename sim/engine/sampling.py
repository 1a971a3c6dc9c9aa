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

A step in progress
    A step that has run ``e`` minutes at "now" (``migsim replan``) has ``D - e`` minutes left, drawn
    from the step's duration ``D`` conditioned on ``D > e`` by the conditional inverse CDF
    ``D = F^-1(F(e) + u * (1 - F(e)))`` of the same uniform ``u`` as the step's duration, so the
    draw is monotone in ``u`` and, at ``e = 0``, the step's usual duration bit for bit
    (:func:`remaining_from_uniform`, :meth:`Sampler.remaining`). Exact for every distribution
    (the lognormal however far in its tail, through the log of the normal survival and, beyond
    :data:`LOGNORMAL_ASYMPTOTIC_Z`, its asymptotic series). Past the top of a bounded support
    (``c`` for ``deterministic``, ``c*(1+spread)`` for ``triangular`` and ``pert``) the
    distribution says the step cannot still be running: :data:`OVERDUE_FRACTION` (an
    assumption) then decides. docs/model.md, "A step in progress: the time it has left".
"""

from __future__ import annotations

import functools
import hashlib
import math
import sys
from collections.abc import Callable, Iterable
from importlib import import_module
from statistics import NormalDist
from typing import Any

import numpy as np

from sim.model.plan import StepDuration

STREAMS = ("durations", "failures")
"""The independent streams; a key's first part."""

_STANDARD_NORMAL = NormalDist()

OVERDUE_FRACTION = 0.1  # assumption: an overdue step needs another tenth of its drawn duration
"""What is left of a step that has run past the top of its duration's support (``c`` for a
fixed duration, ``c*(1+spread)`` for ``triangular`` and ``pert``), where the distribution, which
says the step cannot still be running, gives no answer: this fraction of the step's own draw
``duration_from_uniform(spec, vms, u)`` (of ``c`` in deterministic mode). An assumption, no
source: a lead who sees a step run past its longest planned time expects it to be nearly done,
not to start over, and a step that was slow in a replication (large ``u``) stays slower. The
lognormal's support has no top, so it never uses this. docs/model.md, "A step in progress"."""

LOGNORMAL_ASYMPTOTIC_Z = 20.0
"""From this many standard deviations of the log above the median, :func:`remaining_from_uniform`
draws the lognormal's time left from the normal tail's asymptotic series instead of
``scipy.special.ndtri_exp``. Below it ``ndtri_exp`` is accurate; above it, the step ``z' - z`` it
leaves is the difference of two large quantiles and loses digits (1e-8 relative at z = 100,
worse beyond), while the series' truncation error (about ``10395 / z^12``) is below 3e-12.
Measured against 80-digit mpmath over z from -8 to 1e6: relative error at most 6e-11 for
``u >= 1e-3``, and for any ``u`` an absolute error at most 4e-14 of ``max(elapsed, c)`` minutes
(smaller ``u`` leave so little time that its relative error grows; it stays non-negative).
tests/test_remaining.py checks the two methods agree on both sides of the switch."""


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


def quantile(spec: StepDuration, vms: int) -> Callable[[float], float]:
    """:func:`duration_from_uniform` of ``spec`` and ``vms`` as a function of ``u`` alone, its
    constants worked out once (the engine draws the same step of many units of one size): the
    same number to the bit, each operation as :func:`duration_from_uniform` does it."""
    c = spec.central(vms)
    s = spec.spread
    if spec.distribution == "deterministic" or s == 0.0 or c <= 0.0:
        fixed = max(c, 0.0)
        return lambda u: fixed
    low, high = c * (1.0 - s), c * (1.0 + s)
    if spec.distribution == "triangular":
        if high <= low:
            return lambda u: max(0.0, c)
        hl, ml, hm = high - low, c - low, high - c
        cut = ml / hl
        sqrt = math.sqrt

        def triangular(u: float) -> float:
            if u < cut:
                return max(0.0, low + sqrt(u * hl * ml))
            return max(0.0, high - sqrt((1.0 - u) * hl * hm))

        return triangular
    if spec.distribution == "lognormal":
        exp, inv_cdf = math.exp, _STANDARD_NORMAL.inv_cdf
        return lambda u: c * exp(s * inv_cdf(u))
    return lambda u: max(0.0, low + (high - low) * beta33_ppf(u))


@functools.cache
def _special() -> Any:
    # scipy ships no type information (``Any``, as sim/common/stats.py); imported when a step in
    # progress is first drawn, so that runs without one do not pay scipy's import time.
    return import_module("scipy.special")


def remaining_from_uniform(
    spec: StepDuration,
    vms: int,
    elapsed: float,
    u: float,
    *,
    overdue_fraction: float = OVERDUE_FRACTION,
) -> float:
    """The minutes left of a step that has already run ``elapsed`` minutes, for the uniform ``u``.

    The step's duration ``D`` (:func:`duration_from_uniform`, central value ``c``) conditioned on
    ``D > elapsed``, drawn by the conditional inverse CDF ``D = F^-1(F(e) + u * (1 - F(e)))``;
    the result is ``D - e``. Larger ``u`` gives at least as much time left (up to rounding, as
    :func:`duration_from_uniform`); ``elapsed == 0`` returns ``duration_from_uniform(spec, vms, u)``
    itself (bit for bit: the whole distribution, its clipped mass at 0 included). Exact for each
    distribution (the lognormal's measured precision: :data:`LOGNORMAL_ASYMPTOTIC_Z`):

    - ``deterministic`` (or spread 0, or ``c <= 0``): ``c - e`` while ``e < c``;
    - ``triangular``: closed form; past the mode, ``(high - e) * (1 - sqrt(1 - u))``;
    - ``pert``: Beta(3, 3) through ``scipy.special.betainc`` / ``betaincinv``, measured from
      the top of the support (so that a step near it keeps its digits);
    - ``lognormal``: through the log of the normal survival (``scipy.special.log_ndtr`` and
      ``ndtri_exp``), so that however far ``e`` is in the tail the survival never underflows;
      beyond :data:`LOGNORMAL_ASYMPTOTIC_Z` standard deviations, the tail's asymptotic expansion.

    While ``e`` is at most the bottom of a bounded support (``c*(1-spread) > 0``), ``D > e`` is
    certain and the result is ``duration_from_uniform(spec, vms, u) - e``. At or past the top of
    a bounded support (``c``, ``c*(1+spread)``) the distribution gives no answer and the step is
    overdue: ``overdue_fraction * duration_from_uniform(spec, vms, u)`` (default
    :data:`OVERDUE_FRACTION`, an assumption).

    Args:
        spec: the step's duration.
        vms: VMs in the unit (the central value is ``spec.base + spec.per_vm * vms`` minutes).
        elapsed: minutes the step has run, finite and ``>= 0``.
        u: the step's uniform number, strictly inside (0, 1).
        overdue_fraction: the overdue assumption, finite and ``>= 0``.

    Returns:
        Minutes left: finite and ``>= 0``.

    Raises:
        ValueError: ``u`` outside (0, 1), ``elapsed`` negative or not finite, or
            ``overdue_fraction`` negative or not finite.

    Sources: the conditional inverse CDF is the standard construction of a truncated
    distribution; the tail expansion is the asymptotic series of Mills' ratio,
    ``1 - Phi(z) = phi(z) / z * (1 - 1/z^2 + 3/z^4 - 15/z^6 + ...)`` (Abramowitz and Stegun
    26.2.12).
    """
    if not 0.0 < u < 1.0:
        raise ValueError(f"u must be strictly between 0 and 1, got {u}")
    _check_in_progress(elapsed, overdue_fraction)
    if elapsed == 0.0:
        return duration_from_uniform(spec, vms, u)
    c = spec.central(vms)
    s = spec.spread
    if spec.distribution == "deterministic" or s == 0.0 or c <= 0.0:
        return _remaining_fixed(max(c, 0.0), elapsed, overdue_fraction)
    if spec.distribution == "lognormal":
        left = _lognormal_remaining(c, s, elapsed, u)
        if left == math.inf:
            # More minutes than a float holds (elapsed near the largest float, u near 1): the
            # largest float, so that a larger u never leaves less time
            return sys.float_info.max
    else:
        low, high = c * (1.0 - s), c * (1.0 + s)
        if elapsed <= low:  # D > e is certain: the usual draw
            return max(0.0, duration_from_uniform(spec, vms, u) - elapsed)
        if elapsed >= high:
            return overdue_fraction * duration_from_uniform(spec, vms, u)
        if spec.distribution == "triangular":
            left = _triangular_remaining(low, c, high, elapsed, u)
        else:
            left = _pert_remaining(low, high, elapsed, u)
    if not math.isfinite(left):  # never seen; a guard so that no caller gets inf or NaN
        return overdue_fraction * duration_from_uniform(spec, vms, u)
    return max(0.0, left)


def _check_in_progress(elapsed: float, overdue_fraction: float) -> None:
    if not (math.isfinite(elapsed) and elapsed >= 0.0):
        raise ValueError(f"elapsed must be a finite number of minutes >= 0, got {elapsed}")
    if not (math.isfinite(overdue_fraction) and overdue_fraction >= 0.0):
        raise ValueError(f"overdue_fraction must be finite and >= 0, got {overdue_fraction}")


def _remaining_fixed(duration: float, elapsed: float, overdue_fraction: float) -> float:
    """A fixed ``duration``: what is left of it, or the overdue assumption's share of it."""
    if elapsed < duration:
        return duration - elapsed
    return overdue_fraction * duration


def _triangular_remaining(low: float, mode: float, high: float, e: float, u: float) -> float:
    # Symmetric triangle (mode in the middle), low < e < high. In x = (D - low) / width the
    # CDF is 2x^2 below 1/2 and 1 - 2(1 - x)^2 above.
    width = high - low
    if e >= mode:
        # S(D) / S(e) = ((high - D) / (high - e))^2 = 1 - u: D = high - (high - e) * sqrt(1 - u),
        # written without the cancellation of 1 - sqrt(1 - u) for small u.
        return (high - e) * u / (1.0 + math.sqrt(1.0 - u))
    y = (e - low) / width
    below = 2.0 * y * y  # F(e)
    above = 1.0 - below  # S(e), at least 1/2 here
    p = below + u * above  # F(D)
    if p < 0.5:
        d = low + width * math.sqrt(0.5 * p)
    else:
        d = high - width * math.sqrt(0.5 * ((1.0 - u) * above))  # from S(D), not 1 - p
    return d - e


def _pert_remaining(low: float, high: float, e: float, u: float) -> float:
    # Beta(3, 3) is symmetric: measured down from the top, x = (high - D) / width is Beta(3, 3)
    # too and S(D) = I_x(3, 3). Solving I_x'(3, 3) = (1 - u) I_xe(3, 3) from the top keeps the
    # digits of a step close to it.
    sp = _special()
    width = high - low
    x_e = (high - e) / width
    survival = float(sp.betainc(3.0, 3.0, x_e))
    x_d = float(sp.betaincinv(3.0, 3.0, (1.0 - u) * survival))
    return width * (x_e - x_d)


def _lognormal_remaining(c: float, s: float, e: float, u: float) -> float:
    # log D = log c + s Z with Z standard normal; e sits at z = log(e / c) / s. The conditional
    # draw z' solves log S(z') = log S(z) + log(1 - u), S the normal survival.
    w = math.log(e) - math.log(c)  # s * z, without overflowing e / c
    t = -math.log1p(-u)  # the drop in log survival from e to D, > 0
    if w >= LOGNORMAL_ASYMPTOTIC_Z * s:
        return e * math.expm1(_tail_log_step(w, s, t))
    sp = _special()
    z = w / s
    z_d = -float(sp.ndtri_exp(float(sp.log_ndtr(-z)) - t))
    if w <= 0.0:
        return c * math.exp(s * z_d) - e
    return e * math.expm1(s * (z_d - z))  # D / e - 1 without cancelling two large numbers


def _mills_log_correction(r: float) -> float:
    # log(1 - r + 3r^2 - 15r^3 + 105r^4 - 945r^5), r = 1/x^2: the asymptotic series of
    # S(x) x / phi(x) (Abramowitz and Stegun 26.2.12), truncated before 10395 r^6.
    return math.log1p(r * (-1.0 + r * (3.0 + r * (-15.0 + r * (105.0 - 945.0 * r)))))


def _tail_log_step(w: float, s: float, t: float) -> float:
    """``s * (z' - z)`` for ``z = w / s >= LOGNORMAL_ASYMPTOTIC_Z``: the log of ``D / e``.

    With ``-log S(x) = x^2/2 + log x + log(2 pi)/2 - log(series(1/x^2))`` the step ``d = z' - z``
    solves ``z d + d^2/2 + log1p(d / z) + [series terms] = t``; in ``a = s * d`` and ``w = s * z``
    (a tiny spread would overflow ``z``) that is the fixed point
    ``a = 2 T s^2 / (w + sqrt(w^2 + 2 T s^2))``, ``T = t - log1p(a / w) - [series terms]``,
    which contracts by about ``1 / z^2`` a pass.
    """
    s2 = s * s
    r0 = (s / w) ** 2
    series0 = _mills_log_correction(r0)
    a = 0.0
    for _ in range(8):  # 1/z^2 <= 1/400 a pass: 8 passes are far below a rounding error
        r1 = (s / (w + a)) ** 2
        big_t = t - math.log1p(a / w) - (series0 - _mills_log_correction(r1))
        a = 2.0 * big_t * s2 / (w + math.sqrt(w * w + 2.0 * big_t * s2))
    return a


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
        got = self.streams.uniforms(keys)
        if self._ready:
            self._ready.update(got)
        else:
            self._ready = got  # the first pass: its dict is the table (no copy)

    def failing(self, draws: Iterable[tuple[Key, float]]) -> list[Key]:
        """The failure keys among ``draws`` (``(key, probability)``, each probability strictly
        between 0 and 1) whose attempt fails: :meth:`fails` of each, at the cost of a lookup
        for a key prefetched."""
        ready, uniform = self._ready, self._uniform
        return [key for key, p in draws if (ready.get(key) or uniform(key)) < p]

    @property
    def prefetched(self) -> dict[Key, float]:
        """The numbers :meth:`prefetch` computed, by key (read, never change)."""
        return self._ready

    def number(self, key: Key) -> float:
        """The uniform number of ``key`` (prefetched, or computed now)."""
        u = self._ready.get(key)
        return self.streams.uniform(*key) if u is None else u

    def _uniform(self, key: Key) -> float:
        u = self._ready.get(key)
        return self.streams.uniform(*key) if u is None else u

    def duration(
        self, spec: StepDuration, vms: int, unit: str, step: str, attempt: int = 1
    ) -> float:
        if not self.draws_duration(spec):
            return max(spec.central(vms), 0.0)
        return duration_from_uniform(spec, vms, self._uniform(("durations", unit, step, attempt)))

    def duration_by(
        self, q: Callable[[float], float], unit: str, step: str, attempt: int = 1
    ) -> float:
        """:meth:`duration` of a step whose duration is drawn (:meth:`draws_duration`), by its
        :func:`quantile` (the same number, its constants worked out once)."""
        return q(self._uniform(("durations", unit, step, attempt)))

    def remaining(
        self,
        spec: StepDuration,
        vms: int,
        unit: str,
        step: str,
        attempt: int,
        elapsed: float,
        *,
        overdue_fraction: float = OVERDUE_FRACTION,
    ) -> float:
        """Minutes left of attempt ``attempt`` of ``step`` of ``unit``, which has run ``elapsed``.

        :func:`remaining_from_uniform` of the number the step's duration uses (key
        ``("durations", unit, step, attempt)``), so ``elapsed == 0`` gives :meth:`duration`
        bit for bit and every replication continues its own draw. When :meth:`draws_duration`
        is false (deterministic mode, a fixed step), the step lasts ``max(c, 0)`` and what is
        left is ``max(c, 0) - elapsed`` while that is positive, else ``overdue_fraction`` of
        ``max(c, 0)`` (the overdue assumption, :data:`OVERDUE_FRACTION`). Finite and ``>= 0``.

        Raises:
            ValueError: as :func:`remaining_from_uniform`.
        """
        if not self.draws_duration(spec):
            _check_in_progress(elapsed, overdue_fraction)
            return _remaining_fixed(max(spec.central(vms), 0.0), elapsed, overdue_fraction)
        u = self._uniform(("durations", unit, step, attempt))
        return remaining_from_uniform(spec, vms, elapsed, u, overdue_fraction=overdue_fraction)

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
