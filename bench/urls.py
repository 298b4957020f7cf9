"""The real URLs plus the reference views under /bench/."""

from django.urls import path

from bench import views
from config.urls import urlpatterns as app_urlpatterns

urlpatterns = [
    path("bench/trivial/", views.trivial, name="bench-trivial"),
    path("bench/insert/", views.insert_enqueue, name="bench-insert"),
    *app_urlpatterns,
]
