"""Run directories -> one table of scores by configuration.

A run is labelled by its ``suite.json`` (written by ``mosaic_kit suite``) or else by its method.
Runs under one label are averaged only when they are seeds of one configuration: equal apart from
the seed and file paths, on the same kinds of data and backbone weights. Otherwise each
configuration is its own row, labelled by the keys that differ. Per label, each dataset cell
collects one value per run; the ``all / 2D / 3D`` rows average over datasets within each run
first, then over runs. Undefined values (an AUC on a split with one class) stay in the table as
NaN and are marked when rendered, never dropped silently."""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any, Dict, Iterable, List, Sequence, Tuple

from ..config import path_keys, recorded_defaults
from ..data.provenance import REAL
from ..data.registry import ALL_DATASETS, GROUPS, in_group
from ..evaluation.results import load_results
from ..utils.json_file import read_json_object

__all__ = [
    "RunRecord",
    "ResultTable",
    "find_runs",
    "load_records",
    "split_configurations",
    "aggregate",
    "references_absent",
    "METRICS",
]

METRICS = ("acc", "auc")
_SET_ASIDE = re.compile(r"\.replaced-\d+$")


@dataclass
class RunRecord:
    label: str
    seed: int
    run_dir: Path
    results: dict
    # the plan's grid point of this run (suite.json)
    grid: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ResultTable:
    labels: List[str]
    datasets: List[str]
    # (label, dataset) -> metric -> values over runs
    cells: Dict[Tuple[str, str], Dict[str, List[float]]]
    # (label, group) -> metric -> values over runs
    means: Dict[Tuple[str, str], Dict[str, List[float]]]
    runs: Dict[str, int] = field(default_factory=dict)  # label -> number of runs
    # label -> trainable parameters per run
    params: Dict[str, List[int]] = field(default_factory=dict)
    wall: Dict[str, List[float]] = field(default_factory=dict)  # label -> wall time (s) per run
    # why published numbers must not stand beside these runs ("" when they may)
    references_absent: str = ""
    # (label, dataset or "mean_{group}") -> metric -> 95% interval of the mean over seeds and test
    # samples; filled from per-sample outputs by ``compare.attach_intervals``
    ci: Dict[Tuple[str, str], Dict[str, Tuple[float, float]]] = field(default_factory=dict)
    # a group mean skipped NaNs
    partial: Dict[Tuple[str, str], Dict[str, bool]] = field(default_factory=dict)
    # (label, row, metric) -> stats.Interval
    intervals: Dict[Tuple[str, str, str], Any] = field(default_factory=dict)
    # label -> some run's evaluation was truncated
    truncated: Dict[str, bool] = field(default_factory=dict)
    # label -> input, data kinds, weights
    provenance: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    majority: Dict[str, float] = field(default_factory=dict)  # dataset -> majority-class test ACC


def find_runs(paths: Iterable[str | Path]) -> List[Path]:
    """Run directories (holding ``results.json``) among ``paths``, searching folders recursively;
    the given order is kept (a suite passes its plan's order, which becomes the table's column
    order). A search skips the runs a suite set aside (``seed42.replaced-1``: replaced by a run
    of the plan's current entry) and the parts of an independent run; name them directly to
    include them."""
    found: List[Path] = []
    for p in map(Path, paths):
        if (p / "results.json").is_file():
            found.append(p)
        elif p.is_dir():
            runs = sorted(q.parent for q in p.rglob("results.json"))
            found += [
                q
                for q in runs
                if not any(_SET_ASIDE.search(part) for part in q.relative_to(p).parts)
                and not (q.parent / "results.json").is_file()
            ]
        else:
            raise FileNotFoundError(
                f"{p} is neither a run directory (with results.json) nor a folder of runs."
            )
    return list(dict.fromkeys(found))


@functools.lru_cache(maxsize=1)
def _defaults() -> Dict[str, Any]:
    return json.loads(json.dumps(recorded_defaults(), default=str))


def _facts(results: Dict[str, Any]) -> Dict[str, Any]:
    """What makes a configuration: every key but the seed and paths, plus the data kinds and
    weights' hash. A key that a run's version did not have yet counts at its default (a new key's
    default keeps the old behaviour)."""
    ignored = {"seed", "out", "threads", "tracker", *path_keys()}  # how it ran, not what it is
    config = {**_defaults(), **results.get("config", {})}
    facts = {k: v for k, v in config.items() if k not in ignored}
    if str(facts.get("device", "")).startswith("cuda:"):
        facts["device"] = "cuda"  # which GPU of a parallel suite ran it
    prov = results.get("provenance") or {}
    facts["data"] = ",".join(sorted(set((prov.get("datasets") or {}).values()))) or None
    facts["weights_sha256"] = ((prov.get("backbone") or {}).get("sha256") or "")[:12] or None
    return facts


