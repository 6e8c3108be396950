"""One Chinese search interface for every app (work orders, knowledge base, …).

- ``index_text(*parts)`` turns a document into the segmented words a model stores in its
  ``search_text`` column;
- ``register(SearchIndex("app.Model"))`` makes that column searchable (FTS5 on SQLite,
  a GIN-indexed tsvector on PostgreSQL);
- ``matching(queryset, query)`` narrows a queryset to the rows that contain the query's
  words or their synonyms;
- ``highlight(text, query)`` marks the query's words in a text for display.
"""

from .highlighting import highlight
from .indexes import SearchIndex, containing, matching, register
from .text import index_text, query_groups, query_words

__all__ = [
    "SearchIndex",
    "containing",
    "highlight",
    "index_text",
    "matching",
    "query_groups",
    "query_words",
    "register",
]
