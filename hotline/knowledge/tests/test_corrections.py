"""查无纠错: an agent reports "nothing found" or "this article is wrong", the KB team
accepts, resolves or rejects it — only the moves CORRECTION_MOVES declares — and the
reporter is told in-app; the team's list, statistics and the 查无 feed of searches that
found nothing."""

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from hotline.core.models import AuditEntry, Notification
from hotline.knowledge.lifecycle import CORRECTION_MOVES, CorrectionState
from hotline.knowledge.models import Category, Correction, Dimension, SearchLog
from hotline.knowledge.selectors import corrections as selectors
from hotline.knowledge.services import articles as article_services
from hotline.knowledge.services import corrections as services

TZ = timezone.get_current_timezone()


def at(day: str, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), tzinfo=TZ)


def publish(platform, subject, title: str, body: str = "<p>办理流程说明。</p>"):
    """An article as agents find it: written, submitted and approved via the services."""
    article = article_services.article_create(
        actor=None, platform=platform, subject=subject, title=title, body=body
    )
    article = article_services.article_move(actor=None, article=article, move="submit")
    return article_services.article_move(actor=None, article=article, move="approve")


@pytest.fixture
def kb(org, users, make_user):
    subject = Category.objects.create(dimension=Dimension.SUBJECT, code="03", name="住房")
    return SimpleNamespace(
        org=org,
        agent=users.agent,
        yz_agent=users.yz_agent,
        editor=make_user("kb_editor", username="kb_sy", display_name="知识管理员刘洋"),
        editor2=make_user("kb_editor", username="kb_sy2", display_name="知识管理员何静"),
        yz_editor=make_user("kb_editor", platform=org.yz, username="kb_yz"),
        subject=subject,
        article=publish(org.sy, subject, "住房公积金提取办理指南"),
    )


def not_found(kb, query="公积金异地转移", reporter=None):
    return services.correction_report(
        actor=reporter or kb.agent,
        kind="not_found",
        query=query,
        description="来电人询问异地转移，知识库中未找到",
    )


def notices(user):
    return list(Notification.objects.filter(recipient=user).order_by("pk"))


# --- reporting and triage ---------------------------------------------------------------


