"""Aggregate run directories into the 18-dataset table: Markdown, CSV, LaTeX and a per-dataset dot plot.

A run is labelled by its ``suite.json`` (written by ``mosaic_kit suite``) or else by its method. Per label,
each dataset cell is the mean ± sample std over the runs (seeds); the ``all / 2D / 3D`` rows average over
datasets within each run first, then over runs. Reference columns hold published numbers shipped in
``mosaic_kit/reference`` (MedMNIST v2's ResNet-18; the MOSAIC paper's reported means).
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean, stdev
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .registry import ALL_DATASETS, GROUPS, get_info, in_group
from .data.provenance import REAL
from .results import load_results

__all__ = ["RunRecord", "ResultTable", "find_runs", "load_records", "aggregate", "reference_resnet18",
           "reference_paper_means", "write_report", "plot_scores"]

REFERENCE_DIR = Path(__file__).parent / "reference"
METRICS = ("acc", "auc")


@dataclass
class RunRecord:
    label: str
    seed: int
    run_dir: Path
    results: dict


@dataclass
class ResultTable:
    labels: List[str]
    datasets: List[str]
    cells: Dict[Tuple[str, str], Dict[str, List[float]]]  # (label, dataset) -> metric -> values over runs
    means: Dict[Tuple[str, str], Dict[str, List[float]]]  # (label, group) -> metric -> values over runs
    runs: Dict[str, int] = field(default_factory=dict)     # label -> number of runs
    params: Dict[str, List[int]] = field(default_factory=dict)  # label -> trainable parameters per run
    wall: Dict[str, List[float]] = field(default_factory=dict)  # label -> wall time (s) per run
    references_absent: str = ""  # why published numbers must not stand beside these runs ("" when they may)


def _read_csv(path: Path) -> List[dict]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines))


def reference_resnet18() -> Dict[str, Dict[str, float]]:
    """MedMNIST v2's ResNet-18 test ACC/AUC: the 28-px 2D model, and ResNet-18+3D for the 3D sets."""
    rows = _read_csv(REFERENCE_DIR / "medmnist_v2_baselines.csv")
    out = {}
    for r in rows:
        want = "resnet18_3d" if get_info(r["dataset"]).is_3d else "resnet18_28"
        if r["method"] == want:
            out[r["dataset"]] = {"acc": float(r["acc"]), "auc": float(r["auc"])}
    return out


def reference_paper_means(method: str = "mosaic") -> Dict[str, Dict[str, float]]:
    """The MOSAIC paper's reported means (as fractions) for ``method``, by group all / 2d / 3d."""
    scope = {"all18": "all", "2d12": "2d", "3d6": "3d"}
    return {scope[r["scope"]]: {"acc": float(r["acc"]) / 100, "auc": float(r["auc"]) / 100}
            for r in _read_csv(REFERENCE_DIR / "mosaic_paper_reported.csv")
            if r["method"] == method and r["training"] == "joint"}


def find_runs(paths: Iterable[str | Path]) -> List[Path]:
    """Run directories (holding ``results.json``) among ``paths``, searching folders recursively; the given
    order is kept (a suite passes its plan's order, which becomes the table's column order)."""
    found: List[Path] = []
    for p in map(Path, paths):
        if (p / "results.json").is_file():
            found.append(p)
        elif p.is_dir():
            found += sorted(q.parent for q in p.rglob("results.json"))
        else:
            raise FileNotFoundError(f"{p} is neither a run directory (with results.json) nor a folder of runs.")
    return list(dict.fromkeys(found))


def load_records(run_dirs: Iterable[str | Path]) -> List[RunRecord]:
    out = []
    for d in map(Path, run_dirs):
        res = load_results(d)
        meta = json.loads((d / "suite.json").read_text()) if (d / "suite.json").is_file() else {}
        cfg = res.get("config", {})
        out.append(RunRecord(meta.get("label", cfg.get("method", "?")), int(cfg.get("seed", -1)), d, res))
    return out


