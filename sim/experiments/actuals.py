"""The step names the engine may record for each unit: what actuals are checked against.

:func:`sim.model.actuals.read_actuals` checks a step against the platform's steps and the
remediation table; given :func:`engine_steps` it checks it against what the engine would run for
that unit in this scenario: no Stop for a unit whose VMs the platform does not stop, no step but
restores for a unit a blocker stops before it begins, ``remediate:MIG014:a+b`` only for the two
ends of that peering, ``restore:KEY`` only under ``plan.remediation: auto``. It reads the
engine's seed-independent set-up (:class:`sim.engine.platform.Setup`), the one every replication
runs from, so the two cannot drift apart (``tests/test_actuals.py`` checks every event of random
runs against it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sim.experiments.replications import Prepared
from sim.model.actuals import Actuals, read_actuals
from sim.model.commands import PLATFORM_STEPS
from sim.model.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd

_CORE = frozenset(s for s in PLATFORM_STEPS if s not in ("stop", "deallocate", "start"))
_VMS = frozenset(("stop", "deallocate", "start"))


def engine_steps(scenario: Scenario | Prepared) -> dict[str, frozenset[str]]:
    """Per unit id, every step name the engine may record for it (``events.csv``'s ``step``).

    - a unit a blocker stops before it begins (caught early, ``rules.md``): only the restores
      below (a peering's re-peering when its other end began);
    - else Validate, Prepare, Check, Commit and Abort; Stop, Deallocate and Start when the
      platform stops some of its VMs (a cloud service not in a VNet; ``plan.future_support``);
      ``remediate:KEY`` for each remediation it may run before its sequence (a peering's by
      either end, a subscription-wide one by any unit that needs it);
    - ``restore:KEY`` for each post-step it may run when done, under ``plan.remediation: auto``
      (a peering's by either end, Site Recovery's by the storage accounts it waits for).
    """
    prepared = scenario if isinstance(scenario, Prepared) else Prepared.of(scenario)
    setup = prepared.setup
    auto = prepared.plan.remediation == "auto"
    out: dict[str, frozenset[str]] = {}
    for uid in prepared.order:
        names: set[str] = set()
        if not setup.early[uid]:
            names |= _CORE
            if setup.stopped[uid]:
                names |= _VMS
            for rem in (*setup.free_pre[uid], *setup.window_pre[uid], *setup.shared_pre[uid]):
                names.add(f"remediate:{rem.key}")
        if auto:
            names |= {f"restore:{rem.key}" for rem in setup.involved[uid] if rem.remedy.post}
        out[uid] = frozenset(names)
    return out


def load_actuals(
    source: Path | str | pd.DataFrame,
    scenario: Scenario,
    *,
    prepared: Prepared | None = None,
    name: str | None = None,
) -> Actuals:
    """:func:`sim.model.actuals.read_actuals` with each unit's steps checked against
    :func:`engine_steps`: the reader for ``migsim replan`` and notebooks. ``prepared``: the
    scenario's :class:`Prepared` alternative when the caller has built it (its units and
    set-up are reused); ``name`` names a DataFrame in messages. Raises
    :class:`~sim.common.errors.InputError` as :func:`read_actuals` does."""
    if prepared is None:
        prepared = Prepared.of(scenario)
    steps: Mapping[str, Collection[str]] = engine_steps(prepared)
    return read_actuals(source, scenario, steps=steps, units=prepared.units, name=name)
