"""The receiving organisation's worklist (GET /v1/referrals): it lists the referrals sent to it
and nobody else's, with its own pseudonym of the person and the case to answer under; each is
a logged disclosure, and a withdrawn consent takes the referral off the list (logged)."""

from __future__ import annotations

import httpx

from hub.database import Database
from hub.vault import KeySet, subject_ref
from tests.cases.support import consent, entries, open_case, org, person, withdraw


async def test_a_centre_lists_the_referrals_sent_to_it_and_answers_them(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    dong, centre = await org(api, db, "local_government"), await org(api, db, "welfare_centre")
    bystander = await org(api, db, "welfare_centre")
    who = await person(db, keys)
    consent_id = await consent(api, dong, who, [dong.code, centre.code], ["case.record"])
    case = await open_case(api, dong, who)
    sent = await api.post(
        f"/v1/cases/{case['id']}/referrals",
        headers=dong.headers,
        json={"organisation": centre.code, "service": "밑반찬 배달"},
    )
    assert sent.status_code == 201, sent.text

    listed = await api.get("/v1/referrals?status=requested", headers=centre.headers)
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["items"]
    assert item["referral"]["id"] == sent.json()["id"]
    assert item["referral"]["service"] == "밑반찬 배달"
    assert (item["case_id"], item["case_number"]) == (case["id"], case["number"])
    assert item["subject_ref"] == subject_ref(keys, who.id, centre.code)
    assert who.rrn not in listed.text
    assert (await api.get("/v1/referrals", headers=bystander.headers)).json()["items"] == []
    logged = [e for e in await entries(db, centre.client_id) if e.action.endswith("incoming")]
    assert [(e.decision, e.basis) for e in logged] == [("permit", f"consent:{consent_id}")]

    answer = await api.patch(
        f"/v1/cases/{item['case_id']}/referrals/{item['referral']['id']}",
        headers=centre.headers,
        json={"status": "completed"},
    )
    assert answer.status_code == 200, answer.text
    assert (await api.get("/v1/referrals?status=requested", headers=centre.headers)).json()[
        "items"
    ] == []
    done = await api.get("/v1/referrals?status=completed", headers=centre.headers)
    assert [i["referral"]["status_ko"] for i in done.json()["items"]] == ["완료"]

    await withdraw(api, dong, consent_id)
    gone = await api.get("/v1/referrals", headers=centre.headers)
    assert gone.json()["items"] == []
    assert len(await entries(db, centre.client_id, "deny")) == 1
