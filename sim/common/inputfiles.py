"""Input paths read only as what they should be: a regular file within a size limit, or a folder.

Every file migsim reads (a scenario, an estate, a timings CSV, an XML export, the files of a run
folder) goes through :func:`read_input`; every folder it reads (``import asm FOLDER``, a results
or run folder) through :func:`check_folder`. A NUL byte in the path, a missing file, a folder
where a file is expected, a device (``/dev/zero``, ``/dev/stdin`` on a terminal or a pipe), a FIFO,
a socket, a symbolic-link loop, an unreadable file and a file over the limit are each one
:class:`~sim.common.errors.InputError` naming the path. Nothing blocks: the path is looked at with
``stat`` before it is opened, it is opened with ``O_NONBLOCK`` (a FIFO swapped in between does not
block the open) and checked again on the open descriptor, and no more than the limit plus one byte
is ever read.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from sim.common.errors import InputError

MiB = 2**20

MAX_TEXT_BYTES = 512 * MiB
"""The largest scenario, estate, timings or run-folder file read (a generated 100,000-VM estate
is about 30 MiB)."""

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_CHUNK = 4 * MiB


def shown_path(shown: str) -> str:
    """``shown`` as a message can print it: quoted with escapes when it holds a control
    character (a NUL byte, a newline, an escape sequence)."""
    if all(ch.isprintable() for ch in shown):
        return shown
    return repr(shown)


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _os_error(shown: str, exc: OSError, what: str) -> InputError:
    code = exc.errno
    if isinstance(exc, FileNotFoundError):
        return InputError(shown, (), f"file not found; expected {what}")
    if isinstance(exc, PermissionError):
        return InputError(shown, (), "cannot be read (permission denied)")
    if isinstance(exc, NotADirectoryError):
        return InputError(shown, (), f"not found (a part of the path is a file); expected {what}")
    if code == errno.ELOOP:
        return InputError(shown, (), f"is a loop of symbolic links; expected {what}")
    if code == errno.ENAMETOOLONG:
        return InputError(shown, (), f"the path is too long; expected {what}")
    return InputError(shown, (), f"cannot be read ({exc.strerror or exc})")


def _stat(path: Path, shown: str, what: str) -> os.stat_result:
    if "\x00" in str(path):
        raise InputError(shown, (), f"the path holds a NUL byte; expected {what}")
    try:
        return os.stat(path)
    except OSError as exc:
        raise _os_error(shown, exc, what) from None
    except ValueError as exc:  # pragma: no cover - NUL bytes are caught above
        raise InputError(shown, (), f"is not a usable path ({exc}); expected {what}") from None


def _refuse_mode(mode: int, shown: str, what: str) -> None:
    if stat.S_ISDIR(mode):
        raise InputError(shown, (), f"is a folder; expected {what}")
    if not stat.S_ISREG(mode):
        raise InputError(shown, (), f"is {_kind(mode)}, not a regular file; expected {what}")


def _too_large(shown: str, limit: int, what: str) -> InputError:
    size = f"{limit // MiB} MiB" if limit >= MiB else f"{limit:,} bytes"
    return InputError(shown, (), f"is larger than {size}, the limit for {what}")


def check_file(path: Path, shown: str | None = None, what: str = "a file", *, limit: int) -> None:
    """Refuse ``path`` unless it is a regular file (after symbolic links) of at most ``limit``
    bytes; :func:`read_input` does this and reads it."""
    shown = shown_path(shown if shown is not None else str(path))
    st = _stat(path, shown, what)
    _refuse_mode(st.st_mode, shown, what)
    if st.st_size > limit:
        raise _too_large(shown, limit, what)


def read_input(
    path: Path, shown: str | None = None, what: str = "a file", *, limit: int = MAX_TEXT_BYTES
) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them, or one
    :class:`InputError` naming ``shown`` (default: the path) and saying what is wrong.

    ``what`` names the kind of file expected (``a scenario file (.yaml)``).
    """
    shown = shown_path(shown if shown is not None else str(path))
    check_file(path, shown, what, limit=limit)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise _os_error(shown, exc, what) from None
    try:
        _refuse_mode(os.fstat(fd).st_mode, shown, what)  # swapped for a FIFO or device since
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(_CHUNK, left))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise _os_error(shown, exc, what) from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > limit:
        raise _too_large(shown, limit, what)
    return raw


def read_input_text(
    path: Path, shown: str | None = None, what: str = "a file", *, limit: int = MAX_TEXT_BYTES
) -> str:
    """:func:`read_input` decoded as UTF-8 (a byte-order mark is dropped); text that is not
    UTF-8 is an :class:`InputError` naming the line and the offending byte."""
    shown = shown_path(shown if shown is not None else str(path))
    raw = read_input(path, shown, what, limit=limit)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            shown,
            (),
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start});"
            f" expected {what} encoded as UTF-8",
            line=line,
        ) from None


def check_folder(path: Path, shown: str | None = None, what: str = "a folder") -> None:
    """Refuse ``path`` unless it is a folder (after symbolic links) that can be listed."""
    shown = shown_path(shown if shown is not None else str(path))
    if "\x00" in str(path):
        raise InputError(shown, (), f"the path holds a NUL byte; expected {what}")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(shown, (), f"folder not found; expected {what}") from None
    except OSError as exc:
        raise _os_error(shown, exc, what) from None
    if not stat.S_ISDIR(st.st_mode):
        kind = "a file" if stat.S_ISREG(st.st_mode) else _kind(st.st_mode)
        raise InputError(shown, (), f"is {kind}, not a folder; expected {what}")
    if not os.access(path, os.R_OK | os.X_OK):
        raise InputError(shown, (), "cannot be read (permission denied)")


def regular_file_in(path: Path, shown: str | None = None, what: str = "a file") -> bool:
    """Whether ``path`` (a known file of a folder being read) is there: False when nothing is
    at that name, True for a regular file, and an :class:`InputError` for anything else at that
    name (a folder, a device, a FIFO, a symbolic-link loop), so that it is never skipped in
    silence nor opened."""
    shown = shown_path(shown if shown is not None else str(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(shown, (), f"is a broken symbolic link; expected {what}") from None
        return False
    except OSError as exc:
        raise _os_error(shown, exc, what) from None
    _refuse_mode(st.st_mode, shown, what)
    return True
