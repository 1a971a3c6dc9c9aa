"""The network configuration file of a classic subscription (``Get-AzureVNetConfig``).

Namespace ``http://schemas.microsoft.com/ServiceHosting/2011/07/NetworkConfiguration``. Read:
``VirtualNetworkConfiguration/VirtualNetworkSites/VirtualNetworkSite`` (name, Location or
AffinityGroup, AddressSpace, Subnets, DnsServersRef resolved through ``Dns/DnsServers``, Gateway
with ``ConnectionsToLocalNetwork/LocalNetworkSiteRef/Connection@type``: ``Dedicated`` is
ExpressRoute, ``IPsec`` is VPN; a ``LocalNetworkSiteRef`` without ``Connection``, the schema's older
form, is a site-to-site IPsec link, so VPN). ``LocalNetworkSites`` are known but not part of the
estate. An ``AffinityGroup`` stays the VNet's affinity group and is never taken as a location.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

from sim.importers.result import (
    ImportResult,
    assembled,
    build_estate,
    check_location,
    gateways_for,
    pick_location,
)
from sim.importers.xmlsafe import (
    ASM_NS,
    NETCFG_NS,
    Notes,
    Reader,
    XmlDocument,
    check_address,
    check_prefix,
    parse_xml,
    text_of,
)
from sim.model.estate import GatewayKind, Subnet, VNet

CONNECTION_KINDS: dict[str, GatewayKind] = {"dedicated": "expressroute", "ipsec": "vpn"}


@dataclass(frozen=True)
class NetcfgSubnet:
    name: str
    prefix: str | None


@dataclass(frozen=True)
class NetcfgSite:
    """One ``VirtualNetworkSite`` of the file, references resolved."""

    name: str
    location: str | None
    affinity_group: str | None
    address_space: tuple[str, ...]
    subnets: tuple[NetcfgSubnet, ...]
    dns_servers: tuple[str, ...]
    gateway_kinds: tuple[GatewayKind, ...]
    """Kinds implied by the gateway's connections (and a point-to-site pool: VPN)."""


@dataclass(frozen=True)
class NetworkConfiguration:
    file: str
    sites: tuple[NetcfgSite, ...]


def check_root(doc: XmlDocument, notes: Notes) -> None:
    """Refuse a document that is not a network configuration file (wrong root or namespace)."""
    ns, name = doc.namespace, doc.root_name
    if name != "NetworkConfiguration":
        hint = (
            "; it looks like a Service Management API response (import a folder of those with"
            " `migsim import asm`)"
            if ns in (ASM_NS, None)
            else ""
        )
        raise doc.error(
            doc.root,
            f"root element is {name}; expected NetworkConfiguration in namespace {NETCFG_NS}{hint}",
        )
    if ns is None:
        notes.warn(
            f"{doc.name}: root element NetworkConfiguration has no namespace; read as a network"
            f" configuration file ({NETCFG_NS})"
        )
    elif ns != NETCFG_NS:
        raise doc.error(
            doc.root,
            f"root element NetworkConfiguration is in namespace {ns!r}; expected the network"
            f" configuration namespace {NETCFG_NS!r}",
        )


def _attr(el: Element, name: str) -> str | None:
    value = (el.get(name) or "").strip()
    return value or None


def _dns_table(r: Reader, vnc_dns: Element | None) -> dict[str, str]:
    table: dict[str, str] = {}
    if vnc_dns is None:
        return table
    for servers in r.fields(vnc_dns, {"DnsServers"}).all("DnsServers"):
        for server in r.fields(servers, {"DnsServer"}).all("DnsServer"):
            name = _attr(server, "name")
            address = _attr(server, "IPAddress")
            if name is None or address is None:
                raise r.error(server, "DnsServer needs both name and IPAddress attributes")
            r.check_text(server, name, "DnsServer name")
            check_address(r, server, address, f"DnsServer {name[:40]!r}: IPAddress")
            table.setdefault(name, address)
    return table


