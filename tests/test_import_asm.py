"""``import_asm``: the real Service Management responses in ../shared/fixtures/asm, and small
documents of our own in the same shapes for every mapping decision (docs/importing.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.common.errors import InputError
from sim.importers import ImportResult, import_asm, write_estate
from sim.model.estate import VM, Estate
from sim.model.scenario import Scenario, load_estate, load_scenario
from sim.model.validation import validate_scenario

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "asm"

NS = "http://schemas.microsoft.com/windowsazure"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SUB = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def fixtures() -> Path:
    if not FIXTURES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared ASM fixtures missing at {FIXTURES} (required under CI=true)")
        pytest.skip(f"shared ASM fixtures not found at {FIXTURES}")
    return FIXTURES


@pytest.fixture(scope="module")
def imported(fixtures: Path) -> ImportResult:
    return import_asm(fixtures)


def vm_named(estate: Estate, name: str) -> VM:
    return next(vm for _, vm in estate.vms() if vm.name == name)


# ---- the real fixtures ---------------------------------------------------------------------------


def test_fixture_subscription_and_location(imported: ImportResult) -> None:
    assert imported.estate.subscription == "00000000-0000-0000-0000-1234567890ab"
    assert imported.estate.location == "West US"
    assert len(imported.sources) == len(list(FIXTURES.glob("*.xml")))


def test_fixture_vnet_subnet_and_nsg(imported: ImportResult) -> None:
    vnet = imported.estate.vnet("Group ASMTest ASMVNet")
    assert vnet.address_space == ("10.0.0.0/16",)
    (subnet,) = vnet.subnets
    assert (subnet.name, subnet.prefix, subnet.nsg) == (
        "Subnet1",
        "10.0.0.0/24",
        "Group ASMTest AsmSubnetNSG",
    )
    assert vnet.gateway == ()  # the gateway response says NotProvisioned


def test_fixture_cloud_service_and_vm(imported: ImportResult) -> None:
    cs = next(c for c in imported.estate.cloud_services if c.name == "ASMTest011602")
    assert cs.vnet == "Group ASMTest ASMVNet"
    assert cs.reserved_ip == "Group ASMTest ASMReservedIP"
    assert cs.roles == ()
    (vm,) = cs.vms
    assert vm.name == "ASMTest01"
    assert vm.size == "Standard_DS1_v2"
    assert vm.subnets == ("Subnet1",)
    assert vm.nsg == "Group ASMTest ClassicNSG"
    assert vm.os_disk.storage_account == "asmtest8155"
    assert vm.os_disk.size_gb == 127
    assert vm.data_disks == ()
    assert vm.state == "Running"  # ReadyRole / Started
    assert vm.public_ip is True
    assert vm.endpoint_acls is False
    assert vm.extensions == ()


def test_fixture_network_resources_and_storage(imported: ImportResult) -> None:
    estate = imported.estate
    assert [r.name for r in estate.reserved_ips] == ["Group ASMTest ASMReservedIP"]
    assert {n.name for n in estate.nsgs} == {
        "Group ASMTest AsmSubnetNSG",
        "Group ASMTest ClassicNSG",
    }
    assert [t.name for t in estate.route_tables] == ["asmrt"]
    assert estate.storage_account("asmtest8155").sku == "Standard_LRS"


def test_fixture_role_document_with_bginfo(imported: ImportResult) -> None:
    vm = vm_named(imported.estate, "myservice")
    assert "BGInfo/1.*" in vm.extensions
    assert "MicrosoftMonitoringAgent/1.*" in vm.extensions
    assert vm.os_disk.storage_account == "mystorage"
    # the role names its deployment nowhere: its own cloud service, outside any VNet, warned
    cs = next(c for c in imported.estate.cloud_services if vm in c.vms)
    assert cs.name == "myservice" and cs.vnet is None and vm.subnets == ()
    assert any("role myservice belongs to no deployment" in w for w in imported.warnings)
    # "mystorage" is not among the storage services: added (premium: IOType Provisioned), warned
    assert imported.estate.storage_account("mystorage").sku == "Premium_LRS"
    assert any("storage account mystorage" in w for w in imported.warnings)


def test_fixture_validates_with_mig018(imported: ImportResult) -> None:
    report = validate_scenario(Scenario(name="imported", estate=imported.estate))
    mig018 = [f for f in report.findings if f.rule == "MIG018"]
    assert [f.resources for f in mig018] == [("vm:myservice",)]
    assert report.status["Group ASMTest ASMVNet"] == "clean"
    assert not report.blocked


def test_fixture_end_to_end_file_validate_run(fixtures: Path, tmp_path: Path) -> None:
    result = import_asm(fixtures)
    out = tmp_path / "estate.yaml"
    write_estate(result, out)
    assert load_estate(out) == result.estate
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Classic (ASM) estate imported")
    assert "hostedservices-ASMTest011602-embed-detail-true.xml" in text
    scenario_file = tmp_path / "imported.yaml"
    scenario_file.write_text(
        "name: imported\nestate: estate.yaml\nplan:\n  seed: 7\n", encoding="utf-8"
    )
    scenario = load_scenario(scenario_file)
    assert scenario.estate == result.estate
    report = validate_scenario(scenario)
    assert any(f.rule == "MIG018" for f in report.findings)
    experiments = pytest.importorskip("sim.experiments")  # what `migsim run` does
    run = experiments.run_scenario(scenario, deterministic=True)
    outcomes = {o.unit: o.status for o in run.replication.outcomes}
    assert set(outcomes) == set(report.units.ids())
    assert outcomes["Group ASMTest ASMVNet"] == "committed"


def test_fixture_import_ignores_file_names(fixtures: Path, tmp_path: Path) -> None:
    """Classification is by root element: renamed copies import to the same estate."""
    folder = tmp_path / "renamed"
    folder.mkdir()
    for i, path in enumerate(sorted(fixtures.glob("*.xml"))):
        target = f"doc{i:02d}.xml"
        if "gateway" in path.name:  # the gateway response names no VNet: keep the hint
            target = f"doc{i:02d}-{path.name}"
        (folder / target).write_bytes(path.read_bytes())
    assert import_asm(folder).estate == import_asm(fixtures).estate


# ---- small documents of our own ------------------------------------------------------------------


def doc(root: str, body: str) -> str:
    return f'<{root} xmlns="{NS}" xmlns:i="{XSI}">{body}</{root}>'


def role_xml(
    name: str,
    *,
    account: str = "stdisks",
    subnets: tuple[str, ...] = ("app",),
    extra: str = "",
    network_extra: str = "",
    role_type: str = "PersistentVMRole",
    size: str = "Standard_D2_v2",
    aset: str | None = None,
) -> str:
    subnet_xml = "".join(f"<SubnetName>{s}</SubnetName>" for s in subnets)
    aset_xml = f"<AvailabilitySetName>{aset}</AvailabilitySetName>" if aset else ""
    return (
        f'<Role i:type="{role_type}"><RoleName>{name}</RoleName><RoleType>{role_type}</RoleType>'
        '<ConfigurationSets><ConfigurationSet i:type="NetworkConfigurationSet">'
        "<ConfigurationSetType>NetworkConfiguration</ConfigurationSetType>"
        f"<SubnetNames>{subnet_xml}</SubnetNames>{network_extra}</ConfigurationSet>"
        "</ConfigurationSets>"
        f"{aset_xml}{extra}"
        "<OSVirtualHardDisk><MediaLink>"
        f"https://{account}.blob.core.windows.net/vhds/{name}-os.vhd</MediaLink>"
        "<IOType>Standard</IOType></OSVirtualHardDisk>"
        f"<RoleSize>{size}</RoleSize></Role>"
    )


def instance_xml(
    name: str, status: str = "ReadyRole", power: str = "Started", extra: str = ""
) -> str:
    return (
        f"<RoleInstance><RoleName>{name}</RoleName><InstanceName>{name}</InstanceName>"
        f"<InstanceStatus>{status}</InstanceStatus><PowerState>{power}</PowerState>{extra}"
        "</RoleInstance>"
    )


def agent_xml(status: str | None, handlers: dict[str, str | None] | None = None) -> str:
    """A RoleInstance's GuestAgentStatus (``status`` None: left out) and, when ``handlers`` is
    given, its ResourceExtensionStatusList: handler name -> ExtensionSettingStatus/Status (None:
    no ExtensionSettingStatus), each with handler Status Ready."""
    out = ""
    if status is not None:
        out += (
            "<GuestAgentStatus><ProtocolVersion>1.0</ProtocolVersion>"
            "<GuestAgentVersion>2.7.1198.802</GuestAgentVersion>"
            f"<Status>{status}</Status></GuestAgentStatus>"
        )
    if handlers is not None:
        items = "".join(
            f"<ResourceExtensionStatus><HandlerName>{h}</HandlerName><Version>1.0</Version>"
            "<Status>Ready</Status>"
            + (
                f"<ExtensionSettingStatus><Name>{h}</Name><Operation>Enable</Operation>"
                f"<Status>{setting}</Status></ExtensionSettingStatus>"
                if setting is not None
                else ""
            )
            + "</ResourceExtensionStatus>"
            for h, setting in handlers.items()
        )
        out += f"<ResourceExtensionStatusList>{items}</ResourceExtensionStatusList>"
    return out


def service_xml(
    name: str,
    roles: str,
    instances: str,
    *,
    vnet: str | None = "vnet-a",
    rip: str | None = None,
    extra: str = "",
) -> str:
    vnet_xml = f"<VirtualNetworkName>{vnet}</VirtualNetworkName>" if vnet else ""
    rip_xml = (
        "<VirtualIPs><VirtualIP><Address>1.2.3.4</Address>"
        f"<ReservedIPName>{rip}</ReservedIPName></VirtualIP></VirtualIPs>"
        if rip
        else ""
    )
    return doc(
        "HostedService",
        f"<Url>https://management.core.windows.net/{SUB}/services/hostedservices/{name}</Url>"
        f"<ServiceName>{name}</ServiceName>"
        "<HostedServiceProperties><Location>North Europe</Location></HostedServiceProperties>"
        f"<Deployments><Deployment><Name>{name}</Name><DeploymentSlot>Production</DeploymentSlot>"
        f"<RoleInstanceList>{instances}</RoleInstanceList><RoleList>{roles}</RoleList>"
        f"{vnet_xml}{rip_xml}{extra}</Deployment></Deployments>",
    )


VNETS = doc(
    "VirtualNetworkSites",
    "<VirtualNetworkSite><Name>vnet-a</Name><Location>North Europe</Location>"
    "<AddressSpace><AddressPrefixes><AddressPrefix>10.1.0.0/16</AddressPrefix></AddressPrefixes>"
    "</AddressSpace><Subnets><Subnet><Name>app</Name><AddressPrefix>10.1.1.0/24</AddressPrefix>"
    "<RouteTableName>rt-app</RouteTableName></Subnet>"
    "<Subnet><Name>data</Name><AddressPrefix>10.1.2.0/24</AddressPrefix></Subnet></Subnets>"
    "<Dns><DnsServers><DnsServer><Name>dc1</Name><Address>10.1.1.4</Address></DnsServer>"
    "</DnsServers></Dns></VirtualNetworkSite>",
)
STORAGE = doc(
    "StorageServices",
    "<StorageService><ServiceName>stdisks</ServiceName><StorageServiceProperties>"
    "<Location>North Europe</Location><AccountType>Standard_GRS</AccountType>"
    "</StorageServiceProperties></StorageService>"
    "<StorageService><ServiceName>stpremium</ServiceName><StorageServiceProperties>"
    "<Location>North Europe</Location><AccountType>Premium_LRS</AccountType>"
    "</StorageServiceProperties></StorageService>",
)


def folder_with(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name.replace('_', '-')}.xml").write_text(text, encoding="utf-8")
    return folder


def test_vm_details_mapped(tmp_path: Path) -> None:
    acl = (
        "<InputEndpoints><InputEndpoint><LocalPort>443</LocalPort><Name>https</Name>"
        "<Port>443</Port><Protocol>tcp</Protocol><EndpointAcl><Rules><Rule><Order>1</Order>"
        "<Action>permit</Action><RemoteSubnet>1.2.3.0/24</RemoteSubnet></Rule></Rules>"
        "</EndpointAcl></InputEndpoint></InputEndpoints>"
        "<NetworkSecurityGroup>nsg-web</NetworkSecurityGroup>"
        "<NetworkInterfaces><NetworkInterface><Name>nic2</Name><IPConfigurations>"
        "<IPConfiguration><SubnetName>data</SubnetName></IPConfiguration></IPConfigurations>"
        "</NetworkInterface></NetworkInterfaces>"
    )
    extra = (
        "<ResourceExtensionReferences>"
        "<ResourceExtensionReference><ReferenceName>VMSnapshot</ReferenceName>"
        "<Publisher>Microsoft.Azure.RecoveryServices</Publisher><Name>VMSnapshot</Name>"
        "<Version>1.0</Version><State>Enable</State></ResourceExtensionReference>"
        "<ResourceExtensionReference><ReferenceName>old</ReferenceName><Publisher>p</Publisher>"
        "<Name>Gone</Name><Version>2.0</Version><State>Uninstall</State>"
        "</ResourceExtensionReference></ResourceExtensionReferences>"
        "<DataVirtualHardDisks><DataVirtualHardDisk><Lun>0</Lun><LogicalDiskSizeInGB>1023"
        "</LogicalDiskSizeInGB><MediaLink>https://stpremium.blob.core.windows.net/vhds/d0.vhd"
        "</MediaLink></DataVirtualHardDisk></DataVirtualHardDisks>"
        "<DebugSettings><BootDiagnosticsEnabled>true</BootDiagnosticsEnabled>"
        "<SerialOutputBlobUri>https://stpremium.blob.core.windows.net/bootdiagnostics-web/"
        "web-01.serialconsole.log</SerialOutputBlobUri></DebugSettings>"
    )
    folder = folder_with(
        tmp_path,
        service=service_xml(
            "cs-web",
            role_xml("web-01", extra=extra, network_extra=acl, aset="as-web"),
            instance_xml(
                "web-01",
                extra="<PublicIPs><PublicIP><Name>ip</Name></PublicIP></PublicIPs>"
                + agent_xml("Ready", {"Microsoft.Azure.RecoveryServices.VMSnapshot": "Success"}),
            ),
        ),
        vnets=VNETS,
        storage=STORAGE,
        nsgs=doc(
            "NetworkSecurityGroups",
            "<NetworkSecurityGroup><Name>nsg-web</Name></NetworkSecurityGroup>",
        ),
        routes=doc("RouteTables", "<RouteTable><Name>rt-app</Name></RouteTable>"),
    )
    result = import_asm(folder)
    vm = vm_named(result.estate, "web-01")
    assert vm.subnets == ("app", "data")  # the secondary NIC's subnet too (MIG015)
    assert vm.nsg == "nsg-web"
    assert vm.endpoint_acls is True
    assert vm.public_ip is True
    assert vm.availability_set == "as-web"
    assert vm.extensions == ("VMSnapshot/1.0",)  # State Uninstall left out
    assert vm.agent_ready is True and vm.extensions_unreported == ()
    assert [(d.storage_account, d.size_gb) for d in vm.data_disks] == [("stpremium", 1023)]
    assert vm.boot_diagnostics == "stpremium"
    vnet = result.estate.vnet("vnet-a")
    assert vnet.dns_servers == ("10.1.1.4",)
    assert vnet.subnets[0].route_table == "rt-app"
    assert result.estate.storage_account("stdisks").sku == "Standard_GRS"
    assert result.estate.subscription == SUB
    assert result.estate.location == "North Europe"
    assert result.warnings == ()
    rules = {f.rule for f in validate_scenario(Scenario(name="x", estate=result.estate)).findings}
    assert {"MIG012", "MIG015", "MIG019", "MIG021"} <= rules


@pytest.mark.parametrize(
    ("status", "power", "state", "warned"),
    [
        ("ReadyRole", "Started", "Running", False),
        ("StoppedVM", "Stopped", "Stopped", False),
        ("StoppedDeallocated", "Stopped", "StoppedDeallocated", False),
        ("RoleStateUnknown", "Unknown", "RoleStateUnknown", False),
        ("ProvisioningTimedOut", "Started", "ProvisioningTimedOut", False),
        ("CreatingVM", "Starting", "Running", True),
        ("BusyRole", "Started", "Running", True),
    ],
)
def test_vm_state(tmp_path: Path, status: str, power: str, state: str, warned: bool) -> None:
    folder = folder_with(
        tmp_path,
        service=service_xml("cs", role_xml("vm1"), instance_xml("vm1", status, power)),
        vnets=VNETS,
        storage=STORAGE,
    )
    result = import_asm(folder)
    assert vm_named(result.estate, "vm1").state == state
    assert any(f"InstanceStatus {status!r}" in w for w in result.warnings) is warned


def test_paas_roles_and_mig001(tmp_path: Path) -> None:
    roles = "<Role><RoleName>WebFrontEnd</RoleName><OsVersion/></Role>" + (
        "<Role><RoleName>QueueWorker</RoleName><OsVersion/></Role>"
    )
    instances = "".join(
        instance_xml(r) for r in ("WebFrontEnd", "WebFrontEnd", "QueueWorker", "QueueWorker")
    )
    folder = folder_with(tmp_path, service=service_xml("cs-paas", roles, instances, vnet=None))
    cs = import_asm(folder).estate.cloud_services[0]
    assert [(r.name, r.kind, r.instances) for r in cs.roles] == [
        ("WebFrontEnd", "web", 2),
        ("QueueWorker", "worker", 2),
    ]
    assert cs.vms == ()
    report = validate_scenario(Scenario(name="x", estate=import_asm(folder).estate))
    assert report.status["cs-paas"] == "blocked"


def test_unknown_elements_counted_once(tmp_path: Path) -> None:
    roles = role_xml("vm1", extra="<Shiny>1</Shiny><Shiny>2</Shiny>")
    folder = folder_with(
        tmp_path,
        service=service_xml("cs", roles, instance_xml("vm1"), extra="<FutureThing/>"),
        other=service_xml("cs2", role_xml("vm2", extra="<Shiny/>"), instance_xml("vm2")),
        vnets=VNETS,
        storage=STORAGE,
    )
    warnings = import_asm(folder).warnings
    assert "unknown element Shiny (2 times) in service.xml" in warnings
    assert "unknown element Shiny (once) in other.xml" in warnings
    assert "unknown element FutureThing (once) in service.xml" in warnings
    assert len([w for w in warnings if "Shiny" in w]) == 2


def test_unknown_root_skipped_with_warning(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, vnets=VNETS, odd=doc("AffinityGroups", "<AffinityGroup/>"))
    result = import_asm(folder)
    assert "odd.xml: unknown root element AffinityGroups; file skipped" in result.warnings
    assert [v.name for v in result.estate.vnets] == ["vnet-a"]


def test_references_not_listed_are_added_with_warnings(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path,
        service=service_xml(
            "cs",
            role_xml(
                "vm1",
                account="stmissing",
                subnets=("app", "ghost"),
                network_extra="<NetworkSecurityGroup>nsg-missing</NetworkSecurityGroup>",
            ),
            instance_xml("vm1"),
            vnet="vnet-missing",
            rip="rip-missing",
        ),
    )
    result = import_asm(folder)
    estate = result.estate
    assert estate.storage_account("stmissing").sku == "Standard_LRS"
    assert [n.name for n in estate.nsgs] == ["nsg-missing"]
    assert [r.name for r in estate.reserved_ips] == ["rip-missing"]
    assert [s.name for s in estate.vnet("vnet-missing").subnets] == ["app", "ghost"]
    text = "\n".join(result.warnings)
    for name in ("stmissing", "nsg-missing", "rip-missing", "vnet-missing", "ghost"):
        assert name in text


def test_duplicate_vm_and_availability_set_names_renamed(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path,
        one=service_xml("cs-one", role_xml("app-01", aset="as1"), instance_xml("app-01")),
        two=service_xml("cs-two", role_xml("app-01", aset="as1"), instance_xml("app-01")),
        vnets=VNETS,
        storage=STORAGE,
    )
    result = import_asm(folder)
    two = next(c for c in result.estate.cloud_services if c.name == "cs-two")
    assert two.vms[0].name == "cs-two/app-01"
    assert two.vms[0].availability_set == "cs-two/as1"
    assert any("VM name app-01" in w for w in result.warnings)
    assert any("availability set as1" in w for w in result.warnings)


def test_reserved_ip_from_listing_service_name(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path,
        service=service_xml("cs", role_xml("vm1"), instance_xml("vm1")),
        rips=doc(
            "ReservedIPs",
            "<ReservedIP><Name>rip-a</Name><ServiceName>cs</ServiceName></ReservedIP>"
            "<ReservedIP><Name>rip-free</Name></ReservedIP>",
        ),
        vnets=VNETS,
        storage=STORAGE,
    )
    estate = import_asm(folder).estate
    assert estate.cloud_services[0].reserved_ip == "rip-a"
    assert [r.name for r in estate.reserved_ips] == ["rip-a", "rip-free"]


def test_standalone_deployment_and_role_documents(tmp_path: Path) -> None:
    deployment = doc(
        "Deployment",
        "<Name>dep1</Name><DeploymentSlot>Production</DeploymentSlot>"
        "<Url>http://cs-loose.cloudapp.net/</Url>"
        f"<RoleInstanceList>{instance_xml('vm1')}</RoleInstanceList>"
        f"<RoleList>{role_xml('vm1')}</RoleList><VirtualNetworkName>vnet-a</VirtualNetworkName>",
    )
    # the same VM as a role document: the deployment's copy is used, nothing added
    role_doc = role_xml("vm1").replace("<Role ", f'<PersistentVMRole xmlns="{NS}" xmlns:i="{XSI}" ')
    role_doc = role_doc.replace("</Role>", "</PersistentVMRole>")
    folder = folder_with(tmp_path, dep=deployment, role=role_doc, vnets=VNETS, storage=STORAGE)
    result = import_asm(folder)
    assert [c.name for c in result.estate.cloud_services] == ["cs-loose"]
    assert [vm.name for _, vm in result.estate.vms()] == ["vm1"]
    assert any("imported as cloud service cs-loose" in w for w in result.warnings)


def test_gateway_provisioned_with_dedicated_connection(tmp_path: Path) -> None:
    vnets = VNETS.replace(
        "</Dns>",
        "</Dns><Gateway><Sites><LocalNetworkSite><Name>onprem</Name><Connections><Connection>"
        "<Type>Dedicated</Type></Connection></Connections></LocalNetworkSite></Sites></Gateway>",
    )
    gateway = doc("Gateway", "<GatewayType>DynamicRouting</GatewayType><State>Provisioned</State>")
    folder = folder_with(tmp_path, vnets=vnets, networking_vnet_a_gateway=gateway)
    result = import_asm(folder)
    (gw,) = result.estate.vnet("vnet-a").gateway
    assert (gw.name, gw.kind, gw.circuit) == ("vnet-a-gateway", "expressroute", None)
    assert any("without a circuit" in w for w in result.warnings)


def test_gateway_not_provisioned_wins_over_connections(tmp_path: Path) -> None:
    vnets = VNETS.replace(
        "</Dns>",
        "</Dns><Gateway><Sites><LocalNetworkSite><Name>onprem</Name><Connections><Connection>"
        "<Type>IPsec</Type></Connection></Connections></LocalNetworkSite></Sites></Gateway>",
    )
    gateway = doc("Gateway", '<State>NotProvisioned</State><GatewayId i:nil="true"/>')
    folder = folder_with(tmp_path, vnets=vnets, networking_vnet_a_gateway=gateway)
    result = import_asm(folder)
    assert result.estate.vnet("vnet-a").gateway == ()
    assert any("not provisioned" in w for w in result.warnings)


def test_gateway_document_without_a_vnet_in_its_name(tmp_path: Path) -> None:
    two = VNETS.replace(
        "</VirtualNetworkSites>",
        "<VirtualNetworkSite><Name>vnet-b</Name></VirtualNetworkSite></VirtualNetworkSites>",
    )
    gateway = doc("Gateway", "<State>Provisioned</State>")
    folder = folder_with(tmp_path, vnets=two, gw=gateway)
    result = import_asm(folder)
    assert all(v.gateway == () for v in result.estate.vnets)
    assert any("gw.xml: the gateway response does not name its VNet" in w for w in result.warnings)


def test_netcfg_in_folder_merged_api_wins(tmp_path: Path) -> None:
    netcfg = (
        '<NetworkConfiguration xmlns="http://schemas.microsoft.com/ServiceHosting/2011/07/'
        'NetworkConfiguration"><VirtualNetworkConfiguration><Dns><DnsServers>'
        '<DnsServer name="dns9" IPAddress="10.9.9.9"/></DnsServers></Dns><VirtualNetworkSites>'
        '<VirtualNetworkSite name="vnet-a" Location="North Europe"><AddressSpace>'
        "<AddressPrefix>10.99.0.0/16</AddressPrefix></AddressSpace><Subnets>"
        '<Subnet name="app"><AddressPrefix>10.99.1.0/24</AddressPrefix></Subnet>'
        '<Subnet name="extra"><AddressPrefix>10.1.9.0/24</AddressPrefix></Subnet></Subnets>'
        '<DnsServersRef><DnsServerRef name="dns9"/></DnsServersRef></VirtualNetworkSite>'
        '<VirtualNetworkSite name="vnet-c" Location="North Europe"><AddressSpace>'
        "<AddressPrefix>10.3.0.0/16</AddressPrefix></AddressSpace><Gateway>"
        '<ConnectionsToLocalNetwork><LocalNetworkSiteRef name="branch"><Connection type="IPsec"/>'
        "</LocalNetworkSiteRef></ConnectionsToLocalNetwork></Gateway></VirtualNetworkSite>"
        "</VirtualNetworkSites></VirtualNetworkConfiguration></NetworkConfiguration>"
    )
    folder = folder_with(tmp_path, vnets=VNETS, zzz=netcfg)
    result = import_asm(folder)
    a = result.estate.vnet("vnet-a")
    assert a.address_space == ("10.1.0.0/16",)  # the API's
    assert [(s.name, s.prefix) for s in a.subnets] == [
        ("app", "10.1.1.0/24"),
        ("data", "10.1.2.0/24"),
        ("extra", "10.1.9.0/24"),
    ]
    assert a.dns_servers == ("10.1.1.4",)
    c = result.estate.vnet("vnet-c")
    assert [(g.name, g.kind) for g in c.gateway] == [("vnet-c-gateway", "vpn")]
    text = "\n".join(result.warnings)
    assert "the API's is kept" in text
    assert "VNet vnet-c is only in zzz.xml" in text


def test_write_estate_refuses_existing_file(tmp_path: Path) -> None:
    result = import_asm(folder_with(tmp_path, vnets=VNETS))
    out = tmp_path / "estate.yaml"
    out.write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError, match="already exists"):
        write_estate(result, out)
    assert out.read_text(encoding="utf-8") == "keep me"
    write_estate(result, out, force=True)
    assert load_estate(out) == result.estate
    assert sorted(p.name for p in tmp_path.iterdir()) == ["estate.yaml", "export"]


def test_write_estate_round_trips_awkward_names(tmp_path: Path) -> None:
    names = ("Group RG: web #1", "yes", "1.5", "- dash", "é-ü")
    vnets = doc(
        "VirtualNetworkSites",
        "".join(f"<VirtualNetworkSite><Name>{n}</Name></VirtualNetworkSite>" for n in names),
    )
    result = import_asm(folder_with(tmp_path, vnets=vnets))
    out = tmp_path / "estate.yaml"
    write_estate(result, out)
    assert [v.name for v in load_estate(out).vnets] == list(names)


@pytest.mark.parametrize("kind", ["missing", "file", "no-xml", "only-unknown"])
def test_folder_problems(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "dir"
    if kind == "file":
        target.write_text("x")
    elif kind == "no-xml":
        target.mkdir()
        (target / "notes.txt").write_text("hello")
    elif kind == "only-unknown":
        target.mkdir()
        (target / "a.xml").write_text(doc("Locations", ""))
    with pytest.raises(InputError) as exc:
        import_asm(target)
    assert exc.value.file == str(target)
    if kind in ("no-xml", "only-unknown"):
        assert f"no Service Management XML files found in {target}" in exc.value.message


def test_semantic_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = service_xml("cs", role_xml("vm1"), instance_xml("vm1")).replace(
        "https://stdisks.blob.core.windows.net/vhds/vm1-os.vhd", "not a url"
    )
    bad = bad.replace("<RoleList>", "\n\n<RoleList>")
    folder = folder_with(tmp_path, service=bad)
    with pytest.raises(InputError) as exc:
        import_asm(folder)
    assert exc.value.file == str(folder / "service.xml")
    assert exc.value.line == 3
    assert "MediaLink 'not a url' is not a blob URL" in exc.value.message


# ---- guest agent and extension status, disk blobs (issue 15; MIG031, MIG034) ---------------------

EXTENSIONS = (
    "<ResourceExtensionReferences>"
    "<ResourceExtensionReference><ReferenceName>Microsoft.Compute.BGInfo</ReferenceName>"
    "<Publisher>Microsoft.Compute</Publisher><Name>BGInfo</Name><Version>2.1</Version>"
    "<State>Enable</State></ResourceExtensionReference>"
    "<ResourceExtensionReference><ReferenceName>VMAccessAgent</ReferenceName>"
    "<Publisher>Microsoft.Compute</Publisher><Name>VMAccessAgent</Name><Version>2.*</Version>"
    "<State>Enable</State></ResourceExtensionReference>"
    "</ResourceExtensionReferences>"
)


def agent_folder(tmp_path: Path, status_xml: str, *, extensions: str = EXTENSIONS) -> Path:
    tmp_path.mkdir(exist_ok=True)
    return folder_with(
        tmp_path,
        service=service_xml(
            "cs", role_xml("vm1", extra=extensions), instance_xml("vm1", extra=status_xml)
        ),
        vnets=VNETS,
        storage=STORAGE,
        routes=doc("RouteTables", "<RouteTable><Name>rt-app</Name></RouteTable>"),
    )


def test_fixture_agent_ready_and_blob(imported: ImportResult) -> None:
    """The real response: GuestAgentStatus Ready; the OS disk's blob inside container vhds."""
    vm = vm_named(imported.estate, "ASMTest01")
    assert vm.agent_ready is True and vm.extensions_unreported == ()
    assert vm.os_disk.blob == "ASMTest01-os-4991.vhd"
    assert (vm.os_disk.blob_size_gb, vm.os_disk.reachable) == (None, True)
    role = vm_named(imported.estate, "myservice")  # a role document: no RoleInstance
    assert role.os_disk.blob == "myservice-myservice-os-1445207070064.vhd"
    assert role.agent_ready is True and role.extensions_unreported == ()
    assert any(
        w.startswith("VM myservice has extensions") and "no RoleInstance" in w
        for w in imported.warnings
    )


