"""An ipywidgets app to browse datasets and specialists: image, label, routed specialist, what every specialist
predicts, and where the model looks (attention rollout), for a trained run or untrained adapters.

    from mosaic_kit.explorer import Explorer
    Explorer(run_dir="runs/demo")          # or Explorer() for random adapters on the embedded data

All state the display shows is in ``Explorer.state`` (a plain dict), so callbacks are testable without a browser.
"""
from __future__ import annotations

import html
from typing import Any, Dict, List, Optional

import ipywidgets as W
import torch

from .config import Config, load_config
from .registry import get_info
from .viz.attention import rollout_map
from .registry import SPECIALIST_COLORS
from .viz.figures import overlay
from .workbench import Workbench, list_checkpoints

__all__ = ["Explorer"]

UNTRAINED = "random adapters (untrained)"


def _class_name(dataset: str, k: int, synthetic: bool) -> str:
    """MedMNIST's class name, or for the kit's synthetic data a neutral one (its patterns are not real findings)."""
    return f"synthetic class {k}" if synthetic else get_info(dataset).labels.get(str(k), str(k))


def _label_text(dataset: str, y, synthetic: bool = False) -> str:
    info = get_info(dataset)
    if info.is_multilabel:
        on = [_class_name(dataset, i, synthetic) for i, v in enumerate(y) if v]
        return ", ".join(on) or "no finding"
    return f"{int(y[0])}: {_class_name(dataset, int(y[0]), synthetic)}"


