"""hotline run: the embedded hotline — web (uvicorn, ASGI) and worker (Huey consumer
threads) in one process, so that worker events reach browsers over the in-process bus;
with ``--voice`` also a media node (SIP/RTP) on a thread and event loop of its own."""

import asyncio
import logging
import socket
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

logger = logging.getLogger("hotline.run")


class Command(BaseCommand):
    help = "启动热线平台（网页 + 后台任务，同一进程）"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="后台任务线程数")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="只启动网页（分布式部署时后台任务由 hotline worker 承担）",
        )
        parser.add_argument("--no-migrate", action="store_true")
        parser.add_argument(
            "--voice",
            type=int,
            nargs="?",
            const=5080,
            default=None,
            metavar="SIP端口",
            help="同时启动语音媒体节点（SIP 端口默认 5080）：软电话拨打 sip:12345@主机:端口",
        )

    def handle(self, *args, **options):
        import uvicorn

        if not 1 <= options["port"] <= 65535:
            raise CommandError("端口须在 1–65535 之间")
        self._check_port_free(options["host"], options["port"])
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        consumer = None if options["no_worker"] else self._start_worker(options["workers"])
        voice = None
        if options["voice"] is not None:
            voice = VoiceThread(options["host"], options["voice"])
        self._banner(options["host"], options["port"], consumer is not None, voice)
        config = uvicorn.Config(
            "hotline.asgi:application",
            host=options["host"],
            port=options["port"],
            lifespan="off",
            log_level="warning",
            proxy_headers=True,
            timeout_keep_alive=75,  # agents' desks stay open all day; as nginx's default
            ws="auto",
        )
        try:
            uvicorn.Server(config).run()
        finally:
            if voice is not None:
                voice.stop()
            if consumer is not None:
                consumer.stop(graceful=True)

    @staticmethod
    def _check_port_free(host: str, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                raise CommandError(f"端口 {port} 已被占用，请用 --port 指定其他端口") from None

    @staticmethod
    def _start_worker(workers: int):
        from huey.contrib.djhuey import HUEY

        from hotline.core.tasks import heartbeat_now

        consumer = HUEY.create_consumer(
            workers=workers, worker_type="thread", periodic=True, check_worker_health=True
        )
        consumer.start()
        heartbeat_now()  # report liveness at once rather than at the next whole minute
        return consumer

    def _banner(self, host: str, port: int, worker: bool, voice=None) -> None:
        from hotline.core.management.commands.init import print_logins

        url = f"http://{host}:{port}"
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(self.style.SUCCESS(f"\n{settings.HOTLINE_PLATFORM_NAME} 已启动：{url}"))
        self.stdout.write(
            f"数据库：{database}　消息总线：{'Redis' if settings.REDIS_URL else '进程内'}"
            f"　后台任务：{'同进程' if worker else '未启动'}"
        )
        if voice is not None:
            self.stdout.write(f"语音：软电话拨打 sip:12345@{voice.address}（UDP 或 TCP）")
        print_logins(self.stdout)
        self.stdout.write("\n按 Ctrl+C 停止。")


class VoiceThread:
    """The media node inside ``hotline run`` (embedded): its own thread and event loop,
    the database reached directly."""

    def __init__(self, host: str, port: int):
        from hotline.telephony.node import MediaNode, NodeConfig

        if not 1 <= port <= 65535:
            raise CommandError("SIP 端口须在 1–65535 之间")
        self.loop = asyncio.new_event_loop()
        self.node = MediaNode(NodeConfig(host=host, port=port))
        threading.Thread(target=self.loop.run_forever, name="medianode", daemon=True).start()
        try:
            asyncio.run_coroutine_threadsafe(self.node.start(), self.loop).result(30)
        except OSError:
            raise CommandError(f"SIP 端口 {port} 已被占用，请用 --voice 指定其他端口") from None
        self.address = f"{self.node.address[0]}:{self.node.address[1]}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.node.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
