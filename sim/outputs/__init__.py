"""Outputs: what a run leaves behind, read from result records only.

The fixed-schema records of a replication, its summary and their byte-deterministic files
(``records``), the verdicts of comparisons and of a run's ordering (``verdicts``), the pictures
(``plots``, matplotlib) and the self-contained HTML report of a results directory (``report``).
Nothing here runs the engine or an experiment.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
