"""The platform's migration rules (MIG001-MIG035 of ``rules.md``), each a small check of the estate.

A rule is a function of :class:`Context` (estate, units, plan) that yields :class:`Finding` records.
:data:`CATALOGUE` holds each rule's fixed facts (severity, where the platform catches it, the
remediation and the window it opens); :func:`check` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import Literal

from sim.common.gcpause import paused_gc
from sim.common.words import plural
from sim.model.estate import VM, CloudService, Disk, Estate, vm_cores
from sim.model.graph import node_id
from sim.model.ordering import explicit_order, violations
from sim.model.plan import Plan
from sim.model.units import MigrationUnits, Unit

Severity = Literal["blocker", "remediate", "dropped", "note"]
CaughtAt = Literal["validate", "prepare", "plan", "-"]
SEVERITY_RANK: dict[str, int] = {"blocker": 0, "remediate": 1, "dropped": 2, "note": 3}
FUTURE_SUPPORT_RULES = frozenset({"MIG002", "MIG003"})  # what plan.future_support lifts


@dataclass(frozen=True)
class RuleSpec:
    id: str
    title: str
    severity: Severity
    caught_at: CaughtAt
    remediation: str
    window: str  # the window its remediation opens, "none" when it opens none


@dataclass(frozen=True)
class Finding:
    """One rule firing on one unit. ``resources`` are graph node ids such as ``vm:web-01``."""

    rule: str
    severity: Severity
    unit: str
    resources: tuple[str, ...]
    message: str
    remediation: str
    caught_at: CaughtAt
    # True when the whole remediation is an ordering that every plan obeys (MIG010 with a circuit
    # of the same subscription): then not even ``remediation: none`` makes it block.
    ordering_only: bool = False

    def blocks(self, plan: Plan) -> bool:
        """Whether the unit cannot migrate: blockers, and remediations the plan will not run.

        Under the ``plan.future_support`` what-if, MIG002/MIG003 no longer block: the platform
        would migrate those cloud services with stop/deallocate/start downtime.
        """
        if plan.future_support and self.rule in FUTURE_SUPPORT_RULES:
            return False
        if self.ordering_only:
            return False
        return self.severity == "blocker" or (
            self.severity == "remediate" and plan.remediation == "none"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "unit": self.unit,
            "resources": list(self.resources),
            "message": self.message,
            "remediation": self.remediation,
            "caught_at": self.caught_at,
        }


@dataclass(frozen=True)
class Context:
    estate: Estate
    units: MigrationUnits
    plan: Plan

    @cached_property
    def vms(self) -> list[tuple[CloudService, VM]]:
        """``estate.vms()``, listed once for all the rules that walk every VM."""
        return self.estate.vms()


Rule = Callable[[Context], Iterator[Finding]]


CATALOGUE: dict[str, RuleSpec] = {
    spec.id: spec
    for spec in (
        RuleSpec(
            "MIG001",
            "Cloud service holds web or worker roles (PaaS)",
            "blocker",
            "validate",
            "Not supported; remove the roles from the estate to migrate the rest",
            "none (unit excluded)",
        ),
        RuleSpec(
            "MIG002",
            "Cloud service holds more than one availability set",
            "blocker",
            "validate",
            "Move the VMs into one availability set (or split across cloud services)",
            'none; "future support" what-if: stop/deallocate/start downtime for the affected VMs',
        ),
        RuleSpec(
            "MIG003",
            "Cloud service holds VMs in an availability set and VMs in none",
            "blocker",
            "validate",
            "Put all VMs in one set, or take all out",
            "as MIG002",
        ),
        RuleSpec(
            "MIG004",
            "Virtual network holds both VMs and web/worker roles",
            "blocker",
            "validate",
            "Move the roles to their own virtual network",
            "none",
        ),
        RuleSpec(
            "MIG005",
            "Virtual network holds an App Service Environment",
            "blocker",
            "validate",
            "Not supported",
            "none (unit excluded)",
        ),
        RuleSpec(
            "MIG006",
            "Virtual network holds HDInsight",
            "blocker",
            "validate",
            "Not supported",
            "none (unit excluded)",
        ),
        RuleSpec(
            "MIG007",
            "Virtual network holds VMs managed by Dynamics Lifecycle Services",
            "blocker",
            "validate",
            "Not supported",
            "none (unit excluded)",
        ),
        RuleSpec(
            "MIG008",
            "Virtual network holds Azure AD Domain Services",
            "blocker",
            "validate",
            "Not supported",
            "none (unit excluded)",
        ),
        RuleSpec(
            "MIG009",
            "Virtual network holds an API Management deployment",
            "remediate",
            "validate",
            "Change the API Management VNet first (a no-downtime operation)",
            "none",
        ),
        RuleSpec(
            "MIG010",
            "Virtual network has a gateway connected to a classic ExpressRoute circuit",
            "remediate",
            "prepare",
            "Ordering: migrate the circuit first (no connectivity loss); then the VNet",
            "none; cross-subscription authorization links: gateway downtime from link removal"
            " to reconnection",
        ),
        RuleSpec(
            "MIG011",
            "Virtual network has both an ExpressRoute gateway and a VPN gateway",
            "blocker",
            "prepare",
            "Not supported; remove one gateway",
            "none",
        ),
        RuleSpec(
            "MIG012",
            "VM has endpoint ACLs",
            "remediate",
            "validate",
            "Remove the ACLs before, re-create them as NSG rules after",
            "exposure window (no ACL filtering) from removal to re-creation",
        ),
        RuleSpec(
            "MIG013",
            "Virtual network holds an Application Gateway",
            "remediate",
            "validate",
            "Remove before, re-create after",
            "data-plane downtime of the gateway's traffic from removal to re-creation",
        ),
        RuleSpec(
            "MIG014",
            "Virtual network uses VNet peering",
            "remediate",
            "validate",
            "Remove peering, migrate, re-peer",
            "peering connectivity loss from removal to re-peering (both ends migrated)",
        ),
        RuleSpec(
            "MIG015",
            "VM attached to more than one subnet (secondary NIC in another subnet)",
            "remediate",
            "validate",
            "Detach the secondary NIC before, re-attach after",
            "downtime of the secondary NIC's traffic",
        ),
        RuleSpec(
            "MIG016",
            "VM in a virtual network with no explicit subnet",
            "blocker",
            "validate",
            "Delete the VM (or redeploy it into a subnet)",
            "none (VM excluded)",
        ),
        RuleSpec(
            "MIG017",
            "VM has alerts or autoscale policies",
            "dropped",
            "-",
            "Re-create after migration",
            "monitoring gap until re-created",
        ),
        RuleSpec(
            "MIG018",
            "VM has an XML extension (BGInfo 1.*, Visual Studio Debugger, Web Deploy,"
            " Remote Debugging)",
            "remediate",
            "validate",
            "Uninstall before (else dropped / validation error)",
            "none",
        ),
        RuleSpec(
            "MIG019",
            "VM has boot diagnostics writing to Premium storage",
            "remediate",
            "validate",
            "Disable before, re-enable after",
            "diagnostics gap",
        ),
        RuleSpec(
            "MIG020",
            "VM has the Security Center (Defender) extension",
            "remediate",
            "validate",
            "Disable the subscription's policy (removes the extension) before; re-enable after",
            "security-monitoring gap",
        ),
        RuleSpec(
            "MIG021",
            "VM has the Azure Backup snapshot extension (VMSnapshot / VMSnapshotLinux)",
            "remediate",
            "validate",
            "Stop backup (retain data) and remove the extension before; re-protect after",
            "backup-protection gap",
        ),
        RuleSpec(
            "MIG022",
            "VM has the Azure Site Recovery extension",
            "remediate",
            "validate",
            "Disable replication before, re-enable after",
            "replication-protection gap",
        ),
        RuleSpec(
            "MIG023",
            "VM not in Running, Stopped or Stopped (deallocated) state"
            " (RoleStateUnknown, ProvisioningTimedOut)",
            "blocker",
            "validate",
            "Wait for the operation to finish; ProvisioningTimedOut needs delete/recreate",
            "none",
        ),
        RuleSpec(
            "MIG024",
            "Classic RBAC assignments on migrated resources",
            "note",
            "-",
            "Resource URIs change: plan role-assignment updates",
            "none",
        ),
        RuleSpec(
            "MIG025",
            "Cloud service not in a virtual network",
            "note",
            "-",
            "Platform stops, deallocates and starts its VMs; internal IPs change;"
            " public VIP kept only if reserved",
            "data-plane downtime: stop + deallocate + start of each VM",
        ),
        RuleSpec(
            "MIG026",
            "Storage account holds unattached disks or VM images",
            "note",
            "-",
            "Migrated with the storage account (not visible as classic images afterwards)",
            "none",
        ),
        RuleSpec(
            "MIG027",
            "Storage account migrated before every unit whose VM disks it holds",
            "blocker",
            "plan",
            "Ordering: compute and network first, storage last",
            "none",
        ),
        RuleSpec(
            "MIG028",
            "Virtual network with more than 400 VMs",
            "note",
            "-",
            "May hit the Resource Manager write throttle (1,200 writes/hour); the plan models it",
            "longer Prepare/Commit",
        ),
        RuleSpec(
            "MIG029",
            "Resource Manager quota (cores, NICs, public IPs, load balancers, NSGs, route tables)"
            " in the region below what the estate needs",
            "blocker",
            "prepare",
            "Raise the quota before; a quota error during Prepare means Abort",
            "none",
        ),
        RuleSpec(
            "MIG030",
            "VNet with a VPN gateway in a transit topology"
            " (on-premises reached through another VNet)",
            "note",
            "-",
            "Indirect on-premises connectivity is lost unless BGP or explicit connections"
            " are added",
            "transit connectivity loss from commit to fix",
        ),
        RuleSpec(
            "MIG031",
            "VM guest agent not reporting Ready while the VM has an extension, or an extension"
            " whose status (or handler status) is not reported",
            "remediate",
            "validate",
            "Restore status reporting (outbound access from the VM to its storage account:"
            " NSG rules, on-premises DNS reachability), or uninstall the extension",
            "none",
        ),
        RuleSpec(
            "MIG032",
            "Data disk whose VHD blob size differs from the disk's logical size in the VM model",
            "note",
            "-",
            "Migration proceeds but the Resource Manager disk gets no size; to keep it, detach"
            " the disk, update its size to the blob's, re-attach (before)",
            "none (if remediated before: the data disk is offline from detach to re-attach)",
        ),
        RuleSpec(
            "MIG033",
            "Disk whose VHD media link cannot be reached (blob deleted or inaccessible)",
            "blocker",
            "validate",
            "Restore or remove the disk from the VM",
            "none (unit excluded)",
        ),
        RuleSpec(
            "MIG034",
            'Disk whose VHD blob name contains "/"',
            "blocker",
            "validate",
            "Not supported by the Resource Manager compute provider: copy the VHD to a blob name"
            ' without "/" and re-attach',
            "none (unit excluded)",
        ),
        RuleSpec(
            "MIG035",
            "Cloud service deployment not in the regional scope (no update operation since"
            " networking moved from cluster to regional scope in 2014)",
            "remediate",
            "validate",
            "Run any update operation on the deployment first (add an endpoint or a data disk"
            " to a VM), then retry",
            "none",
        ),
    )
}
"""Each rule's fixed facts, worded as in ``rules.md`` (the spec)."""


