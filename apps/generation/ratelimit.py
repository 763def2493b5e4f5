"""Provider concurrency slots and 429 cool-downs, shared by every worker through Redis.

Slots: one sorted set per (backend, credential fingerprint) holds the provider calls now
running there, scored by when their lease runs out. A call takes a slot before it is
submitted and gives it back when the provider has finished it; the lease is renewed at
every step (poll) of the job, so the slot of a call whose worker died frees itself once
the lease expires. Taking a slot is one Lua script (atomic on the Redis server, using the
server's clock), so a cap of 4 is never passed however many workers race.

Cap: ``MONTAGE_BACKEND_CONCURRENCY[backend]`` (deployment-wide override), else the
credential's ``config["concurrency"]``, else ``Backend.default_concurrency``.

Waiting: a call that finds every slot taken joins a waiting line (first come, first in
line) and is told how long to wait before asking again — longer the further back it is —
so a thousand queued jobs cost a few checks per second, not hundreds. Its job stays
``queued`` and is re-scheduled; no worker blocks.

Cool-down: when a provider answers 429 with Retry-After, a "not before" key is set for
that (backend, credential); every worker checks it before calling the provider again.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings

logger = logging.getLogger(__name__)

LEASE_SECONDS = 15 * 60  # a slot outlives a dead worker by at most this long

# KEYS: slots, waiting (score: first seen), waiting-expiry (score: when the entry lapses)
# ARGV: member, limit, lease_ms, force, base_wait_ms, max_wait_ms
# Returns -1 when the slot is granted, else how many ms to wait before asking again: the
# further back in the line (first come, first asked), the longer, so a long queue costs a
# few checks per second instead of one per job per interval.
_ACQUIRE = """
local slots, waitq, waitexp = KEYS[1], KEYS[2], KEYS[3]
local member = ARGV[1]
local limit = tonumber(ARGV[2])
local lease_ms = tonumber(ARGV[3])
local force = ARGV[4] == '1'
local base = tonumber(ARGV[5])
local maxw = tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
local lapsed = redis.call('ZRANGEBYSCORE', waitexp, '-inf', now)
if #lapsed > 0 then
  for i = 1, #lapsed, 500 do
    redis.call('ZREM', waitq, unpack(lapsed, i, math.min(i + 499, #lapsed)))
  end
  redis.call('ZREMRANGEBYSCORE', waitexp, '-inf', now)
end
if redis.call('ZSCORE', slots, member) or force or redis.call('ZCARD', slots) < limit then
  redis.call('ZADD', slots, now + lease_ms, member)
  redis.call('PEXPIRE', slots, lease_ms * 2)
  redis.call('ZREM', waitq, member)
  redis.call('ZREM', waitexp, member)
  return -1
end
redis.call('ZADD', waitq, 'NX', now, member)
local rank = redis.call('ZRANK', waitq, member)
local wait = math.min(maxw, base * (1 + math.floor(rank / math.max(1, limit))))
redis.call('ZADD', waitexp, now + 3 * wait + 5000, member)
redis.call('PEXPIRE', waitq, 3600000)
redis.call('PEXPIRE', waitexp, 3600000)
return wait
"""

_COOLDOWN_SET = """
local key = KEYS[1]
local ms = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untl = now + ms
local current = tonumber(redis.call('GET', key) or '0')
if untl > current then
  redis.call('SET', key, untl, 'PX', ms)
  return ms
end
return current - now
"""

_COOLDOWN_GET = """
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untl = tonumber(redis.call('GET', key) or '0')
if untl > now then return untl - now end
return 0
"""

_COUNT = """
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
return redis.call('ZCARD', key)
"""

_local = threading.local()
_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def redis_client():
    import redis

    url = settings.REDIS_URL
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return client


def _scripts():
    client = redis_client()
    cache = getattr(_local, "scripts", None)
    if cache is None or cache[0] is not client:
        cache = (
            client,
            client.register_script(_ACQUIRE),
            client.register_script(_COOLDOWN_SET),
            client.register_script(_COOLDOWN_GET),
            client.register_script(_COUNT),
        )
        _local.scripts = cache
    return cache[1:]


def _prefix() -> str:
    return getattr(settings, "MONTAGE_RATELIMIT_PREFIX", "montage:gen")


def slots_key(backend: str, fingerprint: str) -> str:
    return f"{_prefix()}:slots:{backend}:{fingerprint}"


def waiting_keys(backend: str, fingerprint: str) -> tuple[str, str]:
    return f"{_prefix()}:waiting:{backend}:{fingerprint}", f"{_prefix()}:waiting-exp:{backend}:{fingerprint}"


def cooldown_key(backend: str, fingerprint: str) -> str:
    return f"{_prefix()}:cooldown:{backend}:{fingerprint}"


def concurrency_for(backend, config: dict | None = None) -> int:
    overrides = getattr(settings, "MONTAGE_BACKEND_CONCURRENCY", {}) or {}
    value = overrides.get(backend.name)
    if value is None and config:
        value = config.get("concurrency")
    if value is None:
        value = getattr(backend, "default_concurrency", 4)
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return max(1, int(getattr(backend, "default_concurrency", 4)))


class Slot:
    """The answer of :func:`acquire`: truthy when granted; else ``wait`` seconds to wait."""

    __slots__ = ("granted", "wait")

    def __init__(self, granted: bool, wait: float = 0.0) -> None:
        self.granted = granted
        self.wait = wait

    def __bool__(self) -> bool:
        return self.granted

    def __repr__(self) -> str:
        return f"Slot(granted={self.granted}, wait={self.wait:.3f})"


def acquire(
    backend: str, fingerprint: str, member: str, *, limit: int, force: bool = False, lease: float = LEASE_SECONDS,
    base_wait: float = 3.0, max_wait: float = 60.0,
) -> Slot:
    """Take (or renew) a slot for ``member``. Not granted when all ``limit`` slots are taken:
    then ``Slot.wait`` says when to ask again (longer the further back in line the member
    is). ``force`` renews/takes it regardless (a call already running at the provider)."""
    acquire_script = _scripts()[0]
    waitq, waitexp = waiting_keys(backend, fingerprint)
    got = int(acquire_script(
        keys=[slots_key(backend, fingerprint), waitq, waitexp],
        args=[member, int(limit), int(lease * 1000), "1" if force else "0", max(1, int(base_wait * 1000)), max(1, int(max_wait * 1000))],
    ))
    if got < 0:
        return Slot(True)
    return Slot(False, got / 1000)


def release(backend: str, fingerprint: str, *members: str) -> None:
    """Give back the slots of ``members`` (and drop them from the waiting line)."""
    if members:
        waitq, waitexp = waiting_keys(backend, fingerprint)
        pipe = redis_client().pipeline(transaction=False)
        pipe.zrem(slots_key(backend, fingerprint), *members)
        pipe.zrem(waitq, *members)
        pipe.zrem(waitexp, *members)
        pipe.execute()


def next_waiting(backend: str, fingerprint: str, count: int) -> list[str]:
    """The first ``count`` members of the waiting line (to wake them when slots free)."""
    if count <= 0:
        return []
    waitq = waiting_keys(backend, fingerprint)[0]
    return [m.decode() for m in redis_client().zrange(waitq, 0, count - 1)]


def waiting(backend: str, fingerprint: str) -> int:
    return int(redis_client().zcard(waiting_keys(backend, fingerprint)[0]))


def in_use(backend: str, fingerprint: str) -> int:
    return int(_scripts()[3](keys=[slots_key(backend, fingerprint)], args=[]))


def holders(backend: str, fingerprint: str) -> list[str]:
    """Members holding a live slot (expired leases are dropped first)."""
    in_use(backend, fingerprint)
    return [m.decode() for m in redis_client().zrange(slots_key(backend, fingerprint), 0, -1)]


def cooldown_set(backend: str, fingerprint: str, seconds: float) -> float:
    """Nobody calls this provider account for ``seconds`` (never shortens a longer one).
    Returns the seconds left of the cool-down now in force."""
    ms = max(1, int(seconds * 1000))
    left = _scripts()[1](keys=[cooldown_key(backend, fingerprint)], args=[ms])
    return int(left) / 1000


def cooldown_remaining(backend: str, fingerprint: str) -> float:
    return int(_scripts()[2](keys=[cooldown_key(backend, fingerprint)], args=[])) / 1000


def reset(backend: str, fingerprint: str) -> None:
    """For tests and the admin: forget every slot and cool-down of one account."""
    redis_client().delete(slots_key(backend, fingerprint), cooldown_key(backend, fingerprint), *waiting_keys(backend, fingerprint))
