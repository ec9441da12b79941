import pytest
import redis
from django.conf import settings
from redis.cluster import RedisCluster

from config.embedded import start_server
from learn import inside, topic_cache
from learn.redis_clients import reset_clients
from learn.redis_clients import sandbox as build_sandbox
from learn.sandbox.runner import Sandbox
from tests.factories import (
    CommandCheckFactory,
    LearnerFactory,
    QuestionFactory,
    QuizFactory,
    StaffFactory,
    TopicFactory,
    TopicProgressFactory,
    UserFactory,
)


def raw_app_client() -> redis.Redis | RedisCluster:
    """A plain client on the app Redis: a cluster client when REDIS_CLUSTER is on."""
    if settings.REDIS_CLUSTER:
        return RedisCluster.from_url(settings.REDIS_URL)
    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with empty Redis databases (real servers, never fakes)."""
    # A test that rewired the caches in place would leak its server into others.
    assert settings.CACHES["sessions"]["LOCATION"] == settings.REDIS_URL
    # On a cluster, FLUSHDB goes to every primary.
    for client in (raw_app_client(), redis.Redis.from_url(settings.SANDBOX_REDIS_URL)):
        client.flushdb()
        client.close()
    reset_clients()
    topic_cache.reset()
    inside.forget_pending()
    yield
    reset_clients()
    topic_cache.reset()
    inside.forget_pending()


@pytest.fixture
def app_redis() -> redis.Redis:
    """A raw client on the app Redis, to check the keys the site wrote."""
    client = raw_app_client()
    yield client
    client.close()


@pytest.fixture
def own_app_redis(settings):
    """An app Redis server of this test's own, so stopping it cannot disturb other tests.

    Always a single server, even when the run's app Redis is a cluster (REDIS_CLUSTER).
    """
    server = start_server()
    settings.REDIS_URL, settings.REDIS_CLUSTER = server.url, False
    settings.CACHES = {
        alias: {**config, "LOCATION": server.url, "BACKEND": "config.cache.ResilientRedisCache"}
        for alias, config in settings.CACHES.items()
    }
    reset_clients()
    yield server
    server.stop()


@pytest.fixture
def sandbox_redis() -> redis.Redis:
    """A raw admin client on the sandbox Redis (the URL's own user)."""
    client = redis.Redis.from_url(settings.SANDBOX_REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def sandbox() -> Sandbox:
    """The sandbox engine the site uses, on the test run's real sandbox server."""
    return build_sandbox()


@pytest.fixture
def topic_factory():
    return TopicFactory


@pytest.fixture
def topic(db):
    return TopicFactory()


@pytest.fixture
def learner_factory():
    return LearnerFactory


@pytest.fixture
def progress_factory():
    return TopicProgressFactory


@pytest.fixture
def quiz_factory():
    return QuizFactory


@pytest.fixture
def question_factory():
    return QuestionFactory


@pytest.fixture
def check_factory():
    return CommandCheckFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff_client(client, db):
    client.force_login(StaffFactory())
    return client
