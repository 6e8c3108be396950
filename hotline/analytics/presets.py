"""The five seeds' assessment schemes (考核方案) as data — read from their scoring tables:
LD 乐东 (000 §八), SX 陕西 (001 附件), XC 西城 (002 §四), CM 澄迈 (003 §五), SY 三亚 (004 §七).

Where a seed is silent (LD gives points but no scoring method; CM and SY say "每低一个百分点"
without saying how a partial point counts) the choice is written in the item's
``assumption`` and in docs/assessment.md; the rest is the seed's own words (``source``).
"""

from hotline.core.errors import NotFound

from .assessment import (
    Composite,
    DaysBelow,
    EventKind,
    Events,
    EventShare,
    Grade,
    Item,
    KpiMeasure,
    Linear,
    ManualValue,
    PassFail,
    PeriodKind,
    Proportional,
    Rounding,
    Scheme,
    Step,
    Switch,
)
from .kpis import Unit

CEIL, FLOOR = Rounding.CEIL, Rounding.FLOOR
PP = 0.01  # one percentage point

ANSWER = KpiMeasure("answer_rate")
ANSWER_INBOUND = KpiMeasure("answer_rate", (("basis", "inbound"),))
ANSWERED_INBOUND = KpiMeasure("answer_rate", (("basis", "inbound"),), part="numerator", noun="通")
INBOUND_VOICE = KpiMeasure("contact_volume", channel="voice", noun="通")
WAIT = KpiMeasure("avg_answer_seconds")
INSTANT = KpiMeasure("instant_answer_rate")
CALLBACK_SLA = KpiMeasure("ontime_callback_rate", (("rule", "sla"),))
CALLBACK_24H = KpiMeasure("ontime_callback_rate", (("rule", "24h"),))
CALLBACK_PREVIOUS_DAY = KpiMeasure("ontime_callback_rate", (("rule", "previous_workday"),))
SATISFACTION = KpiMeasure("satisfaction_rate")
SATISFACTION_SY = KpiMeasure("satisfaction_rate", (("front_weight", 0.4),))
FRONTDESK_CM = KpiMeasure("frontdesk_satisfaction_rate", (("count_basic", False),))
DISPATCH_ACCURACY = KpiMeasure("dispatch_accuracy")
DISPATCH_TIMELY = KpiMeasure("dispatch_timeliness_rate")
REVIEW_TIMELY = KpiMeasure("review_timeliness_rate")
UTILIZATION = KpiMeasure("work_time_utilization")

UNSAID_ROUNDING = "合同未写明不足一个百分点如何计，按“不足 1% 按 0% 计”处理"


def _plusminus(target: float, points: float, rounding=FLOOR) -> Linear:
    """每高（低）于目标一个百分点加（扣）``points`` 分."""
    return Linear(target, worse=Step(PP, points, rounding), better=Step(PP, points, rounding))


def _events(*kinds: EventKind, **options) -> Events:
    return Events(tuple(kinds), **options)


def K(code, label, points, upto=None, free_per_month=0) -> EventKind:  # noqa: N802
    return EventKind(code, label, points, upto, free_per_month)


# --- 乐东 (000 §八): 3 大项目 11 项具体指标 -------------------------------------------------------------

LD_METHOD = "乐东招标文件只给分值（“以合同约定为准”），计分方法套用同省澄迈（003 §五）"