def test_guest_agent_not_ready(tmp_path: Path) -> None:
    reported = {"Microsoft.Compute.BGInfo": "Success", "Microsoft.Compute.VMAccessAgent": "Success"}
    result = import_asm(agent_folder(tmp_path, agent_xml("NotReady", reported)))
    vm = vm_named(result.estate, "vm1")
    assert vm.agent_ready is False
    assert vm.extensions_unreported == ()  # both handlers report
    assert result.warnings == ()
    ready = import_asm(agent_folder(tmp_path / "ready", agent_xml("Ready", reported)))
    assert vm_named(ready.estate, "vm1").agent_ready is True


def test_extension_status_missing_is_unreported(tmp_path: Path) -> None:
    # BGInfo reports (matched by HandlerName Publisher.Name, in another case); VMAccessAgent
    # has no ResourceExtensionStatus at all
    result = import_asm(
        agent_folder(tmp_path, agent_xml("Ready", {"microsoft.compute.bginfo": "Success"}))
    )
    vm = vm_named(result.estate, "vm1")
    assert vm.extensions == ("BGInfo/2.1", "VMAccessAgent/2.*")
    assert vm.agent_ready is True
    assert vm.extensions_unreported == ("VMAccessAgent/2.*",)
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("status_xml", "unreported"),
    [
        # the handler reports, the extension's own (settings) status is missing
        (agent_xml("Ready", {"BGInfo": None, "VMAccessAgent": "Error"}), ("BGInfo/2.1",)),
        # the handler is Unresponsive: the agent says it stopped reporting
        (
            agent_xml("Ready", {"VMAccessAgent": "Success", "BGInfo": "Success"}).replace(
                "<Status>Ready</Status><ExtensionSettingStatus><Name>BGInfo",
                "<Status>Unresponsive</Status><ExtensionSettingStatus><Name>BGInfo",
            ),
            ("BGInfo/2.1",),
        ),
        # the agent reports, but no ResourceExtensionStatusList: no extension reports
        (agent_xml("Ready"), ("BGInfo/2.1", "VMAccessAgent/2.*")),
    ],
)
def test_extension_status_or_handler_status_not_reported(
    tmp_path: Path, status_xml: str, unreported: tuple[str, ...]
) -> None:
    vm = vm_named(import_asm(agent_folder(tmp_path, status_xml)).estate, "vm1")
    assert vm.extensions_unreported == unreported


