"""Progress output: a bar in a terminal, short plain lines in a log file."""

from __future__ import annotations

import io

from mosaic_kit.utils.progress import progress_bar, writes_to_terminal


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_file_gets_plain_lines_not_one_line_of_carriage_returns(monkeypatch):
    monkeypatch.setenv("MOSAIC_PROGRESS_SECONDS", "0")
    log = io.StringIO()
    assert not writes_to_terminal(log)
    for _ in progress_bar(range(200), desc="train", unit="step", file=log):
        pass
    text = log.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and len(lines) > 5
    assert all(len(line) <= 100 for line in lines)
    assert lines[-1].startswith("train: 100%") and "200/200" in lines[-1]


def test_the_interval_bounds_the_number_of_lines(monkeypatch):
    monkeypatch.setenv("MOSAIC_PROGRESS_SECONDS", "3600")
    log = io.StringIO()
    for _ in progress_bar(range(10_000), desc="train", file=log):
        pass
    assert len(log.getvalue().splitlines()) <= 3  # the start, the end: nothing in between


def test_a_terminal_keeps_tqdms_redrawn_bar():
    tty = _Terminal()
    for _ in progress_bar(range(50), desc="train", file=tty, mininterval=0):
        pass
    assert "\r" in tty.getvalue()


def test_postfix_updates_do_not_bypass_the_interval(monkeypatch):
    monkeypatch.setenv("MOSAIC_PROGRESS_SECONDS", "3600")
    log = io.StringIO()
    bar = progress_bar(total=100, desc="train", file=log)
    for i in range(100):
        bar.set_postfix(ds=f"d{i % 3}")  # forces a redraw at every call
        bar.update(1)
    bar.close()
    lines = log.getvalue().splitlines()
    assert len(lines) <= 2 and "100%" in lines[-1]
