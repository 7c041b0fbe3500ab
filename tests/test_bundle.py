"""Run bundles: a run saved with only its trainable tensors, a model card and the backbone named
by sha256; loaded by path or as hf:OWNER/NAME (the Hub client stood in by local fakes: no network
in tests)."""

import json
import shutil

import numpy as np
import pytest
import torch
import yaml
from conftest import tiny_cfg
from safetensors.torch import save_file

import mosaic_kit
from mosaic_kit.cli import main
from mosaic_kit.data.provenance import file_digest
from mosaic_kit.models.backbone import create_backbone
from mosaic_kit.share.bundle import push_to_hub, save_bundle
from mosaic_kit.train import train

DATASETS = ["breastmnist", "adrenalmnist3d"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bundle")
    torch.manual_seed(0)
    weights = tmp / "vit.safetensors"
    save_file(create_backbone("test_vit", None, 32).state_dict(), str(weights))
    run = train(
        tiny_cfg(
            tmp,
            datasets=DATASETS,
            weights=str(weights),
            rounds=1,
            steps_per_dataset=2,
            eval_max_samples=32,
        ),
        progress=False,
    )
    return run, weights


def _inputs():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), rng.integers(
        0, 256, (2, 28, 28, 28), dtype=np.uint8
    )


def test_a_bundle_holds_the_trainable_tensors_a_model_card_and_loads_to_the_same_predictions(
    trained, tmp_path
):
    run, weights = trained
    out = save_bundle(run, tmp_path / "b")
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "best.safetensors",
        "bundle.json",
        "config.yaml",
        "results.json",
    ]
    manifest = json.loads((out / "bundle.json").read_text())
    assert manifest["backbone"]["sha256"] == file_digest(weights, "sha256")
    assert manifest["files"]["best.safetensors"] == file_digest(out / "best.safetensors", "sha256")
    assert manifest["datasets"]["breastmnist"]["classes"] == {
        "0": "malignant",
        "1": "normal, benign",
    }
    assert manifest["datasets"]["adrenalmnist3d"]["specialist"] == "C"
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    # no path of this machine
    assert cfg["weights"] == "vit.safetensors" and cfg["data_root"] == "synthetic"
    from safetensors import safe_open

    with safe_open(
        str(out / "best.safetensors"), "pt"
    ) as f:  # trainable tensors only: no frozen backbone tensor
        keys = list(f.keys())
    assert any("tokenizer_3d" in k for k in keys) and not any("attn.qkv.weight" in k for k in keys)
    card = (out / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["library_name"] == "mosaic_kit" and "adrenalmnist3d" in meta["tags"]
    results = json.loads((run / "results.json").read_text())
    acc = 100 * results["datasets"]["breastmnist"]["test"]["acc"]
    row = next(line for line in card.splitlines() if line.startswith("| breastmnist |"))
    assert (
        f"| {acc:.1f} |" in row and "malignant" in card and manifest["backbone"]["sha256"] in card
    )
    # no licence claimed
    assert "breastmnist (the kit's synthetic stand-in); adrenalmnist3d (the kit" in card
    # medmnist's, for real files
    assert manifest["datasets"]["breastmnist"]["license"] == "CC BY 4.0"

    images, volumes = _inputs()
    original = mosaic_kit.load(run)
    with pytest.raises(FileNotFoundError, match=r"vit.safetensors.*sha256 .*--weights PATH"):
        mosaic_kit.load(out)
    loaded = mosaic_kit.load(out, weights=str(weights))
    for data, name in ((images, "breastmnist"), (volumes, "adrenalmnist3d")):
        a, b = original.predict(data, dataset=name), loaded.predict(data, dataset=name)
        assert [p.probabilities for p in a] == [p.probabilities for p in b]
    other = tmp_path / "other.safetensors"
    torch.manual_seed(1)
    save_file(create_backbone("test_vit", None, 32).state_dict(), str(other))
    with pytest.raises(ValueError, match="other frozen backbone weights"):
        mosaic_kit.load(out, weights=str(other))


def test_a_bundle_is_written_whole_or_not_at_all(trained, tmp_path, monkeypatch):
    run, _ = trained
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an empty folder"):
        save_bundle(run, tmp_path / "full")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr("mosaic_kit.share.bundle.model_card", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save_bundle(run, tmp_path / "new")
    # no bundle, no temporary folder left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]
    with pytest.raises(FileNotFoundError, match="last_state|missing"):
        save_bundle(tmp_path / "full", tmp_path / "x")


def test_hub_bundles_load_by_name_and_push_through_huggingface_hub(
    trained, tmp_path, monkeypatch, capsys
):
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    run, weights = trained
    pushed = {}

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, private=False, exist_ok=False):
            pushed["repo"], pushed["private"] = repo_id, private

        def upload_folder(self, folder_path, repo_id, commit_message):
            pushed["files"] = sorted(
                p.name for p in __import__("pathlib").Path(folder_path).iterdir()
            )
            return type(
                "Info", (), {"commit_url": f"https://huggingface.co/{repo_id}/commit/abc"}
            )()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    out = tmp_path / "b"
    assert (
        main(["bundle", str(run), "--out", str(out), "--push-to-hub", "me/demo", "--private"]) == 0
    )
    assert pushed == {
        "repo": "me/demo",
        "private": True,
        "files": ["README.md", "best.safetensors", "bundle.json", "config.yaml", "results.json"],
    }
    assert "commit/abc" in capsys.readouterr().out
    with pytest.raises(ValueError, match="not a bundle"):
        push_to_hub(run, "me/demo")

    asked = []

    def snapshot(repo_id, revision=None):
        asked.append((repo_id, revision))
        if repo_id != "me/demo":
            raise LocalEntryNotFoundError("offline")
        return str(out)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot)
    images, _ = _inputs()
    got = mosaic_kit.load("hf:me/demo@v1", weights=str(weights)).predict(
        images, dataset="breastmnist"
    )
    want = mosaic_kit.load(run).predict(images, dataset="breastmnist")
    assert asked == [("me/demo", "v1")] and [p.label for p in got] == [p.label for p in want]
    with pytest.raises(OSError, match="neither in the local Hugging Face cache nor reachable"):
        mosaic_kit.load("hf:me/missing")
    with pytest.raises(ValueError, match="write hf:OWNER/NAME"):
        mosaic_kit.load("hf:demo")
    # eval writes into the run folder: never into the Hub's cache
    assert main(["eval", "hf:me/demo"]) == 2
    assert "copy the bundle first" in capsys.readouterr().err


