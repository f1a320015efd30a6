"""Readers of the one settings schema: :class:`~livemind.config.SessionConfig`'s fields
and their :class:`~livemind.config.Setting` metadata.

From it come the session options of ``livemind demo | chat | serve``
(:func:`add_session_arguments`, :func:`config_from_args`), the wire protocol's check of a
live setting (:func:`check_live`) and the schema the playground builds its controls from
(:func:`page_schema`). Nothing here names a setting: a new field shows up everywhere.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, fields
from functools import cache
from typing import Any, get_type_hints

from livemind.answer_modes import DEFAULT_NOTES, default_notes
from livemind.config import SCHEMA_KEY, SessionConfig, Setting


@dataclass(frozen=True, slots=True)
class Entry:
    """One field of the schema: its ``name`` (also its name on the wire), its Python
    ``kind`` (str, int, float or bool), its ``default`` and its :class:`Setting`."""

    name: str
    kind: type
    default: Any
    setting: Setting


@cache
def schema() -> tuple[Entry, ...]:
    """Every SessionConfig field, in declaration order."""
    hints = get_type_hints(SessionConfig)
    return tuple(
        Entry(f.name, hints[f.name], f.default, f.metadata[SCHEMA_KEY])
        for f in fields(SessionConfig)
    )


@cache
def live_settings() -> dict[str, Entry]:
    """The fields a client may change on a live session, by name."""
    return {e.name: e for e in schema() if e.setting.live}


# ----- the command line ---------------------------------------------------------------------
def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def add_session_arguments(group: argparse._ActionsContainer) -> None:
    """Add one option per field with a ``flag`` (dest: the field's name; default: the
    field's default; booleans as ``--x/--no-x``)."""
    for e in schema():
        flag = e.setting.flag
        if flag is None:
            continue
        help_text = f"{e.setting.help} (default {_shown(e.default)})".replace("%", "%%")
        options: dict[str, Any] = {"dest": e.name, "default": e.default, "help": help_text}
        if e.kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif e.setting.choices:
            options["choices"] = e.setting.choices
        else:
            options.update(type=e.kind, metavar=flag.removeprefix("--").upper().replace("-", "_"))
        group.add_argument(flag, **options)


def config_from_args(args: argparse.Namespace, **fixed: Any) -> SessionConfig:
    """The validated SessionConfig of parsed options (see :func:`add_session_arguments`);
    ``fixed`` sets fields that have no option; a ``notes`` of None (demo, chat) is
    :func:`~livemind.answer_modes.default_notes` for the ``--output-model``. ValueError
    names a bad setting."""
    given = {e.name: getattr(args, e.name) for e in schema() if e.setting.flag}
    if given.get("notes", DEFAULT_NOTES) is None:  # not given, where it depends on the model
        output_model = getattr(args, "output_model", None)
        given["notes"] = default_notes(output_model not in (None, getattr(args, "model", None)))
    return SessionConfig(**given, **fixed).validated()


# ----- the wire -----------------------------------------------------------------------------
def check_live(name: str, value: Any) -> Any:
    """Return ``value`` if a client may set the live setting ``name`` to it (the field's
    type, one of its choices, within ``low..live_max``); ValueError saying why not (also
    for a name that is not a live setting)."""
    entry = live_settings().get(name)
    if entry is None:
        raise ValueError(f"unknown setting {name!r}; settings: {', '.join(live_settings())}")
    spec, kind = entry.setting, entry.kind
    if not _has_type(value, kind):
        raise ValueError(f"{name} must be a {kind.__name__}")
    if spec.choices and value not in spec.choices:
        raise ValueError(f"{name} must be one of {', '.join(spec.choices)}")
    if kind in (int, float):
        low = -math.inf if spec.low is None else spec.low
        high = math.inf if spec.live_max is None else spec.live_max
        if not low <= value <= high:
            raise ValueError(f"{name} must be {low:g}..{high:g}")
    return value


def _has_type(value: Any, kind: type) -> bool:
    """JSON's types as Python's: true is no number, an integer is a float too, and a float
    is finite."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, int) or isinstance(value, float) and math.isfinite(value)
    return isinstance(value, kind)


# ----- the page -----------------------------------------------------------------------------
def page_schema(defaults: SessionConfig) -> list[dict[str, Any]]:
    """The live settings as the playground builds its controls from them (sent in
    ``session.created``): ``name``, ``type`` (``str``, ``int``, ``float`` or ``bool``),
    ``label``, ``help``, ``choices`` (a list, or None), ``default`` (the server's, from
    ``defaults``), ``min`` and ``max`` (numbers, or None)."""
    return [
        {
            "name": e.name,
            "type": e.kind.__name__,
            "label": e.setting.label or e.name,
            "help": e.setting.help,
            "choices": list(e.setting.choices) or None,
            "default": getattr(defaults, e.name),
            "min": e.setting.low,
            "max": e.setting.live_max,
        }
        for e in live_settings().values()
    ]
