"""Every write to work orders. One entry per verb, as the lifecycle table declares it:

    permission and side guard → row locks (order, then its branches by pk) → state guard
    → the verb's change → one timeline ``Event`` and one audit row → on-commit hooks.

``perform`` is the single door for the verbs of :data:`lifecycle.ACTIONS`; intake
(``order_create``) and the worker's auto-archive are the others.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from hotline import search
from hotline.core import audit, numbering
from hotline.core.errors import Conflict, NotFound, Unprocessable
from hotline.core.models import HandlingUnit, Platform, User
from hotline.core.scope import scope_of
from hotline.core.services import require

from . import sla
from .lifecycle import (
    ACTIONS,
    ACTIVE_BRANCH_STATES,
    OPEN_STATES,
    SATISFACTION,
    SATISFIED,
    STATE_LABELS,
    Action,
    BranchState,
    Side,
    State,
)
from .models import Assignment, Category, Channel, Event, OrderType, Urgency, WorkOrder

NUMBER_KIND = "WO"

# --- intake -------------------------------------------------------------------------------------


@transaction.atomic
def order_create(
    *,
    actor: User | None,
    platform: Platform,
    order_type: str,
    title: str,
    content: str,
    caller_name: str = "",
    caller_phone: str = "",
    category: Category | None = None,
    urgency: str = Urgency.NORMAL,
    channel: str = Channel.PHONE,
    area: str = "",
    address: str = "",
    confidential: bool = False,
    session_ref: str = "",
    direct: bool = False,
    answer: str = "",
    now: dt.datetime | None = None,
    auto_dispatch: bool = True,
) -> WorkOrder:
    """Register a citizen's request (受理). ``direct=True`` with an ``answer`` completes it
    at the front desk (即时答复 / 直接完工). ``auto_dispatch=False`` leaves it for the
    caller even when a direct dispatch rule matches (an intake merged at once)."""
    require(actor, "workorders.create")
    if actor is not None and not scope_of(actor).covers_platform(platform.pk):
        raise NotFound("平台不存在或不在您的管辖范围内")
    _choice(order_type, OrderType, "type", "诉求类型")
    _choice(urgency, Urgency, "urgency", "紧急程度")
    _choice(channel, Channel, "channel", "来源渠道")
    title, content, answer = title.strip(), content.strip(), answer.strip()
    if not title:
        raise Unprocessable("请填写标题", field="title")
    if not content:
        raise Unprocessable("请填写诉求内容", field="content")
    if direct and not answer:
        raise Unprocessable("即时答复须填写答复内容", field="answer")
    if category is not None and (not category.is_active or category.children.exists()):
        raise Unprocessable("请选择末级诉求分类", field="category")
    now = now or timezone.now()
    order = WorkOrder(
        number=numbering.next_number(platform.code, NUMBER_KIND, day=timezone.localdate(now)),
        platform=platform,
        order_type=order_type,
        category=category,
        urgency=urgency,
        title=title[:100],
        content=content,
        caller_name=caller_name.strip(),
        caller_phone=caller_phone.strip(),
        confidential=confidential,
        area=area.strip(),
        address=address.strip(),
        channel=channel,
        session_ref=session_ref,
        created_by=actor,
        created_at=now,
        dispatch_due=sla.dispatch_due(now),
    )
    if direct:
        order.direct, order.answer = True, answer
        order.state, order.completed_at, order.dispatch_due = State.COMPLETED, now, None
    _index(order)
    order.full_clean(exclude=["created_by"])
    order.save()
    timeline_event(
        order, "create", actor, "", order.state, at=now, data={"direct": direct} if direct else {}
    )
    audit.record(
        "workorder.create", order, actor=actor, detail={"number": order.number, "direct": direct}
    )
    if auto_dispatch:
        order = _auto_dispatch(order, actor, now)
    transaction.on_commit(lambda: notify_order_event(order.pk, "create"))
    return order


def _choice(value: str, choices, field_name: str, label: str) -> None:
    if value not in choices.values:
        raise Unprocessable(f"{label}取值不正确：{value}", field=field_name)


# --- the verbs ---------------------------------------------------------------------------------


@dataclass
class Step:
    """What a verb handler works with, and what it leaves for the event and the audit."""

    actor: User | None
    order: WorkOrder
    branches: list[Assignment]
    action: Action
    fields: dict
    now: dt.datetime
    branch: Assignment | None = None  # the acting unit's branch (unit-side verbs)
    data: dict = field(default_factory=dict)  # recorded on the event

    def active(self) -> list[Assignment]:
        return [b for b in self.branches if b.state in ACTIVE_BRANCH_STATES]

    def lead(self) -> Assignment | None:
        return next((b for b in self.branches if b.lead and b.state != BranchState.WITHDRAWN), None)


@transaction.atomic
def perform(
    *, actor: User | None, order: WorkOrder, action: str, now: dt.datetime | None = None, **fields
) -> WorkOrder:
    """Carry out one verb of the lifecycle on an order (派单, 签收, 退单 …)."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise NotFound(f"未知的操作：{action}")
    require(actor, spec.permission)
    if action == "merge":  # touches a second order: lock both first, in pk order
        _lock_merge_pair(order, fields.get("into"))
    order = WorkOrder.objects.select_for_update().get(pk=order.pk)
    branches = list(Assignment.objects.select_for_update().filter(order=order).order_by("pk"))
    step = Step(
        actor=actor,
        order=order,
        branches=branches,
        action=spec,
        fields=fields,
        now=now or timezone.now(),
    )
    _guard_side(step)
    if order.state not in spec.sources:
        raise Conflict(f"工单当前状态为“{STATE_LABELS[State(order.state)]}”，不能{spec.label}")
    for name in spec.fields:
        if fields.get(name) in (None, "") and name != "approved":
            raise Unprocessable(f"{spec.label}须填写：{FIELD_NAMES.get(name, name)}", field=name)
        if name == "approved" and not isinstance(fields.get(name), bool):
            raise Unprocessable(f"{spec.label}须说明是否同意", field=name)
    before = order.state
    HANDLERS[action](step)
    if action in REINDEX_AFTER:
        _index(order, step.branches)
    # The table is the law: a handler that makes an undeclared move is a bug, not a state.
    if (State(before), State(order.state)) not in spec.edges:
        raise AssertionError(f"{action}: {before} → {order.state} is not in the lifecycle table")
    order.save()
    for branch in step.branches:
        if branch._state.adding:  # opened by this verb (dispatch, redispatch)
            branch.save()
    timeline_event(
        order, action, actor, before, order.state, at=step.now, branch=step.branch, data=step.data
    )
    audit.record(
        f"workorder.{action}",
        order,
        actor=actor,
        before={"state": before},
        after={"state": order.state},
        detail={"number": order.number, **step.data},
    )
    transaction.on_commit(lambda: notify_order_event(order.pk, action, step))
    return order


