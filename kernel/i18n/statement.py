"""Swedish and English texts of the accessibility statement (tillgänglighetsredogörelse) that the
law on accessibility to digital public services asks for, and of the footer that links to it."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "footer.label": ("Sidfot", "Footer"),
    "footer.statement": ("Tillgänglighetsredogörelse", "Accessibility statement"),
    "footer.api_docs": ("API-dokumentation", "API documentation"),
    "a11y.title": ("Tillgänglighet för Vila", "Accessibility of Vila"),
    "a11y.intro": (
        "Regionen står bakom Vila och vill att så många som möjligt ska kunna använda tjänsten. Den här "
        "redogörelsen beskriver hur Vila uppfyller lagen (2018:1937) om tillgänglighet till digital offentlig "
        "service, kända brister och hur du kan rapportera problem.",
        "The region stands behind Vila and wants as many people as possible to be able to use it. This "
        "statement describes how Vila meets the Swedish act (2018:1937) on accessibility to digital public "
        "services, known shortcomings and how you can report problems.",
    ),
    "a11y.status_h": ("Hur tillgänglig är tjänsten?", "How accessible is the service?"),
    "a11y.status": (
        "Vila uppfyller i huvudsak kraven i standarden EN 301 549 (nivå AA i WCAG 2.1). Varje sida granskas "
        "automatiskt med axe-core i webbläsartester, och sidorna för nya meddelanden, ”Med patient” och "
        "inkorgen prövas med enbart tangentbord, i 200 % förstoring och på en 320 pixlar bred skärm.",
        "Vila largely meets the requirements of the standard EN 301 549 (level AA of WCAG 2.1). Every page is "
        "checked automatically with axe-core in browser tests, and the pages for new messages, “With a "
        "patient” and the inbox are tried with the keyboard only, at 200% zoom and on a 320-pixel-wide screen.",
    ),
    "a11y.gaps_h": ("Kända brister", "Known shortcomings"),
    "a11y.gap_charts": (
        "Diagrammen på uppföljningssidan är bilder; samma siffror finns i en tabell under varje diagram.",
        "The charts on the compliance page are images; the same figures are in a table under each chart.",
    ),
    "a11y.gap_pdf": (
        "Pilotrapportens PDF är inte granskad för skärmläsare; samma innehåll finns som webbsida.",
        "The pilot report's PDF has not been checked for screen readers; the same content is on a web page.",
    ),
    "a11y.report_h": ("Rapportera brister", "Report shortcomings"),
    "a11y.report": (
        "Om du upptäcker problem som inte beskrivs här, eller behöver innehåll i ett annat format, kontakta "
        "regionens IT-support eller Vilas administratör. Vi svarar inom två arbetsdagar.",
        "If you find problems not described here, or need content in another format, contact the region's IT "
        "support or Vila's administrator. We answer within two working days.",
    ),
    "a11y.supervision_h": ("Tillsyn", "Supervision"),
    "a11y.supervision": (
        "Myndigheten för digital förvaltning (Digg) har ansvar för tillsyn över lagen. Om du inte är nöjd "
        "med hur vi hanterar dina synpunkter kan du kontakta Digg.",
        "The Agency for Digital Government (Digg) supervises the act. If you are not satisfied with how we "
        "handle your comments, you can contact Digg.",
    ),
    "a11y.assessed_h": ("Hur vi testat", "How we tested"),
    "a11y.assessed": (
        "Redogörelsen bygger på automatiska tester (axe-core) och manuella prov av tangentbordsnavigering, "
        "förstoring och smal skärm, som körs vid varje ändring av Vila.",
        "The statement is based on automatic tests (axe-core) and manual trials of keyboard navigation, "
        "zoom and narrow screens, run at every change to Vila.",
    ),
}
