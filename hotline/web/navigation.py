"""The navigation menu, declared as data: each entry says who sees it.

An entry is shown when the user holds one of its ``roles`` or one of its
``permissions`` (either list may be empty). Later capabilities add their entries here.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    icon: str  # name of an icon in web/static/img/icons.svg
    section: str = "工作台"
    roles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    everyone: bool = False

    def visible_to(self, user) -> bool:
        if self.everyone:
            return True
        if any(code in user.role_codes for code in self.roles):
            return True
        return any(user.can(p) for p in self.permissions)


BUSINESS = (
    "agent",
    "team_leader",
    "dispatcher",
    "callback",
    "qa",
    "kb_editor",
    "analyst",
    "trainer",
    "manager",
    "office",
    "unit_handler",
)

NAVIGATION: list[NavItem] = [
    NavItem("首页", "home", "home", everyone=True),
    NavItem("坐席工作台", "contact_desk", "headset", permissions=("contact.handle",)),
    NavItem("回拨任务", "contact_callbacks", "telephone-outbound", permissions=("contact.handle",)),
    NavItem("会话协助", "contact_assist", "people", roles=BUSINESS),
    NavItem("班长席", "contact_floor", "display", permissions=("contact.supervise",)),
    NavItem("录音查询", "voice_recordings", "mic", permissions=("contact.supervise",)),
    NavItem("受理登记", "order_create", "order_new", permissions=("workorders.create",)),
    NavItem("工单查询", "orders", "orders", permissions=("workorders.view",)),
    NavItem("派单台", "dispatch_desk", "dispatch", permissions=("workorders.dispatch",)),
    NavItem("本单位工单", "unit_portal", "inbox", permissions=("workorders.handle",)),
    NavItem("回访台", "callback_desk", "callback", permissions=("workorders.callback",)),
    NavItem("群组交互", "groups", "chat-dots", roles=("agent", "team_leader", "unit_handler")),
    NavItem("站内提醒", "notifications", "bell", everyone=True),
    # 知识库 › 知识检索与收藏
    NavItem("知识检索", "kb_search", "search", "知识库", permissions=("kb.view",)),
    NavItem("我的收藏", "kb_favorites", "star", "知识库", permissions=("kb.view",)),
    # 知识库 › 采编与审核
    NavItem(
        "知识采编",
        "kb_articles",
        "journal-richtext",
        "知识库",
        permissions=("kb.edit", "kb.review"),
    ),
    NavItem("待审核", "kb_review", "check2-square", "知识库", permissions=("kb.review",)),
    NavItem("批量导入", "kb_import", "file-earmark-arrow-up", "知识库", permissions=("kb.edit",)),
    NavItem(
        "知识分类", "kb_categories", "diagram-2", "知识库", permissions=("kb.manage", "kb.edit")
    ),
    # 知识库 › 查无纠错, 同义词, 汇编汇总
    NavItem("查无纠错", "kb_corrections", "flag", "知识库", permissions=("kb.corrections",)),
    NavItem("同义词", "kb_synonyms", "arrow-left-right", "知识库", permissions=("kb.manage",)),
    NavItem("知识汇编", "kb_compilations", "journal-bookmark", "知识库", permissions=("kb.view",)),
    NavItem(
        "自动分派规则",
        "dispatch_rules",
        "rules",
        section="组织",
        permissions=("workorders.dispatch",),
    ),
    NavItem(
        "IVR 流程",
        "voice_flows",
        "telephone-inbound",
        section="组织",
        permissions=("contact.configure",),
    ),
    NavItem("指标一览", "kpis", "chart", section="统计分析", permissions=("workorders.view",)),
    NavItem(
        "热点分析",
        "hot_topics",
        "graph-up-arrow",
        section="统计分析",
        roles=("analyst", "team_leader", "manager", "office"),
    ),
    NavItem(
        "统计报表",
        "reports",
        "file-earmark-bar-graph",
        section="统计分析",
        roles=("analyst", "team_leader", "manager", "office"),
    ),
    NavItem(
        "考核评分",
        "assessments",
        "clipboard-data",
        section="统计分析",
        permissions=("workorders.supervise",),
    ),
    NavItem(
        "监控大屏",
        "wall",
        "display",
        section="统计分析",
        permissions=("contact.supervise", "workorders.supervise"),
    ),
    NavItem("组织架构", "org", "org", section="组织", permissions=("org.view", "org.manage")),
    NavItem(
        "工作日历",
        "calendar",
        "calendar",
        section="组织",
        permissions=("calendar.view", "calendar.manage"),
    ),
    NavItem("账号管理", "accounts", "users", section="系统管理", permissions=("accounts.manage",)),
    NavItem("后台维护", "admin:index", "settings", section="系统管理", permissions=("org.manage",)),
    NavItem(
        "群组管理", "groups_manage", "chat-square-dots", "系统管理", permissions=("org.manage",)
    ),
    NavItem(
        "角色分配", "security_roles", "shield", section="安全管理", permissions=("roles.assign",)
    ),
    NavItem(
        "权限配置",
        "security_permissions",
        "key",
        section="安全管理",
        permissions=("permissions.manage",),
    ),
    NavItem(
        "安全策略", "security_policy", "lock", section="安全管理", permissions=("policy.manage",)
    ),
    NavItem("审计日志", "audit", "audit", section="审计", permissions=("audit.read",)),
    NavItem(
        "我的话机",
        "voice_phone",
        "telephone",
        section="我的",
        permissions=("contact.handle", "workorders.callback"),
    ),
    NavItem("个人设置", "profile", "user", section="我的", everyone=True),
]


def menu_for(user, path: str = "") -> list[tuple[str, list[dict]]]:
    """Sections with the entries this user may open, in declaration order. The entry
    for ``path`` is marked active: the one whose address is the longest prefix of it
    (``/orders/new/`` is 受理登记, not 工单查询; home only on ``/``)."""
    sections: dict[str, list[dict]] = {}
    for item in NAVIGATION:
        if not item.visible_to(user):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        sections.setdefault(item.section, []).append(
            {
                "label": item.label,
                "url": url,
                "icon": item.icon,
                "name": item.url_name,
                "active": False,
            }
        )
    entries = [entry for items in sections.values() for entry in items]
    matches = [
        e for e in entries if (path == "/" if e["url"] == "/" else path.startswith(e["url"]))
    ]
    if matches:
        max(matches, key=lambda e: len(e["url"]))["active"] = True
    return list(sections.items())
