"""The one checker (learn/checks.py) on a real sandbox server.

Each kind passes on the state it asks for and fails on a near miss with a
message saying what was found; the kinds quizzes use keep their semantics
(quizzes.grading.evaluate is the quizzes' caller: one checker, two callers).
"""

import uuid
from types import SimpleNamespace

import pytest

from learn.checks import CheckContext, CheckSpec, evaluate, from_command_check, spec_errors
from learn.sandbox.namespace import Namespace
from quizzes.grading import evaluate as quiz_evaluate

pytestmark = [pytest.mark.redis]


@pytest.fixture
def ns(sandbox):
    namespace = Namespace("chk" + uuid.uuid4().hex[:20])
    yield namespace
    sandbox.reset(namespace)


def given(sandbox, ns, *lines):
    for line in lines:
        outcome = sandbox.run(ns, line)
        assert not outcome.error, f"{line}: {outcome.reply}"


def check(sandbox, ns, kind, key="", context=None, **fields):
    return evaluate(CheckSpec(kind, key, fields), sandbox, ns, context)


class TestTheKindsQuizzesUse:
    def test_exists_names_the_type_it_found(self, sandbox, ns):
        given(sandbox, ns, "SET k v")

        right = check(sandbox, ns, "exists", "k", key_type="string")
        wrong = check(sandbox, ns, "exists", "k", key_type="hash")
        missing = check(sandbox, ns, "exists", "nope", key_type="hash")

        assert right.passed and not wrong.passed
        assert wrong.message == "k is a string (expected a hash)"
        assert missing.message == "nope does not exist (expected a hash)"

    def test_value_compares_the_string(self, sandbox, ns):
        given(sandbox, ns, "SET greeting hello")

        assert check(sandbox, ns, "value", "greeting", value="hello").passed
        result = check(sandbox, ns, "value", "greeting", value="hi")
        assert result.message == "greeting holds 'hello' (expected 'hi')"

    def test_ttl_must_fall_in_the_range(self, sandbox, ns):
        given(sandbox, ns, "SET s v EX 60", "SET forever v")

        assert check(sandbox, ns, "ttl", "s", min=1, max=60).passed
        short = check(sandbox, ns, "ttl", "s", min=600, max=1800)
        endless = check(sandbox, ns, "ttl", "forever", min=600, max=1800)
        assert not short.passed and short.message.endswith("(expected 600–1800 s)")
        assert endless.message == "forever has no expiry (expected 600–1800 s)"

    def test_length_counts_by_type(self, sandbox, ns):
        given(sandbox, ns, "RPUSH l a b c", "HSET h f v")

        assert check(sandbox, ns, "length", "l", value="3").passed
        assert check(sandbox, ns, "length", "h", value="1").passed
        assert check(sandbox, ns, "length", "l", value="2").message == (
            "l has 3 element(s) (expected 2)"
        )

    def test_members_needs_every_one_but_allows_more(self, sandbox, ns):
        given(sandbox, ns, "SADD s a b c")

        assert check(sandbox, ns, "members", "s", value="a\nb").passed
        result = check(sandbox, ns, "members", "s", values=["a", "z"])
        assert result.message == "s missing z"

    def test_zscore_and_zrank(self, sandbox, ns):
        given(sandbox, ns, "ZADD board 10 ann 20 bob")

        assert check(sandbox, ns, "zscore", "board", member="ann", value="10").passed
        assert check(sandbox, ns, "zrank", "board", member="bob", value="1").passed
        wrong = check(sandbox, ns, "zscore", "board", member="ann", value="15")
        assert wrong.message == "ann scores 10 in board (expected 15)"

    def test_reply_reads_the_command_just_run(self, sandbox, ns):
        outcome = sandbox.run(ns, "PING")

        assert check(sandbox, ns, "reply", context=CheckContext(outcome), value="PONG").passed
        assert not check(sandbox, ns, "reply", value="PONG").passed

    def test_a_missing_key_fails_every_kind_that_reads_it(self, sandbox, ns):
        result = check(sandbox, ns, "value", "nope", value="x")

        assert (result.passed, result.message) == (False, "nope does not exist")

    @pytest.mark.django_db
    @pytest.mark.parametrize(
        ("kind", "fields"),
        [
            ("exists", {"key_type": "zset"}),
            ("exists", {"key_type": "list"}),
            ("value", {"value": "x"}),
            ("ttl", {"minimum": 1, "maximum": 100}),
            ("length", {"value": "2"}),
            ("members", {"value": "ann\nzed"}),
            ("zscore", {"member": "ann", "value": "10"}),
            ("zrank", {"member": "bob", "value": "0"}),
        ],
    )
    @pytest.mark.parametrize("key", ["board", "plain", "nope"])
    def test_the_quiz_grader_answers_exactly_as_the_checker_does(
        self, sandbox, ns, kind, fields, key
    ):
        given(sandbox, ns, "ZADD board 10 ann 20 bob", "SET plain x EX 50")
        row = SimpleNamespace(
            kind=kind,
            key=key,
            key_type=fields.get("key_type", ""),
            member=fields.get("member", ""),
            value=fields.get("value", ""),
            minimum=fields.get("minimum"),
            maximum=fields.get("maximum"),
        )

        ours = evaluate(from_command_check(row), sandbox, ns)
        theirs = quiz_evaluate(row, sandbox, ns, None)

        assert (ours.passed, ours.message) == (theirs.ok, theirs.description)


