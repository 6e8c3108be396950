"""Demo loader (``DEMO_EXTENSIONS``): historical work orders for the demo hotline.

``hotline init --demo --orders N`` asks for N orders. Each is taken through the real
services with past timestamps — received over the last 60 days, answered at the front
desk or dispatched (by the auto-dispatch rules where one applies), signed, replied,
reviewed, called back, archived — so that every page, desk and later KPI reads facts
made the way production makes them. Recent orders are left open at every stage.
"""

import datetime as dt
import random

from django.utils import timezone

from hotline.core.errors import HotlineError

from . import services
from .models import Category

# (type, category leaf, title, content, fallback unit, front-desk answer or "")
SCENARIOS = [
    (
        "consult",
        "养老金领取与待遇",
        "咨询养老金发放时间",
        "来电人咨询退休后养老金每月几号发放，如何查询到账情况。",
        "RSJ",
        "养老金每月15日前发放至社保卡金融账户，可通过海南社保APP查询。",
    ),
    (
        "consult",
        "公积金提取",
        "咨询租房提取公积金",
        "来电人在三亚租房，咨询提取住房公积金需要哪些材料。",
        "GJJ",
        "租房提取需身份证、租赁合同备案证明，可在海南公积金APP线上办理。",
    ),
    (
        "consult",
        "社保卡申领与补换",
        "社保卡丢失如何补办",
        "来电人社保卡遗失，咨询补办流程和时限。",
        "RSJ",
        "可先电话挂失，再携身份证到就近社保卡服务网点补办，即时制卡。",
    ),
    (
        "consult",
        "义务教育入学",
        "咨询一年级入学报名",
        "来电人孩子今年满六周岁，咨询天涯区小学入学报名时间。",
        "JYJ",
        "报名时间以区教育局公告为准，一般在6月中旬，通过入学服务平台线上报名。",
    ),
    (
        "consult",
        "居住证办理",
        "咨询居住证办理条件",
        "来电人外省户籍在三亚工作，咨询办理居住证的条件。",
        "GAJ",
        "在三亚居住满半年并有合法稳定就业或住所即可申领，到辖区派出所办理。",
    ),
    (
        "complaint",
        "海鲜排档价格",
        "海鲜排档宰客",
        "来电人反映在第一市场附近海鲜排档就餐，结账价格与点菜时明显不符，疑似宰客。",
        "SCJGJ",
        "",
    ),
    (
        "complaint",
        "强制购物与购物点",
        "旅行团强制购物",
        "来电人反映参加的旅行团导游强制游客进入购物点消费，不购物就言语威胁。",
        "LWJ",
        "",
    ),
    (
        "complaint",
        "出租车拒载与绕路",
        "出租车绕路多收费",
        "来电人反映从凤凰机场打车到大东海，司机绕路且不打表。",
        "JTJ",
        "",
    ),
    (
        "complaint",
        "施工噪音扰民",
        "夜间施工噪音扰民",
        "来电人反映小区旁工地每晚施工到凌晨，噪音严重影响休息。",
        "ZJJ",
        "",
    ),
    (
        "complaint",
        "物业服务质量",
        "物业不作为",
        "来电人反映小区电梯长期故障，物业迟迟不维修。",
        "ZJJ",
        "",
    ),
    (
        "complaint",
        "拖欠工资",
        "酒店拖欠员工工资",
        "来电人反映所在酒店已拖欠三名员工工资三个月，多次讨要无果。",
        "RSJ",
        "",
    ),
    (
        "complaint",
        "占道经营",
        "流动摊贩占道经营",
        "来电人反映解放路步行街流动摊贩占道经营，影响通行。",
        "ZHZFJ",
        "",
    ),
    (
        "complaint",
        "商业经营噪音",
        "酒吧噪音扰民",
        "来电人反映小区楼下酒吧音响声音过大，持续到凌晨两点。",
        "STHJJ",
        "",
    ),
    (
        "help",
        "停水与水压不足",
        "小区停水",
        "来电人反映小区自昨晚起停水，未收到停水通知，请尽快恢复供水。",
        "SWJT",
        "",
    ),
    (
        "help",
        "停电与电压不稳",
        "片区突然停电",
        "来电人反映所在片区突然停电两小时，家中有老人需用电。",
        "GDJ",
        "",
    ),
    (
        "help",
        "路灯不亮",
        "路灯损坏影响出行",
        "来电人反映三亚湾路某路段路灯连续多盏不亮已一周。",
        "CGZFJ",
        "",
    ),
    (
        "help",
        "道路破损坑洼",
        "道路坑洼积水",
        "来电人反映迎宾路辅道出现大坑，雨天积水，车辆通行危险。",
        "JTJ",
        "",
    ),
    (
        "suggestion",
        "公交线路与班次",
        "建议增加公交班次",
        "来电人建议增加学院路至市区公交班次，早晚高峰候车时间过长。",
        "JTJ",
        "",
    ),
    (
        "report",
        "餐饮食品安全",
        "餐馆卫生问题",
        "来电人举报某餐馆后厨卫生脏乱，食材存放不规范。",
        "SCJGJ",
        "",
    ),
    (
        "praise",
        "医疗服务态度",
        "表扬医院医护人员",
        "来电人表扬市人民医院急诊科医护人员耐心细致。",
        "WJW",
        "",
    ),
]
AREAS = ["吉阳区", "天涯区", "海棠区", "崖州区"]
SATISFACTION_WEIGHTS = (
    ["非常满意"] * 5 + ["满意"] * 9 + ["基本满意"] * 3 + ["不满意"] * 2 + ["非常不满意"]
)


