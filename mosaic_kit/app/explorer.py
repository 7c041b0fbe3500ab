"""An ipywidgets app to browse datasets and specialists: image, label, routed specialist, what every
specialist predicts, and where the model looks (attention rollout), for a trained run or untrained
adapters.

    from mosaic_kit.app.explorer import Explorer
    Explorer(run_dir="runs/demo")          # or Explorer() for random adapters on the embedded data

All state the display shows is in ``Explorer.state`` (a plain dict), so callbacks are testable
without a browser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

import ipywidgets as W
import torch

from ..config import Config, load_config
from ..data.registry import get_info
from ..evaluation.results import load_results
from ..viz.attention import rollout_map
from ..viz.explorer_figures import explorer_grid_figure, explorer_sample_figure
from ..viz.figures import class_name, label_text
from ..viz.workbench import Workbench, list_checkpoints
from .explorer_layout import ExplorerLayout
from .explorer_text import info_html, is_correct
from .explorer_upload import UploadPanel

__all__ = ["Explorer"]

UNTRAINED = "random adapters (untrained)"


class Explorer(UploadPanel, ExplorerLayout):
    """Widgets: dataset, split, sample index (or a grid page), 3D slice, student/teacher,
    checkpoint, overlay, and an upload of your own image or volume (classified through
    ``mosaic_kit.share.predict``)."""

    def __init__(
        self,
        run_dir: Optional[str] = None,
        cfg: Optional[Config] = None,
        preset: str = "cpu-tiny",
        overrides: Optional[Dict[str, Any]] = None,
        device: str = "cpu",
        grid_size: int = 12,
    ) -> None:
        self.run_dir, self.device, self.grid_size = run_dir, device, grid_size
        if run_dir is not None:
            if not Path(run_dir).is_dir():
                raise FileNotFoundError(
                    f"run directory {run_dir} does not exist: train one first (`make demo` makes "
                    "runs/demo) or pass run_dir=None to explore untrained adapters."
                )
            checkpoints = list_checkpoints(run_dir)
            if not checkpoints:
                raise FileNotFoundError(
                    f"{run_dir} holds no checkpoint (*.safetensors); train it first or pass "
                    "run_dir=None to explore untrained adapters."
                )
            first = "best" if "best" in checkpoints else checkpoints[0]
            self.wb = Workbench.from_run(run_dir, first, device=device)
        else:
            checkpoints, first = [UNTRAINED], UNTRAINED
            self.wb = Workbench.untrained(
                cfg or load_config(preset, overrides=overrides), device=device
            )
        names = self.wb.datasets
        self.dataset = W.Dropdown(
            description="dataset",
            options=[
                (f"{n} ({get_info(n).modality.upper()}, {self.wb.model.routing[n]})", n)
                for n in names
            ],
            value=names[0],
        )
        self.split = W.ToggleButtons(
            description="split", options=["train", "val", "test"], value="test"
        )
        self.index = W.IntSlider(
            description="sample", min=0, max=1, value=0, continuous_update=False
        )
        self.slice = W.IntSlider(
            description="3D slice", min=0, max=1, value=0, continuous_update=False
        )
        self.mode = W.ToggleButtons(description="view", options=["sample", "grid"], value="sample")
        self.which = W.ToggleButtons(
            description="model", options=["student", "teacher"], value="student"
        )
        self.attention = W.Checkbox(description="attention overlay", value=True)
        self.checkpoint = W.Dropdown(
            description="checkpoint", options=checkpoints, value=first, disabled=run_dir is None
        )
        self.upload = W.FileUpload(
            description="your image",
            multiple=False,
            accept=".png,.jpg,.jpeg,.tif,.tiff,.bmp,.npy,.nii,.gz,.dcm",
        )
        self.info = W.HTML()
        self.out = W.Output()
        self.upload_info = W.HTML()
        self.upload_out = W.Output()
        self.state: Dict[str, Any] = {}
        self._results: Optional[Dict[str, Any]] = None
        self._busy = False
        self._sync_ranges()
        for w in (self.index, self.slice, self.mode, self.which, self.attention):
            w.observe(self.refresh, names="value")
        self.dataset.observe(self._on_dataset, names="value")
        self.split.observe(self._on_dataset, names="value")
        self.checkpoint.observe(self._on_checkpoint, names="value")
        self.upload.observe(self._on_upload, names="value")
        self.refresh()

    # -- callbacks
    # ------------------------------------------------------------------------------------
    def _sync_ranges(self) -> None:
        self._busy = True
        try:
            name = self.dataset.value
            n = len(self.wb.data[name][self.split.value])
            self.index.max = max(0, n - 1)
            self.index.value = min(self.index.value, self.index.max)
            is_3d = get_info(name).is_3d
            depth = self.wb.data[name][self.split.value].images.shape[1] if is_3d else 1
            self.slice.max = max(0, depth - 1)
            self.slice.value = depth // 2
            self.slice.disabled = not is_3d
        finally:
            self._busy = False

    def _on_dataset(self, change=None) -> None:
        self._sync_ranges()
        self.refresh()

    def _on_checkpoint(self, change) -> None:
        self.wb = Workbench.from_run(self.run_dir, change["new"], device=self.device)
        self.refresh()

    def run_metrics(self, name: str) -> Optional[Dict[str, Any]]:
        """The loaded run's test ACC/AUC on ``name`` (from ``results.json``: the best
        checkpoint), or None."""
        if self.run_dir is None or not (Path(self.run_dir) / "results.json").is_file():
            return None
        if self._results is None:  # read once: refresh() runs on every widget change
            self._results = load_results(self.run_dir)
        res = self._results if self.which.value == "student" else self._results.get("teacher", {})
        scores = (res.get("datasets") or {}).get(name, {}).get("test")
        return (
            None
            if scores is None
            else {
                "acc": scores["acc"],
                "auc": scores["auc"],
                "checkpoint": self._results.get("checkpoint", "best"),
            }
        )

    # -- your own image
    # ------------------------------------------------------------------------------

    # -- state and rendering
    # -------------------------------------------------------------------------
    def _predictions(self, x: torch.Tensor, name: str, size: int, synthetic: bool = False) -> tuple:
        net = self.wb.net(self.which.value)
        info = get_info(name)
        preds, maps = {}, {}
        for spec in self.wb.specialists() + ["none"]:
            logits, m = rollout_map(net, x, name, spec, out_size=size)
            p = torch.sigmoid(logits[0]) if info.is_multilabel else logits[0].softmax(-1)
            k = int(p.argmax())
            preds[spec] = {
                "class": k,
                "name": class_name(name, k, synthetic),
                "prob": float(p[k]),
                "labels": (p >= 0.5).int().tolist() if info.is_multilabel else None,
            }
            maps[spec] = m[0].numpy()
        return preds, maps

    def refresh(self, change=None) -> None:
        if self._busy:
            return
        name, split, idx = self.dataset.value, self.split.value, self.index.value
        info = get_info(name)
        n = len(self.wb.data[name][split])
        synthetic = bool(getattr(self.wb.data[name][split], "synthetic", False))
        st: Dict[str, Any] = {
            "upload": self.state.get("upload"),
            "metrics": self.run_metrics(name),
            "dataset": name,
            "split": split,
            "index": idx,
            "n_samples": n,
            "mode": self.mode.value,
            "model": self.which.value,
            "checkpoint": self.checkpoint.value,
            "source": self.wb.source,
            "trained": self.wb.trained,
            "is_3d": info.is_3d,
            "routed": self.wb.model.routing[name],
            "slice": self.slice.value if info.is_3d else None,
            "synthetic": synthetic,
        }
        if self.mode.value == "grid":
            idxs = list(range(idx, min(n, idx + self.grid_size)))
            raw, ys = self.wb.raw(name, split, idxs)
            x = self.wb.prepared(name, split, idxs)
            with torch.no_grad():
                logits = self.wb.net(self.which.value)(x, name)
            pred = (logits > 0).int() if info.is_multilabel else logits.argmax(-1)
            st["grid"] = [
                {
                    "index": i,
                    "label": label_text(name, y, synthetic),
                    "pred": p.tolist(),
                    "correct": is_correct(
                        name, y, int(p) if p.ndim == 0 else -1, p.tolist() if p.ndim else None
                    ),
                }
                for i, y, p in zip(idxs, ys, pred)
            ]
            self.state = st
            self._render_grid(raw)
        else:
            raw, ys = self.wb.raw(name, split, [idx])
            x = self.wb.prepared(name, split, [idx])
            preds, maps = self._predictions(x, name, raw.shape[1], synthetic)
            routed = preds[st["routed"]]
            st.update(
                label=ys[0].tolist(),
                label_text=label_text(name, ys[0], synthetic),
                predictions=preds,
                correct=is_correct(name, ys[0], routed["class"], routed.get("labels")),
            )
            self.state = st
            self._render_sample(raw[0], maps)
        self.info.value = info_html(self.state)

    def _render_sample(self, raw, maps) -> None:
        maps = {k: (v if self.attention.value else None) for k, v in maps.items()}
        self._show(explorer_sample_figure(raw, maps, self.state), tight=False)

    def _render_grid(self, raw) -> None:
        self._show(explorer_grid_figure(raw, self.state))

    # -- display
    # ------------------------------------------------------------------------------------
