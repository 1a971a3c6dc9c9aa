"""The operator's command for each step of a migration unit, and how that step is rolled back.

Every command below is one that Microsoft documents; where a unit kind or a step has no
documented command the text says so instead of inventing one. Sources (``docs/runbook.md`` has
the table):

- ``migration-facts.md``, "The operator's commands per unit": the classic Azure PowerShell
  module's ``Move-AzureService`` (a cloud service not in a VNet), ``Move-AzureVirtualNetwork``,
  ``Move-AzureStorageAccount``, ``Move-AzureNetworkSecurityGroup``, ``Move-AzureRouteTable`` and
  ``Move-AzureReservedIP``, each with ``-Validate``, ``-Prepare``, ``-Commit`` or ``-Abort``;
  ``Move-AzureService`` takes ``-CreateNewVirtualNetwork`` or ``-UseExistingVirtualNetwork
  -VirtualNetworkResourceGroupName G -VirtualNetworkName V -SubnetName N`` at Validate and
  Prepare. An ExpressRoute circuit moves with the Resource Manager module's
  ``Move-AzExpressRouteCircuit``, after it is enabled for both deployment models: no Validate,
  Prepare, Commit or Abort switch is documented for it.
- Microsoft's PowerShell migration walk-through (migration-classic-resource-manager-ps): the
  deployment name comes from ``Get-AzureDeployment -ServiceName S``, and Validate's result
  carries ``ValidationMessages``.
- The Az.Network reference of ``Move-AzExpressRouteCircuit``: ``-Name``, ``-ResourceGroupName``,
  ``-Location`` and ``-ServiceKey`` are required.
- The workflow (``migration-facts.md``): only GET operations work while Prepared; Abort is only
  possible while Prepared and "can't be done after you have triggered the commit operation"; a
  failed Commit is retried "after a short time"; for a cloud service not in a VNet the platform
  stops, deallocates and starts the VMs itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sim.model.remedies import REMEDIES
from sim.model.units import Unit

PLATFORM_STEPS = ("validate", "stop", "deallocate", "prepare", "start", "check", "commit", "abort")
"""The steps of the platform's workflow, as ``events.csv`` names them."""

STEP_LABELS = {
    "validate": "Validate",
    "stop": "Stop",
    "deallocate": "Deallocate",
    "prepare": "Prepare",
    "start": "Start",
    "check": "Check",
    "commit": "Commit",
    "abort": "Abort",
}

CMDLETS: dict[str, tuple[str, str]] = {
    "vnet": ("Move-AzureVirtualNetwork", "VirtualNetworkName"),
    "storage_account": ("Move-AzureStorageAccount", "StorageAccountName"),
    "nsg": ("Move-AzureNetworkSecurityGroup", "NetworkSecurityGroupName"),
    "route_table": ("Move-AzureRouteTable", "RouteTableName"),
    "reserved_ip": ("Move-AzureReservedIP", "ReservedIPName"),
}
"""Unit kind -> the classic cmdlet and the parameter naming the resource (``migration-facts.md``).
A cloud service not in a VNet (``Move-AzureService``) and an ExpressRoute circuit have their own
shapes below."""

_PLAIN = re.compile(r"^[A-Za-z0-9._-]+$")


def quoted(value: str) -> str:
    """A PowerShell argument: bare when it is a plain name, else in single quotes."""
    if _PLAIN.match(value):
        return value
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class ExistingVNet:
    """The Resource Manager VNet a cloud service not in a VNet moves into
    (``-UseExistingVirtualNetwork``); without one the platform creates a new VNet."""

    resource_group: str
    vnet: str
    subnet: str

    @classmethod
    def parse(cls, text: str) -> ExistingVNet:
        """``GROUP/VNET/SUBNET``; raises :class:`ValueError` for another shape."""
        parts = text.split("/")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise ValueError(f"expected GROUP/VNET/SUBNET, got {text!r}")
        return cls(*(p.strip() for p in parts))