def test_no_agent_status_keeps_defaults_and_warns_only_with_extensions(tmp_path: Path) -> None:
    result = import_asm(agent_folder(tmp_path, ""))
    vm = vm_named(result.estate, "vm1")
    assert vm.agent_ready is True and vm.extensions_unreported == ()
    (warning,) = result.warnings
    assert warning.startswith("VM vm1 has extensions (BGInfo/2.1, VMAccessAgent/2.*)")
    assert "no GuestAgentStatus" in warning and "MIG031" in warning
    bare = import_asm(agent_folder(tmp_path / "bare", "", extensions=""))
    assert bare.warnings == ()
    assert vm_named(bare.estate, "vm1").agent_ready is True


def test_disk_blob_names_and_logical_sizes(tmp_path: Path) -> None:
    data = (
        "<DataVirtualHardDisks>"
        "<DataVirtualHardDisk><Lun>0</Lun><LogicalDiskSizeInGB>512</LogicalDiskSizeInGB>"
        "<MediaLink>https://stdisks.blob.core.windows.net/vhds/dir/x.vhd</MediaLink>"
        "</DataVirtualHardDisk>"
        "<DataVirtualHardDisk><Lun>1</Lun><LogicalDiskSizeInGB>64</LogicalDiskSizeInGB>"
        "<MediaLink>https://stdisks.blob.core.windows.net/vhds/a%2Fb%20c.vhd?sv=1</MediaLink>"
        "</DataVirtualHardDisk>"
        "<DataVirtualHardDisk><Lun>2</Lun><LogicalDiskSizeInGB>32</LogicalDiskSizeInGB>"
        "<MediaLink>https://stdisks.blob.core.windows.net/top.vhd</MediaLink>"
        "</DataVirtualHardDisk></DataVirtualHardDisks>"
    )
    role = role_xml("vm1", extra=data).replace(
        "<IOType>Standard</IOType></OSVirtualHardDisk>",
        "<LogicalDiskSizeInGB>200</LogicalDiskSizeInGB><IOType>Standard</IOType>"
        "</OSVirtualHardDisk>",
    )
    folder = folder_with(
        tmp_path,
        service=service_xml("cs", role, instance_xml("vm1", extra=agent_xml("Ready"))),
        vnets=VNETS,
        storage=STORAGE,
    )
    result = import_asm(folder)
    vm = vm_named(result.estate, "vm1")
    assert (vm.os_disk.blob, vm.os_disk.size_gb) == ("vm1-os.vhd", 200)
    assert [(d.blob, d.size_gb) for d in vm.data_disks] == [
        ("dir/x.vhd", 512),  # the path after the container
        ("a/b c.vhd", 64),  # URL-decoded, query left out
        ("top.vhd", 32),  # the root container ($root), left out of the URL
    ]
    # the export says nothing of the blobs' own sizes or whether they can be reached
    assert all(d.blob_size_gb is None and d.reachable for d in (vm.os_disk, *vm.data_disks))
    out = tmp_path / "estate.yaml"
    write_estate(result, out)
    assert load_estate(out) == result.estate


