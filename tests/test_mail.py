"""The mail service: templates in French and English, SMTP (plain, STARTTLS, SMTPS, credentials), the outbox."""

from __future__ import annotations

import logging
import ssl
import stat
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from charte.config import Settings
from charte.mail import (
    MailDeliveryError,
    MailTemplateMissing,
    OutboxSender,
    SmtpSender,
    compose,
    read_outbox,
    read_outbox_message,
    sender_from_settings,
)
from tests.rights_support import Received
from tests.web_support import free_port

USER, PASSWORD = "mailer", "s3cr3t-p@ss/word"
TEMPLATES: dict[str, dict[str, Any]] = {
    "rights/verify": {"code": "123456", "link": "http://x/l", "hours": 24, "code_page": "http://x/v"},
    "rights/signin": {"link": "http://x/l", "hours": 1},
    "rights/extended": {"months": 2, "due": "1 mai", "first_due": "1 mars", "reason": "complexe"},
    "rights/document": {"reason": "doute", "link": "http://x/l", "hours": 1},
    "rights/lift_notice": {"reason": "exactitude vérifiée", "not_before": "8 mars"},
}


def message(**overrides: Any) -> EmailMessage:
    context = {"reference": "R-AAAA-BBBB", "right": "Droit d'accès", "controller": "Equasens",
               "dpo": "dpo@equasens.com", **TEMPLATES["rights/signin"], **overrides}
    return compose("rights/signin", "fr", context, to="alice@example.org", sender="dpo@equasens.com")


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_in_both_languages(template: str, lang: str) -> None:
    context = {"reference": "R-AAAA-BBBB", "right": "Access", "controller": "Equasens", "dpo": "dpo@equasens.com",
               **TEMPLATES[template]}
    built = compose(template, lang, context, to="a@example.org", sender="Equasens DPO <dpo@equasens.com>")
    assert "R-AAAA-BBBB" in str(built["Subject"]) and built["Content-Language"] == lang
    assert built["Message-ID"].endswith("@equasens.com>") and built["Auto-Submitted"] == "auto-generated"
    assert built.get_content_charset() == "utf-8"


def test_missing_templates_and_values_fail_loudly() -> None:
    with pytest.raises(MailTemplateMissing):
        compose("rights/verify", "de", {}, to="a@example.org", sender="dpo@equasens.com")
    with pytest.raises(Exception, match="undefined"):
        compose("rights/verify", "fr", {"reference": "R"}, to="a@example.org", sender="dpo@equasens.com")


def test_a_value_cannot_inject_a_header() -> None:
    built = message(reference="R-1\r\nBcc: victim@example.org")
    assert built["Bcc"] is None and "\n" not in str(built["Subject"])


@pytest.fixture
def smtp_plain() -> Iterator[tuple[int, Received]]:
    received = Received()
    port = free_port()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    controller = Controller(received, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    yield port, received
    controller.stop()


def test_smtp_delivers_with_credentials_from_the_url_never_shown(smtp_plain: tuple[int, Received],
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    port, received = smtp_plain
    url = f"smtp://{USER}:s3cr3t-p%40ss%2Fword@127.0.0.1:{port}"
    sender = SmtpSender(url)
    assert "s3cr3t" not in repr(sender) and "***" in repr(sender)
    caplog.set_level(logging.DEBUG)
    sender.send(message())
    assert len(received.messages) == 1 and "R-AAAA-BBBB" in str(received.messages[0]["Subject"])
    wrong = SmtpSender(f"smtp://{USER}:not-the-password@127.0.0.1:{port}?timeout=5")
    with pytest.raises(MailDeliveryError) as refused:
        wrong.send(message())
    assert "authentication refused" in str(refused.value) and "not-the-password" not in str(refused.value)
    assert "s3cr3t" not in caplog.text and "not-the-password" not in caplog.text


def test_an_unreachable_server_is_a_delivery_error() -> None:
    with pytest.raises(MailDeliveryError):
        SmtpSender(f"smtp://127.0.0.1:{free_port()}?timeout=2").send(message())


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def _contexts(certificate: tuple[Path, Path]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(*map(str, certificate))
    client = ssl.create_default_context(cafile=str(certificate[0]))
    return server, client


def test_starttls_and_smtps(certificate: tuple[Path, Path]) -> None:
    server_ctx, client_ctx = _contexts(certificate)
    received = Received()
    port = free_port()
    starttls = Controller(received, hostname="127.0.0.1", port=port, tls_context=server_ctx, require_starttls=True)
    starttls.start()
    try:
        with pytest.raises(MailDeliveryError):  # the server insists on TLS
            SmtpSender(f"smtp://127.0.0.1:{port}", ssl_context=client_ctx).send(message())
        SmtpSender(f"smtp://127.0.0.1:{port}?starttls=true", ssl_context=client_ctx).send(message())
        # The default context does not trust a self-signed certificate: no silent downgrade.
        with pytest.raises(MailDeliveryError):
            SmtpSender(f"smtp://127.0.0.1:{port}?starttls=true").send(message())
    finally:
        starttls.stop()
    implicit_port = free_port()
    implicit = Controller(received, hostname="127.0.0.1", port=implicit_port, ssl_context=server_ctx)
    implicit.start()
    try:
        SmtpSender(f"smtps://127.0.0.1:{implicit_port}", ssl_context=client_ctx).send(message())
    finally:
        implicit.stop()
    assert len(received.messages) == 2


def test_smtp_urls_are_checked() -> None:
    with pytest.raises(ValueError, match="smtp:// or smtps://"):
        SmtpSender("http://mail.example.org")
    assert "587" in repr(SmtpSender("smtp://mail.example.org?starttls=true"))
    assert "465" in repr(SmtpSender("smtps://mail.example.org"))


def test_outbox_writes_private_rfc5322_files_the_dashboard_lists(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    OutboxSender(folder).send(message())
    files = list(folder.iterdir())
    assert len(files) == 1 and files[0].suffix == ".eml"
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert b"\r\nSubject: " in files[0].read_bytes()
    listed = read_outbox(folder)
    assert listed[0].to == "alice@example.org" and "R-AAAA-BBBB" in listed[0].subject
    assert "R-AAAA-BBBB" in listed[0].body
    assert read_outbox_message(folder, listed[0].name) == listed[0]
    assert read_outbox_message(folder, "../charte.db") is None


def test_sender_from_settings(tmp_path: Path) -> None:
    assert isinstance(sender_from_settings(Settings(home=tmp_path)), OutboxSender)
    smtp = sender_from_settings(Settings(home=tmp_path, smtp_url=SecretStr("smtp://u:p@mail.example.org:2525")))
    assert isinstance(smtp, SmtpSender) and "2525" in repr(smtp) and ":p@" not in repr(smtp)
