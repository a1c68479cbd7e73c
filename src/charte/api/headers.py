"""Security headers on every response, stricter under ``/admin``."""

from __future__ import annotations

import base64
import hashlib
import re

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


#: JSON answers are not documents: nothing may load from them or frame them (OWASP's REST security headers).
API_CSP = "default-src 'none'; frame-ancestors 'none'"

_Headers = tuple[tuple[bytes, bytes], ...]


def _raw(*pairs: tuple[str, str]) -> _Headers:
    return tuple((name.lower().encode(), value.encode()) for name, value in pairs)


_NO_DEVICES = "camera=(), microphone=(), geolocation=()"
_PUBLIC = _raw(("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin"),
               ("Content-Security-Policy", PUBLIC_CSP), ("Permissions-Policy", _NO_DEVICES))
# Dashboard pages show personal data and one-time secrets: keep them out of every cache and every frame.
_ADMIN = _raw(("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
              ("Content-Security-Policy", ADMIN_CSP), ("Permissions-Policy", _NO_DEVICES),
              ("X-Frame-Options", "DENY"), ("Cache-Control", "no-store"))
# Answers about people are personal data: no shared cache keeps them unless the route says otherwise.
_API = _raw(("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", API_CSP), ("Cache-Control", "no-store"))


def _profile(path: str) -> _Headers:
    if path.startswith("/api/"):
        return _API
    if path == "/admin" or path.startswith("/admin/"):
        return _ADMIN
    return _PUBLIC


class SecurityHeaders:
    """Pure ASGI middleware (no body buffering) that adds headers the route did not set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = _profile(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in wanted if pair[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
