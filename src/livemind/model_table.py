"""The ``livemind models`` table: every preset's status, found without hashing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from livemind.model_catalog import (
    DEFAULT_MODEL,
    PRESETS,
    Locate,
    Preset,
    install_command,
    locate_part,
)
from livemind.model_files import cache_dir, stamp_ok


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """What :func:`list_models` knows without hashing: packages present, verified file."""

    preset: Preset
    installed: bool
    assembled: bool
    path: Path | None


def list_models(
    presets: Mapping[str, Preset] | None = None, locate: Locate = locate_part
) -> list[ModelStatus]:
    """Status of every preset, cheaply (no hashing): installed and verified-ready or not."""
    out = []
    for p in (PRESETS if presets is None else presets).values():
        found = [locate(d, r) for d, r in p.parts]
        path = found[0] if len(found) == 1 and found[0] else cache_dir() / p.filename
        ready = stamp_ok(p, path)
        out.append(ModelStatus(p, all(found), ready, path if ready else None))
    return out


def format_model_table(statuses: Sequence[ModelStatus]) -> str:
    """Plain-text table for ``livemind models``, with install commands for missing ones."""
    rows = [("MODEL", "SIZE", "LICENSE", "INSTALLED", "READY", "DESCRIPTION")]
    for s in statuses:
        name = s.preset.name + (" (default)" if s.preset.name == DEFAULT_MODEL else "")
        size = f"{s.preset.size_bytes / 1e6:.0f} MB"
        rows.append((name, size, s.preset.license, "yes" if s.installed else "no",
                     "yes" if s.assembled else "no", s.preset.title))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for s in statuses:
        if not s.installed:
            lines.append(f"\nto install {s.preset.name}:\n  {install_command(s.preset)}")
    if any(s.installed and not s.assembled for s in statuses):
        lines.append("\n(READY=no: the first use assembles and verifies the file)")
    return "\n".join(lines)
