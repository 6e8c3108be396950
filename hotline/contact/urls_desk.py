"""Routes of the desk pages: 坐席工作台 and 会话协助 (views_desk)."""

from django.urls import path

from . import views_desk

urlpatterns = [
    path("desk/", views_desk.desk, name="contact_desk"),
    path("contact/assist/", views_desk.assist, name="contact_assist"),
]
