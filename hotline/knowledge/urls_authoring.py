"""Routes of 采编与审核 (see urls.py): the editors' list, editor, review queue, versions,
import/export, categories, attachments and the editor's images."""

from django.urls import path

from .views import authoring as views

urlpatterns = [
    path("kb/articles/", views.article_list, name="kb_articles"),
    path("kb/articles/new/", views.article_create, name="kb_article_create"),
    path("kb/articles/export/", views.article_export, name="kb_article_export"),
    path("kb/articles/batch/", views.article_batch, name="kb_article_batch"),
    path("kb/articles/import/", views.article_import, name="kb_import"),
    path("kb/articles/import/template/", views.import_template, name="kb_import_template"),
    path("kb/articles/<int:pk>/", views.article_page, name="kb_article"),
    path("kb/articles/<int:pk>/moves/<str:move>/", views.article_move, name="kb_article_move"),
    path("kb/articles/<int:pk>/versions/", views.article_versions, name="kb_article_versions"),
    path(
        "kb/articles/<int:pk>/versions/<int:number>/rollback/",
        views.article_rollback,
        name="kb_article_rollback",
    ),
    path("kb/articles/<int:pk>/attachments/", views.attachment_add, name="kb_attachment_add"),
    path(
        "kb/articles/<int:pk>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="kb_attachment",
    ),
    path(
        "kb/articles/<int:pk>/attachments/<int:attachment_id>/delete/",
        views.attachment_remove,
        name="kb_attachment_remove",
    ),
    path("kb/review/", views.review_queue, name="kb_review"),
    path("kb/categories/", views.category_list, name="kb_categories"),
    path("kb/categories/<int:pk>/", views.category_edit, name="kb_category"),
    path("kb/images/", views.image_upload, name="kb_image_upload"),
    path(
        "kb/images/<str:year>/<str:month>/<str:name>",
        views.image,
        name="kb_image",
    ),
]
