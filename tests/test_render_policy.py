"""The confidentiality policy rendered from the reference manifest: every section of the seed, fr and en."""

from __future__ import annotations

import re
import string
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

import pytest

from charte.manifest import RIGHTS, Duration, Manifest, load_manifest, tr
from charte.manifest.models import PolicyVersion, Retention
from charte.render import render_policy
from charte.render.formatting import (
    format_date,
    format_duration,
    gdpr_article,
    legal_basis_label,
    retention_period,
)
from charte.render.locales import STRINGS

EXAMPLE = Path(__file__).parents[1] / "examples" / "equasens" / "charte.yaml"
LANGS = ("fr", "en")
FORMATS: tuple[Literal["html", "md"], ...] = ("html", "md")

#: Ids the web app and other documents link to; the seed's sections in reading order.
SECTION_IDS = ("introduction", "definitions", "principles", "rights", "data-collected", "purposes",
               "further-processing", "recipients", "security", "cookies", "dpo", "cnil", "changes")
SUBSECTION_IDS = ("controller", "exercise-rights", "purposes-table", "special-categories", "automated-decisions",
                  "transfers", "change-history")
SEED_TITLES = {
    "fr": ("Définitions", "Principes de protection des données personnelles", "Vos droits",
           "Les données que nous collectons", "Comment nous utilisons vos données personnelles",
           "Qui d’autre peut accéder à vos données ?", "Comment protégeons-nous vos données ?", "Cookies",
           "Délégué à la protection des données (DPO)", "Modifications de la politique de confidentialité"),
    "en": ("Definitions", "Personal data protection principles", "Rights of the data subject", "The data we collect",
           "How we use your personal data", "Who else can access your personal data?",
           "How do we protect your data?", "Cookies", "Data Protection Officer (DPO)",
           "Changes to the confidentiality policy"),
}
EVIL = "<script>alert('x')</script>"


