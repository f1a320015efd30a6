"""Session settings (a slotted dataclass, validated once)."""

from __future__ import annotations

from dataclasses import dataclass

from livemind.actions import action_set
from livemind.formats import DEFAULT_FORMAT, check_format
from livemind.segment import GRANULARITIES

MODES = ("livemind", "baseline", "output-only")
COMMIT_POLICIES = ("wait", "cancel")


@dataclass(slots=True, frozen=True)
class SessionConfig:
    """How a :class:`~livemind.session.LiveSession` segments, prompts and answers.

    ``mode``: ``livemind`` (simultaneous inference), ``baseline`` (the complete prompt
    at once with a step-by-step answer) or ``output-only`` (LiveMind's output prompt on
    the complete input, no inference stage). ``commit_policy``: on Enter, ``wait`` for an
    in-flight inference call to finish (the paper's behaviour) or ``cancel`` it.
    ``prewarm``: in ``baseline``/``output-only`` mode, prefill the answer prompt of the
    stable text while it is typed (when the backend can), so Enter finds it cached.
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
    commit_policy: str = "wait"
    max_history_turns: int = 8
    prewarm: bool = False

    def validated(self) -> SessionConfig:
        """Return self, or raise ValueError naming the bad setting and the valid values."""
        _choice("mode", self.mode, MODES)
        check_format(self.format)
        _choice("granularity", self.granularity, GRANULARITIES)
        _choice("commit_policy", self.commit_policy, COMMIT_POLICIES)
        action_set(self.action_set)
        if self.min_len < 1:
            raise ValueError(f"min_len must be at least 1, got {self.min_len}")
        if self.inference_max_tokens < 1 or self.answer_max_tokens < 1:
            raise ValueError("max token limits must be at least 1")
        if self.max_history_turns < 0:
            raise ValueError("max_history_turns must be 0 or more")
        return self


def _choice(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(options)}")
