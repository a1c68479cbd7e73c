"""The ``charte`` command line: translates arguments into calls to the domain packages."""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from charte.config import Settings
from charte.ledger import export_jsonl, verify
from charte.manifest import Manifest, ManifestError, check_file, load_manifest
from charte.manifest.publication import UndatedPolicyChange, publish_policy
from charte.rights.restriction import RESTRICTIONS
from charte.store import StoreNotReady, make_engine, migrate, transaction
from charte.workspace import Workspace, WorkspaceError, init_workspace

app = typer.Typer(help="Charte: the confidentiality policy as code.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
policy_app = typer.Typer(help="Render and publish the confidentiality policy.", no_args_is_help=True)
ropa_app = typer.Typer(help="The Art. 30 record of processing activities.", no_args_is_help=True)
audit_app = typer.Typer(help="Verify and export the ledger.", no_args_is_help=True)
admin_app = typer.Typer(help="Dashboard users and API tokens.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(ropa_app, name="ropa")
app.add_typer(audit_app, name="audit")
app.add_typer(admin_app, name="admin")
breach_app = typer.Typer(help="The breach register: record, notify, inform, export.", no_args_is_help=True)
app.add_typer(breach_app, name="breach")
datasets_app = typer.Typer(help="The organisation's databases: discover and check their annotations, execute "
                                "access, portability, erasure, rectification and restriction.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
consent_app = typer.Typer(help="Consent and objection: a person's standing, exports, proofs, signed links.",
                          no_args_is_help=True)
app.add_typer(consent_app, name="consent")
requests_app = typer.Typer(help="Data-subject requests: deadlines, decisions, execution, reminders.",
                           no_args_is_help=True)
app.add_typer(requests_app, name="requests")
mail_app = typer.Typer(help="Outgoing mail: send what is queued.", no_args_is_help=True)
app.add_typer(mail_app, name="mail")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

HomeOption = Annotated[Path | None, typer.Option("--home", envvar="CHARTE_HOME", help="Workspace folder.")]


class Lang(StrEnum):
    fr = "fr"
    en = "en"


class PolicyFormat(StrEnum):
    html = "html"
    md = "md"


class RopaFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    html = "html"


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _signing(workspace: Workspace, signs: str) -> None:
    """Stop with a clear error, before anything starts, when the workspace's secret key cannot sign ``signs``."""
    from charte.auth import InsecureSecretKey, MissingSecretKey
    from charte.auth.sessions import signing_key

    try:
        signing_key(workspace.settings.secret_key, signs)
    except (MissingSecretKey, InsecureSecretKey) as exc:
        raise _fail(str(exc)) from exc


def _workspace(home: Path | None) -> Workspace:
    settings = Settings.for_home(home or Path.cwd())
    try:
        return Workspace(settings).ready()
    except StoreNotReady as exc:
        raise _fail(str(exc)) from exc


def _report(exc: ManifestError) -> typer.Exit:
    for problem in exc.problems:
        err.print(problem.format(exc.filename), highlight=False, markup=False)
    return _fail(f"{exc.filename} has problems; run `charte check {exc.filename}`")


def _manifest(workspace: Workspace) -> Manifest:
    try:
        return workspace.manifest
    except ManifestError as exc:
        raise _report(exc) from exc


def _load(manifest: Path | None, home: Path | None) -> Manifest:
    """The manifest given, else the workspace's: rendering needs no store."""
    path = manifest or (home or Path.cwd()) / "charte.yaml"
    try:
        return load_manifest(path)
    except ManifestError as exc:
        raise _report(exc) from exc


def _write(data: bytes | str, output: Path | None) -> None:
    if output is None:
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    err.print(f"wrote {output}", highlight=False)


@app.command()
def check(path: Annotated[Path, typer.Argument(help="Manifest to check.")] = Path("charte.yaml"),
          strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False) -> None:
    """Validate and lint a manifest; print ``file:line: message`` for each problem."""
    result = check_file(path)
    for problem in result.problems:
        err.print(problem.format(result.filename), highlight=False, markup=False)
    failing = result.problems if strict else result.errors
    if failing or result.manifest is None:
        raise typer.Exit(1)
    warnings = len(result.problems) - len(result.errors)
    out.print(f"{result.filename}: ok ({len(result.manifest.purposes)} purposes"
              + (f", {warnings} warning(s))" if warnings else ")"), highlight=False)


@app.command()
def init(folder: Annotated[Path, typer.Argument(help="Workspace folder to create.")] = Path(".")) -> None:
    """Create a workspace: manifest copied from the example, database migrated, secret key generated."""
    try:
        settings = init_workspace(folder)
    except (WorkspaceError, OSError) as exc:
        raise _fail(str(exc)) from exc
    out.print(f"workspace ready in {settings.home}\n  manifest: {settings.manifest_path}\n"
              f"  store:    {settings.store_url}", highlight=False)


@app.command("db-upgrade")
def db_upgrade(home: HomeOption = None) -> None:
    """Apply pending migrations to Charte's store."""
    settings = Settings.for_home(home or Path.cwd())
    migrate(make_engine(settings.store_url))
    out.print("store up to date", highlight=False)


@policy_app.command("render")
def policy_render(
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the policy.")] = Lang.fr,
    fmt: Annotated[PolicyFormat, typer.Option("--format", help="Output format.")] = PolicyFormat.html,
    manifest: Annotated[Path | None, typer.Option(help="Manifest (default: HOME/charte.yaml).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    home: HomeOption = None,
) -> None:
    """Render the full confidentiality policy from the manifest."""
    from charte.render import render_policy

    _write(render_policy(_load(manifest, home), lang.value, fmt.value), output)


@policy_app.command("publish")
def policy_publish(home: HomeOption = None,
                   actor: Annotated[str, typer.Option(help="Who publishes (recorded in the ledger).")] = "cli") -> None:
    """Record the manifest as the published policy version (in the ledger)."""
    workspace = _workspace(home)
    try:
        with transaction(workspace.sessions) as session:
            result = publish_policy(session, _manifest(workspace), actor=actor)
    except UndatedPolicyChange as exc:
        raise _fail(str(exc)) from exc
    state = "published" if result.created else "already published"
    out.print(f"policy version {result.publication.version_date} {state} "
              f"(manifest sha256 {result.publication.manifest_sha256[:16]}…)", highlight=False)


@ropa_app.command("export")
def ropa_export(
    fmt: Annotated[RopaFormat, typer.Option("--format", help="Output format.")] = RopaFormat.csv,
    lang: Annotated[Lang, typer.Option("--lang")] = Lang.fr,
    manifest: Annotated[Path | None, typer.Option(help="Manifest (default: HOME/charte.yaml).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    home: HomeOption = None,
) -> None:
    """Export the Art. 30 record of processing activities (one row per purpose)."""
    from charte.render import export_ropa

    if fmt is RopaFormat.xlsx and output is None and sys.stdout.isatty():
        raise _fail("XLSX is binary: give --output FILE.xlsx")
    _write(export_ropa(_load(manifest, home), fmt.value, lang.value), output)


@audit_app.command("verify")
def audit_verify(home: HomeOption = None,
                 head: Annotated[str | None, typer.Option(help="A published head hash to compare with.")] = None
                 ) -> None:
    """Recompute the ledger's hash chain; name the first broken event."""
    workspace = _workspace(home)
    with workspace.sessions() as session:
        result = verify(session, expected_head=head)
    if not result.ok:
        raise _fail(result.describe())
    out.print(result.describe(), highlight=False)


@audit_app.command("export")
def audit_export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="JSON Lines file (default: stdout).")] = None,
    home: HomeOption = None,
) -> None:
    """Write every event and, last, the head hash (to publish with a timestamp as a proof)."""
    workspace = _workspace(home)
    with workspace.sessions() as session:
        if output is None:
            head = export_jsonl(session, sys.stdout)
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            with output.open("w", encoding="utf-8") as handle:
                head = export_jsonl(session, handle)
    err.print(f"head hash: {head}", highlight=False)


@admin_app.command("create-user")
def admin_create_user(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option(help="admin, dpo or auditor.")] = "dpo",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="CHARTE_NEW_USER_PASSWORD",
                                          help="Asked without echo; or from CHARTE_NEW_USER_PASSWORD.")] = "",
    home: HomeOption = None,
) -> None:
    """Create a dashboard user (the password is stored as an argon2 hash only)."""
    from charte.auth import UnknownRole, UserExists, WeakPassword, create_user

    workspace = _workspace(home)
    try:
        with transaction(workspace.sessions) as session:
            user = create_user(session, username, password, role, actor="cli")
    except (UnknownRole, UserExists, WeakPassword) as exc:
        raise _fail(str(exc)) from exc
    out.print(f"user {user.username!r} created with role {user.role}", highlight=False)


@admin_app.command("create-token")
def admin_create_token(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'website'.")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Scope (repeatable).")] = None,
    home: HomeOption = None,
) -> None:
    """Create an API token for a machine client; it is shown once and stored hashed."""
    from charte.auth import TokenExists, create_token

    workspace = _workspace(home)
    try:
        with transaction(workspace.sessions) as session:
            token, clear = create_token(session, name, scope or [], created_by=None, actor="cli")
    except (TokenExists, ValueError) as exc:
        raise _fail(str(exc)) from exc
    err.print(f"token {token.name!r} created; copy it now, it will not be shown again:", highlight=False)
    print(clear)


