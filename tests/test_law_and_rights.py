"""Issue 15 through the API: bodies by category, inquiry providers, the 自動応答不可 flag, confirmation
decided again, one transfer permission per request, flagged persons withheld, and the person's rights
(disclosure in JSON and PDF, correction, suspension, inquiry) with typed inquiry answers."""

from __future__ import annotations

import base64
import io
import json
import re
import tomllib
from datetime import date, timedelta
from importlib import resources
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from policies import legal_bases
from resolvers import context
from schema import enums

from .provision_documents import (
    ANSWER_INQUIRY,
    CONFIRM,
    DECIDE_TRANSFER,
    PROVIDE,
    RECORD_INQUIRY,
    REQUEST_TRANSFER,
    TRANSFER,
    Resident,
    insured_resident,
    no_number,
    today,
)

pytestmark = pytest.mark.db
SERVER, CHIEF, OFFICER = "intermediate_server", "kaigo_section_chief", "kaigo_number_officer"
DAY = timedelta(days=1)

SET_FLAG = """mutation F($p: ID!, $on: Boolean!, $r: String!) {
  setNoAutomaticResponse(personId: $p, on: $on, reason: $r) { id personId flag reason setBy setAt } }"""
REQUEST_FIELDS = (
    "id requestId kind receivedOn dueOn status suspensionInForce events { event oldValue newValue note }"
)
RECEIVE = f"mutation R($i: ReceiveSubjectRequestInput!) {{ receiveSubjectRequest(input: $i) {{ {REQUEST_FIELDS} }} }}"
DECIDE = f"""mutation D($id: ID!, $a: Boolean!) {{ decideSubjectRequest(id: $id, approve: $a, reason: "審査済") {{
  {REQUEST_FIELDS} }} }}"""
LIFT = f'mutation L($id: ID!) {{ liftSuspension(id: $id, reason: "取下げ") {{ {REQUEST_FIELDS} }} }}'
ANSWER = f"mutation A($id: ID!, $t: String!) {{ answerSubjectRequest(id: $id, answer: $t) {{ {REQUEST_FIELDS} }} }}"
DISCLOSE = "mutation X($id: ID!) { discloseToSubject(id: $id) { disclosedOn document pdf records { id outcome } request { status } } }"
TYPED_INQUIRIES = """query Q($p: ID!) { inquiries(personId: $p) { basisItem provider
  answer { answeredItems localTax { fiscalYear taxable taxableIncome } pension { payer annualAmount } } } }"""
REVIEWED = """query V($p: ID!) { reviewedTransfers(permissionId: $p) {
  record { outcome code page { personCount } } persons { addresseeCode information { qualification { insuredNumber } } } } }"""


def _provision(resident: Resident, rid: str, **over: Any) -> dict[str, Any]:
    return {
        "requestId": rid,
        "permitNumber": f"P-{rid}",
        "inquirer": "総社市長",
        "basisItem": "94",
        "subject": {"linkageCode": resident.linkage_code},
        "items": ["QUALIFICATION"],
        "requestDate": today().isoformat(),
        **over,
    }


async def _ok(gql: Any, document: str, variables: dict[str, Any], role: str, **kw: Any) -> dict[str, Any]:
    body = await gql(document, variables, role=role, **kw)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return next(iter(data.values()))


async def _error(gql: Any, document: str, variables: dict[str, Any], role: str, **kw: Any) -> dict[str, Any]:
    body = await gql(document, variables, role=role, **kw)
    assert body["data"] is None, body
    extensions: dict[str, Any] = body["errors"][0]["extensions"]
    return extensions


async def test_group_counterparties_by_body(gql: Any, seeded_conn: AsyncConnection) -> None:
    """別紙1 「厚生労働大臣又は共済組合等」 (95) and 「都道府県知事等」 (26): their bodies are accepted; other
    names, the category words themselves and unknown bodies are not."""
    resident = await insured_resident(seeded_conn)
    for n, (item, body, items) in enumerate(
        (
            ("95", "日本年金機構", ["LEVY"]),
            ("95", "国家公務員共済組合連合会", ["LEVY"]),
            ("26", "岡山県知事", ["LEVY"]),
        )
    ):
        answer = await _ok(
            gql,
            PROVIDE,
            {"input": _provision(resident, f"g{n}", basisItem=item, inquirer=body, items=items)},
            SERVER,
        )
        assert answer["__typename"] == "Provided", (item, body, answer)
        assert answer["record"]["recipient"] == body
    for n, body in enumerate(("共済組合等", "どこでもよい団体", "全国健康保険協会")):
        answer = await _ok(
            gql,
            PROVIDE,
            {"input": _provision(resident, f"x{n}", basisItem="95", inquirer=body, items=["LEVY"])},
            SERVER,
        )
        assert (answer["__typename"], answer["code"]) == ("Denied", "COUNTERPARTY_MISMATCH"), body


