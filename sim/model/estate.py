"""The classic (ASM) estate: frozen, typed records of every resource a migration touches.

Built once at the boundary (the loader or an importer) and read by everything else. Names are
unique within their kind (subnets: within their VNet) and references are by name; the after-check
:func:`Estate._references` rejects dangling or conflicting ones with the exact key path.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from sim.common.errors import Loc, ReferenceProblem, format_loc

# Characters no name (nor other identifier) of a scenario or an import may hold, because they
# act on a terminal, a plot or a workbook instead of being shown (decision documented in
# docs/scenario-format.md, "Names"):
# - the control characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F): a tab, a
#   newline, NUL, ESC (terminal escape sequences), BEL; Excel refuses most of them in a cell
#   and Azure refuses them in resource and blob names;
# - the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069, of
#   category Cf), which reorder the text shown after them, so a name can look like another
#   ("Trojan Source", CVE-2021-42574);
# - the line and paragraph separators U+2028 and U+2029: a line break in a name;
# - lone surrogates (U+D800-U+DFFF), which YAML's \ud800 escape can make and which no file
#   written as UTF-8 can hold.
# Other format characters (a zero-width joiner inside an emoji, a soft hyphen) are kept.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Free text (a scenario's description) may hold tabs and line breaks, nothing else of these.
_UNSAFE_IN_TEXT = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def unsafe_character(text: str, *, free_text: bool = False) -> str | None:
    """The first character of ``text`` that a name may not hold (a control character, a
    bidirectional override, a line separator, a lone surrogate: see ``_UNSAFE``), else None.
    ``free_text`` allows tabs and line breaks (a description)."""
    found = (_UNSAFE_IN_TEXT if free_text else _UNSAFE).search(text)
    return None if found is None else found.group()


def character_text(ch: str) -> str:
    """A character as a message can show it without acting on the terminal: ``'\\x1b'
    (U+001B)``."""
    return f"{ch!r} (U+{ord(ch):04X})"


def _shown(value: str) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _plain(value: str) -> str:
    ch = unsafe_character(value)
    if ch is not None:
        raise ValueError(
            "expected a name without control characters (tab, newline, escape, NUL),"
            f" bidirectional overrides or line separators, got {_shown(value)}: it holds"
            f" {character_text(ch)}"
        )
    return value


def _free_text(value: str) -> str:
    ch = unsafe_character(value, free_text=True)
    if ch is not None:
        raise ValueError(
            "expected text without control characters other than tabs and line breaks, got"
            f" {_shown(value)}: it holds {character_text(ch)}"
        )
    return value


Plain = Annotated[str, AfterValidator(_plain)]
"""Text that names or refers to something (a size, a location, a reference to a name): no
control character, bidirectional override or line separator."""
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_plain)]
"""A resource's name: 1 to 200 characters, none of them unsafe (see :data:`Plain`)."""
FreeText = Annotated[str, AfterValidator(_free_text)]
"""Free text (a description): tabs and line breaks allowed, no other control character."""

# Ranges of the estate's numbers (docs/scenario-format.md, "Ranges"). Assumptions, each far beyond
# any real classic estate, so that a typo is refused at load rather than carried into the rules.
MAX_COUNT = 1_000_000
"""Most of a count (``rbac_assignments``) and the widest ``priority`` (either sign)."""
MAX_INSTANCES = 10_000
"""Most instances of a PaaS role."""
MAX_DISK_GB = 65_536
"""Largest disk in GB (classic VHDs top out at 4,095 GB; managed disks at 32,767 GB)."""
MAX_CORES = 1_024
"""Most cores of one VM (the largest classic size has 32)."""
MAX_QUOTA = 1_000_000_000
"""Highest Resource Manager quota."""

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Priority = Annotated[int, Field(ge=-MAX_COUNT, le=MAX_COUNT)]
Quota = Annotated[int, Field(ge=0, le=MAX_QUOTA)]


