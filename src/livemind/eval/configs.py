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
is typed (with an ``@MODEL`` that answers, the output model's cache too, unless
``+cold-output``); ``+spec`` starts the answer speculatively in the pause before Enter;
``+cancel`` (livemind only) cancels an inference call still running at Enter instead of
waiting for it; ``+keep`` cancels it too but keeps the note it had written so far. Without
either the config waits for it (the paper's behaviour, and the name older records carry;
the product's default is ``keep``, so ``livemind+prewarm+keep`` is the product default).
Answer modes (livemind and output-only): ``+short``, ``+reason`` (unbounded) or
``+reasonN`` (a token budget of N), ``+auto`` / ``+autoN``; note policies: ``+notes-auto``,
``+notes-facts``, ``+notes-steps``, ``+notes-free``, ``+notes-candidate``. Without them a
config runs the product default (``answer_modes``: auto answers, auto notes, no budget);
the canonical name spells them, except ``short`` and ``free`` (the behaviour before answer
modes existed, so older records keep their names). E.g. ``livemind/aligned+prewarm+spec``,
``baseline-prewarm+spec``, ``livemind+prewarm+reason128+notes-facts``.

A parsed config holds the :class:`~livemind.config.SessionConfig` it runs:
:data:`BENCH_DEFAULTS` (the product's settings without prewarm, waiting at Enter) with
what its name spells; its canonical name is spelled back from those settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from livemind.answer_modes import NOTE_POLICIES
from livemind.config import SessionConfig

DEFAULT_CONFIGS = ("baseline", "baseline-prewarm", "output-only", "livemind+prewarm")
_ANSWER_FLAG = re.compile(r"(short)|(reason|auto)(\d*)")
# what a config runs unless its name says otherwise: no prewarm, and an inference call
# running at Enter is waited for (the paper's behaviour); the rest is the product's
BENCH_DEFAULTS = SessionConfig(prewarm=False, commit_policy="wait")


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """A parsed configuration: its canonical ``name`` (the ``config`` field of each
    record), the session ``settings`` it runs, and the ``output_model`` of its answer
    stage (None: the inference stage's)."""

    name: str
    settings: SessionConfig
    output_model: str | None = None

    @property
    def mode(self) -> str:
        """``livemind``, ``baseline`` or ``output-only``."""
        return self.settings.mode

    def session_config(
        self, answer_instruction: str, *, answer_max_tokens: int, inference_max_tokens: int
    ) -> SessionConfig:
        """``settings`` with one run's question instruction and token limits (validated)."""
        return replace(
            self.settings,
            answer_instruction=answer_instruction,
            answer_max_tokens=answer_max_tokens,
            inference_max_tokens=inference_max_tokens,
        ).validated()


def _parse_flags(flags: list[str], spec: str) -> dict[str, Any]:
    """The SessionConfig fields that ``+flags`` set."""
    changes: dict[str, Any] = {}
    for flag in flags:
        m = _ANSWER_FLAG.fullmatch(flag)
        if flag == "prewarm":
            changes["prewarm"] = True
        elif flag == "spec":
            changes["speculate"] = True
        elif flag == "cold-output":
            changes["prewarm_output"] = False
        elif flag in ("cancel", "keep"):
            if changes.setdefault("commit_policy", flag) != flag:
                raise ValueError(
                    f"+cancel and +keep are two commit policies: choose one ({spec!r})"
                )
        elif flag.startswith("notes-") and flag[6:] in NOTE_POLICIES:
            changes["notes"] = flag[6:]
        elif m:
            changes["answer_mode"] = m.group(1) or m.group(2)
            changes["reason_budget"] = int(m.group(3) or 0)
        else:
            raise ValueError(
                f"unknown flag +{flag} in {spec!r}; flags: +prewarm, +spec, +cold-output, "
                "+cancel, +keep, "
                "+short, +reason[N], +auto[N], "
                + ", ".join(f"+notes-{policy}" for policy in NOTE_POLICIES)
            )
    return changes


def _suffix(s: SessionConfig, *, prewarm: bool, answer: bool) -> str:
    """The flags part of a canonical name (``prewarm``: spell +prewarm; ``answer``: spell
    the answer mode and notes, except ``short`` and ``free``)."""
    text = "+prewarm" if prewarm and s.prewarm else ""
    text += "+spec" if s.speculate else ""
    text += "" if s.prewarm_output else "+cold-output"
    text += "" if s.commit_policy == "wait" else f"+{s.commit_policy}"
    if answer and s.answer_mode != "short":
        text += f"+{s.answer_mode}{s.reason_budget or ''}"
    if answer and s.notes != "free":
        text += f"+notes-{s.notes}"
    return text


def _valid(settings: SessionConfig, spec: str) -> SessionConfig:
    try:
        return settings.validated()
    except ValueError as exc:
        raise ValueError(f"{exc} (in {spec!r})") from None


def parse_config(spec: str) -> BenchConfig:
    """Parse one configuration name (see the module docstring); ValueError if malformed."""
    head, _, after = spec.strip().partition("@")
    model = after.strip() or None
    at_model = f"@{model}" if model else ""
    body, *flag_words = head.split("+")
    changes = _parse_flags(flag_words, spec)
    if "commit_policy" in changes and body.split("/")[0] != "livemind":
        raise ValueError(f"+cancel/+keep need inference calls: livemind only ({spec!r})")
    if body in ("baseline", "baseline-prewarm"):
        prewarm = changes.get("prewarm", False) or body == "baseline-prewarm"
        speculate = changes.get("speculate", False)
        s = replace(BENCH_DEFAULTS, mode="baseline", prewarm=prewarm, speculate=speculate)
        name = "baseline-prewarm" if prewarm else "baseline"
        return BenchConfig(name + _suffix(s, prewarm=False, answer=False) + at_model, s, model)
    parts = body.split("/")
    if parts[0] == "output-only" and len(parts) <= 2:
        fmt = parts[1] if len(parts) == 2 else BENCH_DEFAULTS.format
        s = _valid(replace(BENCH_DEFAULTS, mode="output-only", format=fmt, **changes), spec)
        name = f"output-only/{fmt}" + _suffix(s, prewarm=True, answer=True)
        return BenchConfig(name + at_model, s, model)
    if parts[0] != "livemind" or len(parts) > 5:
        raise ValueError(
            f"unknown configuration {spec!r}: use baseline, baseline-prewarm, "
            "output-only[/FORMAT] or livemind[/FORMAT[/GRANULARITY[/MIN_LEN[/ACTIONS]]]], "
            "then optional +flags and @MODEL"
        )
    d = BENCH_DEFAULTS
    parts += ["livemind", d.format, d.granularity, str(d.min_len), d.action_set][len(parts) :]
    _, fmt, granularity, min_len, actions = parts
    if not min_len.isdigit():
        raise ValueError(f"min_len must be a positive integer in {spec!r}")
    s = replace(d, format=fmt, granularity=granularity, min_len=int(min_len), action_set=actions)
    s = _valid(replace(s, **changes), spec)
    name = "/".join(parts) + _suffix(s, prewarm=True, answer=True)
    return BenchConfig(name + at_model, s, model)


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
