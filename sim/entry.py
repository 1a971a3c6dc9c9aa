"""The ``migsim`` console script's first code: signals are handled before the CLI loads.

Loading the CLI (click, rich, pydantic, the model) takes a few hundred milliseconds; a Ctrl-C in
that time printed the KeyboardInterrupt traceback of whichever import it landed in. Until
:func:`sim.cli.main` installs its own handlers, SIGINT and SIGTERM end the command at once with
one line and exit 130 / 143: nothing has started, nothing was written.
"""

from __future__ import annotations

import os
import signal
import time
from types import FrameType

STARTED: float | None = None
"""``time.monotonic()`` when :func:`main` began (``None`` when the CLI was not started through
it, as in tests that call it in-process): ``migsim optimize --budget`` counts from here, so the
CLI's own loading is inside the budget the user gave."""


def _before_start(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    os.write(2, f"error: stopped by {name} before it started; nothing was written\n".encode())
    os._exit(128 + signum)


def main() -> None:
    """``migsim``: :func:`sim.cli.main`, with signals handled while it loads."""
    global STARTED
    STARTED = time.monotonic()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _before_start)
    from sim.cli import main as cli_main

    cli_main()