def aggregate(records: Sequence[RunRecord], which: str = "student", split: str = "test") -> ResultTable:
    """Collect per-dataset and per-group scores of ``which`` (student or teacher) over runs, by label."""
    if not records:
        raise ValueError("No runs to aggregate: give run directories that hold results.json.")
    labels = list(dict.fromkeys(r.label for r in records))
    seen = {n for r in records for n in r.results["datasets"]}
    datasets = [n for n in ALL_DATASETS if n in seen]
    cells: Dict[Tuple[str, str], Dict[str, List[float]]] = {}
    means: Dict[Tuple[str, str], Dict[str, List[float]]] = {}
    runs: Dict[str, int] = {}
    params: Dict[str, List[int]] = {}
    wall: Dict[str, List[float]] = {}
    for r in records:
        res = r.results if which == "student" else r.results["teacher"]
        runs[r.label] = runs.get(r.label, 0) + 1
        params.setdefault(r.label, []).append(int(r.results.get("params", {}).get("trainable", 0)))
        if r.results.get("wall_time_s") is not None:
            wall.setdefault(r.label, []).append(float(r.results["wall_time_s"]))
        for name, scores in res["datasets"].items():
            for m in METRICS:
                cells.setdefault((r.label, name), {}).setdefault(m, []).append(scores[split][m])
        for group in GROUPS:
            names = [n for n in res["datasets"] if in_group(n, group)]
            if names:
                for m in METRICS:
                    means.setdefault((r.label, group), {}).setdefault(m, []).append(
                        mean(res["datasets"][n][split][m] for n in names))
    return ResultTable(labels, datasets, cells, means, runs, params, wall, references_absent(records))


def references_absent(records: Sequence[RunRecord]) -> str:
    """Why published numbers on the real datasets must not stand beside these runs; "" when every run used
    official or same-split files and a pretrained backbone (``provenance`` in results.json)."""
    reasons = []
    for r in records:
        prov, cfg = r.results.get("provenance"), r.results.get("config", {})
        if prov is None:  # results of mosaic_kit 0.1 recorded no provenance
            kinds = {"synthetic"} if cfg.get("data_root") == "synthetic" else {"unrecorded"}
            pretrained = bool(cfg.get("weights"))
        else:
            kinds, pretrained = set(prov["datasets"].values()), prov["backbone"]["pretrained"]
        reasons += [f"{k} data" for k in sorted(kinds - set(REAL))]
        reasons += [] if pretrained else ["a random (not pretrained) backbone"]
    if not reasons:
        return ""
    return ("Published numbers on the real datasets are left out: these runs used " +
            ", ".join(dict.fromkeys(reasons)) + ".")


def _fmt(values: Optional[Sequence[float]], pct: bool = True, latex: bool = False) -> str:
    if not values:
        return "–" if not latex else "--"
    k = 100 if pct else 1
    m = mean(values) * k
    if len(values) < 2:
        return f"{m:.1f}"
    pm = r"$\pm$" if latex else "±"
    return f"{m:.1f} {pm} {stdev(values) * k:.1f}"


def _rows(table: ResultTable, latex: bool = False) -> Tuple[List[str], List[List[str]]]:
    with_refs = not table.references_absent
    ref = reference_resnet18() if with_refs else {}
    header = ["dataset"] + [f"{lab} {m.upper()}" for lab in table.labels for m in METRICS] + \
             (["ResNet-18 ACC", "ResNet-18 AUC"] if with_refs else [])
    rows = []
    for n in table.datasets:
        cells = [_fmt(table.cells.get((lab, n), {}).get(m), latex=latex) for lab in table.labels for m in METRICS]
        refs = [_fmt([ref[n][m]], latex=latex) if n in ref else "–" for m in METRICS] if with_refs else []
        rows.append([n] + cells + refs)
    for g in GROUPS:
        names = [n for n in table.datasets if in_group(n, g)]
        if not names:
            continue
        cells = [_fmt(table.means.get((lab, g), {}).get(m), latex=latex) for lab in table.labels for m in METRICS]
        refs = [_fmt([mean(ref[n][m] for n in names)], latex=latex) if all(n in ref for n in names) else "–"
                for m in METRICS] if with_refs else []
        rows.append([f"mean {g.upper() if g != 'all' else 'all'} ({len(names)})"] + cells + refs)
    pad = ["", ""] if with_refs else []
    rows.append(["trainable parameters"] + [f"{mean(table.params[lab]):,.0f}" if i == 0 else ""
                                            for lab in table.labels for i, _ in enumerate(METRICS)] + pad)
    if any(table.wall.get(lab) for lab in table.labels):
        rows.append(["wall time per run (min)"] + [f"{mean(table.wall[lab]) / 60:.1f}" if i == 0 and table.wall.get(lab)
                                                   else "" for lab in table.labels for i, _ in enumerate(METRICS)]
                    + pad)
    return header, rows


