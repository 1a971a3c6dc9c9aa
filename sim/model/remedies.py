"""The remediation table: per rule, what the operator does before and after the migration.

One row per rule whose remediation the engine schedules (``rules.md``, last two columns): the
setting removed before migration (the pre-step), what is re-created after it (the post-step),
the window the gap opens (its ``kind`` and the resource type that carries it), the scope of one
step, its durations and the lead time the platform needs between the pre-step and Validate.

Scope of one step:

- ``unit``: one step per unit and rule, over all the unit's affected VMs (``base + per_vm * VMs``);
- ``pair``: one step per VNet peering (MIG014): removed by the first end to begin, re-created
  once both ends are done;
- ``subscription``: one step for the whole subscription (MIG020: the Security Center policy is
  a subscription setting), before the first unit that needs it and after the last.

Every number carries its source or the word "assumption" (``docs/model.md`` has the same table).
The plan overrides a rule's durations with ``plan.remedies.RULE.remediate`` / ``.restore``, and
every rule's at once with ``plan.durations.remediate`` / ``.restore``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["unit", "pair", "subscription"]

DATA_PLANE_KINDS = ("service", "data", "nic", "connectivity")
"""Window kinds that are a service's traffic down (restored first after Commit)."""

PROTECTION_KINDS = ("monitoring", "diagnostics", "security-monitoring", "backup", "replication")
"""Window kinds that are a protection gap."""


@dataclass(frozen=True)
class Remedy:
    """What the engine schedules for one rule.

    ``pre``/``post``: whether there is a pre-step / post-step. ``opens`` is ``"pre"`` for a
    window from the pre-step's end to the post-step's end and ``"commit"`` for one from the end
    of Commit to the post-step's end. ``target`` is the resource type that carries the window
    (``None``: no window). Durations are minutes, ``base + per_vm * affected VMs``; ``lead`` is
    the least time between the end of the pre-step and the unit's Validate. ``source`` names
    where each number comes from.
    """

    pre: bool
    post: bool
    kind: str | None
    target: str | None
    removed: str
    restored: str
    scope: Scope
    remediate: tuple[float, float]
    restore: tuple[float, float]
    lead: float
    source: str
    opens: Literal["pre", "commit"] = "pre"
    final: bool = False
    """Once the pre-step has run there is no way back: the unit can no longer be aborted and
    the pre-step is never undone (MIG008's domain services migration)."""

    @property
    def disruptive(self) -> bool:
        """A pre-step that opens a window: under just-in-time dispatch it runs inside the
        unit's maintenance window, right before Validate."""
        return self.pre and self.kind is not None and self.opens == "pre"


_NONE = (0.0, 0.0)

