"""Fixtures of the 采编与审核 tests (imported by the test_authoring_* modules).

``kb`` is the cast on the SY platform (see hotline/conftest.py for the organisation):

- ``editor``: a 知识库管理员 (kb_editor: kb.edit, kb.review, kb.manage; platform scope);
- ``rs_editor`` / ``zj_editor``: staff of 人社局 (unit A) and 住建局 (unit B), whose role
  (unit_handler) is granted kb.edit here — unit scope;
- ``agent``: an agent (kb.view only);
- a subject tree 01 社会保障 (人社局) › 0101 养老保险, 03 住房 (住建局) › 0301 住房公积金,
  09 民政 (platform) › 0901 低保, and the forms 办事指南 / 常见问答.

``article(**fields)`` creates a draft through the service (as the editor unless told).
"""

from types import SimpleNamespace

import pytest

from hotline.core import services as core_services
from hotline.knowledge.models import Dimension
from hotline.knowledge.services import articles as article_services
from hotline.knowledge.services import categories as category_services

BODY = "<h3>办理条件</h3><p>年满六十周岁，累计缴费满十五年。</p><ul><li>身份证</li><li>社保卡</li></ul>"


def grant(role: str, permission: str, *users) -> None:
    core_services.role_permission_set(actor=None, role=role, permission=permission, granted=True)
    for user in users:
        user.forget_cached_rights()


@pytest.fixture
def kb(org, users, make_user):
    editor = make_user("kb_editor", username="kb_sy", display_name="知识管理员林芳")
    rs_editor, zj_editor = users.handler, users.other_handler
    grant("unit_handler", "kb.edit", rs_editor, zj_editor)
    unit_a, unit_b = org.sy_units[0], org.sy_units[1]

    def node(code, name, parent=None, owner=category_services.INHERIT, dimension="subject"):
        return category_services.category_create(
            actor=None, dimension=dimension, code=code, name=name, parent=parent, owner_unit=owner
        )

    social = node("01", "社会保障", owner=unit_a)
    pension = node("0101", "养老保险", social)
    housing = node("03", "住房", owner=unit_b)
    fund = node("0301", "住房公积金", housing)
    civil = node("09", "民政", owner=None)
    relief = node("0901", "低保", civil)
    guide = node("BSZN", "办事指南", dimension=Dimension.FORM, owner=None)
    faq = node("CJWD", "常见问答", dimension=Dimension.FORM, owner=None)
    return SimpleNamespace(
        org=org,
        users=users,
        editor=editor,
        rs_editor=rs_editor,
        zj_editor=zj_editor,
        agent=users.agent,
        unit_a=unit_a,
        unit_b=unit_b,
        social=social,
        pension=pension,
        housing=housing,
        fund=fund,
        civil=civil,
        relief=relief,
        guide=guide,
        faq=faq,
    )


@pytest.fixture
def article(kb):
    counter = iter(range(1, 10_000))

    def make(actor=None, **fields):
        values = {
            "title": f"养老金领取条件与办理流程{next(counter)}",
            "subject": kb.pension,
            "form": kb.guide,
            "keywords": "养老金，退休",
            "body": BODY,
        }
        values.update(fields)
        return article_services.article_create(actor=actor or kb.editor, **values)

    return make
