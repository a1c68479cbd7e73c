"""Outgoing mail: messages from fr/en templates, a queue written in the caller's transaction, SMTP or an outbox."""

from charte.mail.compose import MailTemplateMissing, compose, sender_domain
from charte.mail.queue import DeliveryReport, deliver_pending, enqueue, pending_count
from charte.mail.senders import (
    MailDeliveryError,
    MailSender,
    OutboxEntry,
    OutboxSender,
    SmtpSender,
    read_outbox,
    read_outbox_message,
    sender_from_settings,
)

__all__ = [
    "DeliveryReport",
    "MailDeliveryError",
    "MailSender",
    "MailTemplateMissing",
    "OutboxEntry",
    "OutboxSender",
    "SmtpSender",
    "compose",
    "deliver_pending",
    "enqueue",
    "pending_count",
    "read_outbox",
    "read_outbox_message",
    "sender_domain",
    "sender_from_settings",
]
