"""Discovery and JWKS answered from cached bytes: revalidation, HEAD, rotation."""
import pytest

DOCUMENTS = ["/.well-known/openid-configuration", "/jwks"]


@pytest.mark.parametrize("path", DOCUMENTS)
def test_document_can_be_revalidated_with_its_etag(rp, path):
    first = rp.http.get(path)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and first.headers["Cache-Control"] == "public, max-age=300"
    again = rp.http.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "public, max-age=300"
    other = rp.http.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.get_json() == first.get_json()


@pytest.mark.parametrize("path", DOCUMENTS)
def test_head_gives_the_headers_without_the_document(rp, path):
    full = rp.http.get(path)
    head = rp.http.head(path)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == full.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(full.data))


@pytest.mark.parametrize("path", DOCUMENTS)
def test_each_answer_carries_its_own_request_id(rp, path):
    asked = [rp.http.get(path, headers={"X-Request-ID": f"lb-{n:05d}"}).headers["X-Request-ID"] for n in range(3)]
    assert asked == ["lb-00000", "lb-00001", "lb-00002"]  # the first rendered by Flask, the others from bytes
    fresh = {rp.http.get(path).headers["X-Request-ID"] for _ in range(2)}
    assert len(fresh) == 2 and not fresh & set(asked)


def test_each_answer_has_its_own_csp_nonce(rp):
    policies = {rp.http.get("/jwks").headers["Content-Security-Policy"] for _ in range(3)}
    assert len(policies) == 3


def test_rotation_changes_the_served_jwks_and_its_etag(rp, runner):
    before = rp.http.get("/jwks")
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    after = rp.http.get("/jwks", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert len(after.get_json()["keys"]) == len(before.get_json()["keys"]) + 2


def test_other_methods_still_reach_the_application(rp):
    assert rp.http.post("/jwks").status_code == 405