async def test_inquiry_provider_and_typed_answer(gql: Any, seeded_conn: AsyncConnection) -> None:
    resident = await insured_resident(seeded_conn)

    def ask(rid: str, item: str, provider: str, items: list[str]) -> dict[str, Any]:
        return {
            "input": {
                "requestId": rid,
                "permitNumber": f"P-{rid}",
                "basisItem": item,
                "provider": provider,
                "addresseeCode": resident.addressee_code,
                "items": items,
            }
        }

    stranger = await _ok(
        gql, RECORD_INQUIRY, ask("q1", "93", "どこでもよい団体", ["MEDICAL_INSURANCE"]), OFFICER
    )
    assert (stranger["__typename"], stranger["code"]) == ("Denied", "COUNTERPARTY_MISMATCH")
    wrong_source = await _ok(gql, RECORD_INQUIRY, ask("q2", "94", "日本年金機構", ["LOCAL_TAX"]), OFFICER)
    assert (wrong_source["__typename"], wrong_source["code"]) == ("Denied", "ITEM_NOT_PERMITTED")
    made = await _ok(gql, RECORD_INQUIRY, ask("q3", "94", "総社市長", ["LOCAL_TAX"]), OFFICER)
    assert made["__typename"] == "InquiryRecorded"
    iid = made["inquiry"]["id"]
    not_asked = await _error(
        gql,
        ANSWER_INQUIRY,
        {
            "id": iid,
            "response": {
                "pension": [
                    {
                        "payer": "日本年金機構",
                        "pensionKind": "老齢",
                        "fiscalYear": 2026,
                        "annualAmount": 800000,
                    }
                ]
            },
        },
        OFFICER,
    )
    assert (not_asked["code"], not_asked["field"]) == ("BAD_USER_INPUT", "response.answeredItems")
    await _ok(
        gql,
        ANSWER_INQUIRY,
        {"id": iid, "response": {"localTax": [{"fiscalYear": 2026, "taxable": False, "taxableIncome": 0}]}},
        OFFICER,
    )
    listed = await _ok(gql, TYPED_INQUIRIES, {"p": str(resident.id)}, OFFICER)
    answer = next(i for i in listed if i["provider"] == "総社市長")["answer"]
    assert answer["answeredItems"] == ["LOCAL_TAX"] and answer["pension"] is None
    assert answer["localTax"] == [{"fiscalYear": 2026, "taxable": False, "taxableIncome": 0}]
    denied = await _error(gql, TYPED_INQUIRIES, {"p": str(resident.id)}, "kaigo_officer")
    assert denied["code"] == "GRAPHQL_VALIDATION_FAILED"  # not a number-use role


