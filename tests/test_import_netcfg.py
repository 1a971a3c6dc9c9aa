"""``import_netcfg``: network configuration files (Get-AzureVNetConfig) of our own writing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sim.common.errors import InputError
from sim.importers import import_netcfg, write_estate
from sim.model.scenario import Scenario, load_estate
from sim.model.validation import validate_scenario

NETCFG_NS = "http://schemas.microsoft.com/ServiceHosting/2011/07/NetworkConfiguration"

NETCFG = f"""<?xml version="1.0" encoding="utf-8"?>
<NetworkConfiguration xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NETCFG_NS}">
  <VirtualNetworkConfiguration>
    <Dns>
      <DnsServers>
        <DnsServer name="dc-01" IPAddress="10.10.1.4" />
        <DnsServer name="dc-02" IPAddress="10.10.1.5" />
      </DnsServers>
    </Dns>
    <LocalNetworkSites>
      <LocalNetworkSite name="hq">
        <AddressSpace><AddressPrefix>192.168.0.0/16</AddressPrefix></AddressSpace>
        <VPNGatewayAddress>203.0.113.10</VPNGatewayAddress>
      </LocalNetworkSite>
    </LocalNetworkSites>
    <VirtualNetworkSites>
      <VirtualNetworkSite name="vnet-core" Location="West Europe">
        <AddressSpace>
          <AddressPrefix>10.10.0.0/16</AddressPrefix>
        </AddressSpace>
        <Subnets>
          <Subnet name="infra"><AddressPrefix>10.10.1.0/24</AddressPrefix></Subnet>
          <Subnet name="GatewaySubnet"><AddressPrefix>10.10.255.0/29</AddressPrefix></Subnet>
        </Subnets>
        <DnsServersRef>
          <DnsServerRef name="dc-01" />
          <DnsServerRef name="dc-02" />
        </DnsServersRef>
        <Gateway>
          <ConnectionsToLocalNetwork>
            <LocalNetworkSiteRef name="hq-er"><Connection type="Dedicated" /></LocalNetworkSiteRef>
          </ConnectionsToLocalNetwork>
        </Gateway>
      </VirtualNetworkSite>
      <VirtualNetworkSite name="vnet-branch" Location="West Europe">
        <AddressSpace>
          <AddressPrefix>10.20.0.0/16</AddressPrefix>
          <AddressPrefix>172.16.0.0/20</AddressPrefix>
        </AddressSpace>
        <Subnets>
          <Subnet name="app"><AddressPrefix>10.20.1.0/24</AddressPrefix></Subnet>
        </Subnets>
        <DnsServersRef><DnsServerRef name="dc-01" /></DnsServersRef>
        <Gateway>
          <ConnectionsToLocalNetwork>
            <LocalNetworkSiteRef name="hq"><Connection type="IPsec" /></LocalNetworkSiteRef>
          </ConnectionsToLocalNetwork>
        </Gateway>
      </VirtualNetworkSite>
      <VirtualNetworkSite name="vnet-both" Location="North Europe">
        <AddressSpace><AddressPrefix>10.30.0.0/16</AddressPrefix></AddressSpace>
        <Gateway>
          <ConnectionsToLocalNetwork>
            <LocalNetworkSiteRef name="hq"><Connection type="IPsec" /></LocalNetworkSiteRef>
            <LocalNetworkSiteRef name="hq-er"><Connection type="Dedicated" /></LocalNetworkSiteRef>
          </ConnectionsToLocalNetwork>
        </Gateway>
      </VirtualNetworkSite>
      <VirtualNetworkSite name="vnet-plain" AffinityGroup="ag-west">
        <AddressSpace><AddressPrefix>10.40.0.0/16</AddressPrefix></AddressSpace>
        <Subnets><Subnet name="only"><AddressPrefix>10.40.0.0/24</AddressPrefix></Subnet></Subnets>
      </VirtualNetworkSite>
    </VirtualNetworkSites>
  </VirtualNetworkConfiguration>
