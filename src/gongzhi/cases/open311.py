"""Open311 GeoReport v2 at ``/open311/v2/``: the interoperable API for partner systems.

Reading (discovery, services, service definitions, requests, tokens) is public and shows no
personal data: never the reporter's contact, the description as it was given, the address
only down to the township/street (街道) and coordinates rounded to about 100 m. Creating a
request needs an API key issued to a partner channel (``gongzhi cases open311-key-issue``);
the key, not a session, is the credential, and only its hash is stored.

The protocol has its own error body (``<errors><error><code/><description/></error></errors>``
or a JSON array of ``{code, description}``), so every route here turns failures into that
body itself instead of the platform's ``{"error": ...}`` shape. Real clients' habits are
tolerated: ``api_key`` in the query string as well as the body, an empty parameter
(``jurisdiction_id=``) counts as absent, and the old singular ``/service/{code}`` path.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.datastructures import FormData

from gongzhi.audit.services import Actor, SystemActor, record
from gongzhi.cases.models import Case, CaseClock, CaseEvent, CaseStatus, Channel, ClockKind
from gongzhi.cases.queries import case_by_number, cases_for_feed
from gongzhi.cases.services import submit_case
from gongzhi.config import Settings
from gongzhi.crypto.identifiers import mask_identifiers
from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow
from gongzhi.errors import Conflict, DomainError, Invalid, NotFound
from gongzhi.org.models import MATTER_KIND_LABELS, Department, Matter, MatterKind
from gongzhi.regions import codes
from gongzhi.regions.queries import path_names
from gongzhi.security.deps import DB, public
from gongzhi.security.principal import Principal

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint's behaviour last changed (the discovery document's ``changeset``).
CHANGESET = datetime(2026, 11, 28, tzinfo=UTC)
FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
DESCRIPTION_MAX = 4000  # the GeoReport v2 limit
MAX_RANGE = timedelta(days=90)  # start_date..end_date may span at most this (the spec)
KEY_PREFIX = "gz311_"
# Coordinates are published to 3 decimals (about 100 m): enough to find the pothole, not
# enough to find the reporter's door.
PUBLIC_COORDINATE_DECIMALS = 3
STREET_LEVEL = 4  # regions level of 乡镇/街道: the most precise public address


# -- API keys ------------------------------------------------------------------------------


class Open311ApiKey(Base):
    """A key issued to one partner channel (a WeChat mini-program, a county app, …)."""

    __tablename__ = "open311_api_key"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the key: keys are long random strings, so a plain hash cannot be reversed,
    # and a leaked table does not leak working keys.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "channel": self.channel, "revoked_at": self.revoked_at}


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue_api_key(
    db: Session, *, name: str, actor: Actor, channel: str | None = None
) -> tuple[str, Open311ApiKey]:
    """Issue a key; the plaintext is returned once and never stored."""
    name = (name or "").strip()
    channel = (channel or name).strip()
    if not name or len(name) > 100:
        raise Invalid("名称须为 1–100 个字符 / name must be 1-100 characters", code="bad_name")
    if not channel or len(channel) > 60:
        raise Invalid("渠道须为 1–60 个字符 / channel must be 1-60 characters", code="bad_channel")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = Open311ApiKey(
        name=name, channel=channel, key_hash=_key_hash(key), created_by=actor.audit_label
    )
    db.add(row)
    db.flush()
    record(
        db,
        actor=actor,
        action="cases.open311_key.issue",
        object_type="open311_api_key",
        object_id=row.id,
        new={"name": name, "channel": channel},
    )
    return key, row


def revoke_api_key(
    db: Session, key_id: int, *, actor: Actor, reason: str | None = None
) -> Open311ApiKey:
    row = db.get(Open311ApiKey, key_id)
    if row is None:
        raise NotFound(f"没有这个密钥 / no such API key: {key_id}")
    if row.revoked_at is not None:
        raise Conflict(f"密钥已吊销 / API key {key_id} is already revoked", code="already_revoked")
    before = row.snapshot()
    row.revoked_at = utcnow()
    record(
        db,
        actor=actor,
        action="cases.open311_key.revoke",
        object_type="open311_api_key",
        object_id=row.id,
        old={"revoked_at": before["revoked_at"]},
        new={"revoked_at": row.revoked_at},
        reason=reason,
    )
    return row


def api_key_for(db: Session, key: str | None) -> Open311ApiKey | None:
    """The active key row for a plaintext key, or None."""
    if not key:
        return None
    return db.scalar(
        select(Open311ApiKey).where(
            Open311ApiKey.key_hash == _key_hash(key), Open311ApiKey.revoked_at.is_(None)
        )
    )


def list_api_keys(db: Session) -> list[Open311ApiKey]:
    return list(db.scalars(select(Open311ApiKey).order_by(Open311ApiKey.id)))


# -- service definitions -------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    """A question a partner may answer when filing a request of a given kind of matter."""

    code: str
    datatype: str  # string / number / datetime / text / singlevaluelist / multivaluelist
    description: str
    order: int
    datatype_description: str = ""
    required: bool = False
    values: tuple[tuple[str, str], ...] = ()
    kinds: frozenset[str] | None = None  # None: every kind of matter
    max_length: int = 200

    def to_open311(self) -> dict[str, Any]:
        return {
            "variable": True,
            "code": self.code,
            "datatype": self.datatype,
            "required": self.required,
            "datatype_description": self.datatype_description,
            "order": self.order,
            "description": self.description,
            "values": [{"key": k, "name": n} for k, n in self.values],
        }


# Generic questions per kind of matter (GB/T 30428: 部件 facilities, 事件 events). They are
# kept here rather than in a table: they describe this protocol's form, not local policy.
ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        code="facility_id",
        datatype="string",
        description="设施编号（井盖、路灯等设施上的编号）/ Facility number on its plate",
        datatype_description="最多 40 个字符 / up to 40 characters",
        order=1,
        kinds=frozenset({MatterKind.COMPONENT.value}),
        max_length=40,
    ),
    Attribute(
        code="occurred_at",
        datatype="datetime",
        description="发生时间 / When it happened",
        datatype_description="ISO 8601, e.g. 2026-11-28T09:30:00+08:00",
        order=1,
        kinds=frozenset({MatterKind.EVENT.value}),
    ),
    Attribute(
        code="urgency",
        datatype="singlevaluelist",
        description="紧急程度 / Urgency",
        order=2,
        values=(("normal", "一般 / normal"), ("urgent", "紧急，影响安全 / urgent, a danger")),
    ),
)


def attributes_for(matter: Matter) -> list[Attribute]:
    return [a for a in ATTRIBUTES if a.kinds is None or matter.kind in a.kinds]


def _kind_label(kind: str) -> str:
    try:
        return MATTER_KIND_LABELS[MatterKind(kind)]
    except ValueError:
        return kind


def _service(matter: Matter) -> dict[str, Any]:
    return {
        "service_code": matter.code,
        "service_name": matter.name,
        "description": matter.description or matter.name,
        "metadata": bool(attributes_for(matter)),
        "type": "realtime",
        "keywords": ",".join(matter.keywords or []),
        "group": _kind_label(matter.kind),
    }


def _active_matter(db: Session, code: str) -> Matter | None:
    return db.scalar(select(Matter).where(Matter.code == code, Matter.active.is_(True)))


# -- rendering -----------------------------------------------------------------------------


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


# XML names of list items under each list element.
_ITEM_TAGS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
# Characters XML 1.0 cannot carry at all (a description pasted from elsewhere may have them).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _element(tag: str, value: Any) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, Mapping):
        for key, item in value.items():
            element.append(_element(key, item))
    elif isinstance(value, list | tuple):
        for item in value:
            element.append(_element(_ITEM_TAGS[tag], item))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _XML_INVALID.sub("", str(value))
    return element


def _render(fmt: str, root: str, data: Any, status: int = 200) -> Response:
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    else:
        tree = ET.tostring(_element(root, data), encoding="unicode")
        body = ('<?xml version="1.0" encoding="utf-8"?>\n' + tree).encode("utf-8")
    return Response(body, status_code=status, media_type=FORMATS[fmt])


def _error(fmt: str, status: int, description: str) -> Response:
    # Descriptions may quote the request (a path, a parameter): no ID or mobile number echoed.
    description = mask_identifiers(description)
    return _render(fmt, "errors", [{"code": status, "description": description}], status)


def _split(resource: str) -> tuple[str, str]:
    """``"XC-001.json"`` -> (``"XC-001"``, ``"json"``); the format is the last suffix."""
    name, dot, fmt = resource.rpartition(".")
    if not dot or not name:
        raise Open311Error(404, f"no format suffix (.xml or .json) on {resource!r}")
    return name, _format(fmt)


def _format(fmt: str) -> str:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise Open311Error(404, f"format {fmt!r} is not served here; use .xml or .json")
    return fmt


def _guess_format(resource: str) -> str:
    fmt = resource.rpartition(".")[2].lower()
    return fmt if fmt in FORMATS else "xml"


def _answer(fmt_hint: str, build: Callable[[], Response], db: Session | None = None) -> Response:
    """Run a handler, turning its failures into the Open311 error body."""
    try:
        return build()
    except Open311Error as exc:
        if db is not None:
            db.rollback()
        return _error(fmt_hint, exc.status, exc.description)
    except DomainError as exc:
        if db is not None:
            db.rollback()  # nothing half-done is committed by the request's unit of work
        status = exc.status_code if exc.status_code in (403, 404) else 400
        return _error(fmt_hint, status, exc.message)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _local(settings: Settings, value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo(settings.timezone)).isoformat(timespec="seconds")


def _params(request: Request, form: FormData | None = None) -> dict[str, str]:
    """Query string and body together (body wins); an empty value counts as absent."""
    merged: dict[str, str] = {}
    sources: list[Any] = [request.query_params]
    if form is not None:
        sources.append(form)
    for source in sources:
        for key, value in source.multi_items():
            if isinstance(value, str) and value.strip() and not key.endswith("[]"):
                merged[key] = value.strip()
    return merged


def _check_jurisdiction(params: Mapping[str, str], settings: Settings) -> None:
    given = params.get("jurisdiction_id")
    if given is not None and given != settings.home_region:
        raise Open311Error(404, f"jurisdiction_id {given!r} is not served here")


# -- discovery and services ----------------------------------------------------------------

router = APIRouter(prefix="/open311/v2", tags=["open311"])


@router.get("/discovery.{fmt}")
def discovery(
    fmt: str, request: Request, db: DB, _principal: Principal | None = public()
) -> Response:
    def build() -> Response:
        settings = _settings(request)
        url = str(request.base_url).rstrip("/") + "/open311/v2"
        changeset = _local(settings, CHANGESET)
        data = {
            "changeset": changeset,
            "contact": f"政务服务热线 / hotline {settings.hotline}",
            "key_service": (
                "向平台管理员申请 API 密钥（每个合作渠道一个）/ "
                "API keys are issued per partner channel by the platform administrator"
            ),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": url,
                    "changeset": changeset,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }
        return _render(_format(fmt), "discovery", data)

    return _answer(_guess_format("." + fmt), build)


@router.get("/services.{fmt}")
def services(
    fmt: str, request: Request, db: DB, _principal: Principal | None = public()
) -> Response:
    def build() -> Response:
        form = _format(fmt)
        _check_jurisdiction(_params(request), _settings(request))
        matters = db.scalars(select(Matter).where(Matter.active.is_(True)).order_by(Matter.code))
        return _render(form, "services", [_service(m) for m in matters])

    return _answer(_guess_format("." + fmt), build)


def _service_definition(request: Request, db: Session, resource: str) -> Response:
    def build() -> Response:
        code, fmt = _split(resource)
        _check_jurisdiction(_params(request), _settings(request))
        matter = _active_matter(db, code)
        if matter is None:
            raise Open311Error(404, f"service_code {code!r} not found")
        data = {
            "service_code": matter.code,
            "attributes": [a.to_open311() for a in attributes_for(matter)],
        }
        return _render(fmt, "service_definition", data)

    return _answer(_guess_format(resource), build)


@router.get("/services/{resource}")
def service_definition(
    resource: str, request: Request, db: DB, _principal: Principal | None = public()
) -> Response:
    return _service_definition(request, db, resource)


@router.get("/service/{resource}")
def service_definition_singular(
    resource: str, request: Request, db: DB, _principal: Principal | None = public()
) -> Response:
    """The path an old client uses (``service`` in the singular)."""
    return _service_definition(request, db, resource)


# -- requests ------------------------------------------------------------------------------


async def _form(request: Request) -> FormData:
    # Read here (asynchronously) so that the handler itself can stay a plain function
    # running in the thread pool with its database session; Starlette caches the form.
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return await request.form()
    return FormData()


Form = Annotated[FormData, Depends(_form)]
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_CJK = re.compile(r"[\u3400-\u9fff]")


def _float(params: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a decimal number, got {raw!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise Open311Error(400, f"{name} must be between {low} and {high}")
    return value


def _parse_datetime(raw: str, name: str, settings: Settings) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+") if "T" in raw else raw)
    except ValueError:
        raise Open311Error(
            400, f"{name} must be an ISO 8601 date-time, e.g. 2026-11-01T00:00:00+08:00"
        ) from None
    if value.tzinfo is None:
        # A date-time without a zone is read as local time (the deployment's zone).
        value = value.replace(tzinfo=ZoneInfo(settings.timezone))
    return value.astimezone(UTC)


def _attributes(form: FormData, matter: Matter, settings: Settings) -> dict[str, Any]:
    given: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        match = _ATTRIBUTE_KEY.match(key)
        if match and isinstance(value, str) and value.strip():
            given.setdefault(match.group(1), []).append(value.strip())
    out: dict[str, Any] = {}
    for attribute in attributes_for(matter):
        values = given.get(attribute.code, [])
        if not values:
            if attribute.required:
                raise Open311Error(400, f"attribute[{attribute.code}] is required")
            continue
        if attribute.datatype != "multivaluelist" and len(values) > 1:
            raise Open311Error(400, f"attribute[{attribute.code}] takes one value")
        keys = {k for k, _ in attribute.values}
        if attribute.datatype in ("singlevaluelist", "multivaluelist"):
            unknown = [v for v in values if v not in keys]
            if unknown:
                raise Open311Error(
                    400,
                    f"attribute[{attribute.code}] must be one of {', '.join(sorted(keys))}",
                )
            out[attribute.code] = values if attribute.datatype == "multivaluelist" else values[0]
        elif attribute.datatype == "datetime":
            when = _parse_datetime(values[0], f"attribute[{attribute.code}]", settings)
            out[attribute.code] = when.isoformat()
        elif attribute.datatype == "number":
            out[attribute.code] = _float(
                {"v": values[0]}, f"attribute[{attribute.code}]", -1e15, 1e15
            )
        else:
            if len(values[0]) > attribute.max_length:
                raise Open311Error(
                    400,
                    f"attribute[{attribute.code}] is longer than {attribute.max_length} characters",
                )
            out[attribute.code] = values[0]
    # Codes this service does not define are ignored: a client may send its own extras.
    return out


def _contact_name(first: str | None, last: str | None) -> str | None:
    parts = [p for p in (first, last) if p]
    if not parts:
        return None
    if any(_CJK.search(p) for p in parts):
        return "".join(p for p in (last, first) if p)  # 姓在前: family name first
    return " ".join(parts)


def _media_url(params: Mapping[str, str]) -> list[str]:
    url = params.get("media_url")
    if url is None:
        return []
    if not re.match(r"^https?://[^\s]+$", url) or len(url) > 1000:
        raise Open311Error(400, "media_url must be an http(s) URL")
    return [url]


@router.post("/requests.{fmt}")
def create_request(
    fmt: str,
    request: Request,
    db: DB,
    form: Form,
    _principal: Principal | None = public(),
) -> Response:
    """File a request for a partner channel; the API key, not a session, authorises it."""

    def build() -> Response:
        out = _format(fmt)
        settings = _settings(request)
        params = _params(request, form)
        _check_jurisdiction(params, settings)
        key = api_key_for(db, params.get("api_key"))
        if key is None:
            raise Open311Error(403, "api_key missing, unknown or revoked")
        code = params.get("service_code")
        if code is None:
            raise Open311Error(400, "service_code is required")
        matter = _active_matter(db, code)
        if matter is None:
            raise Open311Error(400, f"service_code {code!r} is not a known service")
        lat = _float(params, "lat", -90, 90)
        lon = _float(params, "long", -180, 180)
        if (lat is None) != (lon is None):
            raise Open311Error(400, "lat and long go together")
        address = params.get("address_string")
        if address is not None and len(address) > 400:
            raise Open311Error(400, "address_string is longer than 400 characters")
        if lat is None and address is None:
            raise Open311Error(
                400,
                "a location is required: lat and long, or address_string "
                "(address_id is not issued by this endpoint)",
            )
        description = params.get("description")
        if description is not None and len(description) > DESCRIPTION_MAX:
            raise Open311Error(400, f"description is longer than {DESCRIPTION_MAX} characters")
        attributes = _attributes(form, matter, settings)
        # Where it came from, for the staff (never published).
        attributes["open311_key_id"] = key.id
        for extra in ("device_id", "account_id"):
            if extra in params:
                attributes[f"open311_{extra}"] = params[extra][:200]
        case = submit_case(
            db,
            channel=Channel.OPEN311,
            description=description or matter.name,
            actor=SystemActor(f"open311:{key.channel}"),
            contact_name=_contact_name(params.get("first_name"), params.get("last_name")),
            contact_phone=params.get("phone"),
            contact_email=params.get("email"),
            address_text=address,
            lat=lat,
            lon=lon,
            matter_code=matter.code,
            attributes=attributes,
            media_urls=_media_url(params),
            settings=settings,
        )
        data = [
            {
                "service_request_id": case.number,
                "service_notice": _notice(db, case),
                "account_id": None,
            }
        ]
        return _render(out, "service_requests", data)

    return _answer(_guess_format("." + fmt), build, db)


def _notice(db: Session, case: Case) -> str:
    if case.lead_department_id is not None:
        department = db.get(Department, case.lead_department_id)
        if department is not None:
            return (
                f"已受理，编号 {case.number}，已派遣至{department.name} / "
                "received, sent to the lead department"
            )
    return f"已受理，编号 {case.number}，待分拨 / received, waiting for the dispatch centre"


def _status_label(case: Case) -> str:
    return "closed" if case.status == CaseStatus.CLOSED else "open"


# Timeline entries whose public note may serve as status_notes: the staff's words, never the
# citizen's own (a rating comment, a reason to reopen).
STATUS_NOTE_KINDS = (
    "dispatched",
    "rerouted",
    "accepted",
    "feedback",
    "verified",
    "rework",
    "closed",
    "paused",
    "resumed",
)
# Shown as status_notes of a closed case with no public note: the outcome, honestly ("not
# ours" is never presented as fixed).
OUTCOME_NOTES = {
    "resolved": "已解决 / resolved",
    "not_ours": "不属于本平台职责 / not within our responsibility",
    "no_action_possible": "无法处理 / no action possible",
    "duplicate": "重复诉求，已合并 / duplicate of another request",
    "withdrawn": "已撤回 / withdrawn",
}


class _Feed:
    """Renders cases for the public feed, loading what they share once per answer."""

    def __init__(self, db: Session, settings: Settings, cases: Sequence[Case]) -> None:
        self.db = db
        self.settings = settings
        matter_codes = {c.matter_code for c in cases if c.matter_code}
        self.matter_names = (
            {
                m.code: m.name
                for m in db.scalars(select(Matter).where(Matter.code.in_(matter_codes)))
            }
            if matter_codes
            else {}
        )
        dept_ids = {c.lead_department_id for c in cases if c.lead_department_id}
        self.departments = (
            {
                d.id: d.name
                for d in db.scalars(select(Department).where(Department.id.in_(dept_ids)))
            }
            if dept_ids
            else {}
        )
        self.notes: dict[int, str] = {}
        self.clocks: dict[tuple[int, str], datetime] = {}
        ids = [c.id for c in cases]
        for start in range(0, len(ids), 500):
            rows = db.execute(
                select(CaseEvent.case_id, CaseEvent.note)
                .where(
                    CaseEvent.case_id.in_(ids[start : start + 500]),
                    CaseEvent.public.is_(True),
                    CaseEvent.kind.in_(STATUS_NOTE_KINDS),
                    CaseEvent.note.is_not(None),
                    CaseEvent.note != "",
                )
                .order_by(CaseEvent.id)
            )
            for case_id, note in rows:
                if note:
                    self.notes[case_id] = note  # the latest wins
            clocks = db.execute(
                select(CaseClock.case_id, CaseClock.kind, CaseClock.due_at)
                .where(
                    CaseClock.case_id.in_(ids[start : start + 500]),
                    CaseClock.kind.in_([ClockKind.HANDLE.value, ClockKind.FEEDBACK.value]),
                )
                .order_by(CaseClock.id)
            )
            for case_id, kind, due in clocks:
                self.clocks[(case_id, kind)] = due  # the latest wins
        self.addresses: dict[str, str] = {}

    def address(self, region_code: str | None) -> str | None:
        if not region_code or codes.level_of(region_code) is None:
            return None
        code = region_code
        while (level := codes.level_of(code)) is not None and level > STREET_LEVEL:
            parent = codes.parent_code(code)
            if parent is None:
                break
            code = parent
        if code not in self.addresses:
            try:
                self.addresses[code] = "".join(path_names(self.db, code))
            except DomainError:
                self.addresses[code] = ""
        return self.addresses[code] or None

    def due_at(self, case: Case) -> datetime | None:
        """``queries.due_at`` for many cases at once: the handling clock once the case is
        signed, else the promise of feedback to the citizen."""
        handle = self.clocks.get((case.id, ClockKind.HANDLE.value))
        return handle or self.clocks.get((case.id, ClockKind.FEEDBACK.value))

    def render(self, case: Case) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, PUBLIC_COORDINATE_DECIMALS)

        notes = self.notes.get(case.id)
        if notes is None and case.outcome:
            notes = OUTCOME_NOTES.get(case.outcome)
        media = [u for u in (case.media_urls or []) if re.match(r"^https?://", u)]
        return {
            "service_request_id": case.number,
            "status": _status_label(case),
            "status_notes": notes,
            "service_name": self.matter_names.get(case.matter_code or ""),
            "service_code": case.matter_code,
            "description": case.description,
            "agency_responsible": self.departments.get(case.lead_department_id or 0),
            "service_notice": None,
            "requested_datetime": _local(self.settings, case.created_at),
            "updated_datetime": _local(self.settings, case.updated_at),
            "expected_datetime": _local(self.settings, self.due_at(case)),
            "address": self.address(case.region_code),
            "address_id": None,
            "zipcode": None,
            "lat": rounded(case.lat),
            "long": rounded(case.lon),
            "media_url": media[0] if media else None,
        }


def _listing(params: Mapping[str, str], settings: Settings) -> dict[str, Any]:
    """cases_for_feed arguments from the query; service_request_id overrides the rest."""
    ids = params.get("service_request_id")
    if ids is not None:
        numbers = [n.strip() for n in ids.split(",") if n.strip()]
        return {"numbers": numbers}
    args: dict[str, Any] = {}
    if "service_code" in params:
        args["matter_codes"] = [c.strip() for c in params["service_code"].split(",") if c.strip()]
    if "status" in params:
        wanted = {s.strip().lower() for s in params["status"].split(",") if s.strip()}
        if not wanted <= {"open", "closed"}:
            raise Open311Error(400, "status must be open, closed or both (comma separated)")
        if len(wanted) == 1:
            args["status"] = wanted.pop()
    start = params.get("start_date")
    end = params.get("end_date")
    since = _parse_datetime(start, "start_date", settings) if start else None
    until = _parse_datetime(end, "end_date", settings) if end else None
    if since is None and until is None:
        until = utcnow()
    if since is None:
        assert until is not None
        since = until - MAX_RANGE
    if until is None:
        until = since + MAX_RANGE
    if since > until:
        raise Open311Error(400, "start_date is after end_date")
    if until - since > MAX_RANGE:
        raise Open311Error(400, "start_date..end_date may span at most 90 days")
    args["since"] = since
    args["until"] = until
    return args


@router.get("/requests.{fmt}")
def list_requests(
    fmt: str, request: Request, db: DB, _principal: Principal | None = public()
) -> Response:
    def build() -> Response:
        out = _format(fmt)
        settings = _settings(request)
        params = _params(request)
        _check_jurisdiction(params, settings)
        args = _listing(params, settings)
        found = cases_for_feed(db, **args)
        feed = _Feed(db, settings, found)
        return _render(out, "service_requests", [feed.render(c) for c in found])

    return _answer(_guess_format("." + fmt), build)


@router.get("/requests/{resource}")
def get_request(
    resource: str, request: Request, db: DB, _principal: Principal | None = public()
) -> Response:
    def build() -> Response:
        number, fmt = _split(resource)
        settings = _settings(request)
        _check_jurisdiction(_params(request), settings)
        case = case_by_number(db, number)
        if case is None:
            raise Open311Error(404, f"service_request_id {number!r} not found")
        return _render(fmt, "service_requests", [_Feed(db, settings, [case]).render(case)])

    return _answer(_guess_format(resource), build)


@router.get("/tokens/{resource}")
def get_token(
    resource: str, request: Request, db: DB, _principal: Principal | None = public()
) -> Response:
    """Requests are created synchronously, so the case number is also the token."""

    def build() -> Response:
        token, fmt = _split(resource)
        _check_jurisdiction(_params(request), _settings(request))
        case = case_by_number(db, token)
        if case is None:
            raise Open311Error(404, f"token {token!r} not found")
        return _render(
            fmt, "service_requests", [{"service_request_id": case.number, "token": token}]
        )

    return _answer(_guess_format(resource), build)


@router.api_route("/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
def not_found(rest: str, _principal: Principal | None = public()) -> Response:
    """Anything else under the base path answers in the protocol's error format."""
    return _error(_guess_format(rest), 404, f"no such Open311 resource: {rest!r}")
