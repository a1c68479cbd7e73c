"""``python -m charte`` runs the CLI."""

from charte.cli import app

app(prog_name="charte")
