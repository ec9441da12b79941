"""Who the learner is, without giving every passer-by a session.

A learner id lives in the session. Reading pages needs none: a visitor
without one reads as a new learner (a fresh id, kept nowhere), so a request
without a cookie, a crawler's or a 404's, writes no session row and no Redis
key. The id is kept, and so the session made, only once the learner has done
something: a form sent (POST) and accepted (a response under 400) — a command
run, an answer given, a topic marked read, a log-in.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import csp.middleware
from csp.constants import HEADER, HEADER_REPORT_ONLY
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from learn.http import is_trusted_proxy

LEARNER_SESSION_KEY = "learner_id"
# Ids of the topics the learner has read: a session copy of the database rows,
# so shared pages can pick their variant without a query.
READ_TOPICS = "read_topics"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def known_learner_id(request: HttpRequest) -> str | None:
    """The learner id this browser's session holds, if it has one (reads nothing else)."""
    return request.session.get(LEARNER_SESSION_KEY)


def learner_id_for(request: HttpRequest) -> str:
    """The learner id for this request, kept in the session from now on.

    The id is chosen here, on the server: nothing the browser sends can pick
    another.
    """
    learner_id = known_learner_id(request)
    if not learner_id:
        learner_id = getattr(request, "learner_id", None) or str(uuid.uuid4())
        request.session[LEARNER_SESSION_KEY] = learner_id
    return learner_id


class LearnerMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Static files and health probes need no learner.
        if request.path.startswith(("/static/", "/healthz", "/bench/")):
            return self.get_response(request)
        known = known_learner_id(request)
        # A newcomer reads as a learner with nothing done yet.
        request.learner_id = known or str(uuid.uuid4())
        response = self.get_response(request)
        if (
            not known
            and request.method not in SAFE_METHODS
            and response.status_code < 400
            and hasattr(request, "session")
        ):
            # The action went through (and may have written rows under this
            # id): from now on the browser is this learner. A log-in has
            # already put the account's learner there, which stays.
            learner_id_for(request)
        return response


class TrustedProxyMiddleware:
    """Forget the X-Forwarded-* headers unless a trusted proxy sent the request.

    With BEHIND_PROXY on, Django believes X-Forwarded-Proto (is this HTTPS?),
    and client_ip() reads X-Forwarded-For. A client that reaches the server
    directly, past the proxy, could write either; its request must read as the
    plain request it is.
    """

    HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not (settings.BEHIND_PROXY and is_trusted_proxy(request.META.get("REMOTE_ADDR", ""))):
            for header in self.HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


# The site's policies, each built once: (header, policy string, excluded path prefixes).
_built_policies: list[tuple[str, str, tuple[str, ...]]] | None = None
# What a view or decorator may set to change one response's policy (django-csp).
_PER_RESPONSE = tuple(
    f"_csp_{kind}{suffix}" for kind in ("config", "update", "replace") for suffix in ("", "_ro")
)


@receiver(setting_changed)
def _forget_policies(*, setting: str, **kwargs: object) -> None:
    global _built_policies
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _built_policies = None


def _policies() -> list[tuple[str, str, tuple[str, ...]]]:
    global _built_policies
    if _built_policies is None:
        built = []
        for header, name, report_only in (
            (HEADER, "CONTENT_SECURITY_POLICY", False),
            (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
        ):
            policy = csp.middleware.build_policy(report_only=report_only)
            prefixes = (getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if policy:
                built.append((header, policy, tuple(prefixes)))
        _built_policies = built
    return _built_policies


class CSPMiddleware(csp.middleware.CSPMiddleware):
    """django-csp's middleware, with the policy built once rather than per response.

    The site uses no nonces and no per-view policies, so every response carries
    the same header; a response that asked for a nonce or a policy of its own
    still gets one built for it by django-csp.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in _PER_RESPONSE
        ):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (404, 500):
            return response  # as django-csp: leave Django's debug pages alone
        for header, policy, prefixes in _policies():
            exempt = getattr(
                response, "_csp_exempt_ro" if header == HEADER_REPORT_ONLY else "_csp_exempt", False
            )
            if (
                header not in response
                and exempt is False
                and not request.path_info.startswith(prefixes)
            ):
                response[header] = policy
        # As django-csp: a nonce asked for after the header was written is an error.
        request.csp_nonce = csp.middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response
