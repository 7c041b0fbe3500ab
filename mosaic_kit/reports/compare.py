"""Paired comparisons of a report's labels, from the runs' per-sample outputs (``predictions.npz``).

Every verdict word a report prints comes from here, by ``mosaic_kit.stats`` (the studentised
two-level rule, at least 5 shared seeds): levers against a baseline ("keep" / "drop" / "no effect
within +-m" / "not shown either way", Holm-corrected over all levers and both metrics, each lever
judged on the datasets whose outputs it changed), the EMA teacher against the student, and each
label's mean against the published references (ResNet-18 at 28 and 224 px, the majority class).
``margins`` is the smallest effect of interest per metric (``{"acc": 0.02}``, metric units): without
one, no comparison can say "equivalent".

Which checkpoint: choices are made on **validation scores of the last round** of the fixed
schedule (``last``), not of the best round, whose score is a maximum over rounds and so biased
upward by an amount that grows with the number of rounds; runs that lack the last round's outputs
fall back to the best round and the report says so. Test comparisons use the reported
(best-validation) checkpoint, as the tables do.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..data.registry import get_info
from ..evaluation.outputs import Outputs, has_outputs, load_outputs
from ..evaluation.outputs_check import check_outputs
from ..evaluation.results import load_results
from ..stats import (
    MIN_SEEDS,
    Comparison,
    Sample,
    holm,
    identical_outputs,
    paired_difference,
    paired_differences,
)
from .table import RunRecord

__all__ = [
    "has_all_outputs",
    "arm",
    "selection_checkpoint",
    "compare_records",
    "LeverRow",
    "lever_rows",
    "N_BOOT",
]

#: Bootstrap replicates of every report comparison: p-values resolve to about 1 / N_BOOT, enough for
#: Holm's threshold over a few dozen comparisons.
N_BOOT = 4000


@functools.lru_cache(maxsize=512)
def _outputs(run_dir: str, stamp: tuple) -> Outputs:
    outputs = load_outputs(run_dir)
    check_outputs(run_dir, outputs, load_results(run_dir))  # never outputs of another run
    return outputs


def _load(r: RunRecord) -> Outputs:
    files = [Path(r.run_dir) / name for name in ("predictions.npz", "results.json")]
    return _outputs(
        str(r.run_dir), tuple((s.st_mtime_ns, s.st_size) for s in map(Path.stat, files))
    )


def has_all_outputs(records: Sequence[RunRecord]) -> bool:
    """Whether every run holds per-sample outputs (runs before mosaic_kit 0.3 do not)."""
    return bool(records) and all(has_outputs(r.run_dir) for r in records)


def selection_checkpoint(records: Sequence[RunRecord]) -> str:
    """``last`` where every run holds the last round's outputs, else ``best`` (an optimistic
    validation score)."""
    return (
        "last" if has_all_outputs(records) and all("last" in _load(r) for r in records) else "best"
    )


def arm(
    records: Sequence[RunRecord], split: str, checkpoint: str = "best", net: str = "student"
) -> Sample:
    """``{seed: {dataset: (labels, scores)}}`` of one configuration's runs."""
    out: Dict[int, Dict[str, Tuple]] = {}
    for r in records:
        if r.seed in out:
            raise ValueError(
                f"Two runs of '{r.label}' have seed {r.seed} ({r.run_dir}); a "
                "configuration's runs must differ in seed."
            )
        per = _load(r)
        if checkpoint not in per or net not in per[checkpoint]:
            have = ", ".join(f"{c}/{n}" for c, nets in per.items() for n in nets) or "nothing"
            raise ValueError(
                f"{r.run_dir}/predictions.npz has no outputs of the {net}'s '{checkpoint}' "
                f"checkpoint (it holds {have}); choose another --checkpoint, or rebuild them "
                f"with `python -m mosaic_kit eval {r.run_dir}`."
            )
        lacking = sorted(d for d, splits in per[checkpoint][net].items() if split not in splits)
        if lacking:
            raise ValueError(
                f"{r.run_dir}/predictions.npz has no {split} outputs for {', '.join(lacking)}."
            )
        out[r.seed] = {d: splits[split] for d, splits in per[checkpoint][net].items()}
    names = [set(v) for v in out.values()]
    if names and any(n != names[0] for n in names):
        odd = next(r for r in records if set(out[r.seed]) != names[0])
        raise ValueError(
            f"The runs of '{records[0].label}' hold outputs of different datasets: "
            f"{sorted(names[0])} in {records[0].run_dir}, {sorted(out[odd.seed])} in "
            f"{odd.run_dir}; a configuration's runs cover the same datasets."
        )
    return out


