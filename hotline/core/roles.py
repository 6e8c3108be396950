"""Roles and permissions, declared once (R-ORG-2, R-ORG-3).

Code, pages, docs and tests read these tables. A role is a fixed code; which
permissions each business role carries is a policy the security admin may edit
(``RolePermission`` rows, seeded from ``DEFAULT_GRANTS``). The three admin roles are
different: their permissions are *reserved* — fixed here, never grantable to another
role — and no account may hold two of them (三权分立), which the database enforces too.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Permission:
    code: str
    name: str  # Chinese label shown to the security admin
    reserved_for: str = ""  # admin role that alone may hold it; "" = grantable policy


@dataclass(frozen=True)
class Role:
    code: str
    name: str
    description: str
    admin: bool = False  # one of the three separated admin roles
    # Data scope: "unit" = own handling unit; "platform" = own platform and below.
    scope: str = "platform"
    default_grants: tuple[str, ...] = field(default_factory=tuple)


PERMISSIONS: dict[str, Permission] = {
    p.code: p
    for p in [
        # system admin (系统管理员): accounts, organisation, settings, calendar
        Permission("accounts.manage", "管理账号（新建、停用、重置密码、解锁）", "sys_admin"),
        Permission("org.manage", "维护组织架构（平台、承办单位、班组、技能组）", "sys_admin"),
        Permission("calendar.manage", "维护工作日历（节假日与调休）", "sys_admin"),
        # security admin (安全管理员): roles, permissions, policies
        Permission("roles.assign", "分配角色", "sec_admin"),
        Permission("permissions.manage", "配置角色权限", "sec_admin"),
        Permission("policy.manage", "配置安全策略（密码、锁定、会话超时）", "sec_admin"),
        # audit admin (审计管理员): reads the audit log, nothing else
        Permission("audit.read", "查阅审计日志", "audit_admin"),
        Permission("audit.export", "导出审计日志", "audit_admin"),
        # business permissions: a policy the security admin grants to roles
        Permission("phone.reveal", "查看完整电话号码（留痕）"),
        Permission("org.view", "查看组织架构与通讯录"),
        Permission("calendar.view", "查看工作日历"),
        Permission("workorders.view", "查看工单（按数据范围）"),
        Permission("workorders.create", "受理登记工单、即时答复"),
        Permission("workorders.dispatch", "派单与改派"),
        Permission("workorders.review", "审核退单、延期与办结，复核与归档"),
        Permission("workorders.urge", "催办（来电人催单）"),
        Permission("workorders.supervise", "督办"),
        Permission("workorders.cancel", "销单"),
        Permission("workorders.merge", "并单（重复诉求并入在办工单）"),
        Permission("workorders.callback", "回访评价"),
        Permission("workorders.handle", "签收、办理、答复本单位工单"),
        Permission("workorders.confidential", "查看保密件来电人信息"),
        Permission("kb.view", "查阅知识库、评价、收藏与查无纠错上报"),
        Permission("kb.edit", "采编知识（本单位维护的分类限于本单位）"),
        Permission("kb.review", "审核、发布与归档知识"),
        Permission("kb.manage", "维护知识分类与同义词"),
        Permission("kb.corrections", "处理查无纠错"),
        Permission("contact.handle", "接待来电与文字会话（签入、示闲示忙、接起、转接、小结）"),
        Permission("contact.supervise", "班长监控：强制示忙/示闲/签出、接收升级会话"),
        Permission("contact.configure", "配置排队路由（队列、服务时间、溢出、黑白名单）"),
    ]
}

ROLES: dict[str, Role] = {
    r.code: r
    for r in [
        Role(
            "agent",
            "话务员",
            "接听来电与文字会话，即时答复或登记工单",
            default_grants=(
                "org.view",
                "calendar.view",
                "workorders.view",
                "workorders.create",
                "workorders.urge",
                "workorders.merge",
                "kb.view",
                "contact.handle",
            ),
        ),
        Role(
            "team_leader",
            "值班长",
            "班组现场管理、坐席监控与质量把关",
            default_grants=(
                "org.view",
                "calendar.view",
                "phone.reveal",
                "workorders.view",
                "workorders.create",
                "workorders.dispatch",
                "workorders.review",
                "workorders.supervise",
                "workorders.cancel",
                "workorders.callback",
                "workorders.confidential",
                "workorders.urge",
                "workorders.merge",
                "kb.view",
                "contact.handle",
                "contact.supervise",
                "contact.configure",
            ),
        ),
        Role(
            "dispatcher",
            "派单员",
            "审核工单并派发至承办单位，处理退单与延期",
            default_grants=(
                "org.view",
                "calendar.view",
                "phone.reveal",
                "workorders.view",
                "workorders.create",
                "workorders.dispatch",
                "workorders.review",
                "workorders.supervise",
                "workorders.cancel",
                "workorders.confidential",
                "workorders.urge",
                "workorders.merge",
                "kb.view",
            ),
        ),
        Role(
            "callback",
            "回访员",
            "对办结工单进行回访与满意度评价",
            default_grants=(
                "org.view",
                "calendar.view",
                "phone.reveal",
                "workorders.view",
                "workorders.callback",
                "workorders.confidential",
                "kb.view",
            ),
        ),
        Role(
            "qa",
            "质检员",
            "录音与会话质检、评分与申诉处理",
            default_grants=(
                "org.view",
                "calendar.view",
                "workorders.view",
                "kb.view",
            ),
        ),
        Role(
            "kb_editor",
            "知识库管理员",
            "知识采编、审核与查无纠错处理",
            default_grants=(
                "org.view",
                "calendar.view",
                "workorders.view",
                "kb.view",
                "kb.edit",
                "kb.review",
                "kb.manage",
                "kb.corrections",
            ),
        ),
        Role(
            "analyst",
            "数据分析员",
            "指标统计、考核与报表分析",
            default_grants=(
                "org.view",
                "calendar.view",
                "workorders.view",
                "kb.view",
            ),
        ),
        Role(
            "trainer",
            "培训师",
            "培训课程与考试管理",
            default_grants=(
                "org.view",
                "calendar.view",
                "kb.view",
            ),
        ),
        Role(
            "manager",
            "项目经理",
            "热线运营管理与考核",
            default_grants=(
                "org.view",
                "calendar.view",
                "workorders.view",
                "workorders.supervise",
                "workorders.urge",
                "kb.view",
                "contact.supervise",
                "contact.configure",
            ),
        ),
        Role(
            "office",
            "热线办",
            "监管单位：查阅全部数据与考核结果",
            default_grants=(
                "org.view",
                "calendar.view",
                "workorders.view",
                "workorders.supervise",
                "workorders.urge",
                "kb.view",
            ),
        ),
        Role(
            "unit_handler",
            "承办单位人员",
            "签收、办理并答复本单位工单",
            scope="unit",
            default_grants=(
                "calendar.view",
                "workorders.view",
                "workorders.handle",
                "kb.view",
            ),
        ),
        Role(
            "sys_admin",
            "系统管理员",
            "账号、组织架构与工作日历",
            admin=True,
            default_grants=(
                "accounts.manage",
                "org.manage",
                "calendar.manage",
                "org.view",
                "calendar.view",
            ),
        ),
        Role(
            "sec_admin",
            "安全管理员",
            "角色分配、权限配置与安全策略",
            admin=True,
            default_grants=("roles.assign", "permissions.manage", "policy.manage", "org.view"),
        ),
        Role(
            "audit_admin",
            "审计管理员",
            "查阅与导出审计日志，不能修改任何数据",
            admin=True,
            default_grants=("audit.read", "audit.export"),
        ),
    ]
}

ADMIN_ROLES = tuple(code for code, role in ROLES.items() if role.admin)
ROLE_CHOICES = [(code, role.name) for code, role in ROLES.items()]


def grantable(role_code: str, permission_code: str) -> bool:
    """May this permission ever be granted to this role? Reserved ones stay with their admin."""
    permission = PERMISSIONS[permission_code]
    if permission.reserved_for:
        return permission.reserved_for == role_code
    # The admin roles carry only their own reserved permissions plus read-only basics.
    if ROLES[role_code].admin:
        return permission_code in ROLES[role_code].default_grants
    return True


def check_declarations() -> None:
    """The tables agree with themselves (run by tests and ``hotline check``)."""
    for role in ROLES.values():
        for code in role.default_grants:
            assert code in PERMISSIONS, f"{role.code}: unknown permission {code}"
            assert grantable(role.code, code), f"{role.code} cannot hold {code}"
    for permission in PERMISSIONS.values():
        if permission.reserved_for:
            assert ROLES[permission.reserved_for].admin
