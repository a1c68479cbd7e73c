"""The breach documents: the CNIL draft (every Art. 33(3) item), the Art. 34 letter, the register export."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from charte.breaches import (
    Breach,
    LetterIncomplete,
    SubjectCommunicationNotRequired,
    export_register,
    register_columns,
    render_cnil_draft,
    render_subject_letter,
    subject_communication_required,
)
from charte.breaches.facts import BreachFacts
from charte.breaches.register import Notification, Version
from charte.manifest import tr

from .breach_support import AWARE, at, example_manifest, facts

MANIFEST = example_manifest()


def breach(f: BreachFacts | None = None, *, notifications: tuple[Notification, ...] = ()) -> Breach:
    f = f or facts()
    return Breach(7, at(1), "test", (Version(1, at(1), "test", None, f.digest(), f),), notifications)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def section(html: str, element_id: str) -> str:
    """Text of the element with this id up to the next heading of the same document."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)(?=<h2|</main>)', html, re.DOTALL)
    assert match, f"no element #{element_id}"
    return text_of(match.group(1))


# --- the notification to the CNIL ----------------------------------------------------------------------------------


def test_cnil_draft_contains_every_item_of_article_33_3() -> None:
    html = render_cnil_draft(breach(), MANIFEST, at=at(20))
    everything = text_of(html)
    # (a) the nature, with the categories and approximate numbers of people and records
    nature = section(html, "nature")
    assert "Confidentialité (divulgation ou accès non autorisé)" in nature
    assert facts().description in nature and "Outgoing mail" in nature
    for key in facts().data_categories:
        assert tr(MANIFEST.data_categories[key].name, "fr") in nature
    assert "Données de santé présentes dans les demandes d'assistance — donnée sensible (art. 9 RGPD)" in nature
    assert tr(MANIFEST.data_subjects["customers"].name, "fr") in nature
    assert "Personnes concernées environ 1 234" in nature  # grouped with a narrow no-break space
    assert "Enregistrements concernés environ 5 678" in nature and "1\u202f234" in html
    # (b) the name and contact details of the DPO, from the manifest
    dpo = section(html, "dpo")
    assert MANIFEST.dpo.name and MANIFEST.dpo.name in dpo and MANIFEST.dpo.email in dpo
    assert "art. 33.3.b RGPD" in dpo
    # (c) the likely consequences
    consequences = section(html, "consequences")
    assert facts().consequences in consequences and "Risque élevé pour les personnes" in consequences
    # (d) the measures taken or proposed
    measures = section(html, "measures")
    assert facts().measures_taken in measures and facts().measures_planned in measures
    # the frame: phase, controller, timeline, Art. 34 decision; no reasons for delay when in time
    assert section(html, "phase").startswith("Type de notification (art. 33.4 RGPD) Phase Notification initiale")
    assert MANIFEST.controller.address in section(html, "controller")
    assert "1er mars 2026 à 21:00" not in everything
    assert "2 mars 2026 à 10:00" in section(html, "timeline")  # awareness, Paris time
    assert "5 mars 2026 à 10:00" in section(html, "timeline")  # the 72-hour deadline
    assert "Communication aux personnes concernées requise (art. 34.1)" in section(html, "communication")
    assert "Motifs du retard" not in everything
    assert "À compléter" not in everything


def test_late_draft_carries_the_reasons_for_delay() -> None:
    late = render_cnil_draft(breach(), MANIFEST, at=at(80), delay_reasons="Le prestataire n'a confirmé que jeudi.")
    assert "Motifs du retard (art. 33.1 RGPD)" in text_of(late)
    assert "Le prestataire n'a confirmé que jeudi." in text_of(late)
    missing = render_cnil_draft(breach(), MANIFEST, at=at(80))
    assert "Motifs du retard" in text_of(missing) and "À compléter" in section(missing, "timeline")


def test_unknown_items_are_marked_to_be_completed_as_article_33_4_allows() -> None:
    sparse = facts(consequences="", measures_planned="", subjects_count=None, records_count=None, data_subjects=())
    html = render_cnil_draft(breach(sparse), MANIFEST, at=at(5))
    assert "À compléter" in section(html, "consequences")
    assert "À compléter" in section(html, "measures")
    assert "Personnes concernées À compléter" in section(html, "nature")


def test_complementary_draft_refers_to_the_initial_notification() -> None:
    initial = Notification("initial", at(30), at(30), "t", 1, "CNIL-2026-42", False, None, "0" * 64)
    html = render_cnil_draft(breach(notifications=(initial,)), MANIFEST, at=at(100))
    phase = section(html, "phase")
    assert "Notification complémentaire" in phase and "CNIL-2026-42" in phase
    assert "Motifs du retard" not in text_of(html)  # the initial one was in time