LEDONG = Scheme(
    id="ledong",
    name="乐东县分平台考核标准",
    seed="000 §八 乐东",
    note="3 大项目 11 项具体指标，服务指标 65 分、保障指标 35 分、奖励指标 5 分。",
    items=(
        Item(
            "1",
            "接通率",
            7,
            _plusminus(0.95, 0.5),
            ANSWER,
            group="服务指标",
            source="接通率:95%(7 分) 考核话务接通能力",
            assumption=LD_METHOD + "：每高（低）1 个百分点加（扣）0.5 分；" + UNSAID_ROUNDING,
        ),
        Item(
            "2",
            "平均接通时长",
            8,
            Linear(15, higher_is_better=False, worse=Step(3, 1, FLOOR)),
            WAIT,
            group="服务指标",
            source="平均接通时长:15 秒 (8 分)",
            assumption="计分方法套用同省三亚（004 §七）：≤15 秒满分，每超出 3 秒扣 1 分",
        ),
        Item(
            "3",
            "即时答复率",
            15,
            _plusminus(0.70, 0.5),
            INSTANT,
            group="服务指标",
            source="即时答复率:70% (15分)",
            assumption=LD_METHOD,
        ),
        Item(
            "4",
            "按时回访率",
            10,
            Linear(1.0, worse=Step(PP, 0.5, FLOOR)),
            CALLBACK_SLA,
            group="服务指标",
            source="按时回访率(10分) 考核按时对工单进行回访情况",
            assumption="目标取 100%（指标库默认），" + LD_METHOD,
        ),
        Item(
            "5",
            "满意率",
            15,
            _plusminus(0.96, 0.5),
            SATISFACTION,
            group="服务指标",
            source="满意率:96%(15分)",
            assumption=LD_METHOD,
        ),
        Item(
            "6",
            "有理由投诉",
            10,
            _events(
                K("complaint", "有理由投诉", -1),
                K("serious", "经领导投诉、媒体曝光或造成不良社会影响的投诉", -2),
            ),
            group="服务指标",
            source="话务员…经质控评估认定确因服务态度差、业务能力低等问题造成投诉的数量",
            assumption=LD_METHOD,
        ),
        Item(
            "7",
            "岗位人员配备",
            10,
            _events(K("vacancy", "人员流失未及时补充", -1)),
            group="保障指标",
            source="考核人员流失快速补充能力,如有人员流失应尽快补充到位",
            assumption="未给计分方法：每发生一次扣 1 分，扣完为止（同澄迈保障类指标）",
        ),
        Item(
            "8",
            "常态报告/数据提交及时准确率",
            10,
            _events(K("late_report", "报告或数据未及时、准确提交", -1)),
            group="保障指标",
            source="常态报告/数据提交及时准确率:100%(10分)",
            assumption=LD_METHOD + "：每发生一次扣 1 分",
        ),
        Item(
            "9",
            "突发事件响应处置及时率",
            5,
            _events(K("late_response", "突发事件响应处置不及时", -1)),
            group="保障指标",
            source="突发事件响应处置及时率:100%(5分)",
            assumption=LD_METHOD + "：每发生一次扣 1 分",
        ),
        Item(
            "10",
            "运行维护指标",
            10,
            _events(K("fault", "故障排查维修不及时", -1)),
            group="保障指标",
            source="考核运行维护能力,能高效对发生软硬件设备故障进行排查维修",
            assumption=LD_METHOD + "：每次扣 1 分",
        ),
        Item(
            "11",
            "奖励指标",
            5,
            _events(
                K("praise", "来电、来信表扬感谢", 0.5),
                K("banner", "锦旗", 1),
                from_full=False,
                bonus_limit=5,
            ),
            group="奖励指标",
            source="来电人对话务员提供的服务表示非常满意,并来电、来信送锦旗等明确表扬的",
            assumption=LD_METHOD + "：来电、来信表扬每次加 0.5 分，锦旗每次加 1 分，最多加 5 分",
        ),
    ),
)


# --- 陕西 (001 附件): 服务质量考核细则, 5 大项 --------------------------------------------------------------

