"""docs/workorders.md, generated from the lifecycle and SLA declarations (`make docs`)."""

from hotline.core.roles import PERMISSIONS

from .lifecycle import ACTIONS, BRANCH_LABELS, STATE_LABELS, State, transitions
from .models import OrderType, SlaRule, Urgency
from .sla import DEFAULT_RULES

SIDE_NAMES = {"platform": "热线平台", "unit": "承办单位"}


def lifecycle_markdown() -> str:
    lines = [
        "# 工单流转 · Work-order lifecycle",
        "",
        "Generated from `hotline/workorders/lifecycle.py` and `sla.py` by `make docs`; do not",
        "edit by hand. Code (`services.perform`), this page and the hypothesis state-machine test",
        "all read the same table.",
        "",
        "## 状态图",
        "",
        "```mermaid",
        "stateDiagram-v2",
        "    [*] --> submitted: 受理",
        "    [*] --> completed: 即时答复",
    ]
    for source, action, target in transitions():
        if source != target:  # verbs that leave the state as it is are in the table below
            lines.append(f"    {source} --> {target}: {ACTIONS[action].label}")
    lines += [
        "    completed --> archived: 24 小时后自动归档",
        "```",
        "",
        "## 状态",
        "",
        "| 代码 | 状态 |",
        "|---|---|",
    ]
    lines += [f"| `{state.value}` | {STATE_LABELS[state]} |" for state in State]
    lines += [
        "",
        "承办分支（每个承办单位一条）的状态："
        + "、".join(f"`{code.value}` {label}" for code, label in BRANCH_LABELS.items())
        + "。",
        "",
        "## 操作",
        "",
        "| API 动作 | 名称 | 操作方 | 所需权限 | 状态变化 | 必填 |",
        "|---|---|---|---|---|---|",
    ]
    for action in ACTIONS.values():
        moves = "；".join(
            f"{STATE_LABELS[frm]} → {'不变' if frm == to else STATE_LABELS[to]}"
            for frm, to in sorted(action.edges)
        )
        fields = "、".join(f"`{f}`" for f in action.fields) or "—"
        lines.append(
            f"| `{action.code}` | {action.label} | {SIDE_NAMES[action.side]} | "
            f"{PERMISSIONS[action.permission].name} | {moves} | {fields} |"
        )
    types, urgencies = dict(OrderType.choices), dict(Urgency.choices)
    stages, measures = dict(SlaRule.Stage.choices), dict(SlaRule.Measure.choices)
    lines += [
        "",
        "## 默认时限（可在后台修改）",
        "",
        "同一环节按诉求类型、紧急程度或水电气暖匹配到的规则中取最严格的；都不匹配时用通用规则。",
        "因此提高紧急程度不会使时限变长。派单时限按 R-WO-10：08:00–17:00 受理的 1 小时内，其余次日 12:00 前。",
        "",
        "| 环节 | 诉求类型 | 紧急程度 | 水电气暖 | 时限 |",
        "|---|---|---|---|---|",
    ]
    for rule in DEFAULT_RULES:
        lines.append(
            f"| {stages[rule.stage]} | {types.get(rule.order_type, '任意')} | "
            f"{urgencies.get(rule.urgency, '任意')} | {'是' if rule.public_utility else '—'} | "
            f"{rule.amount} {measures[rule.measure]} |"
        )
    return "\n".join(lines) + "\n"
