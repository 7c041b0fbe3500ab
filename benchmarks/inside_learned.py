"""Learned against built-in separation on a plan's runs (``mosaic_kit.viz.learned``): for every arm
and seed, the datasets' CLS-feature and adapter-hidden subspace angles and the attention-rollout
maps on the trained model and on the same model at initialisation (rebuilt from the run's seed), so
a report can tell what training learned from what the architecture gives before any step.

    python benchmarks/inside_learned.py --runs runs/negative-transfer-real4 \\
        --arms mosaic shared-total shared-active --out reports/negative-transfer-real4/inside \\
        --notebooks-seed 42

Needs the trained checkpoints (``best.safetensors``), which a report's run records do not keep:
run it as the runs finish. A run already in ``OUT/learned.json`` with the same ``results.json``
(sha256) is kept, also after its checkpoint is gone; so are notebook figures already made.
Writes ``learned.json`` (every number, per run, with its ``results.json``'s sha256),
``learned.md`` (means over seeds with their standard deviations; exploratory, no verdict words;
the notebook figures) and ``learned.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
K, N_PER_DATASET, N_ATTENTION = 8, 96, 16


def short(name: str) -> str:
    return name.replace("mnist", "").capitalize().replace("3d", "3D")


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def measure(runs: Path, arms, selection: str, known: dict) -> dict:
    """Every finished run's measurements; a run already in ``known`` (an earlier
    ``learned.json``) with the same ``results.json`` is kept as it is, also once its
    checkpoint is gone, so the measurements can be taken run by run as a plan proceeds."""
    from mosaic_kit.viz.learned import learned_vs_initial

    found: dict = {}
    for arm in arms:
        for d in sorted((runs / arm / selection).glob("seed*")):
            if (d / "best.safetensors").is_file() and (d / "results.json").is_file():
                sha = _sha256(d / "results.json")
                old = known.get(arm, {}).get(d.name)
                if old and old.get("results_sha256") == sha:
                    found.setdefault(arm, {})[d.name] = old
                    continue
                t0 = time.time()
                result = learned_vs_initial(d, "best", N_PER_DATASET, K, N_ATTENTION)
                found.setdefault(arm, {})[d.name] = {**result, "results_sha256": sha}
                print(f"{arm}/{d.name}: {time.time() - t0:.0f} s", flush=True)
    for arm in arms:  # measured earlier, checkpoint no longer here (and the run not replaced)
        for seed, result in known.get(arm, {}).items():
            now = runs / arm / selection / seed / "results.json"
            if seed in found.get(arm, {}):
                continue
            if not now.is_file() or _sha256(now) == result.get("results_sha256"):
                found.setdefault(arm, {})[seed] = result
    if not found:
        raise SystemExit(
            f"no finished run with a best.safetensors under {runs}/{{arm}}/{selection}"
        )
    return found


def summarise(found: dict) -> dict:
    """Mean and standard deviation over seeds of each number, per arm."""
    out: dict = {}
    for arm, seeds in found.items():
        rows: dict = {}
        for result in seeds.values():
            for state in ("initial", "trained"):
                for kind, pairs in result[state].items():
                    for pair, v in pairs.items():
                        rows.setdefault((kind, pair, state), []).append(v)
            for name, v in result["attention"].items():
                rows.setdefault(("attention", name, "trained"), []).append(v)
        out[arm] = {
            "|".join(key): [
                float(np.nanmean(v)),
                float(np.nanstd(v, ddof=1)) if len(v) > 1 else 0.0,
                len(v),
            ]  # fmt: skip
            for key, v in rows.items()
        }
    return out


def notebook_figures(runs: Path, arms, selection: str, seed: int, out: Path) -> dict:
    """Notebooks 02 and 03 on ``seed``'s run of every arm, trained (``best``) and at
    initialisation; figures already in ``out`` are kept (the checkpoints may be gone)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from inside_real import run_notebooks

    figures = {}
    for arm in arms:
        run = runs / arm / selection / f"seed{seed}"
        for checkpoint in ("best", "initial"):
            label = f"{arm}-{checkpoint}"
            have = sorted(out.glob(f"{label}-0[23]-*.png"))
            finished = (run / "results.json").is_file()  # a running run has a best checkpoint too
            if not have and finished and (run / "best.safetensors").is_file():
                have = run_notebooks(run, label, out, checkpoint)
            if have:
                figures[label] = have
    return figures


