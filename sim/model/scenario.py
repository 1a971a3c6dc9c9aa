"""A scenario (one classic estate plus one plan) and the loader that turns a YAML file into it.

The loader is the boundary: it reads bytes, refuses what is not UTF-8, parses with PyYAML's safe
loader (refusing alias bombs and duplicate keys), applies ``--set`` overrides, and validates into
frozen records. Every failure is one :class:`~sim.common.errors.InputError` naming the file, the
line when known, the key path and what was expected.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from sim.common.errors import InputError, Loc, ReferenceProblem, format_loc
from sim.common.gcpause import paused_gc
from sim.common.inputfiles import MAX_TEXT_BYTES, read_input, shown_path
from sim.model.estate import Estate, FreeText, Model, Plain
from sim.model.plan import Plan

try:  # libyaml's parser and emitter are several times faster on large estates; same safe ones
    from yaml import CSafeDumper as _Dumper
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """The safe loader, except that a timestamp that is no date (month 13, an offset of 25
    hours) stays its text: the record's validator then says what was expected, at its key path
    and line, instead of PyYAML raising a bare ``ValueError``."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except (ValueError, OverflowError):
            return self.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


class Scenario(Model):
    name: Plain = Field(min_length=1)
    description: FreeText = ""
    estate: Estate
    plan: Plan = Plan()


# An expanded document may hold this many nodes more than its text spells out before it is
# refused as an alias bomb ("billion laughs"): generous for anchors a person writes by hand.
_EXPANSION_ALLOWANCE = 100_000
_MAX_BYTES = MAX_TEXT_BYTES


class _Document:
    """Parsed YAML and its text: the node tree, to find the line of a key path, is parsed again
    only when an error needs a line number.

    Not keeping the tree while the records are validated halves the loader's peak memory on a
    big estate and leaves the records closer together in memory (faster to work on after).
    """

    def __init__(self, file: str, data: Any, text: str | None) -> None:
        self.file = file
        self.data = data
        self.text = text
        self._root: yaml.Node | None = None

    @property
    def root(self) -> yaml.Node | None:
        if self._root is None and self.text is not None:
            loader = _Loader(self.text)
            try:
                self._root = loader.get_single_node()
            finally:
                loader.dispose()
        return self._root

    def holds(self, loc: Loc) -> bool:
        """Whether the file's text itself has the key path ``loc`` (an override may have made
        it)."""
        node = self.root
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                node = node.value[part] if 0 <= part < len(node.value) else None
            else:
                node = None
            if node is None:
                return False
        return node is not None

    def line_of(self, loc: Loc) -> int | None:
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
                if match is None:
                    break
                node = match
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                node = node.value[part]
            else:
                break
            line = node.start_mark.line + 1
        return line


def read_text(path: Path, shown: str, what: str, suffix: str = ".yaml") -> str:
    """The UTF-8 text of an input file, or one :class:`InputError` saying what is wrong with it.

    ``what`` names the kind of file expected (``a scenario file``); ``suffix`` its usual ending.
    The path must be a regular file of at most ``_MAX_BYTES`` (:mod:`sim.common.inputfiles`).
    """
    raw = read_input(path, shown, f"{what} ({suffix})", limit=_MAX_BYTES)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            shown_path(shown),
            (),
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start});"
            f" expected {what} encoded as UTF-8",
            line=line,
        ) from None


def _check_tree(root: yaml.Node, shown: str, *, anchors: bool = True) -> None:
    """Refuse duplicate mapping keys and alias expansion bombs, walking each node once.

    ``anchors=False`` says the text holds no ``&`` at all, so no anchor and no alias: the nodes
    form a tree, no expansion is possible and only the duplicate keys are checked (same walk
    order, so the same first error).
    """
    if not anchors:
        _check_keys(root, shown)
        return
    sizes: dict[int, int] = {}
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes and not children_done:
            continue  # an alias: counted by size, not walked again
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            distinct += 1
            continue
        kids: list[yaml.Node] = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if not children_done:
            sizes[key] = 0  # marks "in progress"; a recursive alias then counts as 0
            distinct += 1
            if isinstance(node, yaml.MappingNode):
                _duplicate_key(node, shown)
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids)
        else:
            sizes[key] = 1 + sum(sizes.get(id(kid), 1) for kid in kids)
            if sizes[key] > distinct + _EXPANSION_ALLOWANCE and sizes[key] > 10 * distinct:
                raise InputError(
                    shown,
                    (),
                    f"YAML aliases expand to more than {sizes[key]:,} nodes from {distinct:,}"
                    " written ones; refused as an alias bomb",
                    line=node.start_mark.line + 1,
                )