def compare_records(
    a: Sequence[RunRecord],
    b: Sequence[RunRecord],
    metric: str,
    split: str,
    checkpoint: str = "best",
    net_a: str = "student",
    net_b: str = "student",
    datasets: Optional[Sequence[str]] = None,
    n_boot: int = N_BOOT,
    margins: Optional[Mapping[str, float]] = None,
) -> Comparison:
    """A - B by the paired rule over shared seeds and the same samples
    (``stats.paired_difference``)."""
    return paired_difference(
        arm(a, split, checkpoint, net_a),
        arm(b, split, checkpoint, net_b),
        metric,
        datasets,
        n_boot=n_boot,
        margin=(margins or {}).get(metric),
    )


def changed_datasets(a: Sample, b: Sample) -> List[str]:
    """The datasets on which the two arms' outputs differ for some shared seed: where a lever can
    act. A 3D-only lever leaves the 2D datasets' outputs bit-identical; judging it on a mean that
    includes them dilutes it."""
    seeds = sorted(set(a) & set(b))
    names = (
        [d for d in a[seeds[0]] if all(d in arm[s] for arm in (a, b) for s in seeds)]
        if seeds
        else []
    )
    return [d for d in names if not identical_outputs(a, b, seeds, [d])]


@dataclass
class LeverRow:
    label: str
    # metric -> val comparison of the mean over the changed datasets (Holm-adjusted)
    mean: Dict[str, Comparison]
    # dataset -> val AUC comparison (exploratory: no verdict word)
    per_dataset: Dict[str, Comparison]
    # mean test AUC, reported checkpoint (descriptive, not used to decide)
    test_auc: Optional[Comparison]
    judged_on: List[str]  # the datasets whose validation outputs the lever changed

    @property
    def verdict(self) -> str:
        words = [c.verdict for c in self.mean.values()]
        if "not testable" in words:
            return "not testable by this rule (identical validation outputs)"
        if "n/a" in words:
            return f"n/a (fewer than {MIN_SEEDS} shared seeds)"
        if "better" in words:
            return "keep" if "worse" not in words else "mixed"
        if "worse" in words:
            return "drop"
        if all(w == "equivalent" for w in words):
            return "no effect within " + ", ".join(
                f"±{100 * c.margin:g} {m.upper()}" for m, c in self.mean.items()
            )
        return "not shown either way"


def lever_rows(
    records: Sequence[RunRecord],
    baseline: str,
    n_boot: int = N_BOOT,
    margins: Optional[Mapping[str, float]] = None,
) -> Tuple[List[LeverRow], str]:
    """Every label against ``baseline`` on validation (the selection checkpoint), ACC and AUC of
    the mean over the datasets whose outputs the lever changed, Holm-corrected over all levers
    and both metrics; a lever that changed no output is "not testable". Returns the rows and the
    checkpoint used."""
    base = [r for r in records if r.label == baseline]
    labels = [lab for lab in dict.fromkeys(r.label for r in records) if lab != baseline]
    ckpt = selection_checkpoint(records)
    rows = []
    for lab in labels:
        rs = [r for r in records if r.label == lab]
        a, b = arm(rs, "val", ckpt), arm(base, "val", ckpt)
        changed = changed_datasets(a, b)
        on = changed or None  # none changed: the comparison over all of them says "not testable"
        mean = paired_differences(a, b, on, n_boot=n_boot, margins=margins)
        per = {n: paired_difference(a, b, "auc", [n], n_boot=n_boot) for n in mean["auc"].datasets}
        test = compare_records(rs, base, "auc", "test", "best", datasets=on, n_boot=n_boot)
        rows.append(LeverRow(lab, mean, per, test, changed))
    holm([c for row in rows for c in row.mean.values()])
    return rows, ckpt


def short(name: str) -> str:
    """``breastmnist`` -> ``Breast``, ``adrenalmnist3d`` -> ``Adrenal3D`` (custom names
    unchanged)."""
    try:
        get_info(name)
    except ValueError:
        return name
    return name.replace("mnist", "").capitalize().replace("3d", "3D")
