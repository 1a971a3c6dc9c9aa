"""``python -m sim``: the same as the ``migsim`` command."""

from __future__ import annotations

from sim.entry import main

if __name__ == "__main__":
    main()
