from django.apps import AppConfig


class MemcacheConfig(AppConfig):
    # "memcache", not "memcached": a top-level package must not shadow a client library.
    name = "memcache"
    verbose_name = "Memcached console"
