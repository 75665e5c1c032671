"""Locks in Redis that expire by themselves and that only their holder can release.

The nightly regeneration and the daily e-mail run each take one, so that two beats (or a beat
and an organiser's hand) never run the same work at the same time; a crashed holder's lock
lapses at its expiry instead of blocking the next run.
"""

from __future__ import annotations

import secrets

import redis

# Delete the key only if it still holds our token: an expired lock taken over by another run
# must survive our release. One script, so nothing can happen between GET and DEL.
_RELEASE_SCRIPT = """
if redis.call("GET", KEYS[1]) == ARGV[1] then
    return redis.call("DEL", KEYS[1])
end
return 0
"""


class ExpiringLock:
    """One named lock with an expiry."""

    def __init__(self, client: redis.Redis, *, key: str, expire_seconds: int) -> None:
        self._client = client
        self._key = key
        self._expire_seconds = expire_seconds
        self._release = client.register_script(_RELEASE_SCRIPT)

    def acquire(self) -> str | None:
        """Take the lock; its token, or None if another run holds it."""
        token = secrets.token_hex(16)
        taken = self._client.set(self._key, token, nx=True, ex=self._expire_seconds)
        return token if taken else None

    def release(self, token: str) -> bool:
        """Give the lock back if it is still ours; False if it had expired meanwhile."""
        return bool(self._release(keys=[self._key], args=[token]))

    def holder(self) -> str | None:
        """The current holder's token, if any (for logs and tests)."""
        value = self._client.get(self._key)
        return value.decode() if isinstance(value, bytes) else value
