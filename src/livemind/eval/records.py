"""One benchmark record, a line of a ``livemind bench`` JSONL file: :class:`BenchRecord`.

The runner writes one record per (configuration, question), ``synthetic.py`` makes fake
ones for tests; ``stats``, the report and the benchmark scripts read them back as plain
JSON objects. Some keys are written only sometimes: the notes check on GSM only, the
details of an answered turn not for a failed one, and files from before a key existed
lack it. Such a field is :data:`NOT_RECORDED` and :meth:`BenchRecord.to_dict` leaves its
key out, so every record keeps exactly the keys (and key order) it always had.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final, Literal


class _NotRecorded(enum.Enum):
    NOT_RECORDED = "not recorded"

    def __repr__(self) -> str:
        return "NOT_RECORDED"


NOT_RECORDED: Final = _NotRecorded.NOT_RECORDED
Unrecorded = Literal[_NotRecorded.NOT_RECORDED]  # a field whose key the record leaves out


@dataclass(slots=True)
class BenchRecord:
    """One configuration on one question. The fields in JSON key order; those without a
    default are always present; a failed turn keeps the answer fields' defaults and says
    why in ``error``."""

    # what was run, on which models, at which measured speed
    config: str  # the configuration's name (eval/configs.py)
    dataset: str  # mmlu, gsm, zebra, mmlu-pro (long: mmlu or zebra; synthetic: made up)
    qid: str  # the question's id, unique within its dataset
    subject: str
    prompt_chars: int  # characters of the question's stem (its options not counted)
    prompt_sentences: int  # sentences of the stem
    gold: str  # the right answer
    edited: bool  # the typist made one typo and fixed it
    model: str  # the model that read the text while typed (else the answer model)
    output_model: str  # the model that answered
    prefill_rate: float  # answer model, tokens/s, measured at the start of the run
    decode_rate: float  # answer model, tokens/s, measured at the start of the run
    # GSM: notes with numbers, and those whose numbers all occur in the worked solution
    notes_checked: int | Unrecorded = NOT_RECORDED
    notes_right: int | Unrecorded = NOT_RECORDED
    # the answer
    extracted: str | None = None  # the answer read out of the reply (None: none found)
    correct: bool = False  # extracted is the gold answer
    answer: str = ""  # the reply's text
    actions: list[dict[str, Any]] = field(default_factory=list)  # notes taken while typed
    latency_s: float | None = None  # Enter -> complete answer
    ttft_s: float | None = None  # Enter -> first answer token
    overhead_s: float | None = None  # of the latency: finishing a call running at Enter
    busy_s: float | None = None  # model time of the whole turn (every call)
    inference_calls: int = 0
    final_prompt_tokens: int = 0  # the answer call's prompt
    final_cached_tokens: int | None = None  # of those, found in the engine's cache
    final_evaluated_tokens: int | None = None  # of those, evaluated by the answer call
    answer_tokens: int = 0
    limit_s: float | None = None  # evaluated tokens at the prefill rate + answer at decode
    final_unseen_tokens: int | None | Unrecorded = None  # answer-prompt tokens never sent
    # of those, never sent by a call that began before the last key (the options arrive
    # with it; what a pause before Enter can only partly absorb)
    last_key_unseen_tokens: int | None | Unrecorded = NOT_RECORDED
    answer_mode: str | Unrecorded = NOT_RECORDED  # short, reason or baseline
    answer_finish: str | None | Unrecorded = NOT_RECORDED  # the engine's finish reason
    think_s: float | Unrecorded = NOT_RECORDED  # pause between the last key and Enter
    typing_s: float | Unrecorded = NOT_RECORDED  # from the first key to the last
    prewarm_calls: int | Unrecorded = NOT_RECORDED  # prefill-only calls while typed
    prewarm_s: float | Unrecorded = NOT_RECORDED  # their wall time
    speculative: bool | Unrecorded = False  # the answer started before Enter and was kept
    speculation_saved_s: float | Unrecorded = NOT_RECORDED  # how long it had run at Enter
    speculations_wasted: int | Unrecorded = NOT_RECORDED  # speculative answers discarded
    error: str | None = None  # why there is no answer (None: answered)
    # keys a file holds beyond these (added by hand), written after them in their order
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: the fields in order, NOT_RECORDED ones left out, then extra."""
        out = {
            f.name: value
            for f in fields(self)
            if f.name != "extra" and (value := getattr(self, f.name)) is not NOT_RECORDED
        }
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchRecord:
        """A record read back (``to_dict`` gives ``data`` again); a missing key that may
        be left out is NOT_RECORDED, any other missing key a ValueError."""
        names = [f.name for f in fields(cls) if f.name != "extra"]
        values: dict[str, Any] = {}
        for name in names:
            if name in data:
                values[name] = data[name]
            elif name in OPTIONAL_KEYS:
                values[name] = NOT_RECORDED
            else:
                raise ValueError(f"not a benchmark record: no {name!r}")
        extra = {k: v for k, v in data.items() if k not in values}
        return cls(**values, extra=extra)


# the keys a record may leave out: the fields typed ``... | Unrecorded``
OPTIONAL_KEYS: Final = frozenset(f.name for f in fields(BenchRecord) if "Unrecorded" in str(f.type))
