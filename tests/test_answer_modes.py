"""Answer modes, note policies and the ``keep`` commit policy: the pure rules, the
prompts each mode produces, and the session's use of them (scripted test double; the
real-model checks of every mode's cache alignment are in test_cache_alignment.py)."""

import asyncio

import pytest

from livemind.actions import ACTION_SETS
from livemind.answer_modes import (
    answer_budget,
    answer_directive,
    looks_numeric,
    notes_paused_reason,
    question_shape,
    reason_steps,
    resolve_answer_mode,
    solving,
)
from livemind.answering import partial_note
from livemind.backends.base import Request
from livemind.config import SessionConfig
from livemind.formats import (
    DONE_MARK,
    PromptView,
    aligned_system_prompt,
    inference_messages,
    output_messages,
    prefix_messages,
)
from livemind.session import LiveSession
from scripted_backend import ScriptedBackend, is_inference_request

# Scripted delays run on the loop's virtual time (looptime): no wall time, no races.
pytestmark = pytest.mark.looptime

WORD_PROBLEM = (
    "A farm has 17 goats. Each goat eats 2 kg of hay a day. Hay costs 4 dollars per kg. "
    "How much does the farm spend on hay in a day?"
)
CHOICE = "Which gas do plants take in?\n(A) Oxygen\n(B) Carbon dioxide\n(C) Helium"
CHAT = "Tell me a short story about a lighthouse keeper."
V2 = ACTION_SETS["v2"]


def test_question_shape() -> None:
    assert question_shape(WORD_PROBLEM) == "numeric"
    assert question_shape(CHOICE) == "choice"
    assert question_shape(CHAT) == "open"
    assert question_shape("I have 2 cats and 3 dogs. Write a poem about them.") == "open"
    assert question_shape("How many moons has Mars?") == "open"  # no numbers given
    combined = "John has 35 apples and buys 93. What is the combined total of his fruit"
    assert question_shape(combined) == "numeric"
    # a word problem offered with options is multiple choice: the notes weigh the options
    assert question_shape(WORD_PROBLEM + "\n(A) 136\n(B) 68") == "choice"


def test_resolve_and_budget() -> None:
    assert resolve_answer_mode("auto", WORD_PROBLEM) == "reason"
    assert resolve_answer_mode("auto", CHOICE) == "short"
    assert resolve_answer_mode("short", WORD_PROBLEM) == "short"
    assert resolve_answer_mode("reason", CHAT) == "reason"
    with pytest.raises(ValueError, match="answer mode"):
        resolve_answer_mode("long", CHAT)
    assert answer_budget("reason", 128, 512) == 128
    assert answer_budget("reason", 0, 512) == 512  # 0: unbounded up to the answer limit
    assert answer_budget("reason", 900, 512) == 512
    assert answer_budget("short", 128, 512) == 512  # the budget is the reason mode's only


def test_reason_wording_follows_the_budget() -> None:
    assert "at most 3 lines" in reason_steps(64)
    assert "at most 9 lines" in reason_steps(192)
    assert reason_steps(0) == "one short line per step"
    assert "INFERENCE" in answer_directive("short", 0)
    assert "step by step" in answer_directive("reason", 128)


def test_auto_notes_stop_on_numeric_text() -> None:
    assert looks_numeric("A farm has 17 goats. Each eats 2 kg")
    assert not looks_numeric("A farm has 17 goats.")  # one number is no problem yet
    assert not looks_numeric(CHOICE + "\n(D) 4 of them\n(E) 5")  # options: multiple choice
    # a passage with a date or two among many sentences is no word problem (its notes
    # stay on); numbers in a third of the sentences are
    passage = "The treaty was signed in 1648. " + "The war had ruined the land. " * 5
    assert not looks_numeric(passage + "It ended in 1650.")
    assert looks_numeric("The treaty was signed in 1648. The war ruined it. It ended in 1650.")
    assert not solving("auto", "A farm has goats.") and solving("auto", WORD_PROBLEM)
    assert not any(solving(policy, WORD_PROBLEM) for policy in ("facts", "steps", "free"))
    # a forced reason answer derives from the text whatever its shape (notes made it answer
    # at once); an explicit note policy still writes notes
    assert solving("auto", CHOICE, "reason") and not solving("auto", CHOICE, "short")
    assert not solving("free", CHOICE, "reason")
    assert "reason" in notes_paused_reason("reason") and "numeric" in notes_paused_reason("auto")


