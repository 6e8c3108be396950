"""12345 政务服务便民热线平台 — the hotline platform."""

__version__ = "0.1.0"
