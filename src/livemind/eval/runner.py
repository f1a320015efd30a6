"""The benchmark runner: every configuration on the same questions, one JSONL record each.

Configurations are interleaved per question (their order rotates from question to
question) so that machine drift hits all alike. Before each run the engines' caches are
erased, so every configuration starts cold; with several sessions at once (accuracy
under load) they are not, and the engines' calls go through one priority scheduler.
Runs are resumable: records already in the output file (same config and question id)
are skipped.

The physical limit of a question is the time the answer call cannot avoid: the tokens it
had to evaluate at the measured prefill rate plus the answer tokens at the measured decode
rate (both measured on the answer model at the start of the run).
"""

from __future__ import annotations

import asyncio
import json
import random
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from livemind.backends.base import Backend, BackendError, Request, Stage
from livemind.clock import SessionClock
from livemind.eval.answers import extract_answer, is_correct
from livemind.eval.configs import BenchConfig
from livemind.eval.datasets import Question, sentence_count
from livemind.eval.notes_check import check_notes
from livemind.eval.records import BenchRecord
from livemind.eval.unseen import RecordingBackend, engine_tokenizer, shared_prefixes
from livemind.session import LiveSession, SessionError
from livemind.typist import Typist, type_and_commit

_CALIBRATION_TEXT = " ".join(
    f"Item {i}: the {w} report lists {i * 7} units shipped to the northern depot."
    for i, w in enumerate(["first", "second", "third", "fourth", "fifth", "sixth"] * 3)
)


@dataclass(slots=True)
class BenchOptions:
    typist: Typist = field(default_factory=Typist)
    fast: bool = True  # virtual clock for the typing
    type_options: bool = False  # type the answer options too (paper v1) instead of instantly
    typo_rate: float = 0.0  # share of questions whose typist makes (and fixes) one typo
    answer_max_tokens: int = 512
    inference_max_tokens: int = 64
    seed: int = 42
    think_s: float = 0.0  # pause between the last key and Enter
    sessions: int = 1  # questions typed at once on the shared engines (caches not reset)


@dataclass(slots=True)
class Rates:
    prefill: float  # tokens/s
    decode: float  # tokens/s


async def measure_rates(backend: Backend) -> Rates:
    """Prefill and decode speed of ``backend`` on this machine (second of two runs)."""
    from livemind.calls import CallRecord, stream_call

    messages = [{"role": "user", "content": _CALIBRATION_TEXT + "\nRepeat the list."}]
    for _ in range(2):  # the first run warms up; the second is measured
        await backend.reset_cache()
        record = CallRecord(Stage.CALIBRATION, backend.model)
        request = Request(
            messages, max_tokens=48, extra={"ignore_eos": True}, stage=Stage.CALIBRATION
        )
        await stream_call(backend, request, record)
    ttft = record.ttft_s or record.wall_s
    evaluated = record.evaluated_tokens or record.prompt_tokens
    decode_time = max(record.wall_s - ttft, 1e-6)
    return Rates(evaluated / max(ttft, 1e-6), max(record.completion_tokens - 1, 1) / decode_time)


def drop_torn_tail(path: Path) -> int | None:
    """Cut a last line that a killed run left half-written (no newline, not JSON) off
    ``path``, so that resuming appends whole records; returns its line number, or None
    when there was nothing to cut."""
    if not path.exists():
        return None
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return None
    start = data.rfind(b"\n") + 1
    try:
        json.loads(data[start:])
    except ValueError:
        with path.open("r+b") as f:
            f.truncate(start)
        return data.count(b"\n") + 1
    with path.open("ab") as f:  # a whole record; only its newline was missing
        f.write(b"\n")
    return None


def done_keys(path: Path, think_s: float | None = None) -> set[tuple[str, str]]:
    """(config, qid) pairs already recorded in ``path`` (a missing file: none).

    With ``think_s``, a file whose records were made with another pause before Enter is
    refused (ValueError): resuming it would mix two protocols in one table.
    """
    if not path.exists():
        return set()
    keys = set()
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rec = json.loads(line)
                keys.add((rec["config"], rec["qid"]))
            except (ValueError, TypeError, KeyError):
                raise ValueError(
                    f"{path}:{lineno}: not a benchmark record (a JSON object with 'config' "
                    "and 'qid'); fix or delete that line to resume"
                ) from None
            had = rec.get("think_s", 0.0)
            if think_s is not None and abs(had - think_s) > 1e-9:
                raise ValueError(
                    f"{path} holds runs with --think-s {had:g}; resume it with --think-s "
                    f"{had:g} or write to another file"
                )
    return keys


