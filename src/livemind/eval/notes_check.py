"""Note correctness on problems whose generator gives its own intermediate values (GSM).

reasoning-gym's ``gsm_symbolic`` items carry a worked solution (``answer_cot``) and the
template's variables. A note (an ``inference`` action's content) is *checked* when it holds
at least one number, and *right* when every number in it is one the problem knows: stated
in the text, used or derived in the worked solution, a template variable, a percentage
as a fraction (30 % -> 0.3 and 0.7), or a small everyday constant (0-12, 24, 52, 60, 100,
365, 1000: counts, units). A note that computes a value the solution never reaches, or
gets an operation wrong, holds a number outside that set. The check cannot see a right
number put to a wrong use; it measures arithmetic and reading errors, which is what the
notes of a small model get wrong most often (BENCHMARKS §3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from livemind.answer_modes import NUMBER
from livemind.eval.answers import normalize_number

_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
CONSTANTS = frozenset({str(n) for n in range(13)} | {"24", "52", "60", "100", "365", "1000"})


def numbers_in(text: str) -> list[str]:
    """The normalised numbers written in ``text`` (thousands commas and ``$`` dropped)."""
    out = []
    for m in NUMBER.finditer(text):
        value = normalize_number(m.group(0).rstrip(","))
        if value is not None:
            out.append(value)
    return out


def known_values(stem: str, solution: str = "", variables: Iterable[Any] = ()) -> tuple[str, ...]:
    """Every number a note may rightly hold for one problem (see the module docstring)."""
    values = set(numbers_in(stem)) | set(numbers_in(solution))
    for v in variables:
        if isinstance(v, int | float) and not isinstance(v, bool):
            n = normalize_number(str(v))
            if n is not None:
                values.add(n)
    for m in _PERCENT.finditer(f"{stem} {solution}"):
        share = Decimal(m.group(1)) / 100
        for v in (share, 1 - share):
            n = normalize_number(str(v))
            if n is not None:
                values.add(n)
    return tuple(sorted(values | CONSTANTS, key=lambda s: (len(s), s)))


def check_notes(actions: Sequence[dict[str, Any]], known: Iterable[str]) -> tuple[int, int]:
    """``(checked, right)`` over the ``inference`` actions of one answer."""
    allowed = set(known)
    checked = right = 0
    for action in actions:
        if action.get("action") != "inference":
            continue
        found = numbers_in(str(action.get("content", "")))
        if found:
            checked += 1
            right += all(n in allowed for n in found)
    return checked, right
