from django.urls import path

from petitions import api, campaign_page, embed, manage_views, social, views

urlpatterns = [
    path("c/<slug:slug>/", campaign_page.campaign_detail, name="campaign"),
    path("c/<slug:slug>/share.png", social.campaign_share_image, name="campaign-share-image"),
    path("p/<slug:slug>/sign/", views.petition_sign, name="petition-sign"),
    path("p/<slug:slug>/thanks/", views.petition_thanks, name="petition-thanks"),
    path("p/<slug:slug>/confirm/", views.signature_confirm_code, name="signature-confirm-code"),
    path("p/<slug:slug>/confirmed/", views.petition_confirmed, name="petition-confirmed"),
    path("confirm/<str:token>/", views.signature_confirm, name="signature-confirm"),
    path("manage/", manage_views.manage_request, name="signature-manage-request"),
    path("manage/erased/", manage_views.manage_erased, name="signature-manage-erased"),
    path("manage/<str:token>/", manage_views.manage_page, name="signature-manage"),
    path(
        "manage/<str:token>/signatures/<uuid:signature_id>/display/",
        manage_views.manage_display,
        name="signature-manage-display",
    ),
    path(
        "manage/<str:token>/signatures/<uuid:signature_id>/withdraw/",
        manage_views.manage_withdraw,
        name="signature-manage-withdraw",
    ),
    path(
        "manage/<str:token>/consents/<uuid:campaign_id>/withdraw/",
        manage_views.manage_consent,
        name="signature-manage-consent",
    ),
    path(
        "manage/<str:token>/consents/<uuid:campaign_id>/resume/",
        manage_views.manage_consent_resume,
        name="signature-manage-consent-resume",
    ),
    path("manage/<str:token>/export/", manage_views.manage_export, name="signature-manage-export"),
    path("manage/<str:token>/erase/", manage_views.manage_erase, name="signature-manage-erase"),
    path("p/<slug:slug>/embed/", embed.petition_embed, name="petition-embed"),
    path(
        "api/v1/petitions/<slug:slug>/count/",
        api.PetitionCountApi.as_view(),
        name="api-petition-count",
    ),
    path(
        "api/v1/petitions/<slug:slug>/signatures/",
        api.PetitionSignApi.as_view(),
        name="api-petition-sign",
    ),
    path(
        "api/v1/petitions/<slug:slug>/challenge/",
        api.PetitionChallengeApi.as_view(),
        name="api-petition-challenge",
    ),
]
