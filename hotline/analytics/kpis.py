"""The KPI registry (指标库): every indicator of R-KPI declared once, as data.

Each :class:`Kpi` says what the indicator is (Chinese name, the formula as the seeds word
it, numerator and denominator), how it is read (unit, which direction is better, default
target), where it comes from (the seeds' scoring tables) and which stored facts it reads.
Variants on which the seeds differ are named parameters (:class:`Param`), never copies.
The one computation of each KPI lives in ``selectors.py``; the API, the pages, the
definitions page, ``docs/kpis.md``, the assessments and the wall all read this table.

Seeds: LD 乐东 (000 §八), SX 陕西 (001 附件), XC 西城 (002 §四), CM 澄迈 (003 §五),
SY 三亚 (004 §七).
"""

from dataclasses import dataclass, field
from enum import StrEnum


class Unit(StrEnum):
    RATE = "rate"  # a share in 0–1, shown as a percentage
    SECONDS = "seconds"
    COUNT = "count"


UNIT_LABELS = {Unit.RATE: "比率", Unit.SECONDS: "秒", Unit.COUNT: "数量"}

SEEDS = {
    "LD": "乐东（000 §八 考核标准）",
    "SX": "陕西（001 附件 考核指标）",
    "XC": "西城（002 §四 验收标准）",
    "CM": "澄迈（003 §五 服务考核项目）",
    "SY": "三亚（004 §七 考核标准）",
}

# The scope filters a KPI may be cut by (besides period and platform).
DIMENSION_LABELS = {"team": "班组", "agent": "坐席/经办人", "unit": "承办单位", "channel": "渠道"}


@dataclass(frozen=True)
class Param:
    """A named variant: ``choices`` lists (value, Chinese label) for a choice; a number
    parameter has no choices."""

    name: str
    label: str
    default: object
    choices: tuple[tuple[object, str], ...] = ()
    help: str = ""

    def parse(self, raw):
        """The parameter's value from text (a query string), or ValueError."""
        if isinstance(self.default, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"{self.label}应为 true 或 false")
        if isinstance(self.default, float):
            value = float(raw)
            if not 0 <= value <= 1:
                raise ValueError(f"{self.label}应在 0 至 1 之间")
            return value
        if isinstance(self.default, int):
            value = int(raw)
            if not 1 <= value <= 720:
                raise ValueError(f"{self.label}应在 1 至 720 之间")
            return value
        if self.choices and raw not in {value for value, _ in self.choices}:
            allowed = "、".join(f"{v}（{label}）" for v, label in self.choices)
            raise ValueError(f"{self.label}取值应为：{allowed}")
        return raw


@dataclass(frozen=True)
class Kpi:
    id: str
    name: str
    formula: str  # as the seeds word it
    numerator: str
    denominator: str
    unit: Unit
    higher_is_better: bool
    facts: tuple[str, ...]  # the stored records it is computed from
    seeds: tuple[str, ...]  # SEEDS codes
    target: float | None  # default target (None: no contract figure)
    dimensions: frozenset[str]  # of DIMENSION_LABELS
    requirement: str  # R-KPI item
    params: tuple[Param, ...] = ()
    seed_targets: dict[str, float] = field(default_factory=dict)
    seed_wording: dict[str, str] = field(default_factory=dict)  # a seed's own variant
    note: str = ""
    default_channels: tuple[str, ...] = ()  # when no channel is asked for

    @property
    def direction_label(self) -> str:
        return "越高越好" if self.higher_is_better else "越低越好"

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def met(self, value: float | None, target: float | None = None) -> bool | None:
        """Whether ``value`` reaches the target (None when either is unknown)."""
        target = self.target if target is None else target
        if value is None or target is None:
            return None
        return value >= target if self.higher_is_better else value <= target


SATISFIED_LEVELS = ("非常满意", "满意", "基本满意")
COUNT_BASIC = Param(
    "count_basic",
    "基本满意计入满意",
    True,
    help="true：非常满意＋满意＋基本满意（SX、SY）；false：仅“满意”及以上（CM）",
)

_CONTACT = "ContactFact（话务事实）"
_EVENT = "Event（工单流转记录）"
_ORDER = "WorkOrder（工单）"

