"""A folder of Service Management REST API responses (namespace
``http://schemas.microsoft.com/windowsazure``) into an estate.

Every ``*.xml`` file of the folder (not recursive) is parsed safely and classified by its root
element, never by its name. The documents are collected first and assembled afterwards, so the
order of the files does not matter. What each element becomes, and every decision taken where
the responses are silent, is written down in ``docs/importing.md``.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element

from sim.common.errors import InputError
from sim.common.inputfiles import check_folder, regular_file_in, shown_path
from sim.importers import netcfg as netcfg_mod
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
    Fields,
    Notes,
    Reader,
    XmlDocument,
    check_address,
    check_prefix,
    check_storage_account,
    is_nil,
    parse_xml,
    text_of,
    xsi_type,
)
from sim.model.estate import (
    NSG,
    VM,
    CloudService,
    Disk,
    GatewayKind,
    ReservedIP,
    Role,
    RoleKind,
    RouteTable,
    StorageAccount,
    Subnet,
    VMState,
    VNet,
    character_text,
    unsafe_character,
)

# ---- the elements this importer knows (children of each element it reads) -----------------------

HOSTED_SERVICE = {
    "Url", "ServiceName", "HostedServiceProperties", "Deployments",
    "DefaultWinRmCertificateThumbprint", "ComputeCapabilities",
}  # fmt: skip
HOSTED_PROPERTIES = {
    "Description", "AffinityGroup", "Location", "Label", "Status", "DateCreated",
    "DateLastModified", "ExtendedProperties", "ReverseDnsFqdn",
}  # fmt: skip
DEPLOYMENT = {
    "Name", "DeploymentSlot", "PrivateID", "Status", "Label", "Url", "Configuration",
    "RoleInstanceList", "UpgradeStatus", "UpgradeDomainCount", "RoleList", "SdkVersion", "Locked",
    "RollbackAllowed", "CreatedTime", "LastModifiedTime", "VirtualNetworkName", "Dns",
    "ExtendedProperties", "PersistentVMDowntime", "VirtualIPs", "ExtensionConfiguration",
    "ReservedIPName", "InternalDnsSuffix", "LoadBalancers", "VirtualNetworkId", "ReverseDnsFqdn",
}  # fmt: skip
VIRTUAL_IP = {
    "Address", "IsDnsProgrammed", "Name", "Type", "IsReserved", "ReservedIPName",
    "IdleTimeoutInMinutes",
}  # fmt: skip
ROLE_INSTANCE = {
    "RoleName", "InstanceName", "InstanceStatus", "ExtendedInstanceStatus",
    "InstanceUpgradeDomain", "InstanceFaultDomain", "InstanceSize", "InstanceStateDetails",
    "InstanceErrorCode", "IpAddress", "InstanceEndpoints", "PowerState", "HostName",
    "RemoteAccessCertificateThumbprint", "GuestAgentStatus", "ResourceExtensionStatusList",
    "PublicIPs", "NetworkInterfaces",
}  # fmt: skip
ROLE = {
    "RoleName", "OsVersion", "RoleType", "ConfigurationSets", "ResourceExtensionReferences",
    "VMImageName", "MediaLocation", "AvailabilitySetName", "DataVirtualHardDisks", "Label",
    "OSVirtualHardDisk", "RoleSize", "DefaultWinRmCertificateThumbprint", "ProvisionGuestAgent",
    "VMImageInput", "DebugSettings", "LicenseType",
}  # fmt: skip
NETWORK_SET = {
    "ConfigurationSetType", "InputEndpoints", "SubnetNames", "StaticVirtualNetworkIPAddress",
    "PublicIPs", "NetworkInterfaces", "NetworkSecurityGroup", "IPForwarding",
}  # fmt: skip
INPUT_ENDPOINT = {
    "LoadBalancedEndpointSetName", "LocalPort", "Name", "Port", "LoadBalancerProbe", "Protocol",
    "Vip", "EnableDirectServerReturn", "EndpointAcl", "LoadBalancerName", "IdleTimeoutInMinutes",
    "LoadBalancerDistribution", "VirtualIPName",
}  # fmt: skip
NETWORK_INTERFACE = {"Name", "IPConfigurations", "NetworkSecurityGroup", "IPForwarding"}
IP_CONFIGURATION = {"SubnetName", "StaticVirtualNetworkIPAddress"}
GUEST_AGENT_STATUS = {
    "ProtocolVersion", "Timestamp", "GuestAgentVersion", "Status", "Code", "Message",
    "FormattedMessage",
}  # fmt: skip
EXTENSION_STATUS = {
    "HandlerName", "Version", "Status", "Code", "Message", "FormattedMessage",
    "ExtensionSettingStatus",
}  # fmt: skip
EXTENSION_SETTING_STATUS = {
    "Timestamp", "Name", "Operation", "Status", "Code", "Message", "FormattedMessage",
    "SubStatusList",
}  # fmt: skip
EXTENSION = {
    "ReferenceName", "Publisher", "Name", "Version", "ResourceExtensionParameterValues", "State",
    "Certificates",
}  # fmt: skip
OS_DISK = {
    "HostCaching", "DiskLabel", "DiskName", "MediaLink", "SourceImageName", "OS",
    "RemoteSourceImageLink", "ResizedSizeInGB", "LogicalDiskSizeInGB", "IOType",
}  # fmt: skip
DATA_DISK = {
    "HostCaching", "DiskLabel", "DiskName", "Lun", "LogicalDiskSizeInGB", "MediaLink",
    "SourceMediaLink", "IOType",
}  # fmt: skip
DEBUG_SETTINGS = {"BootDiagnosticsEnabled", "ConsoleScreenshotBlobUri", "SerialOutputBlobUri"}
STORAGE_SERVICE = {
    "Url", "ServiceName", "StorageServiceProperties", "ExtendedProperties", "Capabilities",
    "StorageServiceKeys",
}  # fmt: skip
STORAGE_PROPERTIES = {
    "Description", "AffinityGroup", "Location", "Label", "Status", "Endpoints",
    "GeoReplicationEnabled", "GeoPrimaryRegion", "StatusOfPrimary", "LastGeoFailoverTime",
    "GeoSecondaryRegion", "StatusOfSecondary", "CreationTime", "CustomDomains",
    "SecondaryReadEnabled", "SecondaryEndpoints", "AccountType",
}  # fmt: skip
VNET_SITE = {
    "Name", "Label", "Id", "AffinityGroup", "Location", "State", "InUse", "AddressSpace",
    "Subnets", "Dns", "Gateway", "MigrationState",
}  # fmt: skip
VNET_SUBNET = {"Name", "AddressPrefix", "NetworkSecurityGroup", "RouteTableName"}
VNET_GATEWAY = {"Profile", "Sites", "VPNClientAddressPool"}
LOCAL_SITE = {"Name", "AddressSpace", "VpnGatewayAddress", "Connections"}
RESERVED_IP = {
    "Name", "Address", "Id", "Label", "AffinityGroup", "State", "InUse", "ServiceName",
    "DeploymentName", "Location", "VirtualIPName", "IPTags",
}  # fmt: skip
NSG_ELEMENT = {"Name", "Label", "Location", "State", "Rules"}
GATEWAY_DOC = {
    "GatewayType", "LastEvent", "State", "VIPAddress", "GatewaySize", "GatewayId",
    "DefaultSites", "GatewaySKU", "EnableBgp", "BgpSettings",
}  # fmt: skip
ROUTE_TABLE = {"Name", "Label", "Location", "RouteList", "State"}

ROOTS = {
    "HostedServices", "HostedService", "Deployment", "PersistentVMRole", "Role",
    "StorageServices", "StorageService", "VirtualNetworkSites", "ReservedIPs", "ReservedIP",
    "NetworkSecurityGroups", "NetworkSecurityGroup", "Gateway", "RouteTables", "RouteTable",
    "RoleSizes", "Subscription", "NetworkConfiguration",
}  # fmt: skip
"""Root elements this importer reads (RoleSizes: known, nothing to take from it)."""

STATES: dict[str, VMState] = {
    "readyrole": "Running",
    "stoppedvm": "Stopped",
    "stoppeddeallocated": "StoppedDeallocated",
    "rolestateunknown": "RoleStateUnknown",
    "provisioningtimedout": "ProvisioningTimedOut",
}
"""RoleInstance/InstanceStatus values that map to a VM state; any other is a transition."""

CONNECTION_KINDS: dict[str, GatewayKind] = {"dedicated": "expressroute", "ipsec": "vpn"}

_SUBSCRIPTION_URL = re.compile(r"^https?://management\.core\.[^/]+/([^/]+)/services/", re.I)


def storage_account_of(url: str | None) -> str | None:
    """``https://ACCOUNT.blob.core.windows.net/...`` (any cloud's suffix) -> ``ACCOUNT``."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    labels = host.split(".")
    if len(labels) >= 3 and labels[1] == "blob" and labels[0]:
        return labels[0]
    return None


