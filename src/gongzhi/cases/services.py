"""Every state change of a case: intake, routing, the lifecycle and its clocks.

受理 → 派遣 (DISPATCHED) → 签收 (ACCEPTED) → 处理反馈 (FEEDBACK) → 核查 → 结案 (CLOSED) → 评价.
Each function checks the transition, writes the audit event and a timeline entry in the
caller's transaction, and moves the clocks. Services never commit.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, event, func, insert, null, or_, select, union_all, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, make_transient_to_detached

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import Actor, record
from gongzhi.cases import clocks
from gongzhi.cases.models import (
    OPEN_STATUSES,
    AssignmentRole,
    Case,
    CaseAssignment,
    CaseClock,
    CaseContact,
    CaseEvent,
    CaseExtension,
    CaseNumberCounter,
    CaseStatus,
    Channel,
    ClockKind,
    ExtensionStatus,
    Outcome,
    Priority,
    ReturnReason,
    TriageReason,
)
from gongzhi.config import Settings, get_settings
from gongzhi.db import utcnow
from gongzhi.errors import Conflict, Forbidden, Invalid, NotFound
from gongzhi.org.calendar import WorkCalendar
from gongzhi.org.models import Department, DepartmentKind, Matter, Responsibility, StaffProfile
from gongzhi.org.queries import (
    FINGERPRINT_COLUMNS,
    DepartmentEntry,
    ResponsibilityEntry,
    responsibility_list,
)
from gongzhi.security.permissions import Permission

log = logging.getLogger(__name__)

# A department as routing needs it: the session's object or its cached entry.
DepartmentLike = Department | DepartmentEntry

MAX_DESCRIPTION = 4000
MAX_MEDIA = 9
# A suggested category is taken at intake when it is probable, or when it is clearly ahead
# of every other matter (probabilities over ~70 matters rarely reach 0.5 even when right);
# otherwise the case waits in triage for a dispatcher: a wrong automatic route costs a
# return, more than a short wait.
CLASSIFY_MIN_SCORE = 0.5
CLASSIFY_MIN_CLEAR_SCORE = 0.15
CLASSIFY_CLEAR_MARGIN = 3.0
# Outcomes that need a word of explanation to the citizen.
EXPLAINED_OUTCOMES = (Outcome.NOT_OURS, Outcome.NO_ACTION_POSSIBLE, Outcome.DUPLICATE)


def _settings(settings: Settings | None) -> Settings:
    return settings or get_settings()


def work_calendar(db: Session, case: Case, settings: Settings | None = None) -> WorkCalendar:
    """The calendar that applies in the case's region, from the per-process cache of the
    responsibility list (``org.queries.responsibility_list``): no query while the calendar
    overrides are unchanged."""
    from gongzhi.org.queries import calendar_for

    return calendar_for(db, _settings(settings), case.region_code)


def _timeline(
    case: Case,
    actor: Actor,
    kind: str,
    *,
    now: datetime,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    public: bool = True,
) -> CaseEvent:
    event = CaseEvent(
        at=now,
        actor_id=actor.audit_id,
        actor_label=actor.audit_label,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data or {},
        public=public,
    )
    case.events.append(event)
    return event


def _audit(
    db: Session,
    case: Case,
    actor: Actor,
    verb: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    reason: str | None = None,
) -> None:
    record(
        db,
        actor=actor,
        action=f"cases.case.{verb}",
        object_type="service_case",
        object_id=case.number,
        old=old,
        new=new,
        reason=reason,
        region_code=case.region_code,
    )


def _notify_reporter(db: Session, case: Case, kind: str, subject: str, body: str) -> None:
    """Tell the reporter through the notification outbox, when that domain is present;
    supporters of the case (me too, merged duplicates' reporters) hear the same."""
    from gongzhi.cases.duplicates import supporter_ids

    recipients = [a for a in [case.reporter_account_id, *supporter_ids(db, case)] if a]
    if not recipients:
        return
    try:
        notify = importlib.import_module("gongzhi.notify.services")
    except ImportError:
        return
    enqueue = getattr(notify, "enqueue", None)
    if enqueue is None:
        return
    for account_id in dict.fromkeys(recipients):
        enqueue(
            db,
            recipient_account_id=account_id,
            kind=kind,
            subject=subject,
            body=body,
            case_number=case.number,
        )


# -- numbers --------------------------------------------------------------------------------


def _insert_ignore(db: Session, key: str) -> None:
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        db.execute(pg_insert(CaseNumberCounter).values(key=key, last=0).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        db.execute(
            sqlite_insert(CaseNumberCounter).values(key=key, last=0).on_conflict_do_nothing()
        )


_NEXT_NUMBER = (
    update(CaseNumberCounter)
    .where(CaseNumberCounter.key == bindparam("counter_key"))
    .values(last=CaseNumberCounter.last + 1)
    .returning(CaseNumberCounter.last)
)


# The intake's first statement also reads the responsibility list's fingerprint (see
# org.queries.responsibility_list): one round trip to the database fewer per intake.
_NEXT_NUMBER_AND_LIST_CHECK = _NEXT_NUMBER.returning(*FINGERPRINT_COLUMNS)


def next_number(db: Session, *, now: datetime, settings: Settings | None = None) -> str:
    """``AJ-20261128-0007``: prefix, local date, the day's sequence.

    The counter row is incremented by one UPDATE, which takes the row's write lock first:
    two intakes at once wait for each other instead of reading the same value.
    """
    s = _settings(settings)
    day = now.astimezone(ZoneInfo(s.timezone)).strftime("%Y%m%d")
    key = f"{s.case_number_prefix}-{day}"
    for _ in range(2):
        # On the session's connection, past the ORM's statement handling (no objects are
        # involved; a fifth of the cost).
        row = db.connection().execute(_NEXT_NUMBER_AND_LIST_CHECK, {"counter_key": key}).first()
        if row is not None:
            responsibility_list(db, fingerprint=row[1:])
            return f"{key}-{row[0]:04d}"
        _insert_ignore(db, key)
    raise RuntimeError(f"case number counter {key} could not be created")  # pragma: no cover


# -- routing --------------------------------------------------------------------------------


def _suggest(db: Session, text: str) -> tuple[str | None, list[dict[str, Any]]]:
    """The classifier's best category, if it is sure enough; never fails the intake."""
    try:
        classify = importlib.import_module("gongzhi.cases.classify")
    except ImportError:
        return None, []
    suggest = getattr(classify, "suggest", None)
    if suggest is None:
        return None, []
    try:
        # The classifier guards its own queries with a savepoint when it runs any (a failing
        # query must not abort the intake's transaction on PostgreSQL).
        suggestions = list(suggest(db, text, limit=3))
    except Exception:  # the classifier must never lose a request
        log.exception("classifier failed; the case goes to triage")
        return None, []
    shown = [{"matter_code": s.matter_code, "score": round(float(s.score), 4)} for s in suggestions]
    if suggestions and _confident([float(x.score) for x in suggestions]):
        return suggestions[0].matter_code, shown
    return None, shown


def _confident(scores: list[float]) -> bool:
    best = scores[0]
    runner_up = scores[1] if len(scores) > 1 else 0.0
    if best >= CLASSIFY_MIN_SCORE:
        return True
    return best >= CLASSIFY_MIN_CLEAR_SCORE and best >= CLASSIFY_CLEAR_MARGIN * runner_up


def _resolve_address(
    db: Session, text: str, settings: Settings
) -> tuple[str | None, float | None, dict[str, Any] | None]:
    from gongzhi.regions.resolver import get_resolver

    try:
        resolution = get_resolver(db, home_region=settings.home_region).resolve(text)
    except Exception:  # an address index problem must not lose the request
        log.exception("address resolution failed; the case goes to triage")
        return None, None, None
    return resolution.code, resolution.confidence, resolution.to_json()


def _route(db: Session, case: Case) -> tuple[Any, str | None]:
    """(route, None) when one lead is named; (None, reason) otherwise. The route names the
    departments by their cached entries (id, code, name): no query."""
    from gongzhi.org.queries import route_for

    if not case.matter_code:
        return None, TriageReason.NO_CATEGORY.value
    if not case.region_code:
        return None, TriageReason.NO_REGION.value
    lead = route_for(db, case.matter_code, case.region_code)
    if lead is None or not lead.leads:
        return None, TriageReason.NO_LEAD.value
    if len(lead.leads) > 1:
        return None, TriageReason.COLLISION.value
    return lead, None


def _limits(db: Session, case: Case) -> ResponsibilityEntry | None:
    """The responsibility row whose time limits apply: the lead's level, else the lowest
    one (from the cached list)."""
    return responsibility_list(db).limits(case.matter_code, case.lead_department_id)


def _responsibility(db: Session, case: Case) -> Responsibility | None:
    """The responsibility row whose limits apply, as the session's object."""
    entry = _limits(db, case)
    return db.get(Responsibility, entry.id) if entry is not None else None


def _assign(
    case: Case, lead: DepartmentLike, co_handlers: Sequence[DepartmentLike], now: datetime
) -> None:
    for assignment in case.assignments:
        assignment.active = False
    case.assignments.append(
        CaseAssignment(
            department_id=lead.id, role=AssignmentRole.LEAD.value, assigned_at=now, active=True
        )
    )
    for dept in co_handlers:
        if dept.id != lead.id:
            case.assignments.append(
                CaseAssignment(
                    department_id=dept.id,
                    role=AssignmentRole.CO.value,
                    assigned_at=now,
                    active=True,
                )
            )


def _enter_dispatched(
    db: Session,
    case: Case,
    lead: DepartmentLike,
    co_handlers: Sequence[DepartmentLike],
    *,
    now: datetime,
    calendar: WorkCalendar,
) -> None:
    _assign(case, lead, co_handlers, now)
    case.lead_department_id = lead.id
    case.status = CaseStatus.DISPATCHED.value
    case.triage_reason = None
    clocks.stop_clock(case, ClockKind.DISPATCH, now)
    # A new department gets its own sign-off and handling time (re-routing restarts them).
    clocks.stop_clock(case, ClockKind.HANDLE, now)
    clocks.start_clock(case, ClockKind.ACCEPT, now, calendar, _limits(db, case))


# -- intake ---------------------------------------------------------------------------------


def _validate_intake(
    description: str,
    lat: float | None,
    lon: float | None,
    media_urls: Sequence[str],
    attributes: dict[str, Any] | None,
) -> str:
    text = (description or "").strip()
    if not text:
        raise Invalid("请描述问题 / Please describe the problem", code="description_required")
    if len(text) > MAX_DESCRIPTION:
        raise Invalid(
            f"描述不能超过 {MAX_DESCRIPTION} 字 / description longer than {MAX_DESCRIPTION}",
            code="description_too_long",
        )
    if (lat is None) != (lon is None):
        raise Invalid("经纬度需同时提供 / give both lat and lon", code="invalid_location")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Invalid("经纬度超出范围 / lat/lon out of range", code="invalid_location")
    if len(media_urls) > MAX_MEDIA:
        raise Invalid(
            f"最多 {MAX_MEDIA} 张图片 / at most {MAX_MEDIA} photos", code="too_many_media"
        )
    for url in media_urls:
        if not isinstance(url, str) or not (
            url.startswith(("https://", "http://", "/")) and len(url) <= 1000
        ):
            raise Invalid(f"图片地址无效 / invalid media URL: {url!r}", code="invalid_media_url")
    if attributes is not None and not isinstance(attributes, dict):
        raise Invalid("attributes must be an object", code="invalid_attributes")
    return text


def submit_case(
    db: Session,
    *,
    channel: Channel,
    description: str,
    actor: Actor,
    reporter_account_id: int | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    contact_email: str | None = None,
    anonymous: bool = False,
    address_text: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    matter_code: str | None = None,
    priority: Priority | None = None,
    attributes: dict[str, Any] | None = None,
    media_urls: Sequence[str] = (),
    settings: Settings | None = None,
) -> Case:
    """Take a request in: validate, locate, classify, route, start the clocks.

    Never loses the request: an address that cannot be resolved or an unknown category
    sends the case to triage with the reason; only malformed input is refused.
    """
    s = _settings(settings)
    try:
        channel = Channel(channel)
    except ValueError:
        raise Invalid(f"未知渠道 / unknown channel: {channel}", code="invalid_channel") from None
    try:
        prio = Priority(priority) if priority else Priority.ORDINARY
    except ValueError:
        raise Invalid(
            f"未知优先级 / unknown priority: {priority}", code="invalid_priority"
        ) from None
    text = _validate_intake(description, lat, lon, list(media_urls), attributes)
    now = utcnow()
    # The number first: its counter UPDATE is the intake's first write, so on SQLite the
    # transaction takes the write lock before reading anything and concurrent intakes
    # queue for it instead of failing on a stale snapshot.
    number = next_number(db, now=now, settings=s)
    attrs: dict[str, Any] = dict(attributes or {})
    address = (address_text or "").strip() or None

    region_code = region_confidence = None
    resolution = None
    if address:
        region_code, region_confidence, resolution = _resolve_address(db, address, s)

    data: dict[str, Any] = {"channel": channel.value}
    code = (matter_code or "").strip() or None
    if code is not None:
        if responsibility_list(db).matter(code, active_only=True) is None:
            # Kept for the dispatcher; the case itself waits in triage for a real category.
            attrs["submitted_matter_code"] = code
            code = None
    else:
        code, suggestions = _suggest(db, text)
        if suggestions:
            data["suggestions"] = suggestions
        if code is not None:
            data["classified"] = code

    case = Case(
        number=number,
        channel=channel.value,
        status=CaseStatus.TRIAGE.value,
        priority=prio.value,
        matter_code=code,
        description=text,
        address_text=address,
        lat=lat,
        lon=lon,
        region_code=region_code,
        region_confidence=region_confidence,
        reporter_account_id=reporter_account_id,
        anonymous=bool(anonymous),
        attributes=attrs,
        media_urls=list(media_urls),
        rework_count=0,
        reopen_count=0,
        waiting_for_citizen=False,
        created_at=now,
        updated_at=now,
        version=1,
        # Empty from the start, so that appending to them never asks the database.
        clocks=[],
        events=[],
        assignments=[],
    )
    # The case is drafted in memory with its clocks, timeline and assignments; everything
    # below reads only cached data (the responsibility list, the calendar) until it is
    # written at the end.
    calendar = work_calendar(db, case, s)
    responsibility = _limits(db, case)
    clocks.start_clock(case, ClockKind.FEEDBACK, now, calendar, responsibility)
    clocks.start_clock(case, ClockKind.DISPATCH, now, calendar, responsibility)
    if resolution is not None:
        data["address"] = {"code": region_code, "confidence": region_confidence}
    _timeline(case, actor, "submitted", now=now, to_status=case.status, data=data)

    lead, reason = _route(db, case)
    if lead is not None:
        _enter_dispatched(db, case, lead.leads[0], lead.co_handlers, now=now, calendar=calendar)
        _timeline(
            case,
            actor,
            "dispatched",
            now=now,
            from_status=CaseStatus.TRIAGE.value,
            to_status=case.status,
            data={
                "lead": lead.leads[0].code,
                "co_handlers": [d.code for d in lead.co_handlers],
                "automatic": True,
            },
        )
    else:
        case.triage_reason = reason
    # The audit event (it names the case by its number, not its id) is written with the
    # case, in the same way, rather than by a flush of the unit of work of its own.
    event = record(
        db,
        actor=actor,
        action="cases.case.submit",
        object_type="service_case",
        object_id=case.number,
        old=None,
        new={**case.snapshot(), "channel": case.channel, "anonymous": case.anonymous},
        region_code=case.region_code,
    )
    db.expunge(event)
    case = _write_draft(db, case, event)
    if any((contact_name, contact_phone, contact_email)):
        case.contact = CaseContact(
            name=(contact_name or "").strip() or None,
            phone=(contact_phone or "").strip() or None,
            email=(contact_email or "").strip() or None,
        )
        db.flush()
    return case


def _insert_values(obj: Any) -> dict[str, Any]:
    """Every column of a new object: its value, else the column's default, else None; set on
    the object too, so that nothing of it is left to load once it is persistent."""
    state = obj.__dict__
    values: dict[str, Any] = {}
    for attr in sa_inspect(type(obj)).column_attrs:
        if attr.key == "id":
            continue
        if attr.key not in state:
            default = attr.columns[0].default
            value = None
            if default is not None and getattr(default, "is_scalar", False):
                value = default.arg
            elif default is not None and getattr(default, "is_callable", False):
                value = default.arg(None)
            setattr(obj, attr.key, value)
        values[attr.key] = state[attr.key]
    return values


_INSERT_CASE = insert(Case).returning(Case.id)
_INSERT_AUDIT = insert(AuditEvent).returning(AuditEvent.id)
_CHILDREN: tuple[Any, ...] = (CaseClock, CaseEvent, CaseAssignment)
# A statement's rows come back with their ids in the order the rows were given: SQLAlchemy
# guarantees it on PostgreSQL with the id sequence as sentinel, in one statement. SQLite has
# no such sentinel, and SQLAlchemy would insert the rows one statement each; there the rows
# of one INSERT are given their rowids in the order of its VALUES (the write lock is held,
# each new rowid is one above the largest), so the ids, sorted, are in the rows' order.
_INSERT_CHILDREN = {
    model: insert(model).returning(model.id, sort_by_parameter_order=True) for model in _CHILDREN
}
_INSERT_CHILDREN_SQLITE = {model: insert(model).returning(model.id) for model in _CHILDREN}
# Objects written by _write_draft, per transaction of the session (see below).
_WRITTEN_KEY = "cases.written_drafts"


def _write_draft(db: Session, case: Case, audit_event: AuditEvent) -> Case:
    """Write a case drafted in memory with one INSERT per table (a statement's rows at
    once), and the audit event of its intake, and make them and the case's clocks,
    timeline and assignments the session's persistent objects as they are. For a handful of
    new objects the unit of work's bookkeeping (change tracking, dependency sorting, one
    flush step per object kind) costs more than the statements; these rows need none of
    it."""
    conn = db.connection()
    case.contact = None
    children: list[tuple[type[CaseClock | CaseEvent | CaseAssignment], Sequence[Any]]] = [
        (CaseClock, case.clocks),
        (CaseEvent, case.events),
        (CaseAssignment, case.assignments),
    ]
    if conn.dialect.name == "postgresql" and all(
        len({_draft_key(d) for d in drafts}) == len(drafts) for _model, drafts in children
    ):
        _write_draft_in_one_statement(conn, case, children, audit_event)
    else:
        sqlite = conn.dialect.name == "sqlite"
        case.id = conn.execute(_INSERT_CASE, _insert_values(case)).scalar_one()
        for model, drafts in children:
            if not drafts:
                continue
            rows = []
            for draft in drafts:
                draft.case_id = case.id
                rows.append(_insert_values(draft))
            if sqlite:
                ids = sorted(conn.execute(_INSERT_CHILDREN_SQLITE[model], rows).scalars())
            else:
                ids = list(conn.execute(_INSERT_CHILDREN[model], rows).scalars())
            for draft, row_id in zip(drafts, ids, strict=True):
                draft.id = row_id
        audit_event.id = conn.execute(_INSERT_AUDIT, _insert_values(audit_event)).scalar_one()
    written: list[Any] = [case]
    for _model, drafts in children:
        for draft in drafts:
            make_transient_to_detached(draft)
        written.extend(drafts)
    make_transient_to_detached(audit_event)
    make_transient_to_detached(case)
    db.add(case)
    db.add(audit_event)
    written.append(audit_event)
    transaction = db.get_nested_transaction() or db.get_transaction()
    db.info.setdefault(_WRITTEN_KEY, []).append((transaction, written))
    return case


def _draft_key(draft: CaseClock | CaseEvent | CaseAssignment) -> tuple[Any, ...]:
    """What tells a case's new rows of one table apart (a clock's or an event's kind, an
    assignment's department and role), as PostgreSQL's RETURNING gives them back."""
    if isinstance(draft, CaseAssignment):
        return (draft.department_id, draft.role)
    return (draft.kind,)


# PostgreSQL: the case, its rows and the audit event in one statement, a data-modifying CTE
# per table (the children take the case's id from the first), one per shape (how many
# clocks, events and assignments), built once. The rows' ids come back as JSON, each with
# its key (_draft_key).
_DRAFT_STATEMENTS: dict[tuple[int, ...], Any] = {}


def _draft_columns(model: type[Any]) -> list[tuple[str, Any]]:
    return [(a.key, a.columns[0]) for a in sa_inspect(model).column_attrs if a.key != "id"]


def _draft_statement(shape: tuple[int, ...]) -> Any:
    statement = _DRAFT_STATEMENTS.get(shape)
    if statement is not None:
        return statement
    new_case = (
        insert(Case)
        .values({c: bindparam(f"case_{k}", type_=c.type) for k, c in _draft_columns(Case)})
        .returning(Case.id)
        .cte("new_case")
    )
    case_id = select(new_case.c.id).scalar_subquery()
    answer: list[Any] = [case_id]
    for model, count in zip(_CHILDREN, shape, strict=True):
        if not count:
            answer.append(null())
            continue
        name = model.__tablename__
        columns = _draft_columns(model)
        # INSERT … SELECT (one SELECT per row, the case's id from the first CTE) rather than
        # a multi-row VALUES with that id in it, which SQLAlchemy would compile every time.
        selects = [
            select(
                *(
                    new_case.c.id if k == "case_id" else bindparam(f"{name}_{i}_{k}", type_=c.type)
                    for k, c in columns
                )
            )
            for i in range(count)
        ]
        rows = union_all(*selects) if count > 1 else selects[0]
        keys = [model.department_id, model.role] if model is CaseAssignment else [model.kind]
        written = (
            insert(model)
            .from_select([c for _k, c in columns], rows)
            .returning(model.id, *keys)
            .cte(f"new_{name}")
        )
        answer.append(select(func.json_agg(func.json_build_array(*written.c))).scalar_subquery())
    audit = (
        insert(AuditEvent)
        .values({c: bindparam(f"audit_{k}", type_=c.type) for k, c in _draft_columns(AuditEvent)})
        .returning(AuditEvent.id)
        .cte("new_audit_event")
    )
    answer.append(select(audit.c.id).scalar_subquery())
    statement = _DRAFT_STATEMENTS[shape] = select(*answer)
    return statement


def _write_draft_in_one_statement(
    conn: Any,
    case: Case,
    children: list[tuple[type[CaseClock | CaseEvent | CaseAssignment], Sequence[Any]]],
    audit_event: AuditEvent,
) -> None:
    params = {f"case_{k}": v for k, v in _insert_values(case).items()}
    for model, drafts in children:
        for i, draft in enumerate(drafts):
            for k, v in _insert_values(draft).items():
                if k != "case_id":
                    params[f"{model.__tablename__}_{i}_{k}"] = v
    params.update({f"audit_{k}": v for k, v in _insert_values(audit_event).items()})
    statement = _draft_statement(tuple(len(drafts) for _model, drafts in children))
    case_id, *ids_by_table, audit_id = conn.execute(statement, params).one()
    case.id = case_id
    for (_model, drafts), ids in zip(children, ids_by_table, strict=True):
        by_key = {tuple(row[1:]): row[0] for row in ids or ()}
        for draft in drafts:
            draft.case_id = case_id
            draft.id = by_key[_draft_key(draft)]
    audit_event.id = audit_id


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_drafts(session: Session, previous_transaction: Any) -> None:
    """The unit of work forgets the objects it inserted when their transaction (or a
    savepoint around them) is rolled back; objects written by _write_draft did not pass
    through it, so they are forgotten here, or a later row reusing the id would clash."""
    written = session.info.get(_WRITTEN_KEY)
    if not written:
        return
    kept = []
    for transaction, objects in written:
        undone = False
        current = transaction
        while current is not None:
            if current is previous_transaction:
                undone = True
                break
            current = current.parent
        if not undone:
            kept.append((transaction, objects))
            continue
        for obj in objects:
            if obj in session:
                session.expunge(obj)
    session.info[_WRITTEN_KEY] = kept


@event.listens_for(Session, "after_transaction_end")
def _drop_written_drafts(session: Session, transaction: Any) -> None:
    if transaction.parent is None and session.info.get(_WRITTEN_KEY):
        session.info[_WRITTEN_KEY] = []


# -- helpers for the lifecycle ----------------------------------------------------------------


def _require_status(case: Case, *allowed: CaseStatus, code: str = "invalid_transition") -> None:
    if case.status not in {s.value for s in allowed}:
        raise Conflict(
            f"案件 {case.number} 当前状态为 {case.status}，不能执行此操作 / "
            f"case {case.number} is {case.status}; not allowed now",
            code=code,
        )


def _staff_department_id(db: Session, actor: Actor) -> int | None:
    if actor.audit_id is None:
        return None
    return db.scalar(
        select(StaffProfile.department_id).where(StaffProfile.account_id == actor.audit_id)
    )


def _require_lead_handler(db: Session, case: Case, actor: Actor) -> None:
    """Only staff of the lead department act for it; system actors (jobs, the demo
    generator) act on the platform's behalf."""
    if actor.audit_id is None:
        return
    if case.lead_department_id is None or _staff_department_id(db, actor) != (
        case.lead_department_id
    ):
        raise Forbidden(
            "只有牵头部门的人员可以办理 / only staff of the lead department may do this",
            code="not_lead_department",
        )


def _require_lead_handler_or_dispatch(db: Session, case: Case, actor: Actor) -> None:
    """Pausing for the citizen stops every clock of the case: the lead department may do it,
    and the dispatch centre (which holds the triage permission); no other department."""
    can = getattr(actor, "can", None)
    if can is not None and can(Permission.CASE_TRIAGE):
        return
    _require_lead_handler(db, case, actor)


def _require_reporter(case: Case, actor: Actor) -> None:
    if actor.audit_id is not None and actor.audit_id != case.reporter_account_id:
        raise Forbidden("只有反映人可以这样做 / only the reporter may do this", code="not_reporter")


def _touch(case: Case, now: datetime) -> None:
    case.updated_at = now
    case.version = (case.version or 0) + 1


def _department(db: Session, department: Department | str) -> Department:
    if isinstance(department, Department):
        dept = department
    else:
        found = db.scalar(select(Department).where(Department.code == department))
        if found is None:
            raise NotFound(f"未知部门 / unknown department: {department}")
        dept = found
    if not dept.active:
        raise Invalid(f"部门已停用 / department is inactive: {dept.code}", code="inactive")
    if dept.kind == DepartmentKind.DISPATCH.value:
        raise Invalid(
            "指挥中心不能作为牵头单位 / the dispatch centre cannot lead a case",
            code="invalid_lead",
        )
    return dept


# -- lifecycle ------------------------------------------------------------------------------


def dispatch_case(
    db: Session,
    case: Case,
    *,
    to: Department | str,
    actor: Actor,
    co_handlers: Sequence[Department | str] = (),
    matter_code: str | None = None,
    priority: Priority | None = None,
    note: str | None = None,
    settings: Settings | None = None,
) -> Case:
    """The dispatcher names the lead (from triage) or re-routes (keeping the history)."""
    _require_status(case, CaseStatus.TRIAGE, CaseStatus.DISPATCHED, CaseStatus.ACCEPTED)
    now = utcnow()
    before = case.snapshot()
    lead = _department(db, to)
    co = [_department(db, d) for d in co_handlers]
    data: dict[str, Any] = {"lead": lead.code, "co_handlers": [d.code for d in co]}
    if matter_code is not None and matter_code != case.matter_code:
        if db.scalar(select(Matter.id).where(Matter.code == matter_code)) is None:
            raise Invalid(f"未知事项 / unknown matter: {matter_code}", code="unknown_matter")
        # A dispatcher's correction is training data for the classifier.
        data["corrected_matter"] = {"from": case.matter_code, "to": matter_code}
        case.matter_code = matter_code
    if priority is not None:
        case.priority = Priority(priority).value
    rerouted = case.status != CaseStatus.TRIAGE
    if rerouted:
        data["rerouted_from"] = before["lead_department_id"]
    from_status = case.status
    _enter_dispatched(db, case, lead, co, now=now, calendar=work_calendar(db, case, settings))
    _touch(case, now)
    _timeline(
        case,
        actor,
        "rerouted" if rerouted else "dispatched",
        now=now,
        from_status=from_status,
        to_status=case.status,
        note=note,
        data=data,
    )
    _audit(db, case, actor, "reroute" if rerouted else "dispatch", before, case.snapshot(), note)
    _notify_reporter(
        db,
        case,
        "case_dispatched",
        f"您的诉求 {case.number} 已派遣",
        f"已交由{lead.name}办理 / handed to {lead.name}",
    )
    db.flush()
    return case


def accept_case(db: Session, case: Case, *, actor: Actor, settings: Settings | None = None) -> Case:
    """签收. Two handlers at once: one conditional UPDATE decides, the other gets Conflict."""
    _require_status(case, CaseStatus.DISPATCHED, code="not_dispatched")
    _require_lead_handler(db, case, actor)
    now = utcnow()
    before = case.snapshot()
    db.flush()
    stmt = (
        update(Case)
        .where(
            Case.id == case.id,
            Case.status == CaseStatus.DISPATCHED.value,
            Case.version == case.version,
        )
        .values(status=CaseStatus.ACCEPTED.value, version=Case.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    try:
        result = db.execute(stmt)
    except OperationalError as exc:
        # SQLite: the other writer committed after this transaction read (busy snapshot).
        if db.get_bind().dialect.name == "sqlite" and "locked" in str(exc).lower():
            raise Conflict(
                "已被他人签收 / already signed by someone else", code="conflict"
            ) from exc
        raise
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict("已被他人签收 / already signed by someone else", code="conflict")
    db.refresh(case, ["status", "version", "updated_at"])
    for assignment in case.assignments:
        if assignment.active and assignment.role == AssignmentRole.LEAD.value:
            assignment.accepted_at = now
            assignment.accepted_by_id = actor.audit_id
    calendar = work_calendar(db, case, settings)
    clocks.stop_clock(case, ClockKind.ACCEPT, now)
    clocks.start_clock(case, ClockKind.HANDLE, now, calendar, _limits(db, case))
    _timeline(
        case,
        actor,
        "accepted",
        now=now,
        from_status=CaseStatus.DISPATCHED.value,
        to_status=case.status,
    )
    _audit(db, case, actor, "accept", before, case.snapshot())
    db.flush()
    return case


def return_case(
    db: Session,
    case: Case,
    *,
    reason_code: ReturnReason | str,
    note: str | None = None,
    actor: Actor,
    settings: Settings | None = None,
) -> Case:
    """退单: the lead department sends the case back to the dispatch centre with a reason."""
    _require_status(case, CaseStatus.DISPATCHED, CaseStatus.ACCEPTED)
    _require_lead_handler(db, case, actor)
    try:
        reason = ReturnReason(reason_code)
    except ValueError:
        raise Invalid(
            f"未知退单原因 / unknown return reason: {reason_code}", code="invalid_reason"
        ) from None
    text = (note or "").strip() or None
    if reason == ReturnReason.OTHER and not text:
        raise Invalid("请说明退单原因 / explain the return", code="note_required")
    now = utcnow()
    before = case.snapshot()
    from_status = case.status
    for assignment in case.assignments:
        if assignment.active:
            if assignment.role == AssignmentRole.LEAD.value:
                assignment.returned_at = now
                assignment.return_reason_code = reason.value
                assignment.return_note = text
            assignment.active = False
    case.status = CaseStatus.TRIAGE.value
    case.triage_reason = TriageReason.RETURNED.value
    case.lead_department_id = None
    calendar = work_calendar(db, case, settings)
    clocks.stop_clock(case, ClockKind.ACCEPT, now)
    clocks.stop_clock(case, ClockKind.HANDLE, now)
    clocks.start_clock(case, ClockKind.DISPATCH, now, calendar, _limits(db, case))
    _touch(case, now)
    _timeline(
        case,
        actor,
        "returned",
        now=now,
        from_status=from_status,
        to_status=case.status,
        note=text,
        data={"reason": reason.value},
        public=False,
    )
    _audit(db, case, actor, "return", before, case.snapshot(), reason.value)
    db.flush()
    return case


def give_feedback(db: Session, case: Case, *, note: str, actor: Actor) -> Case:
    """处理反馈: the handler reports what was done; on-site verification follows."""
    _require_status(case, CaseStatus.ACCEPTED)
    _require_lead_handler(db, case, actor)
    text = (note or "").strip()
    if not text:
        raise Invalid("请填写处理情况 / describe what was done", code="note_required")
    now = utcnow()
    before = case.snapshot()
    case.status = CaseStatus.FEEDBACK.value
    clocks.stop_clock(case, ClockKind.HANDLE, now)
    clocks.stop_clock(case, ClockKind.FEEDBACK, now)
    _touch(case, now)
    _timeline(
        case,
        actor,
        "feedback",
        now=now,
        from_status=CaseStatus.ACCEPTED.value,
        to_status=case.status,
        note=text,
    )
    _audit(db, case, actor, "feedback", before, case.snapshot())
    db.flush()
    return case


def _close(case: Case, outcome: Outcome, now: datetime) -> None:
    case.status = CaseStatus.CLOSED.value
    case.outcome = outcome.value
    case.closed_at = now
    case.waiting_for_citizen = False
    clocks.stop_all(case, now)


def verify_case(
    db: Session,
    case: Case,
    *,
    passed: bool,
    note: str | None = None,
    actor: Actor,
    settings: Settings | None = None,
) -> Case:
    """核查: a grid worker checks on site. Passed closes as resolved; failed is rework."""
    _require_status(case, CaseStatus.FEEDBACK)
    text = (note or "").strip() or None
    if not passed and not text:
        raise Invalid("请说明未通过的原因 / say what is still wrong", code="note_required")
    now = utcnow()
    before = case.snapshot()
    if passed:
        _close(case, Outcome.RESOLVED, now)
    else:
        case.status = CaseStatus.ACCEPTED.value
        case.rework_count = (case.rework_count or 0) + 1
        calendar = work_calendar(db, case, settings)
        clocks.start_clock(case, ClockKind.HANDLE, now, calendar, _limits(db, case))
    _touch(case, now)
    _timeline(
        case,
        actor,
        "verified" if passed else "rework",
        now=now,
        from_status=CaseStatus.FEEDBACK.value,
        to_status=case.status,
        note=text,
        data={"passed": passed},
    )
    _audit(db, case, actor, "verify", before, {**case.snapshot(), "passed": passed}, text)
    if passed:
        _notify_reporter(
            db, case, "case_closed", f"您的诉求 {case.number} 已办结", "已核查办结 / resolved"
        )
    db.flush()
    return case


def close_case(
    db: Session, case: Case, *, outcome: Outcome | str, note: str | None = None, actor: Actor
) -> Case:
    """结案 by the dispatcher. Resolved only after the handler's feedback; "not ours" and
    "no action possible" are closed but never counted or shown as resolved."""
    _require_status(case, *OPEN_STATUSES)
    try:
        result = Outcome(outcome)
    except ValueError:
        raise Invalid(f"未知结果 / unknown outcome: {outcome}", code="invalid_outcome") from None
    if result == Outcome.RESOLVED and case.status != CaseStatus.FEEDBACK:
        raise Conflict(
            "尚未反馈处理结果，不能按已解决结案 / cannot close as resolved before feedback",
            code="invalid_transition",
        )
    text = (note or "").strip() or None
    if result in EXPLAINED_OUTCOMES and not text:
        raise Invalid("请向群众说明原因 / explain the outcome", code="note_required")
    now = utcnow()
    before = case.snapshot()
    from_status = case.status
    _close(case, result, now)
    _touch(case, now)
    _timeline(
        case,
        actor,
        "closed",
        now=now,
        from_status=from_status,
        to_status=case.status,
        note=text,
        data={"outcome": result.value},
    )
    _audit(db, case, actor, "close", before, case.snapshot(), text)
    _notify_reporter(
        db, case, "case_closed", f"您的诉求 {case.number} 已办结", text or result.value
    )
    db.flush()
    return case


def rate_case(
    db: Session, case: Case, *, rating: int, comment: str | None = None, actor: Actor
) -> Case:
    """回访评价: the reporter rates a closed case once, 1 (very dissatisfied) to 5."""
    _require_status(case, CaseStatus.CLOSED, code="not_closed")
    _require_reporter(case, actor)
    if case.rating is not None:
        raise Conflict("已评价过 / already rated", code="already_rated")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise Invalid("评价为 1 到 5 / rating is 1 to 5", code="invalid_rating")
    now = utcnow()
    case.rating = rating
    case.rating_comment = (comment or "").strip() or None
    case.rated_at = now
    _touch(case, now)
    _timeline(case, actor, "rated", now=now, note=case.rating_comment, data={"rating": rating})
    _audit(db, case, actor, "rate", None, {"rating": rating})
    db.flush()
    return case


def reopen_case(
    db: Session,
    case: Case,
    *,
    reason: str,
    actor: Actor,
    settings: Settings | None = None,
) -> Case:
    """The reporter reopens a closed case within ``case_reopen_days``; back to triage."""
    s = _settings(settings)
    _require_status(case, CaseStatus.CLOSED, code="not_closed")
    _require_reporter(case, actor)
    text = (reason or "").strip()
    if not text:
        raise Invalid("请说明重新办理的原因 / say why", code="reason_required")
    now = utcnow()
    if case.closed_at is None or now - case.closed_at > timedelta(days=s.case_reopen_days):
        raise Conflict(
            f"结案超过 {s.case_reopen_days} 天，不能重新打开 / "
            f"more than {s.case_reopen_days} days since closing",
            code="reopen_window_passed",
        )
    before = {**case.snapshot(), "rating": case.rating}
    case.status = CaseStatus.TRIAGE.value
    case.triage_reason = TriageReason.REOPENED.value
    case.outcome = None
    case.closed_at = None
    case.lead_department_id = None
    case.rating = None
    case.rating_comment = None
    case.rated_at = None
    case.reopen_count = (case.reopen_count or 0) + 1
    for assignment in case.assignments:
        assignment.active = False
    calendar = work_calendar(db, case, s)
    responsibility = _limits(db, case)
    clocks.start_clock(case, ClockKind.FEEDBACK, now, calendar, responsibility)
    clocks.start_clock(case, ClockKind.DISPATCH, now, calendar, responsibility)
    _touch(case, now)
    _timeline(
        case,
        actor,
        "reopened",
        now=now,
        from_status=CaseStatus.CLOSED.value,
        to_status=case.status,
        note=text,
    )
    _audit(db, case, actor, "reopen", before, case.snapshot(), text)
    db.flush()
    return case


def request_extension(
    db: Session, case: Case, *, new_due_at: datetime, reason: str, actor: Actor
) -> CaseExtension:
    """延期申请: the lead department asks for a later handling deadline."""
    _require_status(case, CaseStatus.ACCEPTED)
    _require_lead_handler(db, case, actor)
    text = (reason or "").strip()
    if not text:
        raise Invalid("请说明延期理由 / give a reason", code="reason_required")
    if new_due_at.tzinfo is None:
        raise Invalid("时间需带时区 / give a time with a zone", code="invalid_due_at")
    clock = clocks.running_clock(case, ClockKind.HANDLE)
    if clock is None or new_due_at <= clock.due_at:
        raise Invalid("新期限须晚于现期限 / the new deadline must be later", code="invalid_due_at")
    pending = db.scalar(
        select(CaseExtension.id).where(
            CaseExtension.case_id == case.id,
            CaseExtension.status == ExtensionStatus.PENDING.value,
        )
    )
    if pending is not None:
        raise Conflict("已有待审批的延期申请 / an extension is pending", code="extension_pending")
    now = utcnow()
    extension = CaseExtension(
        case_id=case.id,
        clock_kind=ClockKind.HANDLE.value,
        requested_by_id=actor.audit_id,
        requested_at=now,
        reason=text,
        requested_due_at=new_due_at,
        status=ExtensionStatus.PENDING.value,
    )
    db.add(extension)
    _touch(case, now)
    _timeline(
        case,
        actor,
        "extension_requested",
        now=now,
        note=text,
        data={"due_at": new_due_at.isoformat(), "current_due_at": clock.due_at.isoformat()},
        public=False,
    )
    db.flush()
    _audit(db, case, actor, "extension.request", None, {"due_at": new_due_at}, text)
    return extension


def decide_extension(
    db: Session, case: Case, *, approve: bool, note: str | None = None, actor: Actor
) -> CaseExtension:
    """The dispatcher approves (the handling clock moves) or refuses a pending extension."""
    extension = db.scalar(
        select(CaseExtension)
        .where(
            CaseExtension.case_id == case.id,
            CaseExtension.status == ExtensionStatus.PENDING.value,
        )
        .order_by(CaseExtension.id.desc())
    )
    if extension is None:
        raise NotFound("没有待审批的延期申请 / no pending extension", code="no_extension")
    now = utcnow()
    extension.status = (ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED).value
    extension.decided_by_id = actor.audit_id
    extension.decided_at = now
    extension.decision_note = (note or "").strip() or None
    old_due = None
    if approve:
        clock = clocks.running_clock(case, ClockKind.HANDLE)
        if clock is not None:
            old_due = clock.due_at
            clock.due_at = extension.requested_due_at
            clock.warned_at = None
            clock.escalation_level = 0
    _touch(case, now)
    _timeline(
        case,
        actor,
        "extension_approved" if approve else "extension_refused",
        now=now,
        note=extension.decision_note,
        data={"due_at": extension.requested_due_at.isoformat()},
        public=False,
    )
    _audit(
        db,
        case,
        actor,
        "extension.decide",
        {"due_at": old_due},
        {"approved": approve, "due_at": extension.requested_due_at if approve else old_due},
        extension.decision_note,
    )
    db.flush()
    return extension


def pause_for_citizen(db: Session, case: Case, *, reason: str, actor: Actor) -> Case:
    """Waiting for the citizen (more information, access to the site): clocks stand still."""
    _require_lead_handler_or_dispatch(db, case, actor)
    _require_status(case, *OPEN_STATUSES)
    if case.waiting_for_citizen:
        raise Conflict("已在等待群众 / already waiting for the citizen", code="already_paused")
    text = (reason or "").strip()
    if not text:
        raise Invalid("请说明等待的原因 / say what is awaited", code="reason_required")
    now = utcnow()
    case.waiting_for_citizen = True
    clocks.pause_all(case, now)
    _touch(case, now)
    _timeline(case, actor, "paused", now=now, note=text)
    _audit(db, case, actor, "pause", {"waiting": False}, {"waiting": True}, text)
    db.flush()
    return case


def resume(
    db: Session,
    case: Case,
    *,
    actor: Actor,
    note: str | None = None,
    settings: Settings | None = None,
) -> Case:
    _require_lead_handler_or_dispatch(db, case, actor)
    if not case.waiting_for_citizen:
        raise Conflict("没有暂停 / not paused", code="not_paused")
    now = utcnow()
    case.waiting_for_citizen = False
    clocks.resume_all(case, now, work_calendar(db, case, settings))
    _touch(case, now)
    _timeline(case, actor, "resumed", now=now, note=(note or "").strip() or None)
    _audit(db, case, actor, "resume", {"waiting": True}, {"waiting": False})
    db.flush()
    return case


# -- deadline sweep -------------------------------------------------------------------------

# Warn when a fifth of a clock's working time is left (at least the last office hour).
WARN_FRACTION = 0.2
# Clocks further away than this are not looked at by a sweep (no 15-working-day clock has
# its last fifth further out).
WARN_HORIZON = timedelta(days=10)
ESCALATION_LABELS = {1: "催办", 2: "督办", 3: "上报上级"}


@dataclass
class SweepReport:
    warned: int = 0
    escalated: int = 0
    notices: int = 0  # in-app notifications to staff


def _escalation_level(overdue_hours: float, length_hours: float) -> int:
    """催办 at the deadline; 督办 once late by the clock's own length; the level above once
    late by twice that."""
    length = max(length_hours, 1.0)
    return min(3, 1 + int(overdue_hours >= length) + int(overdue_hours >= 2 * length))


def sweep_clocks(
    db: Session,
    *,
    actor: Actor,
    now: datetime | None = None,
    settings: Settings | None = None,
    limit: int = 1000,
) -> SweepReport:
    """Warn before deadlines and escalate overdue clocks; safe to run in several processes
    at once (rows are claimed with SKIP LOCKED on PostgreSQL, every step is idempotent)."""
    moment = now or utcnow()
    report = SweepReport()
    recipients: dict[tuple[int | None, int | None, str | None], list[int]] = {}
    stmt = (
        select(CaseClock)
        .join(Case, Case.id == CaseClock.case_id)
        .where(
            Case.status.in_([s.value for s in OPEN_STATUSES]),
            CaseClock.stopped_at.is_(None),
            CaseClock.paused_at.is_(None),
            CaseClock.escalation_level < 3,
            CaseClock.due_at <= moment + WARN_HORIZON,
            or_(CaseClock.due_at <= moment, CaseClock.warned_at.is_(None)),
        )
        .order_by(CaseClock.due_at, CaseClock.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=CaseClock)
    for clock in list(db.scalars(stmt)):
        case = clock.case
        calendar = work_calendar(db, case, settings)
        length = calendar.working_hours_between(clock.started_at, clock.due_at)
        if moment <= clock.due_at:
            left = calendar.working_hours_between(moment, clock.due_at)
            if clock.warned_at is None and left <= max(length * WARN_FRACTION, 1.0):
                clock.warned_at = moment
                report.warned += 1
                _timeline(
                    case,
                    actor,
                    "deadline_warning",
                    now=moment,
                    data={"clock": clock.kind, "due_at": clock.due_at.isoformat()},
                    public=False,
                )
                report.notices += _notify_deadline(db, case, clock, None, settings, recipients)
            continue
        overdue = calendar.working_hours_between(clock.due_at, moment)
        level = _escalation_level(overdue, length)
        if level <= clock.escalation_level:
            continue
        old_level = clock.escalation_level
        clock.escalation_level = level
        clock.breached = True
        clock.warned_at = clock.warned_at or moment
        report.escalated += 1
        _timeline(
            case,
            actor,
            "escalated",
            now=moment,
            note=ESCALATION_LABELS[level],
            data={"clock": clock.kind, "level": level, "due_at": clock.due_at.isoformat()},
            public=False,
        )
        record(
            db,
            actor=actor,
            action="cases.clock.escalate",
            object_type="service_case",
            object_id=case.number,
            old={"clock": clock.kind, "level": old_level},
            new={"clock": clock.kind, "level": level},
            region_code=case.region_code,
        )
        report.notices += _notify_deadline(db, case, clock, level, settings, recipients)
    db.flush()
    return report


CLOCK_LABELS = {
    ClockKind.DISPATCH.value: ("派遣", "dispatch"),
    ClockKind.ACCEPT.value: ("签收", "sign-off"),
    ClockKind.HANDLE.value: ("办理", "handling"),
    ClockKind.FEEDBACK.value: ("反馈", "feedback"),
}
ESCALATION_ENGLISH = {1: "urged", 2: "under supervision", 3: "reported to the level above"}


def deadline_recipients(db: Session, case: Case, clock: CaseClock, level: int | None) -> list[int]:
    """Who hears of a deadline warning (``level`` None) or an escalation step.

    The warning goes to the handlers of the department that owns the clock; 催办 (1) to
    them and the department's head (``StaffProfile.is_head``; with none named, to the
    handlers alone, and the notice says so); 督办 (2) to the dispatch centre and the leaders of the
    case's region; 上报上级 (3) to the dispatch centre and the leaders of the region and of
    the level above them. The dispatch clock (and any clock of a case without a lead) is
    the dispatch centre's own; a department with nobody on the platform leaves its notices
    to the dispatch centre, so that someone always hears.
    """
    from gongzhi.org import queries as org
    from gongzhi.security.permissions import Role

    def dispatchers() -> list[int]:
        return org.role_holders_over(db, Role.DISPATCHER, case.region_code, levels=1)

    owner = None if clock.kind == ClockKind.DISPATCH else case.lead_department_id
    if level is None or level == 1:
        if owner is None:
            return dispatchers()
        handlers = org.department_handlers(db, owner)
        head = org.department_head_account(db, owner) if level == 1 else None
        return list(dict.fromkeys([*handlers, *([head] if head else [])])) or dispatchers()
    leaders = org.role_holders_over(
        db, Role.LEADER, case.region_code, levels=1 if level == 2 else 2
    )
    return list(dict.fromkeys([*dispatchers(), *leaders]))


# 催办 on a department without a head goes to its handlers alone; the notice says why.
NO_HEAD_NOTE = (
    "该部门未指定负责人，本催办未发给负责人 / "
    "the department has no head named, so no head was told of this"
)


def _notify_deadline(
    db: Session,
    case: Case,
    clock: CaseClock,
    level: int | None,
    settings: Settings | None,
    recipients: dict[tuple[int | None, int | None, str | None], list[int]],
) -> int:
    """Tell the people who must act, in-app, once per case and step: another clock of the
    same case reaching a step already announced (the handling and feedback deadlines often
    fall together) tells only those not told yet, e.g. a department the case was re-routed
    to. ``recipients`` caches the answers of one sweep."""
    from gongzhi.notify.services import enqueue_once
    from gongzhi.org import queries as org

    owner = None if clock.kind == ClockKind.DISPATCH else case.lead_department_id
    key = (owner, level, case.region_code)
    if key not in recipients:
        recipients[key] = deadline_recipients(db, case, clock, level)
    to = recipients[key]
    if not to:
        return 0
    label, english = CLOCK_LABELS.get(clock.kind, (clock.kind, clock.kind))
    tz = ZoneInfo(_settings(settings).timezone)
    due = clock.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if level is None:
        kind = "case_deadline_warning"
        subject = f"诉求 {case.number} {label}期限将至"
        body = f"{label}期限 {due}，请及时处理 / the {english} deadline is {due}"
    else:
        kind = f"case_escalation_{level}"
        step = ESCALATION_LABELS[level]
        subject = f"【{step}】诉求 {case.number} {label}已超期"
        body = (
            f"{label}期限 {due} 已过，{step} / the {english} deadline {due} has passed: "
            f"{ESCALATION_ENGLISH[level]}"
        )
        if level == 1 and owner is not None and not org.department_head_account(db, owner):
            body += f"\n{NO_HEAD_NOTE}"
    sent = enqueue_once(
        db,
        recipient_account_ids=to,
        kind=kind,
        subject=subject,
        body=body,
        case_number=case.number,
    )
    return len(sent)
