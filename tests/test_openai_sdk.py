"""The official ``openai`` SDK as the client of a real ``livemind serve`` (smollm2-135m):
``models.list``/``models.retrieve`` (what most OpenAI-compatible tools call first) and
chat completions, streamed and not; with a token, a wrong key is an AuthenticationError.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest

pytestmark = pytest.mark.model

Serve = Callable[..., contextlib.AbstractContextManager[str]]
TOKEN = "sdk-test-token"
OUTPUT_MODEL = "smollm2-output"
QUESTION = [{"role": "user", "content": "What is the capital of France? One word."}]


def sdk(url: str, key: str = "unused") -> openai.OpenAI:
    """The SDK pointed at the server (it always sends ``Authorization: Bearer KEY``)."""
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def url(serve: Serve) -> Iterator[str]:
    with serve("--max-tokens", "8") as u:
        yield u


@pytest.fixture(scope="module")
def token_url(
    serve: Serve, smollm2_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server with a token and an output model of another name (the same weights
    under another file name: the engine names a model after its file)."""
    folder = tmp_path_factory.mktemp("sdk")
    output = folder / f"{OUTPUT_MODEL}.gguf"
    try:
        os.link(smollm2_path, output)
    except OSError:  # another file system
        shutil.copyfile(smollm2_path, output)
    token_file = folder / "token"
    token_file.write_text(TOKEN + "\n")
    with serve(
        "--max-tokens", "8", "--token-file", str(token_file), "--output-model", str(output)
    ) as u:
        yield u


def test_models_list_and_retrieve(url: str) -> None:
    client = sdk(url)
    models = client.models.list()
    assert [m.id for m in models.data] == [httpx.get(url + "/health").json()["model"]]
    card = models.data[0]
    assert card.object == "model" and card.owned_by == "livemind" and card.created > 0
    assert client.models.retrieve(card.id) == card
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("gpt-4o")
    assert missing.value.code == "model_not_found"
    assert "gpt-4o" in missing.value.message


def test_the_list_is_openais_shape(url: str) -> None:
    body = httpx.get(url + "/v1/models").json()
    assert body["object"] == "list"
    assert set(body["data"][0]) == {"id", "object", "created", "owned_by"}
    missing = httpx.get(url + "/v1/models/no-such-model")
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"message", "type", "param", "code"}


def test_chat_completion_non_streamed(url: str) -> None:
    client = sdk(url)
    model = client.models.list().data[0].id
    reply = client.chat.completions.create(model=model, messages=QUESTION, max_tokens=8)
    assert reply.object == "chat.completion" and reply.model == model
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content.strip()
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 8


def test_chat_completion_streamed(url: str) -> None:
    client = sdk(url)
    model = client.models.list().data[0].id
    stream = client.chat.completions.create(
        model=model, messages=QUESTION, max_tokens=8, stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) >= 3 and text.strip()
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert all(c.id == chunks[0].id and c.model == model for c in chunks)


def test_the_site_guard_covers_the_models_route(url: str) -> None:
    resp = httpx.get(url + "/v1/models", headers={"Host": "rebind.evil.example"})
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "host_not_allowed"


def test_with_a_token_the_right_key_is_served_and_both_models_are_listed(
    token_url: str,
) -> None:
    client = sdk(token_url, TOKEN)
    ids = [m.id for m in client.models.list().data]
    assert ids == [httpx.get(token_url + "/health").json()["model"], OUTPUT_MODEL]
    assert client.models.retrieve(OUTPUT_MODEL).id == OUTPUT_MODEL
    reply = client.chat.completions.create(model=ids[0], messages=QUESTION, max_tokens=4)
    assert reply.choices[0].message.content.strip()


def test_with_a_token_a_wrong_key_is_an_authentication_error(token_url: str) -> None:
    client = sdk(token_url, "wrong-key")
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    with pytest.raises(openai.AuthenticationError):
        client.models.retrieve(OUTPUT_MODEL)
    for stream in (False, True):
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(
                model="any", messages=QUESTION, max_tokens=4, stream=stream
            )
