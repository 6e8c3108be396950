"""WebSocket routes of every context (agent desk, supervisor, wall, media nodes)."""

websocket_urlpatterns: list = []
