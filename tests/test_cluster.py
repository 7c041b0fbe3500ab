"""Suites through submitit: the sbatch script carries the plan's resources, jobs run and write
their runs (submitit's debug executor stands in for SLURM here), re-invoking skips finished runs
and builds the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("submitit")
pytest.importorskip("papermill")

from mosaic_kit.cli import main  # noqa: E402
from mosaic_kit.experiments.cluster import (
    Resources,
    RunJob,
    format_states,
    run_on_cluster,
    submission_script,
)  # noqa: E402
from mosaic_kit.experiments.suite import is_done, load_plan  # noqa: E402

TINY = {
    "backbone": "test_vit",
    "img_size": 32,
    "vol_size": 16,
    "bottleneck_a": 8,
    "bottleneck_b": 12,
    "bottleneck_c": 16,
    "batch_size": 8,
    "steps_per_dataset": 2,
    "rounds": 1,
    "warmup_steps": 2,
    "eval_max_samples": 32,
    "tracker": "none",
}


def _plan(tmp_path, **slurm):
    f = tmp_path / "plan.yaml"
    f.write_text(
        json.dumps(
            {
                "name": "c",
                "preset": "cpu-tiny",
                "overrides": TINY,
                "methods": ["mos"],
                "datasets": [{"name": "b", "datasets": ["breastmnist"]}],
                "seeds": [1],
                "out": "runs",
                "report": "report",
                "slurm": slurm,
            }
        )
    )
    return f


def test_sbatch_script_carries_the_resources(tmp_path):
    plan = load_plan(
        _plan(tmp_path, gpus_per_run=4, cpus_per_run=32, mem_gb=64, time_min=90, partition="gpu"),
        root=tmp_path,
    )
    res = Resources.from_plan(plan, {"account": "medlab"})
    script = submission_script(res, tmp_path / "logs")
    for line in (
        "#SBATCH --gpus-per-node=4",
        "#SBATCH --ntasks-per-node=4",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=64GB",
        "#SBATCH --time=90",
        "#SBATCH --partition=gpu",
        "#SBATCH --account=medlab",
        "#SBATCH --signal=USR2@120",
    ):
        assert line in script, line
    with pytest.raises(ValueError, match=r"unknown; use"):
        Resources.from_plan(plan, {"gpus": 2})


def test_jobs_run_requeue_and_build_the_report(tmp_path):
    plan = load_plan(
        _plan(tmp_path, gpus_per_run=0, cpus_per_run=2, mem_gb=4, time_min=10), root=tmp_path
    )
    res = Resources.from_plan(plan)
    job = RunJob(plan.runs[0], str(Path(__file__).resolve().parents[1] / "notebooks"), "python3", 0)
    # on timeout / preemption the same run is submitted again
    assert job.checkpoint().function is job
    summary = run_on_cluster(plan, res, cluster="debug", wait=True)
    assert summary["table"][0]["state"] == "SUBMITTED" and summary["finished"] == 1
    assert is_done(plan.runs[0]) and (tmp_path / "report" / "results.md").is_file()
    again = run_on_cluster(
        load_plan(tmp_path / "plan.yaml", root=tmp_path), res, cluster="debug", wait=True
    )
    assert [r["state"] for r in again["table"]] == ["DONE"]
    assert "1 of 1 runs finished; report in" in format_states(again)


def test_suite_command_with_an_executor_prints_states(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = _plan(tmp_path, gpus_per_run=0)
    assert main(["suite", "--plan", str(f), "--executor", "slurm", "--slurm", "gpus=2"]) == 2
    assert "unknown" in capsys.readouterr().err
    assert main(["suite", "--plan", str(f), "--executor", "slurm", "--slurm", "partition"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_a_run_with_two_processes_joins_one_process_group(tmp_path):
    """The several-GPU path on CPU: two tasks of one job (submitit's local executor) train one
    run together (gloo), rank 0 writes it."""
    import dataclasses

    plan = load_plan(
        _plan(tmp_path, gpus_per_run=2, cpus_per_run=2, mem_gb=4, time_min=10), root=tmp_path
    )
    res = Resources.from_plan(plan)
    spec = plan.runs[0]
    spec = dataclasses.replace(
        spec,
        parameters={
            **spec.parameters,
            "overrides": {**spec.parameters["overrides"], "device": "cpu", "batch_size": 8},
        },
    )
    plan = dataclasses.replace(plan, runs=[spec])
    summary = run_on_cluster(plan, res, cluster="local", wait=True)
    assert summary["finished"] == 1
    log = [json.loads(x) for x in (Path(spec.run_dir) / "metrics.jsonl").read_text().splitlines()]
    assert sum(r["kind"] == "step" for r in log) == 2  # one round x 2 steps, logged once (rank 0)
    assert (Path(spec.run_dir) / "suite.json").is_file() and (
        tmp_path / "report" / "results.md"
    ).is_file()
    tasks = sorted(p.name.split("_")[1] for p in (tmp_path / "report-jobs").glob("*_log.out"))
    assert tasks == ["0", "1"]  # two processes ran the job


@pytest.mark.parametrize("text", ["{", '{"cluster": "debug"}'])
def test_a_damaged_job_record_is_named_before_anything_is_submitted(tmp_path, text):
    plan = load_plan(_plan(tmp_path, gpus_per_run=0), root=tmp_path)
    run = Path(plan.runs[0].run_dir)
    run.mkdir(parents=True)
    (run / "job.json").write_text(text)
    with pytest.raises(ValueError, match="job.json") as err:
        run_on_cluster(plan, Resources.from_plan(plan), cluster="debug", wait=True)
    assert "no job of this run is queued" in str(err.value)
    assert sorted(p.name for p in run.iterdir()) == ["job.json"]  # nothing submitted
