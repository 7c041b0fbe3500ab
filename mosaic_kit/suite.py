"""Batch regeneration: run the training notebook through papermill for every run of a plan, then the results
notebook to rebuild the tables in ``reports/``.

A plan (YAML) is a grid of methods x dataset selections x seeds on one preset::

    name: cpu-small
    preset: cpu-tiny
    overrides: {rounds: 4}           # shared by every run
    methods: [mos]                   # or [{label: mos-norm, method: mos, overrides: {adapter_input: norm}}]
    datasets: [all]                  # selections: a group (all/2d/3d), a name, or {name: ..., datasets: [...]}
    seeds: [42, 123]
    grid: {lr: [1.0e-3, 3.0e-4]}     # optional: every method at every point; the report picks on validation
    out: runs/suite-cpu              # each run: {out}/{label}/[{grid point}/]{selection}/seed{seed}
    report: reports/suite-cpu
    baseline: mos                    # optional: the label every other one is judged against on validation

A finished run whose recorded configuration equals what its plan entry resolves to is skipped (``is_done``): an
interrupted suite picks up where it stopped. Each executed notebook is kept beside its run (``train.ipynb``).
"""
from __future__ import annotations

import json
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from .atomic import atomic_write_bytes
from .coerce import read_yaml_mapping
from .config import load_config, path_keys, recorded_defaults
from .paths import absolute
from .methods import get_method
from .registry import build_routing, resolve_datasets
from .reports.selection import BASELINE

__all__ = ["RunSpec", "Plan", "load_plan", "run_suite", "notebook_dir"]
_PLAN_KEYS = {"name", "preset", "overrides", "methods", "datasets", "seeds", "out", "report", "title", "grid",
              "slurm", "baseline"}


def _validate(cfg, where: str) -> None:
    """What load_config cannot know: the method exists, the datasets and routing resolve."""
    try:
        get_method(cfg.method)
        build_routing(resolve_datasets(cfg.datasets), cfg.routing)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def notebook_dir() -> Path:
    """The kit's ``notebooks/`` folder (beside the package in a clone, or in the working directory)."""
    for cand in (Path(__file__).resolve().parents[1] / "notebooks", Path.cwd() / "notebooks"):
        if (cand / "01_train.ipynb").is_file():
            return cand
    raise FileNotFoundError("Cannot find notebooks/01_train.ipynb beside the package or in the working directory; "
                            "run from a clone of mosaic_kit or pass notebooks=... .")


@dataclass
class RunSpec:
    label: str
    selection: str
    seed: int
    parameters: Dict[str, Any]  # the training notebook's parameters
    run_dir: str
    grid: Dict[str, Any] = field(default_factory=dict)  # this run's point of the plan's grid (chosen on validation)

    def fingerprint(self) -> Dict[str, Any]:
        out = {"label": self.label, "selection": self.selection, "seed": self.seed, "parameters": self.parameters}
        return {**out, "grid": self.grid} if self.grid else out


@dataclass
class Plan:
    name: str
    runs: List[RunSpec]
    report: str
    title: str
    out: str = "runs"  # the folder holding the plan's run directories
    slurm: Dict[str, Any] = field(default_factory=dict)  # cluster resources per run (``cluster.Resources``)
    baseline: str = BASELINE  # the label the report's lever table compares every other label against


def _selection(entry: Any) -> tuple:
    if isinstance(entry, str):
        return entry, [entry]
    if isinstance(entry, list):
        return "+".join(entry), entry
    if isinstance(entry, dict) and "datasets" in entry:
        ds = entry["datasets"]
        ds = [ds] if isinstance(ds, str) else list(ds)
        return str(entry.get("name", "+".join(ds))), ds
    raise ValueError(f"Plan datasets entries must be a name, a list of names or {{name, datasets}}; got {entry!r}.")


def _method(entry: Any) -> tuple:
    if isinstance(entry, str):
        return entry, {"method": entry}
    if isinstance(entry, dict) and "method" in entry:
        unknown = set(entry) - {"label", "method", "overrides"}
        if unknown:
            raise ValueError(f"Plan method entry has unknown keys {sorted(unknown)}; use label, method, overrides.")
        return str(entry.get("label", entry["method"])), {"method": entry["method"], **entry.get("overrides", {})}
    raise ValueError(f"Plan methods entries must be a method name or {{label, method, overrides}}; got {entry!r}.")