def _finding(
    rule: str, unit: str, resources: Iterable[str], message: str, detail: str = ""
) -> Finding:
    """A finding of ``rule`` with the catalogue's severity, caught-at and remediation text."""
    spec = CATALOGUE[rule]
    remediation = f"{spec.remediation}. {detail}" if detail else spec.remediation
    return Finding(
        rule=rule,
        severity=spec.severity,
        unit=unit,
        resources=tuple(resources),
        message=message,
        remediation=remediation,
        caught_at=spec.caught_at,
    )


def _unit(ctx: Context, kind: str, name: str, parent: str | None = None) -> str:
    return ctx.units.unit_of[node_id(kind, name, parent)]


def _names(items: Iterable[str]) -> str:
    return ", ".join(items)


def _describe_unit(unit: Unit) -> str:
    kind = {
        "expressroute_circuit": "ExpressRoute circuit",
        "vnet": "VNet",
        "cloud_service": "cloud service",
        "storage_account": "storage account",
        "nsg": "NSG",
        "route_table": "route table",
        "reserved_ip": "reserved IP",
    }.get(unit.kind, unit.kind)
    return f"{kind} {unit.name}"


def _broken_precedences(ctx: Context) -> list[tuple[str, str, str]]:
    """Must-precede edges ``(before, after, reason)`` an explicit ``plan.ordering`` list breaks.

    A named strategy always respects the DAG, so it breaks none. An unknown or repeated unit name
    in the list raises :class:`~sim.common.errors.InputError` (key ``plan.ordering[i]``).
    """
    if isinstance(ctx.plan.ordering, str):
        return []
    return violations(ctx.units, explicit_order(ctx.units, ctx.plan.ordering))


