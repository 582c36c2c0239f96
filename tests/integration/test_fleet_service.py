"""The fleet at service level, on SQLite and PostgreSQL: lifecycle and audit, the loaner pool and
its goal, offboarding and its reminders, costs and the figures for a cost model."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kernel.audit.models import AuditRecord
from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.directory import service as directory
from kernel.errors import Conflict
from kernel.settings import Settings
from kernel.spreadsheet import read_csv
from notify.fleet import costs, followup, loans, offboarding
from notify.fleet.figures import figures
from notify.fleet.lifecycle import By, IllegalTransition
from notify.fleet.models import Asset, Assignment, Offboarding, OffboardingStep, Subscription
from notify.fleet.schemas import LoanCreate, StepDone
from notify.models import Device, Message, Recipient
from notify.outbox import JobContext
from tests.factories import Factory
from tests.fleet_helpers import IT, Fleet
from tests.messaging_helpers import Facts, workday


@pytest.fixture
def fleet(session_factory: sessionmaker[Session], clock: ManualClock) -> Fleet:
    return Fleet(session_factory, clock)


def _audit_actions(session_factory: sessionmaker[Session], asset: Asset) -> list[str]:
    with session_factory() as s:
        return list(
            s.scalars(
                select(AuditRecord.action)
                .where(AuditRecord.target_type == "asset", AuditRecord.target_id == str(asset.id))
                .order_by(AuditRecord.id)
            )
        )


def test_every_transition_is_in_the_audit_log_and_an_illegal_one_changes_nothing(
    fleet: Fleet, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    anna, bo = make.person(), make.person()
    phone = fleet.asset()
    fleet.assign(phone, person=anna)
    for target in ("returned", "wiped", "in_stock"):
        clock.advance(timedelta(hours=1))
        fleet.move(phone, target)
    fleet.assign(phone, person=bo)  # reused
    fleet.move(phone, "lost")
    fleet.move(phone, "returned")  # found
    expected = ["create", "assign", "return", "wipe", "restock", "assign", "report_lost", "found"]
    assert _audit_actions(session_factory, phone) == [f"fleet.asset.{a}" for a in expected]
    with session_factory() as s:
        records = s.scalars(
            select(AuditRecord).where(
                AuditRecord.target_id == str(phone.id), AuditRecord.action != "fleet.asset.create"
            )
        ).all()
        assert [(r.before or {}).get("state") for r in records] == [
            "in_stock", "assigned", "returned", "wiped", "in_stock", "assigned", "lost"
        ]  # fmt: skip
        holders = s.scalars(select(Assignment).where(Assignment.asset_id == phone.id).order_by(Assignment.started_at))
        assert [(a.person_id, a.end_reason) for a in holders] == [(anna.id, "returned"), (bo.id, "lost")]

    with pytest.raises(IllegalTransition, match="allowed from returned: wipe"):
        fleet.move(phone, "in_stock")  # not wiped yet
    with session_factory() as s:
        assert s.get(Asset, phone.id).state == "returned"  # type: ignore[union-attr]
    assert len(_audit_actions(session_factory, phone)) == len(expected)


def test_a_lost_phone_blocks_its_app_installs_and_drops_what_waits_for_them(
    fleet: Fleet, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    anna = make.person()
    phone, install = fleet.phone_for(anna, token="fcm-lost-phone-0001")
    _, other = fleet.phone_for(anna, token="fcm-other-phone-0002")
    fleet.move(phone, "lost")
    with session_factory() as s:
        assert s.get(Device, install.id).state == "blocked"  # type: ignore[union-attr]
        assert s.get(Device, other.id).state == "active"  # type: ignore[union-attr]


def test_two_lending_the_same_loaner_at_once_give_it_to_one(
    fleet: Fleet, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    loaner = fleet.asset(site="Akuten")
    fleet.move(loaner, "loaner")
    anna, bo = make.person(), make.person()
    first, second = session_factory(), session_factory()
    try:
        for session in (first, second):
            session.scalar(select(Asset.state).where(Asset.id == loaner.id))  # both see it available
        loans.lend(session=first, data=LoanCreate(person_id=anna.id, site="Akuten"), by=IT, now=clock.now())
        first.commit()
        with pytest.raises((IntegrityError, OperationalError, Conflict)):
            loans.lend(session=second, data=LoanCreate(person_id=bo.id, asset_id=loaner.id), by=IT, now=clock.now())
            second.commit()
    finally:
        first.close()
        second.rollback()
        second.close()
    with session_factory() as s:
        open_loans = s.scalars(
            select(Assignment).where(Assignment.asset_id == loaner.id, Assignment.ended_at.is_(None))
        )
        assert [a.person_id for a in open_loans] == [anna.id]


def test_who_is_without_a_working_device_against_the_one_working_day_goal(
    fleet: Fleet, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    anna, bo = make.person(name="Anna Utan"), make.person(name="Bo Med")
    own, _ = fleet.phone_for(anna, token="fcm-anna-own-0001")
    fleet.phone_for(bo, token="fcm-bo-own-0001")
    fleet.move(own, "lost")  # Monday 10:00 in Stockholm
    lost_at = clock.now()
    with session_factory() as s:
        pool = loans.pool(s, now=clock.now())
    assert [(w.name, w.since, w.over_goal) for w in pool.without_device] == [("Anna Utan", lost_at, False)]
    assert pool.without_device[0].deadline == lost_at + timedelta(days=1)  # Tuesday 10:00
    assert (pool.goal.without_device, pool.goal.over_goal, pool.goal.met) == (1, 0, True)
    clock.advance(timedelta(days=1, minutes=1))
    with session_factory() as s:
        pool = loans.pool(s, now=clock.now())
    assert (pool.goal.over_goal, pool.goal.met) == (1, False)

    loaner = fleet.asset(site="Akuten")
    fleet.move(loaner, "loaner")
    with unit_of_work(session_factory) as s:
        loan = loans.lend(session=s, data=LoanCreate(person_id=anna.id, site="Akuten"), by=IT, now=clock.now())
        assert loan.replaces_asset_id == own.id  # found for us
    with session_factory() as s:
        pool = loans.pool(s, now=clock.now())
    assert pool.without_device == [] and pool.goal.met
    assert [(lo.person_name, lo.replaces_serial) for lo in pool.sites[0].on_loan] == [("Anna Utan", own.serial)]
    # The loan back while her own is still lost: without again, from that moment.
    clock.advance(timedelta(hours=2))
    fleet.move(loaner, "returned")
    with session_factory() as s:
        pool = loans.pool(s, now=clock.now())
    assert [(w.name, w.since) for w in pool.without_device] == [("Anna Utan", clock.now())]


def _leaver(make: Factory, fleet: Fleet, session_factory: sessionmaker[Session], clock: ManualClock) -> tuple:
    unit = make.group("Avdelning 5")
    boss = make.person(roles=["staff", "manager"], manages=[unit], name="Chefen")
    it = make.person(roles=["staff", "it"], name="IT-teknikern")
    leaver = make.person(groups=[unit], name="Lea Slutar")
    phone, install = fleet.phone_for(leaver, token="fcm-leaver-phone-0001")
    with unit_of_work(session_factory) as s:
        s.add(
            Subscription(
                number="+46701234567",
                extension="4512",
                operator="Telia",
                plan="Jobbmobil",
                monthly_cost_ore=24900,
                cost_centre="KC-1",
                asset_id=phone.id,
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    return unit, boss, it, leaver, phone, install


def test_deactivation_starts_a_checklist_with_owners_and_due_dates_and_keeps_everything(
    fleet: Fleet, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    _, boss, it, leaver, phone, install = _leaver(make, fleet, session_factory, clock)
    with unit_of_work(session_factory) as s:
        person = directory.require_person(session=s, person_id=leaver.id)
        directory.deactivate_person(session=s, person=person, now=clock.now())
        started = offboarding.person_deactivated(session=s, person_id=leaver.id, by=IT, now=clock.now())
    with session_factory() as s:
        assert s.get(Device, install.id).state == "blocked"  # type: ignore[union-attr]
        steps = {
            st.kind: st for st in s.scalars(select(OffboardingStep).where(OffboardingStep.offboarding_id == started.id))
        }
    assert set(steps) == {"disable_push", "return_asset", "wipe_asset", "subscription", "extension"}
    assert steps["disable_push"].outcome == "disabled"
    assert steps["return_asset"].owner_id == boss.id
    assert {steps[k].owner_id for k in ("wipe_asset", "subscription", "extension")} == {it.id}
    assert steps["return_asset"].due_at == clock.now() + timedelta(days=2)  # Monday -> Wednesday
    assert steps["wipe_asset"].due_at == clock.now() + timedelta(days=7)  # five working days

    # The manager collects the phone through the asset's own lifecycle: the step closes itself.
    boss_by = By(person_id=boss.id, label="chefen", roles=frozenset({"staff", "manager"}))
    with unit_of_work(session_factory) as s:
        step = s.get(OffboardingStep, steps["return_asset"].id)
        offboarding.complete(session=s, step=step, data=StepDone(outcome="returned"), by=boss_by, now=clock.now())  # type: ignore[arg-type]
    fleet.move(phone, "wiped")
    it_by = By(person_id=it.id, label="it", roles=frozenset({"staff", "it"}))
    with unit_of_work(session_factory) as s:
        for kind in ("subscription", "extension"):
            step = s.get(OffboardingStep, steps[kind].id)
            offboarding.complete(session=s, step=step, data=StepDone(outcome="ended"), by=it_by, now=clock.now())  # type: ignore[arg-type]
    with session_factory() as s:
        done = {
            st.kind: st.outcome
            for st in s.scalars(select(OffboardingStep).where(OffboardingStep.offboarding_id == started.id))
        }
        assert done == {
            "disable_push": "disabled",
            "return_asset": "returned",
            "wipe_asset": "wiped",
            "subscription": "ended",
            "extension": "ended",
        }
        assert s.get(Offboarding, started.id).finished_at == clock.now()  # type: ignore[union-attr]
        sub = s.scalars(select(Subscription)).one()  # ended, not deleted
        assert sub.ended_at == clock.now() and sub.extension is None
        assert s.get(Asset, phone.id).state == "wiped"  # type: ignore[union-attr]
        audited = set(s.scalars(select(AuditRecord.action).where(AuditRecord.action.like("fleet.%"))))
    assert {"fleet.offboarding.start", "fleet.offboarding.step_done", "fleet.subscription.update"} <= audited
    assert {"fleet.asset.return", "fleet.asset.wipe"} <= audited


def test_a_step_is_done_by_its_owner_or_it_and_only_with_its_outcomes(
    fleet: Fleet, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    _, _, _, leaver, _, _ = _leaver(make, fleet, session_factory, clock)
    outsider = make.person()
    with unit_of_work(session_factory) as s:
        started = offboarding.start(session=s, person_id=leaver.id, leaving_on=None, by=IT, now=clock.now())
        step = s.scalars(
            select(OffboardingStep).where(
                OffboardingStep.offboarding_id == started.id, OffboardingStep.kind == "wipe_asset"
            )
        ).one()
        with pytest.raises(Exception, match="owner or by device administration"):
            offboarding.complete(
                session=s,
                step=step,
                data=StepDone(outcome="wiped"),
                by=By(person_id=outsider.id, label="x", roles=frozenset({"staff"})),
                now=clock.now(),
            )
        with pytest.raises(Exception, match="ends as wiped, not_needed"):
            offboarding.complete(session=s, step=step, data=StepDone(outcome="ended"), by=IT, now=clock.now())
        with pytest.raises(Exception, match="return it before it is wiped"):
            offboarding.complete(session=s, step=step, data=StepDone(outcome="wiped"), by=IT, now=clock.now())


def test_overdue_steps_remind_their_owner_once_a_working_day_through_the_rest_rules(
    fleet: Fleet,
    make: Factory,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    settings: Settings,
    facts: Facts,
) -> None:
    _, boss, it, leaver, _, _ = _leaver(make, fleet, session_factory, clock)
    start, end = workday(clock, 6, 15)
    with unit_of_work(session_factory) as s:
        person = directory.require_person(session=s, person_id=leaver.id)
        directory.deactivate_person(session=s, person=person, now=clock.now())
        offboarding.person_deactivated(session=s, person_id=leaver.id, by=IT, now=clock.now())
    ctx = JobContext(settings=settings, session_factory=session_factory, clock=clock)
    followup.follow_up(ctx, {})
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0  # nothing is overdue yet
    # Wednesday 22:00 in Stockholm: the return is overdue; the manager is off duty (no shift), so
    # the reminder waits for their working time like any normal message.
    clock.advance(timedelta(days=2, hours=12))
    facts.shift(boss, start + timedelta(days=3), end + timedelta(days=3))  # Thursday
    followup.follow_up(ctx, {})
    with session_factory() as s:
        reminders = s.scalars(select(Message).where(Message.category == "fleet_offboarding")).all()
        assert {m.sender_id for m in reminders} == {boss.id}
        assert "Lea Slutar" in reminders[0].title and reminders[0].priority == "normal"
        decision = s.scalars(select(Recipient).where(Recipient.person_id == boss.id)).one()
        assert decision.decision == "hold"
    clock.advance(timedelta(hours=2))
    followup.follow_up(ctx, {})  # the same day: no second reminder
    with session_factory() as s:
        assert s.scalar(select(func.count()).where(Message.sender_id == boss.id)) == 1
    clock.advance(timedelta(days=1))  # Thursday: once more, and the wipe (due Monday) not yet
    followup.follow_up(ctx, {})
    with session_factory() as s:
        assert s.scalar(select(func.count()).where(Message.sender_id == boss.id)) == 2
        assert s.scalar(select(func.count()).where(Message.sender_id == it.id)) == 0


def test_a_leaving_date_disables_push_devices_when_the_day_has_ended(
    fleet: Fleet, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock, settings: Settings
) -> None:
    _, _, _, leaver, _, install = _leaver(make, fleet, session_factory, clock)
    with unit_of_work(session_factory) as s:
        offboarding.start(session=s, person_id=leaver.id, leaving_on=date(2026, 11, 25), by=IT, now=clock.now())
    ctx = JobContext(settings=settings, session_factory=session_factory, clock=clock)
    clock.advance(timedelta(days=2, hours=13))  # Wednesday 23:00 in Stockholm: still the last day
    followup.follow_up(ctx, {})
    with session_factory() as s:
        assert s.get(Device, install.id).state == "active"  # type: ignore[union-attr]
    clock.advance(timedelta(hours=1, minutes=1))
    followup.follow_up(ctx, {})
    with session_factory() as s:
        assert s.get(Device, install.id).state == "blocked"  # type: ignore[union-attr]


def test_costs_per_unit_and_month_follow_from_price_subscription_and_days_held(
    fleet: Fleet, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    unit = make.group("Avdelning 7")
    anna = make.person(groups=[unit])
    phone = fleet.asset(price=7200)  # 7,200 kr over 3 years: 200 kr a month
    with unit_of_work(session_factory) as s:
        s.get(Asset, phone.id).purchase_date = date(2026, 11, 1)  # type: ignore[union-attr]
        s.add(
            Subscription(
                number="+46701112233",
                operator="Telia",
                plan="Jobbmobil",
                monthly_cost_ore=30000,
                asset_id=phone.id,
                created_at=clock.now() - timedelta(days=60),
                updated_at=clock.now(),
            )
        )
    clock.advance(timedelta(days=8))  # assigned from 1 December
    fleet.assign(phone, person=anna)
    with session_factory() as s:
        report = costs.per_unit(s, first=date(2026, 11, 1), last=date(2026, 12, 1))
    by_unit = {u.unit_id: u for u in report.units}
    # November: in stock all month (not allocated): 200 + 300. December: the unit's, all month.
    assert by_unit[None].months == {"2026-11": 500.0, "2026-12": 0.0}
    assert by_unit[unit.id].months == {"2026-11": 0.0, "2026-12": 500.0}
    assert by_unit[unit.id].unit_name == "Avdelning 7"
    assert report.totals == {"2026-11": 500.0, "2026-12": 500.0}
    clock.advance(timedelta(days=15, hours=12))  # returned on 16 December (Stockholm)
    fleet.move(phone, "returned")
    with session_factory() as s:
        december = costs.per_unit(s, first=date(2026, 12, 1), last=date(2026, 12, 1))
    shares = {u.unit_id: u.months["2026-12"] for u in december.units}
    assert shares == {unit.id: round(500 * 15 / 31, 2), None: round(500 * 16 / 31, 2)}
    with session_factory() as s:
        only = costs.per_unit(s, first=date(2026, 12, 1), last=date(2026, 12, 1), unit=unit.id)
    assert [u.unit_id for u in only.units] == [unit.id]
    assert read_csv(costs.to_csv(only, unallocated="-"))[0] == ["unit", "2026-12", "total"]


def test_figures_for_a_cost_model_are_the_register_s_averages(
    fleet: Fleet, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    for price in (5000, 7000):
        fleet.asset(price=price)
    fleet.asset(price=None)
    tablet = fleet.asset(kind="tablet", price=4000)
    retired = fleet.asset(price=99000)
    fleet.move(retired, "retired")
    with unit_of_work(session_factory) as s:
        s.add(
            Subscription(
                number="+46709998877",
                operator="Tele2",
                plan="Data",
                monthly_cost_ore=14950,
                asset_id=tablet.id,
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    with session_factory() as s:
        f = figures(session=s, at=clock.now())
    phone = f.kind("phone")
    assert phone is not None and (phone.assets, phone.priced, phone.average_price_sek) == (3, 2, 6000.0)
    assert phone.subscription_per_month_sek is None
    tab = f.kind("tablet")
    assert tab is not None and (tab.average_price_sek, tab.subscription_per_month_sek) == (4000.0, 149.5)
    assert f.depreciation_years == costs.DEPRECIATION_YEARS


@pytest.fixture
def facts(session_factory: sessionmaker[Session], clock: ManualClock) -> Facts:
    return Facts(session_factory, clock)


def test_a_shared_tablet_is_not_given_to_a_person_nor_a_phone_to_a_unit(
    fleet: Fleet, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    unit, anna = make.group(), make.person()
    tablet, phone = fleet.asset(kind="shared_tablet"), fleet.asset()
    with pytest.raises(Exception, match="not to a person"):
        fleet.assign(tablet, person=anna)
    with pytest.raises(Exception, match="is assigned to a person"):
        fleet.assign(phone, group=unit)
    fleet.assign(tablet, group=unit)
    with session_factory() as s:
        assert s.scalars(select(Assignment.cost_unit_id).where(Assignment.asset_id == tablet.id)).one() == unit.id


def test_the_pilot_cost_model_gets_the_prices_of_its_people_s_devices_else_the_region_s(
    fleet: Fleet, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    from decimal import Decimal

    from pilot.costs.fleet import resolve
    from pilot.costs.fleet_register import FleetRegister

    anna, bo, other = make.person(), make.person(), make.person()
    for person, price in ((anna, 5000), (bo, 6000), (other, 9000)):
        phone = fleet.asset(price=price)
        fleet.assign(phone, person=person)
    fleet.asset(kind="tablet", price=4500)  # nobody in the pilot has a tablet: the region's figure
    with session_factory() as s:
        got = FleetRegister().figures(session=s, person_ids=[anna.id, bo.id])
        assert got.price["phone"].value == Decimal("5500") and got.price["phone"].count == 2
        assert got.price["tablet"].value == Decimal("4500") and got.price["tablet"].count == 1
        assert "phone" not in got.subscription_per_month  # no subscription anywhere: the input stays
        resolved = resolve(stored={}, fleet=got)
    assert resolved.inputs.phone_price == Decimal("5500.00") and resolved.sources["phone_price"] == "fleet"
    assert resolved.sources["phone_subscription_per_month"] == "assumption"
    with session_factory() as s:
        assert FleetRegister().figures(session=s, person_ids=[other.id]).price["phone"].value == Decimal("9000")
