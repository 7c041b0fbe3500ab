"""The report sections that hold verdicts, each from a paired comparison (``compare``):
references, teacher or student, levers against a baseline. Without per-sample outputs (runs
before mosaic_kit 0.3) a section says so and prints no verdict word."""

from __future__ import annotations

import math
from typing import List, Optional, Sequence

from ..data.registry import GROUPS, in_group
from ..stats import holm
from .compare import (
    N_BOOT,
    compare_records,
    has_all_outputs,
    selection_checkpoint,
)
from .references import reference_acs, reference_medmnist_plus, reference_resnet18
from .table import RunRecord

__all__ = [
    "references_md",
    "teacher_md",
    "input_resolution",
    "NO_OUTPUTS",
]

NO_OUTPUTS = (
    "These runs hold no per-sample outputs (`predictions.npz`, written since mosaic_kit "
    "0.3), so no paired interval can be computed and this section gives no verdict; "
    "re-run them to get one."
)


def _labels(records: Sequence[RunRecord]) -> List[str]:
    return list(dict.fromkeys(r.label for r in records))


def input_resolution(records: Sequence[RunRecord]) -> str:
    """What the runs showed the model: ``2D at 112 px, 3D at 32^3`` (per distinct setting)."""
    seen = []
    for r in records:
        cfg = r.results.get("config") or {}
        names = list(r.results.get("datasets") or {})
        parts = []
        if any(in_group(n, "2d") for n in names):
            parts.append(f"2D at {cfg.get('img_size', '?')} px")
        if any(in_group(n, "3d") for n in names):
            parts.append(f"3D at {cfg.get('vol_size', '?')}^3")
        seen.append(", ".join(parts))
    return "; ".join(dict.fromkeys(s for s in seen if s)) or "unrecorded"


def _cell(iv, ref: Optional[float]) -> str:
    if ref is None or math.isnan(ref):
        return "–"
    return f"{100 * (iv.mean - ref):+.1f}: {iv.against(ref)}"


def _covering(reference, datasets) -> dict:
    """A reference table, or nothing where it holds none of the report's datasets (no column)."""
    numbers = reference()
    return numbers if any(n in numbers for n in datasets) else {}


