"""Bad input is a 4xx in the one error shape, never a 500: ids no database holds, JSON past its
limits, text that is not Unicode, headers of the wrong alphabet, regions not in the table,
fractions for integers, missing bodies, and streamed bodies over the size limit."""

from __future__ import annotations

import io
import json
from urllib.parse import quote

import pytest

from app.privacy.identifiers import id_check_character
from tests.api.test_errors import assert_error_shape
from tests.api.world import department_headers
from tests.factories import (
    auth_headers,
    bind_user,
    create_admin,
    create_enterprise,
    create_item,
    create_theme,
    create_user,
)
from tests.personal_numbers import new_id_number, remember

NOT_ROW_IDS = ["²", "１", "٣", "0", "007", "-1", "1.0", "9223372036854775808", "9" * 40]
LARGEST_ID = str(2**63 - 1)


@pytest.fixture
def admin(app_context):
    return auth_headers(create_admin())


@pytest.fixture
def catalog(app_context):
    create_theme()
    create_item(code="GF00001001", regions=("530102",))


@pytest.fixture
def company(app_context):
    rep = create_user(name="李明", id_number=new_id_number())
    enterprise = create_enterprise(legal_rep=rep)
    bind_user(user=rep, enterprise=enterprise)
    return enterprise.uscc, auth_headers(rep)


def post_json(client, url: str, text: str, **kwargs):
    return client.post(url, data=text.encode("utf-8", "surrogatepass"),
                       content_type="application/json", **kwargs)


def theme_with_sort_order(client, headers: dict, number: str):
    """POST a theme whose sort_order is written as `number`, as it stands in the JSON text."""
    text = '{"code": "elderly_care", "name": "养老服务", "sort_order": ' + number + "}"
    return post_json(client, "/api/v1/admin/themes", text, headers=headers)


# --- ids in paths ----------------------------------------------------------------------------

@pytest.mark.parametrize("tail", ["", "/access-log"])
@pytest.mark.parametrize("certificate_id", NOT_ROW_IDS)
def test_a_certificate_id_that_names_no_row_is_404(client, holder, certificate_id, tail):
    response = client.get(f"/api/v1/me/certificates/{quote(certificate_id)}{tail}",
                          headers=auth_headers(holder))
    assert_error_shape(response, 404, "not_found")


def test_the_largest_id_is_looked_up_and_not_found(client, holder):
    response = client.post(f"/api/v1/me/certificates/{LARGEST_ID}/presentations",
                           headers=auth_headers(holder), json={"purpose": "核验"})
    assert assert_error_shape(response, 404, "not_found")["errors"] == {"id": ["not found"]}


@pytest.mark.parametrize("user_id", NOT_ROW_IDS)
def test_an_agent_user_id_that_names_no_row_is_404(client, company, user_id):
    uscc, headers = company
    response = client.delete(f"/api/v1/me/enterprises/{uscc}/agents/{quote(user_id)}",
                             headers=headers)
    assert_error_shape(response, 404, "not_found")


@pytest.mark.parametrize(("user_id", "status", "error"), [
    ("²", 422, "validation_error"), ("１２", 422, "validation_error"),
    ("9223372036854775808", 404, "not_found"),
])
def test_an_agent_named_by_an_impossible_id_is_refused_naming_user_id(client, company, user_id,
                                                                      status, error):
    uscc, headers = company
    response = client.post(f"/api/v1/me/enterprises/{uscc}/agents", headers=headers,
                           json={"user_id": user_id, "scopes": ["cases"]})
    assert "user_id" in assert_error_shape(response, status, error)["errors"]


@pytest.mark.parametrize("reference", ["²", "9223372036854775808", "1.2.156.3005.2.X"])
def test_a_department_revoking_an_impossible_certificate_gets_404(client, reference):
    path = f"/api/v1/integrations/certificates/{reference}/revoke"
    body = json.dumps({"event_id": "evt-1", "reason": "证件遗失"}).encode()
    # The signature covers the path as the server reads it, percent-escapes decoded.
    response = client.post(quote(path), data=body, content_type="application/json",
                           headers=department_headers("POST", path, body))
    assert_error_shape(response, 404, "not_found")