def test_media_link_without_blob_name_is_warned(tmp_path: Path) -> None:
    role = role_xml("vm1").replace(
        "https://stdisks.blob.core.windows.net/vhds/vm1-os.vhd",
        "https://stdisks.blob.core.windows.net/vhds/",
    )
    folder = folder_with(
        tmp_path, service=service_xml("cs", role, instance_xml("vm1")), vnets=VNETS, storage=STORAGE
    )
    result = import_asm(folder)
    assert vm_named(result.estate, "vm1").os_disk.blob is None
    assert any("names no blob" in w for w in result.warnings)


def test_blob_name_longer_than_azure_allows_is_an_error(tmp_path: Path) -> None:
    role = role_xml("vm1").replace("vhds/vm1-os.vhd", "vhds/" + "b" * 1025)
    folder = folder_with(tmp_path, service=service_xml("cs", role, instance_xml("vm1")))
    with pytest.raises(InputError) as exc:
        import_asm(folder)
    assert exc.value.file == str(folder / "service.xml")
    assert "longer than 1,024 characters" in exc.value.message


def test_vnet_affinity_group_and_older_site_to_site_form(tmp_path: Path) -> None:
    vnets = doc(
        "VirtualNetworkSites",
        "<VirtualNetworkSite><Name>vnet-ag</Name><AffinityGroup>ag-prod</AffinityGroup>"
        "<AddressSpace><AddressPrefixes><AddressPrefix>10.7.0.0/16</AddressPrefix>"
        "</AddressPrefixes></AddressSpace><Gateway><Sites><LocalNetworkSite><Name>hq</Name>"
        "<AddressSpace><AddressPrefixes><AddressPrefix>192.168.0.0/16</AddressPrefix>"
        "</AddressPrefixes></AddressSpace><VpnGatewayAddress>203.0.113.1</VpnGatewayAddress>"
        "</LocalNetworkSite></Sites></Gateway></VirtualNetworkSite>",
    )
    gateway = doc("Gateway", "<GatewayType>StaticRouting</GatewayType><State>Provisioned</State>")
    folder = folder_with(tmp_path, vnets=vnets, networking_vnet_ag_gateway=gateway)
    result = import_asm(folder)
    vnet = result.estate.vnet("vnet-ag")
    assert vnet.affinity_group == "ag-prod"
    assert [(g.name, g.kind) for g in vnet.gateway] == [("vnet-ag-gateway", "vpn")]
    assert result.estate.location == "unknown"
    (warning,) = result.warnings
    assert "affinity group 'ag-prod', not a region" in warning and "--location" in warning
    given = import_asm(folder, location="West Europe")
    assert given.estate.location == "West Europe"
    assert given.estate.vnet("vnet-ag").affinity_group == "ag-prod"
    assert given.warnings == ()


