"""Every fixed sentence and word of the rendered documents, in French and English, in one place."""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["fr", "en"]
LANGUAGES: Final[tuple[Lang, ...]] = ("fr", "en")

#: Path of the privacy center's request form and of the cookie preferences page (see DESIGN.md).
REQUEST_FORM: Final = "/requests/new"
PREFERENCES_PAGE: Final = "/preferences"

# Each entry keeps both translations side by side so a change to one is seen next to the other.
STRINGS: Final[dict[str, dict[Lang, str]]] = {
    # --- Document frame
    "toc": {"fr": "Sommaire", "en": "Contents"},
    "last_modified_short": {"fr": "Dernière modification : {date}", "en": "Last modified: {date}"},
    "organisation_choice": {"fr": "choix de l’organisation", "en": "organisation’s choice"},
    "none": {"fr": "Aucune", "en": "None"},
    "yes": {"fr": "Oui", "en": "Yes"},
    "no": {"fr": "Non", "en": "No"},
    "and": {"fr": "et", "en": "and"},
    "colon": {"fr": " : ", "en": ": "},
    # --- Section titles (keys are the section ids)
    "section.introduction": {"fr": "Introduction", "en": "Introduction"},
    "section.definitions": {"fr": "Définitions", "en": "Definitions"},
    "section.principles": {
        "fr": "Principes de protection des données personnelles",
        "en": "Personal data protection principles",
    },
    "section.rights": {"fr": "Vos droits", "en": "Rights of the data subject"},
    "section.data-collected": {"fr": "Les données que nous collectons", "en": "The data we collect"},
    "section.purposes": {
        "fr": "Comment nous utilisons vos données personnelles",
        "en": "How we use your personal data",
    },
    "section.further-processing": {
        "fr": "Anonymisation, conservation et traitements ultérieurs",
        "en": "Anonymisation, retention and further processing",
    },
    "section.recipients": {
        "fr": "Qui d’autre peut accéder à vos données ?",
        "en": "Who else can access your personal data?",
    },
    "section.security": {"fr": "Comment protégeons-nous vos données ?", "en": "How do we protect your data?"},
    "section.cookies": {"fr": "Cookies", "en": "Cookies"},
    "section.dpo": {"fr": "Délégué à la protection des données (DPO)", "en": "Data Protection Officer (DPO)"},
    "section.cnil": {"fr": "Autorité de contrôle", "en": "Supervisory authority"},
    "section.changes": {
        "fr": "Modifications de la politique de confidentialité",
        "en": "Changes to the confidentiality policy",
    },
    # --- Introduction
    "intro.commitment": {
        "fr": "{controller} s’engage à protéger votre vie privée. Pour toute question ou difficulté concernant "
              "l’utilisation de vos données personnelles, contactez-nous : nous serons ravis de vous aider.",
        "en": "{controller} is committed to protecting your privacy. If you have any question or problem "
              "regarding the use of your personal data, contact us: we will be delighted to help.",
    },
    "intro.scope": {
        "fr": "Cette politique explique quelles données nous traitons, pourquoi et sur quelle base légale, "
              "combien de temps nous les conservons, à qui nous les communiquons et comment exercer vos droits.",
        "en": "This policy explains which data we process, why and on which legal basis, how long we keep it, "
              "who we share it with and how to exercise your rights.",
    },
    "controller.title": {"fr": "Responsable du traitement", "en": "Data controller"},
    "field.name": {"fr": "Nom", "en": "Name"},
    "field.registration": {"fr": "Immatriculation", "en": "Registration"},
    "field.address": {"fr": "Adresse", "en": "Address"},
    "field.email": {"fr": "E-mail", "en": "Email"},
    "field.phone": {"fr": "Téléphone", "en": "Phone"},
    "field.website": {"fr": "Site web", "en": "Website"},
    "field.form": {"fr": "Formulaire en ligne", "en": "Online form"},
    "field.cnil_designation": {"fr": "N° de désignation auprès de la CNIL", "en": "CNIL designation number"},
    "field.complaint": {"fr": "Adresser une réclamation", "en": "Lodge a complaint"},
    # --- Definitions
    "def.personal_data.term": {"fr": "Données personnelles", "en": "Personal data"},
    "def.personal_data": {
        "fr": "toute information se rapportant à une personne physique identifiée ou identifiable.",
        "en": "any information relating to an identified or identifiable natural person.",
    },
    "def.processing.term": {"fr": "Traitement", "en": "Processing"},
    "def.processing": {
        "fr": "toute opération ou tout ensemble d’opérations effectuées sur des données personnelles ou sur des "
              "ensembles de données personnelles.",
        "en": "any operation or set of operations performed on personal data or on sets of personal data.",
    },
    "def.data_subject.term": {"fr": "Personne concernée", "en": "Data subject"},
    "def.data_subject": {
        "fr": "la personne physique dont les données personnelles sont traitées.",
        "en": "the natural person whose personal data are processed.",
    },
    "def.we.term": {"fr": "« Nous », « nous »", "en": "“We”, “we”"},
    "def.we": {"fr": "{controller}, avec ou sans majuscule.", "en": "{controller}, capitalised or not."},
    # --- Principles
    "principles.intro": {
        "fr": "Nous nous engageons à respecter les principes suivants (article 5 du RGPD) :",
        "en": "We commit to complying with the following principles (Article 5 GDPR):",
    },
    "principle.lawful.term": {"fr": "Licéité, loyauté et transparence", "en": "Lawfulness, fairness and transparency"},
    "principle.lawful": {
        "fr": "nos traitements reposent sur des motifs légitimes. Nous tenons toujours compte de vos droits avant "
              "de traiter des données personnelles et nous vous communiquons, sur demande, celles que nous traitons.",
        "en": "our processing has legitimate grounds. We always take your rights into account before processing "
              "personal data, and we provide you with the personal data we process upon request.",
    },
    "principle.purpose.term": {"fr": "Limitation des finalités", "en": "Purpose limitation"},
    "principle.purpose": {
        "fr": "chaque traitement correspond à la finalité pour laquelle les données ont été collectées.",
        "en": "each processing activity matches the purpose for which the data were collected.",
    },
    "principle.minimisation.term": {"fr": "Minimisation des données", "en": "Data minimisation"},
    "principle.minimisation": {
        "fr": "nous ne collectons et ne traitons que les données strictement nécessaires à chaque finalité.",
        "en": "we collect and process only the minimum personal data each purpose requires.",
    },
    "principle.storage.term": {"fr": "Limitation de la conservation", "en": "Storage limitation"},
    "principle.storage": {
        "fr": "nous ne conservons pas vos données plus longtemps que nécessaire ; la durée de conservation de "
              "chaque finalité figure dans le {table}.",
        "en": "we do not keep your personal data longer than necessary; the retention period of each purpose is "
              "given in the {table}.",
    },
    "principle.accuracy.term": {"fr": "Exactitude", "en": "Accuracy"},
    "principle.accuracy": {
        "fr": "nous faisons tout notre possible pour que les données soient exactes et tenues à jour.",
        "en": "we do our utmost to keep the data accurate and up to date.",
    },
    "principle.integrity.term": {"fr": "Intégrité et confidentialité", "en": "Integrity and confidentiality"},
    "principle.integrity": {
        "fr": "nous faisons tout notre possible pour garantir l’intégrité et la confidentialité des données.",
        "en": "we do our utmost to guarantee the integrity and confidentiality of the data.",
    },
    # --- Rights
    "rights.intro": {
        "fr": "Vous disposez des droits suivants sur vos données personnelles :",
        "en": "As a data subject, you may exercise the following rights:",
    },
    "rights.exercise.title": {"fr": "Comment exercer vos droits", "en": "How to exercise your rights"},
    "rights.exercise.intro": {"fr": "Vous pouvez exercer vos droits :", "en": "You may exercise your rights:"},
    "rights.exercise.form": {
        "fr": "en ligne, depuis notre centre de confidentialité",
        "en": "online, from our privacy center",
    },
    "link.form": {"fr": "formulaire de demande", "en": "request form"},
    "link.dpo": {"fr": "délégué à la protection des données", "en": "Data Protection Officer"},
    "link.preferences": {"fr": "page de gestion de vos choix", "en": "page where you manage your choices"},
    "link.table": {"fr": "tableau des finalités", "en": "table of purposes"},
    "rights.exercise.email": {
        "fr": "par e-mail, auprès de notre délégué à la protection des données",
        "en": "by email, to our Data Protection Officer",
    },
    "rights.exercise.post": {"fr": "par courrier", "en": "by post"},
    "rights.exercise.deadline": {
        "fr": "Nous vous répondons dans un délai d’un mois à compter de la réception de votre demande. Ce délai "
              "peut être prolongé de deux mois, compte tenu de la complexité ou du nombre de demandes ; nous vous "
              "en informons alors (article 12.3 du RGPD). Nous pouvons vous demander de justifier de votre "
              "identité. Si nous ne donnons pas suite à votre demande, nous vous en indiquons les motifs.",
        "en": "We answer within one month of receiving your request. This period may be extended by two further "
              "months given the complexity or number of requests, in which case we tell you (Article 12(3) "
              "GDPR). We may ask you to prove your identity. If we refuse your request, we tell you why.",
    },
    "rights.exercise.cnil": {
        "fr": "Si vous estimez, après nous avoir contactés, que vos droits ne sont pas respectés, vous pouvez "
              "adresser une réclamation à la {authority} ({short}) :",
        "en": "If, after contacting us, you believe your rights are not respected, you may lodge a complaint "
              "with the {authority} ({short}):",
    },
    # --- Data we collect
    "collect.intro": {
        "fr": "Nous collectons des données personnelles de plusieurs manières :",
        "en": "We collect personal data in several ways:",
    },
    "collect.kind.provided": {"fr": "Données que vous nous fournissez", "en": "Data you provide to us"},
    "collect.kind.collected_automatically": {
        "fr": "Données collectées automatiquement",
        "en": "Personal data collected automatically",
    },
    "collect.kind.partners": {"fr": "Données provenant de nos partenaires", "en": "Information from our partners"},
    "collect.kind.publicly_available": {"fr": "Données publiquement accessibles", "en": "Publicly available data"},
    "collect.categories": {"fr": "Données concernées", "en": "Data concerned"},
    # --- Purposes
    "purposes.intro": {
        "fr": "Nous utilisons vos données personnelles pour des motifs légitimes et, lorsque la loi l’exige, avec "
              "votre consentement. Chaque finalité repose sur l’une des bases légales prévues par l’article 6 du "
              "RGPD.",
        "en": "We use your personal data for legitimate reasons and, where the law requires it, with your "
              "consent. Each purpose rests on one of the legal bases of Article 6 GDPR.",
    },
    "basis.intro.contract": {
        "fr": "Pour conclure ou exécuter un contrat avec vous, nous traitons vos données pour les finalités "
              "suivantes :",
        "en": "Owing to the conclusion of a contract or the performance of contractual obligations, we process "
              "your personal data for the following purposes:",
    },
    "basis.intro.legitimate_interest": {
        "fr": "Sur la base de notre intérêt légitime, nous traitons vos données pour les finalités suivantes :",
        "en": "Based on our legitimate interest, we process your personal data for the following purposes:",
    },
    "basis.intro.consent": {
        "fr": "Avec votre consentement, nous traitons vos données pour les finalités suivantes :",
        "en": "With your consent, we process your personal data for the following purposes:",
    },
    "basis.intro.legal_obligation": {
        "fr": "Pour respecter nos obligations légales, nous traitons vos données pour les finalités suivantes :",
        "en": "To comply with our legal obligations, we process your personal data for the following purposes:",
    },
    "basis.intro.vital_interests": {
        "fr": "Pour protéger vos intérêts vitaux ou ceux d’une autre personne, nous traitons vos données pour "
              "les finalités suivantes :",
        "en": "To protect your vital interests or those of another person, we process your personal data for "
              "the following purposes:",
    },
    "basis.intro.public_task": {
        "fr": "Pour exécuter une mission d’intérêt public, nous traitons vos données pour les finalités "
              "suivantes :",
        "en": "To perform a task carried out in the public interest, we process your personal data for the "
              "following purposes:",
    },
    "purpose.interest": {"fr": "Intérêt poursuivi : {interest}", "en": "Interest pursued: {interest}"},
    "purpose.reference": {"fr": "Référence légale : {reference}", "en": "Legal reference: {reference}"},
    "purpose.consent_lifetime": {
        "fr": "Votre consentement vaut {duration} ; nous vous le redemandons ensuite.",
        "en": "Your consent lasts {duration}; we ask for it again afterwards.",
    },
    "purpose.objection": {
        "fr": "Vous pouvez vous opposer à ce traitement à tout moment (article 21 du RGPD).",
        "en": "You may object to this processing at any time (Article 21 GDPR).",
    },
    "basis.outro.legitimate_interest": {
        "fr": "Vous pouvez vous opposer à tout moment à ces traitements (article 21 du RGPD) ; sauf opposition de "
              "votre part, nous les poursuivons. Pour vous y opposer, utilisez le {form} ou écrivez à notre {dpo}.",
        "en": "You may object to this processing at any time (Article 21 GDPR); unless you have instructed us "
              "otherwise, we continue it. To object, use the {form} or write to our {dpo}.",
    },
    "basis.outro.consent": {
        "fr": "Vous pouvez retirer votre consentement à tout moment, aussi simplement que vous l’avez donné : "
              "depuis la {preferences} pour les cookies, ou avec le {form} pour les autres finalités. Le "
              "retrait ne remet pas en cause la licéité des traitements effectués auparavant (article 7.3 du "
              "RGPD).",
        "en": "You may withdraw your consent at any time, as easily as you gave it: from the {preferences} for "
              "cookies, or with the {form} for the other purposes. Withdrawal "
              "does not affect the lawfulness of processing carried out before it (Article 7(3) GDPR).",
    },
    "purposes.table.title": {
        "fr": "Finalités, bases légales et durées de conservation",
        "en": "Purposes, legal bases and retention periods",
    },
    "purposes.table.caption": {
        "fr": "Pour chaque finalité : sa base légale, les données traitées, leur durée de conservation et leurs "
              "destinataires",
        "en": "For each purpose: its legal basis, the data processed, how long it is kept and who receives it",
    },
    "col.purpose": {"fr": "Finalité", "en": "Purpose"},
    "col.legal_basis": {"fr": "Base légale", "en": "Legal basis"},
    "col.data_categories": {"fr": "Catégories de données", "en": "Data categories"},
    "col.retention": {"fr": "Durée de conservation", "en": "Retention period"},
    "col.recipients": {"fr": "Destinataires", "en": "Recipients"},
    "purposes.table.legend": {
        "fr": "« Choix de l’organisation » : durée fixée par {controller}, faute de durée imposée par un texte.",
        "en": "“Organisation’s choice”: period set by {controller}, as no text imposes one.",
    },
    "special.marker": {"fr": "catégorie particulière", "en": "special category"},
    "recipients.internal": {
        "fr": "Services internes habilités uniquement",
        "en": "Authorised internal staff only",
    },
    "recipients.via_cookies": {"fr": "via les cookies", "en": "via cookies"},
    "special.title": {"fr": "Catégories particulières de données", "en": "Special categories of data"},
    "special.intro": {
        "fr": "Certaines finalités portent sur des catégories particulières de données (article 9 du RGPD). "
              "Nous ne les traitons que dans les conditions prévues par la loi :",
        "en": "Some purposes involve special categories of data (Article 9 GDPR). We process them only under "
              "the conditions the law provides:",
    },
    "automated.title": {"fr": "Décisions automatisées et profilage", "en": "Automated decisions and profiling"},
    "automated.intro": {
        "fr": "Les finalités suivantes comportent un profilage ou une décision automatisée. Voici la logique "
              "sous-jacente et ses conséquences pour vous (article 13.2.f du RGPD) :",
        "en": "The following purposes involve profiling or an automated decision. Here is the logic involved "
              "and its consequences for you (Article 13(2)(f) GDPR):",
    },
    "automated.profiling": {"fr": "profilage", "en": "profiling"},
    "automated.decision": {"fr": "décision automatisée", "en": "automated decision"},
    "automated.rights": {
        "fr": "Vous pouvez vous opposer au profilage et ne pas faire l’objet d’une décision fondée exclusivement "
              "sur un traitement automatisé produisant des effets juridiques vous concernant ou vous affectant de "
              "manière significative : vous pouvez alors obtenir une intervention humaine, exprimer votre point "
              "de vue et contester la décision (article 22 du RGPD).",
        "en": "You may object to profiling and not be subject to a decision based solely on automated "
              "processing which produces legal effects concerning you or similarly significantly affects you: "
              "you may then obtain human intervention, express your point of view and contest the decision "
              "(Article 22 GDPR).",
    },
    "automated.none": {
        "fr": "Nous ne prenons aucune décision fondée exclusivement sur un traitement automatisé, y compris le "
              "profilage.",
        "en": "We take no decision based solely on automated processing, including profiling.",
    },
    # --- Further processing
    "further.anonymisation": {
        "fr": "Nous nous réservons le droit d’anonymiser les données collectées et d’utiliser les données ainsi "
              "anonymisées. Nous n’utilisons pas de données au-delà du champ de la présente politique, sauf si "
              "elles ont été anonymisées. Nous recourons à la pseudonymisation lorsque c’est approprié.",
        "en": "We reserve the right to anonymise the personal data collected and to use such anonymised data. "
              "We do not use data beyond the scope of this policy unless they are anonymised. We use pseudonyms "
              "where appropriate.",
    },
    "further.legal_retention": {
        "fr": "Nous conservons vos données de facturation et les autres données requises aussi longtemps que "
              "nécessaire à des fins comptables ou pour respecter la loi :",
        "en": "We retain your billing data and other personal data as long as necessary for accounting purposes "
              "or to comply with the law:",
    },
    "further.compatible": {
        "fr": "Nous pouvons traiter vos données pour d’autres finalités, non mentionnées ici mais compatibles "
              "avec la finalité initiale de leur collecte (article 6.4 du RGPD). Nous nous assurons alors :",
        "en": "We may process your personal data for other purposes not mentioned here but compatible with the "
              "initial purpose for which they were collected (Article 6(4) GDPR). In doing so, we ensure that:",
    },
    "further.safeguard.link": {
        "fr": "que le lien entre les finalités, le contexte et la nature des données se prête au traitement "
              "ultérieur ;",
        "en": "the link between the purposes, the context and the nature of the personal data suits the further "
              "processing;",
    },
    "further.safeguard.interests": {
        "fr": "que le traitement ultérieur ne porte pas atteinte à vos intérêts ;",
        "en": "the further processing is not contrary to your interests;",
    },
    "further.safeguard.guarantees": {
        "fr": "que des garanties appropriées encadrent ce traitement.",
        "en": "there are appropriate safeguards for such processing.",
    },
    "further.inform": {
        "fr": "Nous vous informons de tout traitement ultérieur de vos données et de sa finalité avant de le "
              "mettre en œuvre.",
        "en": "We will inform you of any further processing of your personal data and of its purpose before it "
              "starts.",
    },
    "further.declared": {
        "fr": "Traitements ultérieurs déjà identifiés :",
        "en": "Further processing already identified:",
    },
    "further.compatible_with": {"fr": "compatible avec : {purposes}", "en": "compatible with: {purposes}"},
    # --- Recipients
    "recipients.intro": {
        "fr": "Vos données sont destinées à nos services habilités. Dans certains cas, elles sont communiquées "
              "aux destinataires ci-dessous, pour vous fournir le meilleur service possible ou améliorer votre "
              "expérience client. Nous ne travaillons qu’avec des partenaires capables d’assurer un niveau de "
              "protection adéquat de vos données, et nous ne communiquons vos données à des tiers que si la loi "
              "nous y oblige, si vous y avez consenti ou pour un autre motif légal.",
        "en": "Your data are intended for our authorised staff. In certain cases, they are shared with the "
              "recipients below, to give you the best possible service or to improve your customer experience. "
              "We work solely with partners able to ensure an adequate level of protection of your data, and we "
              "disclose your data to third parties only if the law requires it, if you have consented or for "
              "another legal reason.",
    },
    "kind.processor": {"fr": "Sous-traitants", "en": "Processors"},
    "kind.partner": {"fr": "Partenaires", "en": "Partners"},
    "kind.authority": {"fr": "Autorités", "en": "Authorities"},
    "kind.joint_controller": {"fr": "Responsables conjoints", "en": "Joint controllers"},
    "kind.one.processor": {"fr": "sous-traitant", "en": "processor"},
    "kind.one.partner": {"fr": "partenaire", "en": "partner"},
    "kind.one.authority": {"fr": "autorité", "en": "authority"},
    "kind.one.joint_controller": {"fr": "responsable conjoint", "en": "joint controller"},
    "recipients.safeguards": {"fr": "Garanties : {safeguards}", "en": "Safeguards: {safeguards}"},
    "transfers.title": {"fr": "Transferts hors de l’Union européenne", "en": "Transfers outside the European Union"},
    "transfers.allowed": {
        "fr": "Vos données ne sont communiquées qu’à des destinataires situés dans : {countries}.",
        "en": "Your data are only shared with recipients located in: {countries}.",
    },
    "transfers.none": {
        "fr": "Aucun destinataire n’est situé hors de l’Espace économique européen : aucune donnée n’est "
              "transférée vers un pays tiers.",
        "en": "No recipient is located outside the European Economic Area: no data is transferred to a third "
              "country.",
    },
    "transfers.some": {
        "fr": "Les destinataires suivants sont situés hors de l’Espace économique européen :",
        "en": "The following recipients are located outside the European Economic Area:",
    },
    "transfers.unspecified": {"fr": "garanties non précisées", "en": "safeguards not specified"},
    # --- Security
    "security.intro": {
        "fr": "Nous faisons tout notre possible pour protéger vos données personnelles. Nos principales mesures "
              "de sécurité :",
        "en": "We do our utmost to protect your personal data. Our main security measures:",
    },
    "security.breach": {
        "fr": "Même si nous faisons tout notre possible, nous ne pouvons garantir une sécurité absolue. En cas de "
              "violation de données personnelles, nous la notifions à la {authority} dans les 72 heures après en "
              "avoir pris connaissance (article 33 du RGPD) et, lorsqu’elle est susceptible d’engendrer un risque "
              "élevé pour vos droits et libertés, nous vous en informons dans les meilleurs délais (article 34 du "
              "RGPD). Nous faisons tout ce qui est raisonnablement possible pour prévenir les violations et "
              "assistons les autorités le cas échéant.",
        "en": "Even though we do our utmost, we cannot guarantee complete security. In the event of a personal "
              "data breach, we notify the {authority} within 72 hours of becoming aware of it (Article 33 GDPR) "
              "and, when it is likely to result in a high risk to your rights and freedoms, we inform you "
              "without undue delay (Article 34 GDPR). We do everything reasonably possible to prevent breaches "
              "and assist the authorities if one occurs.",
    },
    "security.credentials": {
        "fr": "Si vous disposez d’un compte chez nous, quel que soit le service (messagerie, compte en ligne, "
              "accès au cloud…), gardez votre identifiant et votre mot de passe confidentiels.",
        "en": "If you have an account with us, for whatever service (email, online account, cloud access, "
              "etc.), keep your user name and password confidential.",
    },
    # --- Cookies
    "cookies.what": {
        "fr": "Un cookie est un petit fichier texte déposé sur votre terminal lorsque vous consultez un site. Nous "
              "utilisons des cookies et technologies similaires pour faire fonctionner notre site, en mesurer "
              "l’audience et, avec votre accord, personnaliser votre expérience.",
        "en": "A cookie is a small text file stored on your device when you visit a website. We use cookies and "
              "similar technologies to run our website, measure its audience and, with your agreement, "
              "personalise your experience.",
    },
    "cookies.consent": {
        "fr": "Les cookies non nécessaires ne sont déposés qu’avec votre consentement. Nous conservons votre "
              "choix {duration}, puis nous vous le redemandons. Vous pouvez aussi supprimer les cookies depuis "
              "les réglages de votre navigateur ; les désactiver peut empêcher certaines fonctions du site.",
        "en": "Cookies that are not necessary are only set with your consent. We keep your choice for "
              "{duration}, then ask you again. You can also delete cookies from your browser settings; "
              "disabling them may prevent some website functions from working.",
    },
    "cookies.manage": {"fr": "Gérer mes choix", "en": "Manage your choices"},
    "cookies.required": {"fr": "Toujours actifs", "en": "Always active"},
    "cookies.optional": {"fr": "Soumis à votre consentement", "en": "Subject to your consent"},
    "cookies.no_services": {"fr": "Aucun service tiers.", "en": "No third-party service."},
    "cookies.services_caption": {"fr": "Services — {category}", "en": "Services — {category}"},
    "col.service": {"fr": "Service", "en": "Service"},
    "col.provider": {"fr": "Fournisseur", "en": "Provider"},
    "col.country": {"fr": "Pays", "en": "Country"},
    "col.use": {"fr": "Utilisation", "en": "Use"},
    "col.cookies": {"fr": "Cookies (durée de vie)", "en": "Cookies (lifetime)"},
    "cookies.privacy_link": {"fr": "politique de confidentialité", "en": "privacy policy"},
    # --- DPO and authority
    "dpo.intro": {
        "fr": "Pour toute question sur vos données ou pour exercer vos droits, vous pouvez contacter notre délégué "
              "à la protection des données :",
        "en": "For any question about your data or to exercise your rights, you may contact our Data Protection "
              "Officer:",
    },
    "cnil.intro": {
        "fr": "L’autorité de contrôle compétente est la {authority} ({short}).",
        "en": "The competent supervisory authority is the {authority} ({short}).",
    },
    # --- Changes
    "changes.intro": {
        "fr": "Nous pouvons modifier la présente politique de confidentialité ; chaque modification est publiée "
              "sur cette page.",
        "en": "We may modify this confidentiality policy; every modification is published on this page.",
    },
    "changes.last": {
        "fr": "La dernière modification date du {date}.",
        "en": "The last modification was made on {date}.",
    },
    "changes.history": {"fr": "Historique des modifications", "en": "Change history"},
    # --- Record of processing (Art. 30)
    "ropa.title": {
        "fr": "Registre des activités de traitement (article 30 du RGPD)",
        "en": "Record of processing activities (Article 30 GDPR)",
    },
    "ropa.sheet": {"fr": "Registre art. 30", "en": "Art. 30 record"},
    "ropa.caption": {
        "fr": "Une ligne par finalité — {controller}, état au {date}",
        "en": "One row per purpose — {controller}, as of {date}",
    },
    "ropa.col.reference": {"fr": "Référence", "en": "Reference"},
    "ropa.col.purpose": {"fr": "Finalité (b)", "en": "Purpose (b)"},
    "ropa.col.description": {"fr": "Description", "en": "Description"},
    "ropa.col.controller": {"fr": "Responsable du traitement (a)", "en": "Controller (a)"},
    "ropa.col.dpo": {"fr": "Délégué à la protection des données (a)", "en": "Data Protection Officer (a)"},
    "ropa.col.legal_basis": {"fr": "Base légale", "en": "Legal basis"},
    "ropa.col.legal_reference": {"fr": "Référence légale", "en": "Legal reference"},
    "ropa.col.data_subjects": {"fr": "Catégories de personnes concernées (c)", "en": "Categories of data subjects (c)"},
    "ropa.col.data_categories": {
        "fr": "Catégories de données personnelles (c)",
        "en": "Categories of personal data (c)",
    },
    "ropa.col.special_categories": {
        "fr": "Catégories particulières et condition de l’art. 9",
        "en": "Special categories and Art. 9 condition",
    },
    "ropa.col.sources": {"fr": "Sources des données", "en": "Data sources"},
    "ropa.col.recipients": {"fr": "Catégories de destinataires (d)", "en": "Categories of recipients (d)"},
    "ropa.col.transfers": {
        "fr": "Transferts vers des pays tiers et garanties (e)",
        "en": "Transfers to third countries and safeguards (e)",
    },
    "ropa.col.retention": {"fr": "Délais d’effacement (f)", "en": "Time limits for erasure (f)"},
    "ropa.col.security": {"fr": "Mesures de sécurité (g)", "en": "Security measures (g)"},
    "ropa.col.automated": {"fr": "Profilage ou décision automatisée", "en": "Profiling or automated decision"},
    "ropa.col.systems": {"fr": "Systèmes", "en": "Systems"},
    "ropa.no_transfer": {
        "fr": "Aucun — tous les destinataires sont dans les pays autorisés : {countries}",
        "en": "None — all recipients are in allowed countries: {countries}",
    },
    "ropa.no_system": {"fr": "Aucun système déclaré", "en": "No system declared"},
    "ropa.dpo_choice": {"fr": "désignation : choix de l’organisation", "en": "designation: organisation’s choice"},
}

