"""Parsing untrusted XML exports safely, and reading them by local element name.

Every file goes through defusedxml with DTDs, entity declarations and external references all
refused, so an XXE or an entity-expansion bomb never reaches the expat expansion code. Every failure
(a DTD, a truncated or non-XML file, an unreadable file) becomes one
:class:`~sim.common.errors.InputError` naming the file and, when expat knows it, the line.

The importers read documents through :class:`Reader`, which groups an element's children by local
name and counts the ones the importer does not know, so unknown elements become warnings rather
than errors.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

import defusedxml  # type: ignore[import-untyped, unused-ignore]
import defusedxml.ElementTree as defused_et  # type: ignore[import-untyped, unused-ignore]
from pydantic import BaseModel, ValidationError

from sim.common.errors import InputError
from sim.common.inputfiles import read_input, shown_path
from sim.model.estate import character_text, prefix_problem, unsafe_character

ASM_NS = "http://schemas.microsoft.com/windowsazure"
"""Namespace of the Service Management REST API responses."""

NETCFG_NS = "http://schemas.microsoft.com/ServiceHosting/2011/07/NetworkConfiguration"
"""Namespace of the network configuration file (``Get-AzureVNetConfig``)."""

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

MAX_BYTES = 256 * 1024 * 1024

_NIL = f"{{{XSI_NS}}}nil"
_TYPE = f"{{{XSI_NS}}}type"

# expat error codes (xml.parsers.expat.errors) that mean "the file stops too early".
_TRUNCATED = {3, 5, 6, 7}  # no element found, unclosed token, partial character, tag mismatch


def split_tag(tag: str) -> tuple[str | None, str]:
    """``"{ns}Name"`` -> ``("ns", "Name")``; ``"Name"`` -> ``(None, "Name")``."""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return None, tag


@dataclass(frozen=True, eq=False)
class XmlDocument:
    """One parsed file: its root element and the line each element starts on."""

    path: Path
    shown: str
    root: Element
    lines: dict[int, int] = field(repr=False)

    @property
    def name(self) -> str:
        """The file's name, as warnings show it."""
        return self.path.name

    @property
    def namespace(self) -> str | None:
        return split_tag(self.root.tag)[0]

    @property
    def root_name(self) -> str:
        return split_tag(self.root.tag)[1]

    def line(self, el: Element) -> int | None:
        return self.lines.get(id(el))

    def error(self, el: Element | None, message: str) -> InputError:
        """An :class:`InputError` about ``el`` (its line) in this file."""
        return InputError(self.shown, (), message, line=self.line(el) if el is not None else None)


class _LineTarget:
    """A tree-builder target that remembers the line each element starts on."""

    def __init__(self) -> None:
        self.builder = TreeBuilder()
        self.lines: dict[int, int] = {}
        self.parser: Any = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        el = self.builder.start(tag, attrs)
        self.lines[id(el)] = self.parser.parser.CurrentLineNumber
        return el

    def end(self, tag: str) -> Element:
        return self.builder.end(tag)

    def data(self, data: str) -> None:
        self.builder.data(data)

    def close(self) -> Element:
        return self.builder.close()


def _feed(raw: bytes, *, forbid_dtd: bool) -> tuple[Element, dict[int, int], Any]:
    target = _LineTarget()
    parser = defused_et.XMLParser(
        target=target, forbid_dtd=forbid_dtd, forbid_entities=True, forbid_external=True
    )
    target.parser = parser
    try:
        parser.feed(raw)
        root = parser.close()
    except Exception as exc:
        expat = getattr(parser, "parser", None)  # gone once close() has finished
        exc.expat_line = getattr(expat, "CurrentLineNumber", None)  # type: ignore[attr-defined]
        raise
    return root, target.lines, parser


def _refusal(raw: bytes, first: Exception) -> tuple[str, int | None]:
    """Describe a refused DTD as precisely as is safe: what it declares, and where.

    The first pass refuses any DTD. This second, diagnostic pass still refuses every entity
    declaration and external reference (at declaration time, before any expansion), so it only
    tells a plain DTD from an XXE or an entity bomb.
    """
    line: int | None = getattr(first, "expat_line", None)
    sysid = getattr(first, "sysid", None)
    base = "DTDs, entity declarations and external entities are refused"
    try:
        _feed(raw, forbid_dtd=False)
    except defusedxml.EntitiesForbidden as exc:
        line = getattr(exc, "expat_line", line)
        if exc.sysid or exc.pubid:
            target = exc.sysid or exc.pubid
            return (
                f"declares the external entity {exc.name!r} ({target!r}); {base} (XXE protection)",
                line,
            )
        return (
            f"declares the entity {exc.name!r} in a DTD; {base} (entity expansion bombs such as"
            " billion laughs)",
            line,
        )
    except defusedxml.ExternalReferenceForbidden as exc:
        line = getattr(exc, "expat_line", line)
        return f"refers to the external resource {exc.sysid!r}; {base} (XXE protection)", line
    except Exception:
        pass  # the first refusal stands; this pass only refines its wording
    if sysid:
        return f"has a DTD that refers to {sysid!r}; {base}", line
    return f"has a document type declaration (<!DOCTYPE ...>); {base}", line