SHAANXI = Scheme(
    id="shaanxi",
    name="陕西12345热线平台服务质量考核细则",
    seed="001 附件 陕西",
    note="综合管理、服务能力、服务质量、技术保障、辅助全省热线发展五大项，另有附加项（加分、扣分）。"
    "“综合管理（20）”标题写 20 分，而其四项满分合计 15 分，按各项满分计（总分 100）。",
    items=(
        Item(
            "1.1",
            "队伍建设",
            5,
            _events(
                K("core_short", "核心管理团队少一人", -1),
                K("group_short", "某组人员不足导致服务水平下滑", -0.5),
            ),
            group="综合管理",
            source="核心管理团队人数不少于 4 人，每少一人扣 1 分；某组人员不足…每次扣 0.5 分",
        ),
        Item(
            "1.2",
            "管理制度与能力",
            5,
            _events(
                K("no_rules", "无管理制度与职责分工文件或未按制度安排工作", -0.5),
                K("late_report", "运营报告未按时提交或内容不全面", -1),
            ),
            group="综合管理",
            source="没有管理制度…扣0.5 分。没有按时提交运营报告或报告内容不全面的，扣 1 分",
        ),
        Item(
            "1.3",
            "话务员月流失率及替补时效",
            3,
            Composite(),
            group="综合管理",
            parts=(
                Item(
                    "1.3.1",
                    "月流失率",
                    3,
                    Linear(0.08, higher_is_better=False, worse=Step(PP, 0.5, FLOOR)),
                    ManualValue("月流失率"),
                    group="综合管理",
                    source="月流失率小于8%得满分；以 8%为基准，每增加 1%（不足 1%按 0%计算）扣 0.5 分",
                ),
                Item(
                    "1.3.2",
                    "替补时效",
                    0,
                    _events(K("late_refill", "流失人员超过 15 个工作日未填充（每延迟一天）", -0.5)),
                    group="综合管理",
                    floor=None,
                    source="流失人员承诺 15 个工作日内完成填充，每延迟一天扣 0.5 分",
                ),
            ),
        ),
        Item(
            "1.4",
            "沟通情况",
            2,
            _events(K("late_task", "工作安排超期未落实（每个工作日）", -0.5)),
            group="综合管理",
            source="如超过约定期限且未提前征得采购人同意，每超过一个工作日扣0.5 分",
        ),
        Item(
            "2.1",
            "派单及时率",
            5,
            Linear(0.95, worse=Step(PP, 1, CEIL)),
            DISPATCH_TIMELY,
            group="服务能力",
            source="派单及时率≧95%得满分；以 95% 为基数，每降低 1%（不足 1%按 1% 计算）扣 1 分",
        ),
        Item(
            "2.2",
            "审核及时率",
            5,
            DaysBelow(0.70, 1, "滞后审核工单量超过当日应审核量的 30%（当日审核及时率低于 70%）"),
            REVIEW_TIMELY,
            group="服务能力",
            source="对承办单位回复结果审核工作需在工单形成后24 小时内完成。"
            "滞后审核工单量超过当日应审核量的30%，扣 1 分",
            assumption="按日判断，每出现一日扣 1 分，扣完为止",
        ),
        Item(
            "2.3",
            "来电接通率",
            10,
            Linear(0.95, worse=Step(PP, 1, CEIL), better=Step(PP, 1, FLOOR)),
            ANSWER,
            group="服务能力",
            source="≧95%得 10 分；以 95%为基数，每增加 1%（不足 1%按 0%计算）加 1 分，"
            "每降低 1%（不足 1%按 1%计算） 扣 1 分",
        ),
        Item(
            "3.1",
            "派单准确率",
            10,
            Linear(0.95, worse=Step(PP, 1, CEIL)),
            DISPATCH_ACCURACY,
            group="服务质量",
            source="≧95%得满分；以 95%为基准，每降低 1%（不足 1%按 1%计算）扣 1 分",
        ),
        Item(
            "3.2",
            "在线答复率",
            5,
            Linear(0.80, worse=Step(PP, 0.5, FLOOR)),
            INSTANT,
            group="服务质量",
            source="以80%为目标值…达到或超过目标值…满分（5 分）；…每降低1%扣 0.5 分，扣完为止",
            assumption=UNSAID_ROUNDING,
        ),
        Item(
            "3.3",
            "团队态度满意率",
            5,
            Linear(0.95, worse=Step(PP, 0.5, FLOOR), bonus_at=(0.99, 1)),
            SATISFACTION,
            group="服务质量",
            cap=6,
            source="满意率需达到95%以上，否则，每降低 1%扣 0.5 分。满意率达到 99%以上的，加 1 分",
            assumption=UNSAID_ROUNDING,
        ),
        Item(
            "3.4",
            "工时利用率",
            5,
            Linear(0.71, worse=Step(PP, 1, CEIL)),
            UTILIZATION,
            group="服务质量",
            source="≧71%得满分；以 71%为基准，每降低 1%（不足 1%按 1%计算）扣 1 分",
        ),
        Item(
            "3.5",
            "工单质检准确率",
            5,
            Linear(0.80, worse=Step(0.10, 0.5, FLOOR)),
            ManualValue("工单质检准确率（抽检合格工单 ÷ 10）"),
            group="服务质量",
            source="≧80%得满分，每降低 10%扣 0.5 分",
            assumption="质检抽检结果尚未入库，按录入值计；不足 10% 按 0 计",
        ),
        Item(
            "3.6",
            "答复准确率",
            5,
            Linear(0.80, worse=Step(0.20, 1, FLOOR)),
            ManualValue("答复准确率（合格工单得分 ÷ 100）"),
            group="服务质量",
            source="≧80%得满分，每降低 20%扣 1 分",
            assumption="抽检结果尚未入库，按录入值计；不足 20% 按 0 计",
        ),
        Item(
            "4.1",
            "制度与日常运维",
            5,
            _events(
                K("no_safety_rules", "未建立安全风险管控及隐患排查制度等", -2),
                K("failed_check", "机房抽检不合格", -3),
            ),
            group="技术保障",
            source="…否则扣2 分。…抽检不合格的，每次扣 3 分",
        ),
        Item(
            "4.2",
            "紧急预案",
            5,
            _events(
                K("minor", "轻微影响（10 分钟内）", -1),
                K("moderate", "一般影响（10–30 分钟）", -2),
                K("severe", "严重影响（≥ 30 分钟）", -5),
            ),
            group="技术保障",
            source="受到轻微影响（10 分钟内）每次扣 1 分，一般影响…每次扣 2 分，严重影响…扣 5 分",
        ),
        Item(
            "5.1",
            "数据分析",
            8,
            _events(K("late_monthly", "未按时提交月报", -1)),
            group="辅助全省热线发展",
            source="未按照时间节点提交月报的，每次扣1 分",
        ),
        Item(
            "5.2",
            "业务拨测完成率",
            5,
            Proportional(),
            ManualValue("月度业务拨测完成率"),
            group="辅助全省热线发展",
            source="制定全省月度业务拨测计划，20条/市（区）…得分=标准分*完成率",
        ),
        Item(
            "5.3",
            "市（区）工单抽检完成率",
            5,
            Proportional(),
            ManualValue("市（区）工单抽检完成率"),
            group="辅助全省热线发展",
            source="每月随机抽检市（区）12345热线工单100条…得分=标准分*完成率",
        ),
        Item(
            "5.4",
            "热线大讲堂保障",
            2,
            _events(K("training_missed", "未按时组织全省热线培训或保障不足", -2)),
            group="辅助全省热线发展",
            source="未按时组织全省热线培训或保障不足的，扣2 分",
        ),
        Item(
            "6.1",
            "加分项",
            0,
            _events(
                K("idea", "创新性意见被采纳", 1, upto=5),
                K("training_given", "应邀输出业务或服务培训", 1),
                K("praise", "群众表扬或感谢并经查属实", 1),
                K("high_praise", "受到省级及以上单位、领导或媒体表扬", 10),
                K("meeting", "会议支撑评价 90 分以上", 1),
                K("other_work", "其他工作获省政务服务中心主任认可", 0.5),
                from_full=False,
            ),
            group="附加项（全年累计）",
            floor=None,
            source="视意见宝贵程度加1-5 分不等；每次加1分；…每次加 10 分；…每次加0.5 分",
        ),
        Item(
            "6.2",
            "扣分项",
            0,
            _events(
                K("major_mistake", "项目经理工作疏忽导致重大问题", -5),
                K("criticism_local", "省级以下单位、领导或媒体批评或报道", -10),
                K("criticism_province", "省级单位、领导或媒体批评或报道", -20),
                K("criticism_national", "国家级单位、领导或媒体批评或报道", -50),
                K("complaint", "客户有效投诉", -2),
                K("fraud", "弄虚作假", -5),
            ),
            group="附加项（全年累计）",
            floor=None,
            source="每次扣5 分；…每次扣10 分；…每次扣 20 分；…每次扣 50分；每件扣2 分；每次扣5 分",
        ),
    ),
)