# ---- extensions ----------------------------------------------------------------------------------


@lru_cache(maxsize=4096)  # a few extension strings repeat on every VM
def _extension(ext: str) -> tuple[str, str, str]:
    """``(full name, short name, version)`` of ``"Name/version"`` or ``"Name"``, lower case.

    The short name is the part after the last dot, so ``Microsoft.Compute.BGInfo`` reads as
    ``bginfo``.
    """
    name, _, version = ext.partition("/")
    full = name.strip().lower()
    return full, full.rsplit(".", 1)[-1], version.strip().lower()


def is_xml_extension(ext: str) -> bool:
    """BGInfo 1.* (version ``1``, ``1.x``, ``1.*``, ``1.<n>``), VS debuggers, Remote Debugging,
    Web Deploy. BGInfo without a version or with 2.* is not one (2.* is the JSON extension)."""
    full, short, version = _extension(ext)
    if short == "bginfo":
        return version == "1" or version.startswith("1.")
    return "debugger" in full or any(
        name.startswith(("remotedebug", "webdeploy")) for name in (full, short)
    )


def is_security_center_extension(ext: str) -> bool:
    """The Security Center (Defender) monitoring agents; never the IaaSAntimalware extension,
    although its publisher is also ``Microsoft.Azure.Security``."""
    full, short, _ = _extension(ext)
    if "antimalware" in full:
        return False
    return (
        short in ("azuresecuritywindowsagent", "azuresecuritylinuxagent")
        or full.startswith(("securitycenter", "microsoft.azure.security"))
        or short.startswith("securitycenter")
    )


def is_backup_extension(ext: str) -> bool:
    """The Azure Backup snapshot extensions VMSnapshot and VMSnapshotLinux."""
    return _extension(ext)[1] in ("vmsnapshot", "vmsnapshotlinux")


def is_site_recovery_extension(ext: str) -> bool:
    """Azure Site Recovery: a name containing ``SiteRecovery`` or starting ``InMage``."""
    full, short, _ = _extension(ext)
    return "siterecovery" in full or full.startswith("inmage") or short.startswith("inmage")


def _vm_extension_rule(
    ctx: Context, rule: str, match: Callable[[str], bool], what: str
) -> Iterator[Finding]:
    for _, vm in ctx.vms:
        found = [ext for ext in vm.extensions if match(ext)]
        if found:
            yield _finding(
                rule,
                _unit(ctx, "vm", vm.name),
                [node_id("vm", vm.name)],
                f"VM {vm.name} has {what}: {_names(found)}",
            )


def _vnet_service_rule(ctx: Context, rule: str, kind: str, what: str) -> Iterator[Finding]:
    for vnet in ctx.estate.vnets:
        for svc in vnet.services:
            if svc.kind == kind:
                yield _finding(
                    rule,
                    _unit(ctx, "vnet", vnet.name),
                    [node_id("service", svc.name), node_id("vnet", vnet.name)],
                    f"VNet {vnet.name} holds {what} {svc.name}",
                )


# ---- the rules -----------------------------------------------------------------------------------


def mig001_paas_roles(ctx: Context) -> Iterator[Finding]:
    """One blocker per cloud service with web/worker roles; resources: the service and its roles."""
    for cs in ctx.estate.cloud_services:
        if cs.roles:
            roles = [f"{r.name} ({r.kind})" for r in cs.roles]
            yield _finding(
                "MIG001",
                _unit(ctx, "cloud_service", cs.name),
                [node_id("cloud_service", cs.name)]
                + [node_id("role", r.name, cs.name) for r in cs.roles],
                f"cloud service {cs.name} holds PaaS roles: {_names(roles)}",
            )


