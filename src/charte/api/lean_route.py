"""A route for hot paths: the endpoint takes the request and returns the response itself."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, cast

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response


class LeanRoute(APIRoute):
    """An API route without dependency solving or response validation, for endpoints called by every integration.

    The endpoint's signature must be ``async def endpoint(request: Request) -> Response``: it reads its
    parameters and checks its token itself. It is documented like any route, from ``response_model`` and the
    parameters given in ``openapi_extra`` (FastAPI's documented way to customise request handling).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The endpoint itself."""
        return cast(Callable[[Request], Coroutine[Any, Any, Response]], self.endpoint)