@admin_app.command("revoke-token")
def admin_revoke_token(
    name: Annotated[str, typer.Argument(help="The token's name.")],
    home: HomeOption = None,
) -> None:
    """Revoke an API token: running servers refuse it within CHARTE_TOKEN_CACHE_SECONDS (5 s by default)."""
    from charte.auth import UnknownToken, revoke_token

    workspace = _workspace(home)
    try:
        with transaction(workspace.sessions) as session:
            token = revoke_token(session, name, actor="cli")
    except UnknownToken as exc:
        raise _fail(str(exc)) from exc
    out.print(f"token {token.name!r} revoked", highlight=False)


# --- breach register (issue 7) ---------------------------------------------------------------------------------


class Nature(StrEnum):
    confidentiality = "confidentiality"
    integrity = "integrity"
    availability = "availability"


class Risk(StrEnum):
    none = "none"
    risk = "risk"
    high = "high"


class Art34Exception(StrEnum):
    a = "a"
    b = "b"
    c = "c"


class NotificationPhase(StrEnum):
    auto = "auto"
    initial = "initial"
    complementary = "complementary"


class BreachDocument(StrEnum):
    cnil = "cnil"
    letter = "letter"


class RegisterFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


def _instant(value: str | None, now: datetime) -> datetime:
    from charte.breaches.texts import InvalidInstant, parse_instant

    if value is None:
        return now
    try:
        return parse_instant(value)
    except InvalidInstant as exc:
        raise _fail(str(exc)) from exc


def _breach_id(reference: str) -> int:
    from charte.breaches import UnknownBreach, parse_reference

    try:
        return parse_reference(reference)
    except UnknownBreach as exc:
        raise _fail(str(exc)) from exc


@breach_app.command("new")
def breach_new(
    title: Annotated[str, typer.Option(help="Short title of the breach.")],
    risk: Annotated[Risk, typer.Option(help="Risk to people: none (document only), risk (notify), high (also tell "
                                            "people).")],
    risk_reasoning: Annotated[str, typer.Option(help="Why this risk level (Art. 33(5)).")],
    nature: Annotated[list[Nature], typer.Option(help="confidentiality, integrity, availability (repeatable).")],
    aware_at: Annotated[str | None, typer.Option(help="When the controller became aware (ISO 8601; without offset: "
                                                      "Paris time; default: now).")] = None,
    occurred_at: Annotated[str | None, typer.Option(help="When the breach began, if known.")] = None,
    description: Annotated[str, typer.Option(help="Circumstances.")] = "",
    system: Annotated[list[str] | None, typer.Option(help="Affected system of the manifest (repeatable).")] = None,
    other_systems: Annotated[str, typer.Option(help="Other systems or media (free text).")] = "",
    category: Annotated[list[str] | None, typer.Option(help="Data category key (repeatable).")] = None,
    data_subject: Annotated[list[str] | None, typer.Option(help="Category of data subjects key (repeatable).")] = None,
    collection: Annotated[list[str] | None, typer.Option(help="Affected system/table (repeatable).")] = None,
    subject_collection: Annotated[list[str] | None, typer.Option(
        help="Affected system/table with one row per person (repeatable).")] = None,
    subjects: Annotated[int | None, typer.Option(help="Approximate number of people (default: counted).")] = None,
    records: Annotated[int | None, typer.Option(help="Approximate number of records (default: counted).")] = None,
    consequences: Annotated[str, typer.Option(help="Likely consequences.")] = "",
    measures_taken: Annotated[str, typer.Option(help="Measures taken.")] = "",
    measures_planned: Annotated[str, typer.Option(help="Measures planned.")] = "",
    advice: Annotated[str, typer.Option(help="Advice to the people concerned (for the letter).")] = "",
    exception: Annotated[Art34Exception | None, typer.Option(help="Art. 34(3) exception: a, b or c.")] = None,
    exception_reasoning: Annotated[str, typer.Option(help="Justification of the exception.")] = "",
    actor: Annotated[str, typer.Option(help="Who records (in the ledger).")] = "cli",
    home: HomeOption = None,
) -> None:
    """Record a breach; rows of the named collections are counted when no number is given."""
    from charte.breaches import (
        AffectedCollection,
        BreachFacts,
        CountingError,
        InvalidBreach,
        SystemDatabases,
        complete_counts,
        record_breach,
        system_environment,
    )
    from charte.breaches.texts import format_instant, format_time_left
    from charte.ledger import utcnow

    workspace = _workspace(home)
    manifest = _manifest(workspace)
    now = utcnow()
    try:
        collections = [AffectedCollection.parse(c) for c in collection or []]
        collections += [AffectedCollection.parse(c, holds_subjects=True) for c in subject_collection or []]
        facts = BreachFacts(
            title=title, aware_at=_instant(aware_at, now),
            occurred_at=_instant(occurred_at, now) if occurred_at else None,
            nature=tuple(n.value for n in nature),
            description=description, systems=tuple(system or ()), other_systems=other_systems,
            data_categories=tuple(category or ()), data_subjects=tuple(data_subject or ()),
            collections=tuple(collections), subjects_count=subjects, records_count=records,
            consequences=consequences, measures_taken=measures_taken, measures_planned=measures_planned,
            subject_advice=advice, risk=risk.value, risk_reasoning=risk_reasoning,
            art34_exception=exception.value if exception else None,
            art34_reasoning=exception_reasoning, text_language=manifest.default_language,
        )
        with SystemDatabases.from_manifest(manifest, system_environment(workspace.settings.home)) as databases:
            facts = complete_counts(facts, databases.count_rows)
        with transaction(workspace.sessions) as session:
            breach = record_breach(session, manifest, facts, actor=actor)
    except (InvalidBreach, CountingError) as exc:
        raise _fail(str(exc)) from exc
    out.print(f"recorded {breach.reference}: {breach.facts.title}", highlight=False, markup=False)
    if breach.clock_running:
        out.print(f"  notify the {manifest.supervisory_authority.name} by {format_instant(breach.deadline, 'en')} "
                  f"({format_time_left(breach.time_left(utcnow()), 'en')})", highlight=False, markup=False)
    if breach.facts.subjects_count is not None or breach.facts.records_count is not None:
        out.print(f"  people: {breach.facts.subjects_count}, records: {breach.facts.records_count} "
                  f"({breach.facts.counts_method})", highlight=False, markup=False)