async def test_flag_set_by_the_chief_and_seen_by_reviewers_only(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    resident = await insured_resident(seeded_conn)
    pid = str(resident.id)
    refused = await _error(gql, SET_FLAG, {"p": pid, "on": True, "r": "DV等支援措置"}, OFFICER)
    assert refused["code"] == "GRAPHQL_VALIDATION_FAILED"
    change = await _ok(gql, SET_FLAG, {"p": pid, "on": True, "r": "DV等支援措置"}, CHIEF)
    assert (change["flag"], change["reason"], change["setBy"]) == (True, "DV等支援措置", f"test-{CHIEF}")
    again = await _error(gql, SET_FLAG, {"p": pid, "on": True, "r": "重ねて"}, CHIEF)
    assert again["code"] == "ALREADY_DECIDED"
    stored = (
        await seeded_conn.execute(
            text("SELECT flag, reason FROM automatic_response_flags WHERE person_id = :p"), {"p": resident.id}
        )
    ).all()
    assert [tuple(r) for r in stored] == [(True, "DV等支援措置")]
    pending = await _ok(gql, PROVIDE, {"input": _provision(resident, "flagged-1")}, SERVER)
    assert pending["__typename"] == "PendingReview"
    seen = await _ok(gql, "query($id: ID!) { person(id: $id) { noAutomaticResponse } }", {"id": pid}, CHIEF)
    assert seen == {"noAutomaticResponse": True}
    for role in ("kaigo_officer", "kenko_choju_officer", "shido_kansa_officer", OFFICER):
        hidden = await _error(
            gql, "query($id: ID!) { person(id: $id) { noAutomaticResponse } }", {"id": pid}, role
        )
        assert hidden["code"] == "GRAPHQL_VALIDATION_FAILED", role


async def _receive(gql: Any, resident: Resident, rid: str, kind: str, **over: Any) -> dict[str, Any]:
    values = {
        "requestId": rid,
        "kind": kind,
        "personId": str(resident.id),
        "receivedOn": today().isoformat(),
        "summary": f"{kind} の請求 (指定様式)",
        **over,
    }
    return await _ok(gql, RECEIVE, {"i": values}, OFFICER)


async def test_confirmation_decides_again(gql: Any, seeded_conn: AsyncConnection) -> None:
    """A pending provision is sent when confirmed (Provided) — or denied when, meanwhile, the person
    had their information suspended: the decision is taken again on the day it is sent."""
    first, second = await insured_resident(seeded_conn), await insured_resident(seeded_conn, offset=1)
    for resident in (first, second):
        await _ok(gql, SET_FLAG, {"p": str(resident.id), "on": True, "r": "保護措置"}, CHIEF)
    sent_pending = await _ok(gql, PROVIDE, {"input": _provision(first, "c1")}, SERVER)
    held_pending = await _ok(gql, PROVIDE, {"input": _provision(second, "c2")}, SERVER)
    suspension = await _receive(gql, second, "susp-c2", "SUSPENSION")
    await _ok(gql, DECIDE, {"id": suspension["id"], "a": True}, CHIEF)
    sent = await _ok(gql, CONFIRM, {"id": sent_pending["record"]["id"], "approve": True}, CHIEF)
    assert sent["__typename"] == "Provided" and sent["record"]["outcome"] == "CONFIRMED"
    held = await _ok(gql, CONFIRM, {"id": held_pending["record"]["id"], "approve": True}, CHIEF)
    assert (held["__typename"], held["code"], held["record"]["outcome"]) == (
        "Denied",
        "SUBJECT_SUSPENDED",
        "DENIED",
    )
    assert held["record"]["resolvesRecordId"] == held_pending["record"]["id"]


async def test_suspension_denies_provisions_until_lifted(gql: Any, seeded_conn: AsyncConnection) -> None:
    resident = await insured_resident(seeded_conn)
    request = await _receive(gql, resident, "susp-1", "SUSPENSION")
    assert request["status"] == "RECEIVED" and request["dueOn"] == (today() + 30 * DAY).isoformat()
    still = await _ok(gql, PROVIDE, {"input": _provision(resident, "s0")}, SERVER)
    assert still["__typename"] == "Provided"  # received, not yet decided
    approved = await _ok(gql, DECIDE, {"id": request["id"], "a": True}, CHIEF)
    assert approved["suspensionInForce"] is True
    denied = await _ok(gql, PROVIDE, {"input": _provision(resident, "s1")}, SERVER)
    assert (denied["__typename"], denied["code"]) == ("Denied", "SUBJECT_SUSPENDED")
    assert denied["record"]["outcome"] == "DENIED"
    twice = await _error(gql, DECIDE, {"id": request["id"], "a": False}, CHIEF)
    assert twice["code"] == "ALREADY_DECIDED"
    lifted = await _ok(gql, LIFT, {"id": request["id"]}, CHIEF)
    assert lifted["suspensionInForce"] is False and lifted["status"] == "LIFTED"
    again = await _ok(gql, PROVIDE, {"input": _provision(resident, "s2")}, SERVER)
    assert again["__typename"] == "Provided"


async def test_correction_applied_with_old_and_new_values(gql: Any, seeded_conn: AsyncConnection) -> None:
    resident = await insured_resident(seeded_conn)
    old = (
        await seeded_conn.execute(text("SELECT phone FROM persons WHERE id = :p"), {"p": resident.id})
    ).scalar_one()
    bad = await gql(
        RECEIVE,
        {
            "i": {
                "requestId": "corr-0",
                "kind": "CORRECTION",
                "personId": str(resident.id),
                "receivedOn": today().isoformat(),
                "summary": "電話番号の訂正",
                "correction": {"field": "PHONE", "value": "電話してね"},
            }
        },
        role=OFFICER,
    )
    assert bad["errors"][0]["extensions"]["reason"] == "FORMAT"
    request = await _receive(
        gql, resident, "corr-1", "CORRECTION", correction={"field": "PHONE", "value": "086-000-1234"}
    )
    rejected_role = await _error(gql, DECIDE, {"id": request["id"], "a": True}, OFFICER)
    assert rejected_role["code"] == "GRAPHQL_VALIDATION_FAILED"  # the chief decides
    decided = await _ok(gql, DECIDE, {"id": request["id"], "a": True}, CHIEF)
    assert [e["event"] for e in decided["events"]] == ["RECEIVED", "APPROVED", "APPLIED"]
    assert (decided["events"][2]["oldValue"], decided["events"][2]["newValue"]) == (old, "086-000-1234")
    now = (
        await seeded_conn.execute(text("SELECT phone FROM persons WHERE id = :p"), {"p": resident.id})
    ).scalar_one()
    assert now == "086-000-1234"
    rejected = await _receive(
        gql, resident, "corr-2", "CORRECTION", correction={"field": "PHONE", "value": "086-999-9999"}
    )
    no = await _ok(gql, DECIDE, {"id": rejected["id"], "a": False}, CHIEF)
    assert no["status"] == "REJECTED"
    assert (
        await seeded_conn.execute(text("SELECT phone FROM persons WHERE id = :p"), {"p": resident.id})
    ).scalar_one() == "086-000-1234"


async def test_disclosure_in_json_and_a4_pdf(gql: Any, seeded_conn: AsyncConnection) -> None:
    resident = await insured_resident(seeded_conn)
    await _ok(gql, PROVIDE, {"input": _provision(resident, "d-prov")}, SERVER)
    future = await gql(
        RECEIVE,
        {
            "i": {
                "requestId": "disc-0",
                "kind": "DISCLOSURE",
                "personId": str(resident.id),
                "receivedOn": (today() + DAY).isoformat(),
                "summary": "開示請求",
            }
        },
        role=OFFICER,
    )
    assert future["errors"][0]["extensions"]["reason"] == "OUT_OF_RANGE"
    request = await _receive(gql, resident, "disc-1", "DISCLOSURE")
    assert request == await _receive(gql, resident, "disc-1", "DISCLOSURE")  # the same form, recorded once
    disclosure = await _ok(gql, DISCLOSE, {"id": request["id"]}, OFFICER)
    document = json.loads(disclosure["document"])
    assert document["person"]["addresseeCode"] == resident.addressee_code
    assert document["information"]["qualification"] is not None
    assert [r["requestId"] for r in document["provisionRecords"]] == ["d-prov"]
    assert disclosure["request"]["status"] == "DISCLOSED" and len(disclosure["records"]) == 1
    no_number(disclosure)
    pdf = PdfReader(io.BytesIO(base64.b64decode(disclosure["pdf"])))
    box = pdf.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    words = "".join(page.extract_text() for page in pdf.pages)
    for expected in ("保有特定個人情報の開示について", "宛名", "情報提供等記録", resident.addressee_code):
        assert expected in words, expected
    _in_japanese(words, document)
    stored = (
        await seeded_conn.execute(
            text(
                "SELECT e.document FROM subject_request_events e WHERE e.event = 'DISCLOSED' AND e.subject_request_id = :r"
            ),
            {"r": int(request["id"])},
        )
    ).scalar_one()
    assert stored == document
    twice = await _error(gql, DISCLOSE, {"id": request["id"]}, OFFICER)
    assert twice["code"] == "ALREADY_DECIDED"


def _json_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _json_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _json_keys(v)}
    return set()


