"""Fixtures for the middleware tests: a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from asgi_apps import BANNED, free_port, make_app


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    """The middleware app on a real uvicorn, on 127.0.0.1; yields its base URL."""
    app = make_app(policy=BANNED, check_responses=True, max_body_size=4096)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
