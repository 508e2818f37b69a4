"""The alerts worker: fan out what the outbox holds, then claim, send and record deliveries.

`hub alerts work` runs one as a process (any number of them against PostgreSQL), and every
`hub serve` process runs one in-process unless HUB_ALERT_WORKER=off. A worker keeps nothing
another process needs: its claims are leases in the database (hub.alerts.queue), so it can be
killed at any moment. Several delivery lanes overlap one batch's network wait with the next
batch's claim. Each lane claims no more deliveries than it sends at once, so every claimed
delivery is attempted at once and finishes within HUB_ALERT_TIMEOUT, well inside its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from dataclasses import dataclass

import structlog
from prometheus_client import Counter, Histogram

from hub.alerts import outbox, queue
from hub.alerts.delivery import Sender
from hub.alerts.queue import Attempt, Claimed
from hub.alerts.signing import unseal
from hub.database import Database
from hub.kit.clock import utcnow
from hub.settings import Settings
from hub.vault import DecryptionError, KeySet
from hub.vault.ring import KeyRing
from schemas.catalogue import Catalogue

LANES = 2
log = structlog.get_logger("hub.alerts")

ATTEMPTS = Counter("hub_alert_attempts_total", "Webhook delivery attempts", ["outcome"])
FANNED_OUT = Counter("hub_alert_swept_events_total", "Events fanned out by alerts workers")
LATENCY = Histogram(
    "hub_alert_delivery_latency_seconds",
    "From the fan-out's commit to the receiver's acknowledgement",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000),
)


@dataclass
class Totals:
    events: int = 0
    delivered: int = 0
    retry: int = 0
    dead: int = 0

    @property
    def attempts(self) -> int:
        return self.delivered + self.retry + self.dead


class Worker:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        keyring: KeyRing,
        catalogue: Catalogue,
        *,
        name: str | None = None,
    ) -> None:
        self.db, self.settings, self.keyring, self.catalogue = db, settings, keyring, catalogue
        self.name = name or f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.sender = Sender(
            base_url=settings.public_url,
            allow_private=settings.alerts_allow_private_targets,
            timeout=settings.alert_timeout,
            pool=settings.alert_concurrency,
        )
        self.claim = max(1, settings.alert_concurrency // LANES)
        self.totals = Totals()

    async def sweep(self) -> int:
        """Fan out one batch of events waiting in the outbox; how many."""
        async with self.db.transaction() as session:
            events, _ = await outbox.sweep(
                session, self.catalogue, self.keyring.current(), utcnow()
            )
        FANNED_OUT.inc(events)
        self.totals.events += events
        return events

    async def _attempt(self, claimed: Claimed, keyset: KeySet, secrets_: dict[str, str]) -> Attempt:
        if not claimed.active:
            return Attempt(claimed, delivered=False, error="subscription stopped", final=True)
        try:
            secret = secrets_.get(claimed.subscription_id)
            if secret is None:
                secret = unseal(
                    keyset, claimed.subscription_id, claimed.secret_kid, claimed.secret_sealed
                )
                secrets_[claimed.subscription_id] = secret
            return await self.sender.send(claimed, secret)
        except DecryptionError:
            return Attempt(claimed, delivered=False, error="signing secret cannot be unsealed")
        except Exception as exc:  # one bad attempt must not lose the batch's results
            return Attempt(claimed, delivered=False, error=f"failed: {type(exc).__name__}")

    async def deliver(self) -> int:
        """Claim one batch of due deliveries, send them, record the results; how many."""
        async with self.db.transaction() as session:
            claimed = await queue.claim(
                session,
                self.name,
                utcnow(),
                lease=self.settings.alert_lease,
                limit=self.claim,
            )
        if not claimed:
            return 0
        keyset = self.keyring.current()
        cache: dict[str, str] = {}  # secrets by subscription, for this batch only
        attempts = await asyncio.gather(*(self._attempt(c, keyset, cache) for c in claimed))
        now = utcnow()
        async with self.db.transaction() as session:
            outcome = await queue.record(
                session, self.name, attempts, now, self.settings.alert_retry_schedule
            )
        for attempt in attempts:
            if attempt.delivered:
                LATENCY.observe((now - attempt.claimed.created_at).total_seconds())
        for name, count in outcome.items():
            ATTEMPTS.labels(name).inc(count)
        self.totals.delivered += outcome["delivered"]
        self.totals.retry += outcome["retry"]
        self.totals.dead += outcome["dead"]
        if outcome["retry"] or outcome["dead"]:
            log.info("alerts.attempts", worker=self.name, **outcome)
        return len(claimed)

    async def run_once(self) -> Totals:
        """Fan out everything waiting, then deliver until nothing is due; the totals."""
        try:
            while await self.sweep():
                pass
            while await self.deliver():
                pass
        finally:
            await self.sender.aclose()
        return self.totals

    async def _lane(self) -> None:
        while True:
            try:
                busy = await self.deliver()
            except Exception as exc:  # a failed round is retried; the lane never dies
                log.warning("alerts.deliver.failed", error=type(exc).__name__)
                busy = 0
            if not busy:
                await asyncio.sleep(self.settings.alert_poll_interval)

    async def run_forever(self) -> None:
        """Sweep and deliver until cancelled."""
        lanes = [asyncio.create_task(self._lane(), name=f"alerts-lane-{i}") for i in range(LANES)]
        try:
            while True:
                try:
                    busy = await self.sweep()
                except Exception as exc:  # as above: log the type only, try again
                    log.warning("alerts.sweep.failed", error=type(exc).__name__)
                    busy = 0
                if not busy:
                    await asyncio.sleep(self.settings.alert_poll_interval)
        finally:
            for lane in lanes:
                lane.cancel()
            for lane in lanes:
                with contextlib.suppress(asyncio.CancelledError):
                    await lane
            await self.sender.aclose()