class _Page(HTMLParser):
    """Visible text, ids, and open/close tag structure of an HTML document."""

    VOID = frozenset({"meta", "br", "img", "input", "link", "hr", "col", "wbr", "source", "area", "base"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.ids: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.headings: list[int] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.ids.append(attributes["id"] or "")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        self.in_style = tag == "style"
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.in_style = False
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self.in_style:
            self.text.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def plain(output: str, fmt: str) -> str:
    """The human-visible text of a rendering, whitespace normalised."""
    text = " ".join(parse(output).text) if fmt == "html" else re.sub(r"\\([\\`*_\[\]<>|#])", r"\1", output)
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(EXAMPLE)


@pytest.fixture(scope="module")
def renderings(manifest: Manifest) -> dict[tuple[str, str], str]:
    return {(lang, fmt): render_policy(manifest, lang, fmt) for lang in LANGS for fmt in FORMATS}


each = pytest.mark.parametrize(("lang", "fmt"), [(lang, fmt) for lang in LANGS for fmt in FORMATS])


@each
def test_every_section_of_the_seed_is_there_in_order(renderings: dict[tuple[str, str], str], lang: str,
                                                      fmt: str) -> None:
    output = renderings[lang, fmt]
    positions = [output.find(f'id="{sid}"') for sid in SECTION_IDS]
    assert -1 not in positions, [sid for sid, at in zip(SECTION_IDS, positions, strict=True) if at == -1]
    assert positions == sorted(positions)
    for sid in SUBSECTION_IDS:
        assert f'id="{sid}"' in output, sid
    text = plain(output, fmt)
    for title in SEED_TITLES[lang]:
        assert title in text, title
    other = "en" if lang == "fr" else "fr"
    assert SEED_TITLES[other][2] not in text, "sections must be in the requested language only"


@each
def test_all_eleven_rights_with_their_article_and_how_to_exercise_them(
        manifest: Manifest, renderings: dict[tuple[str, str], str], lang: str, fmt: str) -> None:
    output = renderings[lang, fmt]
    rights = output[output.index('id="rights"'):output.index('id="data-collected"')]
    text = plain(rights, fmt)
    assert len(RIGHTS) == 11
    positions = []
    for key in RIGHTS:
        right = manifest.rights[key]
        assert f'id="right-{key}"' in rights
        assert tr(right.name, lang) in text, key
        assert tr(right.description, lang) in text, key
        assert gdpr_article(right.article, lang) in text, key
        positions.append(rights.index(f'id="right-{key}"'))
    assert positions == sorted(positions), "rights keep the seed's order"
    assert "/requests/new" in rights
    assert manifest.dpo.email in text
    authority = manifest.supervisory_authority
    assert authority.complaint_url in text and authority.address in text
    assert ("un mois" if lang == "fr" else "one month") in text


@each
def test_last_modification_date_and_change_history(manifest: Manifest, renderings: dict[tuple[str, str], str],
                                                   lang: str, fmt: str) -> None:
    expected = {"fr": "22 janvier 2020", "en": "22 January 2020"}[lang]
    output = renderings[lang, fmt]
    changes = plain(output[output.index('id="changes"'):], fmt)
    assert expected in changes
    for version in manifest.policy.versions:
        assert tr(version.summary, lang) in changes


def test_last_modification_follows_the_newest_version(manifest: Manifest) -> None:
    newer = PolicyVersion(date=date(2024, 3, 1), summary={"fr": "Ajout du registre", "en": "Record added"})
    policy = manifest.policy.model_copy(update={"versions": [*manifest.policy.versions, newer]})
    changed = manifest.model_copy(update={"policy": policy})
    fr = plain(render_policy(changed, "fr", "html"), "html")
    assert "La dernière modification date du 1er mars 2024." in fr
    history = fr[fr.index("Historique des modifications"):]
    assert history.index("1er mars 2024") < history.index("22 janvier 2020")
    assert "Ajout du registre" in history
    assert "The last modification was made on 1 March 2024." in plain(render_policy(changed, "en", "md"), "md")


@each
def test_supervisory_authority_and_dpo_contacts(manifest: Manifest, renderings: dict[tuple[str, str], str],
                                                lang: str, fmt: str) -> None:
    output = renderings[lang, fmt]
    cnil = plain(output[output.index('id="cnil"'):output.index('id="changes"')], fmt)
    authority = manifest.supervisory_authority
    for value in (tr(authority.full_name, lang), authority.name, authority.address, authority.phone or "",
                  authority.url, authority.complaint_url):
        assert value in cnil, value
    dpo = plain(output[output.index('id="dpo"'):output.index('id="cnil"')], fmt)
    for value in (manifest.dpo.name or "", manifest.dpo.email, manifest.dpo.address or ""):
        assert value in dpo, value
    assert "/requests/new" in output[output.index('id="dpo"'):output.index('id="cnil"')]


@each
def test_cookies_with_services_providers_and_lifetimes(manifest: Manifest, renderings: dict[tuple[str, str], str],
                                                       lang: str, fmt: str) -> None:
    output = renderings[lang, fmt]
    section = output[output.index('id="cookies"'):output.index('id="dpo"')]
    text = plain(section, fmt)
    assert "Matomo" in text and "Pixel Facebook" in text and "Meta Platforms Ireland Ltd" in text
    assert {"fr": "_pk_ses (30 minutes)", "en": "_pk_ses (30 minutes)"}[lang] in text
    assert {"fr": "_pk_id (13 mois)", "en": "_pk_id (13 months)"}[lang] in text
    assert {"fr": "_fbp (90 jours)", "en": "_fbp (90 days)"}[lang] in text
    assert {"fr": "Irlande", "en": "Ireland"}[lang] in text
    for key, category in manifest.cookies.categories.items():
        assert f'id="cookies-{key}"' in section
        assert tr(category.name, lang) in text
    assert "/preferences" in section
    assert {"fr": "choix 6 mois", "en": "choice for 6 months"}[lang] in text


@each
def test_every_purpose_with_basis_and_retention(manifest: Manifest, renderings: dict[tuple[str, str], str],
                                                lang: str, fmt: str) -> None:
    output = renderings[lang, fmt]
    text = plain(output, fmt)
    for key, purpose in manifest.purposes.items():
        assert tr(purpose.name, lang) in text, key
        assert tr(purpose.description, lang) in text, key
        assert f'id="purpose-{key}"' in output, key
    # Each purpose sits under the heading of its own legal basis.
    headings = {b: output.index(f'id="basis-{b.replace("_", "-")}"') for b in
                ("contract", "legitimate_interest", "consent", "legal_obligation")}
    bounds = [*sorted(headings.values()), output.index('id="purposes-table"')]
    for key, purpose in manifest.purposes.items():
        assert purpose.legal_basis is not None
        start = headings[purpose.legal_basis]
        end = bounds[bounds.index(start) + 1]
        assert start < output.index(f'id="purpose-{key}"') < end, key


def _table_rows(output: str, fmt: str, manifest: Manifest, lang: str) -> dict[str, str]:
    """The purposes table's row text, by purpose key."""
    if fmt == "html":
        rows = {key: re.search(rf'<tr id="row-{key}">(.*?)</tr>', output, re.S) for key in manifest.purposes}
        return {key: plain(row.group(1), "html") if row else "" for key, row in rows.items()}
    table = output[output.index('id="purposes-table"'):]
    return {key: next(plain(line, "md") for line in table.splitlines()
                      if line.startswith(f"| **{tr(p.name, lang)}** |"))
            for key, p in manifest.purposes.items()}


@each
def test_purposes_table_retention_in_words(manifest: Manifest, renderings: dict[tuple[str, str], str],
                                           lang: str, fmt: str) -> None:
    rows = _table_rows(renderings[lang, fmt], fmt, manifest, lang)
    assert len(rows) == len(manifest.purposes)
    accounting = rows["accounting"]
    assert {"fr": "10 ans à compter de la clôture de l’exercice comptable",
            "en": "10 years from the end of the financial year"}[lang] in accounting
    assert "L123-22" in accounting
    assert {"fr": "Obligation légale (art. 6.1.c RGPD)",
            "en": "Legal obligation (GDPR Art. 6(1)(c))"}[lang] in accounting
    assert {"fr": "3 ans à compter du dernier contact", "en": "3 years from last contact"}[lang] in rows["newsletter"]
    assert {"fr": "25 mois", "en": "25 months"}[lang] in rows["audience_measurement"]
    choice = {"fr": "choix de l’organisation", "en": "organisation’s choice"}[lang]
    for key, purpose in manifest.purposes.items():
        assert purpose.retention is not None
        assert (choice in rows[key].lower()) == purpose.retention.organisation_choice, key
        for recipient in purpose.recipients:
            assert tr(manifest.recipients[recipient].name, lang) in rows[key], (key, recipient)
    assert "Meta Platforms Ireland Ltd" in rows["targeted_advertising"]
    assert {"fr": "catégorie particulière", "en": "special category"}[lang] in rows["technical_support"]


@each
def test_legal_bases_objection_withdrawal_and_profiling(manifest: Manifest, renderings: dict[tuple[str, str], str],
                                                        lang: str, fmt: str) -> None:
    output = renderings[lang, fmt]
    text = plain(output, fmt)
    for purpose in manifest.purposes_by_basis("legitimate_interest"):
        assert tr(purpose.legitimate_interest, lang) in text
    assert {"fr": "Vous pouvez vous opposer à tout moment à ces traitements",
            "en": "You may object to this processing at any time"}[lang] in text
    assert {"fr": "Vous pouvez retirer votre consentement à tout moment",
            "en": "You may withdraw your consent at any time"}[lang] in text
    consent = output[output.index('id="basis-consent"'):output.index('id="basis-legal-obligation"')]
    assert "/preferences" in consent and "/requests/new" in consent
    automated = plain(output[output.index('id="automated-decisions"'):output.index('id="further-processing"')], fmt)
    profiled = [p for p in manifest.purposes.values() if p.profiling or p.automated_decision]
    assert profiled
    for purpose in profiled:
        assert tr(purpose.name, lang) in automated
        assert tr(purpose.automated_logic, lang) in automated
    special = plain(output[output.index('id="special-categories"'):output.index('id="automated-decisions"')], fmt)
    assert tr(manifest.data_categories["user.health_and_medical"].name, lang) in special
    assert {"fr": "art. 9.2.h RGPD", "en": "GDPR Art. 9(2)(h)"}[lang] in special


@each
def test_further_processing_recipients_and_security(manifest: Manifest, renderings: dict[tuple[str, str], str],
                                                    lang: str, fmt: str) -> None:
    output = renderings[lang, fmt]
    further = plain(output[output.index('id="further-processing"'):output.index('id="recipients"')], fmt)
    assert {"fr": "anonymiser", "en": "anonymise"}[lang] in further
    assert {"fr": "article 6.4 du RGPD", "en": "Article 6(4) GDPR"}[lang] in further
    assert "L123-22" in further
    assert further.count({"fr": "que ", "en": "the "}[lang]) >= 3
    recipients = plain(output[output.index('id="recipients"'):output.index('id="security"')], fmt)
    for recipient in manifest.recipients.values():
        assert tr(recipient.name, lang) in recipients
    assert tr(manifest.transfers.statement, lang) in recipients
    assert {"fr": "Espace économique européen (EEE)", "en": "European Economic Area (EEA)"}[lang] in recipients
    security = plain(output[output.index('id="security"'):output.index('id="cookies"')], fmt)
    for measure in manifest.security_measures.values():
        assert tr(measure.name, lang) in security
    assert {"fr": "72 heures", "en": "72 hours"}[lang] in security
    assert {"fr": "mot de passe confidentiels", "en": "password confidential"}[lang] in security


@each
def test_data_we_collect_by_source_kind(manifest: Manifest, renderings: dict[tuple[str, str], str], lang: str,
                                        fmt: str) -> None:
    output = renderings[lang, fmt]
    section = output[output.index('id="data-collected"'):output.index('id="purposes"')]
    kinds = ("provided", "collected-automatically", "partners", "publicly-available")
    positions = [section.index(f'id="source-{kind}"') for kind in kinds]
    assert positions == sorted(positions)
    text = plain(section, fmt)
    for source in manifest.data_sources.values():
        assert tr(source.description, lang) in text
    assert tr(manifest.data_categories["user.device.ip_address"].name, lang) in text


def _hostile(manifest: Manifest) -> Manifest:
    """The reference manifest with markup and a javascript: link where names and URLs go."""
    controller = manifest.controller.model_copy(update={
        "name": EVIL, "contact": manifest.controller.contact.model_copy(update={"url": "javascript:alert(1)"}),
    })
    purposes = dict(manifest.purposes)
    purposes["newsletter"] = purposes["newsletter"].model_copy(
        update={"name": {"fr": f"Lettres {EVIL}", "en": f"Newsletters {EVIL}"}})
    return manifest.model_copy(update={"controller": controller, "purposes": purposes})


@pytest.mark.parametrize("lang", LANGS)
def test_html_escapes_manifest_values(manifest: Manifest, lang: str) -> None:
    html = render_policy(_hostile(manifest), lang, "html")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    assert f"Lettres {EVIL}" in plain(html, "html") or f"Newsletters {EVIL}" in plain(html, "html")


@pytest.mark.parametrize("lang", LANGS)
def test_markdown_neutralises_manifest_markup(manifest: Manifest, lang: str) -> None:
    md = render_policy(_hostile(manifest), lang, "md")
    assert "<script>" not in md
    assert r"\<script\>" in md
    assert "(javascript:" not in md
    # A value with a pipe must not split a table cell.
    purposes = dict(manifest.purposes)
    purposes["training"] = purposes["training"].model_copy(update={"name": {"fr": "A | B", "en": "A | B"}})
    table = render_policy(manifest.model_copy(update={"purposes": purposes}), lang, "md")
    row = next(line for line in table.splitlines() if line.startswith("| **A"))
    assert row.count(" | ") - row.count(r"\|") == 4


@pytest.mark.parametrize("lang", LANGS)
def test_standalone_document_and_embeddable_fragment(manifest: Manifest, lang: str) -> None:
    full = render_policy(manifest, lang, "html")
    assert full.startswith("<!DOCTYPE html>")
    assert f'<html lang="{lang}">' in full and "<title>" in full and "<style>" in full
    fragment = render_policy(manifest, lang, "html", standalone=False)
    assert fragment.lstrip().startswith('<main id="policy"') and fragment.rstrip().endswith("</main>")
    assert "<html" not in fragment and "<style" not in fragment and "<title" not in fragment
    assert f'lang="{lang}"' in fragment
    assert fragment.strip() in full


@pytest.mark.parametrize("lang", LANGS)
def test_html_is_well_formed_and_accessible(manifest: Manifest, lang: str) -> None:
    page = parse(render_policy(manifest, lang, "html"))
    assert not page.errors and not page.stack, (page.errors, page.stack)
    assert len(page.ids) == len(set(page.ids)), "ids are unique"
    assert page.headings.count(1) == 1 and page.headings[0] == 1
    assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False)), "no skipped level"
    tables = [a for tag, a in page.tags if tag == "table"]
    captions = [a for tag, a in page.tags if tag == "caption"]
    assert tables and len(captions) == len(tables)
    assert all(a.get("scope") in ("col", "row") for tag, a in page.tags if tag == "th")
    hrefs = [a.get("href") or "" for tag, a in page.tags if tag == "a"]
    internal = {href[1:] for href in hrefs if href.startswith("#")}
    assert internal <= set(page.ids), internal - set(page.ids)