def test_partial_note_keeps_only_whole_words() -> None:
    assert partial_note("INFERENCE: goats = 3 * 17 = 5") == "INFERENCE: goats = 3 * 17"
    assert partial_note("INFERENCE: goats = 51, hay per") == "INFERENCE: goats = 51"
    assert partial_note("INFERENCE: goats = 51 ") == "INFERENCE: goats = 51"
    assert partial_note("INFER") == ""
    # a comma ends a word: a candidate note cut right after its answer keeps it
    assert partial_note("INFERENCE: answer: (B),") == "INFERENCE: answer: (B)"
    assert partial_note("") == ""


def _view() -> PromptView:
    return PromptView((("A farm has 17 goats.", "INFERENCE: goats = 17"),), "Each goat eats")


@pytest.mark.parametrize("fmt", ["aligned", "ua-spi", "u-pi"])
@pytest.mark.parametrize("mode", ["short", "reason"])
def test_every_mode_extends_the_prefix_the_typing_phase_cached(fmt: str, mode: str) -> None:
    """Cache alignment in every mode: the answer prompt starts with the prewarmed prefix
    and (aligned) with the whole last inference call, so only new tokens are evaluated."""
    pre = prefix_messages(fmt, _view(), V2, answer_instruction="End with N.")
    full = PromptView(_view().blocks, "Each goat eats 2 kg. How much hay?")
    out = output_messages(fmt, full, "End with N.", actions=V2, mode=mode, budget=128)
    assert out[: len(pre) - 1] == pre[:-1]
    assert out[len(pre) - 1]["content"].startswith(pre[-1]["content"])
    if fmt == "aligned":
        infer = inference_messages(fmt, _view(), V2, answer_instruction="End with N.")
        assert out[: len(infer) - 1] == infer[:-1]
        assert out[-1]["content"].startswith(f"Each goat eats 2 kg. How much hay?\n\n{DONE_MARK}")


def test_modes_differ_only_in_the_tail() -> None:
    full = PromptView(_view().blocks, "How much hay?")
    short = output_messages("aligned", full, "End with N.", actions=V2, mode="short")
    reason = output_messages("aligned", full, "End with N.", actions=V2, mode="reason", budget=64)
    assert short[:-1] == reason[:-1] and short[-1] != reason[-1]
    assert "at most 3 lines" in reason[-1]["content"]
    assert reason[-1]["content"].endswith("End with N.")


def test_note_policies() -> None:
    facts = aligned_system_prompt(V2, "", "facts")
    free = aligned_system_prompt(V2, "", "free")
    auto = aligned_system_prompt(V2, "", "auto")
    steps = aligned_system_prompt(V2, "", "steps")
    assert "name = expression = value" in facts and "Example:" in facts
    assert auto == free  # auto: the measured wording, and no notes on word problems
    assert "step-by-step solution" in steps
    assert "Example:" not in free
    # the earlier wording, kept so that `short` + `free` is the behaviour before modes
    assert "reusing your INFERENCE lines and working out only what is still missing" in free
    with pytest.raises(ValueError, match="notes policy"):
        aligned_system_prompt(V2, "", "vague")
    for fmt in ("ua-spi", "u-pi"):
        msg = inference_messages(fmt, _view(), V2, notes="facts")[-1]["content"]
        assert "named facts" in msg and "still typing" in msg


def _script(request: Request) -> str:
    if is_inference_request(request):
        return "INFERENCE: goats = 17"
    return "goats = 17; hay = 17 * 2 = 34 kg; cost = 34 * 4 = 136. The answer is 136."


async def _answer(text: str, **cfg) -> tuple:
    backend = ScriptedBackend(_script)
    session = LiveSession(backend, SessionConfig(min_len=3, **cfg))
    events: list = []
    session.on(events.append)
    session.set_text(text)
    await session.settled()
    answer = await session.commit()
    return answer, backend.requests[-1], events


async def test_auto_reasons_on_a_word_problem_and_answers_short_otherwise() -> None:
    answer, request, events = await _answer(WORD_PROBLEM, reason_budget=128, notes="facts")
    assert answer.answer_mode == "reason" and request.max_tokens == 128
    assert "step by step" in request.messages[-1]["content"]
    created = next(e for e in events if e.type == "response.created")
    done = next(e for e in events if e.type == "response.done")
    assert created.data["answer_mode"] == done.data["answer_mode"] == "reason"
    answer, request, _ = await _answer(CHOICE, reason_budget=128, answer_max_tokens=300)
    assert answer.answer_mode == "short" and request.max_tokens == 300


