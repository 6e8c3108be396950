"""站内提醒 pages; included at ``notifications/`` by hotline/core/urls.py."""

from django.urls import path

from .views import notifications

urlpatterns = [
    path("", notifications.notification_list, name="notifications"),
    path("<int:pk>/read/", notifications.notification_read, name="notification_read"),
    path("read-all/", notifications.notifications_read_all, name="notifications_read_all"),
    path("reports/overdue/<str:name>/", notifications.overdue_report, name="overdue_report"),
]