def _duplicate_key(node: yaml.MappingNode, shown: str) -> None:
    seen: set[str] = set()
    for k, _ in node.value:
        if isinstance(k, yaml.ScalarNode):
            if k.value in seen:
                raise InputError(
                    shown,
                    (),
                    f"duplicate key {k.value!r} in one mapping; expected each key once",
                    line=k.start_mark.line + 1,
                )
            seen.add(k.value)


def _check_keys(root: yaml.Node, shown: str) -> None:
    """The duplicate-key half of :func:`_check_tree` for a tree (no aliases), in its order."""
    mapping, scalar = yaml.MappingNode, yaml.ScalarNode
    stack: list[yaml.Node] = [root]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        if isinstance(node, mapping):
            keys = [k.value for k, _ in node.value if isinstance(k, scalar)]
            if len(set(keys)) != len(keys):
                _duplicate_key(node, shown)
            for pair in node.value:
                for kid in pair:
                    if not isinstance(kid, scalar):
                        push(kid)
        elif not isinstance(node, scalar):
            for kid in node.value:
                if not isinstance(kid, scalar):
                    push(kid)


class _NotPlain(Exception):
    """A node :func:`_construct_tree` leaves to PyYAML's own constructor."""


_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _TAG + "str", _TAG + "map", _TAG + "seq"
_PLAIN_SCALARS = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp"))
_SPECIAL_KEYS = frozenset((_TAG + "merge", _TAG + "value"))


_TOO_LONG = (
    "holds a number of more than 4,300 digits, which cannot be read; expected a number within"
    " its documented range (docs/scenario-format.md, Ranges)"
)


def _construct_tree(loader: _Loader, root: yaml.Node) -> Any:
    """``loader.construct_document(root)`` for a document without anchors, several times faster.

    PyYAML builds every mapping and list through a generator and a state list; this does the
    same work level by level in the same order (so the same first error), constructing plain
    strings itself and other scalars with the loader. Any node it does not handle (merge keys,
    ``!!set``, ``!!omap``, another tag) sends the whole document to PyYAML's constructor.
    """
    scalar, mapping, sequence = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode
    construct = loader.construct_object

    def make(node: yaml.Node, later: list[tuple[yaml.Node, Any]]) -> Any:
        kind, tag = type(node), node.tag
        if kind is scalar:
            if tag == _STR:
                return node.value
            if tag in _PLAIN_SCALARS:
                try:
                    return construct(node)
                except ValueError:  # too many digits: said with the line of the value
                    raise yaml.constructor.ConstructorError(
                        None, None, _TOO_LONG.removeprefix("holds "), node.start_mark
                    ) from None
            raise _NotPlain
        out: Any
        if kind is mapping and tag == _MAP:
            out = {}
        elif kind is sequence and tag == _SEQ:
            out = []
        else:
            raise _NotPlain
        later.append((node, out))
        return out

    try:
        queue: list[tuple[yaml.Node, Any]] = []
        data = make(root, queue)
        while queue:
            level, queue = queue, []
            for node, out in level:
                if type(out) is list:
                    out.extend([make(kid, queue) for kid in node.value])
                    continue
                if any(k.tag in _SPECIAL_KEYS for k, _ in node.value):
                    raise _NotPlain
                items: dict[Any, Any] = {}
                for key_node, value_node in node.value:
                    key = make(key_node, queue)
                    if not isinstance(key, Hashable):
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping",
                            node.start_mark,
                            "found unhashable key",
                            key_node.start_mark,
                        )
                    items[key] = make(value_node, queue)
                out.update(items)
    except _NotPlain:
        loader.constructed_objects = {}
        loader.recursive_objects = {}
        return loader.construct_document(root)
    loader.constructed_objects = {}
    return data


