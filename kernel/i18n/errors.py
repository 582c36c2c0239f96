"""Swedish and English words for the API's errors as a page shows them: what went wrong and what
to do, by the error's code (`{error, message}`), by validation type, and the names of the fields
a person filled in. `showError()` in app.js reads them; any page gets them by using `api()`."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "err.invalid": (
        "Uppgifterna kunde inte godtas. Rätta det som anges och försök igen.",
        "The details could not be accepted. Correct what is named and try again.",
    ),
    "err.forbidden": (
        "Du har inte behörighet att göra detta. Be din chef eller Vilas administratör om hjälp.",
        "You are not allowed to do this. Ask your manager or Vila's administrator for help.",
    ),
    "err.not_found": (
        "Det du försökte nå finns inte längre eller syns inte för dig. Ladda om sidan.",
        "What you tried to reach no longer exists or is not visible to you. Reload the page.",
    ),
    "err.conflict": (
        "Ändringen krockar med något som redan är sparat. Ladda om sidan och försök igen.",
        "The change conflicts with something already saved. Reload the page and try again.",
    ),
    "err.payload_too_large": (
        "Meddelandet är för långt för en pushnotis ({bytes} av högst {limit} byte). Korta rubriken, "
        "texten eller länken.",
        "The message is too long for a push notification ({bytes} of at most {limit} bytes). Shorten "
        "the title, the text or the link.",
    ),
    "err.rate_limited": (
        "För många försök på kort tid. Vänta en stund och försök igen.",
        "Too many attempts in a short time. Wait a while and try again.",
    ),
    "err.not_authenticated": (
        "Du är inte inloggad längre. Logga in igen.",
        "You are no longer signed in. Sign in again.",
    ),
    "err.csrf": (
        "Sidan är för gammal för att spara ändringar. Ladda om sidan och försök igen.",
        "The page is too old to save changes. Reload the page and try again.",
    ),
    "err.internal": (
        "Något gick fel i Vila. Felet är loggat; försök igen om en stund eller kontakta Vilas administratör.",
        "Something went wrong in Vila. The error is logged; try again in a while or contact Vila's administrator.",
    ),
    "err.network": (
        "Vila svarar inte. Kontrollera nätverksanslutningen och försök igen.",
        "Vila is not answering. Check the network connection and try again.",
    ),
    "err.unknown": (
        "Något gick fel ({status}). Försök igen; kvarstår felet, kontakta Vilas administratör.",
        "Something went wrong ({status}). Try again; if it persists, contact Vila's administrator.",
    ),
    "err.server_said": ("Vilas svar", "Vila's answer"),
    "err.field_unknown": ("Ett fält", "A field"),
    # pydantic's validation types, in a person's words
    "err.type.missing": ("måste fyllas i", "must be filled in"),
    "err.type.string_too_short": ("måste fyllas i", "must be filled in"),
    "err.type.string_too_long": ("får vara högst {max_length} tecken", "may be at most {max_length} characters"),
    "err.type.too_long": ("får ha högst {max_length} val", "may have at most {max_length} choices"),
    "err.type.greater_than_equal": ("måste vara minst {ge}", "must be at least {ge}"),
    "err.type.less_than_equal": ("får vara högst {le}", "may be at most {le}"),
    "err.type.greater_than": ("måste vara större än {gt}", "must be greater than {gt}"),
    "err.type.less_than": ("måste vara mindre än {lt}", "must be less than {lt}"),
    "err.type.datetime_from_date_parsing": ("är inte en giltig tidpunkt", "is not a valid date and time"),
    "err.type.datetime_parsing": ("är inte en giltig tidpunkt", "is not a valid date and time"),
    "err.type.timezone_aware": ("är inte en giltig tidpunkt", "is not a valid date and time"),
    "err.type.time_parsing": ("är inte ett giltigt klockslag", "is not a valid time"),
    "err.type.int_parsing": ("måste vara ett heltal", "must be a whole number"),
    "err.type.float_parsing": ("måste vara ett tal", "must be a number"),
    "err.type.uuid_parsing": ("är inte ett giltigt val", "is not a valid choice"),
    "err.type.literal_error": ("är inte ett giltigt val", "is not a valid choice"),
    "err.type.enum": ("är inte ett giltigt val", "is not a valid choice"),
    "err.type.string_pattern_mismatch": ("har fel format", "has the wrong format"),
    "err.type.extra_forbidden": ("känns inte igen", "is not recognised"),
    "err.type.value_error": ("är inte giltigt", "is not valid"),
    # the validators' own sentences Vila knows, said for the whole form
    "err.rule.end_after_start": ("Sluttiden måste vara efter starttiden.", "The end must be after the start."),
    "err.rule.emergency_reason": (
        "Ett katastrofmeddelande kräver ett skäl.",
        "An emergency message needs a reason.",
    ),
    "err.rule.ack_priority": (
        "Kvittens kan bara begäras för brådskande meddelanden och katastrofmeddelanden.",
        "An acknowledgement can only be asked for urgent and emergency messages.",
    ),
    "err.rule.deep_link": (
        "Länken måste börja med https:// (eller vara en applänk som msteams:).",
        "The link must start with https:// (or be an app link such as msteams:).",
    ),
    "err.rule.expires_past": ("Sista giltighetstiden har redan passerat.", "The expiry has already passed."),
    "err.rule.nobody_on_call": (
        "Ingen har jour för den rollen just nu. Välj en grupp eller personer i stället.",
        "Nobody is on call for that role right now. Choose a group or people instead.",
    ),
    "err.rule.no_member": (
        "Mottagarlistan har ingen aktiv medlem. Välj andra mottagare.",
        "The audience has no active member. Choose other recipients.",
    ),
    "err.rule.no_audience": (
        "Välj minst en grupp, person eller jourroll som mottagare.",
        "Choose at least one group, person or on-call role as recipients.",
    ),
    "err.rule.window_empty": (
        "Start och slut kan inte vara samma klockslag.",
        "Start and end cannot be the same time.",
    ),
    "err.rule.minutes_or_until": ("Välj antingen en längd eller ett klockslag.", "Choose either a length or a time."),
    "err.rule.override_overlap": (
        "Undantaget överlappar ett annat undantag i listan. Ta bort eller korta det andra först.",
        "The override overlaps another override of this roster. Remove or shorten that one first.",
    ),
    "err.rule.imei_check": (
        "IMEI-numret har fel kontrollsiffra. Kontrollera de 15 siffrorna (de står på förpackningen "
        "och visas när man slår *#06#).",
        "The IMEI has a wrong check digit. Check the 15 digits (they are on the box and shown when you dial *#06#).",
    ),
    "err.rule.only_your_groups": (
        "Du kan bara ändra i grupper du är chef för och deras undergrupper.",
        "You can only make changes in the groups you manage and their subgroups.",
    ),
    "err.rule.not_your_group": (
        "Du kan bara skicka till grupper du är chef för.",
        "You can only send to groups you manage.",
    ),
    # the names of the fields a person fills in (a validation error's `field`, last part)
    "field.title": ("Rubrik", "Title"),
    "field.body": ("Text", "Text"),
    "field.priority": ("Prioritet", "Priority"),
    "field.audience": ("Mottagare", "Recipients"),
    "field.groups": ("Grupper", "Groups"),
    "field.people": ("Personer", "People"),
    "field.roles": ("Jourroller", "On-call roles"),
    "field.expires_at": ("Gäller till", "Valid until"),
    "field.deep_link": ("Länk", "Link"),
    "field.override_reason": ("Skäl", "Reason"),
    "field.ack_timeout_minutes": ("Kvittens inom (minuter)", "Acknowledge within (minutes)"),
    "field.start": ("Från", "From"),
    "field.end": ("Till", "To"),
    "field.until": ("Till klockan", "Until"),
    "field.minutes": ("Minuter", "Minutes"),
    "field.kind": ("Typ", "Kind"),
    "field.name": ("Namn", "Name"),
    "field.note": ("Anteckning", "Note"),
    "field.approval_note": ("Beslutsnotering", "Approval note"),
    "field.effective_from": ("Gäller från", "Effective from"),
    "field.daily_rest_hours": ("Dygnsvila", "Daily rest"),
    "field.weekly_rest_hours": ("Veckovila", "Weekly rest"),
    "field.override_weekly_cap": ("Högst antal åsidosättanden", "Most overrides"),
    "field.compensatory_days": ("Kompensationsvila inom", "Compensatory rest within"),
    "field.windows": ("Tysta timmar", "Quiet hours"),
    "field.days": ("Dagar", "Days"),
    "field.person_id": ("Person", "Person"),
    "field.imei": ("IMEI", "IMEI"),
    "field.serial": ("Serienummer", "Serial number"),
    "field.model": ("Modell", "Model"),
    "field.phone_number": ("Telefonnummer", "Phone number"),
}

# Sentences the API's validators say, matched as a part of the API's message, and the catalog key that says
# the same in the reader's language. Anything else falls back to the code's text.
KNOWN_MESSAGES: dict[str, str] = {
    "end must be after start": "err.rule.end_after_start",
    "has a wrong check digit": "err.rule.imei_check",
    "you may act only on the groups you manage": "err.rule.only_your_groups",
    "the override overlaps another override": "err.rule.override_overlap",
    "planned_end must be after planned_start": "err.rule.end_after_start",
    "end_date must be after start_date": "err.rule.end_after_start",
    "an emergency needs a stated reason": "err.rule.emergency_reason",
    "the audience names no group, person or role": "err.rule.no_audience",
    "start and end must differ": "err.rule.window_empty",
    "give either minutes or until": "err.rule.minutes_or_until",
    "an emergency message needs a reason": "err.rule.emergency_reason",
    "requires_ack is for urgent": "err.rule.ack_priority",
    "a deep link must be": "err.rule.deep_link",
    "expires_at is in the past": "err.rule.expires_past",
    "nobody is on call for the role": "err.rule.nobody_on_call",
    "the audience has no active member": "err.rule.no_member",
    "some of the people named are not in a group you manage": "err.rule.not_your_group",
}
