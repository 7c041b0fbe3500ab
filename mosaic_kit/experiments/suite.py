"""Batch regeneration: run the training notebook through papermill for every run of a plan, then the
results notebook to rebuild the tables in ``reports/``.

Plans (``plan.py``) are grids of methods x dataset selections x seeds on one preset.

A finished run whose recorded configuration equals what its plan entry resolves to is skipped
(``is_done``): an interrupted suite picks up where it stopped. Each executed notebook is kept
beside its run (``train.ipynb``).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..utils.atomic import atomic_write_bytes
from .plan import Plan, RunSpec, load_plan, missing_inputs
from .records import _set_aside, is_done, keep_run_records

__all__ = [
    "RunSpec",
    "Plan",
    "load_plan",
    "run_suite",
    "notebook_dir",
    "is_done",
    "keep_run_records",
    "build_report",
]


def notebook_dir() -> Path:
    """The kit's ``notebooks/`` folder (beside the package in a clone, or in the working
    directory)."""
    for cand in (Path(__file__).resolve().parents[2] / "notebooks", Path.cwd() / "notebooks"):
        if (cand / "01_train.ipynb").is_file():
            return cand
    raise FileNotFoundError(
        "Cannot find notebooks/01_train.ipynb beside the package or in the working directory; "
        "run from a clone of mosaic_kit or pass notebooks=... ."
    )


def _execute(spec: RunSpec, nb: Path, kernel: str, slot: Dict[str, Any], say) -> None:
    """Train one run through the training notebook (``slot``: this worker's device or thread
    share)."""
    import papermill as pm

    d = Path(spec.run_dir)
    say(
        f"run {spec.label} / {spec.selection} / seed {spec.seed} -> {d} (notebook: "
        f"{d / 'train.ipynb'})"
    )
    d.mkdir(parents=True, exist_ok=True)
    # an independent run's checkpoints are in its per-dataset parts
    started = (d / "last_state.pt").is_file() or any(d.glob("*/last_state.pt"))
    resume = started and not (d / "results.json").is_file()
    if (
        resume
    ):  # interrupted after a checkpoint: continue it (the trainer refuses a changed configuration)
        say(f"  resuming the interrupted run in {d} from its last checkpoint")
    elif (
        d / "results.json"
    ).is_file():  # finished under another configuration: set aside whole, train afresh
        _set_aside(d)
    # a half-done run is never mistaken for a finished one
    (d / "suite.json").unlink(missing_ok=True)
    params = {
        **spec.parameters,
        "resume": resume,
        "overrides": {**spec.parameters["overrides"], **slot},
    }
    pm.execute_notebook(
        str(nb / "01_train.ipynb"),
        str(d / "train.ipynb"),
        parameters=params,
        kernel_name=kernel,
        progress_bar=False,
        cwd=str(d),
        kernel_manager_class=ipc_kernel_manager(),
    )
    atomic_write_bytes(d / "suite.json", json.dumps(spec.fingerprint(), indent=1).encode())


def parallel_slots(n: int) -> List[Dict[str, Any]]:
    """What each of ``n`` concurrent runs gets: one GPU each where there are GPUs (round robin),
    else an equal share of the CPU threads (only these keys differ from the plan; tables ignore
    them)."""
    import os

    import torch

    if n <= 1:
        return [{}]
    if torch.cuda.is_available():
        return [{"device": f"cuda:{i % torch.cuda.device_count()}"} for i in range(n)]
    return [{"threads": max(1, (os.cpu_count() or 1) // n)} for _ in range(n)]


def run_suite(
    plan: Plan,
    notebooks: Optional[str | Path] = None,
    kernel: str = "python3",
    dry_run: bool = False,
    progress: bool = True,
    max_parallel: int = 1,
) -> Dict[str, Any]:
    """Execute every pending run of ``plan`` (``max_parallel`` at a time) and rebuild its report.
    Returns what was run and skipped."""
    if max_parallel < 1:
        raise ValueError(f"max_parallel must be >= 1 (got {max_parallel}).")
    nb = Path(notebooks) if notebooks else notebook_dir()
    pending = [r for r in plan.runs if not is_done(r)]
    summary = {
        "plan": plan.name,
        "runs": len(plan.runs),
        "skipped": len(plan.runs) - len(pending),
        "executed": [],
        "report": plan.report,
    }
    summary["missing"] = missing_inputs(pending)
    if dry_run:
        summary["pending"] = [r.run_dir for r in pending]
        return summary
    if summary["missing"]:
        raise FileNotFoundError(
            f"plan '{plan.name}': nothing was run; its pending runs need files that are not "
            "there:\n  " + "\n  ".join(summary["missing"])
        )
    from ..train.lock import RunLock

    busy = (
        "Another suite (pid {holder}) is running this plan's runs in {dir}; two suites on one plan "
        "would train the same runs twice. Wait for it to finish or stop it (its finished runs "
        "stay), then start this one again."
    )
    with RunLock(plan.out, busy=busy):
        _run_pending(
            [r for r in plan.runs if not is_done(r)],
            nb,
            kernel,
            max_parallel,
            progress,
            plan.name,
            summary,
        )
        build_report(plan, nb, kernel)
    return summary


def _run_pending(
    pending: List[RunSpec],
    nb: Path,
    kernel: str,
    max_parallel: int,
    progress: bool,
    name: str,
    summary: Dict[str, Any],
) -> None:
    import queue
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from ..utils.progress import progress_bar

    bar = progress_bar(total=len(pending), desc=f"suite {name}", unit="run", disable=not progress)
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
                # a failed run stops the suite (finished ones stay)
                summary["executed"].append(fut.result())
                bar.update(1)
        finally:
            for fut in futures:
                fut.cancel()
            bar.close()


def build_report(
    plan: Plan, notebooks: Optional[str | Path] = None, kernel: str = "python3"
) -> Path:
    """The plan's report folder from its runs (``04_results`` through papermill), with every
    run's records."""
    import papermill as pm

    nb = Path(notebooks) if notebooks else notebook_dir()
    report = Path(plan.report)
    report.mkdir(parents=True, exist_ok=True)
    # the report reads these copies: its links stay valid
    kept = keep_run_records(plan, report / "runs")
    pm.execute_notebook(
        str(nb / "04_results.ipynb"),
        str(report / "results.ipynb"),
        parameters={
            "run_dirs": [str(k.resolve()) for k in kept],
            "out_dir": str(report.resolve()),
            "title": plan.title,
            "baseline": plan.baseline,
            "contrasts": plan.contrasts,
            "smallest_effect": plan.smallest_effect,
        },
        kernel_name=kernel,
        progress_bar=False,
        cwd=str(report),
        kernel_manager_class=ipc_kernel_manager(),
    )
    return report


@functools.lru_cache(maxsize=None)
def ipc_kernel_manager():
    """jupyter_client's kernel manager speaking over local IPC sockets (files only this user can
    open) instead of TCP ports: the notebooks' kernels then neither listen on the network nor
    warn about it, once per run."""
    import os
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

        @default(
            "ip"
        )  # an absolute socket path: the kernel starts in the run's folder, not the client's
        def _default_ip(self) -> str:
            os.makedirs(jupyter_runtime_dir(), exist_ok=True)
            return os.path.join(jupyter_runtime_dir(), f"mosaic-kernel-{uuid.uuid4().hex[:12]}")

    return IPCKernelManager
