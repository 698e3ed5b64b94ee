"""Rate limits and lockouts (issue 11, finding 10), hit over HTTP as a client would, counted in the real
Redis of the suite. Each test lowers the limit it exercises with the ``settings`` fixture."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from polar import ratelimit
from polar.organizations.services import access_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters():
    ratelimit.flush_all()
    yield
    ratelimit.flush_all()


def lower(settings, **rates):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, **rates}


def bearer(raw_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    return client


def assert_too_many(response, window_seconds=60):
    assert response.status_code == 429, response.content
    assert response.json()["error"] == "TooManyRequests"
    assert response.json()["detail"]
    assert 1 <= int(response["Retry-After"]) <= window_seconds


# --- Failed authentication, per client address ----------------------------------------------------------


def test_repeated_invalid_tokens_from_one_address_are_refused_with_429(settings, anonymous_client):
    lower(settings, auth_failures="3/minute")
    anonymous_client.credentials(HTTP_AUTHORIZATION="Bearer polar_oat_guess")
    for _ in range(3):
        assert anonymous_client.get("/v1/products/").status_code == 401
    assert_too_many(anonymous_client.get("/v1/products/"))


def test_a_locked_address_is_refused_even_with_a_valid_token(settings, anonymous_client, api_client):
    # Else the lockout would still tell a right guess (200) from a wrong one (429).
    lower(settings, auth_failures="2/minute")
    anonymous_client.credentials(HTTP_AUTHORIZATION="Bearer polar_oat_guess")
    anonymous_client.get("/v1/products/")
    anonymous_client.get("/v1/products/")
    assert_too_many(api_client.get("/v1/products/"))
    # Another address is not affected.
    assert api_client.get("/v1/products/", REMOTE_ADDR="198.51.100.7").status_code == 200


def test_successful_authentications_do_not_count_as_failures(settings, api_client):
    lower(settings, auth_failures="2/minute")
    for _ in range(5):
        assert api_client.get("/v1/products/").status_code == 200


# --- Authenticated calls, per token ----------------------------------------------------------------------


def test_a_token_past_its_limit_gets_429_and_another_token_does_not(settings, api_client, other_api_client):
    lower(settings, token="5/minute")
    for _ in range(5):
        assert api_client.get("/v1/products/").status_code == 200
    assert_too_many(api_client.get("/v1/products/"))
    assert other_api_client.get("/v1/products/").status_code == 200


def test_ingestion_has_its_own_limit_per_token(settings, api_client):
    lower(settings, ingest="2/minute", token="100/minute")
    for _ in range(2):
        assert api_client.post("/v1/events/ingest", {"events": []}, format="json").status_code != 429
    assert_too_many(api_client.post("/v1/events/ingest", {"events": []}, format="json"))
    # The rest of the API still answers the same token.
    assert api_client.get("/v1/products/").status_code == 200


@pytest.mark.parametrize(
    "path", ["/v1/customer-portal/license-keys/validate", "/v1/license-keys/validate", "/v1/license-keys/activate"]
)
def test_license_key_guessing_is_limited_per_token(settings, api_client, path):
    lower(settings, license_keys="3/minute")
    body = {"key": "GUESS-0000", "organization_id": "00000000-0000-0000-0000-000000000000", "label": "x"}
    for _ in range(3):
        assert api_client.post(path, body, format="json").status_code != 429
    assert_too_many(api_client.post(path, body, format="json"))


def test_license_key_guessing_is_limited_per_address_across_tokens(settings, organization):
    lower(settings, license_keys="3/minute")
    body = {"key": "GUESS-0000", "organization_id": str(organization.id)}
    for _ in range(3):
        _row, raw = access_token_create(organization=organization, comment="guesser")
        assert bearer(raw).post("/v1/license-keys/validate", body, format="json").status_code != 429
    _row, raw = access_token_create(organization=organization, comment="guesser")
    assert_too_many(bearer(raw).post("/v1/license-keys/validate", body, format="json"))


# --- Public endpoints, per client address ----------------------------------------------------------------


def test_checkout_client_secret_guessing_is_limited_per_address(settings, anonymous_client):
    lower(settings, public="3/minute")
    for index in range(3):
        response = anonymous_client.post(f"/v1/checkouts/client/polar_c_guess{index}/confirm", {}, format="json")
        assert response.status_code != 429
    assert_too_many(anonymous_client.post("/v1/checkouts/client/polar_c_guess9/confirm", {}, format="json"))
    # Another address still reaches the endpoint.
    other = anonymous_client.post("/v1/checkouts/client/polar_c_x/confirm", {}, format="json", REMOTE_ADDR="198.51.100.8")
    assert other.status_code != 429


def test_hosted_checkout_page_guessing_is_limited_per_address(settings):
    lower(settings, public="3/minute")
    client = Client()
    for index in range(3):
        assert client.get(f"/checkout/polar_c_guess{index}").status_code == 404
    assert_too_many(client.get("/checkout/polar_c_guess9"))


def test_limits_can_be_switched_off(settings):
    lower(settings, public="3/minute")
    settings.RATE_LIMITS_ENABLED = False
    client = Client()
    for index in range(6):
        assert client.get(f"/checkout/polar_c_guess{index}").status_code == 404


# --- Client address behind proxies ----------------------------------------------------------------------


def test_x_forwarded_for_from_an_untrusted_peer_does_not_change_the_counted_address(settings):
    lower(settings, public="3/minute")
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    client = Client()
    for index in range(3):
        client.get(f"/checkout/g{index}", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{index}")
    assert_too_many(client.get("/checkout/g9", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="192.0.2.99"))


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(settings):
    lower(settings, public="3/minute")
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    client = Client()
    for index in range(6):
        response = client.get(f"/checkout/g{index}", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{index}")
        assert response.status_code == 404
    for _ in range(3):
        client.get("/checkout/g", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="spoofed, 192.0.2.50")
    assert_too_many(client.get("/checkout/g", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.50"))


def test_x_forwarded_proto_is_believed_only_from_a_trusted_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    client = Client()
    spoofed = client.get("/healthz", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_PROTO="https")
    assert spoofed.status_code == 301
    assert spoofed["Location"].startswith("https://")
    proxied = client.get("/healthz", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200


# --- Shared across processes: the count is atomic in Redis ----------------------------------------------


def test_concurrent_hits_never_let_more_than_the_limit_through(settings):
    lower(settings, public="50/minute")
    allowed = []
    lock = threading.Lock()

    def worker():
        for _ in range(20):
            decision = ratelimit.hit("public", "ip:192.0.2.200")
            with lock:
                allowed.append(decision.allowed)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 50
    assert allowed.count(False) == 8 * 20 - 50


def test_the_window_is_set_on_the_counter_in_redis(settings):
    lower(settings, public="5/10m")
    ratelimit.hit("public", "ip:192.0.2.201")
    key = next(ratelimit.redis_client().scan_iter(match=f"{ratelimit.key_prefix()}public:*"))
    assert 590 <= ratelimit.redis_client().ttl(key) <= 600


@pytest.mark.parametrize(
    "value, limit, seconds",
    [("100/minute", 100, 60), ("20/15m", 20, 900), ("5/s", 5, 1), ("3000/hour", 3000, 3600), ("1/2d", 1, 172800)],
)
def test_rates_parse(value, limit, seconds):
    assert ratelimit.parse_rate(value) == ratelimit.Rate(limit, seconds)


def test_default_rates_are_all_valid(settings):
    for scope, value in settings.RATE_LIMITS.items():
        assert ratelimit.parse_rate(value) is not None, scope


# --- Admin login lockout and staff passwords --------------------------------------------------------------


@pytest.fixture
def staff_user(db):
    user = get_user_model().objects.create_user(
        username="ops", email="ops@example.com", password="correct horse battery staple", is_staff=True, is_superuser=True
    )
    return user


def login(client, username, password, **extra):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, **extra)


def test_admin_login_locks_a_username_after_repeated_failures(settings, staff_user):
    lower(settings, admin_login_user="3/15m", admin_login_ip="100/15m")
    client = Client()
    for _ in range(3):
        assert login(client, "ops", "password").status_code == 200
    # Locked: even the right password is refused until the window ends.
    locked = login(client, "ops", "correct horse battery staple")
    assert_too_many(locked, window_seconds=900)
    assert int(locked["Retry-After"]) > 60
    assert "_auth_user_id" not in client.session
    # From another address the username is locked too (the lock is on the account).
    assert login(Client(), "OPS", "correct horse battery staple", REMOTE_ADDR="198.51.100.9").status_code == 429


def test_admin_login_locks_an_address_trying_many_usernames(settings, staff_user):
    lower(settings, admin_login_user="100/15m", admin_login_ip="3/15m")
    client = Client()
    for index in range(3):
        assert login(client, f"user{index}", "password").status_code == 200
    assert_too_many(login(client, "ops", "correct horse battery staple"), window_seconds=900)
    assert login(Client(), "ops", "correct horse battery staple", REMOTE_ADDR="198.51.100.10").status_code == 302


def test_a_successful_admin_login_clears_the_username_failures(settings, staff_user):
    lower(settings, admin_login_user="3/15m", admin_login_ip="100/15m")
    client = Client()
    login(client, "ops", "wrong")
    login(client, "ops", "wrong")
    assert login(client, "ops", "correct horse battery staple").status_code == 302
    client.logout()
    login(client, "ops", "wrong")
    login(client, "ops", "wrong")
    assert login(client, "ops", "correct horse battery staple").status_code == 302


@pytest.mark.parametrize("weak", ["password", "password1234", "12345678901234", "short1A!"])
def test_the_admin_refuses_a_weak_staff_password(staff_user, weak):
    client = Client()
    client.force_login(staff_user)
    response = client.post(
        f"/admin/auth/user/{staff_user.pk}/password/", {"password1": weak, "password2": weak, "usable_password": "true"}
    )
    assert response.status_code == 200  # the form again, with its errors
    staff_user.refresh_from_db()
    assert staff_user.check_password("correct horse battery staple")


def test_the_admin_accepts_a_strong_staff_password(staff_user):
    client = Client()
    client.force_login(staff_user)
    strong = "violet-kettle-orbit-9731"
    response = client.post(
        f"/admin/auth/user/{staff_user.pk}/password/", {"password1": strong, "password2": strong, "usable_password": "true"}
    )
    assert response.status_code == 302
    staff_user.refresh_from_db()
    assert staff_user.check_password(strong)
