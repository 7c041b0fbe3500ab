"""Trainable parameters of the matched-budget methods at the paper's scale (ViT-B/16, 224 px, 64^3,
18 datasets), counted by building each model (random init), next to the numbers the MOSAIC paper
reports.

    .venv/bin/python benchmarks/param_budget.py

The two-backbone GMoE row loads its second ViT-B from a temporary file of random weights (counts
do not depend on them); its frozen total is two backbones. ``independent`` rows sum 18
single-dataset models (each: the method's tensors + its head, + the 3D tokenizer for a 3D
dataset). Columns split the count so the paper's bookkeeping can be matched.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import timm
import torch
from safetensors.torch import save_file

from mosaic_kit.config import load_config
from mosaic_kit.data.registry import ALL_DATASETS
from mosaic_kit.methods import build_model, parameter_report

ROWS = [  # label, overrides, independent, paper's number
    ("LoRA r=8, independent", {"method": "lora", "lora_rank": 8}, True, "5.40M"),
    ("LoRA r=8, joint", {"method": "lora", "lora_rank": 8}, False, "0.38M"),
    ("LoRA r=192, joint", {"method": "lora", "lora_rank": 192}, False, "7.08M"),
    ("VPT P=10, independent", {"method": "vpt", "vpt_prompts": 10}, True, "1.80M"),
    ("VPT P=10, joint", {"method": "vpt", "vpt_prompts": 10}, False, "0.18M"),
    ("single adapter (b=192), joint", {"method": "adapter", "adapter_bottleneck": 192}, False, "–"),
    ("MOSAIC", {"method": "mos"}, False, "7.40M"),
    (
        "GMoE-Adapter, one shared backbone (b=64)",
        {"method": "gmoe-shared", "gmoe_bottleneck": 64},
        False,
        "–",
    ),
    ("GMoE-Adapter, two backbones (b=64)", {"method": "gmoe", "gmoe_bottleneck": 64}, False, "–"),
]


def count(overrides: dict, datasets, medical: str) -> dict:
    torch.manual_seed(0)
    cfg = load_config(
        "paper",
        overrides={**overrides, "datasets": list(datasets), "gmoe_medical_weights": medical},
    )
    report = parameter_report(build_model(cfg)[0])
    split = {"method": 0, "heads": 0, "tokenizer_3d": 0, "total": report["total"]}
    for name, c in report["components"].items():
        key = (
            "tokenizer_3d"
            if name.startswith("tokenizer_3d")
            else name
            if name == "heads"
            else "method"
        )
        split[key] += c["trainable"]
    return split


def main() -> None:
    print(
        "| method | paper | kit total | method tensors | heads | 3D tokenizer(s) | kit without 3D "
        "tokenizer | all parameters (frozen included) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        medical = str(Path(tmp) / "medical.safetensors")
        save_file(timm.create_model("vit_base_patch16_224", num_classes=0).state_dict(), medical)
        for label, over, independent, paper in ROWS:
            if independent:
                parts = [count(over, [name], medical) for name in ALL_DATASETS]
                split = {k: sum(p[k] for p in parts) for k in parts[0]}
            else:
                split = count(over, ALL_DATASETS, medical)
            total = split["method"] + split["heads"] + split["tokenizer_3d"]
            print(
                f"| {label} | {paper} | {total:,} | {split['method']:,} | {split['heads']:,} | "
                f"{split['tokenizer_3d']:,} | {total - split['tokenizer_3d']:,} | "
                f"{split['total']:,} |"
            )


if __name__ == "__main__":
    main()
