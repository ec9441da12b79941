"""The one checker: is the learner's Redis state what a task asked for?

Quiz command questions and lab steps both call `evaluate`. A check is a small
declarative spec (a kind, a key, and the fields that kind reads); it reads real
state through the sandbox engine (`Sandbox.query`, keys mapped into the
namespace) and never trusts what a browser says happened. Every result carries
a message in plain words saying what was found and what was expected.

Plain Python over the engine: no Django models here, so both callers (and the
admin's validation) can build specs from whatever they store.

Longer than most modules (about 550 lines) on purpose: it is one table of
twenty small kinds, each a short function beside its neighbours; split by kind
it would scatter the one place where "what does this check mean" is answered.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from learn.sandbox.cli import format_reply
from learn.sandbox.namespace import Namespace
from learn.sandbox.runner import Outcome, Sandbox

KEY_TYPES = ("string", "list", "set", "zset", "hash", "stream")
LENGTH_COMMANDS = {
    b"string": "STRLEN",
    b"list": "LLEN",
    b"set": "SCARD",
    b"zset": "ZCARD",
    b"hash": "HLEN",
    b"stream": "XLEN",
}
# Geo coordinates come back from the server's 52-bit geohash: a little off.
GEO_TOLERANCE = 1e-4
SCORE_TOLERANCE = 1e-6
MAX_SHOWN = 6  # members named in a message before "and N more"


@dataclass(frozen=True)
class CheckSpec:
    """One condition on a namespace's state.

    `fields` by kind (see KINDS): key_type, value, min/max, member, values,
    members (member → score), fields (field → value) with exact, group,
    consumer, count, positions (member → [lon, lat]), command/pattern, any.
    """

    kind: str
    key: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CheckSpec:
        """From a content file's table or a stored JSON object: {"type", "key", ...}."""
        data = dict(raw)
        kind = str(data.pop("type", data.pop("kind", "")))
        key = str(data.pop("key", ""))
        return cls(kind=kind, key=key, fields=data)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, **({"key": self.key} if self.key else {}), **self.fields}


@dataclass
class CheckResult:
    passed: bool
    message: str


@dataclass
class CheckContext:
    """What a check may need beyond the server's state.

    outcome: the command just run (for `reply`); transcript: the entries the
    learner ran since the step began, oldest first ({"command", "reply",
    "error"}, as the engine records them); rows: the lab's small "database"
    (row name → fields) for `json` checks that compare with a row.
    """

    outcome: Outcome | None = None
    transcript: Sequence[Mapping[str, Any]] = ()
    rows: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def from_command_check(check: Any) -> CheckSpec:
    """A spec from a quiz CommandCheck row (duck-typed: no quizzes import here)."""
    fields: dict[str, Any] = {"value": check.value or ""}
    if check.key_type:
        fields["key_type"] = check.key_type
    if check.member:
        fields["member"] = check.member
    fields["min"], fields["max"] = check.minimum, check.maximum
    return CheckSpec(kind=check.kind, key=check.key, fields=fields)


# -- helpers -------------------------------------------------------------------


def _text(reply: object) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", errors="replace")
    return str(reply)


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _listing(items: Iterable[str]) -> str:
    items = list(items)
    if not items:
        return "nothing"
    shown = ", ".join(items[:MAX_SHOWN])
    return shown + (f" and {len(items) - MAX_SHOWN} more" if len(items) > MAX_SHOWN else "")


def _score(value: float) -> str:
    return f"{value:g}"


def _pairs(reply: object) -> dict[str, object]:
    """A flat RESP2 [k1, v1, k2, v2, ...] reply as a dict with text keys."""
    if not isinstance(reply, list):
        return {}
    return {_text(k): v for k, v in zip(reply[::2], reply[1::2], strict=False)}


def _stream_id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms or 0), int(seq or 0)


def _members_of(sandbox: Sandbox, ns: Namespace, key: str, key_type: bytes) -> list[str]:
    """What a collection holds: list items, set/zset members, hash fields."""
    if key_type == b"list":
        items = sandbox.query(ns, "LRANGE", key, 0, -1)
    elif key_type == b"set":
        items = sandbox.query(ns, "SMEMBERS", key)
    elif key_type == b"zset":
        items = sandbox.query(ns, "ZRANGE", key, 0, -1)
    elif key_type == b"hash":
        items = sandbox.query(ns, "HKEYS", key)
    else:
        items = []
    return [_text(item) for item in items or []] if isinstance(items, list) else []


