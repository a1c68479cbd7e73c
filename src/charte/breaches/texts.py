"""Words and short sentences of the breach documents, register export and pages, in French and English."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from charte.breaches.clock import split_duration
from charte.render.formatting import format_date, language
from charte.render.locales import Lang

#: Wall-clock times in documents and pages are given in the controller's zone, with its name.
DEFAULT_TIMEZONE: Final = "Europe/Paris"

# Each entry keeps both translations side by side so a change to one is seen next to the other.
LABELS: Final[dict[str, dict[Lang, str]]] = {
    "nature.confidentiality": {"fr": "Confidentialité (divulgation ou accès non autorisé)",
                               "en": "Confidentiality (unauthorised disclosure or access)"},
    "nature.integrity": {"fr": "Intégrité (altération non autorisée)", "en": "Integrity (unauthorised alteration)"},
    "nature.availability": {"fr": "Disponibilité (perte d'accès ou destruction)",
                            "en": "Availability (loss of access or destruction)"},
    "risk.none": {"fr": "Risque improbable pour les personnes", "en": "Unlikely to result in a risk"},
    "risk.risk": {"fr": "Risque pour les personnes", "en": "Risk to people"},
    "risk.high": {"fr": "Risque élevé pour les personnes", "en": "High risk to people"},
    "exception.a": {
        "fr": "art. 34.3.a : données rendues incompréhensibles (par exemple chiffrées) pour toute personne non "
              "autorisée",
        "en": "Art. 34(3)(a): data rendered unintelligible (e.g. encrypted) to anyone not authorised",
    },
    "exception.b": {
        "fr": "art. 34.3.b : mesures ultérieures garantissant que le risque élevé n'est plus susceptible de se "
              "matérialiser",
        "en": "Art. 34(3)(b): subsequent measures ensure the high risk is no longer likely to materialise",
    },
    "exception.c": {
        "fr": "art. 34.3.c : efforts disproportionnés, remplacés par une communication publique",
        "en": "Art. 34(3)(c): disproportionate effort, replaced by a public communication",
    },
    "status.not_required": {"fr": "Notification non requise", "en": "Notification not required"},
    "status.awaiting": {"fr": "Notification à faire", "en": "Notification due"},
    "status.late": {"fr": "Notification en retard", "en": "Notification late"},
    "status.notified": {"fr": "Notifiée", "en": "Notified"},
    "status.notified_late": {"fr": "Notifiée en retard", "en": "Notified late"},
    "phase.initial": {"fr": "Notification initiale", "en": "Initial notification"},
    "phase.complementary": {"fr": "Notification complémentaire", "en": "Complementary notification"},
    "channel.email": {"fr": "Courriel à chaque personne", "en": "Email to each person"},
    "channel.letter": {"fr": "Courrier à chaque personne", "en": "Letter to each person"},
    "channel.public": {"fr": "Communication publique (art. 34.3.c)", "en": "Public communication (Art. 34(3)(c))"},
    "counts.declared": {"fr": "estimation déclarée", "en": "declared estimate"},
    "counts.counted": {"fr": "lignes comptées dans les systèmes", "en": "rows counted in the systems"},
    "decision.communicate": {"fr": "Communication aux personnes concernées requise (art. 34.1)",
                             "en": "Communication to the people concerned required (Art. 34(1))"},
    "decision.exception": {"fr": "Pas de communication individuelle : {exception}",
                           "en": "No individual communication: {exception}"},
    "decision.not_high": {"fr": "Pas de communication requise : le risque n'est pas élevé",
                          "en": "No communication required: the risk is not high"},
    "time.left": {"fr": "{hours} h {minutes:02d} min restantes", "en": "{hours} h {minutes:02d} min left"},
    "time.late": {"fr": "en retard de {hours} h {minutes:02d} min", "en": "{hours} h {minutes:02d} min late"},
    "at": {"fr": "{date} à {time}", "en": "{date} at {time}"},
    "zone": {"fr": "heure de Paris", "en": "Paris time"},
    "unknown": {"fr": "inconnu", "en": "unknown"},
    "to_complete": {"fr": "À compléter (information fournie ultérieurement, art. 33.4)",
                    "en": "To be completed (information provided later, Art. 33(4))"},
    "none": {"fr": "Aucun", "en": "None"},
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "non", "en": "no"},
}


def label(key: str, lang: str, **values: object) -> str:
    """The label ``key`` in ``lang``, placeholders filled."""
    template = LABELS[key][language(lang)]
    return template.format(**values) if values else template


def local_time(instant: datetime, zone: str = DEFAULT_TIMEZONE) -> datetime:
    """An instant as wall-clock time in ``zone``."""
    return instant.astimezone(ZoneInfo(zone))


def format_instant(instant: datetime | None, lang: str, zone: str = DEFAULT_TIMEZONE) -> str:
    """"27 novembre 2026 à 14:05" / "27 November 2026 at 14:05", in the controller's zone; empty for None."""
    if instant is None:
        return ""
    local = local_time(instant, zone)
    return label("at", lang, date=format_date(local.date(), lang), time=local.strftime("%H:%M"))


def format_time_left(left: timedelta, lang: str) -> str:
    """"47 h 05 min restantes" or "en retard de 3 h 10 min"."""
    hours, minutes = split_duration(left)
    return label("time.left" if left >= timedelta(0) else "time.late", lang, hours=hours, minutes=minutes)


def art34_decision(risk: str, exception: str | None, lang: str) -> str:
    """The Art. 34 decision in one sentence."""
    if risk != "high":
        return label("decision.not_high", lang)
    if exception:
        return label("decision.exception", lang, exception=label(f"exception.{exception}", lang))
    return label("decision.communicate", lang)


class InvalidInstant(ValueError):
    """A date and time that cannot be read."""


def parse_instant(text: str, zone: str = DEFAULT_TIMEZONE) -> datetime:
    """An ISO 8601 date and time; without an offset it is wall-clock time in ``zone`` (as forms send it)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInstant(f"{text!r} is not a date and time (YYYY-MM-DDTHH:MM)") from None
    return value.replace(tzinfo=ZoneInfo(zone)) if value.tzinfo is None else value


def form_instant(instant: datetime | None, zone: str = DEFAULT_TIMEZONE) -> str:
    """An instant as an ``<input type="datetime-local">`` value in ``zone``."""
    return local_time(instant, zone).strftime("%Y-%m-%dT%H:%M") if instant else ""