def mig002_availability_sets(ctx: Context) -> Iterator[Finding]:
    """One blocker per cloud service whose VMs use more than one distinct availability set
    (sets only declared in ``availability_sets`` and used by no VM do not count)."""
    for cs in ctx.estate.cloud_services:
        sets = list(dict.fromkeys(vm.availability_set for vm in cs.vms if vm.availability_set))
        if len(sets) > 1:
            yield _finding(
                "MIG002",
                _unit(ctx, "cloud_service", cs.name),
                [node_id("cloud_service", cs.name)]
                + [node_id("availability_set", s) for s in sets],
                f"cloud service {cs.name} holds {len(sets)} availability sets: {_names(sets)}",
            )


def mig003_mixed_availability(ctx: Context) -> Iterator[Finding]:
    """One blocker per cloud service with VMs in an availability set and VMs in none; resources:
    the cloud service and the VMs in no set."""
    for cs in ctx.estate.cloud_services:
        in_set = [vm.name for vm in cs.vms if vm.availability_set]
        loose = [vm.name for vm in cs.vms if not vm.availability_set]
        if in_set and loose:
            yield _finding(
                "MIG003",
                _unit(ctx, "cloud_service", cs.name),
                [node_id("cloud_service", cs.name)] + [node_id("vm", n) for n in loose],
                f"cloud service {cs.name} has VMs in an availability set ({_names(in_set)})"
                f" and VMs in none ({_names(loose)})",
            )


def mig004_vms_and_roles(ctx: Context) -> Iterator[Finding]:
    """One blocker per VNet whose cloud services hold both VMs and roles (in the same or in
    different cloud services); resources: the VNet and the cloud services with roles."""
    by_vnet: dict[str, list[CloudService]] = {}
    for cs in ctx.estate.cloud_services:
        if cs.vnet is not None:
            by_vnet.setdefault(cs.vnet, []).append(cs)
    for vnet in ctx.estate.vnets:
        members = by_vnet.get(vnet.name, [])
        with_roles = [cs.name for cs in members if cs.roles]
        with_vms = [cs.name for cs in members if cs.vms]
        if with_roles and with_vms:
            yield _finding(
                "MIG004",
                _unit(ctx, "vnet", vnet.name),
                [node_id("vnet", vnet.name)] + [node_id("cloud_service", n) for n in with_roles],
                f"VNet {vnet.name} holds VMs (cloud services {_names(with_vms)}) and web/worker"
                f" roles (cloud services {_names(with_roles)})",
            )


def mig005_app_service_environment(ctx: Context) -> Iterator[Finding]:
    """One blocker per App Service Environment; resources: the service and its VNet."""
    yield from _vnet_service_rule(
        ctx, "MIG005", "app_service_environment", "the App Service Environment"
    )


def mig006_hdinsight(ctx: Context) -> Iterator[Finding]:
    """One blocker per HDInsight service; resources: the service and its VNet."""
    yield from _vnet_service_rule(ctx, "MIG006", "hdinsight", "the HDInsight service")


def mig007_dynamics_lcs(ctx: Context) -> Iterator[Finding]:
    """One blocker per Dynamics Lifecycle Services deployment; resources: it and its VNet."""
    yield from _vnet_service_rule(
        ctx, "MIG007", "dynamics_lcs", "VMs managed by Dynamics Lifecycle Services:"
    )


AADDS_REMEDIATION = (
    "What-if plan.aadds_migration: Microsoft's later three-phase procedure. The managed domain"
    " is prepared before the VNet's Validate, the VNet migrates, the managed domain is committed"
    " after the VNet's Commit; no Abort once the domain's prepare has run; the managed domain is"
    " out (users and applications cannot authenticate) from its prepare to its commit"
)


def mig008_aad_domain_services(ctx: Context) -> Iterator[Finding]:
    """One blocker per Azure AD Domain Services deployment; resources: it and its VNet.

    Under the ``plan.aadds_migration`` what-if the finding is ``remediate`` instead: the
    domain services' prepare and commit are scheduled around the VNet's migration
    (:data:`sim.model.remedies.REMEDIES`)."""
    for f in _vnet_service_rule(
        ctx, "MIG008", "aad_domain_services", "the Azure AD Domain Services deployment"
    ):
        if ctx.plan.aadds_migration:
            f = replace(f, severity="remediate", remediation=AADDS_REMEDIATION)
        yield f


def mig009_api_management(ctx: Context) -> Iterator[Finding]:
    """One remediation per API Management deployment; resources: it and its VNet."""
    yield from _vnet_service_rule(ctx, "MIG009", "api_management", "the API Management deployment")


def mig010_expressroute_circuit(ctx: Context) -> Iterator[Finding]:
    """One remediation per gateway linked to a classic ExpressRoute circuit of the estate;
    resources: the gateway and the circuit. The message adds a cross-subscription link (circuit
    ``subscription`` set and not the estate's) and an explicit ordering that lists the VNet
    before the circuit."""
    broken = {(before, after) for before, after, _ in _broken_precedences(ctx)}
    circuits = {c.name: c for c in ctx.estate.expressroute_circuits}
    for vnet in ctx.estate.vnets:
        for gw in vnet.gateways:
            if gw.circuit is None:
                continue
            circuit = circuits[gw.circuit]
            vnet_unit = _unit(ctx, "vnet", vnet.name)
            circuit_unit = _unit(ctx, "expressroute_circuit", circuit.name)
            message = (
                f"gateway {gw.name} of VNet {vnet.name} links to classic ExpressRoute circuit"
                f" {circuit.name}: the circuit must move first"
            )
            detail = ""
            cross = bool(circuit.subscription and circuit.subscription != ctx.estate.subscription)
            if cross:
                message += (
                    f"; the circuit is in subscription {circuit.subscription}, so this is a"
                    " cross-subscription authorization link: the gateway loses connectivity from"
                    " link removal to reconnection"
                )
                detail = "Cross-subscription link: remove the link, migrate, then reconnect."
            if (circuit_unit, vnet_unit) in broken:
                message += (
                    f"; the plan's ordering lists {vnet_unit} before {circuit_unit}:"
                    f" {circuit_unit} must go first"
                )
            finding = _finding(
                "MIG010",
                vnet_unit,
                [node_id("gateway", gw.name), node_id("expressroute_circuit", circuit.name)],
                message,
                detail,
            )
            # Same subscription: moving the circuit first is the whole remedy, and the unit
            # ordering always does that.
            yield finding if cross else replace(finding, ordering_only=True)


