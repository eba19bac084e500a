"""Duplicate requests: suggestions, merging (and undoing it), and "me too" support.

The same pothole is often reported by several people. ``suggest_duplicates`` finds open cases
of the same category, nearby and recent, whose wording is alike; at intake the pages ask
"is this the same as …?", in triage the dispatcher merges. A merged case is closed with the
outcome DUPLICATE and linked to the main case; its reporter becomes a supporter of the main
case and hears about it from then on. ``unmerge_case`` puts the duplicate back as it was.
Both timelines keep every step.

Models live here (``cases/models.py`` is the core's); ``gongzhi.models`` imports them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from gongzhi.audit.services import Actor, record
from gongzhi.cases import queries
from gongzhi.cases.api import require_any
from gongzhi.cases.models import OPEN_STATUSES, Case, CaseClock, CaseStatus, Outcome
from gongzhi.config import Settings
from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow
from gongzhi.errors import Conflict, Forbidden, Invalid, NotFound
from gongzhi.regions.codes import level_of
from gongzhi.security.deps import DB
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

# A duplicate is near: 250 m when both cases have coordinates, the same village or
# community otherwise; and recent: reported within two weeks of each other.
MAX_DISTANCE_M = 250.0
TIME_WINDOW = timedelta(days=14)
# Character-bigram Jaccard below this is a different problem described in other words.
MIN_TEXT_SIMILARITY = 0.12
# How the score weighs wording, distance and time (they sum to 1).
WEIGHT_TEXT, WEIGHT_PLACE, WEIGHT_TIME = 0.5, 0.3, 0.2
# Candidates examined per suggestion (same category, open, recent), newest first.
MAX_CANDIDATES = 500
VILLAGE_LEVEL = 5


# -- tables ---------------------------------------------------------------------------------


class CaseMerge(Base):
    """A duplicate merged into a main case; ``prior`` is what unmerging restores."""

    __tablename__ = "case_merge"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    duplicate_case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("service_case.id", ondelete="CASCADE"), index=True
    )
    main_case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("service_case.id", ondelete="CASCADE"), index=True
    )
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    merged_by_id: Mapped[int | None] = mapped_column(BigInteger)
    prior: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    unmerged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unmerged_by_id: Mapped[int | None] = mapped_column(BigInteger)


class CaseSupporter(Base):
    """An account that backs a case ("me too", or a merged duplicate's reporter); each
    account counts once per case."""

    __tablename__ = "case_supporter"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("service_case.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the row came with a merge, so that unmerging takes exactly it away again.
    via_merge_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("case_merge.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(12), default="me_too")

    __table_args__ = (UniqueConstraint("case_id", "account_id"),)


# -- suggestions ----------------------------------------------------------------------------

_NOT_TEXT = re.compile(r"[\W_]+", re.UNICODE)


def bigrams(text: str) -> set[str]:
    """Character bigrams of the text without spaces and punctuation (Chinese has no word
    boundaries; bigrams are the usual unit for short complaints)."""
    clean = _NOT_TEXT.sub("", (text or "").lower())
    if len(clean) < 2:
        return {clean} if clean else set()
    return {clean[i : i + 2] for i in range(len(clean) - 1)}


def text_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' character bigrams, 0 to 1."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(h)))


def _village(code: str | None) -> str | None:
    """The village/community a region code lies in; None above that level."""
    if not code:
        return None
    level = level_of(code)
    if level is None or level < VILLAGE_LEVEL:
        return None
    return code[:12]


@dataclass(frozen=True)
class Probe:
    """What a duplicate is looked for by: a case, or the fields of one not yet submitted."""

    matter_code: str | None
    description: str
    lat: float | None = None
    lon: float | None = None
    region_code: str | None = None
    created_at: datetime | None = None
    case_id: int | None = None

    @classmethod
    def of(cls, source: Case | Mapping[str, Any] | Probe) -> Probe:
        if isinstance(source, Probe):
            return source
        if isinstance(source, Case):
            return cls(
                matter_code=source.matter_code,
                description=source.description,
                lat=source.lat,
                lon=source.lon,
                region_code=source.region_code,
                created_at=source.created_at,
                case_id=source.id,
            )
        return cls(
            matter_code=source.get("matter_code"),
            description=str(source.get("description") or ""),
            lat=source.get("lat"),
            lon=source.get("lon"),
            region_code=source.get("region_code"),
            created_at=source.get("created_at"),
            case_id=source.get("case_id"),
        )


@dataclass(frozen=True)
class DuplicateSuggestion:
    case: Case
    score: float
    reasons: list[str] = field(default_factory=list)
    distance_m: float | None = None
    text_similarity: float = 0.0
    days_apart: float = 0.0

    def to_json(self, *, full: bool = True) -> dict[str, Any]:
        """``full`` False gives what a citizen may see of someone else's case."""
        out: dict[str, Any] = {
            "number": self.case.number,
            "status": self.case.status,
            "matter_code": self.case.matter_code,
            "score": round(self.score, 4),
            "reasons": list(self.reasons),
            "distance_m": None if self.distance_m is None else round(self.distance_m),
            "text_similarity": round(self.text_similarity, 4),
            "days_apart": round(self.days_apart, 1),
        }
        if full:
            out["description"] = self.case.description
            out["address_text"] = self.case.address_text
            out["created_at"] = self.case.created_at.isoformat()
        return out


def _place(probe: Probe, other: Case) -> tuple[bool, float | None, float]:
    """(near, distance in metres or None, closeness 0..1)."""
    if None not in (probe.lat, probe.lon, other.lat, other.lon):
        d = distance_m(probe.lat, probe.lon, other.lat, other.lon)  # type: ignore[arg-type]
        return d <= MAX_DISTANCE_M, d, max(0.0, 1.0 - d / MAX_DISTANCE_M)
    village = _village(probe.region_code)
    if village is not None and village == _village(other.region_code):
        # Same village without coordinates: near, but less certainly than a measured 0 m.
        return True, None, 0.5
    return False, None, 0.0


def suggest_duplicates(
    db: Session,
    case_or_fields: Case | Mapping[str, Any] | Probe,
    *,
    limit: int = 5,
    scope: Any = None,
) -> list[DuplicateSuggestion]:
    """Open cases that are probably the same problem, best first.

    A candidate has the same category, lies within ``MAX_DISTANCE_M`` (or the same village
    when either has no coordinates), was reported within ``TIME_WINDOW`` and is worded
    alike (bigram Jaccard at least ``MIN_TEXT_SIMILARITY``). ``scope`` is an optional WHERE
    clause (the viewer's cases)."""
    probe = Probe.of(case_or_fields)
    if not probe.matter_code or not probe.description.strip():
        return []
    at = probe.created_at or utcnow()
    stmt = select(Case).where(
        Case.matter_code == probe.matter_code,
        Case.status.in_([s.value for s in OPEN_STATUSES]),
        Case.created_at >= at - TIME_WINDOW,
        Case.created_at <= at + TIME_WINDOW,
    )
    if probe.case_id is not None:
        stmt = stmt.where(Case.id != probe.case_id)
    if scope is not None:
        stmt = stmt.where(scope)
    stmt = stmt.order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_CANDIDATES)
    found: list[DuplicateSuggestion] = []
    for other in db.scalars(stmt):
        near, dist, closeness = _place(probe, other)
        if not near:
            continue
        similarity = text_similarity(probe.description, other.description)
        if similarity < MIN_TEXT_SIMILARITY:
            continue
        apart = abs((at - other.created_at).total_seconds()) / 86400
        recency = max(0.0, 1.0 - apart / (TIME_WINDOW.total_seconds() / 86400))
        reasons = ["same_category"]
        reasons.append("within_distance" if dist is not None else "same_village")
        reasons.append("recent")
        reasons.append("similar_text")
        score = WEIGHT_TEXT * similarity + WEIGHT_PLACE * closeness + WEIGHT_TIME * recency
        found.append(
            DuplicateSuggestion(
                case=other,
                score=score,
                reasons=reasons,
                distance_m=dist,
                text_similarity=similarity,
                days_apart=apart,
            )
        )
    found.sort(key=lambda s: (-s.score, s.case.id))
    return found[:limit]


