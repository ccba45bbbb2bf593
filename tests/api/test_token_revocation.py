"""A new password or a deactivation ends a user's API tokens at once, whichever path made the change
(carepath/api/tokens.py: the request check compares the password; a signal marks them revoked)."""

from django.contrib.auth import get_user_model
from django.test import Client

from carepath.api.models import ApiToken
from carepath.pathway.roles import Role
from tests import factories

from .test_auth import bearer, obtain


def a_token(user) -> str:
    response = obtain(user.username)
    assert response.status_code == 201
    return response.json()["token"]


def works(raw: str) -> bool:
    return bearer(raw).get("/api/v1/pathway/").status_code == 200


def test_set_password_in_a_service_or_command_ends_every_token(neurologist):
    first, second = a_token(neurologist), a_token(neurologist)
    assert works(first) and works(second)

    neurologist.set_password("a-new-pass-phrase-9")
    neurologist.save()

    assert not works(first) and not works(second)
    assert ApiToken.objects.filter(user=neurologist, revoked_at__isnull=True).count() == 0


def test_a_token_issued_after_the_change_works(neurologist):
    old = a_token(neurologist)
    neurologist.set_password("a-new-pass-phrase-9")
    neurologist.save()

    new = obtain(neurologist.username, "a-new-pass-phrase-9").json()["token"]

    assert works(new) and not works(old)


def test_a_password_written_without_signals_still_ends_the_tokens(neurologist):
    raw = a_token(neurologist)
    other = get_user_model()(password="")
    other.set_password("changed-behind-our-back")
    get_user_model().objects.filter(pk=neurologist.pk).update(password=other.password)

    assert not works(raw)


def test_an_admin_changing_the_password_in_the_admin_ends_the_tokens(neurologist, groups):
    raw = a_token(neurologist)
    admin = factories.UserFactory(role=Role.ADMIN, username="ops", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)

    response = client.post(
        f"/admin/auth/user/{neurologist.pk}/password/",
        {"password1": "an-admin-set-pass-7", "password2": "an-admin-set-pass-7", "usable_password": "true"},
    )

    assert response.status_code == 302, response.content[:2000]
    assert not works(raw)


def test_deactivating_a_user_revokes_their_tokens_for_good(neurologist):
    raw = a_token(neurologist)

    neurologist.is_active = False
    neurologist.save()
    assert not works(raw)
    neurologist.is_active = True
    neurologist.save()

    assert not works(raw)
    assert ApiToken.objects.get().revoked_at is not None


def test_saving_other_fields_leaves_tokens_alone(neurologist):
    raw = a_token(neurologist)

    neurologist.first_name = "Ada"
    neurologist.save()
    neurologist.save(update_fields=["last_login"])

    assert works(raw)
