"""hotline createadmin USERNAME --role sys_admin|sec_admin|audit_admin

Opens one of the three separated admin accounts (or gives an existing account that role).
The 三权分立 rules of services.role_assign apply here as everywhere."""

from django.core.management.base import BaseCommand
from django.db import transaction

from hotline.core import audit, services
from hotline.core.errors import HotlineError
from hotline.core.models import User
from hotline.core.roles import ADMIN_ROLES, ROLES

from ._common import find_platform, refused


class Command(BaseCommand):
    help = "创建管理员账号（系统管理员、安全管理员、审计管理员，三权分立）"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ADMIN_ROLES)
        parser.add_argument("--platform", help="所属平台代码（默认：唯一的顶级平台）")
        parser.add_argument("--display-name", dest="display_name", default="")
        parser.add_argument("--password", help="初始密码（不填则随机生成）；首次登录须修改")

    def handle(self, *args, **options):
        role = options["role"]
        with audit.origin(channel="cli"), transaction.atomic():
            user = User.objects.filter(username=options["username"]).first()
            password = None
            try:
                if user is None:
                    user, password = services.user_create(
                        actor=None,
                        username=options["username"],
                        display_name=options["display_name"] or ROLES[role].name,
                        platform=find_platform(options["platform"]),
                        password=options["password"],
                    )
                services.role_assign(actor=None, user=user, role=role)
            except HotlineError as error:
                raise refused(error) from None
        self.stdout.write(self.style.SUCCESS(f"{user.username} 已是{ROLES[role].name}。"))
        if password:
            self.stdout.write(f"初始密码：{password}（首次登录须修改）")
        elif options["password"]:
            self.stdout.write("账号已存在，未修改其密码；如需重置请用 hotline resetpassword。")
