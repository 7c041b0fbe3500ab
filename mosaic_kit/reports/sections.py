"""The report sections that hold verdicts, each from a paired comparison (``compare``):
references, teacher or student, levers against a baseline. Without per-sample outputs (runs
before mosaic_kit 0.3) a section says so and prints no verdict word."""
from __future__ import annotations

import math
from pathlib import Path
from statistics import median
from typing import List, Optional, Sequence

from ..data.registry import GROUPS, in_group
from ..stats import MIN_SEEDS, holm
from .compare import N_BOOT, compare_records, has_all_outputs, lever_rows, selection_checkpoint, short
from .references import reference_acs, reference_resnet18
from .table import RunRecord

__all__ = ["references_md", "teacher_md", "levers_md", "plot_levers", "input_resolution", "NO_OUTPUTS"]

NO_OUTPUTS = ("These runs hold no per-sample outputs (`predictions.npz`, written since mosaic_kit "
              "0.3), so no paired interval can be computed and this section gives no verdict; "
              "re-run them to get one.")


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


def references_md(table, records: Sequence[RunRecord]) -> str:
    """Per label, dataset and group mean: the interval of the mean test score (seed and sample
    noise: t over seeds plus the samples' bootstrap variance, ``table.intervals``) and where
    MedMNIST v2's ResNet-18 at 28 and at 224 px and the majority-class rate lie against it. On
    synthetic data or a random backbone only the intervals."""
    refs = not table.references_absent
    r28, r224 = (reference_resnet18(28), reference_resnet18(224)) if refs else ({}, {})
    title = "## Intervals" + (" and the published references" if refs else "")
    if not table.intervals:
        return "\n".join([title, "", NO_OUTPUTS, "", ""])
    head = [title, "",
            f"The kit's inputs: {input_resolution(records)}. Each cell: the mean test score over "
            "seeds and its 95% interval over seeds and test samples (t over seeds plus the test "
            "samples' bootstrap variance; a verdict "
            "needs at least 5 seeds)" + (", and the gap of the mean to each reference with its verdict: *above* / "
                                         "*below* where the interval excludes the reference, else "
                                         "*not shown either way*. ResNet-18: MedMNIST v2's, "
                                         "trained "
                          "from scratch at 28 px and at 224 px (the 28-px images upsampled, as the "
                          "kit resizes them "
                          "too); 3D: ResNet-18+3D at 28^3 (no 224-px row exists)." if refs else "."), ""]
    acs = reference_acs() if refs else {}
    acs = acs if any(n in acs for n in table.datasets) else {}
    if acs:
        head[-2] += (" ResNet-18+ACS: MedMNIST v2's ResNet-18 with ACS convolutions at 28^3 (2D "
                     "kernels split over the axial, coronal and sagittal planes), its best 3D "
                     "ResNet.")
    cols = "| label | row | metric | mean [95% interval] |" + (" − ResNet-18 (28 px) | − ResNet-18 (224 px) | "
                                                                "− majority class |" if refs else "") + \
        (" − ResNet-18+ACS (28^3) |" if acs else "") + " seeds |"
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

                maj = (sum(table.majority[n] for n in ds) / len(ds)
                       if m == "acc" and all(n in table.majority for n in ds) else None)
                cells = f" {_cell(iv, ref(r28))} | {_cell(iv, ref(r224))} | {_cell(iv, maj)} |" if refs else ""
                cells += f" {_cell(iv, ref(acs))} |" if acs else ""
                lines.append(f"| {lab} | {row.replace('_', ' ')} | {m.upper()} | {100 * iv.mean:.1f} "
                             f"[{100 * iv.low:.1f}, {100 * iv.high:.1f}] |{cells} {len(iv.seeds)} "
                             "|")
    return "\n".join(lines) + "\n\n"


def teacher_md(records: Sequence[RunRecord], n_boot: int = N_BOOT) -> str:
    """The EMA teacher against the student on validation AUC (mean over datasets), paired, per
    label, Holm-corrected over the labels."""
    head = ["## Student or EMA teacher, on validation", ""]
    if not has_all_outputs(records):
        return "\n".join(head + [NO_OUTPUTS, "", ""])
    ckpt = selection_checkpoint(records)
    lines = head + [f"Teacher − student, mean validation AUC over the datasets ({_which(ckpt)}), "
                    "in points, with its 95% interval over seeds and validation samples, p "
                    "Holm-corrected over the labels; the teacher is "
                    "reported only where it is *better*.", "",
                    "| label | teacher − student val AUC | reported | seeds |",
                    "|---|---|---|---|"]
    found = {lab: compare_records([r for r in records if r.label == lab], [r for r in records if r.label == lab],
                                  "auc", "val", ckpt, net_a="teacher", net_b="student", n_boot=n_boot)
             for lab in _labels(records)}
    holm(list(found.values()))
    for lab, c in found.items():
        lines.append(f"| {lab} | {c.text()} | {'teacher' if c.verdict == 'better' else 'student'} | "
                     f"{len(c.seeds)} |")
    return "\n".join(lines) + "\n\n"