# -- support --------------------------------------------------------------------------------


def support_count(db: Session, case: Case) -> int:
    return int(
        db.scalar(select(func.count(CaseSupporter.id)).where(CaseSupporter.case_id == case.id)) or 0
    )


def supporter_ids(db: Session, case: Case) -> list[int]:
    """Accounts that hear about the case besides its reporter."""
    return list(
        db.scalars(
            select(CaseSupporter.account_id)
            .where(CaseSupporter.case_id == case.id)
            .order_by(CaseSupporter.id)
        )
    )


def _timeline(case: Case, actor: Actor, kind: str, now: datetime, **kw: Any) -> None:
    from gongzhi.cases.services import _timeline as core_timeline

    core_timeline(case, actor, kind, now=now, **kw)


def support_case(db: Session, case: Case, *, account_id: int, actor: Actor) -> int:
    """ "Me too": the account backs the case; counted once per account. Returns the count."""
    if case.status == CaseStatus.CLOSED:
        raise Conflict("案件已办结 / the case is closed", code="not_open")
    if account_id == case.reporter_account_id:
        raise Conflict("这是你自己反映的问题 / this is your own report", code="own_case")
    exists = db.scalar(
        select(CaseSupporter.id).where(
            CaseSupporter.case_id == case.id, CaseSupporter.account_id == account_id
        )
    )
    if exists is None:
        now = utcnow()
        db.add(CaseSupporter(case_id=case.id, account_id=account_id, created_at=now))
        db.flush()
        count = support_count(db, case)
        _timeline(case, actor, "supported", now, data={"supporters": count}, public=False)
        record(
            db,
            actor=actor,
            action="cases.case.support",
            object_type="service_case",
            object_id=case.number,
            new={"account_id": account_id, "supporters": count},
            region_code=case.region_code,
        )
    return support_count(db, case)


