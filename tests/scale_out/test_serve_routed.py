"""``livemind serve --model http://ROUTER/v1``, end to end: the playground in a real
browser (Debian's chromium via playwright) thinks while a question is typed and answers
after Enter, through a real ``vllm-router`` and two real vLLM workers; the browser
session's calls all reach one worker."""

from __future__ import annotations

import pytest
from scale_support import RouterFactory, livemind_serve, received_ids, session_of

from browser_support import playground_page
from scale.cluster import Cluster

QUESTION = "Omar has five crates. Each crate holds eight melons. How many melons are there?"


def test_playground_through_a_routed_vllm_deployment(
    chromium: str,
    workers: Cluster,
    router: RouterFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    routed = router("consistent_hash", [w.url for w in workers.workers])
    before = [set(received_ids(w)) for w in workers.workers]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with livemind_serve(routed.url + "/v1", log, "--min-len", "3", "--max-tokens", "40") as url:
        console: list[str] = []
        with playground_page(chromium, url, console) as page:
            page.wait_for_function("eventTable.names !== null", timeout=10_000)
            page.click("#input")
            page.keyboard.type(QUESTION, delay=60)
            page.wait_for_selector("#inferences li.done", timeout=60_000)
            page.keyboard.press("Enter")
            page.wait_for_selector(".answer.main .meta.latency", timeout=120_000)
            assert page.inner_text(".answer.main .text").strip()
            assert not [m for m in console if "livemind:" in m], console
    new = [set(received_ids(w)) - b for w, b in zip(workers.workers, before, strict=True)]
    sessions = [{session_of(r) for r in ids} for ids in new]
    assert sum(len(ids) for ids in new) >= 2  # notes while typing, then the answer
    assert not (sessions[0] & sessions[1]), sessions  # no session on both workers
