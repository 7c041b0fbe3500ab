"""The calibration's words: every cell as a Markdown table, the summary, and the worst cells of
the kit's rule."""

from __future__ import annotations

from typing import Mapping, Sequence

from .calibration import KIT_RULE, Cell

__all__ = ["calibration_md", "summary_md", "worst"]


def calibration_md(cells: Sequence[Cell]) -> str:
    """A Markdown table: rejection rate (the false-alarm rate under a null, the power under a
    shift) and coverage, each with its Monte-Carlo standard error."""
    lines = [
        "| source | arms differ by | shift | seeds | metric | rule | true A − B | called a "
        "difference | interval covers the truth |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        what = "false alarms" if c.shift == 0 else "power"
        lines.append(
            f"| {c.source} | {c.kind} | {c.shift:g} | {c.n_seeds} | {c.metric.upper()} | {c.rule} "
            f"| {100 * c.truth:+.2f} | {100 * c.rate:.1f}% ± {100 * c.rate_se:.1f} ({what}) | "
            f"{100 * c.coverage:.1f}% ± {100 * c.coverage_se:.1f} |"
        )
    return "\n".join(lines) + "\n"


def summary_md(cells: Sequence[Cell]) -> str:
    """One row per source, number of seeds and metric: each rule's false-alarm rate under the
    null (± MC s.e.) and the coverage of the kit's rule; then one row per planted shift: each
    rule's power and the kit's coverage."""
    rules = list(dict.fromkeys(c.rule for c in cells))
    out = []
    for null in (True, False):
        chosen = [c for c in cells if (c.shift == 0) == null]
        if not chosen:
            continue
        what = "false alarms (nominal 5%)" if null else "power"
        out += [
            "| source | arms differ by | "
            + ("" if null else "true A − B (points) | ")
            + "seeds | metric | "
            + " | ".join(f"{r}: {what}" for r in rules)
            + f" | {KIT_RULE}: coverage (nominal 95%) |",
            "|---|---|" + ("" if null else "---|") + "---|---|" + "---|" * len(rules) + "---|",
        ]
        keys = list(dict.fromkeys((c.source, c.kind, c.shift, c.n_seeds, c.metric) for c in chosen))
        for key in keys:
            row = {
                c.rule: c for c in chosen if (c.source, c.kind, c.shift, c.n_seeds, c.metric) == key
            }
            kit = row.get(KIT_RULE)
            first = next(iter(row.values()))
            cells_txt = " | ".join(
                f"{100 * row[r].rate:.1f} ± {100 * row[r].rate_se:.1f}" if r in row else "–"
                for r in rules
            )
            out.append(
                f"| {key[0]} | {key[1]} | "
                + ("" if null else f"{100 * first.truth:+.2f} | ")
                + f"{key[3]} | {key[4].upper()} | {cells_txt} | "
                + (f"{100 * kit.coverage:.1f} ± {100 * kit.coverage_se:.1f}" if kit else "–")
                + " |"
            )
        out.append("")
    return "\n".join(out)


def worst(cells: Sequence[Cell], rule: str = KIT_RULE) -> Mapping[str, float]:
    """Over the null cells of ``rule``: the largest false-alarm excess over nominal and the
    largest coverage shortfall, each in Monte-Carlo standard errors (both should be below about
    2); and the largest coverage shortfall over its planted-effect cells."""
    mine = [c for c in cells if c.rule == rule]
    nulls = [c for c in mine if c.shift == 0]
    alpha = 1 - nulls[0].level if nulls else 0.05
    return {
        "excess_se": max(((c.rate - alpha) / c.rate_se for c in nulls), default=float("nan")),
        "shortfall_se": max(
            ((c.level - c.coverage) / c.coverage_se for c in nulls), default=float("nan")
        ),
        "planted_shortfall_se": max(
            ((c.level - c.coverage) / c.coverage_se for c in mine if c.shift != 0),
            default=float("nan"),
        ),
    }
