"""Each lint rule, broken on purpose in a copy of the reference manifest, with the exact file:line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charte.cli import app
from charte.manifest import check_text, load_manifest

EXAMPLE = Path(__file__).parents[1] / "examples" / "equasens" / "charte.yaml"
TEXT = EXAMPLE.read_text(encoding="utf-8")


def line_of(text: str, needle: str, start: str | None = None) -> int:
    """1-based line of the first ``needle`` (after ``start`` when given)."""
    offset = text.index(start) if start else 0
    return text[: text.index(needle, offset)].count("\n") + 1


def edit(old: str, new: str, *, after: str | None = None) -> str:
    """The example with the first ``old`` (after ``after``) replaced."""
    at = TEXT.index(old, TEXT.index(after) if after else 0)
    return TEXT[:at] + new + TEXT[at + len(old):]


def run_check(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "charte.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(path)])
    return result.exit_code, result.output


def assert_reported(output: str, path: Path, line: int, rule: str) -> None:
    pattern = rf"^{re.escape(str(path))}:{line}: error: .*\[{re.escape(rule)}\]$"
    assert re.search(pattern, output, re.M), f"expected {rule} at line {line}, got:\n{output}"


def test_reference_manifest_passes() -> None:
    result = CliRunner().invoke(app, ["check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "ok (18 purposes)" in result.output


def test_console_script_exit_codes(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "charte", "check", str(EXAMPLE)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    broken = tmp_path / "charte.yaml"
    broken.write_text(edit("    legal_basis: contract\n", ""), encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "charte", "check", str(broken)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert f"{broken}:{line_of(TEXT, '  identification:')}: error:" in bad.stderr


CASES = [
    pytest.param(lambda: edit("    legal_basis: contract\n", ""),
                 lambda t: line_of(t, "  identification:"), "legal-basis-missing", id="legal-basis-missing"),
    pytest.param(lambda: edit("withdrawable: true", "withdrawable: false", after="  newsletter:"),
                 lambda t: line_of(t, "withdrawable: false"), "consent-not-withdrawable", id="consent-withdrawable"),
    pytest.param(lambda: edit("country: FR", "country: US", after="  freelancers:\n    name"),
                 lambda t: line_of(t, "country: US"), "transfer-not-allowed", id="recipient-outside-eea"),
    pytest.param(lambda: edit("country: IE", "country: US"),
                 lambda t: line_of(t, "country: US"), "transfer-not-allowed", id="cookie-service-outside-eea"),
    pytest.param(lambda: edit("  allowed_countries: [EEA]", "  allowed_countries: [FR]"),
                 lambda t: line_of(t, "country: IE"), "transfer-not-allowed", id="stricter-transfer-rule"),
    pytest.param(lambda: edit("    art9_condition: health_or_social_care\n", ""),
                 lambda t: line_of(t, "    data_categories:", start="  technical_support:"),
                 "art9-condition-missing", id="special-category-without-art9"),
    pytest.param(lambda: edit("art9_condition: health_or_social_care", "art9_condition: because"),
                 lambda t: line_of(t, "art9_condition: because"), "art9-condition-unknown", id="art9-unknown"),
    pytest.param(lambda: edit("retention: {period: P10Y, start:", "retention: {start:"),
                 lambda t: line_of(t, "retention: {start: end_of_financial_year"), "retention-period-missing",
                 id="retention-without-period"),
    pytest.param(lambda: edit("    retention: {period: P10Y, start: end_of_financial_year, legal_reference: "
                              "\"Code de commerce, art. L123-22 (10 ans)\"}\n", ""),
                 lambda t: line_of(t, "  accounting:"), "retention-period-missing", id="no-retention"),
    pytest.param(lambda: edit("    objection: true", "    objection: false"),
                 lambda t: line_of(t, "    objection: false"), "objection-missing", id="legitimate-interest-objection"),
    pytest.param(lambda: edit("[user.name, user.contact.email, user.privacy_preferences]",
                              "[user.name, user.contact.emial, user.privacy_preferences]"),
                 lambda t: line_of(t, "user.contact.emial"), "unknown-reference", id="unknown-category-ref"),
    pytest.param(lambda: edit("recipients: [freelancers]", "recipients: [freelancer]"),
                 lambda t: line_of(t, "recipients: [freelancer]"), "unknown-reference", id="unknown-recipient"),
    pytest.param(lambda: edit("purposes: [audience_measurement]", "purposes: [audience_measurment]"),
                 lambda t: line_of(t, "purposes: [audience_measurment]"), "unknown-reference",
                 id="unknown-purpose"),
    pytest.param(lambda: edit("data_subjects: [candidates]", "data_subjects: [candidate]"),
                 lambda t: line_of(t, "data_subjects: [candidate]"), "unknown-reference", id="unknown-subject"),
    pytest.param(lambda: edit("  system.operations:", "  system.operation:"),
                 lambda t: line_of(t, "  system.operation:"), "unknown-taxonomy-key", id="unknown-taxonomy-key"),
    pytest.param(lambda: edit("name: {fr: Adresse IP, en: IP address}", "name: {fr: Adresse IP}"),
                 lambda t: line_of(t, "name: {fr: Adresse IP}"), "translation-missing", id="translation-missing"),
    pytest.param(lambda: edit("  portability:\n", "  portabilty:\n"),
                 lambda t: line_of(t, "  portabilty:"), "unknown-reference", id="misspelt-right"),
    pytest.param(lambda: edit("  portability:\n", "  portabilty:\n"),
                 lambda t: line_of(t, "\nrights:") + 1, "right-missing", id="right-missing"),
    pytest.param(lambda: edit("systems: {}", "systems:\n  crm:\n    name: CRM\n"
                              "    url: postgresql://crm:hunter2@db.example/crm"),
                 lambda t: line_of(t, "    url: postgresql://"), "secret-in-manifest", id="secret-in-manifest"),
    pytest.param(lambda: edit("    automated_logic:\n", "    automated_logic_: \n", after="  customer_analysis:"),
                 lambda t: line_of(t, "automated_logic_:"), "schema", id="typo-in-field-name"),
    pytest.param(lambda: edit("  newsletter:\n", "  identification:\n"),
                 lambda t: line_of(t, "  identification:", start="  service_information:"), "duplicate-key",
                 id="duplicate-key"),
    pytest.param(lambda: edit("      required: true\n", "", after="  categories:"),
                 lambda t: line_of(t, "    necessary:"), "cookie-category-required", id="necessary-not-required"),
    pytest.param(lambda: edit("purposes: [targeted_advertising]", "purposes: [website_operation]"),
                 lambda t: line_of(t, "    advertising:"), "cookie-consent-purpose", id="cookie-without-consent"),
    pytest.param(lambda: edit("retention: {period: P25M", "retention: {period: 25 months"),
                 lambda t: line_of(t, "retention: {period: 25 months"), "schema", id="bad-duration"),
    pytest.param(lambda: edit("\nlanguages: [fr, en]", "    - date: 2020-01-22\n      summary: {fr: x, en: x}\n"
                              "languages: [fr, en]"),
                 lambda t: line_of(t, "      summary: {fr: x") - 1, "policy-version-duplicate", id="duplicate-version"),
]


@pytest.mark.parametrize(("make", "expected_line", "rule"), CASES)
def test_each_rule_reports_file_and_line(tmp_path: Path, make, expected_line, rule) -> None:  # type: ignore[no-untyped-def]
    text = make()
    code, output = run_check(tmp_path, text)
    assert code == 1
    assert_reported(output, tmp_path / "charte.yaml", expected_line(text), rule)


def test_profiling_needs_logic(tmp_path: Path) -> None:
    start = TEXT.index("    automated_logic:\n", TEXT.index("  customer_analysis:"))
    end = TEXT.index("    data_categories:", start)
    text = TEXT[:start] + TEXT[end:]
    code, output = run_check(tmp_path, text)
    assert code == 1
    assert_reported(output, tmp_path / "charte.yaml", line_of(text, "  customer_analysis:"), "automated-logic-missing")


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    text = edit("default_language: fr", "default_language: [fr")
    code, output = run_check(tmp_path, text)
    assert code == 1
    assert re.search(rf"{re.escape(str(tmp_path / 'charte.yaml'))}:\d+: error: invalid YAML", output)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope.yaml'}: error: file not found" in result.output


def test_warnings_do_not_fail_unless_strict(tmp_path: Path) -> None:
    text = edit("systems: {}", "systems:\n  crm:\n    name: CRM\n    url: postgresql://db.example/crm")
    assert run_check(tmp_path, text)[0] == 0
    path = tmp_path / "charte.yaml"
    assert CliRunner().invoke(app, ["check", "--strict", str(path)]).exit_code == 1


def test_load_manifest_derives_the_seed_promises() -> None:
    manifest = load_manifest(EXAMPLE)
    assert str(manifest.policy.last_modified) == "2020-01-22"
    assert len(manifest.rights) == 11
    assert set(manifest.cookies.categories) == {"necessary", "functional", "analytics", "advertising"}
    accounting = manifest.purposes["accounting"]
    assert accounting.legal_basis == "legal_obligation"
    assert accounting.retention is not None and str(accounting.retention.period) == "P10Y"
    assert "L123-22" in (accounting.legal_reference or "")
    bases = {p.legal_basis for p in manifest.purposes.values()}
    assert bases == {"contract", "legitimate_interest", "consent", "legal_obligation"}
    assert manifest.is_special("user.health_and_medical")
    assert check_text(TEXT).ok
