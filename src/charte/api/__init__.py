"""HTTP adapters (FastAPI): public pages, the JSON API and the dashboard. No business rules here."""

from charte.api.app import create_app

__all__ = ["create_app"]
