"""What the cookie banner asks: categories, services and their cookies from the manifest, and for how long."""

from __future__ import annotations

from dataclasses import dataclass

from charte.consent.vocabulary import GPC_REFUSED_CATEGORIES
from charte.manifest import Manifest, tr

#: The first-party cookie in which the banner keeps the visitor's consent id and choices.
CONSENT_COOKIE = "charte_consent"


@dataclass(frozen=True)
class BannerService:
    """A service of a category, as the banner lists it."""

    name: str
    provider: str
    description: dict[str, str]
    cookies: tuple[str, ...]


@dataclass(frozen=True)
class BannerCategory:
    """A cookie category, as the banner asks about it."""

    key: str
    required: bool
    name: dict[str, str]
    description: dict[str, str]
    services: tuple[BannerService, ...]


def banner_categories(manifest: Manifest) -> list[BannerCategory]:
    """The manifest's cookie categories with texts in each of its languages, in manifest order."""
    languages = manifest.languages

    def texts(text: dict[str, str] | None) -> dict[str, str]:
        return {lang: tr(text, lang) for lang in languages}

    return [
        BannerCategory(
            key=category.key, required=category.required, name=texts(category.name),
            description=texts(category.description),
            services=tuple(BannerService(service.name, service.provider, texts(service.description),
                                         tuple(cookie.name for cookie in service.cookies))
                           for service in category.services.values()),
        )
        for category in manifest.cookies.categories.values()
    ]


def gpc_refused_categories(manifest: Manifest) -> list[str]:
    """The optional categories a Global Privacy Control signal refuses under this manifest."""
    categories = manifest.cookies.categories
    return [key for key in GPC_REFUSED_CATEGORIES if key in categories and not categories[key].required]


def consent_lifetime_seconds(manifest: Manifest) -> int:
    """How long the banner keeps a choice before asking again, in seconds (months counted as 30.44 days)."""
    return int(manifest.cookies.consent_lifetime.approx_days() * 86400)
