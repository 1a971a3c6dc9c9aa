"""Helpers every room may use, with no knowledge of the migration: the one error type for bad
input, atomic writes, time parsing and formatting, statistics of samples, pausing the garbage
collector while many records are built."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
