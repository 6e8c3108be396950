"""Routes of 知识检索 (see views/search.py): the search page, the agent panel, the reading
page with its rating, favourite and attachment routes, and 我的收藏."""

from django.urls import path

from .views import search as views

urlpatterns = [
    path("kb/search/", views.search_page, name="kb_search"),
    path("kb/panel/", views.panel, name="kb_panel"),
    path("kb/read/<int:pk>/", views.article_read, name="kb_read"),
    path("kb/read/<int:pk>/rate/", views.article_rate, name="kb_rate"),
    path("kb/read/<int:pk>/favorite/", views.article_favorite, name="kb_favorite"),
    path(
        "kb/read/<int:pk>/attachments/<int:attachment_id>/",
        views.attachment,
        name="kb_read_attachment",
    ),
    path("kb/favorites/", views.favorites, name="kb_favorites"),
    path("kb/favorites/folders/", views.folder_create, name="kb_folder_create"),
    path("kb/favorites/folders/<int:pk>/rename/", views.folder_rename, name="kb_folder_rename"),
    path("kb/favorites/folders/<int:pk>/delete/", views.folder_delete, name="kb_folder_delete"),
    path(
        "kb/favorites/folders/<int:pk>/articles/<int:article_id>/remove/",
        views.favorite_remove,
        name="kb_favorite_remove",
    ),
]
