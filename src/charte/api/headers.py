"""Security headers on every response, stricter under ``/admin``."""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline scripts anywhere; styles come from /static only.
PUBLIC_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "object-src 'none'; base-uri 'self'; form-action 'self'")
ADMIN_CSP = PUBLIC_CSP + "; frame-ancestors 'none'"

_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)


def csp_allowing_styles_of(html: str) -> str:
    """The public CSP, also admitting exactly the inline ``<style>`` blocks of ``html`` by their hash."""
    hashes = sorted({
        "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"
        for block in _STYLE_BLOCK.findall(html)
    })
    if not hashes:
        return PUBLIC_CSP
    return PUBLIC_CSP.replace("style-src 'self'", "style-src 'self' " + " ".join(hashes))


class SecurityHeaders:
    """Pure ASGI middleware (no body buffering) that adds headers the route did not set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        admin = path == "/admin" or path.startswith("/admin/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin" if admin else "strict-origin-when-cross-origin")
                headers.setdefault("Content-Security-Policy", ADMIN_CSP if admin else PUBLIC_CSP)
                headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
                if admin:
                    headers.setdefault("X-Frame-Options", "DENY")
                    # Dashboard pages show personal data and one-time secrets: keep them out of every cache.
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
