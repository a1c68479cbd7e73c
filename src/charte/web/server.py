"""Running the web app with uvicorn, and in the embedded default a job consumer in the same process."""

from __future__ import annotations

import uvicorn

from charte.api import create_app
from charte.workspace import Workspace


def embedded_queue(workspace: Workspace) -> bool:
    """True when nothing else runs jobs: no queue URL and the store on SQLite."""
    settings = workspace.settings
    return settings.queue_url is None and settings.store_url.startswith("sqlite")


def serve(workspace: Workspace, host: str = "127.0.0.1", port: int = 8000, *, consume: bool | None = None) -> None:
    """Serve the privacy center, API and dashboard until interrupted (loopback only unless told)."""
    from charte.jobs import build_jobs

    app = create_app(workspace)
    consumer = None
    if consume if consume is not None else embedded_queue(workspace):
        consumer = build_jobs(workspace).consumer(workers=1)
        consumer.start()  # threads; uvicorn then installs its own signal handlers for shutdown
    try:
        # proxy_headers trusts X-Forwarded-* only from uvicorn's forwarded_allow_ips (127.0.0.1 by default).
        uvicorn.run(app, host=host, port=port, proxy_headers=True, server_header=False, log_level="info")
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