def test_cli_import_then_validate_reports_mig031_and_mig034(tmp_path: Path) -> None:
    """`migsim import asm` then `migsim validate`: a VM whose agent reports NotReady and a VM
    whose data disk's blob name holds a "/" come out as MIG031 and MIG034 findings."""
    slash = (
        "<DataVirtualHardDisks><DataVirtualHardDisk><Lun>0</Lun>"
        "<LogicalDiskSizeInGB>128</LogicalDiskSizeInGB>"
        "<MediaLink>https://stdisks.blob.core.windows.net/vhds/dir/x.vhd</MediaLink>"
        "</DataVirtualHardDisk></DataVirtualHardDisks>"
    )
    reported = {"Microsoft.Compute.BGInfo": "Success", "Microsoft.Compute.VMAccessAgent": "Success"}
    folder = folder_with(
        tmp_path,
        service=service_xml(
            "cs",
            role_xml("vm-agent", extra=EXTENSIONS) + role_xml("vm-slash", extra=slash),
            instance_xml("vm-agent", extra=agent_xml("NotReady", reported))
            + instance_xml("vm-slash", extra=agent_xml("Ready")),
        ),
        vnets=VNETS,
        storage=STORAGE,
        routes=doc("RouteTables", "<RouteTable><Name>rt-app</Name></RouteTable>"),
    )

    def migsim(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sim", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )

    done = migsim("import", "asm", str(folder), "--out", "estate.yaml")
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    text = (tmp_path / "estate.yaml").read_text(encoding="utf-8")
    assert "agent_ready: false" in text and "blob: dir/x.vhd" in text
    (tmp_path / "s.yaml").write_text("name: s\nestate: estate.yaml\n", encoding="utf-8")
    checked = migsim("validate", "s.yaml", "--format", "json")
    assert checked.returncode == 1, checked.stdout + checked.stderr  # MIG034 is a blocker
    findings = json.loads(checked.stdout)["findings"]
    assert sorted((f["rule"], f["resources"][0]) for f in findings if f["rule"] >= "MIG031") == [
        ("MIG031", "vm:vm-agent"),
        ("MIG034", "vm:vm-slash"),
    ]


@pytest.mark.parametrize("encoded", ["%00", "%0A", "%1F", "%7F", "%C2%81"])
def test_blob_name_with_control_characters_is_an_error(tmp_path: Path, encoded: str) -> None:
    """Azure Storage refuses control characters in a blob name: a MediaLink whose URL-decoded
    name holds one is refused at its line, not written into the estate."""
    role = role_xml("vm1").replace("vhds/vm1-os.vhd", f"vhds/vm1{encoded}os.vhd")
    folder = folder_with(tmp_path, service=service_xml("cs", role, instance_xml("vm1")))
    with pytest.raises(InputError) as exc:
        import_asm(folder)
    assert exc.value.file == str(folder / "service.xml")
    assert exc.value.line == 1
    assert "VM vm1: OS disk MediaLink's blob name 'vm1" in exc.value.message
    assert "holds the control character" in exc.value.message
    assert "expected a blob name without control characters" in exc.value.message


@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        ("<ServiceName>cs</ServiceName>", "<ServiceName>c&#9;s</ServiceName>", "HostedService"),
        ('Role"><RoleName>vm1<', 'Role"><RoleName>vm&#10;1<', "Role name 'vm\\n1'"),
        ('Role"><RoleName>vm1<', 'Role"><RoleName>vm\u202e1<', "Role name 'vm\\u202e1'"),
    ],
)
def test_service_and_role_names_with_control_characters_are_errors(
    tmp_path: Path, old: str, new: str, what: str
) -> None:
    """A cloud service's or a role's name holding a tab, a newline (character references) or a
    bidirectional override is refused at its file and line, as the loader refuses it."""
    text = service_xml("cs", role_xml("vm1"), instance_xml("vm1"))
    assert old in text
    folder = folder_with(tmp_path, service=text.replace(old, new, 1))
    with pytest.raises(InputError) as exc:
        import_asm(folder)
    assert exc.value.file == str(folder / "service.xml")
    assert what in exc.value.message and "holds the control character" in exc.value.message