# --- 西城 (002 §四): 验收标准, 9 项指标达标制 --------------------------------------------------------------

QUARTERLY = frozenset({PeriodKind.QUARTER, PeriodKind.YEAR})


def _xc(code, name, measure, target, *, lower=False, periods=None, source="", assumption=""):
    return Item(
        code,
        name,
        1,
        PassFail(target, higher_is_better=not lower),
        measure,
        group="验收指标",
        periods=periods or frozenset(PeriodKind),
        source=source,
        assumption=assumption,
    )


XC_MANUAL = "该数据平台尚未记录，按录入值（须佐证、审核）计"

XICHENG = Scheme(
    id="xicheng",
    name="西城区政务服务业务咨询电话验收标准",
    seed="002 §四 西城",
    note="9 项指标逐项达标制（月度或季度考核），合同未设分值：每项达标计 1 分，"
    "全部达标为“合格”，否则为“不合格”；费用按合同约定的时间节点支付，不与分数挂钩。",
    pass_all=("合格", "不合格"),
    items=(
        _xc("1", "人工接通率", ANSWER, 0.95, periods=QUARTERLY, source="人工接通率 ≥95%，季度考核"),
        _xc(
            "2",
            "系统故障上报及时率",
            ManualValue("系统故障上报及时率"),
            1.0,
            source="系统故障上报及时率 100%，月度考核",
            assumption=XC_MANUAL,
        ),
        _xc(
            "3",
            "在职考试合格率",
            ManualValue("在职考试合格率"),
            0.95,
            source="在职考试合格率 ≥95%，月度考核",
            assumption=XC_MANUAL,
        ),
        _xc(
            "4",
            "人员到达率",
            ManualValue("正式人员到达率"),
            0.90,
            periods=QUARTERLY,
            source="正式人员到达率 ≥90%，季度考核",
            assumption=XC_MANUAL,
        ),
        _xc(
            "5",
            "业务解答准确率",
            ManualValue("业务解答准确率"),
            0.95,
            source="业务解答准确率 ≥95%，月度考核",
            assumption=XC_MANUAL,
        ),
        _xc(
            "6",
            "时效性问题处置及时率",
            ManualValue("时效性问题处置及时率（30 分钟内）"),
            1.0,
            source="时效性问题处置及时率为 100%（30 分钟内/次），月度考核",
            assumption=XC_MANUAL,
        ),
        _xc(
            "7",
            "转接转办及时准确率",
            DISPATCH_ACCURACY,
            0.95,
            source="转接转办及时准确率 ≥95%，月度考核",
            assumption="按派单准确率（1 − 合理退单 ÷ 派出工单）计",
        ),
        Item(
            "8",
            "有效投诉率",
            1,
            PassFail(0.0003, higher_is_better=False),
            EventShare(ANSWERED_INBOUND, "有效投诉 ÷ 人工应答量"),
            group="验收指标",
            source="有效投诉率 ≤0.03%，月度考核",
            assumption="有效投诉逐件录入（须佐证、审核），除以系统记录的人工应答量",
        ),
        _xc(
            "9",
            "质检合格率",
            ManualValue("质检合格率"),
            0.95,
            source="质检合格率 ≥95%，月度考核",
            assumption=XC_MANUAL,
        ),
    ),
)
# 有效投诉 are entered one by one on item 8.
XC_COMPLAINT = K("complaint", "有效投诉", 0)


