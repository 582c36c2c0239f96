"""The pilot evaluation's words: the survey, its reminder, the report and the pilot pages."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # Survey --------------------------------------------------------------------------------------
    "survey.wave.baseline": ("Före (baslinje)", "Before (baseline)"),
    "survey.wave.midpoint": ("Halvvägs", "Mid-point"),
    "survey.wave.final": ("Efter (slutmätning)", "After (final)"),
    "survey.item.reachability": (
        "Jag upplever att det förväntas att jag alltid ska vara nåbar, även utanför arbetstid.",
        "I feel that I am expected to be reachable at all times, also outside working time.",
    ),
    "survey.item.stress": (
        "Arbetsrelaterade kontakter utanför arbetstid gör mig stressad.",
        "Work contacts outside working time make me stressed.",
    ),
    "survey.item.coordination": (
        "Jag får den information jag behöver för att vi i arbetsgruppen ska gå i takt.",
        "I get the information I need for our team to move in step.",
    ),
    "survey.item.information": (
        "Jag kan ta del av information (Teams, Outlook, utbildningar) när det passar mig.",
        "I can read information (Teams, Outlook, training) when it suits me.",
    ),
    "survey.item.disturbance": (
        "Telefonen eller surfplattan stör mig i möten med patienter.",
        "The phone or tablet disturbs me in meetings with patients.",
    ),
    "survey.short.reachability": ("Förväntan att vara nåbar", "Expected to be reachable"),
    "survey.short.stress": ("Stress av kontakter efter arbetstid", "Stress from after-hours contacts"),
    "survey.short.coordination": ("Går i takt", "Team in step"),
    "survey.short.information": ("Information när det passar", "Information when it suits"),
    "survey.short.disturbance": ("Stör i patientmöten", "Disturbs patient meetings"),
    "survey.scale.1": ("Stämmer inte alls", "Does not apply at all"),
    "survey.scale.2": ("Stämmer dåligt", "Applies poorly"),
    "survey.scale.3": ("Stämmer delvis", "Applies partly"),
    "survey.scale.4": ("Stämmer ganska bra", "Applies fairly well"),
    "survey.scale.5": ("Stämmer helt", "Applies completely"),
    "survey.free_text": ("Vill du berätta något mer? (frivilligt)", "Anything else you want to tell us? (optional)"),
    "survey.free_text_help": (
        "Skriv inte namn eller något som pekar ut dig eller någon annan.",
        "Do not write names or anything that points to you or anyone else.",
    ),
    "survey.title": ("Enkäter", "Surveys"),
    "survey.intro": (
        "Här svarar du på enkäterna i piloten med arbetstelefoner och surfplattor. Det tar ett par minuter.",
        "Here you answer the surveys of the pilot with work phones and tablets. It takes a couple of minutes.",
    ),
    "survey.anonymity": (
        "Dina svar är anonyma. Vila sparar att du har svarat (för påminnelser), men inte vad du svarade: "
        "svaret sparas utan koppling till dig och utan tidpunkt. Resultat visas bara för grupper med minst "
        "5 svar och först när enkäten har stängt. Fritextsvar läses bara av utvärderaren. Eftersom svaret "
        "inte är kopplat till dig kan du inte ändra det efteråt.",
        "Your answers are anonymous. Vila keeps that you have answered (for reminders), but not what you "
        "answered: the answer is stored without a link to you and without a time. Results are shown only "
        "for groups of at least 5 answers, and only once the survey has closed. Only the evaluator reads "
        "free-text answers. As the answer is not linked to you, you cannot change it afterwards.",
    ),
    "survey.none": ("Du har inga öppna enkäter just nu.", "You have no open surveys right now."),
    "survey.open_until": ("Öppen till {when}", "Open until {when}"),
    "survey.answer": ("Svara", "Answer"),
    "survey.submit": ("Skicka mina svar", "Send my answers"),
    "survey.answered": ("Du har svarat. Tack!", "You have answered. Thank you!"),
    "survey.thanks": ("Tack! Ditt svar är sparat anonymt.", "Thank you! Your answer is stored anonymously."),
    "survey.required": ("Svara på alla påståenden.", "Answer every statement."),
    "survey.reminder.title": ("Påminnelse: enkät om arbetsenheter", "Reminder: survey on work devices"),
    "survey.reminder.body": (
        'Enkäten "{wave}" i {pilot} är öppen till {when}. Den tar ett par minuter och dina svar är anonyma.',
        'The "{wave}" survey of {pilot} is open until {when}. It takes a couple of minutes and your '
        "answers are anonymous.",
    ),
    "survey.reminder.audience": ("Påminnelse om enkät", "Survey reminder"),
    # Pages ---------------------------------------------------------------------------------------
    "pilots.title": ("Pilotutvärdering", "Pilot evaluation"),
    "report.participants_short": (
        "{n} deltagare, {c} i jämförelsegruppen",
        "{n} participants, {c} in the comparison group",
    ),
    "pilots.none": ("Det finns inga piloter än.", "There are no pilots yet."),
    "pilots.open": ("Öppna rapporten", "Open the report"),
    "pilots.download": ("Ladda ner", "Download"),
    "pilots.pdf": ("PDF", "PDF"),
    "pilots.json": ("JSON", "JSON"),
    "pilots.results_csv": ("Enkätresultat (CSV)", "Survey results (CSV)"),
    "pilots.free_text": ("Fritextsvar (CSV, endast utvärderare)", "Free-text answers (CSV, evaluator only)"),
    "pilots.print": ("Skriv ut", "Print"),
    "costs.edit": ("Ändra kalkylens antaganden", "Change the cost model's assumptions"),
    "costs.save": ("Spara och räkna om", "Save and recalculate"),
    "costs.saved": ("Sparat. Rapporten räknas om.", "Saved. The report is recalculated."),
    "costs.rollout_add": ("Lägg till yrke", "Add profession"),
    "costs.rollout_remove": ("Ta bort {profession}", "Remove {profession}"),
    # Report --------------------------------------------------------------------------------------
    "report.title": ("Utvärdering: {name}", "Evaluation: {name}"),
    "report.for_board": ("Rapport till regionstyrelsen", "Report to the regional board"),
    "report.period": ("Period", "Period"),
    "report.status": ("Status", "Status"),
    "report.status.planned": ("planerad", "planned"),
    "report.status.running": ("pågår", "running"),
    "report.status.finished": ("avslutad", "finished"),
    "report.generated": ("Framtagen {when}", "Produced {when}"),
    "report.participants": (
        "{n} deltagare i {p} yrken: {phones} med telefon och {tablets} med surfplatta.",
        "{n} participants in {p} professions: {phones} with a phone and {tablets} with a tablet.",
    ),
    "report.comparison": (
        "Jämförelsegrupp utan pilotenhet: {n} personer.",
        "Comparison group without a pilot device: {n} people.",
    ),
    "report.anonymity": (
        "Enkäterna är anonyma. Resultat visas bara för grupper med minst {min} svar och först när enkäten "
        "har stängt; en grupp med färre svar visas inte. Om två visade grupper tillsammans skulle avslöja "
        "färre än {min} svar, döljs även den minsta av dem. Samma regel gäller användningssiffrorna, räknat "
        "i personer.",
        "The surveys are anonymous. Results are shown only for groups of at least {min} answers and only once "
        "the survey has closed; a group with fewer answers is not shown. Where two shown groups together would "
        "give away fewer than {min} answers, the smallest of them is hidden too. The same rule applies to the "
        "usage figures, counted in people.",
    ),
    "report.hidden": ("färre än {min}", "fewer than {min}"),
    "report.hidden_long": ("Visas inte: färre än {min} svar eller personer", "Not shown: fewer than {min}"),
    "report.summary": ("Sammanfattning", "Summary"),
    "report.summary.worry": (
        "Förväntan att alltid vara nåbar (1–5) i pilotgruppen: {before} före, {after} efter ({delta}).",
        "Expectation to be reachable at all times (1–5) in the pilot group: {before} before, {after} after ({delta}).",
    ),
    "report.summary.worry_comparison": (
        "I jämförelsegruppen: {before} före, {after} efter ({delta}).",
        "In the comparison group: {before} before, {after} after ({delta}).",
    ),
    "report.summary.worry_hidden": (
        "Förändringen i förväntan att vara nåbar kan inte visas (färre än {min} svar eller enkäten är inte stängd).",
        "The change in the expectation to be reachable cannot be shown (fewer than {min} answers, or the survey "
        "has not closed).",
    ),
    "report.summary.benefit": (
        "Störst upplevd nytta: {profession} (går i takt {coordination}, information när det passar {information}).",
        "Largest perceived benefit: {profession} (team in step {coordination}, information when it suits "
        "{information}).",
    ),
    "report.summary.usage": (
        "{at_once} av meddelandena nådde mottagaren direkt; {held} väntade till arbetstid. "
        "{contacts} kontakter under vila per person och vecka.",
        "{at_once} of the messages reached the recipient at once; {held} waited for working time. "
        "{contacts} contacts during rest per person and week.",
    ),
    "report.summary.costs": (
        "Införande {intro} per person; drift {operation} per person och år.",
        "Introduction {intro} per person; operation {operation} per person and year.",
    ),
    "report.summary.rollout": (
        "Bred utrullning till {people} personer: införande {intro}, drift {operation} per år.",
        "Broad roll-out to {people} people: introduction {intro}, operation {operation} per year.",
    ),
    "report.benefit": ("Nytta per yrke", "Benefit per profession"),
    "report.benefit_intro": (
        "Förändring från före till efter, på en skala 1–5. Staplar åt höger är en förbättring: mindre "
        "förväntan att vara nåbar, mindre stress och störning, bättre samordning och information.",
        "Change from before to after, on a scale of 1–5. Bars to the right are an improvement: less "
        "expectation to be reachable, less stress and disturbance, better coordination and information.",
    ),
    "report.benefit_chart": ("Förbättring före → efter per yrke", "Improvement before → after per profession"),
    "report.benefit_table": ("Före → efter per yrke (förändring)", "Before → after per profession (change)"),
    "report.usage_chart": ("Meddelanden per person och vecka, per yrke", "Messages per person and week, by profession"),
    "report.worry": ("Oron att alltid vara nåbar", "The worry of always being reachable"),
    "report.worry_intro": (
        'Medelvärde för påståendet: "{item}" (1 = stämmer inte alls, 5 = stämmer helt). Lägre är bättre.',
        'Mean agreement with: "{item}" (1 = does not apply at all, 5 = applies completely). Lower is better.',
    ),
    "report.worry_chart": ("Förväntan att vara nåbar per mättillfälle", "Expectation to be reachable per wave"),
    "report.survey_table": ("Enkätresultat per grupp och mättillfälle", "Survey results per group and wave"),
    "report.not_closed": ("inte stängd", "not closed"),
    "report.usage": ("Användning", "Usage"),
    "report.usage_intro": (
        "Siffrorna kommer från det Vila registrerar: meddelanden, beslut, vilobokföring och enheter under "
        "pilotperioden ({weeks} veckor). Kvitteringstider räknas bara när meddelandet nådde personen under "
        "arbetstid och kvitterades under arbetstid inom {hours} timmar; läsning och kvittering under vila "
        "räknas och visas aldrig.",
        "The figures come from what Vila records: messages, decisions, the rest ledger and devices during "
        "the pilot ({weeks} weeks). Acknowledgement times count only when the message reached the person "
        "in working time and was acknowledged in working time within {hours} hours; reading and "
        "acknowledging during rest are never counted or shown.",
    ),
    "report.costs": ("Kostnader", "Costs"),
    "report.costs_intro": (
        "Kronor exklusive moms. Införande är engångskostnaden; drift är kostnaden per år, där avskrivningen "
        "står för att enheterna byts ut.",
        "Swedish kronor excluding VAT. Introduction is the one-off cost; operation is the cost per year, where "
        "depreciation stands for replacing the devices.",
    ),
    "report.costs_per_device": ("Per person och enhetstyp", "Per person and device kind"),
    "report.costs_per_profession": ("Piloten per yrke", "The pilot per profession"),
    "report.rollout": ("Bred utrullning", "Broad roll-out"),
    "report.rollout_none": (
        "Fyll i antal personer per yrke för att räkna på en bred utrullning.",
        "Fill in the headcount per profession to cost a broad roll-out.",
    ),
    "report.assumptions": ("Antaganden och indata", "Assumptions and inputs"),
    "report.source.assumption": ("antagande (standardvärde)", "assumption (default)"),
    "report.source.entered": ("angivet", "entered"),
    "report.source.fleet": ("enhetsregistret, medel av {n}", "fleet register, average of {n}"),
    "report.open_questions": ("Öppna frågor", "Open questions"),
    "report.open_questions_none": ("Inga öppna frågor är antecknade.", "No open questions are noted."),
    "report.method": ("Metod", "Method"),
    "report.method_text": (
        "Deltagarna besvarade samma enkät före, halvvägs och efter piloten. Svaren kopplas inte till person, "
        "så jämförelsen gäller gruppernas medelvärden, inte enskilda personers förändring. Jämförelsegruppen "
        "fick ingen pilotenhet och visar vad som förändrades ändå.",
        "Participants answered the same survey before, half-way and after the pilot. Answers are not linked to "
        "people, so the comparison is between group means, not of each person's change. The comparison group "
        "got no pilot device and shows what changed anyway.",
    ),
    # Table headings and labels
    "col.group": ("Grupp", "Group"),
    "col.profession": ("Yrke", "Profession"),
    "col.device_kind": ("Enhet", "Device"),
    "col.people": ("Personer", "People"),
    "col.answers": ("Svar", "Answers"),
    "col.wave": ("Mättillfälle", "Wave"),
    "col.item": ("Påstående", "Statement"),
    "col.cost_line": ("Kostnadspost", "Cost item"),
    "col.before": ("Före", "Before"),
    "col.after": ("Efter", "After"),
    "col.change": ("Förändring", "Change"),
    "col.received": ("Meddelanden per person och vecka", "Messages per person and week"),
    "col.at_once": ("Direkt", "At once"),
    "col.held": ("Väntade", "Held"),
    "col.contacts": ("Kontakter under vila per person och vecka", "Contacts during rest per person and week"),
    "col.rest_breaks": ("Bruten vila per person och vecka", "Broken rest per person and week"),
    "col.overrides": ("Åsidosättanden", "Overrides"),
    "col.ack": ("Kvitteringstid, median (min)", "Acknowledgement time, median (min)"),
    "col.silent": ("Enheter utan incheckning (14 dagar)", "Devices without check-in (14 days)"),
    "col.no_device": ("Utan registrerad enhet", "Without a registered device"),
    "col.introduction": ("Införande", "Introduction"),
    "col.operation": ("Drift per år", "Operation per year"),
    "col.introduction_pp": ("Införande per person", "Introduction per person"),
    "col.operation_pp": ("Drift per person och år", "Operation per person and year"),
    "col.headcount": ("Antal personer", "Headcount"),
    "col.loaners": ("Lånepool", "Loaner pool"),
    "col.input": ("Indata", "Input"),
    "col.value": ("Värde", "Value"),
    "col.source": ("Källa", "Source"),
    "col.total": ("Totalt", "Total"),
    "group.pilot": ("Pilotgruppen", "Pilot group"),
    "group.comparison": ("Jämförelsegruppen", "Comparison group"),
    "kind.phone": ("Telefon", "Phone"),
    "kind.tablet": ("Surfplatta", "Tablet"),
    "cost.device": ("Enhet", "Device"),
    "cost.training": ("Utbildning", "Training"),
    "cost.depreciation": ("Avskrivning", "Depreciation"),
    "cost.subscription": ("Abonnemang", "Subscription"),
    "cost.licence": ("Licens för enhetshantering", "Device-management licence"),
    "cost.admin": ("IT-administration", "IT administration"),
    "cost.support": ("Support", "Support"),
    "input.phone_price": ("Pris telefon", "Phone price"),
    "input.tablet_price": ("Pris surfplatta", "Tablet price"),
    "input.depreciation_years": ("Avskrivningstid (år)", "Depreciation (years)"),
    "input.phone_subscription_per_month": ("Abonnemang telefon per månad", "Phone subscription per month"),
    "input.tablet_subscription_per_month": ("Abonnemang surfplatta per månad", "Tablet subscription per month"),
    "input.licence_per_device_per_month": (
        "Licens för enhetshantering per enhet och månad",
        "Device-management licence per device and month",
    ),
    "input.admin_hours_per_device_per_year": (
        "IT-administration, timmar per enhet och år",
        "IT administration, hours per device and year",
    ),
    "input.admin_hourly_cost": ("Timkostnad IT-administration", "Hourly cost of IT administration"),
    "input.support_cases_per_device_per_year": ("Supportärenden per enhet och år", "Support cases per device and year"),
    "input.support_cost_per_case": ("Kostnad per supportärende", "Cost per support case"),
    "input.loaner_pool_percent": (
        "Lånepool (% av enheterna, avrundat uppåt)",
        "Loaner pool (% of devices, rounded up)",
    ),
    "input.training_hours_per_person": ("Utbildning, timmar per person", "Training, hours per person"),
    "input.staff_hourly_cost": ("Timkostnad för deltagarnas tid", "Hourly cost of the participants' time"),
}
