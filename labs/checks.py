"""Check kinds that other apps provide, beside the one checker's (learn.checks).

learn.checks reads a learner's Redis state. Some labs are checked on something
else the site measured for the learner, such as the caching-pattern bench's
runs in the database. An app above labs registers such a kind here (from its
AppConfig.ready), so labs never imports it:

    register("bench_pattern", check, errors=errors, link=link)

- check(learner_id, spec) -> CheckResult: reads the learner's real records on
  the server, never what the browser says.
- errors(spec) -> list[str]: the spec's mistakes before anything runs (the
  loader and the admin refuse the lab with them, like learn.checks'
  spec_errors).
- link(spec, lab_slug) -> Link | None: the page where the learner does what the
  check looks for, shown beside the step.

A step whose checks read such records is solved by lines that are not Redis
commands: an app registers an *action* for them (register_action("bench",
run)), run(learner_id, line) -> Outcome. The lab's validation runs them for a
scratch learner; nothing runs them for a learner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from learn import checks as redis_checks
from learn.checks import CheckContext, CheckResult, CheckSpec
from learn.sandbox.namespace import Namespace
from learn.sandbox.runner import Outcome, Sandbox


@dataclass(frozen=True)
class Link:
    label: str
    url: str


CheckFn = Callable[[str, CheckSpec], CheckResult]
ErrorsFn = Callable[[CheckSpec], list[str]]
LinkFn = Callable[[CheckSpec, str], Link | None]
ActionFn = Callable[[str, str], Outcome]


@dataclass(frozen=True)
class Provided:
    check: CheckFn
    errors: ErrorsFn
    link: LinkFn | None = None


_kinds: dict[str, Provided] = {}
_actions: dict[str, ActionFn] = {}


def _no_errors(spec: CheckSpec) -> list[str]:
    return []


def register(
    kind: str, check: CheckFn, *, errors: ErrorsFn | None = None, link: LinkFn | None = None
) -> None:
    """Add a check kind. Registering the same kind again replaces it (a reload);
    a kind the one checker already has is refused, so no app can redefine it."""
    if kind in redis_checks.KINDS:
        raise ValueError(f"{kind!r} is a check kind of learn.checks; pick another name")
    _kinds[kind] = Provided(check, errors or _no_errors, link)


def unregister(kind: str) -> None:
    _kinds.pop(kind, None)


def register_action(word: str, run: ActionFn) -> None:
    """Solution lines whose first word is `word` run through `run`, not Redis."""
    _actions[word.lower()] = run


def unregister_action(word: str) -> None:
    _actions.pop(word.lower(), None)


def provided(kind: str) -> bool:
    return kind in _kinds


def kinds() -> list[str]:
    return sorted([*redis_checks.KINDS, *_kinds])


def kind_choices() -> list[tuple[str, str]]:
    """For the Check model's field: read when a form is built, after every ready()."""
    return [(kind, kind) for kind in kinds()]


def spec_errors(spec: CheckSpec) -> list[str]:
    """What is wrong with a spec before it runs, for either kind of kind."""
    if spec.kind in _kinds:
        return list(_kinds[spec.kind].errors(spec))
    if spec.kind not in redis_checks.KINDS:
        return [f"unknown check type {spec.kind!r} (one of {', '.join(kinds())})"]
    return redis_checks.spec_errors(spec)


def evaluate(
    spec: CheckSpec,
    learner_id: str,
    sandbox: Sandbox,
    ns: Namespace,
    context: CheckContext | None = None,
) -> CheckResult:
    """A registered kind asks its app about the learner; the rest read Redis."""
    if spec.kind in _kinds:
        return _kinds[spec.kind].check(learner_id, spec)
    return redis_checks.evaluate(spec, sandbox, ns, context)


def link(spec: CheckSpec, lab_slug: str) -> Link | None:
    provider = _kinds.get(spec.kind)
    return provider.link(spec, lab_slug) if provider and provider.link else None


def action_for(line: str) -> ActionFn | None:
    word = line.split(maxsplit=1)[0].lower() if line.strip() else ""
    return _actions.get(word)
