"""The package's shape: imports run only downward, and a method is one module plus one registry line (the
documentation's "Adding a method" example, executed as written, trains, evaluates and reloads)."""
import ast
import json
import re
from pathlib import Path

import pytest
import torch

from conftest import tiny_cfg
from mosaic_kit.config import all_keys, load_config, parse_set
from mosaic_kit.methods import build_model, get_method, parameter_report, register_method, unregister_method
from mosaic_kit.models.backbone import create_backbone

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mosaic_kit"

#: Bottom to top; a unit may import its own layer and the ones below.
LAYERS = [
    {"registry", "config", "options", "coerce", "atomic", "npzfile", "checkpoint", "environment", "metrics", "distributed", "hub",
     "custom", "paths", "stats", "__version__"},
    {"data"},
    {"models"},  # know no method
    {"methods"},
    {"evaluate", "results", "outputs"},
    {"runs", "bundle", "model_card"},
    {"train"},
    {"reports", "plots", "viz", "workbench", "plan", "suite", "predict", "export", "cluster"},
    {"cli", "commands", "explorer", "__main__", "__init__"},
]
LAYER = {unit: i for i, units in enumerate(LAYERS) for unit in units}


def _imports(path: Path):
    """Units of the package that ``path`` imports (module level or inside functions)."""
    rel = path.relative_to(PACKAGE).with_suffix("")
    pkg = ["mosaic_kit", *rel.parts[:-1]]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                mod = pkg[: len(pkg) - node.level + 1] + (node.module.split(".") if node.module else [])
            elif (node.module or "").startswith("mosaic_kit"):
                mod = node.module.split(".")
            else:
                continue
            yield from ([mod[1]] if len(mod) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            yield from (a.name.split(".")[1] for a in node.names if a.name.startswith("mosaic_kit."))


def test_imports_only_run_downward():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        assert unit in LAYER, f"{unit} is in no layer of tests/test_architecture.py: place it"
        for dep in set(_imports(path)) - {unit}:
            if LAYER[dep] > LAYER[unit]:
                problems.append(f"{path.relative_to(ROOT)} imports {dep} (layer {LAYER[dep]} > {LAYER[unit]})")
    assert not problems, "\n".join(problems)


def test_models_know_no_method_and_methods_no_trainer():
    for sub, banned in (("models", {"methods", "train"}), ("methods", {"train"})):
        for path in (PACKAGE / sub).rglob("*.py"):
            assert not banned & set(_imports(path)), path


def test_no_module_over_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 300}
    assert not long, long


@pytest.fixture
def gain_method():
    """The documentation's example method (docs/methods.md), defined by executing its code block, registered at
    runtime."""
    text = (ROOT / "docs" / "methods.md").read_text()
    section = text.split("## Adding a method", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "docs/methods.md (Adding a method)", "exec"), ns)
    method = register_method(ns["Gain"]())
    yield method
    unregister_method("gain")


def test_readme_example_method_trains_evaluates_and_reloads(tmp_path, gain_method):
    from mosaic_kit.runs import evaluate_run, load_run
    from mosaic_kit.train import train

    assert "gain_init" in all_keys() and parse_set(["gain_init=0.25"]) == {"gain_init": 0.25}
    with pytest.raises(ValueError, match=r"gain_init must be in \[-1, 1\] \(got 3.0\)"):
        tiny_cfg(tmp_path, method="gain", gain_init=3.0)

    cfg = tiny_cfg(tmp_path, method="gain", datasets=["pathmnist", "adrenalmnist3d"], rounds=2,
                   steps_per_dataset=4, eval_max_samples=32)
    model, _ = build_model(cfg)
    depth, dim = len(model.vit.blocks), model.embed_dim
    report = parameter_report(model)
    assert report["components"]["gain"] == {"trainable": depth * dim, "total": depth * dim}
    assert all(get_method("gain").trainable(n, model, cfg) == p.requires_grad for n, p in model.named_parameters())
    with torch.random.fork_rng(devices=[]):  # gain 0: the model starts as the frozen backbone
        torch.manual_seed(cfg.seed)
        bare = create_backbone(cfg.backbone, None, cfg.img_size).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.eval().forward_features(x, "pathmnist"), bare.forward_features(x)[:, 0])

    run = train(cfg, progress=False)
    res = json.loads((run / "results.json").read_text())
    assert res["config"]["method"] == "gain" and res["config"]["gain_init"] == 0.0
    assert res["params"]["components"]["gain"]["trainable"] == depth * dim
    loaded = load_run(run)
    assert any(torch.count_nonzero(p) for n, p in loaded.model.named_parameters() if ".gain." in n)  # it trained
    again = evaluate_run(run)
    assert again["datasets"] == res["datasets"]