MONTHS: Final[dict[Lang, tuple[str, ...]]] = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}

#: Duration units as (singular, plural); French uses the singular for 0 and 1.
UNITS: Final[dict[Lang, dict[str, tuple[str, str]]]] = {
    "fr": {"years": ("an", "ans"), "months": ("mois", "mois"), "days": ("jour", "jours"),
           "hours": ("heure", "heures"), "minutes": ("minute", "minutes"), "seconds": ("seconde", "secondes")},
    "en": {"years": ("year", "years"), "months": ("month", "months"), "days": ("day", "days"),
           "hours": ("hour", "hours"), "minutes": ("minute", "minutes"), "seconds": ("second", "seconds")},
}
SESSION: Final[dict[Lang, str]] = {"fr": "durée de la session", "en": "session"}

LEGAL_BASES: Final[dict[str, tuple[str, dict[Lang, str]]]] = {
    # basis: (point of Art. 6(1), name)
    "consent": ("a", {"fr": "Consentement", "en": "Consent"}),
    "contract": ("b", {"fr": "Contrat", "en": "Contract"}),
    "legal_obligation": ("c", {"fr": "Obligation légale", "en": "Legal obligation"}),
    "vital_interests": ("d", {"fr": "Sauvegarde des intérêts vitaux", "en": "Vital interests"}),
    "public_task": ("e", {"fr": "Mission d’intérêt public", "en": "Public task"}),
    "legitimate_interest": ("f", {"fr": "Intérêt légitime", "en": "Legitimate interest"}),
}

