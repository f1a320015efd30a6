"""Model files: a model spec -> a verified local ``.gguf`` path (:func:`resolve_model`).

* a preset name (see :data:`~livemind.model_catalog.PRESETS`) -> the GGUF in
  :func:`cache_dir`, assembled from the byte chunks inside the preset's packages and checked
  against its sha256; a single-part preset (``smollm2-135m``) is used in place inside its
  package, no copy is made;
* a path to an existing GGUF file -> that path (only the ``GGUF`` magic is checked).

A full hash is paid once: it leaves a stamp ``<filename>.sha256`` in the cache dir recording
path, size, mtime and hash; later calls trust a file whose size and mtime still match the
stamp (:func:`stamp_ok`). Builds of one preset are serialised by a cross-process lock.
See docs/MODELS.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from livemind.model_catalog import (
    PRESETS,
    Locate,
    ModelError,
    Preset,
    install_command,
    locate_part,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX: no cross-process lock
    fcntl = None  # type: ignore[assignment]

Progress = Callable[[int, int], None]
"""``progress(done_bytes, total_bytes)``; called once per chunk read while hashing."""

GGUF_MAGIC = b"GGUF"
_BUF = 1 << 20


def cache_dir() -> Path:
    """``$LIVEMIND_CACHE_DIR``, else ``$XDG_CACHE_HOME/livemind/models``, else
    ``~/.cache/livemind/models``. Not created here."""
    if env := os.environ.get("LIVEMIND_CACHE_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "livemind" / "models"


def _hash_copy(
    sources: Sequence[Path], dst: BinaryIO | None = None, progress: Progress | None = None
) -> str:
    """sha256 of the concatenated ``sources``, also written to the open file ``dst``."""
    total, done, h = sum(p.stat().st_size for p in sources), 0, hashlib.sha256()
    for src in sources:
        with open(src, "rb") as f:
            while buf := f.read(_BUF):
                h.update(buf)
                if dst is not None:
                    dst.write(buf)
                done += len(buf)
                if progress:
                    progress(done, total)
    return h.hexdigest()


def _stamp_path(preset: Preset) -> Path:
    return cache_dir() / f"{preset.filename}.sha256"


def _stamp_data(preset: Preset, path: Path) -> dict[str, object]:
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "sha256": preset.sha256}  # fmt: skip


def stamp_ok(preset: Preset, path: Path) -> bool:
    """True if the stamp says ``path`` was fully verified and it is unchanged since."""
    try:
        stamp: object = json.loads(_stamp_path(preset).read_text())
        return stamp == _stamp_data(preset, path)
    except (OSError, ValueError):
        return False


def _write_stamp(preset: Preset, path: Path) -> None:
    """Record that ``path`` (as it is now) was fully verified; written atomically."""
    stamp = _stamp_path(preset)
    tmp = stamp.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(_stamp_data(preset, path)))
    os.replace(tmp, stamp)


@contextlib.contextmanager
def _locked(preset: Preset) -> Iterator[None]:
    """Exclusive cross-process lock on this preset's cache entry (blocks)."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / f"{preset.filename}.lock", "w") as fh:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield  # the lock goes with the file descriptor


def _find_parts(preset: Preset, locate: Locate) -> list[Path]:
    """The installed parts in order; ModelError with the install command if any is missing."""
    found = [locate(dist, rel) for dist, rel in preset.parts]
    if all(found):
        return found  # type: ignore[return-value]
    missing = [req for req, f in zip(preset.packages, found, strict=True) if f is None]
    raise ModelError(
        f"model {preset.name!r} needs packages that are not installed (or are incomplete): "
        f"{', '.join(missing)}\nInstall them with:\n  {install_command(preset)}"
    )


def _bad_parts(preset: Preset, what: str) -> ModelError:
    return ModelError(
        f"the installed packages of model {preset.name!r} are damaged or the wrong version "
        f"({what}). Reinstall them with:\n  {install_command(preset, force=True)}"
    )