class Explorer:
    """Widgets: dataset, split, sample index (or a grid page), 3D slice, student/teacher, checkpoint, overlay."""

    def __init__(self, run_dir: Optional[str] = None, cfg: Optional[Config] = None, preset: str = "cpu-tiny",
                 overrides: Optional[Dict[str, Any]] = None, device: str = "cpu", grid_size: int = 12) -> None:
        self.run_dir, self.device, self.grid_size = run_dir, device, grid_size
        if run_dir is not None:
            checkpoints = list_checkpoints(run_dir)
            if not checkpoints:
                raise FileNotFoundError(f"{run_dir} holds no checkpoint (*.safetensors); train it first or pass "
                                        "run_dir=None to explore untrained adapters.")
            first = "best" if "best" in checkpoints else checkpoints[0]
            self.wb = Workbench.from_run(run_dir, first, device=device)
        else:
            checkpoints, first = [UNTRAINED], UNTRAINED
            self.wb = Workbench.untrained(cfg or load_config(preset, overrides=overrides), device=device)
        names = self.wb.datasets
        self.dataset = W.Dropdown(description="dataset", options=[
            (f"{n} ({get_info(n).modality.upper()}, {self.wb.model.routing[n]})", n) for n in names], value=names[0])
        self.split = W.ToggleButtons(description="split", options=["train", "val", "test"], value="test")
        self.index = W.IntSlider(description="sample", min=0, max=1, value=0, continuous_update=False)
        self.slice = W.IntSlider(description="3D slice", min=0, max=1, value=0, continuous_update=False)
        self.mode = W.ToggleButtons(description="view", options=["sample", "grid"], value="sample")
        self.which = W.ToggleButtons(description="model", options=["student", "teacher"], value="student")
        self.attention = W.Checkbox(description="attention overlay", value=True)
        self.checkpoint = W.Dropdown(description="checkpoint", options=checkpoints, value=first,
                                     disabled=run_dir is None)
        self.info = W.HTML()
        self.out = W.Output()
        self.state: Dict[str, Any] = {}
        self._busy = False
        self._sync_ranges()
        for w in (self.index, self.slice, self.mode, self.which, self.attention):
            w.observe(self.refresh, names="value")
        self.dataset.observe(self._on_dataset, names="value")
        self.split.observe(self._on_dataset, names="value")
        self.checkpoint.observe(self._on_checkpoint, names="value")
        self.refresh()

    # -- callbacks ------------------------------------------------------------------------------------
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

    # -- state and rendering -------------------------------------------------------------------------
    def _predictions(self, x: torch.Tensor, name: str, size: int, synthetic: bool = False) -> tuple:
        net = self.wb.net(self.which.value)
        info = get_info(name)
        preds, maps = {}, {}
        for spec in self.wb.specialists() + ["none"]:
            logits, m = rollout_map(net, x, name, spec, out_size=size)
            p = torch.sigmoid(logits[0]) if info.is_multilabel else logits[0].softmax(-1)
            k = int(p.argmax())
            preds[spec] = {"class": k, "name": _class_name(name, k, synthetic), "prob": float(p[k])}
            maps[spec] = m[0].numpy()
        return preds, maps

    def refresh(self, change=None) -> None:
        if self._busy:
            return
        name, split, idx = self.dataset.value, self.split.value, self.index.value
        info = get_info(name)
        n = len(self.wb.data[name][split])
        synthetic = bool(getattr(self.wb.data[name][split], "synthetic", False))
        st: Dict[str, Any] = {"dataset": name, "split": split, "index": idx, "n_samples": n, "mode": self.mode.value,
                              "model": self.which.value, "checkpoint": self.checkpoint.value, "source": self.wb.source,
                              "trained": self.wb.trained, "is_3d": info.is_3d, "routed": self.wb.model.routing[name],
                              "slice": self.slice.value if info.is_3d else None, "synthetic": synthetic}
        if self.mode.value == "grid":
            idxs = list(range(idx, min(n, idx + self.grid_size)))
            raw, ys = self.wb.raw(name, split, idxs)
            x = self.wb.prepared(name, split, idxs)
            with torch.no_grad():
                logits = self.wb.net(self.which.value)(x, name)
            pred = (logits > 0).int() if info.is_multilabel else logits.argmax(-1)
            st["grid"] = [{"index": i, "label": _label_text(name, y, synthetic), "pred": p.tolist()}
                          for i, y, p in zip(idxs, ys, pred)]
            self.state = st
            self._render_grid(raw)
        else:
            raw, ys = self.wb.raw(name, split, [idx])
            x = self.wb.prepared(name, split, [idx])
            preds, maps = self._predictions(x, name, raw.shape[1], synthetic)
            st.update(label=ys[0].tolist(), label_text=_label_text(name, ys[0], synthetic), predictions=preds)
            self.state = st
            self._render_sample(raw[0], maps)
        self.info.value = self._info_html()

    def _info_html(self) -> str:
        st = self.state
        color = SPECIALIST_COLORS.get(st["routed"], "#333")
        head = (f"<b>{html.escape(st['dataset'])}</b> {st['split']} · {st['n_samples']} samples · routed to "
                f"<b style='color:{color}'>specialist {st['routed']}</b> · "
                f"weights: {html.escape(st['source'])}")
        if not st["trained"]:
            head += " <span style='color:#b00'>(untrained: predictions are not meaningful)</span>"
        if st["synthetic"]:
            head += (" · <span style='color:#b00'>synthetic data: the kit's generated patterns, not MedMNIST "
                     "images; classes are numbered, not named</span>")
        if st["mode"] == "grid":
            return head
        rows = "".join(
            f"<tr><td>{'backbone only' if s == 'none' else 'specialist ' + s}{' ★' if s == st['routed'] else ''}"
            f"</td><td>{html.escape(p['name'])}</td><td>{p['prob']:.2f}</td></tr>"
            for s, p in st["predictions"].items())
        return (f"{head}<br>sample #{st['index']} · label <b>{html.escape(st['label_text'])}</b>"
                f"<table><tr><th>forward through</th><th>prediction</th><th>p</th></tr>{rows}</table>")

    def _render_sample(self, raw, maps) -> None:
        import matplotlib.pyplot as plt

        specs = list(maps)
        fig, axes = plt.subplots(1, len(specs) + 1, figsize=(2.3 * (len(specs) + 1), 2.6))
        sl = self.state["slice"]
        overlay(axes[0], raw, None, self.state["is_3d"], sl, title=self.state["label_text"][:28])
        for ax, s in zip(axes[1:], specs):
            title = "backbone only" if s == "none" else f"specialist {s}{' ★' if s == self.state['routed'] else ''}"
            overlay(ax, raw, maps[s] if self.attention.value else None, self.state["is_3d"], sl,
                    title=f"{title}\n{self.state['predictions'][s]['name'][:20]}")
        self._show(fig)

    def _render_grid(self, raw) -> None:
        import matplotlib.pyplot as plt

        cols = 6
        rows = -(-len(raw) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(1.8 * cols, 1.9 * rows), squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for ax, r, cell in zip(axes.flat, raw, self.state["grid"]):
            overlay(ax, r, None, self.state["is_3d"], self.state["slice"],
                    title=f"#{cell['index']}: {cell['label'][:16]}")
        self._show(fig)

    def _show(self, fig) -> None:
        """Replace what the output area shows with ``fig``."""
        import matplotlib.pyplot as plt
        from IPython.display import clear_output, display

        fig.tight_layout()
        with self.out:
            clear_output(wait=True)
            display(fig)
        plt.close(fig)

    # -- display ------------------------------------------------------------------------------------
    def widget(self) -> W.Widget:
        controls = W.VBox([W.HBox([self.dataset, self.checkpoint]), self.split,
                           W.HBox([self.index, self.slice]), W.HBox([self.mode, self.which]), self.attention])
        return W.VBox([controls, self.info, self.out])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())

    def controls(self) -> List[W.Widget]:
        return [self.dataset, self.split, self.index, self.slice, self.mode, self.which, self.attention,
                self.checkpoint]