ART9_NAMES: Final[dict[str, dict[Lang, str]]] = {
    "explicit_consent": {"fr": "consentement explicite", "en": "explicit consent"},
    "employment_social_security": {
        "fr": "obligations en matière de droit du travail et de protection sociale",
        "en": "employment and social security obligations",
    },
    "vital_interests": {"fr": "sauvegarde des intérêts vitaux", "en": "vital interests"},
    "non_profit_members": {
        "fr": "activités d’un organisme à but non lucratif envers ses membres",
        "en": "members of a not-for-profit body",
    },
    "made_public_by_subject": {
        "fr": "données manifestement rendues publiques par la personne concernée",
        "en": "data manifestly made public by the data subject",
    },
    "legal_claims": {
        "fr": "constatation, exercice ou défense d’un droit en justice",
        "en": "establishment, exercise or defence of legal claims",
    },
    "substantial_public_interest": {"fr": "motif d’intérêt public important", "en": "substantial public interest"},
    "health_or_social_care": {
        "fr": "médecine préventive, diagnostics, soins ou prise en charge sanitaire ou sociale",
        "en": "preventive medicine, diagnosis, health or social care",
    },
    "public_health": {"fr": "intérêt public dans le domaine de la santé publique", "en": "public health"},
    "archiving_research_statistics": {
        "fr": "archives dans l’intérêt public, recherche scientifique ou historique, statistiques",
        "en": "archiving in the public interest, scientific or historical research, statistics",
    },
}

