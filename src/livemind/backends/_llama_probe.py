"""Recognise a llama.cpp server behind an OpenAI-compatible URL (``/props``, ``/slots``).

Used by :class:`livemind.backends.openai_http.OpenAIBackend` to settle
``prewarm_mode="auto"`` and to learn the slot count (for ``id_slot`` affinity) and the
per-slot context size.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

__all__ = ["LlamaServerInfo", "probe_llama"]


@dataclass(slots=True, frozen=True)
class LlamaServerInfo:
    """What the probe learned. ``None`` fields: the server did not say."""

    is_llama: bool = False
    slots: int | None = None
    n_ctx: int | None = None  # tokens per slot


def _positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


async def probe_llama(
    client: httpx.AsyncClient, root_url: str, headers: dict[str, str]
) -> LlamaServerInfo:
    """Ask ``GET {root_url}/props``, then (if the slot count is still unknown) ``/slots``.

    A llama.cpp server answers ``/props`` with ``default_generation_settings`` (and
    ``total_slots``), ``/slots`` with one object per slot carrying ``n_ctx``. Any other
    answer means "not llama.cpp". Raises :class:`httpx.TransportError` when ``/props``
    cannot be reached at all (the caller decides what that means); later failures are
    treated as "no information".
    """
    is_llama = False
    slots: int | None = None
    n_ctx: int | None = None
    resp = await client.get(root_url + "/props", headers=headers)
    try:
        if resp.status_code == 200:
            data = resp.json()
            settings = data.get("default_generation_settings") if isinstance(data, dict) else None
            if isinstance(settings, dict):
                is_llama = True
                slots = _positive_int(data.get("total_slots"))
                n_ctx = _positive_int(settings.get("n_ctx"))
    except (httpx.HTTPError, ValueError):
        pass
    if slots is None:
        try:
            resp = await client.get(root_url + "/slots", headers=headers)
            if resp.status_code == 200:
                data = resp.json()
                if (
                    isinstance(data, list)
                    and data
                    and all(isinstance(s, dict) and "n_ctx" in s for s in data)
                ):
                    is_llama = True
                    slots = len(data)
                    n_ctx = n_ctx or _positive_int(data[0].get("n_ctx"))
        except (httpx.HTTPError, ValueError):
            pass
    return LlamaServerInfo(is_llama=is_llama, slots=slots, n_ctx=n_ctx)
