"""Session settings (a slotted dataclass, validated once)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from livemind.actions import action_set
from livemind.answer_modes import (
    ANSWER_MODES,
    DEFAULT_ANSWER_MODE,
    DEFAULT_NOTES,
    DEFAULT_REASON_BUDGET,
    NOTE_POLICIES,
)
from livemind.formats import DEFAULT_FORMAT, check_format
from livemind.segment import GRANULARITIES

MODES = ("livemind", "baseline", "output-only")
COMMIT_POLICIES = ("wait", "cancel", "keep")


@dataclass(slots=True, frozen=True)
class SessionConfig:
    """How a :class:`~livemind.session.LiveSession` segments, prompts and answers.

    ``mode``: ``livemind`` (simultaneous inference), ``baseline`` (the complete prompt
    at once with a step-by-step answer) or ``output-only`` (LiveMind's output prompt on
    the complete input, no inference stage). ``commit_policy``: on Enter, ``wait`` for an
    in-flight inference call to finish (the paper's behaviour), ``cancel`` it, or cancel
    it but ``keep`` the note it has written so far (cut back to its last whole word; the
    default: BENCHMARKS §7, as accurate as ``wait`` on MMLU without its wait).
    ``prewarm``: while the user types, prefill the text no call has read yet into the
    cache (when the backend can), cut at whitespace every ``prewarm_min_chars`` new
    characters, at the lowest priority, so Enter finds it cached.
    ``speculate``: start the answer once the input has been idle ``speculate_after_s``
    seconds and looks complete; Enter on unchanged text adopts it, any edit cancels it.
    ``answer_mode``: ``short``, ``reason`` (a brief derivation of at most
    ``reason_budget`` tokens; 0: ``answer_max_tokens``) or ``auto`` (per turn: ``reason``
    for numeric word problems); ``notes``: the inference stage's note policy (``auto``,
    ``facts``, ``steps`` or ``free``; ``auto`` writes none for a ``reason`` answer or a
    numeric word problem). See :mod:`livemind.answer_modes`.
    """

    mode: str = "livemind"
    format: str = DEFAULT_FORMAT
    granularity: str = "sentence"
    min_len: int = 10
    action_set: str = "v2"
    answer_instruction: str = ""
    inference_max_tokens: int = 64
    answer_max_tokens: int = 512
    temperature: float = 0.0
    commit_policy: str = "keep"
    max_history_turns: int = 8
    prewarm: bool = True
    prewarm_min_chars: int = 24
    speculate: bool = False
    speculate_after_s: float = 0.6
    answer_mode: str = DEFAULT_ANSWER_MODE
    reason_budget: int = DEFAULT_REASON_BUDGET
    notes: str = DEFAULT_NOTES

    def conventional_baseline(self) -> SessionConfig:
        """This session's settings as the conventional baseline it is compared with: the
        complete prompt at once after Enter, nothing read or started before it."""
        return replace(self, mode="baseline", prewarm=False, speculate=False)

    def validated(self) -> SessionConfig:
        """Return self, or raise ValueError naming the bad setting and the valid values."""
        _choice("mode", self.mode, MODES)
        check_format(self.format)
        _choice("granularity", self.granularity, GRANULARITIES)
        _choice("commit_policy", self.commit_policy, COMMIT_POLICIES)
        action_set(self.action_set)
        _choice("answer_mode", self.answer_mode, ANSWER_MODES)
        _choice("notes", self.notes, NOTE_POLICIES)
        if self.reason_budget < 0:
            raise ValueError(f"reason_budget must be 0 (unbounded) or more: {self.reason_budget}")
        if self.min_len < 1:
            raise ValueError(f"min_len must be at least 1, got {self.min_len}")
        if self.inference_max_tokens < 1 or self.answer_max_tokens < 1:
            raise ValueError("max token limits must be at least 1")
        if self.prewarm_min_chars < 1:
            raise ValueError(f"prewarm_min_chars must be at least 1, got {self.prewarm_min_chars}")
        if self.speculate_after_s < 0:
            raise ValueError(f"speculate_after_s must be 0 or more, got {self.speculate_after_s}")
        if self.max_history_turns < 0:
            raise ValueError("max_history_turns must be 0 or more")
        return self


def _choice(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(options)}")
