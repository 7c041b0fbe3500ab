"""The predict command: predictions on files as a table, and an image with the attention overlay."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

from ..utils.atomic import save_figure
from .load import load
from .predict import Prediction

__all__ = ["expand_inputs", "format_table", "predict_command", "save_overlay", "to_csv"]

#: what a folder of inputs may hold, one prediction per file (a DICOM folder is one series)
_ONE_PER_FILE = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".npy", ".nii", ".nii.gz")


def expand_inputs(paths: Sequence[str]) -> List[str]:
    """Each folder of images (PNG/JPEG/TIFF/BMP, .npy, NIfTI) becomes its files, sorted by
    name, as timm's inference script reads a folder; a folder of DICOM slices stays one volume;
    files pass as given."""
    out: List[str] = []
    for p in map(Path, paths):
        if not p.is_dir():
            out.append(str(p))
            continue
        files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
        ones = [f for f in files if f.name.lower().endswith(_ONE_PER_FILE)]
        if ones and len(ones) == len(files):
            out += [str(f) for f in ones]
        elif ones:
            others = sorted({f.suffix or f.name for f in files if f not in ones})
            raise ValueError(
                f"{p} mixes images with other files ({', '.join(others)}): give the images "
                "themselves, or a folder holding only images (or only one DICOM series)."
            )
        else:
            out.append(str(p))  # a DICOM series (the reader says so if it is not one)
    if not out:
        raise ValueError("no input given: name image files or a folder of them.")
    return out


def to_csv(predictions: Sequence[Prediction], path: str | Path) -> Path:
    """One row per input: input, dataset, specialist, prediction, its probability, then one
    column per class (``p(NAME)``), written whole or not at all."""
    import csv
    import io

    from ..utils.atomic import atomic_write_bytes

    names = list(predictions[0].probabilities) if predictions else []
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(
        ["input", "dataset", "specialist", "prediction", "p"] + [f"p({c})" for c in names]
    )
    for p in predictions:
        writer.writerow(
            [p.source, p.dataset, p.specialist or "", p.label, f"{p.top(1)[0][1]:.6f}"]
            + [f"{p.probabilities[c]:.6f}" for c in names]
        )
    atomic_write_bytes(path, buf.getvalue().encode())
    return Path(path)


def format_table(predictions: Sequence[Prediction], k: int = 3) -> str:
    """A readable table: one line per input with the prediction, its probability and the
    runners-up."""
    rows = [("input", "dataset", "specialist", "prediction", "p", "top classes")]
    for p in predictions:
        top = ", ".join(f"{c} {v:.2f}" for c, v in p.top(k))
        rows.append(
            (p.source, p.dataset, p.specialist or "-", p.label, f"{p.top(1)[0][1]:.2f}", top)
        )
    # a long path keeps its end (the file name)
    rows = [(r[0] if len(r[0]) <= 48 else "…" + r[0][-47:],) + tuple(r[1:]) for r in rows]
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(c[:48].ljust(w) for c, w in zip(r[:-1], widths)) + "  " + r[-1] for r in rows
    )


def predict_command(
    run_dir: str,
    files: List[str],
    dataset: str,
    window: Optional[str] = None,
    attention: Optional[str] = None,
    as_json: bool = False,
    checkpoint: str = "best",
    which: str = "student",
    device: str = "cpu",
    weights: Optional[str] = None,
    csv_path: Optional[str] = None,
) -> int:
    """``python -m mosaic_kit predict``: print a table (or JSON) of predictions; overlays into
    ``attention``."""
    import json

    win = None
    if window:
        try:
            win = tuple(float(v) for v in window.split(","))
            assert len(win) == 2
        except (ValueError, AssertionError):
            raise ValueError(
                f"--window {window!r}: give LOW,HIGH, e.g. --window -1000,400"
            ) from None
    import sys

    predictor = load(run_dir, checkpoint, which, device, weights)
    preds = predictor.predict(expand_inputs(files), dataset, attention=bool(attention), window=win)
    for caveat in predictor.caveats(dataset):
        print(f"warning: {caveat}", file=sys.stderr)
    for i, p in enumerate(preds if attention else []):
        save_overlay(p, Path(attention) / f"{i:03d}-{Path(p.source).name.split('.')[0]}.png")
    print(json.dumps([p.to_dict() for p in preds], indent=1) if as_json else format_table(preds))
    if csv_path:
        print(f"predictions written to {to_csv(preds, csv_path)}", file=sys.stderr)
    return 0


def save_overlay(prediction: Prediction, path: str | Path) -> Path:
    """A PNG of the input with its attention map as a translucent overlay and a colour bar (a
    volume: the middle slice along each axis). Needs ``predict(..., attention=True)`` and
    matplotlib."""
    if prediction.attention is None:
        raise ValueError("This prediction has no attention map: call predict(..., attention=True).")
    import matplotlib.pyplot as plt

    from ..viz.explorer_figures import prediction_figure

    fig = prediction_figure(prediction)
    path = Path(path)
    save_figure(fig, path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