# -- merge ----------------------------------------------------------------------------------


def _standing() -> Any:
    """Merges still in force: a duplicate its reporter has since reopened is no longer one."""
    return (
        select(CaseMerge)
        .join(Case, Case.id == CaseMerge.duplicate_case_id)
        .where(
            CaseMerge.active.is_(True),
            Case.status == CaseStatus.CLOSED.value,
            Case.outcome == Outcome.DUPLICATE.value,
        )
    )


def active_merge(db: Session, duplicate: Case) -> CaseMerge | None:
    return db.scalar(_standing().where(CaseMerge.duplicate_case_id == duplicate.id))


def merged_into(db: Session, case: Case) -> Case | None:
    """The main case a standing merge links ``case`` to, if any."""
    merge = active_merge(db, case)
    return db.get(Case, merge.main_case_id) if merge is not None else None


@dataclass(frozen=True)
class MergeRecord:
    """One merge into a main case, standing or undone, for its page's history."""

    merge: CaseMerge
    duplicate_number: str
    standing: bool


def merges_into(db: Session, main: Case) -> list[MergeRecord]:
    """Every case ever merged into ``main``, oldest first; ``standing`` is False once it was
    unmerged or its reporter reopened it."""
    standing = {m.id for m in db.scalars(_standing().where(CaseMerge.main_case_id == main.id))}
    rows = db.execute(
        select(CaseMerge, Case.number)
        .join(Case, Case.id == CaseMerge.duplicate_case_id)
        .where(CaseMerge.main_case_id == main.id)
        .order_by(CaseMerge.id)
    )
    return [MergeRecord(m, number, m.id in standing) for m, number in rows]


def _notify(
    db: Session, account_id: int | None, kind: str, subject: str, body: str, number: str
) -> None:
    if account_id is None:
        return
    from gongzhi.notify.services import enqueue

    enqueue(
        db,
        recipient_account_id=account_id,
        kind=kind,
        subject=subject,
        body=body,
        case_number=number,
    )


