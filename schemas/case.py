"""Integrated case management (통합사례관리) records: stages, needs, class, plan, notes, closure,
referrals (DOMAIN.md, "Integrated case management").

A case is held by the hub under the person's written consent (개인정보 수집·이용 및 제3자 제공
동의서, collected at intake) and shared with co-managing organisations only as far as that
consent reaches (사회보장급여법 §42의2; PIPA §17, §23). The identifiers here are English; the
Korean names the field uses are kept in tables beside each code list, so a screen can show them
and a reader can match them to the guidelines.

Nothing here names the person: a case refers to them by internal id in storage and by the
caller's `subject_ref` pseudonym on the wire.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from schemas.common import (
    FROZEN_STRICT,
    DataCategoryCode,
    LongText,
    OrganisationCode,
    ProgrammeCode,
    ShortText,
)

RECORD = "case.record"
NEEDS = "case.needs"
MENTAL_HEALTH = "case.sensitive.mental_health"
ADDICTION = "case.sensitive.addiction"
CASE_CATEGORIES: tuple[str, ...] = (RECORD, NEEDS, MENTAL_HEALTH, ADDICTION)
"""Every data category a case record holds; the sensitive two need a consent naming them
(PIPA §23)."""
PURPOSE = "case.management"

CaseNumber = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9-]{1,31}-\d{4}-\d{5,}$")]
"""`<lead organisation>-<year>-<serial>`, e.g. ``JEJU-ARA-2025-00017``: allocated by the
organisation that opened the case (DOMAIN.md: the organisation of the initial consultation)."""


class Stage(StrEnum):
    """The ten stages of 통합사례관리, in order."""

    DISCOVERY = "discovery"
    INITIAL_CONSULTATION = "initial_consultation"
    INTAKE = "intake"
    ASSESSMENT = "assessment"
    CONFERENCE = "conference"
    CLASSIFICATION = "classification"
    PLANNING = "planning"
    SERVICE = "service"
    CLOSURE = "closure"
    FOLLOW_UP = "follow_up"


STAGE_NAMES_KO: dict[Stage, str] = {
    Stage.DISCOVERY: "발굴",
    Stage.INITIAL_CONSULTATION: "초기상담",
    Stage.INTAKE: "접수",
    Stage.ASSESSMENT: "욕구·위기도 조사",
    Stage.CONFERENCE: "사례회의",
    Stage.CLASSIFICATION: "대상자 구분·선정",
    Stage.PLANNING: "서비스 제공계획",
    Stage.SERVICE: "서비스 제공·점검",
    Stage.CLOSURE: "종결",
    Stage.FOLLOW_UP: "사후확인",
}
STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)


class NeedsDomain(StrEnum):
    """The ten needs domains of the 욕구·위기도 조사."""

    SAFETY = "safety"
    HEALTH = "health"
    DAILY_LIVING = "daily_living"
    FAMILY = "family_relations"
    SOCIAL = "social_relations"
    ECONOMY = "economy"
    EDUCATION = "education"
    EMPLOYMENT = "employment"
    LIVING_ENVIRONMENT = "living_environment"
    RIGHTS = "legal_rights"


NEEDS_DOMAIN_NAMES_KO: dict[NeedsDomain, str] = {
    NeedsDomain.SAFETY: "안전",
    NeedsDomain.HEALTH: "건강",
    NeedsDomain.DAILY_LIVING: "일상생활유지",
    NeedsDomain.FAMILY: "가족관계",
    NeedsDomain.SOCIAL: "사회적관계",
    NeedsDomain.ECONOMY: "경제",
    NeedsDomain.EDUCATION: "교육",
    NeedsDomain.EMPLOYMENT: "고용",
    NeedsDomain.LIVING_ENVIRONMENT: "생활환경",
    NeedsDomain.RIGHTS: "법률 및 권익보장",
}

NeedScore = Annotated[int, Field(ge=1, le=5)]
"""How pressing the need in a domain is, on a five-point scale: 1 no need, 2 slight, 3 moderate,
4 serious, 5 urgent (immediate intervention). One scale for every domain, so scores compare."""


class CrisisLevel(StrEnum):
    """The household's overall crisis level (위기도) from the assessment."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    URGENT = "urgent"


