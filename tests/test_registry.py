import medmnist
import pytest

from mosaic_kit.data.registry import (
    ALL_DATASETS,
    DATASETS_2D,
    DATASETS_3D,
    DEFAULT_ROUTING,
    build_routing,
    get_info,
    resolve_datasets,
)


def test_all_18_datasets_from_medmnist_info():
    assert len(ALL_DATASETS) == 18 and len(DATASETS_2D) == 12 and len(DATASETS_3D) == 6
    assert set(ALL_DATASETS) == set(medmnist.INFO)
    chest = get_info("ChestMNIST")
    assert chest.is_multilabel and chest.n_classes == 14 and chest.n_channels == 1
    assert get_info("pathmnist").n_channels == 3 and get_info("pathmnist").n_classes == 9
    assert get_info("retinamnist").task == "ordinal-regression"
    assert get_info("organmnist3d").is_3d and get_info("organmnist3d").sizes == (28, 64)
    assert get_info("bloodmnist").sizes == (28, 64, 128, 224)
    assert get_info("breastmnist").file_name(28) == "breastmnist.npz"
    assert get_info("breastmnist").file_name(224) == "breastmnist_224.npz"
    assert get_info("adrenalmnist3d").n_samples == medmnist.INFO["adrenalmnist3d"]["n_samples"]


def test_modality_and_sizes_read_without_torch_agree_with_medmnists_classes():
    # the registry reads INFO alone (no torch); medmnist's class hierarchy is the authority
    for name in ALL_DATASETS:
        info, cls = get_info(name), getattr(medmnist, medmnist.INFO[name]["python_class"])
        assert info.is_3d == issubclass(cls, medmnist.dataset.MedMNIST3D), name
        assert info.sizes == tuple(cls.available_sizes), name


def test_paper_routing_table():
    assert sum(v == "A" for v in DEFAULT_ROUTING.values()) == 5
    assert sum(v == "B" for v in DEFAULT_ROUTING.values()) == 7
    assert {n for n, v in DEFAULT_ROUTING.items() if v == "C"} == set(DATASETS_3D)
    assert DEFAULT_ROUTING["tissuemnist"] == "A"  # as published, although grayscale


def test_routing_override_and_errors():
    r = build_routing(["tissuemnist", "breastmnist"], {"TissueMNIST": "b"})
    assert r == {"tissuemnist": "B", "breastmnist": "B"}
    with pytest.raises(ValueError, match="valid specialists are A, B, C"):
        build_routing(["breastmnist"], {"breastmnist": "D"})


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError) as err:
        get_info("breastmnst")
    assert "Did you mean 'breastmnist'" in str(err.value) and "synapsemnist3d" in str(err.value)


def test_groups_expand_in_order_without_repeats():
    assert resolve_datasets("3d") == list(DATASETS_3D)
    assert resolve_datasets(["breastmnist", "2d"])[0] == "breastmnist"
    assert len(resolve_datasets(["breastmnist", "2d"])) == 12
    assert resolve_datasets("all") == list(ALL_DATASETS)


def test_each_dataset_carries_the_licence_medmnist_states():
    from mosaic_kit.data.registry import get_info

    assert (
        get_info("breastmnist").license == "CC BY 4.0"
        and get_info("dermamnist").license == "CC BY-NC 4.0"
    )