def _host_label(url: str | None) -> str:
    """``http://SERVICE.cloudapp.net/`` -> ``SERVICE`` (``""`` when it is not a URL)."""
    if not url:
        return ""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return ""
    return (host or "").split(".")[0]


def blob_name(url: str) -> str | None:
    """The name of the blob a media link points at, inside its container: the URL path after the
    container, URL-decoded (``https://ACCOUNT.blob.core.windows.net/vhds/dir/x.vhd`` ->
    ``dir/x.vhd``). A path of one segment names a blob of the root container (``$root``, which
    URLs may leave out). None when the URL names no blob."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    rest = path[1:] if path.startswith("/") else path
    container, sep, name = rest.partition("/")
    if not sep:
        name = container  # https://ACCOUNT.blob.core.windows.net/NAME: in the root container
    return unquote(name) or None


MAX_BLOB_NAME = 1024
"""The longest blob name Azure Storage allows: 1,024 characters (Azure docs, "Naming and
Referencing Containers, Blobs, and Metadata"); the estate's ``Disk.blob`` holds as much."""


def _control_character(name: str) -> str | None:
    """The first control character (Unicode category Cc: U+0000 to U+001F, U+007F to U+009F) of
    ``name``, else None. Azure Storage refuses them in blob names (Azure docs, "Naming and
    Referencing Containers, Blobs, and Metadata": "control characters (0x00-0x1F, \\u0081,
    etc.)" are not allowed). The estate's names refuse a few more (bidirectional overrides, line
    separators, lone surrogates: :func:`sim.model.estate.unsafe_character`), and so does this."""
    return unsafe_character(name)


_WHOLE = re.compile(r"[0-9]+")

MAX_DISK_GB = 4095
"""The largest classic (unmanaged, page-blob VHD) disk Azure allows: 4,095 GiB (Azure docs,
"Scalability and performance targets for VM disks", unmanaged disks)."""


def _fold(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _role_kind(name: str, role_type: str | None) -> RoleKind:
    """Web or worker: the responses do not say (the service definition does); "worker" in the
    role type or name makes a worker role, "web" a web role, anything else a worker role."""
    said = f"{role_type or ''} {name}".lower()
    if "worker" in said:
        return "worker"
    if "web" in said:
        return "web"
    return "worker"


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


# ---- drafts: mutable while documents arrive, frozen records at the end ---------------------------


@dataclass
class _SubnetDraft:
    name: str
    prefix: str | None = None
    nsg: str | None = None
    route_table: str | None = None


@dataclass
class _VNetDraft:
    name: str
    source: str
    address_space: list[str] = field(default_factory=list)
    subnets: dict[str, _SubnetDraft] = field(default_factory=dict)
    dns_servers: list[str] = field(default_factory=list)
    kinds: list[GatewayKind] = field(default_factory=list)
    affinity_group: str | None = None
    provisioned: bool | None = None
    gateway_doc: str | None = None
    gateway_type: str | None = None


@dataclass
class _Deployment:
    reader: Reader
    element: Element
    name: str | None
    slot: str | None
    url: str | None
    vnet: str | None
    reserved_ips: list[str]
    roles: list[Element]
    instances: dict[str, list[Element]]


@dataclass
class _Service:
    name: str
    file: str
    deployment: _Deployment | None


@dataclass
class _ServiceDraft:
    name: str
    vnet: str | None
    reserved_ip: str | None
    roles: list[Role] = field(default_factory=list)
    vms: list[VM] = field(default_factory=list)


@dataclass
class _DiskUse:
    premium: bool
    vm: str


class _AsmImport:
    """Collects what every document says, then assembles one consistent estate."""

    def __init__(self, folder: Path, location: str | None = None) -> None:
        self.folder = folder
        self.given_location = location
        self.notes = Notes()
        self.services: dict[str, _Service] = {}
        self.loose_deployments: list[_Deployment] = []
        self.loose_roles: list[tuple[Reader, Element]] = []
        self.storage: dict[str, str] = {}
        self.vnets: dict[str, _VNetDraft] = {}
        self.gateway_docs: list[tuple[Reader, Element]] = []
        self.reserved_ips: dict[str, str | None] = {}
        self.nsgs: dict[str, None] = {}
        self.route_tables: dict[str, None] = {}
        self.netcfgs: list[netcfg_mod.NetworkConfiguration] = []
        self.locations: list[str] = []
        self.affinity_groups: list[str] = []
        self.subscriptions: list[str] = []
        self.disk_accounts: dict[str, _DiskUse] = {}
        self.draft_services: list[_ServiceDraft] = []
        self.gateway_names: set[str] = set()

    def warn(self, message: str) -> None:
        self.notes.warn(message)

    # ---- reading documents ----------------------------------------------------------------------

    def read(self, doc: XmlDocument) -> bool:
        """Take what ``doc`` says; False when it was skipped (an unknown root element)."""
        ns, root = doc.namespace, doc.root_name
        if root == "NetworkConfiguration" or ns == NETCFG_NS:
            netcfg_mod.check_root(doc, self.notes)
            self.netcfgs.append(netcfg_mod.read_netcfg(doc, self.notes))
            return True
        if ns not in (ASM_NS, None):
            raise doc.error(
                doc.root,
                f"root element {root} is in namespace {ns!r}; expected a Service Management API"
                f" response in namespace {ASM_NS!r} (or a network configuration file in"
                f" {NETCFG_NS!r})",
            )
        if root not in ROOTS:
            self.warn(f"{doc.name}: unknown root element {root}; file skipped")
            return False
        if ns is None:
            self.warn(
                f"{doc.name}: root element {root} has no namespace; read as a Service Management"
                f" response ({ASM_NS})"
            )
        r = Reader(doc, self.notes)
        el = doc.root
        handlers: dict[str, Callable[[Reader, Element], None]] = {
            "HostedServices": lambda r, el: self._each(r, el, "HostedService", self.hosted),
            "HostedService": self.hosted,
            "Deployment": self.loose_deployment,
            "PersistentVMRole": self.loose_role,
            "Role": self.loose_role,
            "StorageServices": lambda r, el: self._each(
                r, el, "StorageService", self.storage_service
            ),
            "StorageService": self.storage_service,
            "VirtualNetworkSites": lambda r, el: self._each(
                r, el, "VirtualNetworkSite", self.vnet_site
            ),
            "ReservedIPs": lambda r, el: self._each(r, el, "ReservedIP", self.reserved_ip),
            "ReservedIP": self.reserved_ip,
            "NetworkSecurityGroups": lambda r, el: self._each(
                r, el, "NetworkSecurityGroup", self.nsg
            ),
            "NetworkSecurityGroup": self.nsg,
            "Gateway": lambda r, el: self.gateway_docs.append((r, el)),
            "RouteTables": lambda r, el: self._each(r, el, "RouteTable", self.route_table),
            "RouteTable": self.route_table,
            "RoleSizes": lambda r, el: None,
            "Subscription": self.subscription,
        }
        handlers[root](r, el)
        return True

    def _each(
        self, r: Reader, el: Element, child: str, handler: Callable[[Reader, Element], None]
    ) -> None:
        for item in r.fields(el, {child}).all(child):
            handler(r, item)

    def _where(self, location: str | None, affinity_group: str | None) -> None:
        if location:
            self.locations.append(location)
        elif affinity_group:
            self.affinity_groups.append(affinity_group)

    def _url(self, r: Reader, f: Fields) -> None:
        m = _SUBSCRIPTION_URL.match(f.text("Url") or "")
        if m:
            self.subscriptions.append(r.check_text(f.one("Url"), m.group(1), "subscription id"))

    def subscription(self, r: Reader, el: Element) -> None:
        sub = r.peek(el, "SubscriptionID")
        if sub:
            self.subscriptions.append(r.check_text(el, sub, "SubscriptionID"))

    def hosted(self, r: Reader, el: Element) -> None:
        f = r.fields(el, HOSTED_SERVICE)
        name = r.name(el, f.text("ServiceName"), "HostedService", "ServiceName")
        self._url(r, f)
        props = f.one("HostedServiceProperties")
        if props is not None:
            p = r.fields(props, HOSTED_PROPERTIES)
            if name not in self.services:
                self._where(
                    r.text(p, "Location", "Location"), r.text(p, "AffinityGroup", "AffinityGroup")
                )
        deployments = [
            self.deployment(r, d)
            for block in f.all("Deployments")
            for d in r.fields(block, {"Deployment"}).all("Deployment")
        ]
        chosen = self._production(name, deployments)
        known = self.services.get(name)
        if known is None or known.deployment is None:
            self.services[name] = _Service(name, r.doc.name, chosen)
        elif chosen is not None:
            self.warn(
                f"hosted service {name} is described by {known.file} and {r.doc.name};"
                f" {known.file} is used"
            )

    def _production(self, service: str, deployments: list[_Deployment]) -> _Deployment | None:
        if not deployments:
            return None
        prod = [d for d in deployments if (d.slot or "production").lower() == "production"]
        chosen = prod[0] if prod else deployments[0]
        for other in deployments:
            if other is not chosen:
                self.warn(
                    f"hosted service {service}: deployment {other.name} ({other.slot} slot)"
                    f" left out; the estate takes the {chosen.slot or 'Production'} deployment"
                )
        return chosen

    def deployment(self, r: Reader, el: Element) -> _Deployment:
        f = r.fields(el, DEPLOYMENT)
        rips: list[str] = []
        for block in f.all("VirtualIPs"):
            for vip in r.fields(block, {"VirtualIP"}).all("VirtualIP"):
                rip = r.text(r.fields(vip, VIRTUAL_IP), "ReservedIPName", "reserved IP name")
                if rip and rip not in rips:
                    rips.append(rip)
        top_rip = r.text(f, "ReservedIPName", "reserved IP name")
        if top_rip and top_rip not in rips:
            rips.insert(0, top_rip)
        roles = [
            role for block in f.all("RoleList") for role in r.fields(block, {"Role"}).all("Role")
        ]
        instances: dict[str, list[Element]] = {}
        for block in f.all("RoleInstanceList"):
            for inst in r.fields(block, {"RoleInstance"}).all("RoleInstance"):
                role_name = r.peek(inst, "RoleName")
                if role_name:
                    instances.setdefault(role_name, []).append(inst)
        return _Deployment(
            reader=r,
            element=el,
            name=r.text(f, "Name", "deployment name"),
            slot=r.text(f, "DeploymentSlot", "DeploymentSlot"),
            url=f.text("Url"),
            vnet=r.text(f, "VirtualNetworkName", "VirtualNetworkName"),
            reserved_ips=rips,
            roles=roles,
            instances=instances,
        )

    def loose_deployment(self, r: Reader, el: Element) -> None:
        self.loose_deployments.append(self.deployment(r, el))

    def loose_role(self, r: Reader, el: Element) -> None:
        self.loose_roles.append((r, el))

    def storage_service(self, r: Reader, el: Element) -> None:
        f = r.fields(el, STORAGE_SERVICE)
        name = r.name(el, f.text("ServiceName"), "StorageService", "ServiceName")
        check_storage_account(r, f.one("ServiceName"), name, "StorageService ServiceName")
        self._url(r, f)
        sku: str | None = None
        props = f.one("StorageServiceProperties")
        if props is not None:
            p = r.fields(props, STORAGE_PROPERTIES)
            if name not in self.storage:
                self._where(
                    r.text(p, "Location", "Location") or r.text(p, "GeoPrimaryRegion", "region"),
                    r.text(p, "AffinityGroup", "AffinityGroup"),
                )
            sku = r.text(p, "AccountType", f"storage account {name}: AccountType")
            geo = p.text("GeoReplicationEnabled")
            if sku is None and geo is not None:
                sku = "Standard_GRS" if _true(geo) else "Standard_LRS"
        if sku is None:
            self.warn(f"{r.doc.name}: storage account {name} has no AccountType; Standard_LRS")
            sku = "Standard_LRS"
        self.storage.setdefault(name, sku)

    def vnet_site(self, r: Reader, el: Element) -> None:
        f = r.fields(el, VNET_SITE)
        name = r.name(el, f.text("Name"), "VirtualNetworkSite")
        if name in self.vnets:
            self.warn(f"{r.doc.name}: VNet {name} is listed again; first listing kept")
            return
        group = r.text(f, "AffinityGroup", f"VNet {name}: AffinityGroup")
        self._where(r.text(f, "Location", "Location"), group)
        v = _VNetDraft(name, r.doc.name, affinity_group=group)
        for space in f.all("AddressSpace"):
            for prefixes in r.fields(space, {"AddressPrefixes"}).all("AddressPrefixes"):
                for p in r.fields(prefixes, {"AddressPrefix"}).all("AddressPrefix"):
                    value = text_of(p)
                    if value and value not in v.address_space:
                        v.address_space.append(
                            check_prefix(r, p, value, f"VNet {name}: AddressPrefix")
                        )
        for block in f.all("Subnets"):
            for s in r.fields(block, {"Subnet"}).all("Subnet"):
                sf = r.fields(s, VNET_SUBNET)
                sname = r.name(s, sf.text("Name"), f"a subnet of VNet {name}")
                prefix = sf.text("AddressPrefix")
                if prefix is not None:
                    check_prefix(
                        r,
                        sf.one("AddressPrefix"),
                        prefix,
                        f"VNet {name} subnet {sname}: AddressPrefix",
                    )
                if sname in v.subnets:
                    self.warn(f"{r.doc.name}: VNet {name} lists subnet {sname} twice; first kept")
                    continue
                v.subnets[sname] = _SubnetDraft(
                    sname,
                    prefix,
                    r.text(sf, "NetworkSecurityGroup", f"subnet {sname}: NetworkSecurityGroup"),
                    r.text(sf, "RouteTableName", f"subnet {sname}: RouteTableName"),
                )
        for dns in f.all("Dns"):
            for servers in r.fields(dns, {"DnsServers"}).all("DnsServers"):
                for server in r.fields(servers, {"DnsServer"}).all("DnsServer"):
                    sf = r.fields(server, {"Name", "Address"})
                    address = sf.text("Address")
                    if address:
                        check_address(r, sf.one("Address"), address, f"VNet {name}: DNS server")
                    if address and address not in v.dns_servers:
                        v.dns_servers.append(address)
        for gw in f.all("Gateway"):
            g = r.fields(gw, VNET_GATEWAY)
            for sites in g.all("Sites"):
                for site in r.fields(sites, {"LocalNetworkSite"}).all("LocalNetworkSite"):
                    links = [
                        conn
                        for conns in r.fields(site, LOCAL_SITE).all("Connections")
                        for conn in r.fields(conns, {"Connection"}).all("Connection")
                    ]
                    if not links and "vpn" not in v.kinds:
                        v.kinds.append("vpn")  # the older form: a site-to-site (IPsec) link
                    for conn in links:
                        ctype = r.fields(conn, {"Type"}).text("Type") or ""
                        kind = CONNECTION_KINDS.get(ctype.lower())
                        if kind is None:
                            self.warn(
                                f"{r.doc.name}: VNet {name}: connection type {ctype!r} is"
                                " neither Dedicated nor IPsec; ignored"
                            )
                        elif kind not in v.kinds:
                            v.kinds.append(kind)
            for pool in g.all("VPNClientAddressPool"):
                if any(text_of(x) for x in pool.iter() if x is not pool) and "vpn" not in v.kinds:
                    v.kinds.append("vpn")
        self.vnets[name] = v

    def reserved_ip(self, r: Reader, el: Element) -> None:
        f = r.fields(el, RESERVED_IP)
        name = r.name(el, f.text("Name"), "ReservedIP")
        if name not in self.reserved_ips:
            self._where(
                r.text(f, "Location", "Location"), r.text(f, "AffinityGroup", "AffinityGroup")
            )
        if self.reserved_ips.get(name) is None:
            self.reserved_ips[name] = r.text(f, "ServiceName", f"reserved IP {name}: ServiceName")

    def nsg(self, r: Reader, el: Element) -> None:
        f = r.fields(el, NSG_ELEMENT)
        name = r.name(el, f.text("Name"), "NetworkSecurityGroup")
        if name not in self.nsgs:
            self._where(r.text(f, "Location", "Location"), None)
        self.nsgs.setdefault(name, None)

    def route_table(self, r: Reader, el: Element) -> None:
        f = r.fields(el, ROUTE_TABLE)
        name = r.name(el, f.text("Name"), "RouteTable")
        if name not in self.route_tables:
            self._where(r.text(f, "Location", "Location"), None)
        self.route_tables.setdefault(name, None)

    # ---- roles into VMs -------------------------------------------------------------------------

    def role(self, r: Reader, el: Element, instances: list[Element]) -> VM | Role:
        f = r.fields(el, ROLE)
        name = r.name(el, f.text("RoleName"), "Role", "RoleName")
        role_type = f.text("RoleType") or xsi_type(el)
        if role_type is None and r.local(el) == "PersistentVMRole":
            role_type = "PersistentVMRole"
        is_vm = role_type == "PersistentVMRole" or (role_type is None and "OSVirtualHardDisk" in f)
        if not is_vm:
            kind = _role_kind(name, role_type)
            return r.build(
                el, Role, f"role {name}", name=name, kind=kind, instances=max(1, len(instances))
            )
        return self.vm(r, el, f, name, instances[0] if instances else None)

    def vm(
        self,
        r: Reader,
        el: Element,
        f: Fields,
        name: str,
        instance: Element | None,
    ) -> VM:
        subnets: list[str] = []
        nsg: str | None = None
        acls = False
        public_ip = False
        for sets in f.all("ConfigurationSets"):
            for cs in r.fields(sets, {"ConfigurationSet"}).all("ConfigurationSet"):
                ctype = r.peek(cs, "ConfigurationSetType") or xsi_type(cs) or ""
                if ctype not in ("NetworkConfiguration", "NetworkConfigurationSet"):
                    continue  # provisioning sets (Windows/Linux): nothing the estate needs
                n = r.fields(cs, NETWORK_SET)
                for block in n.all("SubnetNames"):
                    for s in r.fields(block, {"SubnetName"}).all("SubnetName"):
                        value = text_of(s)
                        if value:
                            r.check_text(s, value, f"VM {name}: SubnetName")
                        if value and value not in subnets:
                            subnets.append(value)
                for block in n.all("NetworkInterfaces"):
                    for nic in r.fields(block, {"NetworkInterface"}).all("NetworkInterface"):
                        nf = r.fields(nic, NETWORK_INTERFACE)
                        for ipcs in nf.all("IPConfigurations"):
                            for ipc in r.fields(ipcs, {"IPConfiguration"}).all("IPConfiguration"):
                                value = r.text(
                                    r.fields(ipc, IP_CONFIGURATION),
                                    "SubnetName",
                                    f"VM {name}: SubnetName",
                                )
                                if value and value not in subnets:
                                    subnets.append(value)
                nsg = nsg or r.text(n, "NetworkSecurityGroup", f"VM {name}: NetworkSecurityGroup")
                for block in n.all("InputEndpoints"):
                    for ep in r.fields(block, {"InputEndpoint"}).all("InputEndpoint"):
                        for acl in r.fields(ep, INPUT_ENDPOINT).all("EndpointAcl"):
                            for rules in r.fields(acl, {"Rules"}).all("Rules"):
                                if r.fields(rules, {"Rule"}).all("Rule"):
                                    acls = True
                for block in n.all("PublicIPs"):
                    if r.fields(block, {"PublicIP"}).all("PublicIP"):
                        public_ip = True

        extensions: list[str] = []
        handlers: dict[str, set[str]] = {}  # extension -> the handler names that report it
        for block in f.all("ResourceExtensionReferences"):
            for ext in r.fields(block, {"ResourceExtensionReference"}).all(
                "ResourceExtensionReference"
            ):
                e = r.fields(ext, EXTENSION)
                ext_name = e.text("Name") or e.text("ReferenceName")
                if ext_name is None:
                    continue
                if (e.text("State") or "").lower() == "uninstall":
                    continue
                version = e.text("Version")
                value = f"{ext_name}/{version}" if version else ext_name
                r.check_text(ext, value, f"VM {name}: extension")
                if value not in extensions:
                    extensions.append(value)
                publisher = e.text("Publisher")
                handlers.setdefault(value, set()).update(
                    n.casefold()
                    for n in (
                        ext_name,
                        e.text("ReferenceName"),
                        f"{publisher}.{ext_name}" if publisher else None,
                    )
                    if n
                )

        os_el = f.one("OSVirtualHardDisk")
        if os_el is None:
            raise r.error(el, f"VM {name} has no OSVirtualHardDisk; expected its OS disk")
        os_disk = self.disk(r, os_el, OS_DISK, name, "OS disk")
        data_disks = [
            self.disk(r, d, DATA_DISK, name, "data disk")
            for block in f.all("DataVirtualHardDisks")
            for d in r.fields(block, {"DataVirtualHardDisk"}).all("DataVirtualHardDisk")
        ]

        boot: str | None = None
        for dbg in f.all("DebugSettings"):
            d = r.fields(dbg, DEBUG_SETTINGS)
            if _true(d.text("BootDiagnosticsEnabled")):
                uri = d.text("SerialOutputBlobUri") or d.text("ConsoleScreenshotBlobUri")
                boot = storage_account_of(uri)
                if boot is not None:
                    check_storage_account(
                        r, dbg, boot, f"VM {name}: boot diagnostics URI's storage account"
                    )
                if boot is None:
                    boot = os_disk.storage_account
                    self.warn(
                        f"VM {name}: boot diagnostics enabled without a log URI; its storage"
                        f" account assumed to be the OS disk's ({boot})"
                    )
                self.disk_accounts.setdefault(boot, _DiskUse(False, name))

        size = r.text(f, "RoleSize", f"VM {name}: RoleSize")
        state: VMState = "Running"
        agent_ready = True
        unreported: list[str] = []
        if instance is not None:
            i = r.fields(instance, ROLE_INSTANCE)
            size = size or r.text(i, "InstanceSize", f"VM {name}: InstanceSize")
            state = self.state(name, i.text("InstanceStatus"), i.text("PowerState"))
            for block in i.all("PublicIPs"):
                if r.fields(block, {"PublicIP"}).all("PublicIP"):
                    public_ip = True
            agent_ready, unreported = self.agent(r, i, name, extensions, handlers)
        elif extensions:
            self.unknown_agent(name, extensions, "no RoleInstance")
        if size is None:
            self.warn(f"VM {name} has no RoleSize; size Small assumed")
            size = "Small"

        return r.build(
            el,
            VM,
            f"VM {name}",
            name=name,
            size=size,
            availability_set=r.text(f, "AvailabilitySetName", f"VM {name}: AvailabilitySetName"),
            subnets=tuple(subnets),
            nsg=nsg,
            os_disk=os_disk,
            data_disks=tuple(data_disks),
            extensions=tuple(extensions),
            agent_ready=agent_ready,
            extensions_unreported=tuple(unreported),
            endpoint_acls=acls,
            public_ip=public_ip,
            state=state,
            boot_diagnostics=boot,
        )

    def agent(
        self,
        r: Reader,
        i: Fields,
        vm: str,
        extensions: list[str],
        handlers: dict[str, set[str]],
    ) -> tuple[bool, list[str]]:
        """``agent_ready`` and ``extensions_unreported`` from a RoleInstance's
        ``GuestAgentStatus`` and ``ResourceExtensionStatusList`` (x-ms-version 2014-04-01 on).

        The agent is ready only when its ``Status`` is ``Ready``. An extension is reported when a
        ``ResourceExtensionStatus`` whose ``HandlerName`` is the extension's ``Name``,
        ``ReferenceName`` or ``Publisher.Name`` (without case) has a handler ``Status`` other than
        ``Unresponsive`` and an ``ExtensionSettingStatus/Status``. Neither element: the response
        does not say (an older x-ms-version), so the defaults stay, warned when it matters.
        """
        agent_el = i.one("GuestAgentStatus")
        agent_el = None if agent_el is None or is_nil(agent_el) else agent_el
        lists = [b for b in i.all("ResourceExtensionStatusList") if not is_nil(b)]
        if agent_el is None and not lists:
            if extensions:
                self.unknown_agent(vm, extensions, "its RoleInstance has no GuestAgentStatus")
            return True, []
        ready = True
        if agent_el is not None:
            status = r.fields(agent_el, GUEST_AGENT_STATUS).text("Status")
            ready = (status or "").lower() == "ready"
        reported: set[str] = set()
        for block in lists:
            for st in r.fields(block, {"ResourceExtensionStatus"}).all("ResourceExtensionStatus"):
                sf = r.fields(st, EXTENSION_STATUS)
                handler = sf.text("HandlerName")
                handler_status = (sf.text("Status") or "").lower()
                setting = sf.one("ExtensionSettingStatus")
                setting_status = (
                    None
                    if setting is None
                    else r.fields(setting, EXTENSION_SETTING_STATUS).text("Status")
                )
                if handler and handler_status not in ("", "unresponsive") and setting_status:
                    reported.add(handler.casefold())
        return ready, [ext for ext in extensions if not handlers.get(ext, set()) & reported]

    def unknown_agent(self, vm: str, extensions: list[str], why: str) -> None:
        self.warn(
            f"VM {vm} has extensions ({', '.join(extensions)}) but {why}: the export does not"
            " say whether the guest agent and the extensions report their status; agent_ready"
            " left true and every extension taken as reported (check them, MIG031; export with"
            " x-ms-version 2014-04-01 or later)"
        )

    def disk(self, r: Reader, el: Element, known: set[str], vm: str, what: str) -> Disk:
        d = r.fields(el, known)
        link_el = d.one("MediaLink")
        link = text_of(link_el)
        if link is None:
            raise r.error(el, f"VM {vm}: {what} has no MediaLink; expected the URL of its VHD blob")
        account = storage_account_of(link)
        if account is None:
            raise r.error(
                link_el,
                f"VM {vm}: {what} MediaLink {link!r} is not a blob URL; expected"
                " https://ACCOUNT.blob.core.windows.net/CONTAINER/NAME.vhd",
            )
        check_storage_account(r, link_el, account, f"VM {vm}: {what} MediaLink's storage account")
        blob = blob_name(link)
        if blob is None:
            self.warn(
                f"VM {vm}: {what} MediaLink {link!r} names no blob (expected"
                " https://ACCOUNT.blob.core.windows.net/CONTAINER/NAME.vhd); blob left unset"
            )
        elif len(blob) > MAX_BLOB_NAME:
            raise r.error(
                link_el,
                f"VM {vm}: {what} MediaLink's blob name {blob[:40]!r}... is longer than"
                f" {MAX_BLOB_NAME:,} characters; expected at most {MAX_BLOB_NAME:,}, as Azure"
                " Storage allows",
            )
        elif (control := _control_character(blob)) is not None:
            shown = f"{blob[:60]!r}{'...' if len(blob) > 60 else ''}"
            raise r.error(
                link_el,
                f"VM {vm}: {what} MediaLink's blob name {shown} (URL-decoded) holds the control"
                f" character {character_text(control)}; expected a blob name without control"
                " characters, as Azure Storage allows",
            )
        premium = (d.text("IOType") or "").lower() == "provisioned"
        use = self.disk_accounts.setdefault(account, _DiskUse(premium, vm))
        use.premium = use.premium or premium
        size_el = d.one(
            "LogicalDiskSizeInGB" if d.text("LogicalDiskSizeInGB") else "ResizedSizeInGB"
        )
        size_text = text_of(size_el)
        size = 127
        if size_text is None:
            if what != "OS disk":
                self.warn(f"VM {vm}: a {what} in {account} has no size; 127 GB assumed")
        else:
            try:
                if not _WHOLE.fullmatch(size_text):  # int() takes "+1_0" and other digits
                    raise ValueError
                size = int(size_text)
                if size < 1:
                    raise ValueError
                if size > MAX_DISK_GB:
                    raise r.error(
                        size_el,
                        f"VM {vm}: {what} size {size_text[:40]!r} GB is larger than any classic"
                        f" disk; expected a whole number of GB from 1 to {MAX_DISK_GB:,}",
                    )
            except ValueError:
                self.warn(
                    f"VM {vm}: {what} size {size_text!r} is not a whole number of GB;"
                    " 127 GB assumed"
                )
                size = 127
        return r.build(
            el if size_el is None else size_el,
            Disk,
            f"VM {vm}: {what}",
            storage_account=account,
            size_gb=size,
            blob=blob,
        )

    def state(self, vm: str, status: str | None, power: str | None) -> VMState:
        if status is not None and status.lower() in STATES:
            return STATES[status.lower()]
        if status is None and power is not None:
            by_power: dict[str, VMState] = {"started": "Running", "stopped": "Stopped"}
            if power.lower() in by_power:
                return by_power[power.lower()]
        self.warn(
            f"VM {vm}: InstanceStatus {status!r} (PowerState {power!r}) is not a settled state;"
            " imported as Running (export again once the operation has finished)"
        )
        return "Running"

    # ---- assembling -----------------------------------------------------------------------------

    def service_draft(self, name: str, dep: _Deployment) -> _ServiceDraft:
        rip = dep.reserved_ips[0] if dep.reserved_ips else None
        for other in dep.reserved_ips[1:]:
            self.warn(
                f"cloud service {name} holds several reserved IPs; the estate keeps one per"
                f" cloud service ({rip}), {other} is listed unattached"
            )
            self.reserved_ips.setdefault(other, None)
        draft = _ServiceDraft(name, dep.vnet, rip)
        for role_el in dep.roles:
            role_name = dep.reader.peek(role_el, "RoleName") or ""
            item = self.role(dep.reader, role_el, dep.instances.get(role_name, []))
            if isinstance(item, VM):
                if role_name not in dep.instances:
                    self.warn(
                        f"VM {item.name}: no RoleInstance in the deployment (state unknown);"
                        " imported as Running"
                    )
                draft.vms.append(item)
            else:
                draft.roles.append(item)
        return draft

    def assemble_services(self) -> None:
        by_lower = {name.lower(): svc for name, svc in self.services.items()}
        for dep in self.loose_deployments:
            label = _host_label(dep.url)
            svc = by_lower.get(label.lower()) if label else None
            if svc is not None and svc.deployment is None:
                svc.deployment = dep
                continue
            if svc is not None:
                self.warn(
                    f"{dep.reader.doc.name}: deployment {dep.name} of hosted service {svc.name}"
                    f" is also in {svc.file}; {svc.file} is used"
                )
                continue
            name = label or dep.name or dep.reader.doc.path.stem
            dep.reader.check_text(dep.element, name, "cloud service name")
            self.warn(
                f"{dep.reader.doc.name}: deployment {dep.name} does not name its hosted service;"
                f" imported as cloud service {name} (from its URL)"
                if label
                else f"{dep.reader.doc.name}: deployment {dep.name} does not name its hosted"
                f" service; imported as cloud service {name}"
            )
            self.services[name] = _Service(name, dep.reader.doc.name, dep)
            by_lower[name.lower()] = self.services[name]
        for svc in self.services.values():
            if svc.deployment is None:
                self.warn(
                    f"hosted service {svc.name} has no deployment in the folder (export it with"
                    " ?embed-detail=true); left out"
                )
                continue
            self.draft_services.append(self.service_draft(svc.name, svc.deployment))
        known = {vm.name for s in self.draft_services for vm in s.vms}
        known |= {role.name for s in self.draft_services for role in s.roles}
        taken = {s.name for s in self.draft_services}
        for r, el in self.loose_roles:
            role_name = r.peek(el, "RoleName")
            if role_name in known:
                continue  # the deployment's copy of the same role is used
            item = self.role(r, el, [])
            cs = item.name
            n = 2
            while cs in taken:
                cs, n = f"{item.name}-{n}", n + 1
            taken.add(cs)
            known.add(item.name)
            self.warn(
                f"{r.doc.name}: role {item.name} belongs to no deployment in the folder; imported"
                f" into a cloud service named {cs} (not in a virtual network; state unknown,"
                " imported as Running): export its hosted service with ?embed-detail=true"
            )
            draft = _ServiceDraft(cs, None, None)
            if isinstance(item, VM):
                draft.vms.append(item)
            else:
                draft.roles.append(item)
            self.draft_services.append(draft)

    def assemble_vnets(self) -> None:
        for cfg in self.netcfgs:
            for site in cfg.sites:
                self._merge_site(cfg.file, site)
        self._tie_gateways()

    def _merge_site(self, file: str, site: netcfg_mod.NetcfgSite) -> None:
        v = self.vnets.get(site.name)
        if v is None:
            self._where(site.location, site.affinity_group)
            v = _VNetDraft(
                site.name, file, list(site.address_space), affinity_group=site.affinity_group
            )
            v.subnets = {s.name: _SubnetDraft(s.name, s.prefix) for s in site.subnets}
            v.dns_servers = list(site.dns_servers)
            v.kinds = list(site.gateway_kinds)
            self.vnets[site.name] = v
            self.warn(f"VNet {site.name} is only in {file}; imported from it")
            return
        if not v.address_space:
            v.address_space = list(site.address_space)
        elif site.address_space and set(site.address_space) != set(v.address_space):
            self.warn(
                f"VNet {site.name}: {file} gives address space {', '.join(site.address_space)},"
                f" the API {', '.join(v.address_space)}; the API's is kept"
            )
        for s in site.subnets:
            mine = v.subnets.get(s.name)
            if mine is None:
                v.subnets[s.name] = _SubnetDraft(s.name, s.prefix)
                self.warn(f"VNet {site.name}: subnet {s.name} is only in {file}; added")
            elif mine.prefix is None:
                mine.prefix = s.prefix
            elif s.prefix is not None and s.prefix != mine.prefix:
                self.warn(
                    f"VNet {site.name} subnet {s.name}: {file} gives {s.prefix}, the API"
                    f" {mine.prefix}; the API's is kept"
                )
        if not v.dns_servers:
            v.dns_servers = list(site.dns_servers)
        elif site.dns_servers and list(site.dns_servers) != v.dns_servers:
            self.warn(f"VNet {site.name}: {file} lists other DNS servers; the API's are kept")
        if not v.kinds:
            v.kinds = list(site.gateway_kinds)
        if v.affinity_group is None:
            v.affinity_group = site.affinity_group
        elif site.affinity_group and site.affinity_group != v.affinity_group:
            self.warn(
                f"VNet {site.name}: {file} gives affinity group {site.affinity_group}, the API"
                f" {v.affinity_group}; the API's is kept"
            )

    def _tie_gateways(self) -> None:
        for r, el in self.gateway_docs:
            doc = r.doc
            stem = _fold(doc.path.stem)
            matches = [v for v in self.vnets if _fold(v) and _fold(v) in stem]
            if matches:
                vnet = max(matches, key=lambda v: len(_fold(v)))
            elif len(self.vnets) == 1:
                vnet = next(iter(self.vnets))
                self.warn(
                    f"{doc.name}: the gateway response does not name its VNet; tied to the only"
                    f" VNet, {vnet}"
                )
            else:
                r.fields(el, GATEWAY_DOC)
                self.warn(
                    f"{doc.name}: the gateway response does not name its VNet and the file name"
                    " names none of the VNets (save it as networking-<vnet>-gateway.xml); ignored"
                )
                continue
            g = r.fields(el, GATEWAY_DOC)
            v = self.vnets[vnet]
            if v.gateway_doc is not None:
                self.warn(
                    f"VNet {vnet}: gateway described by {v.gateway_doc} and {doc.name};"
                    f" {v.gateway_doc} is used"
                )
                continue
            v.gateway_doc = doc.name
            v.gateway_type = r.text(g, "GatewayType", "GatewayType")
            state = (g.text("State") or "").lower()
            if state == "provisioned":
                v.provisioned = True
            elif state == "provisioning":
                v.provisioned = True
                self.warn(f"VNet {vnet}: gateway is still Provisioning; imported as provisioned")
            elif state in ("notprovisioned", "deprovisioning"):
                v.provisioned = False
            else:
                self.warn(f"{doc.name}: gateway State {g.text('State')!r} not understood")

    def finish(self) -> dict[str, Any]:
        self.assemble_vnets()
        self.assemble_services()
        services = self.draft_services

        # Virtual networks and subnets the cloud services name
        for s in services:
            if s.vnet is not None and s.vnet not in self.vnets:
                self.vnets[s.vnet] = _VNetDraft(s.vnet, "")
                self.warn(
                    f"cloud service {s.name} is in VNet {s.vnet}, which the folder does not list"
                    " (export services/networking/virtualnetwork); added without address space"
                )
            for i, vm in enumerate(s.vms):
                if not vm.subnets:
                    continue
                if s.vnet is None:
                    self.warn(
                        f"VM {vm.name} names subnets {', '.join(vm.subnets)} but its cloud"
                        f" service {s.name} is in no known virtual network; subnets left out"
                    )
                    s.vms[i] = vm.model_copy(update={"subnets": ()})
                    continue
                v = self.vnets[s.vnet]
                for subnet_name in vm.subnets:
                    if subnet_name not in v.subnets:
                        v.subnets[subnet_name] = _SubnetDraft(subnet_name)
                        self.warn(
                            f"VM {vm.name} is in subnet {subnet_name} of VNet {s.vnet}, which"
                            " the VNet listing does not have; added without prefix"
                        )

        # Names the estate wants unique: VMs across cloud services, availability sets per service
        vm_owner: dict[str, str] = {}
        set_owner: dict[str, str] = {}
        for s in services:
            renamed: dict[str, str] = {}
            for i, vm in enumerate(s.vms):
                update: dict[str, Any] = {}
                if vm.name in vm_owner:
                    update["name"] = f"{s.name}/{vm.name}"
                    self.warn(
                        f"VM name {vm.name} is used in cloud services {vm_owner[vm.name]} and"
                        f" {s.name}; the second is imported as {update['name']}"
                    )
                aset = vm.availability_set
                if aset is not None:
                    owner = set_owner.setdefault(aset, s.name)
                    if owner != s.name:
                        new = renamed.get(aset) or f"{s.name}/{aset}"
                        if aset not in renamed:
                            self.warn(
                                f"availability set {aset} exists in cloud services {owner} and"
                                f" {s.name}; the second is imported as {new}"
                            )
                        renamed[aset] = new
                        update["availability_set"] = new
                if update:
                    s.vms[i] = vm = vm.model_copy(update=update)
                vm_owner.setdefault(vm.name, s.name)

        # Reserved IPs: the deployment's, else the listing's ServiceName; one service each
        rip_owner: dict[str, str] = {}
        for s in services:
            if s.reserved_ip is None:
                continue
            if s.reserved_ip not in self.reserved_ips:
                self.reserved_ips[s.reserved_ip] = s.name
                self.warn(
                    f"cloud service {s.name} uses reserved IP {s.reserved_ip}, which the folder"
                    " does not list (export services/networking/reservedips); added"
                )
            if s.reserved_ip in rip_owner:
                self.warn(
                    f"reserved IP {s.reserved_ip} is used by cloud services"
                    f" {rip_owner[s.reserved_ip]} and {s.name}; kept on the first"
                )
                s.reserved_ip = None
            else:
                rip_owner[s.reserved_ip] = s.name
        by_name = {s.name: s for s in services}
        for rip, service in self.reserved_ips.items():
            holder = by_name.get(service) if service else None
            if holder is not None and holder.reserved_ip is None and rip not in rip_owner:
                holder.reserved_ip = rip
                rip_owner[rip] = holder.name

        # NSGs and route tables the subnets and VMs name
        def need(kind: str, table: dict[str, None], name: str | None, user: str) -> None:
            if name is not None and name not in table:
                table[name] = None
                self.warn(f"{user} uses {kind} {name}, which the folder does not list; added")

        for v in self.vnets.values():
            for sub in v.subnets.values():
                need("NSG", self.nsgs, sub.nsg, f"subnet {sub.name} of VNet {v.name}")
                need("route table", self.route_tables, sub.route_table, f"subnet {sub.name}")
        for s in services:
            for vm in s.vms:
                need("NSG", self.nsgs, vm.nsg, f"VM {vm.name}")

        # Storage accounts that hold disks or boot diagnostics
        for account, use in self.disk_accounts.items():
            if account not in self.storage:
                sku = "Premium_LRS" if use.premium else "Standard_LRS"
                self.storage[account] = sku
                self.warn(
                    f"storage account {account} (disks of VM {use.vm}) is not in the folder's"
                    f" storage services; added as {sku}"
                    + (" (its disks have IOType Provisioned)" if use.premium else "")
                )

        vnets = [self._vnet(v) for v in self.vnets.values()]
        subscription = self._subscription()
        location = pick_location(
            self.locations,
            self.affinity_groups,
            self.notes,
            default="unknown",
            given=self.given_location,
            warn_unnamed=bool(vnets or services or self.storage or self.reserved_ips),
        )
        return {
            "subscription": subscription,
            "location": location,
            "vnets": vnets,
            "cloud_services": [
                CloudService(
                    name=s.name,
                    vnet=s.vnet,
                    reserved_ip=s.reserved_ip,
                    roles=tuple(s.roles),
                    vms=tuple(s.vms),
                )
                for s in services
            ],
            "storage_accounts": [
                StorageAccount(name=n, sku=sku) for n, sku in self.storage.items()
            ],
            "nsgs": [NSG(name=n) for n in self.nsgs],
            "route_tables": [RouteTable(name=n) for n in self.route_tables],
            "reserved_ips": [ReservedIP(name=n) for n in self.reserved_ips],
        }

    def _vnet(self, v: _VNetDraft) -> VNet:
        kinds = list(v.kinds)
        if v.provisioned is False:
            if kinds:
                self.warn(
                    f"VNet {v.name}: connections to local networks are configured but"
                    f" {v.gateway_doc} says the gateway is not provisioned; no gateway"
                )
            kinds = []
        elif v.provisioned is True and not kinds:
            kinds = ["vpn"]
            self.warn(
                f"VNet {v.name}: gateway provisioned ({v.gateway_type or 'type unknown'}) with no"
                " connection listed; imported as a VPN gateway"
            )
        elif v.provisioned is None and kinds:
            self.warn(
                f"VNet {v.name}: no gateway response (services/networking/{v.name}/gateway);"
                " a gateway is assumed because connections to local networks are configured"
            )
        return VNet(
            name=v.name,
            address_space=tuple(v.address_space),
            subnets=tuple(
                Subnet(name=s.name, prefix=s.prefix, nsg=s.nsg, route_table=s.route_table)
                for s in v.subnets.values()
            ),
            gateway=gateways_for(v.name, kinds, self.notes, self.gateway_names),
            dns_servers=tuple(v.dns_servers),
            affinity_group=v.affinity_group,
        )

    def _subscription(self) -> str:
        if not self.subscriptions:
            return "imported"
        distinct = list(dict.fromkeys(self.subscriptions))
        if len(distinct) > 1:
            self.warn(
                f"the documents come from several subscriptions ({', '.join(distinct)});"
                f" estate subscription {distinct[0]}"
            )
        return distinct[0]


def _is_file(path: Path) -> bool:
    """An ``.xml`` entry of the folder to read: a regular file (after symbolic links). A
    sub-folder is not one (skipped); a device, FIFO, socket, broken link or link loop is refused."""
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            return False
    except OSError:
        pass  # regular_file_in names what is wrong
    return regular_file_in(path, str(path), "an XML file")


def import_asm(folder: Path, *, location: str | None = None) -> ImportResult:
    """Import a folder of Service Management XML responses (and network configuration files).

    ``location`` (``--location``) is the estate's region; without it, the most frequent
    ``Location`` the documents name, else ``unknown`` (an affinity group is never a location).
    """
    given = None if location is None else check_location(location)
    shown = shown_path(str(folder))
    what = "a folder of Service Management XML files"
    if "\x00" not in str(folder) and os.path.isfile(folder):
        raise InputError(
            shown,
            (),
            f"is a file, not a folder; expected {what} (import a network configuration file"
            " with `migsim import netcfg`)",
        )
    check_folder(folder, shown, what)
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".xml" and _is_file(p))
    except OSError as exc:
        raise InputError(shown, (), f"cannot be read ({exc.strerror or exc})") from None
    if not files:
        raise InputError(shown, (), f"no Service Management XML files found in {shown}")
    job = _AsmImport(folder, given)
    used = 0
    for path in files:
        doc = parse_xml(path, str(path))
        used += job.read(doc)
    if not used:
        raise InputError(
            shown,
            (),
            f"no Service Management XML files found in {shown} (none of its {len(files)} XML"
            " files has a root element this importer knows)",
        )
    data = assembled(shown, job.finish)
    if not (data["vnets"] or data["cloud_services"] or data["storage_accounts"]):
        job.warn("the documents describe no virtual network, cloud service or storage account")
    estate = build_estate(shown, data)
    return ImportResult(
        estate=estate, warnings=job.notes.as_tuple(), sources=tuple(str(p) for p in files)
    )
