"""Synthetic classic estates of any size, deterministic per seed (``migsim generate``).

:func:`generate_estate` builds an :class:`~sim.model.estate.Estate` that looks like a real classic
subscription: cloud services of 1-8 VMs, about 85 % of the VMs in virtual networks of a few tens to
a few hundred VMs (the default ``vnets`` is one per 150 VMs), one availability set per cloud service
with more than one VM, 1-4 disks per VM over storage accounts of 20-40 VMs each (some Premium),
VPN and ExpressRoute gateways with their circuits, peerings, NSGs and route tables on subnets,
reserved IPs (a few unattached) and classic role assignments. ``rule_share`` is the probability that
a VM, a cloud service, a virtual network or a circuit carries one feature a migration rule fires
on; see :data:`VM_TRIGGERS` and the :func:`generate_estate` docstring for what and where.

The same ``(vms, vnets, seed, rule_share)`` always gives the same estate (one numpy generator on
``SeedSequence(seed)``, drawn in a fixed order). :func:`estate_to_yaml` writes the estate as a
compact YAML file that :func:`sim.model.scenario.load_estate` reads back to an equal estate;
:func:`scenario_yaml` wraps it into a full scenario file, with :func:`default_plan` by default
(what ``migsim generate`` writes without ``--estate-only``).
"""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np

from sim.common.gcpause import paused_gc
from sim.model.estate import Estate
from sim.model.scenario import dump_yaml

MAX_VMS_PER_VNET = 2048
"""Classic limit: virtual machines and role instances per virtual network."""

VMS_PER_VNET = 150
"""VMs per virtual network behind the default ``vnets``: ``max(1, vms // 150)``."""

VNET_SHARE = 0.85
"""Share of the VMs that live in cloud services inside a virtual network."""

# Cloud service sizes 1..8 VMs (single VMs and small tiers are the common case).
_CS_SIZE_WEIGHTS = (0.16, 0.24, 0.19, 0.13, 0.10, 0.08, 0.05, 0.05)
_WORKLOADS = ("web", "app", "sql", "dc", "ftp", "batch", "cache", "mq", "rpt", "jump", "iis", "lnx")
_SIZES = (
    ("Small", 0.08),
    ("Medium", 0.08),
    ("Large", 0.04),
    ("Standard_A1", 0.08),
    ("Standard_A2", 0.12),
    ("Standard_A3", 0.06),
    ("Standard_A2_v2", 0.06),
    ("Standard_D1_v2", 0.08),
    ("Standard_D2_v2", 0.16),
    ("Standard_D3_v2", 0.10),
    ("Standard_D4_v2", 0.04),
    ("Standard_D12_v2", 0.05),
    ("Standard_D13_v2", 0.05),
)
_PREMIUM_SIZES = (
    ("Standard_DS2_v2", 0.35),
    ("Standard_DS3_v2", 0.3),
    ("Standard_DS4_v2", 0.1),
    ("Standard_DS13_v2", 0.15),
    ("Standard_GS2", 0.1),
)
_SUBNETS = ("web", "app", "data", "mgmt", "dmz")
# Extensions that no rule fires on (BGInfo 2.* is the JSON extension, not MIG018).
_PLAIN_EXTENSIONS = (
    ("IaaSAntimalware/1.5", 0.45),
    ("BGInfo/2.1", 0.35),
    ("Microsoft.Azure.Diagnostics.IaaSDiagnostics/1.5", 0.25),
    ("VMAccessAgent/2.4", 0.15),
)
_DATA_DISK_SIZES = (128, 256, 512, 1023)
_LOCATIONS = ("West Europe", "North Europe", "East US", "West US", "Southeast Asia")

