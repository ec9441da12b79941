"""The two bench labs' checks, on measured runs stored as a run stores them."""

import uuid

import pytest
from django.utils import timezone

from learn.models import Learner
from patterns.labs import (
    HERD,
    READ_HEAVY,
    best_run,
    check_pick_a_pattern,
    check_stop_the_stampede,
)
from patterns.models import Run

pytestmark = pytest.mark.django_db


@pytest.fixture
def learner() -> Learner:
    return Learner.objects.create(id=uuid.uuid4())


def stored(learner, kind="pattern", status="done", **params_and_result):
    result = {k: params_and_result.pop(k) for k in list(params_and_result) if k in RESULT_KEYS}
    return Run.objects.create(
        learner=learner,
        kind=kind,
        params=params_and_result,
        status=status,
        result=result if status == "done" else None,
        deadline=timezone.now(),
    )


RESULT_KEYS = {"hit_ratio", "stale_reads", "db_reads_at_expiry"}


class TestPickAPattern:
    def test_it_passes_with_no_stale_reads_and_enough_hits(self, learner):
        stored(learner, pattern="write-through", **READ_HEAVY, hit_ratio=0.91, stale_reads=0)

        assert check_pick_a_pattern(str(learner.id)).passed

    def test_stale_reads_fail_it_with_their_count(self, learner):
        stored(learner, pattern="lazy", **READ_HEAVY, hit_ratio=0.95, stale_reads=12)

        verdict = check_pick_a_pattern(str(learner.id))

        assert not verdict.passed and "12 stale reads" in verdict.message

    def test_a_run_on_another_workload_does_not_count(self, learner):
        other = {**READ_HEAVY, "read_ratio": 0.5}
        stored(learner, pattern="write-through", **other, hit_ratio=0.99, stale_reads=0)

        verdict = check_pick_a_pattern(str(learner.id))

        assert not verdict.passed and "first" in verdict.message

    def test_best_run_prefers_no_stale_reads_to_more_hits(self, learner):
        stored(learner, pattern="lazy", **READ_HEAVY, hit_ratio=0.97, stale_reads=3)
        clean = stored(learner, pattern="lazy-delete", **READ_HEAVY, hit_ratio=0.85, stale_reads=0)

        assert best_run(str(learner.id), READ_HEAVY) == clean

    def test_another_learners_runs_do_not_count(self, learner):
        other = Learner.objects.create(id=uuid.uuid4())
        stored(other, pattern="write-through", **READ_HEAVY, hit_ratio=0.9, stale_reads=0)

        assert not check_pick_a_pattern(str(learner.id)).passed


class TestStopTheStampede:
    def test_a_lock_that_cuts_the_herd_five_times_passes(self, learner):
        stored(learner, "stampede", protection="none", **HERD, db_reads_at_expiry=12)
        stored(learner, "stampede", protection="lock", **HERD, db_reads_at_expiry=1)

        assert check_stop_the_stampede(str(learner.id)).passed

    def test_a_cut_of_less_than_five_times_fails(self, learner):
        stored(learner, "stampede", protection="none", **HERD, db_reads_at_expiry=12)
        stored(learner, "stampede", protection="early", **HERD, db_reads_at_expiry=4)

        verdict = check_stop_the_stampede(str(learner.id))

        assert not verdict.passed and "at most 2" in verdict.message

    def test_it_needs_the_unprotected_run_first(self, learner):
        stored(learner, "stampede", protection="lock", **HERD, db_reads_at_expiry=1)

        assert not check_stop_the_stampede(str(learner.id)).passed
