"""The collector pause used around big steps: switched back on, cycles still found, freezes kept."""

from __future__ import annotations

import gc

import pytest

from sim.common.gcpause import paused_gc


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_pause_restores_the_collector_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # it was off: it stays off
    finally:
        gc.enable()


def test_objects_made_during_the_pause_skip_the_young_generations() -> None:
    gc.collect()
    with paused_gc():
        kept = [Node() for _ in range(5000)]
        for _ in range(5000):
            Node()  # garbage cycles
    assert gc.get_count()[0] < 100  # nothing left for the next young collection to walk
    assert gc.collect() >= 5000  # the cycles are still found by a full collection
    assert all(n.me is n for n in kept)


def test_a_program_freeze_is_left_alone() -> None:
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with paused_gc():
            [Node() for _ in range(100)]
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
