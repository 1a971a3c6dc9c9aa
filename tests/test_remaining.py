"""The time left of a step in progress (migsim replan): sampling.remaining_from_uniform."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from scipy import stats

import sim.engine.sampling as sampling
from sim.engine.sampling import (
    OVERDUE_FRACTION,
    Sampler,
    Streams,
    duration_from_uniform,
    remaining_from_uniform,
)
from sim.model.plan import StepDuration

DISTRIBUTIONS = ("deterministic", "triangular", "lognormal", "pert")

_specs = st.builds(
    StepDuration,
    base=st.one_of(st.floats(0, 43200), st.sampled_from([0.0, 1e-300, 5.0, 43200.0])),
    per_vm=st.one_of(st.floats(0, 43200), st.just(0.0)),
    distribution=st.sampled_from(DISTRIBUTIONS),
    spread=st.one_of(st.floats(0, 5), st.sampled_from([0.0, 1e-300, 1e-8, 1.0, 5.0])),
)
_vms = st.integers(0, 100_000)
_u = st.one_of(
    st.floats(0, 1, exclude_min=True, exclude_max=True),
    st.sampled_from([2.0**-54, 1e-12, 0.5, 1 - 2.0**-53]),
)
_elapsed = st.one_of(
    st.floats(0, 1e6),
    st.floats(0, 1.7e308),
    st.sampled_from([0.0, 5e-324, 1e-300, 1e300, 1.7e308]),
)


def _spec(distribution: str, base: float, spread: float) -> StepDuration:
    return StepDuration(base=base, distribution=distribution, spread=spread)  # type: ignore[arg-type]


# ---- elapsed 0: the usual draw -------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(spec=_specs, vms=_vms, u=_u)
def test_nothing_elapsed_is_the_usual_draw_bit_for_bit(
    spec: StepDuration, vms: int, u: float
) -> None:
    assert remaining_from_uniform(spec, vms, 0.0, u) == duration_from_uniform(spec, vms, u)


@pytest.mark.parametrize("deterministic", [False, True])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_sampler_remaining_continues_the_steps_own_draw(
    distribution: str, deterministic: bool
) -> None:
    spec = _spec(distribution, 30.0, 0.4)
    sampler = Sampler(17, deterministic=deterministic)
    for i in range(50):
        unit, attempt = f"vnet-{i}", 1 + i % 3
        usual = sampler.duration(spec, 4, unit, "prepare", attempt)
        assert sampler.remaining(spec, 4, unit, "prepare", attempt, 0.0) == usual
    if not deterministic and distribution != "deterministic":
        # the key is the duration's: ("durations", unit, step, attempt)
        u = Streams(17).uniform("durations", "vnet-3", "prepare", 2)
        assert sampler.remaining(spec, 4, "vnet-3", "prepare", 2, 25.0) == remaining_from_uniform(
            spec, 4, 25.0, u
        )
        # prefetching the key changes nothing
        fetched = Sampler(17)
        fetched.prefetch([("durations", "vnet-3", "prepare", 2)])
        assert fetched.remaining(spec, 4, "vnet-3", "prepare", 2, 25.0) == sampler.remaining(
            spec, 4, "vnet-3", "prepare", 2, 25.0
        )


def test_deterministic_mode_is_what_is_left_of_the_central_value_then_the_assumption() -> None:
    spec = _spec("lognormal", 40.0, 0.5)  # deterministic mode: 40 minutes, whatever the shape
    sampler = Sampler(3, deterministic=True)
    assert sampler.remaining(spec, 0, "u", "commit", 1, 15.0) == 25.0
    assert sampler.remaining(spec, 0, "u", "commit", 1, 39.5) == 0.5
    assert sampler.remaining(spec, 0, "u", "commit", 1, 40.0) == 4.0  # overdue: a tenth of 40
    assert sampler.remaining(spec, 0, "u", "commit", 1, 1e9) == 4.0
    assert sampler.remaining(spec, 0, "u", "commit", 1, 50.0, overdue_fraction=0.5) == 20.0
    fixed = StepDuration(base=2.0)  # a fixed step draws no number, in any mode
    assert Sampler(3).remaining(fixed, 0, "u", "stop", 1, 0.5) == 1.5
    assert Sampler(3).remaining(fixed, 0, "u", "stop", 1, 3.0) == 2.0 * OVERDUE_FRACTION
    assert Sampler(3).remaining(StepDuration(), 0, "u", "stop", 1, 3.0) == 0.0  # a 0-minute step


# ---- never negative, NaN or infinite; monotone in u ---------------------------------------


@settings(max_examples=400, deadline=None)
@given(spec=_specs, vms=_vms, elapsed=_elapsed, u=_u)
def test_time_left_is_always_a_finite_non_negative_number(
    spec: StepDuration, vms: int, elapsed: float, u: float
) -> None:
    left = remaining_from_uniform(spec, vms, elapsed, u)
    assert math.isfinite(left) and left >= 0.0


@settings(max_examples=400, deadline=None)
@given(spec=_specs, vms=_vms, elapsed=_elapsed, u1=_u, u2=_u)
# found by a suite run: D past the largest float gave inf, then the overdue guess (1.8e13)
@example(
    spec=_spec("lognormal", 1.0, 4.0),
    vms=0,
    elapsed=1.3951457594109936e308,
    u1=0.99,
    u2=1.0 - 2.0**-53,
)
def test_a_larger_u_never_leaves_less_time(
    spec: StepDuration, vms: int, elapsed: float, u1: float, u2: float
) -> None:
    lo, hi = sorted((u1, u2))
    a = remaining_from_uniform(spec, vms, elapsed, lo)
    b = remaining_from_uniform(spec, vms, elapsed, hi)
    # Up to rounding, as duration_from_uniform: between neighbouring floats the inverse CDFs
    # (statistics.NormalDist, scipy's ndtri_exp and betaincinv) can step back by a few units
    # in the last place of the step's scale.
    assert a <= b + 1e-12 * max(spec.central(vms), elapsed, b)


@pytest.mark.parametrize("distribution", ["triangular", "lognormal", "pert"])
@pytest.mark.parametrize("elapsed", [0.0, 3.0, 9.0, 10.0, 13.0, 14.99, 40.0, 1e4, 1e300])
def test_time_left_rises_with_u_on_a_grid(distribution: str, elapsed: float) -> None:
    spec = _spec(distribution, 10.0, 0.5)  # low 5, high 15
    us = [(i + 0.5) / 400 for i in range(400)]
    lefts = [remaining_from_uniform(spec, 0, elapsed, u) for u in us]
    assert lefts == sorted(lefts)
    if elapsed < 15.0 or distribution == "lognormal":
        assert lefts[0] < lefts[-1]  # and really depends on u


def test_bad_arguments_are_refused() -> None:
    spec = _spec("lognormal", 10.0, 0.3)
    for u in (0.0, 1.0, -0.1, math.nan):
        with pytest.raises(ValueError, match="u must be"):
            remaining_from_uniform(spec, 0, 1.0, u)
    for elapsed in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="elapsed"):
            remaining_from_uniform(spec, 0, elapsed, 0.5)
        with pytest.raises(ValueError, match="elapsed"):
            Sampler(1, deterministic=True).remaining(spec, 0, "u", "s", 1, elapsed)
    with pytest.raises(ValueError, match="overdue_fraction"):
        remaining_from_uniform(spec, 0, 1.0, 0.5, overdue_fraction=-0.1)


# ---- exact values, by hand ------------------------------------------------------------------


def test_triangular_by_hand() -> None:
    # c = 10, spread 0.5: low 5, mode 10, high 15.
    spec = _spec("triangular", 10.0, 0.5)
    # Past the mode S(D) = (15 - D)^2 / 50, so S(D) / S(e) = 1 - u gives
    # D = 15 - (15 - e) sqrt(1 - u): e = 12, u = 0.75: D = 15 - 3 * 0.5 = 13.5, 1.5 left.
    assert remaining_from_uniform(spec, 0, 12.0, 0.75) == pytest.approx(1.5, rel=1e-15)
    assert remaining_from_uniform(spec, 0, 12.0, 0.36) == pytest.approx(0.6, rel=1e-15)
    # Below low the step surely lasts past e: the usual draw less e. u = 0.125 is below the
    # mode: D = 5 + sqrt(0.125 * 10 * 5) = 7.5.
    assert remaining_from_uniform(spec, 0, 3.0, 0.125) == 4.5
    assert remaining_from_uniform(spec, 0, 3.0, 0.5) == 7.0
    # c = 10, spread 1: low 0, high 20, F(x) = x^2 / 200 below 10. e = 5: F = 1/8, S = 7/8;
    # u = 3/7 puts D at F = 1/8 + 3/8 = 1/2: the mode, 5 left. u = 1/7: F = 1/4, D = sqrt(50).
    wide = _spec("triangular", 10.0, 1.0)
    assert remaining_from_uniform(wide, 0, 5.0, 3 / 7) == pytest.approx(5.0, rel=1e-14)
    assert remaining_from_uniform(wide, 0, 5.0, 1 / 7) == pytest.approx(
        math.sqrt(50.0) - 5.0, rel=1e-14
    )
    # spread 2, clipped at 0 below: low -10, high 30. e = 20: (30 - 20)(1 - sqrt(0.81)) = 1.
    clipped = _spec("triangular", 10.0, 2.0)
    assert remaining_from_uniform(clipped, 0, 20.0, 0.19) == pytest.approx(1.0, rel=1e-14)


def test_pert_by_hand() -> None:
    # c = 10, spread 0.5: Beta(3, 3) on [5, 15]; S(x) = 1 - I_x(3,3), I_x = 10x^3 - 15x^4 + 6x^5.
    # e = 10 (x = 1/2, S = 1/2) and u = 1/2: S(D) = 1/4, so D - 10 solves, with x = (D - 5) / 10,
    # 10x^3 - 15x^4 + 6x^5 = 3/4. Check the defining identity in exact polynomial arithmetic.
    spec = _spec("pert", 10.0, 0.5)
    left = remaining_from_uniform(spec, 0, 10.0, 0.5)
    x = (10.0 + left - 5.0) / 10.0
    assert 10 * x**3 - 15 * x**4 + 6 * x**5 == pytest.approx(0.75, abs=1e-15)
    # below low: the usual draw less e
    assert remaining_from_uniform(spec, 0, 4.0, 0.3) == duration_from_uniform(spec, 0, 0.3) - 4.0


@pytest.mark.parametrize("distribution", ["triangular", "pert", "deterministic"])
def test_an_overdue_step_ends_after_the_named_assumption(distribution: str) -> None:
    spec = _spec(distribution, 10.0, 0.5)
    top = 15.0 if distribution != "deterministic" else 10.0
    for u in (0.01, 0.5, 0.99):
        draw = duration_from_uniform(spec, 0, u)
        for elapsed in (top, top + 1.0, 1e12, 1.7e308):
            assert remaining_from_uniform(spec, 0, elapsed, u) == OVERDUE_FRACTION * draw
        assert remaining_from_uniform(spec, 0, top, u, overdue_fraction=0.0) == 0.0
    # just below the top the distribution still answers: almost nothing is left
    assert remaining_from_uniform(spec, 0, top - 1e-9, 0.99) < 2e-9


# ---- the conditional distribution, against independent computations --------------------------


def _scipy_dist(distribution: str, c: float, s: float) -> Any:
    """The step's duration before clipping at 0, as scipy.stats builds it."""
    if distribution == "lognormal":
        return stats.lognorm(s, scale=c)
    low, high = c * (1 - s), c * (1 + s)
    if distribution == "triangular":
        return stats.triang(0.5, loc=low, scale=high - low)
    return stats.beta(3, 3, loc=low, scale=high - low)


