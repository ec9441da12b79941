"""The labs' test track: every shipped lab's solution passes every step from a
fresh namespace, and each step's start state fails it (CI runs this on Valkey
and on Redis OSS).

The bench's two labs are solved by bench runs: the validator runs them, short
and bounded, for a scratch learner whose rows it deletes at the end."""

import pytest

from labs.content import lab_files, parse_lab_file
from labs.engine import validate
from learn.models import Learner
from patterns.models import Run

pytestmark = [pytest.mark.redis]

SHIPPED = {path.stem: path for path in lab_files()}
BENCH_LABS = {"pick-a-pattern", "stop-the-stampede"}


def test_the_eight_labs_of_issue_12_and_the_two_bench_labs_ship():
    assert set(SHIPPED) == {
        "session-store", "leaderboard", "rate-limiter", "nearby-shops", "job-queue",
        "unique-visitors", "lazy-loading-by-hand", "atomic-order", *BENCH_LABS,
    }  # fmt: skip


def needs_db(slug: str):
    # A bench lab's solution makes runs (database rows); the others need no database.
    return pytest.param(slug, marks=pytest.mark.django_db) if slug in BENCH_LABS else slug


@pytest.mark.parametrize("slug", [needs_db(slug) for slug in sorted(SHIPPED)])
def test_the_solution_passes_every_step_and_no_step_passes_by_itself(slug, sandbox):
    lab = parse_lab_file(SHIPPED[slug])

    result = validate(lab, sandbox)

    assert result.ok, "\n".join([*result.errors, result.report])
    assert lab.slug == slug


@pytest.mark.parametrize("slug", sorted(set(SHIPPED) - BENCH_LABS))
def test_validation_leaves_nothing_behind(slug, sandbox, sandbox_redis, app_redis):
    validate(parse_lab_file(SHIPPED[slug]), sandbox)

    assert not [k for k in sandbox_redis.scan_iter("sbx:*")]
    assert not [k for k in app_redis.scan_iter("cachelab:sbx:{labtest*")]


@pytest.mark.django_db
def test_a_bench_labs_validation_leaves_no_runs_learners_or_keys_behind(sandbox, sandbox_redis):
    result = validate(parse_lab_file(SHIPPED["stop-the-stampede"]), sandbox)

    assert result.ok, "\n".join([*result.errors, result.report])
    assert "database reads at expiry" in result.report
    assert not Run.objects.exists() and not Learner.objects.exists()
    assert not [k for k in sandbox_redis.scan_iter("sbx:*")]
