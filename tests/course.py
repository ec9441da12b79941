"""The course as shipped: the seven topic slugs, in order."""

SLUGS = [
    "overview",
    "scaling",
    "high-availability",
    "redis-vs-memcached",
    "security",
    "caching-patterns",
    "use-cases",
]
