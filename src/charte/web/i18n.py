"""The user interface's own strings in French and English, and choosing the visitor's language."""

from __future__ import annotations

from collections.abc import Sequence

from charte.web.i18n_dashboard import DASHBOARD_STRINGS

UI_LANGUAGES = ("fr", "en")

STRINGS: dict[str, dict[str, str]] = {
    "fr": {
        "skip": "Aller au contenu",
        "colon": "\u00a0:",
        "policy": "Politique de confidentialité",
        "pagination": "Pages du registre",
        "privacy_center": "Centre de confidentialité",
        "privacy_center_intro": "Comment {controller} traite vos données personnelles, et comment exercer vos droits.",
        "read_policy": "Lire la politique de confidentialité",
        "policy_in": "Politique de confidentialité ({language})",
        "last_modified": "Dernière modification",
        "contact_dpo": "Contacter le délégué à la protection des données",
        "complaint": "Déposer une réclamation auprès de la {authority}",
        "machine_readable": "La politique en données structurées (JSON)",
        "language": "Langue",
        "dashboard": "Tableau de bord",
        "overview": "Vue d'ensemble",
        "ledger": "Registre des événements",
        "users": "Utilisateurs",
        "tokens": "Jetons d'API",
        "login": "Connexion",
        "login_title": "Connexion au tableau de bord",
        "logout": "Se déconnecter",
        "username": "Identifiant",
        "password": "Mot de passe",
        "sign_in": "Se connecter",
        "invalid_credentials": "Identifiant ou mot de passe incorrect.",
        "too_many_attempts": "Trop de tentatives échouées. Réessayez dans {minutes} minute(s).",
        "signed_in_as": "Connecté en tant que {username} ({role})",
        "controller": "Responsable du traitement",
        "policy_modified": "Dernière modification de la politique",
        "purposes": "Finalités",
        "data_categories": "Catégories de données",
        "recipients": "Destinataires",
        "languages": "Langues",
        "ledger_status": "État du registre",
        "ledger_ok": "Intègre",
        "ledger_broken": "ROMPU",
        "events": "Événements",
        "head_hash": "Empreinte de tête",
        "seq": "N°",
        "recorded_at": "Date (UTC)",
        "type": "Type",
        "actor": "Auteur",
        "subject": "Personne concernée",
        "payload": "Contenu",
        "no_events": "Aucun événement.",
        "newer": "Plus récents",
        "older": "Plus anciens",
        "role": "Rôle",
        "active": "Actif",
        "yes": "oui",
        "no": "non",
        "created_at": "Créé le",
        "last_login": "Dernière connexion",
        "never": "jamais",
        "create_user": "Créer un utilisateur",
        "create": "Créer",
        "password_hint": "Au moins 12 caractères, différent de l'identifiant.",
        "user_created": "Utilisateur {username} créé.",
        "role_admin": "administrateur",
        "role_dpo": "DPO",
        "role_auditor": "auditeur (lecture seule)",
        "name": "Nom",
        "scopes": "Portées",
        "scopes_hint": "Séparées par des espaces, par exemple consent:write requests:read.",
        "prefix": "Préfixe",
        "last_used": "Dernière utilisation",
        "revoked": "Révoqué le",
        "revoke": "Révoquer",
        "create_token": "Créer un jeton d'API",
        "token_created": "Jeton {name} créé. Copiez-le maintenant : il ne sera plus jamais affiché.",
        "token_revoked": "Jeton {name} révoqué.",
        "no_tokens": "Aucun jeton.",
        "new_token": "Nouveau jeton",
        "error": "Erreur",
        "forbidden": "Vous n'avez pas le droit d'effectuer cette action.",
        "not_found": "Page introuvable.",
        "back": "Retour au tableau de bord",
    },
    "en": {
        "skip": "Skip to content",
        "colon": ":",
        "policy": "Privacy policy",
        "pagination": "Ledger pages",
        "privacy_center": "Privacy center",
        "privacy_center_intro": "How {controller} processes your personal data, and how to exercise your rights.",
        "read_policy": "Read the privacy policy",
        "policy_in": "Privacy policy ({language})",
        "last_modified": "Last modified",
        "contact_dpo": "Contact the data protection officer",
        "complaint": "Lodge a complaint with the {authority}",
        "machine_readable": "The policy as structured data (JSON)",
        "language": "Language",
        "dashboard": "Dashboard",
        "overview": "Overview",
        "ledger": "Event ledger",
        "users": "Users",
        "tokens": "API tokens",
        "login": "Sign in",
        "login_title": "Sign in to the dashboard",
        "logout": "Sign out",
        "username": "Username",
        "password": "Password",
        "sign_in": "Sign in",
        "invalid_credentials": "Wrong username or password.",
        "too_many_attempts": "Too many failed attempts. Try again in {minutes} minute(s).",
        "signed_in_as": "Signed in as {username} ({role})",
        "controller": "Controller",
        "policy_modified": "Policy last modified",
        "purposes": "Purposes",
        "data_categories": "Data categories",
        "recipients": "Recipients",
        "languages": "Languages",
        "ledger_status": "Ledger status",
        "ledger_ok": "Intact",
        "ledger_broken": "BROKEN",
        "events": "Events",
        "head_hash": "Head hash",
        "seq": "No.",
        "recorded_at": "Recorded (UTC)",
        "type": "Type",
        "actor": "Actor",
        "subject": "Data subject",
        "payload": "Payload",
        "no_events": "No events.",
        "newer": "Newer",
        "older": "Older",
        "role": "Role",
        "active": "Active",
        "yes": "yes",
        "no": "no",
        "created_at": "Created",
        "last_login": "Last sign-in",
        "never": "never",
        "create_user": "Create a user",
        "create": "Create",
        "password_hint": "At least 12 characters, not the username.",
        "user_created": "User {username} created.",
        "role_admin": "administrator",
        "role_dpo": "DPO",
        "role_auditor": "auditor (read-only)",
        "name": "Name",
        "scopes": "Scopes",
        "scopes_hint": "Separated by spaces, for example consent:write requests:read.",
        "prefix": "Prefix",
        "last_used": "Last used",
        "revoked": "Revoked",
        "revoke": "Revoke",
        "create_token": "Create an API token",
        "token_created": "Token {name} created. Copy it now: it will never be shown again.",
        "token_revoked": "Token {name} revoked.",
        "no_tokens": "No tokens.",
        "new_token": "New token",
        "error": "Error",
        "forbidden": "You are not allowed to do this.",
        "not_found": "Page not found.",
        "back": "Back to the dashboard",
    },
}

# The dashboard's own pages keep their strings in their own module.
for _lang, _dashboard in DASHBOARD_STRINGS.items():
    STRINGS[_lang].update(_dashboard)

LANGUAGE_NAMES = {"fr": "français", "en": "English"}


def parse_accept_language(header: str | None) -> list[str]:
    """Primary language tags from an Accept-Language header, most preferred first."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary and quality > 0:
            # Negative index keeps header order among equal weights after the descending sort.
            weighted.append((quality, -index, primary))
    return [tag for _, _, tag in sorted(weighted, reverse=True)]


def negotiate_language(query: str | None, accept_language: str | None, offered: Sequence[str],
                       default: str) -> str:
    """``?lang=`` if offered, else the best Accept-Language match, else ``default``."""
    if query and query.lower() in offered:
        return query.lower()
    for tag in parse_accept_language(accept_language):
        if tag == "*":
            return default
        if tag in offered:
            return tag
    return default


def strings(lang: str) -> dict[str, str]:
    """The UI strings in ``lang`` (French when the language has no UI translation)."""
    return STRINGS.get(lang, STRINGS["fr"])