VM_TRIGGERS: tuple[tuple[str, float], ...] = (
    ("endpoint_acls", 0.24),  # MIG012 remediate
    ("xml_extension", 0.18),  # MIG018 remediate (BGInfo/1.*)
    ("backup_extension", 0.14),  # MIG021 remediate (VMSnapshot)
    ("security_center", 0.10),  # MIG020 remediate
    ("site_recovery", 0.05),  # MIG022 remediate
    ("alerts", 0.15),  # MIG017 dropped (alerts and/or autoscale)
    ("multi_subnet", 0.07),  # MIG015 remediate (VMs in a VNet; else endpoint ACLs)
    ("premium_boot_diagnostics", 0.05),  # MIG019 remediate
    ("stuck_state", 0.02),  # MIG023 blocker (VMs outside a VNet only; else endpoint ACLs)
)
"""What one rule-triggering VM carries, with its weight (a VM carries at most one)."""

VNET_TRIGGERS: tuple[tuple[str, float], ...] = (
    ("application_gateway", 0.45),  # MIG013 remediate
    ("api_management", 0.25),  # MIG009 remediate
    ("transit", 0.15),  # MIG030 note (a VPN gateway in a transit topology)
    ("blocked_service", 0.10),  # MIG005-MIG008 blocker
    ("both_gateways", 0.05),  # MIG011 blocker
)
"""What one rule-triggering virtual network carries, with its weight."""


def _pick(rng: np.random.Generator, table: tuple[tuple[Any, float], ...]) -> Any:
    weights = np.array([w for _, w in table])
    return table[int(rng.choice(len(table), p=weights / weights.sum()))][0]


def _picker(rng: np.random.Generator, table: tuple[tuple[Any, float], ...], n: int) -> list[Any]:
    """``n`` weighted draws at once (one numpy call instead of ``n``)."""
    weights = np.array([w for _, w in table])
    idx = rng.choice(len(table), size=n, p=weights / weights.sum())
    return [table[int(i)][0] for i in idx]


def _width(n: int) -> int:
    return max(2, len(str(max(n, 1))))


