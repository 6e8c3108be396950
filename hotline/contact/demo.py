"""The demo hotline's contact center: queues, the web-chat entry, agents' settings.

Registered in ``core.demo.DEMO_EXTENSIONS`` (apps.py). Agents stay signed out: an agent
signs in on the workbench, as on a real morning.
"""

from . import services

# (code, name, skill code or None, overflow to, overflow after seconds)
QUEUES = {
    "SY": [
        ("general", "综合咨询", None, None, 0),
        ("shebao", "社保医保", "shebao", "general", 60),
        ("gongjijin", "住房公积金", "gongjijin", "general", 60),
        ("lvyou", "旅游投诉", "lvyou", "general", 45),
        ("english", "英语服务", "english", "general", 120),
    ],
    "YZ": [("general", "崖州综合咨询", None, None, 0)],
}
WEBCHAT_ENTRY = ("web", "网页在线咨询")


def demo_contact(context: dict) -> None:
    """The DEMO_EXTENSIONS loader."""
    made = 0
    for platform_code, rows in QUEUES.items():
        platform = context["platforms"].get(platform_code)
        if platform is None:
            continue
        skills = context["skills"].get(platform_code, {})
        queues = {}
        for code, name, skill, overflow, after in rows:
            queues[code] = services.queue_create(
                actor=None,
                platform=platform,
                code=code,
                name=name,
                skill=skills.get(skill) if skill else None,
                overflow_queue=queues.get(overflow) if overflow else None,
                overflow_after_seconds=after,
            )
            made += 1
        services.channel_entry_create(
            actor=None,
            platform=platform,
            channel="webchat",
            code=WEBCHAT_ENTRY[0],
            name=WEBCHAT_ENTRY[1],
            queue=queues["general"],
        )
    context["created"]["contact_queues"] = made
    stdout = context.get("stdout")
    if stdout is not None:
        stdout.write(f"已建排队队列 {made} 个、网页在线咨询入口 /chat/SY/web/\n")
