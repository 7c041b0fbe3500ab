"""The same plan runs trained twice, on two machines (e.g. a 2-core CPU in fp32 and a GPU under the
kit's default bf16 autocast): the test scores of each twin pair, their differences, and the seed
spread of the same arm on the reference machine, so a reader can see whether the machine moved a
result by more than another seed would.

    python benchmarks/hardware_twins.py --a reports/negative-transfer-real4/cpu-twins/runs \\
        --b reports/negative-transfer-real4/runs --out reports/negative-transfer-real4/cpu-twins

Writes ``twins.json`` (every number) and ``twins.md``. Exploratory: a handful of pairs is no
verdict, so no verdict words are printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mosaic_kit.utils.json_file import read_json_object  # noqa: E402

METRICS = ("acc", "auc")


def read(results: Path) -> dict:
    """One run's ``{"scores": {dataset or "mean": {metric: test points}}, "env": str}``, its
    ``results.json`` read once; a file without test scores is named."""
    r = read_json_object(results, "restore it from the run's records, or re-run `eval` on the run")
    try:
        out = {n: {m: 100 * d["test"][m] for m in METRICS} for n, d in r["datasets"].items()}
    except (KeyError, TypeError, AttributeError):
        raise SystemExit(
            f"{results} has no test ACC and AUC per dataset (datasets.NAME.test.acc / auc); is it "
            "a finished run's results.json?"
        ) from None
    out["mean"] = {m: statistics.fmean(out[n][m] for n in r["datasets"]) for m in METRICS}
    env, cfg = r.get("environment") or {}, r.get("config") or {}
    return {
        "scores": out,
        "env": f"torch {env.get('torch')}, device {cfg.get('device')}, amp {cfg.get('amp')}",
    }


def compare(a: Path, b: Path) -> dict:
    pairs, spread = [], {}

    def order(p: Path):  # by arm, then seed as a number (seed42 before seed123)
        return [int(x[4:]) if x.startswith("seed") and x[4:].isdigit() else x for x in p.parts]

    for ra in sorted(a.rglob("results.json"), key=order):
        rel = ra.relative_to(a)
        if len(rel.parts) != 4 or not (b / rel).is_file():  # label/selection/seedN/results.json
            continue
        one, two = read(ra), read(b / rel)
        sa, sb = one["scores"], two["scores"]
        diff = {n: {m: sb[n][m] - sa[n][m] for m in METRICS} for n in sa}
        pairs.append(
            {
                "run": str(rel.parent),
                "a": sa,
                "b": sb,
                "b_minus_a": diff,
                "a_env": one["env"],
                "b_env": two["env"],
            }
        )
        label = rel.parts[0]
        if label not in spread:  # the arm's seed spread on machine b
            seeds = [read(p)["scores"] for p in sorted((b / label).rglob("seed*/results.json"))]
            spread[label] = (
                {n: {m: statistics.stdev(s[n][m] for s in seeds) for m in METRICS} for n in sa}
                if len(seeds) > 1
                else {}
            )
    return {"pairs": pairs, "seed_std_b": spread}


def markdown(res: dict, a: str, b: str) -> str:
    lines = [
        f"# The same runs on two machines\n\nA: `{a}`; B: `{b}`. Test points; B - A, and the "
        "standard deviation of the same arm over its seeds on B. Exploratory: no verdict.\n"
    ]
    lines += ["| run | mean ACC B - A | mean AUC B - A |", "|---|---|---|"]
    lines += [
        f"| {p['run']} | {p['b_minus_a']['mean']['acc']:+.1f} | "
        f"{p['b_minus_a']['mean']['auc']:+.1f} |"
        for p in res["pairs"]
    ]
    avg = {m: [p["b_minus_a"]["mean"][m] for p in res["pairs"]] for m in METRICS}
    lines.append(
        "| average over the pairs (sample std) | "
        + " | ".join(
            f"{statistics.fmean(v):+.1f}" + (f" ({statistics.stdev(v):.1f})" if len(v) > 1 else "")
            for v in avg.values()
        )
        + " |"
    )
    for p in res["pairs"]:
        label = p["run"].split("/")[0]
        lines += [
            f"\n## {p['run']}\n\nA: {p['a_env']}; B: {p['b_env']}\n",
            "| | A acc | B acc | B - A | seed std (B) | A auc | B auc | B - A | seed std (B) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        std = res["seed_std_b"].get(label, {})
        for n in p["a"]:
            cells = []
            for m in METRICS:
                s = std.get(n, {}).get(m)
                cells += [
                    f"{p['a'][n][m]:.1f}",
                    f"{p['b'][n][m]:.1f}",
                    f"{p['b_minus_a'][n][m]:+.1f}",
                    "" if s is None else f"{s:.1f}",
                ]
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", required=True, help="records of the first machine's runs")
    ap.add_argument("--b", required=True, help="records of the second machine's runs")
    ap.add_argument("--out", required=True, help="folder for twins.json and twins.md")
    args = ap.parse_args(argv)
    res = compare(Path(args.a), Path(args.b))
    if not res["pairs"]:
        raise SystemExit(f"No run is in both {args.a} and {args.b}.")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "twins.json").write_text(json.dumps(res, indent=1))
    (out / "twins.md").write_text(markdown(res, args.a, args.b))
    print((out / "twins.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
