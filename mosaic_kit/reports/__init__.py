"""Many runs -> tables, figures and verdict sections beside the published references.

``table`` groups runs into configurations and collects their scores, ``references`` holds the
published numbers, ``formats`` and ``render`` write Markdown, CSV, LaTeX and figures, ``compare``,
``contrasts`` and ``sections`` add the paired verdicts."""

from .formats import to_csv, to_latex, to_markdown
from .references import (
    reference_acs,
    reference_medmnist_plus,
    reference_paper_means,
    reference_resnet18,
)
from .render import write_report
from .score_figure import plot_scores
from .selection import Candidate, select_on_validation
from .table import (
    ResultTable,
    RunRecord,
    aggregate,
    find_runs,
    load_records,
    references_absent,
    split_configurations,
)

__all__ = [
    "RunRecord",
    "ResultTable",
    "find_runs",
    "load_records",
    "aggregate",
    "references_absent",
    "reference_resnet18",
    "reference_acs",
    "reference_medmnist_plus",
    "reference_paper_means",
    "to_markdown",
    "to_csv",
    "to_latex",
    "plot_scores",
    "write_report",
    "Candidate",
    "select_on_validation",
    "split_configurations",
]
