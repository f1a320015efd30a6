"""Session settings: :class:`SessionConfig`, the one schema of every setting.

Each field declares its :class:`Setting` (help, choices or range, CLI flag, whether a
client may change it live) as its ``dataclasses.field`` metadata; the CLI options, the
wire protocol's validation, the bench configurations and the playground's controls are
all derived from it (:mod:`livemind.settings_schema`). Exposing a setting is one edit here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from livemind.actions import ACTION_SETS
from livemind.answer_modes import (
    ANSWER_MODES,
    DEFAULT_ANSWER_MODE,
    DEFAULT_NOTES,
    DEFAULT_REASON_BUDGET,
    NOTE_POLICIES,
)
from livemind.formats import DEFAULT_FORMAT, FORMATS
from livemind.segment import GRANULARITIES

MODES = ("livemind", "baseline", "output-only")
COMMIT_POLICIES = ("wait", "cancel", "keep")
SCHEMA_KEY = "livemind.setting"  # the key of a field's Setting in its metadata
MAX_ANSWER_TOKENS = 4096  # the most answer tokens a client may ask for live
# the segmenter's window grows with min_len (16 x): a larger one would let one client's
# every keystroke cost seconds of the server's CPU
MAX_LIVE_MIN_LEN = 64


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting's schema: the metadata of its :class:`SessionConfig` field.

    ``help``: what it does (CLI help and the page's tooltip, without the default);
    ``label``: the page's caption; ``choices``: the valid values of a string setting
    (empty: any); ``low``: the smallest valid number (None: any), checked by
    :meth:`SessionConfig.validated`; ``live_max``: the largest value a client may set on
    a live session (a bound on what one client can cost the server; every live number
    has one); ``flag``: its option on ``livemind demo | chat | serve`` (None: none);
    ``live``: clients may change it with ``session.update``, under the field's name.
    """

    help: str
    label: str = ""
    choices: tuple[str, ...] = ()
    low: float | None = None
    live_max: float | None = None
    flag: str | None = None
    live: bool = False


def _setting(default: Any, help: str, **schema: Any) -> Any:
    """A dataclass field with ``default`` whose metadata holds its :class:`Setting`."""
    return field(default=default, metadata={SCHEMA_KEY: Setting(help, **schema)})


@dataclass(slots=True, frozen=True)
class SessionConfig:
    """How a :class:`~livemind.session.LiveSession` segments, prompts and answers.

    Each field's help says what it does. ``commit_policy`` ``keep`` is the default:
    BENCHMARKS §7, as accurate as ``wait`` (the paper's) on MMLU without its wait.
    ``prewarm`` cuts the unread text at whitespace every ``prewarm_min_chars`` new
    characters and prefills it at the lowest priority; a speculative answer is adopted
    by Enter on unchanged text, any edit cancels it. ``notes`` ``auto`` writes none for a
    ``reason`` answer or a numeric word problem. See :mod:`livemind.answer_modes`.
    """

    mode: str = _setting(
        "livemind",
        "livemind: simultaneous inference; baseline: the complete prompt at once with a "
        "step-by-step answer; output-only: livemind's answer prompt on the complete "
        "input, no inference stage",
        label="Mode",
        choices=MODES,
        live=True,
    )
    format: str = _setting(
        DEFAULT_FORMAT,
        "prompt layout",
        label="Prompt format",
        choices=FORMATS,
        flag="--format",
        live=True,
    )
    granularity: str = _setting(
        "sentence",
        "segment size",
        label="Granularity",
        choices=GRANULARITIES,
        flag="--granularity",
        live=True,
    )
    min_len: int = _setting(
        10,
        "merge pieces until they have this many characters",
        label="Min. segment length",
        low=1,
        live_max=MAX_LIVE_MIN_LEN,
        flag="--min-len",
        live=True,
    )
    action_set: str = _setting(
        "v2",
        "v2: inference/wait; v1 adds background/hypothesize",
        label="Actions",
        choices=tuple(ACTION_SETS),
        flag="--actions",
        live=True,
    )
    answer_instruction: str = _setting(
        "", "an instruction added to the answer prompt (e.g. the answer format expected)"
    )
    inference_max_tokens: int = _setting(64, "token limit of one inference call", low=1)
    answer_max_tokens: int = _setting(
        512,
        "answer token limit",
        label="Answer token limit",
        low=1,
        live_max=MAX_ANSWER_TOKENS,
        flag="--max-tokens",
        live=True,
    )
    temperature: float = _setting(0.0, "sampling temperature")
    commit_policy: str = _setting(
        "keep",
        "on Enter, wait for a running inference call, cancel it, or cancel it but keep "
        "its note so far",
        label="On Enter, a running inference call",
        choices=COMMIT_POLICIES,
        flag="--commit-policy",
        live=True,
    )
    max_history_turns: int = _setting(8, "earlier turns kept in the conversation", low=0)
    prewarm: bool = _setting(
        True,
        "prefill unread text into the cache while typing, where the backend can",
        label="Prefill while typing",
        flag="--prewarm",
        live=True,
    )
    prewarm_min_chars: int = _setting(24, "prefill once this many characters are unread", low=1)
    prewarm_output: bool = _setting(
        True,
        "with another output model (collaborative mode), also prefill its cache with the "
        "transcript while typing, after the note writer's own calls",
        label="Prefill the output model too",
        flag="--prewarm-output",
        live=True,
    )
    speculate: bool = _setting(
        False,
        "start the answer in the pause before Enter",
        label="Start the answer in the pause before Enter",
        flag="--speculate",
        live=True,
    )
    speculate_after_s: float = _setting(
        0.6, "seconds the input must be idle (and look complete) to speculate", low=0
    )
    answer_mode: str = _setting(
        DEFAULT_ANSWER_MODE,
        "short: answer at once from the notes; reason: a brief derivation first (over the "
        "text alone with notes auto); auto: reason for numeric word problems",
        label="Answer",
        choices=ANSWER_MODES,
        flag="--answer-mode",
        live=True,
    )
    reason_budget: int = _setting(
        DEFAULT_REASON_BUDGET,
        "token budget of a reason answer, 0 for none",
        label="Reasoning budget (tokens, 0 = none)",
        low=0,
        live_max=MAX_ANSWER_TOKENS,
        flag="--reason-budget",
        live=True,
    )
    notes: str = _setting(
        DEFAULT_NOTES,
        "what notes hold: auto (free notes, but none on a numeric word problem or with "
        "answer mode reason: the answer then solves it from the text), facts (named "
        "values), steps (a running solution), free (any intermediate result), candidate "
        "(free, plus the answer with its reason once the question is complete: for a "
        "small --output-model to repeat)",
        label="Notes",
        choices=NOTE_POLICIES,
        flag="--notes",
        live=True,
    )

    def conventional_baseline(self) -> SessionConfig:
        """This session's settings as the conventional baseline it is compared with: the
        complete prompt at once after Enter, nothing read or started before it."""
        return replace(self, mode="baseline", prewarm=False, speculate=False)

    def validated(self) -> SessionConfig:
        """Return self, or raise ValueError naming the bad setting and the valid values
        (each field's :class:`Setting` ``choices`` and ``low``)."""
        for f in fields(self):
            spec: Setting = f.metadata[SCHEMA_KEY]
            value = getattr(self, f.name)
            if spec.choices and value not in spec.choices:
                raise ValueError(
                    f"unknown {f.name} {value!r}; choose one of: {', '.join(spec.choices)}"
                )
            if spec.low is not None and value < spec.low:
                raise ValueError(f"{f.name} must be at least {spec.low:g}, got {value}")
        return self
