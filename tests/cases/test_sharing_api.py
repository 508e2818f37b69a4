"""Sharing, referrals and the conference pack over HTTP, on both databases: a co-manager sees
what the consent names it for and no more, sensitive notes only under a consent naming them,
a withdrawal ends access on the next request, 드림스타트 takes a person once, and the
conference pack carries no name, RRN, phone number or e-mail, even inside notes."""

from __future__ import annotations

import httpx

from hub.database import Database
from hub.vault import KeySet
from tests.cases.support import (
    TODAY,
    Org,
    consent,
    entries,
    open_case,
    org,
    patch,
    person,
    withdraw,
)

MENTAL = "case.sensitive.mental_health"


async def share(
    api: httpx.AsyncClient, lead: Org, case_id: str, to: str, categories: list[str]
) -> httpx.Response:
    return await api.post(
        f"/v1/cases/{case_id}/shares",
        headers=lead.headers,
        json={"organisation": to, "data_categories": categories},
    )


async def test_a_dong_team_and_a_centre_co_manage_until_the_person_withdraws(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    dong, centre = await org(api, db, "local_government"), await org(api, db, "welfare_centre")
    who = await person(db, keys)
    consent_id = await consent(
        api, dong, who, [dong.code, centre.code], ["case.record", "case.needs"]
    )
    case = await open_case(api, dong, who)
    assert (await api.get(f"/v1/cases/{case['id']}", headers=centre.headers)).status_code == 404

    shared = await share(api, dong, case["id"], centre.code, ["case.record"])
    assert shared.status_code == 201, shared.text
    assert shared.json()["co_managers"] == [centre.code]
    seen = await api.get(f"/v1/cases/{case['id']}", headers=centre.headers)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["data_categories"] == ["case.record"]
    assert body["basis"] == f"consent:{consent_id}"
    assert body["subject_ref"] != case["subject_ref"]  # each organisation its own pseudonym
    assert body["needs"] is None
    outside_share = await api.get(
        f"/v1/cases/{case['id']}", headers=centre.headers, params={"categories": "case.needs"}
    )
    assert outside_share.status_code == 403
    assert outside_share.json()["denial"] == "not_shared"
    noted = await patch(api, centre, case["id"], {"notes": [{"text": "센터 방문 상담"}]})
    assert noted.status_code == 200, noted.text
    steer = await patch(
        api, centre, case["id"], {"stage": {"to": "initial_consultation", "on": TODAY.isoformat()}}
    )
    assert steer.status_code == 403
    assert steer.json()["denial"] == "not_lead"
    listed = (await api.get("/v1/cases", headers=centre.headers)).json()
    assert [c["id"] for c in listed["items"]] == [case["id"]]

    await withdraw(api, dong, consent_id)
    for caller in (centre, dong):
        gone = await api.get(f"/v1/cases/{case['id']}", headers=caller.headers)
        assert gone.status_code == 403, gone.text
        assert gone.json()["denial"] == "consent_withdrawn"
        assert case["number"] not in gone.text
        assert (await api.get("/v1/cases", headers=caller.headers)).json()["items"] == []
    denied = [e.action for e in await entries(db, centre.client_id, "deny")]
    assert denied == ["case.read", "case.read", "case.update", "case.read", "case.list"]


async def test_sharing_needs_a_consent_naming_the_recipient_and_each_category(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    dong, centre = await org(api, db, "local_government"), await org(api, db, "welfare_centre")
    who = await person(db, keys)
    await consent(api, dong, who, [dong.code], ["case.record", "case.needs", MENTAL])
    case = await open_case(api, dong, who)
    written = await patch(
        api, dong, case["id"], {"notes": [{"text": "우울 증상으로 상담 연계", "category": MENTAL}]}
    )
    assert written.status_code == 200, written.text
    assert [n["category"] for n in written.json()["notes"]] == [MENTAL]

    unnamed = await share(api, dong, case["id"], centre.code, ["case.record"])
    assert unnamed.status_code == 403
    assert unnamed.json()["denial"] == "recipient_not_named"
    await consent(api, dong, who, [centre.code], ["case.record", "case.needs"])
    sensitive = await share(api, dong, case["id"], centre.code, ["case.record", MENTAL])
    assert sensitive.status_code == 403
    assert sensitive.json()["refused"] == [MENTAL]
    assert (await share(api, dong, case["id"], centre.code, ["case.needs"])).status_code == 201
    plain = (await api.get(f"/v1/cases/{case['id']}", headers=centre.headers)).json()
    assert plain["notes"] == []
    assert plain["data_categories"] == ["case.record", "case.needs"]

    await consent(api, dong, who, [centre.code], ["case.record", MENTAL])
    assert (await share(api, dong, case["id"], centre.code, [MENTAL])).status_code == 201
    wanted = {"categories": ["case.record", MENTAL]}
    seen = await api.get(f"/v1/cases/{case['id']}", headers=centre.headers, params=wanted)
    assert seen.status_code == 200, seen.text
    assert [n["text"] for n in seen.json()["notes"]] == ["우울 증상으로 상담 연계"]
    assert len(await entries(db, dong.client_id, "deny")) == 2


async def test_referrals_are_answered_once_and_dream_start_takes_a_person_once(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    dong, centre = await org(api, db, "local_government"), await org(api, db, "welfare_centre")
    dream = await org(api, db, "local_government")
    child = await person(db, keys, name="이아름")
    await consent(api, dong, child, [dong.code, centre.code, dream.code], ["case.record"])
    case = await open_case(api, dong, child)

    def referral(to: str, **more: str) -> dict:
        return {"organisation": to, "service": "아동 통합서비스"} | more

    sent = await api.post(
        f"/v1/cases/{case['id']}/referrals", headers=dong.headers, json=referral(centre.code)
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "requested"
    assert sent.json()["status_ko"] == "신청"
    url = f"/v1/cases/{case['id']}/referrals/{sent.json()['id']}"
    assert (
        await api.patch(url, headers=dong.headers, json={"status": "completed"})
    ).status_code == 404
    done = await api.patch(url, headers=centre.headers, json={"status": "completed"})
    assert done.status_code == 200, done.text
    assert done.json()["status_ko"] == "완료"
    again = await api.patch(url, headers=centre.headers, json={"status": "declined", "reason": "x"})
    assert again.status_code == 409
    assert again.json()["rule"] == "referral-answered-once"
    no_reason = await api.patch(url, headers=centre.headers, json={"status": "declined"})
    assert no_reason.status_code == 422

    to_dream = referral(dream.code, programme="MOHW-DREAM-START")
    first = await api.post(f"/v1/cases/{case['id']}/referrals", headers=dong.headers, json=to_dream)
    assert first.status_code == 201, first.text
    declined = await api.patch(
        f"/v1/cases/{case['id']}/referrals/{first.json()['id']}",
        headers=dream.headers,
        json={"status": "declined", "reason": "연령 기준 확인 필요"},
    )
    assert declined.json()["status_ko"] == "반려"
    second = await api.post(
        f"/v1/cases/{case['id']}/referrals", headers=dong.headers, json=to_dream
    )
    assert second.status_code == 201, second.text
    third = await api.post(f"/v1/cases/{case['id']}/referrals", headers=dong.headers, json=to_dream)
    assert third.status_code == 409
    assert third.json()["rule"] == "dream-start-once"
    listed = (await api.get(f"/v1/cases/{case['id']}", headers=dong.headers)).json()
    assert [r["status"] for r in listed["referrals"]] == ["completed", "declined", "requested"]


async def test_the_conference_pack_removes_identifiers_even_inside_notes(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    dong = await org(api, db, "local_government")
    household = f"H-{dong.code}"
    who = await person(db, keys, name="김하나", household=household)
    await person(db, keys, name="박두리", household=household)
    await consent(api, dong, who, [dong.code], ["case.record", MENTAL])
    case = await open_case(api, dong, who)
    compact_rrn = who.rrn.replace("-", "")
    notes = [
        f"김하나 씨(주민번호 {who.rrn}) 방문. 연락처 010-1234-5678, hana.kim@example.com",
        f"배우자 박두리 님 통화 (01098765432), 등록번호 {compact_rrn} 확인",
        "김 하나 님이 +82 10-2222-3333 으로 회신, 집전화 064-123-4567",
    ]
    body = {
        "notes": [{"text": notes[0]}, {"text": notes[1]}, {"text": notes[2], "category": MENTAL}]
    }
    assert (await patch(api, dong, case["id"], body)).status_code == 200
    pack = await api.get(
        f"/v1/cases/{case['id']}/conference-pack",
        headers=dong.headers,
        params={"categories": ["case.record", MENTAL]},
    )
    assert pack.status_code == 200, pack.text
    text = pack.text
    for identifier in (
        "김하나",
        "김 하나",
        "박두리",
        who.rrn,
        compact_rrn,
        "010-1234-5678",
        "01098765432",
        "hana.kim@example.com",
        "10-2222-3333",
        "064-123-4567",
    ):
        assert identifier not in text, identifier
    assert pack.json()["subject_ref"] is None
    assert [n["text"] for n in pack.json()["notes"]] == [
        "[이름] 씨(주민번호 [주민등록번호]) 방문. 연락처 [전화번호], [전자우편]",
        "배우자 [이름] 님 통화 ([전화번호]), 등록번호 [주민등록번호] 확인",
        "[이름] 님이 [전화번호] 으로 회신, 집전화 [전화번호]",
    ]
    assert [e.action for e in await entries(db, dong.client_id, "permit")][-1] == (
        "case.conference_pack"
    )
