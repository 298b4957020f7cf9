"""Workspace URLs: signers. Included by workspace/urls.py."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
