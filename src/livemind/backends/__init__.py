"""Backends: where model calls go. :func:`open_backend` turns a user's spec into one.

A spec is a model preset name (``smollm2-135m``), a path to a GGUF file (both run on
the embedded llama.cpp engine) or an ``http(s)://`` URL of an OpenAI-compatible server
(vLLM, SGLang, llama-server, Ollama, OpenAI).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from livemind.backends.base import Backend, BackendError, Capabilities, Delta, Request, Usage

__all__ = [
    "Backend",
    "BackendError",
    "Capabilities",
    "Delta",
    "Request",
    "Usage",
    "open_backend",
]


def is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def open_backend(
    spec: str,
    *,
    n_ctx: int = 8192,
    n_parallel: int = 2,
    n_threads: int = 2,
    api_key: str | None = None,
    engine_priority: str | None = None,
    affinity_header: str | None = "X-Session-ID",
    model_name: str | None = None,
    prewarm_mode: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    **engine_options: Any,
) -> Backend:
    """Open the backend named by ``spec`` (see the module docstring).

    ``api_key``, ``affinity_header`` (``None``: no header), ``model_name`` (``None``: look
    it up), ``prewarm_mode`` and ``engine_priority`` (``vllm``, ``sglang``: request
    priorities) apply to URLs only.
    ``engine_options`` go to the embedded engine (e.g. ``host_cache_mib``).
    Raises :class:`livemind.models.ModelError` for an unknown preset, a missing file or
    missing weight packages (the message says how to install them).
    """
    if is_url(spec):
        from livemind.backends.openai_http import OpenAIBackend

        if engine_options.get("ngram_spec"):
            raise ValueError(
                "ngram speculative decoding is an option of the embedded engine; for a "
                "server, start it with its own flag (llama-server --spec-type ...)"
            )
        key = api_key or os.environ.get("LIVEMIND_API_KEY") or os.environ.get("OPENAI_API_KEY")
        return OpenAIBackend(
            spec,
            model=model_name,
            api_key=key,
            affinity_header=affinity_header,
            prewarm_mode=prewarm_mode,
            engine_priority=engine_priority,
        )
    if engine_priority is not None:
        raise ValueError(
            "--engine-priority is for a URL model (vLLM, SGLang); the embedded engine is "
            "scheduled by livemind itself"
        )
    from livemind.backends.llamacpp import LlamaCppBackend
    from livemind.models import resolve_model

    path = resolve_model(spec, progress=progress)
    return LlamaCppBackend(
        path, n_ctx=n_ctx, n_parallel=n_parallel, n_threads=n_threads, **engine_options
    )