def step_label(step: str) -> str:
    """``Validate``, ``Remediate MIG012``, ``Restore MIG014 (vnet-prod+vnet-shared)``."""
    if step in STEP_LABELS:
        return STEP_LABELS[step]
    what, _, key = step.partition(":")
    rule, _, detail = key.partition(":")
    label = f"{'Remediate' if what == 'remediate' else 'Restore'} {rule}"
    return f"{label} ({detail})" if detail else label


_LABEL = re.compile(r"^(Remediate|Restore) (MIG\d+)(?: \((.+)\))?$", re.ASCII)
_STEP_OF_LABEL = {label.lower(): step for step, label in STEP_LABELS.items()}


def step_of_label(label: str) -> str | None:
    """The engine's step name of a label :func:`step_label` wrote (``Remediate MIG014
    (vnet-prod+vnet-shared)`` -> ``remediate:MIG014:vnet-prod+vnet-shared``, ``Commit`` ->
    ``commit``; the platform's step labels in any case); None for any other text."""
    text = label.strip()
    if text.lower() in _STEP_OF_LABEL:
        return _STEP_OF_LABEL[text.lower()]
    m = _LABEL.match(text)
    if m is None:
        return None
    what, rule, detail = m.groups()
    step = f"{what.lower()}:{rule}"
    return f"{step}:{detail}" if detail else step


def step_rule(step: str) -> str | None:
    """The rule of a remediation step (``MIG014`` of ``remediate:MIG014:a+b``), else None."""
    what, _, key = step.partition(":")
    if what not in ("remediate", "restore"):
        return None
    return key.partition(":")[0]


def _cloud_service(unit: Unit, switch: str, existing: ExistingVNet | None) -> str:
    name = quoted(unit.name)
    text = (
        f"Move-AzureService -{switch} -ServiceName {name}"
        f" -DeploymentName (Get-AzureDeployment -ServiceName {name}).DeploymentName"
    )
    if switch in ("Validate", "Prepare"):
        if existing is None:
            text += " -CreateNewVirtualNetwork"
        else:
            text += (
                " -UseExistingVirtualNetwork"
                f" -VirtualNetworkResourceGroupName {quoted(existing.resource_group)}"
                f" -VirtualNetworkName {quoted(existing.vnet)}"
                f" -SubnetName {quoted(existing.subnet)}"
            )
    if switch == "Validate":
        text = f"({text}).ValidationMessages"
    return text


def migration_command(
    unit: Unit, switch: str, *, existing: ExistingVNet | None = None, location: str = ""
) -> str | None:
    """The documented command running ``switch`` (``Validate``, ``Prepare``, ``Commit``,
    ``Abort``) on ``unit``; None when none is documented for that unit kind and switch."""
    if unit.kind == "cloud_service":
        return _cloud_service(unit, switch, existing)
    if unit.kind == "expressroute_circuit":
        if switch != "Commit":
            return None
        where = quoted(location) if location and location != "unknown" else "$Location"
        return (
            f"Move-AzExpressRouteCircuit -Name {quoted(unit.name)}"
            f" -ResourceGroupName $ResourceGroupName -Location {where} -ServiceKey $ServiceKey"
        )
    if unit.kind not in CMDLETS:
        return None
    cmdlet, param = CMDLETS[unit.kind]
    text = f"{cmdlet} -{switch} -{param} {quoted(unit.name)}"
    return f"({text}).ValidationMessages" if switch == "Validate" else text


