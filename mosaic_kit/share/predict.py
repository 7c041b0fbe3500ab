"""Use a trained run on new images: ``mosaic_kit.load(run_dir).predict(images, dataset=...)``.

No data files are needed: the model is rebuilt from the run's ``config.yaml`` (the backbone from its
weights file, checked against the checkpoint's fingerprint) and the checkpoint's trainable tensors.

>>> predictor = mosaic_kit.load("runs/demo")
>>> [p.label for p in predictor.predict(["a.png", "b.png"], dataset="breastmnist")]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from ..config import Config
from ..data import Normalization
from ..data.readers import IntensityWarning, as_array, conform, split_batch
from ..data.registry import DatasetInfo, check_dataset_name, get_info, resolve_datasets
from ..evaluation.evaluate import autocast, prepare
from ..evaluation.metrics import scores_from_logits
from ..evaluation.runs import load_run
from ..models.mosaic import MosaicModel
from ..utils.yaml_mapping import read_yaml_mapping

__all__ = [
    "Prediction",
    "Predictor",
]


@dataclass
class Prediction:
    """One sample's prediction. ``label``: the top class (multi-label: every label with p >= 0.5,
    or none)."""

    source: str
    dataset: str
    label: str
    # class name -> probability (softmax; sigmoid per label when multi-label)
    probabilities: Dict[str, float]
    # the specialist the sample was routed through (None: the method has no routing)
    specialist: Optional[str]
    # the conformed uint8 input, in the dataset's layout and file size
    image: np.ndarray = field(repr=False)
    # [0, 1] rollout map, same grid as ``image``
    attention: Optional[np.ndarray] = field(default=None, repr=False)
    notes: List[str] = field(default_factory=list)  # e.g. how intensities were scaled

    def top(self, k: int = 3) -> List[Tuple[str, float]]:
        return sorted(self.probabilities.items(), key=lambda kv: -kv[1])[:k]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "source": self.source,
            "dataset": self.dataset,
            "label": self.label,
            "specialist": self.specialist,
            "probabilities": self.probabilities,
            "notes": self.notes,
        }


class Predictor:
    """A trained run, ready to classify new images of the datasets it was trained on."""

    def __init__(
        self,
        cfg: Config,
        models: Dict[str, MosaicModel],
        norm: Normalization,
        device: torch.device,
        source: str,
        run_dir: Optional[Path] = None,
        checkpoint: str = "best",
        which: str = "student",
        overrides: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.cfg, self.norm, self.device, self.source = cfg, norm, device, source
        self._models = (
            models  # dataset -> model (one shared model, or one per dataset for independent runs)
        )
        self._run_dir, self._checkpoint, self._which, self._overrides = (
            run_dir,
            checkpoint,
            which,
            overrides,
        )
        # trained on the kit's generated data: classes numbered
        self.synthetic = _synthetic_datasets(run_dir)

    @property
    def datasets(self) -> List[str]:
        """The datasets this run serves (its heads)."""
        return list(self._models)

    def caveats(self, dataset: Optional[str] = None) -> List[str]:
        """Warnings about this run in words (synthetic data, a random backbone, a dataset not
        learnt beyond the class prior), from its ``results.json``; with ``dataset``, only those
        that concern it."""
        from ..evaluation.caveats import run_caveats
        from ..evaluation.results import load_results

        if self._run_dir is None or not (Path(self._run_dir) / "results.json").is_file():
            return []
        found = run_caveats(load_results(self._run_dir), self._checkpoint)
        others = [n for n in self.datasets if n != dataset] if dataset else []
        return [c for c in found if not any(c.startswith(f"{n}:") for n in others)]

    def model(self, dataset: str) -> MosaicModel:
        name = check_dataset_name(dataset)
        if name not in self._models:
            raise ValueError(
                f"This run was not trained on '{name}'; it serves {', '.join(self.datasets)}."
            )
        model = self._models[name]
        if model is None:  # an independent run: that dataset's own model, loaded on first use
            run = load_run(self._run_dir / name, self._checkpoint, self._overrides)
            model = self._models[name] = _pick(run, self._which).to(self.device).eval()
        return model

    def file_size(self, dataset: str) -> int:
        """Side of the files the run trained on (2D ``size`` or 3D ``size_3d``); new inputs are
        resized to it."""
        return self.cfg.size_3d if get_info(dataset).is_3d else self.cfg.size

    def class_names(self, dataset: str) -> List[str]:
        """The dataset's class names; ``synthetic class k`` where the run learnt the kit's
        synthetic data (its patterns are not the named findings)."""
        info = get_info(dataset)
        if dataset in self.synthetic:
            return [f"synthetic class {i}" for i in range(info.n_classes)]
        return [info.class_name(i) for i in range(info.n_classes)]

    def conform(
        self, images: Any, dataset: str, window: Optional[Tuple[float, float]] = None
    ) -> Tuple[List[np.ndarray], List[str], List[List[str]]]:
        """Inputs as uint8 arrays in the dataset's layout (what ``predict`` feeds the model),
        their names, and per input the notes on how its intensities were scaled."""
        info: DatasetInfo = get_info(dataset)
        arrays, names, notes = [], [], []
        for i, item in enumerate(split_batch(images, info.is_3d)):
            raw, name = as_array(item)
            name = name if isinstance(item, (str, Path)) else f"{name}[{i}]"
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", IntensityWarning)
                arrays.append(conform(raw, info, self.file_size(dataset), window, name))
            notes.append(
                [str(w.message) for w in caught if issubclass(w.category, IntensityWarning)]
            )
            for w in caught:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            names.append(name)
        if not arrays:
            raise ValueError("No images given.")
        return arrays, names, notes

    @torch.no_grad()
    def predict(
        self,
        images: Any,
        dataset: str,
        attention: bool = False,
        window: Optional[Tuple[float, float]] = None,
        batch_size: int = 32,
    ) -> List[Prediction]:
        """Classify ``images`` (paths, PIL images, arrays or tensors; a list, or an array stacked
        along a first batch axis) as samples of ``dataset``. ``window=(low, high)`` maps
        intensities that are not 8-bit (CT in Hounsfield units) to 0..255; without it they are
        min-max scaled with a warning. ``attention=True`` adds each sample's attention-rollout
        map."""
        dataset = check_dataset_name(dataset)
        model = self.model(dataset)
        info = get_info(dataset)
        arrays, names, notes = self.conform(images, dataset, window)
        names_cls = self.class_names(dataset)
        out: List[Prediction] = []
        for lo in range(0, len(arrays), batch_size):
            x = prepare(
                model,
                dataset,
                torch.from_numpy(np.stack(arrays[lo : lo + batch_size])),
                self.norm,
                self.device,
            )
            maps = None
            if attention:
                from ..viz.attention import rollout_map

                logits, maps = rollout_map(model, x, dataset, out_size=self.file_size(dataset))
                maps = maps.cpu().numpy()
            else:
                with autocast(self.device, self.cfg.amp):
                    logits = model(x, dataset)
            scores = scores_from_logits(info.task, logits.float()).cpu().numpy()
            for j, s in enumerate(scores):
                k = lo + j
                probs = {c: float(p) for c, p in zip(names_cls, s)}
                if info.is_multilabel:
                    label = ", ".join(c for c, p in probs.items() if p >= 0.5) or "none"
                else:
                    label = names_cls[int(np.argmax(s))]
                out.append(
                    Prediction(
                        names[k],
                        dataset,
                        label,
                        probs,
                        model.resolve_specialist(dataset),
                        arrays[k],
                        None if maps is None else maps[j],
                        notes[k],
                    )
                )
        return out


def _synthetic_datasets(run_dir: Optional[Path]) -> set:
    """Datasets a run's ``results.json`` records as synthetic; without one (an interrupted run),
    every dataset of a run whose ``config.yaml`` says ``data_root: synthetic``."""
    import json

    path = Path(run_dir) / "results.json" if run_dir is not None else None
    if path is None or not path.is_file():
        cfg_path = Path(run_dir) / "config.yaml" if run_dir is not None else None
        cfg = (
            read_yaml_mapping(cfg_path, "run configuration")
            if cfg_path is not None and cfg_path.is_file()
            else None
        )
        if isinstance(cfg, dict) and cfg.get("data_root") == "synthetic":
            ds = cfg.get("datasets") or []
            return set(resolve_datasets(ds.split(",") if isinstance(ds, str) else list(ds)))
        return set()
    prov = (json.loads(path.read_text()).get("provenance") or {}).get("datasets") or {}
    return {n for n, kind in prov.items() if kind == "synthetic"}


def _pick(run, which: str) -> MosaicModel:
    if which not in ("student", "teacher"):
        raise ValueError(f"which must be 'student' or 'teacher', got '{which}'.")
    return run.model if which == "student" else run.teacher
