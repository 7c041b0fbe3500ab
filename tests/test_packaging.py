import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ]", req, maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [
        r for extra in project["optional-dependencies"].values() for r in extra
    ]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = {_name(r): r.replace(" ", "") for r in pip if not r.startswith("-e")}
    assert {_name(r): r.replace(" ", "") for r in wanted} == conda_pins


def test_cli_params_json_paper():
    out = subprocess.run(
        [sys.executable, "-m", "mosaic_kit", "params", "--preset", "paper", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    report = json.loads(out.stdout)
    assert report["trainable"] == 7_395_570 and 92e6 < report["total"] < 94e6


def test_cli_bad_input_is_one_clear_line():
    out = subprocess.run(
        [sys.executable, "-m", "mosaic_kit", "train", "--set", "datasets=breastmnst"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 2
    assert "Unknown dataset 'breastmnst'" in out.stderr and "Traceback" not in out.stderr


def test_version_is_set_in_one_place():
    import mosaic_kit

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mosaic_kit.__version__"}
    out = subprocess.run(
        [sys.executable, "-m", "mosaic_kit", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert out.stdout.strip() == f"mosaic_kit {mosaic_kit.__version__}"
    assert f"## {mosaic_kit.__version__} " in (ROOT / "CHANGELOG.md").read_text()
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["version"] == mosaic_kit.__version__ and citation["cff-version"] == "1.2.0"
    assert {"title", "authors", "message", "license"} <= set(citation)
    assert citation["license"] == project["project"]["license"]["text"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text().splitlines()[0]


def test_the_lock_pins_every_dependency_at_the_installed_version():
    """`make` installs with requirements.lock as constraints: every dependency of the project is
    pinned there, once, and this environment holds exactly those versions."""
    from importlib.metadata import version

    lock = [
        line
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line and line[0] != "#"
    ]
    pins = {_name(line): line.split("==")[1] for line in lock}
    assert all("==" in line and "@" not in line for line in lock) and len(pins) == len(lock)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [
        r for extra in project["optional-dependencies"].values() for r in extra
    ]
    # those: TORCH_SPEC (Makefile)
    unpinned = {_name(r) for r in wanted} - set(pins) - {"torch", "torchvision"}
    assert not unpinned, f"add to requirements.lock (make lock): {sorted(unpinned)}"
    off = {
        n: (pins[n], version(n))
        for n in {_name(r) for r in wanted} & set(pins)
        if version(n) != pins[n]
    }
    assert not off, f"installed versions differ from requirements.lock (pinned, installed): {off}"


def test_the_documentation_builds(tmp_path):
    """mkdocs builds the pages and the API reference from the docstrings, with no warning
    (--strict)."""
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "paired_difference" in api and "dataset_output_angles" in api and "write_report" in api
    assert "save_bundle" in api
    assert (tmp_path / "site" / "results" / "index.html").exists()
    # no dead link or image: mkdocs names each as "not found" (a warning, so --strict fails)
    assert "not found" not in out.stderr, out.stderr[-3000:]
    site = tmp_path / "site"
    for page in ("notebooks", "results", "index"):
        html = (site / page / "index.html") if page != "index" else site / "index.html"
        for target in re.findall(r'(?:href|src)="((?:\.\./)*repo/[^"#]+)', html.read_text()):
            assert (html.parent / target).resolve().exists(), (page, target)
    assert (site / "repo" / "reports" / "suite-cpu-small" / "acc.png").is_file()
    text = (site / "index.html").read_text()
    assert "A first session" in text and "The headline result" in text


def test_a_dead_link_fails_the_documentation_build(tmp_path):
    """The check can fail: a copy of the docs with one link to a missing report."""
    import shutil

    copy = tmp_path / "proj"
    shutil.copytree(ROOT / "docs", copy / "docs")
    shutil.copytree(ROOT / "docs_hooks", copy / "docs_hooks")
    shutil.copytree(
        ROOT / "benchmarks",
        copy / "benchmarks",
        ignore=lambda d, n: [x for x in n if not x.endswith(".md") and not (Path(d) / x).is_dir()],
    )
    (copy / "reports").mkdir()
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    index = copy / "docs" / "index.md"
    index.write_text(index.read_text() + "\n[gone](../reports/no-such-report/results.md)\n")
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        cwd=copy,
    )
    assert out.returncode != 0 and "no-such-report/results.md" in out.stderr


def test_train_dry_run_prints_the_resolved_configuration_and_writes_nothing(tmp_path, capsys):
    from mosaic_kit.cli import main

    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--preset",
                "cpu-tiny",
                "--set",
                "datasets=breastmnist,adrenalmnist3d",
                "--set",
                "tokenizer_3d_init=auto",
                "--out",
                str(out),
                "--dry-run",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    resolved = yaml.safe_load(text.split("\n\n")[0])
    assert (
        resolved["datasets"] == ["breastmnist", "adrenalmnist3d"]
        and resolved["tokenizer_3d_init"] == "random"
    )
    assert f"run directory: {out}" in text and "B: breastmnist; C: adrenalmnist3d" in text
    assert "3D files at 28^3 shown at 32^3" in text and not out.exists()


def test_training_starts_by_saying_what_it_will_do(tmp_path, capsys):
    from conftest import tiny_cfg

    from mosaic_kit.train import train

    train(
        tiny_cfg(
            tmp_path, datasets=["breastmnist"], rounds=1, steps_per_dataset=1, eval_max_samples=8
        )
    )
    cap = capsys.readouterr()
    said = cap.out + cap.err  # the summary through tqdm.write, above the progress bar
    assert f"run directory: {tmp_path / 'run'}" in said and "parameters trainable" in said
    assert "schedule: 1 rounds x 1 steps per dataset" in said


def test_cli_train_ends_with_the_results_table_and_the_run_figures(tmp_path, capsys):
    from mosaic_kit.cli import main

    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--preset",
                "cpu-tiny",
                "--set",
                "datasets=breastmnist",
                "--set",
                "rounds=1",
                "--set",
                "steps_per_dataset=2",
                "--set",
                "eval_max_samples=16",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    for name in ("curves.png", "test_scores.png"):
        assert (
            out / "figures" / name
        ).stat().st_size > 5_000 and f"figure: {out / 'figures' / name}" in text


def test_help_answers_without_importing_torch():
    """`--help` and every subcommand's help (its description and examples) come before any heavy
    import."""
    code = (
        "import sys; from mosaic_kit.cli import build_parser; p = build_parser(); h = "
        "p._subparsers._group_actions[0].choices['table'].format_help(); assert 'examples:' in h "
        "and '--label' in h, h; heavy = sorted(m for m in ('torch', 'timm', 'medmnist', "
        "'matplotlib') if m in sys.modules); assert not heavy, heavy"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    import mosaic_kit

    # methods' keys, lazily
    assert mosaic_kit.load_config("cpu-tiny", overrides={"lora_rank": 4}).lora_rank == 4
