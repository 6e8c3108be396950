"""Pages of the core context. Each module of views/ owns one area."""

from django.urls import include, path

from .views import accounts, audit, auth, calendar, home, org, profile, security

urlpatterns = [
    path("", home.home, name="home"),
    # sign in/out
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("password/change/", auth.password_change_view, name="password_change"),
    # my profile and API tokens
    path("me/", profile.profile, name="profile"),
    path("me/tokens/", profile.token_create, name="token_create"),
    path("me/tokens/<int:pk>/revoke/", profile.token_revoke, name="token_revoke"),
    # organisation and calendar
    path("org/", org.org, name="org"),
    path("org/units/<int:pk>/", org.unit_detail, name="unit_detail"),
    path("calendar/", calendar.calendar, name="calendar"),
    path("calendar/day/", calendar.day_set, name="calendar_day_set"),
    path("calendar/day/<str:day>/remove/", calendar.day_remove, name="calendar_day_remove"),
    path("calendar/load/", calendar.load_shipped, name="calendar_load"),
    # system admin: accounts
    path("accounts/", accounts.account_list, name="accounts"),
    path("accounts/new/", accounts.account_create, name="account_create"),
    path("accounts/<int:pk>/", accounts.account_detail, name="account_detail"),
    path("accounts/<int:pk>/<str:action>/", accounts.account_action, name="account_action"),
    # security admin: roles, permissions, policy
    path("security/roles/", security.roles, name="security_roles"),
    path("security/roles/<int:pk>/", security.user_roles, name="security_user_roles"),
    path("security/permissions/", security.permissions, name="security_permissions"),
    path("security/policy/", security.policy, name="security_policy"),
    # audit admin
    path("audit/", audit.audit_log, name="audit"),
    path("audit/export/", audit.audit_export, name="audit_export"),
    path("audit/<int:pk>/", audit.audit_detail, name="audit_detail"),
    # in-app notifications and the reports they announce
    path("notifications/", include("hotline.core.urls_notifications")),
]
