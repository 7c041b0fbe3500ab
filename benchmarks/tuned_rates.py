"""The single-task learning rates of plans/negative-transfer-real4.yaml, chosen by the rule stated
in plans/negative-transfer-tune.yaml: per dataset, the grid's learning rate whose best round has the
highest validation ACC (ties: validation AUC). Reads the tuning runs (their run folders or the
report's committed records) and prints the mapping; with --write, fills it into the plans that hold
``lr_per_dataset: TUNED``.

    python benchmarks/tuned_rates.py --runs reports/negative-transfer-tune/runs
    python benchmarks/tuned_rates.py --runs runs/negative-transfer-tune --write \\
        plans/negative-transfer-real4.yaml plans/negative-transfer-quarter.yaml
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict

import yaml

ROOT = Path(__file__).resolve().parents[1]
TUNE = ROOT / "plans" / "negative-transfer-tune.yaml"


def tuned_rates(runs: Path, plan: Path = TUNE) -> Dict[str, float]:
    """``{dataset: lr}`` by the tuning plan's rule, from its runs under ``runs``."""
    spec = yaml.safe_load(plan.read_text())
    (selection,) = spec["datasets"]
    (seed,) = spec["seeds"]
    best: Dict[str, tuple] = {}
    for entry in spec["methods"]:
        path = runs / entry["label"] / selection["name"] / f"seed{seed}" / "results.json"
        if not path.is_file():
            raise SystemExit(
                f"{path} is missing: the tuning plan has not finished ({entry['label']})"
            )
        res = json.loads(path.read_text())
        for name, scores in res["datasets"].items():
            key = (scores["val"]["acc"], scores["val"]["auc"])
            if name not in best or key > best[name][0]:
                best[name] = (key, float(entry["overrides"]["lr"]))
    return {name: lr for name, (_, lr) in best.items()}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=Path, required=True, help="the tuning plan's runs (or records)")
    ap.add_argument("--write", nargs="*", type=Path, default=[], help="plans to fill in")
    args = ap.parse_args()
    rates = tuned_rates(args.runs)
    text = "{" + ", ".join(f"{k}: {v:.1e}" for k, v in rates.items()) + "}"
    print(f"lr_per_dataset: {text}")
    for plan in args.write:
        body = plan.read_text()
        if "lr_per_dataset: TUNED" not in body:
            print(f"{plan}: already filled in, left as it is")
            continue
        plan.write_text(body.replace("lr_per_dataset: TUNED", f"lr_per_dataset: {text}"))
        print(f"{plan}: filled in")


if __name__ == "__main__":
    main()
