"""Statistics of replications: percentiles, confidence intervals, paired differences, P(best).

Every function takes plain sequences of numbers (one value per replication) and uses numpy or
scipy for the arithmetic; nothing here is hand-rolled where a library does it.

Methods (stated once, documented in ``docs/experiments.md``):

- **Percentiles** P50/P80/P90/P99: :func:`numpy.percentile` with ``method="linear"`` (numpy's
  default, Hyndman and Fan's definition 7: linear interpolation between order statistics).
- **Mean**: the sample mean with a two-sided 95 % Student t-interval,
  ``mean +- t(0.975, n-1) * s / sqrt(n)`` (``s`` with ``ddof=1``; :func:`scipy.stats.t.interval`
  on :func:`scipy.stats.sem`). With ``n = 1`` the interval is undefined (NaN); with zero spread it
  is exactly ``(mean, mean)``.
- **Confidence interval of a percentile**: distribution-free, from order statistics
  (:func:`scipy.stats.quantile_test`, its ``confidence_interval``): the interval between two order
  statistics whose ranks the binomial distribution of "values below the true quantile" brackets
  with at least 95 % probability. No resampling, no seed, the same answer on every machine; it is
  conservative (coverage at least 95 %) and a bound is NaN when there are too few replications to
  reach it (P99 needs several hundred replications for an upper bound).
- **Paired differences** between two alternatives run with common random numbers: the
  per-replication differences ``a[r] - b[r]``, their mean and a 95 % paired t-interval (the
  t-interval of the differences). Identical inputs give exactly ``0`` and ``(0, 0)``.
- **Probability of being best**: the share of replications in which an alternative has the lowest
  value (lower is better for every migsim metric); a tie splits that replication evenly among the
  tied alternatives, so the shares sum to 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

# scipy ships no type information; as ``Any`` its calls stay out of strict checking whether or
# not a stub package is installed.
sps: Any = import_module("scipy.stats")

PERCENTILES: tuple[int, ...] = (50, 80, 90, 99)
"""The percentiles a summary reports."""

PERCENTILE_METHOD: Literal["linear"] = "linear"
"""The :func:`numpy.percentile` method (numpy's default; Hyndman and Fan definition 7)."""

CONFIDENCE = 0.95
"""The confidence level of every interval."""

Values = Sequence[float] | npt.NDArray[np.float64]


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval ``[low, high]`` (NaN if undefined)."""

    estimate: float
    low: float
    high: float

    def as_tuple(self) -> tuple[float, float]:
        return (self.low, self.high)


def _array(values: Values) -> npt.NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"expected a one-dimensional sequence of numbers, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("expected at least one value")
    return arr


def percentiles(values: Values, ps: Sequence[float] = PERCENTILES) -> dict[float, float]:
    """``{p: value}`` for every percentile ``p`` in ``ps`` (0..100), linear interpolation."""
    arr = _array(values)
    got = np.percentile(arr, list(ps), method=PERCENTILE_METHOD)
    return {p: float(v) for p, v in zip(ps, got, strict=True)}


def mean_ci(values: Values, confidence: float = CONFIDENCE) -> Interval:
    """The mean with its two-sided Student t confidence interval."""
    arr = _array(values)
    mean = float(np.mean(arr))
    if arr.size < 2:
        return Interval(mean, float("nan"), float("nan"))
    if np.all(arr == arr[0]):
        # Zero spread: the interval collapses onto the mean (scipy would give NaN for scale 0).
        return Interval(mean, mean, mean)
    sem = float(sps.sem(arr))
    low, high = sps.t.interval(confidence, df=arr.size - 1, loc=mean, scale=sem)
    return Interval(mean, float(low), float(high))


def percentile_ci(values: Values, p: float, confidence: float = CONFIDENCE) -> Interval:
    """Percentile ``p`` (0..100) with a distribution-free order-statistics confidence interval.

    The estimate is :func:`numpy.percentile` (linear); the interval comes from
    :func:`scipy.stats.quantile_test` and is NaN on a side that ``len(values)`` cannot reach.
    """
    if not 0.0 < p < 100.0:
        raise ValueError(f"expected a percentile strictly between 0 and 100, got {p}")
    arr = _array(values)
    estimate = float(np.percentile(arr, p, method=PERCENTILE_METHOD))
    if np.all(arr == arr[0]):
        return Interval(estimate, estimate, estimate)
    test = sps.quantile_test(arr, q=estimate, p=p / 100.0)
    ci = test.confidence_interval(confidence_level=confidence)
    return Interval(estimate, float(ci.low), float(ci.high))


def paired_difference(a: Values, b: Values, confidence: float = CONFIDENCE) -> Interval:
    """Mean of ``a[r] - b[r]`` with a paired t-interval; ``a`` and ``b`` paired by position."""
    xa, xb = _array(a), _array(b)
    if xa.shape != xb.shape:
        raise ValueError(f"paired samples differ in length: {xa.size} and {xb.size}")
    return mean_ci(xa - xb, confidence)


TIE_RTOL = 1e-9
"""Values closer than this share of the metric's scale (its largest magnitude over every
alternative and replication) are equal: floating-point sums of the same windows in another
order differ by about 1e-16 of it, and no planner reads a difference of a billionth."""


def tie_tolerance(values: Sequence[Values] | npt.NDArray[np.float64]) -> float:
    """The absolute tolerance under which two values of this table are a tie
    (:data:`TIE_RTOL` of its largest magnitude; 0 for an all-zero table)."""
    matrix = np.asarray(values, dtype=np.float64)
    scale = float(np.nanmax(np.abs(matrix))) if matrix.size else 0.0
    return TIE_RTOL * scale if math.isfinite(scale) else 0.0


def probability_best(values: Sequence[Values] | npt.NDArray[np.float64]) -> list[float]:
    """For each alternative (a row of ``values``; columns are replications), the share of
    replications in which it has the lowest value; ties (within :func:`tie_tolerance`) split a
    replication evenly."""
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError("expected a non-empty table: one row per alternative, one column per run")
    is_min = matrix <= matrix.min(axis=0, keepdims=True) + tie_tolerance(matrix)
    share = is_min / is_min.sum(axis=0, keepdims=True)
    return [float(s) for s in share.mean(axis=1)]


@dataclass(frozen=True)
class MetricSummary:
    """Summary statistics of one metric over the replications."""

    n: int
    mean: Interval
    std: float
    minimum: float
    maximum: float
    percentiles: dict[float, Interval]

    def as_dict(self) -> dict[str, float | int | None]:
        """Flat, JSON-friendly: ``mean``, ``mean_ci_low``..., ``p80``, ``p80_ci_low``...
        (NaN becomes ``None``)."""

        def clean(x: float) -> float | None:
            return None if np.isnan(x) else x

        out: dict[str, float | int | None] = {
            "n": self.n,
            "mean": clean(self.mean.estimate),
            "mean_ci_low": clean(self.mean.low),
            "mean_ci_high": clean(self.mean.high),
            "std": clean(self.std),
            "min": self.minimum,
            "max": self.maximum,
        }
        for p, iv in self.percentiles.items():
            key = f"p{p:g}"
            out[key] = clean(iv.estimate)
            out[f"{key}_ci_low"] = clean(iv.low)
            out[f"{key}_ci_high"] = clean(iv.high)
        return out


def describe(values: Values, ps: Sequence[float] = PERCENTILES) -> MetricSummary:
    """Mean with CI, standard deviation (``ddof=1``; NaN for one value), min, max and the
    percentiles with their order-statistics CIs."""
    arr = _array(values)
    return MetricSummary(
        n=int(arr.size),
        mean=mean_ci(arr),
        std=float(np.std(arr, ddof=1)) if arr.size > 1 else float("nan"),
        minimum=float(arr.min()),
        maximum=float(arr.max()),
        percentiles={p: percentile_ci(arr, p) for p in ps},
    )