CRISIS_LEVEL_NAMES_KO: dict[CrisisLevel, str] = {
    CrisisLevel.LOW: "낮음",
    CrisisLevel.MODERATE: "보통",
    CrisisLevel.HIGH: "높음",
    CrisisLevel.URGENT: "긴급",
}


class HouseholdClass(StrEnum):
    """대상자 구분: who is taken on for case management."""

    CASE_MANAGEMENT = "case_management"
    SERVICE_LINKAGE = "service_linkage"
    NOT_SELECTED = "not_selected"
    """Needs a recorded reason, and the client is told in writing (DOMAIN.md)."""


HOUSEHOLD_CLASS_NAMES_KO: dict[HouseholdClass, str] = {
    HouseholdClass.CASE_MANAGEMENT: "사례관리",
    HouseholdClass.SERVICE_LINKAGE: "서비스연계",
    HouseholdClass.NOT_SELECTED: "미선정",
}


class CaseType(StrEnum):
    """사례관리 유형 of a household taken on for case management."""

    GENERAL = "general"
    INTENSIVE = "intensive"
    CRISIS = "crisis"


CASE_TYPE_NAMES_KO: dict[CaseType, str] = {
    CaseType.GENERAL: "일반",
    CaseType.INTENSIVE: "집중",
    CaseType.CRISIS: "위기",
}


class ClosureCode(StrEnum):
    """Why a case was closed (종결 사유, DOMAIN.md)."""

    GOAL_MET = "goal_met"
    IMPROVED = "improved"
    MOVED = "moved"
    DEATH = "death"
    """Only for a one-person household; otherwise the household is reassessed."""
    REFUSAL = "refusal"
    NO_CONTACT = "no_contact"
    """No contact for three months or more."""
    SELF_CLOSURE = "self_closure"


CLOSURE_NAMES_KO: dict[ClosureCode, str] = {
    ClosureCode.GOAL_MET: "목표달성",
    ClosureCode.IMPROVED: "상황호전",
    ClosureCode.MOVED: "전출",
    ClosureCode.DEATH: "사망(1인 가구)",
    ClosureCode.REFUSAL: "서비스 거부",
    ClosureCode.NO_CONTACT: "연락두절(3개월 이상)",
    ClosureCode.SELF_CLOSURE: "자체종결",
}


class ReferralStatus(StrEnum):
    """서비스 연계·의뢰 status: requested, then completed or declined by the receiver."""

    REQUESTED = "requested"
    COMPLETED = "completed"
    DECLINED = "declined"


REFERRAL_STATUS_NAMES_KO: dict[ReferralStatus, str] = {
    ReferralStatus.REQUESTED: "신청",
    ReferralStatus.COMPLETED: "완료",
    ReferralStatus.DECLINED: "반려",
}

NOTE_CATEGORIES: tuple[str, ...] = (RECORD, MENTAL_HEALTH, ADDICTION)
NoteCategory = Annotated[
    DataCategoryCode,
    StringConstraints(pattern=r"^case\.(record|sensitive\.mental_health|sensitive\.addiction)$"),
]
StaffId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._@:-]{1,64}$")]
"""A staff member as the organisation identifies them (the `Hub-Actor` alphabet), never a name."""


class NeedsAssessment(BaseModel):
    """The outcome of a 욕구·위기도 조사: a score for each of the ten domains and a crisis level."""

    model_config = FROZEN_STRICT

    scores: dict[NeedsDomain, NeedScore]
    crisis_level: CrisisLevel
    assessed_on: date

    @model_validator(mode="after")
    def _every_domain(self) -> NeedsAssessment:
        missing = [d.value for d in NeedsDomain if d not in self.scores]
        if missing:
            raise ValueError(f"scores lack the domain(s): {', '.join(missing)}")
        return self


