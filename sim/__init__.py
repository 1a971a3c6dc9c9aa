"""migsim: a discrete-event simulator of the Azure classic (ASM) to Resource Manager IaaS migration.

The library API that the CLI and the notebooks share: load a scenario, build its graph and units,
check the platform's rules, simulate the plan.
"""

from __future__ import annotations

__version__ = "0.1.0"
