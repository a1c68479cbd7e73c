"""What the consent routes share: the banner and link signer built once per app, the clock, request metadata."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from charte.api.deps import client_address, get_manifest, get_workspace
from charte.consent.links import LinkSigner
from charte.consent.rate_limit import RateLimiter
from charte.consent.request_meta import RequestMeta, minimise_request
from charte.ledger import utcnow
from charte.store import session_factory
from charte.store.driver import ThreadConnections
from charte.web.banner import BannerAsset, build_banner


def app_clock(request: Request) -> Callable[[], datetime]:
    """The app's clock (tests may set ``app.state.clock``), else the real one."""
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", utcnow)
    return clock


def banner_asset(request: Request) -> BannerAsset:
    """The banner of the app's manifest, built on first use (the manifest does not change while serving)."""
    asset: BannerAsset | None = getattr(request.app.state, "consent_banner", None)
    if asset is None:
        asset = build_banner(get_manifest(request))
        request.app.state.consent_banner = asset
    return asset


def link_signer(request: Request) -> LinkSigner:
    """The signer of preferences and unsubscribe links, keyed by ``CHARTE_SECRET_KEY``."""
    signer: LinkSigner | None = getattr(request.app.state, "consent_links", None)
    if signer is None:
        signer = LinkSigner(get_workspace(request).settings.secret_key)
        request.app.state.consent_links = signer
    return signer


def read_sessions(request: Request) -> sessionmaker[Session]:
    """Sessions for reads that take no write lock: the permission check and the banner's sync."""
    factory: sessionmaker[Session] | None = getattr(request.app.state, "consent_reads", None)
    if factory is None:
        factory = session_factory(get_workspace(request).reader)
        request.app.state.consent_reads = factory
    return factory


def hot_connections(request: Request) -> ThreadConnections:
    """Long-lived read connections of the app, one per thread, for the permission check."""
    connections: ThreadConnections | None = getattr(request.app.state, "hot_connections", None)
    if connections is None:
        connections = ThreadConnections(get_workspace(request).reader)
        request.app.state.hot_connections = connections
    return connections


def consent_limiter(request: Request) -> RateLimiter | None:
    """The public consent API's limiter, per network and minute (``CHARTE_CONSENT_RATE_LIMIT``; 0: None).

    Built once per app; tests may put their own (with an injected clock) in ``app.state.consent_limiter``.
    """
    state = request.app.state
    if not hasattr(state, "consent_limiter"):  # None is a value here: "no limit"
        limit = get_workspace(request).settings.consent_rate_limit
        state.consent_limiter = RateLimiter(limit, 60.0) if limit > 0 else None
    limiter: RateLimiter | None = state.consent_limiter
    return limiter


def request_meta(request: Request) -> RequestMeta:
    """The minimised metadata of this request: truncated address and browser family."""
    return minimise_request(client_address(request), request.headers.get("user-agent"))


def base_url(request: Request) -> str:
    """Where this app is reached, for links sent to people."""
    return str(request.base_url).rstrip("/")
