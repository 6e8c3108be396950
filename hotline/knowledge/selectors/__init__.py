"""Reads of the knowledge base (知识库), one module per area; each module is owned by one
part of the app and imported as a module::

    from hotline.knowledge.selectors import articles as article_selectors

- ``articles``: editors' lists, scope of categories and articles, versions and diffs,
  ``published_for_agents`` (what agents may find)
"""

# One line per module, each added by its owner (so: not merged into one import).
# ruff: noqa: I001
from . import articles  # noqa: F401
from . import search  # noqa: F401  (知识检索: search, suggestions, hot articles, reading)
