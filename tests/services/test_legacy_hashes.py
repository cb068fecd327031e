"""Old systems' password hashes: each scheme checked against its reference implementation
and against vectors published by others, and every wrong password refused."""
import hashlib
import time

import argon2
import bcrypt
import pytest
from passlib import hash as passlib_hash

from idp.services import legacy_hashes

TABLE = "t\u00e1\u0411\u2113\u0259"  # passlib's test password: forces UTF-8 handling

# (scheme, password, hash, where it was published). None of these was made by us.
PUBLISHED = [
    ("bcrypt", "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
     "Openwall crypt_blowfish 1.2 test vectors"),
    ("bcrypt", TABLE, "$2b$05$Z17AXnnlpzddNUvnC6cZNOSwMA/8oNiKnHTHTwLlBijfucQQlHjaG", "passlib test suite"),
    ("argon2", "password", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
     "phc-winner-argon2 src/test.c"),
    ("argon2", "password", "$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8",
     "phc-winner-argon2 src/test.c"),
    ("django_pbkdf2_sha256", "not a password",
     "pbkdf2_sha256$10000$kjVJaVz6qsnJ$5yPHw3rwJGECpUf70daLGhOrQ5+AMxIJdz1c3bqK1Rs=",
     "passlib test suite, made with Django 1.4"),
    ("pbkdf2_sha1", "not a password", "pbkdf2_sha1$10000$wz5B6WkasRoF$atJmJ1o+XfJxKq1+Nu1f1i57Z5I=",
     "passlib test suite, made with Django 1.4"),
    ("md5_crypt", "U*U*U*U*", "$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR1", "John the Ripper 1.7.9 test vectors"),
    ("sha256_crypt", "Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
     "Drepper, Unix crypt using SHA-256 and SHA-512"),
    ("sha256_crypt", "Hello world!",
     "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
     "Drepper, Unix crypt using SHA-256 and SHA-512"),
    ("sha512_crypt", "Hello world!",
     "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
     "Drepper, Unix crypt using SHA-256 and SHA-512"),
    ("phpass", "test12345", "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", "phpass 0.3 source (Openwall)"),
    ("phpass", "test1", "$H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ00", "John the Ripper 1.7.9 test vectors"),
    ("salted_sha1", "lètmein", "sha1$seasalt$cff36ea83f5706ce9aa7454e63e431fc726b2dc8",
     "Django's SHA1PasswordHasher tests"),
    ("salted_sha1", "password", "sha1$123abcdef$e4a1877b0e35c47329e7ed7e58014276168a37ba", "passlib test suite"),
]
# No published vector is known to us for `sha256$SALT$HEX`; it is checked against hashlib below.


def _salted(algorithm, salt, password):
    return f"{algorithm}${salt}${hashlib.new(algorithm, (salt + password).encode()).hexdigest()}"


# Hashes made now by each scheme's reference implementation, with cheap costs.
MAKERS = {
    "bcrypt": lambda p: bcrypt.hashpw(p.encode(), bcrypt.gensalt(4)).decode(),
    "argon2": lambda p: argon2.PasswordHasher(time_cost=1, memory_cost=256, parallelism=1).hash(p),
    "django_pbkdf2_sha256": lambda p: passlib_hash.django_pbkdf2_sha256.using(rounds=1000).hash(p),
    "pbkdf2_sha1": lambda p: passlib_hash.django_pbkdf2_sha1.using(rounds=1000).hash(p),
    "md5_crypt": lambda p: passlib_hash.md5_crypt.hash(p),
    "sha256_crypt": lambda p: passlib_hash.sha256_crypt.using(rounds=1000).hash(p),
    "sha512_crypt": lambda p: passlib_hash.sha512_crypt.using(rounds=1000).hash(p),
    "phpass": lambda p: passlib_hash.phpass.hash(p),
    "salted_sha1": lambda p: passlib_hash.django_salted_sha1.hash(p),
    "salted_sha256": lambda p: _salted("sha256", "Ahti3Pq9", p),
}


def test_every_scheme_has_a_reference_maker():
    assert set(MAKERS) == set(legacy_hashes.SCHEMES)
    assert {scheme for scheme, *_ in PUBLISHED} == set(legacy_hashes.SCHEMES) - {"salted_sha256"}


