"""``hotline medianode``: run the SIP media node (IVR and queue for trunk calls)."""

import asyncio
import logging
import signal

from django.core.management.base import BaseCommand, CommandError

from hotline.telephony.link import WebSocketLink
from hotline.telephony.node import MediaNode, NodeConfig
from hotline.telephony.node_calls import node_token


class Command(BaseCommand):
    help = "运行语音媒体节点：SIP 中继呼入、IVR、排队（UDP）"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="0.0.0.0", help="SIP 监听地址")
        parser.add_argument("--port", type=int, default=5080, help="SIP 端口（默认 5080）")
        parser.add_argument("--media-ip", default="", help="SDP 中通告的媒体地址")
        parser.add_argument("--rtp", default="20000-21000", help="RTP 端口范围，如 20000-21000")
        parser.add_argument("--answer-delay", type=float, default=0.0, help="振铃秒数")
        parser.add_argument("--max-calls", type=int, default=200)
        parser.add_argument(
            "--trunk", default="", help="外呼中继（电话回拨），如 10.0.0.5:5060；不设则不外呼"
        )
        parser.add_argument(
            "--platform",
            default="",
            help="经 WebSocket 连接平台（分布式部署），如 ws://web1:8000/ws/medianode/；"
            "不设则直接访问数据库（嵌入式）",
        )
        parser.add_argument(
            "--token",
            default="",
            help="连接平台的节点令牌（在平台上运行 hotline medianode --print-token 查看）",
        )
        parser.add_argument(
            "--print-token", action="store_true", help="显示本平台的媒体节点令牌后退出"
        )
        parser.add_argument(
            "--audio-fork",
            default="",
            help="实时语音流：每通接通的电话的音频推送到此 WebSocket，如 ws://10.0.0.7:8090/asr",
        )

    def handle(self, *args, **options):
        if options["print_token"]:
            self.stdout.write(node_token())
            return
        platform = options["platform"]
        if platform and not platform.startswith(("ws://", "wss://")):
            raise CommandError("--platform 须为 ws:// 或 wss:// 开头的 WebSocket 地址")
        if platform and not options["token"]:
            raise CommandError("经 WebSocket 连接平台时须提供 --token")
        self.link = WebSocketLink(platform, options["token"]) if platform else None
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        fork = options["audio_fork"]
        if fork and not fork.startswith(("ws://", "wss://")):
            raise CommandError("--audio-fork 须为 ws:// 或 wss:// 开头的 WebSocket 地址")
        low, _, high = options["rtp"].partition("-")
        config = NodeConfig(
            host=options["host"],
            port=options["port"],
            media_ip=options["media_ip"],
            rtp_low=int(low),
            rtp_high=int(high or int(low) + 1000),
            answer_delay=options["answer_delay"],
            max_calls=options["max_calls"],
            trunk=options["trunk"],
            audio_fork=options["audio_fork"],
        )
        asyncio.run(self._serve(config))

    async def _serve(self, config: NodeConfig) -> None:
        node = MediaNode(config, self.link)
        await node.start()
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        self.stdout.write(
            f"媒体节点运行中：sip:12345@{node.address[0]}:{node.address[1]}（Ctrl+C 停止）"
        )
        await stopped.wait()
        await node.stop()