def load_plan(path: str | Path, root: str | Path = ".") -> Plan:
    """Read and validate a plan; every run's configuration is built once here, so a typo fails before any run."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Plan file {path} does not exist.")
    data = read_yaml_mapping(path, "plan")
    unknown = set(data) - _PLAN_KEYS
    if unknown:
        raise ValueError(f"Plan {path} has unknown keys {sorted(unknown)}; allowed: {sorted(_PLAN_KEYS)}.")
    for key in ("methods", "datasets", "seeds"):
        if not data.get(key):
            raise ValueError(f"Plan {path} needs a non-empty '{key}' list.")
    root = Path(root)
    name = data.get("name", path.stem)
    out = root / data.get("out", f"runs/suite-{name}")
    preset, shared = data.get("preset"), dict(data.get("overrides") or {})
    grid = data.get("grid") or {}
    if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
        raise ValueError(f"Plan {path}: 'grid' maps keys to non-empty lists of values, e.g. {{lr: [1e-4, 3e-4]}}.")
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    runs = []
    for m, point in itertools.product(data["methods"], points):
        label, method_over = _method(m)
        tag = ",".join(f"{k}={v}" for k, v in point.items())
        for d in data["datasets"]:
            sel, datasets = _selection(d)
            for seed in data["seeds"]:
                over = {**shared, **method_over, **point, "datasets": datasets, "seed": int(seed)}
                for key in path_keys():  # relative to where the suite starts: each notebook runs in its run dir
                    if key in over:
                        over[key] = absolute(over[key], root)
                run_dir = out / label / (f"{tag}/" if tag else "") / sel / f"seed{seed}"
                _validate(load_config(preset, overrides={**over, "out": str(run_dir)}), f"{path} run {label}/{sel}/"
                          f"seed{seed}")  # every run checked before the first one trains
                params = {"preset": preset, "overrides": over, "out": str(run_dir.resolve())}
                runs.append(RunSpec(label, sel, int(seed), params, str(run_dir), dict(point)))
    labels = list(dict.fromkeys(r.label for r in runs))
    baseline = str(data.get("baseline", BASELINE))
    if "baseline" in data and baseline not in labels:
        raise ValueError(f"Plan {path}: baseline {baseline!r} is not one of its labels {labels}; name one of them.")
    return Plan(name, runs, str(root / data.get("report", f"reports/suite-{name}")),
                data.get("title", f"Suite '{name}'"), str(out), dict(data.get("slurm") or {}), baseline)


def _set_aside(run_dir: Path) -> Path:
    """Move a finished run that no longer matches its plan entry to ``{name}.replaced-N`` (nothing is deleted)."""
    n = 1
    while (target := run_dir.with_name(f"{run_dir.name}.replaced-{n}")).exists():
        n += 1
    run_dir.rename(target)
    run_dir.mkdir()
    print(f"  {run_dir} held a run of another plan entry; moved it to {target}")
    return target

#: Keys that say how a run was executed (a suite's worker slot sets some), not what it trained.
_EXECUTION_KEYS = {"out", "threads", "device", "tracker", "log_every", "loader_workers", "prefetch", "pin_memory"}


def is_done(spec: RunSpec) -> bool:
    """Whether ``spec``'s run finished with the configuration its entry resolves to now, as its ``results.json``
    records it: a plan that pins a key at the value the run had keeps the run; an edited preset does not; a run
    without ``predictions.npz`` is trained again."""
    d = Path(spec.run_dir)
    if not all((d / name).is_file() for name in ("results.json", "suite.json", "predictions.npz")):
        return False  # a run without per-sample outputs (before 0.3) cannot enter a paired comparison
    stored, want = json.loads((d / "suite.json").read_text()), spec.fingerprint()
    if {k: v for k, v in stored.items() if k != "parameters"} != {k: v for k, v in want.items() if k != "parameters"}:
        return False
    recorded = (json.loads((d / "results.json").read_text()).get("config") or {})
    cfg = load_config(spec.parameters["preset"], overrides={**spec.parameters["overrides"], "out": str(d)}).to_dict()
    was = {**recorded_defaults(), **recorded}  # keys newer than the run: the value it had

    def text(value: Any) -> str:
        return json.dumps(value, sort_keys=True, default=str)

    return all(text(was.get(k)) == text(v) for k, v in cfg.items() if k not in _EXECUTION_KEYS)


def keep_run_records(plan: Plan, folder: Path) -> List[Path]:
    """Copy every finished run's results, per-sample outputs, config and suite record into ``folder`` (the report's
    ``runs/``, by the runs' own relative paths): a committed report carries what each number came from, and only
    that (records of runs the plan no longer has finished are removed)."""
    import shutil

    kept = []
    for spec in plan.runs:
        src = Path(spec.run_dir)
        if not is_done(spec):
            continue
        rel = src.resolve().relative_to(Path(plan.out).resolve())
        (folder / rel).mkdir(parents=True, exist_ok=True)
        for name in ("results.json", "predictions.npz", "config.yaml", "suite.json"):
            shutil.copy2(src / name, folder / rel / name)
        if (src / "datasets").is_dir():  # the specs of the run's own datasets
            shutil.copytree(src / "datasets", folder / rel / "datasets", dirs_exist_ok=True)
        kept.append(folder / rel)
    for stale in {p.parent for p in folder.rglob("suite.json")} - set(kept):
        shutil.rmtree(stale)
    return kept


def _execute(spec: RunSpec, nb: Path, kernel: str, slot: Dict[str, Any], say) -> None:
    """Train one run through the training notebook (``slot``: this worker's device or thread share)."""
    import papermill as pm

    d = Path(spec.run_dir)
    say(f"run {spec.label} / {spec.selection} / seed {spec.seed} -> {d} (notebook: {d / 'train.ipynb'})")
    d.mkdir(parents=True, exist_ok=True)
    resume = (d / "last_state.pt").is_file() and not (d / "results.json").is_file()
    if resume:  # interrupted after a checkpoint: continue it (the trainer refuses a changed configuration)
        say(f"  resuming the interrupted run in {d} from its last checkpoint")
    elif (d / "results.json").is_file():  # finished under another configuration: set aside whole, train afresh
        _set_aside(d)
    (d / "suite.json").unlink(missing_ok=True)  # a half-done run is never mistaken for a finished one
    params = {**spec.parameters, "resume": resume,
              "overrides": {**spec.parameters["overrides"], **slot}}
    pm.execute_notebook(str(nb / "01_train.ipynb"), str(d / "train.ipynb"), parameters=params,
                        kernel_name=kernel, progress_bar=False, cwd=str(d))
    atomic_write_bytes(d / "suite.json", json.dumps(spec.fingerprint(), indent=1).encode())


def parallel_slots(n: int) -> List[Dict[str, Any]]:
    """What each of ``n`` concurrent runs gets: one GPU each where there are GPUs (round robin), else an equal
    share of the CPU threads (only these keys differ from the plan; tables ignore them)."""
    import os

    import torch

    if n <= 1:
        return [{}]
    if torch.cuda.is_available():
        return [{"device": f"cuda:{i % torch.cuda.device_count()}"} for i in range(n)]
    return [{"threads": max(1, (os.cpu_count() or 1) // n)} for _ in range(n)]


def run_suite(plan: Plan, notebooks: Optional[str | Path] = None, kernel: str = "python3", dry_run: bool = False,
              progress: bool = True, max_parallel: int = 1) -> Dict[str, Any]:
    """Execute every pending run of ``plan`` (``max_parallel`` at a time) and rebuild its report. Returns what was
    run and skipped."""
    import queue
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from tqdm import tqdm  # a text bar: shown in terminals, notebooks and papermill output

    if max_parallel < 1:
        raise ValueError(f"max_parallel must be >= 1 (got {max_parallel}).")
    nb = Path(notebooks) if notebooks else notebook_dir()
    pending = [r for r in plan.runs if not is_done(r)]
    summary = {"plan": plan.name, "runs": len(plan.runs), "skipped": len(plan.runs) - len(pending),
               "executed": [], "report": plan.report}
    if dry_run:
        summary["pending"] = [r.run_dir for r in pending]
        return summary
    bar = tqdm(total=len(pending), desc=f"suite {plan.name}", unit="run", disable=not progress)
    slots: "queue.Queue[Dict[str, Any]]" = queue.Queue()
    for slot in parallel_slots(max_parallel):
        slots.put(slot)

    def work(spec: RunSpec) -> str:
        slot = slots.get()
        try:
            _execute(spec, nb, kernel, slot, bar.write)
        finally:
            slots.put(slot)
        return spec.run_dir

    with ThreadPoolExecutor(max_parallel, thread_name_prefix="suite-run") as pool:
        futures = [pool.submit(work, spec) for spec in pending]
        try:
            for fut in as_completed(futures):
                summary["executed"].append(fut.result())  # a failed run stops the suite (finished ones stay)
                bar.update(1)
        finally:
            for fut in futures:
                fut.cancel()
            bar.close()
    build_report(plan, nb, kernel)
    return summary


def build_report(plan: Plan, notebooks: Optional[str | Path] = None, kernel: str = "python3") -> Path:
    """The plan's report folder from its runs (``04_results`` through papermill), with every run's records."""
    import papermill as pm

    nb = Path(notebooks) if notebooks else notebook_dir()
    report = Path(plan.report)
    report.mkdir(parents=True, exist_ok=True)
    kept = keep_run_records(plan, report / "runs")  # the report reads these copies: its links stay valid
    pm.execute_notebook(str(nb / "04_results.ipynb"), str(report / "results.ipynb"),
                        parameters={"run_dirs": [str(k.resolve()) for k in kept],
                                    "out_dir": str(report.resolve()), "title": plan.title,
                                    "baseline": plan.baseline},
                        kernel_name=kernel, progress_bar=False, cwd=str(report))
    return report
