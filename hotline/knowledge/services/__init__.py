"""Writes of the knowledge base (知识库), one module per area; each module is owned by one
part of the app and imported as a module::

    from hotline.knowledge.services import articles as article_services

- ``categories``: 知识分类 (create, rename, move, deactivate, owner unit)
- ``articles``: 采编与审核 (articles, versions, attachments, images, moves, import)
"""

# One line per module, each added by its owner (so: not merged into one import).
# ruff: noqa: I001
from . import articles  # noqa: F401
from . import categories  # noqa: F401
from . import usage  # noqa: F401  (检索与使用: clicks, ratings, favourites, search log)
