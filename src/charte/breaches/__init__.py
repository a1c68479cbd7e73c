"""The breach register: recording breaches, the 72-hour clock, notifications, communications and documents."""

from charte.breaches.annotations import annotated_collections, email_field
from charte.breaches.clock import NOTIFICATION_WINDOW, WARNING_THRESHOLDS, is_late, notification_deadline, time_left
from charte.breaches.communication import (
    CHANNELS,
    InvalidRecipient,
    Recipient,
    affected_recipients,
    inform_subjects,
    read_recipients_csv,
    record_communication,
    subject_messages,
)
from charte.breaches.counting import (
    CollectionNotFound,
    CountingError,
    Estimate,
    RowCounter,
    SystemDatabases,
    SystemNotConfigured,
    complete_counts,
    estimate_counts,
    resolve_system_url,
    system_environment,
)
from charte.breaches.demo import seed_demo_breach
from charte.breaches.documents import (
    LetterIncomplete,
    SubjectCommunicationNotRequired,
    letter_subject,
    next_phase,
    render_cnil_draft,
    render_subject_letter,
)
from charte.breaches.export import export_register, register_columns, register_rows
from charte.breaches.facts import (
    ART34_EXCEPTIONS,
    NATURES,
    RISK_LEVELS,
    AffectedCollection,
    BreachFacts,
    InvalidBreach,
    check_facts,
    subject_communication_required,
)
from charte.breaches.mail import MailMessage, MailSender, OutboxSender, outbox_folder
from charte.breaches.notification import (
    AlreadyNotified,
    InitialNotificationMissing,
    ReasonsForDelayRequired,
    record_notification,
)
from charte.breaches.register import (
    Breach,
    NothingChanged,
    UnknownBreach,
    get_breach,
    list_breaches,
    needing_attention,
    parse_reference,
    record_breach,
    update_breach,
)
from charte.breaches.warnings import DueWarning, due_warnings, warn_dpo, warning_message

__all__ = [
    "ART34_EXCEPTIONS", "CHANNELS", "NATURES", "NOTIFICATION_WINDOW", "RISK_LEVELS", "WARNING_THRESHOLDS",
    "AffectedCollection", "AlreadyNotified", "Breach", "BreachFacts", "CollectionNotFound", "CountingError",
    "DueWarning", "Estimate", "InitialNotificationMissing", "InvalidBreach", "InvalidRecipient", "LetterIncomplete",
    "MailMessage", "MailSender", "NothingChanged", "OutboxSender", "ReasonsForDelayRequired", "Recipient",
    "RowCounter", "SubjectCommunicationNotRequired", "SystemDatabases", "SystemNotConfigured", "UnknownBreach",
    "affected_recipients", "annotated_collections", "check_facts", "complete_counts", "due_warnings",
    "email_field", "estimate_counts", "export_register", "get_breach", "inform_subjects", "is_late", "letter_subject",
    "list_breaches", "needing_attention", "next_phase", "notification_deadline", "outbox_folder", "parse_reference",
    "read_recipients_csv", "record_breach", "record_communication", "record_notification", "register_columns",
    "register_rows", "render_cnil_draft", "render_subject_letter", "resolve_system_url", "seed_demo_breach",
    "subject_communication_required", "subject_messages", "system_environment", "time_left", "update_breach",
    "warn_dpo", "warning_message",
]
