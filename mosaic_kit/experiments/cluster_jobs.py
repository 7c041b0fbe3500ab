"""A plan's run as a cluster job: its resources, the submitit job that runs the notebook, and the
equivalent sbatch script."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Dict, Optional

from .suite import Plan, RunSpec, _execute

__all__ = ["Resources", "RunJob", "submission_script"]


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

        # RANK, WORLD_SIZE, LOCAL_RANK, MASTER_*
        env = submitit.helpers.TorchDistributedEnvironment().export()
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