# Verbs that change the words an order is found by (the replies and the answer).
REINDEX_AFTER = {"reply", "review-reply"}


def _index(order: WorkOrder, branches: list[Assignment] = ()) -> None:
    """Keep the order's full-text words in step: title, content, answer, every reply."""
    order.search_text = search.index_text(
        order.title, order.content, order.answer, *(b.reply for b in branches if b.reply)
    )


FIELD_NAMES = {
    "unit": "承办单位",
    "reason": "理由",
    "content": "答复内容",
    "days": "延期天数",
    "satisfaction": "满意度",
    "approved": "审核结论",
    "into": "主工单编号",
}


def _guard_side(step: Step) -> None:
    """Platform verbs need the order's platform in scope; unit verbs need a branch of the
    actor's own unit. Out of scope reads as not found."""
    actor, order = step.actor, step.order
    if actor is None:
        return
    scope = scope_of(actor)
    if step.action.side == Side.PLATFORM:
        if not scope.covers_platform(order.platform_id):
            raise NotFound("工单不存在")
        return
    mine = [b for b in step.branches if b.unit_id == actor.unit_id] if actor.unit_id else []
    if not mine:
        raise NotFound("工单不存在")
    # A unit holds at most one live branch; withdrawn ones are history.
    step.branch = next((b for b in mine if b.state != BranchState.WITHDRAWN), None)
    if step.branch is None:
        raise Conflict("本单位的承办分支已撤回，不能再办理")


def timeline_event(
    order: WorkOrder,
    action: str,
    actor: User | None,
    from_state: str,
    to_state: str,
    *,
    at: dt.datetime,
    branch: Assignment | None = None,
    data: dict | None = None,
) -> Event:
    """One entry of an order's timeline (流转记录): every verb writes one, and so do the
    acts around an order that move no state (a reply faxed, the fax gateway's report)."""
    origin = audit.current_origin()
    name = str(actor) if actor is not None else origin.actor_name
    return Event.objects.create(
        order=order,
        assignment=branch,
        action=action,
        actor=actor,
        actor_name=name[:100],
        unit=branch.unit if branch is not None else None,
        at=at,
        from_state=from_state,
        to_state=to_state,
        data=data or {},
    )


# --- handlers: each changes step.order / step.branches; the state guard has passed ----------


def _unit_for_dispatch(step: Step, unit: HandlingUnit) -> HandlingUnit:
    if not isinstance(unit, HandlingUnit):
        raise Unprocessable("承办单位不正确", field="unit")
    platform_path = step.order.platform.path
    if not unit.is_active or not unit.platform.path.startswith(platform_path):
        raise Unprocessable(f"{unit.name}不是本平台可派发的承办单位", field="unit")
    return unit


def _open_branches(step: Step, lead_unit: HandlingUnit, co_units) -> None:
    co_units = list(co_units or [])
    units = [lead_unit, *co_units]
    if len({u.pk for u in units}) != len(units):
        raise Unprocessable("主办与协办单位不能重复", field="co_units")
    for unit in units:
        _unit_for_dispatch(step, unit)
    order = step.order
    for unit in units:
        branch = Assignment(
            order=order, unit=unit, lead=unit.pk == lead_unit.pk, dispatched_at=step.now
        )
        _set_branch_deadlines(order, branch, step.now)
        step.branches.append(branch)
    order.lead_unit = lead_unit
    order.dispatched_at = order.dispatched_at or step.now
    order.handle_due = next(
        b.handle_due
        for b in step.branches
        if b.unit_id == lead_unit.pk and b.state == BranchState.PENDING_SIGN
    )
    order.state = State.DISPATCHED
    step.data.update(unit=lead_unit.name, co_units=[u.name for u in co_units])