def test_cli_location_with_control_characters_exits_2(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, vnets=VNETS, storage=STORAGE)
    done = subprocess.run(
        [sys.executable, "-m", "sim", "import", "asm", str(folder), "--out", "e.yaml",
         "--location", "West\nEurope"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line == (
        "error: --location: 'West\\nEurope' holds the control character '\\n' (U+000A);"
        " expected a region's name on one line, such as West Europe"
    )
    assert not (tmp_path / "e.yaml").exists()
    with pytest.raises(InputError, match="control character"):
        import_asm(folder, location="West\x85Europe")


def test_no_location_and_no_affinity_group_is_warned_once(tmp_path: Path) -> None:
    site = (
        "<VirtualNetworkSite><Name>{}</Name><AffinityGroup> </AffinityGroup><AddressSpace>"
        "<AddressPrefixes><AddressPrefix>10.{}.0.0/16</AddressPrefix></AddressPrefixes>"
        "</AddressSpace></VirtualNetworkSite>"
    )
    vnets = doc("VirtualNetworkSites", site.format("vnet-a", 7) + site.format("vnet-b", 8))
    result = import_asm(folder_with(tmp_path, vnets=vnets))
    assert result.estate.location == "unknown"
    assert [v.affinity_group for v in result.estate.vnets] == [None, None]
    (warning,) = result.warnings
    assert "name no location" in warning and "--location" in warning
    assert import_asm(folder_with(tmp_path, vnets=vnets), location="West Europe").warnings == ()
