"""What ``python -m mosaic_kit compare`` prints: A − B per dataset and for the mean over datasets
(paired, over the seeds both ran, every row Holm-corrected within the printed family), with the
smallest effect of interest, the minimal detectable effect and the seeds a stated effect needs;
or, with A alone, the interval of its mean against ResNet-18 (28 and 224 px) and the majority
class, on real data only."""

from __future__ import annotations

import math
from pathlib import Path
from typing import List, Mapping, Optional, Sequence

from ..stats import MIN_SEEDS, holm, interval_of_mean, paired_differences, seeds_needed
from .compare import N_BOOT, arm, short

__all__ = ["compare_text", "parse_margins"]


def parse_margins(text: Optional[str]) -> Optional[dict]:
    """``"acc=1,auc=2"`` (points) -> ``{"acc": 0.01, "auc": 0.02}`` (metric units); one number
    sets both."""
    if not text:
        return None
    out = {}
    for part in str(text).split(","):
        key, _, value = part.partition("=")
        if not _:
            key, value = "", key
        keys = [key.strip().lower()] if key.strip() else ["acc", "auc"]
        if any(k not in ("acc", "auc") for k in keys):
            raise ValueError(
                f"--margin {text!r}: name a metric, acc or auc (e.g. acc=1,auc=2, in points)."
            )
        try:
            points = float(value)
        except ValueError:
            raise ValueError(
                f"--margin {text!r}: {value!r} is not a number of points (e.g. acc=1,auc=2)."
            ) from None
        if not 0 < points < 100:
            raise ValueError(
                f"--margin {text!r}: a smallest effect of interest is between 0 and 100 points."
            )
        out.update({k: points / 100 for k in keys})
    return out


def _folders(paths: Sequence[str]) -> str:
    return " ".join(str(Path(p)) for p in paths)


def _one_configuration(records, side: str, alone: bool) -> None:
    """Each side of a comparison is one configuration's runs; two folders given as A (the B side
    forgotten) would otherwise pair runs of different configurations by seed."""
    labels = sorted({r.label for r in records})
    if len(labels) > 1:
        fix = (
            "compare one of them with the published numbers, or give the other with --against"
            if alone
            else "give one configuration's runs on each side"
        )
        raise ValueError(
            f"{side} holds runs of {len(labels)} configurations ({', '.join(labels)}): {fix}, e.g. "
            f"`python -m mosaic_kit compare FOLDER_A --against FOLDER_B`."
        )


def _not_learnt_lines(records, side: str, checkpoint: str) -> List[str]:
    """A warning per dataset that some of ``side``'s runs did not learn beyond the class prior."""
    from ..evaluation.caveats import NOT_LEARNT_AUC, not_learnt

    runs: dict = {}
    for r in records:
        for name in not_learnt(r.results, checkpoint):
            runs.setdefault(name, []).append(str(r.seed))
    return [
        f"Warning ({side}): {name} was not learnt beyond the class prior in {len(seeds)} of "
        f"{len(records)} runs (seeds {', '.join(seeds)}): test ACC no higher than the majority "
        f"class, or test AUC below {NOT_LEARNT_AUC}; its differences compare models that "
        "learnt nothing there."
        for name, seeds in runs.items()
    ]


def _ref_name(size: int, datasets: Sequence[str]) -> str:
    """The published model a row is set against, exactly: MedMNIST v2's ResNet-18 trained at
    ``size`` px for images, its ResNet-18+3D for volumes."""
    from ..data.registry import get_info

    volumes = [get_info(n).is_3d for n in datasets]
    if all(volumes):
        return "ResNet-18+3D (28^3)"
    return f"ResNet-18 ({size} px{'; ResNet-18+3D for the volumes' if any(volumes) else ''})"


def _seed_note(n: int) -> str:
    return (
        ""
        if n >= MIN_SEEDS
        else (
            f"\nOnly {n} shared seed{'s' if n != 1 else ''}: intervals are shown, but a "
            f"verdict needs at least {MIN_SEEDS} seeds per arm (n/a "
            "below)."
        )
    )


