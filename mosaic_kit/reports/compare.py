"""Paired comparisons of a report's labels, from the runs' per-sample outputs (``predictions.npz``).

Every verdict word a report prints comes from here, by ``mosaic_kit.stats``: levers against a baseline
("keep" / "drop" / "within noise", Holm-corrected over all levers and both metrics), the EMA teacher against the
student, and each label's mean against the published references (ResNet-18 at 28 and 224 px, the majority class).

Which checkpoint: choices are made on **validation scores of the last round** of the fixed schedule (``last``),
not of the best round, whose score is a maximum over rounds and so biased upward by an amount that grows with the
number of rounds; runs that lack the last round's outputs fall back to the best round and the report says so.
Test comparisons use the reported (best-validation) checkpoint, as the tables do.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..outputs import Outputs, has_outputs, load_outputs
from ..registry import get_info
from ..stats import Comparison, Interval, Sample, holm, interval_of_mean, paired_difference
from .table import RunRecord

__all__ = ["has_all_outputs", "arm", "selection_checkpoint", "compare_records", "mean_interval", "LeverRow",
           "lever_rows", "N_BOOT"]

#: Bootstrap replicates of every report comparison: p-values resolve to about 1 / N_BOOT, enough for Holm's
#: threshold over a few dozen comparisons.
N_BOOT = 4000


@functools.lru_cache(maxsize=512)
def _outputs(run_dir: str, mtime: float) -> Outputs:
    return load_outputs(run_dir)


def _load(r: RunRecord) -> Outputs:
    path = Path(r.run_dir) / "predictions.npz"
    return _outputs(str(r.run_dir), path.stat().st_mtime)


def has_all_outputs(records: Sequence[RunRecord]) -> bool:
    """Whether every run holds per-sample outputs (runs before mosaic_kit 0.3 do not)."""
    return bool(records) and all(has_outputs(r.run_dir) for r in records)


def selection_checkpoint(records: Sequence[RunRecord]) -> str:
    """``last`` where every run holds the last round's outputs, else ``best`` (an optimistic validation score)."""
    return "last" if has_all_outputs(records) and all("last" in _load(r) for r in records) else "best"


def arm(records: Sequence[RunRecord], split: str, checkpoint: str = "best", net: str = "student") -> Sample:
    """``{seed: {dataset: (labels, scores)}}`` of one configuration's runs."""
    out: Dict[int, Dict[str, Tuple]] = {}
    for r in records:
        if r.seed in out:
            raise ValueError(f"Two runs of '{r.label}' have seed {r.seed} ({r.run_dir}); a configuration's runs must "
                             "differ in seed.")
        per = _load(r)
        if checkpoint not in per:
            raise KeyError(f"{r.run_dir} has no outputs of its '{checkpoint}' checkpoint.")
        out[r.seed] = {d: splits[split] for d, splits in per[checkpoint][net].items()}
    return out


def compare_records(a: Sequence[RunRecord], b: Sequence[RunRecord], metric: str, split: str,
                    checkpoint: str = "best", net_a: str = "student", net_b: str = "student",
                    datasets: Optional[Sequence[str]] = None, n_boot: int = N_BOOT) -> Comparison:
    """A - B by the two-level paired bootstrap over shared seeds and the same samples."""
    return paired_difference(arm(a, split, checkpoint, net_a), arm(b, split, checkpoint, net_b), metric, datasets,
                             n_boot=n_boot)


def mean_interval(records: Sequence[RunRecord], metric: str, datasets: Optional[Sequence[str]] = None,
                  split: str = "test", net: str = "student", n_boot: int = N_BOOT) -> Interval:
    """A configuration's mean score with its interval over seeds and samples (reported checkpoint)."""
    return interval_of_mean(arm(records, split, "best", net), metric, datasets, n_boot=n_boot)


@dataclass
class LeverRow:
    label: str
    mean: Dict[str, Comparison]  # metric -> val comparison of the mean over datasets (Holm-adjusted)
    per_dataset: Dict[str, Comparison]  # dataset -> val AUC comparison (unadjusted, descriptive)
    test_auc: Optional[Comparison]  # mean test AUC, reported checkpoint (descriptive, not used to decide)

    @property
    def verdict(self) -> str:
        words = [c.verdict for c in self.mean.values()]
        if "n/a" in words:
            return "n/a (fewer than 2 shared seeds)"
        if "better" in words:
            return "keep" if "worse" not in words else "mixed"
        return "drop" if "worse" in words else "within noise"