class Model(BaseModel):
    """Base of every scenario record: strict types, unknown keys rejected, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _one_or_many(value: Any) -> Any:
    """Accept a single mapping where a list of mappings is expected (``gateway: {...}``)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return value


def _list_to_tuple(value: Any) -> Any:
    # YAML gives lists; frozen records hold tuples. Strict mode would refuse the list.
    return tuple(value) if isinstance(value, list) else value


T = TypeVar("T")
Items = Annotated[tuple[T, ...], BeforeValidator(_list_to_tuple)]
"""A tuple field that accepts a YAML list: ``Items[str]``."""


GatewayKind = Literal["vpn", "expressroute"]


ServiceKind = Literal[
    "application_gateway",
    "api_management",
    "app_service_environment",
    "hdinsight",
    "aad_domain_services",
    "dynamics_lcs",
]
"""Platform services that can live inside a classic VNet."""


RoleKind = Literal["web", "worker"]


VMState = Literal[
    "Running", "Stopped", "StoppedDeallocated", "RoleStateUnknown", "ProvisioningTimedOut"
]
"""Power/provisioning states as the Service Management API reports them."""


StorageContent = Literal["blobs", "files", "tables", "queues", "unattached_disks", "images"]


class ExpressRouteCircuit(Model):
    name: Name
    subscription: Plain | None = Field(
        default=None,
        description="Subscription holding the circuit when it is not the estate's own.",
    )


class Subnet(Model):
    name: Name
    prefix: Plain | None = None
    nsg: Plain | None = None
    route_table: Plain | None = None


class Gateway(Model):
    name: Name
    kind: GatewayKind
    circuit: Plain | None = Field(default=None, description="ExpressRoute circuit it links to.")
    transit: bool = Field(
        default=False, description="On-premises is reached through another VNet (MIG030)."
    )


class VNetService(Model):
    name: Name
    kind: ServiceKind


class VNet(Model):
    name: Name
    address_space: Items[Plain] = ()
    subnets: Items[Subnet] = ()
    gateway: Annotated[
        tuple[Gateway, ...], BeforeValidator(lambda v: _list_to_tuple(_one_or_many(v)))
    ] = ()
    peerings: Items[Plain] = ()
    services: Items[VNetService] = ()
    dns_servers: Items[Plain] = ()
    affinity_group: Name | None = Field(
        default=None,
        description="Affinity group the VNet is bound to (never a location).",
    )
    rbac_assignments: Count = 0
    priority: Priority | None = None

    @property
    def gateways(self) -> tuple[Gateway, ...]:
        return self.gateway


class Role(Model):
    """A PaaS web or worker role (not migratable: MIG001/MIG004)."""

    name: Name
    kind: RoleKind
    instances: int = Field(default=1, ge=1, le=MAX_INSTANCES)


class Disk(Model):
    storage_account: Name
    size_gb: int = Field(
        default=127, ge=1, le=MAX_DISK_GB, description="Logical size in the VM model (GB)."
    )
    blob: Annotated[Plain, Field(min_length=1, max_length=1024)] | None = Field(
        default=None,
        description="VHD blob name inside its container (MIG034: a '/' in it is a blocker).",
    )
    blob_size_gb: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DISK_GB,
        description="Size of the VHD blob when it differs from size_gb (MIG032, data disks).",
    )
    reachable: bool = Field(
        default=True, description="The VHD media link can be reached (MIG033 when false)."
    )


