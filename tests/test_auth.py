"""Dashboard users, passwords, login limits, API tokens and signed sessions, against a real SQLite store."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from charte import auth
from charte.auth import (
    InsecureSecretKey,
    InvalidCredentials,
    InvalidSession,
    InvalidToken,
    LoginLimits,
    MissingSecretKey,
    SessionSigner,
    TokenCache,
    TokenExists,
    TokenGrant,
    TooManyAttempts,
    UnknownRole,
    UnknownToken,
    UnknownUser,
    UserExists,
    WeakPassword,
)
from charte.ledger import verify
from charte.store import transaction
from charte.store.models import AdminUser, ApiToken, LedgerEvent, LoginAttempt
from charte.workspace import Workspace
from tests.web_support import PASSWORD

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "k" * 48


class Clock:
    """A settable clock for the domain functions."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def events(workspace: Workspace, type: str | None = None) -> list[LedgerEvent]:
    with workspace.sessions() as session:
        query = select(LedgerEvent).order_by(LedgerEvent.seq)
        if type:
            query = query.where(LedgerEvent.type == type)
        return list(session.scalars(query))


def attempt(workspace: Workspace, username: str, password: str, address: str = "192.0.2.1", *,
            clock: Callable[[], datetime] = lambda: T0, limits: LoginLimits = LoginLimits()) -> AdminUser:
    """One login, committing what it records whether it succeeds or not, as the web layer does."""
    with workspace.sessions() as session:
        try:
            return auth.authenticate(session, username, password, address, limits=limits, clock=clock)
        finally:
            session.commit()


# --- passwords -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "reason"), [
    ("short-pass1", "at least 12 characters"),
    ("            ", "only spaces"),
    ("Alice.Martin", "cannot be the username"),
    (" alice.martin ", "cannot be the username"),
    ("x" * 1025, "at most 1024"),
])
def test_password_policy_says_which_rule_is_broken(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword, match=reason) as caught:
        auth.check_password_policy(password, username="alice.martin")
    assert reason in caught.value.reason


def test_password_policy_accepts_twelve_characters() -> None:
    auth.check_password_policy("twelve chars", username="alice")


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and first != second
    assert auth.verify_password(first, PASSWORD)
    assert not auth.verify_password(first, PASSWORD + "!")
    assert not auth.verify_password("not a hash", PASSWORD)
    assert not auth.needs_rehash(first)
    assert auth.needs_rehash("not a hash")


# --- users ------------------------------------------------------------------------------------------------


def test_create_user_records_the_event_but_never_the_password(workspace: Workspace) -> None:
    with transaction(workspace.sessions) as session:
        user = auth.create_user(session, " Alice ", PASSWORD, "dpo", actor="cli", clock=lambda: T0)
    assert (user.username, user.role, user.active) == ("alice", "dpo", True)
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    [event] = events(workspace, "admin.user_created")
    assert json.loads(event.payload) == {"username": "alice", "role": "dpo"}
    assert event.actor == "cli"
    assert PASSWORD not in event.payload


def test_create_user_refuses_duplicates_unknown_roles_weak_passwords_and_bad_names(workspace: Workspace,
                                                                                   make_user: Callable[..., AdminUser]
                                                                                   ) -> None:
    make_user("alice", "admin")
    with transaction(workspace.sessions) as session:
        with pytest.raises(UserExists):
            auth.create_user(session, "ALICE", PASSWORD, "admin", actor="t")
        with pytest.raises(UnknownRole, match="one of: admin, dpo, auditor"):
            auth.create_user(session, "bob", PASSWORD, "root", actor="t")
        with pytest.raises(WeakPassword):
            auth.create_user(session, "bob", "bob", "dpo", actor="t")
        with pytest.raises(ValueError, match="no spaces"):
            auth.create_user(session, "bob smith", PASSWORD, "dpo", actor="t")
    assert [u.username for u in auth.list_users(workspace.sessions())] == ["alice"]


def test_roles_are_admin_dpo_auditor() -> None:
    assert auth.ROLES == ("admin", "dpo", "auditor")


def test_login_succeeds_stamps_the_user_and_appends_admin_login(workspace: Workspace,
                                                                make_user: Callable[..., AdminUser]) -> None:
    make_user("alice", "dpo")
    user = attempt(workspace, "Alice", PASSWORD)
    assert user.username == "alice"
    with workspace.sessions() as session:
        stored = session.scalars(select(AdminUser)).one()
    assert stored.last_login_at is not None
    [event] = events(workspace, "admin.login")
    assert json.loads(event.payload) == {"username": "alice", "role": "dpo"}
    assert event.actor == "admin:alice"
    with workspace.sessions() as session:
        assert verify(session).ok