KPI_LIST: list[Kpi] = [
    # --- contact center (R-KPI-1, 2) ---------------------------------------------------------
    Kpi(
        "answer_rate",
        "接通率",
        "接通率 = 人工应答总量 ÷ 人工服务请求总量（三亚：÷ 呼入总量）",
        "请求人工后被坐席接起的来电（会话）",
        "请求人工服务（进入排队）的来电；basis=inbound 时为全部呼入",
        Unit.RATE,
        True,
        (f"{_CONTACT} queued / offered / answered；按坐席时为 assigned / answered",),
        ("LD", "SX", "XC", "CM", "SY"),
        0.95,
        frozenset({"team", "agent", "channel"}),
        "R-KPI-1",
        params=(
            Param(
                "basis",
                "分母口径",
                "requested",
                (("requested", "人工服务请求总量"), ("inbound", "呼入总量（三亚）")),
                help="SY：接通率=平台人工应答总量÷呼入总量",
            ),
        ),
        seed_targets={"LD": 0.95, "SX": 0.95, "XC": 0.95, "CM": 0.95, "SY": 0.95},
        seed_wording={
            "SX": "座席接通的各条热线来电数量与接入座席的电话总量之比",
            "CM": "人工应答总量占人工服务请求总量比率",
            "SY": "接通率=平台人工应答总量÷呼入总量（basis=inbound）",
        },
        note="按坐席或班组统计时：分配给该坐席的来电中由其接起的比例（坐席接起率）。"
        "未指定渠道时统计语音来电。",
        default_channels=("voice",),
    ),
    Kpi(
        "avg_answer_seconds",
        "平均接通时长",
        "平均人工接通时长 = 呼入人工接通时长 ÷ 平台人工应答总量",
        "人工应答来电自请求人工至接起的等待秒数之和",
        "人工应答的来电数（每通来电计首次接起）",
        Unit.SECONDS,
        False,
        (f"{_CONTACT} answered（wait_seconds）",),
        ("LD", "SY"),
        15,
        frozenset({"team", "agent", "channel"}),
        "R-KPI-2",
        seed_targets={"LD": 15, "SY": 15},
        note="未指定渠道时统计语音来电。",
        default_channels=("voice",),
    ),
    Kpi(
        "abandon_rate",
        "呼损率（放弃率）",
        "放弃率 = 排队中放弃的来电 ÷ 请求人工服务的来电",
        "请求人工后、接起前来电人挂断（放弃）的来电",
        "请求人工服务（进入排队）的来电",
        Unit.RATE,
        False,
        (f"{_CONTACT} queued / abandoned",),
        ("SY",),
        None,
        frozenset({"channel"}),
        "R-KPI-1",
        note="接通率的补充：三亚要求保证“接通率、应答率、排除数等数据的真实性”。"
        "未指定渠道时统计语音来电。",
        default_channels=("voice",),
    ),
    Kpi(
        "contact_volume",
        "进线量",
        "进线量 = 统计期内进入平台的来电与文字会话数",
        "进线的会话数",
        "—",
        Unit.COUNT,
        True,
        (f"{_CONTACT} offered",),
        ("SY",),
        None,
        frozenset({"channel"}),
        "R-KPI-1",
        note="按渠道（语音、网页在线、微信、短信、邮件、微博、传真）分别统计即各渠道业务量；"
        "三亚按月呼入量是否达 16 万通决定接通率的计分规则。",
    ),
    Kpi(
        "first_response_rate",
        "首次响应达标率",
        "首次响应达标率 = 首次响应在时限内的文字会话 ÷ 得到首次响应的文字会话"
        "（GB/T 33358：在线渠道 3 分钟，邮件、传真 24 小时）",
        "首次人工响应在渠道时限内的文字会话",
        "得到首次人工响应的文字会话",
        Unit.RATE,
        True,
        (f"{_CONTACT} responded（wait_seconds 自进线起）",),
        (),
        None,
        frozenset({"team", "agent", "channel"}),
        "R-KPI-1",
        note="国家标准 GB/T 33358（R-STD-1）的要求，各合同未单列分值。",
    ),
    # --- work orders at the front desk (R-KPI-3) -------------------------------------------------
    Kpi(
        "instant_answer_rate",
        "即时答复率",
        "即时答复率 = 在话务前台一次性办结的咨询类工单数量 ÷ 咨询类工单总量",
        "前台即时答复（直接办结）的咨询类工单",
        "统计期内受理的咨询类工单",
        Unit.RATE,
        True,
        (f"{_ORDER} 咨询类、direct（即时答复）", f"{_EVENT} create"),
        ("LD", "SX", "CM", "SY"),
        0.70,
        frozenset({"team", "agent", "channel"}),
        "R-KPI-3",
        seed_targets={"LD": 0.70, "SX": 0.80, "CM": 0.70, "SY": 0.50},
        seed_wording={
            "SX": "在线答复率：省平台一次办结的咨询类工单数量÷咨询类工单总量",
            "CM": "咨询类诉求一次性解决率",
        },
        note="按坐席或班组统计时为受理人。",
    ),
    # --- callbacks and satisfaction (R-KPI-4, 5) ---------------------------------------------------
    Kpi(
        "ontime_callback_rate",
        "按时回访率",
        "按时回访率 = 按时回访次数 ÷ 回访次数",
        "按时完成的回访（口径见参数）",
        "统计期内的回访（口径见参数）",
        Unit.RATE,
        True,
        (f"{_EVENT} callback（late）、review-reply（审核通过时间）", f"{_ORDER} 状态历史"),
        ("LD", "CM", "SY"),
        1.0,
        frozenset({"team", "agent", "channel"}),
        "R-KPI-4",
        params=(
            Param(
                "rule",
                "口径",
                "sla",
                (
                    ("sla", "按回访时限（时限规则表）"),
                    ("24h", "办结后 24 小时内回访（澄迈）"),
                    ("previous_workday", "当日完成回访÷前一工作日待回访（三亚）"),
                ),
                help="sla：回访在回访时限内完成；24h：办结审核通过后 24 小时内回访；"
                "previous_workday：每个工作日，前一工作日结束时待回访的工单中至当日结束已回访的，"
                "按统计期内各工作日汇总",
            ),
        ),
        seed_targets={"CM": 1.0, "SY": 1.0},
        seed_wording={
            "CM": "工单 24 小时回访及时率（rule=24h）",
            "SY": "回访及时率=当日完成回访工单量（含改派单）/前一工作日总待回访工单量"
            "（rule=previous_workday）；按时回访率=按时回访次数÷回访次数（rule=sla）",
        },
        note="previous_workday 口径不按坐席统计（待回访工单尚未分配回访员）。",
    ),
    Kpi(
        "satisfaction_rate",
        "满意率",
        "满意率 =（非常满意＋满意＋基本满意）÷ 实际评价量；"
        "三亚：满意率 = 前台满意率×40% + 回访满意率×60%",
        "回访评价为满意的次数（口径见参数）",
        "回访的有效评价次数",
        Unit.RATE,
        True,
        (f"{_EVENT} callback（satisfaction）", "Session（会话）satisfaction（前台评价）"),
        ("LD", "SX", "SY"),
        0.96,
        frozenset({"unit", "channel"}),
        "R-KPI-5",
        params=(
            COUNT_BASIC,
            Param(
                "front_weight",
                "前台满意率权重",
                0.0,
                help="0：仅回访满意率；0.4：三亚 前台×40%＋回访×60%（此时不给出分子分母）",
            ),
        ),
        seed_targets={"LD": 0.96, "SX": 0.95, "SY": 0.95},
        seed_wording={"SY": "front_weight=0.4"},
        note="按承办单位统计时为其主办工单的回访评价。",
    ),
    Kpi(
        "frontdesk_satisfaction_rate",
        "前台服务满意率",
        "前台满意率 =（非常满意＋满意＋基本满意的评价数量）÷ 前台满意度有效评价量",
        "来电人对前台服务评价为满意的会话（口径见参数）",
        "来电人对前台服务作出评价的会话",
        Unit.RATE,
        True,
        ("Session（会话）satisfaction / satisfaction_at",),
        ("CM", "SY"),
        0.96,
        frozenset({"team", "agent", "channel"}),
        "R-KPI-5",
        params=(COUNT_BASIC,),
        seed_targets={"CM": 0.96, "SY": 0.95},
        seed_wording={"CM": "评分为“满意”及以上（count_basic=false）"},
    ),
    # --- dispatch, review, handling (R-KPI-6) ---------------------------------------------------
    Kpi(
        "dispatch_accuracy",
        "派单准确率",
        "派单准确率 = 1 −（合理退单数量 ÷ 派出工单总数）",
        "派出后未被合理退回（退单审核通过）的工单",
        "统计期内派出（派单、改派）的工单",
        Unit.RATE,
        True,
        (f"{_EVENT} dispatch / redispatch / review-return（approved）",),
        ("SX", "SY"),
        0.95,
        frozenset({"team", "agent"}),
        "R-KPI-6",
        seed_targets={"SX": 0.95, "SY": 0.95},
        note="按坐席统计时为派单人。",
    ),
    Kpi(
        "dispatch_timeliness_rate",
        "派单及时率",
        "派单及时率 = 每月及时派单工单数量 ÷ 每月应派单工单总数量（8–17 点工单 1 小时内派发，"
        "17 点至次日 8 点工单次日 12 点前派发）",
        "在派单时限内派出的工单",
        "派单时限落在统计期内、已派出或已逾期未派的工单",
        Unit.RATE,
        True,
        (f"{_ORDER} dispatch_due", f"{_EVENT} dispatch / create / review-return"),
        ("SX",),
        0.95,
        frozenset({"channel"}),
        "R-KPI-6",
        seed_targets={"SX": 0.95},
        note="退单后重新派单的工单按其最近一轮派单计（早先一轮的时限未单独记录）；"
        "要素不全而销单、并单的工单不计入。",
    ),
    Kpi(
        "review_timeliness_rate",
        "审核及时率",
        "审核及时率：对承办单位回复结果的审核在回复后 24 小时内完成",
        "在承办单位答复后规定小时数内完成的办结审核",
        "统计期内的办结审核",
        Unit.RATE,
        True,
        (f"{_EVENT} reply / review-reply",),
        ("SX",),
        0.70,
        frozenset({"team", "agent"}),
        "R-KPI-6",
        params=(Param("hours", "审核时限（小时）", 24),),
        seed_targets={"SX": 0.70},
        note="SX：滞后审核工单量超过当日应审核量的 30% 扣分，即及时率应不低于 70%。",
    ),
    Kpi(
        "sign_response_rate",
        "签收响应率",
        "签收响应率 = 已按时签收的工单数量 ÷ 已签收的工单量",
        "在签收时限内签收的分支",
        "统计期内的签收",
        Unit.RATE,
        True,
        (f"{_EVENT} sign（late）",),
        ("SY",),
        None,
        frozenset({"unit"}),
        "R-KPI-6",
        note="本平台承办单位部分；省平台转派给分平台的签收待省市联动（R-FED）记录后计入。",
    ),
    Kpi(
        "return_reasonable_rate",
        "合理退单率（承办单位）",
        "合理退单率 = 承办单位成功退单次数 ÷ 承办单位退单总次数",
        "审核同意的退单",
        "统计期内审核的退单",
        Unit.RATE,
        True,
        (f"{_EVENT} review-return（approved）",),
        ("SY",),
        None,
        frozenset({"unit"}),
        "R-KPI-6",
        note="三亚加权公式中承办单位部分（×4）；分平台向省平台退单部分（×6）待省市联动记录。",
    ),
    Kpi(
        "extension_reasonable_rate",
        "合理延期率（承办单位）",
        "合理延期率 = 承办单位成功申请延期的次数 ÷ 承办单位申请延期的次数",
        "审核同意的延期申请",
        "统计期内审核的延期申请",
        Unit.RATE,
        True,
        (f"{_EVENT} review-extension（approved）",),
        ("SY",),
        None,
        frozenset({"unit"}),
        "R-KPI-6",
        note="三亚加权公式中承办单位部分（×2）；分平台部分（×3）待省市联动记录。",
    ),
    Kpi(
        "ontime_completion_rate",
        "按时办结率",
        "按时办结率 = 转派工单中按时办结的工单量 ÷（办结工单量 + 在途逾期工单量）",
        "统计期内办结、且承办单位在办理时限内答复的转派工单",
        "统计期内办结的转派工单 ＋ 统计期末在途逾期的工单",
        Unit.RATE,
        True,
        (f"{_ORDER} dispatched_at / replied_at / handle_due / completed_at",),
        ("SY",),
        None,
        frozenset({"unit", "channel"}),
        "R-KPI-6",
        note="办理时限含审核通过的延期。",
    ),
    Kpi(
        "one_time_resolution_rate",
        "问题一次性解决率",
        "问题一次性解决率 = 转办工单中无复核办结件量 ÷ 转办工单办结件量",
        "统计期内办结、未经复核重办的转办工单",
        "统计期内办结的转办工单",
        Unit.RATE,
        True,
        (f"{_ORDER} reopen_count / completed_at", f"{_EVENT} reopen"),
        ("SY",),
        None,
        frozenset({"unit", "channel"}),
        "R-KPI-6",
    ),
    # --- workforce from the agent state log (R-KPI-7) -------------------------------------------
    Kpi(
        "work_time_utilization",
        "工时利用率",
        "工时利用率 = 在线工作时间 ÷ 排班时间",
        "示闲或处理会话（含分配、会话、整理、服务后示忙）的时长",
        "签入时长（排班表上线前以签入时长代替排班时间）",
        Unit.RATE,
        True,
        ("AgentStateInterval（坐席状态时段）",),
        ("SX",),
        0.71,
        frozenset({"team", "agent"}),
        "R-KPI-7",
        seed_targets={"SX": 0.71},
        note="排班（R-WFM）上线后分母改为排班时间。",
    ),
]

