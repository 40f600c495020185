from django.urls import path

from shop_assets.bulk import campaign_views, views

app_name = "bulk"

urlpatterns = [
    path("", views.batch_list, name="batches"),
    path("upload/", views.batch_upload, name="upload"),
    path("<int:pk>/", views.batch_detail, name="batch"),
    path("<int:pk>/status/", views.batch_progress, name="progress"),
    path("<int:pk>/confirm/", views.batch_confirm, name="confirm"),
    path("<int:pk>/discard/", views.batch_discard, name="discard"),
    path("<int:pk>/retry/", views.batch_retry, name="retry"),
    path("<int:pk>/results.csv", views.batch_results, name="results"),
    path("<int:pk>/errors.csv", views.batch_errors, name="errors"),
    path("<int:pk>/assets.zip", views.batch_assets, name="assets"),
    path("campaigns/", campaign_views.campaign_list, name="campaigns"),
    path("campaigns/new/", campaign_views.campaign_edit, name="campaign_new"),
    path("campaigns/apply/<int:product_pk>/", campaign_views.campaign_apply, name="campaign_apply"),
    path("campaigns/preview/", campaign_views.campaign_preview, name="campaign_preview"),
    path("campaigns/<int:pk>/", campaign_views.campaign_edit, name="campaign"),
    path("campaigns/<int:pk>/delete/", campaign_views.campaign_delete, name="campaign_delete"),
]
