"""Export one dataset's path of a trained run (input preparation, tokenizer, backbone with its
specialist, head) to ONNX or TorchScript, with a dynamic batch axis.

The exported graph takes what ``Predictor.conform`` produces, as float32: ``(B, S, S)`` grayscale
or ``(B, S, S, 3)`` RGB images, or ``(B, S, S, S)`` volumes, values 0..255 at the run's file size
``S``; it resizes and normalises inside and returns ``logits`` and ``probabilities`` (softmax, or
a sigmoid per label for multi-label datasets). A JSON file beside it (``{file}.json``) records
the input layout, class names and provenance.
"""

from __future__ import annotations

import importlib.util
import io
import json
import warnings
from pathlib import Path
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

from ..data import Normalization
from ..data.registry import TASK_MULTILABEL, check_dataset_name, get_info
from ..evaluation.evaluate import prepare
from ..models.mosaic import MosaicModel

__all__ = ["DatasetPath", "export", "example_input", "FORMATS"]

FORMATS = ("onnx", "torchscript")


class DatasetPath(nn.Module):
    """One dataset's route through a trained model, from 0..255 input to logits and
    probabilities."""

    def __init__(self, model: MosaicModel, dataset: str, norm: Normalization) -> None:
        super().__init__()
        self.model, self.dataset, self.norm = model, dataset, norm
        self.multilabel = get_info(dataset).task == TASK_MULTILABEL

    def forward(self, x: torch.Tensor):
        logits = self.model(prepare(self.model, self.dataset, x, self.norm, None), self.dataset)
        probs = torch.sigmoid(logits) if self.multilabel else torch.softmax(logits, dim=-1)
        return logits, probs


def example_input(dataset: str, size: int, batch: int = 2, seed: int = 0) -> torch.Tensor:
    """A random float32 batch in the exported graph's input layout."""
    info = get_info(dataset)
    shape = (
        (batch, size, size, size)
        if info.is_3d
        else ((batch, size, size, 3) if info.n_channels == 3 else (batch, size, size))
    )
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=g).float()


def export(
    run_dir: str | Path,
    dataset: str,
    fmt: str = "onnx",
    out: Optional[str | Path] = None,
    checkpoint: str = "best",
    which: str = "student",
    weights: Optional[str] = None,
) -> List[Path]:
    """Write ``dataset``'s path of ``run_dir`` as ``fmt`` (``onnx`` or ``torchscript``) plus a
    JSON description; returns both paths. The file is written under a temporary name and renamed
    when complete. ``weights``: the backbone weights file, where it has moved since training (its
    sha256 must match the run's)."""
    from ..utils.atomic import atomic_write_bytes
    from .load import load

    if fmt not in FORMATS:
        raise ValueError(f"format '{fmt}' is not one of {', '.join(FORMATS)}.")
    if fmt == "onnx" and not all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript")):
        raise RuntimeError(
            "ONNX export needs onnx and onnxscript: pip install 'mosaic_kit[export]' (or use "
            "--format torchscript)."
        )
    dataset = check_dataset_name(dataset)
    predictor = load(run_dir, checkpoint, which, "cpu", weights)
    model = predictor.model(dataset).float().eval()
    size = predictor.file_size(dataset)
    info = get_info(dataset)
    out, side = export_paths(run_dir, dataset, fmt, out)
    fused = [blk.attn.fused_attn for blk in model.vit.blocks]
    net = DatasetPath(model, dataset, predictor.norm).eval()
    x = example_input(dataset, size)
    try:
        for blk in model.vit.blocks:  # the explicit softmax(QK^T)V: one graph for every runtime
            blk.attn.fused_attn = False
        with torch.no_grad(), warnings.catch_warnings():
            # shape checks become constants: only the batch axis varies, and the parity test checks
            # the graphs
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            data = _serialise(net, x, fmt)  # in memory: the file is written by the kit's writer
    finally:
        for blk, f in zip(model.vit.blocks, fused):
            blk.attn.fused_attn = f
    atomic_write_bytes(out, data)
    shape = ["batch"] + list(x.shape[1:])
    meta = {
        "format": fmt,
        "dataset": dataset,
        "task": info.task,
        "input": {
            "name": "input",
            "shape": shape,
            "dtype": "float32",
            "range": [0, 255],
            "layout": "volumes (D, H, W)"
            if info.is_3d
            else ("RGB (H, W, 3)" if info.n_channels == 3 else "grayscale (H, W)"),
        },
        "outputs": ["logits", "probabilities"],
        "class_names": predictor.class_names(dataset),
        "specialist": model.resolve_specialist(dataset),
        "run": str(Path(run_dir).resolve()),
        "checkpoint": checkpoint,
        "which": which,
        "backbone": predictor.cfg.backbone,
        "normalization": {"mean": list(predictor.norm.mean), "std": list(predictor.norm.std)},
    }
    atomic_write_bytes(side, json.dumps(meta, indent=1).encode())
    return [out, side]


def _serialise(net: torch.nn.Module, x: torch.Tensor, fmt: str) -> bytes:
    """The exported graph as bytes (a full disk then fails in Python with the kit's message, never
    inside libtorch)."""
    if fmt == "onnx":
        program = torch.onnx.export(
            net,
            (x,),
            None,
            input_names=["input"],
            output_names=["logits", "probabilities"],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            dynamo=True,
            verbose=False,
        )
        return program.model_proto.SerializeToString()
    buf = io.BytesIO()
    torch.jit.save(torch.jit.trace(net, (x,), check_trace=False), buf)
    return buf.getvalue()


def export_paths(
    run_dir: str | Path, dataset: str, fmt: str, out: Optional[str | Path] = None
) -> Tuple[Path, Path]:
    """The exported file and its description (``{out}.json``, so an ONNX and a TorchScript export
    of one dataset keep their own). Refused before any work: an empty ``out``, an ``out`` without
    the format's suffix that would replace an existing file (a run's ``results.json``, say), and
    a description that would replace a file that is not an earlier export's description."""
    suffix = ".onnx" if fmt == "onnx" else ".pt"
    if out is not None and not str(out).strip():
        raise ValueError(
            "--out is empty; give the exported file's path (e.g. model.onnx) or leave it out for "
            "RUN/export/DATASET" + suffix + "."
        )
    out = Path(out) if out else Path(run_dir) / "export" / f"{dataset}{suffix}"
    if out.is_dir():
        raise IsADirectoryError(
            f"--out {out} is a folder; give a file name inside it, e.g. {out / (dataset + suffix)}."
        )
    if out.exists() and out.suffix != suffix:
        raise FileExistsError(
            f"{out} exists and is not a {fmt} file ({suffix}); the export will not replace it. "
            f"Choose another --out, e.g. {out.with_suffix(suffix)}."
        )
    side = out.with_name(out.name + ".json")
    if side.exists():
        try:
            earlier = json.loads(side.read_text())
            ours = isinstance(earlier, dict) and {"format", "dataset", "outputs"} <= set(earlier)
        except (ValueError, UnicodeDecodeError):
            ours = False
        if not ours:
            raise FileExistsError(
                f"{side} exists and is not an export description written by mosaic_kit; the "
                "export would replace it. Move it or choose another --out."
            )
    return out, side