@breach_app.command("list")
def breach_list(home: HomeOption = None) -> None:
    """Every breach with its status and, while notification is due, the time left (one line each)."""
    from charte.breaches import list_breaches
    from charte.breaches.texts import format_instant, format_time_left, label
    from charte.ledger import utcnow

    workspace = _workspace(home)
    now = utcnow()
    with workspace.sessions() as session:
        breaches = list_breaches(session)
    if not breaches:
        out.print("no breach in the register", highlight=False)
    for b in breaches:
        clock = f" — {format_time_left(b.time_left(now), 'en')}" if b.clock_running else ""
        out.print(f"{b.reference}  {label(f'status.{b.status(now)}', 'en')}{clock} — {b.facts.title} "
                  f"(aware {format_instant(b.facts.aware_at, 'en')}, risk {b.facts.risk})",
                  highlight=False, markup=False, style="bold red" if b.status(now) == "late" else None)


@breach_app.command("show")
def breach_show(
    reference: Annotated[str, typer.Argument(help="Breach number: BR-0001 or 1.")],
    document: Annotated[BreachDocument | None, typer.Option(help="Write a document instead: cnil (draft of the "
                                                                 "next notification) or letter (Art. 34).")] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the letter.")] = Lang.fr,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    home: HomeOption = None,
) -> None:
    """Show a breach's facts, clock and history, or write its CNIL draft or letter to people."""
    from charte.breaches import (
        LetterIncomplete,
        SubjectCommunicationNotRequired,
        UnknownBreach,
        get_breach,
        render_cnil_draft,
        render_subject_letter,
    )
    from charte.breaches.texts import art34_decision, format_instant, format_time_left, label
    from charte.ledger import utcnow

    workspace = _workspace(home)
    manifest = _manifest(workspace)
    now = utcnow()
    with workspace.sessions() as session:
        try:
            breach = get_breach(session, _breach_id(reference))
        except UnknownBreach as exc:
            raise _fail(str(exc)) from exc
    if document is BreachDocument.cnil:
        _write(render_cnil_draft(breach, manifest, at=now), output)
        return
    if document is BreachDocument.letter:
        try:
            _write(render_subject_letter(breach, manifest, lang.value, "html" if output else "text"), output)
        except (SubjectCommunicationNotRequired, LetterIncomplete) as exc:
            raise _fail(str(exc)) from exc
        return
    f = breach.facts
    lines = [
        f"{breach.reference} — {f.title} (version {breach.current.version})",
        f"  status:      {label(f'status.{breach.status(now)}', 'en')}",
        f"  aware:       {format_instant(f.aware_at, 'en')}",
    ]
    if breach.clock_running:
        lines.append(f"  deadline:    {format_instant(breach.deadline, 'en')} "
                     f"({format_time_left(breach.time_left(now), 'en')})")
    lines += [
        f"  nature:      {', '.join(f.nature)}",
        f"  risk:        {f.risk} — {f.risk_reasoning}",
        f"  Art. 34:     {art34_decision(f.risk, f.art34_exception, 'en')}",
        f"  categories:  {', '.join(f.data_categories) or '-'}",
        f"  people:      {f.subjects_count if f.subjects_count is not None else '?'}  "
        f"records: {f.records_count if f.records_count is not None else '?'} ({f.counts_method})",
    ]
    lines += [f"  {n.phase} notification: {format_instant(n.submitted_at, 'en')}" + (" (late)" if n.late else "")
              for n in breach.notifications]
    lines += [f"  people told ({c.channel}): {format_instant(c.informed_at, 'en')}, {c.recipients_count}"
              for c in breach.communications]
    out.print("\n".join(lines), highlight=False, markup=False)


@breach_app.command("notify")
def breach_notify(
    reference: Annotated[str, typer.Argument(help="Breach number: BR-0001 or 1.")],
    phase: Annotated[NotificationPhase, typer.Option(help="initial, complementary, or auto (the next one).")] = (
        NotificationPhase.auto),
    submitted_at: Annotated[str | None, typer.Option(help="When it was submitted (default: now).")] = None,
    reasons: Annotated[str | None, typer.Option(help="Reasons for the delay (required after 72 hours).")] = None,
    authority_reference: Annotated[str | None, typer.Option(help="Reference given by the authority.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the draft as submitted.")] = None,
    actor: Annotated[str, typer.Option(help="Who records (in the ledger).")] = "cli",
    home: HomeOption = None,
) -> None:
    """Record a notification to the authority (initial, then complementary ones)."""
    from charte.breaches import InvalidBreach, UnknownBreach, get_breach, next_phase, record_notification
    from charte.breaches import render_cnil_draft as draft
    from charte.ledger import utcnow

    workspace = _workspace(home)
    manifest = _manifest(workspace)
    breach_id = _breach_id(reference)
    when = _instant(submitted_at, utcnow())
    try:
        with transaction(workspace.sessions) as session:
            breach = get_breach(session, breach_id)
            chosen = next_phase(breach) if phase is NotificationPhase.auto else phase.value
            notification = record_notification(session, manifest, breach_id, phase=chosen,  # type: ignore[arg-type]
                                               submitted_at=when, delay_reasons=reasons,
                                               authority_reference=authority_reference, actor=actor)
    except (InvalidBreach, UnknownBreach) as exc:
        raise _fail(str(exc)) from exc
    late = " (late, reasons recorded)" if notification.late else ""
    out.print(f"{breach.reference}: {notification.phase} notification recorded{late}; "
              f"draft sha256 {notification.document_sha256[:16]}…", highlight=False, markup=False)
    if output is not None:
        _write(draft(breach, manifest, at=when, phase=notification.phase, delay_reasons=reasons,
                     authority_reference=authority_reference), output)


@breach_app.command("inform")
def breach_inform(
    reference: Annotated[str, typer.Argument(help="Breach number: BR-0001 or 1.")],
    recipients: Annotated[Path | None, typer.Option(help="CSV with an email column and an optional language "
                                                         "column.")] = None,
    from_collections: Annotated[bool, typer.Option(help="Add the people of the affected collections whose "
                                                        "email the annotations name.")] = False,
    actor: Annotated[str, typer.Option(help="Who sends (in the ledger).")] = "cli",
    home: HomeOption = None,
) -> None:
    """Send the Art. 34 letter to each person, in their language, through the workspace outbox."""
    from charte.breaches import (
        CountingError,
        InvalidBreach,
        LetterIncomplete,
        OutboxSender,
        SubjectCommunicationNotRequired,
        SystemDatabases,
        UnknownBreach,
        affected_recipients,
        get_breach,
        inform_subjects,
        outbox_folder,
        read_recipients_csv,
        system_environment,
    )

    workspace = _workspace(home)
    manifest = _manifest(workspace)
    breach_id = _breach_id(reference)
    try:
        people = read_recipients_csv(recipients.read_text(encoding="utf-8"), manifest) if recipients else []
        with transaction(workspace.sessions) as session:
            if from_collections:
                home = workspace.settings.home
                with SystemDatabases.from_manifest(manifest, system_environment(home)) as databases:
                    people += affected_recipients(get_breach(session, breach_id), manifest, databases,
                                                  workspace.settings.manifest_path.parent)
            sent = inform_subjects(session, manifest, breach_id, people,
                                   OutboxSender(outbox_folder(workspace.settings.home)), actor=actor)
    except (InvalidBreach, UnknownBreach, CountingError, SubjectCommunicationNotRequired, LetterIncomplete,
            OSError) as exc:
        raise _fail(str(exc)) from exc
    out.print(f"{sent.recipients_count} message(s) written to {outbox_folder(workspace.settings.home)}",
              highlight=False, markup=False)


