"""Plans refuse what they would otherwise coerce or ignore: each case ends in one clear error that
names the key and how to write it, before any run."""

from __future__ import annotations

import pytest

from mosaic_kit.cli import main

BASE = "name: p\nmethods: [mos]\ndatasets: [breastmnist]\nseeds: [1]\n"


def _plan(tmp_path, text: str):
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "seeds, words",
    [
        ('"42"', "seeds: input should be a valid list (got '42')"),  # was seeds 4 and 2
        ("[1.5]", "seeds[0]: input should be a valid integer (got 1.5)"),  # was folder seed1.5
        ("[true]", "seeds[0]: input should be a valid integer (got True)"),
        ("true", "seeds: input should be a valid list (got True)"),
        ("[null]", "seeds[0]: input should be a valid integer (got None)"),
        ("[-3]", "greater than or equal to 0"),
    ],
)
def test_seeds_are_whole_numbers_never_converted(tmp_path, capsys, seeds, words):
    plan = _plan(tmp_path, BASE.replace("seeds: [1]", f"seeds: {seeds}"))
    assert main(["suite", "--plan", str(plan), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert words in err and "e.g. seeds: [42, 123, 456]" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "text, words",
    [
        (BASE.replace("[breastmnist]", "breastmnist"), "datasets: input should be a valid list"),
        (BASE + "seeds: [2]\n", "the key 'seeds' is written twice (lines 4 and 5)"),
        (BASE + "overrides: {seed: 3}\n", "overrides sets ['seed'], which the plan sets"),
        (BASE + "overrides: {out: x}\n", "overrides sets ['out']"),
        (
            BASE.replace("[mos]", "[{method: mos, label: m, overrides: {datasets: [x]}}]"),
            "methods entry 'm' sets ['datasets']",
        ),
        (BASE + "order: random\n", "order: input should be 'labels' or 'seeds'"),
        (BASE + "name2: x\n", "unknown keys ['name2'] (did you mean 'name'?)"),
    ],
)
def test_plan_mistakes_are_refused_by_name(tmp_path, capsys, text, words):
    assert main(["suite", "--plan", str(_plan(tmp_path, text)), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_an_output_that_is_a_file_fails_the_dry_run(tmp_path, capsys):
    (tmp_path / "taken").write_text("not a folder")
    plan = _plan(tmp_path, BASE + f"out: {tmp_path / 'taken'}\n")
    assert main(["suite", "--plan", str(plan), "--dry-run"]) == 2
    assert "is a file; the plan's runs need a folder there" in capsys.readouterr().err


def test_report_only_before_any_run_says_so(tmp_path, capsys):
    plan = _plan(tmp_path, BASE + f"out: {tmp_path / 'runs'}\nreport: {tmp_path / 'rep'}\n")
    assert main(["suite", "--plan", str(plan), "--report-only"]) == 2
    err = capsys.readouterr().err
    assert "none of its 1 runs has finished" in err and "Traceback" not in err
    assert not (tmp_path / "rep").exists()


def test_a_configuration_file_with_a_key_twice_is_refused(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lr: 0.1\nrounds: 2\nlr: 0.3\n")
    assert main(["train", "--preset", "cpu-tiny", "--config", str(cfg), "--dry-run"]) == 2
    assert "the key 'lr' is written twice (lines 1 and 3); keep one" in capsys.readouterr().err
