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
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..utils.atomic import atomic_write_bytes
from ..utils.json_file import read_json_object
from .cluster_jobs import Resources, RunJob, submission_script
from .suite import Plan, build_report, is_done, notebook_dir

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


def _executor(folder: Path, resources: Resources, cluster: str):
    import submitit

    ex = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    ex.update_parameters(**resources.executor_parameters())
    return ex


_JOB_FIX = (
    "Restore it, or delete it once no job of this run is queued or running (squeue): the next "
    "submission then starts the run again from its last checkpoint."
)


def _state(run_dir: Path) -> Optional[str]:
    """The SLURM (or local) state of the run's last job, from ``RUN/job.json``; None if it has
    none."""
    import submitit

    record = run_dir / "job.json"
    if not record.is_file():
        return None
    info = read_json_object(record, _JOB_FIX)
    if not all(isinstance(info.get(k), str) for k in ("folder", "job_id")):
        raise ValueError(f"{record} lacks the job's folder or id. {_JOB_FIX}")
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
                    "job": read_json_object(run / "job.json", _JOB_FIX)["job_id"],
                    "state": state,
                }
            )
            continue
        run.mkdir(parents=True, exist_ok=True)
        job = ex.submit(RunJob(spec, nb, kernel, resources.gpus_per_run))
        atomic_write_bytes(
            run / "job.json",
            json.dumps(
                {
                    "job_id": job.job_id,
                    "folder": str(folder),
                    "cluster": cluster,
                    "previous_state": state,
                }
            ).encode(),
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
