"""Named evaluation configurations.

Grammar (``@MODEL`` is optional and names the model of the answer stage; for the
baseline-type configs it is the only model used, e.g. ``baseline@qwen2.5-coder-0.5b``):

- ``baseline``          the complete prompt at once, step-by-step answer (the paper's)
- ``baseline-prewarm``  the same, with the prompt prefilled into the cache while typed
- ``output-only``       livemind's answer prompt on the complete input, no inference stage
- ``livemind[/FORMAT[/GRANULARITY[/MIN_LEN[/ACTIONS]]]]``  simultaneous inference;
  missing parts take the defaults ``aligned/sentence/10/v2`` (``formats.DEFAULT_FORMAT``).

Flags go before ``@MODEL``: ``+prewarm`` prefills the text no call has read yet while it
is typed; ``+spec`` starts the answer speculatively in the pause before Enter;
``+cancel`` (livemind only) cancels an inference call still running at Enter instead of
waiting for it (``commit_policy="cancel"``). E.g. ``livemind/aligned+prewarm+spec``,
``baseline-prewarm+spec``, ``livemind/aligned+prewarm+cancel``.
"""

from __future__ import annotations

from dataclasses import dataclass

from livemind.config import GRANULARITIES, SessionConfig
from livemind.formats import DEFAULT_FORMAT, check_format

DEFAULT_CONFIGS = ("baseline", "baseline-prewarm", "output-only", "livemind+prewarm")


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
    cancel_on_commit: bool = False

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
            commit_policy="cancel" if self.cancel_on_commit else "wait",
            answer_instruction=answer_instruction,
            answer_max_tokens=answer_max_tokens,
            inference_max_tokens=inference_max_tokens,
        ).validated()


FLAGS = ("prewarm", "spec", "cancel")


def parse_config(spec: str) -> BenchConfig:
    """Parse one configuration name (see the module docstring); ValueError if malformed."""
    head, _, model = spec.strip().partition("@")
    model = model.strip() or None
    body, *flags = head.split("+")
    for flag in flags:
        if flag not in FLAGS:
            raise ValueError(f"unknown flag +{flag} in {spec!r}; flags: +prewarm, +spec, +cancel")
    prewarm, speculate, cancel = "prewarm" in flags, "spec" in flags, "cancel" in flags
    if body in ("baseline", "baseline-prewarm", "output-only"):
        if cancel:
            raise ValueError(f"+cancel needs inference calls to cancel: livemind only ({spec!r})")
        mode = "output-only" if body == "output-only" else "baseline"
        prewarm = prewarm or body == "baseline-prewarm"
        base = "baseline-prewarm" if mode == "baseline" and prewarm else body
        flags_text = _flags(prewarm and mode != "baseline", speculate)
        name = base + flags_text + (f"@{model}" if model else "")
        return BenchConfig(name, mode, prewarm=prewarm, output_model=model, speculate=speculate)
    parts = body.split("/")
    if parts[0] != "livemind" or len(parts) > 5:
        raise ValueError(
            f"unknown configuration {spec!r}: use baseline, baseline-prewarm, output-only or "
            "livemind[/FORMAT[/GRANULARITY[/MIN_LEN[/ACTIONS]]]], then optional +prewarm, "
            "+spec, @MODEL"
        )
    defaults = ["livemind", DEFAULT_FORMAT, "sentence", "10", "v2"]
    parts += defaults[len(parts) :]
    _, fmt, granularity, min_len, actions = parts
    check_format(fmt)
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r} in {spec!r}")
    if not min_len.isdigit() or int(min_len) < 1:
        raise ValueError(f"min_len must be a positive integer in {spec!r}")
    name = "/".join(parts) + _flags(prewarm, speculate, cancel) + (f"@{model}" if model else "")
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
        cancel_on_commit=cancel,
    )
    config.session_config("", answer_max_tokens=1, inference_max_tokens=1)  # validates
    return config


def _flags(prewarm: bool, speculate: bool, cancel: bool = False) -> str:
    """The flags part of a canonical name, in ``FLAGS`` order."""
    on = (prewarm, speculate, cancel)
    return "".join(f"+{flag}" for flag, is_on in zip(FLAGS, on, strict=True) if is_on)


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