def merge_case(
    db: Session, duplicate: Case, *, into: Case, actor: Actor, reason: str | None = None
) -> CaseMerge:
    """Close ``duplicate`` as DUPLICATE of ``into``; its reporter becomes a supporter of
    ``into``. The state before (status, reason, running clocks) is kept for unmerging.
    ``reason`` (the dispatcher's words; the pages require one) goes to both timelines'
    staff view and the audit log; the citizen's timeline says only "merged with …"."""
    from gongzhi.cases.services import _audit, _close, _touch, work_calendar

    why = (reason or "").strip() or None

    if duplicate.id == into.id:
        raise Invalid("不能与自身合并 / a case cannot be merged into itself", code="same_case")
    if duplicate.status == CaseStatus.CLOSED:
        raise Conflict(f"案件 {duplicate.number} 已办结 / already closed", code="not_open")
    if into.status == CaseStatus.CLOSED:
        raise Conflict(f"主案件 {into.number} 已办结 / the main case is closed", code="not_open")
    has_children = db.scalar(_standing().where(CaseMerge.main_case_id == duplicate.id))
    if has_children is not None:
        # Chains would make unmerging ambiguous; merge those into the main case instead.
        raise Conflict(
            f"已有案件并入 {duplicate.number} / other cases are merged into this one",
            code="has_duplicates",
        )
    now = utcnow()
    running: list[dict[str, Any]] = []
    calendar = None
    for clock in duplicate.clocks:
        if clock.stopped_at is None:
            calendar = calendar or work_calendar(db, duplicate)
            start = clock.paused_at or now
            left = max(0.0, calendar.working_hours_between(start, clock.due_at))
            running.append({"id": clock.id, "left_hours": left, "overdue": start > clock.due_at})
    prior = {
        "status": duplicate.status,
        "triage_reason": duplicate.triage_reason,
        "waiting_for_citizen": duplicate.waiting_for_citizen,
        "clocks": running,
    }
    before = duplicate.snapshot()
    merge = CaseMerge(
        duplicate_case_id=duplicate.id,
        main_case_id=into.id,
        merged_at=now,
        merged_by_id=actor.audit_id,
        prior=prior,
        active=True,
    )
    db.add(merge)
    db.flush()
    _close(duplicate, Outcome.DUPLICATE, now)
    _touch(duplicate, now)
    _timeline(
        duplicate,
        actor,
        "merged",
        now,
        from_status=before["status"],
        to_status=duplicate.status,
        note=f"与 {into.number} 为同一问题，合并办理 / same as {into.number}",
        data={"outcome": Outcome.DUPLICATE.value, "into": into.number, "merge_reason": why},
    )
    moved = False
    reporter = duplicate.reporter_account_id
    if reporter is not None and reporter != into.reporter_account_id:
        exists = db.scalar(
            select(CaseSupporter.id).where(
                CaseSupporter.case_id == into.id, CaseSupporter.account_id == reporter
            )
        )
        if exists is None:
            db.add(
                CaseSupporter(
                    case_id=into.id,
                    account_id=reporter,
                    created_at=now,
                    via_merge_id=merge.id,
                    kind="merged",
                )
            )
            moved = True
    _touch(into, now)
    _timeline(
        into,
        actor,
        "duplicate_merged",
        now,
        note=why,
        data={"duplicate": duplicate.number, "reporter_moved": moved},
        public=False,
    )
    _audit(
        db,
        duplicate,
        actor,
        "merge",
        before,
        {**duplicate.snapshot(), "into": into.number},
        reason=why,
    )
    record(
        db,
        actor=actor,
        action="cases.case.absorb",
        object_type="service_case",
        object_id=into.number,
        new={"duplicate": duplicate.number, "reporter_moved": moved},
        reason=why,
        region_code=into.region_code,
    )
    _notify(
        db,
        reporter,
        "case_merged",
        f"您的诉求 {duplicate.number} 已与 {into.number} 合并办理",
        f"同一问题已由 {into.number} 办理，办理进展将继续告知您 / "
        f"handled as {into.number}; you will hear about it",
        duplicate.number,
    )
    db.flush()
    return merge


