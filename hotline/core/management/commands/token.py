"""hotline token USERNAME: print a new API token for a user."""

from django.core.management.base import BaseCommand

from hotline.core import audit, services
from hotline.core.errors import HotlineError

from ._common import find_user, refused


class Command(BaseCommand):
    help = "为用户生成新的 API 令牌并打印（令牌只显示这一次）"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="命令行生成", help="令牌用途")

    def handle(self, *args, **options):
        user = find_user(options["username"])
        with audit.origin(channel="cli"):
            try:
                _, key = services.token_create(actor=None, user=user, name=options["name"])
            except HotlineError as error:
                raise refused(error) from None
        self.stdout.write(key)
