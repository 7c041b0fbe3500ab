"""The keys a plan file may hold, and the orders its runs may take."""

from __future__ import annotations

__all__ = ["ORDERS"]


#: Keys every run of a plan gets from the plan itself: a grid over them would be ignored.
_PER_RUN_KEYS = ("seed", "datasets", "out")


_PLAN_KEYS = {
    "name",
    "preset",
    "overrides",
    "methods",
    "datasets",
    "seeds",
    "out",
    "report",
    "title",
    "grid",
    "slurm",
    "baseline",
    "order",
    "contrasts",
    "smallest_effect",
}


#: The orders a plan's runs may go in: label by label (each label's seeds together), or seed by seed
#: (every label at the first seed first: a suite stopped halfway still compares every label on the
#: seeds it finished).
ORDERS = ("labels", "seeds")
