"""core.cpu: a function run in another process gives what it gives here."""

from __future__ import annotations

import os

import pytest

from sqlfoundry.core.cpu import in_background


def _pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def _fails(x: int) -> int:
    raise ValueError(f"bad input {x}")


def test_the_result_comes_from_another_process():
    pid, square = in_background(_pid_and_square, 12)()
    assert square == 144 and pid != os.getpid()


def test_a_failure_is_raised_here_as_it_would_be_in_process():
    with pytest.raises(ValueError, match="bad input 3"):
        in_background(_fails, 3)()