@breach_app.command("warn")
def breach_warn(home: HomeOption = None) -> None:
    """Record the 48 h / 24 h / deadline warnings now due and mail them to the DPO (what the periodic job runs)."""
    from charte.breaches import OutboxSender, outbox_folder, warn_dpo
    from charte.ledger import utcnow

    workspace = _workspace(home)
    manifest = _manifest(workspace)
    with transaction(workspace.sessions) as session:
        warnings = warn_dpo(session, manifest, OutboxSender(outbox_folder(workspace.settings.home)), utcnow())
    for w in warnings:
        out.print(f"{w.reference}: {w.threshold_hours} h threshold reached", highlight=False, markup=False)
    if not warnings:
        out.print("no warning due", highlight=False)


@breach_app.command("export")
def breach_export(
    fmt: Annotated[RegisterFormat, typer.Option("--format", help="Output format.")] = RegisterFormat.csv,
    lang: Annotated[Lang, typer.Option("--lang")] = Lang.fr,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    home: HomeOption = None,
) -> None:
    """Export the breach register (one row per breach)."""
    from charte.breaches import export_register, list_breaches
    from charte.ledger import utcnow

    if fmt is RegisterFormat.xlsx and output is None and sys.stdout.isatty():
        raise _fail("XLSX is binary: give --output FILE.xlsx")
    workspace = _workspace(home)
    with workspace.sessions() as session:
        breaches = list_breaches(session)
    _write(export_register(breaches, _manifest(workspace), fmt.value, lang.value, utcnow()), output)


@app.command()
def serve(home: HomeOption = None,
          host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port.")] = 8000,
          worker: Annotated[bool | None, typer.Option(
              "--worker/--no-worker", help="Run jobs in this process (default: only with the embedded queue).")
          ] = None) -> None:
    """Run the web app: privacy center, policy page, API and DPO dashboard."""
    from charte.web.server import serve as run_server

    workspace = _workspace(home)
    _manifest(workspace)
    _signing(workspace, "dashboard sessions")
    run_server(workspace, host=host, port=port, consume=worker)


@app.command()
def worker(home: HomeOption = None,
           workers: Annotated[int | None, typer.Option(help="Worker threads (default CHARTE_WORKERS).")] = None
           ) -> None:
    """Run background jobs (retention sweeps, reminders, request execution) until interrupted."""
    from charte.jobs import QueueConfigError, build_jobs

    workspace = _workspace(home)
    _manifest(workspace)
    _signing(workspace, "links to subjects")
    try:
        jobs = build_jobs(workspace)
    except QueueConfigError as exc:
        raise _fail(str(exc)) from exc
    out.print(f"worker on {type(jobs.huey).__name__} with tasks: {', '.join(sorted(jobs.tasks))}",
              highlight=False)
    jobs.consumer(workers=workers or workspace.settings.workers).run()


@app.command()
def demo(
    folder: Annotated[Path | None, typer.Argument(help="Workspace folder (default: a new temporary one).")] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Prepare the workspace only.")] = False,
) -> None:
    """Set up a demo workspace for the reference customer (Equasens) and serve it."""
    from charte.demo import prepare_demo

    target = folder or Path(tempfile.mkdtemp(prefix="charte-demo-"))
    try:
        prepared = prepare_demo(target)
    except (WorkspaceError, OSError) as exc:
        raise _fail(str(exc)) from exc
    base = f"http://{host}:{port}"
    out.print(f"[bold]Charte demo[/] — workspace {prepared.settings.home}", highlight=False)
    out.print(f"  privacy center  {base}/\n  policy          {base}/policy  ({base}/policy?lang=en)\n"
              f"  policy as JSON  {base}/api/v1/policy\n  API reference   {base}/openapi.json\n"
              f"  DPO dashboard   {base}/admin", highlight=False)
    out.print(f"  login           {prepared.username} / {prepared.password}", highlight=False, markup=False)
    out.print(f"  try a right     charte datasets access --email {prepared.subject} --home {prepared.settings.home}",
              highlight=False, markup=False)
    if no_serve:
        return
    from charte.web.server import serve as run_server

    run_server(Workspace(prepared.settings), host=host, port=port)


# --- datasets: the organisation's databases --------------------------------------------------------------------

IdentityOptions = Annotated[list[str] | None, typer.Option("--identity", help="KIND=VALUE, e.g. customer_id=42.")]
EmailOption = Annotated[str | None, typer.Option("--email", help="The subject's email address.")]
PhoneOption = Annotated[str | None, typer.Option("--phone", help="The subject's phone number.")]
SystemOption = Annotated[list[str] | None, typer.Option("--system", help="Only this system (repeatable).")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show the statements and row counts; change nothing.")]
RequestIdOption = Annotated[str | None, typer.Option("--request-id", help="Request id (journal key; re-running "
                                                                            "the same id resumes it).")]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write the full JSON report here.")]

if TYPE_CHECKING:
    from charte.datastores import ConnectedSystem, ExecutionReport, RequestType


def _identity(email: str | None, phone: str | None, identity: list[str] | None) -> dict[str, str]:
    found: dict[str, str] = {}
    if email:
        found["email"] = email
    if phone:
        found["phone_number"] = phone
    for item in identity or []:
        kind, sep, value = item.partition("=")
        if not sep or not kind.strip() or not value.strip():
            raise _fail(f"--identity takes KIND=VALUE, not {item!r}")
        found[kind.strip()] = value.strip()
    if not found:
        raise _fail("say who the subject is: --email, --phone or --identity KIND=VALUE")
    return found


def _datastores(workspace: Workspace, only: list[str] | None) -> tuple[Manifest, dict[str, ConnectedSystem]]:
    from charte.datastores import (
        DatasetError,
        InvalidDatabaseUrl,
        MissingEnvironmentVariable,
        workspace_systems,
    )

    manifest = _manifest(workspace)
    unknown = sorted(set(only or []) - set(manifest.systems))
    if unknown:
        raise _fail(f"unknown system(s) {', '.join(unknown)}; the manifest declares: "
                    f"{', '.join(manifest.systems) or 'none'}")
    try:
        systems = workspace_systems(workspace.settings, manifest, only=only)
    except DatasetError as exc:
        for problem in exc.problems:
            err.print(problem.format(str(workspace.settings.manifest_path)), highlight=False, markup=False)
        raise _fail("the dataset annotations have errors") from exc
    except (MissingEnvironmentVariable, InvalidDatabaseUrl) as exc:
        raise _fail(str(exc)) from exc
    if not systems:
        raise _fail("no system of the manifest has dataset annotations (systems.<key>.datasets)")
    return manifest, systems


def _run_request(request_type: RequestType, home: Path | None, identity: dict[str, str], system: list[str] | None,
                 dry_run: bool, request_id: str | None, output: Path | None, *,
                 changes: dict[str, str] | None = None) -> None:
    import json
    import uuid

    from rich.progress import Progress, SpinnerColumn, TextColumn

    from charte.anonymise import InvalidPseudonymKey, MissingPseudonymKey
    from charte.datastores import InvalidIdentity, RectificationRefused, execute, workspace_keyring

    workspace = _workspace(home)
    manifest, systems = _datastores(workspace, system)
    rid = request_id or f"cli-{uuid.uuid4().hex[:12]}"
    try:
        keyring = workspace_keyring(workspace.settings)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True) as progress:
            task = progress.add_task(f"{request_type} on {len(systems)} system(s)", total=len(systems))
            report = execute(request_type, identity, manifest=manifest, systems=systems,
                             store=workspace.sessions, request_id=rid, changes=changes, dry_run=dry_run,
                             keyring=keyring, actor="cli", on_system=lambda s: progress.advance(task))
    except (InvalidIdentity, RectificationRefused, MissingPseudonymKey, InvalidPseudonymKey) as exc:
        raise _fail(str(exc)) from exc
    _print_report(report)
    if output is not None:
        data = report.to_dict()
        if request_type == "portability" and not dry_run:
            data = {"request_id": rid, "data": report.portable_data()}
        _write(json.dumps(data, ensure_ascii=False, indent=2) + "\n", output)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: ExecutionReport) -> None:
    from rich.table import Table

    title = f"{report.request_type} {report.request_id}" + (" (dry run: nothing changed)" if report.dry_run else "")
    for system in report.systems:
        table = Table(title=f"{system.name} [{system.system}] {system.url} — {system.status}", title_justify="left")
        for column_name in ("collection", "found", "deleted", "updated", "restricted", "kept", "notes"):
            table.add_column(column_name, justify="right" if column_name not in ("collection", "notes") else "left")
        for c in system.collections:
            table.add_row(c.name, str(c.found), str(c.deleted or ""), str(c.updated or ""), str(c.restricted or ""),
                          str(c.kept or ""), "; ".join(c.notes))
        out.print(title, highlight=False)
        out.print(table)
        for kept in system.kept:
            until = kept.until.isoformat() if kept.until else "(no date annotated)"
            out.print(f"  kept under legal hold: {kept.collection} ({kept.rows} rows"
                      f"{', fields ' + ', '.join(kept.fields) if kept.fields else ''}) — {kept.reason}; purpose "
                      f"{kept.purpose}, {kept.period}; to be deleted on {until}", highlight=False, markup=False)
        for statement in system.statements:
            out.print(f"  -- {'writes' if statement.write else 'reads'} {statement.rows} row(s)\n  "
                      f"{statement.sql.replace(chr(10), ' ')};", highlight=False, markup=False)
        if system.error:
            err.print(f"  {system.system}: failed: {system.error}", highlight=False, markup=False)


