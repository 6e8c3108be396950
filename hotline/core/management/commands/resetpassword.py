"""hotline resetpassword USERNAME: the operator's door for any account, including the
three admins (whose accounts the system admin may not reset, 三权分立)."""

from django.core.management.base import BaseCommand

from hotline.core import audit, services
from hotline.core.errors import HotlineError

from ._common import find_user, refused


class Command(BaseCommand):
    help = "重置账号密码并解除锁定（新密码首次登录须修改）"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", help="新密码（不填则随机生成）")

    def handle(self, *args, **options):
        user = find_user(options["username"])
        with audit.origin(channel="cli"):
            try:
                password = services.user_reset_password(
                    actor=None, user=user, password=options["password"]
                )
            except HotlineError as error:
                raise refused(error) from None
        self.stdout.write(f"{user.username} 的新初始密码：{password}（首次登录须修改）")
