"""查无纠错, 同义词 and 知识汇编 in a real browser: an agent reports a query that found
nothing, the KB team accepts and resolves it on the report page, the agent is told; the
查无热词 feed, the synonyms page and the compilation page. Every page is watched for
Content-Security-Policy violations and script errors; a 1440×900 screenshot of each is
written to ``screenshot_dir`` (docs/screenshots with HOTLINE_SCREENSHOTS set)."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hotline.knowledge.lifecycle import CorrectionState
from hotline.knowledge.models import Article, Category, Correction, Dimension, SearchLog
from hotline.knowledge.services import articles as article_services
from hotline.knowledge.services import synonyms
from hotline.testing import SignedIn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Person(SignedIn):
    def __init__(self, browser, base_url: str, user, screenshots):
        super().__init__(browser, base_url, user, screenshots, prefix="kb-")

    def shoot(self, name: str, full: bool = True):
        super().shoot(name, full)

    def done(self):
        self.clean()
        self.close()


def publish(platform, subject, form, title):
    made = article_services.article_create(
        actor=None, platform=platform, subject=subject, form=form, title=title, body="<p>说明</p>"
    )
    made = article_services.article_move(actor=None, article=made, move="submit")
    return article_services.article_move(actor=None, article=made, move="approve")


@pytest.fixture
def scene(org, users, make_user):
    synonyms.forget()
    subject = Category.objects.create(dimension=Dimension.SUBJECT, code="03", name="住房")
    form = Category.objects.create(dimension=Dimension.FORM, code="F2", name="办事指南")
    guide = publish(org.sy, subject, form, "住房公积金提取办理指南")
    publish(org.sy, subject, form, "人才公寓申请条件与流程")
    old = Article.objects.create(
        platform=org.sy,
        subject=subject,
        form=form,
        title="2025年度住房公积金缴存基数调整通知",
        body="<p>通知</p>",
        state="published",
        created_at=timezone.now() - dt.timedelta(days=300),
        published_at=timezone.now() - dt.timedelta(days=300),
        expires_on=timezone.localdate(),
    )
    editor = make_user("kb_editor", username="kb_browser", display_name="知识管理员刘洋")
    now = timezone.now()
    for query, times in (("人才公寓", 6), ("椰梦长廊停车", 3), ("ETC办理", 2)):
        for _ in range(times):
            SearchLog.objects.create(user=users.agent, query=query, results=0, at=now)
    closed = Correction.objects.create(
        platform=org.sy,
        kind="wrong",
        article=guide,
        description="提取材料清单与窗口要求不一致",
        state=CorrectionState.RESOLVED,
        reporter=users.dispatcher,
        handler=editor,
        resolution="已更新材料清单",
        reported_at=now - dt.timedelta(days=2, hours=5),
        closed_at=now - dt.timedelta(days=1),
    )
    yield {"agent": users.agent, "editor": editor, "guide": guide, "old": old, "closed": closed}
    synonyms.forget()


def test_report_triage_feed_synonyms_and_compilation(browser, live_server, screenshot_dir, scene):
    agent = Person(browser, live_server.url, scene["agent"], screenshot_dir)
    agent.goto("/kb/corrections/report/?query=人才公寓租金")
    agent.page.fill("textarea[name=description]", "市民询问人才公寓租金标准，知识库中未找到")
    agent.shoot("correction-report")
    agent.submit(agent.page.get_by_role("button", name="提交上报"))
    expect(agent.page.locator(".alert-success")).to_contain_text("已提交")
    expect(agent.page.locator(".kbc-table")).to_contain_text("人才公寓租金")
    agent.shoot("corrections-mine")
    report = Correction.objects.get(query="人才公寓租金")

    editor = Person(browser, live_server.url, scene["editor"], screenshot_dir)
    editor.goto("/kb/corrections/")
    expect(editor.page.locator(".kbc-stats")).to_contain_text("上报总数")
    expect(editor.page.locator(".kbc-table")).to_contain_text("人才公寓租金")
    editor.shoot("corrections-list")
    editor.page.get_by_role("link", name="“人才公寓租金”").click()
    editor.page.wait_for_load_state()
    editor.submit(editor.page.locator(".kbc-move-accept button[type=submit]"))
    expect(editor.page.locator(".page-title .kbc-state")).to_have_text("处理中")
    editor.page.fill("textarea[name=resolve-resolution]", "已新增人才公寓租金标准的知识")
    editor.page.fill("input[name=resolve-article]", str(scene["guide"].pk))
    editor.shoot("correction-detail")
    editor.submit(editor.page.locator(".kbc-move-resolve button[type=submit]"))
    expect(editor.page.locator(".page-title .kbc-state")).to_have_text("已解决")
    report.refresh_from_db()
    assert report.state == CorrectionState.RESOLVED

    agent.goto("/notifications/")
    expect(agent.page.locator("main")).to_contain_text("您上报的查无纠错已解决")
    agent.goto(f"/kb/corrections/report/?article={scene['guide'].pk}&query=公积金提取")
    expect(agent.page.locator(".kbr-head")).to_contain_text("纠错：《住房公积金提取办理指南》")
    agent.shoot("correction-report-wrong")

    editor.goto("/kb/corrections/candidates/")
    expect(editor.page.locator(".kbc-table tbody tr")).to_have_count(3)
    editor.shoot("correction-candidates")
    editor.submit(editor.page.get_by_role("button", name="转为查无上报").first)
    assert Correction.objects.filter(query="人才公寓", reporter=scene["editor"]).exists()

    editor.goto("/kb/synonyms/")
    editor.page.fill("input[name=words]", "椰梦长廊 椰梦廊 三亚湾海滨公园")
    editor.submit(editor.page.get_by_role("button", name="新增"))
    editor.page.fill("input[name=words]", "人才公寓 人才住房")
    editor.submit(editor.page.get_by_role("button", name="新增"))
    editor.page.fill("input[name=words]", "停水")
    editor.submit(editor.page.get_by_role("button", name="新增"))
    expect(editor.page.locator(".invalid-feedback")).to_contain_text("至少须有两个不同的词语")
    editor.errors.remove(  # the refusal's 422, asked for above
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    )
    expect(editor.page.locator(".kbs-word")).to_have_count(5)
    editor.shoot("synonyms")

    editor.goto(f"/kb/compilations/?period=week&date={timezone.localdate().isoformat()}")
    expect(editor.page.locator("#kbp-added")).to_contain_text("人才公寓申请条件与流程")
    expect(editor.page.locator("#kbp-expired")).to_contain_text("缴存基数调整通知")
    editor.shoot("compilation")
    with editor.page.expect_download() as download:
        editor.page.get_by_role("link", name="下载 Word").click()
    assert download.value.suggested_filename.endswith(".docx")

    agent.done()
    editor.done()
