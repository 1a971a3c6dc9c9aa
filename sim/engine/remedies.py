"""The engine's remediation table: per rule, the pre-step, the post-step and the window it opens.

What each remediation does comes from the rule catalogue (``rules.md``, last two columns): the
setting removed before migration, what is re-created after it, and which plane or protection is
missing in between. Step durations are the plan's (``plan.durations.remediate`` and ``restore``,
assumptions documented in :mod:`sim.model.plan`); this table holds no number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Remedy:
    """What the engine schedules for one rule: pre-step, post-step, and the window it opens.

    ``opens`` is ``"pre"`` for a window from the pre-step's end to the post-step's end and
    ``"commit"`` for one from the end of Commit to the post-step's end. ``target`` is the
    resource type that carries the window (``None``: no window).
    """

    pre: bool
    post: bool
    kind: str | None
    target: str | None
    removed: str
    restored: str
    opens: Literal["pre", "commit"] = "pre"


REMEDIES: dict[str, Remedy] = {
    "MIG009": Remedy(True, False, None, None, "API Management moved to another VNet", ""),
    "MIG010": Remedy(  # only for a gateway linked to a circuit of another subscription
        True,
        True,
        "data",
        "gateway",
        "cross-subscription ExpressRoute links removed",
        "gateway rebuilt and reconnected",
    ),
    "MIG012": Remedy(
        True, True, "exposure", "vm", "endpoint ACLs removed", "re-created as NSG rules"
    ),
    "MIG013": Remedy(True, True, "data", "service", "Application Gateway removed", "re-created"),
    "MIG014": Remedy(
        True,
        True,
        "connectivity",
        "vnet",
        "VNet peering removed",
        "re-peered once both VNets committed",
    ),
    "MIG015": Remedy(True, True, "data", "vm", "secondary NIC detached", "re-attached"),
    "MIG017": Remedy(
        False,
        True,
        "monitoring",
        "vm",
        "alerts and autoscale dropped by Commit",
        "re-created",
        opens="commit",
    ),
    "MIG018": Remedy(True, False, None, None, "XML extensions uninstalled", ""),
    "MIG019": Remedy(
        True,
        True,
        "diagnostics",
        "vm",
        "boot diagnostics to Premium storage disabled",
        "re-enabled",
    ),
    "MIG020": Remedy(
        True,
        True,
        "security-monitoring",
        "vm",
        "Security Center policy disabled (extension removed)",
        "re-enabled",
    ),
    "MIG021": Remedy(
        True, True, "backup", "vm", "backup stopped, snapshot extension removed", "re-protected"
    ),
    "MIG022": Remedy(
        True, True, "replication", "vm", "Site Recovery replication disabled", "re-enabled"
    ),
    "MIG030": Remedy(
        False,
        True,
        "connectivity",
        "gateway",
        "transit on-premises connectivity lost at Commit",
        "BGP or explicit connections added",
        opens="commit",
    ),
}
"""Rule -> the steps and window of its remediation (``rules.md``, last two columns)."""


def resource_type(resource: str) -> str:
    """``vm`` for ``vm:web-01``: the kind part of a graph node id."""
    return resource.split(":", 1)[0]


def short_name(resource: str) -> str:
    """``web-01`` for ``vm:web-01``: the name part of a graph node id."""
    return resource.split(":", 1)[-1]
