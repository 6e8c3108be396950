"""hotline simulate: drive simulated citizens and agents through the real stack and print
one JSON object (offered, assigned, abandoned, lost, double_assigned, latencies …).
See hotline/contact/simulate.py."""

import json

from django.core.management.base import BaseCommand, CommandError

from hotline.contact import simulate
from hotline.core.errors import HotlineError


class Command(BaseCommand):
    help = "负载模拟：模拟来电人与坐席经真实的网页与 WebSocket 接入，核对无遗失、无重复分配"

    def add_arguments(self, parser):
        parser.add_argument("--channel", default="webchat", help="渠道（目前支持 webchat）")
        parser.add_argument("--contacts", type=int, default=200, help="来电人数")
        parser.add_argument("--agents", type=int, default=10, help="模拟坐席数")
        parser.add_argument("--capacity", type=int, default=5, help="每名坐席文字会话并发上限")
        arrivals = parser.add_mutually_exclusive_group()
        arrivals.add_argument(
            "--duration",
            type=float,
            help="来电人在多少秒内（泊松）到达；0 表示同时到达。默认 3600/加速倍数（一小时的话务量）",
        )
        arrivals.add_argument("--rate", type=float, help="或：每秒到达的来电人数（泊松）")
        parser.add_argument(
            "--abandon-after",
            type=float,
            help="排队超过约这么多秒（0.5–1.5 倍随机）的来电人放弃；不设则一直等待",
        )
        parser.add_argument(
            "--speedup",
            type=float,
            default=1.0,
            help="加速倍数：来电人与坐席的思考、输入时间除以此数",
        )
        parser.add_argument(
            "--messages", default="2-4", help="每位来电人发送的消息数，如 2-4（默认）或 3"
        )
        parser.add_argument(
            "--citizen-ends",
            type=float,
            default=0.3,
            help="由来电人结束会话的比例（其余由坐席结束）",
        )
        parser.add_argument("--platform", help="平台代码，如 SY")
        parser.add_argument("--entry", help="使用已有的网页在线接入代码（默认模拟器自建 sim-web）")
        parser.add_argument(
            "--url",
            action="append",
            default=[],
            help="已运行的热线服务地址（可多次指定，来电人与坐席分布其上）；不设则自动启动 hotline run",
        )
        parser.add_argument(
            "--in-process", action="store_true", help="在本进程内启动服务（uvicorn 线程）"
        )
        parser.add_argument("--timeout", type=float, help="最后一位来电人到达后最多再等多少秒")
        parser.add_argument("--seed", type=int, default=12345, help="随机种子")

    def handle(self, *args, **options):
        if options["channel"] != "webchat":
            raise CommandError("负载模拟目前只支持网页在线（webchat）渠道")
        low, _, high = options["messages"].partition("-")
        try:
            rounds = (int(low), int(high or low))
        except ValueError:
            raise CommandError("每位来电人的消息数须为数字或范围，如 3 或 2-4") from None
        plan = simulate.Plan(
            contacts=options["contacts"],
            agents=options["agents"],
            capacity=options["capacity"],
            duration=options["duration"],
            rate=options["rate"],
            abandon_after=options["abandon_after"],
            speedup=options["speedup"],
            rounds=rounds,
            citizen_ends=options["citizen_ends"],
            platform=options["platform"],
            entry=options["entry"],
            urls=options["url"],
            in_process=options["in_process"],
            timeout=options["timeout"],
            seed=options["seed"],
        )
        try:
            report = simulate.run(plan, progress=lambda text: self.stderr.write(text))
        except (simulate.SimulationError, HotlineError) as error:
            raise CommandError(str(getattr(error, "message", error))) from None
        self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
