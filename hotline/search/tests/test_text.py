"""Segmentation, stop words, synonyms and highlighting: what makes a Chinese query find
Chinese text."""

from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.search import highlight, index_text, query_groups, query_words
from hotline.search.indexes import _fts5_query, _tsquery


def test_documents_are_indexed_with_the_words_inside_long_words():
    words = index_text("提取住房公积金", "社保卡丢失补办").split()
    assert {"住房公积金", "公积金", "提取", "社保卡", "社保", "补办"} <= set(words)


def test_queries_keep_only_meaningful_words():
    assert query_words("请问公积金怎么提取？") == ["公积金", "提取"]
    assert query_words("？！，。") == []
    assert query_words("噪音 噪音 噪音") == ["噪音"]


def test_synonyms_widen_a_word_to_its_group():
    groups = query_groups("医保报销")
    assert groups[0][0] == "医保"
    assert {"医疗保险", "医疗保障"} <= set(groups[0])


def test_latin_letters_and_digits_are_lower_cased_words():
    assert query_words("ETC 办理 12345") == ["etc", "办理", "12345"]
    assert "etc" in index_text("ETC卡").split()


def test_highlight_marks_words_and_synonyms_and_escapes_html():
    marked = highlight("<b>医疗保险</b>报销比例", "医保")
    assert marked == "&lt;b&gt;<mark>医疗保险</mark>&lt;/b&gt;报销比例"


def test_highlight_cuts_a_window_around_the_first_match():
    text = "甲" * 100 + "公积金" + "乙" * 100
    marked = highlight(text, "公积金", width=40)
    assert marked.startswith("…") and marked.endswith("…")
    assert "<mark>公积金</mark>" in marked
    assert len(marked.replace("<mark>", "").replace("</mark>", "")) <= 42


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_input_makes_a_well_formed_engine_query(text):
    """Quotes, operators and backslashes typed by a user never break the query syntax."""
    groups = query_groups(text)
    fts, ts = _fts5_query(groups), _tsquery(groups)
    if not groups:
        assert fts == ts == ""
        return
    assert fts.count('"') % 2 == 0
    assert ts.count("'") % 2 == 0 and "\\" not in ts