class VM(Model):
    name: Name
    size: Plain = "Small"
    cores: int | None = Field(
        default=None, ge=0, le=MAX_CORES, description="Overrides the size table."
    )
    availability_set: Plain | None = None
    subnets: Items[Plain] = ()
    nsg: Plain | None = Field(default=None, description="NSG attached to the VM's NIC.")
    os_disk: Disk
    data_disks: Items[Disk] = ()
    extensions: Items[Plain] = ()
    agent_ready: bool = Field(
        default=True,
        description="The guest agent reports Ready (MIG031 when false, with extensions).",
    )
    extensions_unreported: Items[Plain] = Field(
        default=(),
        description="Extensions (of ``extensions``) whose status or handler status is not reported"
        " (MIG031).",
    )
    endpoint_acls: bool = False
    alerts: bool = False
    autoscale: bool = False
    public_ip: bool = Field(default=False, description="Instance-level public IP.")
    state: VMState = "Running"
    boot_diagnostics: Plain | None = Field(default=None, description="Storage account of its logs.")

    @property
    def disks(self) -> tuple[Disk, ...]:
        return (self.os_disk, *self.data_disks)


class CloudService(Model):
    name: Name
    vnet: Plain | None = None
    reserved_ip: Plain | None = None
    availability_sets: Items[Plain] | None = Field(
        default=None, description="When given, every VM's availability_set must be one of these."
    )
    roles: Items[Role] = ()
    vms: Items[VM] = ()
    regional_scope: bool = Field(
        default=True,
        description="The deployment is in the regional scope (MIG035 when false: no update"
        " operation since networking moved from cluster to regional scope in 2014).",
    )
    rbac_assignments: Count = 0
    priority: Priority | None = None


class StorageAccount(Model):
    name: Name
    sku: Plain = "Standard_LRS"
    contents: Items[StorageContent] = ()
    rbac_assignments: Count = 0
    priority: Priority | None = None

    @property
    def premium(self) -> bool:
        return self.sku.lower().startswith("premium")


class NSG(Model):
    name: Name


class RouteTable(Model):
    name: Name


class ReservedIP(Model):
    name: Name


class Quotas(Model):
    """Resource Manager quotas in the target region (MIG029); an absent key is not checked."""

    cores: Quota | None = None
    nics: Quota | None = None
    public_ips: Quota | None = None
    static_public_ips: Quota | None = None
    load_balancers: Quota | None = None
    nsgs: Quota | None = None
    route_tables: Quota | None = None


# Cores per classic role size. Source: Azure "Sizes for Cloud Services" / classic VM sizes tables.
_SIZE_CORES: dict[str, int] = {
    "extrasmall": 1, "small": 1, "medium": 2, "large": 4, "extralarge": 8,
    "a5": 2, "a6": 4, "a7": 8, "a8": 8, "a9": 16, "a10": 8, "a11": 16,
    "standard_a0": 1, "standard_a1": 1, "standard_a2": 2, "standard_a3": 4, "standard_a4": 8,
    "standard_a5": 2, "standard_a6": 4, "standard_a7": 8,
    "standard_a1_v2": 1, "standard_a2_v2": 2, "standard_a4_v2": 4, "standard_a8_v2": 8,
    "standard_a2m_v2": 2, "standard_a4m_v2": 4, "standard_a8m_v2": 8,
    "standard_d1": 1, "standard_d2": 2, "standard_d3": 4, "standard_d4": 8,
    "standard_d11": 2, "standard_d12": 4, "standard_d13": 8, "standard_d14": 16,
    "standard_d1_v2": 1, "standard_d2_v2": 2, "standard_d3_v2": 4, "standard_d4_v2": 8,
    "standard_d5_v2": 16, "standard_d11_v2": 2, "standard_d12_v2": 4, "standard_d13_v2": 8,
    "standard_d14_v2": 16, "standard_d15_v2": 20,
    "standard_ds1": 1, "standard_ds2": 2, "standard_ds3": 4, "standard_ds4": 8,
    "standard_ds11": 2, "standard_ds12": 4, "standard_ds13": 8, "standard_ds14": 16,
    "standard_ds1_v2": 1, "standard_ds2_v2": 2, "standard_ds3_v2": 4, "standard_ds4_v2": 8,
    "standard_ds5_v2": 16, "standard_ds11_v2": 2, "standard_ds12_v2": 4,
    "standard_ds13_v2": 8, "standard_ds14_v2": 16, "standard_ds15_v2": 20,
    "standard_g1": 2, "standard_g2": 4, "standard_g3": 8, "standard_g4": 16, "standard_g5": 32,
    "standard_gs1": 2, "standard_gs2": 4, "standard_gs3": 8, "standard_gs4": 16,
    "standard_gs5": 32,
}  # fmt: skip


