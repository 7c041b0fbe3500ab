"""The 18 MedMNIST datasets and the specialist each one is routed to.

Every fact about a dataset (task, channels, labels, split sizes, file names) is read from
``medmnist.INFO``; this module only adds what MedMNIST does not know: the modality (2D/3D, from
medmnist's own class hierarchy) and the MOSAIC routing table (paper, Table "Specialist routing").
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from .medmnist_info import medmnist_info

__all__ = [
    "DatasetInfo",
    "ALL_DATASETS",
    "DATASETS_2D",
    "DATASETS_3D",
    "SPECIALISTS",
    "SPECIALIST_COLORS",
    "DEFAULT_ROUTING",
    "GROUPS",
    "TASK_MULTILABEL",
    "TASK_ORDINAL",
    "get_info",
    "in_group",
    "register_dataset",
    "resolve_datasets",
    "build_routing",
    "check_dataset_name",
]

#: Specialist name -> (description, bottleneck in the paper's preset).
SPECIALISTS: Dict[str, str] = {
    "A": "bio-medical, RGB texture",
    "B": "radiology, grayscale shape",
    "C": "volumetric 3D",
}

#: The paper's routing. TissueMNIST is grayscale but the paper routes it to A; kept as published.
DEFAULT_ROUTING: Dict[str, str] = {
    **dict.fromkeys("pathmnist bloodmnist tissuemnist dermamnist retinamnist".split(), "A"),
    **dict.fromkeys(
        "chestmnist pneumoniamnist breastmnist octmnist organamnist organcmnist "
        "organsmnist".split(),
        "B",
    ),
    **dict.fromkeys(
        "organmnist3d nodulemnist3d adrenalmnist3d vesselmnist3d fracturemnist3d "
        "synapsemnist3d".split(),
        "C",
    ),
}

#: medmnist's task strings the kit treats specially.
TASK_MULTILABEL = "multi-label, binary-class"  # ChestMNIST: BCE per label, sigmoid scores
# RetinaMNIST: trained and scored as multi-class; "within one grade" shown apart
TASK_ORDINAL = "ordinal-regression"

#: Figure colour of each specialist (and of the bare backbone, "none").
SPECIALIST_COLORS: Dict[str, str] = {
    "A": "#d95f02",
    "B": "#1b9e77",
    "C": "#7570b3",
    "none": "#666666",
}

#: The dataset groups of a selection and of every mean: all 18, the 12 2D, the 6 3D.
GROUPS: Tuple[str, ...] = ("all", "2d", "3d")


@dataclass(frozen=True)
class DatasetInfo:
    """What the kit needs to know about one MedMNIST dataset (all of it from ``medmnist.INFO``)."""

    name: str
    python_class: str
    modality: str  # "2d" or "3d"
    task: str
    n_channels: int
    n_classes: int
    n_samples: Mapping[str, int]
    sizes: Tuple[int, ...]
    labels: Mapping[str, str]
    source: Optional[str] = (
        None  # a custom dataset's folder or npz (``mosaic_kit.data.specs``); None for MedMNIST
    )

    @property
    def is_custom(self) -> bool:
        return self.source is not None

    @property
    def is_3d(self) -> bool:
        return self.modality == "3d"

    @property
    def is_multilabel(self) -> bool:
        return self.task == TASK_MULTILABEL

    @property
    def is_ordinal(self) -> bool:
        return self.task == TASK_ORDINAL

    def class_name(self, index: int) -> str:
        """Class ``index`` in words. MedMNIST names RetinaMNIST's five grades by their numbers
        only; a bare number reads ``grade 2`` for an ordinal task, ``class 2`` otherwise."""
        name = str(self.labels[str(index)])
        if name.strip() == str(index):
            return f"{'grade' if self.is_ordinal else 'class'} {index}"
        return name

    def file_name(self, size: int) -> str:
        """medmnist's own naming: ``{flag}.npz`` at 28, ``{flag}_{size}.npz`` otherwise."""
        return f"{self.name}.npz" if size == 28 else f"{self.name}_{size}.npz"

    def url(self, size: int) -> str:
        if self.is_custom:
            raise ValueError(
                f"{self.name} is a custom dataset (source {self.source}); it has no download."
            )
        return INFO[self.name]["url" if size == 28 else f"url_{size}"]

    def md5(self, size: int) -> Optional[str]:
        return None if self.is_custom else INFO[self.name]["MD5" if size == 28 else f"MD5_{size}"]

    @property
    def license(self) -> Optional[str]:
        """The licence MedMNIST states for the dataset (None for your own)."""
        return None if self.is_custom else INFO[self.name].get("license")


