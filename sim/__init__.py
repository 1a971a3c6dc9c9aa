"""migsim: a discrete-event simulator of the Azure classic (ASM) to Resource Manager IaaS migration.

The library API that the CLI and the notebooks share, in rooms by role (each a subpackage whose
``__all__`` names what users call)::

    sim.model        the estate, the plan, the scenario loader, the graph, units and rules
    sim.engine       one replication: the platform's mechanics under a dispatch policy
    sim.experiments  runs, Monte Carlo replications, comparisons, sensitivity, optimizer,
                     calibration
    sim.outputs      result records and their files, plots, the HTML report
    sim.importers    estates from classic exports, network files and a synthetic generator
    sim.common       errors, atomic writes, time parsing, statistics: used by every room

The names below are the ones a notebook needs most (``sim.load_scenario``, ``sim.run_scenario``,
``sim.plots.timeline``...). Every name is imported on first use, so ``import sim`` is cheap and
a worker process that only simulates never loads matplotlib.
"""

import lazy_loader as _lazy

from sim.common.version import __version__ as __version__

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
