"""CacheLab settings: one file, every deploy-time value from the environment.

Defaults are safe: DEBUG off unless asked for (`make run` and the tests turn it
on), SQLite, loopback hosts only. The two
Redis roles (app and sandbox) are separate servers; `make run` and `make test`
start embedded ones when REDIS_URL / SANDBOX_REDIS_URL are not set.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.redis_config import redis_options

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# Off unless asked for: a server started without configuration must not show
# tracebacks and settings to strangers. `make run` and the test run set DEBUG=1.
DEBUG = env_bool("DEBUG", False)
# The development key only exists so `make run` works on a fresh clone;
# anything else refuses it.
DEV_SECRET_KEY = "dev-insecure-cachelab-key-change-me"
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "DEBUG is off but SECRET_KEY is missing or weak: set SECRET_KEY to 50+ random "
        "characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))', "
        "or DEBUG=1 on a development machine"
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "template_partials",
    "learn",
    "quizzes",
    "labs",
    "patterns",
    "memcache",
    "journey",
]

MIDDLEWARE = [
    # First: everything after it (HTTPS detection, client addresses) reads the
    # X-Forwarded-* headers only when a trusted proxy wrote them.
    "learn.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "learn.middleware.CSPMiddleware",  # django-csp's, the policy built once
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "learn.middleware.LearnerMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Reusing a connection saves a connect per request (~5 ms on PostgreSQL);
        # the health check replaces one the server has dropped.
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers write at once: wait for the lock instead of
    # failing, take it up front (no upgrade deadlocks), and let readers read
    # while one writes (WAL).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis ---------------------------------------------------------------
# The app Redis holds sessions and caches; the sandbox Redis holds only what
# learners type. Keeping them on different servers means no sandbox bug can
# ever reach a session.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
SANDBOX_REDIS_URL = env_str("SANDBOX_REDIS_URL", "redis://127.0.0.1:6380/0")
# True: the app may administer the sandbox server and creates the restricted
# ACL user learners' commands run as (the embedded default, a local server).
# False (a managed service such as ElastiCache, whose users are managed through
# RBAC): connect as the user in SANDBOX_REDIS_URL and refuse to serve the
# sandbox unless that user is confined to sbx:* keys.
SANDBOX_MANAGE_ACL = env_bool("SANDBOX_MANAGE_ACL", True)
# Per learner: a burst of SANDBOX_BURST commands, refilled at SANDBOX_RATE a second.
SANDBOX_BURST = env_int("SANDBOX_BURST", 40)
SANDBOX_RATE = float(env_str("SANDBOX_RATE", "20"))
# Seconds; a dead server must fail a request fast, not hang it.
REDIS_SOCKET_TIMEOUT = float(env_str("REDIS_SOCKET_TIMEOUT", "0.5"))

# ElastiCache speaks TLS (rediss://); a CA bundle is needed only when the
# server's certificate does not chain to the system's trusted roots.
REDIS_CA_CERT = env_str("REDIS_CA_CERT")
SANDBOX_REDIS_CA_CERT = env_str("SANDBOX_REDIS_CA_CERT", REDIS_CA_CERT)
# A reader endpoint (replicas) for cache reads that may be slightly stale.
# Sessions stay on the primary: a learner must read what they just wrote.
REDIS_READER_URL = env_str("REDIS_READER_URL")
# ElastiCache "cluster mode enabled": REDIS_URL is the configuration endpoint,
# keys spread over shards by hash slot (see config/redis_config.py for the key
# rule that follows). Such a cluster has no reader endpoint; its replicas may
# serve the page cache's reads instead (REDIS_CLUSTER_REPLICA_READS).
REDIS_CLUSTER = env_bool("REDIS_CLUSTER", False)
REDIS_CLUSTER_REPLICA_READS = env_bool("REDIS_CLUSTER_REPLICA_READS", False)
if REDIS_CLUSTER and REDIS_READER_URL:
    raise ImproperlyConfigured(
        "REDIS_READER_URL does not combine with REDIS_CLUSTER: a cluster has no reader "
        "endpoint. Unset it; REDIS_CLUSTER_REPLICA_READS=1 reads from the shards' replicas."
    )
if REDIS_CLUSTER_REPLICA_READS and not REDIS_CLUSTER:
    raise ImproperlyConfigured(
        "REDIS_CLUSTER_REPLICA_READS needs REDIS_CLUSTER=1; without cluster mode, name a "
        "reader endpoint in REDIS_READER_URL."
    )
if REDIS_CLUSTER:
    _REDIS_CACHE = "config.cache.ResilientRedisClusterCache"
else:
    _REDIS_CACHE = "config.cache.ResilientRedisCache"


def _cache_options(replica_reads: bool = False) -> dict:
    options = redis_options(REDIS_URL, REDIS_SOCKET_TIMEOUT, REDIS_CA_CERT)
    return {**options, "replica_reads": True} if replica_reads else options


CACHES = {
    "default": {
        "BACKEND": _REDIS_CACHE,
        # Django sends writes to the first server and reads to the others.
        "LOCATION": [REDIS_URL, REDIS_READER_URL] if REDIS_READER_URL else REDIS_URL,
        "KEY_PREFIX": "cachelab",
        "TIMEOUT": 300,
        "OPTIONS": _cache_options(replica_reads=REDIS_CLUSTER_REPLICA_READS),
    },
    # A named alias so sessions can be told apart (and purged) separately.
    # Never read from replicas: a learner must read what they just wrote.
    "sessions": {
        "BACKEND": _REDIS_CACHE,
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cachelab:session",
        "OPTIONS": _cache_options(),
    },
}

# Write-through sessions: Redis answers reads, the database keeps a copy so a
# Redis flush or restart loses nobody's learner identity (and so progress).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_CACHE_ALIAS = "sessions"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 24 * 30)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Sessions are made only when a learner first does something (learn/middleware.py);
# `manage.py housekeeping` deletes expired ones (the launcher runs it hourly).
HOUSEKEEPING_INTERVAL = env_int("HOUSEKEEPING_INTERVAL", 60 * 60)

# Request bodies: a form, a sandbox line or a quiz answer is a few KB. The cap
# sits above the sandbox's 64 KiB line limit, so an over-long line gets the
# sandbox's own message (and pays its rate token); Django refuses larger
# non-file bodies with 400 (a GIFT file upload is limited on
# its own); the server refuses any body over REQUEST_BODY_LIMIT before Django
# reads it (config/asgi.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 128 * 1024)
REQUEST_BODY_LIMIT = env_int("REQUEST_BODY_LIMIT", 1024 * 1024)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # In production whitenoise serves compressed files under content-hashed
    # names, cacheable forever; `make serve` runs collectstatic first.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Lab environments (labs/environments) ---------------------------------
# Private Valkey/Redis nodes a learner starts: ports from LAB_PORT_RANGE (each
# cluster node also takes port + 10000 for its bus; keep both clear of the
# kernel's ephemeral range), at most LAB_MAX_ENVIRONMENTS at once on this host.
LAB_PORT_RANGE = env_str("LAB_PORT_RANGE", "20000-20999")
LAB_MAX_ENVIRONMENTS = env_int("LAB_MAX_ENVIRONMENTS", 6)
LAB_IDLE_TIMEOUT = env_int("LAB_IDLE_TIMEOUT", 20 * 60)
LAB_MAX_LIFETIME = env_int("LAB_MAX_LIFETIME", 2 * 60 * 60)
LAB_NODE_MAXMEMORY = env_str("LAB_NODE_MAXMEMORY", "16mb")
LAB_RUNTIME_DIR = env_str("LAB_RUNTIME_DIR")  # empty: <tmp>/cachelab-labs-<uid>

# --- Security ------------------------------------------------------------
# HTTPS=0 serves production mode over plain HTTP (a local trial of `make
# serve`, the benchmark); anything public keeps the default.
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# The JavaScript never reads the CSRF cookie (htmx sends the token from
# hx-headers on <body>), so scripts need not see it either.
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365 if HTTPS else 0)
# Both bind more than this site (every subdomain; browsers' built-in lists,
# hard to leave): the operator opts in.
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = HTTPS and env_bool("SECURE_HSTS_PRELOAD", False)
# check --deploy asks for both; leaving them off is the decision above.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
# Behind a proxy (e.g. an AWS ALB) that sets X-Forwarded-Proto and appends to
# X-Forwarded-For. Both are believed only from TRUSTED_PROXIES (the default:
# loopback and the private ranges a VPC load balancer speaks from); from
# anyone else they are dropped (learn.middleware.TrustedProxyMiddleware).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
TRUSTED_PROXIES = env_list(
    "TRUSTED_PROXIES", "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script or style anywhere: htmx is configured not to inject its
# indicator styles (base.html), diagrams colour themselves through classes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
AUTHENTICATION_BACKENDS = ["learn.auth.ThrottledModelBackend"]
LOGIN_URL = "journey:login"
LOGIN_REDIRECT_URL = "journey:progress"
LOGOUT_REDIRECT_URL = "learn:home"
# Throttles (learn/throttle.py), each "so many in a window of seconds", kept in
# the database where no cache eviction can reset them. Failed log-ins count
# per user name and address, per address (names sprayed from one place) and
# per account from everywhere (a higher bar, so a stranger cannot lock a user
# out with a few tries); sign-ups count per address.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW = env_int("LOGIN_FAILURE_WINDOW", 15 * 60)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 20)
LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("LOGIN_ACCOUNT_FAILURE_LIMIT", 50)
SIGNUP_LIMIT = env_int("SIGNUP_LIMIT", 5)
SIGNUP_WINDOW = env_int("SIGNUP_WINDOW", 60 * 60)

# --- Memcached console (/memcached/) ----------------------------------------
# Optional: `make run` and the tests start a memcached from PATH when this is
# unset; without one the console's page says how to get it. memcached://host:port.
MEMCACHED_URL = env_str("MEMCACHED_URL")
MEMCACHED_TIMEOUT = float(env_str("MEMCACHED_TIMEOUT", "1"))

# --- Caching-pattern bench (/patterns/) ------------------------------------
# Runs at once across the site (each a thread of a web process), the longest
# run, the most keys, and the most concurrent readers of a stampede demo.
PATTERNS_MAX_RUNS = env_int("PATTERNS_MAX_RUNS", 2)
PATTERNS_MAX_SECONDS = env_int("PATTERNS_MAX_SECONDS", 30)
PATTERNS_MAX_KEYS = env_int("PATTERNS_MAX_KEYS", 5000)
PATTERNS_MAX_READERS = env_int("PATTERNS_MAX_READERS", 16)
PATTERNS_KEEP_RUNS = env_int("PATTERNS_KEEP_RUNS", 10)  # per learner, the latest

CONTENT_DIR = BASE_DIR / "learn" / "content"
# /bench/floor: the bare Django response `make bench` measures against.
BENCH_FLOOR = env_bool("BENCH_FLOOR", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
