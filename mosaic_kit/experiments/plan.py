"""Plans: a grid of methods x dataset selections x seeds on one preset (``suite`` runs them).

A plan (YAML)::

    name: cpu-small
    preset: cpu-tiny
    overrides: {rounds: 4}           # shared by every run
    methods: [mos] # or [{label: mos-norm, method: mos, overrides: {adapter_input: norm}}]
    datasets: [all] # selections: a group (all/2d/3d), a name, or {name: ..., datasets: [...]}
    seeds: [42, 123]
    grid: {lr: [1.0e-3, 3.0e-4]} # optional: every method at every point; the report picks on
        validation
    out: runs/suite-cpu              # each run: {out}/{label}/[{grid point}/]{selection}/seed{seed}
    report: reports/suite-cpu
    baseline: mos # optional: the label every other one is judged against on validation
    order: seeds # optional: run every label at the first seed before the next (default: labels)
    contrasts: [{a: mos, b: adapter, question: "..."}] # optional: A - B on test, per dataset and
        specialist
    smallest_effect: {acc: 1, auc: 2} # optional, points: the margin within which "no effect" can be
        a verdict

``load_plan`` validates the whole plan before anything runs: known keys, unique labels and run
directories, grid keys that nothing else in the plan sets, and every run's configuration.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List

from ..config import load_config, path_keys
from ..config.paths import absolute
from ..reports.selection import BASELINE
from ..utils.yaml_mapping import read_yaml_mapping
from .plan_checks import _validate
from .plan_entries import _contrasts, _method, _selection, _smallest_effect
from .plan_schema import _PER_RUN_KEYS, _PLAN_KEYS, ORDERS, check_plan_types

__all__ = ["RunSpec", "Plan", "load_plan", "missing_inputs"]


@dataclass
class RunSpec:
    label: str
    selection: str
    seed: int
    parameters: Dict[str, Any]  # the training notebook's parameters
    run_dir: str
    # this run's point of the plan's grid (chosen on validation)
    grid: Dict[str, Any] = field(default_factory=dict)
    # where the plan's report keeps this run's records (a finished run there needs no re-run)
    record: str = ""

    def fingerprint(self) -> Dict[str, Any]:
        out = {
            "label": self.label,
            "selection": self.selection,
            "seed": self.seed,
            "parameters": self.parameters,
        }
        return {**out, "grid": self.grid} if self.grid else out


@dataclass
class Plan:
    name: str
    runs: List[RunSpec]
    report: str
    title: str
    out: str = "runs"  # the folder holding the plan's run directories
    # cluster resources per run (``cluster.Resources``)
    slurm: Dict[str, Any] = field(default_factory=dict)
    baseline: str = (
        BASELINE  # the label the report's lever table compares every other label against
    )
    # [{a, b, question}]: A - B in the report
    contrasts: List[Dict[str, str]] = field(default_factory=list)
    # metric -> points: the equivalence margin
    smallest_effect: Dict[str, float] = field(default_factory=dict)


def load_plan(path: str | Path, root: str | Path = ".") -> Plan:
    """Read and validate a plan; every run's configuration is built once here, so a typo fails
    before any run."""
    path = Path(path)
    if path.is_dir():
        found = sorted(q.name for q in path.glob("*.yaml"))[:6]
        raise FileNotFoundError(
            f"{path} is a folder; --plan takes one plan's YAML file"
            + (f", e.g. {path / found[0]} (here: {', '.join(found)})" if found else "")
            + "."
        )
    if not path.is_file():
        raise FileNotFoundError(f"Plan file {path} does not exist.")
    data = read_yaml_mapping(path, "plan")
    unknown = sorted(set(data) - _PLAN_KEYS)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(_PLAN_KEYS), n=1)
        raise ValueError(
            f"Plan {path} has unknown keys {unknown}"
            + (f" (did you mean '{close[0]}'?)" if close else "")
            + f"; allowed: {sorted(_PLAN_KEYS)}."
        )
    for key in ("methods", "datasets", "seeds"):
        if data.get(key) is None or data.get(key) == []:
            raise ValueError(f"Plan {path} needs a non-empty '{key}' list.")
    check_plan_types(data, path)
    root = Path(root)
    name = data.get("name", path.stem)
    out = root / data.get("out", f"runs/suite-{name}")
    if out.exists() and not out.is_dir():
        raise ValueError(
            f"Plan {path}: out {out} is a file; the plan's runs need a folder there (name another "
            "`out`, or move the file)."
        )
    report = root / data.get("report", f"reports/suite-{name}")
    preset, shared = data.get("preset"), dict(data.get("overrides") or {})
    grid = data.get("grid") or {}
    if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
        raise ValueError(
            f"Plan {path}: 'grid' maps keys to non-empty lists of values, e.g. {{lr: [1e-4, "
            "3e-4]}."
        )
    fixed = sorted(set(grid) & set(_PER_RUN_KEYS))
    if fixed:
        raise ValueError(
            f"Plan {path}: 'grid' cannot vary {fixed}: the plan sets them for every run ('seeds', "
            "'datasets', 'out'); list the values there instead."
        )
    methods = [_method(m) for m in data["methods"]]
    labels = [label for label, _ in methods]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise ValueError(
            f"Plan {path}: the label(s) {twice} name more than one methods entry; their runs would "
            "share directories and one would displace the other. Give each entry its own `label`."
        )
    for label, method_over in methods:
        clash = sorted((set(grid) & set(method_over)) - {"method"})
        if clash:
            raise ValueError(
                f"Plan {path}: methods entry '{label}' sets {clash}, which 'grid' also varies; say "
                "each key in one place."
            )
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    runs = []
    for (label, method_over), point in itertools.product(methods, points):
        tag = ",".join(f"{k}={v}" for k, v in point.items())
        for d in data["datasets"]:
            sel, datasets = _selection(d)
            for seed in data["seeds"]:
                over = {**shared, **method_over, **point, "datasets": datasets, "seed": int(seed)}
                for key in (
                    path_keys()
                ):  # relative to where the suite starts: each notebook runs in its run dir
                    if key in over:
                        over[key] = absolute(over[key], root)
                run_dir = out / label / (f"{tag}/" if tag else "") / sel / f"seed{seed}"
                # every run checked before the first one trains
                where = f"{path} run {label}/{sel}/seed{seed}"
                try:
                    cfg = load_config(preset, overrides={**over, "out": str(run_dir)})
                except ValueError as err:  # name the plan and the run, then the key
                    raise ValueError(f"Plan {where}: {err}") from None
                _validate(cfg, where)
                params = {"preset": preset, "overrides": over, "out": str(run_dir.resolve())}
                runs.append(
                    RunSpec(
                        label,
                        sel,
                        int(seed),
                        params,
                        str(run_dir),
                        dict(point),
                        str(report / "runs" / run_dir.relative_to(out)),
                    )
                )
    dirs = [r.run_dir for r in runs]
    twice = sorted({d for d in dirs if dirs.count(d) > 1})
    if twice:
        raise ValueError(
            f"Plan {path}: two runs would share the directory {twice[0]} (a seed or a datasets "
            "entry listed twice?); every run needs its own."
        )
    labels = list(dict.fromkeys(r.label for r in runs))
    baseline = str(data.get("baseline", BASELINE))
    if "baseline" in data and baseline not in labels:
        raise ValueError(
            f"Plan {path}: baseline {baseline!r} is not one of its labels {labels}; name one of "
            "them."
        )
    order = str(data.get("order", "labels"))
    if order not in ORDERS:
        raise ValueError(f"Plan {path}: order {order!r} is not one of {list(ORDERS)}.")
    if order == "seeds":
        seeds = [int(s) for s in data["seeds"]]
        # stable: labels keep their order within a seed
        runs.sort(key=lambda r: seeds.index(r.seed))
    return Plan(
        name,
        runs,
        str(report),
        data.get("title", f"Suite '{name}'"),
        str(out),
        dict(data.get("slurm") or {}),
        baseline,
        _contrasts(data.get("contrasts"), labels, path),
        _smallest_effect(data.get("smallest_effect"), path),
    )


def missing_inputs(runs: List[RunSpec]) -> List[str]:
    """What ``runs`` would fail on when they start, found before any trains: MedMNIST files
    absent from ``data_root`` with ``download`` off, and weights files that do not exist. One
    line per missing file, naming how many runs need it and the fix."""
    from ..train.preflight import missing_inputs_of

    need: Dict[str, List[str]] = {}
    for r in runs:
        cfg = load_config(
            r.parameters["preset"], overrides={**r.parameters["overrides"], "out": r.run_dir}
        )
        for what in missing_inputs_of(cfg):
            need.setdefault(what, []).append(r.run_dir)
    return [f"{what}: needed by {len(dirs)} run(s), e.g. {dirs[0]}" for what, dirs in need.items()]
