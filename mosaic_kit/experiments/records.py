"""Which runs of a plan are done, from their run folders or from the report's committed records,
and keeping those records."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, List

from ..config import load_config, path_keys, recorded_defaults
from ..data.provenance import file_digest
from ..utils.atomic import atomic_write_bytes
from ..utils.json_file import read_json_object
from .plan import Plan, RunSpec

__all__ = ["is_done", "keep_run_records"]


def _set_aside(run_dir: Path) -> Path:
    """Move a finished run that no longer matches its plan entry to ``{name}.replaced-N``
    (nothing is deleted)."""
    n = 1
    while (target := run_dir.with_name(f"{run_dir.name}.replaced-{n}")).exists():
        n += 1
    run_dir.rename(target)
    run_dir.mkdir()
    print(f"  {run_dir} held a run of another plan entry; moved it to {target}")
    return target


#: Keys that say how a run was executed (a suite's worker slot sets some), not what it trained.
_EXECUTION_KEYS = {
    "out",
    "threads",
    "device",
    "tracker",
    "log_every",
    "loader_workers",
    "prefetch",
    "pin_memory",
    "cache_dir",
}


def is_done(spec: RunSpec) -> bool:
    """Whether ``spec``'s run finished with the configuration its entry resolves to now, in its
    run directory or in the records its plan's report keeps (a clone without the run directories
    resumes from those)."""
    return (
        _done_at(spec, Path(spec.run_dir))
        or bool(spec.record)
        and _done_at(spec, Path(spec.record))
    )


def _done_at(spec: RunSpec, d: Path) -> bool:
    """Whether ``d`` holds ``spec``'s finished run, as its ``results.json`` records it: a plan
    that pins a key at the value the run had keeps the run; an edited preset does not; a run
    without ``predictions.npz`` is trained again. The suite's record (``suite.json``) must agree
    where it exists, but a finished run whose record was never written (a suite stopped between
    the two) counts as finished."""
    if not all((d / name).is_file() for name in ("results.json", "predictions.npz")):
        return (
            False  # a run without per-sample outputs (before 0.3) cannot enter a paired comparison
        )
    if (d / "suite.json").is_file():
        stored, want = read_json_object(d / "suite.json", _fix(d)), spec.fingerprint()
        if {k: v for k, v in stored.items() if k != "parameters"} != {
            k: v for k, v in want.items() if k != "parameters"
        }:
            return False
    results = read_json_object(d / "results.json", _fix(d))
    cfg = load_config(
        spec.parameters["preset"], overrides={**spec.parameters["overrides"], "out": str(d)}
    ).to_dict()
    recorded = results.get("config") or {}
    if not isinstance(recorded, dict):
        raise ValueError(
            f"{d / 'results.json'}: its config is a {type(recorded).__name__}, not a mapping. "
            + _fix(d)
        )
    was = {**recorded_defaults(), **recorded}  # keys newer than the run: the value it had
    paths = set(path_keys())

    def same(key: str, value: Any) -> bool:
        if _text(was.get(key)) == _text(value):
            return True
        return key in paths and _moved(key, was.get(key), value, results)

    return all(same(k, v) for k, v in cfg.items() if k not in _EXECUTION_KEYS)


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _moved(key: str, was: Any, now: Any, results: dict) -> bool:
    """Whether a path key names the same file or folder as the run's, moved: a clone elsewhere, or
    a run trained on another machine, has other absolute paths. The names must agree, and a
    weights file that is here must have the sha256 the run recorded."""
    was_list, now_list = (v if isinstance(v, list) else [v] for v in (was, now))
    if len(was_list) != len(now_list) or any(
        a is None or b is None or Path(str(a)).name != Path(str(b)).name
        for a, b in zip(was_list, now_list)
    ):
        return False
    prov = results.get("provenance")  # a record of another shape: no digest to check
    backbone = prov.get("backbone") if isinstance(prov, dict) else None
    recorded = backbone.get("sha256") if isinstance(backbone, dict) else None
    if key == "weights" and recorded and Path(str(now)).is_file():
        here = Path(str(now)).resolve()
        return _sha256(str(here), here.stat().st_size, here.stat().st_mtime_ns) == recorded
    return True


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """A file's sha256, hashed once per size and modification time (a changed file again)."""
    return file_digest(path, "sha256")


def _fix(d: Path) -> str:
    return (
        "Restore it from a copy (a plan's report keeps one of each finished run under its runs/), "
        f"or move {d} away to train the run again."
    )


def _record(spec: RunSpec) -> None:
    """Write the suite's record of a finished run where it is missing."""
    path = Path(spec.run_dir) / "suite.json"
    if not path.is_file():
        atomic_write_bytes(path, json.dumps(spec.fingerprint(), indent=1).encode())


def keep_run_records(plan: Plan, folder: Path) -> List[Path]:
    """Copy every finished run's results, per-sample outputs, config and suite record into
    ``folder`` (the report's ``runs/``, by the runs' own relative paths): a committed report
    carries what each number came from, and only that (records of runs the plan no longer has
    finished are removed)."""
    import shutil

    kept = []
    for spec in plan.runs:
        src = Path(spec.run_dir)
        rel = src.resolve().relative_to(Path(plan.out).resolve())
        if not _done_at(spec, src):
            if (
                spec.record
                and _done_at(spec, Path(spec.record))
                and (folder / rel).resolve() == Path(spec.record).resolve()
            ):
                # finished in an earlier clone: its records are already here
                kept.append(folder / rel)
            continue
        _record(spec)
        (folder / rel).mkdir(parents=True, exist_ok=True)
        for name in ("results.json", "predictions.npz", "config.yaml", "suite.json"):
            shutil.copy2(src / name, folder / rel / name)
        if (src / "datasets").is_dir():  # the specs of the run's own datasets
            shutil.copytree(src / "datasets", folder / rel / "datasets", dirs_exist_ok=True)
        kept.append(folder / rel)
    for stale in {p.parent for p in folder.rglob("suite.json")} - set(kept):
        shutil.rmtree(stale)
    return kept
