"""Who may read the disclosure log, on which legal basis, and the entries that record it.

Auditor organisations (감사원, 개인정보보호위원회) read the log for `audit.oversight` under
감사원법 or PIPA §63; an organisation serving a person may show that person their own history
for `subject.access` under PIPA §35. The basis is what `consent.policy.decide` finds among the
catalogue's legal bases for the caller's organisation kind, the purpose and every data category
released, so a change of the catalogue changes the decision and its rule-set hash together.

A refusal is raised as `hub.disclosures.context.Refused`, carrying its log entry; the API
writes that entry in a transaction of its own and then answers 403 (DESIGN.md: denials are
logged too).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from hub.auth.scopes import Scope
from hub.disclosures.context import Context
from hub.kit.errors import Forbidden, InsufficientScope

AUDIT_OVERSIGHT: Final = "audit.oversight"
SUBJECT_ACCESS: Final = "subject.access"
LOG_ENTRIES: Final = "audit.disclosure"
PSEUDONYM: Final = "identity.pseudonym"
AUDITOR: Final = "auditor"

#: The scope a token needs to ask for a person's disclosure history for each purpose.
REPORT_SCOPES: Final = {
    AUDIT_OVERSIGHT: Scope.AUDIT_READ.value,
    SUBJECT_ACCESS: Scope.SUBJECTS_REPORT.value,
}


def permitted_basis(
    ctx: Context, *, action: str, purpose: str, categories: Iterable[str], subject_ref: str | None
) -> str:
    """The basis for releasing `categories` for `purpose` (consent.policy.decide over the
    catalogue's legal bases; the log is not consented to, so only statutes apply), or
    `Refused` when none covers them."""
    wanted = tuple(categories)
    decision = ctx.decide(purpose=purpose, categories=wanted)
    if not decision.permitted or decision.basis is None:
        error = Forbidden(
            f"No legal basis lets a {ctx.requester.kind} organisation receive "
            f"{', '.join(wanted)} for {purpose}."
        )
        raise ctx.refused(
            error,
            action=action,
            purpose=purpose,
            subject_ref=subject_ref,
            reason=" ".join(decision.reasons) or error.detail,
        )
    return decision.basis


def _insufficient_scope(scope: str) -> InsufficientScope:
    challenge = (
        'Bearer realm="hub", error="insufficient_scope", '
        f'error_description="missing scope", scope="{scope}"'
    )
    return InsufficientScope(
        f"This operation needs the scope(s): {scope}.", headers={"WWW-Authenticate": challenge}
    )


def check_auditor(ctx: Context, action: str) -> None:
    """Only auditor organisations holding `audit:read` read the log; raises `Refused`."""
    scope = Scope.AUDIT_READ.value
    if scope not in ctx.requester.scopes:
        raise ctx.refused(_insufficient_scope(scope), action=action, purpose=AUDIT_OVERSIGHT)
    if ctx.requester.kind != AUDITOR:
        error = Forbidden("Only auditor organisations may read the disclosure log.")
        raise ctx.refused(error, action=action, purpose=AUDIT_OVERSIGHT)


def check_report_scope(ctx: Context, *, action: str, purpose: str, subject_ref: str | None) -> None:
    scope = REPORT_SCOPES.get(purpose)
    if scope is not None and scope not in ctx.requester.scopes:
        raise ctx.refused(
            _insufficient_scope(scope), action=action, purpose=purpose, subject_ref=subject_ref
        )