# --- 澄迈 (003 §五): 服务考核项目和评分标准 ----------------------------------------------------------------

CM_ROUNDING = UNSAID_ROUNDING + "（加分同理）"

CHENGMAI = Scheme(
    id="chengmai",
    name="澄迈县服务考核项目和评分标准",
    seed="003 §五 澄迈",
    note="服务指标 65 分、人员保障 10 分、日常工作完成 15 分、运行维护 10 分，另有奖励指标最多加 5 分；"
    "合同金额 40% 按季度考核结果、10% 按年度考核结果支付，未约定等次与比例。",
    items=(
        Item(
            "1.1",
            "接通率",
            15,
            _plusminus(0.95, 0.5),
            ANSWER,
            group="服务指标",
            source="接通率：95%（15 分）…每高（低）于指标值一个百分点加（扣）0.5 分",
            assumption=CM_ROUNDING,
        ),
        Item(
            "1.2",
            "咨询类诉求一次性解决率",
            15,
            _plusminus(0.70, 0.5),
            INSTANT,
            group="服务指标",
            source="咨询类诉求一次性解决率：70%（15 分）…每高（低）于指标值一个百分点加（扣）0.5 分",
            assumption=CM_ROUNDING,
        ),
        Item(
            "1.3",
            "工单 24 小时回访及时率",
            10,
            _plusminus(1.0, 0.5),
            CALLBACK_24H,
            group="服务指标",
            source="工单 24 小时回访及时率：100%（10 分）…每高（低）于指标值一个百分点加（扣）0.5 分",
            assumption=CM_ROUNDING,
        ),
        Item(
            "1.4",
            "前台服务满意率",
            15,
            _plusminus(0.96, 0.5),
            FRONTDESK_CM,
            group="服务指标",
            source="前台服务满意率：96%（15 分）…评分为“满意”及以上的",
            assumption=CM_ROUNDING,
        ),
        Item(
            "1.5",
            "有理由投诉",
            10,
            _events(
                K("complaint", "有理由投诉", -1),
                K("serious", "经领导投诉、媒体曝光或造成不良社会影响", -2),
            ),
            group="服务指标",
            source="每发生一次有理由投诉，扣 1分，如经相关领导投诉、媒体曝光或造成不良社会影响的，"
            "每次扣 2 分，扣完为止",
        ),
        Item(
            "2.1",
            "服务团队人员半年流失率",
            10,
            Linear(0.10, higher_is_better=False, worse=Step(PP, 0.5, FLOOR)),
            ManualValue("半年流失率"),
            group="人员保障指标",
            source="半年流失率：10%（10 分）…高于指标值一个百分点扣 0.5 分，以此类推，扣完为止",
            assumption="人员档案尚未入库，按录入值计；" + UNSAID_ROUNDING,
        ),
        Item(
            "3.1",
            "常态报告/数据提交准确率",
            10,
            _events(K("report_error", "报告或数据提交不及时、不准确", -1)),
            group="日常工作完成指标",
            source="每发生一次扣 1分，扣完为止",
        ),
        Item(
            "3.2",
            "突发事件响应处置及时率",
            5,
            _events(K("late_response", "响应处置不及时造成后续影响或后果", -1)),
            group="日常工作完成指标",
            source="每发生一次因响应处置不及时造成后续影响或后果的扣 1分，扣完为止",
        ),
        Item(
            "4",
            "运行维护指标",
            10,
            _events(K("fault", "未履行运维服务故障处理要求", -1)),
            group="运行维护指标",
            source="未能履行合同…关于故障处理要求的，每次扣 1 分，扣完为止",
        ),
        Item(
            "5",
            "奖励指标",
            5,
            _events(
                K("praise", "来电、来信表扬感谢", 0.5),
                K("banner", "锦旗", 1),
                from_full=False,
                bonus_limit=5,
            ),
            group="奖励指标（加分项）",
            source="每获得来电、来信表扬感谢 1次，经核实可加 0.5 分，每获得锦旗 1 次，经核实可加 1分，"
            "最多加 5分",
        ),
    ),
)


