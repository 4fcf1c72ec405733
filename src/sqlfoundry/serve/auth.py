"""Bearer API keys, global or per service.

A service accepts the global keys and its own. A service with neither is open.
Keys are held only as SHA-256 digests, so a lookup is one dict probe and no key
text stays in memory where a debug dump or a log could show it. The identity
used for rate limiting is a short digest prefix, never the key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from sqlfoundry.serve.errors import unauthorized


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def bearer_token(header: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None


class KeyTable:
    """Which keys may call which service.

    Args:
        global_keys: keys valid for every service.
        service_keys: per service name, keys valid for that service only.
    """

    def __init__(
        self, global_keys: Iterable[str], service_keys: Mapping[str, Iterable[str]]
    ) -> None:
        self._global = frozenset(_digest(k) for k in global_keys)
        self._service = {
            name: frozenset(_digest(k) for k in keys) for name, keys in service_keys.items()
        }
        self._any = self._global.union(*self._service.values()) if self._service else self._global

    @property
    def locked(self) -> bool:
        """True when global keys exist: every request needs a key before anything else."""
        return bool(self._global)

    def is_open(self, service: str) -> bool:
        """Whether ``service`` takes requests with no key (no global and no own key)."""
        return not self._global and not self._service.get(service)

    def check_any(self, header: str | None) -> str:
        """Accept a key valid somewhere; used before the service is known.

        Returns:
            the caller's identity for rate limiting.
        """
        token = bearer_token(header)
        if token is None:
            raise unauthorized(_missing())
        digest = _digest(token)
        if digest not in self._any:
            raise unauthorized(_wrong())
        return "key:" + digest.hex()[:16]

    def check(self, header: str | None, service: str, client: str) -> str:
        """Accept the request for ``service`` or raise a 401 GatewayError.

        Returns:
            the caller's identity for rate limiting: a key digest prefix, or
            ``ip:<address>`` for an open service.
        """
        if self.is_open(service):
            return f"ip:{client}"
        token = bearer_token(header)
        if token is None:
            raise unauthorized(_missing())
        digest = _digest(token)
        if digest in self._global or digest in self._service.get(service, ()):
            return "key:" + digest.hex()[:16]
        raise unauthorized(_wrong(service if digest in self._any else None))

    def may_use(self, header: str | None, service: str) -> bool:
        """Whether this caller may call ``service`` (for listing models)."""
        if self.is_open(service):
            return True
        token = bearer_token(header)
        if token is None:
            return False
        digest = _digest(token)
        return digest in self._global or digest in self._service.get(service, ())


def _missing() -> str:
    return (
        "no API key provided: send it as 'Authorization: Bearer <key>' (the OpenAI SDK's api_key)"
    )


def _wrong(service: str | None = None) -> str:
    if service is not None:
        return f"this API key is not valid for the service {service!r}"
    return "incorrect API key provided"