def _resolve_preset(
    preset: Preset, locate: Locate, progress: Progress | None, verify: bool
) -> Path:
    """:func:`resolve_model` for a preset: stamp fast path, else lock, verify or rebuild."""
    if len(preset.parts) == 1:  # used in place, verified once
        path = _find_parts(preset, locate)[0]
        if stamp_ok(preset, path) and not verify:
            return path
        with _locked(preset):
            if (digest := _hash_copy([path], None, progress)) != preset.sha256:
                raise _bad_parts(preset, f"sha256 {digest}, expected {preset.sha256}")
            _write_stamp(preset, path)
        return path
    target = cache_dir() / preset.filename
    if stamp_ok(preset, target) and not verify:
        return target
    parts = None if target.is_file() else _find_parts(preset, locate)  # fail before writing
    with _locked(preset):
        if stamp_ok(preset, target) and not verify:  # another process just built it
            return target
        if (
            target.is_file()  # right size: maybe only the stamp was off; else rebuild at once
            and target.stat().st_size == preset.size_bytes
            and _hash_copy([target], None, progress) == preset.sha256
        ):
            _write_stamp(preset, target)
            return target
        _stamp_path(preset).unlink(missing_ok=True)
        for stale in cache_dir().glob(f"{preset.filename}.*.part"):  # left by killed runs
            stale.unlink(missing_ok=True)
        parts = parts or _find_parts(preset, locate)
        if (size := sum(p.stat().st_size for p in parts)) != preset.size_bytes:
            raise _bad_parts(preset, f"{size} bytes in total, expected {preset.size_bytes}")
        fd, tmp = tempfile.mkstemp(dir=cache_dir(), prefix=f"{preset.filename}.", suffix=".part")
        try:
            os.fchmod(fd, 0o644)  # mkstemp makes it 0600; the cache may be shared
            with os.fdopen(fd, "wb") as out:
                digest = _hash_copy(parts, out, progress)
                out.flush()
                os.fsync(out.fileno())
            if digest != preset.sha256:
                raise _bad_parts(preset, f"they give sha256 {digest}, expected {preset.sha256}")
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
        _write_stamp(preset, target)
    return target


def resolve_model(
    spec: str,
    *,
    progress: Progress | None = None,
    verify: bool = False,
    presets: Mapping[str, Preset] | None = None,
    locate: Locate = locate_part,
) -> Path:
    """Turn ``spec`` (a preset name or a path to a GGUF file) into a local GGUF path.

    Presets are assembled/verified on first use (``progress`` is called during each hashing
    pass; ``done`` restarts at 0 for each) and reused cheaply after. A damaged cache file is
    rebuilt. ``verify=True`` forces a full re-hash. ``presets``/``locate`` are for tests.
    Raises :class:`ModelError` with the fix in its message.
    """
    presets = PRESETS if presets is None else presets
    if spec in presets:
        try:
            return _resolve_preset(presets[spec], locate, progress, verify)
        except OSError as e:  # unwritable cache dir, disk full, ...
            raise ModelError(
                f"cannot prepare model {spec!r} in the cache {str(cache_dir())!r}: {e}. Free "
                f"{presets[spec].size_bytes / 1e6:.0f} MB there or point LIVEMIND_CACHE_DIR "
                "at a writable directory."
            ) from e
    if spec.startswith(("http://", "https://")):
        raise ModelError(f"{spec!r} is a server URL, not a model file: use the HTTP backend")
    path = Path(spec).expanduser()
    if not (path.suffix.lower() == ".gguf" or "/" in spec or os.sep in spec or path.exists()):
        raise ModelError(
            f"unknown model {spec!r}. Presets: {', '.join(presets)}. A path to a .gguf file, "
            "or an http(s) URL of an OpenAI-compatible server, also works."
        )
    if not path.is_file():
        raise ModelError(f"model file {str(path)!r} does not exist (or is not a file)")
    with open(path, "rb") as f:
        if (magic := f.read(4)) != GGUF_MAGIC:
            raise ModelError(
                f"{str(path)!r} is not a GGUF file (starts with {magic!r}, not b'GGUF')"
            )
    return path.resolve()