def _set_branch_deadlines(order: WorkOrder, branch: Assignment, start: dt.datetime) -> None:
    kind = {
        "order_type": order.order_type,
        "urgency": order.urgency,
        "public_utility": bool(order.category and order.category.public_utility),
    }
    branch.sign_due = sla.due("sign", start, **kind)
    branch.handle_due = sla.due("handle", start, **kind)


def _withdraw(branches, *, replied_too: bool = False) -> None:
    """Take branches off the order. When the order starts afresh (re-dispatch, accepted
    lead return) the units that had already replied leave too, so that a re-open never
    reaches a unit that no longer holds the order."""
    leaving = ACTIVE_BRANCH_STATES | ({BranchState.REPLIED} if replied_too else set())
    for branch in branches:
        if branch.state in leaving:
            branch.state = BranchState.WITHDRAWN
            branch.save(update_fields=["state"])


def do_dispatch(step: Step) -> None:
    _open_branches(step, step.fields["unit"], step.fields.get("co_units"))
    rule = _suggested_rule(step.order)
    if rule is not None:
        step.order.dispatch_rule = rule
        step.data["rule"] = rule.name


def do_redispatch(step: Step) -> None:
    _withdraw(step.branches, replied_too=True)
    step.data["from_unit"] = step.order.lead_unit.name if step.order.lead_unit else ""
    _open_branches(step, step.fields["unit"], step.fields.get("co_units"))


def do_sign(step: Step) -> None:
    branch = step.branch
    if branch.state != BranchState.PENDING_SIGN:
        raise Conflict("本单位已签收该工单")
    branch.state, branch.signed_at = BranchState.SIGNED, step.now
    branch.save(update_fields=["state", "signed_at"])
    step.data["late"] = bool(branch.sign_due and step.now > branch.sign_due)
    if branch.lead:
        step.order.state = State.HANDLING


def do_return(step: Step) -> None:
    branch = step.branch
    if branch.state not in (BranchState.PENDING_SIGN, BranchState.SIGNED):
        raise Conflict("本单位当前不能退单")
    reason = _text(step.fields["reason"], "reason", "退单理由", 500)
    branch.state, branch.return_reason, branch.returned_at = (
        BranchState.RETURN_PENDING,
        reason,
        step.now,
    )
    branch.save(update_fields=["state", "return_reason", "returned_at"])
    step.data.update(reason=reason, signed=branch.signed_at is not None)
    if branch.lead:
        step.order.state = State.RETURN_PENDING


def do_review_return(step: Step) -> None:
    branch = _pending_branch(step, lambda b: b.state == BranchState.RETURN_PENDING, "退单")
    approved = step.fields["approved"]
    step.data.update(unit=branch.unit.name, approved=approved, note=_note(step))
    if approved:  # reasonable: the branch leaves; a lead's return sends the order back
        branch.state = BranchState.WITHDRAWN
        branch.save(update_fields=["state"])
        if branch.lead:
            _withdraw(step.branches, replied_too=True)
            order = step.order
            order.state, order.lead_unit, order.handle_due = State.SUBMITTED, None, None
            order.dispatch_due = sla.dispatch_due(step.now)
    else:  # unreasonable: back to the unit, where it was
        branch.state = BranchState.SIGNED if branch.signed_at else BranchState.PENDING_SIGN
        branch.save(update_fields=["state"])
        if branch.lead:
            step.order.state = State.HANDLING if branch.signed_at else State.DISPATCHED
    step.branch = branch


def do_request_extension(step: Step) -> None:
    branch = step.branch
    if branch.state not in (BranchState.PENDING_SIGN, BranchState.SIGNED):
        raise Conflict("本单位当前不能申请延期")
    if branch.extension_days:
        raise Conflict("已有待审核的延期申请")
    days = step.fields["days"]
    if not isinstance(days, int) or not 1 <= days <= 60:
        raise Unprocessable("延期天数须为 1–60 个工作日", field="days")
    branch.extension_days = days
    branch.extension_reason = _text(step.fields["reason"], "reason", "延期理由", 500)
    branch.save(update_fields=["extension_days", "extension_reason"])
    step.data.update(days=days, reason=branch.extension_reason)


def do_review_extension(step: Step) -> None:
    branch = _pending_branch(
        step, lambda b: bool(b.extension_days) and b.state in ACTIVE_BRANCH_STATES, "延期申请"
    )
    approved, days = step.fields["approved"], branch.extension_days
    step.data.update(unit=branch.unit.name, days=days, approved=approved, note=_note(step))
    if approved:
        branch.handle_due = sla.add(branch.handle_due or step.now, days, "working_days")
        if branch.lead:
            step.order.handle_due = branch.handle_due
        step.data["new_due"] = branch.handle_due.isoformat()
    branch.extension_days, branch.extension_reason = None, ""
    branch.save(update_fields=["handle_due", "extension_days", "extension_reason"])
    step.branch = branch


