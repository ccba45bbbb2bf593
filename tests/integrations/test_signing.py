"""Standard Webhooks signing, checked against the specification's published example."""

from integrations.webhooks import signing

# The example of the Standard Webhooks specification (https://www.standardwebhooks.com, "Signature scheme").
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = '{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_of_the_specifications_example_matches():
    assert signing.sign(SECRET, MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_a_receiver_accepts_a_fresh_signed_message_and_refuses_a_changed_or_stale_one():
    headers = signing.headers(SECRET, MSG_ID, TIMESTAMP, BODY)

    assert signing.verify(SECRET, headers, BODY, now=TIMESTAMP + 10)
    assert not signing.verify(SECRET, headers, BODY.replace("2", "3"), now=TIMESTAMP + 10)
    assert not signing.verify(SECRET, headers, BODY, now=TIMESTAMP + 3600)


def test_new_secrets_are_whsec_and_32_random_bytes():
    secret = signing.new_secret()

    assert secret.startswith("whsec_") and len(signing._key(secret)) == 32
    assert secret != signing.new_secret()
