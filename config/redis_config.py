"""Connection options shared by every Redis client the site builds."""


def redis_options(url: str, timeout: float, ca_cert: str = "") -> dict:
    """Timeouts always (a dead server must fail fast); a TLS CA bundle when asked."""
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    if ca_cert and url.startswith("rediss://"):
        options["ssl_ca_certs"] = ca_cert
    return options
