"""Answer extraction from free-form model output, and scoring.

Contracts:

- :func:`extract_answer` never raises on any ``str``; it returns ``None`` when it finds nothing.
- ``kind="choice"``: returns one upper-case letter among the first ``n_options`` (A, B, ...).
  The last "answer" phrase wins ("The answer is (B)", "the answer is B", "**Answer:** (D)",
  "The correct answer is: C", "answer is $\\boxed{C}$"); phrases naming a letter beyond
  ``n_options`` are ignored. Without one, the last ``\\boxed{C}``, then a final "(C)" at the very
  end, or a last line that is only a letter ("C", "C.", "**C**", "(C)") is taken.
  The letter must be upper case, except inside parentheses: "(b)".
- ``kind="number"``: returns a normalised number string (:func:`normalize_number`). The last
  of "The answer is N" / "Answer: N" / ``\\boxed{N}`` / "#### N" wins; otherwise the last number
  in the text. ``$``, thousands commas, ``%`` and trailing zeros are dropped; simple fractions
  (``3/4``, ``\\frac{3}{4}``) in an answer phrase become decimals.
- ``kind="word"``: returns one lower-case word (letters, inner ``-`` or ``'``), such as a
  name. The last answer phrase wins ("The answer is Carol", "The answer is: **Carol**.",
  "Answer: carol"); the first word after it is taken, with markdown, quotes and punctuation
  around it dropped. Without a phrase, a last line that is one word ("**Carol**.") is
  taken; a name merely mentioned in a sentence is not.
- :func:`is_correct`: letters and words compare case-insensitively (words also ignore
  surrounding punctuation); numbers numerically with a relative tolerance of 1e-6 (absolute
  1e-6 near zero).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TOL = 1e-6

# What may sit between an answer phrase and the answer: spaces, markdown, colons, LaTeX wrappers.
_FILL = r"(?:[\s*_:$(\[{]|\\\(|\\\[|\\boxed\{|\\text(?:bf)?\{|\\mathrm\{|\\mathbf\{)*"
_PHRASE = (
    r"(?i:\b(?:answer|correct\s+(?:option|choice)|final\s+choice)[*_]*\s*"
    r"(?:(?:is|would\s+be|should\s+be|will\s+be)\b[*_]*\s*:?|:))"
)
_CHOICE = re.compile(
    _PHRASE
    + _FILL
    + r"(?:(?i:option|choice)\s*"
    + _FILL
    + r")?([A-Z]|(?<=\()[a-z](?=\)))(?![A-Za-z0-9])"
)
_BOXED_LETTER = re.compile(r"\\boxed\{\s*(?:\\text(?:bf)?\{)?\s*\(?([A-Z])\)?\s*\}")
_END_PAREN = re.compile(r"\(([A-Za-z])\)[\s.*_)\]$]*\Z")
_LONE_LINE = re.compile(r"(?:\A|\n)[\s>*_#-]*\(?([A-Z])[).:]?[\s.*_]*\Z")

# A word answer: letters with inner hyphens or apostrophes; quotes may wrap it too.
_WORD = r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*"
_WORD_FILL = (
    r"(?:[\s*_:$(\[{\"'`\u2018\u201c]|\\\(|\\\[|\\boxed\{|\\text(?:bf)?\{|\\mathrm\{|\\mathbf\{)*"
)
_WORD_PHRASE = re.compile(_PHRASE + _WORD_FILL + "(" + _WORD + ")")
_LONE_WORD = re.compile(
    r"(?:\A|\n)[\s>*_#(\"'`\u2018\u201c-]*(" + _WORD + r")[\s.!*_)\"'`\u2019\u201d]*\Z"
)

_NUM = (
    r"[-\u2212]?(?:\\?\$\s?)?[-\u2212]?"
    r"(?:(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)"
)
_NUM_RE = re.compile(r"(?<![\w.])" + _NUM)
_FRAC = r"(?:\\[dt]?frac\{\s*(-?\d+)\s*\}\{\s*(\d+)\s*\}|(-?\d+)\s*/\s*(\d+)(?![\d.]))"
_NUMBER_PHRASES = [
    re.compile(_PHRASE + _FILL + r"(?:" + _FRAC + r"|(" + _NUM + r"))"),
    re.compile(r"\\boxed\{[^{}\d-]*(?:" + _FRAC + r"|(" + _NUM + r"))"),
    re.compile(r"####\s*(?:" + _FRAC + r"|(" + _NUM + r"))"),
]


def normalize_number(text: str) -> str | None:
    """Canonical string of a number, or ``None``: ``"$1,234.50"`` -> ``"1234.5"``, ``"7.0"`` ->
    ``"7"``, ``"-0"`` -> ``"0"``, ``"50%"`` -> ``"50"``, ``".5"`` -> ``"0.5"``."""
    s = re.sub(r"[\s,$%\\]", "", text).replace("\u2212", "-")
    if s.startswith("-") and s[1:].startswith("-"):
        return None
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    if d == d.to_integral_value():
        return str(int(d))
    out = format(d.normalize(), "f")
    return "0" + out if out.startswith(".") else out.replace("-.", "-0.")


def _fraction(num: str, den: str) -> str | None:
    if int(den) == 0:
        return None
    return normalize_number(str(round(Decimal(int(num)) / Decimal(int(den)), 10)))


def _number_from(m: re.Match[str]) -> str | None:
    g = m.groups()[-5:]  # frac num/den, slash num/den, plain number
    if g[0] is not None:
        return _fraction(g[0], g[1])
    if g[2] is not None:
        return _fraction(g[2], g[3])
    return normalize_number(g[4]) if g[4] is not None else None


def _extract_choice(text: str, n_options: int) -> str | None:
    valid = LETTERS[: max(0, min(n_options, len(LETTERS)))]
    found = [m.group(1).upper() for m in _CHOICE.finditer(text)]
    found = [c for c in found if c in valid]
    if found:
        return found[-1]
    boxed: list[str] = [c for c in _BOXED_LETTER.findall(text) if c in valid]
    if boxed:
        return boxed[-1]
    tail = text.rstrip()
    for pattern in (_END_PAREN, _LONE_LINE):
        m = pattern.search(tail)
        if m and m.group(1).upper() in valid and (pattern is _END_PAREN or m.group(1).isupper()):
            return m.group(1).upper()
    return None


def _extract_number(text: str) -> str | None:
    best: tuple[int, str] | None = None
    for pattern in _NUMBER_PHRASES:
        for m in pattern.finditer(text):
            value = _number_from(m)
            if value is not None and (best is None or m.start() >= best[0]):
                best = (m.start(), value)
    if best is not None:
        return best[1]
    for m in reversed(list(_NUM_RE.finditer(text))):
        value = normalize_number(m.group(0))
        if value is not None:
            return value
    return None


def _extract_word(text: str) -> str | None:
    found = [m.group(1) for m in _WORD_PHRASE.finditer(text)]
    if found:
        return found[-1].lower()
    m = _LONE_WORD.search(text.rstrip())
    return m.group(1).lower() if m else None


def normalize_word(text: str) -> str:
    """``text`` without surrounding spaces, markdown, quotes or punctuation, lower-cased."""
    return re.sub(r"\A[\W_]+|[\W_]+\Z", "", text).lower()


def extract_answer(text: str, kind: str, n_options: int = 4) -> str | None:
    """The final answer in ``text``: a letter for ``kind="choice"``, a normalised number string
    for ``kind="number"``, a lower-case word for ``kind="word"``, ``None`` when nothing is
    found. ``ValueError`` on another kind."""
    if kind == "choice":
        return _extract_choice(text, n_options)
    if kind == "number":
        return _extract_number(text)
    if kind == "word":
        return _extract_word(text)
    raise ValueError(f"kind must be 'choice', 'number' or 'word' (got {kind!r})")


def is_correct(extracted: str | None, gold: str, kind: str) -> bool:
    """Whether an extracted answer matches the gold one (``None`` is never correct)."""
    if extracted is None:
        return False
    if kind == "choice":
        return extracted.strip().upper() == gold.strip().upper()
    if kind == "number":
        a, b = normalize_number(extracted), normalize_number(gold)
        if a is None or b is None:
            return False
        x, y = float(a), float(b)
        return abs(x - y) <= _TOL * max(1.0, abs(y))
    if kind == "word":
        word = normalize_word(extracted)
        return bool(word) and word == normalize_word(gold)
    raise ValueError(f"kind must be 'choice', 'number' or 'word' (got {kind!r})")