def test_an_independent_run_is_bundled_dataset_by_dataset(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"method": "mos", "independent": True}))
    (run / "results.json").write_text(json.dumps({"datasets": {}}))
    (run / "best.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match="bundle each dataset's run folder on its own"):
        save_bundle(run, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_a_bundle_checks_its_files_and_holds_no_path_of_its_machine(trained, tmp_path):
    run, weights = trained
    out = save_bundle(run, tmp_path / "b")
    manifest = json.loads((out / "bundle.json").read_text())
    shared = json.loads((out / "results.json").read_text())
    assert manifest["source_run"] == run.name
    for text in ((out / "bundle.json").read_text(), (out / "results.json").read_text()):
        assert str(tmp_path) not in text and str(run.parent) not in text
    assert (
        shared["config"]["out"] == "."
        and shared["datasets"] == json.loads((run / "results.json").read_text())["datasets"]
    )
    mosaic_kit.load(out, weights=str(weights))  # intact: loads
    # a stray checkpoint beside the bundle's own
    shutil.copy2(run / "last.safetensors", out / "last.safetensors")
    with pytest.raises(ValueError, match=r"last.safetensors is not part of the bundle"):
        mosaic_kit.load(out, weights=str(weights))
    # the bundle's checkpoint replaced by another of the same shape
    shutil.move(out / "last.safetensors", out / "best.safetensors")
    with pytest.raises(ValueError, match=r"best.safetensors is not the file the bundle was made"):
        mosaic_kit.load(out, weights=str(weights))
    # a manifest with a field missing or of the wrong type
    for broken in ({**manifest, "backbone": None}, {**manifest, "files": []}, [manifest]):
        (out / "bundle.json").write_text(json.dumps(broken))
        with pytest.raises(ValueError, match=r"is not a mosaic_kit bundle manifest"):
            mosaic_kit.load(out, weights=str(weights))