def demo_orders(context: dict) -> None:
    wanted = context.get("orders") or 0
    platform = context["platforms"].get("SY")
    if not wanted or platform is None:
        return
    rng = random.Random(context["seed"] + 3)
    people = context["users_by_role"]
    on_platform = [
        [u for u in people.get(role, []) if u.platform_id == platform.pk]
        for role in ("agent", "dispatcher", "callback")
    ]
    agents, dispatchers, callbacks = on_platform
    handlers = {}
    for user in people.get("unit_handler", []):
        handlers.setdefault(user.unit_id, user)
    categories = {c.name: c for c in Category.objects.filter(children__isnull=True)}
    now = timezone.now()
    made = 0
    for index in range(wanted):
        kind, leaf, title, content, unit_code, answer = rng.choice(SCENARIOS)
        # newest first in the loop's order is irrelevant: spread over 60 days, skewed recent
        received = now - dt.timedelta(days=60 * rng.random() ** 1.6, minutes=rng.randint(0, 600))
        try:
            _one(
                rng,
                received,
                now,
                platform=platform,
                agent=rng.choice(agents),
                dispatcher=rng.choice(dispatchers),
                callback=rng.choice(callbacks),
                handlers=handlers,
                unit=context["units"].get(unit_code),
                kind=kind,
                category=categories.get(leaf),
                title=title,
                content=content,
                answer=answer,
                phone=f"1{rng.choice('3589')}{rng.randint(100000000, 999999999)}",
                area=rng.choice(AREAS),
            )
        except HotlineError:
            continue  # a scenario whose unit has no handler in this demo: skip it
        made += 1
        if context.get("stdout") is not None and (index + 1) % 100 == 0:
            context["stdout"].write(f"已建历史工单 {index + 1} / {wanted}")
    services.auto_archive(now=now)
    context["created"]["orders"] += made


def _one(
    rng,
    received,
    now,
    *,
    platform,
    agent,
    dispatcher,
    callback,
    handlers,
    unit,
    kind,
    category,
    title,
    content,
    answer,
    phone,
    area,
) -> None:
    direct = bool(answer) and rng.random() < 0.6  # 即时答复 at the front desk
    order = services.order_create(
        actor=agent,
        platform=platform,
        order_type=kind,
        title=title,
        content=content,
        caller_name=rng.choice(["王先生", "李女士", "陈先生", "林女士", "黄先生", "吴女士"]),
        caller_phone=phone,
        category=category,
        area=area,
        direct=direct,
        answer=answer if direct else "",
        now=received,
    )
    if direct:
        return
    age = (now - received).total_seconds() / 86400  # days since the call
    clock = received

    def later(low_hours: float, high_hours: float):
        nonlocal clock
        clock = min(clock + dt.timedelta(hours=rng.uniform(low_hours, high_hours)), now)
        return clock

    if order.state == "submitted":  # no auto-dispatch rule took it
        if age < 0.05 or unit is None:
            return
        order = services.perform(
            actor=dispatcher, order=order, action="dispatch", unit=unit, now=later(0.1, 0.9)
        )
    handler = handlers.get(order.lead_unit_id)
    if handler is None:
        return
    if age < 0.3:
        return  # waiting for the unit's signature
    order = services.perform(actor=handler, order=order, action="sign", now=later(0.2, 6))
    if age < 3:
        return  # still being handled
    order = services.perform(
        actor=handler,
        order=order,
        action="reply",
        now=later(20, 96),
        content=f"经核查，{title}一事已处理，已向来电人说明处理结果。",
    )
    if age < 4:
        return  # the platform has not reviewed the reply yet
    order = services.perform(
        actor=dispatcher, order=order, action="review-reply", approved=True, now=later(1, 20)
    )
    if age < 5:
        return  # waiting for the callback
    satisfaction = rng.choice(SATISFACTION_WEIGHTS)
    order = services.perform(
        actor=callback, order=order, action="callback", satisfaction=satisfaction, now=later(2, 40)
    )
    if order.state == "unsatisfied" and age > 10:  # long since settled by the dispatcher
        services.perform(
            actor=dispatcher,
            order=order,
            action="close",
            now=later(2, 24),
            reason="经再次沟通解释，来电人表示理解，予以结案。",
        )
