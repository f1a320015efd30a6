"""The CLI with a URL model probes the server up front and fails clearly when it is down."""

import socket


def test_unreachable_url_model_fails_fast_with_a_clear_error(cli) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    proc = cli("chat", "--model", f"http://127.0.0.1:{port}/v1", timeout=60)
    assert proc.returncode == 2
    assert "livemind: error:" in proc.stderr and f"127.0.0.1:{port}" in proc.stderr


def test_url_model_options_reach_the_url_backend() -> None:
    from livemind.backends import open_backend
    from livemind.backends.openai_http import OpenAIBackend
    from livemind.cli import _url_options, build_parser

    routed = ["--affinity-header", "X-SMG-Routing-Key", "--model-name", "m1"]
    for given, header, name, mode in (
        ([], "X-Session-ID", None, "auto"),
        ([*routed, "--prewarm-mode", "vllm"], "X-SMG-Routing-Key", "m1", "vllm"),
        (["--affinity-header", "none", "--prewarm-mode", "off"], None, None, "off"),
    ):
        for command in ("serve", "chat", "bench"):
            extra = ["--dataset", "mmlu", "--out", "x.jsonl"] if command == "bench" else []
            args = build_parser().parse_args([command, "--model", "http://h/v1", *given, *extra])
            options = _url_options(args)
            assert options == {"affinity_header": header, "model_name": name, "prewarm_mode": mode}
        backend = open_backend("http://h/v1", **options)
        assert isinstance(backend, OpenAIBackend)
        assert (backend.affinity_header, backend.prewarm_mode) == (header, mode)
        assert backend.model == (name or "")
