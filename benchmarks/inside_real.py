"""Looking inside the generalist runs on real data: notebooks 02 (attention) and 03 (subspaces) on
one MOSAIC run and one shared-adapter run of ``plans/generalist-real4.yaml``, their figures saved
into the report, and over every seed of both arms the angle between the datasets' adapter-output
subspaces (``viz.dataset_output_angles``): does one shared adapter write the datasets into
overlapping directions where MOSAIC's specialists keep them apart?

    # the runs, with their checkpoints
    python -m mosaic_kit suite --plan plans/generalist-real4.yaml
    python benchmarks/inside_real.py --runs runs/generalist-real4 \\
        --out reports/generalist-real4/inside

Needs the trained checkpoints (``best.safetensors``), which the report's run records do not keep.
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ARMS = ("mosaic", "shared-adapter")
K = 8  # principal directions per dataset
N_PER_DATASET = 96  # test samples per dataset (every dataset's test split has more)
NOTE = (
    "MOSAIC − shared adapter: paired over seeds, 95% t interval over the 5 seeds only (the test "
    "samples that define each subspace are not resampled), printed without a verdict word: it is "
    "exploratory. Part of the separation is built in: different specialists are separately "
    "initialised modules, and random 8-dimensional subspaces of the 192-d width are themselves 80° "
    "apart, so these numbers do not separate what training learned from what the architecture "
    "gives; that needs the same analysis at initialisation."
)


def short(name: str) -> str:
    return name.replace("mnist", "").capitalize().replace("3d", "3D")


def run_notebooks(run: Path, label: str, out: Path, checkpoint: str = "best") -> list:
    """Execute 02 and 03 on ``run`` at ``checkpoint`` (``initial``: before the first step); save
    every figure as ``{label}-{notebook}-{i}.png``; return the saved paths."""
    import nbformat
    import papermill

    from mosaic_kit.experiments.suite import ipc_kernel_manager

    saved = []
    # as titled
    run = run.resolve().relative_to(ROOT) if run.resolve().is_relative_to(ROOT) else run.resolve()
    params = {
        "02_attention.ipynb": {
            "run_dir": str(run),
            "checkpoint": checkpoint,
            "n_samples": 3,
            "ig_steps": 32,
            "forced_limit": 400,
        },
        "03_subspaces.ipynb": {
            "run_dir": str(run),
            "checkpoint": checkpoint,
            "n_per_dataset": 64,
            "cka_samples": 64,
        },
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, p in params.items():
            target = Path(tmp) / name
            papermill.execute_notebook(
                str(ROOT / "notebooks" / name),
                str(target),
                parameters=p,
                kernel_name="python3",
                progress_bar=False,
                cwd=str(ROOT),
                kernel_manager_class=ipc_kernel_manager(),
            )
            book = nbformat.read(target, as_version=4)
            texts = []
            for cell in book.cells:
                for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
                    if "image/png" in o.get("data", {}):
                        path = out / f"{label}-{name[:2]}-{len(saved) + 1:02d}.png"
                        path.write_bytes(base64.b64decode(o["data"]["image/png"]))
                        saved.append(path)
                    texts.append(o.get("text", "") or o.get("data", {}).get("text/markdown", ""))
            (out / f"{label}-{name[:2]}-outputs.txt").write_text(
                "\n".join(t for t in texts if t)
                .replace(f"{ROOT}/", "")
                .replace(f"{Path.cwd().resolve()}/", "")  # paths as given, from where it ran
            )
    return saved


def output_angles(run: Path) -> dict:
    """Mean over layers of the angle between every pair of datasets' adapter-output subspaces,
    for one run."""
    from mosaic_kit.viz import collect_features, dataset_output_angles
    from mosaic_kit.viz.workbench import Workbench

    wb = Workbench.from_run(run, "best")
    feats = collect_features(
        wb.model, {n: wb.data[n]["test"] for n in wb.datasets}, wb.norm, N_PER_DATASET
    )
    return {
        f"{a}|{b}": float(np.nanmean(v)) for (a, b), v in dataset_output_angles(feats, K).items()
    }


def main() -> None:
    from scipy import stats

    from mosaic_kit.data.registry import build_routing
    from mosaic_kit.viz import random_subspace_angles

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default="runs/generalist-real4")
    ap.add_argument("--out", default="reports/generalist-real4/inside")
    ap.add_argument("--selection", default="real4")
    ap.add_argument(
        "--seed", type=int, default=42, help="the seed whose runs the notebooks are shown on"
    )
    ap.add_argument(
        "--skip-notebooks",
        action="store_true",
        help="keep the notebook figures already in --out; "
        "recompute the angles over every seed only",
    )
    args = ap.parse_args()
    runs, out = Path(args.runs), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    figures = (
        {arm: sorted(out.glob(f"{arm}-0[23]-*.png")) for arm in ARMS}
        if args.skip_notebooks
        else {
            arm: run_notebooks(runs / arm / args.selection / f"seed{args.seed}", arm, out)
            for arm in ARMS
        }
    )
    angles = {arm: {} for arm in ARMS}
    for arm in ARMS:
        for d in sorted((runs / arm / args.selection).glob("seed*")):
            if (d / "results.json").exists():
                angles[arm][int(d.name[4:])] = output_angles(d)
    seeds = sorted(set(angles[ARMS[0]]) & set(angles[ARMS[1]]))
    pairs = list(angles[ARMS[0]][seeds[0]])
    names = list(dict.fromkeys(n for p in pairs for n in p.split("|")))
    routing = build_routing(names)
    rnd, rnd_sd = random_subspace_angles(192, K, K)
    rows, summary = [], {}
    for p in pairs:
        a, b = p.split("|")
        diffs = np.array([angles["mosaic"][s][p] - angles["shared-adapter"][s][p] for s in seeds])
        lo, hi = (
            stats.t.interval(0.95, len(diffs) - 1, loc=diffs.mean(), scale=stats.sem(diffs))
            if len(diffs) > 1
            else (float("nan"), float("nan"))
        )
        m = {arm: np.mean([angles[arm][s][p] for s in seeds]) for arm in ARMS}
        sd = {
            arm: np.std([angles[arm][s][p] for s in seeds], ddof=1) if len(seeds) > 1 else 0.0
            for arm in ARMS
        }
        same = routing[a] == routing[b]
        summary[p] = {
            "same_specialist": same,
            "mosaic": m["mosaic"],
            "shared": m["shared-adapter"],
            "mosaic_sd": sd["mosaic"],
            "shared_sd": sd["shared-adapter"],
            "diff": float(diffs.mean()),
            "low": float(lo),
            "high": float(hi),
        }
        rows.append(
            f"| {short(a)}–{short(b)} | {routing[a]}–{routing[b]} | {m['mosaic']:.1f} | "
            f"{m['shared-adapter']:.1f} | {diffs.mean():+.1f} [{lo:+.1f}, {hi:+.1f}] |"
        )
    plot(summary, rnd, out / "output_angles.png", len(seeds))
    (out / "inside.json").write_text(
        json.dumps(
            {
                "seeds": seeds,
                "k": K,
                "n_per_dataset": N_PER_DATASET,
                "random": [rnd, rnd_sd],
                "angles": angles,
                "summary": summary,
            },
            indent=1,
        )
    )
    md = [
        f"# Inside the generalist runs (real data, seed {args.seed} for the notebooks)",
        "",
        f"Regenerate: `python benchmarks/inside_real.py --runs {args.runs} --out {args.out}` "
        f"({(time.time() - t0) / 60:.1f} min on this machine).",
        "",
        "## Do the datasets' adapter outputs overlap?",
        "",
        f"Per run, the {K} leading principal directions of each dataset's adapter outputs (token "
        f"mean, {N_PER_DATASET} test samples per dataset, per layer), the mean principal angle "
        f"between two datasets' subspaces, averaged over the 12 layers; mean over seeds {seeds}. "
        f"{NOTE} Random {K}-dimensional subspaces of the 192-d width: {rnd:.1f} ± {rnd_sd:.1f} "
        "deg. Figure: `output_angles.png`. (The weight-space angles of notebook 03 say little "
        "here: specialist C's up-projection has 192 columns, the full width of DeiT-Tiny, so "
        "every subspace lies in its column space.)",
        "",
        "| datasets | specialists | MOSAIC (deg) | shared adapter (deg) | MOSAIC − shared |",
        "|---|---|---|---|---|",
    ]
    md += rows
    md += ["", "## Figures of notebooks 02 and 03", ""]
    for arm, paths in figures.items():
        md += [
            f"`{arm}` (seed {args.seed}): "
            + ", ".join(f"[{p.name}]({p.name})" for p in paths)
            + "; printed "
            f"outputs: `{arm}-02-outputs.txt`, `{arm}-03-outputs.txt`.",
            "",
        ]
    (out / "inside.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


def plot(summary: dict, rnd: float, path: Path, n_seeds: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = list(summary)
    x = np.arange(len(pairs))
    fig, ax = plt.subplots(figsize=(1.1 * len(pairs) + 2.5, 3.6))
    ax.bar(
        x - 0.2,
        [summary[p]["mosaic"] for p in pairs],
        0.4,
        yerr=[summary[p]["mosaic_sd"] for p in pairs],
        capsize=3,
        label="MOSAIC (hard routing)",
    )
    ax.bar(
        x + 0.2,
        [summary[p]["shared"] for p in pairs],
        0.4,
        yerr=[summary[p]["shared_sd"] for p in pairs],
        capsize=3,
        label="one shared adapter",
    )
    ax.axhline(rnd, color="k", ls="--", lw=0.8, label=f"random {K}-dim subspaces")
    ax.set_xticks(
        x,
        [
            " – ".join(short(n) for n in p.split("|"))
            + ("\n(same specialist)" if summary[p]["same_specialist"] else "")
            for p in pairs
        ],
        fontsize=7,
    )
    ax.set(
        ylabel="mean principal angle (deg)",
        ylim=(0, 100),
        title=f"Angle between datasets' adapter-output subspaces, mean ± std of {n_seeds} seeds "
        "(real test images)",
    )
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="upper center", ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
