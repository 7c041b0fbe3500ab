"""What a paired comparison says: ``Comparison`` (A - B with its interval, p-values and verdict),
``Interval`` (a mean against a reference) and Holm's correction of a family of comparisons."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from .power import MIN_SEEDS, minimal_detectable

__all__ = ["Comparison", "Interval", "holm", "VERDICTS"]


#: Every verdict a comparison can give ("equivalent" is followed by its margin).
VERDICTS = ("better", "worse", "equivalent", "not shown either way", "n/a")


@dataclass
class Comparison:
    """A - B: observed difference (mean over shared seeds), its interval, p-value and verdict
    (module docstring)."""

    metric: str
    datasets: List[str]
    seeds: List[int]
    diff: float
    low: float
    high: float
    p: float
    p_adjusted: Optional[float] = (
        None  # after a multiplicity correction (Holm), where one was applied
    )
    level: float = 0.95
    per_seed: Dict[int, float] = field(default_factory=dict)
    se: float = float("nan")
    df: float = float("nan")
    v_seed: float = float("nan")  # variance of the per-seed differences
    v_sample: float = float("nan")  # sample-level variance of their mean
    margin: Optional[float] = None  # smallest effect of interest, in metric units
    p_equivalent: float = float("nan")  # two one-sided tests against +-margin
    p_equivalent_adjusted: Optional[float] = None
    testable: bool = (
        True  # False where the arms' outputs are identical: the rule cannot see any lever there
    )

    @property
    def mde(self) -> float:
        """Minimal detectable effect at the observed variance (80% power, two-sided, at
        ``level``)."""
        return minimal_detectable(self.se, self.df, self.level)

    def _p(self) -> float:
        return self.p if self.p_adjusted is None else self.p_adjusted

    def _p_eq(self) -> float:
        return (
            self.p_equivalent if self.p_equivalent_adjusted is None else self.p_equivalent_adjusted
        )

    @property
    def verdict(self) -> str:
        """``better`` / ``worse`` (A against B) where the (adjusted) p-value is below 1 - level;
        else ``equivalent`` where a margin is stated and both one-sided tests reject; else ``not
        shown either way``. ``n/a`` with fewer than ``MIN_SEEDS`` shared seeds; ``not testable``
        where the arms' outputs are identical."""
        if not self.testable:
            return "not testable"
        if len(self.seeds) < MIN_SEEDS or math.isnan(self.diff) or math.isnan(self.p):
            return "n/a"
        alpha = 1 - self.level
        if self._p() < alpha:
            return "better" if self.diff > 0 else "worse"
        if self.margin is not None and self._p_eq() < alpha:
            return "equivalent"
        return "not shown either way"

    def verdict_text(self, pct: bool = True) -> str:
        """The verdict with what qualifies it: the margin of "equivalent", the detectable effect
        of "not shown", the reason of "n/a"."""
        k, v = 100 if pct else 1, self.verdict
        if v == "equivalent":
            return f"equivalent within ±{k * self.margin:g}"
        if v == "not shown either way":
            return f"not shown either way (detectable: ±{k * self.mde:.1f})"
        if v == "n/a" and len(self.seeds) < MIN_SEEDS:
            n = len(self.seeds)
            return f"n/a ({n} shared seed{'s' if n != 1 else ''}; a verdict needs {MIN_SEEDS})"
        if v == "not testable":
            return "not testable by this rule"
        return v

    def text(self, pct: bool = True) -> str:
        k = 100 if pct else 1
        ptxt = (
            "identical outputs"
            if not self.testable
            else (f"p={self._p():.3f}" + (" Holm" if self.p_adjusted is not None else ""))
        )
        if self.testable and math.isnan(self.low):
            return (
                f"{k * self.diff:+.1f} (no interval: a seed level needs 2 shared seeds): "
                f"{self.verdict_text(pct)}"
            )
        return (
            f"{k * self.diff:+.1f} [{k * self.low:+.1f}, {k * self.high:+.1f}] {ptxt}: "
            f"{self.verdict_text(pct)}"
        )


@dataclass
class Interval:
    """The interval of a mean score over seeds and samples, and where a reference number lies
    against it."""

    metric: str
    datasets: List[str]
    seeds: List[int]
    mean: float
    low: float
    high: float
    level: float = 0.95
    se: float = float("nan")
    df: float = float("nan")

    def against(self, reference: float) -> str:
        """``above`` / ``below`` the reference where the interval excludes it, else ``not shown
        either way``; ``n/a`` with fewer than ``MIN_SEEDS`` seeds."""
        if len(self.seeds) < MIN_SEEDS or math.isnan(self.mean) or math.isnan(reference):
            return "n/a"
        return (
            "above"
            if self.low > reference
            else "below"
            if self.high < reference
            else "not shown either way"
        )


def holm(comparisons: Sequence[Comparison]) -> List[Comparison]:
    """Set ``p_adjusted`` (and ``p_equivalent_adjusted`` where a margin is stated) on each
    comparison by Holm's step-down method (family-wise error at 1 - level); the comparisons are
    returned in their order. NaN p-values and comparisons that are not testable stay out of the
    family."""
    family = [c for c in comparisons if c.testable]
    _holm_adjust(family, "p", "p_adjusted")
    _holm_adjust(
        [c for c in family if c.margin is not None], "p_equivalent", "p_equivalent_adjusted"
    )
    return list(comparisons)


def _holm_adjust(comparisons: Sequence[Comparison], raw: str, adjusted: str) -> None:
    ranked = sorted(
        (c for c in comparisons if not math.isnan(getattr(c, raw))), key=lambda c: getattr(c, raw)
    )
    m, running = len(ranked), 0.0
    for i, c in enumerate(ranked):
        running = max(running, min(1.0, (m - i) * getattr(c, raw)))
        setattr(c, adjusted, running)
    for c in comparisons:
        if math.isnan(getattr(c, raw)):
            setattr(c, adjusted, float("nan"))
