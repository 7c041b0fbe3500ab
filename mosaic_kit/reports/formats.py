"""The result table in its formats: Markdown, CSV and LaTeX cells and rows, and the provenance
line under them."""

from __future__ import annotations

import csv
import io
import math
from statistics import mean, stdev
from typing import Dict, List, Optional, Sequence, Tuple

from ..data.registry import GROUPS, in_group
from ..evaluation.results import provenance_line
from .references import reference_resnet18
from .table import METRICS, ResultTable

__all__ = ["to_markdown", "provenance_md", "to_csv", "to_latex"]


def _fmt(
    values: Optional[Sequence[float]],
    pct: bool = True,
    latex: bool = False,
    ci: Optional[Tuple[float, float]] = None,
    mark: str = "",
    n: bool = True,
) -> str:
    if not values:
        return "–" if not latex else "--"
    defined = [v for v in values if not math.isnan(v)]
    if not defined:
        return "undefined"
    k = 100 if pct else 1
    text = f"{mean(defined) * k:.1f}"
    if len(defined) > 1:
        pm = r"$\pm$" if latex else "±"
        text += f" {pm} {stdev(defined) * k:.1f}"
    if ci:
        lo, hi = ci
        if not (math.isnan(lo) or math.isnan(hi)):
            text += f" [{lo * k:.1f}, {hi * k:.1f}]"
    if len(defined) < len(values):
        mark += "†"
    return text + mark + (f" n={len(defined)}" if n else "")


def _rows(table: ResultTable, latex: bool = False) -> Tuple[List[str], List[List[str]]]:
    with_refs = not table.references_absent
    r28, r224 = (reference_resnet18(28), reference_resnet18(224)) if with_refs else ({}, {})
    major = bool(table.majority)
    header = (
        ["dataset"]
        + [f"{lab} {m.upper()}" for lab in table.labels for m in METRICS]
        + (["majority-class ACC"] if major else [])
        + (
            [f"ResNet-18 ({res} px) {m.upper()}" for res in (28, 224) for m in METRICS]
            if with_refs
            else []
        )
    )

    def refs(names: List[str]) -> List[str]:
        out = (
            [
                _fmt([mean(table.majority[n] for n in names)], latex=latex, n=False)
                if all(n in table.majority for n in names)
                else "–"
            ]
            if major
            else []
        )
        for ref in (r28, r224) if with_refs else ():
            out += [
                _fmt([mean(ref[n][m] for n in names)], latex=latex, n=False)
                if all(n in ref for n in names)
                else "–"
                for m in METRICS
            ]
        return out

    rows = []
    for n in table.datasets:
        cells = [
            _fmt(
                table.cells.get((lab, n), {}).get(m),
                latex=latex,
                ci=table.ci.get((lab, n), {}).get(m),
                mark="*" if table.truncated.get(lab) else "",
            )
            for lab in table.labels
            for m in METRICS
        ]
        rows.append([n] + cells + refs([n]))
    for g in GROUPS:
        names = [n for n in table.datasets if in_group(n, g)]
        if not names:
            continue
        cells = [
            _fmt(
                table.means.get((lab, g), {}).get(m),
                latex=latex,
                ci=table.ci.get((lab, f"mean_{g}"), {}).get(m),
                mark=("†" if table.partial.get((lab, g), {}).get(m) else "")
                + ("*" if table.truncated.get(lab) else ""),
            )
            for lab in table.labels
            for m in METRICS
        ]
        rows.append(
            [
                f"mean {g.upper() if g != 'all' else 'all'} ({len(names)} "
                f"dataset{'s' if len(names) > 1 else ''})"
            ]
            + cells
            + refs(names)
        )
    pad = [""] * (len(header) - 1 - len(table.labels) * len(METRICS))
    rows.append(
        ["trainable parameters"]
        + [
            f"{mean(table.params[lab]):,.0f}" if i == 0 else ""
            for lab in table.labels
            for i, _ in enumerate(METRICS)
        ]
        + pad
    )
    if any(table.wall.get(lab) for lab in table.labels):
        rows.append(
            ["wall time per run (min)"]
            + [
                f"{mean(table.wall[lab]) / 60:.1f}" if i == 0 and table.wall.get(lab) else ""
                for lab in table.labels
                for i, _ in enumerate(METRICS)
            ]
            + pad
        )
    return header, rows


def to_markdown(table: ResultTable) -> str:
    header, rows = _rows(table)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def provenance_md(
    records,
    describe=provenance_line,
    missing: str = "Provenance: not recorded (a run before mosaic_kit 0.2).",
) -> str:
    """One line per distinct data / weights provenance (or other ``describe(results)`` sentence)
    among the runs, with the labels it covers."""
    lines: Dict[str, List[str]] = {}
    for r in records:
        lines.setdefault(describe(r.results) or missing, []).append(r.label)
    if len(lines) == 1:
        return next(iter(lines))
    return " ".join(f"{', '.join(dict.fromkeys(labs))}: {line}" for line, labs in lines.items())


def to_csv(table: ResultTable) -> str:
    """Long format, one row per (label, dataset or group, metric): mean and std over the defined
    values, n, the interval of the mean (where per-sample outputs exist) and the row's
    provenance: input size, data kinds, backbone weights and their sha256."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "label",
            "row",
            "metric",
            "mean",
            "std",
            "n",
            "undefined",
            "ci_low",
            "ci_high",
            "input",
            "data",
            "weights",
            "weights_sha256",
        ]
    )
    for (lab, row), scores in list(table.cells.items()) + [
        ((lab, f"mean_{g}"), v) for (lab, g), v in table.means.items()
    ]:
        for m, values in scores.items():
            d = [v for v in values if not math.isnan(v)]
            s = f"{stdev(d):.6f}" if len(d) > 1 else ""
            lo, hi = table.ci.get((lab, row), {}).get(m, ("", ""))
            prov = table.provenance.get(lab, {})
            names = (
                [row]
                if not row.startswith("mean_")
                else [n for n in table.datasets if in_group(n, row[5:])]
            )
            data = "/".join(dict.fromkeys(prov.get("data", {}).get(n, "unrecorded") for n in names))
            w.writerow(
                [
                    lab,
                    row,
                    m,
                    f"{mean(d):.6f}" if d else "",
                    s,
                    len(d),
                    len(values) - len(d),
                    lo if lo == "" else f"{lo:.6f}",
                    hi if hi == "" else f"{hi:.6f}",
                    prov.get("input", ""),
                    data,
                    prov.get("weights", ""),
                    prov.get("sha256", ""),
                ]
            )
    return buf.getvalue()


def to_latex(table: ResultTable, caption: str = "") -> str:
    header, rows = _rows(table, latex=True)
    esc = lambda s: s.replace("_", r"\_").replace("±", r"$\pm$")  # noqa: E731
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}",
        r"\toprule",
        " & ".join(esc(h) for h in header) + r" \\",
        r"\midrule",
    ]
    for r in rows:
        if r[0].startswith(("mean all", "trainable parameters")):
            lines.append(r"\midrule")
        lines.append(" & ".join(esc(c) for c in r) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(r"\caption{" + esc(caption) + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
