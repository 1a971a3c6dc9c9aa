"""The fork server's first import: from here on it ignores SIGINT.

A Ctrl-C reaches the whole process group. The fork server ignores SIGINT by itself only once it
has imported what it preloads (the simulator, numpy: most of a second), and a SIGINT during that
import printed its KeyboardInterrupt traceback. Imported before the simulator, this leaves a
window of the interpreter's own start only. The command that owns the server decides what stops
(:func:`sim.experiments.runner.close_backends`).
"""

from __future__ import annotations

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
