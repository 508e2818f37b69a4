"""hub.cases.deidentify: names, RRNs, phone numbers and e-mail addresses leave conference
material wherever they are typed (DOMAIN.md), as a table and as properties (pure)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.cases.deidentify import Scrubber, deidentify
from schemas.case import CaseRecord, Note, PlanItem, Stage

NAMES = ("김하나", "박두리")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("김하나 씨 방문", "[이름] 씨 방문"),
        ("김 하나 님과 박두리 님", "[이름] 님과 [이름] 님"),
        ("주민번호 900101-1234567 확인", "주민번호 [주민등록번호] 확인"),
        ("주민번호 9001011234567 확인", "주민번호 [주민등록번호] 확인"),
        ("번호 900101 - 2234567", "번호 [주민등록번호]"),
        ("휴대폰 010-1234-5678.", "휴대폰 [전화번호]."),
        ("휴대폰 01012345678", "휴대폰 [전화번호]"),
        ("휴대폰 010 1234 5678", "휴대폰 [전화번호]"),
        ("휴대폰 010.1234.5678", "휴대폰 [전화번호]"),
        ("국제 +82-10-1234-5678", "국제 [전화번호]"),
        ("집 02-123-4567, 제주 064-7123-4567", "집 [전화번호], 제주 [전화번호]"),
        ("메일 hana.kim+case@example.co.kr 로", "메일 [전자우편] 로"),
        ("2025-03-01 방문, 지원금 300,000원", "2025-03-01 방문, 지원금 300,000원"),
        ("하나 둘 셋", "하나 둘 셋"),  # a given name alone is an ordinary word
        ("사례번호 JEJU-ARA-2025-00017", "사례번호 JEJU-ARA-2025-00017"),
    ],
)
def test_identifiers_are_replaced_and_ordinary_text_is_kept(text: str, expected: str) -> None:
    assert Scrubber(NAMES).text(text) == expected


rrns = st.builds(
    lambda birth, rest, hyphen: f"{birth:%y%m%d}{'-' if hyphen else ''}{rest}",
    st.dates(dt.date(1930, 1, 1), dt.date(2024, 12, 31)),
    st.from_regex(r"[1-4][0-9]{6}", fullmatch=True),
    st.booleans(),
)
mobiles = st.builds(
    lambda prefix, a, b, sep: f"{prefix}{sep}{a}{sep}{b}",
    st.sampled_from(["010", "011", "016", "019"]),
    st.from_regex(r"[0-9]{3,4}", fullmatch=True),
    st.from_regex(r"[0-9]{4}", fullmatch=True),
    st.sampled_from(["-", "", " ", "."]),
)
emails = st.from_regex(r"[a-z][a-z0-9._]{0,10}@[a-z]{2,8}\.(com|kr|co\.kr|go\.kr)", fullmatch=True)
names = st.sampled_from(NAMES)
filler = st.text(alphabet="가나다라마바사 방문상담했다,.", max_size=20)


@given(
    parts=st.lists(
        st.tuples(filler, st.one_of(rrns, mobiles, emails, names)), min_size=1, max_size=6
    )
)
def test_no_identifier_survives_in_any_text(parts: list[tuple[str, str]]) -> None:
    text = "".join(f"{before} {identifier} " for before, identifier in parts)
    scrubbed = Scrubber(NAMES).text(text)
    for _, identifier in parts:
        assert identifier not in scrubbed
    assert not any(ch.isdigit() for ch in scrubbed)  # the filler has none of its own


def test_a_case_record_loses_its_pseudonym_and_every_text_is_scrubbed() -> None:
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    record = CaseRecord(
        id="c",
        number="JEJU-ARA-2025-00001",
        subject_ref="sr_x",
        lead="JEJU-ARA",
        co_managers=(),
        stage=Stage.SERVICE,
        stage_ko="서비스 제공·점검",
        history=(),
        deadlines=(),
        next_due=None,
        household_class=None,
        class_reason="김하나 님 본인 요청 (010-1111-2222)",
        case_type=None,
        needs=None,
        plan=(
            PlanItem(
                goal="김하나 님 식사",
                provider="복지관",
                content="hana@example.com 로 안내",
                frequency="주 1회",
            ),
        ),
        plan_version=1,
        notes=(
            Note(
                text="900101-1234567",
                category="case.record",
                recorded_at=now,
                organisation="WC-ARA",
            ),
        ),
        referrals=(),
        shares=(),
        closure_code=None,
        opened_at=now,
        data_categories=("case.record",),
        basis="consent:cns_x",
    )
    pack = deidentify(record, NAMES)
    assert pack.subject_ref is None
    assert pack.class_reason == "[이름] 님 본인 요청 ([전화번호])"
    assert (pack.plan[0].goal, pack.plan[0].content) == ("[이름] 님 식사", "[전자우편] 로 안내")
    assert pack.notes[0].text == "[주민등록번호]"
    assert pack.number == record.number
