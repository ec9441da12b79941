"""Log-in and sign-up throttles: per address and per account, behind a proxy too,
and out of reach of cache eviction."""

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.urls import reverse

from learn.http import client_ip
from learn.models import Throttle
from tests.factories import StaffFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.redis]
PASSWORD = "correct horse battery staple"
LOAD_BALANCER = "10.0.0.5"


def log_in(client: Client, password: str, username: str = "ada", **headers):
    return client.post(
        reverse("journey:login"), {"username": username, "password": password}, headers=headers
    )


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def behind_proxy(settings):
    settings.BEHIND_PROXY = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def via_proxy(address: str) -> Client:
    """A browser at `address` reaching the site through the load balancer."""
    return Client(REMOTE_ADDR=LOAD_BALANCER, HTTP_X_FORWARDED_FOR=address)


def test_repeated_failures_pause_log_in_even_with_the_right_password():
    StaffFactory(username="ada")
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post(reverse("admin:login"), {"username": "ada", "password": "wrong"})

    response = client.post(reverse("admin:login"), {"username": "ada", "password": PASSWORD})

    assert response.status_code == 200  # the form again, not a redirect into the admin
    assert not logged_in(client)
    row = Throttle.objects.get(key__startswith="login:")
    assert row.count >= settings.LOGIN_FAILURE_LIMIT


def test_a_success_clears_the_count_for_that_name_and_address():
    StaffFactory(username="ada")
    client = Client()
    log_in(client, "wrong")

    response = log_in(client, PASSWORD)

    assert response.status_code == 302 and logged_in(client)
    assert not Throttle.objects.filter(key__startswith="login:").exists()


def test_the_admin_is_for_staff_only(client, user):
    client.force_login(user)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


# -- who is asking ----------------------------------------------------------
def test_without_a_proxy_the_client_is_the_peer_whatever_it_claims():
    request = RequestFactory().get("/", REMOTE_ADDR=LOAD_BALANCER, HTTP_X_FORWARDED_FOR="1.2.3.4")

    assert client_ip(request) == LOAD_BALANCER


def test_behind_a_proxy_the_client_is_the_right_most_untrusted_hop(behind_proxy):
    # The browser claimed 6.6.6.6; the proxy appended what it saw.
    request = RequestFactory().get(
        "/", REMOTE_ADDR=LOAD_BALANCER, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9, 10.0.0.7"
    )

    assert client_ip(request) == "203.0.113.9"


def test_a_direct_client_cannot_claim_an_address_behind_a_proxy(behind_proxy):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4")

    assert client_ip(request) == "203.0.113.9"


def test_a_direct_client_cannot_forge_https_behind_a_proxy(behind_proxy, settings, topic):
    settings.SECURE_SSL_REDIRECT = True
    url = topic.get_absolute_url()

    direct = Client(REMOTE_ADDR="203.0.113.9").get(url, headers={"x-forwarded-proto": "https"})
    proxied = via_proxy("203.0.113.9").get(url, headers={"x-forwarded-proto": "https"})

    assert direct.status_code == 301 and direct["Location"].startswith("https://")
    assert proxied.status_code == 200


# -- the attacks ----------------------------------------------------------------
def test_behind_a_load_balancer_one_guesser_does_not_lock_out_the_account(behind_proxy):
    UserFactory(username="ada", password=PASSWORD)
    guesser = via_proxy("203.0.113.9")
    for _ in range(settings.LOGIN_FAILURE_LIMIT + 1):
        log_in(guesser, "wrong")

    owner = via_proxy("198.51.100.4")
    response = log_in(owner, PASSWORD)

    assert response.status_code == 302 and logged_in(owner)
    assert log_in(guesser, PASSWORD).status_code == 400 and not logged_in(guesser)


def test_one_address_spraying_user_names_is_paused(settings):
    UserFactory(username="victim", password=PASSWORD)
    sprayer = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT + 5):
        log_in(sprayer, "wrong", username=f"name{n}")

    response = log_in(sprayer, PASSWORD, username="victim")
    elsewhere = Client(REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 400 and b"Too many failed log-ins" in response.content
    assert not logged_in(sprayer)
    address_rows = Throttle.objects.filter(key__startswith="login-address:")
    assert [row.count for row in address_rows] == [settings.LOGIN_ADDRESS_FAILURE_LIMIT]
    assert log_in(elsewhere, PASSWORD, username="victim").status_code == 302


def test_guesses_spread_over_many_addresses_pause_the_account(settings):
    settings.LOGIN_ACCOUNT_FAILURE_LIMIT = 10
    UserFactory(username="ada", password=PASSWORD)
    for n in range(10):
        log_in(Client(REMOTE_ADDR=f"203.0.113.{n + 1}"), "wrong")

    owner = Client(REMOTE_ADDR="198.51.100.4")

    assert log_in(owner, PASSWORD).status_code == 400 and not logged_in(owner)


def test_filling_the_app_redis_with_junk_does_not_reset_a_throttle(own_app_redis):
    """The attack of finding 1: junk under volatile-lru evicted the throttle keys."""
    UserFactory(username="ada", password=PASSWORD)
    guesser = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        log_in(guesser, "wrong")
    app = redis.Redis.from_url(own_app_redis.url)
    app.config_set("maxmemory", 4 * 1024 * 1024)
    app.config_set("maxmemory-policy", "volatile-lru")
    junk = b"x" * 10_000
    for n in range(1_000):  # ~10 MB with TTLs into a 4 MB server
        app.set(f"junk:{n}", junk, ex=3600)

    response = log_in(guesser, PASSWORD)

    assert app.info("stats")["evicted_keys"] > 0
    assert response.status_code == 400 and not logged_in(guesser)


def sign_up(client: Client, n: int):
    return client.post(
        reverse("journey:signup"),
        {"username": f"learner{n}", "password1": PASSWORD, "password2": PASSWORD},
    )


def test_one_address_can_make_only_a_few_accounts_an_hour(settings):
    made = [sign_up(Client(REMOTE_ADDR="203.0.113.9"), n) for n in range(settings.SIGNUP_LIMIT)]

    refused = sign_up(Client(REMOTE_ADDR="203.0.113.9"), 99)
    elsewhere = sign_up(Client(REMOTE_ADDR="198.51.100.4"), 100)

    assert all(r.status_code == 302 for r in made)
    assert refused.status_code == 429
    assert b"Too many accounts were made from your network" in refused.content
    assert not get_user_model().objects.filter(username="learner99").exists()
    assert elsewhere.status_code == 302
    assert get_user_model().objects.count() == settings.SIGNUP_LIMIT + 1


def test_a_refused_sign_up_counts_nothing(settings):
    response = Client().post(reverse("journey:signup"), {"username": "x", "password1": "a"})

    assert response.status_code == 400
    assert not Throttle.objects.exists() and not get_user_model().objects.exists()
