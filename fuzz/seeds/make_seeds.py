#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into seeds/<target>/ (run from fuzz/seeds).

Seeds are small valid (or nearly valid) inputs, so the fuzzer starts past the prefixes,
checksums and field names it would otherwise have to guess. Targets whose first byte picks a
mode get one seed per mode. The RFC 9901 examples come from the credential crate's copies of the
test vectors (credential/tests/vectors).
"""
import base64, glob, hashlib, json, os, urllib.parse, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def base45(data):
    out = []
    for i in range(0, len(data), 2):
        chunk = data[i:i + 2]
        if len(chunk) == 2:
            n, digits = chunk[0] * 256 + chunk[1], 3
        else:
            n, digits = chunk[0], 2
        for _ in range(digits):
            out.append(chr(ALPHABET[n % 45]))
            n //= 45
    return "".join(out)


def record(tag, data):
    n, out = len(data), bytearray([tag])
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            break
    return bytes(out) + data


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def presentations():
    roots = [os.path.join(HERE, "../../credential/tests/vectors/sd-jwt/rfc9901-examples")]
    for root in roots:
        found = sorted(glob.glob(os.path.join(root, "*/sd_jwt_presentation.*")))
        if found:
            return [(os.path.basename(os.path.dirname(p)), open(p, "rb").read().strip()) for p in found]
    return []


# The issuer key of RFC 9901's examples (public part) and its RFC 7638 thumbprint.
X, Y = "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ", "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"
JWK = {"kty": "EC", "crv": "P-256", "x": X, "y": Y}
KID = b64u(hashlib.sha256(json.dumps({"crv": "P-256", "kty": "EC", "x": X, "y": Y},
                                     separators=(",", ":")).encode()).digest())
NOW = 1_760_000_000

# parse_verify and compact_decode: the RFC presentations.
for name, text in presentations():
    write("parse_verify", name, text)
    write("compact_decode", "roundtrip_" + name, b"\x02" + text)
    packed = zlib.compress(record(0, text[:20]) + record(1, hashlib.sha256(text).digest()) + record(0, text[20:]))
    write("compact_decode", "vp1_" + name, b"\x00" + ("VP1:" + base45(packed)).encode())
write("compact_decode", "records", b"\x01" + record(0, b'{"hotel":["') + record(1, b"\x01\x02\x03\x04\x05\x06") + record(0, b'"]}'))
write("compact_decode", "vp1_short", b"\x00VP1:" + base45(zlib.compress(record(0, b"{}"))).encode())

# compact_v2_decode: the preset dictionary read from the crate (one string literal a line), so
# mode 0 seeds are real VP2: texts.
import ast
DICT_RS = os.path.join(HERE, "../../credential/src/compact/dictionary.rs")
VP2_DICT = "".join(ast.literal_eval(line.strip().rstrip(","))
                   for line in open(DICT_RS, encoding="utf-8") if line.startswith('    "')).encode()


def vp2(structure, raw=b""):
    z = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zdict=VP2_DICT)
    deflated = z.compress(structure) + z.flush()
    n, varint = len(deflated), b""
    while True:
        if n < 0x80:
            varint += bytes([n])
            break
        varint += bytes([n & 0x7F | 0x80])
        n >>= 7
    return "VP2:" + base45(b"\x01" + varint + deflated + raw)


KB = b'\x02{"typ":"kb+jwt","alg":"ES256"}\x03.\x02{"iat":1767225660,"aud":"x509_san_dns:hotel.example","nonce":"\x01\x10","sd_hash":"\x01 "}\x03.\x01@'
ANSWER = (b'{"citizen_id":["\x02{"typ":"dc+sd-jwt","kid":"\x01 ","alg":"ES256"}\x03.\x02{"iss":"https://bureau.example",'
          b'"vct":"urn:cn:citizen-id:basic:1","_sd":["\x01 ","\x01 "],"_sd_alg":"sha-256"}\x03.\x01@~'
          b'\x02["\x01\x10","id_number","110105199205179985"]\x03~' + KB + b'"]}')
ANSWER_RAW = hashlib.sha256(b"raw").digest() * 10
ANSWER_RAW = ANSWER_RAW[:32 * 3 + 64 + 16 + 16 + 32 + 64]
write("compact_v2_decode", "vp2_answer", b"\x00" + vp2(ANSWER, ANSWER_RAW).encode())
write("compact_v2_decode", "vp2_plain", b"\x00" + vp2(b'{"citizen_id":["a~b"]}').encode())
KB_RAW = ANSWER_RAW[:16 + 32 + 64]
write("compact_v2_decode", "structure", b"\x01" + bytes([len(KB_RAW)]) + b'{"citizen_id":["' + KB + b'"]}' + KB_RAW)
for name, text in presentations():
    write("compact_v2_decode", "roundtrip_" + name, b"\x02" + text)

# trust_bundle and trust_delta: payloads (mode 1, signed by the harness) and a JWS shape (mode 0).
key = {"kid": KID, "alg": "ES256", "state": "active", "not_before": NOW - 86400, "not_after": None,
       "last_credential_expiry": None, "jwk": JWK}
retired = dict(key, state="retired", not_after=NOW - 10)
bundle = {"bundle_version": 1, "iss": "https://bureau.example", "issued_at": NOW - 60, "iat": NOW - 60,
          "next_update": NOW + 3600, "keys": [key],
          "status_lists": [{"shard": 0, "uri": "https://bureau.example/status/0", "token": "eyJhbGciOiJFUzI1NiJ9.e30.AAAA"}],
          "status_seq": 7}
write("trust_bundle", "payload", b"\x01" + json.dumps(bundle).encode())
write("trust_bundle", "payload_retired", b"\x01" + json.dumps(dict(bundle, keys=[retired], status_lists=[])).encode())
write("trust_bundle", "jws", b"\x00" + (b64u(json.dumps({"alg": "EdDSA", "typ": "trust-bundle+jwt", "kid": KID}).encode())
                                         + "." + b64u(json.dumps(bundle).encode()) + "." + b64u(bytes(64))).encode())
gaps = bytes([0, 1, 5, 2, 0x81, 0x01, 1])
delta = {"delta_version": 1, "iss": "https://bureau.example", "base_status_seq": 0, "status_seq": 3,
         "issued_at": NOW - 30, "iat": NOW - 30, "next_update": NOW + 3600, "status_exp": NOW + 7200,
         "keys": [key],
         "changes": [{"shard": 1, "uri": "https://bureau.example/status/1", "size": 1024, "bits": 2,
                      "count": 3, "set": b64u(zlib.compress(gaps))}]}
write("trust_delta", "payload", b"\x01" + json.dumps(delta).encode())
write("trust_delta", "payload_nokeys", b"\x01" + json.dumps(dict(delta, keys=[])).encode())
write("trust_delta", "jws", b"\x00" + (b64u(json.dumps({"alg": "EdDSA", "typ": "trust-bundle-delta+jwt", "kid": KID}).encode())
                                        + "." + b64u(json.dumps(delta).encode()) + "." + b64u(bytes(64))).encode())

# issuer_requests: one seed per parser.
proof_header = b64u(json.dumps({"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": JWK}).encode())
proof = proof_header + "." + b64u(json.dumps({"aud": "https://bureau.example", "iat": NOW, "nonce": "n"}).encode()) + "." + b64u(bytes(64))
claims = {"family_name": "王", "given_name": "小明", "birthdate": "1990-01-01", "sex": 1, "nationality": "CN",
          "id_number": "11010519900101001X", "address": {"locality": "北京"}}
write("issuer_requests", "token_pre_auth", b"\x00" + urllib.parse.urlencode(
    {"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": "c0de.s3cret", "tx_code": "493027"}).encode())
write("issuer_requests", "token_refresh", b"\x00" + b"grant_type=refresh_token&refresh_token=abc.def")
write("issuer_requests", "credential", b"\x01" + json.dumps({"credential_configuration_id": "citizen_id_high_dc_sd_jwt", "proofs": {"jwt": [proof]}}).encode())
write("issuer_requests", "enrol_basic", b"\x02" + json.dumps({"claims": claims, "attestation": "eyJhbGciOiJFUzI1NiJ9.e30.AAAA"}).encode())
write("issuer_requests", "enrol_high", b"\x03" + json.dumps({"claims": claims}).encode())
write("issuer_requests", "admin_citizen", b"\x04revoke\n" + json.dumps({"id_number": "11010519900101001X"}).encode())
write("issuer_requests", "admin_rotate", b"\x05" + json.dumps({"alg": "EdDSA"}).encode())
write("issuer_requests", "status_action", b"\x06reinstate")

# wallet_offer: URIs and offer objects.
offer = {"credential_issuer": "https://bureau.example", "credential_configuration_ids": ["citizen_id_high_dc_sd_jwt"],
         "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {
             "pre-authorized_code": "c0de", "tx_code": {"length": 6, "input_mode": "numeric", "description": "PIN"}}}}
write("wallet_offer", "offer_json", json.dumps(offer))
write("wallet_offer", "by_value", "openid-credential-offer://?" + urllib.parse.urlencode({"credential_offer": json.dumps(offer)}))
write("wallet_offer", "by_reference", "openid-credential-offer://?" + urllib.parse.urlencode({"credential_offer_uri": "https://bureau.example/offers/0f3a"}))
write("wallet_offer", "bare", "http://127.0.0.1:8080/offers/0f3a")

# wallet_request: by value, direct_post, request_uri, a JAR, and DCQL queries.
dcql = {"credentials": [{"id": "hotel", "format": "dc+sd-jwt",
                         "meta": {"vct_values": ["urn:cn:citizen-id:basic:1", "urn:cn:citizen-id:high:1"]},
                         "claims": [{"path": ["family_name"]}, {"path": ["age_equal_or_over", "18"], "values": [True]}],
                         "claim_sets": [[]]}],
        "credential_sets": [{"options": [["hotel"]], "required": True}]}
base = {"client_id": "redirect_uri:https://bank.example/post", "nonce": "n-1", "response_type": "vp_token",
        "response_mode": "direct_post", "response_uri": "https://bank.example/post", "state": "s", "dcql_query": json.dumps(dcql)}
write("wallet_request", "direct_post", "openid4vp://?" + urllib.parse.urlencode(base))
write("wallet_request", "offline", "openid4vp://?" + urllib.parse.urlencode({"client_id": "x509_san_dns:hotel.example", "nonce": "n", "response_type": "vp_token", "dcql_query": json.dumps(dcql)}))
write("wallet_request", "request_uri", "openid4vp://?" + urllib.parse.urlencode({"client_id": "decentralized_identifier:did:jwk:e30", "request_uri": "https://hotel.example/r.jwt"}))
jar = b64u(json.dumps({"alg": "ES256", "typ": "oauth-authz-req+jwt", "kid": "did:jwk:e30#0"}).encode()) + "." + \
    b64u(json.dumps(dict(base, client_id="decentralized_identifier:did:jwk:e30", aud="https://self-issued.me/v2", exp=NOW)).encode()) + "." + b64u(bytes(64))
write("wallet_request", "jar", jar)
write("wallet_request", "by_value_jar", "openid4vp://?" + urllib.parse.urlencode({"client_id": "decentralized_identifier:did:jwk:e30", "request": jar}))
write("wallet_request", "dcql", json.dumps(dcql))