@datasets_app.command("discover")
def datasets_discover(
    url: Annotated[str, typer.Argument(help="Database URL, or ${ENV_VAR} naming it.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Draft YAML file (default: stdout).")] = None,
    manifest: Annotated[Path | None, typer.Option(help="Manifest, to draft legal holds on its purposes.")] = None,
    sample: Annotated[int, typer.Option(help="Rows sampled per table to guess categories.")] = 200,
    schema: Annotated[str | None, typer.Option(help="Database schema (default: the connection's).")] = None,
    key: Annotated[str, typer.Option(help="Dataset key.")] = "discovered",
) -> None:
    """Reflect a live database and draft its dataset annotations (tables, keys, references, categories)."""
    import os

    from sqlalchemy.exc import SQLAlchemyError

    from charte.datastores import InvalidDatabaseUrl, MissingEnvironmentVariable, discover, draft_yaml, resolve_url
    from charte.datastores.discover import describe_error

    try:
        resolved = resolve_url(url, os.environ)
        draft = discover(resolved, manifest=load_manifest(manifest) if manifest else None, sample=sample,
                         schema=schema, key=key)
    except (MissingEnvironmentVariable, InvalidDatabaseUrl) as exc:
        raise _fail(str(exc)) from exc
    except ManifestError as exc:
        raise _report(exc) from exc
    except SQLAlchemyError as exc:
        raise _fail(f"cannot read the database: {describe_error(exc)}") from exc
    _write(draft_yaml(draft), output)
    err.print(f"{len(draft.dataset['collections'])} collection(s) drafted from {draft.url}; review the notes at the "
              "top of the file", highlight=False)


@datasets_app.command("check")
def datasets_check(
    home: HomeOption = None,
    live: Annotated[bool, typer.Option("--live", help="Also compare with each live database.")] = False,
    system: SystemOption = None,
) -> None:
    """Check the dataset annotations (and, with --live, that their tables and columns exist)."""
    from sqlalchemy.exc import SQLAlchemyError

    from charte.datastores import check_live
    from charte.datastores.discover import describe_error

    settings = Settings.for_home(home or Path.cwd())
    result = check_file(settings.manifest_path)
    dataset_problems = [p for p in result.problems if p.file or p.rule.startswith("dataset") or
                        p.path[:1] == ("systems",)]
    for problem in dataset_problems:
        err.print(problem.format(result.filename), highlight=False, markup=False)
    if result.manifest is None or result.errors:
        raise _fail(f"{result.filename} has errors; run `charte check {result.filename}`")
    failed = False
    if live:
        _, systems = _datastores(Workspace(settings), system)
        for key, connected in systems.items():
            from charte.datastores import read_datasets

            annotations, _ = read_datasets(result.manifest, base_dir=settings.manifest_path.parent)
            try:
                problems = check_live(annotations[key], connected.engine)
            except SQLAlchemyError as exc:
                err.print(f"{key}: cannot connect to {connected.display_url}: {describe_error(exc)}",
                          highlight=False, markup=False)
                failed = True
                continue
            for problem in problems:
                err.print(problem.format(result.filename), highlight=False, markup=False)
            failed = failed or bool(problems)
            out.print(f"{key}: {connected.display_url}: " + ("ok" if not problems else f"{len(problems)} problem(s)"),
                      highlight=False)
    if failed:
        raise typer.Exit(1)
    out.print(f"dataset annotations ok ({sum(len(s.datasets) for s in result.manifest.systems.values())} "
              "dataset reference(s))", highlight=False)


@datasets_app.command("access")
def datasets_access(
    email: EmailOption = None, phone: PhoneOption = None, identity: IdentityOptions = None,
    portable: Annotated[bool, typer.Option("--portable", help="Portability (Art. 20): provided data, consent "
                                                              "and contract purposes only.")] = False,
    system: SystemOption = None, dry_run: DryRunOption = False, request_id: RequestIdOption = None,
    output: OutputOption = None, home: HomeOption = None,
) -> None:
    """Find the subject's data in every system (Art. 15), or export it (--portable, Art. 20)."""
    _run_request("portability" if portable else "access", home, _identity(email, phone, identity), system, dry_run,
                 request_id, output)


@datasets_app.command("erase")
def datasets_erase(
    email: EmailOption = None, phone: PhoneOption = None, identity: IdentityOptions = None,
    system: SystemOption = None, dry_run: DryRunOption = False, request_id: RequestIdOption = None,
    output: OutputOption = None, home: HomeOption = None,
) -> None:
    """Erase the subject's data (Art. 17): delete, mask or pseudonymise; keep what a legal hold requires."""
    _run_request("erasure", home, _identity(email, phone, identity), system, dry_run, request_id, output)


@datasets_app.command("rectify")
def datasets_rectify(
    changes: Annotated[list[str], typer.Option("--set", help="CATEGORY_OR_FIELD=VALUE, e.g. "
                                                             "user.contact.phone_number='+33 6 ...' (repeatable).")],
    email: EmailOption = None, phone: PhoneOption = None, identity: IdentityOptions = None,
    system: SystemOption = None, dry_run: DryRunOption = False, request_id: RequestIdOption = None,
    output: OutputOption = None, home: HomeOption = None,
) -> None:
    """Correct the subject's data wherever it is (Art. 16)."""
    parsed: dict[str, str] = {}
    for change in changes:
        target, sep, value = change.partition("=")
        if not sep or not target.strip():
            raise _fail(f"--set takes CATEGORY_OR_FIELD=VALUE, not {change!r}")
        parsed[target.strip()] = value
    _run_request("rectification", home, _identity(email, phone, identity), system, dry_run, request_id, output,
                 changes=parsed)


