"""The explorer's layout: its controls in rows, the figure and text outputs, and how a figure is
shown."""

from __future__ import annotations

from typing import List, Optional

import ipywidgets as W

__all__ = ["ExplorerLayout"]


class ExplorerLayout:
    """Mixin of ``Explorer``: the widget tree and figure display."""

    def _show(self, fig, out: Optional[W.Output] = None, tight: bool = True) -> None:
        """Replace what an output area (the sample view's unless ``out``) shows with ``fig``."""
        import matplotlib.pyplot as plt
        from IPython import get_ipython
        from IPython.display import clear_output, display

        if tight:
            fig.tight_layout()
        if (
            getattr(get_ipython(), "kernel", None) is not None
        ):  # outside Jupyter there is nothing to show it in
            with out or self.out:
                clear_output(wait=True)
                display(fig)
        plt.close(fig)

    def widget(self) -> W.Widget:
        controls = W.VBox(
            [
                W.HBox([self.dataset, self.checkpoint]),
                self.split,
                W.HBox([self.index, self.slice]),
                W.HBox([self.mode, self.which]),
                self.attention,
            ]
        )
        upload = W.VBox(
            [
                W.HTML(
                    "<b>Classify your own image or volume</b> as a sample of the selected dataset "
                    "(PNG/JPEG/TIFF/BMP, .npy, NIfTI, DICOM):"
                ),
                self.upload,
                self.upload_info,
                self.upload_out,
            ]
        )
        return W.VBox([controls, self.info, self.out, upload])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())

    def controls(self) -> List[W.Widget]:
        return [
            self.dataset,
            self.split,
            self.index,
            self.slice,
            self.mode,
            self.which,
            self.attention,
            self.checkpoint,
            self.upload,
        ]
