"""The app Redis as a cluster (ElastiCache "cluster mode enabled", REDIS_CLUSTER=1),
against three-shard clusters these tests start themselves: sessions, the page
cache, the log-in throttle and the sandbox's bookkeeping work on it; a lost
shard costs speed, never a page, and /healthz says so."""

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from config.redis_config import redis_options
from learn.models import Throttle, TopicProgress
from learn.redis_clients import reset_clients
from tests.cluster import LocalCluster, start_cluster, start_tls_cluster, tls_server_binary
from tests.factories import StaffFactory, learner_session
from tests.test_deploy import run
from tests.test_embedded import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db]
PASSWORD = "correct horse battery staple"  # StaffFactory's
JSON = {"Accept": "application/json"}
HEALTHZ = reverse("learn:healthz")


def use_cluster(settings, url: str, *, ca: str = "", replica_reads: bool = False) -> None:
    """Point the app Redis at a cluster, as REDIS_CLUSTER=1 REDIS_URL=<endpoint> do."""
    settings.REDIS_CLUSTER, settings.REDIS_URL, settings.REDIS_CA_CERT = True, url, ca
    # New dicts, never the originals (the settings fixture restores by reference).
    settings.CACHES = {
        alias: {
            **config,
            "BACKEND": "config.cache.ResilientRedisClusterCache",
            "LOCATION": url,
            "OPTIONS": {
                **redis_options(url, 0.5, ca),
                **({"replica_reads": True} if replica_reads and alias == "default" else {}),
            },
        }
        for alias, config in settings.CACHES.items()
    }
    reset_clients()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Three shards, each a primary and a replica, shared by this module's tests."""
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"), shards=3, replicas=1)
    yield cluster
    cluster.stop()


@pytest.fixture
def on_cluster(cluster, settings) -> LocalCluster:
    cluster.flush()
    use_cluster(settings, cluster.url)
    yield cluster
    reset_clients()


@pytest.fixture
def fragile_cluster(tmp_path, settings) -> LocalCluster:
    """A cluster of its own (three primaries, no replicas) for a test to break."""
    cluster = start_cluster(tmp_path, shards=3)
    use_cluster(settings, cluster.url)
    yield cluster
    cluster.stop()
    reset_clients()


def keys_everywhere(cluster: LocalCluster, pattern: str) -> list[bytes]:
    return [key for keys in cluster.keys_by_shard(pattern) for key in keys]


def shards_holding(cluster: LocalCluster, pattern: str) -> int:
    return sum(1 for keys in cluster.keys_by_shard(pattern) if keys)


def run_command(client: Client, command: str) -> str:
    response = client.post(reverse("learn:sandbox_run"), {"command": command}, headers=JSON)
    assert response.status_code == 200, response.content
    return response.json()["reply"]


# -- working ------------------------------------------------------------------
def test_a_learners_session_lives_in_the_cluster(client, on_cluster, topic):
    client.post(reverse("learn:mark_read", args=[topic.slug]))
    learner_id = client.session["learner_id"]
    # Without the database copy, only the cluster can still know this learner.
    Session.objects.all().delete()

    response = client.get(reverse("learn:home"))

    keys = keys_everywhere(on_cluster, "cachelab:session:*")
    assert len(keys) == 1 and keys[0].decode().endswith(client.session.session_key)
    assert response.context["read_count"] == 1
    assert client.session["learner_id"] == learner_id
    assert TopicProgress.objects.filter(learner_id=learner_id).count() == 1


def test_topic_pages_are_cached_across_shards(
    client, on_cluster, topic_factory, django_assert_max_num_queries
):
    topics = topic_factory.create_batch(12)
    for topic in topics:
        client.get(topic.get_absolute_url())  # rendered once, stored in the cluster

    with django_assert_max_num_queries(0):
        statuses = {client.get(topic.get_absolute_url()).status_code for topic in topics}

    assert statuses == {200}
    assert shards_holding(on_cluster, "cachelab:*topics:page:*") > 1


def test_many_keys_at_once_work_across_shards(on_cluster):
    cache = caches["default"]
    values = {f"greeting-{i}": i for i in range(12)}

    cache.set_many(values, timeout=60)
    spread = shards_holding(on_cluster, "cachelab:*greeting-*")
    found = cache.get_many([*values, "absent"])
    cache.delete_many(list(values)[:6])

    assert spread > 1 and found == values
    assert cache.get_many(list(values)) == dict(list(values.items())[6:])


