"""The model card of a bundle (its ``README.md``, in the Hugging Face Hub's layout: YAML
metadata, then text), written from the run's own records only: its evaluation, provenance and
configuration."""

from __future__ import annotations

from typing import Any, Dict, List

import yaml

from ..evaluation.caveats import run_caveats

__all__ = ["model_card"]

#: Configuration keys a reader needs to judge or repeat the training, in this order.
_TRAINING_KEYS = (
    "method",
    "img_size",
    "vol_size",
    "patch_3d",
    "tokenizer_3d_init",
    "rounds",
    "steps_per_dataset",
    "batch_size",
    "lr",
    "warmup_steps",
    "weight_decay",
    "select_metric",
    "class_balance",
    "seed",
)


def _pct(x: Any) -> str:
    return f"{100 * x:.1f}" if isinstance(x, (int, float)) else "–"


def _licence(entry: Dict[str, Any]) -> str:
    if entry.get("data") == "synthetic":
        return "(the kit's synthetic stand-in)"
    return entry.get("license") or "(your own data)"


def _rounds_line(results: Dict[str, Any], checkpoint: Any, rounds: Any) -> str:
    """Rounds counted from 1, as the training log counts them."""
    last = results.get("last") or {}
    if checkpoint == "last" and isinstance(last.get("round"), int):
        return f"Last round, {last['round'] + 1} of {rounds} (the scores above are its own)"
    best = results.get("best_round")
    return f"Best round {best + 1 if isinstance(best, int) and best >= 0 else '–'} of {rounds}"


def model_card(manifest: Dict[str, Any], results: Dict[str, Any], cfg: Dict[str, Any]) -> str:
    """Markdown model card of a bundle (``manifest``: its ``bundle.json``)."""
    bb, datasets = manifest["backbone"], manifest["datasets"]
    names = list(datasets)
    weights = bb.get("weights") or "none (random initialisation)"
    # e.g. DermaMNIST
    non_commercial = any("NC" in str(d.get("license") or "") for d in datasets.values())
    meta = {
        "library_name": "mosaic_kit",
        "license": "cc-by-nc-4.0" if non_commercial else "apache-2.0",
        "pipeline_tag": "image-classification",
        "tags": [
            "medical-imaging",
            "medmnist",
            "vision-transformer",
            "parameter-efficient-fine-tuning",
            f"method-{manifest.get('method')}",
        ]
        + names,
        "metrics": ["accuracy", "roc_auc"],
    }
    if str(bb.get("weights") or "").startswith("timm:"):
        meta["base_model"] = "timm/" + bb["weights"][len("timm:") :]
    kinds = sorted({d.get("data") or "unknown" for d in datasets.values()})
    evaluation = (results.get("provenance") or {}).get("evaluation", "complete")
    params = manifest.get("params") or {}
    lines: List[str] = [
        "---",
        yaml.safe_dump(meta, sort_keys=False).rstrip(),
        "---",
        "",
        f"# {manifest.get('method')} on {', '.join(names)} ({bb['name']})",
        "",
        f"A mosaic_kit {manifest['mosaic_kit']} bundle: the trainable tensors of one run "
        f"({params.get('trainable', 0):,} of {params.get('total', 0):,} parameters, "
        f"{params.get('trainable_pct', 0)}%) over the frozen backbone `{bb['name']}`, which is "
        "named here, not included.",
        "",
        "## Results",
        "",
        f"The run's own evaluation of its `{manifest['checkpoint']}` checkpoint (student), seed "
        f"{manifest.get('seed')}: one seed, so no interval over seeds; the test column's brackets "
        "are the 95% bootstrap interval over test samples. Data: "
        + ", ".join(kinds)
        + f" files; evaluation {evaluation}; inputs shown at {cfg.get('img_size')} px (2D) and "
        f"{cfg.get('vol_size')}^3 (3D).",
        "",
        "| dataset | modality | task | specialist | val ACC | val AUC | test ACC | test AUC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    last = manifest.get("checkpoint") == "last" and results.get("last")
    scores = (last or results).get("datasets") or {}
    for n in names:
        d, s = datasets[n], scores.get(n, {})
        val, test = s.get("val", {}), s.get("test", {})
        ci = (test.get("ci95") or {}).get("auc")
        auc = _pct(test.get("auc")) + (f" [{_pct(ci[0])}, {_pct(ci[1])}]" if ci else "")
        lines.append(
            f"| {n} | {d['modality']} | {d['task']} | {d.get('specialist') or '–'} | "
            f"{_pct(val.get('acc'))} | {_pct(val.get('auc'))} | {_pct(test.get('acc'))} | {auc} |"
        )
    lines += ["", "## Classes", ""]
    lines += [
        f"- **{n}**: " + "; ".join(f"{k} = {v}" for k, v in datasets[n]["classes"].items())
        for n in names
    ]
    lines += [
        "",
        "## Backbone",
        "",
        f"`{bb['name']}`, weights `{weights}`"
        + (f", sha256 `{bb['sha256']}`" if bb.get("sha256") else "")
        + ". Loading checks that the backbone rebuilt from these weights is the one the adapter "
        "was trained on.",
        "",
        "## Training",
        "",
        "| key | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {cfg[k]} |" for k in _TRAINING_KEYS if k in cfg]
    env, wall = results.get("environment") or {}, results.get("wall_time_s")
    lines += [
        "",
        _rounds_line(results, manifest.get("checkpoint"), cfg.get("rounds"))
        + (f"; wall time {wall / 60:.1f} min" if wall else "")
        + "; software: "
        + ", ".join(
            f"{k} {v}" for k, v in env.items() if k in ("mosaic_kit", "torch", "timm", "medmnist")
        )
        + ".",
    ]
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "import mosaic_kit",
        "",
        'model = mosaic_kit.load("PATH_OR_hf:OWNER/NAME", weights="BACKBONE_WEIGHTS")  # weights: '
        "if not found by name",
        f'print(model.predict(images, dataset="{names[0]}"))',
        "```",
        "",
        "```bash",
        f"python -m mosaic_kit predict PATH_OR_hf:OWNER/NAME image.png --dataset {names[0]}",
        "```",
        "",
        "## Limitations",
        "",
        *[f"- **Warning**: {c}" for c in run_caveats(results, manifest.get("checkpoint"))],
        "",
        "A research artefact, not a medical device: trained and scored on MedMNIST's small, "
        "resized images (28 px and 28^3 files), on one seed; scores on other scanners, sites or "
        "resolutions are unknown. "
        "Training data licences: " + "; ".join(f"{n} {_licence(datasets[n])}" for n in names) + ".",
        "",
        "## Citation",
        "",
        'Cite mosaic_kit (its CITATION.cff) and MedMNIST v2: Yang et al., "MedMNIST v2 - A '
        'large-scale lightweight benchmark for 2D and 3D biomedical image classification", '
        "Scientific Data, 2023.",
        "",
    ]
    return "\n".join(lines)
