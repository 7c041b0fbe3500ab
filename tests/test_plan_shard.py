"""benchmarks/plan_shard.py: a plan's runs trained in shards, without Jupyter, are the runs the
suite counts as finished, dealt once each over the shards."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import plan_shard  # noqa: E402

from mosaic_kit.experiments.suite import is_done, load_plan  # noqa: E402


def _plan(tmp_path) -> Path:
    plan = tmp_path / "p.yaml"
    plan.write_text(
        json.dumps(
            {
                "name": "p",
                "preset": "cpu-tiny",
                "overrides": {"rounds": 1, "steps_per_dataset": 2, "warmup_steps": 1},
                "methods": ["mos"],
                "datasets": ["breastmnist"],
                "seeds": [1, 2, 3],
                "out": str(tmp_path / "runs"),
            }
        )
    )
    return plan


def test_shards_train_every_run_once_as_finished_suite_runs(tmp_path, capsys):
    plan = _plan(tmp_path)
    assert plan_shard.main(["--plan", str(plan), "--shard", "1/2", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "shard 1/2: 1 of 3 pending runs" in out and out.count("\ndone ") == 1
    runs = load_plan(plan, root=tmp_path).runs
    assert [is_done(r) for r in runs] == [False, True, False]  # runs 1, 3, ... of shard 1 of 2
    assert json.loads((Path(runs[1].run_dir) / "suite.json").read_text()) == runs[1].fingerprint()
    # shard 0, started alone later, deals over what is still pending: both remaining runs
    assert plan_shard.main(["--plan", str(plan), "--shard", "0/1", "--device", "cpu"]) == 0
    assert all(is_done(r) for r in load_plan(plan, root=tmp_path).runs)


def test_a_shard_out_of_range_is_refused(tmp_path):
    import pytest

    for shard in ("2/2", "1", "a/b"):
        with pytest.raises(SystemExit):
            plan_shard.main(["--plan", str(_plan(tmp_path)), "--shard", shard])