def test_the_log_in_throttle_holds_on_a_cluster_and_keeps_nothing_there(on_cluster):
    StaffFactory(username="ada")
    client = Client()
    for _ in range(django_settings.LOGIN_FAILURE_LIMIT):
        client.post(reverse("admin:login"), {"username": "ada", "password": "wrong"})

    response = client.post(reverse("admin:login"), {"username": "ada", "password": PASSWORD})

    assert response.status_code == 200  # the form again, not a redirect into the admin
    # Throttles are database rows (learn/throttle.py): no eviction can reset them.
    assert Throttle.objects.filter(key__startswith="login:").exists()
    assert keys_everywhere(on_cluster, "cachelab:login-failures:*") == []


def test_the_sandbox_keeps_its_bookkeeping_in_the_cluster(client, on_cluster, settings):
    settings.SANDBOX_BURST, settings.SANDBOX_RATE = 6, 0.001  # six commands, then a pause
    hundred = " ".join(f"k{i} 0" for i in range(100))  # the most keys a learner may hold

    replies = [
        run_command(client, line)
        for line in (f"MSET {hundred}", "SET one-too-many 1", "MULTI", "INCR k0", "EXEC")
    ]
    page = client.get(reverse("learn:sandbox")).content.decode()
    replies += [run_command(client, "GET k0"), run_command(client, "PING")]

    assert replies[0] == "OK" and "at most 100 keys" in replies[1]
    assert replies[2:6] == ["OK", "QUEUED", "1) (integer) 1", '"1"']
    assert "slow down" in replies[6]
    assert "INCR k0" in page  # the transcript, read back from the cluster
    # One learner's bookkeeping (rate, key index, transcript, history) shares a slot.
    books = [keys for keys in on_cluster.keys_by_shard("cachelab:sbx:{*") if keys]
    assert len(books) == 1 and {key.rsplit(b":", 1)[1] for key in books[0]} == {
        b"rate",
        b"keys",
        b"log",
        b"hist",
    }


def test_healthz_is_ok_on_a_whole_cluster(client, on_cluster):
    response = client.get(HEALTHZ)

    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == "ok"


def replication_caught_up(cluster: LocalCluster, shard_index: int) -> bool:
    shard = cluster.shards[shard_index]
    with cluster.node(shard.primary) as primary, cluster.node(shard.replicas[0]) as replica:
        wanted = primary.info("replication")["master_repl_offset"]
        return replica.info("replication")["slave_repl_offset"] >= wanted


def gets_answered(cluster: LocalCluster, server) -> int:
    with cluster.node(server) as node:
        return node.info("commandstats").get("cmdstat_get", {}).get("calls", 0)


def test_page_cache_reads_go_to_replicas_and_sessions_to_primaries(cluster, settings):
    cluster.flush()
    use_cluster(settings, cluster.url, replica_reads=True)
    page_cache, sessions = caches["default"], caches["sessions"]
    page_cache.set("greeting", "hello")
    sessions.set("mine", "only mine")
    for index in range(len(cluster.shards)):
        wait_for(lambda index=index: replication_caught_up(cluster, index), timeout=10)
    replicas = [shard.replicas[0] for shard in cluster.shards]
    before = [gets_answered(cluster, replica) for replica in replicas]

    assert sessions.get("mine") == "only mine"
    assert [gets_answered(cluster, replica) for replica in replicas] == before
    assert page_cache.get("greeting") == "hello"
    assert sum(gets_answered(cluster, replica) for replica in replicas) == sum(before) + 1


# -- failing ------------------------------------------------------------------
def cluster_state(cluster: LocalCluster) -> str:
    with cluster.node(cluster.shards[0].primary) as node:
        return node.execute_command("CLUSTER INFO")["cluster_state"]