def test_unknown_language_or_format_is_refused(manifest: Manifest) -> None:
    with pytest.raises(ValueError, match="language"):
        render_policy(manifest, "de", "html")
    with pytest.raises(ValueError, match="format"):
        render_policy(manifest, "fr", "pdf")  # type: ignore[arg-type]
    french_only = manifest.model_copy(update={"languages": ["fr"]})
    with pytest.raises(ValueError, match="does not offer"):
        render_policy(french_only, "en", "html")


@pytest.mark.parametrize(("iso", "fr", "en"), [
    ("P3Y", "3 ans", "3 years"), ("P1Y", "1 an", "1 year"), ("P13M", "13 mois", "13 months"),
    ("P1M", "1 mois", "1 month"), ("PT30M", "30 minutes", "30 minutes"), ("P90D", "90 jours", "90 days"),
    ("PT12H", "12 heures", "12 hours"), ("P1Y6M", "1 an et 6 mois", "1 year and 6 months"),
    ("P2W", "14 jours", "14 days"), ("P1DT1H1M", "1 jour, 1 heure et 1 minute", "1 day, 1 hour and 1 minute"),
])
def test_durations_in_words(iso: str, fr: str, en: str) -> None:
    assert format_duration(Duration.parse(iso), "fr") == fr
    assert format_duration(Duration.parse(iso), "en") == en


