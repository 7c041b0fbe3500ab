"""The package's shape: imports run only downward, and a method is one module plus one registry
line (the documentation's "Adding a method" example, executed as written, trains, evaluates and
reloads)."""

import ast
import json
import re
from pathlib import Path

import pytest
import torch
from conftest import tiny_cfg

from mosaic_kit.config import all_keys, load_config, parse_set
from mosaic_kit.methods import (
    build_model,
    get_method,
    parameter_report,
    register_method,
    unregister_method,
)
from mosaic_kit.models.backbone import create_backbone

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mosaic_kit"

#: The wings, bottom to top: a module imports its own wing and the wings below, never one above. The
#: root holds only the package's entry points, above every wing.
WINGS = [
    "utils",
    "data",
    "config",
    "models",
    "methods",
    "evaluation",
    "stats",
    "train",
    "viz",
    "reports",
    "share",
    "experiments",
    "app",
]
ROOT_ORDER = ["__init__", "__main__", "cli"]
ROOT_MODULES = set(ROOT_ORDER)
LEVEL = {
    **{w: i for i, w in enumerate(WINGS)},
    **{m: len(WINGS) for m in ROOT_MODULES},
    "__version__": -1,
}
MAX_LINES = 250


def _module_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = ["mosaic_kit", *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(base: list, name: str = "") -> str:
    """The package's module an import names: ``base`` (+ ``name`` where that is a module itself)."""
    for cand in (base + [name] if name else [], base):
        if cand and (
            (PACKAGE.joinpath(*cand[1:]).with_suffix(".py")).is_file()
            or (PACKAGE.joinpath(*cand[1:]) / "__init__.py").is_file()
        ):
            return ".".join(cand)
    return ".".join(base)


def _imported_modules(path: Path):
    """Modules of the package that ``path`` imports (module level or inside functions)."""
    rel = path.relative_to(PACKAGE).with_suffix("")
    pkg = ["mosaic_kit", *rel.parts[:-1]]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1] + (
                    node.module.split(".") if node.module else []
                )
            elif (node.module or "").startswith("mosaic_kit"):
                base = node.module.split(".")
            else:
                continue
            for a in node.names:
                yield _resolve(base, a.name)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("mosaic_kit."))


def _wing(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1] if (PACKAGE / parts[1]).is_dir() or parts[1] in ROOT_MODULES else parts[1]


def _graph():
    return {
        _module_of(p): {m for m in _imported_modules(p) if m != _module_of(p)}
        for p in PACKAGE.rglob("*.py")
    }


def test_the_root_holds_the_wings_and_the_entry_points_only():
    here = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    assert here == set(WINGS) | ROOT_MODULES, sorted(here ^ (set(WINGS) | ROOT_MODULES))
    for wing in WINGS:
        doc = ast.get_docstring(ast.parse((PACKAGE / wing / "__init__.py").read_text()))
        assert doc and doc.split("\n")[0].strip(), (
            f"{wing}/__init__.py must say in its first line what it holds"
        )


def test_imports_never_run_up_the_wings():
    problems = []
    for module, deps in _graph().items():
        for dep in deps:
            a, b = _wing(module), _wing(dep)
            if (
                dep == "mosaic_kit"
            ):  # ``from .. import __version__``: the version string, set above every import
                continue
            if LEVEL[b] > LEVEL[a]:
                problems.append(f"{module} ({a}) imports {dep} ({b}, above it)")
    assert not problems, "\n".join(sorted(problems))


def test_no_import_circles():
    graph = _graph()
    index, low, stack, on, circles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph or w == "mosaic_kit":
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, circles


def test_wing_order_catches_an_upward_import(tmp_path):
    """The check itself can fail: an import of the training wing from the data wing is named."""
    fake = PACKAGE / "data" / "_upward_probe.py"
    fake.write_text("from ..train import train\n")
    try:
        problems = [
            (m, d)
            for m, deps in _graph().items()
            for d in deps
            if LEVEL[_wing(d)] > LEVEL[_wing(m)] and d != "mosaic_kit"
        ]
        assert ("mosaic_kit.data._upward_probe", "mosaic_kit.train") in problems
    finally:
        fake.unlink()


def test_the_layout_page_is_written_from_the_code():
    from layout_doc import block, current_block

    assert current_block() == block(WINGS, ROOT_ORDER), (
        "docs/layout.md is out of date: python tests/layout_doc.py"
    )


def test_models_know_no_method_and_methods_no_trainer():
    for sub, banned in (("models", {"methods", "train"}), ("methods", {"train"})):
        for path in (PACKAGE / sub).rglob("*.py"):
            assert not banned & {_wing(m) for m in _imported_modules(path)}, path


def test_no_module_over_the_line_cap():
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long


