"""Swedish and English texts that Vila itself writes to people: the neutral text of a content-free
push and its acknowledge button, recall notices, digest pushes, on-call reminders, the e-mail of
held messages, and the reasons an escalation adds to a decision."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # a sensitive message's push says nothing of it
    "notice.content_free.title": ("Nytt meddelande i Vila", "New message in Vila"),
    "notice.content_free.body": ("Öppna appen för att läsa det.", "Open the app to read it."),
    "notice.ack": ("Kvittera", "Acknowledge"),
    # the push that replaces a recalled one
    "notice.recall.title": ("Återkallat: {title}", "Recalled: {title}"),
    "notice.recall.title_hidden": ("Återkallat meddelande", "Recalled message"),
    "notice.recall.body": ("Avsändaren har återkallat meddelandet.", "The sender has recalled this message."),
    # a digest push: "3 meddelanden från Akuten", "Senaste: …"
    "notice.digest.message.one": ("meddelande", "message"),
    "notice.digest.message.other": ("meddelanden", "messages"),
    "notice.digest.sender.one": ("avsändare", "sender"),
    "notice.digest.sender.other": ("avsändare", "senders"),
    "notice.digest.title": ("{count} från {who}", "{count} from {who}"),
    "notice.digest.open": ("Öppna Vila för att läsa dem.", "Open Vila to read them."),
    "notice.digest.latest": ("Senaste: {titles}", "Latest: {titles}"),
    "notice.digest.more": (" (+{n} till i Vila)", " (+{n} more in Vila)"),
    # the going-on-call reminder
    "notice.on_call.jour": ("jour", "on call"),
    "notice.on_call.beredskap": ("beredskap", "on stand-by"),
    "notice.on_call.title": ("Du går på {word}: {role}", "You go {word}: {role}"),
    "notice.on_call.body": ("Du har {word} för {role} från {start}.", "You are {word} for {role} from {start}."),
    # the e-mail of what waited while a person was off
    "notice.mail.one": ("Vila: {title}", "Vila: {title}"),
    "notice.mail.many": ("Vila: {n} meddelanden medan du var ledig", "Vila: {n} messages while you were off"),
    "notice.mail.intro": ("Meddelanden som väntade medan du var ledig:", "Messages that waited while you were off:"),
    "notice.mail.from": ("Från {sender} till {audience}, {when}", "From {sender} to {audience}, {when}"),
    "notice.mail.sensitive": ("(Känsligt innehåll: läs det i Vila.)", "(Sensitive content: read it in Vila.)"),
    "notice.mail.inbox": ("Din inkorg: {url}", "Your inbox: {url}"),
    # the reasons an escalation gives, beside the engine's own
    "notice.escalation.step": (
        "Eskaleringssteg {step}: ingen har kvitterat på {minutes} min.",
        "Escalation step {step}: nobody acknowledged within {minutes} min.",
    ),
    "notice.escalation.tried": ("Redan försökt: nås inte igen.", "Already tried: not reached again."),
    "notice.escalation.nobody": ("Ingen att nå i detta steg.", "Nobody to reach in this step."),
    "notice.escalation.late": (
        "Eskalerat: {name} har inte kvitterat inom {minutes} min.",
        "Escalated: {name} did not acknowledge within {minutes} min.",
    ),
    # a preview's summary for the sender: "31 now, 12 held until 07:00 (daily rest)"
    "preview.now": ("{n} nu", "{n} now"),
    "preview.held": ("{n} väntar till {when} ({label})", "{n} held until {when} ({label})"),
    "preview.rerouted": ("{n} går till den som har jour", "{n} rerouted to whoever is on call"),
    "preview.dropped": ("{n} skickas inte (går ut innan)", "{n} not sent (would expire first)"),
    "preview.hold.leave": ("ledig", "on leave"),
    "preview.hold.dnd": ("med patient", "with a patient"),
    "preview.hold.weekly_rest": ("veckovila", "weekly rest"),
    "preview.hold.daily_rest": ("dygnsvila", "daily rest"),
    "preview.hold.quiet_hours": ("tysta timmar", "quiet hours"),
    "preview.hold.off_duty": ("ledig från arbetet", "off duty"),
    "preview.hold.other": ("väntar", "waiting"),
    # the reason a held message gets when the release lets it through
    "reason.released": ("Släpps nu: mottagaren kan nås.", "Released now: the recipient can be reached."),
}
