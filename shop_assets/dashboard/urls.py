from django.urls import path

from shop_assets.dashboard import audio, cutouts, editing, redo, views

app_name = "dashboard"

urlpatterns = [
    path("", views.products, name="products"),
    path("products/new/", views.product_new, name="product_new"),
    path("products/<int:pk>/", views.product_detail, name="product"),
    path("products/<int:pk>/photos/", views.product_upload, name="product_upload"),
    path("products/<int:pk>/edit/", editing.product_edit, name="product_edit"),
    path("products/<int:pk>/delete/", editing.product_delete, name="product_delete"),
    path("photos/<int:pk>/delete/", editing.photo_delete, name="photo_delete"),
    path("jobs/<int:pk>/retry/", editing.job_retry, name="job_retry"),
    path("jobs/<int:pk>/cancel/", editing.job_cancel, name="job_cancel"),
    path("jobs/<int:pk>/again/", editing.job_again, name="job_again"),
    path("products/<int:pk>/jobs/", views.job_start, name="job_start"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/status/", views.job_progress, name="job_progress"),
    path("jobs/<int:pk>/assets.zip", views.job_zip, name="job_zip"),
    path("assets/<int:pk>/download/", views.asset_download, name="asset_download"),
    path("assets/<int:pk>/preview/", views.asset_preview, name="asset_preview"),
    path("assets/<int:pk>/thumbnail/<int:width>/", views.asset_thumbnail, name="asset_thumbnail"),
    path("assets/<int:pk>/words/", redo.poster_words, name="poster_words"),
    path("assets/<int:pk>/regenerate/", redo.regenerate, name="regenerate"),
    path("photos/<int:pk>/thumbnail/", views.image_thumbnail, name="image_thumbnail"),
    path("photos/<int:pk>/cutout/", cutouts.cutout_card, name="cutout_card"),
    path("photos/<int:pk>/preview.jpg", cutouts.photo_preview, name="photo_preview"),
    path("photos/<int:pk>/mask/accept/", cutouts.mask_accept, name="mask_accept"),
    path("photos/<int:pk>/mask/upload/", cutouts.mask_upload, name="mask_upload"),
    path("photos/<int:pk>/mask/refine/", cutouts.mask_refine, name="mask_refine"),
    path("photos/<int:pk>/mask/save/", cutouts.mask_save, name="mask_save"),
    path("masks/<int:pk>/cutout.webp", cutouts.mask_cutout, name="mask_cutout"),
    path("brand/", views.brand_kit, name="brand_kit"),
    path("brand/logo.png", views.brand_logo, name="brand_logo"),
    path("brand/audio/", audio.audio_upload, name="audio_upload"),
    path("brand/audio/<int:pk>/delete/", audio.audio_delete, name="audio_delete"),
]
