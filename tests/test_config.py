import pytest

from mosaic_kit.config import Config, available_presets, load_config, parse_set


def test_presets_load():
    assert {"paper", "cpu-tiny", "cpu-real"} <= set(available_presets())
    paper = load_config("paper")
    assert (paper.backbone, paper.img_size, paper.vol_size, paper.batch_size, paper.lr) == (
        "vit_base_patch16_224",
        224,
        64,
        32,
        1e-4,
    )
    assert (paper.bottleneck_a, paper.bottleneck_b, paper.bottleneck_c) == (64, 96, 192)
    assert (
        paper.ema_momentum,
        paper.ema_momentum_3d,
        paper.consistency_weight,
        paper.patience,
    ) == (0.9, 0.95, 0.1, 5)


def test_set_values_are_typed():
    got = parse_set(
        [
            "lr=3e-4",
            "datasets=breastmnist,adrenalmnist3d",
            "weights=none",
            "augment=false",
            "routing=tissuemnist:B",
            "rounds=7",
        ]
    )
    assert got == {
        "lr": 3e-4,
        "datasets": ["breastmnist", "adrenalmnist3d"],
        "weights": None,
        "augment": False,
        "routing": {"tissuemnist": "B"},
        "rounds": 7,
    }


def test_unknown_key_suggests_closest():
    with pytest.raises(ValueError, match="Did you mean 'bottleneck_a'"):
        parse_set(["botleneck_a=3"])


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"lr": -1.0}, "lr must be >= 0"),
        ({"bottleneck_b": 0}, "bottleneck_b must be > 0"),
        ({"ema_momentum": 1.0}, r"ema_momentum must be in \[0, 1\)"),
        ({"size": 100}, "size must be one of"),
        ({"vol_size": 30}, "multiple of patch_3d"),
        ({"adapter_input": "pre"}, "adapter_input must be one of"),
    ],
)
def test_bad_values_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        Config.from_dict(bad)


def test_wrong_type_in_set():
    with pytest.raises(ValueError, match="'rounds' expects int"):
        parse_set(["rounds=many"])


def test_yaml_values_are_typed(tmp_path):
    # PyYAML reads `1e-4` (no dot) as a string; it must still arrive as a float.
    f = tmp_path / "exp.yaml"
    f.write_text("lr: 1e-4\nrounds: 3\nweight_decay: 0\nweights: null\ndatasets: [breastmnist]\n")
    cfg = load_config("cpu-tiny", file=str(f))
    assert cfg.lr == 1e-4 and isinstance(cfg.lr, float)
    assert isinstance(cfg.weight_decay, float) and cfg.rounds == 3 and cfg.weights is None


@pytest.mark.parametrize(
    "bad, message",
    [
        ("rounds: 2.5\n", r"'rounds' expects int, got 2.5"),
        ("augment: 3\n", r"'augment' expects bool, got 3"),
        ("lr: true\n", r"'lr' expects float, got True"),
        ("datasets: breastmnist\nrouting: [A]\n", r"'routing' expects a mapping"),
        ("batch_size: lots\n", r"'batch_size' expects int, got 'lots'"),
        ("backbone: null\n", r"'backbone' must not be None"),
    ],
)
def test_yaml_wrong_types_are_named(tmp_path, bad, message):
    f = tmp_path / "bad.yaml"
    f.write_text(bad)
    with pytest.raises(ValueError, match=message):
        load_config(file=str(f))


def test_notebook_style_parameters_are_checked():
    # papermill injects Python values; a float where an int belongs must not slip through.
    with pytest.raises(ValueError, match="'steps_per_dataset' expects int"):
        load_config("cpu-tiny", overrides={"steps_per_dataset": 2.0})


def test_full_finetuning_preset_lowers_lr():
    full, paper = load_config("paper-full"), load_config("paper")
    assert full.method == "full" and full.lr == paper.lr / 10
    assert {k: v for k, v in full.to_dict().items() if k not in ("method", "lr", "out")} == {
        k: v for k, v in paper.to_dict().items() if k not in ("method", "lr", "out")
    }


def test_sizes_and_seeds_are_checked_at_the_door():
    """A size the backbone cannot tile, or a seed the generators cannot take, is a clear error
    before any work."""
    from mosaic_kit.models.backbone import create_backbone

    with pytest.raises(
        ValueError,
        match=r"img_size \(30\) must be a multiple of test_vit's patch size \(16\); use e.g. "
        r"16 or 32",
    ):
        create_backbone("test_vit", img_size=30)
    with pytest.raises(ValueError, match="seed must be below 2\\*\\*63"):
        load_config(overrides={"seed": 2**64})
    with pytest.raises(ValueError, match="img_size must be"):
        load_config(overrides={"img_size": 0})


def test_a_zero_3d_patch_is_a_clear_error_not_a_division():
    for value in (0, -8):
        with pytest.raises(ValueError, match=r"patch_3d must be > 0"):
            load_config(overrides={"patch_3d": value})
