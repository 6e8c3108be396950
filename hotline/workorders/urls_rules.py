"""Routes of one work-order area (see urls.py)."""

urlpatterns: list = []
