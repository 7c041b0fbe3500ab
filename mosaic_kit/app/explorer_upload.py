"""The explorer's upload panel: your own image or volume classified through the loaded run
(``mosaic_kit.share``)."""

from __future__ import annotations

import html
import tempfile
from pathlib import Path
from typing import Any, Dict

from ..share.predict import Predictor
from ..viz.explorer_figures import prediction_figure

__all__ = ["UploadPanel"]


class UploadPanel:
    """Mixin of ``Explorer``: the file upload, its predictor and its figure."""

    def predictor(self) -> Predictor:
        """The loaded model as a ``Predictor`` (what ``mosaic_kit.load`` returns for a run)."""
        net = self.wb.net(self.which.value)
        p = Predictor(
            self.wb.cfg,
            {n: net for n in self.wb.datasets},
            self.wb.norm,
            self.wb.device,
            self.wb.source,
        )
        p.synthetic = {
            n for n in self.wb.datasets if getattr(self.wb.data[n]["test"], "synthetic", False)
        }
        return p

    def classify_file(self, path: str | Path) -> Dict[str, Any]:
        """Classify a file as a sample of the selected dataset; its result goes to
        ``state["upload"]``."""
        name = self.dataset.value
        try:
            p = self.predictor().predict(path, dataset=name, attention=True)[0]
        except (ValueError, TypeError, OSError) as err:
            self.state["upload"] = {"file": Path(path).name, "error": str(err)}
            self.upload_info.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"
            return self.state["upload"]
        self.state["upload"] = {
            "file": Path(path).name,
            "dataset": name,
            "label": p.label,
            "prob": p.top(1)[0][1],
            "specialist": p.specialist,
            "notes": p.notes,
        }
        self.upload_info.value = (
            f"your file <b>{html.escape(Path(path).name)}</b> as {html.escape(name)}: "
            f"<b>{html.escape(p.label)}</b> ({p.top(1)[0][1]:.2f}), specialist {p.specialist}"
            + "".join(f"<br><i>{html.escape(n)}</i>" for n in p.notes)
        )
        self._render_upload(p)
        return self.state["upload"]

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        folder = Path(tempfile.mkdtemp(prefix="mosaic-upload-"))
        path = folder / Path(item["name"]).name
        path.write_bytes(bytes(item["content"]))
        self.classify_file(path)

    def _render_upload(self, p) -> None:
        self._show(prediction_figure(p), self.upload_out, tight=False)
