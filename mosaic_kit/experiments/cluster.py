"""Suites on a SLURM cluster through submitit: ``suite --plan P --executor slurm``.

Each pending run is one job with the plan's resources (its ``slurm:`` mapping, CLI flags on top).
A job that hits its time limit or is preempted is requeued by submitit (``RunJob.checkpoint``)
and the rerun continues from the run's last checkpoint (``train --resume``; at most the current
round is repeated). A run with several GPUs starts one process per GPU inside its job
(``tasks_per_node = gpus``), each joining the process group from SLURM's variables as under
torchrun. Re-invoking the suite skips finished runs, leaves queued and running jobs alone,
resubmits failed ones and prints a table of states; the report is built once every run has
finished.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Dict, List, Optional

from .suite import Plan, RunSpec, _execute, build_report, is_done, notebook_dir

__all__ = ["Resources", "RunJob", "run_on_cluster", "submission_script", "ACTIVE"]

#: SLURM states in which a job is still on its way: never resubmitted.
ACTIVE = {
    "PENDING",
    "RUNNING",
    "REQUEUED",
    "CONFIGURING",
    "COMPLETING",
    "RESIZING",
    "SUSPENDED",
    "UNKNOWN",
}


@dataclass
class Resources:
    """What one run asks SLURM for."""

    gpus_per_run: int = 1
    cpus_per_run: int = 8
    mem_gb: int = 32
    time_min: int = 240
    partition: Optional[str] = None
    account: Optional[str] = None

    @classmethod
    def from_plan(cls, plan: Plan, overrides: Optional[Dict[str, Any]] = None) -> "Resources":
        values = {**plan.slurm, **{k: v for k, v in (overrides or {}).items() if v is not None}}
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(
                f"Plan slurm keys {sorted(unknown)} are unknown; use "
                f"{[f.name for f in fields(cls)]}."
            )
        res = cls(**values)
        if res.gpus_per_run < 0 or res.cpus_per_run < 1 or res.mem_gb < 1 or res.time_min < 1:
            raise ValueError(
                f"slurm resources must be positive (gpus_per_run may be 0): {asdict(res)}"
            )
        return res

    def executor_parameters(self) -> Dict[str, Any]:
        tasks = max(1, self.gpus_per_run)  # one process per GPU
        params: Dict[str, Any] = {
            "timeout_min": self.time_min,
            "mem_gb": self.mem_gb,
            "nodes": 1,
            "tasks_per_node": tasks,
            "cpus_per_task": max(1, self.cpus_per_run // tasks),
            "gpus_per_node": self.gpus_per_run,
            "slurm_signal_delay_s": 120,
        }
        if self.partition:
            params["slurm_partition"] = self.partition
        if self.account:
            params["slurm_account"] = self.account
        return params


class RunJob:
    """The function a job runs: train one run of the plan. Requeued (same run directory) on
    preemption or timeout; the rerun resumes from the last checkpoint."""

    def __init__(self, spec: RunSpec, notebooks: str, kernel: str, gpus: int) -> None:
        self.spec, self.notebooks, self.kernel, self.gpus = spec, notebooks, kernel, gpus

    def __call__(self) -> str:
        if self.gpus > 1:
            return self._distributed()
        _execute(self.spec, Path(self.notebooks), self.kernel, {}, print)
        return self.spec.run_dir

    def _distributed(self) -> str:
        """One process per GPU (a SLURM task each), process group from SLURM's variables, no
        notebook."""
        import submitit

        from ..config import load_config
        from ..train import train
        from ..utils.atomic import atomic_write_bytes

        env = (
            submitit.helpers.TorchDistributedEnvironment().export()
        )  # RANK, WORLD_SIZE, LOCAL_RANK, MASTER_*
        run = Path(self.spec.run_dir)
        p = self.spec.parameters
        cfg = load_config(p["preset"], overrides={**p["overrides"], "out": p["out"]})
        train(
            cfg,
            resume=(run / "last_state.pt").is_file() and not (run / "results.json").is_file(),
            progress=env.rank == 0,
        )
        if env.rank == 0:
            atomic_write_bytes(
                run / "suite.json", json.dumps(self.spec.fingerprint(), indent=1).encode()
            )
        return self.spec.run_dir

    def checkpoint(self, *args: Any, **kwargs: Any):
        """submitit's hook on time limit / preemption: submit this same run again (it resumes)."""
        import submitit

        return submitit.helpers.DelayedSubmission(self)


