from django.urls import path

from memcache import views

app_name = "memcache"
urlpatterns = [
    path("", views.console_page, name="console"),
    path("run", views.run, name="run"),
    path("reset", views.reset, name="reset"),
    path("keys", views.keys, name="keys"),
]
