"""Every fixed sentence of the answers to subjects, in French and English, side by side."""

from __future__ import annotations

from typing import Final

from charte.render.locales import Lang

WORDS: Final[dict[str, dict[Lang, str]]] = {
    "greeting": {"fr": "Bonjour,", "en": "Hello,"},
    "signature": {"fr": "Le délégué à la protection des données — {controller}",
                  "en": "The Data Protection Officer — {controller}"},
    "subject.completed": {"fr": "Votre demande {reference} : {right}", "en": "Your request {reference}: {right}"},
    "subject.denied": {"fr": "Votre demande {reference} : réponse motivée",
                       "en": "Your request {reference}: our reasons"},
    "intro.completed": {
        "fr": "Nous avons traité votre demande « {right} » reçue le {received} (référence {reference}).",
        "en": "We have handled your request “{right}” received on {received} (reference {reference}).",
    },
    # --- Data found, actions, connected systems
    "data.none_connected": {
        "fr": "Aucun système contenant des données personnelles n’est encore relié à Charte chez {controller} : "
              "nous n’avons donc trouvé aucune donnée vous concernant dans un système relié.",
        "en": "None of {controller}’s systems holding personal data is connected to Charte yet: we therefore found "
              "no data about you in a connected system.",
    },
    "data.not_found": {
        "fr": "Nous n’avons trouvé aucune donnée vous concernant dans les systèmes consultés ({systems}).",
        "en": "We found no data about you in the systems we searched ({systems}).",
    },
    "data.found": {
        "fr": "Nous avons trouvé {records} enregistrement(s) vous concernant dans les systèmes suivants : {systems}.",
        "en": "We found {records} record(s) about you in the following systems: {systems}.",
    },
    "data.download": {
        "fr": "La copie de vos données est disponible dans votre espace, en HTML et en JSON, jusqu’au {until}.",
        "en": "The copy of your data is available in your space, as HTML and JSON, until {until}.",
    },
    "actions.heading": {"fr": "Ce que nous avons fait", "en": "What we did"},
    "actions.none": {
        "fr": "Aucune donnée vous concernant n’a été trouvée dans les systèmes reliés : il n’y avait rien à modifier.",
        "en": "No data about you was found in the connected systems: there was nothing to change.",
    },
    "action.erased": {"fr": "effacé", "en": "erased"},
    "action.deleted": {"fr": "supprimé", "en": "deleted"},
    "action.masked": {"fr": "masqué", "en": "masked"},
    "action.nulled": {"fr": "vidé", "en": "emptied"},
    "action.pseudonymised": {"fr": "pseudonymisé", "en": "pseudonymised"},
    "action.rectified": {"fr": "rectifié", "en": "rectified"},
    "action.restricted": {"fr": "limité", "en": "restricted"},
    "action.kept": {"fr": "conservé", "en": "kept"},
    "action.line": {"fr": "{where} : {action}{count}", "en": "{where}: {action}{count}"},
    "action.count": {"fr": " ({count} enregistrement(s))", "en": " ({count} record(s))"},
    "action.reason": {"fr": "motif : {reason}", "en": "reason: {reason}"},
    # --- Art. 15 report
    "access.intro": {
        "fr": "Conformément à l’article 15 du RGPD, voici les informations sur le traitement de vos données "
              "personnelles et la copie des données que nous détenons.",
        "en": "In accordance with Article 15 GDPR, here is the information about the processing of your personal "
              "data and the copy of the data we hold.",
    },
    "information.intro": {
        "fr": "Conformément aux articles 13 et 14 du RGPD, voici les informations sur nos traitements de données "
              "personnelles.",
        "en": "In accordance with Articles 13 and 14 GDPR, here is the information about how we process personal "
              "data.",
    },
    "art15.a": {"fr": "Finalités du traitement (art. 15.1.a RGPD)", "en": "Purposes of the processing (GDPR Art. "
                                                                          "15(1)(a))"},
    "art15.b": {"fr": "Catégories de données concernées (art. 15.1.b RGPD)",
                "en": "Categories of personal data concerned (GDPR Art. 15(1)(b))"},
    "art15.c": {"fr": "Destinataires (art. 15.1.c RGPD)", "en": "Recipients (GDPR Art. 15(1)(c))"},
    "art15.transfers": {"fr": "Transferts hors de l’Union européenne (art. 15.2 RGPD)",
                        "en": "Transfers outside the European Union (GDPR Art. 15(2))"},
    "art15.d": {"fr": "Durées de conservation (art. 15.1.d RGPD)", "en": "Retention periods (GDPR Art. 15(1)(d))"},
    "art15.e": {"fr": "Vos droits (art. 15.1.e RGPD)", "en": "Your rights (GDPR Art. 15(1)(e))"},
    "art15.f": {"fr": "Réclamation auprès de l’autorité de contrôle (art. 15.1.f RGPD)",
                "en": "Complaint to the supervisory authority (GDPR Art. 15(1)(f))"},
    "art15.g": {"fr": "Source des données (art. 15.1.g RGPD)", "en": "Source of the data (GDPR Art. 15(1)(g))"},
    "art15.h": {"fr": "Décisions automatisées et profilage (art. 15.1.h RGPD)",
                "en": "Automated decision-making and profiling (GDPR Art. 15(1)(h))"},
    "art15.data": {"fr": "Vos données (art. 15.3 RGPD)", "en": "Your data (GDPR Art. 15(3))"},
    "purpose.line": {"fr": "{name} — {description} Base légale : {basis}.",
                     "en": "{name} — {description} Legal basis: {basis}."},
    "purpose.interest": {"fr": " Intérêt poursuivi : {interest}", "en": " Interest pursued: {interest}"},
    "category.special": {"fr": " (catégorie particulière, art. 9 RGPD)",
                         "en": " (special category, GDPR Art. 9)"},
    "recipient.line": {"fr": "{name} — {kind}, {country}", "en": "{name} — {kind}, {country}"},
    "recipient.kind.processor": {"fr": "sous-traitant", "en": "processor"},
    "recipient.kind.partner": {"fr": "partenaire", "en": "partner"},
    "recipient.kind.authority": {"fr": "autorité", "en": "authority"},
    "recipient.kind.joint_controller": {"fr": "responsable conjoint", "en": "joint controller"},
    "service.line": {"fr": "{name} ({provider}, {country}) — service tiers via cookies",
                     "en": "{name} ({provider}, {country}) — third-party service through cookies"},
    "recipients.none": {"fr": "Aucun destinataire.", "en": "No recipient."},
    "transfers.none": {"fr": "Aucune donnée n’est transférée hors de l’Espace économique européen.",
                       "en": "No data is transferred outside the European Economic Area."},
    "transfer.line": {"fr": "{name} ({country}) — garanties : {safeguards}",
                      "en": "{name} ({country}) — safeguards: {safeguards}"},
    "transfer.no_safeguards": {"fr": "non précisées", "en": "not stated"},
    "retention.line": {"fr": "{name} : {retention}", "en": "{name}: {retention}"},
    "right.line": {"fr": "{name} ({article}) : {description}", "en": "{name} ({article}): {description}"},
    "complaint.line": {
        "fr": "Vous pouvez introduire une réclamation auprès de la {authority} ({full_name}), {address} — "
              "{complaint_url}",
        "en": "You may lodge a complaint with the {authority} ({full_name}), {address} — {complaint_url}",
    },
    "source.line": {"fr": "{name} — {description}", "en": "{name} — {description}"},
    "automated.line": {"fr": "{name} ({kind}) : {logic}", "en": "{name} ({kind}): {logic}"},
    "automated.none": {
        "fr": "Nous ne prenons aucune décision fondée exclusivement sur un traitement automatisé.",
        "en": "We take no decision based solely on automated processing.",
    },
    "automated.no_decision": {
        "fr": "Aucun de ces traitements ne produit de décision fondée exclusivement sur un traitement automatisé "
              "ayant un effet juridique ou vous affectant de manière significative.",
        "en": "None of these produces a decision based solely on automated processing with legal or similarly "
              "significant effects on you.",
    },
    # --- Portability
    "portability.intro": {
        "fr": "Conformément à l’article 20 du RGPD, vos données sont disponibles dans un format structuré, "
              "couramment utilisé et lisible par machine (JSON et CSV), dans votre espace jusqu’au {until}.",
        "en": "In accordance with Article 20 GDPR, your data is available in a structured, commonly used and "
              "machine-readable format (JSON and CSV) in your space until {until}.",
    },
    "portability.scope": {
        "fr": "Ces fichiers contiennent les données que vous nous avez fournies et que nous traitons sur la base de "
              "votre consentement ou d’un contrat : {purposes}.",
        "en": "These files hold the data you provided to us that we process on the basis of your consent or of a "
              "contract: {purposes}.",
    },
    "portability.count": {"fr": "Nombre d’enregistrements exportés : {records}.",
                          "en": "Records exported: {records}."},
    # --- Rectification, erasure, restriction
    "rectification.intro": {
        "fr": "Conformément à l’article 16 du RGPD, nous avons traité votre demande de rectification : « {details} »",
        "en": "In accordance with Article 16 GDPR, we have handled your request for rectification: “{details}”",
    },
    "erasure.intro": {
        "fr": "Conformément à l’article 17 du RGPD, nous avons traité votre demande d’effacement.",
        "en": "In accordance with Article 17 GDPR, we have handled your request for erasure.",
    },
    "erasure.kept": {
        "fr": "Les données conservées le sont parce que la loi nous y oblige ou pour la constatation, l’exercice ou "
              "la défense de droits en justice (article 17.3 du RGPD) ; elles seront effacées à la fin de cette "
              "durée.",
        "en": "Data kept is kept because the law requires it or for the establishment, exercise or defence of "
              "legal claims (Article 17(3) GDPR); it will be erased when that period ends.",
    },
    "restriction.intro": {
        "fr": "Conformément à l’article 18 du RGPD, le traitement de vos données est limité depuis le {date} : nous "
              "les conservons sans les utiliser autrement, sauf avec votre consentement, pour la constatation, "
              "l’exercice ou la défense de droits en justice, pour la protection des droits d’une autre personne "
              "ou pour des motifs importants d’intérêt public.",
        "en": "In accordance with Article 18 GDPR, the processing of your data has been restricted since {date}: we "
              "store it and do not otherwise use it, except with your consent, for the establishment, exercise "
              "or defence of legal claims, for the protection of the rights of another person or for reasons of "
              "important public interest.",
    },
    "restriction.lift": {"fr": "Nous vous informerons avant de lever cette limitation.",
                         "en": "We will inform you before this restriction is lifted."},
    "art19.heading": {"fr": "Destinataires informés (art. 19 RGPD)", "en": "Recipients informed (GDPR Art. 19)"},
    "art19.intro": {
        "fr": "Nous informons de cette demande les destinataires auxquels vos données ont pu être communiquées :",
        "en": "We inform the recipients to whom your data may have been disclosed of this request:",
    },
    "art19.none": {"fr": "Vos données n’ont été communiquées à aucun destinataire.",
                   "en": "Your data has not been disclosed to any recipient."},
    # --- Objection, automated decisions, withdrawal
    "objection.intro": {
        "fr": "Conformément à l’article 21 du RGPD, nous avons enregistré votre opposition aux traitements suivants, "
              "à compter du {date} :",
        "en": "In accordance with Article 21 GDPR, we have recorded your objection to the following processing, "
              "from {date}:",
    },
    "automated_decision.intro": {
        "fr": "Conformément à l’article 22 du RGPD, nous avons enregistré votre opposition au profilage et aux "
              "décisions automatisées pour les traitements suivants, à compter du {date} :",
        "en": "In accordance with Article 22 GDPR, we have recorded your objection to profiling and automated "
              "decisions for the following processing, from {date}:",
    },
    "automated_decision.human": {
        "fr": "Vous pouvez à tout moment obtenir une intervention humaine, exprimer votre point de vue et contester "
              "une décision en écrivant à notre délégué à la protection des données : {dpo}.",
        "en": "You may at any time obtain human intervention, express your point of view and contest a decision "
              "by writing to our Data Protection Officer: {dpo}.",
    },
    "withdraw_consent.intro": {
        "fr": "Conformément à l’article 7.3 du RGPD, nous avons enregistré le retrait de votre consentement aux "
              "traitements suivants, à compter du {date} :",
        "en": "In accordance with Article 7(3) GDPR, we have recorded the withdrawal of your consent to the "
              "following processing, from {date}:",
    },
    "withdraw_consent.lawful": {
        "fr": "Ce retrait ne remet pas en cause la licéité des traitements effectués avant lui.",
        "en": "This withdrawal does not affect the lawfulness of processing carried out before it.",
    },
    "consent.state.withdrawn": {"fr": "consentement retiré", "en": "consent withdrawn"},
    "consent.state.objected": {"fr": "opposition enregistrée", "en": "objection recorded"},
    "change.line": {"fr": "{name} — {state}", "en": "{name} — {state}"},
    # --- Complaint
    "complaint.intro": {"fr": "Vous nous avez adressé la réclamation suivante : « {details} »",
                        "en": "You sent us the following complaint: “{details}”"},
    "complaint.response": {"fr": "Notre réponse", "en": "Our answer"},
    # --- Refusal
    "denied.intro": {
        "fr": "Nous ne pouvons pas donner suite à votre demande « {right} » reçue le {received} (référence "
              "{reference}), pour le motif suivant :",
        "en": "We cannot act on your request “{right}” received on {received} (reference {reference}), for the "
              "following reason:",
    },
    "denied.remedies.heading": {"fr": "Vos recours", "en": "Your remedies"},
    "denied.remedies": {
        "fr": "Conformément à l’article 12.4 du RGPD, vous pouvez introduire une réclamation auprès de la "
              "{authority} ({full_name}), {address} — {complaint_url}, et former un recours juridictionnel devant "
              "le tribunal judiciaire compétent (articles 77 à 79 du RGPD), y compris pour obtenir réparation "
              "(article 82).",
        "en": "In accordance with Article 12(4) GDPR, you may lodge a complaint with the {authority} ({full_name}), "
              "{address} — {complaint_url}, and seek a judicial remedy before the competent court (Articles 77 to "
              "79 GDPR), including compensation (Article 82).",
    },
    # --- Footer of every letter
    "footer.heading": {"fr": "Si cette réponse ne vous satisfait pas", "en": "If you are not satisfied"},
    "footer.unsatisfied": {
        "fr": "Écrivez à notre délégué à la protection des données ({dpo}). Vous pouvez aussi introduire une "
              "réclamation auprès de la {authority} : {complaint_url}.",
        "en": "Write to our Data Protection Officer ({dpo}). You may also lodge a complaint with the {authority}: "
              "{complaint_url}.",
    },
}


def words(key: str, lang: Lang, **values: object) -> str:
    """The sentence ``key`` in ``lang`` with its placeholders filled."""
    template = WORDS[key][lang]
    return template.format(**values) if values else template