def size_cores(size: str) -> int | None:
    """Cores of a classic role size, or None when the size is not in the table."""
    return _SIZE_CORES.get(size.strip().lower())


class Estate(Model):
    subscription: Plain = "default"
    location: Plain = "unknown"
    expressroute_circuits: Items[ExpressRouteCircuit] = ()
    vnets: Items[VNet] = ()
    cloud_services: Items[CloudService] = ()
    storage_accounts: Items[StorageAccount] = ()
    nsgs: Items[NSG] = ()
    route_tables: Items[RouteTable] = ()
    reserved_ips: Items[ReservedIP] = ()
    quotas: Quotas | None = None

    @model_validator(mode="after")
    def _references(self) -> Estate:
        problems = check_references(self)
        if problems:
            raise ReferenceProblem(problems)
        return self

    # Lookups used everywhere below; cheap dict builds on a frozen object.
    def vnet(self, name: str) -> VNet:
        found: VNet = next(v for v in self.vnets if v.name == name)
        return found

    def storage_account(self, name: str) -> StorageAccount:
        found: StorageAccount = next(s for s in self.storage_accounts if s.name == name)
        return found

    def vms(self) -> list[tuple[CloudService, VM]]:
        return [(cs, vm) for cs in self.cloud_services for vm in cs.vms]


def _duplicates(
    items: tuple[Any, ...], loc: Loc, kind: str, problems: list[tuple[Loc, str]]
) -> set[str]:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.name in seen:
            problems.append(
                (
                    (*loc, i, "name"),
                    f"duplicate {kind} name {item.name!r} (first at {loc[-1]}[{seen[item.name]}]);"
                    f" expected each {kind} name once",
                )
            )
        else:
            seen[item.name] = i
    return set(seen)


def _expect(kind: str, names: set[str], ref: str) -> str:
    known = ", ".join(sorted(names)[:8]) or "none defined"
    return f"unknown {kind} {ref!r}; expected one of: {known}"


_PREFIX_FORM = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}/(?:[0-9]|[1-9][0-9])")


def prefix_problem(value: str) -> str | None:
    """Why ``value`` is not an IPv4 CIDR prefix as a classic VNet holds it (``10.0.0.0/16``:
    four decimal octets, a slash and a length from 0 to 32, no host bits set), parsed with
    :mod:`ipaddress`; None when it is one. The loader and the importers give the same reasons."""
    if not _PREFIX_FORM.fullmatch(value):
        return "not in the form a.b.c.d/n"
    address, _, length = value.partition("/")
    if int(length) > 32:
        return f"the prefix length {length} is more than 32"
    try:
        network = ipaddress.IPv4Network(value, strict=False)
    except ValueError as exc:
        return str(exc)
    if network.network_address != ipaddress.IPv4Address(address):
        return f"host bits are set (the network is {network})"
    return None


def _prefix_message(value: str) -> str | None:
    problem = prefix_problem(value)
    if problem is None:
        return None
    return f"expected an IPv4 CIDR prefix such as 10.0.0.0/16, got {value!r}: {problem}"


