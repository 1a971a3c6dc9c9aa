"""The engine: one replication of a plan, as a SimPy model.

The platform's mechanics (``platform``: what each step does, locks, stopped VMs, windows, the
write throttle of ``throttle``, the remediation table of ``remedies``) apart from the
operator's dispatch policy (``dispatch``: which unit gets the next free crew, when a unit may
begin), the random numbers (``sampling``) and the entry point :func:`simulate`
(``simulation``).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