def lever_rows(records: Sequence[RunRecord], baseline: str, n_boot: int = N_BOOT) -> Tuple[List[LeverRow], str]:
    """Every label against ``baseline`` on validation (the selection checkpoint), ACC and AUC of the mean over
    datasets, Holm-corrected over all levers and both metrics; returns the rows and the checkpoint used."""
    base = [r for r in records if r.label == baseline]
    labels = [lab for lab in dict.fromkeys(r.label for r in records) if lab != baseline]
    ckpt = selection_checkpoint(records)
    rows = []
    for lab in labels:
        rs = [r for r in records if r.label == lab]
        mean = {m: compare_records(rs, base, m, "val", ckpt, n_boot=n_boot) for m in ("acc", "auc")}
        names = mean["auc"].datasets
        per = {n: compare_records(rs, base, "auc", "val", ckpt, datasets=[n], n_boot=n_boot) for n in names}
        rows.append(LeverRow(lab, mean, per, compare_records(rs, base, "auc", "test", "best", n_boot=n_boot)))
    holm([c for row in rows for c in row.mean.values()])
    return rows, ckpt


def short(name: str) -> str:
    """``breastmnist`` -> ``Breast``, ``adrenalmnist3d`` -> ``Adrenal3D`` (custom names unchanged)."""
    try:
        get_info(name)
    except ValueError:
        return name
    return name.replace("mnist", "").capitalize().replace("3d", "3D")


def attach_intervals(table, records: Sequence[RunRecord], which: str = "student", n_boot: int = N_BOOT) -> bool:
    """Fill ``table.ci`` with each label's interval of the mean test score, per dataset and group, over seeds and
    samples; returns False (and leaves it empty) where some run lacks per-sample outputs."""
    if not has_all_outputs(records):
        return False
    from ..registry import GROUPS, in_group

    for lab in table.labels:
        rs = [r for r in records if r.label == lab]
        names = list(dict.fromkeys(n for r in rs for n in r.results["datasets"]))
        rows = [(n, [n]) for n in names] + [(f"mean_{g}", [n for n in names if in_group(n, g)]) for g in GROUPS]
        for row, ds in rows:
            if not ds:
                continue
            for m in ("acc", "auc"):
                iv = mean_interval(rs, m, ds, net=which, n_boot=n_boot)
                table.ci.setdefault((lab, row), {})[m] = (iv.low, iv.high)
                table.intervals[(lab, row, m)] = iv
    return True


def compare_text(a_paths: Sequence[str], b_paths: Optional[Sequence[str]] = None, split: str = "test",
                 checkpoint: str = "best", metrics: Sequence[str] = ("acc", "auc"), n_boot: int = N_BOOT) -> str:
    """What ``python -m mosaic_kit compare`` prints: A - B per dataset and for the mean over datasets (paired, over
    the seeds both ran), or with A alone the interval of its mean against ResNet-18 (28 and 224 px) and the
    majority class. Each of A and B: run directories or folders of runs of one configuration."""
    from .references import reference_resnet18
    from .table import find_runs, load_records

    a = load_records(find_runs(a_paths), split=False)
    if b_paths is None:
        refs = {"ResNet-18 (28 px)": reference_resnet18(28), "ResNet-18 (224 px)": reference_resnet18(224)}
        majority = {n: v for r in a for n, v in (r.results.get("majority") or {}).items()}
        names = list(dict.fromkeys(n for r in a for n in r.results["datasets"]))
        lines = [f"mean {split} score of {len(a)} runs, 95% interval over seeds and samples; against each reference "
                 "(above / below where the interval excludes it)", ""]
        for row, ds in [(n, [n]) for n in names] + ([("mean", names)] if len(names) > 1 else []):
            for m in metrics:
                iv = interval_of_mean(arm(a, split, checkpoint), m, ds, n_boot=n_boot)
                against = [f"{k}: {100 * (iv.mean - v):+.1f} {iv.against(v)}" for k, t in refs.items()
                           if all(n in t for n in ds) for v in [sum(t[n][m] for n in ds) / len(ds)]]
                if m == "acc" and all(n in majority for n in ds):
                    v = sum(majority[n] for n in ds) / len(ds)
                    against.append(f"majority class: {100 * (iv.mean - v):+.1f} {iv.against(v)}")
                lines.append(f"{row:>16} {m.upper()} {100 * iv.mean:5.1f} [{100 * iv.low:.1f}, {100 * iv.high:.1f}]  "
                             + "; ".join(against))
        return "\n".join(lines)
    b = load_records(find_runs(b_paths), split=False)
    first = arm(a, split, checkpoint)
    names = [n for n in next(iter(first.values()))]
    rows = [(n, [n]) for n in names] + ([("mean", names)] if len(names) > 1 else [])
    found = [(row, m, paired_difference(first, arm(b, split, checkpoint), m, ds, n_boot=n_boot))
             for row, ds in rows for m in metrics]
    holm([c for row, _, c in found if row == "mean" or len(names) == 1])
    lines = [f"A - B on {split} ({checkpoint} checkpoint), in points: paired over seeds "
             f"{found[0][2].seeds} and the same samples, 95% interval (two-level bootstrap); p Holm-corrected over the "
             "metrics of the mean (per dataset: uncorrected)", ""]
    lines += [f"{row:>16} {m.upper()} {c.text()}" for row, m, c in found]
    return "\n".join(lines)
