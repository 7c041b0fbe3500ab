"""A run's own files read back: ``config.yaml`` must be what the run trained with (its
``results.json`` records it), ``metrics.jsonl`` may end in a row a killed writer had not finished,
``tracking.json`` is named when it is damaged."""

import json
import shutil

import pytest
import torch
from conftest import tiny_cfg

import mosaic_kit
from mosaic_kit.cli import main
from mosaic_kit.evaluation.config_check import read_run_config
from mosaic_kit.train import train
from mosaic_kit.train.log import read_log
from mosaic_kit.train.tracking import log_figures, open_tracker


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runfiles")
    torch.manual_seed(0)
    return train(
        tiny_cfg(
            tmp,
            datasets=["breastmnist"],
            rounds=1,
            steps_per_dataset=2,
            eval_max_samples=32,
        ),
        progress=False,
    )


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def _edit(run, key, value):
    path = run / "config.yaml"
    lines = path.read_text().splitlines()
    assert any(line.startswith(f"{key}:") for line in lines)
    path.write_text(
        "\n".join(f"{key}: {value}" if line.startswith(f"{key}:") else line for line in lines)
    )


def _cli(argv, capsys):
    rc = main(argv)
    return rc, capsys.readouterr().err


def test_an_intact_run_reads_back_and_an_explicit_override_still_evaluates(run, capsys):
    assert read_run_config(run)["adapter_scale"] == 0.1
    rc, _ = _cli(["eval", str(run), "--set", "adapter_scale=0.5"], capsys)
    assert rc == 0
    written = [p.name for p in run.glob("evaluation-*.json")]
    assert len(written) == 1
    assert json.loads((run / written[0]).read_text())["evaluation"]["overrides"] == {
        "adapter_scale": 0.5
    }


@pytest.mark.parametrize(
    "key, value, shown",
    [
        ("adapter_scale", 0.5, "adapter_scale: 0.5 (the run trained with 0.1)"),
        ("norm", "imagenet", "norm: 'imagenet'"),
    ],
)
def test_an_edited_config_yaml_is_refused_by_every_reader_naming_the_key(
    run, capsys, tmp_path, key, value, shown
):
    _edit(run, key, value)
    for argv in (["eval", str(run)], ["bundle", str(run), "--out", str(tmp_path / "b")]):
        rc, err = _cli(argv, capsys)
        assert rc == 2 and shown in err and "restore it" in err, err
    with pytest.raises(ValueError, match=key):
        mosaic_kit.load(run)
    assert not list(run.glob("evaluation-*.json")) and not (tmp_path / "b").exists()


def test_a_cut_short_or_empty_config_yaml_is_refused_not_filled_with_defaults(run, capsys):
    path = run / "config.yaml"
    text = path.read_text()
    path.write_text(text[: len(text) // 2].rsplit("\n", 1)[0] + "\n")
    rc, err = _cli(["eval", str(run)], capsys)
    assert rc == 2 and "lacks keys the run trained with" in err and "seed" in err, err
    path.write_text("")
    rc, err = _cli(
        ["predict", str(run), str(run / "config.yaml"), "--dataset", "breastmnist"], capsys
    )
    assert rc == 2 and "config.yaml is empty" in err, err


def test_eval_re_creates_the_scores_of_a_run_whose_results_json_is_damaged(run, capsys):
    results = run / "results.json"
    results.write_text(results.read_text()[:200])
    rc, err = _cli(["eval", str(run)], capsys)
    assert rc == 0, err
    scores = json.loads((run / "evaluation-best.json").read_text())
    assert 0.0 <= scores["datasets"]["breastmnist"]["test"]["acc"] <= 1.0


def test_a_log_row_the_writer_had_not_finished_is_left_out_and_a_damaged_one_is_named(tmp_path):
    rows = [{"kind": "step", "step": i, "round": 0, "loss": 0.5} for i in (1, 2, 3)]
    path = tmp_path / "metrics.jsonl"
    whole = "".join(json.dumps(r) + "\n" for r in rows)
    path.write_text(whole + json.dumps(rows[0])[:25])  # killed mid-row
    assert read_log(path) == rows
    path.write_text(whole + json.dumps(rows[0]))  # a last row whole, its newline not yet written
    assert len(read_log(path)) == 4
    lines = whole.splitlines()
    path.write_text("\n".join([lines[0], lines[1][:30], lines[2]]) + "\n")
    with pytest.raises(ValueError, match="line 2 is not a log row"):
        read_log(path)
    path.write_text(whole.replace('"kind": "step", ', "", 1))
    with pytest.raises(ValueError, match="line 1 is not a log row"):
        read_log(path)


def test_report_draws_a_run_whose_log_ends_mid_row_and_names_a_damaged_line(run, capsys):
    log = run / "metrics.jsonl"
    log.write_text(log.read_text() + '{"kind": "step", "st')
    rc, err = _cli(["report", str(run)], capsys)
    assert rc == 0, err
    log.write_text('{"kind": "step"\n' + log.read_text())
    rc, err = _cli(["report", str(run)], capsys)
    assert rc == 2 and "metrics.jsonl: line 1 is not a log row" in err, err


def test_a_damaged_tracking_record_is_named_with_what_deleting_it_costs(run):
    (run / "tracking.json").write_text("{")
    for call in (
        lambda: open_tracker("tensorboard", run, {}, resume_step=3),
        lambda: log_figures(run, []),
    ):
        with pytest.raises(ValueError, match="tracking.json cannot be read back"):
            call()
    (run / "tracking.json").write_text("[]")
    with pytest.raises(ValueError, match="Delete it"):
        log_figures(run, [])