def test_wrong_password_unknown_and_inactive_users_are_one_refusal(workspace: Workspace,
                                                                   make_user: Callable[..., AdminUser]) -> None:
    make_user("alice", "dpo")
    make_user("carol", "dpo")
    with transaction(workspace.sessions) as session:
        auth.deactivate_user(session, "carol", actor="t")
    for username, password in [("alice", "wrong password!"), ("nobody", PASSWORD), ("carol", PASSWORD)]:
        with pytest.raises(InvalidCredentials, match="invalid username or password"):
            attempt(workspace, username, password)
    failed = events(workspace, "admin.login_failed")
    assert [json.loads(e.payload) for e in failed] == [
        {"username": name, "reason": "invalid_credentials"} for name in ("alice", "nobody", "carol")
    ]
    assert all(PASSWORD not in e.payload and "wrong password" not in e.payload for e in failed)
    assert all(e.actor == "anonymous" for e in failed)


def test_unknown_user_is_checked_against_a_dummy_hash(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    real = auth.passwords.verify_password

    def spy(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(auth.users, "verify_password", spy)
    with pytest.raises(InvalidCredentials):
        attempt(workspace, "ghost", PASSWORD)
    assert checked == [auth.passwords.dummy_hash()]


def test_sixth_attempt_is_refused_even_with_the_right_password(workspace: Workspace,
                                                               make_user: Callable[..., AdminUser],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    make_user("alice", "admin")
    clock = Clock()
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            attempt(workspace, "alice", "not the password", clock=clock)
        clock.advance(seconds=10)
    verified: list[str] = []

    def accept(password_hash: str, password: str) -> bool:
        verified.append(password)
        return True

    monkeypatch.setattr(auth.users, "verify_password", accept)
    with pytest.raises(TooManyAttempts) as caught:
        attempt(workspace, "alice", PASSWORD, clock=clock)
    assert verified == []  # refused without looking at the password
    # The first failure (at T0) leaves the 15-minute window 15 min after T0; it is now T0 + 50 s.
    assert caught.value.retry_after == 15 * 60 - 50 + 1
    assert len(events(workspace, "admin.login_failed")) == 5  # refusals do not grow the append-only ledger


def test_lock_lifts_when_failures_leave_the_window_and_success_clears_them(workspace: Workspace,
                                                                           make_user: Callable[..., AdminUser]
                                                                           ) -> None:
    make_user("alice", "admin")
    clock = Clock()
    limits = LoginLimits(max_failures=3, window_seconds=60)
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            attempt(workspace, "alice", "not the password", clock=clock, limits=limits)
    with pytest.raises(TooManyAttempts):
        attempt(workspace, "alice", PASSWORD, clock=clock, limits=limits)
    clock.advance(seconds=61)
    assert attempt(workspace, "alice", PASSWORD, clock=clock, limits=limits).username == "alice"
    with workspace.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_failures_from_one_address_lock_that_address_for_every_account(workspace: Workspace,
                                                                      make_user: Callable[..., AdminUser]) -> None:
    make_user("alice", "admin")
    for i in range(5):
        with pytest.raises(InvalidCredentials):
            attempt(workspace, f"guess{i}", "whatever123456", address="203.0.113.9")
    with pytest.raises(TooManyAttempts):
        attempt(workspace, "alice", PASSWORD, address="203.0.113.9")
    # The account itself is not locked: its owner, elsewhere, still gets in.
    assert attempt(workspace, "alice", PASSWORD, address="198.51.100.7").username == "alice"


def test_login_limits_come_from_settings(workspace: Workspace) -> None:
    settings = workspace.settings.model_copy(update={"login_max_failures": 2, "login_window_seconds": 30})
    assert LoginLimits.from_settings(settings) == LoginLimits(2, 30)


def test_weakly_hashed_password_is_rehashed_at_login(workspace: Workspace,
                                                     make_user: Callable[..., AdminUser]) -> None:
    make_user("alice", "admin")
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    with transaction(workspace.sessions) as session:
        session.scalars(select(AdminUser)).one().password_hash = weak
    attempt(workspace, "alice", PASSWORD)
    with workspace.sessions() as session:
        renewed = session.scalars(select(AdminUser)).one().password_hash
    assert renewed != weak and not auth.needs_rehash(renewed)
    assert auth.verify_password(renewed, PASSWORD)


def test_set_password_and_deactivate(workspace: Workspace, make_user: Callable[..., AdminUser]) -> None:
    make_user("alice", "dpo")
    new = "an entirely new passphrase"
    with transaction(workspace.sessions) as session:
        with pytest.raises(WeakPassword):
            auth.set_password(session, "alice", "alice", actor="t")
        auth.set_password(session, "alice", new, actor="admin:root")
    with pytest.raises(InvalidCredentials):
        attempt(workspace, "alice", PASSWORD)
    assert attempt(workspace, "alice", new).username == "alice"
    with transaction(workspace.sessions) as session:
        auth.deactivate_user(session, "alice", actor="admin:root")
        auth.deactivate_user(session, "alice", actor="admin:root")  # idempotent, one event
        with pytest.raises(UnknownUser):
            auth.deactivate_user(session, "ghost", actor="t")
        with pytest.raises(UnknownUser):
            auth.set_password(session, "ghost", new, actor="t")
    with pytest.raises(InvalidCredentials):
        attempt(workspace, "alice", new)
    assert [json.loads(e.payload) for e in events(workspace, "admin.password_changed")] == [{"username": "alice"}]
    assert len(events(workspace, "admin.user_deactivated")) == 1
    assert all(new not in e.payload for e in events(workspace))


# --- API tokens -------------------------------------------------------------------------------------------


def test_token_is_returned_once_and_stored_as_sha256(workspace: Workspace,
                                                     make_user: Callable[..., AdminUser]) -> None:
    admin = make_user("root", "admin")
    with transaction(workspace.sessions) as session:
        token, clear = auth.create_token(session, "crm", ["consent:write", "consent:read", "consent:write"],
                                         created_by=admin, clock=lambda: T0)
    assert re.fullmatch(r"chrt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", clear)
    assert clear.split("_")[1] == token.prefix
    assert token.token_hash == hashlib.sha256(clear.encode()).hexdigest()
    assert token.scopes == ["consent:read", "consent:write"]
    assert token.created_by == admin.id
    with workspace.sessions() as session:
        stored = session.scalars(select(ApiToken)).one()
    assert clear not in (stored.token_hash, stored.prefix)
    assert workspace.settings.store_url.startswith("sqlite:///")
    raw = b"".join(p.read_bytes() for p in workspace.settings.home.glob("charte.db*"))
    assert clear.encode() not in raw and clear.split("_", 2)[2].encode() not in raw
    [event] = events(workspace, "api_token.created")
    assert json.loads(event.payload) == {"name": "crm", "prefix": token.prefix,
                                         "scopes": ["consent:read", "consent:write"]}
    assert event.actor == "admin:root" and clear not in event.payload


def test_authenticate_token_updates_last_use_and_refuses_revoked_unknown_and_malformed(
        workspace: Workspace) -> None:
    clock = Clock()
    with transaction(workspace.sessions) as session:
        _, clear = auth.create_token(session, "crm", [], created_by=None, clock=clock)
    clock.advance(minutes=5)
    with transaction(workspace.sessions) as session:
        assert auth.authenticate_token(session, clear, clock=clock).name == "crm"
    with workspace.sessions() as session:
        used = session.scalars(select(ApiToken)).one().last_used_at
    assert used is not None and used.replace(tzinfo=UTC) == clock.now
    forged = clear[:-1] + ("A" if clear[-1] != "A" else "B")
    with workspace.sessions() as session:
        for bad in (forged, "chrt_deadbeef_" + "x" * 43, "Bearer " + clear, "", clear + " "):
            with pytest.raises(InvalidToken):
                auth.authenticate_token(session, bad)
    with transaction(workspace.sessions) as session:
        auth.revoke_token(session, "crm", actor="admin:root", clock=clock)
        auth.revoke_token(session, "crm", actor="admin:root", clock=clock)
        with pytest.raises(UnknownToken):
            auth.revoke_token(session, "nope", actor="t")
    with workspace.sessions() as session, pytest.raises(InvalidToken):
        auth.authenticate_token(session, clear)
    assert len(events(workspace, "api_token.revoked")) == 1
    assert events(workspace, "api_token.created")[0].actor == "system"


class Ticker:
    """A settable monotonic clock for the token cache."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_cache_remembers_live_tokens_for_its_lifetime_only(workspace: Workspace) -> None:
    with transaction(workspace.sessions) as session:
        _, clear = auth.create_token(session, "crm", ["consent:read"], created_by=None)
        _, other = auth.create_token(session, "erp", [], created_by=None)
    ticker = Ticker()
    cache = TokenCache(workspace.sessions, ttl=5, monotonic=ticker)
    assert not cache.fresh(clear)
    grant = cache.authenticate(clear)
    assert grant == TokenGrant(grant.id, "crm", clear.split("_")[1], ("consent:read",))
    assert cache.fresh(clear) and not cache.fresh(other)
    cache.authenticate(other)
    with transaction(workspace.sessions) as session:  # revoked by another process (the CLI)
        auth.revoke_token(session, "crm", actor="cli")
    ticker.now += 4.9
    assert cache.authenticate(clear).name == "crm"  # still trusted within its lifetime
    ticker.now += 0.2
    with pytest.raises(InvalidToken):
        cache.authenticate(clear)  # asked the store again
    with pytest.raises(InvalidToken):
        cache.authenticate(clear)  # and a refused token is never remembered
    with pytest.raises(InvalidToken):
        cache.authenticate("Bearer " + other)
    with transaction(workspace.sessions) as session:
        auth.revoke_token(session, "erp", actor="admin:root")
    cache.forget("erp")  # revoked through this process: refused at once
    with pytest.raises(InvalidToken):
        cache.authenticate(other)
    with pytest.raises(ValueError, match="negative"):
        TokenCache(workspace.sessions, ttl=-1)


def test_token_cache_with_no_lifetime_asks_the_store_every_time(workspace: Workspace) -> None:
    with transaction(workspace.sessions) as session:
        _, clear = auth.create_token(session, "crm", [], created_by=None)
    cache = TokenCache(workspace.sessions, ttl=0)
    assert cache.authenticate(clear).name == "crm"
    with transaction(workspace.sessions) as session:
        auth.revoke_token(session, "crm", actor="cli")
    with pytest.raises(InvalidToken):
        cache.authenticate(clear)


def test_token_names_and_scopes_are_checked(workspace: Workspace) -> None:
    with transaction(workspace.sessions) as session:
        auth.create_token(session, "crm", ["a"], created_by=None)
        with pytest.raises(TokenExists):
            auth.create_token(session, "crm", ["a"], created_by=None)
        with pytest.raises(ValueError, match="invalid scope"):
            auth.create_token(session, "other", ["Consent Write"], created_by=None)
        with pytest.raises(ValueError, match="token name"):
            auth.create_token(session, "", [], created_by=None)
    with workspace.sessions() as session:
        assert [t.name for t in auth.list_tokens(session)] == ["crm"]


# --- sessions and CSRF ------------------------------------------------------------------------------------


def test_session_round_trip_carries_user_role_and_csrf() -> None:
    signer = SessionSigner(SECRET, max_age=3600)
    data, value = signer.issue(7, "dpo")
    assert signer.loads(value) == data
    assert data.user_id == 7 and data.role == "dpo" and len(data.csrf) >= 40
    assert signer.issue(7, "dpo")[0].csrf != data.csrf


def test_tampered_foreign_and_expired_sessions_are_refused() -> None:
    now = [1_000_000.0]
    signer = SessionSigner(SECRET, max_age=3600, clock=lambda: now[0])
    _, value = signer.issue(7, "auditor")
    payload, _, signature = value.rpartition(".")
    tampered = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    for bad in (tampered, value.replace(".", "x", 1), "", "garbage"):
        with pytest.raises(InvalidSession):
            signer.loads(bad)
    with pytest.raises(InvalidSession):
        SessionSigner("z" * 48, max_age=3600, clock=lambda: now[0]).loads(value)
    now[0] += 3600
    assert signer.loads(value).user_id == 7
    now[0] += 2
    with pytest.raises(InvalidSession, match="age"):
        signer.loads(value)


def test_login_csrf_values_are_signed_apart_from_sessions() -> None:
    signer = SessionSigner(SECRET, max_age=3600)
    token = auth.new_csrf_token()
    signed = signer.sign_login_csrf(token)
    assert signer.unsign_login_csrf(signed) == token
    _, session_value = signer.issue(1, "admin")
    with pytest.raises(InvalidSession):
        signer.unsign_login_csrf(session_value)  # a different salt: one kind cannot stand for the other
    with pytest.raises(InvalidSession):
        signer.loads(signed)


@pytest.mark.parametrize("secret", [None, ""])
def test_no_secret_key_no_sessions(secret: str | None) -> None:
    with pytest.raises(MissingSecretKey, match="CHARTE_SECRET_KEY"):
        SessionSigner(secret, max_age=60)


def test_short_secret_key_is_refused() -> None:
    with pytest.raises(InsecureSecretKey, match="at least 32"):
        SessionSigner("too-short", max_age=60)


def test_signer_uses_the_workspace_secret(workspace: Workspace) -> None:
    signer = SessionSigner.from_settings(workspace.settings)
    assert signer.max_age == workspace.settings.session_max_age
    assert signer.loads(signer.issue(1, "admin")[1]).role == "admin"


def test_csrf_comparison() -> None:
    token = auth.new_csrf_token()
    assert auth.csrf_matches(token, token)
    assert not auth.csrf_matches(token, token[:-1])
    assert not auth.csrf_matches(token, None)
    assert not auth.csrf_matches(None, None)
    assert not auth.csrf_matches("", "")
