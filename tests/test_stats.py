"""Statistics against numpy/scipy reference values computed here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from sim.common.stats import (
    PERCENTILES,
    describe,
    mean_ci,
    paired_difference,
    percentile_ci,
    percentiles,
    probability_best,
)

RNG = np.random.default_rng(20240601)
SAMPLE = RNG.lognormal(mean=1.0, sigma=0.4, size=200)


def test_percentiles_are_numpys_linear_percentiles() -> None:
    got = percentiles(SAMPLE)
    want = np.percentile(SAMPLE, PERCENTILES, method="linear")
    assert list(got) == list(PERCENTILES)
    assert list(got.values()) == pytest.approx(list(want), rel=0, abs=0)
    assert percentiles([3.0], (50, 99)) == {50: 3.0, 99: 3.0}


def test_mean_ci_is_the_student_t_interval() -> None:
    iv = mean_ci(SAMPLE)
    mean = SAMPLE.mean()
    half = sps.t.ppf(0.975, df=SAMPLE.size - 1) * SAMPLE.std(ddof=1) / math.sqrt(SAMPLE.size)
    assert iv.estimate == pytest.approx(mean, rel=1e-12)
    assert iv.low == pytest.approx(mean - half, rel=1e-12)
    assert iv.high == pytest.approx(mean + half, rel=1e-12)
    # and the same as scipy's own interval of the mean
    ref = sps.ttest_1samp(SAMPLE, 0.0).confidence_interval(0.95)
    assert (iv.low, iv.high) == pytest.approx((ref.low, ref.high), rel=1e-12)


def test_mean_ci_edges() -> None:
    const = mean_ci([2.5] * 10)
    assert (const.estimate, const.low, const.high) == (2.5, 2.5, 2.5)
    one = mean_ci([4.0])
    assert one.estimate == 4.0 and math.isnan(one.low) and math.isnan(one.high)
    with pytest.raises(ValueError):
        mean_ci([])


@pytest.mark.parametrize("p", [50, 80, 90])
def test_percentile_ci_is_the_order_statistics_interval(p: int) -> None:
    iv = percentile_ci(SAMPLE, p)
    ref = sps.quantile_test(SAMPLE, p=p / 100).confidence_interval(0.95)
    assert iv.estimate == np.percentile(SAMPLE, p)
    assert (iv.low, iv.high) == (ref.low, ref.high)
    assert iv.low <= iv.estimate <= iv.high
    # the bounds are order statistics of the sample
    assert iv.low in SAMPLE and iv.high in SAMPLE


def test_percentile_ci_bound_out_of_reach_is_nan() -> None:
    iv = percentile_ci(SAMPLE[:20], 99)
    assert math.isnan(iv.high) and not math.isnan(iv.estimate)
    with pytest.raises(ValueError):
        percentile_ci(SAMPLE, 100)


def test_paired_difference_is_the_paired_t_interval() -> None:
    a = SAMPLE
    b = SAMPLE * 0.9 + RNG.normal(0.0, 0.1, size=SAMPLE.size)
    iv = paired_difference(a, b)
    ref = sps.ttest_rel(a, b).confidence_interval(0.95)
    assert iv.estimate == pytest.approx(float(np.mean(a - b)), rel=1e-12)
    assert (iv.low, iv.high) == pytest.approx((ref.low, ref.high), rel=1e-12)


def test_paired_difference_of_identical_samples_is_exactly_zero() -> None:
    iv = paired_difference(SAMPLE, SAMPLE.copy())
    assert (iv.estimate, iv.low, iv.high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        paired_difference(SAMPLE, SAMPLE[:-1])


def test_probability_best_splits_ties_evenly() -> None:
    values = [[1.0, 2.0, 3.0], [1.0, 1.0, 4.0], [2.0, 3.0, 0.0]]
    got = probability_best(values)
    assert got == pytest.approx([0.5 / 3, 1.5 / 3, 1.0 / 3])
    assert sum(got) == pytest.approx(1.0)
    assert probability_best([[1.0, 1.0], [1.0, 1.0]]) == [0.5, 0.5]


def test_probability_best_matches_argmin_counts() -> None:
    matrix = RNG.normal(size=(4, 500))
    want = np.bincount(np.argmin(matrix, axis=0), minlength=4) / 500
    assert probability_best(matrix) == pytest.approx(list(want), abs=1e-15)


def test_describe() -> None:
    d = describe(SAMPLE[:20])
    flat = d.as_dict()
    assert flat["n"] == 20
    assert flat["mean"] == pytest.approx(float(SAMPLE[:20].mean()))
    assert flat["std"] == pytest.approx(float(SAMPLE[:20].std(ddof=1)))
    assert flat["p80"] == np.percentile(SAMPLE[:20], 80)
    assert flat["p99_ci_high"] is None  # 20 replications cannot bound P99 from above
    assert flat["min"] == float(SAMPLE[:20].min()) and flat["max"] == float(SAMPLE[:20].max())
    single = describe([1.0]).as_dict()
    assert single["std"] is None and single["mean_ci_low"] is None