def parse_xml(path: Path, shown: str | None = None) -> XmlDocument:
    """Read and parse one XML file with defusedxml; every problem is an :class:`InputError`."""
    shown = shown_path(shown or str(path))
    raw = read_input(path, shown, "an XML file", limit=MAX_BYTES)
    if not raw.strip():
        raise InputError(shown, (), "is empty; expected an XML document", line=1)
    try:
        root, lines, _ = _feed(raw, forbid_dtd=True)
    except (
        defusedxml.DTDForbidden,
        defusedxml.EntitiesForbidden,
        defusedxml.ExternalReferenceForbidden,
    ) as exc:
        message, line = _refusal(raw, exc)
        raise InputError(shown, (), f"refused: the file {message}", line=line) from None
    except ParseError as exc:
        line, column = exc.position
        what = str(exc).split(":", 1)[0]
        if exc.code in _TRUNCATED:
            message = (
                f"XML is truncated or malformed ({what}, line {line}, column {column});"
                " expected a complete XML document (was the export cut short?)"
            )
        elif line == 1 and column == 0:
            message = (
                f"is not XML ({what} at the first character); expected an XML document"
                " such as a Service Management API response"
            )
        else:
            message = f"malformed XML ({what}, line {line}, column {column})"
        raise InputError(shown, (), message, line=line) from None
    except (LookupError, ValueError) as exc:
        # an unknown encoding declaration, or another expat refusal without a position
        raise InputError(
            shown, (), f"cannot be parsed as XML ({exc})", line=getattr(exc, "expat_line", None)
        ) from None
    except RecursionError:
        raise InputError(shown, (), "XML nesting is too deep") from None
    return XmlDocument(path, shown, root, lines)


# ---- reading elements ----------------------------------------------------------------------------


def is_nil(el: Element) -> bool:
    return el.get(_NIL, "").strip().lower() == "true"


def xsi_type(el: Element) -> str | None:
    value = el.get(_TYPE)
    return value.rsplit(":", 1)[-1] if value else None


def text_of(el: Element | None) -> str | None:
    """Stripped text, or None for a missing, empty or ``i:nil`` element."""
    if el is None or is_nil(el):
        return None
    value = (el.text or "").strip()
    return value or None


class Fields:
    """An element's known children, grouped by local name."""

    def __init__(self, el: Element, groups: dict[str, list[Element]]) -> None:
        self.element = el
        self._groups = groups

    def all(self, name: str) -> list[Element]:
        return self._groups.get(name, [])

    def one(self, name: str) -> Element | None:
        found = self._groups.get(name)
        return found[0] if found else None

    def text(self, name: str) -> str | None:
        return text_of(self.one(name))

    def __contains__(self, name: str) -> bool:
        return name in self._groups


class Notes:
    """Warnings of one import: plain messages, and unknown elements counted once per file."""

    def __init__(self) -> None:
        self._messages: dict[str, None] = {}
        self._unknown: dict[tuple[str, str], int] = {}

    def warn(self, message: str) -> None:
        self._messages.setdefault(message, None)

    def unknown(self, element: str, file: str) -> None:
        key = (element, file)
        self._unknown[key] = self._unknown.get(key, 0) + 1

    def as_tuple(self) -> tuple[str, ...]:
        out = list(self._messages)
        for (element, file), n in self._unknown.items():
            times = "once" if n == 1 else f"{n} times"
            out.append(f"unknown element {element} ({times}) in {file}")
        return tuple(out)