async def test_auto_notes_leave_a_word_problem_to_the_answer() -> None:
    """notes="auto": no inference call once the text reads like a numeric word problem;
    prewarm fills the cache with the plain layout, and the answer solves the problem
    from the text alone in that layout (its prompt extends the prewarmed prefix)."""
    backend = ScriptedBackend(_script, prewarm=True)
    session = LiveSession(backend, SessionConfig(min_len=3, prewarm_min_chars=8))
    for i in range(1, len(WORD_PROBLEM) + 1):
        session.set_text(WORD_PROBLEM[:i])
        await session.settled()
    answer = await session.commit()
    inference = [r for r in backend.requests if is_inference_request(r)]
    assert len(inference) == 1  # "A farm has 17 goats." only: one number, not a problem yet
    assert backend.prewarm_requests and answer.answer_mode == "reason"
    final = backend.requests[-1].messages
    assert [m["role"] for m in final] == ["system", "user"]  # no notes in the answer
    assert final[-1]["content"].startswith(WORD_PROBLEM + "\n\nSolve it step by step")
    last_prewarm = backend.prewarm_requests[-1].messages
    assert last_prewarm[0] == final[0]
    assert final[-1]["content"].startswith(last_prewarm[-1]["content"])
    assert len(last_prewarm[-1]["content"]) > len(WORD_PROBLEM) // 2


async def test_forced_reason_derives_a_choice_question_from_the_prefilled_text() -> None:
    """answer_mode="reason" with auto notes on multiple choice: no inference call, the
    plain layout prewarmed while typed, and the answer asks for a derivation over it."""
    backend = ScriptedBackend(_script, prewarm=True)
    config = SessionConfig(min_len=3, prewarm_min_chars=8, answer_mode="reason")
    session = LiveSession(backend, config)
    events: list = []
    session.on(events.append)
    for i in range(1, len(CHOICE) + 1):
        session.set_text(CHOICE[:i])
        await session.settled()
    answer = await session.commit()
    assert not [r for r in backend.requests if is_inference_request(r)]
    paused = [e for e in events if e.type == "notes.paused"]
    assert len(paused) == 1 and "reason" in paused[0].data["reason"]
    final = backend.requests[-1].messages
    assert answer.answer_mode == "reason" and [m["role"] for m in final] == ["system", "user"]
    assert final[-1]["content"].startswith(CHOICE + "\n\nSolve it step by step")
    assert final[-1]["content"].startswith(backend.prewarm_requests[-1].messages[-1]["content"])


async def test_a_reason_budget_caps_the_answer_call() -> None:
    answer, request, _ = await _answer(WORD_PROBLEM, answer_mode="reason", reason_budget=5)
    assert request.max_tokens == 5 and answer.output.completion_tokens == 5
    assert answer.output.finish_reason == "length"


async def test_baseline_ignores_the_answer_mode() -> None:
    answer, request, _ = await _answer(WORD_PROBLEM, mode="baseline", answer_mode="reason")
    assert answer.answer_mode == "baseline" and "step by step" in request.messages[-1]["content"]


@pytest.mark.parametrize("policy", ["keep", "cancel"])
async def test_commit_policy_keep_stores_the_partial_note(policy: str) -> None:
    note = "INFERENCE: hay per day = 17 * 2 = 34 kg and the cost is"

    def script(request: Request) -> str:
        return note if is_inference_request(request) else "The answer is 136."

    backend = ScriptedBackend(script, delay=0.05)
    session = LiveSession(backend, SessionConfig(min_len=3, commit_policy=policy, notes="facts"))
    session.set_text("A farm has 17 goats. Each goat eats 2 kg of hay a day. Hay")
    await asyncio.sleep(0.3)  # the call on the first two sentences is mid-note
    session.set_text(WORD_PROBLEM)
    answer = await session.commit()
    transcript = " ".join(m["content"] for m in backend.requests[-1].messages)
    kept = [a for a in answer.actions if a.get("partial")]
    if policy == "keep":
        assert kept and kept[0]["content"].startswith("hay per day")
        assert not kept[0]["content"].endswith(("=", " "))
        assert kept[0]["content"] in transcript  # the answer reads the partial note
    else:
        assert not kept and "hay per day" not in transcript
    assert answer.wait_s < 0.2  # neither waits for the whole note