def do_reply(step: Step) -> None:
    branch, order = step.branch, step.order
    if branch.state != BranchState.SIGNED:
        raise Conflict(
            "请先签收再答复" if branch.state == BranchState.PENDING_SIGN else "本单位当前不能答复"
        )
    content = _text(step.fields["content"], "content", "答复内容", 5000)
    if branch.lead:
        waiting = [
            b.unit.name for b in step.branches if not b.lead and b.state in ACTIVE_BRANCH_STATES
        ]
        if waiting:
            raise Conflict(f"协办单位尚未全部答复：{'、'.join(waiting)}")
    branch.state, branch.reply, branch.replied_at = BranchState.REPLIED, content, step.now
    branch.save(update_fields=["state", "reply", "replied_at"])
    step.data.update(content=content, late=bool(branch.handle_due and step.now > branch.handle_due))
    if branch.lead:
        order.state, order.replied_at = State.REPLIED, step.now
        order.review_due = sla.due(
            "review", step.now, order_type=order.order_type, urgency=order.urgency
        )


def do_review_reply(step: Step) -> None:
    order, lead = step.order, step.lead()
    approved = step.fields["approved"]
    step.data.update(approved=approved, note=_note(step))
    if approved:
        order.state, order.answer = State.CALLBACK_PENDING, lead.reply if lead else order.answer
        order.callback_due = sla.due(
            "callback", step.now, order_type=order.order_type, urgency=order.urgency
        )
    else:  # sent back to the lead unit to handle again
        order.state = State.HANDLING
        lead.state = BranchState.SIGNED
        lead.save(update_fields=["state"])
        step.branch = lead


def do_callback(step: Step) -> None:
    order = step.order
    satisfaction = step.fields["satisfaction"]
    if satisfaction not in SATISFACTION:
        raise Unprocessable(f"满意度须为：{'、'.join(SATISFACTION)}", field="satisfaction")
    order.satisfaction = satisfaction
    step.data.update(
        satisfaction=satisfaction,
        note=_note(step),
        late=bool(order.callback_due and step.now > order.callback_due),
    )
    if satisfaction in SATISFIED:
        order.state, order.completed_at = State.COMPLETED, step.now
    else:
        order.state = State.UNSATISFIED


def do_reopen(step: Step) -> None:
    """复核: the units that answered handle it again; counted against 一次性解决率."""
    order = step.order
    reopened = []
    for branch in step.branches:
        if branch.state == BranchState.REPLIED:
            branch.state, branch.signed_at, branch.replied_at = BranchState.PENDING_SIGN, None, None
            branch.dispatched_at = step.now
            _set_branch_deadlines(order, branch, step.now)
            branch.save()
            reopened.append(branch.unit.name)
            if branch.lead:
                order.handle_due = branch.handle_due
    order.state, order.satisfaction = State.DISPATCHED, ""
    order.reopen_count += 1
    step.data.update(units=reopened, note=_note(step))


def do_close(step: Step) -> None:
    order = step.order
    order.state, order.completed_at = State.COMPLETED, step.now
    step.data["reason"] = _text(step.fields["reason"], "reason", "结案理由", 500)


def do_urge(step: Step) -> None:
    step.order.urge_count += 1
    step.data["note"] = _note(step)


def do_supervise(step: Step) -> None:
    step.order.supervise_count += 1
    step.data["note"] = _note(step)


def do_escalate(step: Step) -> None:
    if step.order.escalated:
        raise Conflict("该工单已提交主管处理")
    step.order.escalated = True
    step.data["note"] = _note(step)


def do_cancel(step: Step) -> None:
    _withdraw(step.branches)
    order = step.order
    order.state, order.closed_at = State.CANCELLED, step.now
    step.data["reason"] = _text(step.fields["reason"], "reason", "销单理由", 500)


def do_archive(step: Step) -> None:
    step.order.state, step.order.closed_at = State.ARCHIVED, step.now


HANDLERS = {
    "dispatch": do_dispatch,
    "sign": do_sign,
    "return": do_return,
    "review-return": do_review_return,
    "request-extension": do_request_extension,
    "review-extension": do_review_extension,
    "reply": do_reply,
    "review-reply": do_review_reply,
    "callback": do_callback,
    "reopen": do_reopen,
    "close": do_close,
    "urge": do_urge,
    "supervise": do_supervise,
    "escalate": do_escalate,
    "redispatch": do_redispatch,
    "cancel": do_cancel,
    "archive": do_archive,
}


def _pending_branch(step: Step, pending, what: str) -> Assignment:
    """The branch a review applies to: the one of ``unit`` if given, else the first."""
    unit = step.fields.get("unit")
    candidates = [
        b
        for b in step.branches
        if pending(b) and (unit is None or b.unit_id == getattr(unit, "pk", unit))
    ]
    if not candidates:
        raise Conflict(f"没有待审核的{what}")
    return candidates[0]


def _text(value, field_name: str, label: str, limit: int) -> str:
    text = str(value or "").strip()
    if not text:
        raise Unprocessable(f"请填写{label}", field=field_name)
    if len(text) > limit:
        raise Unprocessable(f"{label}不能超过 {limit} 字", field=field_name)
    return text


def _note(step: Step) -> str:
    return str(step.fields.get("note") or "").strip()[:500]


