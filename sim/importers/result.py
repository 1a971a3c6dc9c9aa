"""What an import produces (:class:`ImportResult`), the pieces both importers share, and the
writer of the estate file (:func:`write_estate`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from sim.common.atomic import YAML_SUFFIXES, atomic_file, refuse_existing
from sim.common.errors import InputError, ReferenceProblem
from sim.importers.xmlsafe import Notes
from sim.model.estate import Estate, Gateway, GatewayKind, character_text, unsafe_character

T = TypeVar("T")


@dataclass(frozen=True)
class ImportResult:
    """An imported estate, the warnings about it, and the files it was read from."""

    estate: Estate
    warnings: tuple[str, ...]
    sources: tuple[str, ...]


# ---- shared by the importers ---------------------------------------------------------------------


def gateways_for(
    vnet: str, kinds: Iterable[GatewayKind], notes: Notes, taken: set[str]
) -> tuple[Gateway, ...]:
    """The gateways of a VNet from the kinds its connections imply.

    One kind: ``<vnet>-gateway``. Both (ExpressRoute and VPN coexisting, MIG011):
    ``<vnet>-gateway`` (ExpressRoute) and ``<vnet>-vpn-gateway``. ``taken`` holds the gateway
    names already given (a name is unique in the estate); a clash gets a ``-2``, ``-3`` suffix.
    """
    wanted = sorted(set(kinds))  # "expressroute" < "vpn"
    out: list[Gateway] = []
    for kind in wanted:
        base = f"{vnet}-vpn-gateway" if kind == "vpn" and len(wanted) > 1 else f"{vnet}-gateway"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name)
        out.append(Gateway(name=name, kind=kind))
        if kind == "expressroute":
            notes.warn(
                f"VNet {vnet}: ExpressRoute gateway {name} imported without a circuit (the"
                " exports do not name it); add the circuit to expressroute_circuits and set"
                " gateway.circuit for the ordering rule MIG010"
            )
    return tuple(out)


MAX_LOCATION = 200
"""The longest ``--location`` taken: the loader's ``Name`` (1 to 200 characters)."""


def check_location(value: str) -> str:
    """A region given with ``--location`` (``location=``): stripped, 1 to
    :data:`MAX_LOCATION` characters, as the estate holds names, and no character a name may
    not hold (a control character such as a newline or NUL, a bidirectional override: see
    :func:`sim.model.estate.unsafe_character`); else an :class:`InputError`."""
    region = value.strip()
    if not region:
        raise InputError(
            "--location", (), "is empty; expected the region's name, such as West Europe"
        )
    control = unsafe_character(region)
    if control is not None:
        raise InputError(
            "--location",
            (),
            f"{region[:40]!r} holds the control character {character_text(control)}; expected"
            " a region's name on one line, such as West Europe",
        )
    if len(region) > MAX_LOCATION:
        raise InputError(
            "--location",
            (),
            f"{region[:40]!r}... is longer than {MAX_LOCATION} characters; expected a region's"
            f" name of at most {MAX_LOCATION}, as the estate holds names",
        )
    return region


def pick_location(
    locations: Sequence[str],
    affinity_groups: Sequence[str],
    notes: Notes,
    *,
    default: str,
    given: str | None = None,
    warn_unnamed: bool = True,
) -> str:
    """The estate's location: ``given`` (``--location``) when there is one, else the most
    frequent region the documents name (first seen wins a tie), else ``default``.

    An affinity group is never a location: documents that name only affinity groups leave the
    location at ``default``, with one warning saying how to give the region; documents that name
    neither get one such warning too (unless ``warn_unnamed`` is false: nothing was imported).
    """
    if given is not None:
        named = [loc for loc in dict.fromkeys(locations) if loc != given]
        if named:
            notes.warn(
                f"the documents name the location {', '.join(named)}; estate location {given}"
                " (--location)"
            )
        return given
    if locations:
        counts = Counter(locations)
        best = max(counts, key=lambda loc: (counts[loc], -locations.index(loc)))
        if len(counts) > 1:
            listed = ", ".join(f"{loc} ({n})" for loc, n in counts.most_common())
            notes.warn(f"the documents name several locations: {listed}; estate location {best}")
        return best
    if affinity_groups:
        distinct = list(dict.fromkeys(affinity_groups))
        groups = ("affinity group " if len(distinct) == 1 else "affinity groups ") + ", ".join(
            repr(g) for g in distinct
        )
        notes.warn(
            f"the documents name the {groups}, not a region; estate location"
            f" {default} (an affinity group is not a location): give the affinity group's"
            " region with --location"
        )
    elif warn_unnamed:
        notes.warn(
            f"the documents name no location (no Location, no AffinityGroup); estate location"
            f" {default}: give the region with --location"
        )
    return default


