"""The privacy center and DPO dashboard: templates, static files, UI strings, the server."""