class TestTheKindsLabsAdd:
    def test_absent_passes_only_when_the_key_is_gone(self, sandbox, ns):
        given(sandbox, ns, "SET k v")

        assert not check(sandbox, ns, "absent", "k").passed
        assert check(sandbox, ns, "absent", "k").message == (
            "k still exists (a string); expected it gone"
        )
        given(sandbox, ns, "DEL k")
        assert check(sandbox, ns, "absent", "k").passed

    def test_hash_fields_contain_or_match_exactly(self, sandbox, ns):
        given(sandbox, ns, "HSET session:ada user ada cart 3 theme dark")

        fields = {"user": "ada", "cart": 3}
        assert check(sandbox, ns, "hash", "session:ada", fields=fields).passed
        exact = check(sandbox, ns, "hash", "session:ada", fields=fields, exact=True)
        wrong = check(sandbox, ns, "hash", "session:ada", fields={"cart": "4"})
        assert exact.message.startswith("session:ada has an extra field theme")
        assert wrong.message == "session:ada cart is '3', not '4' (expected cart=4)"

    def test_hash_on_another_type_says_so(self, sandbox, ns):
        given(sandbox, ns, "SET session:ada x")

        result = check(sandbox, ns, "hash", "session:ada", fields={"user": "ada"})

        assert result.message == "session:ada is a string (expected a hash)"

    def test_list_contents_must_be_in_order(self, sandbox, ns):
        given(sandbox, ns, "RPUSH orders a b")

        assert check(sandbox, ns, "list", "orders", values=["a", "b"]).passed
        result = check(sandbox, ns, "list", "orders", values=["b", "a"])
        assert result.message == "orders holds a, b (expected b, a, in that order)"

    def test_set_members_exact_names_what_is_missing_and_extra(self, sandbox, ns):
        given(sandbox, ns, "SADD s a b x")

        assert check(sandbox, ns, "members_exact", "s", values=["a", "b", "x"]).passed
        result = check(sandbox, ns, "members_exact", "s", values=["a", "b", "c"])
        assert result.message == ("s missing c and should not hold x (expected exactly a, b, c)")

    def test_sorted_set_members_with_scores_exact(self, sandbox, ns):
        given(sandbox, ns, "ZADD board 120 ada 90 bob")

        members = {"ada": 120, "bob": 95, "cy": 140}
        result = check(sandbox, ns, "zset", "board", members=members)

        assert result.message == (
            "board: missing cy; bob scores 90, not 95 (expected exactly ada 120, bob 95, cy 140)"
        )
        given(sandbox, ns, "ZADD board 95 bob 140 cy")
        assert check(sandbox, ns, "zset", "board", members=members).passed

    def test_stream_length_and_field_values(self, sandbox, ns):
        given(sandbox, ns, "XADD jobs * task a", "XADD jobs * task b")

        assert check(sandbox, ns, "length", "jobs", value="2").passed
        assert check(sandbox, ns, "stream_values", "jobs", field="task", values=["a", "b"]).passed
        result = check(sandbox, ns, "stream_values", "jobs", field="task", values=["a", "b", "c"])
        assert (
            result.message
            == "jobs has 2 entries whose task is a, b (expected a, b, c, in that order)"
        )

    def test_a_consumer_group_must_exist_and_may_have_to_start_at_the_beginning(self, sandbox, ns):
        given(sandbox, ns, "XADD jobs 1-1 task a", "XGROUP CREATE jobs late $")

        assert check(sandbox, ns, "group", "jobs", group="late").passed
        late = check(sandbox, ns, "group", "jobs", group="late", from_start=True)
        missing = check(sandbox, ns, "group", "jobs", group="workers")
        given(sandbox, ns, "XGROUP CREATE jobs workers 0")
        assert not late.passed and "starts after entry 1-1" in late.message
        assert missing.message == "jobs has no consumer group workers (it has late)"
        assert check(sandbox, ns, "group", "jobs", group="workers", from_start=True).passed

    def test_pending_counts_per_consumer(self, sandbox, ns):
        given(
            sandbox, ns,
            "XADD jobs 1-1 task a", "XADD jobs 1-2 task b", "XGROUP CREATE jobs workers 0",
            "XREADGROUP GROUP workers w1 COUNT 2 STREAMS jobs >",
        )  # fmt: skip

        assert check(sandbox, ns, "pending", "jobs", group="workers", consumer="w1", count=2).passed
        other = check(sandbox, ns, "pending", "jobs", group="workers", consumer="w2", count=1)
        assert other.message == "w2 has 0 pending in group workers (expected 1 entry)"

    def test_hyperloglog_count(self, sandbox, ns):
        given(sandbox, ns, "PFADD v ada bob cy", "SET plain x")

        assert check(sandbox, ns, "hll_count", "v", value=3).passed
        assert check(sandbox, ns, "hll_count", "missing", value=3).message == (
            "missing counts 0 (expected 3)"
        )
        assert "is not a HyperLogLog" in check(sandbox, ns, "hll_count", "plain", value=1).message

    def test_geo_positions_within_the_servers_precision(self, sandbox, ns):
        given(sandbox, ns, "GEOADD shops 13.4132 52.5219 alex 13.4050 52.5300 mitte")

        positions = {"alex": [13.4132, 52.5219], "mitte": [13.4050, 52.5200]}
        result = check(sandbox, ns, "geo", "shops", positions=positions)

        assert result.message == "shops: mitte is at (13.4050, 52.5300), not (13.405, 52.52)"
        given(sandbox, ns, "GEOADD shops 13.4050 52.5200 mitte")
        assert check(sandbox, ns, "geo", "shops", positions=positions).passed

    def test_json_compares_parsed_values_or_a_database_row(self, sandbox, ns):
        given(sandbox, ns, """SET product:42 '{"price": 25, "id": 42}'""")
        rows = {"product:42": {"id": 42, "price": 30}}

        assert check(sandbox, ns, "json", "product:42", value='{"id":42,"price":25}').passed
        stale = check(sandbox, ns, "json", "product:42", CheckContext(rows=rows), row="product:42")
        assert stale.message == (
            'product:42 holds the JSON {"price":25,"id":42} (expected {"id":42,"price":30})'
        )

    def test_ran_reads_the_transcript_since_the_step_began(self, sandbox, ns):
        transcript = [
            {"command": "MULTI", "reply": "OK", "error": False},
            {"command": "exec", "reply": "(error) EXECABORT", "error": True},
        ]
        failed = check(
            sandbox, ns, "ran", context=CheckContext(transcript=transcript), command="EXEC"
        )
        transcript.append({"command": " exec ", "reply": "1) OK", "error": False})
        passed = check(
            sandbox, ns, "ran", context=CheckContext(transcript=transcript), command="EXEC"
        )

        assert failed.message == "you have not run EXEC successfully since this step began"
        assert passed.passed

    def test_ran_with_a_pattern_matches_the_whole_line(self, sandbox, ns):
        context = CheckContext(transcript=[{"command": "DECRBY stock:apple 1", "error": False}])

        assert check(sandbox, ns, "ran", context=context, pattern=r"DECRBY stock:apple \d+").passed
        assert not check(sandbox, ns, "ran", context=context, pattern="DECR").passed

    def test_any_of_passes_on_either_and_explains_both(self, sandbox, ns):
        given(sandbox, ns, "SET product:42 old")
        spec = [
            {"type": "absent", "key": "product:42"},
            {"type": "value", "key": "product:42", "value": "new"},
        ]

        result = check(sandbox, ns, "any_of", any=spec)
        given(sandbox, ns, "SET product:42 new")

        assert result.message == (
            "product:42 still exists (a string); expected it gone — or — "
            "product:42 holds 'old' (expected 'new')"
        )
        assert check(sandbox, ns, "any_of", any=spec).passed


class TestSpecErrors:
    @pytest.mark.parametrize(
        ("raw", "error"),
        [
            ({"type": "nope"}, "unknown check type 'nope'"),
            ({"type": "value", "value": "x"}, "a value check needs a key"),
            ({"type": "ttl", "key": "k", "min": 1}, "a ttl check needs max"),
            ({"type": "exists", "key": "k", "key_type": "blob"}, "key_type must be one of"),
            ({"type": "ran", "pattern": "("}, "not a valid regular expression"),
            ({"type": "json", "key": "k", "value": "{"}, "not valid JSON"),
            ({"type": "any_of", "any": [{"type": "value"}]}, "a value check needs a key"),
        ],
    )
    def test_a_broken_spec_is_explained_before_it_runs(self, raw, error):
        errors = spec_errors(CheckSpec.from_dict(raw))

        assert any(error in e for e in errors), errors

    def test_a_good_spec_has_no_errors(self):
        spec = CheckSpec.from_dict({"type": "hash", "key": "h", "fields": {"a": "1"}})

        assert spec_errors(spec) == []
        assert CheckSpec.from_dict(spec.to_dict()) == spec
