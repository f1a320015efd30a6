"""The server's limits (:class:`Limits`), the refusal they cause (:class:`HubError`) and
when a session has outlived them (:func:`expiry`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from livemind.server.connection import LiveConnection


class HubError(RuntimeError):
    """The hub refuses a new session or request (``code``: overloaded, too_many_sessions,
    client_quota)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-server limits; each one, when hit, answers with a clear ``error`` event."""

    max_sessions: int = 32
    max_sessions_per_client: int = 0  # 0: half of max_sessions; per non-loopback address
    max_text_chars: int = 20_000
    max_message_bytes: int = 256 * 1024
    idle_timeout_s: float = 900.0
    max_age_s: float = 8 * 3600.0  # however active: sessions do not live forever
    unattached_timeout_s: float = 30.0  # a POST session whose event stream never opens
    max_queued_events: int = 0  # 0: 3 per character of text plus 1000 (a paste at char
    # granularity queues one event per character at once; a reader that keeps up is fine)

    def __post_init__(self) -> None:
        if self.max_sessions < 1 or self.max_text_chars < 1 or self.max_message_bytes < 1:
            raise ValueError("max sessions, text and message size must be at least 1")
        if self.max_sessions_per_client < 0 or self.max_queued_events < 0:
            raise ValueError("per-client sessions and queued events cannot be negative")
        if min(self.idle_timeout_s, self.max_age_s, self.unattached_timeout_s) <= 0:
            raise ValueError("timeouts and the maximum session age must be positive")

    @property
    def per_client(self) -> int:
        """Sessions and running completions one client address may hold."""
        return self.max_sessions_per_client or max(1, self.max_sessions // 2)

    @property
    def queue_limit(self) -> int:
        """Unread events after which a client counts as not reading."""
        return self.max_queued_events or 3 * self.max_text_chars + 1000


def expiry(conn: LiveConnection, limits: Limits, now: float) -> tuple[str, str] | None:
    """(code, message) when ``conn`` must be closed now, else None."""
    if not conn.reader_attached and now - conn.created > limits.unattached_timeout_s:
        return "unattached_timeout", (
            f"nobody opened this session's event stream within {limits.unattached_timeout_s:g} s"
        )
    if now - conn.created > limits.max_age_s:
        return "session_expired", f"sessions last at most {limits.max_age_s:g} s; open a new one"
    if now - conn.last_active > limits.idle_timeout_s and not conn.busy:
        return "idle_timeout", f"no activity for {limits.idle_timeout_s:g} s"
    return None
