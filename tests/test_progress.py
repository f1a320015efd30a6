"""The byte progress bar off a terminal: one tqdm line per finished pass, nothing else."""

from __future__ import annotations

import io

from livemind.progress import ByteProgress


def test_off_a_terminal_each_pass_writes_one_final_line() -> None:
    out = io.StringIO()
    progress = ByteProgress("preparing model", out=out)
    for done in range(0, 3_000_001, 500_000):
        progress(done, 3_000_000)
    assert out.getvalue().count("\n") == 1 and "\r" not in out.getvalue()
    for done in (1_000_000, 2_000_000):  # a second pass (a verify after a build)
        progress(done, 2_000_000)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("preparing model: 100%") and "3.00M/3.00M" in lines[0]
    assert "2.00M/2.00M" in lines[1] and "B/s" in lines[1]


def test_an_unfinished_pass_then_a_new_one_writes_only_the_finished_one() -> None:
    out = io.StringIO()
    progress = ByteProgress("x", out=out)
    progress(10, 100)  # a pass cut short (an error while hashing)
    progress(5, 50)
    progress(50, 50)
    assert out.getvalue().count("\n") == 1 and "50.0/50.0" in out.getvalue()