def references_md(table, records: Sequence[RunRecord]) -> str:
    """Per label, dataset and group mean: the interval of the mean test score (seed and sample
    noise: t over seeds plus the samples' bootstrap variance, ``table.intervals``) and where
    MedMNIST v2's ResNet-18 at 28 and at 224 px, the majority-class rate and (AUC of the 2D
    datasets it covers) MedMNIST+'s best 28-px entry lie against it. On
    synthetic data or a random backbone only the intervals."""
    refs = not table.references_absent
    r28, r224 = (reference_resnet18(28), reference_resnet18(224)) if refs else ({}, {})
    title = "## Intervals" + (" and the published references" if refs else "")
    if not table.intervals:
        return "\n".join([title, "", NO_OUTPUTS, "", ""])
    head = [
        title,
        "",
        f"The kit's inputs: {input_resolution(records)}. Each cell: the mean test score over "
        "seeds and its 95% interval over seeds and test samples (t over seeds plus the test "
        "samples' bootstrap variance; a verdict "
        "needs at least 5 seeds)"
        + (
            ", and the gap of the mean to each reference with its verdict: *above* / *below* where "
            "the interval excludes the reference, else *not shown either way*. ResNet-18: MedMNIST "
            "v2's, trained from scratch at 28 px and at 224 px (the 28-px images upsampled, as the "
            "kit resizes them too); 3D: ResNet-18+3D at 28^3 (no 224-px row exists)."
            if refs
            else "."
        ),
        "",
    ]
    acs = _covering(reference_acs, table.datasets) if refs else {}
    if acs:
        head[-2] += (
            " ResNet-18+ACS: MedMNIST v2's ResNet-18 with ACS convolutions at 28^3 (2D "
            "kernels split over the axial, coronal and sagittal planes), its best 3D "
            "ResNet."
        )
    plus = _covering(reference_medmnist_plus, table.datasets) if refs else {}
    if plus:
        head[-2] += (
            " MedMNIST+ best: the best test AUC at 28 x 28 px among the end-to-end trained CNNs "
            "and ViTs of the MedMNIST+ benchmark (Doerrich et al., 2024), per 2D dataset (no "
            "mean: each dataset's best is another model)."
        )
    cols = (
        "| label | row | metric | mean [95% interval] |"
        + (" − ResNet-18 (28 px) | − ResNet-18 (224 px) | − majority class |" if refs else "")
        + (" − ResNet-18+ACS (28^3) |" if acs else "")
        + (" − MedMNIST+ best (28 px) |" if plus else "")
        + " seeds |"
    )
    lines = head + [cols, "|" + "---|" * (cols.count("|") - 1)]
    for lab in table.labels:
        for row in list(table.datasets) + [f"mean_{g}" for g in GROUPS]:
            for m in ("acc", "auc"):
                iv = table.intervals.get((lab, row, m))
                if iv is None or (row.startswith("mean_") and len(iv.datasets) < 2):
                    continue
                ds = iv.datasets

                def ref(t):
                    return sum(t[n][m] for n in ds) / len(ds) if all(n in t for n in ds) else None

                maj = (
                    sum(table.majority[n] for n in ds) / len(ds)
                    if m == "acc" and all(n in table.majority for n in ds)
                    else None
                )
                cells = (
                    f" {_cell(iv, ref(r28))} | {_cell(iv, ref(r224))} | {_cell(iv, maj)} |"
                    if refs
                    else ""
                )
                cells += f" {_cell(iv, ref(acs))} |" if acs else ""
                best = plus.get(row, {}).get(m)  # per dataset only, AUC only
                cells += f" {_cell(iv, best)} |" if plus else ""
                lines.append(
                    f"| {lab} | {row.replace('_', ' ')} | {m.upper()} | {100 * iv.mean:.1f} "
                    f"[{100 * iv.low:.1f}, {100 * iv.high:.1f}] |{cells} {len(iv.seeds)} "
                    "|"
                )
    return "\n".join(lines) + "\n\n"


def teacher_md(records: Sequence[RunRecord], n_boot: int = N_BOOT) -> str:
    """The EMA teacher against the student on validation AUC (mean over datasets), paired, per
    label, Holm-corrected over the labels."""
    head = ["## Student or EMA teacher, on validation", ""]
    if not has_all_outputs(records):
        return "\n".join(head + [NO_OUTPUTS, "", ""])
    ckpt = selection_checkpoint(records)
    lines = head + [
        f"Teacher − student, mean validation AUC over the datasets ({_which(ckpt)}), "
        "in points, with its 95% interval over seeds and validation samples, p "
        "Holm-corrected over the labels; the teacher is "
        "reported only where it is *better*.",
        "",
        "| label | teacher − student val AUC | reported | seeds |",
        "|---|---|---|---|",
    ]
    found = {
        lab: compare_records(
            [r for r in records if r.label == lab],
            [r for r in records if r.label == lab],
            "auc",
            "val",
            ckpt,
            net_a="teacher",
            net_b="student",
            n_boot=n_boot,
        )
        for lab in _labels(records)
    }
    holm(list(found.values()))
    for lab, c in found.items():
        lines.append(
            f"| {lab} | {c.text()} | {'teacher' if c.verdict == 'better' else 'student'} | "
            f"{len(c.seeds)} |"
        )
    return "\n".join(lines) + "\n\n"


def _which(ckpt: str) -> str:
    return (
        "the last round of the fixed schedule: not a maximum over rounds"
        if ckpt == "last"
        else "the best round's: a maximum over rounds, optimistic; these runs lack the last "
        "round's outputs"
    )
