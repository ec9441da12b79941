"""The floor `make bench` compares with: Django and nothing else, in one file.

Settings, URLconf and view together. No middleware, no database, no templates,
no sessions: Django routing a request to a view that returns a page about the
size of a topic page. The bench serves it with the very command `make serve`
runs (`config.wsgi:application`), pointing DJANGO_SETTINGS_MODULE here instead
of at config.settings, so the server, its workers and its flags are the same.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path

# A topic page is about 32 kB of HTML (caching-patterns, measured with the
# shipped course; `make bench` prints both sizes); the floor sends as many
# bytes so both pay the same socket and gunicorn costs.
PAGE_BYTES = 32_000

SECRET_KEY = "bare-floor-not-secret"  # signs nothing: no sessions, no CSRF
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
USE_TZ = True
# The same request buffer as the site (config/asgi.py reads it).
REQUEST_BODY_LIMIT = 1024 * 1024
LOGGING_CONFIG = None

_ROW = b"<p>A paragraph of the floor page, standing in for a topic's text.</p>\n"
PAGE = (
    b"<!doctype html><html lang=en><head><meta charset=utf-8><title>floor</title></head><body>\n"
    + _ROW * (PAGE_BYTES // len(_ROW))
    + b"</body></html>\n"
)


def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


urlpatterns = [path("", floor)]