def test_not_found_is_accepted_resolved_and_the_reporter_told_with_the_article(kb):
    report = not_found(kb)
    assert report.state == CorrectionState.OPEN
    assert report.platform == kb.org.sy and report.reporter == kb.agent

    accepted = services.correction_accept(actor=kb.editor, correction=report, handler=kb.editor2)
    assert accepted.state == CorrectionState.ACCEPTED and accepted.handler == kb.editor2
    told = notices(kb.agent)
    assert [n.title for n in told] == ["您上报的查无纠错已受理"]
    assert told[0].link == f"/kb/corrections/{report.pk}/"

    written = publish(kb.org.sy, kb.subject, "住房公积金异地转移接续办理指南")
    resolved = services.correction_resolve(
        actor=kb.editor2, correction=report, resolution="已新增异地转移接续的知识", article=written
    )
    assert resolved.state == CorrectionState.RESOLVED
    assert resolved.resolved_article == written and resolved.closed_at is not None
    last = notices(kb.agent)[-1]
    assert last.title == "您上报的查无纠错已解决"
    assert last.link == f"/kb/read/{written.pk}/"  # the article as agents read it
    assert "已新增异地转移接续的知识" in last.body and "公积金异地转移" in last.body
    actions = list(
        AuditEntry.objects.filter(object_type="knowledge.correction", object_id=str(report.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["kb.correction.report", "kb.correction.accept", "kb.correction.resolve"]


def test_an_article_the_reporter_cannot_read_yet_is_named_on_the_report(kb):
    """Closed with a draft still in review: the agent's notice opens the report instead."""
    draft = article_services.article_create(
        actor=kb.editor, subject=kb.subject, title="人才公寓申请指南", body="<p>草稿</p>"
    )
    report = not_found(kb, "人才公寓")
    services.correction_resolve(
        actor=kb.editor, correction=report, resolution="已撰写，审核后发布", article=draft
    )
    assert notices(kb.agent)[-1].link == f"/kb/corrections/{report.pk}/"
    editor_report = not_found(kb, "人才公寓", reporter=kb.editor2)
    services.correction_resolve(
        actor=kb.editor, correction=editor_report, resolution="已撰写", article=draft
    )
    assert notices(kb.editor2)[-1].link == f"/kb/read/{draft.pk}/"  # an editor reads drafts


def test_a_wrong_article_report_rejected_with_the_reason(kb):
    report = services.correction_report(
        actor=kb.agent,
        kind="wrong",
        article=kb.article,
        description="提取材料中缺少身份证复印件",
    )
    assert report.platform == kb.article.platform and report.query == ""
    rejected = services.correction_reject(
        actor=kb.editor, correction=report, reason="现行政策已取消复印件要求，内容无误"
    )
    assert rejected.state == CorrectionState.REJECTED and rejected.closed_at is not None
    assert rejected.handler == kb.editor  # closed straight from 待处理: the closer handled it
    notice = notices(kb.agent)[-1]
    assert notice.title == "您上报的查无纠错未被采纳"
    assert "现行政策已取消复印件要求" in notice.body
    assert notice.link == f"/kb/corrections/{report.pk}/"
    assert notice.kind == "kb.correction"


def test_report_refusals_are_in_chinese(kb):
    with pytest.raises(Unprocessable, match="查无上报须填写检索词"):
        services.correction_report(actor=kb.agent, kind="not_found", query="  ", description="")
    with pytest.raises(Unprocessable, match="纠错上报须指明有误的知识"):
        services.correction_report(actor=kb.agent, kind="wrong", description="有误")
    with pytest.raises(Unprocessable, match="请填写问题描述"):
        services.correction_report(
            actor=kb.agent, kind="wrong", article=kb.article, description=" "
        )
    with pytest.raises(Unprocessable, match="上报类型"):
        services.correction_report(actor=kb.agent, kind="other", query="x", description="y")
    with pytest.raises(Unprocessable, match="检索词不能超过 100 字"):
        services.correction_report(
            actor=kb.agent, kind="not_found", query="长" * 101, description=""
        )
    with pytest.raises(Unprocessable, match="问题描述不能超过 2000 字"):
        services.correction_report(
            actor=kb.agent, kind="wrong", article=kb.article, description="长" * 2001
        )
    assert not Correction.objects.exists()


def test_a_not_found_report_may_go_without_a_description(kb):
    report = services.correction_report(
        actor=kb.agent, kind="not_found", query="人才公寓", description=""
    )
    assert report.description == "检索“人才公寓”未找到所需知识"


def test_the_same_open_report_twice_is_refused_until_closed(kb):
    report = not_found(kb, "人才公寓")
    with pytest.raises(Conflict, match="请勿重复上报"):
        not_found(kb, " 人才公寓 ")
    not_found(kb, "人才公寓", reporter=kb.editor)  # someone else may report it too
    services.correction_reject(actor=kb.editor, correction=report, reason="已有相关知识")
    assert not_found(kb, "人才公寓").state == CorrectionState.OPEN


def test_an_agent_reports_but_does_not_triage(kb):
    report = not_found(kb)
    for move, fields in (
        (services.correction_accept, {}),
        (services.correction_resolve, {"resolution": "改好了"}),
        (services.correction_reject, {"reason": "不需要"}),
    ):
        with pytest.raises(Forbidden):
            move(actor=kb.agent, correction=report, **fields)
    report.refresh_from_db()
    assert report.state == CorrectionState.OPEN


def test_a_report_outside_the_editors_platforms_reads_as_not_found(kb):
    report = not_found(kb)  # on SY; the YZ editor sees YZ only
    with pytest.raises(NotFound):
        services.correction_accept(actor=kb.yz_editor, correction=report)
    assert not selectors.corrections_visible(kb.yz_editor).exists()


def test_an_article_the_agent_cannot_read_cannot_be_reported(kb):
    draft = article_services.article_create(
        actor=None, platform=kb.org.sy, subject=kb.subject, title="草稿知识", body="<p>草稿</p>"
    )
    with pytest.raises(NotFound):
        services.correction_report(actor=kb.agent, kind="wrong", article=draft, description="错")


def test_the_handler_must_be_a_kb_person(kb):
    report = not_found(kb)
    with pytest.raises(Unprocessable, match="经办人"):
        services.correction_accept(actor=kb.editor, correction=report, handler=kb.agent)


# --- the moves are exactly the table's ----------------------------------------------------------


def test_every_move_of_the_table_has_a_service():
    assert set(services.MOVES) == set(CORRECTION_MOVES)


MOVE_FIELDS = {"accept": {}, "resolve": {"resolution": "已修正"}, "reject": {"reason": "无需修改"}}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(state=st.sampled_from(list(CorrectionState)), code=st.sampled_from(list(CORRECTION_MOVES)))
def test_moves_follow_the_table_and_illegal_ones_conflict(kb, state, code):
    report = Correction.objects.create(
        platform=kb.org.sy,
        kind="not_found",
        query="测试",
        description="测试",
        state=state,
        reporter=kb.agent,
    )
    move = CORRECTION_MOVES[code]
    if state in move.sources:
        done = services.MOVES[code](actor=kb.editor, correction=report, **MOVE_FIELDS[code])
        assert done.state == move.target(state)
        assert Correction.objects.get(pk=report.pk).state == move.target(state)
    else:
        with pytest.raises(Conflict, match=f"不能{move.label}"):
            services.MOVES[code](actor=kb.editor, correction=report, **MOVE_FIELDS[code])
        assert Correction.objects.get(pk=report.pk).state == state


# --- statistics -------------------------------------------------------------------------------


def test_statistics_of_a_period_on_fixed_data(kb):
    def made(kind, reported, closed=None, state=CorrectionState.OPEN):
        return Correction.objects.create(
            platform=kb.org.sy,
            kind=kind,
            query="q" if kind == "not_found" else "",
            article=kb.article if kind == "wrong" else None,
            description="d",
            state=state,
            reported_at=reported,
            closed_at=closed,
        )

    # closed after 2 h, 10 h, 30 h, 80 h and 200 h; two still open; one outside the period
    made("not_found", at("2026-03-02", 9), at("2026-03-02", 11), CorrectionState.RESOLVED)
    made("not_found", at("2026-03-03", 8), at("2026-03-03", 18), CorrectionState.RESOLVED)
    made("wrong", at("2026-03-04", 9), at("2026-03-05", 15), CorrectionState.REJECTED)
    made("wrong", at("2026-03-05", 0), at("2026-03-08", 8), CorrectionState.RESOLVED)
    made("not_found", at("2026-03-06", 0), at("2026-03-14", 8), CorrectionState.RESOLVED)
    made("not_found", at("2026-03-07", 9), None, CorrectionState.ACCEPTED)
    made("wrong", at("2026-03-08", 23, 59), None, CorrectionState.OPEN)
    made("wrong", at("2026-03-09", 0), None, CorrectionState.OPEN)  # the day after

    stats = selectors.correction_stats(kb.editor, dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    assert stats.total == 7 and stats.closed == 5 and stats.open == 2
    table = {row.kind: {s: n for s, _, n in row.states} for row in stats.rows}
    assert table["not_found"] == {"open": 0, "accepted": 1, "resolved": 3, "rejected": 0}
    assert table["wrong"] == {"open": 1, "accepted": 0, "resolved": 1, "rejected": 1}
    assert [n for _, _, n in stats.state_totals] == [1, 1, 4, 1]
    assert stats.median_hours == 30.0
    assert stats.p90_hours == 200.0  # nearest rank: the 5th of 5
    # shares of all 7 reports: within 1 day 2, within 3 days 3, within 7 days 4
    assert stats.within == [(1, 2, 28.6), (3, 3, 42.9), (7, 4, 57.1)]
    # another platform's editor counts none of them
    assert (
        selectors.correction_stats(kb.yz_editor, dt.date(2026, 3, 2), dt.date(2026, 3, 8)).total
        == 0
    )


def test_statistics_of_an_empty_period(kb):
    stats = selectors.correction_stats(kb.editor, dt.date(2020, 1, 1), dt.date(2020, 1, 31))
    assert stats.total == 0 and stats.median_hours is None and stats.p90_hours is None
    assert stats.within == [(1, 0, 0.0), (3, 0, 0.0), (7, 0, 0.0)]


# --- the 查无 feed ---------------------------------------------------------------------------------


def test_zero_result_searches_become_candidates(kb, users):
    def log(query, results, when, user=kb.agent):
        SearchLog.objects.create(user=user, query=query, results=results, at=when)

    for _ in range(3):
        log("人才公寓", 0, at("2026-03-03"))
    log("人才公寓 ", 0, at("2026-03-04"), user=users.dispatcher)  # same query, trimmed
    log("ETC办理", 0, at("2026-03-05"))
    log("Etc办理", 0, at("2026-03-06"))
    log("公积金提取", 12, at("2026-03-05"))  # found something: not a candidate
    log("垃圾分类", 0, at("2026-02-20"))  # before the period
    log("椰林路停水", 0, at("2026-03-05"), user=users.yz_agent)  # YZ: below SY, counted
    report = not_found(kb, "人才公寓")

    feed = selectors.not_found_feed(kb.editor, dt.date(2026, 3, 1), dt.date(2026, 3, 7))
    assert [(c.query, c.searches, c.people) for c in feed] == [
        ("人才公寓", 4, 2),
        ("etc办理", 2, 1),
        ("椰林路停水", 1, 1),
    ]
    assert feed[0].report == report and feed[1].report is None
    assert feed[0].last_at == at("2026-03-04")
    yz_feed = selectors.not_found_feed(kb.yz_editor, dt.date(2026, 3, 1), dt.date(2026, 3, 7))
    assert [c.query for c in yz_feed] == ["椰林路停水"]


# --- pages ---------------------------------------------------------------------------------------


def test_pages_for_the_kb_team_and_not_for_agents(kb, login):
    report = not_found(kb)
    editor, agent = login(kb.editor), login(kb.agent)
    page = editor.get("/kb/corrections/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "公积金异地转移" in html and "上报总数" in html and "用时中位数" in html
    assert 'class="kbc-late"' not in html
    Correction.objects.filter(pk=report.pk).update(
        reported_at=timezone.now() - dt.timedelta(days=4)
    )
    aged = editor.get("/kb/corrections/?age=3").content.decode()
    assert 'class="kbc-late"' in aged and "公积金异地转移" in aged  # open for 4 days
    assert "公积金异地转移" not in editor.get("/kb/corrections/?age=7").content.decode()
    bad = editor.get("/kb/corrections/?date_from=2026-03-09&date_to=2026-03-01")
    assert bad.status_code == 400 and "结束日期不能早于开始日期" in bad.content.decode()
    assert editor.get("/kb/corrections/candidates/").status_code == 200
    for url in ("/kb/corrections/", "/kb/corrections/candidates/"):
        assert agent.get(url).status_code == 403
    # the reporter reads their own report, without the triage forms
    mine = agent.get(f"/kb/corrections/{report.pk}/")
    assert mine.status_code == 200 and 'name="move"' not in mine.content.decode()
    assert agent.post(f"/kb/corrections/{report.pk}/", {"move": "accept"}).status_code == 403
    assert login(kb.yz_agent).get(f"/kb/corrections/{report.pk}/").status_code == 404
    assert agent.get("/kb/corrections/mine/").status_code == 200


def test_triage_through_the_report_page(kb, login):
    report = not_found(kb)
    editor = login(kb.editor)
    page = editor.get(f"/kb/corrections/{report.pk}/").content.decode()
    assert 'value="accept"' in page and 'value="resolve"' in page and 'value="reject"' in page
    response = editor.post(
        f"/kb/corrections/{report.pk}/", {"move": "accept", "accept-handler": kb.editor2.pk}
    )
    assert response.status_code == 302
    page = editor.get(f"/kb/corrections/{report.pk}/").content.decode()
    assert 'value="accept"' not in page  # 受理 is not legal from 处理中
    empty = editor.post(
        f"/kb/corrections/{report.pk}/", {"move": "resolve", "resolve-resolution": ""}
    )
    assert empty.status_code == 422 and "请填写处理说明" in empty.content.decode()
    missing = editor.post(
        f"/kb/corrections/{report.pk}/",
        {"move": "resolve", "resolve-resolution": "已补充", "resolve-article": 999999},
    )
    assert missing.status_code == 422 and "知识编号不存在" in missing.content.decode()
    done = editor.post(
        f"/kb/corrections/{report.pk}/",
        {"move": "resolve", "resolve-resolution": "已补充", "resolve-article": kb.article.pk},
    )
    assert done.status_code == 302
    report.refresh_from_db()
    assert report.state == CorrectionState.RESOLVED and report.resolved_article == kb.article
    assert notices(kb.agent)[-1].link == f"/kb/read/{kb.article.pk}/"
    shown = login(kb.agent).get(f"/kb/corrections/{report.pk}/").content.decode()
    assert f'href="/kb/read/{kb.article.pk}/">《住房公积金提取办理指南》' in shown


def test_reporting_from_the_fragment_goes_back_to_the_search(kb, login):
    agent = login(kb.agent)
    response = agent.post(
        "/kb/corrections/report/",
        {
            "kind": "not_found",
            "query": "人才公寓申请",
            "description": "",
            "next": "/kb/search/?q=x",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/kb/search/?q=x"
    assert Correction.objects.get().query == "人才公寓申请"
    off_site = agent.post(
        "/kb/corrections/report/",
        {
            "kind": "wrong",
            "article": kb.article.pk,
            "description": "电话有误",
            "next": "https://evil.example/",
        },
    )
    assert off_site["Location"] == "/kb/corrections/mine/"
    refused = agent.post("/kb/corrections/report/", {"kind": "wrong", "article": kb.article.pk})
    assert refused.status_code == 422 and "请填写问题描述" in refused.content.decode()
    assert agent.get(f"/kb/corrections/report/?article={kb.article.pk}").status_code == 200
    assert agent.get("/kb/corrections/report/?article=999999").status_code == 404


def test_the_report_form_fragment_renders_for_a_query_and_for_an_article(kb):
    request = RequestFactory().get("/kb/search/?q=人才公寓")
    request.user = kb.agent
    html = render_to_string(
        "knowledge/corrections/_report_form.html", {"query": "人才公寓"}, request=request
    )
    assert 'value="not_found"' in html and 'value="人才公寓"' in html
    assert 'action="/kb/corrections/report/"' in html and "csrfmiddlewaretoken" in html
    assert 'value="/kb/search/?q=%E4%BA%BA%E6%89%8D%E5%85%AC%E5%AF%93"' in html or "next" in html
    html = render_to_string(
        "knowledge/corrections/_report_form.html",
        {"article": kb.article, "query": "公积金", "collapsed": True},
        request=request,
    )
    assert 'value="wrong"' in html and f'value="{kb.article.pk}"' in html
    assert "住房公积金提取办理指南" in html and 'data-bs-toggle="collapse"' in html
    assert "style=" not in html and "<script" not in html


def test_candidates_become_reports_from_the_feed(kb, login):
    SearchLog.objects.create(user=kb.agent, query="人才公寓", results=0, at=timezone.now())
    editor = login(kb.editor)
    page = editor.get("/kb/corrections/candidates/").content.decode()
    assert "人才公寓" in page and "转为查无上报" in page and "/kb/articles/new/" in page
    response = editor.post(
        "/kb/corrections/candidates/report/", {"query": "人才公寓", "searches": "1"}
    )
    report = Correction.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/kb/corrections/{report.pk}/"
    assert report.reporter == kb.editor and "检索无结果 1 次" in report.description
    assert (
        ">转为查无上报</button>" not in editor.get("/kb/corrections/candidates/").content.decode()
    )


# --- API ---------------------------------------------------------------------------------------


def test_api_reports_and_triages(kb, api):
    def call(user, method, url, body=None):
        client = api(user)
        if method == "get":
            return client.get(url)
        return client.post(url, data=json.dumps(body or {}), content_type="application/json")

    created = call(
        kb.agent, "post", "/api/kb/corrections", {"query": "人才公寓", "description": ""}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (
        body["kind"] == "not_found"
        and body["state"] == "open"
        and body["title"] == "查无“人才公寓”"
    )
    wrong = call(
        kb.agent, "post", "/api/kb/corrections", {"article": kb.article.pk, "description": "有误"}
    )
    assert wrong.status_code == 201 and wrong.json()["kind"] == "wrong"
    missing = call(kb.agent, "post", "/api/kb/corrections", {"kind": "wrong", "description": "x"})
    assert missing.status_code == 422 and "纠错上报须指明有误的知识" in missing.json()["detail"]

    assert call(kb.agent, "get", "/api/kb/corrections").status_code == 403
    listed = call(kb.editor, "get", "/api/kb/corrections?kind=not_found").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]
    assert call(kb.agent, "get", f"/api/kb/corrections/{body['id']}").status_code == 200
    assert call(kb.yz_agent, "get", f"/api/kb/corrections/{body['id']}").status_code == 404

    url = f"/api/kb/corrections/{body['id']}"
    assert call(kb.agent, "post", f"{url}/accept").status_code == 403
    assert call(kb.editor, "post", f"{url}/fly").status_code == 404
    rejected = call(kb.editor, "post", f"{url}/reject", {"reason": "已有知识"})
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    again = call(kb.editor, "post", f"{url}/accept")
    assert again.status_code == 409 and "不能受理" in again.json()["detail"]
    stats = call(kb.editor, "get", "/api/kb/corrections/stats").json()
    assert stats["total"] == 2 and stats["closed"] == 1
    SearchLog.objects.create(user=kb.agent, query="人才公寓", results=0, at=timezone.now())
    feed = call(kb.editor, "get", "/api/kb/corrections/candidates").json()
    assert feed == [
        {
            "query": "人才公寓",
            "searches": 1,
            "people": 1,
            "last_at": feed[0]["last_at"],
            "report": None,  # its report was rejected: no open one
        }
    ]
    bad = call(
        kb.editor, "get", "/api/kb/corrections/stats?date_from=2026-03-09&date_to=2026-03-01"
    )
    assert bad.status_code == 422