def mig011_expressroute_and_vpn(ctx: Context) -> Iterator[Finding]:
    """One blocker per VNet with both an ExpressRoute and a VPN gateway; resources: the VNet and
    its gateways."""
    for vnet in ctx.estate.vnets:
        kinds = {gw.kind for gw in vnet.gateways}
        if {"expressroute", "vpn"} <= kinds:
            yield _finding(
                "MIG011",
                _unit(ctx, "vnet", vnet.name),
                [node_id("vnet", vnet.name)]
                + [node_id("gateway", gw.name) for gw in vnet.gateways],
                f"VNet {vnet.name} has both an ExpressRoute and a VPN gateway:"
                f" {_names(f'{gw.name} ({gw.kind})' for gw in vnet.gateways)}",
            )


def mig012_endpoint_acls(ctx: Context) -> Iterator[Finding]:
    """One remediation per VM with endpoint ACLs."""
    for _, vm in ctx.vms:
        if vm.endpoint_acls:
            yield _finding(
                "MIG012",
                _unit(ctx, "vm", vm.name),
                [node_id("vm", vm.name)],
                f"VM {vm.name} has endpoint ACLs",
            )


def mig013_application_gateway(ctx: Context) -> Iterator[Finding]:
    """One remediation per Application Gateway; resources: the gateway service and its VNet."""
    yield from _vnet_service_rule(ctx, "MIG013", "application_gateway", "the Application Gateway")


def mig014_peering(ctx: Context) -> Iterator[Finding]:
    """One remediation per end of each peering (a peering listed on either or both VNets):
    each VNet's Validate refuses it while the peering exists. Resources: this VNet, the peer."""
    peers: dict[str, list[str]] = {v.name: [] for v in ctx.estate.vnets}
    for vnet in ctx.estate.vnets:
        for peer in vnet.peerings:
            for a, b in ((vnet.name, peer), (peer, vnet.name)):
                if b not in peers[a]:
                    peers[a].append(b)
    for vnet in ctx.estate.vnets:
        for peer in peers[vnet.name]:
            yield _finding(
                "MIG014",
                _unit(ctx, "vnet", vnet.name),
                [node_id("vnet", vnet.name), node_id("vnet", peer)],
                f"VNet {vnet.name} is peered with VNet {peer}; re-peer once both have migrated",
            )


def mig015_multiple_subnets(ctx: Context) -> Iterator[Finding]:
    """One remediation per VM attached to more than one subnet; resources: the VM, its subnets."""
    for cs, vm in ctx.vms:
        if len(vm.subnets) > 1:
            yield _finding(
                "MIG015",
                _unit(ctx, "vm", vm.name),
                [node_id("vm", vm.name)] + [node_id("subnet", s, cs.vnet) for s in vm.subnets],
                f"VM {vm.name} is attached to {len(vm.subnets)} subnets: {_names(vm.subnets)}",
            )


def mig016_no_subnet(ctx: Context) -> Iterator[Finding]:
    """One blocker per VM of a cloud service in a VNet that names no subnet (``subnets: []``)."""
    for cs, vm in ctx.vms:
        if cs.vnet and not vm.subnets:
            yield _finding(
                "MIG016",
                _unit(ctx, "vm", vm.name),
                [node_id("vm", vm.name)],
                f"VM {vm.name} is in VNet {cs.vnet} but has no explicit subnet",
            )


def mig017_alerts_autoscale(ctx: Context) -> Iterator[Finding]:
    """One ``dropped`` finding per VM with alerts or autoscale policies (or both)."""
    for _, vm in ctx.vms:
        what = [w for w, on in (("alerts", vm.alerts), ("autoscale policies", vm.autoscale)) if on]
        if what:
            yield _finding(
                "MIG017",
                _unit(ctx, "vm", vm.name),
                [node_id("vm", vm.name)],
                f"VM {vm.name} has {' and '.join(what)}; migration drops them",
            )


def mig018_xml_extensions(ctx: Context) -> Iterator[Finding]:
    """One remediation per VM with XML extensions (see :func:`is_xml_extension`)."""
    yield from _vm_extension_rule(ctx, "MIG018", is_xml_extension, "XML extensions")


def mig019_premium_boot_diagnostics(ctx: Context) -> Iterator[Finding]:
    """One remediation per VM whose boot diagnostics write to a Premium storage account;
    resources: the VM and the account."""
    accounts = {a.name: a for a in ctx.estate.storage_accounts}
    for _, vm in ctx.vms:
        if vm.boot_diagnostics and accounts[vm.boot_diagnostics].premium:
            account = accounts[vm.boot_diagnostics]
            yield _finding(
                "MIG019",
                _unit(ctx, "vm", vm.name),
                [node_id("vm", vm.name), node_id("storage_account", account.name)],
                f"VM {vm.name} writes boot diagnostics to Premium storage account {account.name}"
                f" ({account.sku})",
            )


