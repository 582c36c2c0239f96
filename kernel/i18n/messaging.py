"""Swedish and English texts of messaging's newer pages: recall, scheduling, templates, e-mail."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "recall.button": ("Återkalla meddelandet", "Recall the message"),
    "recall.confirm": (
        "Återkalla meddelandet? Väntande leveranser stoppas och det tas bort ur inkorgarna.",
        "Recall the message? Waiting deliveries are stopped and it is removed from inboxes.",
    ),
    "recall.done": ("Återkallat {when}", "Recalled {when}"),
    "delivery.recalled": ("stoppade (återkallat)", "stopped (recalled)"),
    "delivery.withdrawn": ("återkallade i telefonen", "withdrawn on the phone"),
    "template.label": ("Mall", "Template"),
    "template.none": ("Ingen mall", "No template"),
    "template.link": ("Länk (valfri, t.ex. Teams-möte)", "Link (optional, e.g. a Teams meeting)"),
    "chain.title": ("Eskalering steg för steg", "Escalation, step by step"),
    "chain.step": ("Steg", "Step"),
    "chain.who": ("Vem", "Who"),
    "chain.channel": ("Kanal", "Channel"),
    "chain.push": ("Push", "Push"),
    "chain.email": ("Push och e-post", "Push and e-mail"),
    "chain.decision.deliver": ("Nådd nu", "Reached now"),
    "chain.decision.hold": ("Väntar (vila)", "Held (rest)"),
    "chain.decision.reroute": ("Vidare till den som täcker", "To whoever covers"),
    "chain.decision.drop": ("Skickas inte", "Not sent"),
    "chain.decision.tried": ("Redan försökt", "Already tried"),
    "chain.decision.nobody": ("Ingen att nå", "Nobody to reach"),
    "email.title": ("Meddelanden även som e-post", "Messages also by e-mail"),
    "email.help": (
        "Det som väntade medan du var ledig kommer som ETT e-postmeddelande när det släpps, aldrig under din vila.",
        "What waited while you were off comes as ONE e-mail when it is released, never during your rest.",
    ),
    "email.enabled": ("Skicka även e-post", "Also send e-mail"),
    "email.address": ("E-postadress", "E-mail address"),
    "email.save": ("Spara", "Save"),
    "email.saved": ("E-postvalet är sparat.", "Your e-mail choice is saved."),
    "email.bounced": (
        "Adressen studsade ({why}): ange den igen eller en annan.",
        "The address bounced ({why}): give it again or another.",
    ),
    "schedule.label": ("Skicka vid (valfritt)", "Send at (optional)"),
    "schedule.help": (
        "Vilka som nås avgörs då, inte nu: förhandsvisningen visar vad som är känt i dag.",
        "Who is reached is decided then, not now: the preview shows what is known today.",
    ),
    "schedule.pending": ("Schemalagt: skickas {when}", "Scheduled: sent {when}"),
    "schedule.failed": ("Kunde inte skickas: {why}", "Could not be sent: {why}"),
}