def check_references(estate: Estate) -> list[tuple[Loc, str]]:
    """Every dangling or conflicting reference, each with its key path inside the estate."""
    p: list[tuple[Loc, str]] = []
    circuits = _duplicates(
        estate.expressroute_circuits, ("expressroute_circuits",), "ExpressRoute circuit", p
    )
    vnets = _duplicates(estate.vnets, ("vnets",), "virtual network", p)
    _duplicates(estate.cloud_services, ("cloud_services",), "cloud service", p)
    accounts = _duplicates(estate.storage_accounts, ("storage_accounts",), "storage account", p)
    nsgs = _duplicates(estate.nsgs, ("nsgs",), "NSG", p)
    tables = _duplicates(estate.route_tables, ("route_tables",), "route table", p)
    rips = _duplicates(estate.reserved_ips, ("reserved_ips",), "reserved IP", p)

    subnets_of: dict[str, set[str]] = {}
    gateway_names: dict[str, Loc] = {}
    service_names: dict[str, Loc] = {}
    for vi, vnet in enumerate(estate.vnets):
        base: Loc = ("vnets", vi)
        seen_subnets: set[str] = set()
        for si, subnet in enumerate(vnet.subnets):
            sloc: Loc = (*base, "subnets", si)
            if subnet.name in seen_subnets:
                p.append(((*sloc, "name"), f"duplicate subnet {subnet.name!r} in {vnet.name}"))
            seen_subnets.add(subnet.name)
            if subnet.prefix is not None and (problem := _prefix_message(subnet.prefix)):
                p.append(((*sloc, "prefix"), problem))
            if subnet.nsg is not None and subnet.nsg not in nsgs:
                p.append(((*sloc, "nsg"), _expect("NSG", nsgs, subnet.nsg)))
            if subnet.route_table is not None and subnet.route_table not in tables:
                p.append(
                    ((*sloc, "route_table"), _expect("route table", tables, subnet.route_table))
                )
        subnets_of[vnet.name] = seen_subnets
        for ai, prefix in enumerate(vnet.address_space):
            if problem := _prefix_message(prefix):
                p.append(((*base, "address_space", ai), problem))
        for gi, gw in enumerate(vnet.gateway):
            gloc: Loc = (*base, "gateway", gi) if len(vnet.gateway) > 1 else (*base, "gateway")
            if gw.name in gateway_names:
                p.append(((*gloc, "name"), f"duplicate gateway name {gw.name!r}"))
            gateway_names[gw.name] = gloc
            if gw.circuit is not None:
                if gw.kind != "expressroute":
                    p.append(
                        ((*gloc, "circuit"), "only an expressroute gateway links to a circuit")
                    )
                elif gw.circuit not in circuits:
                    p.append(
                        ((*gloc, "circuit"), _expect("ExpressRoute circuit", circuits, gw.circuit))
                    )
        for pi, peer in enumerate(vnet.peerings):
            if peer == vnet.name:
                p.append(((*base, "peerings", pi), "a virtual network cannot peer with itself"))
            elif peer not in vnets:
                p.append(((*base, "peerings", pi), _expect("virtual network", vnets, peer)))
        for ki, svc in enumerate(vnet.services):
            if svc.name in service_names:
                p.append(((*base, "services", ki, "name"), f"duplicate service {svc.name!r}"))
            service_names[svc.name] = (*base, "services", ki)

    vm_names: dict[str, Loc] = {}
    set_owner: dict[str, str] = {}
    rip_owner: dict[str, str] = {}
    for ci, cs in enumerate(estate.cloud_services):
        base = ("cloud_services", ci)
        if cs.vnet is not None and cs.vnet not in vnets:
            p.append(((*base, "vnet"), _expect("virtual network", vnets, cs.vnet)))
        if cs.reserved_ip is not None:
            if cs.reserved_ip not in rips:
                p.append(((*base, "reserved_ip"), _expect("reserved IP", rips, cs.reserved_ip)))
            elif cs.reserved_ip in rip_owner:
                p.append(
                    (
                        (*base, "reserved_ip"),
                        f"reserved IP {cs.reserved_ip!r} is already used by cloud service"
                        f" {rip_owner[cs.reserved_ip]!r}; expected one cloud service"
                        " per reserved IP",
                    )
                )
            else:
                rip_owner[cs.reserved_ip] = cs.name
        role_names: set[str] = set()
        for ri, role in enumerate(cs.roles):
            if role.name in role_names:
                p.append(((*base, "roles", ri, "name"), f"duplicate role name {role.name!r}"))
            role_names.add(role.name)
        declared = set(cs.availability_sets) if cs.availability_sets is not None else None
        for mi, vm in enumerate(cs.vms):
            vloc: Loc = (*base, "vms", mi)
            if vm.name in vm_names:
                p.append(
                    (
                        (*vloc, "name"),
                        f"duplicate VM name {vm.name!r} (first at {format_loc(vm_names[vm.name])});"
                        " expected each VM name once",
                    )
                )
            vm_names[vm.name] = vloc
            if vm.availability_set is not None:
                if declared is not None and vm.availability_set not in declared:
                    p.append(
                        (
                            (*vloc, "availability_set"),
                            _expect("availability set", declared, vm.availability_set),
                        )
                    )
                owner = set_owner.setdefault(vm.availability_set, cs.name)
                if owner != cs.name:
                    p.append(
                        (
                            (*vloc, "availability_set"),
                            f"availability set {vm.availability_set!r} belongs to cloud service"
                            f" {owner!r}; an availability set cannot span cloud services",
                        )
                    )
            first_subnet: dict[str, int] = {}
            for si, sub in enumerate(vm.subnets):
                if sub in first_subnet:
                    p.append(
                        (
                            (*vloc, "subnets", si),
                            f"duplicate subnet {sub!r} (first at subnets[{first_subnet[sub]}]);"
                            " expected each subnet once",
                        )
                    )
                else:
                    first_subnet[sub] = si
            if vm.subnets and cs.vnet is None:
                p.append(
                    (
                        (*vloc, "subnets"),
                        f"cloud service {cs.name!r} is not in a virtual network; expected no"
                        " subnets (or set the cloud service's vnet)",
                    )
                )
            elif cs.vnet is not None and cs.vnet in subnets_of:
                known = subnets_of[cs.vnet]
                for si, sub in enumerate(vm.subnets):
                    if sub not in known:
                        p.append(
                            (
                                (*vloc, "subnets", si),
                                _expect(f"subnet of {cs.vnet}", known, sub),
                            )
                        )
            for di, disk in enumerate(vm.disks):
                dloc: Loc = (*vloc, "os_disk") if di == 0 else (*vloc, "data_disks", di - 1)
                if disk.storage_account not in accounts:
                    p.append(
                        (
                            (*dloc, "storage_account"),
                            _expect("storage account", accounts, disk.storage_account),
                        )
                    )
            # Extension names match ignoring case, as the rules match them (rules._extension).
            have = {ext.lower() for ext in vm.extensions}
            first_at: dict[str, int] = {}
            for ei, ext in enumerate(vm.extensions_unreported):
                key = ext.lower()
                if key in first_at:
                    p.append(
                        (
                            (*vloc, "extensions_unreported", ei),
                            f"duplicate extension {ext!r} (first at extensions_unreported"
                            f"[{first_at[key]}]); expected each extension once",
                        )
                    )
                    continue
                first_at[key] = ei
                if key not in have:
                    p.append(
                        (
                            (*vloc, "extensions_unreported", ei),
                            _expect("extension of the VM", set(vm.extensions), ext),
                        )
                    )
            if vm.boot_diagnostics is not None and vm.boot_diagnostics not in accounts:
                p.append(
                    (
                        (*vloc, "boot_diagnostics"),
                        _expect("storage account", accounts, vm.boot_diagnostics),
                    )
                )
            if vm.nsg is not None and vm.nsg not in nsgs:
                p.append(((*vloc, "nsg"), _expect("NSG", nsgs, vm.nsg)))
    return p


def vm_cores(vm: VM) -> int:
    """Cores a VM needs in Resource Manager: its ``cores`` override, else the size table, else 1."""
    if vm.cores is not None:
        return vm.cores
    return size_cores(vm.size) or 1