def mig020_security_center(ctx: Context) -> Iterator[Finding]:
    """One remediation per VM with a Security Center extension (see
    :func:`is_security_center_extension`)."""
    yield from _vm_extension_rule(
        ctx, "MIG020", is_security_center_extension, "the Security Center extension"
    )


def mig021_backup_snapshot(ctx: Context) -> Iterator[Finding]:
    """One remediation per VM with VMSnapshot or VMSnapshotLinux."""
    yield from _vm_extension_rule(
        ctx, "MIG021", is_backup_extension, "the Azure Backup snapshot extension"
    )


def mig022_site_recovery(ctx: Context) -> Iterator[Finding]:
    """One remediation per VM with an Azure Site Recovery extension (see
    :func:`is_site_recovery_extension`)."""
    yield from _vm_extension_rule(
        ctx, "MIG022", is_site_recovery_extension, "the Azure Site Recovery extension"
    )


_STUCK_STATES = ("RoleStateUnknown", "ProvisioningTimedOut")


def mig023_vm_state(ctx: Context) -> Iterator[Finding]:
    """One blocker per VM in state RoleStateUnknown or ProvisioningTimedOut."""
    for _, vm in ctx.vms:
        if vm.state in _STUCK_STATES:
            yield _finding(
                "MIG023",
                _unit(ctx, "vm", vm.name),
                [node_id("vm", vm.name)],
                f"VM {vm.name} is in state {vm.state}, not Running, Stopped or Stopped"
                " (deallocated)",
                f"Delete and re-create VM {vm.name}." if vm.state == "ProvisioningTimedOut" else "",
            )


def mig024_rbac(ctx: Context) -> Iterator[Finding]:
    """One note per unit holding VNets, cloud services or storage accounts with classic RBAC
    assignments; resources: those with ``rbac_assignments > 0``."""
    per_unit: dict[str, list[tuple[str, str, int]]] = {}
    holders: list[tuple[str, str, int]] = [
        *(("vnet", v.name, v.rbac_assignments) for v in ctx.estate.vnets),
        *(("cloud_service", c.name, c.rbac_assignments) for c in ctx.estate.cloud_services),
        *(("storage_account", s.name, s.rbac_assignments) for s in ctx.estate.storage_accounts),
    ]
    for kind, name, count in holders:
        if count > 0:
            per_unit.setdefault(_unit(ctx, kind, name), []).append((kind, name, count))
    words = {"vnet": "VNet", "cloud_service": "cloud service", "storage_account": "storage account"}
    for unit, items in per_unit.items():
        total = sum(count for _, _, count in items)
        where = (
            _names(f"{words[kind]} {name} ({count})" for kind, name, count in items)
            if len(items) > 1
            else f"{words[items[0][0]]} {items[0][1]}"
        )
        yield _finding(
            "MIG024",
            unit,
            [node_id(kind, name) for kind, name, _ in items],
            f"{plural(total, 'classic role assignment')} on {where}; resource URIs change",
        )


def mig025_outside_vnet(ctx: Context) -> Iterator[Finding]:
    """One note per cloud service not in a VNet that has VMs (one without VMs has nothing the
    platform restarts)."""
    for cs in ctx.estate.cloud_services:
        if cs.vnet is None and cs.vms:
            vip = (
                f"its public VIP is kept (reserved IP {cs.reserved_ip})"
                if cs.reserved_ip
                else "it has no reserved IP, so its public VIP changes"
            )
            yield _finding(
                "MIG025",
                _unit(ctx, "cloud_service", cs.name),
                [node_id("cloud_service", cs.name)],
                f"cloud service {cs.name} is not in a VNet: the platform stops, deallocates and"
                f" starts its {plural(len(cs.vms), 'VM')} ({_names(vm.name for vm in cs.vms)});"
                f" internal IPs change; {vip}",
            )


def mig026_disks_and_images(ctx: Context) -> Iterator[Finding]:
    """One note per storage account whose contents list unattached disks or images."""
    for account in ctx.estate.storage_accounts:
        what = [
            w
            for w, key in (("unattached disks", "unattached_disks"), ("VM images", "images"))
            if key in account.contents
        ]
        if what:
            yield _finding(
                "MIG026",
                _unit(ctx, "storage_account", account.name),
                [node_id("storage_account", account.name)],
                f"storage account {account.name} holds {' and '.join(what)}: they move with the"
                " account and are no longer visible as classic disks or images",
            )


def mig027_storage_order(ctx: Context) -> Iterator[Finding]:
    """Only for an explicit ``plan.ordering`` list: one blocker per storage account and unit
    whose VM disks or boot diagnostics it holds, where the list puts the account first.
    Resources: the account and the root of that unit. The plan's own ``precedence`` entries are
    not platform rules and are not reported here."""
    for before, after, reason in _broken_precedences(ctx):
        account = ctx.units[after]
        if account.kind != "storage_account" or reason.startswith("plan.precedence"):
            continue
        first = ctx.units[before]
        yield _finding(
            "MIG027",
            after,
            [account.root, first.root],
            f"the plan's ordering lists storage account {account.name} before"
            f" {_describe_unit(first)}, but {reason}: {_describe_unit(first)} must go first",
            f"List {before} before {after}.",
        )


def mig028_large_vnet(ctx: Context) -> Iterator[Finding]:
    """One note per VNet unit with more than 400 VMs."""
    for unit in ctx.units.units:
        if unit.kind == "vnet" and unit.vm_count > 400:
            yield _finding(
                "MIG028",
                unit.id,
                [unit.root],
                f"VNet {unit.name} holds {unit.vm_count} VMs (more than 400)",
            )


_QUOTA_WORDS = {
    "cores": "cores",
    "nics": "NICs",
    "public_ips": "public IPs",
    "static_public_ips": "static public IPs",
    "load_balancers": "load balancers",
    "nsgs": "NSGs",
    "route_tables": "route tables",
}