CASES = [
    ("triangular", 10.0, 0.5, 7.0),
    ("triangular", 10.0, 0.5, 12.5),
    ("triangular", 10.0, 2.0, 3.0),  # low -10: the clipped mass is below e
    ("pert", 10.0, 0.5, 8.0),
    ("pert", 10.0, 0.5, 13.0),
    ("pert", 10.0, 1.5, 1.0),
    ("lognormal", 10.0, 0.3, 4.0),
    ("lognormal", 10.0, 0.3, 14.0),
    ("lognormal", 10.0, 1.0, 60.0),
]


@pytest.mark.parametrize(("distribution", "c", "s", "elapsed"), CASES)
def test_conditional_quantiles_satisfy_the_survival_identity(
    distribution: str, c: float, s: float, elapsed: float
) -> None:
    # D = e + left must have S(D) = (1 - u) S(e): checked with scipy.stats' own log survival.
    dist = _scipy_dist(distribution, c, s)
    spec = _spec(distribution, c, s)
    for u in (0.001, 0.1, 0.37, 0.5, 0.9, 0.999):
        left = remaining_from_uniform(spec, 0, elapsed, u)
        drop = dist.logsf(elapsed + left) - dist.logsf(elapsed)
        assert drop == pytest.approx(math.log1p(-u), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("distribution", "c", "s", "elapsed"), CASES)