# --- JSON bodies -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["[" * 1000 + "]" * 1000,
                                  '{"code": ' + "[" * 33 + "]" * 33 + "}"])
def test_json_nested_too_deep_is_400(client, text):
    body = assert_error_shape(post_json(client, "/api/v1/auth/wechat-login", text), 400,
                              "bad_request")
    assert "嵌套" in body["message"]


def test_json_nested_32_deep_is_read(client, app_context):
    verifier = auth_headers(create_admin(username="checker", roles=("verifier",)))
    response = post_json(client, "/api/v1/verifications",
                         '{"token": ' + "[" * 31 + "]" * 31 + "}", headers=verifier)
    assert response.status_code == 200 and response.get_json()["reason"] == "malformed"


@pytest.mark.parametrize("number", ["9" * 5000, str(2**63), str(-(2**63) - 1), "1e999",
                                    "-1e999"])
def test_a_number_past_64_bits_is_422_naming_its_field(client, admin, number):
    response = theme_with_sort_order(client, admin, number)
    assert assert_error_shape(response, 422, "validation_error")["errors"] == {
        "sort_order": ["整数超出范围" if "e" not in number else "数值超出范围"]}


def test_the_largest_64_bit_integer_reaches_the_schema(client, admin):
    response = theme_with_sort_order(client, admin, str(2**63 - 1))
    errors = assert_error_shape(response, 422, "validation_error")["errors"]
    assert errors == {"sort_order": ["应不小于 0且不大于 10000"]}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_and_400(client, admin, constant):
    response = theme_with_sort_order(client, admin, constant)
    assert assert_error_shape(response, 400, "bad_request")["errors"] == {
        "body": [f"{constant} 不是 JSON 数值"]}


def test_a_lone_surrogate_in_a_login_code_is_422_naming_code(client):
    response = post_json(client, "/api/v1/auth/wechat-login", '{"code": "\\ud800"}')
    assert list(assert_error_shape(response, 422, "validation_error")["errors"]) == ["code"]


def test_a_lone_surrogate_deep_in_a_body_is_named_by_its_path(client, admin):
    response = client.put("/api/v1/admin/synonyms/驾照", headers=admin,
                          data='{"expansions": ["机动车驾驶证", "a\\udfffb"]}',
                          content_type="application/json")
    assert list(assert_error_shape(response, 422, "validation_error")["errors"]) == [
        "expansions.1"]


def test_a_lone_surrogate_in_a_key_is_named_escaped(client):
    response = post_json(client, "/api/v1/auth/wechat-login", '{"\\ud800x": "1", "code": "c"}')
    assert list(assert_error_shape(response, 422, "validation_error")["errors"]) == [
        "\\ud800x"]


@pytest.mark.parametrize("raw", [b'{"code": "\xed\xa0\x80"}', b'{"code": "\xff"}', b"{not json"])
def test_a_body_that_is_not_utf8_json_is_400(client, raw):
    response = client.post("/api/v1/auth/wechat-login", data=raw,
                           content_type="application/json")
    assert list(assert_error_shape(response, 400, "bad_request")["errors"]) == ["body"]


# --- headers ---------------------------------------------------------------------------------

# Headers reach the app as Latin-1 text: full-width digits arrive as their UTF-8 bytes.
@pytest.mark.parametrize("stamp", ["²", "\xb9\xb2\xb3", "１７６７".encode().decode("latin-1"),
                                   "\xff12", "9" * 40, "-1", "1e9"])
def test_a_timestamp_that_is_not_ascii_digits_is_401_out_of_range(client, stamp):
    body = b"{}"
    headers = {**department_headers("POST", "/api/v1/integrations/certificates", body),
               "X-Timestamp": stamp}
    response = client.post("/api/v1/integrations/certificates", data=body,
                           content_type="application/json", headers=headers)
    assert_error_shape(response, 401, "timestamp_out_of_range")