def quota_needs(estate: Estate) -> dict[str, tuple[int, list[str]]]:
    """What the whole estate needs in Resource Manager per quota key, and the nodes that need it.

    Assumptions: cores = the sum of :func:`~sim.model.estate.vm_cores`; NICs = one per VM plus one
    per extra subnet of a VM; public IPs = one VIP per cloud service with VMs plus one per VM with
    an instance-level public IP; static public IPs = the reserved IPs; load balancers = one per
    cloud service with VMs; NSGs and route tables = those of the estate.
    """
    vms = estate.vms()
    with_vms = [cs for cs in estate.cloud_services if cs.vms]
    vm_nodes = [node_id("vm", vm.name) for _, vm in vms]
    cs_nodes = [node_id("cloud_service", cs.name) for cs in with_vms]
    return {
        "cores": (sum(vm_cores(vm) for _, vm in vms), vm_nodes),
        "nics": (sum(max(1, len(vm.subnets)) for _, vm in vms), vm_nodes),
        "public_ips": (
            len(with_vms) + sum(vm.public_ip for _, vm in vms),
            cs_nodes + [node_id("vm", vm.name) for _, vm in vms if vm.public_ip],
        ),
        "static_public_ips": (
            len(estate.reserved_ips),
            [node_id("reserved_ip", r.name) for r in estate.reserved_ips],
        ),
        "load_balancers": (len(with_vms), cs_nodes),
        "nsgs": (len(estate.nsgs), [node_id("nsg", n.name) for n in estate.nsgs]),
        "route_tables": (
            len(estate.route_tables),
            [node_id("route_table", t.name) for t in estate.route_tables],
        ),
    }


def mig029_quotas(ctx: Context) -> Iterator[Finding]:
    """Only when ``estate.quotas`` is set: one blocker per quota key the whole estate exceeds
    (see :func:`quota_needs`), on the first unit of ``units.units`` that needs that resource;
    resources: none (the shortfall is the region's)."""
    quotas = ctx.estate.quotas
    if quotas is None:
        return
    index = {u.id: i for i, u in enumerate(ctx.units.units)}
    for key, (need, nodes) in quota_needs(ctx.estate).items():
        quota = getattr(quotas, key)
        if quota is None or need <= quota:
            continue
        unit = min((ctx.units.unit_of[n] for n in nodes), key=index.__getitem__)
        yield _finding(
            "MIG029",
            unit,
            [],
            f"the estate needs {need} {_QUOTA_WORDS[key]}, quota is {quota}"
            f" (Resource Manager, {ctx.estate.location})",
            f"Raise the {_QUOTA_WORDS[key]} quota to at least {need}.",
        )


def mig030_transit(ctx: Context) -> Iterator[Finding]:
    """One note per VPN gateway marked ``transit: true``; resources: the gateway."""
    for vnet in ctx.estate.vnets:
        for gw in vnet.gateways:
            if gw.kind == "vpn" and gw.transit:
                yield _finding(
                    "MIG030",
                    _unit(ctx, "vnet", vnet.name),
                    [node_id("gateway", gw.name)],
                    f"VPN gateway {gw.name} of VNet {vnet.name} is in a transit topology:"
                    " on-premises reached through another VNet is lost after commit",
                )


# ---- MIG031-MIG035: the platform's common-errors list -------------------------------------------


def mig031_status_not_reported(ctx: Context) -> Iterator[Finding]:
    """One remediation per VM whose guest agent is not Ready (``agent_ready: false``) while it has
    at least one extension, or with extensions in ``extensions_unreported``; resources: the VM.
    The message names every extension Validate would wait for (all of them when the agent is not
    Ready, else the unreported ones). A VM with no extensions and an agent not Ready is clean:
    the check is the extensions' status."""
    for _, vm in ctx.vms:
        agent_down = not vm.agent_ready and bool(vm.extensions)
        if not agent_down and not vm.extensions_unreported:
            continue
        if agent_down:
            message = (
                f"VM {vm.name}: the guest agent does not report Ready, so the status of its"
                f" extensions is not reported: {_names(vm.extensions)}"
            )
        else:
            message = (
                f"VM {vm.name}: the status of its extensions is not reported:"
                f" {_names(vm.extensions_unreported)}"
            )
        yield _finding("MIG031", _unit(ctx, "vm", vm.name), [node_id("vm", vm.name)], message)


def _disks(vm: VM) -> Iterator[tuple[str, Disk]]:
    """``(label, disk)`` for the VM's OS disk and each data disk; the label is the disk's key in
    the scenario file (``os_disk``, ``data_disks[0]``)."""
    yield "os_disk", vm.os_disk
    for i, disk in enumerate(vm.data_disks):
        yield f"data_disks[{i}]", disk


def _disk_rule(
    ctx: Context,
    rule: str,
    match: Callable[[str, Disk], bool],
    say: Callable[[str, Disk], str],
    what: str,
    tail: str = "",
) -> Iterator[Finding]:
    """One finding per VM with disks that ``match``; resources: the VM and the storage accounts
    of those disks; the message lists each disk as ``say`` words it, then ``tail``."""
    for _, vm in ctx.vms:
        found = [(label, disk) for label, disk in _disks(vm) if match(label, disk)]
        if found:
            accounts = dict.fromkeys(
                node_id("storage_account", d.storage_account) for _, d in found
            )
            yield _finding(
                rule,
                _unit(ctx, "vm", vm.name),
                [node_id("vm", vm.name), *accounts],
                f"VM {vm.name} has {what}: {_names(say(label, d) for label, d in found)}{tail}",
            )