class PlanItem(BaseModel):
    """One line of the 서비스 제공계획: a goal, who provides what, how often, and its approval."""

    model_config = FROZEN_STRICT

    goal: LongText
    provider: ShortText
    """The providing organisation: a hub organisation code or the name of a local provider."""
    content: LongText
    frequency: ShortText
    """E.g. "주 1회", "monthly"."""
    approved_by: StaffId | None = None
    approved_on: date | None = None

    @model_validator(mode="after")
    def _approval_whole(self) -> PlanItem:
        if (self.approved_by is None) != (self.approved_on is None):
            raise ValueError("an approval needs both approved_by and approved_on")
        return self

    @property
    def approved(self) -> bool:
        return self.approved_by is not None


class NoteDraft(BaseModel):
    """A monitoring note (서비스 제공·점검) to add. Mark mental-health or addiction content with
    its sensitive category: it is then shown only under a consent naming that category."""

    model_config = FROZEN_STRICT

    text: LongText
    category: NoteCategory = RECORD


class Note(BaseModel):
    model_config = FROZEN_STRICT

    text: str
    category: str
    recorded_at: datetime
    organisation: OrganisationCode


class StageStep(BaseModel):
    model_config = FROZEN_STRICT

    stage: Stage
    name_ko: str
    on: date
    organisation: OrganisationCode
    recorded_at: datetime


class Deadline(BaseModel):
    """A deadline of DOMAIN.md, computed from the stage dates (hub.cases.stages)."""

    model_config = FROZEN_STRICT

    rule: str
    stage: Stage
    """The stage to be reached by `due`."""
    due: date
    met_on: date | None
    overdue: bool


class Referral(BaseModel):
    model_config = FROZEN_STRICT

    id: str
    organisation: OrganisationCode
    service: str
    programme: ProgrammeCode | None
    status: ReferralStatus
    status_ko: str
    requested_at: datetime
    requested_by: OrganisationCode
    answered_at: datetime | None
    reason: str | None


class Share(BaseModel):
    model_config = FROZEN_STRICT

    organisation: OrganisationCode
    data_categories: tuple[str, ...]
    shared_at: datetime


class AttentionKind(StrEnum):
    """What a status change asks of the case's lead (DOMAIN.md, "Case consequences")."""

    REASSESSMENT = "reassessment"
    """A member of the household died: the household is reassessed (재사정)."""
    TRANSFER = "transfer"
    """The person moved to another 시군구: the case is transferred there (이관)."""


class Attention(BaseModel):
    """A flag a registry event put on the case; it stays until the lead acts on it (moving
    the case back to assessment, or closing it)."""

    model_config = FROZEN_STRICT

    kind: AttentionKind
    since: date
    """The effective date of the event that raised it."""
    reason: str
    transfer_region: str | None = None
    """For a transfer: the 시군구 code (5 digits) the person moved to."""


class CaseRecord(BaseModel):
    """A case as one participant sees it: only the sections its consent covers are filled
    (`data_categories` lists them); `needs` is null without case.needs, and notes of a sensitive
    category appear only under a consent naming it."""

    model_config = FROZEN_STRICT

    id: str
    number: CaseNumber
    subject_ref: str | None
    """The caller's pseudonym of the person; null in a conference pack."""
    lead: OrganisationCode
    co_managers: tuple[OrganisationCode, ...]
    stage: Stage
    stage_ko: str
    history: tuple[StageStep, ...]
    deadlines: tuple[Deadline, ...]
    next_due: date | None
    household_class: HouseholdClass | None
    class_reason: str | None
    case_type: CaseType | None
    needs: NeedsAssessment | None
    plan: tuple[PlanItem, ...]
    plan_version: int
    notes: tuple[Note, ...]
    referrals: tuple[Referral, ...]
    shares: tuple[Share, ...]
    closure_code: ClosureCode | None
    attention: Attention | None = None
    opened_at: datetime
    data_categories: tuple[str, ...]
    basis: str
    """The consent the showing rests on (`consent:<id>`)."""
