"""JSON endpoints for petitions (Django REST framework)."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_cache_control
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from petitions.selectors import petition_count_label, petition_get_public, petition_goal

# Browsers and shared caches may reuse a count this long; the count itself changes every
# few seconds at most, so this is what lets 100 000 watchers poll cheaply.
COUNT_MAX_AGE = 5


class PetitionCountApi(APIView):
    class OutputSerializer(serializers.Serializer):
        petition = serializers.CharField(source="slug")
        count = serializers.IntegerField(source="signature_count")
        goal = serializers.SerializerMethodField()
        # "label" shadows Field.label for the type checker only; DRF treats it as a field.
        label = serializers.SerializerMethodField()  # type: ignore[assignment]
        updated_at = serializers.DateTimeField(source="count_refreshed_at", allow_null=True)
        is_open = serializers.BooleanField()

        def get_goal(self, petition: object) -> int:
            return petition_goal(count=petition.signature_count)  # type: ignore[attr-defined]

        def get_label(self, petition: object) -> str:
            count: int = petition.signature_count  # type: ignore[attr-defined]
            return petition_count_label(count=count, goal=petition_goal(count=count))

    def get(self, request: Request, slug: str) -> Response:
        petition = petition_get_public(slug=slug)
        # The page asks with ?lang=…, so the label's language is part of the URL and a
        # shared cache cannot hand one language's label to a reader of the other.
        language = request.query_params.get("lang", "")
        if language not in dict(settings.LANGUAGES):
            language = translation.get_language()
        with translation.override(language):
            response = Response(self.OutputSerializer(petition).data)
        patch_cache_control(response, public=True, max_age=COUNT_MAX_AGE)
        return response