@datasets_app.command("restrict")
def datasets_restrict(
    email: EmailOption = None, phone: PhoneOption = None, identity: IdentityOptions = None,
    system: SystemOption = None, dry_run: DryRunOption = False, request_id: RequestIdOption = None,
    output: OutputOption = None, home: HomeOption = None,
) -> None:
    """Restrict the processing of the subject's data (Art. 18): flag column, else Charte's register."""
    _run_request("restriction", home, _identity(email, phone, identity), system, dry_run, request_id, output)


SubjectArgument = Annotated[str, typer.Argument(help="email:ADDRESS, customer:ID, visitor:CONSENT_ID, or an address.")]
BaseUrlOption = Annotated[str, typer.Option("--base-url", envvar="CHARTE_PUBLIC_URL",
                                            help="Where people reach Charte (links are made under it).")]


if TYPE_CHECKING:
    from charte.consent import SubjectKey


class ConsentExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def _subject_key(subject: str) -> SubjectKey:
    from charte.consent import InvalidSubject, parse_subject

    try:
        return parse_subject(subject)
    except InvalidSubject as exc:
        raise _fail(str(exc)) from exc


@consent_app.command("show")
def consent_show(subject: SubjectArgument, home: HomeOption = None) -> None:
    """A person's current decisions and the permission answer for every purpose, with its reason."""
    from charte.consent import UnknownSubject
    from charte.consent.export import subject_summary

    workspace = _workspace(home)
    manifest = _manifest(workspace)
    key = _subject_key(subject)
    with workspace.sessions() as session:
        try:
            summary = subject_summary(session, manifest, key, restrictions=RESTRICTIONS)
        except UnknownSubject as exc:
            raise _fail(str(exc)) from exc
    out.print(f"{summary.key}  (pseudonym {summary.ref})", highlight=False)
    for visitor in summary.linked:
        out.print(f"  linked: {visitor}", highlight=False)
    out.print("decisions in force:", highlight=False)
    for state in summary.states:
        out.print(f"  {state.scope + ':' + state.key:<34} {state.decision:<10} {state.decided_at:%Y-%m-%d %H:%M}",
                  highlight=False)
    out.print("permissions:", highlight=False)
    for answer in summary.permissions:
        verdict = "allowed" if answer.allowed else "denied "
        out.print(f"  {answer.purpose:<24} {verdict} {answer.reason.value}", highlight=False)