def compare_text(
    a_paths: Sequence[str],
    b_paths: Optional[Sequence[str]] = None,
    split: str = "test",
    checkpoint: str = "best",
    metrics: Sequence[str] = ("acc", "auc"),
    n_boot: int = N_BOOT,
    margins: Optional[Mapping[str, float]] = None,
) -> str:
    """A − B (or A against the references); each of A and B: run directories or folders of runs
    of one configuration. ``margins``: the smallest effect of interest per metric, in metric
    units."""
    from .table import find_runs, load_records, references_absent

    a = load_records(find_runs(a_paths), split=False)
    _one_configuration(a, "A", b_paths is None)
    if b_paths is None:
        return _against_references(
            a, a_paths, split, checkpoint, metrics, n_boot, references_absent(a)
        )
    b = load_records(find_runs(b_paths), split=False)
    _one_configuration(b, "B", False)
    same = sorted(
        {str(Path(r.run_dir).resolve()) for r in a} & {str(Path(r.run_dir).resolve()) for r in b}
    )
    if same:
        raise ValueError(f"{same[0]} is on both sides: A and B must be different runs.")
    first, second = arm(a, split, checkpoint), arm(b, split, checkpoint)
    in_a, in_b = list(next(iter(first.values()))), set(next(iter(second.values())))
    names = [n for n in in_a if n in in_b]
    if not names:
        raise ValueError(
            f"A ({', '.join(in_a)}) and B ({', '.join(sorted(in_b))}) have no dataset in common: "
            "nothing to pair."
        )
    rows = [(short(n), [n]) for n in names] + ([("mean", names)] if len(names) > 1 else [])
    found = [
        (
            row,
            paired_differences(first, second, ds, n_boot=n_boot, margins=margins, metrics=metrics),
        )
        for row, ds in rows
    ]
    holm([c for _, got in found for c in got.values()])
    any_c = next(iter(found[0][1].values()))
    stated = (
        ", ".join(f"±{100 * v:g} {k.upper()}" for k, v in (margins or {}).items())
        or "none stated (--margin)"
    )
    lines = [
        f"A: {_folders(a_paths)} ({len(a)} runs)",
        f"B: {_folders(b_paths)} ({len(b)} runs)",
        f"A − B on {split} ({checkpoint} checkpoint), in points: paired over seeds "
        f"{any_c.seeds} and the same samples; 95% interval (t over seeds plus the samples' "
        f"bootstrap variance); p Holm-corrected over the {sum(len(g) for _, g in found)} rows "
        f"printed. Smallest effect of interest: {stated}; 'detectable' is the difference this "
        "comparison finds with 80% power (at 5%, before the correction)."
        + _seed_note(len(any_c.seeds)),
        "",
    ]
    if references_absent(a + b):
        lines.insert(
            2,
            f"Data: {references_absent(a + b)} These scores say nothing about the official files.",
        )
    warned = _not_learnt_lines(a, "A", checkpoint) + _not_learnt_lines(b, "B", checkpoint)
    lines[-1:-1] = warned
    lines += [f"{row:>16} {m.upper()} {c.text()}" for row, got in found for m, c in got.items()]
    if margins:
        lines += ["", _power_lines(found[-1][1], margins)]
    return "\n".join(lines)


def _power_lines(mean: Mapping[str, object], margins: Mapping[str, float]) -> str:
    """Seeds the mean row needs to detect its stated effect, from these runs taken as a pilot."""
    out = []
    for m, c in mean.items():
        if m not in margins or not c.testable or math.isnan(c.v_seed):
            continue
        n = seeds_needed(margins[m], c.v_seed, c.v_sample, c.level)
        what = (
            f"{n} seeds"
            if n
            else "no number of seeds (the samples' own noise, "
            f"±{100 * 1.96 * c.v_sample**0.5:.1f}, is too large for it)"
        )
        out.append(
            f"Power: a true {m.upper()} difference of {100 * margins[m]:g} points needs "
            f"{what} to be found with 80% power (these {len(c.seeds)} seeds as a pilot: "
            f"seed sd {100 * c.v_seed**0.5:.1f}, sample se "
            f"{100 * c.v_sample**0.5:.1f})."
        )
    return "\n".join(out)


def _against_references(a, a_paths, split, checkpoint, metrics, n_boot, absent: str) -> str:
    from .references import reference_resnet18

    names = list(dict.fromkeys(n for r in a for n in r.results["datasets"]))
    lines: List[str] = [f"A: {_folders(a_paths)} ({len(a)} runs)"]
    refs = {}
    if absent:
        lines.append(f"Data: {absent} These scores say nothing about the official files.")
    else:
        refs = {28: reference_resnet18(28), 224: reference_resnet18(224)}
    lines += _not_learnt_lines(a, "A", checkpoint)
    majority = {n: v for r in a for n, v in (r.results.get("majority") or {}).items()}
    lines += [
        f"mean {split} score of {len(a)} runs in points, 95% interval over seeds and samples"
        + (
            "; against each reference: the gap of the mean, 'above' / 'below' where the "
            "interval excludes it; ResNet-18+3D is MedMNIST v2's 3D ResNet-18 on the 28^3 "
            "volumes"
            if refs
            else ""
        )
        + (
            "; 'majority class': always predicting the most frequent training class"
            if not absent
            else ""
        )
        + _seed_note(len({r.seed for r in a})),
        "",
    ]
    for row, ds in [(n, [n]) for n in names] + ([("mean", names)] if len(names) > 1 else []):
        for m in metrics:
            iv = interval_of_mean(arm(a, split, checkpoint), m, ds, n_boot=n_boot)
            against = [
                f"{_ref_name(k, ds)}: {100 * (iv.mean - v):+.1f} {iv.against(v)}"
                for k, t in refs.items()
                if all(n in t for n in ds)
                for v in [sum(t[n][m] for n in ds) / len(ds)]
            ]
            if m == "acc" and all(n in majority for n in ds):
                v = sum(majority[n] for n in ds) / len(ds)
                against.append(f"majority class: {100 * (iv.mean - v):+.1f} {iv.against(v)}")
            lines.append(
                f"{row:>16} {m.upper()} {100 * iv.mean:5.1f} [{100 * iv.low:.1f}, "
                f"{100 * iv.high:.1f}]  " + "; ".join(against)
            )
    return "\n".join(lines)
