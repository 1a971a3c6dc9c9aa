"""Experiments: what a planner asks of the engine.

One run and Monte Carlo replications of a scenario (``run``, ``replications``), the runner
that maps replications over a local pool or a Dask cluster (``runner``), comparisons of
orderings and plans with common random numbers (``comparison``), sensitivity and criticality
(``sensitivity``), the ordering optimizer (``optimizer``), calibration of step durations
from a dry run (``calibration``) and the actuals of a night checked against the steps the
engine runs (``actuals``).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
