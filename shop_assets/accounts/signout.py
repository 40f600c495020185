"""Signing out: Django's logout, then a line on the sign-in page saying it happened."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse


class SignOutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        # the session is gone by now; the message travels in its own cookie
        if was_signed_in:
            messages.success(request, "You have signed out.")
        return response
