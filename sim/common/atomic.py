"""Writing outputs so that nothing is ever half-written: a temporary sibling, then one rename.

Every command that writes follows one rule (``docs/architecture.md``, "Outputs"): it replaces
nothing without ``--force``, and ``--force`` replaces only what that command writes.

- A file output (``report.html``, an estate, a scenario, a durations file) is refused when it
  exists (:func:`refuse_existing`), then written by :func:`atomic_file`.
- A folder output (``migsim run``, ``compare``, ``sensitivity``) names the files it owns: only
  they are refused without ``force`` and replaced with it (:func:`check_outputs`). Anything else
  in the folder (another command's sub-folder, a report, a runbook, a note of the user's) is
  carried over untouched by :func:`atomic_dir`.
- Before any work, a command takes the **claim** on its output (:func:`claim_dir`,
  :func:`claim_file`): the checks above, the parent folder made (or refused: under a file, not
  writable), and an exclusive lock on a hidden sibling ``.NAME.lock`` held until the final
  rename. A second command writing the same output meanwhile is refused at once; the absence of
  the target is checked again under the claim just before the rename, and a target that
  appeared meanwhile is never replaced without ``force``. The lock dies with the process.
- Every filesystem error while checking or writing is an :class:`InputError` naming the output
  (exit 2), never a traceback; what was being written is removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from sim.common.errors import InputError

if sys.platform != "win32":
    import fcntl

_SHOWN = 6
"""How many names a refusal lists before ``...``."""


def _names(names: Collection[str]) -> str:
    shown = sorted(names)
    return ", ".join(shown[:_SHOWN]) + (", ..." if len(shown) > _SHOWN else "")


YAML_SUFFIXES = (".yaml", ".yml")
"""The names a YAML output may end in."""


def _check_parent(target: Path) -> None:
    """Refuse an output whose nearest existing ancestor is not a folder (``--out FILE/x``)."""
    for ancestor in Path(os.path.abspath(target)).parents:
        if ancestor.is_dir():
            return
        if os.path.lexists(ancestor):
            raise InputError(str(target), (), f"cannot be written: {ancestor} is not a folder")


def refuse_existing(
    target: Path, *, force: bool, what: str = "a file", suffixes: Sequence[str] = ()
) -> None:
    """Refuse a file output that exists (unless ``force``), that is a directory (always), or,
    with ``suffixes`` (``(".yaml", ".yml")``), whose name ends otherwise: what it holds must
    show in its name.

    One :class:`InputError` naming the path, what is there and that ``--force`` replaces it.
    """
    target = Path(target)
    if suffixes and target.suffix.lower() not in suffixes:
        raise InputError(
            str(target),
            (),
            f"expected {what} ending in {' or '.join(suffixes)}, got"
            f" {target.suffix or 'no suffix'!r}",
        )
    if target.is_dir():
        raise InputError(str(target), (), f"is a directory; expected the path of {what}")
    _check_parent(target)
    if target.exists() and not target.is_file():
        raise InputError(
            str(target), (), f"exists and is not a regular file; expected the path of {what}"
        )
    if target.exists() and not force:
        raise InputError(str(target), (), "already exists; --force replaces it")


def check_outputs(
    target: Path, owned: Collection[str] | None, *, force: bool, command: str = "this command"
) -> None:
    """Refuse to write into folder ``target`` when it holds files ``command`` would replace.

    ``owned`` names the entries the command writes (``None``: the whole folder is its own). Without
    ``force``, an existing ``target`` holding any of them is refused with one message naming them,
    saying that ``--force`` replaces them and what it leaves in place. A ``target`` that is a
    file is always refused. Call it before long work, so that a user does not wait for nothing.
    """
    target = Path(target)
    _check_parent(target)
    if not target.exists():
        return
    if not target.is_dir():
        raise InputError(str(target), (), "exists and is not a directory; expected a folder")
    if force:
        return
    entries = {p.name: p.name + ("/" if p.is_dir() else "") for p in target.iterdir()}
    if owned is None:
        if entries:
            raise InputError(
                str(target),
                (),
                f"already exists ({_names(entries.values())}); --force replaces it",
            )
        return
    clash = [shown for name, shown in entries.items() if name in owned]
    if clash:
        others = [shown for name, shown in entries.items() if name not in owned]
        keep = f" and leaves {_names(others)} in place" if others else ""
        raise InputError(
            str(target),
            (),
            f"already holds {command}'s files ({_names(clash)}); --force replaces them{keep}",
        )


# ---- the claim: one writer per output, from the first check to the final rename ---------------


def _cannot(path: Path, exc: OSError, doing: str) -> InputError:
    """The one message of a filesystem error: the output, what failed, and why."""
    why = exc.strerror or str(exc) or type(exc).__name__
    return InputError(str(path), (), f"cannot {doing} ({why}); nothing was written")


@dataclass
class _Claim:
    lock: Path
    fd: int
    created: list[Path] = field(default_factory=list)


_claims: dict[str, _Claim] = {}
_claims_lock = threading.Lock()


def _key(target: Path) -> str:
    return os.path.join(os.path.realpath(target.parent), target.name)


def _make_parents(target: Path) -> list[Path]:
    """Make the folders above ``target``; return those made (outermost first)."""
    missing: list[Path] = []
    for ancestor in Path(os.path.abspath(target)).parents:
        if ancestor.is_dir():
            break
        missing.append(ancestor)
    made: list[Path] = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            if not folder.is_dir():
                raise InputError(
                    str(target), (), f"cannot be written: {folder} is not a folder"
                ) from None
            continue
        except OSError as exc:
            _remove_empty(made)
            raise _cannot(target, exc, f"make the folder {folder}") from None
        made.append(folder)
    return made


def _remove_empty(folders: Sequence[Path]) -> None:
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty: what a successful command wrote stays


def _lock(target: Path) -> tuple[Path, int]:
    """Open and lock ``.NAME.lock`` beside ``target``; refuse when another process holds it."""
    lock = target.parent / f".{target.name}.lock"
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _cannot(target, exc, f"write in {target.parent}") from None
        if sys.platform == "win32":  # pragma: no cover - no flock: the checks alone
            return lock, fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                holder = f" (process {int(os.read(fd, 32) or b'?')})"
            os.close(fd)
            raise InputError(
                str(target),
                (),
                f"another migsim command is writing it now{holder}; wait for it to finish or"
                " choose another --out",
            ) from None
        except OSError:  # a filesystem without locks (some network mounts): the checks alone
            return lock, fd
        try:
            mine = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            mine = False
        if mine:  # not a lock file its last holder removed while this process opened it
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode("ascii"))
            return lock, fd
        os.close(fd)


@contextlib.contextmanager
def claim(target: Path, check: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the claim on output ``target`` for the block (see the module's docstring).

    ``check`` (the refusals of :func:`check_outputs` or :func:`refuse_existing`) runs first, then
    again under the lock. Re-entrant in one process: :func:`atomic_dir` and :func:`atomic_file`
    take the claim a command took up front. The folders made for ``target`` are removed again
    when the block leaves them empty (a command that failed leaves no folder behind).
    """
    target = Path(target)
    key = _key(target)
    with _claims_lock:
        held = key in _claims
    if held:
        if check is not None:
            check()
        yield
        return
    if check is not None:
        check()
    created = _make_parents(target)
    try:
        lock, fd = _lock(target)
    except BaseException:
        _remove_empty(created)
        raise
    with _claims_lock:
        _claims[key] = _Claim(lock, fd, created)
    try:
        if check is not None:
            check()  # again, under the lock: another writer may have finished meanwhile
        yield
    finally:
        with _claims_lock:
            del _claims[key]
        with contextlib.suppress(OSError):
            lock.unlink()  # before the lock is released: a waiting opener sees a new file
        os.close(fd)
        _remove_empty(created)