def test_conditional_quantiles_match_scipys_truncated_distribution(
    distribution: str, c: float, s: float, elapsed: float
) -> None:
    if not hasattr(stats, "truncate"):  # scipy >= 1.15
        pytest.skip("scipy.stats.truncate needs scipy 1.15")
    shape = {
        "lognormal": (stats.lognorm, {"s": s}),
        "triangular": (stats.triang, {"c": 0.5}),
        "pert": (stats.beta, {"a": 3.0, "b": 3.0}),
    }[distribution]
    base = stats.make_distribution(shape[0])(**shape[1])
    x = base * c if distribution == "lognormal" else base * (2 * c * s) + c * (1 - s)
    truncated = stats.truncate(x, lb=elapsed)
    spec = _spec(distribution, c, s)
    for u in (0.01, 0.25, 0.5, 0.75, 0.99):
        expected = float(truncated.icdf(u)) - elapsed
        assert remaining_from_uniform(spec, 0, elapsed, u) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("distribution", "c", "s", "elapsed"), CASES)
def test_time_left_is_distributed_as_scipys_draws_that_outlast_elapsed(
    distribution: str, c: float, s: float, elapsed: float
) -> None:
    # Rejection sampling: scipy.stats draws (clipped at 0), those above e, less e; against the
    # grid of quantiles remaining_from_uniform gives. Fixed seed: a two-sample KS test.
    dist = _scipy_dist(distribution, c, s)
    rng = np.random.default_rng(20240917)
    draws = np.maximum(dist.rvs(size=200_000, random_state=rng), 0.0)
    outlast = draws[draws > elapsed] - elapsed
    assert len(outlast) > 5_000
    spec = _spec(distribution, c, s)
    grid = [remaining_from_uniform(spec, 0, elapsed, (i + 0.5) / 2000) for i in range(2000)]
    assert stats.ks_2samp(outlast, grid).pvalue > 0.01
    if dist.sf(elapsed) < 0.9:
        # and the unconditioned draw less e is not (the test can tell the two apart)
        naive = [duration_from_uniform(spec, 0, (i + 0.5) / 2000) - elapsed for i in range(2000)]
        assert stats.ks_2samp(outlast, naive).pvalue < 1e-6


