"""The API's problem+json `errors` in plain words too (the same messages as the web forms, set
once in carepath/web/wording.py): every transition posted with blanks, nulls and junk, and a referral."""

import pytest

from tests import factories
from tests.web.test_wording import _forms, _junk, _leaves, _open_form, assert_plain


def _messages(errors) -> list[str]:
    if isinstance(errors, dict):
        return [m for v in errors.values() for m in _messages(v)]
    if isinstance(errors, list):
        return [m for v in errors for m in _messages(v)]
    return [str(errors)]


API_POSTS = {
    "blanks": lambda specs: {s.name: "" for s in specs},
    "nulls": lambda specs: {s.name: None for s in specs},
    "junk": lambda specs: {s.name: _junk(s) for s in specs},
}


def _nested(flat: dict) -> dict:
    data: dict = {}
    for name, value in flat.items():
        *parents, leaf = name.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return data


@pytest.mark.parametrize("post_kind", API_POSTS)
@pytest.mark.parametrize(("key", "t"), list(_forms()))
def test_api_errors_are_in_plain_words_too(api, pathway, key, t, post_kind):
    _url, obj, user = _open_form(pathway, key, t)
    kind = "referrals" if key == "referral" else "mri-requests"
    data = _nested(API_POSTS[post_kind](_leaves(t.input_serializer)))

    response = api(user).post(
        f"/api/v1/{kind}/{obj.pk}/transitions/",
        {"transition": t.name, "data": data, "version": obj.version},
        format="json",
    )

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["errors"]
    for message in _messages(body["errors"]):
        assert_plain(message, f"API {t.name}")
    assert_plain(body["detail"].replace("non_field_errors", ""), f"API {t.name} detail")


def test_api_referral_create_errors_are_in_plain_words(api, pediatrician):
    patient = factories.make_patient(pediatrician)
    response = api(pediatrician).post(
        "/api/v1/referrals/",
        {"patient": patient.pk, "side": "", "muscles": ["", "zz"], "requested_priority": None, "symptom_onset": "soon"},
        format="json",
    )

    assert response.status_code == 400
    for message in _messages(response.json()["errors"]):
        assert_plain(message, "API referral create")
