"""Settings from ``CHARTE_*`` environment variables (and an optional ``.env``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration; secrets come only from the environment."""

    model_config = SettingsConfigDict(env_prefix="CHARTE_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=Path.cwd, description="Workspace folder (manifest, database, outbox).")
    manifest: Path | None = Field(None, description="Manifest path; defaults to HOME/charte.yaml.")
    database_url: str | None = Field(None, description="Charte's own store; defaults to SQLite in HOME.")
    secret_key: SecretStr | None = Field(None, description="Signs session cookies and links.")
    session_max_age: int = Field(8 * 3600, description="Admin session lifetime in seconds.")
    login_max_failures: int = Field(5, description="Failed logins allowed per account and address per window.")
    login_window_seconds: int = Field(15 * 60)
    token_cache_seconds: float = Field(
        5.0, ge=0, le=300, description="How long a server trusts an API token it has verified: a token revoked "
                                       "elsewhere (CLI, another server) is refused at most this much later; "
                                       "0 checks the store on every request.")
    consent_rate_limit: int = Field(
        300, ge=0, description="Posts per minute that the public consent API (POST /api/v1/consent, the banner's) "
                              "accepts from one network (the visitor's address truncated to IPv4 /24 or IPv6 "
                              "/48), in bursts of up to as many (a token bucket); more get HTTP 429 with "
                              "Retry-After and record nothing. Counted per server process; 0 disables the limit.")
    secure_cookies: bool = Field(False, description="Mark cookies Secure (set behind HTTPS).")
    smtp_url: SecretStr | None = Field(
        None, description="Outgoing mail: smtp://user:password@host:587?starttls=true or smtps://host:465; "
                          "unset: messages are written as .eml files to HOME/outbox.")
    mail_from: str | None = Field(None, description="Sender address of outgoing mail; defaults to the DPO's.")
    public_url: str | None = Field(None, description="Public address of the privacy center, for links in mail "
                                                    "sent outside a web request (default http://127.0.0.1:8000).")
    queue_url: str | None = Field(
        None, description="Job queue: redis://... or postgresql://...; default: the store's PostgreSQL, else SQLite."
    )
    workers: int = Field(2, description="Worker threads of `charte worker` (and 1 inside `charte serve`).")
    retention_schedule: str = Field("10 2 * * *", description="When the retention sweep runs: a cron line "
                                                              "(minute hour day month weekday), UTC; daily by default.")
    retention_batch_size: int = Field(50_000, ge=1, description="Rows per retention batch (one transaction each): "
                                      "about 0.2-0.4 s of row locks for simple updates; lower it for heavy cascades.")

    @classmethod
    def for_home(cls, home: Path) -> Settings:
        """Settings of the workspace in ``home``, reading its ``.env``; the environment still wins."""
        folder = home.resolve()
        return cls(home=folder, _env_file=folder / ".env")

    @property
    def manifest_path(self) -> Path:
        """Where the manifest is read from."""
        return self.manifest or self.home / "charte.yaml"

    @property
    def store_url(self) -> str:
        """SQLAlchemy URL of Charte's own database."""
        return self.database_url or f"sqlite:///{(self.home / 'charte.db').resolve()}"


def get_settings() -> Settings:
    """Read the settings now (environment may change between calls in tests)."""
    return Settings()
