"""Public consent routes: the banner script, and the consent API the banner calls from any site (CORS).

No token here: a visitor records choices for the random consent id its browser holds. The banner posts a
``text/plain`` body so that the browser sends no preflight request; ``application/json`` is accepted too.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from charte.api.consent_support import app_clock, banner_asset, consent_limiter, read_sessions, request_meta
from charte.api.deps import get_manifest, get_workspace
from charte.consent import Collection, CollectionMethod, CookieChoices, record_cookie_choices
from charte.consent.recording import cookie_choices
from charte.store import transaction

router = APIRouter(tags=["consent"])

CONSENT_ID_PATTERN = r"^[A-Za-z0-9_-]{22}$"
#: A banner's choices are a few hundred bytes; anything much larger is not a banner.
MAX_BODY = 4096
#: The consent API answers any site (the banner runs on the organisation's sites); no credentials are involved.
CORS_HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
#: The key of requests whose address is not an IP address (a Unix socket): they share one allowance.
UNKNOWN_NETWORK = "unknown"
_PREFLIGHT = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
              "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "86400"}


class BannerChoices(BaseModel):
    """A visitor's choices as the banner sends them."""

    model_config = ConfigDict(extra="forbid")

    consent_id: str = Field(pattern=CONSENT_ID_PATTERN, description="The random id in the visitor's consent cookie.")
    choices: dict[str, bool] = Field(max_length=32, description="Cookie category -> accepted.")
    banner_version: str = Field(pattern=r"^[0-9a-f]{64}$", description="The `ver` of the banner shown.")
    lang: str | None = Field(None, pattern=r"^[a-z]{2}$")
    gpc: bool = Field(False, description="navigator.globalPrivacyControl; the Sec-GPC header counts as well.")
    method: Literal["banner", "preferences"] = "banner"


class CurrentChoices(BaseModel):
    """A visitor's current cookie choices (through its link to an identified subject, if any)."""

    consent_id: str
    revision: str
    version: int = Field(description="Id of the newest decision; the banner adopts choices newer than its own.")
    choices: dict[str, bool]


def _answer(result: CookieChoices, revision: str, status_code: int = 200) -> JSONResponse:
    body = CurrentChoices(consent_id=result.consent_id, revision=revision, version=result.version,
                          choices=result.choices)
    return JSONResponse(body.model_dump(), status_code=status_code, headers=CORS_HEADERS)


def _invalid(errors: list[dict[str, Any]]) -> JSONResponse:
    # The same shape as FastAPI's own 422 answers, readable from any origin.
    detail = [{"type": e.get("type", "value_error"), "loc": ["body", *e.get("loc", ())], "msg": e["msg"]}
              for e in errors]
    return JSONResponse({"detail": detail}, status_code=422, headers=CORS_HEADERS)


def _too_many(wait: int) -> JSONResponse:
    # Readable from any origin like the other answers, Retry-After included.
    detail = (f"too many consent choices were sent from this network: nothing was recorded; "
              f"try again in {wait} seconds")
    headers = {**CORS_HEADERS, "Retry-After": str(wait), "Access-Control-Expose-Headers": "Retry-After"}
    return JSONResponse({"detail": detail}, status_code=429, headers=headers)


@router.get("/banner.js", include_in_schema=False)
def banner_script(request: Request) -> Response:
    """The cookie banner, built from the manifest; gzipped when the browser accepts it."""
    asset = banner_asset(request)
    etag = f'W/"{asset.version[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding",
               "Cross-Origin-Resource-Policy": "cross-origin"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(asset.gzipped, media_type="text/javascript; charset=utf-8",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(asset.script, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/banner.css", include_in_schema=False)
def banner_stylesheet(request: Request) -> Response:
    """The banner's stylesheet, for browsers without constructable stylesheets."""
    return Response(banner_asset(request).css, media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300", "Cross-Origin-Resource-Policy": "cross-origin"})


@router.options("/api/v1/consent", include_in_schema=False)
@router.options("/api/v1/consent/{consent_id}", include_in_schema=False)
def consent_preflight() -> Response:
    """CORS preflight for clients that send ``application/json``."""
    return Response(status_code=204, headers=_PREFLIGHT)


@router.post(
    "/api/v1/consent", summary="Record a visitor's cookie choices (the banner)",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": BannerChoices.model_json_schema()},
        "text/plain": {"schema": BannerChoices.model_json_schema()}}}},
    responses={200: {"model": CurrentChoices}, 409: {"description": "The banner changed: reload the page."},
               422: {"description": "Invalid choices; `detail` names each problem."},
               429: {"description": "Too many posts from this network (`CHARTE_CONSENT_RATE_LIMIT` per minute): "
                                    "nothing was recorded; try again after `Retry-After` seconds."}},
)
async def record_banner_choices(request: Request) -> Response:
    """One event per category (given, refused or withdrawn), each in the ledger; GPC refuses advertising."""
    meta = request_meta(request)
    limiter = consent_limiter(request)
    if limiter is not None:
        # Counted before anything is read: a flood costs neither parsing nor a write.
        wait = limiter.hit(meta.ip_prefix or UNKNOWN_NETWORK)
        if wait:
            return _too_many(wait)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"detail": f"the body is larger than {MAX_BODY} bytes"}, 413, headers=CORS_HEADERS)
    try:
        sent = BannerChoices.model_validate_json(body or b"{}")
    except ValidationError as exc:
        return _invalid([{"type": e["type"], "loc": e["loc"], "msg": e["msg"]} for e in exc.errors()])
    manifest = get_manifest(request)
    asset = banner_asset(request)
    categories = manifest.cookies.categories
    problems = [{"loc": ("choices", key), "msg": f"unknown cookie category {key!r}; the banner asks about "
                 + ", ".join(k for k, c in categories.items() if not c.required)}
                for key in sent.choices if key not in categories]
    problems += [{"loc": ("choices", key), "msg": f"cookie category {key!r} is required and needs no consent"}
                 for key in sent.choices if key in categories and categories[key].required]
    gpc = sent.gpc or request.headers.get("sec-gpc") == "1"
    if not sent.choices and not gpc:
        problems.append({"loc": ("choices",), "msg": "no choice was sent"})
    if problems:
        return _invalid(problems)
    if sent.banner_version != asset.version:
        return JSONResponse({"detail": "this banner version is not the one Charte serves now: reload the page"},
                            409, headers=CORS_HEADERS)
    collection = Collection(CollectionMethod(sent.method), "visitor", notice=asset.notice, lang=sent.lang,
                            request=meta)
    clock = app_clock(request)

    def record() -> CookieChoices:
        with transaction(get_workspace(request).sessions) as session:
            return record_cookie_choices(session, manifest, sent.consent_id, sent.choices, collection, gpc=gpc,
                                         clock=clock)

    return _answer(await run_in_threadpool(record), asset.revision)


@router.get("/api/v1/consent/{consent_id}", summary="A visitor's current cookie choices",
            response_model=CurrentChoices)
def current_banner_choices(request: Request,
                           consent_id: str = Path(pattern=CONSENT_ID_PATTERN)) -> Response:
    """What the banner syncs with: the choices recorded for this consent id, wherever they were made."""
    with read_sessions(request)() as session:
        result = cookie_choices(session, get_manifest(request), consent_id, clock=app_clock(request))
    return _answer(result, banner_asset(request).revision)
