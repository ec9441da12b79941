"""The course as shipped: the ten topic slugs in order, and what each topic owes."""

SLUGS = [
    "overview",
    "scaling",
    "high-availability",
    "endpoints",
    "redis-vs-memcached",
    "security",
    "caching-patterns",
    "use-cases",
    "monitoring",
    "operations",
]

# The three topics issue 18 added cover more exam ground, so they owe more prose.
NEW_TOPICS = ["endpoints", "monitoring", "operations"]
MIN_WORDS = {slug: 1200 if slug in NEW_TOPICS else 800 for slug in SLUGS}

# Topics whose point the sandbox can show, so each must carry runnable examples.
# The new topics teach mostly what a managed service does around the engine and
# run examples only where the sandbox can show something.
HANDS_ON = [slug for slug in SLUGS if slug not in NEW_TOPICS]

MIN_QUESTIONS = 190