# --- the worker ---------------------------------------------------------------------------------

ARCHIVE_AFTER = dt.timedelta(hours=24)


def auto_archive(*, now: dt.datetime | None = None) -> int:
    """归档: completed orders with no new activity for 24 hours (R-WO-4)."""
    now = now or timezone.now()
    archived = 0
    due = WorkOrder.objects.filter(state=State.COMPLETED, completed_at__lte=now - ARCHIVE_AFTER)
    for pk in due.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            order = WorkOrder.objects.select_for_update().get(pk=pk)
            last = order.events.order_by("-at").values_list("at", flat=True).first()
            if order.state != State.COMPLETED or (last and last > now - ARCHIVE_AFTER):
                continue
            order.state, order.closed_at = State.ARCHIVED, now
            order.save(update_fields=["state", "closed_at"])
            timeline_event(order, "auto_archive", None, State.COMPLETED, State.ARCHIVED, at=now)
            audit.record("workorder.archive", order, detail={"number": order.number, "auto": True})
            archived += 1
    return archived


# --- drafts and attachments (intake and reply pages) --------------------------------------------

MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "txt": "text/plain",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "amr": "audio/amr",
}
# The first bytes a file of these types must start with (content sniff).
_MAGIC = {
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "pdf": (b"%PDF-",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "doc": (b"\xd0\xcf\x11\xe0",),
    "xls": (b"\xd0\xcf\x11\xe0",),
    "amr": (b"#!AMR",),
    "wav": (b"RIFF",),
}


def attachment_check(upload) -> str:
    """Validate an uploaded file (type by extension and content, size); return its
    extension. Raises Unprocessable with a Chinese message on field ``attachments``."""
    name = str(getattr(upload, "name", "") or "")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ATTACHMENT_TYPES:
        allowed = " ".join(sorted(ATTACHMENT_TYPES))
        raise Unprocessable(f"附件“{name}”类型不允许，仅支持：{allowed}", field="attachments")
    size = upload.size or 0
    if size > MAX_ATTACHMENT_BYTES:
        raise Unprocessable(f"附件“{name}”超过 10 MB", field="attachments")
    if size == 0:
        raise Unprocessable(f"附件“{name}”是空文件", field="attachments")
    if ext in _MAGIC:
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        if not any(head.startswith(magic) for magic in _MAGIC[ext]):
            raise Unprocessable(f"附件“{name}”的内容与扩展名 .{ext} 不符", field="attachments")
    return ext


def attachments_check(uploads, *, existing: int = 0) -> None:
    """Check a batch before anything is saved (≤ 5 files per order)."""
    if existing + len(uploads) > MAX_ATTACHMENTS:
        raise Unprocessable(f"每件工单最多 {MAX_ATTACHMENTS} 个附件", field="attachments")
    for upload in uploads:
        attachment_check(upload)


# --- attachment files: none left behind -------------------------------------------------------
#
# attachment_add writes the file to storage at once (the same transaction may serve it, e.g.
# a download right after), but its Attachment row exists only if the transaction commits.
# Django has no on-rollback hook, so the atomic block that may roll back keeps the list of
# files stored inside it: attachment_files() is transaction.atomic() that deletes those files
# when it rolls back, and otherwise hands them to an enclosing attachment_files() (they are
# kept only if that one commits too). attachment_add runs in one itself; a caller that adds
# files inside a larger transaction opens that transaction with attachment_files() instead of
# transaction.atomic(). What is still left over (a plain outer block rolled back, a crash
# between the write and the commit) is deleted by attachments_sweep_orphans, hourly.

import contextvars  # noqa: E402
import logging  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

log = logging.getLogger(__name__)

ATTACHMENTS_DIR = "workorders"  # models.attachment_path stores every file under it
ORPHAN_MIN_AGE = dt.timedelta(hours=1)
_stored_files: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "attachment_files", default=None
)


@contextmanager
def attachment_files():
    """``transaction.atomic()`` that deletes the attachment files stored in it if it rolls
    back (by an exception or ``transaction.set_rollback(True)``)."""
    stored: list[str] = []
    token = _stored_files.set(stored)
    try:
        with transaction.atomic():
            yield
            rolled_back = transaction.get_rollback()
    except BaseException:
        _stored_files.reset(token)
        _delete_files(stored)
        raise
    _stored_files.reset(token)
    if rolled_back:
        _delete_files(stored)
    elif (outer := _stored_files.get()) is not None:
        outer.extend(stored)


def _attachment_storage():
    from .models import Attachment

    return Attachment._meta.get_field("file").storage


def _delete_files(names) -> None:
    storage = _attachment_storage()
    for name in names:
        try:
            storage.delete(name)
        except OSError:  # the rollback's own error matters more; the sweep retries
            log.warning("could not delete attachment file %s", name, exc_info=True)


