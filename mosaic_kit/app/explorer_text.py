"""The explorer's words: whether a prediction is right, and the panel of text above its figure."""

from __future__ import annotations

import html
from typing import Any, Dict

from ..data.registry import SPECIALIST_COLORS, get_info

__all__ = ["is_correct", "info_html"]


def is_correct(dataset: str, y, pred_class: int, pred_labels=None) -> bool:
    """Whether a prediction is right: the class (multi-label: every label) matches the true
    label."""
    if get_info(dataset).is_multilabel:
        return list(map(int, y)) == list(map(int, pred_labels))
    return int(y[0]) == int(pred_class)


def _mark(ok: bool) -> str:
    return "✓ right" if ok else "✗ wrong"


def info_html(st: Dict[str, Any]) -> str:
    """The panel above the figure, from ``Explorer.state``: where the sample went, the run's
    scores, what each specialist predicts, and whether the routed one is right."""
    color = SPECIALIST_COLORS.get(st["routed"], "#333")
    head = (
        f"<b>{html.escape(st['dataset'])}</b> {st['split']} · {st['n_samples']} samples · routed "
        f"to <b style='color:{color}'>specialist {st['routed']}</b> · weights: "
        f"{html.escape(st['source'])}"
    )
    if not st["trained"]:
        head += " <span style='color:#b00'>(untrained: predictions are not meaningful)</span>"
    if st["synthetic"]:
        head += (
            " · <span style='color:#b00'>synthetic data: the kit's generated patterns, not "
            "MedMNIST images; classes are numbered, not named</span>"
        )
    if st["metrics"]:
        m = st["metrics"]
        head += (
            f"<br>this run on {html.escape(st['dataset'])} (test split, {st['model']}, "
            f"{m['checkpoint']} checkpoint): ACC <b>{m['acc']:.3f}</b> · AUC <b>{m['auc']:.3f}</b>"
        )
    if st["mode"] == "grid":
        right = sum(c["correct"] for c in st["grid"])
        return head + f"<br>this page: {right} of {len(st['grid'])} right (routed specialist)"

    def row(s: str, p: Dict[str, Any]) -> str:
        through = "backbone only" if s == "none" else f"specialist {s}"
        star = " ★" if s == st["routed"] else ""
        name = html.escape(p["name"])
        return f"<tr><td>{through}{star}</td><td>{name}</td><td>{p['prob']:.2f}</td></tr>"

    rows = "".join(row(s, p) for s, p in st["predictions"].items())
    color = "#1a7f37" if st["correct"] else "#b00"
    return (
        f"{head}<br>sample #{st['index']} · label <b>{html.escape(st['label_text'])}</b> · "
        f"<b style='color:{color}'>{_mark(st['correct'])}</b>"
        f"<table><tr><th>forward through</th><th>prediction</th><th>p</th></tr>{rows}</table>"
    )
