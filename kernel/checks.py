"""The CHECK constraints that hold a column to a closed vocabulary, so the database itself refuses
a word the code does not know (a misspelt priority, a platform no transport serves).

The models build them from their Literal types (`typing.get_args`), so each word is written once
in the code; the migration that adds them keeps its own copy of the words of its revision, as
migrations do, and a test holds the two to each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import CheckConstraint


def one_of_sql(column: str, words: Iterable[str]) -> str:
    """`column IN ('a', 'b')`: the column holds one of the words (or nothing, when it may)."""
    return f"{column} IN ({', '.join(_quoted(w) for w in words)})"


def all_of_sql(column: str, words: Iterable[str], dialect: str) -> str:
    """A JSON list column whose every item is one of the words; a JSON null passes.

    PostgreSQL asks whether the list is contained in the list of words. SQLite allows no query in
    a CHECK, so it deletes each quoted word from the text and asks that only brackets, commas and
    blanks are left (a quoted word cannot match part of a longer one).
    """
    words = list(words)
    if dialect == "postgresql":
        return f"{column} = 'null'::jsonb OR {column} <@ {_quoted(json.dumps(words))}::jsonb"
    stripped = column
    for word in words:
        stripped = f"replace({stripped}, {_quoted(json.dumps(word))}, '')"
    return f"{column} = 'null' OR trim({stripped}, '[], ') = ''"


def one_of(column: str, words: Iterable[str]) -> CheckConstraint:
    """The model's constraint; named `ck_<table>_<column>` by the naming convention."""
    return CheckConstraint(one_of_sql(column, words), name=column)


def all_of(column: str, words: Iterable[str]) -> tuple[CheckConstraint, CheckConstraint]:
    """The model's constraint for a JSON list column, in each database's own form."""
    words = tuple(words)
    return (
        CheckConstraint(all_of_sql(column, words, "postgresql"), name=column).ddl_if(dialect="postgresql"),
        CheckConstraint(all_of_sql(column, words, "sqlite"), name=column).ddl_if(dialect="sqlite"),
    )


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
