"""Your own datasets beside the 18 MedMNIST ones: a short YAML file describes one, and it is
registered by name.

```yaml
name: kidneyus            # lower-case letters, digits, _ (not a MedMNIST name)
task: multi-class  # multi-class, binary-class, multi-label, binary-class, or ordinal-regression
modality: 2d              # 2d or 3d
source: images/  # a folder with one sub-folder per class (optionally inside train/ val/ test/),
                          # or an .npz in MedMNIST's layout; relative to this file
class_names: [normal, stone]  # optional for a folder (its sub-folders, sorted); needed for an .npz
specialist: auto          # A, B, C, or auto: RGB -> A, grayscale -> B, 3D -> C
split: [0.7, 0.1, 0.2]    # train/val/test fractions when the source has no split (seeded by `seed`)
seed: 0
window: [-1000, 400]  # optional: intensities that are not 8-bit (CT in HU) mapped to 0..255 alike
```

Set ``custom_datasets: [path/to/spec.yaml]`` and name the dataset in ``datasets`` like any other.
Registration needs only the spec (the source is opened for its channel count when the spec does
not say): a run stores the resolved spec in ``RUN/datasets/NAME.yaml``, so a trained model is
loaded without the data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Mapping

from ..utils.yaml_mapping import read_yaml_mapping
from .registry import (
    ALL_DATASETS,
    SPECIALISTS,
    TASK_MULTILABEL,
    DatasetInfo,
    get_info,
    register_dataset,
)
from .spec_schema import check_spec_types
from .spec_source import _channels, class_folders

__all__ = [
    "TASKS",
    "read_spec",
    "register_spec",
    "register_spec_files",
    "resolved_spec",
    "class_folders",
    "register_run_datasets",
    "write_run_datasets",
]

TASKS = ("multi-class", "binary-class", TASK_MULTILABEL, "ordinal-regression")
_KEYS = {
    "name",
    "task",
    "modality",
    "source",
    "class_names",
    "specialist",
    "split",
    "seed",
    "channels",
    "window",
    "description",
}
_SPECS: Dict[str, Dict[str, Any]] = {}  # name -> resolved spec of every registered custom dataset


def read_spec(path: str | Path) -> Dict[str, Any]:
    """A spec file, checked and completed (absolute source, class names, channels, specialist)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"Custom dataset spec {path} does not exist.")
    spec = dict(read_yaml_mapping(path, "custom dataset spec"))
    where = f"custom dataset spec {path}"
    unknown = set(spec) - _KEYS
    if unknown:
        raise ValueError(f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS)}.")
    for key in ("name", "task", "modality", "source"):
        if key not in spec:
            raise ValueError(f"{where} needs '{key}' (see docs/usage.md, 'Your own datasets').")
    check_spec_types(spec, where)
    name = str(spec["name"])
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(
            f"{where}: name '{name}' must be lower-case letters, digits and _ (starting with a "
            "letter)."
        )
    if name in ALL_DATASETS:
        raise ValueError(
            f"{where}: '{name}' is a MedMNIST dataset; give your dataset its own name."
        )
    if spec["task"] not in TASKS:
        raise ValueError(f"{where}: task '{spec['task']}' is not one of: {'; '.join(TASKS)}.")
    if spec["modality"] not in ("2d", "3d"):
        raise ValueError(f"{where}: modality must be 2d or 3d (got '{spec['modality']}').")
    source = Path(spec["source"]).expanduser()
    source = source if source.is_absolute() else (path.parent / source).resolve()
    spec["source"] = str(source)
    has_source = source.exists()
    if not has_source and not (
        "class_names" in spec and (spec["modality"] == "3d" or "channels" in spec)
    ):
        raise FileNotFoundError(
            f"{where}: source {source} does not exist. Give a folder with one sub-folder per "
            "class, or an .npz in MedMNIST's layout."
        )
    if has_source and source.is_dir():
        if spec["task"] == TASK_MULTILABEL:
            raise ValueError(
                f"{where}: a multi-label dataset cannot be read from class folders; give an .npz."
            )
        found = list(class_folders(source))
        if len(found) < 2:
            raise ValueError(
                f"{where}: {source} needs at least two class sub-folders (found {found})."
            )
        names = spec.setdefault("class_names", found)
        if sorted(names) != sorted(found):
            raise ValueError(
                f"{where}: class_names {names} do not match the class folders {found} of {source}."
            )
    elif has_source and source.suffix != ".npz":
        raise ValueError(f"{where}: source {source} is neither a folder nor an .npz file.")
    if not isinstance(spec.get("class_names"), list) or len(spec["class_names"]) < 1:
        raise ValueError(f"{where} needs class_names: a list, in label order (label 0 first).")
    spec["class_names"] = [str(c) for c in spec["class_names"]]
    spec["channels"] = _channels(spec, source) if has_source or "channels" in spec else 1
    if spec["channels"] not in (1, 3):
        raise ValueError(f"{where}: channels must be 1 or 3 (got {spec['channels']}).")
    auto = "C" if spec["modality"] == "3d" else ("A" if spec["channels"] == 3 else "B")
    spec["specialist"] = (
        str(spec.get("specialist", "auto")).upper()
        if spec.get("specialist", "auto") != "auto"
        else auto
    )
    if spec["specialist"] not in SPECIALISTS:
        raise ValueError(f"{where}: specialist must be one of {', '.join(SPECIALISTS)} or auto.")
    split = spec.setdefault("split", [0.7, 0.1, 0.2])
    if len(split) != 3 or min(split) <= 0 or abs(sum(split) - 1) > 1e-6:
        raise ValueError(
            f"{where}: split must be three positive fractions (train, val, test) summing to 1."
        )
    spec.setdefault("seed", 0)
    window = spec.get("window")
    if window is not None and not (
        isinstance(window, list) and len(window) == 2 and window[1] > window[0]
    ):
        raise ValueError(f"{where}: window must be [LOW, HIGH] with HIGH > LOW (got {window}).")
    return spec


