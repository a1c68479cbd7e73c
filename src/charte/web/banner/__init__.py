"""The cookie banner script: the readable source next to this file, compacted, with the manifest's texts inside.

Built once per app: ``/banner.js`` serves :attr:`BannerAsset.script` (gzipped when the browser accepts it). The
script's whole configuration is a notice whose SHA-256 is the banner version that every consent event cites.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charte.consent.banner import banner_categories, consent_lifetime_seconds, gpc_refused_categories
from charte.consent.notices import Notice, cookie_revision
from charte.manifest import Manifest

HERE = Path(__file__).resolve().parent
#: The budget for banner JS + CSS + fr/en texts, gzipped.
SIZE_BUDGET = 6 * 1024
_PLACEHOLDER = "__CONFIG__"

BANNER_STRINGS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Vos choix sur les cookies",
        "intro": "{org} utilise des cookies nécessaires au fonctionnement du site et, si vous l'acceptez, des "
                 "cookies pour les usages suivants\u00a0: {c}. Vous pouvez tout accepter, tout refuser ou choisir, "
                 "et changer d'avis à tout moment.",
        "policy": "Politique de confidentialité",
        "reject": "Tout refuser",
        "accept": "Tout accepter",
        "custom": "Personnaliser",
        "save": "Enregistrer mes choix",
        "always": "toujours actifs",
        "gpc": "refusés\u00a0: votre navigateur envoie le signal Global Privacy Control",
        "saved": "Vos choix sont enregistrés.",
        "cookies": "Cookies",
        "colon": "\u00a0: ",
    },
    "en": {
        "title": "Your cookie choices",
        "intro": "{org} uses cookies the website needs to work and, if you agree, cookies for the following uses: "
                 "{c}. You can accept all, reject all or choose, and change your mind at any time.",
        "policy": "Privacy policy",
        "reject": "Reject all",
        "accept": "Accept all",
        "custom": "Customise",
        "save": "Save my choices",
        "always": "always on",
        "gpc": "refused: your browser sends the Global Privacy Control signal",
        "saved": "Your choices are saved.",
        "cookies": "Cookies",
        "colon": ": ",
    },
}


@dataclass(frozen=True)
class BannerAsset:
    """The served banner: script, its gzipped bytes, stylesheet, and the notice it embodies."""

    script: str
    gzipped: bytes
    css: str
    notice: Notice
    revision: str

    @property
    def version(self) -> str:
        """The banner version consent events cite: SHA-256 of the notice."""
        return self.notice.version


def compact_js(source: str) -> str:
    """The source without whole-line comments, indentation or blank lines (statements end with semicolons)."""
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def compact_css(source: str) -> str:
    """The stylesheet without comments and needless whitespace."""
    text = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"\s*([{}:;,>])\s*", r"\1", text).replace(";}", "}").strip()


def _config(manifest: Manifest, css: str) -> dict[str, Any]:
    categories = banner_categories(manifest)
    languages = [lang for lang in manifest.languages if lang in BANNER_STRINGS]
    texts = {
        lang: {**BANNER_STRINGS[lang], "c": {
            c.key: [c.name[lang], c.description[lang], [s.description[lang] for s in c.services]]
            for c in categories
        }}
        for lang in languages
    }
    return {
        "rev": cookie_revision(manifest),
        "life": consent_lifetime_seconds(manifest),
        "lang": manifest.default_language if manifest.default_language in languages else languages[0],
        "org": manifest.controller.name,
        "gpc": gpc_refused_categories(manifest),
        "cats": [
            {"k": c.key, "r": 1 if c.required else 0,
             "svc": [[s.name, s.provider, list(s.cookies)] for s in c.services],
             "ck": [name for s in c.services for name in s.cookies]}
            for c in categories
        ],
        "t": texts,
        "css": css,
    }


def build_banner(manifest: Manifest) -> BannerAsset:
    """The banner of ``manifest``: compacted script with its configuration, and the notice it shows."""
    code = compact_js((HERE / "banner.js").read_text(encoding="utf-8"))
    css = compact_css((HERE / "banner.css").read_text(encoding="utf-8"))
    config = _config(manifest, css)
    notice = Notice("banner", {**config, "code_sha256": hashlib.sha256(code.encode()).hexdigest()})
    config["ver"] = notice.version
    payload = json.dumps(config, ensure_ascii=False, separators=(",", ":"))
    script = code.replace(_PLACEHOLDER, payload)
    return BannerAsset(script, gzip.compress(script.encode(), compresslevel=9, mtime=0), css, notice,
                       config["rev"])