def _in_japanese(words: str, document: dict[str, Any]) -> None:
    """The PDF the person reads: Japanese labels (no key of the JSON), codes by name, dates as dates."""
    english = sorted(k for k in _json_keys(document) if re.search(rf"(?<![A-Za-z_]){k}:", words))
    assert english == []
    assert "未登録" not in words  # no key without a label, no value without a name
    assert re.search(r"\d{4}-\d{2}-\d{2}", words) is None  # no ISO date
    person, qualification = document["person"], document["information"]["qualification"]
    certification = document["information"]["certification"]
    named = {
        "性別": enums.Sex(person["sex"]),
        "被保険者区分": enums.InsuredCategory(qualification["category"]),
        "取得事由": enums.QualificationEventReason(qualification["acquisition_reason"]),
        "要介護状態区分": enums.CareLevel(certification["care_level"]),
    }
    for label, value in named.items():
        assert f"{label}: {value.ja}" in words, label
        assert f"{label}: {value.code}" not in words, label
    born = date.fromisoformat(person["birthDate"])
    assert f"生年月日: {born.year}年{born.month}月{born.day}日" in words
    assert "項目: 資格情報" in words  # the provision record's items by their names


async def test_inquiry_from_a_person_is_recorded_and_answered_once(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    resident = await insured_resident(seeded_conn)
    request = await _receive(gql, resident, "toi-1", "INQUIRY")
    answered = await _ok(gql, ANSWER, {"id": request["id"], "t": "電話で回答した"}, OFFICER)
    assert answered["status"] == "ANSWERED" and answered["events"][-1]["note"] == "電話で回答した"
    again = await _error(gql, ANSWER, {"id": request["id"], "t": "もう一度"}, OFFICER)
    assert again["code"] == "ALREADY_DECIDED"
    listed = await _ok(
        gql,
        f"query($p: ID!) {{ subjectRequests(personId: $p) {{ {REQUEST_FIELDS} }} }}",
        {"p": str(resident.id)},
        CHIEF,
    )
    assert [r["requestId"] for r in listed] == ["toi-1"]


async def _apply(gql: Any, dept: str, rid: str) -> str:
    values = {
        "requestId": rid,
        "basisItem": "56の2",
        "items": ["QUALIFICATION"],
        "purpose": "被災者台帳",
        "validFrom": today().isoformat(),
        "validTo": (today() + 10 * DAY).isoformat(),
    }
    applied = await _ok(gql, REQUEST_TRANSFER, {"input": values}, "receiving_department", department=dept)
    permission: str = applied["permission"]["id"]
    await _ok(gql, DECIDE_TRANSFER, {"id": permission, "approve": True}, CHIEF)
    return permission


async def test_one_permission_per_request_and_flagged_persons_reviewed(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    dept = "bosai_kiki_kanri"
    plain, flagged = await insured_resident(seeded_conn), await insured_resident(seeded_conn, offset=1)
    await _ok(gql, SET_FLAG, {"p": str(flagged.id), "on": True, "r": "保護措置"}, CHIEF)
    permission = await _apply(gql, dept, "perm-1")

    def page(rid: str) -> dict[str, Any]:
        return {
            "input": {
                "requestId": rid,
                "permissionId": permission,
                "items": ["QUALIFICATION"],
                "subjects": [plain.addressee_code, flagged.addressee_code],
                "first": 10,
            }
        }

    sent = await _ok(
        gql,
        TRANSFER.replace("unmatchedSubjects", "unmatchedSubjects heldBack { id outcome code }"),
        page("req-1"),
        "receiving_department",
        department=dept,
    )
    assert [p["addresseeCode"] for p in sent["persons"]] == [plain.addressee_code]
    (held,) = sent["heldBack"]
    assert (held["outcome"], held["code"]) == ("PENDING_REVIEW", "PENDING_REVIEW")
    other = await _ok(gql, TRANSFER, page("req-2"), "receiving_department", department=dept)
    assert (other["__typename"], other["code"]) == ("Denied", "PERMISSION_ALREADY_USED")
    assert await _ok(gql, REVIEWED, {"p": permission}, "receiving_department", department=dept) == []
    confirmed = await _ok(
        gql,
        CONFIRM.replace("... on Denied", "... on ReviewedTransfer { record { outcome } } ... on Denied"),
        {"id": held["id"], "approve": True},
        CHIEF,
    )
    assert confirmed["__typename"] == "ReviewedTransfer"
    (delivered,) = await _ok(gql, REVIEWED, {"p": permission}, "receiving_department", department=dept)
    assert delivered["record"]["outcome"] == "CONFIRMED"
    assert [p["addresseeCode"] for p in delivered["persons"]] == [flagged.addressee_code]
    assert delivered["persons"][0]["information"]["qualification"] is not None


def _registry_ending(item: str, last_day: date) -> legal_bases.Registry:
    """The packaged registry with the provision entry of ``item`` ending after ``last_day``: the law
    changing while a provision waits for review."""
    raw = tomllib.loads(resources.files("policies").joinpath("data/legal_bases.toml").read_text("utf-8"))
    (entry,) = [
        e
        for e in raw["entries"]
        if e["direction"] == "PROVISION" and e["item"] == item and "valid_to" not in e
    ]
    entry["valid_to"] = last_day
    return legal_bases.parse_registry(raw, legal_bases.information_items())


async def test_confirmation_denied_when_the_basis_ended_meanwhile(
    gql: Any, seeded_conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requested on a day its entry was in force, confirmed after the entry ended: DENIED
    BASIS_NOT_IN_FORCE on the day of sending, nothing sent; confirmed the day before, it is sent."""
    day = today()
    ended = _registry_ending("94", day)
    monkeypatch.setattr(legal_bases, "registry", lambda: ended)
    first, second = await insured_resident(seeded_conn), await insured_resident(seeded_conn, offset=1)
    pending = []
    for n, resident in enumerate((first, second)):
        await _ok(gql, SET_FLAG, {"p": str(resident.id), "on": True, "r": "保護措置"}, CHIEF)
        waiting = await _ok(gql, PROVIDE, {"input": _provision(resident, f"end-{n}")}, SERVER)
        assert waiting["__typename"] == "PendingReview", waiting
        pending.append(waiting["record"]["id"])
    sent = await _ok(gql, CONFIRM, {"id": pending[0], "approve": True}, CHIEF)
    assert (sent["__typename"], sent["record"]["outcome"]) == ("Provided", "CONFIRMED")

    monkeypatch.setattr(context, "request_date", lambda: day + DAY)  # the next day: 94 has ended
    held = await _ok(gql, CONFIRM, {"id": pending[1], "approve": True}, CHIEF)
    assert (held["__typename"], held["code"]) == ("Denied", "BASIS_NOT_IN_FORCE"), held
    record = held["record"]
    assert (record["outcome"], record["code"], record["resolvesRecordId"]) == (
        "DENIED",
        "BASIS_NOT_IN_FORCE",
        pending[1],
    )
    assert record["basis"]["item"] == "94" and record["basis"]["legalBasisId"] is None
    assert "94" in held["reason"]["en"] and (day + DAY).isoformat() in held["reason"]["en"]
    stored = (
        await seeded_conn.execute(
            text("SELECT outcome, payload FROM provision_records WHERE resolves_record_id = :p"),
            {"p": int(pending[1])},
        )
    ).all()
    assert [tuple(r) for r in stored] == [("DENIED", None)]  # nothing sent
    again = await _error(gql, CONFIRM, {"id": pending[1], "approve": True}, CHIEF)
    assert again["code"] == "ALREADY_CONFIRMED"


async def test_transfer_page_denies_a_suspended_person(gql: Any, seeded_conn: AsyncConnection) -> None:
    """A person under a suspension (利用停止) is never sent on a transfer page: the page that holds them
    records them DENIED SUBJECT_SUSPENDED (once, however often the page is asked for again). Flagged
    persons suspended while waiting for review are denied the same way when the chief confirms: the
    others of the page are sent, and when none is left the confirmation itself is the denial."""
    dept = "bosai_kiki_kanri"
    plain, stopped, later, flagged, kept = [await insured_resident(seeded_conn, offset=n) for n in range(5)]
    for person in (flagged, kept):
        await _ok(gql, SET_FLAG, {"p": str(person.id), "on": True, "r": "保護措置"}, CHIEF)
    await _suspend(gql, stopped, "susp-t1")
    permission = await _apply(gql, dept, "perm-s")
    codes = [r.addressee_code for r in (plain, stopped, later, flagged, kept)]

    async def page(after: str | None, *, rid: str = "req-s", on: str = permission) -> dict[str, Any]:
        values = {"requestId": rid, "permissionId": on, "items": ["QUALIFICATION"], "subjects": codes}
        values.update(first=1, after=after)
        return await _ok(gql, HELD_BACK, {"input": values}, "receiving_department", department=dept)

    first = await page(None)
    assert [p["addresseeCode"] for p in first["persons"]] == [plain.addressee_code]
    assert first["heldBack"] == [] and first["pageInfo"]["hasNextPage"]
    second = await page(first["pageInfo"]["endCursor"])
    assert [p["addresseeCode"] for p in second["persons"]] == [later.addressee_code]
    denied, waiting = second["heldBack"]
    assert (denied["outcome"], denied["code"]) == ("DENIED", "SUBJECT_SUSPENDED")
    assert (waiting["outcome"], waiting["code"]) == ("PENDING_REVIEW", "PENDING_REVIEW")
    assert (await page(first["pageInfo"]["endCursor"]))["heldBack"] == second["heldBack"]  # replayed
    assert await _suspension_records(seeded_conn, "req-s") == [("DENIED", [stopped.id], None, False)]
    sent = (
        await seeded_conn.execute(
            text(
                "SELECT person_ids FROM provision_records WHERE request_id = 'req-s' AND outcome = 'TRANSFERRED'"
            )
        )
    ).scalars()
    assert stopped.id not in {pid for ids in sent for pid in ids}

    await _suspend(gql, flagged, "susp-t2")  # while waiting: the other flagged person is still sent
    confirmed = await _ok(gql, CONFIRM_WITHHELD, {"id": waiting["id"], "approve": True}, CHIEF)
    assert confirmed["__typename"] == "ReviewedTransfer", confirmed
    assert [p["addresseeCode"] for p in confirmed["persons"]] == [kept.addressee_code]
    assert (await _suspension_records(seeded_conn, "req-s"))[1:] == [("DENIED", [flagged.id], None, False)]
    (delivered,) = await _ok(gql, REVIEWED, {"p": permission}, "receiving_department", department=dept)
    assert [p["addresseeCode"] for p in delivered["persons"]] == [kept.addressee_code]

    codes = [kept.addressee_code]  # withheld again under a new request, then suspended: nobody is sent
    again = await page(None, rid="req-s2", on=await _apply(gql, dept, "perm-s2"))
    (waiting,) = again["heldBack"]
    await _suspend(gql, kept, "susp-t3")
    refused = await _ok(gql, CONFIRM_WITHHELD, {"id": waiting["id"], "approve": True}, CHIEF)
    assert (refused["__typename"], refused["code"], refused["record"]["outcome"]) == (
        "Denied",
        "SUBJECT_SUSPENDED",
        "DENIED",
    )
    assert refused["record"]["resolvesRecordId"] == waiting["id"]
    assert await _suspension_records(seeded_conn, "req-s2") == [("DENIED", [kept.id], None, True)]


HELD_BACK = TRANSFER.replace("unmatchedSubjects", "unmatchedSubjects heldBack { id outcome code }")
CONFIRM_WITHHELD = CONFIRM.replace(
    "... on Denied", "... on ReviewedTransfer { record { outcome } persons { addresseeCode } } ... on Denied"
)


async def _suspend(gql: Any, resident: Resident, rid: str) -> None:
    request = await _receive(gql, resident, rid, "SUSPENSION")
    await _ok(gql, DECIDE, {"id": request["id"], "a": True}, CHIEF)


async def _suspension_records(conn: AsyncConnection, rid: str) -> list[tuple[Any, ...]]:
    """(outcome, person ids, payload, resolves a pending record) of a request's SUBJECT_SUSPENDED records."""
    rows = await conn.execute(
        text(
            "SELECT outcome, person_ids, payload, resolves_record_id IS NOT NULL FROM provision_records"
            " WHERE request_id = :r AND code = 'SUBJECT_SUSPENDED' ORDER BY id"
        ),
        {"r": rid},
    )
    return [tuple(r) for r in rows]
