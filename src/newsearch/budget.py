"""A request's cost budget: one deadline that every stage of a search checks, and the stages it cut."""

from __future__ import annotations

import math
import time

from .errors import BudgetExceededError

# Stages that can be cut run only while this share of the budget is left, so that the hits and their
# snippets, which cannot be cut, still fit in what remains.
OPTIONAL_RESERVE = 0.25


class Budget:
    """A deadline shared by the stages of one request; None seconds: no limit."""

    def __init__(self, seconds: float | None, clock=time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.deadline = None if seconds is None else clock() + seconds
        self.cut: list[str] = []

    def left(self) -> float:
        """Seconds left (infinite without a limit)."""
        return math.inf if self.deadline is None else self.deadline - self.clock()

    def expired(self) -> bool:
        """Tell whether the deadline has passed."""
        return self.deadline is not None and self.clock() > self.deadline

    def allows(self, stage: str, optional: bool = False) -> bool:
        """Tell whether a stage may run; if not, it is recorded as cut. Optional stages leave a reserve."""
        reserve = OPTIONAL_RESERVE * self.seconds if optional and self.seconds else 0.0
        if self.left() > reserve:
            return True
        if stage not in self.cut:
            self.cut.append(stage)
        return False

    def exceeded(self) -> BudgetExceededError:
        """The error of a request that ran out of time before it had anything to show."""
        return BudgetExceededError(
            "timed_out", retry_after=max(1, math.ceil(self.seconds or 1)), seconds=self.seconds or 0
        )