KPIS: dict[str, Kpi] = {k.id: k for k in KPI_LIST}

# R-KPI items whose facts the platform does not store yet: listed, never faked.
NOT_YET = [
    (
        "月流失率 / 半年流失率 / 年流失率、人员到达率",
        "R-KPI-8",
        "需人员档案（入职、离职）数据（R-WFM）",
    ),
    ("有理由投诉 / 有效投诉数与投诉率", "R-KPI-9", "需质检（QA）认定投诉的记录"),
    ("报告/数据提交及时率、突发事件响应及时率、故障上报及时率", "R-KPI-10", "需运维事件记录"),
    ("抽检达标率、工单质检准确率、答复准确率、质检合格率", "R-QA", "需质检抽检结果"),
    ("在职考试合格率", "R-TRN", "需培训考试成绩"),
    (
        "退单及时率（三亚）",
        "R-KPI-6",
        "需“以办结形式退单”的认定与退单时限：流转记录尚无此二项",
    ),
]


def check_declarations() -> None:
    assert len(KPIS) == len(KPI_LIST), "duplicate KPI id"
    for kpi in KPI_LIST:
        assert kpi.dimensions <= set(DIMENSION_LABELS), kpi.id
        assert set(kpi.seeds) <= set(SEEDS), kpi.id
        assert set(kpi.seed_targets) <= set(kpi.seeds), kpi.id
        for param in kpi.params:
            param.parse(param.default)


