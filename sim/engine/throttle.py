"""The Resource Manager write throttle as a token bucket (``plan.write_limit_per_hour``).

The limit is published ("currently 1200 writes/hour", ``migration-facts.md``); how many
writes a Prepare or Commit issues is an assumption of the plan (``plan.writes_per_vm``,
``plan.writes_per_resource``).
"""

from __future__ import annotations


class TokenBucket:
    """The Resource Manager write throttle: ``per_hour`` writes, refilled continuously.

    The bucket holds at most ``per_hour`` writes and starts full. :meth:`take` may drive it below
    zero: the debt is repaid by the refill before later writes go through.
    """

    def __init__(self, per_hour: float) -> None:
        self.capacity = per_hour
        self.rate = per_hour / 60.0  # writes per minute
        self.level = per_hour
        self.last = 0.0

    def level_at(self, t: float) -> float:
        return min(self.capacity, self.level + self.rate * (t - self.last))

    def min_duration(self, t: float, writes: float) -> float:
        """The least time a step issuing ``writes`` from ``t`` can take under the throttle."""
        return max(0.0, (writes - self.level_at(t)) / self.rate)

    def take(self, t: float, writes: float) -> None:
        self.level = self.level_at(t) - writes
        self.last = t
