"""The live wire protocol (DESIGN §5): client events in, server events out.

Client -> server (JSON objects with a ``type``):

- ``session.update {session: {...}}``: settings: the live fields of
  :class:`~livemind.config.SessionConfig` (its schema) and ``collaborative``;
- ``input_text.set {text, rev}``: a full snapshot of the input (backspace, paste, edits
  anywhere); ``rev`` is an increasing integer, an older or equal ``rev`` is ignored;
- ``input_text.append {delta}``;
- ``input_text.commit {compare?}``: Enter; ``compare: true`` also answers the same prompt
  with the conventional baseline afterwards, for a side-by-side latency;
- ``response.cancel``, ``session.reset``.

Server -> client: every event carries ``type``, ``event_id`` (increasing per session) and
``session_id``; names as in :mod:`livemind.events`, plus ``session.created`` (with the
settings' ``schema``: :func:`~livemind.settings_schema.page_schema`), ``session.updated``
and ``error {code, message}``.

Parsing never raises anything but :class:`ProtocolError`, whose ``code`` and message go
into an ``error`` event; the connection stays open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from livemind.settings_schema import check_live, live_settings

CLIENT_EVENTS = (
    "session.update",
    "input_text.set",
    "input_text.append",
    "input_text.commit",
    "response.cancel",
    "session.reset",
)

# settings a client may send beside the live SessionConfig fields (the schema's):
# ``collaborative`` answers on the server's output model, when it has one
EXTRA_SETTINGS = ("collaborative",)


def setting_names() -> tuple[str, ...]:
    """Every setting ``session.update`` accepts."""
    return (*live_settings(), *EXTRA_SETTINGS)


class ProtocolError(ValueError):
    """A client event the server cannot accept; ``code`` names the reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ClientEvent:
    """A validated client event: ``type`` plus the fields that type uses."""

    type: str
    text: str = ""
    rev: int | None = None
    settings: dict[str, Any] | None = None
    compare: bool = False


def parse_event(raw: str | bytes, *, max_bytes: int, max_text: int) -> ClientEvent:
    """Validate one client message; ProtocolError for anything malformed or over limits."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise ProtocolError("message_too_large", f"message of {size} bytes; limit {max_bytes}")
    return event_from_dict(decode_json(raw), max_text=max_text)


def decode_json(raw: str | bytes) -> Any:
    """``json.loads``, with every failure (nesting too deep included) a ProtocolError."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ProtocolError("invalid_json", "the JSON is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("invalid_json", f"not valid JSON: {exc}") from None


def event_from_dict(data: Any, *, max_text: int) -> ClientEvent:
    """Validate an already decoded client event (see :func:`parse_event`)."""
    if not isinstance(data, dict):
        raise ProtocolError("invalid_event", "an event must be a JSON object")
    kind = data.get("type")
    if kind not in CLIENT_EVENTS:
        raise ProtocolError(
            "unknown_event", f"unknown event type {kind!r}; expected one of {CLIENT_EVENTS}"
        )
    if kind == "input_text.set":
        text = _text(data, "text", max_text)
        rev = data.get("rev")
        if rev is not None and (not isinstance(rev, int) or isinstance(rev, bool) or rev < 0):
            raise ProtocolError("invalid_event", "rev must be a non-negative integer")
        return ClientEvent(kind, text=text, rev=rev)
    if kind == "input_text.append":
        return ClientEvent(kind, text=_text(data, "delta", max_text))
    if kind == "input_text.commit":
        compare = data.get("compare", False)
        if not isinstance(compare, bool):
            raise ProtocolError("invalid_event", "compare must be true or false")
        return ClientEvent(kind, compare=compare)
    if kind == "session.update":
        return ClientEvent(kind, settings=_settings(data.get("session")))
    return ClientEvent(kind)


def is_valid_unicode(text: str) -> bool:
    """False for strings no UTF-8 encoder takes (lone surrogates such as ``"\\ud800"``,
    which JSON escapes can produce)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(data: dict[str, Any], key: str, max_text: int) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ProtocolError("invalid_event", f"{data['type']} needs a string {key!r}")
    if not is_valid_unicode(value):
        raise ProtocolError("invalid_text", f"{key} is not valid Unicode (a lone surrogate)")
    if len(value) > max_text:
        raise ProtocolError(
            "text_too_long", f"{key} has {len(value)} characters; the limit is {max_text}"
        )
    return value


def _settings(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise ProtocolError("invalid_event", "session.update needs a non-empty 'session' object")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in EXTRA_SETTINGS:
            if not isinstance(item, bool):
                raise ProtocolError("invalid_setting", f"{key} must be a bool")
        elif key not in live_settings():
            raise ProtocolError(
                "invalid_setting",
                f"unknown setting {key!r}; settings: {', '.join(setting_names())}",
            )
        else:
            try:
                check_live(key, item)
            except ValueError as exc:
                raise ProtocolError("invalid_setting", str(exc)) from None
        out[key] = item
    return out


def envelope(session_id: str, event_id: int, type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """A server event as sent on the wire."""
    return {"type": type_, "event_id": event_id, "session_id": session_id, **data}