def attachment_add(*, actor: User | None, order: WorkOrder, upload, event: Event | None = None):
    """附件: store one uploaded file on an order (at intake, or with a reply's event). The
    file is deleted again if the transaction rolls back (see attachment_files)."""
    from .models import Attachment

    with attachment_files():
        ext = attachment_check(upload)
        if order.attachments.count() >= MAX_ATTACHMENTS:
            raise Unprocessable(f"每件工单最多 {MAX_ATTACHMENTS} 个附件", field="attachments")
        name = str(upload.name).replace("/", "_").replace("\\", "_")[-200:]
        attachment = Attachment(
            order=order,
            event=event,
            name=name,
            size=upload.size,
            content_type=ATTACHMENT_TYPES[ext],
            uploaded_by=actor,
        )
        attachment.file.save(f"{numbering_safe_name(ext)}", upload, save=False)
        _stored_files.get().append(attachment.file.name)
        attachment.save()
        audit.record(
            "workorder.attachment",
            order,
            actor=actor,
            detail={"number": order.number, "name": name, "size": upload.size},
        )
    return attachment


def attachments_sweep_orphans(
    *, older_than: dt.timedelta = ORPHAN_MIN_AGE, now: dt.datetime | None = None
) -> list[str]:
    """清理孤立附件文件: delete the files under the attachments directory that no Attachment
    row references and that were last written more than ``older_than`` ago (a younger one
    may belong to a transaction still open). Returns the deleted names (storage-relative).

    Only files are deleted; no row changes, so nothing is audited, and the names are logged."""
    from .models import Attachment

    storage = _attachment_storage()
    location = Path(storage.location)
    root = Path(storage.path(ATTACHMENTS_DIR))
    if not root.is_dir():
        return []
    cutoff = ((now or timezone.now()) - older_than).timestamp()
    # The old files first, then their rows: a row committed after this scan has a young file.
    old = sorted(
        path.relative_to(location).as_posix()
        for path in root.rglob("*")
        if path.is_file() and path.stat().st_mtime < cutoff
    )
    deleted = []
    for start in range(0, len(old), 500):
        chunk = old[start : start + 500]
        kept = set(Attachment.objects.filter(file__in=chunk).values_list("file", flat=True))
        for name in chunk:
            if name in kept:
                continue
            try:
                storage.delete(name)
            except OSError:
                log.warning("could not delete orphan attachment file %s", name, exc_info=True)
                continue
            deleted.append(name)
    if deleted:
        log.info("deleted %d orphan attachment files: %s", len(deleted), ", ".join(deleted))
    return deleted


def numbering_safe_name(ext: str) -> str:
    """A random stored file name (the original name is kept in ``Attachment.name``)."""
    import uuid

    return f"{uuid.uuid4().hex}.{ext}"


DRAFT_FIELDS = (
    "type",
    "urgency",
    "channel",
    "category",
    "title",
    "content",
    "caller_name",
    "caller_phone",
    "area",
    "address",
    "confidential",
    "answer",
    "session_ref",
)


def draft_save(*, actor: User, data: dict, draft=None):
    """暂存: keep a half-filled intake form for its author."""
    from .models import OrderDraft

    require(actor, "workorders.create")
    clean = {k: data[k] for k in DRAFT_FIELDS if k in data and data[k] not in (None, "")}
    for key, value in clean.items():
        if isinstance(value, str) and len(value) > 5000:
            raise Unprocessable("草稿内容过长", field=key)
    if draft is None:
        draft = OrderDraft(owner=actor)
    elif draft.owner_id != actor.pk:
        raise NotFound("草稿不存在")
    draft.title = str(clean.get("title", ""))[:100]
    draft.data = clean
    draft.save()
    return draft


def draft_delete(*, actor: User, draft) -> None:
    if draft.owner_id != actor.pk:
        raise NotFound("草稿不存在")
    draft.delete()


def orders_exported(*, actor: User, filters: dict, rows: int) -> None:
    """导出工单: the export itself is audited (who took which rows out)."""
    audit.record(
        "workorder.export",
        actor=actor,
        object_type="workorder",
        detail={"filters": filters, "rows": rows},
    )


# --- auto-dispatch rules (自动分派) ---------------------------------------------------------------

from hotline.core.errors import HotlineError  # noqa: E402
from hotline.core.services import require_platform_in_scope  # noqa: E402

from . import dispatching  # noqa: E402
from .models import DispatchRule  # noqa: E402

RULE_FIELDS = (
    "platform",
    "priority",
    "name",
    "order_type",
    "category",
    "keywords",
    "area",
    "unit",
    "direct",
    "is_active",
)
RULE_AUDITED = list(RULE_FIELDS)


