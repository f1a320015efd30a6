"""A base for backend wrappers: forward everything to ``inner``, override what you add.

:class:`ForwardingBackend` is a :class:`Backend` that hands every call to another one
(metering, recording, ...). :func:`innermost` finds the engine under a stack of such
wrappers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import cast

from .base import Backend, Capabilities, Delta, Request, Usage

__all__ = ["ForwardingBackend", "innermost"]


class ForwardingBackend(Backend):
    """Forwards every call to :attr:`inner`.

    Contract:

    - :attr:`name`, :attr:`model`, :attr:`capabilities` and :attr:`context_size` are
      read from ``inner`` on every access (a model an HTTP backend looks up later shows
      through);
    - :meth:`stream` yields ``inner``'s deltas unchanged and iterates them inside
      ``contextlib.aclosing``: closing this stream early (``aclose()``, a ``break`` once
      it is collected, task cancellation) closes ``inner``'s at once, so the engine stops;
    - :meth:`prewarm`, :meth:`reset_cache` and :meth:`user_waiting` forward;
    - :meth:`aclose` closes ``inner`` only when this wrapper owns it (``owns_inner``,
      default ``True``); a wrapper over a backend someone else closes passes ``False``.

    Subclasses override only the calls they add to, calling ``super()`` for the rest.
    """

    def __init__(self, inner: Backend, *, owns_inner: bool = True) -> None:
        self.inner = inner
        self.owns_inner = owns_inner

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    @property
    def model(self) -> str:  # type: ignore[override]
        return self.inner.model

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        return self.inner.capabilities

    @property
    def context_size(self) -> int | None:  # type: ignore[override]
        return self.inner.context_size

    async def stream(self, request: Request) -> AsyncGenerator[Delta, None]:
        # Backend.stream is an async generator by contract: it has aclose()
        inner = cast(AsyncGenerator[Delta, None], self.inner.stream(request))
        async with contextlib.aclosing(inner) as deltas:
            async for delta in deltas:
                yield delta

    async def prewarm(self, request: Request) -> Usage | None:
        return await self.inner.prewarm(request)

    async def reset_cache(self) -> None:
        await self.inner.reset_cache()

    def user_waiting(self, session_key: str, waiting: bool = True) -> None:
        self.inner.user_waiting(session_key, waiting)

    async def aclose(self) -> None:
        if self.owns_inner:
            await self.inner.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


def innermost(backend: Backend) -> Backend:
    """The backend at the bottom of a stack of wrappers: follows ``.inner`` (while it is
    a :class:`Backend`) as far as it goes; ``backend`` itself when it wraps nothing."""
    seen = {id(backend)}
    while isinstance(inner := getattr(backend, "inner", None), Backend) and id(inner) not in seen:
        seen.add(id(inner))
        backend = inner
    return backend
