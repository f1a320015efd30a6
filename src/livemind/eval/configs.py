"""Named evaluation configurations.

Grammar (``@MODEL`` is optional and names the model of the answer stage; for the
baseline-type configs it is the only model used, e.g. ``baseline@qwen2.5-coder-0.5b``):

- ``baseline``          the complete prompt at once, step-by-step answer (the paper's)
- ``baseline-prewarm``  the same, with the prompt prefilled into the cache while typed
- ``output-only[/FORMAT]``  livemind's answer prompt on the complete input, no inference
  stage (the control that separates the layout's wording from thinking ahead)
- ``livemind[/FORMAT[/GRANULARITY[/MIN_LEN[/ACTIONS]]]]``  simultaneous inference;
  missing parts take the defaults ``aligned/sentence/10/v2`` (``formats.DEFAULT_FORMAT``).

Flags go before ``@MODEL``: ``+prewarm`` prefills the text no call has read yet while it
is typed; ``+spec`` starts the answer speculatively in the pause before Enter;
``+cancel`` (livemind only) cancels an inference call still running at Enter instead of
waiting for it; ``+keep`` cancels it too but keeps the note it had written so far. Without
either the config waits for it (the paper's behaviour, and the name older records carry;
the product's default is ``keep``, so ``livemind+prewarm+keep`` is the product default).
Answer modes (livemind and output-only): ``+short``, ``+reason`` (unbounded) or
``+reasonN`` (a token budget of N), ``+auto`` / ``+autoN``; note policies: ``+notes-auto``,
``+notes-facts``, ``+notes-steps``, ``+notes-free``. Without them a config runs the product
default (``answer_modes``: auto answers, auto notes, no budget); the canonical name spells
them, except ``short`` and ``free`` (the behaviour before answer modes existed, so older
records keep their names). E.g. ``livemind/aligned+prewarm+spec``,
``baseline-prewarm+spec``, ``livemind+prewarm+reason128+notes-facts``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from livemind.answer_modes import (
    DEFAULT_ANSWER_MODE,
    DEFAULT_NOTES,
    DEFAULT_REASON_BUDGET,
    NOTE_POLICIES,
)
from livemind.config import GRANULARITIES, SessionConfig
from livemind.formats import DEFAULT_FORMAT, check_format

DEFAULT_CONFIGS = ("baseline", "baseline-prewarm", "output-only", "livemind+prewarm")
FLAGS = ("prewarm", "spec", "cancel", "keep")
_ANSWER_FLAG = re.compile(r"(short)|(reason|auto)(\d*)")
_COMMIT_POLICIES = {"cancel": "cancel", "keep": "keep"}


@dataclass(frozen=True, slots=True)
class BenchConfig:
    name: str  # canonical name, the ``config`` field of each record
    mode: str  # livemind | baseline | output-only
    format: str = DEFAULT_FORMAT
    granularity: str = "sentence"
    min_len: int = 10
    action_set: str = "v2"
    prewarm: bool = False
    output_model: str | None = None
    speculate: bool = False
    commit_policy: str = "wait"
    answer_mode: str = DEFAULT_ANSWER_MODE
    reason_budget: int = DEFAULT_REASON_BUDGET
    notes: str = DEFAULT_NOTES

    def session_config(
        self, answer_instruction: str, *, answer_max_tokens: int, inference_max_tokens: int
    ) -> SessionConfig:
        return SessionConfig(
            mode=self.mode,
            format=self.format,
            granularity=self.granularity,
            min_len=self.min_len,
            action_set=self.action_set,
            prewarm=self.prewarm,
            speculate=self.speculate,
            commit_policy=self.commit_policy,
            answer_instruction=answer_instruction,
            answer_max_tokens=answer_max_tokens,
            inference_max_tokens=inference_max_tokens,
            answer_mode=self.answer_mode,
            reason_budget=self.reason_budget,
            notes=self.notes,
        ).validated()


@dataclass(slots=True)
class _Flags:
    on: set[str]
    answer_mode: str = DEFAULT_ANSWER_MODE
    reason_budget: int = DEFAULT_REASON_BUDGET
    notes: str = DEFAULT_NOTES

    def suffix(self, *, answer: bool) -> str:
        """The flags part of a canonical name (``answer``: spell mode and notes)."""
        text = "".join(f"+{flag}" for flag in FLAGS if flag in self.on)
        if answer and self.answer_mode != "short":
            text += f"+{self.answer_mode}{self.reason_budget or ''}"
        if answer and self.notes != "free":
            text += f"+notes-{self.notes}"
        return text


def _parse_flags(flags: list[str], spec: str) -> _Flags:
    parsed = _Flags(set())
    for flag in flags:
        m = _ANSWER_FLAG.fullmatch(flag)
        if flag in FLAGS:
            parsed.on.add(flag)
        elif flag.startswith("notes-") and flag[6:] in NOTE_POLICIES:
            parsed.notes = flag[6:]
        elif m:
            parsed.answer_mode = m.group(1) or m.group(2)
            parsed.reason_budget = int(m.group(3) or 0)
        else:
            raise ValueError(
                f"unknown flag +{flag} in {spec!r}; flags: +prewarm, +spec, +cancel, +keep, "
                "+short, +reason[N], +auto[N], "
                + ", ".join(f"+notes-{policy}" for policy in NOTE_POLICIES)
            )
    if {"cancel", "keep"} <= parsed.on:
        raise ValueError(f"+cancel and +keep are two commit policies: choose one ({spec!r})")
    return parsed


def parse_config(spec: str) -> BenchConfig:
    """Parse one configuration name (see the module docstring); ValueError if malformed."""
    head, _, model = spec.strip().partition("@")
    model = model.strip() or None
    at_model = f"@{model}" if model else ""
    body, *flag_words = head.split("+")
    flags = _parse_flags(flag_words, spec)
    prewarm, speculate = "prewarm" in flags.on, "spec" in flags.on
    policy = next(
        (_COMMIT_POLICIES[f] for f in FLAGS if f in flags.on and f in _COMMIT_POLICIES), "wait"
    )
    answer = {
        "answer_mode": flags.answer_mode,
        "reason_budget": flags.reason_budget,
        "notes": flags.notes,
    }
    if body in ("baseline", "baseline-prewarm"):
        if policy != "wait":
            raise ValueError(f"+cancel/+keep need inference calls: livemind only ({spec!r})")
        prewarm = prewarm or body == "baseline-prewarm"
        flags.on.discard("prewarm")
        name = (
            ("baseline-prewarm" if prewarm else "baseline") + flags.suffix(answer=False) + at_model
        )
        return BenchConfig(
            name, "baseline", prewarm=prewarm, output_model=model, speculate=speculate
        )
    parts = body.split("/")
    if parts[0] == "output-only" and len(parts) <= 2:
        if policy != "wait":
            raise ValueError(f"+cancel/+keep need inference calls: livemind only ({spec!r})")
        fmt = check_format(parts[1] if len(parts) == 2 else DEFAULT_FORMAT)
        name = f"output-only/{fmt}" + flags.suffix(answer=True) + at_model
        return BenchConfig(
            name,
            "output-only",
            fmt,
            prewarm=prewarm,
            output_model=model,
            speculate=speculate,
            **answer,
        )
    if parts[0] != "livemind" or len(parts) > 5:
        raise ValueError(
            f"unknown configuration {spec!r}: use baseline, baseline-prewarm, "
            "output-only[/FORMAT] or livemind[/FORMAT[/GRANULARITY[/MIN_LEN[/ACTIONS]]]], "
            "then optional +flags and @MODEL"
        )
    defaults = ["livemind", DEFAULT_FORMAT, "sentence", "10", "v2"]
    parts += defaults[len(parts) :]
    _, fmt, granularity, min_len, actions = parts
    check_format(fmt)
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r} in {spec!r}")
    if not min_len.isdigit() or int(min_len) < 1:
        raise ValueError(f"min_len must be a positive integer in {spec!r}")
    name = "/".join(parts) + flags.suffix(answer=True) + at_model
    config = BenchConfig(
        name,
        "livemind",
        fmt,
        granularity,
        int(min_len),
        actions,
        prewarm=prewarm,
        output_model=model,
        speculate=speculate,
        commit_policy=policy,
        **answer,
    )
    config.session_config("", answer_max_tokens=1, inference_max_tokens=1)  # validates
    return config


def parse_configs(specs: str) -> list[BenchConfig]:
    """A comma-separated list of configuration names; duplicates are dropped."""
    configs: list[BenchConfig] = []
    for spec in specs.split(","):
        if spec.strip():
            config = parse_config(spec)
            if config.name not in {c.name for c in configs}:
                configs.append(config)
    if not configs:
        raise ValueError("no configurations given")
    return configs