@transaction.atomic
def dispatch_rule_save(
    *, actor: User | None, rule: DispatchRule | None = None, **fields
) -> DispatchRule:
    """Create (``rule=None``) or change an auto-dispatch rule of a platform in scope. The
    unit must belong to the platform or one below it; a rule needs at least one condition."""
    require(actor, "workorders.dispatch")
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise Unprocessable(f"未知的规则字段：{'、'.join(sorted(unknown))}")
    if rule is not None:
        require_platform_in_scope(actor, rule.platform)
        rule = DispatchRule.objects.select_for_update().get(pk=rule.pk)
        before = audit.snapshot(rule, RULE_AUDITED)
    else:
        rule, before = DispatchRule(), None
    for name, value in fields.items():
        setattr(rule, name, value)
    if not rule.platform_id:
        raise Unprocessable("请选择平台", field="platform")
    require_platform_in_scope(actor, rule.platform)
    rule.name = (rule.name or "").strip()
    rule.keywords = dispatching.normalise_keywords(rule.keywords)
    rule.area = (rule.area or "").strip()
    rule.order_type = rule.order_type or ""
    if not rule.name:
        raise Unprocessable("请填写规则名称", field="name")
    if rule.order_type and rule.order_type not in OrderType.values:
        raise Unprocessable(f"诉求类型取值不正确：{rule.order_type}", field="order_type")
    if not isinstance(rule.priority, int) or not 0 <= rule.priority <= 9999:
        raise Unprocessable("优先级须为 0–9999 的整数", field="priority")
    if len(rule.keywords) > 200:
        raise Unprocessable("关键词合计不能超过 200 字", field="keywords")
    if len(rule.area) > 50:
        raise Unprocessable("区域不能超过 50 字", field="area")
    unit = rule.unit if rule.unit_id else None
    if unit is None:
        raise Unprocessable("请选择承办单位", field="unit")
    if not unit.is_active or not unit.platform.path.startswith(rule.platform.path):
        raise Unprocessable(f"{unit.name}不是本平台可派发的承办单位", field="unit")
    if actor is not None and not scope_of(actor).covers_unit(unit):
        raise Unprocessable(f"{unit.name}不在您的管辖范围内", field="unit")
    if rule.category_id and not rule.category.is_active:
        raise Unprocessable("该诉求分类已停用", field="category")
    if not dispatching.has_conditions(rule):
        raise Unprocessable(
            "请至少设置一个匹配条件（诉求类型、诉求分类、关键词或区域）", field="keywords"
        )
    creating = rule.pk is None
    rule.save()
    audit.record(
        "dispatch_rule.create" if creating else "dispatch_rule.update",
        rule,
        actor=actor,
        before=before,
        after=audit.snapshot(rule, RULE_AUDITED),
    )
    return rule


@transaction.atomic
def dispatch_rule_delete(*, actor: User | None, rule: DispatchRule) -> None:
    require(actor, "workorders.dispatch")
    require_platform_in_scope(actor, rule.platform)
    before = audit.snapshot(rule, RULE_AUDITED)
    audit.record("dispatch_rule.delete", rule, actor=actor, before=before)
    rule.delete()  # orders that named it keep their unit; their dispatch_rule becomes empty


def suggest_unit(order: WorkOrder) -> tuple[DispatchRule | None, HandlingUnit | None]:
    """The rule matching an order waiting for dispatch, and the unit it names."""
    rule = dispatching.suggestion_for(order)
    return (rule, rule.unit) if rule is not None else (None, None)


def _auto_dispatch(order: WorkOrder, actor: User | None, now: dt.datetime) -> WorkOrder:
    """At intake: a matching ``direct`` rule dispatches the order at once, as the system
    (no actor: the rule decided), through the same door and request as the intake. A refusal
    (the unit since closed …) leaves the order for the dispatcher."""
    rule, unit = suggest_unit(order)
    if rule is None or not rule.direct:
        return order
    current = audit.current_origin()
    try:
        with (
            transaction.atomic(),
            audit.origin(channel=current.channel, ip=current.ip, request_id=current.request_id),
        ):
            order = perform(actor=None, order=order, action="dispatch", unit=unit, now=now)
            audit.record(
                "dispatch_rule.apply",
                order,
                detail={"number": order.number, "rule": rule.name, "unit": unit.name},
            )
    except HotlineError:
        return WorkOrder.objects.get(pk=order.pk)
    return order


def _suggested_rule(order: WorkOrder) -> DispatchRule | None:
    """The active rule whose unit the order was just dispatched to, if any: recorded on
    the order and its dispatch event, so that a later return can be traced to the rule."""
    rules = dispatching.rules_of(order.platform_id).filter(is_active=True)
    rule = dispatching.match(
        rules,
        order_type=order.order_type,
        category=order.category,
        title=order.title,
        content=order.content,
        area=order.area,
    )
    return rule if rule is not None and rule.unit_id == order.lead_unit_id else None


# --- notifications of order events ---------------------------------------------------------------


