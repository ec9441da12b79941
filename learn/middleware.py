import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

LEARNER_SESSION_KEY = "learner_id"
# Ids of the topics the learner has read: a session copy of the database rows,
# so shared pages can pick their variant without a query.
READ_TOPICS = "read_topics"


def learner_id_for(request: HttpRequest) -> str:
    """The learner id for this request, created on first visit.

    Writing it into the session is what gives a first-time visitor a session
    (and so a cookie and a Redis key): the id is chosen here, on the server,
    and nothing the browser sends can pick another.
    """
    learner_id = request.session.get(LEARNER_SESSION_KEY)
    if not learner_id:
        learner_id = str(uuid.uuid4())
        request.session[LEARNER_SESSION_KEY] = learner_id
    return learner_id


class LearnerMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Static files and health probes need no learner.
        if not request.path.startswith(("/static/", "/healthz", "/bench/")):
            request.learner_id = learner_id_for(request)
        return self.get_response(request)
