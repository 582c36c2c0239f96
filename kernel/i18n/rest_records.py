"""Swedish and English texts of the rest records: "Min vilotid" and the findings on the dashboard."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "nav.rest": ("Min vilotid", "My rest time"),
    "rest.title": ("Min vilotid", "My rest time"),
    "rest.intro": (
        "Dina viloperioder som bröts av kontakter, den kompensationsvila du har rätt till och vad som "
        "har beviljats. Arbetstidslagen ger dig och ditt fack rätt att se detta. Uppgifterna sparas för "
        "innevarande år och de två föregående, oavsett hur länge meddelanden sparas.",
        "Your rest periods that contacts broke, the compensatory rest you are owed and what has been "
        "granted. The Working Hours Act gives you and your union the right to see this. The record is "
        "kept for the current year and the two before it, however long messages are kept.",
    ),
    "rest.year": ("År", "Year"),
    "rest.csv": ("Ladda ner som CSV", "Download as CSV"),
    "rest.owed": ("Kompensationsvila", "Compensatory rest"),
    "rest.owed_total": ("Att få", "Owed"),
    "rest.granted_total": ("Beviljad", "Granted"),
    "rest.outstanding": ("Kvar", "Outstanding"),
    "rest.minutes": ("{n} min", "{n} min"),
    "rest.periods": ("Viloperioder med kontakter", "Rest periods with contacts"),
    "rest.none": ("Inga kontakter under vila detta år.", "No contacts during rest this year."),
    "rest.period": ("Viloperiod", "Rest period"),
    "rest.kind.daily": ("dygnsvila", "daily rest"),
    "rest.kind.weekly": ("veckovila", "weekly rest"),
    "rest.from": ("Från arbetets slut", "From the end of work"),
    "rest.to": ("Till nästa arbetspass", "To the next start of work"),
    "rest.open": ("inte känt än", "not known yet"),
    "rest.required": ("Krävs", "Required"),
    "rest.after_last": ("Vila efter sista kontakten", "Rest after the last contact"),
    "rest.period_owed": ("Förlorad vila", "Rest lost"),
    "rest.due": ("Ska ges senast", "Due by"),
    "rest.contacts": ("Kontakter", "Contacts"),
    "rest.at": ("När", "When"),
    "rest.contact_kind": ("Typ", "Kind"),
    "rest.reason": ("Skäl", "Reason"),
    "rest.sender": ("Avsändare", "Sender"),
    "rest.share": ("Andel (min)", "Share (min)"),
    "rest.contact.emergency": ("larm", "emergency"),
    "rest.contact.on_call": ("jour/beredskap", "on call"),
    "rest.contact.on_duty": ("i tjänst", "on duty"),
    "rest.contact.override": ("bruten vila (åsidosättande)", "override"),
    "rest.other": ("Kontakter under arbetstid som loggats", "Logged contacts during working time"),
    "rest.findings": ("Avvikelser", "Findings"),
    "rest.no_findings": ("Inga avvikelser detta år.", "No findings this year."),
    "rest.finding.weekly_rest": (
        "Vecka {period}: längsta vila {longest} av {required} timmar ({cause})",
        "Week {period}: longest rest {longest} of {required} hours ({cause})",
    ),
    "rest.finding.jour_limit": (
        "Jour {hours} timmar {start}–{end}, gräns {limit} timmar ({period})",
        "Jour {hours} hours {start}–{end}, limit {limit} hours ({period})",
    ),
    "rest.cause.stand_by": ("bruten av beredskap", "broken by stand-by"),
    "rest.cause.contacts": ("bruten av kontakter", "broken by contacts"),
    "rest.cause.schedule": ("schemat ger inte veckovila", "the schedule leaves no weekly rest"),
    "rest.basis.four_weeks": ("fyra veckor", "four weeks"),
    "rest.basis.month": ("kalendermånad", "calendar month"),
    "rest.check.warning": (
        "Det här undantaget skulle ge avvikelser mot arbetstidsreglerna:",
        "This override would break the working-time rules:",
    ),
    "rest.check.save_anyway": ("Spara ändå", "Save anyway"),
    "rest.check.jour": (
        "{name}: {hours} timmar jour ({basis}), gränsen är {limit} timmar",
        "{name}: {hours} hours of jour ({basis}), the limit is {limit} hours",
    ),
    "rest.check.weekly": (
        "{name}: ingen veckovila vecka {week} ({cause})",
        "{name}: no weekly rest in week {week} ({cause})",
    ),
    "dash.weekly_rest": (
        "Personer utan veckovila (36 timmar) per vecka och grupp",
        "People without weekly rest (36 hours) per week and group",
    ),
    "dash.jour_limits": (
        "Personer över jourgränsen (48 timmar på fyra veckor eller 50 timmar i en kalendermånad)",
        "People above the jour limit (48 hours in four weeks or 50 hours in a calendar month)",
    ),
    "dash.jour.four_weeks": ("över 48 h på fyra veckor", "over 48 h in four weeks"),
    "dash.jour.month": ("över 50 h i en månad", "over 50 h in a month"),
}