def to_markdown(table: ResultTable) -> str:
    header, rows = _rows(table)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def to_csv(table: ResultTable) -> str:
    """Long format, one row per (label, dataset or group, metric): mean, std, n."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["label", "row", "metric", "mean", "std", "n"])
    for (lab, row), scores in list(table.cells.items()) + [((lab, f"mean_{g}"), v) for (lab, g), v in table.means.items()]:
        for m, values in scores.items():
            s = stdev(values) if len(values) > 1 else ""
            w.writerow([lab, row, m, f"{mean(values):.6f}", f"{s:.6f}" if s != "" else "", len(values)])
    return buf.getvalue()


def to_latex(table: ResultTable, caption: str = "") -> str:
    header, rows = _rows(table, latex=True)
    esc = lambda s: s.replace("_", r"\_").replace("±", r"$\pm$")  # noqa: E731
    lines = [r"\begin{table}[t]", r"\centering", r"\small", r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}",
             r"\toprule", " & ".join(esc(h) for h in header) + r" \\", r"\midrule"]
    for r in rows:
        if r[0].startswith(("mean all", "trainable parameters")):
            lines.append(r"\midrule")
        lines.append(" & ".join(esc(c) for c in r) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(r"\caption{" + esc(caption) + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def plot_scores(table: ResultTable, path: str | Path, metric: str = "acc") -> Path:
    """Dot plot per dataset: each label's mean (± std over runs) beside the ResNet-18 reference."""
    import matplotlib.pyplot as plt

    ref = {} if table.references_absent else reference_resnet18()
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(table.datasets) + 2), 4))
    xs = list(range(len(table.datasets)))
    width = 0.6 / max(1, len(table.labels))
    for k, lab in enumerate(table.labels):
        pts = [(x + (k - (len(table.labels) - 1) / 2) * width, table.cells.get((lab, n), {}).get(metric))
               for x, n in zip(xs, table.datasets)]
        pts = [(x, v) for x, v in pts if v]
        ax.errorbar([x for x, _ in pts], [mean(v) for _, v in pts],
                    yerr=[stdev(v) if len(v) > 1 else 0 for _, v in pts], fmt="o", capsize=3,
                    label=f"{lab} (n={table.runs.get(lab, 0)})")
    if ref:
        ax.scatter([x for x, n in zip(xs, table.datasets) if n in ref],
                   [ref[n][metric] for n in table.datasets if n in ref], marker="_", s=300, color="k",
                   label="ResNet-18 (MedMNIST v2)")
    ax.set_xticks(xs, table.datasets, rotation=45, ha="right", fontsize=8)
    ax.set(ylabel=f"test {metric.upper()}", ylim=(0, 1.02), title=f"Test {metric.upper()} per dataset")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(run_dirs: Iterable[str | Path], out_dir: str | Path, title: str = "Results",
                 which: str = "student") -> Dict[str, Path]:
    """Write ``results.md``, ``results.csv``, ``results.tex``, ``acc.png`` and ``auc.png`` into ``out_dir``."""
    from .atomic import atomic_write_bytes

    runs = find_runs(run_dirs)
    table = aggregate(load_records(runs), which)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_runs = ", ".join(f"{lab}: {n} run{'s' if n > 1 else ''}" for lab, n in table.runs.items())
    if table.references_absent:
        refs = table.references_absent
    else:
        paper = reference_paper_means()
        refs = ("ResNet-18: MedMNIST v2 (Yang et al., Sci. Data 2023), 28 px for 2D, ResNet-18+3D for 3D. For scale, "
                "the MOSAIC paper reports these means for MOSAIC with ViT-B/16 over all 18 datasets (3 seeds): " +
                ", ".join(f"{g.upper() if g != 'all' else 'all'} {100 * v['acc']:.1f} / {100 * v['auc']:.1f}"
                          for g, v in paper.items()) + " (ACC / AUC).")

    def shown(path: Path) -> str:  # relative to the report, so the links work from results.md
        return os.path.relpath(path.resolve(), out.resolve())

    md = (f"# {title}\n\nTest ACC / AUC in percent ({which}); mean ± sample std over runs ({n_runs}). Read from each "
          "run's `results.json`: the training's own evaluation of its best-validation checkpoint (later `eval` "
          f"calls write `evaluation-*.json` beside it and are not read). {refs}\n\n"
          + to_markdown(table) + "\nRuns:\n\n" + "\n".join(f"- `{shown(r)}`" for r in runs) + "\n")
    paths = {"md": out / "results.md", "csv": out / "results.csv", "tex": out / "results.tex"}
    atomic_write_bytes(paths["md"], md.encode())
    atomic_write_bytes(paths["csv"], to_csv(table).encode())
    atomic_write_bytes(paths["tex"], to_latex(table, title).encode())
    paths["acc_png"] = plot_scores(table, out / "acc.png", "acc")
    paths["auc_png"] = plot_scores(table, out / "auc.png", "auc")
    return paths