#: How each retention start event reads after a period ("3 ans à compter du dernier contact").
RETENTION_STARTS: Final[dict[str, dict[Lang, str]]] = {
    "collection": {"fr": "à compter de la collecte", "en": "from collection"},
    "last_contact": {"fr": "à compter du dernier contact", "en": "from last contact"},
    "last_purchase": {"fr": "à compter du dernier achat", "en": "from the last purchase"},
    "last_activity": {"fr": "à compter de la dernière activité", "en": "from the last activity"},
    "last_login": {"fr": "à compter de la dernière connexion", "en": "from the last log-in"},
    "end_of_contract": {"fr": "à compter de la fin du contrat", "en": "from the end of the contract"},
    "end_of_relationship": {
        "fr": "à compter de la fin de la relation commerciale",
        "en": "from the end of the business relationship",
    },
    "end_of_financial_year": {
        "fr": "à compter de la clôture de l’exercice comptable",
        "en": "from the end of the financial year",
    },
    "end_of_training": {"fr": "à compter de la fin de la formation", "en": "from the end of the training"},
    "account_closure": {"fr": "à compter de la clôture du compte", "en": "from account closure"},
    "consent": {"fr": "à compter du recueil du consentement", "en": "from when consent was given"},
    "withdrawal": {"fr": "à compter du retrait du consentement", "en": "from consent withdrawal"},
    "request": {"fr": "à compter de la demande", "en": "from the request"},
}
RETENTION_START_FALLBACK: Final[dict[Lang, str]] = {"fr": "à compter de : {event}", "en": "from {event}"}

