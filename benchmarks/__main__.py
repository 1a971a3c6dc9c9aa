"""``python -m benchmarks [--quick] [--out PATH]``: see :mod:`benchmarks.harness`."""

from __future__ import annotations

from benchmarks.harness import main

if __name__ == "__main__":
    raise SystemExit(main())