def _site(r: Reader, el: Element, dns: dict[str, str]) -> NetcfgSite:
    name = r.name(el, _attr(el, "name"), "VirtualNetworkSite", "name attribute")
    f = r.fields(el, {"AddressSpace", "Subnets", "DnsServersRef", "Gateway"})
    space: list[str] = []
    for block in f.all("AddressSpace"):
        for p in r.fields(block, {"AddressPrefix"}).all("AddressPrefix"):
            value = text_of(p)
            if value:
                space.append(check_prefix(r, p, value, f"VNet {name}: AddressPrefix"))
    subnets: dict[str, NetcfgSubnet] = {}
    for block in f.all("Subnets"):
        for s in r.fields(block, {"Subnet"}).all("Subnet"):
            sname = r.name(s, _attr(s, "name"), f"a subnet of VNet {name}", "name attribute")
            sp = r.fields(s, {"AddressPrefix"}).one("AddressPrefix")
            prefix = text_of(sp)
            if sp is not None and prefix is not None:
                check_prefix(r, sp, prefix, f"VNet {name} subnet {sname}: AddressPrefix")
            if sname in subnets:
                r.notes.warn(f"{r.doc.name}: VNet {name} lists subnet {sname} twice; first kept")
                continue
            subnets[sname] = NetcfgSubnet(sname, prefix)
    servers: list[str] = []
    for refs in f.all("DnsServersRef"):
        for ref in r.fields(refs, {"DnsServerRef"}).all("DnsServerRef"):
            ref_name = r.name(
                ref, _attr(ref, "name"), f"a DnsServerRef of VNet {name}", "name attribute"
            )
            if ref_name not in dns:
                r.notes.warn(
                    f"{r.doc.name}: VNet {name} refers to DNS server {ref_name!r}, which"
                    " Dns/DnsServers does not define; left out"
                )
            elif dns[ref_name] not in servers:
                servers.append(dns[ref_name])
    kinds: list[GatewayKind] = []
    for gw in f.all("Gateway"):
        g = r.fields(gw, {"ConnectionsToLocalNetwork", "VPNClientAddressPool"})
        for conns in g.all("ConnectionsToLocalNetwork"):
            for site_ref in r.fields(conns, {"LocalNetworkSiteRef"}).all("LocalNetworkSiteRef"):
                # a reference names the local site it connects to, as a DnsServerRef its server
                site_name = r.name(
                    site_ref,
                    _attr(site_ref, "name"),
                    f"a LocalNetworkSiteRef of VNet {name}",
                    "name attribute",
                )
                links = r.fields(site_ref, {"Connection"}).all("Connection")
                if not links and "vpn" not in kinds:
                    # The older schema names the local site alone: a site-to-site (IPsec) link,
                    # the only kind there was before ExpressRoute's Connection@type="Dedicated".
                    kinds.append("vpn")
                for conn in links:
                    ctype = _attr(conn, "type") or ""
                    kind = CONNECTION_KINDS.get(ctype.lower())
                    if kind is None:
                        r.notes.warn(
                            f"{r.doc.name}: VNet {name}: connection type {ctype!r} to"
                            f" {site_name!r} is neither Dedicated nor IPsec;"
                            " ignored"
                        )
                    elif kind not in kinds:
                        kinds.append(kind)
        for pool in g.all("VPNClientAddressPool"):
            pool_prefixes = r.fields(pool, {"AddressPrefix"}).all("AddressPrefix")
            if any(text_of(p) for p in pool_prefixes) and "vpn" not in kinds:
                kinds.append("vpn")  # point-to-site clients need a VPN gateway
        if not kinds:
            r.notes.warn(
                f"{r.doc.name}: VNet {name} has a Gateway element with no connections;"
                " no gateway imported"
            )
    return NetcfgSite(
        name=name,
        location=r.attr(el, "Location", f"VNet {name}: Location"),
        affinity_group=r.attr(el, "AffinityGroup", f"VNet {name}: AffinityGroup"),
        address_space=tuple(dict.fromkeys(space)),
        subnets=tuple(subnets.values()),
        dns_servers=tuple(servers),
        gateway_kinds=tuple(kinds),
    )


def read_netcfg(doc: XmlDocument, notes: Notes) -> NetworkConfiguration:
    """The sites of a network configuration file (root checked by :func:`check_root`)."""
    r = Reader(doc, notes)
    sites: dict[str, NetcfgSite] = {}
    top = r.fields(doc.root, {"VirtualNetworkConfiguration"})
    for vnc in top.all("VirtualNetworkConfiguration"):
        f = r.fields(vnc, {"Dns", "LocalNetworkSites", "VirtualNetworkSites"})
        dns = _dns_table(r, f.one("Dns"))
        for block in f.all("VirtualNetworkSites"):
            for el in r.fields(block, {"VirtualNetworkSite"}).all("VirtualNetworkSite"):
                site = _site(r, el, dns)
                if site.name in sites:
                    notes.warn(f"{doc.name}: VNet {site.name} is defined twice; first kept")
                    continue
                sites[site.name] = site
    return NetworkConfiguration(doc.name, tuple(sites.values()))


def site_vnet(site: NetcfgSite, notes: Notes, taken: set[str]) -> VNet:
    """The estate's VNet for a site of the file on its own (no API response to merge)."""
    return VNet(
        name=site.name,
        address_space=site.address_space,
        subnets=tuple(Subnet(name=s.name, prefix=s.prefix) for s in site.subnets),
        gateway=gateways_for(site.name, site.gateway_kinds, notes, taken),
        dns_servers=site.dns_servers,
        affinity_group=site.affinity_group,
    )


def import_netcfg(file: Path, *, location: str | None = None) -> ImportResult:
    """Import a network configuration file into an estate of virtual networks.

    ``location`` (``--location``) is the estate's region; without it, the most frequent
    ``Location`` of the sites, else ``unknown`` (an ``AffinityGroup`` is never a location).
    """
    given = None if location is None else check_location(location)
    notes = Notes()
    doc = parse_xml(file, str(file))
    check_root(doc, notes)
    config = read_netcfg(doc, notes)
    if not config.sites:
        notes.warn(f"{doc.name}: no virtual network sites; the estate is empty")
    taken: set[str] = set()
    vnets = assembled(str(file), lambda: [site_vnet(site, notes, taken) for site in config.sites])
    location = pick_location(
        [s.location for s in config.sites if s.location],
        [s.affinity_group for s in config.sites if s.affinity_group],
        notes,
        default="unknown",
        given=given,
        warn_unnamed=bool(config.sites),
    )
    estate = build_estate(
        str(file), {"subscription": "imported", "location": location, "vnets": vnets}
    )
    return ImportResult(estate=estate, warnings=notes.as_tuple(), sources=(str(file),))
