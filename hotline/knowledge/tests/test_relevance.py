"""The knowledge base answers citizens' own words: on the 348 labelled questions
(data/questions.json, phrased the way callers speak) over the written demo articles, the
right article is among the first three hits at least 90% of the time (issue 4's bar)."""

import pytest

from hotline.core import demo
from hotline.core.models import Platform
from hotline.knowledge.selectors.search import labelled_relevance


@pytest.mark.django_db
def test_the_labelled_questions_find_their_articles():
    demo.load_demo(orders=0, calls=0)
    measured = labelled_relevance(Platform.objects.get(code="SY"))
    assert measured.questions >= 150 and measured.articles >= 300
    assert measured.top3 >= 0.90, f"top-3 {measured.top3:.1%}, MRR {measured.mrr:.3f}"
    assert measured.mrr >= 0.8