def register_spec(spec: Mapping[str, Any]) -> DatasetInfo:
    """Register a resolved spec (``read_spec``'s result) under its name. Registering a name again
    replaces it (the spec file was edited, or the data moved); models built before keep what they
    were built with."""
    name = spec["name"]
    if _SPECS.get(name) == dict(spec):
        return get_info(name)
    sizes = (28, 64) if spec["modality"] == "3d" else (28, 64, 128, 224)
    info = DatasetInfo(
        name=name,
        python_class=f"custom:{name}",
        modality=spec["modality"],
        task=spec["task"],
        n_channels=int(spec["channels"]),
        n_classes=len(spec["class_names"]),
        n_samples={},
        sizes=sizes,
        labels={str(i): c for i, c in enumerate(spec["class_names"])},
        source=spec["source"],
    )
    register_dataset(info, spec["specialist"])
    _SPECS[name] = dict(spec)
    return info


def register_spec_files(paths: List[str]) -> List[str]:
    """Read and register every spec file; returns the dataset names."""
    specs = [read_spec(p) for p in paths]
    names = [s["name"] for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(
            f"custom_datasets name {', '.join(twice)} more than once "
            f"({', '.join(map(str, paths))}); give each dataset its own name."
        )
    return [register_spec(s).name for s in specs]


def resolved_spec(name: str) -> Dict[str, Any]:
    """The resolved spec of a registered custom dataset (what a run stores in
    ``datasets/NAME.yaml``)."""
    return dict(_SPECS[name])


def write_run_datasets(run_dir: str | Path, names: List[str]) -> None:
    """Store the resolved spec of every custom dataset among ``names`` in
    ``RUN/datasets/NAME.yaml``."""
    import yaml

    for name in (n for n in names if n in _SPECS):
        folder = Path(run_dir) / "datasets"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(_SPECS[name], sort_keys=False))


def register_run_datasets(run_dir: str | Path) -> List[str]:
    """Register the custom datasets a run stored in ``RUN/datasets/*.yaml``; returns their spec
    paths."""
    files = sorted((Path(run_dir) / "datasets").glob("*.yaml"))
    register_spec_files([str(f) for f in files])
    return [str(f) for f in files]
