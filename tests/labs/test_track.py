"""The labs' test track: every shipped lab's solution passes every step from a
fresh namespace, and each step's start state fails it (CI runs this on Valkey
and on Redis OSS)."""

import pytest

from labs.content import lab_files, parse_lab_file
from labs.engine import validate

pytestmark = [pytest.mark.redis]

SHIPPED = {path.stem: path for path in lab_files()}


def test_the_eight_labs_of_the_issue_ship():
    assert set(SHIPPED) == {
        "session-store", "leaderboard", "rate-limiter", "nearby-shops", "job-queue",
        "unique-visitors", "lazy-loading-by-hand", "atomic-order",
    }  # fmt: skip


@pytest.mark.parametrize("slug", sorted(SHIPPED))
def test_the_solution_passes_every_step_and_no_step_passes_by_itself(slug, sandbox):
    lab = parse_lab_file(SHIPPED[slug])

    result = validate(lab, sandbox)

    assert result.ok, "\n".join([*result.errors, result.report])
    assert lab.slug == slug


@pytest.mark.parametrize("slug", sorted(SHIPPED))
def test_validation_leaves_nothing_behind(slug, sandbox, sandbox_redis, app_redis):
    validate(parse_lab_file(SHIPPED[slug]), sandbox)

    assert not [k for k in sandbox_redis.scan_iter("sbx:*")]
    assert not [k for k in app_redis.scan_iter("cachelab:sbx:{labtest*")]
