"""Counted words in messages a person reads: ``1 VM``, ``2 VMs``."""

from __future__ import annotations


def plural(n: int, word: str) -> str:
    """``n`` and ``word``, with an ``s`` unless ``n`` is 1: ``plural(1, "VM") == "1 VM"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
