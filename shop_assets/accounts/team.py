"""A merchant's team in the dashboard: its owner adds colleagues (a username and password,
or a one-time invite link) and removes them; everyone else sees who is on the team.

No staff user or admin is involved. Every lookup is limited to the signed-in user's
merchant, so another shop's people and invitations answer 404.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import login, password_validation
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from shop_assets.accounts import access
from shop_assets.accounts.models import Invitation, User
from shop_assets.dashboard.views import merchant_required

INVITATION_DAYS = 7
OWNER_ONLY = "Only the shop's owner can add or remove people."


class ColleagueForm(UserCreationForm):
    """A username and a password (twice), checked by the configured password validators."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # the form sits beside the team list (below it on a phone): focusing it on load
        # would scroll the page past the list
        self.fields["username"].widget.attrs.pop("autofocus", None)
        # what the password must be, said before it is refused (Django's own help texts were
        # never shown, and speak of "your" password to an owner choosing a colleague's)
        self.fields["username"].help_text = ""
        self.fields["password1"].help_text = password_rules()
        self.fields["password2"].help_text = ""
        self.fields["password2"].label = "Password again"  # Django's "Password confirmation"


def password_rules() -> str:
    """The configured password validators' rules, in words."""
    rules = []
    for validator in password_validation.get_default_password_validators():
        if isinstance(validator, password_validation.MinimumLengthValidator):
            rules.append(f"at least {validator.min_length} characters")
        elif isinstance(validator, password_validation.CommonPasswordValidator):
            rules.append("not a commonly used password")
        elif isinstance(validator, password_validation.NumericPasswordValidator):
            rules.append("not only digits")
        elif isinstance(validator, password_validation.UserAttributeSimilarityValidator):
            rules.append("not like the username")
    text = ", ".join(rules)
    return f"{text[:1].upper()}{text[1:]}." if text else ""


def _members(request: HttpRequest):
    return User.objects.filter(merchant_id=access.merchant_id(request)).order_by("-is_owner", "username")


def _open_invitations(request: HttpRequest):
    return Invitation.objects.filter(
        merchant_id=access.merchant_id(request), used_at__isnull=True, expires_at__gt=timezone.now()
    )


def _require_owner(request: HttpRequest) -> User:
    user = access.merchant_user(request)
    if not user.is_owner:
        raise PermissionDenied(OWNER_ONLY)
    return user


def _page(request: HttpRequest, *, form=None, invite_link: str = "", status: int = 200) -> HttpResponse:
    owner = access.merchant_user(request).is_owner
    response = render(
        request,
        "accounts/team.html",
        {
            "members": _members(request),
            "invitations": _open_invitations(request) if owner else [],
            "form": form or ColleagueForm(),
            "is_owner": owner,
            "invite_link": invite_link,
            "invitation_days": INVITATION_DAYS,
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"  # the page may carry an invite link
    return response


@merchant_required
def team(request: HttpRequest) -> HttpResponse:
    """The list for everyone; the owner also adds a colleague here (POST)."""
    if request.method != "POST":
        return _page(request)
    _require_owner(request)
    form = ColleagueForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    colleague = form.save(commit=False)
    colleague.merchant = access.merchant(request)
    colleague.is_owner = False
    colleague.save()
    messages.success(request, f"{colleague.username} can now sign in. Give them the password you chose.")
    return redirect("accounts:team")


@merchant_required
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    owner = _require_owner(request)
    member = get_object_or_404(_members(request), pk=pk)
    if member.pk == owner.pk or member.is_owner:
        messages.error(request, "The owner cannot be removed from the team.")
        return redirect("accounts:team")
    name = member.username
    member.delete()  # their sessions end with them; the shop's data stays
    messages.success(request, f"{name} is no longer on the team and can no longer sign in.")
    return redirect("accounts:team")


@merchant_required
@require_POST
def invitation_create(request: HttpRequest) -> HttpResponse:
    owner = _require_owner(request)
    token = secrets.token_urlsafe(32)
    Invitation.objects.create(
        merchant_id=access.merchant_id(request),
        created_by=owner,
        token_hash=Invitation.hash(token),
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
    )
    link = request.build_absolute_uri(reverse("accounts:join", args=[token]))
    return _page(request, invite_link=link, status=201)


@merchant_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    _require_owner(request)
    get_object_or_404(_open_invitations(request), pk=pk).delete()
    messages.success(request, "The invite link no longer works.")
    return redirect("accounts:team")


def join(request: HttpRequest, token: str) -> HttpResponse:
    """Where an invite link leads: the colleague picks a username and password and is signed in."""
    invitation = (
        Invitation.objects.select_related("merchant")
        .filter(token_hash=Invitation.hash(token), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if invitation is None:
        return render(request, "accounts/join_invalid.html", status=404)
    form = ColleagueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save(commit=False)
            user.merchant = invitation.merchant
            user.is_owner = False
            user.save()
            # the conditional update makes the link single-use even under two quick submits
            claimed = Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
                used_at=timezone.now(), used_by=user
            )
            if not claimed:
                transaction.set_rollback(True)
                return render(request, "accounts/join_invalid.html", status=404)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to {invitation.merchant.name}.")
        return redirect("dashboard:products")
    return render(
        request,
        "accounts/join.html",
        {"form": form, "merchant": invitation.merchant},
        status=400 if form.errors else 200,
    )
