"""The Art. 30 record of processing from the reference manifest: one complete row per purpose, in every format."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from charte.manifest import Manifest, load_manifest, tr
from charte.manifest.models import Recipient
from charte.render import COLUMNS, export_ropa, ropa_columns, ropa_rows

EXAMPLE = Path(__file__).parents[1] / "examples" / "equasens" / "charte.yaml"
LANGS = ("fr", "en")


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(EXAMPLE)


def by_reference(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["reference"]: row for row in rows}


@pytest.mark.parametrize("lang", LANGS)
def test_one_complete_row_per_purpose(manifest: Manifest, lang: str) -> None:
    rows = ropa_rows(manifest, lang)
    assert [row["reference"] for row in rows] == list(manifest.purposes)
    for row in rows:
        assert tuple(row) == COLUMNS
        empty = [key for key, value in row.items() if not value.strip()]
        assert not empty, (row["reference"], empty)


@pytest.mark.parametrize("lang", LANGS)
def test_rows_cover_article_30(manifest: Manifest, lang: str) -> None:
    rows = by_reference(ropa_rows(manifest, lang))
    for key, purpose in manifest.purposes.items():
        row = rows[key]
        # (a) controller and DPO
        assert manifest.controller.address in row["controller"]
        assert manifest.controller.contact.email and manifest.controller.contact.email in row["controller"]
        assert manifest.dpo.email in row["dpo"]
        # (b) purpose, (c) subjects and data
        assert row["purpose"] == tr(purpose.name, lang)
        for subject in purpose.data_subjects:
            assert tr(manifest.data_subjects[subject].name, lang) in row["data_subjects"]
        for category in purpose.data_categories:
            assert tr(manifest.data_categories[category].name, lang) in row["data_categories"]
        for source in purpose.sources:
            assert tr(manifest.data_sources[source].name, lang) in row["sources"]
        # (d) recipients with their country
        for recipient in purpose.recipients:
            assert tr(manifest.recipients[recipient].name, lang) in row["recipients"]
        # (g) security
        for measure in manifest.security_measures.values():
            assert tr(measure.name, lang) in row["security"]
    accounting = rows["accounting"]
    assert {"fr": "10 ans", "en": "10 years"}[lang] in accounting["retention"]
    assert "L123-22" in accounting["retention"] and "L123-22" in accounting["legal_reference"]
    assert {"fr": "Obligation légale (art. 6.1.c RGPD)",
            "en": "Legal obligation (GDPR Art. 6(1)(c))"}[lang] == accounting["legal_basis"]
    assert {"fr": "France", "en": "France"}[lang] in accounting["recipients"]
    assert {"fr": "art. 6.1.a RGPD", "en": "GDPR Art. 6(1)(a)"}[lang] == rows["newsletter"]["legal_reference"]
    choice = {"fr": "choix de l’organisation", "en": "organisation’s choice"}[lang]
    assert choice in rows["newsletter"]["retention"] and choice not in accounting["retention"]
    analysis = rows["customer_analysis"]
    assert tr(manifest.purposes["customer_analysis"].legitimate_interest, lang) in analysis["legal_basis"]
    assert tr(manifest.purposes["customer_analysis"].automated_logic, lang) in analysis["automated"]
    assert rows["newsletter"]["automated"] == {"fr": "Non", "en": "No"}[lang]
    support = rows["technical_support"]["special_categories"]
    assert tr(manifest.data_categories["user.health_and_medical"].name, lang) in support
    assert {"fr": "art. 9.2.h RGPD", "en": "GDPR Art. 9(2)(h)"}[lang] in support
    assert rows["newsletter"]["special_categories"] == {"fr": "Aucune", "en": "None"}[lang]
    # Self-hosted Matomo is the controller itself: no recipient, unlike Meta's pixel.
    assert rows["audience_measurement"]["recipients"] == {"fr": "Services internes habilités uniquement",
                                                          "en": "Authorised internal staff only"}[lang]
    ads = rows["targeted_advertising"]["recipients"]
    assert "Meta Platforms Ireland Ltd" in ads and {"fr": "Irlande", "en": "Ireland"}[lang] in ads
    # (e) every recipient of the reference customer is in the EEA
    none = {"fr": "Aucun — tous les destinataires sont dans les pays autorisés",
            "en": "None — all recipients are in allowed countries"}[lang]
    assert all(row["transfers"].startswith(none) for row in rows.values())


def test_transfer_outside_the_eea_is_named_with_its_safeguards(manifest: Manifest) -> None:
    recipients = dict(manifest.recipients)
    recipients["crm_saas"] = Recipient(key="crm_saas", name={"*": "CloudCRM Inc."}, kind="processor",
                                       country="US", safeguards="Clauses contractuelles types (2021/914)")
    purposes = dict(manifest.purposes)
    purposes["newsletter"] = purposes["newsletter"].model_copy(update={"recipients": ["crm_saas"]})
    changed = manifest.model_copy(update={"recipients": recipients, "purposes": purposes})
    rows = by_reference(ropa_rows(changed, "fr"))
    assert rows["newsletter"]["transfers"] == "CloudCRM Inc. — États-Unis — Clauses contractuelles types (2021/914)"
    assert "CloudCRM Inc. (sous-traitant, États-Unis)" in rows["newsletter"]["recipients"]
    assert rows["accounting"]["transfers"].startswith("Aucun")


def test_csv_is_utf8_with_bom_and_a_header(manifest: Manifest) -> None:
    data = export_ropa(manifest, "csv", "fr")
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == [label for _, label in ropa_columns("fr")]
    assert len(table) == len(manifest.purposes) + 1
    assert [line[0] for line in table[1:]] == list(manifest.purposes)
    assert all(cell.strip() for line in table for cell in line)
    assert "Obligation légale (art. 6.1.c RGPD)" in data.decode("utf-8-sig")


def test_csv_cells_never_start_a_formula(manifest: Manifest) -> None:
    purposes = dict(manifest.purposes)
    purposes["training"] = purposes["training"].model_copy(
        update={"description": {"fr": '=HYPERLINK("http://evil")', "en": "=1+1"}})
    table = list(csv.reader(io.StringIO(export_ropa(manifest.model_copy(update={"purposes": purposes}), "csv",
                                                    "fr").decode("utf-8-sig"))))
    row = next(line for line in table if line[0] == "training")
    assert row[COLUMNS.index("description")] == '\'=HYPERLINK("http://evil")'


@pytest.mark.parametrize("lang", LANGS)
def test_xlsx_reads_back_with_formatting(manifest: Manifest, lang: str) -> None:
    workbook = load_workbook(io.BytesIO(export_ropa(manifest, "xlsx", lang)))
    sheet = workbook.active
    assert sheet is not None
    values = [[cell.value for cell in line] for line in sheet.iter_rows()]
    assert values[0] == [label for _, label in ropa_columns(lang)]
    assert len(values) == len(manifest.purposes) + 1
    assert [line[0] for line in values[1:]] == list(manifest.purposes)
    assert all(isinstance(v, str) and v.strip() for line in values for v in line)
    assert values[1:] == [list(row.values()) for row in ropa_rows(manifest, lang)]
    assert sheet.freeze_panes == "A2"
    last = get_column_letter(len(COLUMNS))
    assert sheet.auto_filter.ref == f"A1:{last}{len(manifest.purposes) + 1}"
    assert sheet["A1"].font.bold
    assert sheet["B2"].alignment.wrap_text
    widths = [sheet.column_dimensions[get_column_letter(i + 1)].width for i in range(len(COLUMNS))]
    assert all(12 <= (w or 0) <= 61 for w in widths), widths
    assert all(cell.data_type == "s" for line in sheet.iter_rows() for cell in line)


class _Table(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.lang: str | None = None
        self.scopes: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self.cell = []
        if tag == "th":
            self.scopes.append(dict(attrs).get("scope"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


@pytest.mark.parametrize("lang", LANGS)
def test_html_record(manifest: Manifest, lang: str) -> None:
    html = export_ropa(manifest, "html", lang).decode("utf-8")
    table = _Table()
    table.feed(html)
    assert table.lang == lang
    assert table.rows[0] == [label for _, label in ropa_columns(lang)]
    assert len(table.rows) == len(manifest.purposes) + 1
    assert table.rows[1:] == [list(row.values()) for row in ropa_rows(manifest, lang)]
    assert all(cell for line in table.rows for cell in line)
    assert set(table.scopes) == {"col", "row"}
    assert "<caption>" in html


def test_html_record_escapes_values(manifest: Manifest) -> None:
    controller = manifest.controller.model_copy(update={"name": "<script>x</script>",
                                                        "legal_name": "<img src=x onerror=alert(1)>"})
    html = export_ropa(manifest.model_copy(update={"controller": controller}), "html", "en").decode("utf-8")
    assert "<script>" not in html and "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_unknown_format_or_language_is_refused(manifest: Manifest) -> None:
    with pytest.raises(ValueError, match="format"):
        export_ropa(manifest, "pdf", "fr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="language"):
        ropa_rows(manifest, "de")