</NetworkConfiguration>
"""


def write(tmp_path: Path, text: str, name: str = "netcfg.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sites_subnets_dns(tmp_path: Path) -> None:
    result = import_netcfg(write(tmp_path, NETCFG))
    estate = result.estate
    assert [v.name for v in estate.vnets] == ["vnet-core", "vnet-branch", "vnet-both", "vnet-plain"]
    core = estate.vnet("vnet-core")
    assert core.address_space == ("10.10.0.0/16",)
    assert [(s.name, s.prefix) for s in core.subnets] == [
        ("infra", "10.10.1.0/24"),
        ("GatewaySubnet", "10.10.255.0/29"),
    ]
    assert core.dns_servers == ("10.10.1.4", "10.10.1.5")
    branch = estate.vnet("vnet-branch")
    assert branch.address_space == ("10.20.0.0/16", "172.16.0.0/20")
    assert branch.dns_servers == ("10.10.1.4",)
    assert estate.location == "West Europe"
    assert estate.subscription == "imported"
    assert result.sources == (str(tmp_path / "netcfg.xml"),)


def test_gateways_from_connections(tmp_path: Path) -> None:
    result = import_netcfg(write(tmp_path, NETCFG))
    estate = result.estate

    def gateways(name: str) -> list[tuple[str, str]]:
        return [(g.name, g.kind) for g in estate.vnet(name).gateway]

    assert gateways("vnet-core") == [("vnet-core-gateway", "expressroute")]
    assert gateways("vnet-branch") == [("vnet-branch-gateway", "vpn")]
    assert gateways("vnet-both") == [
        ("vnet-both-gateway", "expressroute"),
        ("vnet-both-vpn-gateway", "vpn"),
    ]
    assert gateways("vnet-plain") == []
    assert all(g.circuit is None for v in estate.vnets for g in v.gateway)
    circuit_warnings = [w for w in result.warnings if "without a circuit" in w]
    assert len(circuit_warnings) == 2
    report = validate_scenario(Scenario(name="x", estate=estate))
    mig011 = [f for f in report.findings if f.rule == "MIG011"]
    assert [f.unit for f in mig011] == ["vnet-both"]


def test_round_trip_through_estate_file(tmp_path: Path) -> None:
    result = import_netcfg(write(tmp_path, NETCFG))
    out = tmp_path / "out" / "estate.yaml"
    write_estate(result, out)
    assert load_estate(out) == result.estate
    assert str(tmp_path / "netcfg.xml") in out.read_text(encoding="utf-8")


def test_unknown_dns_reference_and_elements_warned(tmp_path: Path) -> None:
    text = NETCFG.replace('<DnsServerRef name="dc-02" />', '<DnsServerRef name="dc-99" />')
    text = text.replace("<Subnets>", "<Subnets><Sparkle/>").replace(
        "</Gateway>", "</Gateway><Teleporter/>", 1
    )
    result = import_netcfg(write(tmp_path, text))
    assert result.estate.vnet("vnet-core").dns_servers == ("10.10.1.4",)
    assert any("'dc-99'" in w for w in result.warnings)
    assert "unknown element Sparkle (3 times) in netcfg.xml" in result.warnings
    assert "unknown element Teleporter (once) in netcfg.xml" in result.warnings


def test_affinity_group_only(tmp_path: Path) -> None:
    text = NETCFG.replace('Location="West Europe"', 'AffinityGroup="ag-west"').replace(
        'Location="North Europe"', 'AffinityGroup="ag-west"'
    )
    result = import_netcfg(write(tmp_path, text))
    # an affinity group is the VNet's, never the estate's location
    assert result.estate.location == "unknown"
    assert {v.affinity_group for v in result.estate.vnets} == {"ag-west"}
    (warning,) = [w for w in result.warnings if "affinity group" in w]
    assert "'ag-west', not a region" in warning and "--location" in warning
    given = import_netcfg(write(tmp_path, text), location="West Europe")
    assert given.estate.location == "West Europe"
    assert {v.affinity_group for v in given.estate.vnets} == {"ag-west"}
    assert not any("affinity group" in w for w in given.warnings)


def test_affinity_group_beside_locations(tmp_path: Path) -> None:
    result = import_netcfg(write(tmp_path, NETCFG))
    assert result.estate.vnet("vnet-plain").affinity_group == "ag-west"
    assert result.estate.vnet("vnet-core").affinity_group is None
    assert result.estate.location == "West Europe"  # the Location attributes, as before
    assert not any("affinity group" in w for w in result.warnings)


def test_location_option_overrides_and_is_checked(tmp_path: Path) -> None:
    file = write(tmp_path, NETCFG)
    result = import_netcfg(file, location="  Sweden Central ")
    assert result.estate.location == "Sweden Central"
    assert any(
        "name the location West Europe, North Europe; estate location Sweden Central" in w
        for w in result.warnings
    )
    for bad, expected in (("", "is empty"), ("x" * 201, "longer than 200 characters")):
        with pytest.raises(InputError, match=expected) as exc:
            import_netcfg(file, location=bad)
        assert exc.value.file == "--location"


def older_form(vnet: str, where: str) -> str:
    """A site-to-site link in the older schema form: the VNet's gateway names its local site
    ``office`` with a ``LocalNetworkSiteRef`` and no ``Connection`` child. ``where`` is the
    VNet's ``Location="..."`` or ``AffinityGroup="..."`` attribute."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<NetworkConfiguration xmlns="{NETCFG_NS}">
  <VirtualNetworkConfiguration>
    <LocalNetworkSites>
      <LocalNetworkSite name="office">
        <AddressSpace><AddressPrefix>192.168.10.0/24</AddressPrefix></AddressSpace>
        <VPNGatewayAddress>198.51.100.7</VPNGatewayAddress>
      </LocalNetworkSite>
    </LocalNetworkSites>
    <VirtualNetworkSites>
      <VirtualNetworkSite name="{vnet}" {where}>
        <AddressSpace><AddressPrefix>10.60.0.0/16</AddressPrefix></AddressSpace>
        <Subnets>
          <Subnet name="servers"><AddressPrefix>10.60.1.0/24</AddressPrefix></Subnet>
          <Subnet name="GatewaySubnet"><AddressPrefix>10.60.255.0/29</AddressPrefix></Subnet>
        </Subnets>
        <Gateway>
          <ConnectionsToLocalNetwork>
            <LocalNetworkSiteRef name="office" />
          </ConnectionsToLocalNetwork>
        </Gateway>
      </VirtualNetworkSite>
    </VirtualNetworkSites>
  </VirtualNetworkConfiguration>
