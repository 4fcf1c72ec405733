"""Small helpers shared by the LLM tests."""

from __future__ import annotations

import asyncio
import socket


def run(coro):
    """Run a coroutine to completion in a fresh event loop (no pytest-asyncio needed)."""
    return asyncio.run(coro)


def free_port() -> int:
    """A port with nothing listening on it (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]
