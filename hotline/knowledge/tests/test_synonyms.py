"""同义词: editors add, edit and delete synonym groups; the search expands a query word to
its group at once in this process (and within seconds in others); new words are taught
to jieba; bad groups are refused in Chinese; every change is audited."""

import json

import pytest

from hotline.core.errors import Forbidden, Unprocessable
from hotline.core.models import AuditEntry
from hotline.knowledge.models import SynonymGroup
from hotline.knowledge.services import synonyms
from hotline.search import query_groups, query_words


@pytest.fixture(autouse=True)
def _forget_groups():
    """The provider's cache is per process; a rolled-back test must not leave its groups."""
    synonyms.forget()
    yield
    synonyms.forget()


@pytest.fixture
def editor(make_user):
    return make_user("kb_editor", username="kb_syn", display_name="知识管理员刘洋")


def expanded(query: str) -> set[str]:
    return {word for group in query_groups(query) for word in group}


def group_of(word: str, query: str | None = None) -> list[str]:
    groups = query_groups(query or word)
    return next(g for g in groups if g[0] == word)


def test_a_new_group_widens_the_search_at_once(editor):
    assert "三亚湾海滨公园" not in expanded("椰梦长廊")
    synonyms.synonym_group_create(actor=editor, words="椰梦长廊 椰梦廊 三亚湾海滨公园")
    assert group_of("椰梦廊") == ["椰梦廊", "椰梦长廊", "三亚湾海滨公园"]
    # jieba now cuts the new words whole inside a sentence
    assert "椰梦长廊" in query_words("椰梦长廊停车场在哪里")
    assert group_of("椰梦长廊", "椰梦长廊停车场在哪里") == ["椰梦长廊", "椰梦廊", "三亚湾海滨公园"]


def test_an_edited_or_deleted_group_changes_the_search(editor):
    group = synonyms.synonym_group_create(actor=editor, words="人才公寓 人才住房")
    synonyms.synonym_group_update(actor=editor, group=group, words="人才公寓 人才房 人才住房")
    assert group_of("人才房") == ["人才房", "人才公寓", "人才住房"]
    synonyms.synonym_group_delete(actor=editor, group=group)
    assert group_of("人才房") == ["人才房"]
    actions = list(
        AuditEntry.objects.filter(object_type="knowledge.synonymgroup")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["kb.synonym.create", "kb.synonym.update", "kb.synonym.delete"]


def test_latin_words_match_the_lower_cased_query(editor):
    synonyms.synonym_group_create(actor=editor, words="ETC 电子不停车收费")
    assert "电子不停车收费" in group_of("etc", "ETC 怎么办理")


def test_a_group_saved_by_another_process_is_used_within_seconds(editor, monkeypatch):
    """Another web worker saved a group: this process sees it once its copy is older than
    CHECK_EVERY seconds (the clock is moved on instead of waiting)."""
    clock = [1000.0]
    monkeypatch.setattr(synonyms.time, "monotonic", lambda: clock[0])
    assert "三亚机场" not in expanded("凤凰机场")  # read (no groups) at t=1000
    SynonymGroup.objects.create(words="凤凰机场 三亚机场")  # not through this process
    clock[0] += synonyms.CHECK_EVERY / 2
    assert "三亚机场" not in expanded("凤凰机场")  # still this process's copy
    clock[0] += synonyms.CHECK_EVERY
    assert group_of("凤凰机场") == ["凤凰机场", "三亚机场"]  # and jieba knows the words


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("医保", "同义词组至少须有两个不同的词语"),
        ("  ", "同义词组至少须有两个不同的词语"),
        ("医保 医保 ", "同义词组至少须有两个不同的词语"),
        ("一二三四五六七八九十一二三四五六七八九十一 医保", "超过 20 个字"),
        ("医保 ？？", "不是有效的词语"),
    ],
)
def test_bad_groups_are_refused_in_chinese(editor, words, message):
    with pytest.raises(Unprocessable, match=message):
        synonyms.synonym_group_create(actor=editor, words=words)
    assert not SynonymGroup.objects.exists()


def test_the_same_set_twice_is_refused_in_any_order(editor):
    synonyms.synonym_group_create(actor=editor, words="旅游投诉 旅游纠纷")
    with pytest.raises(Unprocessable, match="已有相同的同义词组：旅游投诉 旅游纠纷"):
        synonyms.synonym_group_create(actor=editor, words="旅游纠纷，旅游投诉")
    # a different set sharing a word is fine
    synonyms.synonym_group_create(actor=editor, words="旅游投诉 游客投诉")
    assert SynonymGroup.objects.count() == 2


def test_commas_and_enumeration_marks_separate_words_too(editor):
    group = synonyms.synonym_group_create(actor=editor, words="停水，断水、没水 ")
    assert group.word_list == ["停水", "断水", "没水"]


def test_only_kb_managers_change_synonyms(users):
    with pytest.raises(Forbidden):
        synonyms.synonym_group_create(actor=users.agent, words="停水 断水")


def test_the_synonyms_page(editor, users, login):
    page = login(editor)
    assert page.get("/kb/synonyms/").status_code == 200
    assert login(users.agent).get("/kb/synonyms/").status_code == 403
    created = page.post("/kb/synonyms/", {"words": "停水 断水"})
    assert created.status_code == 302
    group = SynonymGroup.objects.get()
    listing = page.get("/kb/synonyms/").content.decode()
    assert "停水" in listing and "断水" in listing
    refused = page.post("/kb/synonyms/", {"words": "停水"})
    assert refused.status_code == 422
    assert "同义词组至少须有两个不同的词语" in refused.content.decode()
    assert page.get(f"/kb/synonyms/{group.pk}/").status_code == 200
    edited = page.post(f"/kb/synonyms/{group.pk}/", {"edit-words": "停水 断水 停供水"})
    assert edited.status_code == 302
    assert SynonymGroup.objects.get().words == "停水 断水 停供水"
    assert page.post(f"/kb/synonyms/{group.pk}/delete/").status_code == 302
    assert not SynonymGroup.objects.exists()
    assert page.get("/kb/synonyms/999999/").status_code == 404


def test_the_synonyms_api(editor, users, api):
    def post(user, body):
        return api(user).post("/api/kb/synonyms", json.dumps(body), content_type="application/json")

    created = post(editor, {"words": "供电 电力"})
    assert created.status_code == 201 and created.json()["words"] == ["供电", "电力"]
    assert post(users.agent, {"words": "停电 断电"}).status_code == 403
    refused = post(editor, {"words": "供电"})
    assert refused.status_code == 422 and "至少须有两个" in refused.json()["detail"]
    assert [g["words"] for g in api(editor).get("/api/kb/synonyms").json()] == [["供电", "电力"]]
    url = f"/api/kb/synonyms/{created.json()['id']}"
    changed = api(editor).put(url, json.dumps({"words": "供电 电力 电网"}), "application/json")
    assert changed.status_code == 200 and changed.json()["words"] == ["供电", "电力", "电网"]
    assert api(editor).delete(url).status_code == 204
    assert api(editor).delete(url).status_code == 404