# ---- the lognormal far in its tail ------------------------------------------------------------


def test_lognormal_far_tail_never_underflows_and_switches_smoothly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # At z = 40 standard deviations the survival is 1e-350: below the smallest double, so
    # F^-1(F(e) + u (1 - F(e))) would give nothing. The log survival keeps it.
    c, s = 10.0, 0.3
    spec = _spec("lognormal", c, s)
    for z in (15.0, 19.0, 21.0, 25.0):
        elapsed = c * math.exp(s * z)
        for u in (0.01, 0.5, 0.99):
            here = remaining_from_uniform(spec, 0, elapsed, u)
            # both methods, each forced: they agree near the switch
            monkeypatch.setattr(sampling, "LOGNORMAL_ASYMPTOTIC_Z", 0.0)
            asymptotic = remaining_from_uniform(spec, 0, elapsed, u)
            monkeypatch.setattr(sampling, "LOGNORMAL_ASYMPTOTIC_Z", math.inf)
            quantiles = remaining_from_uniform(spec, 0, elapsed, u)
            monkeypatch.undo()
            assert here in (asymptotic, quantiles)
            assert asymptotic == pytest.approx(quantiles, rel=1e-9)
    elapsed = c * math.exp(s * 40.0)
    assert stats.lognorm(s, scale=c).sf(elapsed) == 0.0
    left = remaining_from_uniform(spec, 0, elapsed, 0.5)
    # -log S(z') + log S(z) = log 2 and, to first order, z' - z = log 2 / z
    assert left == pytest.approx(elapsed * math.expm1(s * math.log(2.0) / 40.0), rel=2e-3)


def test_lognormal_tail_matches_its_leading_asymptotics() -> None:
    # z = 1e6 (spread 1e-4, e = c * e^100): -log S(z + d) + log S(z) = z d + d^2/2 to 1 part
    # in z^2 = 1e12, so d = sqrt(z^2 + 2t) - z with t = -log(1 - u).
    c, s, w = 10.0, 1e-4, 100.0
    z = w / s
    spec = _spec("lognormal", c, s)
    elapsed = c * math.exp(w)
    for u in (0.001, 0.5, 0.999):
        t = -math.log1p(-u)
        d = 2 * t / (z + math.sqrt(z * z + 2 * t))
        expected = elapsed * math.expm1(s * d)
        assert remaining_from_uniform(spec, 0, elapsed, u) == pytest.approx(expected, rel=1e-11)


def test_lognormal_time_left_grows_with_elapsed_in_the_tail() -> None:
    # The lognormal's hazard falls in its tail: the longer a step has run past its median, the
    # more is left (the property a heavy tail models); and never the overdue assumption.
    spec = _spec("lognormal", 10.0, 0.8)
    lefts = [remaining_from_uniform(spec, 0, e, 0.5) for e in (30, 100, 1e3, 1e6, 1e100, 1e300)]
    assert lefts == sorted(lefts)
    assert all(0 < left < math.inf for left in lefts)


@settings(max_examples=200, deadline=None)
@given(
    distribution=st.sampled_from(["triangular", "pert"]),
    spread=st.floats(0.01, 0.99),
    frac=st.floats(0, 1, exclude_max=True),
    u=_u,
)
def test_bounded_time_left_stays_inside_the_support(
    distribution: str, spread: float, frac: float, u: float
) -> None:
    c = 60.0
    low, high = c * (1 - spread), c * (1 + spread)
    elapsed = low + frac * (high - low)
    assume(0.0 < elapsed < high)
    left = remaining_from_uniform(_spec(distribution, c, spread), 0, elapsed, u)
    assert 0.0 <= left <= high - elapsed + 1e-12 * high
