"""Shared helpers for pages: permission guard, service calls with Chinese errors, paging.

Views stay thin by using these instead of each handling refusals on its own.
"""

from collections.abc import Callable
from functools import cached_property, wraps

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


class CappedPaginator(Paginator):
    """A paginator whose total comes from ``counter(queryset) -> (total, capped)``: a
    list of a million rows counts only up to a cap (总数封顶), pages through the capped
    rows, and tells the template (``capped``) to ask for narrower filters."""

    def __init__(self, object_list, per_page, counter: Callable, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.counter = counter

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        return self.counter(self.object_list)

    @cached_property
    def count(self) -> int:
        return self._counted[0]

    @property
    def capped(self) -> bool:
        return self._counted[1]

    @property
    def count_label(self) -> str:
        """The total as shown: 1万+ when capped at 10,000."""
        count, capped = self._counted
        if not capped:
            return str(count)
        return f"{count // 10_000}万+" if count % 10_000 == 0 else f"{count}+"


def page_of(request, queryset, per_page: int = 30, *, counter: Callable | None = None):
    """The requested page of a queryset (?page=N), never an error for a bad N. With
    ``counter`` the total is capped (see CappedPaginator); a page past the cap is the
    last page within it."""
    paginator = (
        CappedPaginator(queryset, per_page, counter) if counter else Paginator(queryset, per_page)
    )
    return paginator.get_page(request.GET.get("page"))
