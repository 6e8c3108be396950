"""hotline init: migrate, create the first platform or load the demo hotline."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from hotline.core import audit, services
from hotline.core.errors import HotlineError
from hotline.core.models import Platform


class Command(BaseCommand):
    help = "初始化数据库；--demo 载入演示热线（含各角色演示账号）"

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="载入演示热线")
        parser.add_argument(
            "--orders", type=int, default=0, help="演示历史工单数量（过去一年，与 --demo 同用）"
        )
        parser.add_argument(
            "--calls", type=int, default=0, help="演示历史话务数量（过去一年，与 --demo 同用）"
        )
        parser.add_argument(
            "--seed", type=int, default=12345, help="演示历史的随机种子（同一种子结果相同）"
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="数据库已有平台时不再载入演示数据（make run 使用）",
        )
        parser.add_argument("--platform", help="首个平台代码，如 SY（不载入演示数据时）")
        parser.add_argument("--platform-name", help="首个平台名称")
        parser.add_argument(
            "--level", default="city", choices=[c for c, _ in Platform.Level.choices]
        )

    def handle(self, *args, **options):
        if options["orders"] < 0 or options["calls"] < 0:
            raise CommandError("--orders 与 --calls 不能为负数")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("数据库已就绪。")
        with audit.origin(channel="cli"):
            if options["demo"]:
                self._demo(options)
            elif options["platform"]:
                self._first_platform(options)
            elif not Platform.objects.exists():
                self.stdout.write(
                    "尚无平台：用 --demo 载入演示热线，或用 --platform 代码 --platform-name 名称 创建首个平台。"
                )

    def _demo(self, options):
        """The demo hotline, then its past year when --calls/--orders ask for one. The
        history comes from analytics.demo_history (bulk, seasonal), not from the demo's
        own loaders (load_demo gets 0 of each); on a demo loaded before, only the history
        is added — once."""
        from hotline.analytics import demo_history
        from hotline.core import demo

        if options["if_empty"] and Platform.objects.exists():
            self.stdout.write("已有数据，跳过演示数据载入。")
            return
        calls, orders = options["calls"], options["orders"]
        loaded = Platform.objects.filter(code=demo_history.PLATFORM).exists()
        if not (loaded and (calls or orders)):
            try:
                summary = demo.load_demo(orders=0, calls=0, stdout=self.stdout)
            except HotlineError as error:
                raise CommandError(error.message) from None
            audit.record("system.init", object_type="demo", detail={"summary": summary})
            self.stdout.write(self.style.SUCCESS("演示热线已载入。"))
        if calls or orders:
            try:
                history = demo_history.generate(
                    calls=calls, orders=orders, seed=options["seed"], stdout=self.stdout
                )
            except HotlineError as error:
                raise CommandError(error.message) from None
            audit.record("system.init", object_type="demo_history", detail={"summary": history})
            self.stdout.write(self.style.SUCCESS("演示历史数据已生成。"))
        print_logins(self.stdout)

    def _first_platform(self, options):
        if not options["platform_name"]:
            raise CommandError("请用 --platform-name 给出平台名称")
        try:
            platform = services.platform_create(
                actor=None,
                code=options["platform"].upper(),
                name=options["platform_name"],
                level=options["level"],
            )
        except HotlineError as error:
            raise CommandError(error.message) from None
        self.stdout.write(self.style.SUCCESS(f"已创建平台：{platform.name}（{platform.code}）"))
        self.stdout.write(
            "下一步：hotline createadmin 登录名 --role sys_admin（以及 sec_admin、audit_admin）"
        )


def print_logins(stdout) -> None:
    from hotline.core import demo
    from hotline.core.models import User

    if not User.objects.filter(username__in=[d["username"] for d in demo.DEMO_LOGINS]).exists():
        return
    stdout.write(f"\n演示账号（密码均为 {demo.DEMO_PASSWORD}）：")
    width = max(len(d["username"]) for d in demo.DEMO_LOGINS)
    for login in demo.DEMO_LOGINS:
        stdout.write(
            f"  {login['username']:<{width}}  {login['role_name']}  {login['display_name']}"
        )