</NetworkConfiguration>
"""


def test_local_site_ref_without_connection_is_site_to_site(tmp_path: Path) -> None:
    """The older schema names the local site with no Connection child: an IPsec (VPN) link."""
    text = older_form("vnet-s2s", 'Location="West Europe"')
    result = import_netcfg(write(tmp_path, text))
    (vnet,) = result.estate.vnets
    assert [(g.name, g.kind) for g in vnet.gateway] == [("vnet-s2s-gateway", "vpn")]
    assert result.warnings == ()


def test_other_connection_type_and_empty_gateway(tmp_path: Path) -> None:
    text = NETCFG.replace('<Connection type="IPsec" />', '<Connection type="Carrier" />', 1)
    result = import_netcfg(write(tmp_path, text))
    assert result.estate.vnet("vnet-branch").gateway == ()
    assert any("'Carrier'" in w for w in result.warnings)
    assert any("Gateway element with no connections" in w for w in result.warnings)


def test_point_to_site_pool_is_a_vpn_gateway(tmp_path: Path) -> None:
    text = NETCFG.replace(
        '<VirtualNetworkSite name="vnet-plain" AffinityGroup="ag-west">',
        '<VirtualNetworkSite name="vnet-plain" AffinityGroup="ag-west"><Gateway>'
        "<VPNClientAddressPool><AddressPrefix>172.31.0.0/24</AddressPrefix>"
        "</VPNClientAddressPool></Gateway>",
    )
    estate = import_netcfg(write(tmp_path, text)).estate
    assert [g.kind for g in estate.vnet("vnet-plain").gateway] == ["vpn"]


def test_bad_prefix_names_file_and_line(tmp_path: Path) -> None:
    text = NETCFG.replace("10.20.1.0/24", "10.20.1.0")
    with pytest.raises(InputError) as exc:
        import_netcfg(write(tmp_path, text))
    assert exc.value.file == str(tmp_path / "netcfg.xml")
    assert (
        exc.value.line
        == NETCFG.splitlines().index(
            next(line for line in NETCFG.splitlines() if "10.20.1.0/24" in line)
        )
        + 1
    )
    assert "'10.20.1.0' is not a CIDR prefix" in exc.value.message


def test_wrong_root_and_namespace(tmp_path: Path) -> None:
    api = write(
        tmp_path,
        '<VirtualNetworkSites xmlns="http://schemas.microsoft.com/windowsazure"/>',
        "api.xml",
    )
    with pytest.raises(InputError, match="migsim import asm"):
        import_netcfg(api)
    other = write(tmp_path, NETCFG.replace(f'xmlns="{NETCFG_NS}"', 'xmlns="urn:x"'), "o.xml")
    with pytest.raises(InputError) as exc:
        import_netcfg(other)
    assert NETCFG_NS in exc.value.message and exc.value.file == str(other)


def test_no_namespace_accepted_with_warning(tmp_path: Path) -> None:
    result = import_netcfg(write(tmp_path, NETCFG.replace(f' xmlns="{NETCFG_NS}"', "")))
    assert len(result.estate.vnets) == 4
    assert any("has no namespace" in w for w in result.warnings)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        import_netcfg(tmp_path / "absent.xml")


def test_gateway_names_stay_unique(tmp_path: Path) -> None:
    text = NETCFG.replace('name="vnet-branch"', 'name="vnet-both-vpn"')
    estate = import_netcfg(write(tmp_path, text)).estate
    names = [g.name for v in estate.vnets for g in v.gateway]
    assert "vnet-both-vpn-gateway" in names and "vnet-both-vpn-gateway-2" in names
    assert len(names) == len(set(names))


# ---- through the real CLI ------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]

OLDER_FORM = older_form("corp-vnet", 'AffinityGroup="corp-ag"')


def migsim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_cli_affinity_group_and_older_site_to_site_form(tmp_path: Path) -> None:
    """`migsim import netcfg` on a file bound to an affinity group with a site-to-site link in the
    older form: a VPN gateway, no made-up location; --location gives it; the estate validates."""
    source = write(tmp_path, OLDER_FORM, "NetworkConfig.xml")
    plain = migsim("import", "netcfg", str(source), "--out", "plain.yaml", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "'corp-ag', not a region" in plain.stderr and "--location" in plain.stderr
    assert "no gateway imported" not in plain.stderr
    data = yaml.safe_load((tmp_path / "plain.yaml").read_text(encoding="utf-8"))
    assert "location" not in data  # left at its default, unknown
    assert load_estate(tmp_path / "plain.yaml").location == "unknown"

    done = migsim(
        "import", "netcfg", str(source), "--out", "estate.yaml", "--location", "West Europe",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    estate = load_estate(tmp_path / "estate.yaml")
    assert estate.location == "West Europe"
    (vnet,) = estate.vnets
    assert vnet.affinity_group == "corp-ag"
    assert [(g.name, g.kind) for g in vnet.gateway] == [("corp-vnet-gateway", "vpn")]
    (tmp_path / "s.yaml").write_text("name: s\nestate: estate.yaml\n", encoding="utf-8")
    checked = migsim("validate", "s.yaml", "--format", "json", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert [u["id"] for u in json.loads(checked.stdout)["units"]] == ["corp-vnet"]


def test_cli_empty_location_exits_2(tmp_path: Path) -> None:
    source = write(tmp_path, OLDER_FORM, "NetworkConfig.xml")
    done = migsim(
        "import", "netcfg", str(source), "--out", "e.yaml", "--location", " ", cwd=tmp_path
    )
    assert done.returncode == 2
    assert "--location" in done.stderr and "is empty" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "e.yaml").exists()


# ---- from the fresh-user trial -------------------------------------------------------------------


def test_blank_affinity_group_is_absent_and_no_location_is_warned_once(tmp_path: Path) -> None:
    """Sites with neither a Location nor an AffinityGroup (a blank one is none): location unknown,
    one warning for the import (not one per site) saying to give it with --location."""
    text = (
        NETCFG.replace('Location="West Europe"', 'AffinityGroup=""')
        .replace('Location="North Europe"', 'AffinityGroup="   "')
        .replace('AffinityGroup="ag-west"', "")
    )
    result = import_netcfg(write(tmp_path, text))
    assert result.estate.location == "unknown"
    assert {v.affinity_group for v in result.estate.vnets} == {None}
    (warning,) = [w for w in result.warnings if "location" in w]
    assert "name no location" in warning and "--location" in warning
    given = import_netcfg(write(tmp_path, text), location="West Europe")
    assert given.estate.location == "West Europe"
    assert not any("location" in w for w in given.warnings)


def test_no_sites_no_location_warning(tmp_path: Path) -> None:
    text = f'<NetworkConfiguration xmlns="{NETCFG_NS}"><VirtualNetworkConfiguration/>'
    result = import_netcfg(write(tmp_path, text + "</NetworkConfiguration>"))
    assert result.warnings == ("netcfg.xml: no virtual network sites; the estate is empty",)


@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        ('<LocalNetworkSiteRef name="hq">', "<LocalNetworkSiteRef>", "LocalNetworkSiteRef"),
        (
            '<LocalNetworkSiteRef name="hq">',
            '<LocalNetworkSiteRef name=" ">',
            "LocalNetworkSiteRef",
        ),
        ('<DnsServerRef name="dc-01" />', "<DnsServerRef />", "DnsServerRef"),
    ],
)
def test_reference_without_name_is_refused_at_its_line(
    tmp_path: Path, old: str, new: str, what: str
) -> None:
    """A reference with no name (the schema requires one) is refused where it is, as a site or a
    DNS server without a name is: not a VPN gateway (or a DNS server) made up or dropped."""
    text = NETCFG.replace(old, new, 1)
    with pytest.raises(InputError) as exc:
        import_netcfg(write(tmp_path, text))
    assert exc.value.file == str(tmp_path / "netcfg.xml")
    assert (
        exc.value.line
        == text.splitlines().index(next(line for line in text.splitlines() if new in line)) + 1
    )
    assert f"a {what} of VNet vnet-" in exc.value.message
    assert "has no name attribute; expected a non-empty name" in exc.value.message


def test_cli_location_with_control_characters_exits_2(tmp_path: Path) -> None:
    source = write(tmp_path, OLDER_FORM, "NetworkConfig.xml")
    for bad in ("West\nEurope", "West\tEurope", "West\x7fEurope"):
        done = migsim(
            "import", "netcfg", str(source), "--out", "e.yaml", "--location", bad, cwd=tmp_path
        )
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith("error: --location:") and "control character" in line
        assert not (tmp_path / "e.yaml").exists()
    with pytest.raises(InputError, match="control character '\\\\x00'"):
        import_netcfg(source, location="West\x00Europe")


@pytest.mark.parametrize(
    ("old", "new", "what", "shown"),
    [
        ('name="vnet-core"', 'name="a&#10;b"', "VirtualNetworkSite name", "'\\n' (U+000A)"),
        (
            'name="vnet-core" Location="West Europe"',
            'name="vnet-core" Location="West&#9;Europe"',
            "VNet vnet-core: Location",
            "'\\t' (U+0009)",
        ),
        ('<Subnet name="infra">', '<Subnet name="in&#133;fra">', "subnet", "'\\x85' (U+0085)"),
        ('name="dc-01" IPAddress', 'name="dc&#8238;-01" IPAddress', "DnsServer", "'\\u202e'"),
        ('<DnsServerRef name="dc-02" />', '<DnsServerRef name="dc&#x2066;-02" />', "", "'\\u2066'"),
    ],
)
def test_names_with_control_characters_are_refused_like_location(
    tmp_path: Path, old: str, new: str, what: str, shown: str
) -> None:
    """A name or Location that holds a control character (a newline or tab written as a
    character reference, NEL, RIGHT-TO-LEFT OVERRIDE) is refused as ``--location`` is: the
    file, the element's line, the character; never imported in silence."""
    assert old in NETCFG
    text = NETCFG.replace(old, new, 1)
    source = write(tmp_path, text)
    with pytest.raises(InputError) as exc:
        import_netcfg(source)
    assert exc.value.file == str(source)
    assert exc.value.line == next(i for i, ln in enumerate(text.splitlines(), 1) if new in ln)
    assert what in exc.value.message
    assert f"holds the control character {shown}" in exc.value.message
    done = migsim("import", "netcfg", str(source), "--out", "e.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {source}:") and "\x1b" not in line and "\t" not in line
    assert not (tmp_path / "e.yaml").exists()
