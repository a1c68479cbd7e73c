"""The ``charte`` command line: translates arguments into calls to the domain packages."""

from __future__ import annotations

import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from charte.config import Settings
from charte.ledger import export_jsonl, verify
from charte.manifest import Manifest, ManifestError, check_file, load_manifest
from charte.manifest.publication import UndatedPolicyChange, publish_policy
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
    run_server(workspace, host=host, port=port, consume=worker)


@app.command()
def worker(home: HomeOption = None,
           workers: Annotated[int | None, typer.Option(help="Worker threads (default CHARTE_WORKERS).")] = None
           ) -> None:
    """Run background jobs (retention sweeps, reminders, request execution) until interrupted."""
    from charte.jobs import QueueConfigError, build_jobs

    workspace = _workspace(home)
    _manifest(workspace)
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
    if no_serve:
        return
    from charte.web.server import serve as run_server

    run_server(Workspace(prepared.settings), host=host, port=port)
