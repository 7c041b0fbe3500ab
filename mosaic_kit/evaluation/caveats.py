"""Plain-words warnings about a run's scores, for anyone about to read or use them: trained on
synthetic stand-ins, on a backbone that was never pretrained, or not better than the class prior
(the accuracy of always answering the training split's most frequent class; AUC 0.5)."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping

__all__ = ["run_caveats", "not_learnt", "NOT_LEARNT_AUC"]

#: a test AUC below this ranks the classes hardly better than a coin
NOT_LEARNT_AUC = 0.55
#: accuracy within this of the majority rate is no better than answering the majority class
MAJORITY_TOLERANCE = 0.005


def run_caveats(results: Mapping[str, Any], checkpoint: str = "best") -> List[str]:
    """One sentence per problem of the run whose ``results.json`` is ``results``, scored at
    ``checkpoint`` (best or last); empty when none is found."""
    out: List[str] = []
    prov = results.get("provenance") or {}
    synthetic = sorted(n for n, kind in (prov.get("datasets") or {}).items() if kind == "synthetic")
    if synthetic:
        out.append(
            f"Trained and scored on synthetic stand-in data ({', '.join(synthetic)}), not on "
            "medical images: its scores and predictions say nothing about real scans."
        )
    backbone = prov.get("backbone") or {}
    if backbone and not backbone.get("pretrained", True):
        out.append(
            f"Its backbone ({backbone.get('backbone')}) was never pretrained (random weights): a "
            "kit test model, not one to read images with."
        )
    for name, problems in not_learnt(results, checkpoint).items():
        out.append(f"{name}: {' and '.join(problems)}: the model has not learnt this dataset.")
    return out


def not_learnt(results: Mapping[str, Any], checkpoint: str = "best") -> Dict[str, List[str]]:
    """Dataset -> what shows it was not learnt beyond the class prior: test ACC no higher than
    the majority class's, or test AUC below ``NOT_LEARNT_AUC``."""
    scores = (results.get("last") or results) if checkpoint == "last" else results
    majority = results.get("majority") or {}
    found: Dict[str, List[str]] = {}
    for name, entry in (scores.get("datasets") or {}).items():
        test = (entry or {}).get("test") or {}
        acc, auc = test.get("acc"), test.get("auc")
        problems = []
        if acc is not None and name in majority and acc <= majority[name] + MAJORITY_TOLERANCE:
            problems.append(
                f"test ACC {100 * acc:.1f}% is no higher than always answering the most frequent "
                f"class ({100 * majority[name]:.1f}%)"
            )
        if auc is not None and auc < NOT_LEARNT_AUC:
            problems.append(f"test AUC {auc:.2f} ranks the classes hardly better than chance (0.5)")
        if problems:
            found[name] = problems
    return found
