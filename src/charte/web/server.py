"""Running the web app with uvicorn."""

from __future__ import annotations

import uvicorn

from charte.api import create_app
from charte.workspace import Workspace


def serve(workspace: Workspace, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the privacy center, API and dashboard until interrupted (loopback only unless told)."""
    app = create_app(workspace)
    # proxy_headers trusts X-Forwarded-* only from uvicorn's forwarded_allow_ips (127.0.0.1 by default).
    uvicorn.run(app, host=host, port=port, proxy_headers=True, server_header=False, log_level="info")
