"""Swedish and English texts of the staff app: installing Vila on a phone, notifications on this
device, and the inbox's actions."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "push.title": ("Notiser på den här enheten", "Notifications on this device"),
    "push.intro": (
        "Vila skickar dina meddelanden hit när du får störas. Det som kommer under vila, tysta timmar "
        "eller när du är med en patient väntar i inkorgen.",
        "Vila sends your messages here when you may be disturbed. What arrives during rest, quiet hours "
        "or while you are with a patient waits in the inbox.",
    ),
    "push.enable": ("Aktivera notiser", "Turn on notifications"),
    "push.disable": ("Stäng av notiser här", "Turn off notifications here"),
    "push.on": ("Notiserna är på för den här enheten.", "Notifications are on for this device."),
    "push.off": ("Notiserna är avstängda för den här enheten.", "Notifications are off for this device."),
    "push.working": ("Ett ögonblick …", "One moment …"),
    "push.enabled": (
        "Klart: Vilas notiser kommer till den här enheten.",
        "Done: Vila's notifications come to this device.",
    ),
    "push.disabled": ("Notiserna är avstängda här.", "Notifications are turned off here."),
    "push.denied": (
        "Notiser är blockerade för Vila. Tillåt dem i enhetens eller webbläsarens inställningar för "
        "den här webbplatsen och ladda om sidan.",
        "Notifications are blocked for Vila. Allow them in the device's or browser's settings for this "
        "site and reload the page.",
    ),
    "push.unsupported": (
        "Den här webbläsaren kan inte ta emot notiser från Vila. Använd Chrome eller Edge på Android, "
        "Safari på iPhone eller iPad (iOS 16.4 eller senare), eller en aktuell webbläsare på datorn.",
        "This browser cannot receive Vila's notifications. Use Chrome or Edge on Android, Safari on "
        "iPhone or iPad (iOS 16.4 or later), or a current browser on a computer.",
    ),
    "push.failed": ("Notiserna kunde inte aktiveras", "Notifications could not be turned on"),
    "push.device_name.iphone": ("iPhone (Vila-appen)", "iPhone (Vila app)"),
    "push.device_name.ipad": ("iPad (Vila-appen)", "iPad (Vila app)"),
    "push.device_name.android": ("Android (Vila-appen)", "Android (Vila app)"),
    "push.device_name.other": ("Webbläsare (Vila-appen)", "Browser (Vila app)"),
    "install.title": ("Installera Vila", "Install Vila"),
    "install.ios_intro": (
        "På iPhone och iPad kan Vila bara skicka notiser när Vila ligger på hemskärmen. Gör så här en gång:",
        "On iPhone and iPad, Vila can only send notifications once Vila is on the home screen. Do this once:",
    ),
    "install.ios_step1": (
        "Tryck på Dela-knappen (fyrkanten med en pil uppåt) i Safari.",
        "Tap the Share button (the square with an arrow pointing up) in Safari.",
    ),
    "install.ios_step2": (
        "Välj ”Lägg till på hemskärmen” och tryck Lägg till.",
        "Choose “Add to Home Screen” and tap Add.",
    ),
    "install.ios_step3": (
        "Öppna Vila från hemskärmen, logga in och tryck ”Aktivera notiser”.",
        "Open Vila from the home screen, sign in and tap “Turn on notifications”.",
    ),
    "install.ios_old": (
        "Den här enheten har en äldre iOS. Notiser från Vila kräver iOS eller iPadOS 16.4 eller senare: "
        "uppdatera under Inställningar › Allmänt › Programuppdatering.",
        "This device runs an older iOS. Vila's notifications need iOS or iPadOS 16.4 or later: update "
        "under Settings › General › Software Update.",
    ),
    "install.android": (
        "Lägg gärna Vila på startskärmen: då öppnas Vila som en app. Notiserna fungerar även i webbläsaren.",
        "Consider adding Vila to the home screen: it then opens like an app. Notifications work in the browser too.",
    ),
    "install.android_menu": (
        "I Chrome: tryck på menyn ⋮ och välj ”Installera app” eller ”Lägg till på startskärmen”.",
        "In Chrome: tap the menu ⋮ and choose “Install app” or “Add to Home screen”.",
    ),
    "install.button": ("Installera Vila", "Install Vila"),
    "install.done": ("Vila är installerad på den här enheten.", "Vila is installed on this device."),
    "inbox.ack": ("Kvittera", "Acknowledge"),
    "inbox.acked": ("Kvitterat {when}", "Acknowledged {when}"),
    "inbox.opened": ("Meddelandet du öppnade", "The message you opened"),
}