REMEDIES: dict[str, Remedy] = {
    # Only under the plan.aadds_migration what-if (otherwise MIG008 is a blocker).
    "MIG008": Remedy(
        True,
        True,
        "service",
        "service",
        "managed domain prepared for migration (domain services phase 1)",
        "managed domain migrated and committed (phases 2-3)",
        "unit",
        remediate=(30.0, 0.0),
        restore=(60.0, 0.0),
        lead=0.0,
        source="Microsoft's three-phase procedure for Azure AD Domain Services in a classic VNet"
        " (prepare the managed domain, migrate the VNet, commit the managed domain; no rollback"
        " once started); a Microsoft answer put the managed domain's outage at about 1-3 hours"
        " (migration-facts.md). The durations, 30 min to prepare and 60 min to commit the"
        " domain, are assumptions chosen so that the outage (end of its prepare to end of its"
        " commit, around one VNet's Validate, Prepare, Check and Commit) falls in that range",
        final=True,
    ),
    "MIG009": Remedy(
        True,
        False,
        None,
        None,
        "API Management moved to another VNet",
        "",
        "unit",
        remediate=(45.0, 0.0),
        restore=_NONE,
        lead=0.0,
        source="assumption: changing an API Management VNet takes tens of minutes",
    ),
    "MIG010": Remedy(  # only for a gateway linked to a circuit of another subscription
        True,
        True,
        "data",
        "gateway",
        "cross-subscription ExpressRoute links removed",
        "gateway rebuilt and reconnected",
        "unit",
        remediate=(5.0, 0.0),
        restore=(55.0, 0.0),
        lead=5.0,
        source="lead 5 min: Microsoft's ExpressRoute move script pauses 5 minutes after removing"
        " the links; restore 55 min: a gateway 'can take 45 minutes or more to create'"
        " (migration-facts.md) plus 10 min to reconnect (assumption); removal 5 min (assumption)",
    ),
    "MIG012": Remedy(
        True,
        True,
        "exposure",
        "vm",
        "endpoint ACLs removed",
        "re-created as NSG rules",
        "unit",
        remediate=(5.0, 2.0),
        restore=(10.0, 2.0),
        lead=0.0,
        source="assumption: one scripted change per VM",
    ),
    "MIG013": Remedy(
        True,
        True,
        "data",
        "service",
        "Application Gateway removed",
        "re-created",
        "unit",
        remediate=(15.0, 0.0),
        restore=(20.0, 0.0),
        lead=0.0,
        source="assumption: deleting and deploying one Application Gateway",
    ),
    "MIG014": Remedy(
        True,
        True,
        "connectivity",
        "vnet",
        "VNet peering removed",
        "re-peered once both VNets are done",
        "pair",
        remediate=(5.0, 0.0),
        restore=(5.0, 0.0),
        lead=0.0,
        source="assumption: one peering deleted or created",
    ),
    "MIG015": Remedy(
        True,
        True,
        "nic",
        "vm",
        "secondary NIC detached",
        "re-attached",
        "unit",
        remediate=(5.0, 5.0),
        restore=(5.0, 5.0),
        lead=0.0,
        source="assumption: one VM update per VM",
    ),
    "MIG017": Remedy(
        False,
        True,
        "monitoring",
        "vm",
        "alerts and autoscale dropped by Commit",
        "re-created",
        "unit",
        remediate=_NONE,
        restore=(10.0, 2.0),
        lead=0.0,
        source="assumption: alert rules and autoscale settings re-created from a script",
        opens="commit",
    ),
    "MIG018": Remedy(  # target "vm": the per-VM part counts the affected VMs (no window)
        True,
        False,
        None,
        "vm",
        "XML extensions uninstalled",
        "",
        "unit",
        remediate=(5.0, 5.0),
        restore=_NONE,
        lead=0.0,
        source="assumption: one extension removal per VM",
    ),
    "MIG019": Remedy(
        True,
        True,
        "diagnostics",
        "vm",
        "boot diagnostics to Premium storage disabled",
        "re-enabled",
        "unit",
        remediate=(2.0, 1.0),
        restore=(2.0, 1.0),
        lead=0.0,
        source="assumption: one VM setting per VM",
    ),
    "MIG020": Remedy(
        True,
        True,
        "security-monitoring",
        "vm",
        "Security Center policy disabled (extension removed)",
        "re-enabled",
        "subscription",
        remediate=(5.0, 0.0),
        restore=(5.0, 0.0),
        lead=180.0,
        source="lead 180 min: disable the policy '3 hours before proceeding with migration'"
        " (2016 overview, migration-facts.md); the policy change itself 5 min (assumption)",
    ),
    "MIG021": Remedy(
        True,
        True,
        "backup",
        "vm",
        "backup stopped, snapshot extension removed",
        "re-protected",
        "unit",
        remediate=(5.0, 3.0),
        restore=(5.0, 5.0),
        lead=0.0,
        source="assumption: stop protection and re-protect per VM",
    ),
    "MIG022": Remedy(
        True,
        True,
        "replication",
        "vm",
        "Site Recovery replication disabled",
        "re-enabled after the storage accounts of the VM's disks have migrated",
        "unit",
        remediate=(5.0, 5.0),
        restore=(10.0, 10.0),
        lead=0.0,
        source="assumption: disable and enable replication per VM; the order is the seed's"
        " ('disable and enable VM replication after storage migration')",
    ),
    "MIG030": Remedy(
        False,
        True,
        "connectivity",
        "gateway",
        "transit on-premises connectivity lost at Commit",
        "BGP or explicit connections added",
        "unit",
        remediate=_NONE,
        restore=(30.0, 0.0),
        lead=0.0,
        source="assumption: connections added to the gateway",
        opens="commit",
    ),
    # No window: target "vm" only makes each affected VM count in per_vm (kind None opens none).
    # No post-step: restoring status reporting (NSG rule, DNS) is a fix that stays; an extension
    # uninstalled instead is not re-installed by the model (as MIG018), a post-migration task.
    "MIG031": Remedy(
        True,
        False,
        None,
        "vm",
        "extension status reporting restored (NSG rule or DNS fixed) or extension uninstalled",
        "",
        "unit",
        remediate=(10.0, 5.0),
        restore=_NONE,
        lead=0.0,
        source="assumption: 10 min for the unit's NSG rule or DNS fix (or the uninstall"
        " commands); then 5 min per VM, the time Microsoft's lab toolset waits for a guest agent"
        " to report Ready (migration-facts.md), for the status to be reported again",
    ),
    "MIG035": Remedy(
        True,
        False,
        None,
        None,
        "update operation run on the deployment (moves it to the regional scope)",
        "",
        "unit",
        remediate=(10.0, 0.0),
        restore=_NONE,
        lead=0.0,
        source="assumption: one update operation on a classic deployment (an endpoint or a data"
        " disk added to one VM) takes minutes; a unit's deployments are updated side by side",
    ),
}
"""Rule -> the steps, window, scope, durations and lead time of its remediation."""

RESTORE_ORDER = {
    kind: i
    for i, kind in enumerate(
        ("service", "data", "nic", "connectivity", "exposure", *PROTECTION_KINDS)
    )
}
"""After Commit, the post-steps run data-plane first, then exposure, then protection gaps;
before Validate the pre-steps run in the reverse order, so the outages are the shortest."""


def resource_type(resource: str) -> str:
    """``vm`` for ``vm:web-01``: the kind part of a graph node id."""
    return resource.split(":", 1)[0]


def short_name(resource: str) -> str:
    """``web-01`` for ``vm:web-01``: the name part of a graph node id."""
    return resource.split(":", 1)[-1]
