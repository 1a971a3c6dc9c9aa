"""Keyed random streams and duration draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.sampling import (
    Sampler,
    Streams,
    beta33_ppf,
    duration_from_uniform,
    quantile,
    spawn_key,
    stable_hash,
    triangular_ppf,
)
from sim.model.plan import StepDuration


def test_stable_hash_is_fixed_across_processes() -> None:
    # BLAKE2b-64 of "prepare": a constant, unlike Python's salted hash().
    assert stable_hash("prepare") == 0x5A237BFF0B551D85
    assert stable_hash("a") != stable_hash("b")
    assert 0 <= stable_hash("x") < 2**64


def test_same_key_same_number_and_streams_are_independent() -> None:
    s = Streams(7)
    u = s.uniform("durations", "vnet-a", "prepare", 1)
    assert u == Streams(7).uniform("durations", "vnet-a", "prepare", 1)
    assert 0.0 < u < 1.0
    assert u != s.uniform("failures", "vnet-a", "prepare", 1)
    assert u != s.uniform("durations", "vnet-b", "prepare", 1)
    assert u != s.uniform("durations", "vnet-a", "commit", 1)
    assert u != s.uniform("durations", "vnet-a", "prepare", 2)
    assert u != Streams(8).uniform("durations", "vnet-a", "prepare", 1)


def test_draw_does_not_depend_on_other_draws() -> None:
    a = Streams(3)
    first = a.uniform("durations", "u1", "commit")
    b = Streams(3)
    for i in range(50):
        b.uniform("durations", f"other-{i}", "prepare")
    assert b.uniform("durations", "u1", "commit") == first


def test_spawn_key_rejects_unknown_stream() -> None:
    with pytest.raises(ValueError, match="unknown stream"):
        spawn_key("weather", "u", "s", 1)
    with pytest.raises(ValueError):
        Streams(-1)


def test_generator_is_reproducible() -> None:
    g1 = Streams(1).generator("durations", "u", "prepare")
    g2 = Streams(1).generator("durations", "u", "prepare")
    assert g1.random(3).tolist() == g2.random(3).tolist()


def test_uniform_is_roughly_uniform() -> None:
    s = Streams(11)
    xs = [s.uniform("durations", f"u{i}", "prepare") for i in range(2000)]
    assert abs(sum(xs) / len(xs) - 0.5) < 0.03
    assert min(xs) > 0.0 and max(xs) < 1.0


def test_deterministic_is_central() -> None:
    spec = StepDuration(base=10, per_vm=2, distribution="deterministic", spread=0.0)
    assert duration_from_uniform(spec, 3, 0.9) == 16.0
    lognormal = StepDuration(base=10, per_vm=2, distribution="lognormal", spread=0.5)
    sampler = Sampler(1, deterministic=True)
    assert sampler.duration(lognormal, 3, "u", "prepare") == 16.0


def test_triangular_bounds_mode_and_clipping() -> None:
    spec = StepDuration(base=10, distribution="triangular", spread=0.5)
    assert duration_from_uniform(spec, 0, 0.5) == pytest.approx(10.0)
    assert duration_from_uniform(spec, 0, 1e-12) == pytest.approx(5.0, abs=1e-4)
    assert duration_from_uniform(spec, 0, 1 - 1e-12) == pytest.approx(15.0, abs=1e-4)
    wide = StepDuration(base=10, distribution="triangular", spread=2.0)
    assert duration_from_uniform(wide, 0, 1e-9) == 0.0  # low of -10 clipped at 0
    assert triangular_ppf(0.3, 5.0, 5.0, 5.0) == 5.0


def test_lognormal_median_and_spread() -> None:
    spec = StepDuration(base=20, distribution="lognormal", spread=0.3)
    assert duration_from_uniform(spec, 0, 0.5) == pytest.approx(20.0)
    # the 84th percentile is one sigma above the median on the log scale
    assert duration_from_uniform(spec, 0, 0.8413447460685429) == pytest.approx(
        20.0 * math.exp(0.3), rel=1e-6
    )


def test_pert_is_symmetric_beta_3_3() -> None:
    for u in (0.01, 0.2, 0.5, 0.77, 0.99):
        x = beta33_ppf(u)
        assert x**3 * (10 - 15 * x + 6 * x * x) == pytest.approx(u, abs=1e-12)
    spec = StepDuration(base=10, distribution="pert", spread=0.4)
    assert duration_from_uniform(spec, 0, 0.5) == pytest.approx(10.0)
    assert 6.0 <= duration_from_uniform(spec, 0, 0.001) < duration_from_uniform(spec, 0, 0.999)
    assert duration_from_uniform(spec, 0, 0.999) <= 14.0


@pytest.mark.parametrize("dist", ["triangular", "lognormal", "pert"])
def test_draws_are_monotone_in_u(dist: str) -> None:
    spec = StepDuration(base=10, per_vm=1, distribution=dist, spread=0.5)  # type: ignore[arg-type]
    xs = [duration_from_uniform(spec, 4, u / 100) for u in range(1, 100)]
    assert xs == sorted(xs)
    assert all(x >= 0 for x in xs)


def test_sampler_draws_differ_by_seed_and_repeat_by_key() -> None:
    spec = StepDuration(base=10, distribution="lognormal", spread=0.3)
    a = Sampler(1).duration(spec, 0, "u", "prepare", 1)
    assert a == Sampler(1).duration(spec, 0, "u", "prepare", 1)
    assert a != Sampler(2).duration(spec, 0, "u", "prepare", 1)


def test_failures_follow_probability() -> None:
    s = Sampler(5)
    assert not s.fails(0.0, "u", "prepare")
    assert s.fails(1.0, "u", "prepare")
    hits = sum(s.fails(0.3, f"u{i}", "prepare") for i in range(2000))
    assert 0.25 < hits / 2000 < 0.35
    # monotone coupling: a unit that fails at p fails at every larger p
    for i in range(200):
        if s.fails(0.2, f"u{i}", "commit"):
            assert s.fails(0.4, f"u{i}", "commit")


def test_replication_seeds_are_stable_distinct_and_valid() -> None:
    from sim.engine.sampling import replication_seed

    seeds = [replication_seed(42, r) for r in range(1000)]
    assert len(set(seeds)) == 1000
    assert all(0 <= s < 2**63 for s in seeds)
    assert replication_seed(42, 7) == seeds[7]  # independent of how many run
    assert replication_seed(43, 7) != seeds[7]


_text = st.text(min_size=0, max_size=30)
_key = st.tuples(st.sampled_from(["durations", "failures"]), _text, _text, st.integers(0, 2**40))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.one_of(st.integers(0, 2**32), st.integers(0, 2**63), st.integers(0, 2**300)),
    keys=st.lists(_key, min_size=1, max_size=12, unique=True),
)
def test_vectorised_draws_are_numpy_seedsequence_bit_for_bit(
    seed: int, keys: list[tuple[str, str, str, int]]
) -> None:
    streams = Streams(seed)
    fast = streams.uniforms(keys)
    for key in keys:
        state = np.random.SeedSequence(seed, spawn_key=spawn_key(*key)).generate_state(1, np.uint64)
        word = int(state[0])
        assert streams.word(*key) == word
        assert fast[key] == ((word >> 11) + 0.5) * 2.0**-53 == streams.uniform(*key)


def test_vectorised_draws_handle_short_hash_words(monkeypatch: pytest.MonkeyPatch) -> None:
    # A hash below 2**32 is one 32-bit word, not two: SeedSequence then mixes fewer words.
    import sim.engine.sampling as sampling

    real = sampling.stable_hash
    monkeypatch.setattr(sampling, "stable_hash", lambda t: 5 if t == "tiny" else real(t))
    sampling._text_words.cache_clear()
    try:
        keys = [("durations", "tiny", "prepare", 1), ("durations", "big", "prepare", 1)]
        fast = Streams(9).uniforms(keys)
        for k in keys:
            word = int(
                np.random.SeedSequence(9, spawn_key=spawn_key(*k)).generate_state(1, np.uint64)[0]
            )
            assert fast[k] == ((word >> 11) + 0.5) * 2.0**-53
    finally:
        sampling._text_words.cache_clear()


def test_prefetch_gives_the_same_draws() -> None:
    spec = StepDuration(base=10, per_vm=1, distribution="lognormal", spread=0.4)
    a, b = Sampler(21), Sampler(21)
    a.prefetch([("durations", f"u{i}", "prepare", 1) for i in range(20)])
    a.prefetch([("failures", f"u{i}", "commit", 1) for i in range(20)])
    for i in range(20):
        assert a.duration(spec, 3, f"u{i}", "prepare") == b.duration(spec, 3, f"u{i}", "prepare")
        assert a.fails(0.5, f"u{i}", "commit") == b.fails(0.5, f"u{i}", "commit")
    assert not Sampler(1, deterministic=True).draws_duration(spec)
    assert Sampler(1).draws_duration(spec)
    assert not Sampler.draws_failure(0.0) and not Sampler.draws_failure(1.0)


@settings(max_examples=300, deadline=None)
@given(
    distribution=st.sampled_from(["deterministic", "triangular", "lognormal", "pert"]),
    base=st.floats(0.0, 500.0, allow_nan=False),
    per_vm=st.floats(0.0, 5.0, allow_nan=False),
    spread=st.sampled_from([0.0, 0.05, 0.3, 1.0, 2.5, 5.0]),
    vms=st.integers(0, 400),
    u=st.floats(1e-12, 1.0 - 1e-12),
)
def test_a_steps_quantile_function_is_its_duration_to_the_bit(
    distribution: str, base: float, per_vm: float, spread: float, vms: int, u: float
) -> None:
    # The engine draws a step by its quantile function, its constants worked out once per
    # (step, VMs); the number must be duration_from_uniform's exactly, or a replication's
    # results would depend on which path drew it.
    spec = StepDuration(base=base, per_vm=per_vm, distribution=distribution, spread=spread)
    assert quantile(spec, vms)(u) == duration_from_uniform(spec, vms, u)