def step_command(
    unit: Unit,
    step: str,
    *,
    existing: ExistingVNet | None = None,
    location: str = "",
    final: bool = False,
) -> str:
    """What the operator runs for ``step`` (an ``events.csv`` step name) of ``unit``: the
    migration cmdlet with its switch, or what to do when the step has no command of its own.
    Remediation steps get their action from :func:`remedy_action` instead. ``final``: a
    pre-step with no way back has run (MIG008), so the Check offers no Abort."""
    switch = {"validate": "Validate", "prepare": "Prepare", "commit": "Commit", "abort": "Abort"}
    if step in switch:
        cmd = migration_command(unit, switch[step], existing=existing, location=location)
        if cmd is not None:
            return cmd
        if unit.kind == "expressroute_circuit":
            return (
                f"No {switch[step]} command is documented for an ExpressRoute circuit: it moves"
                " in one command (Move-AzExpressRouteCircuit, at Commit) once it is enabled for"
                " both deployment models"
            )
        return f"No documented {switch[step]} command for a unit of kind {unit.kind}"
    if step == "check":
        abort = migration_command(unit, "Abort", existing=existing, location=location)
        then = f"then Commit, or Abort: {abort}" if abort else "then Commit"
        if final:
            then = "then Commit (no Abort: a migration that cannot be rolled back has begun)"
        return (
            "No command: check the Prepared resources (only GET operations work while"
            f" Prepared); {then}"
        )
    if step in ("stop", "deallocate"):
        return (
            "No command: the platform stops and deallocates the VMs of a cloud service not in"
            " a VNet as part of Prepare"
        )
    if step == "start":
        return "No command: the platform starts the VMs again (when: plan.restart_after)"
    return f"No documented command for step {step}"


def remedy_action(step: str, targets: str, remediation: str) -> str:
    """The action of a remediation pre-step (``remediate:RULE...``) or post-step
    (``restore:RULE...``) on ``targets`` (names), with the rule's remediation text."""
    rule = step_rule(step) or ""
    remedy = REMEDIES.get(rule)
    on = f" ({targets})" if targets else ""
    if step.startswith("remediate:"):
        what = remedy.removed if remedy is not None else "remediate"
        text = f"{rule} before migration: {what}{on}"
    else:
        what = remedy.restored if remedy is not None else "restore"
        text = f"{rule} after migration: {what}{on}"
    if remediation:
        text += f". The rule's remediation: {remediation}"
    return text


def rollback_note(
    unit: Unit,
    step: str,
    *,
    existing: ExistingVNet | None = None,
    location: str = "",
    final: bool = False,
    committed: bool = False,
) -> str:
    """How ``step`` of ``unit`` is undone, if it can be. ``final``: the unit runs a pre-step
    with no way back (:attr:`sim.model.remedies.Remedy.final`, MIG008), so it is never
    aborted. ``committed``: the step runs after the unit's Commit (a Start under
    ``plan.restart_after: commit``), when nothing can be aborted."""
    rule = step_rule(step)
    if rule is not None:
        remedy = REMEDIES.get(rule)
        if step.startswith("remediate:") and remedy is not None and remedy.final:
            return (
                f"No rollback: {rule}'s procedure cannot be rolled back once started; from here"
                " the unit cannot be aborted"
            )
        if step.startswith("remediate:"):
            if remedy is not None and remedy.post:
                return (
                    f"Undone by Restore {rule} after Commit, or at once when the unit is not"
                    " migrated"
                )
            return "No post-step: the change stays after the migration"
        if remedy is not None and remedy.final:
            return f"No rollback: completes {rule}'s procedure, which cannot be rolled back"
        return "This step puts back what the pre-step removed (or re-creates what Commit dropped)"
    if step == "validate":
        return "Read-only: nothing to undo"
    if step == "commit":
        if unit.kind == "expressroute_circuit":
            return "No documented rollback of a circuit move"
        return "No rollback: a Commit cannot be aborted; if it fails, retry it after a short time"
    if committed and step in ("stop", "deallocate", "start"):
        return "After Commit: no rollback (the VMs start in Resource Manager)"
    if step in ("prepare", "check", "stop", "deallocate", "start") and final:
        return (
            "No Abort: a migration that cannot be rolled back has begun (its pre-step ran);"
            " a failed Prepare is retried, a problem the Check finds is fixed forward"
        )
    if step in ("prepare", "check", "stop", "deallocate", "start"):
        abort = migration_command(unit, "Abort", existing=existing, location=location)
        if abort is None:
            if unit.kind == "expressroute_circuit":
                return "No documented Abort of a circuit move"
            return f"No documented Abort for a unit of kind {unit.kind}"
        return f"Until Commit: {abort} undoes Prepare; after Commit there is no rollback"
    if step == "abort":
        return "Abort itself rolls Prepare back; Validate and Prepare may be run again"
    return ""