class Reader:
    """Reads one document: children by local name in the document's namespace."""

    def __init__(self, doc: XmlDocument, notes: Notes) -> None:
        self.doc = doc
        self.notes = notes
        self.ns = doc.namespace

    def fields(self, el: Element, known: Collection[str]) -> Fields:
        """Group ``el``'s children by local name; the others are counted as unknown elements."""
        groups: dict[str, list[Element]] = {}
        for child in el:
            if not isinstance(child.tag, str):  # pragma: no cover - comments are not kept
                continue
            ns, name = split_tag(child.tag)
            if ns == self.ns and name in known:
                groups.setdefault(name, []).append(child)
            else:
                shown = name if ns == self.ns else child.tag
                self.notes.unknown(shown, self.doc.name)
        return Fields(el, groups)

    def peek(self, el: Element, name: str) -> str | None:
        """The text of ``el``'s first child called ``name``, without counting anything."""
        for child in el:
            if split_tag(child.tag) == (self.ns, name):
                return text_of(child)
        return None

    def local(self, el: Element) -> str:
        return split_tag(el.tag)[1]

    def error(self, el: Element | None, message: str) -> InputError:
        return self.doc.error(el, message)

    def name(self, el: Element, value: str | None, what: str, field: str = "Name") -> str:
        """A resource name (from the child or attribute ``field``): present, at most
        :data:`MAX_NAME` characters (the loader's ``Name``)."""
        if value is None:
            raise self.error(el, f"{what} has no {field}; expected a non-empty name")
        return self.check_text(el, value, f"{what} name")

    def check_text(self, el: Element | None, value: str, what: str) -> str:
        """A value the estate keeps as text (a name, a size, a location): at most
        :data:`MAX_NAME` characters and no character the loader's ``Name`` refuses (a control
        character such as a tab or newline, written ``&#9;`` or ``&#10;`` in XML; a
        bidirectional override; a line separator)."""
        if len(value) > MAX_NAME:
            raise self.error(
                el,
                f"{what} {value[:40]!r}... is longer than {MAX_NAME} characters; expected at most"
                f" {MAX_NAME}, as the estate holds names",
            )
        ch = unsafe_character(value)
        if ch is not None:
            raise self.error(
                el,
                f"{what} {value[:40]!r} holds the control character {character_text(ch)};"
                " expected a name without control characters, bidirectional overrides or line"
                " separators, as the estate holds names",
            )
        return value

    def text(self, f: Fields, child: str, what: str) -> str | None:
        """The text of ``f``'s child ``child`` (None when absent), checked by
        :meth:`check_text` at the child's line."""
        value = f.text(child)
        return None if value is None else self.check_text(f.one(child), value, what)

    def attr(self, el: Element, name: str, what: str) -> str | None:
        """The stripped attribute ``name`` of ``el`` (None when absent or empty), checked by
        :meth:`check_text`."""
        value = (el.get(name) or "").strip()
        return self.check_text(el, value, what) if value else None

    def build(self, el: Element | None, cls: type[M], what: str, **values: Any) -> M:
        """``cls(**values)``, a record of the estate; a value it refuses is an
        :class:`InputError` at ``el``'s line, never a pydantic traceback."""
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            got = repr(first.get("input"))
            got = got if len(got) <= 60 else got[:57] + "..."
            message = str(first["msg"]).removeprefix("Value error, ")
            raise self.error(el, f"{what}: {where}: {message} (got {got})") from None


MAX_NAME = 200
"""The longest name (and other text) taken from XML: the loader's ``Name`` (1 to 200)."""

M = TypeVar("M", bound=BaseModel)

_STORAGE_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")


def check_prefix(reader: Reader, el: Element | None, value: str, what: str) -> str:
    """An IPv4 CIDR prefix as the estate holds it (parsed with :mod:`ipaddress` by
    :func:`sim.model.estate.prefix_problem`), else an :class:`InputError` at ``el``."""
    problem = prefix_problem(value)
    if problem is not None:
        raise reader.error(
            el,
            f"{what} {value[:60]!r} is not a CIDR prefix ({problem}); expected one such as"
            " 10.0.0.0/16",
        )
    return value


def check_address(reader: Reader, el: Element | None, value: str, what: str) -> str:
    """An IP address (IPv4 or IPv6, parsed with :mod:`ipaddress`), else an
    :class:`InputError` at ``el``."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise reader.error(
            el, f"{what} {value[:60]!r} is not an IP address; expected one such as 10.0.0.4"
        ) from None
    return value


def check_storage_account(reader: Reader, el: Element | None, value: str, what: str) -> str:
    """A storage account name as Azure allows it: 3 to 24 lowercase letters and digits."""
    if not _STORAGE_ACCOUNT.fullmatch(value):
        raise reader.error(
            el,
            f"{what} {value[:40]!r}{'...' if len(value) > 40 else ''} is not a storage account"
            " name; expected 3 to 24 lowercase letters and digits",
        )
    return value
