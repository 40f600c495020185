from django.urls import path

from shop_assets.accounts import team, views

app_name = "accounts"

urlpatterns = [
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("settings/team/", team.team, name="team"),
    path("settings/team/<int:pk>/remove/", team.member_remove, name="member_remove"),
    path("settings/team/invitations/", team.invitation_create, name="invitation_create"),
    path("settings/team/invitations/<int:pk>/revoke/", team.invitation_revoke, name="invitation_revoke"),
    path("join/<str:token>/", team.join, name="join"),
]
