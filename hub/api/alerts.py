"""Alert subscriptions and the pull feed over HTTP (DESIGN.md, "Alerts delivery")."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.alerts import feed, subscriptions
from hub.alerts.envelope import as_json
from hub.alerts.models import AlertSubscription
from hub.api.idempotent import once
from hub.api.links import BODY_ID, created
from hub.api.problems import problem_responses
from hub.auth.dependencies import DbSession, Principal, require
from hub.auth.scopes import Scope
from hub.kit.clock import utcnow

router = APIRouter(tags=["alerts"], responses=problem_responses(401, 403, 404, 422))
Subscriber = Annotated[Principal, require(Scope.ALERTS_SUBSCRIBE)]
SubscriptionId = Annotated[str, Path(pattern=r"^sub_[A-Za-z0-9_-]{16,64}$")]
EventType = Literal[
    "person.died",
    "person.deregistered",
    "person.address_changed",
    "eligibility.changed",
    "person.facility_admitted",
    "person.facility_discharged",
    "duplicate.found",
    "consent.withdrawn",
]


class WebhookDelivery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["webhook"]
    url: Annotated[str, Field(min_length=8, max_length=2000)] = Field(
        description="https URL that receives CloudEvents signed per Standard Webhooks."
    )


class PullDelivery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["pull"]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_types: Annotated[list[EventType], Field(min_length=1, max_length=8)]
    delivery: Annotated[WebhookDelivery | PullDelivery, Field(discriminator="mode")]


class DeliveryOut(BaseModel):
    mode: Literal["webhook", "pull"]
    url: str | None = None


class SubscriptionOut(BaseModel):
    id: str
    event_types: list[str]
    delivery: DeliveryOut
    status: Literal["active", "disabled"]
    status_reason: str | None
    created_at: dt.datetime
    last_seq: int = Field(description="The feed position of the latest alert.")
    deliveries: dict[str, int] | None = Field(
        default=None, description="Alerts by delivery status (pending, delivered, dead, feed)."
    )
    secret: str | None = Field(
        default=None,
        description="The webhook signing secret (whsec_…): shown once, at creation only.",
    )


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class AlertItem(BaseModel):
    seq: int
    event: dict[str, Any] = Field(
        description="The CloudEvent 1.0 (structured JSON) exactly as a webhook receives it."
    )


class AlertPage(BaseModel):
    subscription: str
    items: list[AlertItem]
    next_after: int = Field(description="Send as `after` to read on.")
    last_seq: int = Field(description="The subscription's latest position when read.")


def _out(row: AlertSubscription, **extra: Any) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.id,
        event_types=row.event_types,
        delivery=DeliveryOut(mode=row.mode, url=row.url),
        status=row.status,
        status_reason=row.status_reason,
        created_at=row.created_at,
        last_seq=row.last_seq,
        **extra,
    )


@router.post(
    "/v1/subscriptions",
    status_code=201,
    response_model=SubscriptionOut,
    responses=problem_responses(409)
    | created(
        201,
        "The subscription, with its signing secret (shown once).",
        ReadSubscription=(
            "read_subscription_v1_subscriptions__subscription_id__get",
            "subscription_id",
            BODY_ID,
        ),
        DeleteSubscription=(
            "delete_subscription_v1_subscriptions__subscription_id__delete",
            "subscription_id",
            BODY_ID,
        ),
    ),
)
async def create_subscription(
    principal: Subscriber,
    session: DbSession,
    request: Request,
    body: SubscriptionIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Subscribe to event types by webhook or pull; a webhook's secret is returned once."""
    keyset = request.app.state.keyring.current()
    operation = "POST /v1/subscriptions"
    one = await once(request, principal, idempotency_key, operation)
    replay = await one.earlier(session)
    if replay is not None:  # the stored answer holds no secret: unseal it again
        row = await subscriptions.get(session, replay.body["id"], principal.organisation)
        body_again = replay.body | {"secret": subscriptions.secret_of(keyset, row)}
        return JSONResponse(body_again, status_code=replay.status)
    created = await subscriptions.create(
        session,
        keyset,
        organisation=principal.organisation,
        client_id=principal.client_id,
        event_types=body.event_types,
        url=body.delivery.url if isinstance(body.delivery, WebhookDelivery) else None,
        allow_private=request.app.state.settings.alerts_allow_private_targets,
        now=utcnow(),
    )
    payload = json.loads(_out(created.subscription).model_dump_json())
    await one.remember(session, status=201, body=payload, now=utcnow())
    await session.commit()
    location = f"/v1/subscriptions/{created.subscription.id}"
    return JSONResponse(
        payload | {"secret": created.secret}, status_code=201, headers={"Location": location}
    )


@router.get("/v1/subscriptions", response_model=SubscriptionList)
async def list_subscriptions(principal: Subscriber, session: DbSession) -> SubscriptionList:
    """Your organisation's subscriptions."""
    rows = await subscriptions.of_organisation(session, principal.organisation)
    return SubscriptionList(items=[_out(row) for row in rows])


@router.get("/v1/subscriptions/{subscription_id}", response_model=SubscriptionOut)
async def read_subscription(
    principal: Subscriber, session: DbSession, subscription_id: SubscriptionId
) -> SubscriptionOut:
    """One of your organisation's subscriptions, with its alerts counted by status."""
    row = await subscriptions.get(session, subscription_id, principal.organisation)
    return _out(row, deliveries=await subscriptions.counts(session, row.id))


@router.delete("/v1/subscriptions/{subscription_id}", status_code=204)
async def delete_subscription(
    principal: Subscriber, session: DbSession, subscription_id: SubscriptionId
) -> Response:
    """Stop a subscription: nothing more is fanned out, sent or listed for it."""
    await subscriptions.delete(session, subscription_id, principal.organisation, utcnow())
    return Response(status_code=204)


@router.get("/v1/alerts", response_model=AlertPage)
async def read_alerts(
    principal: Subscriber,
    session: DbSession,
    request: Request,
    subscription: Annotated[str, Query(pattern=r"^sub_[A-Za-z0-9_-]{16,64}$")],
    after: Annotated[int, Query(ge=0, description="The last position you have.")] = 0,
    limit: Annotated[int, Query(ge=1, le=feed.MAX_PAGE)] = 100,
) -> AlertPage:
    """Your subscription's alerts after a feed position, in order (reading marks nothing)."""
    row = await subscriptions.get(session, subscription, principal.organisation)
    alerts = await feed.page(session, row.id, after=after, limit=limit)
    base = request.app.state.settings.public_url
    return AlertPage(
        subscription=row.id,
        items=[AlertItem(seq=a.seq, event=as_json(a, base)) for a in alerts],
        next_after=alerts[-1].seq if alerts else after,
        last_seq=row.last_seq,
    )
