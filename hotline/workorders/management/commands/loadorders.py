"""hotline loadorders N: load N historical work orders fast (benchmarks, trials at
production volume). See hotline/workorders/bulk.py for what is written and what is not."""

from django.core.management.base import BaseCommand, CommandError

from hotline.core.management.commands._common import find_platform
from hotline.core.models import Platform
from hotline.workorders import bulk


class Command(BaseCommand):
    help = "批量载入历史工单（性能测试与大数据量试用；不写审计日志）"

    def add_arguments(self, parser):
        parser.add_argument("count", type=int, help="工单数量")
        parser.add_argument("--platform", help="平台代码，如 SY（只有一个平台时可省略）")
        parser.add_argument("--days", type=int, default=365, help="受理时间分布在最近多少天")
        parser.add_argument("--seed", type=int, default=12345, help="随机种子（相同种子相同数据）")
        parser.add_argument("--batch", type=int, default=10000, help="每批写入的工单数")

    def handle(self, *args, **options):
        count, days, batch = options["count"], options["days"], options["batch"]
        if not 1 <= count <= 10_000_000:
            raise CommandError("工单数量须在 1–10000000 之间")
        if not 1 <= days <= 3650:
            raise CommandError("天数须在 1–3650 之间")
        if not 100 <= batch <= 100_000:
            raise CommandError("每批数量须在 100–100000 之间")
        if not options["platform"] and Platform.objects.count() > 1:
            raise CommandError("有多个平台，请用 --platform 指定平台代码（如 SY）")
        platform = find_platform(options["platform"])
        try:
            result = bulk.load_orders(
                count,
                platform=platform,
                days=days,
                seed=options["seed"],
                batch=batch,
                progress=self.stdout.write,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        states = "、".join(f"{state} {n:,}" for state, n in sorted(result.states.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"完成：{result.orders:,} 件工单、{result.branches:,} 个承办分支、"
                f"{result.events:,} 条流转记录，用时 {result.seconds:.0f} 秒"
            )
        )
        self.stdout.write(f"各状态：{states}")
