"""The public API: what ``sim`` and each room's ``__init__`` name, as a notebook uses it."""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable

import pytest

import sim

ROOMS = (
    "sim",
    "sim.common",
    "sim.model",
    "sim.engine",
    "sim.experiments",
    "sim.outputs",
    "sim.importers",
)


@pytest.mark.parametrize("name", ROOMS)
def test_every_name_of_all_resolves(name: str) -> None:
    package = importlib.import_module(name)
    assert package.__all__, name
    for attr in package.__all__:
        assert getattr(package, attr) is not None, f"{name}.{attr}"
    assert sorted(dir(package)) == sorted(package.__all__)


def test_plots_names_what_a_notebook_draws() -> None:
    assert "timeline" in sim.plots.__all__ and "picture" in sim.plots.__all__
    for attr in sim.plots.__all__:
        assert getattr(sim.plots, attr) is not None, attr


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        sim.no_such_thing  # noqa: B018


def test_the_top_names_are_the_rooms_own() -> None:
    from sim.engine.simulation import simulate
    from sim.experiments.run import run_scenario
    from sim.model.scenario import load_scenario
    from sim.outputs import plots

    assert sim.simulate is simulate
    assert sim.run_scenario is run_scenario
    assert sim.load_scenario is load_scenario
    assert sim.plots is plots
    assert sim.experiments.run_scenario is run_scenario


def test_frames_are_named_at_the_top(modules_after: Callable[[str], set[str]]) -> None:
    from sim.experiments.frames import replications_frame
    from sim.outputs.frames import events_frame, windows_frame

    assert sim.windows_frame is windows_frame and sim.outputs.windows_frame is windows_frame
    assert sim.events_frame is events_frame
    assert sim.replications_frame is replications_frame
    assert "pandas" in modules_after("import sim\nsim.windows_frame")


def test_version_is_the_installed_distributions() -> None:
    assert sim.__version__ == importlib.metadata.version("migsim")


def test_importing_sim_and_simulating_loads_no_plotting(
    modules_after: Callable[[str], set[str]],
) -> None:
    # Names load on first use: a process that only simulates (a pool worker, `migsim validate`)
    # never pays for matplotlib, scipy or pandas.
    loaded = modules_after(
        "import sim\n"
        "from sim import load_scenario, simulate, validate_scenario\n"
        "from sim.experiments import Prepared, run_replications\n"
    )
    assert not loaded & {"matplotlib", "scipy", "pandas"}
    assert "sim.engine.simulation" in loaded
