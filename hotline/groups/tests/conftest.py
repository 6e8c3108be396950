"""Fixtures of the group tests: on the SY platform of hotline/conftest.py, an agent who
opens groups (群主), a second agent, a handler of an SY unit, a handler of the YZ
sub-platform's unit (another platform), and the system administrator on HN (the global
operator, 全局运营者)."""

from types import SimpleNamespace

import pytest

from hotline.groups import services, tokens


@pytest.fixture
def people(org, make_user):
    return SimpleNamespace(
        agent=make_user(
            "agent", username="agent_gc", display_name="话务员韩晓燕", employee_no="1001"
        ),
        agent2=make_user("agent", username="agent_gc2", display_name="话务员刘洋"),
        handler=make_user(
            "unit_handler", unit=org.sy_units[0], username="handler_gc", display_name="人社局王芳"
        ),
        yz_handler=make_user(
            "unit_handler", unit=org.yz_unit, username="handler_yz", display_name="崖州区陈刚"
        ),
        operator=make_user("sys_admin", username="sysadmin_gc", display_name="系统管理员甲"),
    )


@pytest.fixture
def group(people):
    return services.group_create(
        actor=people.agent, name="台风天气供水协调群", topic="市区停水问题的答复口径"
    )


@pytest.fixture
def link(group, people):
    """The citizens' invite link of the group (its path)."""
    invite = services.invite_issue(actor=people.agent, group=group, days=7)
    return f"/g/{tokens.invite_token(invite)}/"