@pytest.mark.parametrize("scheme, password, hashed, source", PUBLISHED, ids=[f"{p[0]}-{p[2][:12]}" for p in PUBLISHED])
def test_published_vectors_verify_and_wrong_passwords_do_not(scheme, password, hashed, source):
    assert legacy_hashes.detect_scheme(hashed) == scheme
    assert legacy_hashes.verify(scheme, hashed, password) is True
    assert legacy_hashes.verify(scheme, hashed, "x" + password) is False
    assert legacy_hashes.verify(scheme, hashed, password.upper() + "!") is False


@pytest.mark.parametrize("scheme", sorted(MAKERS))
@pytest.mark.parametrize("password", ["Kesäloma2019", TABLE, "correct horse battery staple"])
def test_hashes_made_by_the_reference_implementation_verify(scheme, password):
    hashed = MAKERS[scheme](password)
    assert legacy_hashes.detect_scheme(hashed) == scheme
    assert legacy_hashes.verify(scheme, hashed, password) is True
    assert legacy_hashes.verify(scheme, hashed, password + " ") is False
    assert legacy_hashes.verify(scheme, hashed, "") is False


def test_php_2y_bcrypt_verifies():
    # PHP writes $2y$ for the same algorithm as $2b$.
    hashed = bcrypt.hashpw(b"Saunailta!7", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)
    assert legacy_hashes.detect_scheme(hashed) == "bcrypt"
    assert legacy_hashes.verify("bcrypt", hashed, "Saunailta!7")
    assert not legacy_hashes.verify("bcrypt", hashed, "Saunailta!8")


def test_bcrypt_reads_72_bytes_as_the_old_systems_did():
    long_password = "pitkä-" * 20
    hashed = bcrypt.hashpw(long_password.encode()[:72], bcrypt.gensalt(4)).decode()
    assert legacy_hashes.verify("bcrypt", hashed, long_password)


def test_salted_sha256_matches_hashlib():
    hashed = _salted("sha256", "s4lt", "Taivaanranta9")
    expected = hashlib.sha256(b"s4ltTaivaanranta9").hexdigest()
    assert hashed == f"sha256$s4lt${expected}"
    assert legacy_hashes.verify("salted_sha256", hashed, "Taivaanranta9")
    assert legacy_hashes.verify("salted_sha256", hashed.upper().replace("SHA256$S4LT$", "sha256$s4lt$"),
                                "Taivaanranta9"), "upper-case hex digests are accepted"
    assert not legacy_hashes.verify("salted_sha256", hashed, "taivaanranta9")


def test_a_hash_is_only_checked_as_its_own_scheme():
    md5 = MAKERS["md5_crypt"]("Karhu1234")
    assert legacy_hashes.verify("sha512_crypt", md5, "Karhu1234") is False
    assert legacy_hashes.verify("no_such_scheme", md5, "Karhu1234") is False
    assert legacy_hashes.verify("md5_crypt", None, "Karhu1234") is False


@pytest.mark.parametrize("hashed", ["", "plaintext", "$1$short$abc", "$2b$10$tooshort", "sha1$salt$nothex",
                                    "$argon2id$v=19$m=256$bad", "pbkdf2_sha256$$salt$abc="])
def test_malformed_hashes_are_not_recognised_and_never_verify(hashed):
    assert legacy_hashes.detect_scheme(hashed) is None
    for scheme in legacy_hashes.SCHEMES:
        assert legacy_hashes.verify(scheme, hashed, "anything") is False


def test_scheme_names_the_old_systems_use_are_understood():
    assert legacy_hashes.scheme_name("pbkdf2_sha256") == "django_pbkdf2_sha256"
    assert legacy_hashes.scheme_name("SHA512-crypt") == "sha512_crypt"
    assert legacy_hashes.scheme_name("argon2id") == "argon2"
    assert legacy_hashes.scheme_name("sha1") == "salted_sha1"
    assert legacy_hashes.scheme_name("rot13") is None


def test_dummy_verify_costs_about_as_much_as_a_real_check():
    real = bcrypt.hashpw(b"x", bcrypt.gensalt(10))

    def fastest(check):
        times = []
        for _ in range(3):
            started = time.perf_counter()
            check()
            times.append(time.perf_counter() - started)
        return min(times)

    real_cost = fastest(lambda: bcrypt.checkpw(b"Kesaloma2019", real))
    dummy_cost = fastest(lambda: legacy_hashes.dummy_verify("Kesaloma2019"))
    assert dummy_cost > real_cost / 3
