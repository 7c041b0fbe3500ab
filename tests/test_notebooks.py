"""Every notebook runs headless through papermill on the embedded data with a tiny backbone, and
the suite runner regenerates a report from a plan (skipping finished runs)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

papermill = pytest.importorskip("papermill", reason="the notebook stack is the `notebooks` extra")

from mosaic_kit.experiments.suite import load_plan, notebook_dir, run_suite  # noqa: E402

NB = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NB.glob("*.ipynb"))
TINY = {
    "backbone": "test_vit",
    "img_size": 32,
    "vol_size": 16,
    "bottleneck_a": 8,
    "bottleneck_b": 12,
    "bottleneck_c": 16,
    "batch_size": 8,
    "steps_per_dataset": 3,
    "rounds": 2,
    "warmup_steps": 2,
    "eval_max_samples": 48,
    "datasets": ["pathmnist", "breastmnist", "adrenalmnist3d"],
}


def _execute(name: str, target: Path, **parameters) -> nbformat.NotebookNode:
    papermill.execute_notebook(
        str(NB / name),
        str(target),
        parameters=parameters,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(target.parent),
    )
    return nbformat.read(target, as_version=4)


def _outputs(book, mime: str) -> list:
    return [
        o["data"][mime]
        for c in book.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if mime in o.get("data", {})
    ]


def _printed(book) -> str:
    """Everything a notebook's code cells printed."""
    return "".join(
        o.get("text", "") for c in book.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )


def test_notebooks_are_clean_and_parametrized():
    assert [p.name for p in NOTEBOOKS] == [
        "01_train.ipynb",
        "02_attention.ipynb",
        "03_subspaces.ipynb",
        "04_results.ipynb",
        "05_explorer.ipynb",
    ]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        assert book.metadata.kernelspec.name == "python3"
        tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        code = [c for c in book.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), (
            f"{path.name} has outputs in git"
        )
        # papermill --help-notebook lists every parameter (it skips a line with a second '=', e.g.
        # in its comment)
        import ast

        from papermill.translators import PythonTranslator

        assigned = [
            t.id
            for node in ast.parse(tagged[0].source).body
            if isinstance(node, ast.Assign)
            for t in node.targets
        ]
        assert [p.name for p in PythonTranslator.inspect(tagged[0])] == assigned, path.name
    assert notebook_dir() == NB


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nb")
    run = tmp / "run"
    book = _execute("01_train.ipynb", tmp / "train.ipynb", out=str(run), overrides=TINY)
    return run, book


def test_train_notebook(trained):
    run, book = trained
    for f in (
        "config.yaml",
        "metrics.jsonl",
        "best.safetensors",
        "results.json",
        "results.md",
        "figures/curves.png",
        "figures/test_scores.png",
    ):
        assert (run / f).is_file(), f
    res = json.loads((run / "results.json").read_text())
    assert set(res["datasets"]) == set(TINY["datasets"]) and res["config"]["rounds"] == 2
    assert len(_outputs(book, "image/png")) >= 2  # live curves + test score bars
    assert any("| breastmnist |" in md for md in _outputs(book, "text/markdown"))
    streams = "".join(
        o.get("text", "")
        for c in book.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )
    steps = 2 * 3 * len(TINY["datasets"])
    # a text bar, readable in the saved notebook
    assert "train: 100%" in streams and f"{steps}/{steps}" in streams


def test_attention_notebook(trained, tmp_path):
    run, _ = trained
    book = _execute(
        "02_attention.ipynb",
        tmp_path / "att.ipynb",
        run_dir=str(run),
        n_samples=2,
        ig_steps=8,
        forced_limit=32,
    )
    # one dataset per specialist (A, B, C) x (rollout, student/teacher, captum)
    assert len(_outputs(book, "image/png")) == 9
    table = next(md for md in _outputs(book, "text/markdown") if "| dataset |" in md)
    assert table.count("★") == 3 and table.splitlines()[0] == "| dataset | A | B | C | none |"


