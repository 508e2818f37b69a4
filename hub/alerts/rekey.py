"""Re-sealing webhook signing secrets after `hub keys rotate rrn-encryption`.

The secrets are sealed with the vault's encryption key (hub.alerts.signing), the same key
purpose as stored RRNs, so a key cannot be retired while any subscription's secret still
depends on it: the worker could no longer sign, and every delivery of that subscription would
dead-letter. `hub keys reencrypt` moves them with the persons; `hub keys retire` counts them.
Deleted subscriptions are re-sealed too: their rows are kept, and nothing sealed under a
retired key may remain (hub.vault refuses to open it).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.alerts import signing, subscriptions
from hub.alerts.models import AlertSubscription
from hub.records.rekey import KeyUsage
from hub.vault import KeyPurpose, KeySet

PURPOSE = KeyPurpose.RRN_ENCRYPTION


def _stale(keyset: KeySet):  # type: ignore[no-untyped-def]
    return AlertSubscription.secret_sealed.is_not(None) & (
        AlertSubscription.secret_kid != keyset.primary(PURPOSE).kid
    )


async def count_stale(session: AsyncSession, keyset: KeySet) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(AlertSubscription).where(_stale(keyset))
        )
        or 0
    )


async def rekey_batch(session: AsyncSession, keyset: KeySet, size: int) -> int:
    """Re-seal up to `size` secrets under the primary key; 0 when none is left."""
    rows = (
        await session.scalars(
            select(AlertSubscription)
            .where(_stale(keyset))
            .order_by(AlertSubscription.id)
            .limit(size)
            .with_for_update()
        )
    ).all()
    for row in rows:
        secret = subscriptions.secret_of(keyset, row)
        if secret is None:  # excluded by _stale; typed as optional on the row
            continue
        sealed = signing.seal(keyset, row.id, secret)
        row.secret_kid, row.secret_sealed = sealed.kid, sealed.blob
    await session.flush()
    return len(rows)


async def usage(session: AsyncSession) -> list[KeyUsage]:
    """How many subscription secrets each key still seals."""
    rows = await session.execute(
        select(AlertSubscription.secret_kid, func.count())
        .where(AlertSubscription.secret_kid.is_not(None))
        .group_by(AlertSubscription.secret_kid)
    )
    return [KeyUsage(kid, PURPOSE.value, count) for kid, count in rows.all() if kid is not None]
