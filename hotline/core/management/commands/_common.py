"""Shared pieces of the operator commands."""

from django.core.management import CommandError

from hotline.core.errors import HotlineError
from hotline.core.models import Platform, User


def find_user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"用户 {username} 不存在")
    return user


def find_platform(code: str | None) -> Platform:
    if code:
        platform = Platform.objects.filter(code=code.upper()).first()
        if platform is None:
            raise CommandError(f"平台代码 {code} 不存在")
        return platform
    roots = list(Platform.objects.filter(parent__isnull=True))
    if len(roots) != 1:
        raise CommandError("请用 --platform 指定平台代码")
    return roots[0]


def refused(error: HotlineError) -> CommandError:
    return CommandError(error.message)
