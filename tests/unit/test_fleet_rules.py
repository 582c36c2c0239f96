"""The fleet's pure rules: the lifecycle table, identifiers (IMEI, phone number, money) and working days."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from kernel.errors import PermissionDenied
from notify.fleet import identifiers, lifecycle
from notify.fleet.lifecycle import IllegalTransition
from notify.fleet.models import ASSET_STATES
from notify.fleet.workdays import add_working_days

IT = frozenset({"it"})
ZONE = "Europe/Stockholm"


def test_the_reuse_path_is_in_the_table() -> None:
    path = ["in_stock", "assigned", "returned", "wiped", "in_stock", "loaner", "on_loan", "returned", "wiped", "loaner"]
    for source, target in itertools.pairwise(path):
        assert lifecycle.check(source, target, IT).target == target


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (s, t)
        for s in ASSET_STATES
        for t in ASSET_STATES
        if (s, t) not in {(m.source, m.target) for m in lifecycle.TRANSITIONS}
    ],
)
def test_every_move_outside_the_table_is_refused_with_the_allowed_ones(source: str, target: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        lifecycle.check(source, target, IT)
    allowed = {(a["action"], a["to"]) for a in caught.value.details["allowed"]}
    assert allowed == {(m.action, m.target) for m in lifecycle.TRANSITIONS if m.source == source}
    assert caught.value.status_code == 409
    for action, to in allowed:
        assert f"{action} (-> {to})" in caught.value.message


def test_a_returned_phone_is_wiped_before_anyone_gets_it_again() -> None:
    for target in ("assigned", "in_stock", "loaner", "on_loan"):
        with pytest.raises(IllegalTransition):
            lifecycle.check("returned", target, IT)
    assert {m.target for m in lifecycle.allowed_from("retired")} == set()


def test_the_holder_and_their_manager_may_report_a_phone_lost_and_nothing_else() -> None:
    for who in (frozenset({"holder"}), frozenset({"holder_manager"})):
        assert lifecycle.check("assigned", "lost", who).action == "report_lost"
        assert lifecycle.check("on_loan", "lost", who).action == "report_lost"
        for source, target in (("assigned", "returned"), ("returned", "wiped"), ("in_stock", "lost")):
            with pytest.raises(PermissionDenied):
                lifecycle.check(source, target, who)
    with pytest.raises(PermissionDenied):
        lifecycle.check("assigned", "lost", frozenset())


def test_imei_check_digit() -> None:
    assert identifiers.imei("49-015420-323751-8") == "490154203237518"
    assert identifiers.imei("35 209900 176148 1") == "352099001761481"
    with pytest.raises(ValueError, match="check digit"):
        identifiers.imei("490154203237517")
    with pytest.raises(ValueError, match="15 digits"):
        identifiers.imei("49015420323751")
    with pytest.raises(ValueError, match="15 digits"):
        identifiers.imei("4901542032375A8")


def test_phone_numbers_become_e164_and_money_becomes_ore() -> None:
    assert identifiers.phone_number("070-123 45 67") == "+46701234567"
    assert identifiers.phone_number("+47 412 34 567") == "+4741234567"
    with pytest.raises(ValueError, match="not a valid phone number"):
        identifiers.phone_number("070-12")
    assert identifiers.ore("249,50") == 24950
    assert identifiers.ore("1 299.00 kr") == 129900
    assert identifiers.ore("199") == 19900
    with pytest.raises(ValueError, match="not an amount"):
        identifiers.ore("gratis")
    with pytest.raises(ValueError):
        identifiers.ore("-5")


def test_one_working_day_skips_weekends_and_public_holidays() -> None:
    friday = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # 15:00 in Stockholm
    assert add_working_days(friday, ZONE, 1) == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 15:00
    christmas_eve = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)  # a Thursday; the 25th and 26th are holidays
    assert add_working_days(christmas_eve, ZONE, 1) == datetime(2026, 12, 28, 9, 0, tzinfo=UTC)
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)  # from a day off: the end of Monday
    assert add_working_days(saturday, ZONE, 1) == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    # Across the switch to winter time (25 October 2026) the local time is kept, not the hours.
    before_switch = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)  # Friday 14:00 CEST
    assert add_working_days(before_switch, ZONE, 1) == datetime(2026, 10, 26, 13, 0, tzinfo=UTC)  # Monday 14:00 CET