def test_subspaces_notebook(trained, tmp_path):
    run, _ = trained
    book = _execute(
        "03_subspaces.ipynb",
        tmp_path / "sub.ipynb",
        run_dir=str(run),
        n_per_dataset=16,
        cka_samples=16,
    )
    # PCA + t-SNE + 3 layers + angles + CKA 2D + CKA 3D + datasets' output subspaces
    assert len(_outputs(book, "image/png")) == 9
    printed = _printed(book)
    # the baseline beside each specialist pair's observed angle
    assert printed.count("random subspaces") == 3
    assert (
        printed.count("random 8-dim subspaces") == 3
        and printed.count("(different specialists)") == 3
    )


def test_subspaces_notebook_on_a_runs_initial_model(trained, tmp_path):
    """checkpoint="initial": the run's model before its first step, rebuilt from its seed."""
    run, _ = trained
    book = _execute(
        "03_subspaces.ipynb",
        tmp_path / "sub.ipynb",
        run_dir=str(run),
        checkpoint="initial",
        n_per_dataset=16,
        cka_samples=16,
        tsne=False,
    )
    printed = _printed(book)
    assert f"{run} (at initialisation, rebuilt from seed" in printed
    assert len(_outputs(book, "image/png")) >= 2


def test_attention_and_subspace_notebooks_show_the_gate_of_gmoe(tmp_path):
    """A two-backbone gmoe run: both notebooks run through and show each sample's gate weights."""
    import torch
    from conftest import tiny_cfg
    from safetensors.torch import save_file

    from mosaic_kit.models.backbone import create_backbone
    from mosaic_kit.train import train

    torch.manual_seed(5)
    save_file(
        create_backbone("test_vit", None, 32).state_dict(), str(tmp_path / "medical.safetensors")
    )
    run = train(
        tiny_cfg(
            tmp_path,
            method="gmoe",
            gmoe_medical_weights=str(tmp_path / "medical.safetensors"),
            eval_max_samples=32,
        ),
        progress=False,
    )
    book = _execute(
        "03_subspaces.ipynb", tmp_path / "sub.ipynb", run_dir=str(run), n_per_dataset=8, tsne=False
    )
    printed = _printed(book)
    assert "method 'gmoe' has no specialists: sections 3 and 4 are skipped" in printed
    # PCA, 3 layers, output subspaces, the gate figure
    assert len(_outputs(book, "image/png")) == 1 + 3 + 1 + 1
    assert "random 7-dim subspaces" in printed  # 8 samples per dataset leave 7 directions
    book = _execute(
        "02_attention.ipynb",
        tmp_path / "att.ipynb",
        run_dir=str(run),
        n_samples=2,
        ig_steps=4,
        forced_limit=16,
    )
    table = next(md for md in _outputs(book, "text/markdown") if "| sample |" in md)
    # one dataset (one path), 2 samples
    assert (
        table.splitlines()[0] == "| dataset | sample | general | medical |"
        and len(table.splitlines()) == 2 + 2
    )


def test_results_notebook(trained, tmp_path):
    run, _ = trained
    out = tmp_path / "report"
    _execute(
        "04_results.ipynb",
        tmp_path / "res.ipynb",
        run_dirs=[str(run)],
        out_dir=str(out),
        title="tiny",
    )
    md = (out / "results.md").read_text()
    assert "| breastmnist |" in md and "| mean 3D (1 dataset) |" in md
    # no published columns
    assert "ResNet-18 (28 px)" not in md and "left out: these runs used synthetic data" in md
    for f in ("results.csv", "results.tex", "acc.png", "auc.png"):
        assert (out / f).stat().st_size > 0


def test_explorer_notebook_without_a_run(tmp_path):
    book = _execute(
        "05_explorer.ipynb",
        tmp_path / "ex.ipynb",
        overrides={k: v for k, v in TINY.items() if k not in ("rounds", "steps_per_dataset")},
    )
    assert _outputs(book, "application/vnd.jupyter.widget-view+json")