def markdown() -> str:
    """docs/kpis.md: the definitions, generated from this table."""
    lines = [
        "# 指标定义 · KPI definitions",
        "",
        "Generated from `hotline/analytics/kpis.py`; do not edit by hand (a test fails when",
        "this copy is stale: `python -c 'from hotline.analytics import kpis; kpis.write()'`).",
        "Each figure is computed in `hotline/analytics/selectors.py` from stored facts, for any",
        "period, platform and the scope filters listed; every figure drills down to its records",
        "(`GET /api/kpi/{id}/records`, page `/analytics/kpis/{id}/records`).",
        "",
        "Seeds: " + "; ".join(f"{code} {name}" for code, name in SEEDS.items()) + ".",
        "",
        "| id | 指标 | 单位 | 方向 | 默认目标 | 可按 | 来源 |",
        "|---|---|---|---|---|---|---|",
    ]
    for k in KPI_LIST:
        dims = "、".join(DIMENSION_LABELS[d] for d in DIMENSION_LABELS if d in k.dimensions)
        lines.append(
            f"| `{k.id}` | {k.name} | {UNIT_LABELS[k.unit]} | {k.direction_label} | "
            f"{format_target(k)} | {dims or '—'} | {'、'.join(k.seeds) or '国家标准'} |"
        )
    for k in KPI_LIST:
        lines += ["", f"## {k.name} `{k.id}`", "", f"- 公式：{k.formula}"]
        lines += [f"- 分子：{k.numerator}", f"- 分母：{k.denominator}"]
        lines += [f"- 数据：{'；'.join(k.facts)}", f"- 需求：{k.requirement}"]
        if k.seed_targets:
            per_seed = "，".join(f"{s} {format_number(k, v)}" for s, v in k.seed_targets.items())
            lines.append(f"- 各合同目标：{per_seed}")
        for seed, wording in k.seed_wording.items():
            lines.append(f"- {seed} 口径：{wording}")
        for p in k.params:
            choices = "；".join(f"`{v}` {label}" for v, label in p.choices)
            lines.append(
                f"- 参数 `{p.name}`（{p.label}，默认 `{p.default}`）："
                f"{choices or p.help}{'。' + p.help if choices and p.help else ''}"
            )
        if k.note:
            lines.append(f"- 说明：{k.note}")
    lines += [
        "",
        "## 尚无数据的指标",
        "",
        "These R-KPI items are not computed: the facts they need are not stored yet.",
        "",
        "| 指标 | 需求 | 缺少的数据 |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {req} | {needs} |" for name, req, needs in NOT_YET]
    return "\n".join(lines) + "\n"


def format_number(kpi: Kpi, value: float | None) -> str:
    """A value as people read it: 95.0%, 12.3 秒, 1,234."""
    if value is None:
        return "—"
    if kpi.unit == Unit.RATE:
        return f"{value * 100:.1f}%"
    if kpi.unit == Unit.SECONDS:
        return f"{value:.1f} 秒"
    return f"{value:,.0f}"


def format_target(kpi: Kpi) -> str:
    if kpi.target is None:
        return "—"
    sign = "≥" if kpi.higher_is_better else "≤"
    return f"{sign} {format_number(kpi, kpi.target)}"


def docs_path():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "docs" / "kpis.md"


def write() -> None:
    docs_path().write_text(markdown(), encoding="utf-8")