GDPR: Final[dict[Lang, str]] = {"fr": "art. {article} RGPD", "en": "GDPR Art. {article}"}

EEA_NAME: Final[dict[Lang, str]] = {"fr": "Espace économique européen (EEE)", "en": "European Economic Area (EEA)"}

COUNTRIES: Final[dict[str, dict[Lang, str]]] = {
    "AT": {"fr": "Autriche", "en": "Austria"}, "BE": {"fr": "Belgique", "en": "Belgium"},
    "BG": {"fr": "Bulgarie", "en": "Bulgaria"}, "HR": {"fr": "Croatie", "en": "Croatia"},
    "CY": {"fr": "Chypre", "en": "Cyprus"}, "CZ": {"fr": "Tchéquie", "en": "Czechia"},
    "DK": {"fr": "Danemark", "en": "Denmark"}, "EE": {"fr": "Estonie", "en": "Estonia"},
    "FI": {"fr": "Finlande", "en": "Finland"}, "FR": {"fr": "France", "en": "France"},
    "DE": {"fr": "Allemagne", "en": "Germany"}, "GR": {"fr": "Grèce", "en": "Greece"},
    "HU": {"fr": "Hongrie", "en": "Hungary"}, "IE": {"fr": "Irlande", "en": "Ireland"},
    "IT": {"fr": "Italie", "en": "Italy"}, "LV": {"fr": "Lettonie", "en": "Latvia"},
    "LT": {"fr": "Lituanie", "en": "Lithuania"}, "LU": {"fr": "Luxembourg", "en": "Luxembourg"},
    "MT": {"fr": "Malte", "en": "Malta"}, "NL": {"fr": "Pays-Bas", "en": "Netherlands"},
    "PL": {"fr": "Pologne", "en": "Poland"}, "PT": {"fr": "Portugal", "en": "Portugal"},
    "RO": {"fr": "Roumanie", "en": "Romania"}, "SK": {"fr": "Slovaquie", "en": "Slovakia"},
    "SI": {"fr": "Slovénie", "en": "Slovenia"}, "ES": {"fr": "Espagne", "en": "Spain"},
    "SE": {"fr": "Suède", "en": "Sweden"}, "IS": {"fr": "Islande", "en": "Iceland"},
    "LI": {"fr": "Liechtenstein", "en": "Liechtenstein"}, "NO": {"fr": "Norvège", "en": "Norway"},
    "CH": {"fr": "Suisse", "en": "Switzerland"}, "GB": {"fr": "Royaume-Uni", "en": "United Kingdom"},
    "US": {"fr": "États-Unis", "en": "United States"}, "CA": {"fr": "Canada", "en": "Canada"},
    "JP": {"fr": "Japon", "en": "Japan"}, "KR": {"fr": "Corée du Sud", "en": "South Korea"},
    "IL": {"fr": "Israël", "en": "Israel"}, "NZ": {"fr": "Nouvelle-Zélande", "en": "New Zealand"},
    "AU": {"fr": "Australie", "en": "Australia"}, "IN": {"fr": "Inde", "en": "India"},
    "SG": {"fr": "Singapour", "en": "Singapore"}, "MA": {"fr": "Maroc", "en": "Morocco"},
    "TN": {"fr": "Tunisie", "en": "Tunisia"},
}


def text(key: str, lang: Lang, **values: object) -> str:
    """The fixed sentence ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``."""
    template = STRINGS[key][lang]
    return template.format(**values) if values else template
