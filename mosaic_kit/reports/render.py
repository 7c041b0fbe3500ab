"""The table as Markdown, CSV and LaTeX, a per-dataset dot plot, and ``write_report`` that writes
them all.

A cell reads ``mean ± sample std over seeds [95% interval of the mean over seeds and test
samples] n=runs`` (the interval where the runs hold per-sample outputs:
``compare.attach_intervals``); ``undefined`` where no run could score it (an AUC on a split with
one class), ``†`` where a mean skipped such datasets, ``*`` when a run's evaluation was truncated
(``eval_max_samples``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from ..data.registry import in_group
from ..evaluation.results import execution_line
from .compare import lever_rows
from .contrasts import contrast_rows, contrasts_md, plot_contrasts
from .formats import provenance_md, to_csv, to_latex, to_markdown
from .intervals import attach_intervals
from .levers import levers_md, plot_levers
from .references import reference_paper_means, reference_resnet18
from .scaling import is_sweep, scaling_md, scaling_points
from .scaling_figures import plot_scaling, plot_wall_time, plot_wall_time_per_dataset
from .score_figure import plot_scores
from .sections import input_resolution, references_md, teacher_md
from .selection import BASELINE, Candidate, select_on_validation, validation_md
from .table import aggregate, find_runs, load_records, split_configurations

__all__ = ["to_markdown", "to_csv", "to_latex", "write_report"]


def _selection_md(candidates: List[Candidate]) -> str:
    if not candidates:
        return ""
    lines = [
        "## Selection on validation",
        "",
        "Each method's column above is its grid point with the best mean validation ACC (over "
        "datasets within a run, then over runs); the test numbers of the other points are not "
        "shown and played no part.",
        "",
        "| method | grid point | mean val ACC | runs | |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {c.label} | {', '.join(f'{k}={v}' for k, v in c.point.items())} | "
        f"{'–' if math.isnan(c.val) else f'{100 * c.val:.1f}'} | {c.runs} | "
        f"{'selected' if c.selected else 'not selected'} |"
        for c in candidates
    ]
    return "\n".join(lines) + "\n\n"


def write_report(
    run_dirs: Iterable[str | Path],
    out_dir: str | Path,
    title: str = "Results",
    which: str = "student",
    baseline: str = BASELINE,
    contrasts: Sequence[Mapping[str, str]] = (),
    labels: Optional[Sequence[str]] = None,
    smallest_effect: Optional[Mapping[str, float]] = None,
) -> Dict[str, Path]:
    """Write ``results.md``, ``results.csv``, ``results.tex``, ``acc.png`` and ``auc.png`` into
    ``out_dir``; where a method family ran at several sizes, also the
    accuracy-vs-trainable-parameters section and ``scaling.png``; with wall times recorded for
    several labels, ``wall_time.png`` (accuracy against wall time per run) and, for up to six
    datasets, ``auc_wall_time.png`` (per dataset, with ResNet-18 as a line on real data). Where a
    label is ``baseline``, every other label is judged against it on validation. ``contrasts``
    (``[{a, b, question}]``): A − B on test per dataset, specialist and mean (``contrasts.py``),
    with ``contrasts.png``. ``labels``: one name per entry of ``run_dirs`` for every run found
    under it, in place of the suite's label or the method. ``smallest_effect``: ``{metric:
    points}``, the margin within which a lever or contrast can be "equivalent"."""
    from ..utils.atomic import atomic_write_bytes, make_folder

    run_dirs = list(run_dirs)
    runs = find_runs(run_dirs)
    records = load_records(runs, split=False)
    if labels:
        if len(labels) != len(run_dirs):
            raise ValueError(
                f"{len(labels)} label(s) for {len(run_dirs)} run folder(s): give one --label per "
                "folder, in the same order."
            )
        named = {run: lab for path, lab in zip(run_dirs, labels) for run in find_runs([path])}
        for r in records:
            r.label = named[r.run_dir]
    kept, candidates = select_on_validation(records)
    records = split_configurations(kept)
    table = aggregate(records, which)
    paired = attach_intervals(table, records, which)
    margins = {m: float(v) / 100 for m, v in (smallest_effect or {}).items()} or None
    judged = (
        lever_rows(records, baseline, margins=margins)
        if paired and len(table.labels) > 1 and any(r.label == baseline for r in records)
        else None
    )
    contrasted = (
        contrast_rows(records, contrasts, margins=margins) if paired and contrasts else None
    )
    points = scaling_points(table, kept)
    # some family at several sizes: draw accuracy against trainable parameters
    sweep = is_sweep(points)
    out = Path(out_dir)
    make_folder(out)
    n_runs = ", ".join(f"{lab}: {n} run{'s' if n > 1 else ''}" for lab, n in table.runs.items())
    if table.references_absent:
        refs = table.references_absent
    else:
        paper = reference_paper_means()
        full = {
            g: sum(1 for n in table.datasets if in_group(n, g)) == n
            for g, n in (("all", 18), ("2d", 12), ("3d", 6))
        }
        refs = (
            "ResNet-18: MedMNIST v2 (Yang et al., Sci. Data 2023), trained from scratch at 28 "
            "px and at 224 px on the 2D datasets; for the 3D datasets the 28 px columns hold "
            "ResNet-18+3D (28^3). The MOSAIC paper reports these means for MOSAIC with "
            "ViT-B/16 (3 seeds), comparable only with a mean over the same "
            "datasets: "
            + ", ".join(
                f"{g.upper() if g != 'all' else 'all'} {100 * v['acc']:.1f} / "
                f"{100 * v['auc']:.1f}" + ("" if full[g] else " (not covered here)")
                for g, v in paper.items()
            )
            + " (ACC / AUC)."
        )
    notes = [
        "Cells: mean ± sample std over runs"
        + (
            ", [95% interval of the mean over seeds and test samples "
            "(t over seeds plus the samples' bootstrap "
            "variance)]"
            if paired
            else " (no interval: the runs hold no per-sample outputs)"
        )
        + ", n = runs with a defined value.",
        provenance_md(records),
    ]
    if any(table.wall.get(lab) for lab in table.labels):
        notes.append(
            provenance_md(
                records, execution_line, "Wall time: how it was measured is not recorded."
            )
        )
    if table.majority:
        notes.append(
            "Majority-class ACC: the most frequent training class (per label for "
            "ChestMNIST) predicted for every test sample, computed on the same files."
        )
    if any(table.partial.values()) or any(
        math.isnan(v) for c in table.cells.values() for vs in c.values() for v in vs
    ):
        notes.append(
            "undefined / †: an AUC on a split with one class has no value; a mean marked "
            "† covers only the datasets where it is defined."
        )
    if any(table.truncated.values()):
        notes.append(
            "*: evaluated on at most `eval_max_samples` samples per split, not the whole split."
        )

    def shown(path: Path) -> str:  # relative to the report, so the links work from results.md
        return os.path.relpath(path.resolve(), out.resolve())

    md = (
        f"# {title}\n\nTest ACC / AUC in percent ({which}); mean ± sample std over runs "
        f"({n_runs}). Inputs: {input_resolution(records)}. Read from each run's `results.json`: "
        "the training's own evaluation of its best-validation checkpoint (later `eval` calls "
        f"write `evaluation-*.json` beside it and are not read). {refs}\n\n"
        + to_markdown(table)
        + "\n"
        + "\n".join(notes)
        + "\n\n"
        + references_md(table, records)
        + _selection_md(candidates)
        + validation_md(records)
        + teacher_md(records)
        + levers_md(records, baseline, judged=judged)
        + contrasts_md(records, contrasts, found=contrasted, margins=margins)
        + (scaling_md(points, records) if sweep else "")
        + "Runs:\n\n"
        + "\n".join(f"- `{shown(r)}`" for r in runs)
        + "\n"
    )
    paths = {"md": out / "results.md", "csv": out / "results.csv", "tex": out / "results.tex"}
    atomic_write_bytes(paths["md"], md.encode())
    atomic_write_bytes(paths["csv"], to_csv(table).encode())
    atomic_write_bytes(paths["tex"], to_latex(table, title).encode())
    paths["acc_png"] = plot_scores(table, out / "acc.png", "acc", input_resolution(records))
    paths["auc_png"] = plot_scores(table, out / "auc.png", "auc", input_resolution(records))
    if judged:
        paths["levers_png"] = plot_levers(judged[0], out / "levers.png", baseline)
    if contrasted:
        paths["contrasts_png"] = plot_contrasts(contrasted, out / "contrasts.png")
    if sweep:
        paths["scaling_png"] = plot_scaling(points, out / "scaling.png")
    if sum(1 for p in points if p.wall) > 1:
        paths["wall_time_png"] = plot_wall_time(points, out / "wall_time.png")
        if len(table.datasets) <= 6:
            refs = (
                {}
                if table.references_absent
                else {
                    "ResNet-18 (28 px; 3D: +3D)": reference_resnet18(28),
                    "ResNet-18 (224 px)": reference_resnet18(224),
                }
            )
            paths["auc_wall_time_png"] = plot_wall_time_per_dataset(
                table, out / "auc_wall_time.png", "auc", refs, input_resolution(records)
            )
    return paths