def _wanted_values(spec: CheckSpec) -> list[str]:
    """`values` as a list, or (quiz rows) `value` with one per line."""
    values = spec.get("values")
    if values is None:
        return [line for line in str(spec.get("value", "")).splitlines() if line.strip()]
    return [str(v) for v in values]


def _absent_message(key: str) -> CheckResult:
    return CheckResult(False, f"{key} does not exist")


# -- the kinds -------------------------------------------------------------------
# Each takes (spec, sandbox, ns, context, key_type) and returns a CheckResult.
# The kinds quizzes use (exists, value, ttl, length, members, zscore, zrank,
# reply) keep their quiz semantics and messages exactly.

Check = Callable[[CheckSpec, Sandbox, Namespace, CheckContext, bytes], CheckResult]


def _exists(spec, sandbox, ns, context, key_type) -> CheckResult:
    found = _text(key_type)
    wanted = spec.get("key_type", "")
    shown = "does not exist" if found == "none" else f"is a {found}"
    return CheckResult(found == wanted, f"{spec.key} {shown} (expected a {wanted})")


def _absent(spec, sandbox, ns, context, key_type) -> CheckResult:
    if key_type == b"none":
        return CheckResult(True, f"{spec.key} does not exist")
    return CheckResult(False, f"{spec.key} still exists (a {_text(key_type)}); expected it gone")


def _value(spec, sandbox, ns, context, key_type) -> CheckResult:
    value = sandbox.query(ns, "GET", spec.key)
    got = _text(value) if isinstance(value, bytes) else format_reply(value)
    wanted = str(spec.get("value", ""))
    return CheckResult(got == wanted, f"{spec.key} holds {got!r} (expected {wanted!r})")


def _json(spec, sandbox, ns, context, key_type) -> CheckResult:
    row = spec.get("row")
    wanted = context.rows.get(row) if row else json.loads(str(spec.get("value", "null")))
    shown = json.dumps(wanted, separators=(",", ":"))
    value = sandbox.query(ns, "GET", spec.key)
    if not isinstance(value, bytes):
        return CheckResult(False, f"{spec.key} is not a string (expected the JSON {shown})")
    try:
        got = json.loads(value)
        found = json.dumps(got, separators=(",", ":"))
    # RecursionError: a learner's value nested a few thousand deep ([[[[…]]]]).
    except (ValueError, RecursionError):
        return CheckResult(
            False, f"{spec.key} holds {_text(value)!r}, which is not JSON (expected {shown})"
        )
    if got == wanted:
        return CheckResult(True, f"{spec.key} holds the JSON {found}")
    return CheckResult(False, f"{spec.key} holds the JSON {found} (expected {shown})")


def _ttl(spec, sandbox, ns, context, key_type) -> CheckResult:
    ttl = sandbox.query(ns, "TTL", spec.key)
    low, high = spec.get("min"), spec.get("max")
    ok = isinstance(ttl, int) and low is not None and high is not None and low <= ttl <= high
    shown = "no expiry" if ttl == -1 else f"a TTL of {ttl} s"
    wanted = "no expiry" if low == high == -1 else f"{low}–{high} s"
    return CheckResult(ok, f"{spec.key} has {shown} (expected {wanted})")


def _length(spec, sandbox, ns, context, key_type) -> CheckResult:
    command = LENGTH_COMMANDS.get(key_type, "STRLEN")
    length = sandbox.query(ns, command, spec.key)
    wanted = str(spec.get("value", "")).strip()
    return CheckResult(
        _text(length) == wanted, f"{spec.key} has {length} element(s) (expected {wanted})"
    )


def _members(spec, sandbox, ns, context, key_type) -> CheckResult:
    wanted = _wanted_values(spec)
    present = set(_members_of(sandbox, ns, spec.key, key_type))
    missing = [m for m in wanted if m not in present]
    detail = f"missing {', '.join(missing)}" if missing else "has every expected member"
    return CheckResult(not missing, f"{spec.key} {detail}")


def _members_exact(spec, sandbox, ns, context, key_type) -> CheckResult:
    wanted = set(_wanted_values(spec))
    present = set(_members_of(sandbox, ns, spec.key, key_type))
    if present == wanted:
        return CheckResult(True, f"{spec.key} holds exactly {_listing(sorted(wanted))}")
    parts = []
    if wanted - present:
        parts.append(f"missing {_listing(sorted(wanted - present))}")
    if present - wanted:
        parts.append(f"should not hold {_listing(sorted(present - wanted))}")
    return CheckResult(
        False, f"{spec.key} {' and '.join(parts)} (expected exactly {_listing(sorted(wanted))})"
    )