def unmerge_case(
    db: Session,
    duplicate: Case,
    *,
    actor: Actor,
    settings: Settings | None = None,
    reason: str | None = None,
) -> Case:
    """Undo a merge: the duplicate gets back its status and running clocks (with the working
    time they had left), the moved supporter leaves the main case; history stays."""
    from gongzhi.cases.services import _audit, _touch, work_calendar

    why = (reason or "").strip() or None

    merge = active_merge(db, duplicate)
    if merge is None:
        raise Conflict(f"案件 {duplicate.number} 未被合并 / not merged", code="not_merged")
    into = db.get(Case, merge.main_case_id)
    assert into is not None  # the foreign key cascades
    now = utcnow()
    before = duplicate.snapshot()
    prior = merge.prior or {}
    duplicate.status = prior.get("status", CaseStatus.TRIAGE.value)
    duplicate.triage_reason = prior.get("triage_reason")
    duplicate.outcome = None
    duplicate.closed_at = None
    duplicate.waiting_for_citizen = bool(prior.get("waiting_for_citizen"))
    calendar = work_calendar(db, duplicate, settings)
    by_id = {c.id: c for c in duplicate.clocks}
    for saved in prior.get("clocks", []):
        clock: CaseClock | None = by_id.get(saved["id"])
        if clock is None:
            continue
        if clock.stopped_at is not None:
            clock.paused_seconds += int((now - clock.stopped_at).total_seconds())
        clock.stopped_at = None
        # The time merged does not count against the handler: what was left is granted again.
        if not saved.get("overdue") and saved.get("left_hours"):
            clock.due_at = calendar.add_working_hours(now, float(saved["left_hours"]))
        clock.breached = bool(saved.get("overdue"))
        if duplicate.waiting_for_citizen:
            clock.paused_at = now
    merge.active = False
    merge.unmerged_at = now
    merge.unmerged_by_id = actor.audit_id
    moved = db.scalar(select(CaseSupporter).where(CaseSupporter.via_merge_id == merge.id))
    if moved is not None:
        db.delete(moved)
    _touch(duplicate, now)
    _timeline(
        duplicate,
        actor,
        "unmerged",
        now,
        from_status=CaseStatus.CLOSED.value,
        to_status=duplicate.status,
        note=f"撤销与 {into.number} 的合并 / no longer merged with {into.number}",
        data={"from": into.number, "merge_reason": why},
    )
    _touch(into, now)
    _timeline(
        into,
        actor,
        "duplicate_unmerged",
        now,
        note=why,
        data={"duplicate": duplicate.number},
        public=False,
    )
    _audit(
        db,
        duplicate,
        actor,
        "unmerge",
        {**before, "into": into.number},
        duplicate.snapshot(),
        reason=why,
    )
    record(
        db,
        actor=actor,
        action="cases.case.release",
        object_type="service_case",
        object_id=into.number,
        old={"duplicate": duplicate.number},
        reason=why,
        region_code=into.region_code,
    )
    db.flush()
    return duplicate


# -- JSON routes ----------------------------------------------------------------------------
# Paths under /api/v1/cases/{number}/… with a fixed last segment, and the intake check under
# its own prefix, so that none of them is taken for a core route (mounted after these).

router = APIRouter(tags=["cases"])


class MergeIn(BaseModel):
    into: str = Field(min_length=1, max_length=32)
    reason: str | None = Field(default=None, max_length=2000)


class CheckIn(BaseModel):
    description: str = Field(min_length=1, max_length=4000)
    matter_code: str | None = Field(default=None, max_length=40)
    lat: float | None = None
    lon: float | None = None
    region_code: str | None = Field(default=None, max_length=15)
    address_text: str | None = Field(default=None, max_length=400)


def _may_act(principal: Principal, permission: Permission, case: Case) -> None:
    if case.region_code is not None and not principal.can(permission, case.region_code):
        raise Forbidden("超出你的辖区 / outside your jurisdiction", code="out_of_scope")