@pytest.fixture
def gain_method():
    """The documentation's example method (docs/methods.md), defined by executing its code block,
    registered at runtime."""
    text = (ROOT / "docs" / "methods.md").read_text()
    section = text.split("## Adding a method", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "docs/methods.md (Adding a method)", "exec"), ns)
    method = register_method(ns["Gain"]())
    yield method
    unregister_method("gain")


def test_readme_example_method_trains_evaluates_and_reloads(tmp_path, gain_method):
    from mosaic_kit.evaluation.rescore import evaluate_run
    from mosaic_kit.evaluation.runs import load_run
    from mosaic_kit.train import train

    assert "gain_init" in all_keys() and parse_set(["gain_init=0.25"]) == {"gain_init": 0.25}
    with pytest.raises(ValueError, match=r"gain_init must be in \[-1, 1\] \(got 3.0\)"):
        tiny_cfg(tmp_path, method="gain", gain_init=3.0)

    cfg = tiny_cfg(
        tmp_path,
        method="gain",
        datasets=["pathmnist", "adrenalmnist3d"],
        rounds=2,
        steps_per_dataset=4,
        eval_max_samples=32,
    )
    model, _ = build_model(cfg)
    depth, dim = len(model.vit.blocks), model.embed_dim
    report = parameter_report(model)
    assert report["components"]["gain"] == {"trainable": depth * dim, "total": depth * dim}
    assert all(
        get_method("gain").trainable(n, model, cfg) == p.requires_grad
        for n, p in model.named_parameters()
    )
    with torch.random.fork_rng(devices=[]):  # gain 0: the model starts as the frozen backbone
        torch.manual_seed(cfg.seed)
        bare = create_backbone(cfg.backbone, None, cfg.img_size).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            model.eval().forward_features(x, "pathmnist"), bare.forward_features(x)[:, 0]
        )

    run = train(cfg, progress=False)
    res = json.loads((run / "results.json").read_text())
    assert res["config"]["method"] == "gain" and res["config"]["gain_init"] == 0.0
    assert res["params"]["components"]["gain"]["trainable"] == depth * dim
    loaded = load_run(run)
    # it trained
    assert any(torch.count_nonzero(p) for n, p in loaded.model.named_parameters() if ".gain." in n)
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

    with pytest.raises(
        ValueError, match="Option 'lora_rank' of Clash is already a key of LoraOptions"
    ):
        register_method(Bad())
    assert "bad" not in get_method.__globals__["METHODS"]


def _to_format_1(path: Path, method: str) -> None:
    """Rewrite a checkpoint as mosaic_kit 0.1 wrote it: every side module under ``mos``, no
    ``format``."""
    from mosaic_kit.utils.checkpoint import load_tensors, save_tensors

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
    # the one-backbone GMoE's name before format 3
    meta["method"] = {"gmoe-shared": "gmoe"}.get(method, method)
    save_tensors(path, old, meta)


@pytest.mark.parametrize("method", ["adapter", "gmoe-shared"])
def test_checkpoints_of_the_previous_layout_resume_and_evaluate(tmp_path, method):
    """Runs written before side modules were named for their method (format 1) resume exactly and
    evaluate."""
    from mosaic_kit.evaluation.rescore import evaluate_run
    from mosaic_kit.train import train
    from mosaic_kit.utils.checkpoint import load_tensors

    kw = dict(
        method=method,
        rounds=2,
        steps_per_dataset=2,
        eval_max_samples=16,
        adapter_bottleneck=6,
        gmoe_bottleneck=6,
    )
    ref = train(tiny_cfg(tmp_path / "ref", **kw), progress=False)
    run = train(tiny_cfg(tmp_path / "old", **kw), progress=False, stop_after_rounds=1)
    for name in ("last", "best"):
        _to_format_1(run / f"{name}.safetensors", method)
    assert any(".mos." in k for k in load_tensors(run / "last.safetensors")[0]["student"])
    train(tiny_cfg(tmp_path / "old", **kw), resume=True, progress=False)
    a, b = (json.loads((r / "results.json").read_text()) for r in (run, ref))
    assert a["datasets"] == b["datasets"] and a["teacher"]["datasets"] == b["teacher"]["datasets"]
    _to_format_1(run / "best.safetensors", method)
    if method == "gmoe-shared":  # and its run directory named it so too, in both records
        (run / "config.yaml").write_text(
            (run / "config.yaml").read_text().replace("method: gmoe-shared", "method: gmoe")
        )
        (run / "results.json").write_text(
            (run / "results.json")
            .read_text()
            .replace('"method": "gmoe-shared"', '"method": "gmoe"')
        )
    # NaN AUCs compare equal after a JSON round trip
    again = json.loads(json.dumps(evaluate_run(run)["datasets"]))
    assert again == b["datasets"]
