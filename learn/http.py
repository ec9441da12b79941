from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as our middleware leaves it: htmx details and the learner id."""

    htmx: HtmxDetails
    learner_id: str