def test_dates_bases_and_retention_in_words() -> None:
    assert format_date(date(2020, 1, 22), "fr") == "22 janvier 2020"
    assert format_date(date(2020, 1, 22), "en") == "22 January 2020"
    assert format_date(date(2021, 8, 1), "fr") == "1er août 2021"
    assert format_date(date(2021, 12, 1), "en") == "1 December 2021"
    assert legal_basis_label("contract", "fr") == "Contrat (art. 6.1.b RGPD)"
    assert legal_basis_label("legitimate_interest", "en") == "Legitimate interest (GDPR Art. 6(1)(f))"
    retention = Retention(period=Duration.parse("P3Y"), start="last_contact")
    assert retention_period(retention, "fr") == "3 ans à compter du dernier contact"
    assert retention_period(retention, "en") == "3 years from last contact"
    with pytest.raises(ValueError):
        format_date(date(2020, 1, 22), "de")


def test_locales_have_both_languages_with_the_same_placeholders() -> None:
    fields = string.Formatter()
    for key, texts in STRINGS.items():
        assert set(texts) == {"fr", "en"} and all(texts.values()), key
        names = [{f for _, f, _, _ in fields.parse(texts[lang]) if f} for lang in ("fr", "en")]
        assert names[0] == names[1], key
        assert "'" not in texts["fr"], f"{key}: French text uses the typographic apostrophe"