def markdown(summary: dict, args, figures: dict) -> str:
    out = Path(args.out).resolve()
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else args.out  # no machine paths
    lines = [
        "# Learned against built-in separation",
        "",
        f"Regenerate: `python benchmarks/inside_learned.py --runs {args.runs} --arms "
        f"{' '.join(args.arms)} --out {shown}"
        + (f" --notebooks-seed {args.notebooks_seed}" if args.notebooks_seed is not None else "")
        + f"`. Per run: {N_PER_DATASET} test samples per "
        f"dataset, the {K} leading principal directions, on the reported checkpoint and on the "
        "same model at initialisation. Mean (sd) over seeds; exploratory, no verdict words.",
        "",
        "| arm | measure | pair or dataset | at initialisation | trained | trained - initial |",
        "|---|---|---|---|---|---|",
    ]
    for arm, rows in summary.items():
        keys = sorted({tuple(k.split("|")[:-1]) for k in rows}, key=lambda t: (t[0], t[1:]))
        for key in keys:
            kind, names = key[0], key[1:]
            label = " – ".join(short(n) for n in names)
            trained = rows.get("|".join(key + ("trained",)))
            initial = rows.get("|".join(key + ("initial",)))
            if kind == "attention":  # correlation of trained with initial maps: one number
                lines.append(f"| {arm} | attention map r (trained vs initial) | {label} | 1 | "
                             f"{trained[0]:.2f} ({trained[1]:.2f}) | |")  # fmt: skip
                continue
            what = "CLS angle (°)" if kind == "cls" else "adapter hidden angle (°)"
            lines.append(
                f"| {arm} | {what} | {label} | {initial[0]:.1f} ({initial[1]:.1f}) | "
                f"{trained[0]:.1f} ({trained[1]:.1f}) | {trained[0] - initial[0]:+.1f} |"
            )
    if figures:
        lines += ["", f"## Notebooks 02 and 03, seed {args.notebooks_seed}", "",
                  "`best`: the reported checkpoint; `initial`: the same model before its first "
                  "step (`checkpoint=\"initial\"`).", ""]  # fmt: skip
        for label, paths in figures.items():
            links = ", ".join(f"[{p.name}]({p.name})" for p in paths)
            lines += [f"- `{label}`: {links}; printed outputs: `{label}-02-outputs.txt`, "
                      f"`{label}-03-outputs.txt`"]  # fmt: skip
    return "\n".join(lines) + "\n"


def plot(summary: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mosaic_kit.utils.atomic import save_figure

    arms = list(summary)
    fig, axes = plt.subplots(1, len(arms), figsize=(4.2 * len(arms), 3.6), squeeze=False)
    for ax, arm in zip(axes[0], arms):
        rows = summary[arm]
        pairs = sorted({k.split("|", 1)[1].rsplit("|", 1)[0] for k in rows if k.startswith("cls|")})
        x = np.arange(len(pairs))
        for off, state in ((-0.2, "initial"), (0.2, "trained")):
            vals = [rows[f"cls|{p}|{state}"] for p in pairs]
            ax.bar(
                x + off,
                [v[0] for v in vals],
                0.4,
                yerr=[v[1] for v in vals],
                capsize=2,
                # fmt: skip
                label=f"CLS, {'at initialisation' if state == 'initial' else 'trained'}",
            )
        ax.set_xticks(x, [" – ".join(short(n) for n in p.split("|")) for p in pairs], rotation=30,
                      ha="right", fontsize=8)  # fmt: skip
        ax.set_title(arm)
        ax.set_ylabel("mean principal angle (°)")
        ax.set_ylim(0, 90)
    axes[0][0].legend(fontsize=8, loc="lower left")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", required=True)
    ap.add_argument("--arms", nargs="+", required=True)
    ap.add_argument("--selection", default="real4")
    ap.add_argument("--out", required=True)
    ap.add_argument(
        "--notebooks-seed",
        type=int,
        default=None,
        help="also run notebooks 02 and 03 on this seed's run of every arm, trained and at "
        "initialisation (figures kept once made)",
    )
    args = ap.parse_args()
    from mosaic_kit.utils.atomic import atomic_write_bytes

    out = Path(args.out)
    known = {}
    if (out / "learned.json").is_file():
        try:
            known = json.loads((out / "learned.json").read_text()).get("runs")
        except (ValueError, AttributeError):
            known = None
        if not isinstance(known, dict) or not all(isinstance(v, dict) for v in known.values()):
            raise SystemExit(
                f"{out / 'learned.json'} is not a learned.json this script wrote (no 'runs' "
                "mapping of arm to seeds); move it away to measure every run again."
            )
    found = measure(Path(args.runs), args.arms, args.selection, known)
    summary = summarise(found)
    atomic_write_bytes(out / "learned.json", json.dumps({"k": K, "n_per_dataset": N_PER_DATASET,
                       "runs": found, "summary": summary}, indent=1).encode())  # fmt: skip
    figures = (
        notebook_figures(Path(args.runs), args.arms, args.selection, args.notebooks_seed, out)
        if args.notebooks_seed is not None
        else {}
    )
    atomic_write_bytes(out / "learned.md", markdown(summary, args, figures).encode())
    n = max(len(v) for v in found.values())
    plot(summary, out / "learned.png", f"{args.runs} ({n} seeds, {N_PER_DATASET} test samples per "
         "dataset): datasets' CLS subspaces, trained and at initialisation")  # fmt: skip
    print((out / "learned.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