# --- 三亚 (004 §七): 17 项，总分值 110 分 ------------------------------------------------------------------

SY_PROPORTIONAL = "合同只给出比率公式，按“得分 = 分值 × 比率”计"

SANYA = Scheme(
    id="sanya",
    name="三亚12345热线运营考核标准",
    seed="004 §七 三亚",
    note="17 项，总分值 110 分；每年考核一次（亦可按月、季查看）。",
    grades=(
        Grade("优秀", 90, 0.10),
        Grade("良好", 80, 0.10),
        Grade("合格", 60, 0.05),
        Grade("不合格", float("-inf"), 0.0),
    ),
    payment_note="合同 10% 费用作为考核绩效：良好及以上支付 10%，合格支付 5%，不合格不支付",
    items=(
        Item(
            "1",
            "接通率",
            10,
            Switch(
                volume=INBOUND_VOICE,
                threshold=160_000,
                low=ANSWER_INBOUND,
                low_rule=_plusminus(0.95, 0.5),
                high=ANSWERED_INBOUND,
                high_rule=Linear(
                    144_000,
                    worse=Step(10_000, 0.5, FLOOR),
                    better=Step(10_000, 0.5, FLOOR, limit=5),
                ),
            ),
            source="月呼入量为16万通以下的（不含16万通）…接通率每高于95%一个百分点加0.5分，"
            "每低于95%一个百分点扣0.5分，扣完为止。月呼入量超过16万通以上时，以月接通量14.4万通为基数，"
            "每接通超出1万通电话，加0.5分，最高加5分。每减少一万通扣0.5分，扣完为止",
            assumption="接通率 = 平台人工应答总量 ÷ 呼入总量（语音）；"
            + UNSAID_ROUNDING
            + "，不足 1 万通按 0 计；季度、年度按月均呼入量与月均接通量判断",
        ),
        Item(
            "2",
            "平均接通时长",
            5,
            Linear(15, higher_is_better=False, worse=Step(3, 1, FLOOR)),
            WAIT,
            source="若接通时长≤15s，则接通时长为满分；若接通时长≥15s，每超出3s则扣减1分，扣完为止",
            assumption="不足 3 秒按 0 计",
        ),
        Item(
            "3",
            "响应率",
            10,
            Composite(),
            parts=(
                Item(
                    "3.1",
                    "故障响应",
                    2,
                    _events(
                        K("late", "超时不予响应提出解决措施", -0.5),
                        K("serious", "造成严重后果（视情节轻重）", -0.5, upto=-2),
                    ),
                    source="如超时不予响应提出解决措施每次扣减0.5分，造成严重后果…视情节轻重进行扣罚，扣完为止",
                ),
                Item(
                    "3.2",
                    "运维响应",
                    2,
                    _events(
                        K("late_report", "维护报告超时提供", -0.5),
                        K("serious", "功能改造超时造成严重后果", -2),
                    ),
                    source="不按时提供维护报告，每超时提供一次扣0.5分；如超时不完成功能改造…造成严重后果，扣完为止",
                ),
                Item(
                    "3.3",
                    "签收响应率",
                    5,
                    Proportional(),
                    KpiMeasure("sign_response_rate"),
                    source="签收响应率=（分平台已按时签收…+分平台承办单位已按时签收…）÷（…已签收…）",
                    assumption=SY_PROPORTIONAL
                    + "；目前计承办单位签收（省平台转派部分待省市联动记录）",
                ),
                Item(
                    "3.4",
                    "超期工单反馈率",
                    1,
                    _events(K("no_warning", "未提供预警工单", -0.1)),
                    source="未提供预警工单1次扣0.1分，扣完为止",
                ),
            ),
        ),
        Item(
            "4",
            "退单及时率",
            5,
            Proportional(),
            ManualValue("退单及时率"),
            source="1-（以办结形式退单的工单量+超时退单工单量）÷退单工单总量",
            assumption=SY_PROPORTIONAL + "；“以办结形式退单”尚无记录，按录入值计",
        ),
        Item(
            "5",
            "即时答复率",
            5,
            Linear(0.50, worse=Step(PP, 0.2, FLOOR)),
            INSTANT,
            source="以 50%为目标值…达到或超过目标值，则即时答复率为满分；…每低 1%则减 0.2 分，扣完为止",
            assumption=UNSAID_ROUNDING,
        ),
        Item(
            "6",
            "按时办结率",
            5,
            Proportional(),
            KpiMeasure("ontime_completion_rate"),
            source="按时办结率=分平台转派工单中按时办结的工单量÷（办结工单量+在途逾期工单量）",
            assumption=SY_PROPORTIONAL,
        ),
        Item(
            "7",
            "抽检达标率",
            5,
            Proportional(),
            ManualValue("抽检达标率"),
            source="抽检达标率=1-（抽检中发现的问题工单数量÷抽检工单总量）",
            assumption=SY_PROPORTIONAL + "；抽检结果尚未入库，按录入值计",
        ),
        Item(
            "8",
            "满意率",
            10,
            Proportional(),
            SATISFACTION_SY,
            source="满意率=前台满意率×40%+回访满意率×60%",
            assumption=SY_PROPORTIONAL,
        ),
        Item(
            "9",
            "按时回访率",
            5,
            Proportional(),
            CALLBACK_SLA,
            source="按时回访率=分平台按时回访次数÷分平台回访次数",
            assumption=SY_PROPORTIONAL,
        ),
        Item(
            "10",
            "合理延期率",
            5,
            Proportional(),
            KpiMeasure("extension_reasonable_rate"),
            source="合理延期率=（承办单位成功申请延期÷申请延期）×2+（分平台成功申请延期÷申请延期）×3",
            assumption=SY_PROPORTIONAL + "；目前计承办单位部分（分平台部分待省市联动记录）",
        ),
        Item(
            "11",
            "问题一次性解决率",
            5,
            Proportional(),
            KpiMeasure("one_time_resolution_rate"),
            source="问题一次性解决率=转办工单中无复核办结件量÷转办工单办结件量",
            assumption=SY_PROPORTIONAL,
        ),
        Item(
            "12",
            "合理退单率",
            5,
            Proportional(),
            KpiMeasure("return_reasonable_rate"),
            source="合理退单率=（承办单位成功退单次数÷退单总次数）×4+（分平台成功退单次数÷退单总次数）×6",
            assumption=SY_PROPORTIONAL + "；目前计承办单位部分（分平台部分待省市联动记录）",
        ),
        Item(
            "13",
            "投诉率",
            10,
            _events(
                K("complaint", "客户有效投诉", -1, free_per_month=3),
                K("bad_effect", "投诉造成不良影响（视情节轻重）", -2, upto=-10),
                K("media_national", "国家级媒体舆情", -3),
                K("media_province", "省级媒体舆情", -2),
                K("media_city", "市级媒体舆情", -1),
                K("instruction", "网信办、信访局、省市领导整改批示", -1, upto=-3),
            ),
            source="客户有效投诉的次数每月累计≤3 件，超过第 3 次，每一次投诉扣 1 分…扣完为止；"
            "如造成不良影响的，视情节轻重每次扣 2-10 分；国家级媒体扣 3 分，省级媒体扣 2 分，市级媒体扣 1 分；"
            "…整改批示…扣 1 至 3 分",
        ),
        Item(
            "14",
            "派单准确率",
            5,
            _plusminus(0.95, 0.5),
            DISPATCH_ACCURACY,
            source="派单准确率达 95%…低于一个百分点扣 0.5 分，每高于一个百分点加 0.5",
            assumption=UNSAID_ROUNDING,
        ),
        Item(
            "15",
            "工单回访及时率",
            5,
            Linear(1.0, worse=Step(PP, 0.5, FLOOR)),
            CALLBACK_PREVIOUS_DAY,
            source="回访及时率=当日完成回访工单量（含改派单）/前一工作日总待回访工单量，"
            "平均工单回访率每低于一个百分点扣 0.5 分，以此类推，扣完为止",
            assumption=UNSAID_ROUNDING
            + "；“回访员人均 20 单/小时”的替代口径需回访员工时，暂未采用",
        ),
        Item(
            "16",
            "人员流失率",
            5,
            Linear(0.30, higher_is_better=False, worse=Step(PP, 1, FLOOR)),
            ManualValue("人员流失率（不含未满 1 年、主动清退）"),
            source="人员流失率不高于 30%…每高于 1%，扣 1 分",
            assumption="乙方按季度提供、审核后计；" + UNSAID_ROUNDING,
        ),
        Item(
            "17",
            "附加项",
            10,
            Composite(),
            floor=None,
            parts=(
                Item(
                    "17.1",
                    "业务管理",
                    4,
                    _events(
                        K("innovation", "创新工作机制、管理规范", 1),
                        K("publicity", "宣传推广", 1),
                        K("data_report", "专业化数据分析报表报告", 1),
                        from_full=False,
                        bonus_limit=4,
                    ),
                    source="…经甲方认定，每项加 1 分…最高加 5 分",
                    assumption="标题为 4 分而正文写“最高加 5 分”，按 4 分计（17 项合计 110 分）",
                ),
                Item(
                    "17.2",
                    "活动管理",
                    2,
                    _events(
                        K("activity", "参加热线办组织的活动", 0.2),
                        K("honour", "获得团体荣誉、社会评价", 0.2),
                        K("absent", "无故不配合参加活动", -0.2),
                        from_full=False,
                        bonus_limit=2,
                        deduct_limit=2,
                    ),
                    floor=None,
                    source="每次加 0.2 分；…最高加 2 分，无故不配合参加…每次扣 0.2 分，最高扣 2 分",
                ),
                Item(
                    "17.3",
                    "表扬管理",
                    3,
                    _events(
                        K("media_national", "国家级媒体表扬", 2),
                        K("media_province", "省级媒体表扬", 1),
                        K("media_city", "市级媒体表扬", 0.5),
                        K("leader_national", "国家级领导批示表扬或荣誉", 4),
                        K("leader_province", "省级领导批示表扬或荣誉", 2),
                        K("leader_city", "市级领导批示表扬或荣誉", 1),
                        K("third_party", "第三方评估荣誉", 1),
                        K("banner", "市民送锦旗", 0.05),
                        K("praise_call", "市民来电表扬", 0.05),
                        from_full=False,
                        bonus_limit=3,
                    ),
                    source="国家级媒体加 2 分…市民送锦旗每次加 0.05 分；市民来电表扬每次加 0.05 分。最高加 3 分",
                ),
                Item(
                    "17.4",
                    "年度奖项",
                    0,
                    _events(
                        K("award_national", "国家级年度奖项", 0.4),
                        K("award_province", "省级年度奖项", 0.2),
                        K("award_city", "市级年度奖项", 0.1),
                        from_full=False,
                    ),
                    periods=frozenset({PeriodKind.YEAR}),
                    source="荣获年度奖项的，在年度考核总分的基础上…国家级加 0.4 分，省级加 0.2 分，市级加 0.1 分",
                ),
                Item(
                    "17.5",
                    "讲解管理",
                    1,
                    _events(
                        K("guide", "接待讲解", 0.2),
                        K("inspection", "配合迎检", 0.2),
                        from_full=False,
                        bonus_limit=1,
                    ),
                    source="每次加 0.2 分。安排人员配合迎检，每次加 0.2 分。最高加 1 分",
                ),
            ),
        ),
    ),
)