def test_a_signature_that_is_not_hex_is_401_bad_signature(client):
    body = b"{}"
    headers = {**department_headers("POST", "/api/v1/integrations/certificates", body),
               "X-Signature": "é" * 64}
    response = client.post("/api/v1/integrations/certificates", data=body,
                           content_type="application/json", headers=headers)
    assert_error_shape(response, 401, "bad_signature")


# --- region codes ----------------------------------------------------------------------------

def region_requests(region: str) -> list[tuple[str, str, dict]]:
    query = f"region={quote(region)}"
    return [("GET", f"/api/v1/home?{query}", {}), ("GET", f"/api/v1/services?{query}", {}),
            ("GET", f"/api/v1/services/hot?{query}", {}),
            ("GET", f"/api/v1/search?q=社保&{query}", {}),
            ("POST", "/api/v1/services/GF00001001/visits", {"json": {"region": region}})]


@pytest.mark.parametrize("region", ["５３０１０２", "530102 ", "999999", "530012", "530199"])
def test_a_region_outside_the_region_table_is_422_naming_region(client, catalog, region):
    for method, url, kwargs in region_requests(region):
        response = client.open(url, method=method, **kwargs)
        body = assert_error_shape(response, 422, "validation_error")
        assert list(body["errors"]) == ["region"], url


def test_a_region_of_the_table_is_accepted_everywhere(client, catalog):
    assert [client.open(url, method=method, **kwargs).status_code
            for method, url, kwargs in region_requests("530102")] == [200, 200, 200, 200, 202]


def test_a_user_whose_id_region_fits_no_hierarchy_still_gets_home_and_visits(client, catalog):
    body = "530012" + "19900101" + "021"
    user = create_user(id_number=remember(body + id_check_character(body)))
    headers = auth_headers(user)
    assert client.get("/api/v1/home", headers=headers).get_json()["region"]["code"] == "530000"
    assert client.post("/api/v1/services/GF00001001/visits", headers=headers).status_code == 202


# --- integers, required bodies, sizes --------------------------------------------------------

@pytest.mark.parametrize("sort_order", [1.5, 1.0, "1", True])
def test_a_sort_order_that_is_not_an_integer_is_422(client, admin, sort_order):
    response = client.post("/api/v1/admin/themes", headers=admin,
                           json={"code": "elderly_care", "name": "养老服务",
                                 "sort_order": sort_order})
    assert assert_error_shape(response, 422, "validation_error")["errors"] == {
        "sort_order": ["应为整数"]}


@pytest.mark.parametrize("kwargs", [{}, {"data": "", "content_type": "application/json"},
                                    {"data": {"name": "养老服务"}}])
def test_a_patch_without_a_json_body_is_422_naming_body(client, admin, catalog, kwargs):
    response = client.patch("/api/v1/admin/themes/social_security", headers=admin, **kwargs)
    assert list(assert_error_shape(response, 422, "validation_error")["errors"]) == ["body"]


def test_an_empty_patch_changes_nothing_and_is_200(client, admin, catalog):
    response = client.patch("/api/v1/admin/themes/social_security", headers=admin, json={})
    assert response.status_code == 200 and response.get_json()["name"] == "社会保障"


def test_a_visit_needs_no_body(client, catalog):
    assert client.post("/api/v1/services/GF00001001/visits").status_code == 202


def streamed(client, size: int):
    """POST a login body of `size` bytes without Content-Length, as chunked transfer does."""
    body = b'{"code": "' + b"a" * (size - 12) + b'"}'
    assert len(body) == size
    return client.post("/api/v1/auth/wechat-login", input_stream=io.BytesIO(body),
                       content_type="application/json",
                       environ_overrides={"wsgi.input_terminated": True})


def test_a_streamed_body_over_the_limit_is_413(client, app):
    assert_error_shape(streamed(client, 2_621_440), 413, "payload_too_large")
    assert_error_shape(streamed(client, app.config["MAX_CONTENT_LENGTH"] + 1), 413,
                       "payload_too_large")


def test_a_streamed_body_at_the_limit_is_read_whole(client, app):
    response = streamed(client, app.config["MAX_CONTENT_LENGTH"])
    assert assert_error_shape(response, 422, "validation_error")["errors"] == {
        "code": ["长度应在 1 到 128 之间"]}
