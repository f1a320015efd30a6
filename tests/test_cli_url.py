"""The CLI with a URL model probes the server up front and fails clearly when it is down."""

import socket


def test_unreachable_url_model_fails_fast_with_a_clear_error(cli) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    proc = cli("chat", "--model", f"http://127.0.0.1:{port}/v1", timeout=60)
    assert proc.returncode == 2
    assert "livemind: error:" in proc.stderr and f"127.0.0.1:{port}" in proc.stderr
