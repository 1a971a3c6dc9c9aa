"""Writing outputs so that nothing is ever half-written: a temporary sibling, then one rename.

Every command that writes follows one rule (``docs/architecture.md``, "Outputs"): it replaces
nothing without ``--force``, and ``--force`` replaces only what that command writes.

- A file output (``report.html``, an estate, a scenario, a durations file) is refused when it
  exists (:func:`refuse_existing`), then written by :func:`atomic_file`.
- A folder output (``migsim run``, ``compare``, ``sensitivity``) names the files it owns: only
  they are refused without ``force`` and replaced with it (:func:`check_outputs`). Anything else
  in the folder (another command's sub-folder, a report, a runbook, a note of the user's) is
  carried over untouched by :func:`atomic_dir`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

from sim.common.errors import InputError

_SHOWN = 6
"""How many names a refusal lists before ``...``."""


def _names(names: Collection[str]) -> str:
    shown = sorted(names)
    return ", ".join(shown[:_SHOWN]) + (", ..." if len(shown) > _SHOWN else "")


YAML_SUFFIXES = (".yaml", ".yml")
"""The names a YAML output may end in."""


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


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.chmod(0o644)  # mkstemp makes it private; outputs are ordinary files
    try:
        yield tmp_path
        os.replace(tmp_path, target)
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
    ``force`` (:func:`check_outputs`, checked again once the new files are written, since the
    names written count too). On success the entries of ``target`` that the command does not
    own and did not write are moved into the new folder, which then takes ``target``'s place in
    one rename: the command's own files change all at once, old or new, never a mix, and the
    rest of the folder is the same files as before (moved back if anything fails on the way).
    """
    target = Path(target)
    check_outputs(target, owned, force=force, command=command)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; outputs are ordinary folders
    try:
        yield tmp
        if not target.exists():
            os.replace(tmp, target)
            return
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
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
