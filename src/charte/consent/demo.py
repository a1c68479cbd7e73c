"""A year of realistic consent history for the demo workspace (banner choices, sign-ups, withdrawals, objections)."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from charte.consent.notices import Notice
from charte.consent.recording import (
    Choice,
    Collection,
    link_visitor,
    object_to,
    record_choices,
    record_cookie_choices,
    unsubscribe,
    withdraw,
)
from charte.consent.request_meta import RequestMeta
from charte.consent.subjects import SubjectKey, new_consent_id, parse_subject
from charte.consent.vocabulary import CollectionMethod, Decision, Scope, as_utc
from charte.ledger.chain import Clock, utcnow
from charte.manifest import Manifest
from charte.store.consent import ConsentSubject

_BROWSERS = ("Firefox 128", "Chrome 126", "Safari 17", "Edge 126", "Chrome 125", "Samsung Internet 25")
_FIRST = ("Camille", "Léa", "Hugo", "Louis", "Chloé", "Manon", "Jules", "Inès", "Lucas", "Zoé", "Arthur", "Emma",
          "Nathan", "Sarah", "Paul", "Anaïs", "Théo", "Claire", "Yanis", "Margaux")
_LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
         "Simon", "Laurent", "Lefèbvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier")


@dataclass(frozen=True)
class DemoConsents:
    """What was seeded."""

    visitors: int
    identified: int
    actions: int


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _fixed(moment: datetime) -> datetime:
    return moment


def seed_demo_consents(session: Session, manifest: Manifest, *, clock: Clock = utcnow, visitors: int = 240,
                       identified: int = 40, seed: int = 2020, banner: Notice | None = None) -> DemoConsents:
    """Record a year of plausible decisions up to ``clock()`` through the real recording functions.

    ``banner`` is the banner notice the visitors saw (by default the one this manifest's banner shows). A store
    that already holds consent data is left as it is (a refreshed demo keeps its history).
    """
    if session.scalar(select(ConsentSubject.id).limit(1)) is not None:
        return DemoConsents(0, 0, 0)
    if banner is None:
        from charte.web.banner import build_banner  # the banner's content is the web layer's to build

        banner = build_banner(manifest).notice
    rng = random.Random(seed)  # noqa: S311 - made-up demo data, not secrets
    end = as_utc(clock())
    start = end - timedelta(days=365)
    actions: list[tuple[datetime, Callable[..., object]]] = []

    def at(moment: datetime, action: Callable[..., object]) -> None:
        actions.append((min(moment, end), action))

    def when() -> datetime:
        return start + timedelta(seconds=rng.uniform(0, 365 * 86400))

    def meta() -> RequestMeta:
        return RequestMeta("192.0.2.0/24" if rng.random() < .5 else "2001:db8:1200::/48", rng.choice(_BROWSERS))

    optional = [k for k, c in manifest.cookies.categories.items() if not c.required]
    lang = manifest.default_language
    cookie_ids: list[str] = []
    for _ in range(visitors):
        consent_id, moment, request = new_consent_id(), when(), meta()
        cookie_ids.append(consent_id)
        roll = rng.random()
        if roll < .42:
            choices = dict.fromkeys(optional, True)
        elif roll < .78:
            choices = dict.fromkeys(optional, False)
        else:
            odds = {"functional": .5, "analytics": .6, "advertising": .15}
            choices = {k: rng.random() < odds.get(k, .4) for k in optional}
        gpc = rng.random() < .07
        banner_collection = Collection(CollectionMethod.banner, "visitor", notice=banner, lang=lang, request=request)
        at(moment, partial(record_cookie_choices, session, manifest, consent_id, choices, banner_collection, gpc=gpc))
        if choices.get("analytics") and rng.random() < .12:
            later = moment + timedelta(days=rng.uniform(1, 90))
            prefs = Collection(CollectionMethod.preferences, "visitor", notice=banner, lang=lang, request=request)
            at(later, partial(record_cookie_choices, session, manifest, consent_id, {"analytics": False}, prefs))

    consent_purposes = [p for p in ("newsletter", "campaign_offers", "training") if p in manifest.purposes]
    objectable = [p for p in ("satisfaction_surveys", "customer_analysis") if p in manifest.purposes]
    people: list[SubjectKey] = []
    for n in range(identified):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        people.append(parse_subject(f"email:{_ascii(first)}.{_ascii(last)}{n}@example.org"))
    odds = {"newsletter": .65, "campaign_offers": .35, "training": .2}
    for person in people:
        moment = when()
        signup = Collection(CollectionMethod.api, "api:website", notice_version="signup-form-2020", lang=lang,
                            request=meta())
        wanted = [Choice(Scope.purpose, p, Decision.given if rng.random() < odds[p] else Decision.refused)
                  for p in consent_purposes]
        at(moment, partial(record_choices, session, manifest, person, wanted, signup))
        if any(w.key == "newsletter" and w.decision is Decision.given for w in wanted) and rng.random() < .18:
            email = Collection(CollectionMethod.email_link, "subject", lang=lang, request=meta())
            at(moment + timedelta(days=rng.uniform(20, 200)),
               partial(unsubscribe, session, manifest, person, "newsletter", email))
        for purpose in objectable:
            if rng.random() < .1:
                prefs = Collection(CollectionMethod.preferences, "subject", lang=lang, request=meta())
                at(moment + timedelta(days=rng.uniform(1, 120)),
                   partial(object_to, session, manifest, person, purpose, prefs))
        if rng.random() < .05 and "campaign_offers" in consent_purposes:
            prefs = Collection(CollectionMethod.preferences, "subject", lang=lang, request=meta())
            at(moment + timedelta(days=rng.uniform(1, 60)),
               partial(withdraw, session, manifest, person, "campaign_offers", prefs))
    for person, consent_id in zip(people[: max(1, identified // 4)], cookie_ids, strict=False):
        at(when(), partial(link_visitor, session, manifest, consent_id, person, actor="api:website"))

    actions.sort(key=lambda item: item[0])
    for moment, action in actions:
        action(clock=partial(_fixed, moment))
    return DemoConsents(visitors, identified, len(actions))