@consent_app.command("export")
def consent_export(
    fmt: Annotated[ConsentExportFormat, typer.Option("--format", help="jsonl or csv.")] = ConsentExportFormat.jsonl,
    identifiers: Annotated[bool, typer.Option(help="Name subjects by email or id instead of pseudonym.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    home: HomeOption = None,
) -> None:
    """Every consent event, oldest first (subjects by pseudonym unless --identifiers)."""
    from charte.consent.export import export_consents

    workspace = _workspace(home)
    with workspace.sessions() as session:
        if output is None:
            count = export_consents(session, sys.stdout, fmt=fmt.value, identifiers=identifiers)
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            with output.open("w", encoding="utf-8", newline="") as handle:
                count = export_consents(session, handle, fmt=fmt.value, identifiers=identifiers)
    err.print(f"{count} consent event(s)", highlight=False)


@consent_app.command("proof")
def consent_proof_command(
    subject: SubjectArgument,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    home: HomeOption = None,
) -> None:
    """A person's proof of consent: ISO/IEC TS 27560-shaped record with the ledger entries anchoring it."""
    import json

    from charte.consent import UnknownSubject, consent_proof, verify_proof

    workspace = _workspace(home)
    manifest = _manifest(workspace)
    key = _subject_key(subject)
    with workspace.sessions() as session:
        try:
            record = consent_proof(session, manifest, key)
        except UnknownSubject as exc:
            raise _fail(str(exc)) from exc
        check = verify_proof(session, record)
    _write(json.dumps(record, ensure_ascii=False, indent=2) + "\n", output)
    if not check.ok:
        raise _fail("the proof does not verify: " + "; ".join(check.problems))
    err.print(f"{check.events} event(s), every hash verified against the ledger", highlight=False)


@consent_app.command("preferences-link")
def consent_preferences_link(
    subject: SubjectArgument,
    base_url: BaseUrlOption = "http://127.0.0.1:8000",
    lang: Annotated[Lang | None, typer.Option("--lang")] = None,
    home: HomeOption = None,
) -> None:
    """A signed link to the person's preferences page (valid 7 days) to send them; nothing is emailed."""
    from charte.auth import InsecureSecretKey, MissingSecretKey
    from charte.consent import InvalidSubject
    from charte.consent.links import LinkSigner, preferences_link

    workspace = _workspace(home)
    try:
        signer = LinkSigner(workspace.settings.secret_key)
        print(preferences_link(signer, base_url, _subject_key(subject), lang=lang.value if lang else None))
    except (MissingSecretKey, InsecureSecretKey, InvalidSubject) as exc:
        raise _fail(str(exc)) from exc


@consent_app.command("unsubscribe-link")
def consent_unsubscribe_link(
    subject: SubjectArgument,
    purpose: Annotated[str, typer.Argument(help="The purpose of the emails (e.g. newsletter).")],
    base_url: BaseUrlOption = "http://127.0.0.1:8000",
    home: HomeOption = None,
) -> None:
    """The signed unsubscribe link to put in emails sent to the person for a purpose (it does not expire)."""
    from charte.auth import InsecureSecretKey, MissingSecretKey
    from charte.consent import ConsentError
    from charte.consent.links import LinkSigner, unsubscribe_link

    workspace = _workspace(home)
    manifest = _manifest(workspace)
    try:
        signer = LinkSigner(workspace.settings.secret_key)
        print(unsubscribe_link(signer, manifest, base_url, _subject_key(subject), purpose))
    except (MissingSecretKey, InsecureSecretKey, ConsentError) as exc:
        raise _fail(str(exc)) from exc


# --- data-subject requests (issue 4) ---------------------------------------------------------------------------

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

    from charte.rights import RightsServices
    from charte.store.rights import RightsRequest


def _rights(workspace: Workspace) -> RightsServices:
    from charte.auth import InsecureSecretKey, MissingSecretKey
    from charte.rights import rights_services

    _manifest(workspace)
    try:
        return rights_services(workspace)  # its signer refuses a key that cannot sign links to subjects
    except (MissingSecretKey, InsecureSecretKey) as exc:
        raise _fail(str(exc)) from exc


def _deliver(workspace: Workspace) -> None:
    from charte.mail import deliver_pending, sender_from_settings

    report = deliver_pending(workspace.sessions, sender_from_settings(workspace.settings))
    if report.sent or report.retrying or report.failed:
        err.print(f"mail: {len(report.sent)} sent, {len(report.retrying)} to retry, {len(report.failed)} failed",
                  highlight=False)


@requests_app.command("list")
def requests_list(
    due_within: Annotated[str | None, typer.Option("--due-within", help="Only open requests due within this "
                                                                        "period (7d, 2w, 48h), late ones included.")]
    = None,
    state: Annotated[str | None, typer.Option(help="A state, or 'all' (default: open requests).")] = None,
    home: HomeOption = None,
) -> None:
    """Requests by due date, with the days left (or late, or suspended while waiting for the subject)."""
    from charte.rights import OPEN, STATES, list_requests, parse_within
    from charte.rights import due_within as due_soon
    from charte.rights.deadlines import InvalidPeriod, days_left, local_date
    from charte.rights.requests import current_due, now_utc

    workspace = _workspace(home)
    svc = _rights(workspace)
    now = now_utc(svc.clock)
    with workspace.sessions() as session:
        if due_within is not None:
            try:
                period = parse_within(due_within)
            except InvalidPeriod as exc:
                raise _fail(str(exc)) from exc
            rows = [(d.request, d.due_on) for d in due_soon(session, within=period, policy=svc.policy, clock=svc.clock)]
        else:
            if state is not None and state != "all" and state not in STATES:
                raise _fail(f"unknown state {state!r}; one of: all, {', '.join(STATES)}")
            states = None if state == "all" else [state] if state else sorted(OPEN)
            rows = [(r, current_due(r, svc.policy, now)) for r in list_requests(session, states=states)]
    today = local_date(now, svc.policy.timezone)
    for request, due in rows:
        left = days_left(due, today)
        when = ("closed" if request.state not in OPEN else "suspended" if request.state == "awaiting_verification"
                else f"LATE {-left}d" if left < 0 else f"{left}d left")
        out.print(f"{request.reference}  {request.request_type:<18} {request.state:<22} received "
                  f"{request.received_on.isoformat()}  due {due.isoformat()}  {when}", highlight=False, markup=False)
    if not rows:
        err.print("no request", highlight=False)


@requests_app.command("show")
def requests_show(reference: Annotated[str, typer.Argument(help="Request reference (R-XXXX-XXXX).")],
                  home: HomeOption = None) -> None:
    """One request: facts, deadline, decision, and its events in the ledger."""
    import json

    from sqlalchemy import select

    from charte.rights import UnknownRequest, find_request
    from charte.rights.requests import current_due, now_utc
    from charte.store.models import LedgerEvent

    workspace = _workspace(home)
    svc = _rights(workspace)
    with workspace.sessions() as session:
        try:
            request = find_request(session, reference)
        except UnknownRequest as exc:
            raise _fail(str(exc)) from exc
        events = [e for e in session.scalars(select(LedgerEvent).where(LedgerEvent.subject == request.subject_ref)
                                             .order_by(LedgerEvent.seq))
                  if json.loads(e.payload).get("reference") == request.reference]
    facts = {
        "reference": request.reference, "type": request.request_type, "state": request.state,
        "email": request.email or "-", "identifiers": request.identifiers or "-", "purposes": request.purposes or "-",
        "details": request.details or "-", "received": request.received_at.isoformat(),
        "first due": request.first_due_on.isoformat(),
        "due": current_due(request, svc.policy, now_utc(svc.clock)).isoformat(),
        "extension": f"{request.extension_months} month(s): {request.extension_reason}"
        if request.extension_months else "-",
        "suspended days": request.suspended_days, "verification": f"{request.verification_level} "
        f"({request.verification_method or 'not yet'})", "decision": request.decision_reason or "-",
        "last error": request.last_error or "-",
    }
    for key, value in facts.items():
        out.print(f"{key:>15}: {value}", highlight=False, markup=False)
    for event in events:
        out.print(f"  #{event.seq} {event.recorded_at} {event.type} by {event.actor}", highlight=False, markup=False)


def _decide(home: Path | None, reference: str, action: Callable[[Session, RightsServices], RightsRequest],
            run: bool) -> None:
    from charte.rights import (
        ExtensionRefused,
        InvalidTransition,
        MissingReason,
        UnknownRequest,
        run_request,
    )

    workspace = _workspace(home)
    svc = _rights(workspace)
    try:
        with transaction(workspace.sessions) as session:
            request = action(session, svc)
            state, ref = request.state, request.reference
    except (UnknownRequest, InvalidTransition, MissingReason, ExtensionRefused) as exc:
        raise _fail(str(exc)) from exc
    if run and state == "approved":
        state = run_request(workspace.sessions, svc, ref, worker="cli")
    _deliver(workspace)
    out.print(f"request {ref}: {state}", highlight=False)


@requests_app.command("approve")
def requests_approve(
    reference: Annotated[str, typer.Argument(help="Request reference.")],
    response: Annotated[str | None, typer.Option(help="The answer (required for a complaint).")] = None,
    no_run: Annotated[bool, typer.Option("--no-run", help="Approve only; execute later (`requests run`).")] = False,
    actor: Annotated[str, typer.Option(help="Who decides (recorded in the ledger).")] = "cli",
    home: HomeOption = None,
) -> None:
    """Approve a verified request, then execute it and send the letter."""
    from charte.rights import decide_approve

    _decide(home, reference, lambda session, svc: decide_approve(session, svc, reference, actor=actor,
                                                                 response=response), run=not no_run)


@requests_app.command("deny")
def requests_deny(
    reference: Annotated[str, typer.Argument(help="Request reference.")],
    reason: Annotated[str, typer.Option(help="Why (sent to the subject, with the CNIL and court remedies).")],
    actor: Annotated[str, typer.Option(help="Who decides (recorded in the ledger).")] = "cli",
    home: HomeOption = None,
) -> None:
    """Refuse a request with reasons; the letter is sent."""
    from charte.rights import decide_deny

    _decide(home, reference, lambda session, svc: decide_deny(session, svc, reference, actor=actor, reason=reason),
            run=False)


@requests_app.command("extend")
def requests_extend(
    reference: Annotated[str, typer.Argument(help="Request reference.")],
    reason: Annotated[str, typer.Option(help="Why more time is needed (sent to the subject now).")],
    months: Annotated[int, typer.Option(min=1, max=2, help="Total extension: 1 or 2 months.")] = 2,
    actor: Annotated[str, typer.Option(help="Who decides (recorded in the ledger).")] = "cli",
    home: HomeOption = None,
) -> None:
    """Extend the deadline (before the first due date) and tell the subject why."""
    from charte.rights import decide_extend

    _decide(home, reference, lambda session, svc: decide_extend(session, svc, reference, actor=actor, months=months,
                                                                reason=reason), run=False)


@requests_app.command("run")
def requests_run(references: Annotated[list[str] | None, typer.Argument(help="References (default: every "
                                                                              "approved request and expired lease).")]
                 = None, home: HomeOption = None) -> None:
    """Execute approved requests (and those whose worker died) and send their letters."""
    import os

    from charte.rights import run_pending

    workspace = _workspace(home)
    states = run_pending(workspace.sessions, _rights(workspace), worker=f"cli:{os.getpid()}", references=references)
    _deliver(workspace)
    for reference, state in states.items():
        out.print(f"request {reference}: {state}", highlight=False)


@requests_app.command("remind")
def requests_remind(home: HomeOption = None) -> None:
    """Mail the DPO the requests newly late or close to their due date (running it twice sends nothing new)."""
    from charte.rights import remind_dpo

    workspace = _workspace(home)
    svc = _rights(workspace)
    with transaction(workspace.sessions) as session:
        lines = remind_dpo(session, svc.outgoing, policy=svc.policy, clock=svc.clock)
    _deliver(workspace)
    out.print(f"{len(lines)} request(s) in the reminder", highlight=False)


@mail_app.command("deliver")
def mail_deliver(home: HomeOption = None) -> None:
    """Send the queued messages (SMTP, or the outbox folder when CHARTE_SMTP_URL is unset)."""
    workspace = _workspace(home)
    _deliver(workspace)


# --- retention and anonymised exports ----------------------------------------------------------------------------

retention_app = typer.Typer(help="Retention: what expires when, and the sweeps that delete, anonymise or archive it.",
                            no_args_is_help=True)
app.add_typer(retention_app, name="retention")
anonymise_app = typer.Typer(help="Anonymised exports, written only when k-anonymous.", no_args_is_help=True)
app.add_typer(anonymise_app, name="anonymise")


if TYPE_CHECKING:
    from charte.anonymise import Keyring


def _retention_keyring(workspace: Workspace) -> Keyring | None:
    from charte.anonymise import InvalidPseudonymKey
    from charte.datastores import workspace_keyring

    try:
        return workspace_keyring(workspace.settings)
    except InvalidPseudonymKey as exc:
        raise _fail(str(exc)) from exc


@retention_app.command("plan")
def retention_plan(home: HomeOption = None, system: SystemOption = None,
                   days: Annotated[int, typer.Option(help="Horizon of 'due soon', in days.")] = 30,
                   sql: Annotated[bool, typer.Option("--sql/--no-sql", help="Show the statements of a batch.")] = True,
                   ) -> None:
    """Per system and collection: rows due now and in the next days, rows kept, and the statements that would run."""
    from datetime import timedelta

    from rich.table import Table

    from charte.retention import plan_retention

    workspace = _workspace(home)
    manifest, systems = _datastores(workspace, system)
    plan = plan_retention(manifest, systems, horizon=timedelta(days=days), keyring=_retention_keyring(workspace),
                          batch_size=workspace.settings.retention_batch_size)
    table = Table(title=f"retention plan at {plan.as_of.isoformat(timespec='seconds')}", title_justify="left")
    for name in ("system", "collection", "rule", "expired before", "due now", f"next {days} days", "held",
                 "referenced"):
        table.add_column(name, justify="right" if name not in ("system", "collection", "rule") else "left")
    for item in plan.rules:
        rule = item.rule
        table.add_row(rule.system, rule.collection, rule.describe(), item.boundary.value.isoformat(timespec="seconds"),
                      str(item.due_now), str(item.due_soon), str(item.held), str(item.referenced))
    out.print(table)
    if sql:
        for item in plan.rules:
            out.print(f"-- {item.rule.label}: {item.rule.describe()}", highlight=False, markup=False)
            for statement in item.statements:
                out.print(" ".join(statement.split()) + ";", highlight=False, markup=False)
    for problem in plan.problems:
        err.print(f"error: {problem}", highlight=False, markup=False)
    if plan.problems:
        raise typer.Exit(1)


@retention_app.command("run")
def retention_run(home: HomeOption = None, system: SystemOption = None,
                  batch_size: Annotated[int | None, typer.Option(help="Rows per batch (default "
                                                                      "CHARTE_RETENTION_BATCH_SIZE).")] = None,
                  ) -> None:
    """Apply the due retention rules in batches (resuming an interrupted run first) and record them in the ledger."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from charte.anonymise import MissingPseudonymKey
    from charte.retention import (
        BatchDone,
        RetentionConfigError,
        RetentionResumeError,
        RetentionRunInProgress,
        plan_retention,
        run_retention,
    )

    workspace = _workspace(home)
    manifest, systems = _datastores(workspace, system)
    keyring = _retention_keyring(workspace)
    size = batch_size or workspace.settings.retention_batch_size
    try:
        plan = plan_retention(manifest, systems, keyring=keyring, batch_size=size)
        if plan.problems:
            raise RetentionConfigError("; ".join(plan.problems))
        total = plan.due_now
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[speed]}"), TimeElapsedColumn())
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("retention", total=total or None, speed="")
            started, examined = time.monotonic(), 0

            def advance(batch: BatchDone) -> None:
                nonlocal examined
                examined += batch.examined
                elapsed = time.monotonic() - started
                progress.update(task, advance=batch.examined, description=batch.rule.label,
                                speed=f"{examined / elapsed:,.0f} rows/s" if elapsed > 0 else "")

            report = run_retention(manifest, systems, workspace.sessions, keyring=keyring, batch_size=size,
                                   actor="cli", on_batch=advance)
    except (RetentionRunInProgress, RetentionConfigError, RetentionResumeError, MissingPseudonymKey) as exc:
        raise _fail(str(exc)) from exc
    from rich.table import Table

    resumed = " (resumed an interrupted run)" if report.resumed else ""
    table = Table(title=f"retention run {report.run_id} as of {report.as_of.isoformat(timespec='seconds')}{resumed}",
                  title_justify="left")
    table.add_column("system")
    table.add_column("collection")
    table.add_column("rows changed")
    for sweep in report.sweeps:
        counts = ", ".join(f"{name}: {value}" for name, value in sweep.counts.items() if value) or "nothing due"
        table.add_row(sweep.system, sweep.collection, counts)
    out.print(table)


@retention_app.command("runs")
def retention_runs(home: HomeOption = None,
                   limit: Annotated[int, typer.Option(help="How many runs.")] = 10) -> None:
    """The last retention runs: when, by whom, and the rows they changed."""
    from charte.retention import last_runs

    workspace = _workspace(home)
    with workspace.sessions() as session:
        runs = last_runs(session, limit)
    for run in runs:
        totals = ", ".join(f"{k}: {v}" for k, v in sorted(run.totals.items()) if v) or "nothing changed"
        out.print(f"run {run.id} as of {run.as_of.isoformat(timespec='seconds')} by {run.actor}: {run.status}; "
                  f"{', '.join(run.systems)}; {totals}" + (f"; {run.error}" if run.error else ""),
                  highlight=False, markup=False)
    if not runs:
        out.print("no retention run yet", highlight=False)


@anonymise_app.command("export")
def anonymise_export(
    system: Annotated[str, typer.Argument(help="System of the manifest.")],
    collection: Annotated[str, typer.Argument(help="Annotated collection (table).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV file to write.")],
    k: Annotated[int, typer.Option("--k", help="Smallest group size allowed (k-anonymity).")] = 5,
    quasi: Annotated[list[str] | None, typer.Option(
        "--quasi", help="Quasi-identifier COLUMN or COLUMN=month|year|department|age_band[:width]|truncate_ip|keep "
                        "(repeatable; annotated generalisations are quasi-identifiers already).")] = None,
    pseudonymise: Annotated[list[str] | None, typer.Option("--pseudonymise", help="Column to pseudonymise.")] = None,
    drop: Annotated[list[str] | None, typer.Option("--drop", help="Column to leave out.")] = None,
    home: HomeOption = None,
) -> None:
    """Export a collection with identifiers removed or pseudonymised and quasi-identifiers generalised; refuse
    unless every group of quasi-identifiers has at least k rows."""
    from charte.anonymise import MissingPseudonymKey, NotAnonymous
    from charte.anonymise.export import UnknownColumn, UnknownGeneralisation, export_anonymised

    workspace = _workspace(home)
    _, systems = _datastores(workspace, [system])
    chosen: dict[str, str | None] = {}
    for item in quasi or []:
        name, _, how = item.partition("=")
        chosen[name.strip()] = how.strip() or None
    try:
        report = export_anonymised(systems[system], collection, output, k=k, quasi=chosen,
                                   pseudonymise=pseudonymise or (), drop=drop or (),
                                   keyring=_retention_keyring(workspace))
    except NotAnonymous as exc:
        found = exc.report
        group = ", ".join(f"{name}={value}" for name, value in found.example)
        raise _fail(f"refused: not {k}-anonymous; the smallest group has {found.smallest_group} row(s) ({group}); "
                    f"{found.groups_below_k} of {found.groups} group(s) are below k. Generalise more (--quasi "
                    "COLUMN=year...) or drop a quasi-identifier; nothing was written") from exc
    except (UnknownColumn, UnknownGeneralisation, MissingPseudonymKey, ValueError) as exc:
        raise _fail(str(exc)) from exc
    found = report.kanonymity
    out.print(f"wrote {report.path}: {found.rows} row(s), {len(report.plan.columns)} column(s); smallest group "
              f"{found.smallest_group} row(s) over {', '.join(report.plan.quasi_identifiers) or 'no quasi-identifier'} "
              f"(k = {k})", highlight=False, markup=False)
    for column_spec in report.plan.columns:
        out.print(f"  {column_spec.describe()}", highlight=False, markup=False)
    if report.plan.removed:
        out.print(f"  removed: {', '.join(report.plan.removed)}", highlight=False, markup=False)

