from django.urls import path

from labs import views

app_name = "labs"

urlpatterns = [
    path("", views.lab_list, name="list"),
    path("<slug:slug>/", views.lab_detail, name="detail"),
    path("<slug:slug>/run", views.lab_run, name="run"),
    path("<slug:slug>/state", views.lab_state, name="state"),
    path("<slug:slug>/reset", views.lab_reset, name="reset"),
    path("<slug:slug>/check", views.lab_check, name="check"),
    path("<slug:slug>/steps/<int:number>/solution", views.step_solution, name="solution"),
    path("<slug:slug>/steps/<int:number>/reset", views.step_reset, name="step_reset"),
]