SCHEMES: dict[str, Scheme] = {s.id: s for s in (LEDONG, SHAANXI, XICHENG, CHENGMAI, SANYA)}


def get_scheme(scheme_id: str) -> Scheme:
    scheme = SCHEMES.get(scheme_id)
    if scheme is None:
        names = "、".join(SCHEMES)
        raise NotFound(f"没有这个考核方案：{scheme_id}（可选：{names}）")
    return scheme


def event_kinds(scheme: Scheme, item: Item) -> tuple:
    """The kinds of events an item takes (XC 有效投诉率 counts complaints)."""
    if isinstance(item.rule, Events):
        return item.rule.kinds
    if isinstance(item.measure, EventShare):
        return (XC_COMPLAINT,)
    return ()


def check_declarations() -> None:
    """The presets agree with their seeds' totals and with the KPI registry."""
    from .assessment import measures_of
    from .kpis import KPIS

    assert len(SANYA.items) == 17 and SANYA.nominal == 110, SANYA.nominal
    assert len(LEDONG.items) == 11 and LEDONG.nominal == 105
    assert len(XICHENG.items) == 9
    for scheme in SCHEMES.values():
        figures, daily = measures_of(scheme)
        for m in figures + daily:
            assert m.kpi in KPIS, m.kpi
            assert {k for k, _ in m.params} <= {p.name for p in KPIS[m.kpi].params}, m.key
        codes = [i.code for top in scheme.items for i in top.walk()]
        assert len(codes) == len(set(codes)), scheme.id
        for top in scheme.items:
            for item in top.walk():
                if isinstance(item.measure, ManualValue):
                    assert item.measure.unit in (Unit.RATE, Unit.COUNT)