def test_suite_runs_plan_skips_done_runs_and_rebuilds_report(tmp_path):
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(
        json.dumps(
            {
                "name": "t",
                "preset": "cpu-tiny",
                "overrides": {**{k: v for k, v in TINY.items() if k != "datasets"}, "rounds": 1},
                "methods": ["mos"],
                "datasets": [{"name": "pair", "datasets": ["breastmnist", "adrenalmnist3d"]}],
                "seeds": [1, 2],
                "out": "runs",
                "report": "report",
                "baseline": "mos",
            }
        )
    )
    plan = load_plan(plan_file, root=tmp_path)
    # handed to the results notebook: the label its lever table compares against
    assert plan.baseline == "mos"
    assert [Path(r.run_dir).relative_to(tmp_path).as_posix() for r in plan.runs] == [
        "runs/mos/pair/seed1",
        "runs/mos/pair/seed2",
    ]
    # two at once, each on a share of the threads
    summary = run_suite(plan, progress=False, max_parallel=2)
    assert (
        sorted(summary["executed"]) == sorted(r.run_dir for r in plan.runs)
        and summary["skipped"] == 0
    )
    threads = {
        json.loads((Path(r.run_dir) / "results.json").read_text())["config"]["threads"]
        for r in plan.runs
    }
    assert threads == {max(1, (os.cpu_count() or 1) // 2)}
    for r in plan.runs:
        assert (Path(r.run_dir) / "train.ipynb").is_file() and (
            Path(r.run_dir) / "suite.json"
        ).is_file()
    md = (tmp_path / "report" / "results.md").read_text()
    assert "mos: 2 runs" in md and "±" in md
    assert (tmp_path / "report" / "results.ipynb").is_file()
    assert run_suite(load_plan(plan_file, root=tmp_path), dry_run=True)["pending"] == []
    # each number's run record beside the report
    kept = tmp_path / "report" / "runs" / "mos" / "pair" / "seed2"
    assert json.loads((kept / "results.json").read_text()) == json.loads(
        (tmp_path / "runs" / "mos" / "pair" / "seed2" / "results.json").read_text()
    )
    assert (kept / "config.yaml").is_file() and (kept / "suite.json").is_file()
    # the report lists (and read) the copies committed with it
    assert "- `runs/mos/pair/seed2`" in md
    # one more seed
    plan_file.write_text(plan_file.read_text().replace('"seeds": [1, 2]', '"seeds": [1, 2, 3]'))
    r = subprocess.run(
        [sys.executable, "-m", "mosaic_kit", "suite", "--plan", str(plan_file), "--report-only"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    # the notebooks' kernels speak over local IPC sockets, not TCP
    assert "without encryption" not in r.stderr
    assert (
        "(2 of 3 runs finished)" in (tmp_path / "report" / "results.md").read_text().splitlines()[0]
    )
    assert "mos: 2 runs" in r.stdout + (tmp_path / "report" / "results.md").read_text()
    assert not (tmp_path / "runs" / "mos" / "pair" / "seed3").exists()  # nothing trained


def test_plan_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("methods: [mos]\ndatasets: [all]\nseeds: [1]\nsedes: [2]\n")
    with pytest.raises(ValueError, match=r"unknown keys \['sedes'\]"):
        load_plan(bad)
    bad.write_text("methods: [mos]\ndatasets: [all]\nseeds: [1]\noverrides: {lr: -1}\n")
    with pytest.raises(ValueError, match="lr must be >= 0"):
        load_plan(bad)
    bad.write_text("methods: [mos]\ndatasets: []\nseeds: [1]\n")
    with pytest.raises(ValueError, match="non-empty 'datasets'"):
        load_plan(bad)


@pytest.mark.parametrize(
    "plan, runs", [("cpu-small", 3), ("paper", 3), ("paper-zoo", 24), ("zoo-real-cpu", 7)]
)
def test_shipped_plans_are_valid(plan, runs):
    p = load_plan(Path(__file__).resolve().parents[1] / "plans" / f"{plan}.yaml")
    assert len(p.runs) == runs
    if plan != "zoo-real-cpu":
        assert {r.seed for r in p.runs} == {42, 123, 456}


def test_suite_resumes_an_interrupted_run_and_sets_aside_a_stale_one(tmp_path):
    from mosaic_kit.config import load_config
    from mosaic_kit.train import train

    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(
        json.dumps(
            {
                "name": "t",
                "preset": "cpu-tiny",
                "overrides": {k: v for k, v in TINY.items() if k != "datasets"},
                "methods": ["mos"],
                "datasets": [{"name": "one", "datasets": ["breastmnist"]}],
                "seeds": [1],
                "out": "runs",
                "report": "report",
            }
        )
    )
    spec = load_plan(plan_file, root=tmp_path).runs[0]
    cfg = load_config("cpu-tiny", overrides={**spec.parameters["overrides"], "out": spec.run_dir})
    # killed after round 1 of 2: a checkpoint, no results
    train(cfg, progress=False, stop_after_rounds=1)
    run = Path(spec.run_dir)
    assert (run / "last_state.pt").is_file() and not (run / "results.json").exists()
    rounds_before = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    run_suite(load_plan(plan_file, root=tmp_path), progress=False)
    book = nbformat.read(run / "train.ipynb", as_version=4)
    assert "resume = True" in "".join(c.source for c in book.cells)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[: len(rounds_before)] == rounds_before  # round 1 kept, not retrained
    assert sorted({r["round"] for r in records if r.get("kind") == "round"}) == [0, 1]
    assert (run / "results.json").is_file()
    # the plan entry changes (another lr): the finished run is moved aside, not overwritten or
    # refused
    plan_file.write_text(plan_file.read_text().replace('"rounds": 2', '"rounds": 1'))
    run_suite(load_plan(plan_file, root=tmp_path), progress=False)
    assert (run.parent / "seed1.replaced-1" / "results.json").is_file() and (
        run / "results.json"
    ).is_file()


def _fake_project(tmp_path: Path, run: Path) -> Path:
    """A checkout's shape: pyproject.toml of mosaic_kit, notebooks/, and runs/demo (the run)."""
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "runs").mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "mosaic_kit"\n')
    (root / "runs" / "demo").symlink_to(run, target_is_directory=True)
    return root


def test_relative_paths_mean_the_project_root_from_either_launch_folder(tmp_path, monkeypatch):
    from mosaic_kit.utils.project import in_project, project_root

    root = _fake_project(tmp_path, tmp_path)
    for start in (root, root / "notebooks"):  # `jupyter lab` and `jupyter lab notebooks/`
        monkeypatch.chdir(start)
        assert project_root() == root.resolve()
        assert in_project("runs/demo") == tmp_path.resolve()
        assert in_project("runs/new", exists=False) == root.resolve() / "runs" / "new"
        with pytest.raises(FileNotFoundError) as err:
            in_project("runs/dmeo", what="run directory")
        assert "run directory 'runs/dmeo' not found; looked in:" in str(err.value)
        assert str(root.resolve() / "runs" / "dmeo") in str(err.value)


@pytest.mark.parametrize("folder", [".", "notebooks"])
def test_the_explorer_opens_runs_demo_from_either_launch_folder(trained, tmp_path, folder):
    run, _ = trained
    start = _fake_project(tmp_path, run) / folder
    book = _execute("05_explorer.ipynb", start / "ex.ipynb", run_dir="runs/demo")
    assert _outputs(book, "application/vnd.jupyter.widget-view+json")
    with pytest.raises(papermill.PapermillExecutionError, match="does not exist|not found"):
        _execute("05_explorer.ipynb", start / "missing.ipynb", run_dir="runs/nothing")