def _which(ckpt: str) -> str:
    return ("the last round of the fixed schedule: not a maximum over rounds" if ckpt == "last" else
            "the best round's: a maximum over rounds, optimistic; these runs lack the last round's "
            "outputs")


def levers_md(records: Sequence[RunRecord], baseline: str, n_boot: int = N_BOOT, judged=None, margins=None) -> str:
    """Each label against ``baseline``, decided on validation only (``compare.lever_rows``, or
    its result given as ``judged``); empty when no label is ``baseline``."""
    base = [r for r in records if r.label == baseline]
    if not base or len(_labels(records)) < 2:
        return ""
    head = ["## Levers against the baseline, on validation", ""]
    if not has_all_outputs(records):
        return "\n".join(head + [NO_OUTPUTS, "", ""])
    rows, ckpt = judged or lever_rows(records, baseline, n_boot, margins)
    stated = {m: c.margin for row in rows for m, c in row.mean.items() if c.margin is not None}
    lines = head + [
        f"Lever − `{baseline}`, mean validation score over the datasets whose validation outputs "
        f"the lever changed ({_which(ckpt)}), in points: the paired difference over the seeds both "
        "ran and the same validation samples, its 95% interval (t over seeds plus the samples' "
        "bootstrap variance) and p-value Holm-corrected over the "
        f"{sum(c.testable for row in rows for c in row.mean.values())} testable comparisons of "
        f"this table; a verdict needs {MIN_SEEDS} shared seeds. *keep*: one metric better, none "
        "worse; *drop*: the reverse; "
        + ("*no effect within ±m*: both metrics equivalent within the plan's smallest effect of "
           "interest ("
           + ", ".join(f"±{100 * v:g} {m.upper()}" for m, v in stated.items()) + "); " if stated else
           "no smallest effect of interest is stated (`smallest_effect` in the plan), so no lever "
           "can be called without effect; ")
        + "*not shown either way*: neither, with the change the comparison could have detected "
          "(80% power); *not "
        "testable*: the lever left every validation output identical (e.g. it changes only which "
        "round is reported). Per dataset: the change of validation AUC with its interval "
        "(exploratory: no verdict). Test AUC: the change of the mean test AUC of the reported "
        "checkpoint on the same datasets, shown for reading only; it plays no part in the verdict. "
        "Wall time: median per run over the baseline's. Figure: "
        "`levers.png`.", "",
        "| lever | judged on | val ACC change | val AUC change | val AUC change per dataset | test "
        "AUC change (not "
        "used) | wall time | seeds | verdict |", "|---|---|---|---|---|---|---|---|---|"]

    def wall(rs: Sequence[RunRecord]) -> float:
        v = [float(r.results["wall_time_s"]) for r in rs if r.results.get("wall_time_s")]
        return median(v) if v else float("nan")

    for row in rows:
        rs = [r for r in records if r.label == row.label]
        ratio = wall(rs) / wall(base)
        per = ", ".join(f"{short(n)} {100 * c.diff:+.1f} [{100 * c.low:+.1f}, {100 * c.high:+.1f}]"
                        for n, c in row.per_dataset.items())
        test = row.test_auc
        on = ", ".join(short(n) for n in row.judged_on) or "–"
        lines.append(f"| {row.label} | {on} | {row.mean['acc'].text()} | {row.mean['auc'].text()} | {per} | "
                     f"{100 * test.diff:+.1f} [{100 * test.low:+.1f}, {100 * test.high:+.1f}] | "
                     f"{'–' if math.isnan(ratio) else f'{ratio:.2f}x'} | "
                     f"{len(row.mean['auc'].seeds)} | {row.verdict} |")
    return "\n".join(lines) + "\n\n"


def plot_levers(rows, path, baseline: str) -> Path:
    """Forest plot: each lever's change of mean validation ACC and AUC against ``baseline`` with
    its 95% interval, coloured by the verdict (Holm-corrected)."""
    import matplotlib.pyplot as plt

    colour = {"better": "tab:green", "worse": "tab:red", "equivalent": "tab:blue"}
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(rows) + 1.6), sharey=True)
    for ax, m in zip(axes, ("acc", "auc")):
        for i, row in enumerate(rows):
            c = row.mean[m]
            ax.errorbar(100 * c.diff, i, xerr=[[100 * (c.diff - c.low)], [100 * (c.high - c.diff)]], fmt="o",
                        capsize=3, color=colour.get(c.verdict, "tab:gray"))
        ax.axvline(0, color="k", lw=0.8)
        ax.set(xlabel=f"validation {m.upper()} change vs {baseline} (points)", title=m.upper())
    axes[0].set_yticks(range(len(rows)), [r.label for r in rows], fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle("Levers, paired over seeds and validation samples (green/red: better/worse after "
                 "Holm; blue: equivalent; grey: not shown either way)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