def test_free_text_is_escaped_in_documents() -> None:
    hostile = facts(description='<script>alert("x")</script>', title="<b>bold</b>")
    html = render_cnil_draft(breach(hostile), MANIFEST, at=at(5))
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    letter = render_subject_letter(breach(hostile), MANIFEST, "fr")
    assert "<script>alert" not in letter and "&lt;script&gt;" in letter


# --- the communication to people (Art. 34) ---------------------------------------------------------------------


@pytest.mark.parametrize(("risk", "exception", "required"), [
    ("none", None, False), ("risk", None, False), ("high", None, True),
    ("high", "a", False), ("high", "b", False), ("high", "c", False),
])
def test_the_letter_only_for_a_high_risk_without_exception(risk: str, exception: str | None, required: bool) -> None:
    f = facts(risk=risk, art34_exception=exception, art34_reasoning="justified" if exception else "")
    assert subject_communication_required(f.risk, f.art34_exception) is required
    for lang in ("fr", "en"):
        if required:
            assert render_subject_letter(breach(f), MANIFEST, lang)
        else:
            with pytest.raises(SubjectCommunicationNotRequired):
                render_subject_letter(breach(f), MANIFEST, lang)


@pytest.mark.parametrize(("lang", "expected"), [
    ("fr", ["Madame, Monsieur,", "Des personnes qui n'auraient pas dû y avoir accès",
            "Nous l'avons découvert le 2 mars 2026 à 10:00", "Nom et prénom",
            "Ce que cela peut entraîner pour vous", "Vous pouvez contacter notre délégué à la protection des données",
            "réclamation auprès de la CNIL", "Référence de l'incident à rappeler : BR-0007"]),
    ("en", ["Dear Sir or Madam,", "People who should not have had access may have seen or copied",
            "We found out on 2 March 2026 at 10:00", "Name", "What this may mean for you",
            "You can contact our data protection officer", "lodge a complaint with the CNIL",
            "Incident reference to quote: BR-0007"]),
])
def test_the_letter_in_plain_language_has_every_article_34_2_item(lang: str, expected: list[str]) -> None:
    text = render_subject_letter(breach(), MANIFEST, lang, "text")
    for phrase in [*expected, MANIFEST.dpo.email, facts().consequences, facts().measures_taken,
                   facts().measures_planned, facts().subject_advice]:
        assert phrase in text, phrase
    html = render_subject_letter(breach(), MANIFEST, lang, "html")
    assert f'<html lang="{lang}">' in html and "<h2>" in html and "<ul>" in html
    assert html.count("<h1>") == 1


def test_the_english_letter_uses_the_translations_when_given() -> None:
    french = facts(consequences="Hameçonnage ciblé.", text_language="fr",
                   translations={"en": {"consequences": "Targeted phishing."}})
    assert "Targeted phishing." in render_subject_letter(breach(french), MANIFEST, "en", "text")
    assert "Hameçonnage ciblé." in render_subject_letter(breach(french), MANIFEST, "fr", "text")


def test_a_letter_without_consequences_or_measures_is_refused() -> None:
    with pytest.raises(LetterIncomplete, match="likely consequences"):
        render_subject_letter(breach(facts(consequences=" ")), MANIFEST, "fr")
    with pytest.raises(LetterIncomplete, match="measures"):
        render_subject_letter(breach(facts(measures_taken="", measures_planned="")), MANIFEST, "en")


# --- the register export -----------------------------------------------------------------------------------------


def test_csv_export_has_one_row_per_breach_with_every_column() -> None:
    late = Notification("initial", at(80), at(80), "t", 1, None, True, "Week-end.", "0" * 64)
    rows = [breach(), replace(breach(facts(title="=HYPERLINK(\"evil\")")), id=8, notifications=(late,))]
    data = export_register(rows, MANIFEST, "csv", "en", at(90))
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == [label for _, label in register_columns("en")]
    header = table[0]
    first = dict(zip(header, table[1], strict=True))
    second = dict(zip(header, table[2], strict=True))
    assert first["No."] == "BR-0007" and first["Status"] == "Notification late"
    assert first["Approximate number of people"] == "1234" and first["Special categories (Art. 9)"]
    assert first["72-hour deadline"] == "5 March 2026 at 10:00"
    assert second["Title"].startswith("'=")  # never a formula in a spreadsheet
    assert second["Late"] == "yes" and second["Reasons for delay"] == "Week-end."


def test_xlsx_export_reads_back() -> None:
    data = export_register([breach()], MANIFEST, "xlsx", "fr", at(10))
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "N°" and values[1][0] == "BR-0007"
    assert values[1][values[0].index("Nombre approximatif d'enregistrements")] == "5678"
    assert values[1][values[0].index("Prise de connaissance")] == "2 mars 2026 à 10:00"


def test_unknown_export_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown register format"):
        export_register([], MANIFEST, "pdf", "fr", AWARE)  # type: ignore[arg-type]
