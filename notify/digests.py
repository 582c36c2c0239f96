"""The text of a digest push: the count and the newest titles that fit, never a private title.

A digest stands for any number of held messages, and its push must fit every provider's 4 KB
limit whatever those messages say. So it is bounded by construction: the title and the body are
cut to byte budgets measured as the JSON strings they become (escapes included), and the push
carries the digest's id and the count, never the list of message ids: the inbox has the full
list. A message that is sensitive, or that went to the person content-free, lends its title to no
digest; it is only counted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from kernel import formats
from kernel.i18n import text

# Bytes of the JSON strings: with APNs' and Web Push's own fields and the data (an id and a
# count), a digest push stays under 2 KB, half the providers' limit.
TITLE_BUDGET: Final = 300
BODY_BUDGET: Final = 1200
TITLE_CHARS: Final = 200  # the digest table's columns
BODY_CHARS: Final = 500
ONE_TITLE_CHARS: Final = 80


@dataclass(frozen=True, slots=True)
class Item:
    """One held message as a digest sees it."""

    title: str
    label: str  # the audience it was sent to ("Akutmottagningen")
    private: bool  # sensitive, or sent content-free: its title stays home


def _size(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode())


def _fits(text: str, budget: int, chars: int) -> bool:
    return len(text) <= chars and _size(text) <= budget


def _cut(text: str, budget: int, chars: int) -> str:
    """The longest prefix of `text` (with an ellipsis when cut) within the budgets."""
    if _fits(text, budget, chars):
        return text
    lo, hi = 0, min(len(text), chars)
    while lo < hi:  # binary search on the prefix length: sizes only grow with it
        mid = (lo + hi + 1) // 2
        if _fits(text[:mid] + "…", budget, chars):
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "…"


def _one_line(title: str) -> str:
    line = " ".join(title.split())  # no line breaks or runs of blanks in a list of titles
    return line if len(line) <= ONE_TITLE_CHARS else line[: ONE_TITLE_CHARS - 1] + "…"


def digest_text(items: Sequence[Item], language: str) -> tuple[str, str]:
    """(title, body) for these messages, oldest first; both within the budgets."""
    n = len(items)
    labels = sorted({i.label for i in items})
    lang = formats.language_of(language)
    count = formats.plural(n, lang, text("notice.digest.message.one", lang), text("notice.digest.message.other", lang))
    if len(labels) == 1:
        who = labels[0]
    else:
        who = formats.plural(
            len(labels), lang, text("notice.digest.sender.one", lang), text("notice.digest.sender.other", lang)
        )
    title = _cut(text("notice.digest.title", lang, count=count, who=who), TITLE_BUDGET, TITLE_CHARS)
    shown: list[str] = []
    body = _body(shown, n, lang)
    for item in reversed(items):  # the newest first
        if item.private:
            continue
        candidate = _body([*shown, _one_line(item.title)], n, lang)
        if not _fits(candidate, BODY_BUDGET, BODY_CHARS):
            break
        shown.append(_one_line(item.title))
        body = candidate
    return title, _cut(body, BODY_BUDGET, BODY_CHARS)


def _body(shown: list[str], n: int, language: str) -> str:
    rest = n - len(shown)
    if not shown:
        return text("notice.digest.open", language)
    body = text("notice.digest.latest", language, titles=" · ".join(shown))
    return body + text("notice.digest.more", language, n=rest) if rest else body
