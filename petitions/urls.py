from django.urls import path

from petitions import api, views

urlpatterns = [
    path("p/<slug:slug>/sign/", views.petition_sign, name="petition-sign"),
    path("p/<slug:slug>/thanks/", views.petition_thanks, name="petition-thanks"),
    path("p/<slug:slug>/confirm/", views.signature_confirm_code, name="signature-confirm-code"),
    path("p/<slug:slug>/confirmed/", views.petition_confirmed, name="petition-confirmed"),
    path("confirm/<str:token>/", views.signature_confirm, name="signature-confirm"),
    path(
        "api/v1/petitions/<slug:slug>/count/",
        api.PetitionCountApi.as_view(),
        name="api-petition-count",
    ),
]
