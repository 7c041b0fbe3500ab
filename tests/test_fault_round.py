"""The fault rounds of benchmarks/fault_round.py (49 bad inputs through the command line) and
benchmarks/fault_round4.py (65: bundles, compare and per-sample outputs, plans, numeric keys,
results.json scores, full and read-only drives, killed writers, datasets of your own), in the
suite: each a clear error that names what it must, or a correct result; no traceback, no silent
wrong result, no data loss."""

import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import fault_round  # noqa: E402
import fault_round4  # noqa: E402


@pytest.mark.parametrize("round_, least", [(fault_round, 49), (fault_round4, 65)],
                         ids=["round 3", "round 4"])  # fmt: skip
def test_every_fault_case_is_a_clear_error_or_a_correct_result(
    tmp_path, monkeypatch, round_, least
):
    monkeypatch.chdir(tmp_path)  # a case that wrote into the current folder would be seen here
    found = []
    for i, case in enumerate(round_.cases()):
        work = tmp_path / f"case{i:02d}"
        work.mkdir()
        fault_round.classify(case, work)
        found.append(case)
    bad = [
        (c.name, c.outcome, c.detail[-300:])
        for c in found
        if c.outcome not in ("clear error", "correct")
    ]
    assert not bad, bad
    assert len(found) >= least and sorted(
        p.name for p in tmp_path.iterdir() if not p.name.startswith("case")
    ) == ["shared-run"]