def notify_order_event(order_pk: int, action: str, step: "Step | None" = None) -> None:
    """Tell the people whose turn it is (called on commit, so a refused or rolled-back
    verb tells nobody): units of new branches, the platform's dispatchers, callback agents."""
    from . import supervision

    order = WorkOrder.objects.select_related("platform").filter(pk=order_pk).first()
    if order is None:
        return
    link = f"/orders/{order.number}/"
    text = order.title  # the number is in the title of each notice
    # the state the verb left (later verbs of the same transaction may have moved it on)
    state = step.order.state if step is not None else order.state

    def to_units(unit_ids, **notice):
        supervision.notify_people(supervision.unit_staff(unit_ids), link=link, **notice)

    def to_role(role, **notice):
        supervision.notify_people(supervision.platform_staff(order, role), link=link, **notice)

    if action in ("dispatch", "redispatch", "reopen") and step is not None:
        fresh = [
            b.unit_id
            for b in step.branches
            if b.state == BranchState.PENDING_SIGN and b.dispatched_at == step.now
        ]
        title = f"{'复核重办' if action == 'reopen' else '新工单待签收'} {order.number}"
        to_units(fresh, kind=f"order.{action}", title=title, body=text)
    elif action in ("urge", "supervise") and step is not None:
        label = "催办" if action == "urge" else "督办"
        note = step.data.get("note") or ""
        to_units(
            {b.unit_id for b in step.active()},
            kind=f"order.{action}",
            level="warning",
            title=f"{label} {order.number}",
            body=f"{text}{'：' + note if note else ''}",
        )
    elif action == "return" and state == State.RETURN_PENDING:
        reason = step.data.get("reason", "") if step is not None else ""
        to_role(
            "dispatcher",
            kind="order.return",
            title=f"退单待审 {order.number}",
            body=f"{text}：{reason}" if reason else text,
        )
    elif action == "request-extension" and step is not None:
        unit = step.branch.unit.name if step.branch is not None else ""
        to_role(
            "dispatcher",
            kind="order.extension",
            title=f"延期待审 {order.number}",
            body=f"{unit}申请延期 {step.data.get('days')} 个工作日：{step.data.get('reason', '')}",
        )
    elif action == "reply" and state == State.REPLIED:
        to_role("dispatcher", kind="order.replied", title=f"办结待审 {order.number}", body=text)
    elif action == "review-reply" and state == State.CALLBACK_PENDING:
        to_role("callback", kind="order.callback", title=f"待回访 {order.number}", body=text)
    elif action == "merge" and order.merged_into_id:
        # the units handling the master learn that one more citizen asks the same
        master = order.merged_into
        units = master.assignments.filter(state__in=ACTIVE_BRANCH_STATES).values_list(
            "unit_id", flat=True
        )
        supervision.notify_people(
            supervision.unit_staff(set(units)),
            link=f"/orders/{master.number}/",
            kind="order.merge",
            title=f"重复诉求并入 {master.number}",
            body=f"{order.number}：{text}",
        )
    elif action == "create" and state == State.SUBMITTED and order.urgency == "critical":
        to_role(
            "dispatcher",
            kind="order.critical",
            level="warning",
            title=f"特急工单待派单 {order.number}",
            body=text,
        )


# --- merging duplicates (并单) --------------------------------------------------------------------


def _merge_number(into) -> str:
    return into.number if isinstance(into, WorkOrder) else str(into or "").strip().upper()


def _lock_merge_pair(order: WorkOrder, into) -> None:
    """并单 changes two orders. Lock both in pk order before anything else, so that two
    merges in opposite directions wait for each other instead of deadlocking (the second
    then finds its master closed)."""
    pks = {order.pk}
    master = WorkOrder.objects.filter(number=_merge_number(into)).values_list("pk", flat=True)
    pks.update(master[:1])
    list(WorkOrder.objects.select_for_update().filter(pk__in=pks).order_by("pk").values("pk"))


def _merge_target(step: Step) -> WorkOrder:
    """The master (主工单) a duplicate closes into: an open order of the same platform, in
    the actor's scope (out of scope reads as not found)."""
    order, actor = step.order, step.actor
    number = _merge_number(step.fields["into"])
    if not number:
        raise Unprocessable("并单须填写：主工单编号", field="into")
    master = WorkOrder.objects.select_for_update().filter(number=number).first()
    if master is None or (
        actor is not None and not scope_of(actor).covers_platform(master.platform_id)
    ):
        raise NotFound("目标工单不存在", field="into")
    if master.pk == order.pk:
        raise Unprocessable("不能将工单并入其自身", field="into")
    if master.platform_id != order.platform_id:
        raise Unprocessable("只能并入同一平台的工单", field="into")
    if master.state not in OPEN_STATES:
        label = STATE_LABELS[State(master.state)]
        raise Conflict(f"目标工单 {master.number} 当前状态为“{label}”，不能并入")
    return master


def do_merge(step: Step) -> None:
    """并单: the order repeats an open one and closes into it. Its live branches leave (the
    units no longer hold it) and no deadline runs in ``merged``; the master's timeline
    records the absorbed order with an event that moves nothing (``absorb``)."""
    order = step.order
    master = _merge_target(step)
    _withdraw(step.branches)
    order.state, order.closed_at, order.merged_into = State.MERGED, step.now, master
    step.data.update(into=master.number, note=_note(step))
    absorbed = {"absorbed": order.number, "note": step.data["note"]}
    timeline_event(
        master, "absorb", step.actor, master.state, master.state, at=step.now, data=absorbed
    )


HANDLERS["merge"] = do_merge


@transaction.atomic
def order_create_merged(
    *, actor: User | None, into, now: dt.datetime | None = None, **intake
) -> WorkOrder:
    """受理并并单 (the intake prompt's 并入此单): register the call, so that it counts as an
    intake (受理量) and its caller is on record, and close it at once into the open order
    ``into`` — one transaction, so a refused merge leaves no order behind. The intake
    rules stay in :func:`order_create`; the new order is never auto-dispatched. Returns
    the new (merged) order; its ``merged_into`` is the master."""
    require(actor, ACTIONS["merge"].permission)
    order = order_create(actor=actor, now=now, auto_dispatch=False, **intake)
    return perform(actor=actor, order=order, action="merge", into=into, now=now)