def _merged_into(db: Session, case: Case) -> str | None:
    merge = active_merge(db, case)
    if merge is None:
        return None
    main = db.get(Case, merge.main_case_id)
    return main.number if main is not None else None


def _state(db: Session, case: Case) -> dict[str, Any]:
    return {
        "number": case.number,
        "status": case.status,
        "outcome": case.outcome,
        "merged_into": _merged_into(db, case),
        "supporters": support_count(db, case),
    }


@router.post("/api/v1/duplicates/check")
def check_duplicates(
    body: CheckIn,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_SUBMIT),
) -> dict[str, Any]:
    """At intake: "is this the same as …?" before the request is sent. A citizen is shown
    the number, state and why, not other people's words."""
    region = body.region_code
    if region is None and body.address_text:
        from gongzhi.regions.resolver import get_resolver

        settings: Settings = request.app.state.settings
        region = get_resolver(db, home_region=settings.home_region).resolve(body.address_text).code
    probe = Probe(
        matter_code=body.matter_code,
        description=body.description,
        lat=body.lat,
        lon=body.lon,
        region_code=region,
    )
    full = principal.can(Permission.CASE_READ)
    scope = queries.scope_filter(db, principal) if full else None
    found = suggest_duplicates(db, probe, scope=scope)
    return {"suggestions": [s.to_json(full=full) for s in found]}


@router.get("/api/v1/cases/{number}/duplicates")
def duplicates_of(
    number: str,
    db: DB,
    principal: Principal = require_any(Permission.CASE_READ, Permission.CASE_TRIAGE),
    limit: int = 5,
) -> dict[str, Any]:
    case = queries.access_case(db, principal, number)
    found = suggest_duplicates(
        db, case, limit=max(1, min(limit, 20)), scope=queries.scope_filter(db, principal)
    )
    return {**_state(db, case), "suggestions": [s.to_json() for s in found]}


@router.post("/api/v1/cases/{number}/merge")
def merge(
    number: str,
    body: MergeIn,
    db: DB,
    principal: Principal = require_any(Permission.CASE_MERGE),
) -> dict[str, Any]:
    duplicate = queries.access_case(db, principal, number)
    into = queries.access_case(db, principal, body.into)
    _may_act(principal, Permission.CASE_MERGE, duplicate)
    _may_act(principal, Permission.CASE_MERGE, into)
    merge_case(db, duplicate, into=into, actor=principal, reason=body.reason)
    return {**_state(db, duplicate), "into": _state(db, into)}


@router.post("/api/v1/cases/{number}/unmerge")
def unmerge(
    number: str,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_MERGE),
) -> dict[str, Any]:
    duplicate = queries.access_case(db, principal, number)
    _may_act(principal, Permission.CASE_MERGE, duplicate)
    unmerge_case(db, duplicate, actor=principal, settings=request.app.state.settings)
    return _state(db, duplicate)


@router.post("/api/v1/cases/{number}/support")
def support(
    number: str,
    db: DB,
    principal: Principal = require_any(Permission.CASE_SUBMIT),
) -> dict[str, Any]:
    """ "Me too" on a case someone else reported: any account that may report may back an
    open case by its number; the answer reveals only the count."""
    case = queries.case_by_number(db, number)
    if case is None:
        raise NotFound(f"未找到案件 / no such case: {number}", code="case_not_found")
    count = support_case(db, case, account_id=principal.account_id, actor=principal)
    return {"number": case.number, "supporters": count}


@router.get("/api/v1/cases/{number}/support")
def support_of(
    number: str,
    db: DB,
    principal: Principal = require_any(Permission.CASE_READ, Permission.CASE_READ_OWN),
) -> dict[str, Any]:
    """The count and the standing: staff within their scope; a citizen for their own case
    and for a case they follow (backed, or their request was merged into it)."""
    if principal.can(Permission.CASE_READ):
        case = queries.access_case(db, principal, number)
    else:
        case, _own = queries.access_followed_case(db, principal, number)
    return _state(db, case)