def _disk_words(label: str, disk: Disk) -> str:
    blob = f"blob {disk.blob} in " if disk.blob else ""
    return f"{label} ({blob}storage account {disk.storage_account})"


def mig032_blob_size_mismatch(ctx: Context) -> Iterator[Finding]:
    """One note per VM with data disks whose ``blob_size_gb`` is set and differs from
    ``size_gb``; an OS disk never fires it. Resources: the VM and those disks' storage accounts."""

    def mismatched(label: str, disk: Disk) -> bool:
        return (
            label != "os_disk"
            and disk.blob_size_gb is not None
            and disk.blob_size_gb != disk.size_gb
        )

    def say(label: str, disk: Disk) -> str:
        return (
            f"{label} (logical size {disk.size_gb} GB, blob {disk.blob_size_gb} GB, storage"
            f" account {disk.storage_account})"
        )

    yield from _disk_rule(
        ctx,
        "MIG032",
        mismatched,
        say,
        "data disks whose blob size differs from the logical size",
        "; migration proceeds but the Resource Manager disk gets no size",
    )


def mig033_unreachable_disk(ctx: Context) -> Iterator[Finding]:
    """One blocker per VM with disks (OS or data) marked ``reachable: false``; resources: the VM
    and those disks' storage accounts."""
    yield from _disk_rule(
        ctx,
        "MIG033",
        lambda _, disk: not disk.reachable,
        _disk_words,
        "disks whose VHD media link cannot be reached",
    )


def mig034_blob_name_with_slash(ctx: Context) -> Iterator[Finding]:
    """One blocker per VM with disks (OS or data) whose ``blob`` contains "/"; resources: the VM
    and those disks' storage accounts."""
    yield from _disk_rule(
        ctx,
        "MIG034",
        lambda _, disk: disk.blob is not None and "/" in disk.blob,
        _disk_words,
        'disks whose VHD blob name contains "/"',
    )


def mig035_regional_scope(ctx: Context) -> Iterator[Finding]:
    """One remediation per cloud service with ``regional_scope: false`` that has a deployment (VMs
    or roles; an empty cloud service has nothing to update), on its unit (the VNet's unit when
    it is in a VNet); resources: the cloud service."""
    for cs in ctx.estate.cloud_services:
        if not cs.regional_scope and (cs.vms or cs.roles):
            yield _finding(
                "MIG035",
                _unit(ctx, "cloud_service", cs.name),
                [node_id("cloud_service", cs.name)],
                f"cloud service {cs.name}: its deployment is not in the regional scope (no update"
                " operation since networking moved from cluster to regional scope)",
            )


RULES: dict[str, Rule] = {
    "MIG001": mig001_paas_roles,
    "MIG002": mig002_availability_sets,
    "MIG003": mig003_mixed_availability,
    "MIG004": mig004_vms_and_roles,
    "MIG005": mig005_app_service_environment,
    "MIG006": mig006_hdinsight,
    "MIG007": mig007_dynamics_lcs,
    "MIG008": mig008_aad_domain_services,
    "MIG009": mig009_api_management,
    "MIG010": mig010_expressroute_circuit,
    "MIG011": mig011_expressroute_and_vpn,
    "MIG012": mig012_endpoint_acls,
    "MIG013": mig013_application_gateway,
    "MIG014": mig014_peering,
    "MIG015": mig015_multiple_subnets,
    "MIG016": mig016_no_subnet,
    "MIG017": mig017_alerts_autoscale,
    "MIG018": mig018_xml_extensions,
    "MIG019": mig019_premium_boot_diagnostics,
    "MIG020": mig020_security_center,
    "MIG021": mig021_backup_snapshot,
    "MIG022": mig022_site_recovery,
    "MIG023": mig023_vm_state,
    "MIG024": mig024_rbac,
    "MIG025": mig025_outside_vnet,
    "MIG026": mig026_disks_and_images,
    "MIG027": mig027_storage_order,
    "MIG028": mig028_large_vnet,
    "MIG029": mig029_quotas,
    "MIG030": mig030_transit,
    "MIG031": mig031_status_not_reported,
    "MIG032": mig032_blob_size_mismatch,
    "MIG033": mig033_unreachable_disk,
    "MIG034": mig034_blob_name_with_slash,
    "MIG035": mig035_regional_scope,
}
"""Every rule, in ID order."""


@paused_gc()
def check(estate: Estate, units: MigrationUnits, plan: Plan) -> list[Finding]:
    """Run every rule; findings sorted by severity, unit (order of ``units.units``), rule id and
    resources.

    Raises :class:`~sim.common.errors.InputError` for an explicit ``plan.ordering`` naming an
    unknown unit or one unit twice.
    """
    ctx = Context(estate, units, plan)
    index = {u.id: i for i, u in enumerate(units.units)}
    found = [f for rule in RULES.values() for f in rule(ctx)]
    return sorted(
        found, key=lambda f: (SEVERITY_RANK[f.severity], index[f.unit], f.rule, f.resources)
    )


def unit_status(findings: Iterable[Finding], plan: Plan, units: MigrationUnits) -> dict[str, str]:
    """Per unit of ``units.units`` (in that order): ``blocked`` when a finding blocks it under
    ``plan`` (see :meth:`Finding.blocks`), else ``remediate`` when a remediation applies, else
    ``clean`` (``dropped`` and ``note`` findings leave a unit clean)."""
    status: dict[str, str] = {u.id: "clean" for u in units.units}
    for f in findings:
        if f.blocks(plan):
            status[f.unit] = "blocked"
        elif f.severity == "remediate" and status[f.unit] == "clean":
            status[f.unit] = "remediate"
    return status
