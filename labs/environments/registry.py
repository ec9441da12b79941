"""Who has which environment, kept in the app Redis so every site process agrees.

Keys (one hash tag, so the scripts also run when the app Redis is a cluster):

- `cachelab:labs:{envs}:env:<id>`   hash: owner, kind, state, created, last_used,
                                      host, env (the Environment as JSON)
- `cachelab:labs:{envs}:owner:<who>` the learner's environment id (one each)
- `cachelab:labs:{envs}:active`      sorted set: environment id → last use
- `cachelab:labs:{envs}:queue`       sorted set: waiting learner → ticket (arrival order)
- `cachelab:labs:{envs}:ticket`      the last ticket handed out
- `cachelab:labs:{envs}:seen`        sorted set: waiting learner → last asked

Admission is one Lua script: it answers "you already have one", admits under
the cap, or queues, atomically, so two site processes asking at once cannot
overshoot the cap or give one learner two environments. The queue is fair:
a newcomer is admitted only if no one who asked earlier is still waiting for
the free places; a waiting learner who stops asking leaves it after queue_ttl.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .provider import Environment

PREFIX = "cachelab:labs:{envs}:"
ACTIVE, QUEUE, SEEN = PREFIX + "active", PREFIX + "queue", PREFIX + "seen"
TICKET = PREFIX + "ticket"


def env_key(env_id: str) -> str:
    return f"{PREFIX}env:{env_id}"


def owner_key(owner: str) -> str:
    return f"{PREFIX}owner:{owner}"


# KEYS: active, queue, seen, owner, env, ticket
# ARGV: owner, env id, now, cap, queue ttl, kind, host
ADMIT = """
local existing = redis.call('GET', KEYS[4])
if existing then return {'existing', existing} end
local now, cap = tonumber(ARGV[3]), tonumber(ARGV[4])
for _, who in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[5]))) do
  redis.call('ZREM', KEYS[2], who)
  redis.call('ZREM', KEYS[3], who)
end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  -- a ticket, not the caller's clock: places follow the order requests arrive in
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[6]), ARGV[1])
end
redis.call('ZADD', KEYS[3], now, ARGV[1])
local free = cap - redis.call('ZCARD', KEYS[1])
local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
if rank < free then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('SET', KEYS[4], ARGV[2])
  redis.call('HSET', KEYS[5], 'id', ARGV[2], 'owner', ARGV[1], 'kind', ARGV[6],
             'state', 'starting', 'created', ARGV[3], 'last_used', ARGV[3], 'host', ARGV[7])
  redis.call('ZADD', KEYS[1], now, ARGV[2])
  return {'admitted', ARGV[2]}
end
return {'queued', tostring(rank + 1), tostring(redis.call('ZCARD', KEYS[2]))}
"""

# KEYS: env; ARGV: field, value, ... (only while the entry exists: a stop may have won)
UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

# KEYS: active, owner, env; ARGV: env id
RELEASE = """
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""


@dataclass
class Admitted:
    env_id: str


@dataclass
class Existing:
    env_id: str


@dataclass
class Queued:
    place: int
    waiting: int


@dataclass
class Entry:
    id: str
    owner: str
    kind: str
    state: str
    created: float
    last_used: float
    host: str
    env: Environment | None


class Registry:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._admit = client.register_script(ADMIT)
        self._release = client.register_script(RELEASE)
        self._update = client.register_script(UPDATE)

    def admit(
        self,
        *,
        owner: str,
        kind: str,
        env_id: str,
        now: float,
        cap: int,
        queue_ttl: float,
        host: str,
    ) -> Admitted | Existing | Queued:
        keys = [ACTIVE, QUEUE, SEEN, owner_key(owner), env_key(env_id), TICKET]
        for _attempt in range(2):
            reply = self._admit(keys=keys, args=[owner, env_id, now, cap, queue_ttl, kind, host])
            status, *rest = (_text(part) for part in reply)
            if status == "admitted":
                return Admitted(rest[0])
            if status == "queued":
                return Queued(place=int(rest[0]), waiting=int(rest[1]))
            if self.get(rest[0]) is not None:
                return Existing(rest[0])
            self.release(rest[0], owner)  # the owner key outlived its entry: ask again
        raise RuntimeError("the lab registry keeps changing under this admission")

    def get(self, env_id: str) -> Entry | None:
        data = {_text(k): _text(v) for k, v in self.client.hgetall(env_key(env_id)).items()}
        if "owner" not in data:
            return None
        env = Environment.from_dict(json.loads(data["env"])) if data.get("env") else None
        return Entry(
            id=data["id"],
            owner=data["owner"],
            kind=data["kind"],
            state=data["state"],
            created=float(data["created"]),
            last_used=float(data["last_used"]),
            host=data.get("host", ""),
            env=env,
        )

    def of_owner(self, owner: str) -> Entry | None:
        env_id = self.client.get(owner_key(owner))
        return self.get(_text(env_id)) if env_id else None

    def save(self, env: Environment, state: str) -> bool:
        """Record the environment (its nodes' pids and ports) for every site process."""
        return self.set(env.id, state=state, env=json.dumps(env.to_dict()))

    def set(self, env_id: str, **fields: str) -> bool:
        """Update fields of a live entry; False if it is gone (stopped meanwhile)."""
        args = [part for pair in fields.items() for part in pair]
        return bool(self._update(keys=[env_key(env_id)], args=args))

    def touch(self, env_id: str, now: float) -> None:
        self.client.zadd(ACTIVE, {env_id: now}, xx=True)
        self.set(env_id, last_used=str(now))

    def release(self, env_id: str, owner: str) -> None:
        self._release(keys=[ACTIVE, owner_key(owner), env_key(env_id)], args=[env_id])

    def active(self) -> list[Entry]:
        ids = [_text(i) for i in self.client.zrange(ACTIVE, 0, -1)]
        entries = [self.get(env_id) for env_id in ids]
        for env_id, entry in zip(ids, entries, strict=True):
            if entry is None:  # its hash is gone: the slot is free again
                self.client.zrem(ACTIVE, env_id)
        return [e for e in entries if e is not None]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
