"""Power of the paired rule: Student's t quantiles on Welch-Satterthwaite degrees of freedom, the
minimal detectable effect at a standard error, and the seeds a stated effect needs given a
pilot's variances."""

from __future__ import annotations

import math
from typing import Optional

from scipy import stats as _st

__all__ = ["minimal_detectable", "seeds_needed", "POWER", "MIN_SEEDS"]

#: Fewest shared seeds for a verdict word; with fewer, ``n/a`` (the interval is still printed).
MIN_SEEDS = 5

#: Power at which the minimal detectable effect and ``seeds_needed`` are stated.
POWER = 0.8


def _t(q: float, df: float) -> float:
    """Student's t quantile, the normal one at infinite degrees of freedom."""
    return float(_st.norm.ppf(q)) if not math.isfinite(df) else float(_st.t.ppf(q, df))


def _t_sf(x: float, df: float) -> float:
    return float(_st.norm.sf(x)) if not math.isfinite(df) else float(_st.t.sf(x, df))


def _dof(v_seed: float, n: int, v_sample: float) -> float:
    """Welch-Satterthwaite degrees of freedom of ``v_seed / n + v_sample`` (the sample part taken
    as known)."""
    part = v_seed / n
    if n < 2 or not part > 0:
        return math.inf
    return (part + v_sample) ** 2 / (part**2 / (n - 1))


def minimal_detectable(se: float, df: float, level: float = 0.95, power: float = POWER) -> float:
    """The smallest true difference a two-sided test at ``level`` finds with probability
    ``power`` given the standard error ``se``: ``(t_(1 - alpha/2) + t_power) * se``."""
    return (_t((1 + level) / 2, df) + _t(power, df)) * se


def seeds_needed(
    effect: float,
    v_seed: float,
    v_sample: float,
    level: float = 0.95,
    power: float = POWER,
    most: int = 200,
) -> Optional[int]:
    """Fewest seeds (at least ``MIN_SEEDS``) at which the rule detects a true difference
    ``effect`` with probability ``power``, given a pilot's seed variance of the per-seed
    differences and the sample-level variance of their mean (which more seeds do not shrink:
    every seed is scored on the same samples). None where no number of seeds up to ``most``
    reaches it (the test set's own noise is too large for the effect)."""
    if not effect > 0:
        raise ValueError(
            f"The effect must be a positive difference (in metric units), not {effect!r}."
        )
    for n in range(MIN_SEEDS, most + 1):
        se = math.sqrt(v_seed / n + v_sample)
        if minimal_detectable(se, _dof(v_seed, n, v_sample), level, power) <= effect:
            return n
    return None
