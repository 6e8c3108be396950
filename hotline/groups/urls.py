"""Routes of 群组交互: the staff pages and the citizen's link."""

from django.urls import path

from . import views, views_guest

urlpatterns = [
    path("groups/", views.groups, name="groups"),
    path("groups/manage/", views.groups_manage, name="groups_manage"),
    path("groups/file/<str:signed>/", views_guest.group_file, name="group_file"),
    path("groups/<int:pk>/", views.group_detail, name="group_detail"),
    path("groups/<int:pk>/members/", views.group_members, name="group_members"),
    path("groups/<int:pk>/<slug:action>/", views.group_action, name="group_action"),
    path("g/upload", views_guest.guest_upload, name="group_guest_upload"),
    path("g/<str:token>/", views_guest.guest_page, name="group_guest"),
]