def _zscore(spec, sandbox, ns, context, key_type) -> CheckResult:
    member, wanted_text = spec.get("member", ""), str(spec.get("value", ""))
    score = sandbox.query(ns, "ZSCORE", spec.key, member)
    got, wanted = (_number(_text(score)) if score else None), _number(wanted_text)
    ok = got is not None and wanted is not None and abs(got - wanted) < SCORE_TOLERANCE
    return CheckResult(
        ok,
        f"{member} scores {_text(score) if score else 'nothing'} in {spec.key} "
        f"(expected {wanted_text})",
    )


def _zrank(spec, sandbox, ns, context, key_type) -> CheckResult:
    member, wanted = spec.get("member", ""), str(spec.get("value", "")).strip()
    rank = sandbox.query(ns, "ZRANK", spec.key, member)
    ok = isinstance(rank, int) and str(rank) == wanted
    return CheckResult(ok, f"{member} is at rank {rank} in {spec.key} (expected {wanted})")


def _zset(spec, sandbox, ns, context, key_type) -> CheckResult:
    wanted = {str(m): float(s) for m, s in dict(spec.get("members", {})).items()}
    shown = ", ".join(f"{m} {_score(s)}" for m, s in sorted(wanted.items()))
    if key_type != b"zset":
        return CheckResult(False, f"{spec.key} is a {_text(key_type)} (expected a sorted set)")
    reply = sandbox.query(ns, "ZRANGE", spec.key, 0, -1, "WITHSCORES")
    got = {_text(m): float(s) for m, s in zip(reply[::2], reply[1::2], strict=False)}
    if set(got) == set(wanted) and all(abs(got[m] - wanted[m]) < SCORE_TOLERANCE for m in wanted):
        return CheckResult(True, f"{spec.key} holds exactly {shown}")
    problems = [f"missing {m}" for m in sorted(set(wanted) - set(got))]
    problems += [f"{m} should not be there" for m in sorted(set(got) - set(wanted))]
    problems += [
        f"{m} scores {_score(got[m])}, not {_score(wanted[m])}"
        for m in sorted(set(got) & set(wanted))
        if abs(got[m] - wanted[m]) >= SCORE_TOLERANCE
    ]
    return CheckResult(False, f"{spec.key}: {'; '.join(problems)} (expected exactly {shown})")


def _hash(spec, sandbox, ns, context, key_type) -> CheckResult:
    wanted = {str(f): str(v) for f, v in dict(spec.get("fields", {})).items()}
    exact = bool(spec.get("exact", False))
    if key_type != b"hash":
        return CheckResult(False, f"{spec.key} is a {_text(key_type)} (expected a hash)")
    got = _pairs(sandbox.query(ns, "HGETALL", spec.key))
    got = {f: _text(v) for f, v in got.items()}
    problems = [f"has no field {f}" for f in wanted if f not in got]
    problems += [
        f"{f} is {got[f]!r}, not {wanted[f]!r}" for f in wanted if f in got and got[f] != wanted[f]
    ]
    if exact:
        problems += [f"has an extra field {f}" for f in sorted(set(got) - set(wanted))]
    shown = ", ".join(f"{f}={v}" for f, v in wanted.items())
    if not problems:
        return CheckResult(True, f"{spec.key} has {shown}")
    return CheckResult(False, f"{spec.key} {'; '.join(problems)} (expected {shown})")


def _list(spec, sandbox, ns, context, key_type) -> CheckResult:
    wanted = [str(v) for v in spec.get("values", [])]
    if key_type != b"list":
        return CheckResult(False, f"{spec.key} is a {_text(key_type)} (expected a list)")
    got = _members_of(sandbox, ns, spec.key, key_type)
    if got == wanted:
        return CheckResult(True, f"{spec.key} holds {_listing(wanted)}, in that order")
    return CheckResult(
        False, f"{spec.key} holds {_listing(got)} (expected {_listing(wanted)}, in that order)"
    )


def _stream_values(spec, sandbox, ns, context, key_type) -> CheckResult:
    name, wanted = str(spec.get("field", "")), [str(v) for v in spec.get("values", [])]
    if key_type != b"stream":
        return CheckResult(False, f"{spec.key} is a {_text(key_type)} (expected a stream)")
    entries = sandbox.query(ns, "XRANGE", spec.key, "-", "+")
    got = [_text(_pairs(body).get(name, b"(none)")) for _, body in entries or []]
    if got == wanted:
        return CheckResult(True, f"{spec.key} has entries whose {name} is {_listing(wanted)}")
    return CheckResult(
        False,
        f"{spec.key} has {len(got)} entr{'y' if len(got) == 1 else 'ies'} whose {name} is "
        f"{_listing(got)} (expected {_listing(wanted)}, in that order)",
    )


