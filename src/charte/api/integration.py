"""JSON routes for machine clients holding an API token."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from charte.api.deps import require_token
from charte.auth import TokenGrant

router = APIRouter(prefix="/api/v1", tags=["integration"])


class WhoAmI(BaseModel):
    """The calling token, as Charte knows it."""

    name: str
    prefix: str
    scopes: list[str]


@router.get("/whoami", response_model=WhoAmI, summary="The API token making this call")
def whoami(token: TokenGrant = Depends(require_token())) -> WhoAmI:
    """The token's name, public prefix and scopes: a way for a client to check its configuration."""
    return WhoAmI(name=token.name, prefix=token.prefix, scopes=list(token.scopes))
