"""Django admin (后台维护), for the system admin only.

It maintains the organisation and the calendar. It never shows the audit log, role
assignments, permissions or the security policy: those belong to the audit and security
admins and have their own pages. Every save is audited like a service write.
"""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from . import audit, workdays
from .errors import HotlineError
from .models import CalendarDay, HandlingUnit, Platform, Skill, Team, User
from .services import require_may_manage_account


class HotlineAdminLoginForm(AdminAuthenticationForm):
    """Django admin's login asks for is_staff, which no account has: here the right to
    maintain the organisation is what opens the door."""

    def confirm_login_allowed(self, user):
        AuthenticationForm.confirm_login_allowed(self, user)
        if not user.can("org.manage"):
            raise ValidationError(
                "后台维护仅供系统管理员使用，请使用系统管理员账号登录。", code="invalid_login"
            )


class HotlineAdminSite(admin.AdminSite):
    login_form = HotlineAdminLoginForm
    site_header = "12345 热线平台 · 后台维护"
    site_title = "后台维护"
    index_title = "组织架构与工作日历"

    def has_permission(self, request):
        user = request.user
        return user.is_active and user.is_authenticated and user.can("org.manage")


class AuditedAdmin(admin.ModelAdmin):
    """Only the system admin's rights; every add/change/delete leaves an audit row."""

    permission = "org.manage"

    def _allowed(self, request):
        return request.user.is_authenticated and request.user.can(self.permission)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        return False  # organisation records are retired (停用), never deleted

    def snapshot(self, obj) -> dict:
        """The record as the audit log keeps it (a model with secrets blots them out)."""
        return audit.snapshot(obj)

    def save_model(self, request, obj, form, change):
        before = self.snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        audit.record(
            "admin.change" if change else "admin.add", obj, before=before, after=self.snapshot(obj)
        )


@admin.register(Platform)
class PlatformAdmin(AuditedAdmin):
    list_display = ("name", "code", "level", "parent", "hotline_number", "is_active")
    list_filter = ("level", "is_active")
    search_fields = ("name", "code")


@admin.register(HandlingUnit)
class HandlingUnitAdmin(AuditedAdmin):
    list_display = ("name", "code", "platform", "kind", "contact_phone", "is_active")
    list_filter = ("platform", "kind", "is_active")
    search_fields = ("name", "code", "short_name")


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    list_display = ("name", "platform", "leader")
    list_filter = ("platform",)


@admin.register(Skill)
class SkillAdmin(AuditedAdmin):
    list_display = ("name", "code", "platform")
    list_filter = ("platform",)


@admin.register(User)
class UserAdmin(AuditedAdmin):
    """Account details only: no password, no roles (安全管理员), no superuser flags."""

    permission = "accounts.manage"
    list_display = ("username", "display_name", "platform", "unit", "team", "is_active")
    list_filter = ("platform", "is_active")
    search_fields = ("username", "display_name", "employee_no")
    fields = (
        "username",
        "display_name",
        "employee_no",
        "phone",
        "email",
        "platform",
        "unit",
        "team",
        "is_active",
    )
    readonly_fields = ("username",)

    def has_add_permission(self, request):
        return False  # accounts are opened on the account page, which sets the password

    def has_change_permission(self, request, obj=None):
        """Read-only where the services would refuse (e.g. the audit admin's account)."""
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return True
        try:
            require_may_manage_account(request.user, obj)
        except HotlineError:
            return False
        return True


@admin.register(CalendarDay)
class CalendarDayAdmin(AuditedAdmin):
    permission = "calendar.manage"
    list_display = ("date", "kind", "name", "provisional")
    list_filter = ("kind", "provisional")
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        workdays.forget()