def _invalid(shown: str, exc: ValidationError) -> InputError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    got = repr(first.get("input"))
    got = got if len(got) <= 60 else got[:57] + "..."
    message = str(first["msg"]).removeprefix("Value error, ")
    return InputError(
        shown, (), f"the imported estate is not valid at {where}: {message} (got {got})"
    )


def assembled(shown: str, make: Callable[[], T]) -> T:
    """``make()``, which builds estate records from values already checked one by one; a
    record that still refuses one (a name made longer by a suffix the importer adds) is an
    :class:`InputError` naming ``shown``, never a pydantic traceback."""
    try:
        return make()
    except ValidationError as exc:
        raise _invalid(shown, exc) from None


def build_estate(shown: str, data: dict[str, Any]) -> Estate:
    """Validate the assembled estate; an importer bug or an unresolvable input is exit 2."""
    try:
        estate = Estate.model_validate(data)
        # Records made with model_copy (a renamed VM) were never validated: once more from
        # plain data, so the estate written is one the loader reads back.
        return Estate.model_validate(estate.model_dump())
    except ValidationError as exc:
        raise _invalid(shown, exc) from None
    except ReferenceProblem as exc:
        raise InputError(shown, (), f"the imported estate does not hold together: {exc}") from None


# ---- writing -------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style for records that hold records; flow style for small leaf records and lists;
    list items indented under their key, as the hand-written scenarios are."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = len(data) <= 4 and all(_scalar(v) for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flow)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(_scalar(v) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # PyYAML's pure-Python emitter writes NEL (U+0085) raw inside a single-quoted scalar, which
    # then reads back folded to a space; double quotes escape it (\N), so the name survives.
    if any(ch in data for ch in "\x85\u2028\u2029"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_str(data)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_str)


def _comment(text: str) -> str:
    return " ".join(text.split())


def estate_yaml(result: ImportResult) -> str:
    """The estate file's text: a header comment, then the estate mapping without defaults."""
    data = result.estate.model_dump(mode="json", exclude_defaults=True)
    header = ["# Classic (ASM) estate imported by `migsim import` from:"]
    header += [f"#   {_comment(s)}" for s in result.sources]
    if result.warnings:
        header.append(f"# {len(result.warnings)} warning(s) at import; check them:")
        header += [f"#   - {_comment(w)}" for w in result.warnings]
    header.append("# Use it from a scenario with `estate: <path to this file>`.")
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2)
    return "\n".join(header) + "\n" + body


def write_estate(result: ImportResult, out: Path, *, force: bool = False) -> None:
    """Write ``result`` as an estate file at ``out``, atomically.

    An existing file is refused (:class:`InputError`) unless ``force``; a directory always is.
    The written text is loaded back before it replaces anything, so a file that exists is one
    that :func:`sim.model.scenario.load_estate` reads to the same estate.
    """
    from sim.model.scenario import load_estate

    refuse_existing(out, force=force, what="an estate file", suffixes=YAML_SUFFIXES)
    text = estate_yaml(result)
    with atomic_file(out, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
        try:
            again = load_estate(tmp)
        except InputError as exc:  # pragma: no cover - a writer bug, never a user error
            raise RuntimeError(f"the written estate does not load back: {exc}") from exc
        if again != result.estate:  # pragma: no cover - a writer bug, never a user error
            raise RuntimeError("the written estate loads back to a different estate")
