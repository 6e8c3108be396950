"""The states of a knowledge article and of a 查无纠错 report, declared once.

Services guard every move with these tables; the docs and the tests read them too.
"""

from dataclasses import dataclass
from enum import StrEnum


class ArticleState(StrEnum):
    DRAFT = "draft"  # 草稿: the editor is writing it
    PENDING = "pending"  # 待审核: submitted for review
    PUBLISHED = "published"  # 已发布: agents find it
    ARCHIVED = "archived"  # 已归档: withdrawn, kept for history


ARTICLE_STATE_LABELS = {
    ArticleState.DRAFT: "草稿",
    ArticleState.PENDING: "待审核",
    ArticleState.PUBLISHED: "已发布",
    ArticleState.ARCHIVED: "已归档",
}


@dataclass(frozen=True)
class Move:
    code: str
    label: str
    permission: str
    edges: frozenset[tuple[str, str]]

    @property
    def sources(self) -> frozenset[str]:
        return frozenset(source for source, _ in self.edges)

    def target(self, source: str) -> str:
        return next(to for frm, to in self.edges if frm == source)


def _move(code, label, permission, *edges) -> Move:
    return Move(code, label, permission, frozenset(edges))


S = ArticleState
ARTICLE_MOVES: dict[str, Move] = {
    m.code: m
    for m in [
        _move("submit", "提交审核", "kb.edit", (S.DRAFT, S.PENDING)),
        _move("withdraw", "撤回", "kb.edit", (S.PENDING, S.DRAFT)),
        _move("approve", "审核通过并发布", "kb.review", (S.PENDING, S.PUBLISHED)),
        _move("reject", "退回修改", "kb.review", (S.PENDING, S.DRAFT)),
        # a published article that is edited goes back through review
        _move("revise", "修订", "kb.edit", (S.PUBLISHED, S.DRAFT)),
        _move("archive", "归档", "kb.review", (S.PUBLISHED, S.ARCHIVED), (S.DRAFT, S.ARCHIVED)),
        _move("restore", "恢复为草稿", "kb.edit", (S.ARCHIVED, S.DRAFT)),
    ]
}


class CorrectionState(StrEnum):
    OPEN = "open"  # 待处理: reported
    ACCEPTED = "accepted"  # 处理中: the KB team took it, an editor fixes or writes
    RESOLVED = "resolved"  # 已解决: fixed or written (and published); the reporter is told
    REJECTED = "rejected"  # 不采纳: no change needed; the reporter is told why


CORRECTION_STATE_LABELS = {
    CorrectionState.OPEN: "待处理",
    CorrectionState.ACCEPTED: "处理中",
    CorrectionState.RESOLVED: "已解决",
    CorrectionState.REJECTED: "不采纳",
}

C = CorrectionState
CORRECTION_MOVES: dict[str, Move] = {
    m.code: m
    for m in [
        _move("accept", "受理", "kb.corrections", (C.OPEN, C.ACCEPTED)),
        _move("resolve", "办结", "kb.corrections", (C.OPEN, C.RESOLVED), (C.ACCEPTED, C.RESOLVED)),
        _move("reject", "不采纳", "kb.corrections", (C.OPEN, C.REJECTED), (C.ACCEPTED, C.REJECTED)),
    ]
}