def claim_dir(
    target: Path, owned: Collection[str] | None, *, force: bool, command: str = "this command"
) -> contextlib.AbstractContextManager[None]:
    """The claim on folder output ``target`` (:func:`claim` with :func:`check_outputs`)."""
    target = Path(target)
    return claim(target, lambda: check_outputs(target, owned, force=force, command=command))


def claim_file(
    target: Path, *, force: bool, what: str = "a file", suffixes: Sequence[str] = ()
) -> contextlib.AbstractContextManager[None]:
    """The claim on file output ``target`` (:func:`claim` with :func:`refuse_existing`)."""
    target = Path(target)
    return claim(target, lambda: refuse_existing(target, force=force, what=what, suffixes=suffixes))


# ---- renames ------------------------------------------------------------------------------------

_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn: Callable[..., int] = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # pragma: no cover - a libc older than glibc 2.28
        return None
    return fn


_RENAMEAT2 = _renameat2()


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``; :class:`FileExistsError` when ``dst`` exists, even an empty
    folder (which ``rename(2)`` replaces silently). Atomic on Linux (``renameat2`` with
    ``RENAME_NOREPLACE``); elsewhere a check then a rename, which the claim protects."""
    if _RENAMEAT2 is not None:
        if _RENAMEAT2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE):
            code = ctypes.get_errno()
            if code not in (errno.EINVAL, errno.ENOSYS):  # a filesystem without the flag
                raise OSError(code, os.strerror(code), str(dst))
        else:
            return
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is over (the renames that put an output in
    place): an interrupt lands before them or after them, never between."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    old = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)


# ---- the writers -------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_file(target: Path, *, force: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    ``force=False`` refuses (:class:`InputError`) a ``target`` that appeared meanwhile instead of
    replacing it. A filesystem error is an :class:`InputError` naming ``target``; the temporary
    file is removed whatever happens.
    """
    target = Path(target)
    with claim(target):
        try:
            fd, tmp = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent
            )
        except OSError as exc:
            raise _cannot(target, exc, f"write in {target.parent}") from None
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            tmp_path.chmod(0o644)  # mkstemp makes it private; outputs are ordinary files
            yield tmp_path
            with signals_deferred():
                if force:
                    os.replace(tmp_path, target)
                else:
                    try:
                        rename_noreplace(tmp_path, target)
                    except FileExistsError:
                        raise InputError(
                            str(target),
                            (),
                            "appeared while this command ran; --force replaces it",
                        ) from None
        except OSError as exc:
            raise _cannot(target, exc, "write it") from exc
        finally:
            tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(
    target: Path,
    *,
    force: bool = False,
    owned: Collection[str] | None = None,
    command: str = "this command",
) -> Iterator[Path]:
    """Yield a temporary directory beside ``target``; on success it becomes ``target``.

    ``owned`` names the entries the command writes (``None``: the whole folder is its own). An
    existing ``target`` holding any of them is refused (:class:`InputError`, exit 2) unless
    ``force`` (:func:`check_outputs`, checked again under the claim just before the rename, since
    the names written count too and another writer may have finished meanwhile). On success the
    entries of ``target`` that the command does not own and did not write are moved into the new
    folder, which then takes ``target``'s place in one rename: the command's own files change all
    at once, old or new, never a mix, and the rest of the folder is the same files as before
    (moved back if anything fails on the way). A filesystem error is an :class:`InputError`
    naming ``target``; the temporary folder is removed whatever happens.
    """
    target = Path(target)
    with claim_dir(target, owned, force=force, command=command):
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        except OSError as exc:
            raise _cannot(target, exc, f"write in {target.parent}") from None
        try:
            tmp.chmod(0o755)  # mkdtemp makes it private; outputs are ordinary folders
            yield tmp
            with signals_deferred():
                _swap(tmp, target, owned, force=force, command=command)
        except OSError as exc:
            raise _cannot(target, exc, "write it") from exc
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


def _swap(
    tmp: Path, target: Path, owned: Collection[str] | None, *, force: bool, command: str
) -> None:
    """Put the finished folder ``tmp`` in ``target``'s place (see :func:`atomic_dir`)."""
    if not target.exists():
        try:
            rename_noreplace(tmp, target)
            return
        except FileExistsError:
            pass  # appeared meanwhile (a folder another program made): judged below
    written = {p.name for p in tmp.iterdir()}
    mine = written if owned is None else written | set(owned)
    check_outputs(target, None if owned is None else mine, force=force, command=command)
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    carried: list[str] = []
    try:
        if owned is not None:
            for entry in sorted(target.iterdir()):
                if entry.name not in mine:
                    os.replace(entry, tmp / entry.name)
                    carried.append(entry.name)
        os.replace(target, old / "x")
    except BaseException:
        for name in carried:
            os.replace(tmp / name, target / name)
        shutil.rmtree(old, ignore_errors=True)
        raise
    try:
        rename_noreplace(tmp, target)
    except BaseException:
        os.replace(old / "x", target)
        for name in carried:
            os.replace(tmp / name, target / name)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
