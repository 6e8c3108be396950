"""Shared helpers for pages: permission guard, service calls with Chinese errors, paging.

Views stay thin by using these instead of each handling refusals on its own.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404

from hotline.core.errors import Forbidden, HotlineError, NotFound
from hotline.core.roles import PERMISSIONS


def requires(*permissions: str):
    """Page decorator: signed in and holding at least one of ``permissions``, else 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not any(request.user.can(p) for p in permissions):
                names = "、".join(PERMISSIONS[p].name for p in permissions)
                raise PermissionDenied(f"此页面需要“{names}”权限。")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def attempt(request, call, *, success: str = "", form=None):
    """Run a service call. On a refusal, show its Chinese message (on ``form`` when given,
    else as a page message) and return ``(False, None)``; else ``(True, result)``.
    Forbidden and NotFound become the 403/404 pages."""
    try:
        result = call()
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    except NotFound as error:
        raise Http404(error.message) from None
    except HotlineError as error:
        if form is not None:
            field = error.field if error.field in form.fields else None
            form.add_error(field, error.message)
        else:
            messages.error(request, error.message)
        return False, None
    if success:
        messages.success(request, success)
    return True, result


def page_of(request, queryset, per_page: int = 30):
    """The requested page of a queryset (?page=N), never an error for a bad N."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))
