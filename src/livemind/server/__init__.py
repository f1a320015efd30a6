"""``livemind serve``: the live protocol over WebSocket and SSE, an OpenAI-compatible
endpoint, metrics, and the browser playground (``create_app`` in :mod:`.app`)."""