def _groups(sandbox: Sandbox, ns: Namespace, key: str) -> dict[str, dict[str, object]]:
    reply = sandbox.query(ns, "XINFO", "GROUPS", key)
    if not isinstance(reply, list):
        return {}
    groups = (_pairs(group) for group in reply)
    return {_text(g.get("name", b"")): g for g in groups}


def _group(spec, sandbox, ns, context, key_type) -> CheckResult:
    name = str(spec.get("group", ""))
    if key_type != b"stream":
        return CheckResult(False, f"{spec.key} is a {_text(key_type)} (expected a stream)")
    groups = _groups(sandbox, ns, spec.key)
    if name not in groups:
        return CheckResult(
            False, f"{spec.key} has no consumer group {name} (it has {_listing(sorted(groups))})"
        )
    if spec.get("from_start"):
        last = _text(groups[name].get("last-delivered-id", b"0-0"))
        first = sandbox.query(ns, "XRANGE", spec.key, "-", "+", "COUNT", 1)
        first_id = _text(first[0][0]) if first else None
        if first_id is not None and _stream_id(last) >= _stream_id(first_id):
            return CheckResult(
                False,
                f"group {name} starts after entry {last}, so it would skip the entries before "
                "it (expected it to read from the start, ID 0)",
            )
    return CheckResult(True, f"{spec.key} has the consumer group {name}")


def _pending(spec, sandbox, ns, context, key_type) -> CheckResult:
    group, consumer = str(spec.get("group", "")), str(spec.get("consumer", ""))
    wanted = int(spec.get("count", 0))
    if key_type != b"stream":
        return CheckResult(False, f"{spec.key} is a {_text(key_type)} (expected a stream)")
    if group not in _groups(sandbox, ns, spec.key):
        return CheckResult(False, f"{spec.key} has no consumer group {group}")
    summary = sandbox.query(ns, "XPENDING", spec.key, group)
    per_consumer = summary[3] if isinstance(summary, list) and len(summary) > 3 else None
    counts = {_text(c): int(n) for c, n in per_consumer or []}
    got = counts.get(consumer, 0)
    plural = "entry" if wanted == 1 else "entries"
    return CheckResult(
        got == wanted,
        f"{consumer} has {got} pending in group {group} (expected {wanted} {plural})",
    )


def _hll_count(spec, sandbox, ns, context, key_type) -> CheckResult:
    wanted = int(spec.get("value", 0))
    count = sandbox.query(ns, "PFCOUNT", spec.key)
    if not isinstance(count, int):
        return CheckResult(False, f"{spec.key} is not a HyperLogLog ({_text(count)})")
    return CheckResult(count == wanted, f"{spec.key} counts {count} (expected {wanted})")


def _geo(spec, sandbox, ns, context, key_type) -> CheckResult:
    wanted = {
        str(m): (float(p[0]), float(p[1])) for m, p in dict(spec.get("positions", {})).items()
    }
    if key_type != b"zset":
        return CheckResult(False, f"{spec.key} is a {_text(key_type)} (expected a geo set)")
    present = set(_members_of(sandbox, ns, spec.key, key_type))
    problems = [f"missing {m}" for m in sorted(set(wanted) - present)]
    problems += [f"{m} should not be there" for m in sorted(present - set(wanted))]
    names = sorted(set(wanted) & present)
    positions = sandbox.query(ns, "GEOPOS", spec.key, *names) if names else []
    for name, position in zip(names, positions or [], strict=False):
        lon, lat = (float(_text(v)) for v in position) if position else (math.nan, math.nan)
        want_lon, want_lat = wanted[name]
        if not (abs(lon - want_lon) < GEO_TOLERANCE and abs(lat - want_lat) < GEO_TOLERANCE):
            problems.append(f"{name} is at ({lon:.4f}, {lat:.4f}), not ({want_lon}, {want_lat})")
    if problems:
        return CheckResult(False, f"{spec.key}: {'; '.join(problems)}")
    return CheckResult(True, f"{spec.key} places {_listing(names)} where expected")


def _ran(spec, sandbox, ns, context, key_type) -> CheckResult:
    command = str(spec.get("command", "")).upper()
    pattern = spec.get("pattern")
    regex = re.compile(pattern, re.IGNORECASE) if pattern else None
    for entry in context.transcript:
        line = str(entry.get("command", "")).strip()
        if entry.get("error") or not line:
            continue
        if command and line.split()[0].upper() != command:
            continue
        if regex and not regex.fullmatch(line):
            continue
        return CheckResult(True, f"you ran {line}")
    wanted = spec.get("describe") or command or pattern
    return CheckResult(False, f"you have not run {wanted} successfully since this step began")