def _cs_sizes(rng: np.random.Generator, vms: int) -> list[int]:
    """Cloud service sizes (1-8 VMs) summing to exactly ``vms``."""
    p = np.array(_CS_SIZE_WEIGHTS) / sum(_CS_SIZE_WEIGHTS)
    draws = rng.choice(np.arange(1, 9), size=vms // 2 + 8, p=p)
    sizes: list[int] = []
    total = 0
    for d in draws.tolist():
        if total >= vms:
            break
        take = min(int(d), vms - total)
        sizes.append(take)
        total += take
    while total < vms:  # pragma: no cover - the draw always holds enough (mean size > 2)
        take = min(8, vms - total)
        sizes.append(take)
        total += take
    return sizes


def _vnet_members(
    rng: np.random.Generator, sizes: list[int], vnets: int
) -> tuple[list[int | None], list[int]]:
    """Which VNet (or None) each cloud service is in, and the VMs per VNet."""
    n = len(sizes)
    home: list[int | None] = [None] * n
    counts = [0] * vnets
    if vnets == 0:
        return home, counts
    total = sum(sizes)
    target_in = round(VNET_SHARE * total)
    chosen: list[int] = []
    acc = 0
    for i in rng.permutation(n).tolist():
        if acc >= target_in:
            break
        chosen.append(i)
        acc += sizes[i]
    # VNet sizes vary (lognormal weights, kept within 1/4 and 5/2 of the mean), so VNets hold a
    # few tens to a few hundred VMs; each cloud service goes to the VNet furthest below target.
    weights = np.clip(rng.lognormal(0.0, 0.6, vnets), 0.25, 2.5)
    targets = weights / weights.sum() * acc
    heap = [(-float(t), k) for k, t in enumerate(targets)]
    heapq.heapify(heap)
    for i in chosen:
        deficit, k = heapq.heappop(heap)
        home[i] = k
        counts[k] += sizes[i]
        heapq.heappush(heap, (deficit + sizes[i], k))
    return home, counts


def _prefix(vnet_index: int, third: int, bits: int = 24) -> str:
    """A /20 per VNet inside 10.0.0.0/8 (wrapping after 4,096 VNets); ``third`` picks the /24."""
    block = (10 << 24) + (vnet_index % 4096) * 4096 + third * 256
    return f"{block >> 24}.{(block >> 16) & 255}.{(block >> 8) & 255}.0/{bits}"


def generate_estate(
    vms: int, *, vnets: int | None = None, seed: int = 0, rule_share: float = 0.05
) -> Estate:
    """A synthetic classic estate of exactly ``vms`` VMs, the same for the same arguments.

    ``vnets`` virtual networks (default ``max(1, vms // 150)``; 0 puts every cloud service outside
    a VNet) hold about 85 % of the VMs; a VNet never gets more than the classic limit of 2,048 VMs
    (:class:`ValueError` when ``vnets`` is too small for that). ``rule_share`` (0 to 1) is the
    probability that each VM, cloud service outside a VNet, virtual network and ExpressRoute
    circuit carries one rule-triggering feature:

    - a VM: one of :data:`VM_TRIGGERS` (endpoint ACLs, BGInfo 1.*, VMSnapshot, Security Center,
      Site Recovery, alerts/autoscale, a second subnet, boot diagnostics on Premium storage, and
      rarely a stuck state, a blocker only placed outside VNets);
    - a cloud service outside a VNet with more than one VM: two availability sets (MIG002) or a
      VM outside the set (MIG003), blockers of that cloud service only;
    - a VNet: one of :data:`VNET_TRIGGERS`;
    - a circuit: another subscription (MIG010 cross-subscription link, with downtime);
    - and about ``2 % * rule_share`` of the cloud services are PaaS cloud services (web/worker
      roles, MIG001) of their own, outside any VNet, holding no VM.

    With ``rule_share=0`` no unit is blocked; the findings left are notes (MIG024-MIG026, MIG028),
    peerings (MIG014) and same-subscription ExpressRoute ordering (MIG010).
    """
    with paused_gc():
        return Estate.model_validate(_estate_plan(vms, vnets, seed, rule_share))


MAX_VMS = 100_000
"""The most VMs :func:`generate_estate` makes: the largest estate the benchmarks run, so that a
typo cannot ask for tens of gigabytes (200,000 VMs took over 3 GB to run)."""

MAX_SEED = 2**63 - 1
"""The largest seed: the generated scenario's ``plan.seed`` takes the same range."""


def _estate_plan(vms: int, vnets: int | None, seed: int, rule_share: float) -> dict[str, Any]:
    """The generated estate as plain data, not yet validated."""
    if isinstance(vms, bool) or not isinstance(vms, int) or not 1 <= vms <= MAX_VMS:
        raise ValueError(f"vms must be a whole number from 1 to {MAX_VMS:,}, got {vms!r}")
    if vnets is not None and (
        isinstance(vnets, bool) or not isinstance(vnets, int) or not 0 <= vnets <= vms
    ):
        raise ValueError(f"vnets must be a whole number from 0 to vms ({vms:,}), got {vnets!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    if not 0.0 <= rule_share <= 1.0:
        raise ValueError(f"rule_share must be between 0 and 1, got {rule_share!r}")
    n_vnets = max(1, vms // VMS_PER_VNET) if vnets is None else vnets
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    r = float(rule_share)

    sizes = _cs_sizes(rng, vms)
    vnet_of, vnet_vms = _vnet_members(rng, sizes, n_vnets)
    if vnet_vms and max(vnet_vms) > MAX_VMS_PER_VNET:
        need = -(-sum(vnet_vms) // MAX_VMS_PER_VNET)
        raise ValueError(
            f"vnets={n_vnets} puts {max(vnet_vms)} VMs in one virtual network; a classic VNet holds"
            f" at most {MAX_VMS_PER_VNET} VMs: expected vnets of at least {need + 1}"
        )

    wv = _width(n_vnets)
    wc = _width(len(sizes))
    circuits: list[dict[str, Any]] = []
    nsgs: list[dict[str, Any]] = []
    route_tables: list[dict[str, Any]] = []
    reserved_ips: list[dict[str, Any]] = []

    # ---- virtual networks ----------------------------------------------------------------------
    vnet_names = [f"vnet-{k:0{wv}d}" for k in range(n_vnets)]
    vnet_subnets: list[list[str]] = []
    vnet_list: list[dict[str, Any]] = []
    er_gateways: list[dict[str, Any]] = []
    peered: set[frozenset[int]] = set()
    for k, name in enumerate(vnet_names):
        v: dict[str, Any] = {"name": name, "address_space": [_prefix(k, 0, 20)]}
        count = 2 + int(rng.integers(0, 3))  # 2-4 subnets for workloads
        subnets = list(_SUBNETS[:count])
        vnet_subnets.append(subnets)
        sub_list: list[dict[str, Any]] = []
        for j, s in enumerate(subnets):
            sub: dict[str, Any] = {"name": s, "prefix": _prefix(k, j)}
            if rng.random() < 0.6:
                sub["nsg"] = f"nsg-{name}-{s}"
                nsgs.append({"name": sub["nsg"]})
            if rng.random() < 0.2:
                sub["route_table"] = f"rt-{name}-{s}"
                route_tables.append({"name": sub["route_table"]})
            sub_list.append(sub)
        gateways: list[dict[str, Any]] = []
        if rng.random() < 0.35:
            kind = "expressroute" if rng.random() < 0.35 else "vpn"
            gateways.append({"name": f"gw-{name}", "kind": kind})
        trigger = _pick(rng, VNET_TRIGGERS) if rng.random() < r else None
        services: list[dict[str, Any]] = []
        if trigger == "application_gateway":
            services.append({"name": f"appgw-{name}", "kind": "application_gateway"})
        elif trigger == "api_management":
            services.append({"name": f"apim-{name}", "kind": "api_management"})
        elif trigger == "blocked_service":
            kind = str(rng.choice(["app_service_environment", "hdinsight", "aad_domain_services"]))
            services.append({"name": f"{kind.replace('_', '')[:8]}-{name}", "kind": kind})
        elif trigger == "transit":
            if not gateways or gateways[0]["kind"] != "vpn":
                gateways = [{"name": f"gw-{name}", "kind": "vpn"}]
            gateways[0]["transit"] = True
        elif trigger == "both_gateways":
            have = gateways[0]["kind"] if gateways else None
            if have != "vpn":
                gateways.append({"name": f"gw-{name}-vpn", "kind": "vpn"})
            if have != "expressroute":
                gateways.append({"name": f"gw-{name}-er", "kind": "expressroute"})
        if gateways:
            sub_list.append({"name": "GatewaySubnet", "prefix": _prefix(k, 15, 27)})
            v["gateway"] = gateways[0] if len(gateways) == 1 else gateways
            er_gateways += [g for g in gateways if g["kind"] == "expressroute"]
        v["subnets"] = sub_list
        if services:
            v["services"] = services
        if n_vnets > 1 and rng.random() < 0.15:
            hub = int(rng.integers(0, n_vnets)) if (k == 0 or rng.random() < 0.5) else 0
            if hub != k and frozenset((k, hub)) not in peered:
                peered.add(frozenset((k, hub)))
                v["peerings"] = [vnet_names[hub]]
        if rng.random() < 0.3:
            v["dns_servers"] = [_prefix(k, 0).replace(".0/24", ".4")]
        if rng.random() < 0.2:
            v["rbac_assignments"] = 1 + int(rng.integers(0, 5))
        vnet_list.append(v)
    if er_gateways:
        n_circuits = max(1, len(er_gateways) // 4)
        wr = _width(n_circuits)
        for i in range(n_circuits):
            c: dict[str, Any] = {"name": f"er-{i:0{wr}d}"}
            if rng.random() < r:
                c["subscription"] = "partner-connectivity"
            circuits.append(c)
        for g in er_gateways:
            if rng.random() < 0.9:  # a few gateways whose circuit is not classic any more
                g["circuit"] = circuits[int(rng.integers(0, n_circuits))]["name"]

    # ---- storage accounts: filled in listing order, 20-40 VMs each -----------------------------
    n_cs = len(sizes)
    home_account: list[int] = []
    account_sku: list[str] = []
    account_vms: list[int] = []
    capacity = 0
    for i in range(n_cs):
        if not account_vms or account_vms[-1] >= capacity:
            capacity = int(rng.integers(20, 41))
            u = rng.random()
            account_sku.append(
                "Premium_LRS"
                if u < 0.15
                else "Standard_GRS"
                if u < 0.45
                else "Standard_RAGRS"
                if u < 0.55
                else "Standard_LRS"
            )
            account_vms.append(0)
        home_account.append(len(account_vms) - 1)
        account_vms[-1] += sizes[i]
    extra_accounts = int(rng.binomial(len(account_vms), 0.1))  # blobs, tables: no VM disks
    n_accounts = len(account_vms) + extra_accounts
    account_sku += ["Standard_LRS"] * extra_accounts
    wa = _width(n_accounts)
    account_names = [f"st{i:0{wa}d}vhds" for i in range(n_accounts)]
    standard = [i for i, sku in enumerate(account_sku) if not sku.startswith("Premium")]
    premium = [i for i, sku in enumerate(account_sku) if sku.startswith("Premium")]

    # ---- cloud services and VMs ---------------------------------------------------------------
    total_vms = vms
    vm_trigger = rng.random(total_vms) < r
    vm_trigger_kind = _picker(rng, VM_TRIGGERS, total_vms)
    std_sizes = _picker(rng, _SIZES, total_vms)
    prem_sizes = _picker(rng, _PREMIUM_SIZES, total_vms)
    n_data = rng.choice(4, size=total_vms, p=[0.4, 0.3, 0.2, 0.1]).tolist()
    vm_u = rng.random((total_vms, 8)).tolist()
    cs_list: list[dict[str, Any]] = []
    vm_index = 0
    for i, size in enumerate(sizes):
        workload = _WORKLOADS[int(rng.integers(0, len(_WORKLOADS)))]
        cs_name = f"cs-{workload}-{i:0{wc}d}"
        vk = vnet_of[i]
        cs: dict[str, Any] = {"name": cs_name}
        if vk is not None:
            cs["vnet"] = vnet_names[vk]
        if rng.random() < (0.15 if vk is not None else 0.35):
            cs["reserved_ip"] = f"rip-{cs_name[3:]}"
            reserved_ips.append({"name": cs["reserved_ip"]})
        if rng.random() < 0.15:
            cs["rbac_assignments"] = 1 + int(rng.integers(0, 3))
        set_names: list[str | None] = [None] * size
        if size > 1:
            set_names = [f"as-{cs_name[3:]}"] * size
            if vk is None and rng.random() < r:
                if rng.random() < 0.5:  # MIG002: a second availability set
                    set_names[-1] = f"as-{cs_name[3:]}-b"
                else:  # MIG003: one VM in no set
                    set_names[-1] = None
        home = home_account[i]
        subnets = vnet_subnets[vk] if vk is not None else []
        tier = subnets[int(rng.integers(0, len(subnets)))] if subnets else None
        vm_list: list[dict[str, Any]] = []
        for m in range(size):
            j = vm_index
            vm_index += 1
            u = vm_u[j]
            is_premium = account_sku[home].startswith("Premium")
            vm: dict[str, Any] = {"name": f"{workload}-{i:0{wc}d}-{m + 1}"}
            vm["size"] = prem_sizes[j] if is_premium else std_sizes[j]
            if set_names[m] is not None:
                vm["availability_set"] = set_names[m]
            if tier is not None:
                vm["subnets"] = [tier]
            os_disk: dict[str, Any] = {"storage_account": account_names[home]}
            if u[0] < 0.3:
                os_disk["size_gb"] = 30
            vm["os_disk"] = os_disk
            if n_data[j]:
                disks = []
                for d in range(n_data[j]):
                    acct = home
                    if u[1 + d] < 0.2 and len(account_vms) > 1:  # another account
                        step = 1 + int(u[1 + d] / 0.2 * (len(account_vms) - 1))
                        acct = (home + step) % len(account_vms)
                    disks.append(
                        {
                            "storage_account": account_names[acct],
                            "size_gb": _DATA_DISK_SIZES[int(u[4 + d % 3] * 4) % 4],
                        }
                    )
                vm["data_disks"] = disks
            extensions = [e for e, p in _PLAIN_EXTENSIONS if rng.random() < p]
            state_u = u[7]
            if state_u > 0.96:
                vm["state"] = "StoppedDeallocated"
            elif state_u > 0.9:
                vm["state"] = "Stopped"
            if rng.random() < 0.03:
                vm["public_ip"] = True
            if rng.random() < 0.2 and standard:
                vm["boot_diagnostics"] = account_names[
                    home if home in standard else standard[home % len(standard)]
                ]
            if vk is not None and rng.random() < 0.03:
                vm["nsg"] = f"nsg-{vm['name']}"
                nsgs.append({"name": vm["nsg"]})
            if vm_trigger[j]:
                kind = vm_trigger_kind[j]
                if kind == "multi_subnet" and (vk is None or len(subnets) < 2):
                    kind = "endpoint_acls"
                if kind == "stuck_state" and vk is not None:
                    kind = "endpoint_acls"
                if kind == "premium_boot_diagnostics" and not premium:
                    kind = "endpoint_acls"
                if kind == "endpoint_acls":
                    vm["endpoint_acls"] = True
                elif kind == "xml_extension":
                    extensions.append("BGInfo/1.*")
                elif kind == "backup_extension":
                    extensions.append("VMSnapshot/1.0")
                elif kind == "security_center":
                    extensions.append("Microsoft.Azure.Security.AzureSecurityWindowsAgent/1.0")
                elif kind == "site_recovery":
                    extensions.append("Microsoft.Azure.RecoveryServices.SiteRecovery.Windows/1.0")
                elif kind == "alerts":
                    vm["alerts"] = True
                    if rng.random() < 0.3:
                        vm["autoscale"] = True
                elif kind == "multi_subnet":
                    other = [s for s in subnets if s != tier]
                    vm["subnets"] = [tier, other[int(rng.integers(0, len(other)))]]
                elif kind == "premium_boot_diagnostics":
                    vm["boot_diagnostics"] = account_names[premium[home % len(premium)]]
                elif kind == "stuck_state":
                    vm["state"] = "RoleStateUnknown"
            if extensions:
                vm["extensions"] = extensions
            vm_list.append(vm)
        cs["vms"] = vm_list
        cs_list.append(cs)

    n_paas = int(rng.binomial(n_cs, 0.02 * r)) if r > 0 else 0
    for p in range(n_paas):
        roles = [
            {"name": f"role{q + 1}", "kind": "web" if q == 0 else "worker", "instances": 2}
            for q in range(1 + int(rng.integers(0, 3)))
        ]
        cs_list.append({"name": f"cs-paas-{p:0{wc}d}", "roles": roles})

    accounts: list[dict[str, Any]] = []
    for a, name in enumerate(account_names):
        acc: dict[str, Any] = {"name": name}
        if account_sku[a] != "Standard_LRS":
            acc["sku"] = account_sku[a]
        if a >= len(account_vms):
            acc["contents"] = ["blobs", "tables"] if rng.random() < 0.5 else ["blobs"]
        elif rng.random() < 0.1:
            acc["contents"] = ["blobs", "images" if rng.random() < 0.5 else "unattached_disks"]
        if rng.random() < 0.1:
            acc["rbac_assignments"] = 1 + int(rng.integers(0, 3))
        accounts.append(acc)

    # A few resources attached to nothing: units of their own.
    for i in range(max(1, n_cs // 150)):
        reserved_ips.append({"name": f"rip-spare-{i:0{wc}d}"})
    for i in range(n_vnets // 10):
        nsgs.append({"name": f"nsg-spare-{i:0{wv}d}"})
    for i in range(n_vnets // 20):
        route_tables.append({"name": f"rt-spare-{i:0{wv}d}"})

    estate: dict[str, Any] = {
        "subscription": "contoso-synthetic",
        "location": _LOCATIONS[seed % len(_LOCATIONS)],
    }
    for key, items in (
        ("expressroute_circuits", circuits),
        ("vnets", vnet_list),
        ("cloud_services", cs_list),
        ("storage_accounts", accounts),
        ("nsgs", nsgs),
        ("route_tables", route_tables),
        ("reserved_ips", reserved_ips),
    ):
        if items:
            estate[key] = items
    return estate


# ---- YAML ---------------------------------------------------------------------------------------


def estate_data(estate: Estate) -> dict[str, Any]:
    """The estate as plain data with every default left out (what an estate file holds)."""
    data: dict[str, Any] = estate.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    return data


def estate_to_yaml(estate: Estate) -> str:
    """A compact YAML estate file (defaults left out) that ``load_estate`` reads back equal."""
    return dump_yaml(estate_data(estate))


DEFAULT_START = "2027-03-06T00:00:00Z"
"""Assumption: the start of :func:`default_plan`, a Saturday at its first window's opening (a
fixed date keeps a generated scenario's results the same wherever it runs; set your own)."""

DEFAULT_CREWS = 4
"""Assumption: crews of :func:`default_plan` (contoso's two, doubled for an estate of hundreds or
thousands of VMs)."""


def default_plan(seed: int = 0) -> dict[str, Any]:
    """The plan ``migsim generate`` writes with an estate: one maintenance window per weekend
    (Saturday 00:00 for 48 h: a generated VNet of a few hundred VMs needs 10-13 h, more than a
    night), :data:`DEFAULT_CREWS` crews, contoso's ordering, check, step durations and failure
    rates, starting :data:`DEFAULT_START` and drawing from ``seed`` (the estate's). Every value
    is an assumption, listed in ``docs/what-if.md`` ("Synthetic scenarios").
    """
    return {
        "seed": seed,
        "start": DEFAULT_START,
        "ordering": "smallest_first",
        "crews": DEFAULT_CREWS,
        "check": "30m",
        "maintenance_windows": [{"every": "saturday", "at": "00:00", "for": "48h"}],
        "durations": {
            "validate": {"base": "5m", "per_vm": "10s"},
            "prepare": {
                "base": "10m",
                "per_vm": "1m",
                "distribution": "lognormal",
                "spread": 0.3,
            },
            "commit": {"base": "5m", "per_vm": "20s", "distribution": "lognormal", "spread": 0.3},
            "start": {"base": "5m", "distribution": "triangular", "spread": 0.5},
        },
        "failures": {"prepare": 0.05, "commit": 0.01},
    }


def scenario_yaml(
    estate: Estate,
    name: str,
    plan: dict[str, Any] | None = None,
    *,
    description: str | None = None,
    header: str = "",
) -> str:
    """A full scenario file: ``header`` as ``#`` comments, ``name``, a description, ``plan`` (if
    any, before the estate so that it is at hand) and the estate inline."""
    vms = sum(len(cs.vms) for cs in estate.cloud_services)
    doc: dict[str, Any] = {
        "name": name,
        "description": description or f"Synthetic classic estate of {vms} VMs (migsim generate)",
    }
    if plan:
        doc["plan"] = plan
    doc["estate"] = estate_data(estate)
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + dump_yaml(doc)