def test_a_lost_shard_costs_speed_never_a_page(client, fragile_cluster, topic_factory):
    topics = topic_factory.create_batch(6)
    pages = [reverse("learn:home"), reverse("learn:sandbox")]
    pages += [topic.get_absolute_url() for topic in topics]
    for page in pages:
        client.get(page)  # a session and cached pages, some on the shard about to go
    # Not the shard REDIS_URL names: the client must find the others itself.
    fragile_cluster.shards[1].stop()

    noticed = [client.get(page).status_code for page in pages]
    health = client.get(HEALTHZ)
    wait_for(lambda: cluster_state(fragile_cluster) == "fail", timeout=10)
    # Now every shard refuses every key (CLUSTERDOWN), not just the lost one's.
    down = [client.get(page).status_code for page in pages]
    command = client.post(reverse("learn:sandbox_run"), {"command": "SET k 1"}, headers=JSON)

    assert set(noticed) == set(down) == {200}
    # The sandbox's limits live in the app Redis: the panel waits rather than run unbounded.
    assert command.status_code == 503 and "temporarily unavailable" in command.json()["reply"]
    assert health.status_code == 503 and health.json()["down"] == ["redis"]


def test_the_cluster_serves_again_when_the_shard_returns(client, fragile_cluster, topic):
    lost = fragile_cluster.shards[2]
    lost.stop()
    assert client.get(HEALTHZ).status_code == 503

    lost.primary.restart()  # same node id and slots (its nodes.conf), no data
    fragile_cluster.wait_until_healthy()
    client.get(topic.get_absolute_url())

    assert client.get(HEALTHZ).status_code == 200
    assert keys_everywhere(fragile_cluster, "cachelab:*topics:page:*")


# -- configuring ----------------------------------------------------------------
def test_the_environment_switches_the_app_redis_to_the_cluster(cluster):
    cluster.flush()
    probe = (
        "from django.core.cache import caches; from learn.redis_clients import app_redis; "
        "cache = caches['default']; cache.set('probe', 'on the cluster'); "
        "print(type(cache).__name__, app_redis().ping(), cache.get('probe'))"
    )

    result = run(
        ["manage.py", "shell", "--no-imports", "-c", probe],
        REDIS_CLUSTER="1",
        REDIS_URL=cluster.url,
    )

    assert result.stdout.strip() == "ResilientRedisClusterCache True on the cluster", result.stderr
    assert keys_everywhere(cluster, "cachelab:*probe")


def test_a_reader_endpoint_is_refused_in_cluster_mode():
    result = run(
        ["manage.py", "check"], REDIS_CLUSTER="1", REDIS_READER_URL="redis://127.0.0.1:1/0"
    )

    assert result.returncode != 0
    assert "REDIS_READER_URL does not combine with REDIS_CLUSTER" in result.stderr


def test_cluster_mode_on_a_server_that_is_no_cluster_degrades(client, settings, topic):
    use_cluster(settings, settings.SANDBOX_REDIS_URL)  # a single server, whatever the run uses

    page = client.get(topic.get_absolute_url())
    health = client.get(HEALTHZ)

    assert page.status_code == 200
    assert health.status_code == 503 and health.json()["down"] == ["redis"]


@pytest.fixture
def tls_cluster(tmp_path):
    """One shard over TLS (a private CA), for an ACL user, as ElastiCache serves it."""
    binary = tls_server_binary()
    cluster, url, ca = start_tls_cluster(tmp_path, binary, user="cachelab", password="s3cret")
    yield cluster, url, ca
    cluster.stop()
    reset_clients()


def test_sessions_work_on_a_cluster_over_tls_with_an_acl_user(client, settings, tls_cluster):
    cluster, url, ca = tls_cluster
    use_cluster(settings, url, ca=ca)

    learner_session(client)  # a learner's session, stored through the cluster
    response = client.get(reverse("learn:home"))
    health = client.get(HEALTHZ)

    plain = redis.Redis(port=cluster.shards[0].primary.port, username="cachelab", password="s3cret")
    assert response.status_code == 200 and health.status_code == 200
    assert list(plain.scan_iter(match="cachelab:session:*"))


def test_a_wrong_password_degrades_and_healthz_says_so(client, settings, tls_cluster):
    _, url, ca = tls_cluster
    use_cluster(settings, url.replace("s3cret", "wrong"), ca=ca)

    response = client.get(reverse("learn:home"))
    health = client.get(HEALTHZ)

    assert response.status_code == 200
    assert health.status_code == 503 and health.json()["down"] == ["redis"]