def test_unregistered_method_keys_are_unknown_again(gain_method):
    unregister_method("gain")
    try:
        with pytest.raises(ValueError, match="Unknown configuration key 'gain_init'"):
            load_config(overrides={"gain_init": 0.1})
        assert "gain_init" not in load_config().to_dict()
    finally:
        register_method(gain_method)


def test_method_options_clash_is_refused():
    from dataclasses import dataclass

    from mosaic_kit.config import Options, option
    from mosaic_kit.methods import Method

    @dataclass
    class Clash(Options):
        lora_rank: int = option(3, "clashes with lora's key")

    class Bad(Method):
        name, options = "bad", Clash

    with pytest.raises(ValueError, match="Option 'lora_rank' of Clash is already a key of LoraOptions"):
        register_method(Bad())
    assert "bad" not in get_method.__globals__["METHODS"]


def _to_format_1(path: Path, method: str) -> None:
    """Rewrite a checkpoint as mosaic_kit 0.1 wrote it: every side module under ``mos``, no ``format``."""
    from mosaic_kit.checkpoint import load_tensors, save_tensors

    renames = get_method(method).legacy_renames
    groups, meta = load_tensors(path)
    if "format" not in meta:
        return  # already as 0.1 wrote it
    old = {}
    for group, tensors in groups.items():
        old[group] = {}
        for name, t in tensors.items():
            for before, after in renames:
                name = name.replace(after, before)
            old[group][name] = t
    meta.pop("format")
    meta["method"] = {"gmoe-shared": "gmoe"}.get(method, method)  # the one-backbone GMoE's name before format 3
    save_tensors(path, old, meta)


@pytest.mark.parametrize("method", ["adapter", "gmoe-shared"])
def test_checkpoints_of_the_previous_layout_resume_and_evaluate(tmp_path, method):
    """Runs written before side modules were named for their method (format 1) resume exactly and evaluate."""
    from mosaic_kit.checkpoint import load_tensors
    from mosaic_kit.runs import evaluate_run
    from mosaic_kit.train import train

    kw = dict(method=method, rounds=2, steps_per_dataset=2, eval_max_samples=16, adapter_bottleneck=6,
              gmoe_bottleneck=6)
    ref = train(tiny_cfg(tmp_path / "ref", **kw), progress=False)
    run = train(tiny_cfg(tmp_path / "old", **kw), progress=False, stop_after_rounds=1)
    for name in ("last", "best"):
        _to_format_1(run / f"{name}.safetensors", method)
    assert any(".mos." in k for k in load_tensors(run / "last.safetensors")[0]["student"])
    train(tiny_cfg(tmp_path / "old", **kw), resume=True, progress=False)
    a, b = (json.loads((r / "results.json").read_text()) for r in (run, ref))
    assert a["datasets"] == b["datasets"] and a["teacher"]["datasets"] == b["teacher"]["datasets"]
    _to_format_1(run / "best.safetensors", method)
    if method == "gmoe-shared":  # and its run directory named it so too
        (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("method: gmoe-shared", "method: gmoe"))
    again = json.loads(json.dumps(evaluate_run(run)["datasets"]))  # NaN AUCs compare equal after a JSON round trip
    assert again == b["datasets"]