def _reply(spec, sandbox, ns, context, key_type) -> CheckResult:
    got = context.outcome.reply if context.outcome else "(no command)"
    wanted = str(spec.get("value", ""))
    return CheckResult(got == wanted, f"the reply is {got!r} (expected {wanted!r})")


def _any_of(spec, sandbox, ns, context, key_type) -> CheckResult:
    options = [CheckSpec.from_dict(raw) for raw in spec.get("any", [])]
    results = [evaluate(option, sandbox, ns, context) for option in options]
    passed = next((r for r in results if r.passed), None)
    if passed:
        return passed
    return CheckResult(False, " — or — ".join(r.message for r in results) or "no options")


# Kinds that read the key themselves (they work on a missing key, or need none).
NO_KEY_NEEDED: dict[str, Check] = {
    "exists": _exists,
    "type": _exists,
    "absent": _absent,
    "reply": _reply,
    "ran": _ran,
    "any_of": _any_of,
    "hll_count": _hll_count,
}
NEEDS_KEY: dict[str, Check] = {
    "value": _value,
    "json": _json,
    "ttl": _ttl,
    "length": _length,
    "members": _members,
    "members_exact": _members_exact,
    "zscore": _zscore,
    "zrank": _zrank,
    "zset": _zset,
    "hash": _hash,
    "list": _list,
    "stream_values": _stream_values,
    "group": _group,
    "pending": _pending,
    "geo": _geo,
}
KINDS: dict[str, Check] = {**NO_KEY_NEEDED, **NEEDS_KEY}
# The fields each kind must be given (for the admin's and the loader's validation).
REQUIRED: dict[str, tuple[str, ...]] = {
    "exists": ("key_type",),
    "type": ("key_type",),
    "value": ("value",),
    "ttl": ("min", "max"),
    "length": ("value",),
    "zscore": ("member", "value"),
    "zrank": ("member", "value"),
    "zset": ("members",),
    "hash": ("fields",),
    "list": ("values",),
    "stream_values": ("field", "values"),
    "group": ("group",),
    "pending": ("group", "consumer", "count"),
    "hll_count": ("value",),
    "geo": ("positions",),
    "reply": ("value",),
    "any_of": ("any",),
}
KEYLESS = {"reply", "ran", "any_of"}


def spec_errors(spec: CheckSpec) -> list[str]:
    """What is wrong with a spec before it ever runs (empty when nothing is)."""
    if spec.kind not in KINDS:
        return [f"unknown check type {spec.kind!r} (one of {', '.join(sorted(KINDS))})"]
    errors = []
    if spec.kind not in KEYLESS and not spec.key:
        errors.append(f"a {spec.kind} check needs a key")
    missing = [name for name in REQUIRED.get(spec.kind, ()) if spec.get(name) in (None, "")]
    if missing:
        errors.append(f"a {spec.kind} check needs {', '.join(missing)}")
    if spec.kind in {"exists", "type"} and spec.get("key_type") not in (None, "", *KEY_TYPES):
        errors.append(f"key_type must be one of {', '.join(KEY_TYPES)}")
    if spec.kind == "json" and not spec.get("row") and not spec.get("value"):
        errors.append("a json check needs a value (JSON text) or a row of the lab's database")
    if spec.kind == "json" and spec.get("value"):
        try:
            json.loads(str(spec.get("value")))
        except ValueError:
            errors.append("the json check's value is not valid JSON")
    if spec.kind == "ran":
        if not spec.get("command") and not spec.get("pattern"):
            errors.append("a ran check needs a command or a pattern")
        try:
            re.compile(str(spec.get("pattern") or ""))
        except re.error as exc:
            errors.append(f"the ran check's pattern is not a valid regular expression: {exc}")
    if spec.kind == "any_of":
        for option in spec.get("any") or []:
            errors += spec_errors(CheckSpec.from_dict(option))
    return errors


def evaluate(
    spec: CheckSpec, sandbox: Sandbox, ns: Namespace, context: CheckContext | None = None
) -> CheckResult:
    """Test one check against the namespace's real state; say what was found."""
    context = context or CheckContext()
    check = KINDS.get(spec.kind)
    if check is None:
        return CheckResult(False, f"unknown check {spec.kind!r}")
    if spec.kind in KEYLESS:
        return check(spec, sandbox, ns, context, b"")
    key_type = sandbox.query(ns, "TYPE", spec.key)
    if spec.kind in NEEDS_KEY and key_type == b"none":
        return _absent_message(spec.key)
    return check(spec, sandbox, ns, context, key_type)
