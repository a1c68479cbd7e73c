"""The ``charte`` command line: translates arguments into calls to the domain packages."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from charte.config import Settings
from charte.manifest import ManifestError, check_file
from charte.store import StoreNotReady
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


class Lang(str, Enum):
    fr = "fr"
    en = "en"


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _workspace(home: Path | None) -> Workspace:
    folder = (home or Path.cwd()).resolve()
    settings = Settings(home=folder, _env_file=folder / ".env")  # type: ignore[call-arg]
    try:
        return Workspace(settings).ready()
    except StoreNotReady as exc:
        raise _fail(str(exc)) from exc


def _manifest(workspace: Workspace):  # type: ignore[no-untyped-def]
    try:
        return workspace.manifest
    except ManifestError as exc:
        for problem in exc.problems:
            err.print(problem.format(exc.filename), highlight=False, markup=False)
        raise _fail(f"{exc.filename} has problems; run `charte check {exc.filename}`") from exc


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
