"""Figures of a run: training curves and per-dataset test scores (matplotlib, written as PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np

from ..data.registry import SPECIALIST_COLORS, SPECIALISTS, get_info
from ..evaluation.results import load_results, provenance_tag
from ..train.log import read_log
from ..train.tracking import log_figures
from ..utils.atomic import make_folder, save_figure

__all__ = ["save_run_figures", "read_metrics", "curves_figure", "LiveCurves"]

_STYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "v", "D", "x")


def fit_title(ax, text: str, fontsize: float = 9) -> None:
    """``ax``'s title, wrapped to the figure's width (about 0.55 em per character), so that no
    title is clipped however few datasets set the width."""
    import textwrap

    width_pt = ax.figure.get_figwidth() * 72
    ax.set_title(
        "\n".join(textwrap.wrap(text, max(20, int(width_pt / (0.55 * fontsize))))),
        fontsize=fontsize,
    )


def outside_legend(ax, fontsize: float = 7) -> None:
    """The legend right of the axes, where it covers no point whatever the number of labels."""
    ax.legend(fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def read_metrics(run_dir: str | Path) -> List[dict]:
    """The rows of a run's ``metrics.jsonl`` (a row still being written is left out)."""
    return read_log(Path(run_dir) / "metrics.jsonl")


def curves_figure(rows: List[dict], routing: dict):
    """Training loss by specialist (left) and validation accuracy per round (right) from metrics
    rows."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    steps = [r for r in rows if r["kind"] == "step"]
    rounds = [r for r in rows if r["kind"] == "round"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 3.8))
    for k, spec in enumerate(sorted(set(routing.values()))):
        pts = [(r["step"], r["task_loss"]) for r in steps if routing.get(r["dataset"]) == spec]
        if pts:
            x, y = np.array(pts).T
            label = f"specialist {spec}" if spec in SPECIALISTS else spec
            ax1.scatter(
                x, y, s=4, alpha=0.35, color=SPECIALIST_COLORS.get(spec, f"C{k}"), label=label
            )
    ax1.set(
        xlabel="step", ylabel="task loss", title="Training loss by specialist / path", yscale="log"
    )
    if steps:
        ax1.legend(markerscale=3)
    if rounds:
        xs = [r["round"] + 1 for r in rounds]
        ax2.plot(xs, [r["val_acc"] for r in rounds], "k-o", lw=2, label="mean")
        seen: Dict[str, int] = {}
        for name in rounds[0][
            "val"
        ]:  # colour = specialist; line style and marker tell datasets apart
            k = seen[routing.get(name)] = seen.get(routing.get(name), -1) + 1
            ax2.plot(
                xs,
                [r["val"][name] for r in rounds],
                lw=1,
                alpha=0.8,
                ls=_STYLES[k % len(_STYLES)],
                marker=_MARKERS[k % len(_MARKERS)],
                ms=3,
                color=SPECIALIST_COLORS.get(routing.get(name), "grey"),
                label=f"{name.replace('mnist', '')} ({routing.get(name, '-')})",
            )
        ax2.legend(
            fontsize=7,
            loc="center left",
            bbox_to_anchor=(1.01, 0.5),
            ncol=1 + len(rounds[0]["val"]) // 10,
        )
    if rounds and len(rounds) <= 20:
        ax2.set_xticks([r["round"] + 1 for r in rounds])  # one tick per round
    else:
        ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.set(
        xlabel="round",
        ylabel="val accuracy",
        title="Validation accuracy per dataset (mean in black)",
    )
    fig.tight_layout()
    return fig


class LiveCurves:
    """``train(..., on_round=LiveCurves(routing))`` redraws the curves in one notebook output
    after each round."""

    def __init__(self, routing: dict) -> None:
        self.routing = routing
        self.handle = None

    def __call__(self, run_dir: Path) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        fig = curves_figure(read_metrics(run_dir), self.routing)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)


def save_run_figures(run_dir: str | Path) -> List[Path]:
    """Write ``figures/curves.png`` and ``figures/test_scores.png`` into the run directory."""
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    out = run_dir / "figures"
    make_folder(out)
    results = load_results(run_dir)
    routing = results.get("routing", {})
    written = []
    if (
        run_dir / "metrics.jsonl"
    ).is_file():  # an `independent` run keeps its curves in per-dataset sub-runs
        fig = curves_figure(read_metrics(run_dir), routing)
        if provenance_tag(results):
            fig.suptitle(provenance_tag(results), fontsize=9)
            fig.tight_layout()
        save_figure(fig, out / "curves.png", dpi=120)
        plt.close(fig)
        written.append(out / "curves.png")

    fig = test_scores_figure(results)
    save_figure(fig, out / "test_scores.png", dpi=120)
    plt.close(fig)
    written.append(out / "test_scores.png")
    log_figures(run_dir, written)  # into the run's TensorBoard log / MLflow run, when it has one
    return written


def test_scores_figure(results: dict):
    """Test ACC and AUC per dataset, student and EMA teacher, each against its floor: the majority
    class's accuracy (always predicting the training split's most frequent class; 1/#classes
    where a run did not record it) and AUC 0.5. A bar at its floor learnt nothing."""
    import matplotlib.pyplot as plt

    names, routing = list(results["datasets"]), results.get("routing", {})
    majority = results.get("majority") or {}
    fig, axes = plt.subplots(2, 1, figsize=(max(6, 0.55 * len(names) + 2.5), 6.5), sharex=True)
    xs = np.arange(len(names))
    colors = [SPECIALIST_COLORS.get(routing.get(n), "grey") for n in names]
    for ax, metric in zip(axes, ("acc", "auc")):
        student = [results["datasets"][n]["test"][metric] for n in names]
        teacher = [results["teacher"]["datasets"][n]["test"][metric] for n in names]
        ax.bar(xs - 0.2, student, 0.4, color=colors, label="student")
        ax.bar(xs + 0.2, teacher, 0.4, color="lightgrey", edgecolor="k", lw=0.5, label="teacher")
        if metric == "acc":
            floor = [majority.get(n, _uniform(n)) for n in names]
            label = "majority class" if majority else "1 / #classes"
            ax.scatter(xs, floor, marker="_", s=300, color="k", lw=2, label=label, zorder=3)
        else:
            ax.axhline(0.5, color="k", ls="--", lw=1, label="AUC 0.5 (no ranking)")
        ax.set_xticks(xs, [n.replace("mnist", "") for n in names], rotation=45, ha="right")
        ax.set(ylabel=f"test {metric.upper()}", ylim=(0, 1))
        ax.tick_params(labelbottom=True)
    import textwrap

    tag = provenance_tag(results)
    title = "Test scores per dataset (colour = specialist)" + (f"; {tag}" if tag else "")
    fig.suptitle(textwrap.fill(title, int(fig.get_figwidth() * 12)), fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    more = axes[1].get_legend_handles_labels()
    axes[0].legend(
        handles + more[0][:1],
        labels + more[1][:1],
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
    )
    fig.tight_layout()
    return fig


def _uniform(name: str) -> float:
    info = get_info(name)
    return np.nan if info.is_multilabel else 1.0 / info.n_classes