def _executor(folder: Path, resources: Resources, cluster: str):
    import submitit

    ex = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    ex.update_parameters(**resources.executor_parameters())
    return ex


def submission_script(resources: Resources, folder: str | Path = "slurm-logs") -> str:
    """The ``sbatch`` script submitit writes for one run with ``resources`` (to check what is
    asked for; made by submitit's own script builder, so no SLURM installation is needed)."""
    from submitit.slurm.slurm import _make_sbatch_string

    p = resources.executor_parameters()
    return _make_sbatch_string(
        "python -u -m submitit.core._submit",
        str(folder),
        job_name="mosaic_kit",
        time=p["timeout_min"],
        mem=f"{p['mem_gb']}GB",
        nodes=p["nodes"],
        ntasks_per_node=p["tasks_per_node"],
        cpus_per_task=p["cpus_per_task"],
        gpus_per_node=p["gpus_per_node"] or None,
        signal_delay_s=p["slurm_signal_delay_s"],
        partition=p.get("slurm_partition"),
        account=p.get("slurm_account"),
    )


def _state(run_dir: Path) -> Optional[str]:
    """The SLURM (or local) state of the run's last job, from ``RUN/job.json``; None if it has
    none."""
    import submitit

    record = run_dir / "job.json"
    if not record.is_file():
        return None
    info = json.loads(record.read_text())
    job_cls = (
        submitit.local.local.LocalJob
        if info.get("cluster") in ("local", "debug")
        else submitit.SlurmJob
    )
    try:
        return str(job_cls(folder=info["folder"], job_id=info["job_id"]).state)
    except Exception:  # noqa: BLE001 - a job the scheduler has forgotten: treat as ended
        return "UNKNOWN-ENDED"


def run_on_cluster(
    plan: Plan,
    resources: Resources,
    cluster: str = "slurm",
    notebooks: Optional[str] = None,
    kernel: str = "python3",
    wait: bool = False,
) -> Dict[str, Any]:
    """Submit every pending run of ``plan`` that has no job on its way; return the table of
    states. With ``wait`` (or when every run is finished) the report is built. ``cluster``:
    slurm, or submitit's local / debug executors (tests, a workstation)."""
    folder = Path(plan.report).parent / f"{Path(plan.report).name}-jobs"
    nb = str(Path(notebooks) if notebooks else notebook_dir())
    ex = _executor(folder, resources, cluster)
    table: List[Dict[str, Any]] = []
    jobs = []
    for spec in plan.runs:
        run = Path(spec.run_dir)
        if is_done(spec):
            table.append({"run": spec.run_dir, "job": "-", "state": "DONE"})
            continue
        state = _state(run)
        if state in ACTIVE and cluster == "slurm":
            table.append(
                {
                    "run": spec.run_dir,
                    "job": json.loads((run / "job.json").read_text())["job_id"],
                    "state": state,
                }
            )
            continue
        run.mkdir(parents=True, exist_ok=True)
        job = ex.submit(RunJob(spec, nb, kernel, resources.gpus_per_run))
        (run / "job.json").write_text(
            json.dumps(
                {
                    "job_id": job.job_id,
                    "folder": str(folder),
                    "cluster": cluster,
                    "previous_state": state,
                }
            )
        )
        jobs.append(job)
        table.append(
            {
                "run": spec.run_dir,
                "job": job.job_id,
                "state": "SUBMITTED" if state is None else f"RESUBMITTED (was {state})",
            }
        )
    if wait:
        for job in jobs:
            job.results()  # every task; raises the run's error
    if all(is_done(s) for s in plan.runs):
        build_report(plan, nb, kernel)
    return {
        "plan": plan.name,
        "table": table,
        "report": plan.report,
        "finished": sum(is_done(s) for s in plan.runs),
        "runs": len(plan.runs),
    }


def format_states(summary: Dict[str, Any]) -> str:
    rows = [("run", "job", "state")] + [
        (r["run"], str(r["job"]), r["state"]) for r in summary["table"]
    ]
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, width)) for r in rows]
    return "\n".join(
        lines
        + [
            f"{summary['finished']} of {summary['runs']} runs finished"
            + (
                f"; report in {summary['report']}"
                if summary["finished"] == summary["runs"]
                else "; run this command again to resubmit failed runs and build the report"
            )
        ]
    )