INFO: Mapping[str, Any] = medmnist_info()


def _make_info(name: str) -> DatasetInfo:
    """Modality and sizes from INFO alone: medmnist names every volume class ``...MNIST3D`` and
    lists a download per size (``url`` for 28, ``url_{size}`` for the rest); a test checks both
    against medmnist's class hierarchy and ``available_sizes``."""
    raw = INFO[name]
    sizes = (28,) + tuple(sorted(int(k[4:]) for k in raw if k.startswith("url_")))
    return DatasetInfo(
        name=name,
        python_class=raw["python_class"],
        modality="3d" if raw["python_class"].endswith("3D") else "2d",
        task=raw["task"],
        n_channels=int(raw["n_channels"]),
        n_classes=len(raw["label"]),
        n_samples=dict(raw["n_samples"]),
        sizes=sizes,
        labels=dict(raw["label"]),
    )


_INFOS: Dict[str, DatasetInfo] = {name: _make_info(name) for name in INFO}
ALL_DATASETS: Tuple[str, ...] = tuple(_INFOS)
DATASETS_2D: Tuple[str, ...] = tuple(n for n, i in _INFOS.items() if not i.is_3d)
DATASETS_3D: Tuple[str, ...] = tuple(n for n, i in _INFOS.items() if i.is_3d)


_CUSTOM_ROUTING: Dict[str, str] = {}  # registered datasets of your own -> their spec's specialist


def register_dataset(info: DatasetInfo, specialist: str) -> None:
    """Add a dataset that is not MedMNIST (``mosaic_kit.data.specs`` builds ``info`` from a spec
    file) and its specialist in the routing table. The groups all / 2d / 3d keep meaning the 18
    MedMNIST datasets."""
    if info.name in ALL_DATASETS:
        raise ValueError(
            f"'{info.name}' is a MedMNIST dataset; a custom dataset needs its own name."
        )
    if specialist not in SPECIALISTS:
        raise ValueError(f"specialist '{specialist}' is not one of {', '.join(SPECIALISTS)}.")
    _INFOS[info.name] = info
    _CUSTOM_ROUTING[info.name] = specialist


def in_group(name: str, group: str) -> bool:
    """Whether dataset ``name`` belongs to ``group`` (one of ``GROUPS``)."""
    return group == "all" or get_info(name).modality == group


def check_dataset_name(name: str) -> str:
    """Return the canonical (lower-case) name, or raise a ValueError listing the valid names."""
    key = name.strip().lower()
    if key in _INFOS:
        return key
    close = difflib.get_close_matches(key, list(_INFOS), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ValueError(
        f"Unknown dataset '{name}'.{hint} Valid names: {', '.join(_INFOS)} (or the groups 'all', "
        "'2d', '3d'; a dataset of your own is named after listing its spec file in "
        "custom_datasets)."
    )


def get_info(name: str) -> DatasetInfo:
    return _INFOS[check_dataset_name(name)]


def resolve_datasets(spec: Iterable[str] | str) -> List[str]:
    """Expand a dataset selection: names, or the groups ``all``/``2d``/``3d``; order kept, no
    repeats."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: List[str] = []
    for item in items:
        item = item.strip().lower()
        if not item:
            continue
        members = (
            [n for n in ALL_DATASETS if in_group(n, item)]
            if item in GROUPS
            else [check_dataset_name(item)]
        )
        for name in members:
            if name not in out:
                out.append(name)
    if not out:
        raise ValueError(
            "No dataset selected: give names such as 'breastmnist' or a group 'all', '2d', '3d'."
        )
    return out


def build_routing(
    datasets: Iterable[str], overrides: Optional[Mapping[str, str]] = None
) -> Dict[str, str]:
    """Map each selected dataset to its specialist: the paper's table with the user's overrides
    on top."""
    routing = {**DEFAULT_ROUTING, **_CUSTOM_ROUTING}
    for name, spec in (overrides or {}).items():
        spec_u = str(spec).strip().upper()
        if spec_u not in SPECIALISTS:
            raise ValueError(
                f"Routing for '{name}' names specialist '{spec}'; valid specialists are "
                f"{', '.join(SPECIALISTS)}."
            )
        routing[check_dataset_name(name)] = spec_u
    return {name: routing[name] for name in datasets}
