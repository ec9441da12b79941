"""The bench's check kinds on runs stored as a run stores them (the JSON-contract
tests with real runs are in test_lab_flow.py)."""

import uuid

import pytest
from django.utils import timezone

from learn.checks import CheckSpec
from learn.models import Learner
from patterns import labs
from patterns.models import Run

pytestmark = pytest.mark.django_db

READ_HEAVY = {"keys": 100, "read_ratio": 0.95, "skew": 1, "db_latency_ms": 5}
HERD = {"keys": 1, "readers": 12, "ttl": 1, "db_latency_ms": 50}
RESULT_KEYS = {"hit_ratio", "stale_reads", "db_reads_at_expiry"}


@pytest.fixture
def learner() -> Learner:
    return Learner.objects.create(id=uuid.uuid4())


def stored(learner, kind="pattern", status="done", seconds=3, **params_and_result):
    result = {k: params_and_result.pop(k) for k in list(params_and_result) if k in RESULT_KEYS}
    return Run.objects.create(
        learner=learner,
        kind=kind,
        params={"seconds": seconds, "seed": 1, **params_and_result},
        status=status,
        result=result if status == "done" else None,
        deadline=timezone.now(),
    )


def pick(**fields) -> CheckSpec:
    return CheckSpec("bench_pattern", fields={"workload": READ_HEAVY, "min_seconds": 2, **fields})


def herd(**fields) -> CheckSpec:
    return CheckSpec("bench_stampede", fields={"herd": HERD, **fields})


CLEAN_AND_HOT = {"max_stale_reads": 0, "min_hit_ratio": 0.8}


class TestBenchPattern:
    def test_it_passes_with_no_stale_reads_and_enough_hits(self, learner):
        stored(learner, pattern="write-through", **READ_HEAVY, hit_ratio=0.91, stale_reads=0)

        result = labs.check_pattern(str(learner.id), pick(**CLEAN_AND_HOT))

        assert result.passed and "91.0 % hits" in result.message

    def test_stale_reads_fail_it_with_their_count(self, learner):
        stored(learner, pattern="lazy", **READ_HEAVY, hit_ratio=0.95, stale_reads=12)

        result = labs.check_pattern(str(learner.id), pick(**CLEAN_AND_HOT))

        assert not result.passed and "12 stale reads; the lab asks for none" in result.message

    def test_a_run_on_another_workload_does_not_count(self, learner):
        other = {**READ_HEAVY, "read_ratio": 0.5}
        stored(learner, pattern="write-through", **other, hit_ratio=0.99, stale_reads=0)

        result = labs.check_pattern(str(learner.id), pick(**CLEAN_AND_HOT))

        assert not result.passed and "No finished run on the lab's workload" in result.message

    def test_a_run_shorter_than_the_lab_asks_does_not_count(self, learner):
        stored(learner, pattern="write-through", seconds=1, **READ_HEAVY, hit_ratio=0.9,
               stale_reads=0)  # fmt: skip

        result = labs.check_pattern(str(learner.id), pick(**CLEAN_AND_HOT))

        assert not result.passed and "at least 2 s long" in result.message

    def test_the_closest_run_is_the_one_with_no_stale_reads(self, learner):
        stored(learner, pattern="lazy", **READ_HEAVY, hit_ratio=0.97, stale_reads=3)
        stored(learner, pattern="lazy-ttl", ttl=0.1, **READ_HEAVY, hit_ratio=0.4, stale_reads=0)

        result = labs.check_pattern(str(learner.id), pick(**CLEAN_AND_HOT))

        assert not result.passed
        assert "Lazy loading with a TTL" in result.message and "40.0 %" in result.message

    def test_a_named_pattern_counts_only_its_own_runs(self, learner):
        stored(learner, pattern="write-through", **READ_HEAVY, hit_ratio=0.9, stale_reads=5)

        result = labs.check_pattern(str(learner.id), pick(pattern="lazy", min_stale_reads=1))

        assert not result.passed and "No finished Lazy loading" in result.message

    def test_another_learners_runs_do_not_count(self, learner):
        other = Learner.objects.create(id=uuid.uuid4())
        stored(other, pattern="write-through", **READ_HEAVY, hit_ratio=0.9, stale_reads=0)

        assert not labs.check_pattern(str(learner.id), pick(**CLEAN_AND_HOT)).passed

    def test_a_failed_or_running_run_does_not_count(self, learner):
        stored(learner, status="failed", pattern="write-through", **READ_HEAVY)
        stored(learner, status="running", pattern="write-through", **READ_HEAVY)

        assert not labs.check_pattern(str(learner.id), pick(**CLEAN_AND_HOT)).passed


class TestBenchStampede:
    def test_a_lock_that_cuts_the_herd_five_times_passes(self, learner):
        stored(learner, "stampede", protection="none", **HERD, db_reads_at_expiry=12)
        stored(learner, "stampede", protection="lock", **HERD, db_reads_at_expiry=1)

        assert labs.check_stampede(str(learner.id), herd(cut=5)).passed

    def test_a_cut_of_less_than_five_times_fails(self, learner):
        stored(learner, "stampede", protection="none", **HERD, db_reads_at_expiry=12)
        stored(learner, "stampede", protection="early", **HERD, db_reads_at_expiry=4)

        result = labs.check_stampede(str(learner.id), herd(cut=5))

        assert not result.passed and "at most 2" in result.message

    def test_it_needs_the_unprotected_run_first(self, learner):
        stored(learner, "stampede", protection="lock", **HERD, db_reads_at_expiry=1)

        result = labs.check_stampede(str(learner.id), herd(cut=5))

        assert not result.passed and "without protection first" in result.message

    def test_a_run_that_ends_before_the_key_expires_does_not_count(self, learner):
        # Without an expiry in the run there is no herd: 0 reads at expiry proves nothing.
        stored(learner, "stampede", protection="none", **HERD, db_reads_at_expiry=12)
        stored(learner, "stampede", seconds=0.5, protection="lock", **HERD, db_reads_at_expiry=0)

        result = labs.check_stampede(str(learner.id), herd(cut=5))

        assert not result.passed and "Now run the herd with a protection" in result.message


class TestSpecErrors:
    def test_a_workload_beyond_the_benchs_bounds_is_refused(self, settings):
        settings.PATTERNS_MAX_KEYS = 50

        errors = labs.pattern_errors(pick())

        assert errors == ["workload.keys: Number of keys may be at most 50."]

    def test_an_unknown_knob_and_an_unknown_pattern_are_refused(self):
        spec = CheckSpec("bench_pattern", fields={"workload": {"key": 3}, "pattern": "magic"})

        errors = labs.pattern_errors(spec)

        assert "workload has no knob 'key'" in errors[0]
        assert any("pattern must be one of" in e for e in errors)

    def test_a_stampede_check_needs_a_protection_or_a_cut(self):
        assert labs.stampede_errors(herd()) == [
            "a bench_stampede check needs a protection, a cut, or both"
        ]
        assert labs.stampede_errors(herd(cut=1)) == [
            "cut must be a number above 1 (how many times fewer reads at expiry)"
        ]
