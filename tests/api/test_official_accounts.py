"""``GET /api/v1/official-accounts/check``: public, answers official / not official for today in
Asia/Shanghai, refuses a number that is not one (422), and is rate-limited per client address."""

from __future__ import annotations

from datetime import date

from lendcore.api.ratelimit import RateRule
from lendcore.api.settings import ApiSettings
from lendcore.payments.official_accounts import AddOfficialAccountRequest, add_official_account
from lendcore.store.engine import unit_of_work
from tests.api.conftest import LiveApi, MakeApi

PATH = "/api/v1/official-accounts/check"


def _register(api: LiveApi, valid_to: date | None = None) -> None:
    request = AddOfficialAccountRequest(
        "6222020000001234", "ICBC", "Lendcore Ltd", "repayments", date(2026, 1, 1), valid_to
    )
    with unit_of_work(api.factory) as session:
        add_official_account(session, request, actor="ops1")


def test_an_official_account_is_named_and_any_other_is_do_not_pay(api: LiveApi) -> None:
    _register(api)
    client = api.client()  # no token: the check is public
    official = client.get(PATH, params={"number": "6222 0200-0000 1234"})
    assert official.status_code == 200, official.text
    assert official.json() == {
        "number": "6222020000001234", "on": "2026-03-20", "official": True,
        "message": "official: ICBC, Lendcore Ltd (repayments)", "bank_name": "ICBC",
        "holder": "Lendcore Ltd", "purpose": "repayments", "valid_to": None,
    }  # fmt: skip
    other = client.get(PATH, params={"number": "6222020000009999"}).json()
    assert other["official"] is False and other["message"] == "not official - do not pay into this account"
    assert other["bank_name"] is None


def test_the_answer_is_for_today_in_shanghai(api: LiveApi) -> None:
    _register(api, valid_to=date(2026, 3, 20))
    client = api.client()
    assert client.get(PATH, params={"number": "6222020000001234"}).json()["official"] is True
    api.clock.advance(hours=14)  # 2026-03-20 16:00 UTC is 2026-03-21 00:00 in Shanghai
    late = client.get(PATH, params={"number": "6222020000001234"}).json()
    assert late["on"] == "2026-03-21" and late["official"] is False


def test_a_number_that_is_not_one_is_a_422_problem(api: LiveApi) -> None:
    answer = api.client().get(PATH, params={"number": "call me: 138"})
    assert answer.status_code == 422
    assert answer.json()["code"] == "INVALID_ACCOUNT_NUMBER"
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_checks_are_limited_per_client_address(make_api: MakeApi) -> None:
    rules = {**ApiSettings().rate_limits, "official_accounts:ip": RateRule(3, 60)}
    api = make_api(settings=ApiSettings(rate_limits=rules))
    client = api.client()
    codes = [client.get(PATH, params={"number": f"62220200000{i:05d}"}).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    api.limiter_clock.value += 20  # one token back (3 per 60 s)
    assert client.get(PATH, params={"number": "6222020000001234"}).status_code == 200