async def run_one(
    question: Question,
    config: BenchConfig,
    infer: Backend,
    answer: Backend,
    rates: Rates,
    opts: BenchOptions,
) -> dict[str, Any]:
    """Type one question into a fresh session under ``config``; return its record.
    The engines' caches are erased first, unless other sessions share them
    (``opts.sessions > 1``)."""
    if opts.sessions == 1:
        await infer.reset_cache()
        if answer is not infer:
            await answer.reset_cache()
    scfg = config.session_config(
        question.answer_instruction(),
        answer_max_tokens=opts.answer_max_tokens,
        inference_max_tokens=opts.inference_max_tokens,
    )
    clock = SessionClock()
    infer_log = RecordingBackend(infer, clock.now)
    answer_log = infer_log if answer is infer else RecordingBackend(answer, clock.now)
    session = LiveSession(
        infer_log,
        scfg,
        output_backend=None if answer is infer else answer_log,
        clock=clock,
    )
    rng = random.Random(opts.seed * 1_000_003 + zlib.crc32(question.qid.encode()))
    typo = rng.random() < opts.typo_rate
    t = opts.typist
    typist = Typist(t.cpm, t.jitter, t.pause_rate, t.pause_s, typo, rng.randrange(2**31))
    text, suffix = question.stem, question.options_text()
    if opts.type_options:
        text, suffix = text + suffix, ""
    record = BenchRecord(
        config=config.name,
        dataset=question.dataset,
        qid=question.qid,
        subject=question.subject,
        prompt_chars=len(question.stem),
        prompt_sentences=sentence_count(question.stem),
        gold=question.gold,
        edited=typo,
        model=infer.model if config.mode == "livemind" else answer.model,
        output_model=answer.model,
        prefill_rate=round(rates.prefill, 2),
        decode_rate=round(rates.decode, 2),
    )
    try:
        typed = await type_and_commit(
            session,
            text,
            typist=typist,
            fast=opts.fast,
            instant_suffix=suffix,
            think_s=opts.think_s,
        )
    except (BackendError, SessionError) as err:
        return replace(record, error=str(err)).to_dict()  # the answer fields' defaults
    finally:
        await session.aclose()
    got = typed.answer
    out = got.output
    if question.known_values:
        record.notes_checked, record.notes_right = check_notes(got.actions, question.known_values)
    extracted = extract_answer(typed.answer.text, question.kind, len(question.options))
    evaluated = out.evaluated_tokens if out.evaluated_tokens is not None else out.prompt_tokens
    unseen = await _unseen(answer_log, typed.last_key_s)
    return replace(
        record,
        extracted=extracted,
        correct=is_correct(extracted, question.gold, question.kind),
        answer=typed.answer.text,
        actions=typed.answer.actions,
        latency_s=round(typed.latency_s, 4),
        ttft_s=None if typed.ttft_s is None else round(typed.ttft_s, 4),
        overhead_s=round(typed.overhead_s, 4),
        busy_s=round(typed.answer.busy_s, 4),
        inference_calls=sum("deferred" not in c.extra for c in typed.answer.calls),
        final_prompt_tokens=out.prompt_tokens,
        final_cached_tokens=out.cached_tokens,
        final_evaluated_tokens=out.evaluated_tokens,
        answer_tokens=out.completion_tokens,
        limit_s=round(evaluated / rates.prefill + out.completion_tokens / rates.decode, 4),
        final_unseen_tokens=unseen[0],
        last_key_unseen_tokens=unseen[1],
        answer_mode=got.answer_mode,
        answer_finish=out.finish_reason,
        think_s=opts.think_s,
        typing_s=round(typed.typing_s, 3),
        prewarm_calls=len(got.prewarms),
        prewarm_s=round(sum(r.wall_s for r in got.prewarms), 4),
        speculative=got.speculative,
        speculation_saved_s=round(got.speculation_saved_s, 4),
        speculations_wasted=len(got.wasted),
        error=None,
    ).to_dict()


async def _unseen(log: RecordingBackend, last_key_s: float) -> tuple[int | None, int | None]:
    """Tokens of the answer prompt no earlier call of this run had sent, and those no call
    that began before ``last_key_s`` had sent (None: the backend cannot tokenize, or the
    answer call is missing)."""
    if not log.sent or (tokenizer := engine_tokenizer(log)) is None:
        return None, None
    earlier = log.sent[:-1]
    try:
        total, shared = await shared_prefixes(tokenizer, log.sent[-1], earlier)
        before = [n for n, began in zip(shared, log.started, strict=False) if began < last_key_s]
        return total - max(shared, default=0), total - max(before, default=0)
    except Exception:  # noqa: BLE001 - accounting must never fail a benchmark record
        return None, None
    finally:
        await tokenizer.aclose()


async def run_bench(
    questions: Sequence[Question],
    configs: Sequence[BenchConfig],
    backends: Callable[[str | None], Backend],
    out_path: Path,
    opts: BenchOptions,
    *,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Run every config on every question, appending records to ``out_path``.

    ``backends(model)`` returns the (shared, already open) backend of a config's answer
    model; ``None`` means the main model. With ``opts.sessions > 1`` that many questions
    are typed at once (in the same order, each starting when one ends), on engines the
    caller shares between them. Returns the number of new records.
    """
    done = done_keys(out_path, opts.think_s)
    todo = [
        (question, config)
        for i, question in enumerate(questions)
        for config in (configs[(i + k) % len(configs)] for k in range(len(configs)))
        if (config.name, question.qid) not in done
    ]
    engines: dict[str | None, tuple[Backend, Backend, Rates]] = {}
    for _, config in todo:  # opened and measured alone, before any session runs
        if config.output_model not in engines:
            infer, answer = backends(None), backends(config.output_model)
            known = [e[2] for e in engines.values() if e[1] is answer]
            rates = known[0] if known else await measure_rates(answer)
            engines[config.output_model] = (infer, answer, rates)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    room = asyncio.Semaphore(max(1, opts.sessions))
    with out_path.open("a", encoding="utf-8") as out:

        async def run(question: Question, config: BenchConfig) -> None:
            async with room:
                infer, answer, rates = engines[config.output_model]
                record = await run_one(question, config, infer, answer, rates, opts)
            _append(out, record)
            if on_record is not None:
                on_record(record)

        if opts.sessions == 1:
            for question, config in todo:
                await run(question, config)
        else:  # a failure stops them all before the file closes
            async with asyncio.TaskGroup() as group:
                for question, config in todo:
                    group.create_task(run(question, config))
    return len(todo)


def _append(out: TextIO, record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()