def parse_yaml(path: Path, shown: str | None = None, what: str = "a scenario file") -> _Document:
    """Read and parse one YAML file safely; the result is plain data plus its node tree."""
    shown = shown or str(path)
    text = read_text(path, shown, what)
    loader = _Loader(text)
    try:
        with paused_gc():
            root = loader.get_single_node()
            if root is None:
                return _Document(shown, None, text)
            anchors = "&" in text
            _check_tree(root, shown, anchors=anchors)
            data = loader.construct_document(root) if anchors else _construct_tree(loader, root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or "malformed YAML"
        raise InputError(shown, (), f"malformed YAML: {what}", line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(shown, (), f"malformed YAML: {exc}") from None
    except RecursionError:
        raise InputError(shown, (), "YAML nesting is too deep") from None
    except ValueError:  # an int of more than 4,300 digits (Python's limit), anywhere in it
        raise InputError(shown, (), _TOO_LONG) from None
    finally:
        loader.dispose()
    return _Document(shown, data, text)


# ---- --set overrides ---------------------------------------------------------------------------

_SET_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")


def _parse_set_path(text: str) -> list[str | int]:
    parts: list[str | int] = []
    for segment in text.split("."):
        pos = 0
        if not segment:
            raise ValueError
        while pos < len(segment):
            m = _SET_PART.match(segment, pos)
            if m is None:
                raise ValueError
            parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
            pos = m.end()
    return parts


def blamed_file(scenario: str, loc: Loc, overrides: Sequence[str]) -> str:
    """Who to blame for a problem at ``loc`` found after loading: ``--set`` or the scenario.

    A check that runs after the loader (a unit named in ``plan.waves`` or ``plan.ordering``
    that the estate does not have) blames ``--set`` when an override wrote that key path.
    """
    for item in overrides:
        key, sep, _ = item.partition("=")
        try:
            path = tuple(_parse_set_path(key.strip()))
        except ValueError:
            continue
        if sep and loc[: len(path)] == path:
            return "--set"
    return scenario


def _list_item(node: Any, path: Sequence[str | int], i: int) -> None:
    """Refuse ``path[i]`` (an index ``[N]``) unless ``node``, what ``path[:i]`` holds, is a list
    with an item N: ``plan.crews[0]`` is "plan.crews is not a list", not a missing item."""
    index = path[i]
    if not isinstance(node, list):
        got = "a mapping" if isinstance(node, dict) else repr(node)
        got = got if len(got) <= 40 else got[:37] + "..."
        raise InputError(
            "--set",
            path[:i],
            f"{'' if i else 'the top of the scenario '}is not a list (it holds {got});"
            f" expected a list for [{index}]",
        )
    if not 0 <= int(index) < len(node):
        raise InputError(
            "--set",
            path[: i + 1],
            f"no such list item ({format_loc(path[:i])} has {len(node)} item"
            f"{'' if len(node) == 1 else 's'})",
        )


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> list[Loc]:
    """Apply ``KEY.PATH=VALUE`` overrides in place; values are read as YAML (``3``, ``2h``).

    Returns the key paths it set, so that a bad value is blamed on ``--set``, not the file.
    """
    done: list[Loc] = []
    for item in overrides:
        key, sep, value_text = item.partition("=")
        try:
            if not sep:
                raise ValueError
            path = _parse_set_path(key.strip())
        except ValueError:
            raise InputError(
                "--set", (), f"{item!r}: expected KEY.PATH=VALUE, for example plan.crews=3"
            ) from None
        try:
            value = yaml.load(value_text, Loader=_Loader)  # a safe loader
        except yaml.YAMLError:
            raise InputError("--set", path, f"value {value_text!r} is not valid YAML") from None
        except ValueError:  # an int of more than 4,300 digits (Python's limit)
            raise InputError("--set", path, _TOO_LONG) from None
        node: Any = data
        for i, part in enumerate(path[:-1]):
            nxt = path[i + 1]
            if isinstance(part, int):
                _list_item(node, path, i)
                node = node[part]
            else:
                if not isinstance(node, dict):
                    raise InputError("--set", path[: i + 1], "expected a mapping here")
                if node.get(part) is None:
                    node[part] = [] if isinstance(nxt, int) else {}
                node = node[part]
        last = path[-1]
        if isinstance(last, int):
            _list_item(node, path, len(path) - 1)
            node[last] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise InputError("--set", path[:-1], "expected a mapping here")
        done.append(tuple(path))
    return done


# ---- validation errors into messages -----------------------------------------------------------


def _real_loc(data: Any, loc: Sequence[Any]) -> Loc:
    """Drop pydantic's union/validator tags from a location, keeping keys that exist in the data."""
    out: list[str | int] = []
    node = data
    for part in loc:
        is_key = isinstance(node, dict) and isinstance(part, str) and part in node
        is_item = isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node)
        if is_key or is_item:
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not _is_tag(part):
            out.append(part)  # a missing or unknown key: name it, then stop
            break
    return tuple(out)


def _is_tag(part: str) -> bool:
    return (
        any(ch in part for ch in "[]()")
        or part
        in {
            "str",
            "int",
            "float",
            "bool",
            "dict",
            "list",
            "tuple",
            "datetime",
        }
        or part.startswith(("function-", "lax-", "strict-", "json-"))
    )


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The record type that holds the key at ``loc`` (for listing the keys it accepts)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if origin is typing.Annotated:
        return _inner_model(typing.get_args(annotation)[0])
    if origin in (tuple, list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _describe(err: Any, model: type[BaseModel], loc: Loc) -> str:
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        holder = _model_at(model, loc)
        if holder is not None:
            keys = ", ".join(f.alias or n for n, f in holder.model_fields.items())
            return f"unknown key {loc[-1]!r}; expected one of: {keys}"
        return f"unknown key {loc[-1]!r}"
    if kind == "missing":
        return f"missing required key {loc[-1]!r}" if loc else "missing required key"
    msg = msg.removeprefix("Value error, ")
    got = err.get("input")
    if msg.startswith("expected") or isinstance(got, dict):
        # a check of a whole block (plan) names its keys itself; its input is the block
        return msg
    shown = repr(got)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{msg[0].lower()}{msg[1:]} (got {shown})"


def validation_error(
    exc: ValidationError,
    doc: _Document,
    model: type[BaseModel],
    prefix: Loc = (),
    overridden: Sequence[Loc] = (),
) -> InputError:
    found: list[tuple[Loc, str]] = []
    seen: set[Loc] = set()
    for err in exc.errors():
        loc = _real_loc(doc.data, err["loc"])
        if loc in seen:
            continue  # one union failing on every branch: report it once
        seen.add(loc)
        found.append((loc, _describe(err, model, loc)))
    (loc, message), rest = found[0], found[1:]
    # the key an override wrote; a check of the block holding it that names that key (its whole
    # path, or quoted, its path inside the block: 'for' of plan.maintenance_windows[0]); or a key
    # the file does not have, which an override made by writing below it (--set
    # plan.remedies.MIG032.remediate=10m: the problem is plan.remedies.MIG032 itself)
    from_set = any(
        loc[: len(o)] == o
        or (o[: len(loc)] == loc and (_names_key(message, o, loc) or not doc.holds(loc)))
        for o in overridden
    )
    return InputError(
        "--set" if from_set else doc.file,
        (*prefix, *loc),
        message,
        line=None if from_set else doc.line_of(loc),
        more=[f"{_fmt(prefix + lc)}: {m}" for lc, m in rest],
    )


def _names_key(message: str, key: Loc, block: Loc) -> bool:
    """Whether a check of ``block`` names ``key`` (a key path below it) in ``message``: its
    whole path (``plan.deadline``) or, quoted, its path inside the block (``'for'``)."""
    inside = format_loc(key[len(block) :])
    return _fmt(key) in message or (bool(inside) and f"'{inside}'" in message)


def _fmt(loc: Loc) -> str:
    from sim.common.errors import format_loc

    return format_loc(loc) or "<top>"


def _references(
    problem: ReferenceProblem, doc: _Document, prefix: Loc, overridden: Sequence[Loc] = ()
) -> InputError:
    (loc, message), rest = problem.problems[0], problem.problems[1:]
    full = (*prefix, *loc)
    from_set = any(full[: len(o)] == o for o in overridden)
    return InputError(
        "--set" if from_set else doc.file,
        full,
        message,
        line=None if from_set else doc.line_of(full),
        more=[f"{_fmt((*prefix, *lc))}: {m}" for lc, m in rest],
    )


# ---- the loader ------------------------------------------------------------------------------


def load_estate(path: str | Path) -> Estate:
    """Load a stand-alone estate file (the mapping that ``estate:`` would hold)."""
    with paused_gc():  # one pause for parsing and validation (see paused_gc)
        return _load_estate(path)


def _load_estate(path: str | Path) -> Estate:
    doc = parse_yaml(Path(path), str(path))
    if not isinstance(doc.data, dict):
        raise InputError(doc.file, (), "expected a mapping of estate keys at the top")
    try:
        return Estate.model_validate(doc.data)
    except ValidationError as exc:
        raise validation_error(exc, doc, Estate) from None
    except ReferenceProblem as exc:
        raise _references(exc, doc, ()) from None


_ESTATE_KEYS = frozenset(f.alias or n for n, f in Estate.model_fields.items())


def _is_estate(data: dict[str, Any]) -> bool:
    """A mapping with estate keys only (an estate file, as ``migsim generate --estate-only`` or
    ``migsim import`` write), given where a scenario was expected."""
    return bool(data) and "estate" not in data and all(k in _ESTATE_KEYS for k in data)


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Load, override and validate a scenario file; raise :class:`InputError` on any bad input."""
    with paused_gc():  # one pause for parsing and validation (see paused_gc)
        return _load_scenario(Path(path), overrides)


def _load_scenario(path: Path, overrides: Sequence[str]) -> Scenario:
    doc = parse_yaml(path, str(path))
    if not isinstance(doc.data, dict):
        raise InputError(
            doc.file, (), "expected a mapping with keys name, estate and plan at the top"
        )
    data: dict[str, Any] = doc.data
    if _is_estate(data):
        raise InputError(
            doc.file,
            (),
            f"is an estate, not a scenario: write a scenario with `estate: {path.name}` and a"
            " `plan:` block (docs/scenario-format.md), or use `migsim generate` without"
            " --estate-only",
        )
    estate_doc: _Document | None = None
    if isinstance(data.get("estate"), str):
        if not data["estate"].strip():
            raise InputError(
                doc.file,
                ("estate",),
                "expected an estate mapping or the path of an estate file",
                line=doc.line_of(("estate",)),
            )
        if "\x00" in data["estate"]:
            raise InputError(
                doc.file,
                ("estate",),
                "the path holds a NUL byte; expected the path of an estate file",
                line=doc.line_of(("estate",)),
            )
        # Not resolved: a loop of symbolic links is refused by the reader, with its path.
        estate_path = path.parent / data["estate"]
        shown = str(Path(str(path.parent)) / data["estate"])
        estate_doc = parse_yaml(
            estate_path, shown, f"an estate file (named by the estate key of {doc.file})"
        )
        if not isinstance(estate_doc.data, dict):
            raise InputError(shown, (), "expected a mapping of estate keys at the top")
        data = {**data, "estate": estate_doc.data}
    overridden = apply_overrides(data, overrides) if overrides else []
    if estate_doc is not None:
        # A separate estate file reports its own key paths, relative to its own top.
        inner = [o[1:] for o in overridden if o[:1] == ("estate",)]
        try:
            data = {**data, "estate": Estate.model_validate(data["estate"])}
        except ValidationError as exc:
            raise validation_error(exc, estate_doc, Estate, overridden=inner) from None
        except ReferenceProblem as exc:
            raise _references(exc, estate_doc, (), inner) from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error(
            exc, _Document(doc.file, data, doc.text), Scenario, overridden=overridden
        ) from None
    except ReferenceProblem as exc:
        raise _references(exc, doc, ("estate",), overridden) from None


# ---- writing a scenario back -------------------------------------------------------------------


@paused_gc()  # hundreds of thousands of YAML nodes, all alive until the end
def dump_yaml(data: Any) -> str:
    """``data`` as YAML text: flow style for the innermost mappings and lists (a disk, a subnet
    list on one line), block style above, keys in their order; compact and still readable."""
    text: str = yaml.dump(
        data,
        Dumper=_Dumper,
        default_flow_style=None,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return text


@paused_gc()  # a dict per record of the estate, all alive until written (0.94 -> 0.27 s, 50k VMs)
def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """``scenario`` as plain data that :func:`load_scenario` reads back to an equal scenario.

    The estate is written inline with its defaults left out (what an estate file holds); the
    plan is written in full, every default spelled out, because a step duration written as a
    mapping keeps the defaults of the keys it leaves out (so leaving out a value equal to the
    record's own default could change it on reading).
    """
    data: dict[str, Any] = {"name": scenario.name}
    if scenario.description:
        data["description"] = scenario.description
    data["estate"] = scenario.estate.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    data["plan"] = scenario.plan.model_dump(mode="json", by_alias=True)
    return data


def scenario_to_yaml(scenario: Scenario, header: str = "") -> str:
    """A scenario file of ``scenario`` (see :func:`scenario_data`), after ``header`` (each of
    its lines written as a ``#`` comment)."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + dump_yaml(scenario_data(scenario))
