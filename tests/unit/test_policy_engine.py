"""The decision engine, rule by rule, in precedence order, across both 2026 DST switches."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
import pytz

from policies.core.engine import OutsideHorizon, availability, decide, decide_many
from policies.core.rules import PRECEDENCE
from policies.core.types import (
    DEFAULT_POLICY,
    Interval,
    MessageFacts,
    OnCallSlot,
    PolicyParams,
    RecipientState,
)
from policies.core.wallclock import ALL_DAYS, expand_weekly, wall_instant, weekly_overlaps

ZONE = "Europe/Stockholm"
TZ = pytz.timezone(ZONE)
ME = uuid.UUID(int=1)
COVER = uuid.UUID(int=2)
ACUTE = PolicyParams(urgent_override_allowed=True, override_roles=frozenset({"manager"}), override_weekly_cap=2)


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return TZ.localize(datetime(y, m, d, hh, mm), is_dst=None).astimezone(UTC)  # noqa: DTZ001 - pytz localize


def day_shift(day: date, start: time = time(7, 0), end: time = time(16, 0)) -> Interval:
    return Interval(wall_instant(ZONE, day, start), wall_instant(ZONE, day, end))


def state(at: datetime, *, days: int = 7, **facts: object) -> RecipientState:
    return RecipientState(
        person_id=ME, zone=ZONE, horizon=Interval(at - timedelta(days=3), at + timedelta(days=days)), **facts
    )  # type: ignore[arg-type]


def msg(priority: str = "normal", **kw: object) -> MessageFacts:
    return MessageFacts(priority=priority, **kw)  # type: ignore[arg-type]


MON = date(2026, 3, 9)
WEEK_SHIFTS = tuple(day_shift(MON + timedelta(days=n)) for n in range(5))


def test_normal_during_working_time_is_delivered_active() -> None:
    at = local(2026, 3, 9, 10)
    d = decide(state(at, shifts=WEEK_SHIFTS), msg(), DEFAULT_POLICY, at)
    assert (d.kind, d.level, d.rules) == ("deliver", "active", ("working_time",))
    assert "arbetar" in d.reasons[0].sv and "at work" in d.reasons[0].en


def test_info_is_passive_and_never_interrupts() -> None:
    at = local(2026, 3, 9, 10)
    assert decide(state(at, shifts=WEEK_SHIFTS), msg("info"), DEFAULT_POLICY, at).level == "passive"


def test_normal_after_the_shift_is_held_for_daily_rest_until_the_next_shift() -> None:
    at = local(2026, 3, 9, 18)
    d = decide(state(at, shifts=WEEK_SHIFTS), msg(), DEFAULT_POLICY, at)
    assert d.kind == "hold"
    assert d.release_at == local(2026, 3, 10, 7)
    # Off duty as well as in daily rest: both reasons are given, in precedence order.
    assert d.rules == ("daily_rest", "off_duty", "hold")


def test_off_duty_is_a_reason_beside_quiet_hours_and_weekly_rest_but_not_at_work() -> None:
    quiet = tuple(Interval(local(2026, 3, d, 22), local(2026, 3, d + 1, 6)) for d in range(8, 15))
    night = local(2026, 3, 12, 2)  # in daily rest (until 03:00), quiet hours and off duty
    rules = decide(state(night, shifts=WEEK_SHIFTS, quiet=quiet), msg(), DEFAULT_POLICY, night).rules
    assert rules == ("daily_rest", "quiet_hours", "off_duty", "hold")
    saturday = local(2026, 3, 14, 12)  # Saturday: in the weekly rest (Friday 16:00 + 36 h), off duty
    assert decide(state(saturday, shifts=WEEK_SHIFTS), msg(), DEFAULT_POLICY, saturday).rules[:2] == (
        "weekly_rest",
        "off_duty",
    )
    dnd = (Interval(local(2026, 3, 10, 9), local(2026, 3, 10, 11)),)
    at_work = local(2026, 3, 10, 10)  # DND at work: not off duty
    assert decide(state(at_work, shifts=WEEK_SHIFTS, dnd=dnd), msg(), DEFAULT_POLICY, at_work).rules == ("dnd", "hold")


def test_daily_rest_counts_from_the_actual_end_of_work() -> None:
    # Overtime until 22:30 (actual end): the next morning at 08:00 is still inside 11 h of rest.
    shifts = (Interval(local(2026, 3, 9, 13), local(2026, 3, 9, 22, 30)), day_shift(MON + timedelta(days=1), time(8)))
    at = local(2026, 3, 10, 7, 59)
    d = decide(state(at, shifts=shifts), msg(), DEFAULT_POLICY, at)
    assert d.rules[0] == "daily_rest"
    assert d.release_at == local(2026, 3, 10, 8)


def test_weekly_rest_when_the_gap_is_36_hours() -> None:
    at = local(2026, 3, 14, 10)  # Saturday after a Monday-Friday week
    d = decide(state(at, shifts=(*WEEK_SHIFTS, day_shift(date(2026, 3, 16)))), msg("urgent"), DEFAULT_POLICY, at)
    assert d.kind == "hold" and d.rules[0] == "weekly_rest"
    assert d.release_at == local(2026, 3, 16, 7)


def test_stand_by_breaks_weekly_rest() -> None:
    slot = OnCallSlot(local(2026, 3, 14, 8), local(2026, 3, 14, 20), "beredskap", "ssk-beredskap")
    at = local(2026, 3, 15, 10)
    facts = {"shifts": (*WEEK_SHIFTS, day_shift(date(2026, 3, 16))), "on_call": (slot,)}
    d = decide(state(at, **facts), msg(), DEFAULT_POLICY, at)
    assert "weekly_rest" not in d.rules  # Sat 20:00 -> Mon 07:00 is only 35 h


def test_quiet_hours_hold_normal_even_at_work() -> None:
    at = local(2026, 3, 9, 23)
    night = (Interval(local(2026, 3, 9, 21), local(2026, 3, 10, 7)),)
    quiet = expand_weekly(ZONE, ALL_DAYS, time(22), time(6), date(2026, 3, 8), date(2026, 3, 17))
    d = decide(state(at, shifts=night, quiet=quiet), msg(), DEFAULT_POLICY, at)
    assert d.kind == "hold" and d.rules[0] == "quiet_hours"
    assert d.release_at == local(2026, 3, 10, 6)


def test_urgent_at_work_in_quiet_hours_is_delivered_and_ledgered() -> None:
    at = local(2026, 3, 9, 23)
    night = (Interval(local(2026, 3, 9, 21), local(2026, 3, 10, 7)),)
    quiet = expand_weekly(ZONE, ALL_DAYS, time(22), time(6), date(2026, 3, 8), date(2026, 3, 17))
    d = decide(state(at, shifts=night, quiet=quiet), msg("urgent"), DEFAULT_POLICY, at)
    assert (d.kind, d.level, d.rules) == ("deliver", "time_sensitive", ("on_duty", "quiet_hours"))
    assert d.ledger is not None and d.ledger.states == ("quiet_hours",) and not d.ledger.restarts_rest


def test_leave_holds_urgent_but_not_emergency() -> None:
    at = local(2026, 3, 10, 10)
    leave = (Interval(local(2026, 3, 9, 0), local(2026, 3, 12, 0)),)
    s = state(at, shifts=WEEK_SHIFTS, leave=leave)
    held = decide(s, msg("urgent"), DEFAULT_POLICY, at)
    assert held.kind == "hold" and held.rules[0] == "leave" and held.release_at == local(2026, 3, 12, 7)
    alarm = decide(s, msg("emergency", override_reason="Stort larm"), DEFAULT_POLICY, at)
    assert (alarm.kind, alarm.level) == ("deliver", "critical")
    assert alarm.ledger is not None and alarm.ledger.states == ("leave",) and alarm.ledger.reason == "Stort larm"


def test_dnd_holds_urgent_until_it_ends_by_itself() -> None:
    at = local(2026, 3, 9, 10)
    dnd = (Interval(local(2026, 3, 9, 9, 50), local(2026, 3, 9, 10, 20)),)
    d = decide(state(at, shifts=WEEK_SHIFTS, dnd=dnd), msg("urgent"), DEFAULT_POLICY, at)
    assert d.kind == "hold" and d.rules[0] == "dnd" and d.release_at == local(2026, 3, 9, 10, 20)


def test_dnd_lets_urgent_for_the_on_call_role_through() -> None:
    at = local(2026, 3, 9, 10)
    dnd = (Interval(local(2026, 3, 9, 9, 50), local(2026, 3, 9, 10, 20)),)
    slot = OnCallSlot(local(2026, 3, 9, 7), local(2026, 3, 9, 19), "jour", "ssk-jour")
    s = state(at, shifts=WEEK_SHIFTS, dnd=dnd, on_call=(slot,))
    assert decide(s, msg("urgent", audience_role="ssk-jour"), DEFAULT_POLICY, at).rules == ("dnd.on_call_role", "dnd")
    assert decide(s, msg("urgent", audience_role="lakare-jour"), DEFAULT_POLICY, at).kind == "hold"


def test_urgent_reaches_stand_by_in_rest_and_creates_compensatory_rest() -> None:
    # Evening shift ends 21:30; stand-by from 21:30; called at 02:00; next shift 07:00 the same day.
    shifts = (Interval(local(2026, 3, 9, 13), local(2026, 3, 9, 21, 30)), day_shift(date(2026, 3, 10)))
    slot = OnCallSlot(local(2026, 3, 9, 21, 30), local(2026, 3, 10, 7), "beredskap", "ssk-beredskap")
    at = local(2026, 3, 10, 2)
    d = decide(state(at, shifts=shifts, on_call=(slot,)), msg("urgent"), DEFAULT_POLICY, at)
    assert (d.kind, d.rules[0]) == ("deliver", "on_call")
    assert d.ledger is not None and d.ledger.restarts_rest and d.ledger.on_call == "beredskap"
    assert d.ledger.compensatory_minutes == 6 * 60  # 11 h from 02:00 would end 13:00; work starts 07:00
    assert d.ledger.compensatory_due == date(2026, 3, 24)


def test_a_second_call_in_the_same_rest_period_owes_only_what_it_adds() -> None:
    # Stand-by after a shift ending 21:00, next shift 10:00. The 01:00 call owed 11 h - 9 h =
    # 120 minutes; the 03:00 call leaves 7 h, so the period owes 240 in all: this call adds 120.
    shifts = (
        Interval(local(2026, 3, 9, 13), local(2026, 3, 9, 21)),
        Interval(local(2026, 3, 10, 10), local(2026, 3, 10, 18)),
    )
    slot = OnCallSlot(local(2026, 3, 9, 21), local(2026, 3, 10, 10), "beredskap", "ssk-beredskap")
    first = local(2026, 3, 10, 1)
    d1 = decide(state(first, shifts=shifts, on_call=(slot,)), msg("urgent"), DEFAULT_POLICY, first)
    assert d1.ledger is not None and d1.ledger.compensatory_minutes == 120
    second = local(2026, 3, 10, 3)
    s = state(second, shifts=shifts, on_call=(slot,), rest_restarts=(first,))
    d2 = decide(s, msg("urgent"), DEFAULT_POLICY, second)
    assert d2.ledger is not None and d2.ledger.compensatory_minutes == 120
    # A call in an earlier rest period does not reduce it.
    earlier = state(second, shifts=shifts, on_call=(slot,), rest_restarts=(local(2026, 3, 9, 12),))
    d3 = decide(earlier, msg("urgent"), DEFAULT_POLICY, second)
    assert d3.ledger is not None and d3.ledger.compensatory_minutes == 240


def test_a_call_out_restarts_the_rest_clock() -> None:
    shifts = (Interval(local(2026, 3, 9, 7), local(2026, 3, 9, 16)), day_shift(date(2026, 3, 10)))
    at = local(2026, 3, 10, 5)  # 13 h after work: rest is over ...
    assert "daily_rest" not in decide(state(at, shifts=shifts), msg(), DEFAULT_POLICY, at).rules
    restarted = state(at, shifts=shifts, rest_restarts=(local(2026, 3, 10, 1),))
    assert decide(restarted, msg(), DEFAULT_POLICY, at).rules[0] == "daily_rest"  # ... unless a call-out at 01:00


def test_reroute_to_the_person_who_covers_the_role() -> None:
    at = local(2026, 3, 9, 22)
    cover = (OnCallSlot(local(2026, 3, 9, 21), local(2026, 3, 10, 7), "beredskap", "ssk", COVER),)
    d = decide(state(at, shifts=WEEK_SHIFTS), msg("urgent", audience_role="ssk", cover=cover), DEFAULT_POLICY, at)
    assert (d.kind, d.reroute_to, d.rules[-1]) == ("reroute", COVER, "reroute")


def test_override_needs_policy_role_reason_and_cap() -> None:
    at = local(2026, 3, 9, 22)
    s = state(at, shifts=WEEK_SHIFTS)
    manager = frozenset({"manager"})
    ok = decide(s, msg("urgent", sender_roles=manager, override_reason="Bemanning"), ACUTE, at)
    assert ok.kind == "deliver" and ok.rules[0] == "override" and ok.ledger is not None
    assert ok.ledger.kind == "override" and ok.ledger.reason == "Bemanning"
    assert (
        "override.not_allowed"
        in decide(s, msg("urgent", sender_roles=manager, override_reason="x"), DEFAULT_POLICY, at).rules
    )
    assert (
        "override.role"
        in decide(s, msg("urgent", sender_roles=frozenset({"staff"}), override_reason="x"), ACUTE, at).rules
    )
    assert (
        "override.reason_missing"
        in decide(s, msg("urgent", sender_roles=manager, override_reason=" "), ACUTE, at).rules
    )
    capped = state(at, shifts=WEEK_SHIFTS, overrides_7d=2)
    assert "override.cap" in decide(capped, msg("urgent", sender_roles=manager, override_reason="x"), ACUTE, at).rules


def test_drop_when_expired_or_expiring_before_release() -> None:
    at = local(2026, 3, 9, 18)
    s = state(at, shifts=WEEK_SHIFTS)
    assert decide(s, msg(expires_at=at), DEFAULT_POLICY, at).rules == ("expired",)
    d = decide(s, msg(expires_at=local(2026, 3, 9, 23)), DEFAULT_POLICY, at)
    assert d.kind == "drop" and d.rules[-1] == "expires_before_release"
    assert decide(s, msg(expires_at=local(2026, 3, 10, 8)), DEFAULT_POLICY, at).kind == "hold"


def test_emergency_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        MessageFacts(priority="emergency")


def test_morning_hold_target_releases_at_the_morning_time_of_a_working_day() -> None:
    weekly = expand_weekly(ZONE, 0b0011111, time(8), time(16, 30), date(2026, 3, 5), date(2026, 3, 20))
    at = local(2026, 3, 9, 20)
    day_worker = PolicyParams(hold_target="morning", morning_time=time(7, 30))
    d = decide(state(at, weekly_hours=weekly), msg(), day_worker, at)
    assert d.release_at == local(2026, 3, 10, 7, 30)
    assert decide(state(at, weekly_hours=weekly), msg(), DEFAULT_POLICY, at).release_at == local(2026, 3, 10, 8)


def test_precedence_leave_beats_on_call_and_emergency_beats_leave() -> None:
    at = local(2026, 3, 10, 2)
    slot = OnCallSlot(local(2026, 3, 9, 20), local(2026, 3, 10, 8), "beredskap", "ssk")
    leave = (Interval(local(2026, 3, 9, 0), local(2026, 3, 11, 0)),)
    s = state(at, on_call=(slot,), leave=leave)
    assert decide(s, msg("urgent"), DEFAULT_POLICY, at).rules[0] == "leave"
    assert decide(s, msg("emergency", override_reason="x"), DEFAULT_POLICY, at).rules[0] == "emergency"


def test_precedence_table_is_ordered_and_unique() -> None:
    ids = [rule.id for rule in PRECEDENCE]
    assert len(ids) == len(set(ids))
    assert ids.index("expired") < ids.index("emergency") < ids.index("leave") < ids.index("dnd.on_call_role")
    assert ids.index("dnd") < ids.index("on_call") < ids.index("on_duty") < ids.index("working_time")
    assert ids.index("reroute") < ids.index("override") < ids.index("hold") < ids.index("expires_before_release")
    assert all(rule.reason.sv and rule.reason.en for rule in PRECEDENCE)


def test_decide_many_matches_decide_and_rejects_naive_instants() -> None:
    at = local(2026, 3, 9, 18)
    s = state(at, shifts=WEEK_SHIFTS)
    assert decide_many([s], msg(), {ME: DEFAULT_POLICY}, at) == {ME: decide(s, msg(), DEFAULT_POLICY, at)}
    with pytest.raises(ValueError):
        decide(s, msg(), DEFAULT_POLICY, datetime(2026, 3, 9, 18))  # noqa: DTZ001 - naive on purpose
    with pytest.raises(OutsideHorizon):
        decide(s, msg(), DEFAULT_POLICY, at + timedelta(days=30))


# Daylight-saving switches of 2026 ---------------------------------------------------------------


def test_quiet_hours_across_the_spring_switch_are_one_hour_shorter() -> None:
    quiet = expand_weekly(ZONE, ALL_DAYS, time(22), time(7), date(2026, 3, 28), date(2026, 3, 29))
    night = quiet[0]
    assert night.start == local(2026, 3, 28, 22) and night.end == local(2026, 3, 29, 7)
    assert night.end - night.start == timedelta(hours=8)


def test_quiet_hours_across_the_autumn_switch_are_one_hour_longer() -> None:
    quiet = expand_weekly(ZONE, ALL_DAYS, time(22), time(7), date(2026, 10, 24), date(2026, 10, 24))
    assert quiet[0].end - quiet[0].start == timedelta(hours=10)
    at = TZ.localize(datetime(2026, 10, 25, 2, 30), is_dst=False).astimezone(UTC)  # noqa: DTZ001 - the second 02:30
    d = decide(state(at, quiet=quiet), msg(), DEFAULT_POLICY, at)
    assert d.rules[0] == "quiet_hours"


def test_a_night_shift_across_the_spring_switch_and_its_rest_window() -> None:
    shift = Interval(local(2026, 3, 28, 21), local(2026, 3, 29, 7))  # 9 h of work, wall clock says 10
    assert shift.end - shift.start == timedelta(hours=9)
    at = local(2026, 3, 29, 17, 59)
    d = decide(state(at, shifts=(shift, day_shift(date(2026, 3, 30)))), msg(), DEFAULT_POLICY, at)
    assert d.rules[0] == "daily_rest"  # rest runs 07:00 -> 18:00 local, 11 real hours
    after = local(2026, 3, 29, 18, 1)
    assert "daily_rest" not in decide(state(after, shifts=(shift,)), msg(), DEFAULT_POLICY, after).rules


def test_a_night_shift_across_the_autumn_switch_and_its_rest_window() -> None:
    shift = Interval(local(2026, 10, 24, 21), local(2026, 10, 25, 7))  # 11 real hours
    assert shift.end - shift.start == timedelta(hours=11)
    rest_end = local(2026, 10, 25, 18)
    before = rest_end - timedelta(minutes=1)
    s = state(before, shifts=(shift, day_shift(date(2026, 10, 26))))
    assert decide(s, msg(), DEFAULT_POLICY, before).rules[0] == "daily_rest"
    assert "daily_rest" not in decide(s, msg(), DEFAULT_POLICY, rest_end).rules


def test_a_wall_time_skipped_by_the_spring_switch_moves_forward() -> None:
    assert wall_instant(ZONE, date(2026, 3, 29), time(2, 30)) == local(2026, 3, 29, 3, 30)


def test_weekly_windows_overlap_check_handles_midnight_and_the_week_boundary() -> None:
    assert weekly_overlaps([(1 << 6, time(22), time(7)), (1, time(6), time(8))]) == (0, 1)  # Sun night into Mon
    assert weekly_overlaps([(1, time(22), time(7)), (1 << 1, time(7), time(9))]) is None


def test_availability_lists_reachable_held_and_on_call_intervals() -> None:
    at = local(2026, 3, 9, 6)
    slot = OnCallSlot(local(2026, 3, 9, 20), local(2026, 3, 10, 6), "beredskap", "ssk")
    intervals = availability(state(at, shifts=WEEK_SHIFTS, on_call=(slot,)), DEFAULT_POLICY, at, at + timedelta(days=1))
    statuses = [(i.status, i.start) for i in intervals]
    assert statuses[0] == ("held", at) and intervals[0].held_until == local(2026, 3, 9, 7)
    assert ("reachable", local(2026, 3, 9, 7)) in statuses
    assert ("on_call", local(2026, 3, 9, 20)) in statuses
    assert intervals[-1].end == at + timedelta(days=1)
