"""The model of the estate and the plan: frozen, typed records validated once at the boundary.

The estate (``estate``), the plan (``plan``) and its maintenance-window calendar
(``calendar``), the scenario loader (``scenario``), the resource graph (``graph``), the
platform's migration units and their must-precede DAG (``units``), ordering strategies
(``ordering``), the rule catalogue (``rules``), the validation report (``validation``) and
the actuals of a migration night, read and checked against the platform's order (``actuals``).
Nothing here simulates, draws, plots or prints.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