def load_records(run_dirs: Iterable[str | Path], split: bool = True) -> List[RunRecord]:
    """One record per run directory; with ``split``, labels whose runs are not seeds of one
    configuration are split (``split_configurations``)."""
    out = []
    for d in map(Path, run_dirs):
        res = load_results(d)
        meta = read_json_object(d / "suite.json", "Restore or delete it.", missing={})
        cfg = res.get("config", {})
        out.append(
            RunRecord(
                meta.get("label", cfg.get("method", "?")),
                int(cfg.get("seed", -1)),
                d,
                res,
                dict(meta.get("grid") or {}),
            )
        )
    return split_configurations(out) if split else out


def split_configurations(out: List[RunRecord]) -> List[RunRecord]:
    """Relabel runs so that a label holds only seeds of one configuration (``label [key=value,
    ...]``)."""
    # a label's runs must be seeds of one configuration
    for label in dict.fromkeys(r.label for r in out):
        recs = [r for r in out if r.label == label]
        facts = [_facts(r.results) for r in recs]
        if len({json.dumps(f, sort_keys=True, default=str) for f in facts}) > 1:
            keys = sorted(
                k
                for k in set().union(*facts)
                if len({json.dumps(f.get(k), default=str) for f in facts}) > 1
            )
            for r, f in zip(recs, facts):
                r.label = f"{label} [" + ", ".join(f"{k}={f.get(k)}" for k in keys) + "]"
    return out


def references_absent(records: Sequence[RunRecord]) -> str:
    """Why published numbers on the real datasets must not stand beside these runs; "" when every
    run used official or same-split files and a pretrained backbone (``provenance`` in
    results.json)."""
    reasons = []
    for r in records:
        prov, cfg = r.results.get("provenance"), r.results.get("config", {})
        if prov is None:  # results of mosaic_kit 0.1 recorded no provenance
            kinds = {"synthetic"} if cfg.get("data_root") == "synthetic" else {"unrecorded"}
            pretrained = bool(cfg.get("weights"))
        else:
            kinds, pretrained = set(prov["datasets"].values()), prov["backbone"]["pretrained"]
        reasons += [f"{k} data" for k in sorted(kinds - set(REAL))]
        reasons += [] if pretrained else ["a random (not pretrained) backbone"]
    if not reasons:
        return ""
    return (
        "Published numbers on the real datasets are left out: these runs used "
        + ", ".join(dict.fromkeys(reasons))
        + "."
    )


def _provenance(results: Dict[str, Any]) -> Dict[str, Any]:
    """Input size, each dataset's data kind, backbone weights and their sha256, as recorded by
    the run."""
    prov, cfg = results.get("provenance") or {}, results.get("config") or {}
    names = list(results.get("datasets") or {})
    size = [
        f"{cfg.get('img_size')} px" if any(in_group(n, "2d") for n in names) else "",
        f"{cfg.get('vol_size')}^3" if any(in_group(n, "3d") for n in names) else "",
    ]
    bb = prov.get("backbone") or {}
    return {
        "input": " / ".join(x for x in size if x),
        "data": dict(prov.get("datasets") or {}),
        "weights": (Path(bb["weights"]).name if bb.get("weights") else "random init") if bb else "",
        "sha256": bb.get("sha256") or "",
    }


def aggregate(
    records: Sequence[RunRecord], which: str = "student", split: str = "test"
) -> ResultTable:
    """Collect per-dataset and per-group scores of ``which`` (student or teacher) over runs, by
    label."""
    if not records:
        raise ValueError("No runs to aggregate: give run directories that hold results.json.")
    labels = list(dict.fromkeys(r.label for r in records))
    seen = {n for r in records for n in r.results["datasets"]}
    t = ResultTable(
        labels,
        [n for n in ALL_DATASETS if n in seen] + sorted(seen - set(ALL_DATASETS)),
        {},
        {},
        references_absent=references_absent(records),
    )
    for r in records:
        res = r.results if which == "student" else r.results["teacher"]
        t.runs[r.label] = t.runs.get(r.label, 0) + 1
        t.params.setdefault(r.label, []).append(
            int(r.results.get("params", {}).get("trainable", 0))
        )
        if r.results.get("wall_time_s") is not None:
            t.wall.setdefault(r.label, []).append(float(r.results["wall_time_s"]))
        prov = r.results.get("provenance") or {}
        t.provenance.setdefault(r.label, _provenance(r.results))
        t.truncated[r.label] = (
            t.truncated.get(r.label, False)
            or prov.get("evaluation", "complete") != "complete"
            or r.results.get("config", {}).get("eval_max_samples") is not None
        )
        t.majority.update(r.results.get("majority") or {})
        for name, scores in res["datasets"].items():
            for m in METRICS:
                t.cells.setdefault((r.label, name), {}).setdefault(m, []).append(scores[split][m])
        for group in GROUPS:
            names = [n for n in res["datasets"] if in_group(n, group)]
            for m in METRICS if names else ():
                vals = [res["datasets"][n][split][m] for n in names]
                defined = [v for v in vals if not math.isnan(v)]
                t.means.setdefault((r.label, group), {}).setdefault(m, []).append(
                    mean(defined) if defined else float("nan")
                )
                if len(defined) < len(vals):
                    t.partial.setdefault((r.label, group), {})[m] = True
    return t
