"""The one exception type for bad input, and how a key path is written.

Everything a user can get wrong (a file, a key, a value, a reference, a command-line override) ends
in an :class:`InputError` that names the file, the key path and what was expected. The CLI turns it
into one message and exit code 2; nothing below the CLI prints.
"""

from __future__ import annotations

from collections.abc import Sequence

Loc = tuple[str | int, ...]


def format_loc(loc: Sequence[str | int]) -> str:
    """Render a key path the way a user reads it: ``estate.cloud_services[2].vms[0].subnets``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class InputError(Exception):
    """Bad input: a file, the key path inside it (may be empty), and what was expected.

    ``more`` holds further problems found in the same pass, so a user can fix several at once.
    """

    def __init__(
        self,
        file: str | None,
        loc: Sequence[str | int],
        message: str,
        *,
        line: int | None = None,
        more: Sequence[str] = (),
    ) -> None:
        self.file = file
        self.loc: Loc = tuple(loc)
        self.message = message
        self.line = line
        self.more = tuple(more)
        super().__init__(self.render())

    @property
    def key_path(self) -> str:
        return format_loc(self.loc)

    def render(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        head = (
            f"{where}: {self.key_path}: {self.message}" if self.loc else f"{where}: {self.message}"
        )
        if not self.more:
            return head
        extra = "\n".join(f"  also: {m}" for m in self.more[:9])
        if len(self.more) > 9:
            extra += f"\n  ... and {len(self.more) - 9} more"
        return f"{head}\n{extra}"


class ReferenceProblem(Exception):
    """A dangling or conflicting reference inside an estate, found after the types are valid.

    Deliberately not a ``ValueError``: pydantic lets it through unwrapped, so the loader can report
    the exact key path instead of the path of the whole estate.
    """

    def __init__(self, problems: Sequence[tuple[Loc, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{format_loc(loc)}: {msg}" for loc, msg in self.problems))
