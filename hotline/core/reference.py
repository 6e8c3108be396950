"""Reference documents generated from the declarations, so the docs cannot drift:
``make docs`` writes them, and a test fails when the checked-in copy is stale."""

from pathlib import Path

from .roles import PERMISSIONS, ROLES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def roles_markdown() -> str:
    lines = [
        "# 角色与权限 · Roles and permissions",
        "",
        "Generated from `hotline/core/roles.py` by `make docs`; do not edit by hand.",
        "",
        "三权分立（R-ORG-3）：系统管理员、安全管理员、审计管理员三种角色互斥，且须使用专用账号",
        "（不兼任业务角色）。数据库约束 `one_admin_role_per_user` 与 `services.role_assign` 共同保证。",
        "标注“专属”的权限只能属于对应的管理员角色；其余权限为安全管理员可调整的策略（下表为默认值）。",
        "",
        "## 角色",
        "",
        "| 代码 | 角色 | 职责 | 数据范围 | 默认权限 |",
        "|---|---|---|---|---|",
    ]
    for role in ROLES.values():
        scope = "本承办单位" if role.scope == "unit" else "本平台及下级平台"
        grants = "、".join(PERMISSIONS[c].name for c in role.default_grants)
        name = f"{role.name}（管理员）" if role.admin else role.name
        lines.append(f"| `{role.code}` | {name} | {role.description} | {scope} | {grants} |")
    lines += ["", "## 权限", "", "| 代码 | 权限 | 专属于 |", "|---|---|---|"]
    for permission in PERMISSIONS.values():
        owner = ROLES[permission.reserved_for].name if permission.reserved_for else "—"
        lines.append(f"| `{permission.code}` | {permission.name} | {owner} |")
    return "\n".join(lines) + "\n"


GENERATED = {"roles.md": roles_markdown}


def write_all() -> list[Path]:
    written = []
    for name, render in GENERATED.items():
        path = DOCS / name
        path.write_text(render(), encoding="utf-8")
        written.append(path)
    return written
