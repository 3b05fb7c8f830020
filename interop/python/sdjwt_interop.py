#!/usr/bin/env python3
"""Interop harness around the OpenWallet Foundation Python SD-JWT reference (sd-jwt 0.10.4).

  issue  --alg ES256|EdDSA --out DIR --nonce N --aud A
      Generates an issuer and a holder key, issues an SD-JWT (cnf = holder key; disclosable
      top-level, nested and array-element claims, decoys on), presents a subset with a KB-JWT
      for N/A, and writes DIR/presentation.txt, DIR/issuer.jwk.json (public) and
      DIR/claims.json (the claims this library's own verifier extracts from the presentation).

  verify --issuer-jwk FILE --nonce N --aud A [--presentation FILE|-]
      Verifies a presentation with this library's verifier (issuer signature, KB-JWT signature
      by cnf.jwk, typ kb+jwt, nonce, aud, sd_hash) and prints the processed claims as JSON.
      Exit 0 accepted, 1 rejected (reason on stderr), 2 usage.

Only the library's public classes are used (SDJWTIssuer, SDJWTHolder, SDJWTVerifier); the one
adaptation is documented in interop/README.md (the verifier checks the KB-JWT as ES256 only).
"""

import argparse
import json
import sys
import time
from pathlib import Path

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

KEY_TYPES = {"ES256": {"kty": "EC", "crv": "P-256"}, "EdDSA": {"kty": "OKP", "crv": "Ed25519"}}
ISSUER = "https://issuer.python.example"


def user_claims(now):
    """Claims in the library's notation: SDObj marks a claim (or array element) disclosable."""
    return {
        "iss": ISSUER,
        "vct": "https://credentials.example/interop",
        "iat": now,
        "exp": now + 3600,
        SDObj("given_name"): "Erika",
        SDObj("family_name"): "Mustermann",
        SDObj("birthdate"): "1963-08-12",
        SDObj("address"): {
            SDObj("street_address"): "Heidestraße 17",
            SDObj("locality"): "Köln",
            "country": "DE",
        },
        "nationalities": [SDObj("DE"), SDObj("FR"), "US"],
        SDObj("age_equal_or_over"): {SDObj("18"): True, SDObj("21"): True},
    }


# What the holder discloses: given_name, address with locality (not street_address), the
# first nationality, and age_equal_or_over.18.
DISCLOSE = {
    "given_name": True,
    "address": {"locality": True},
    "nationalities": [True, False],
    "age_equal_or_over": {"18": True},
}


def issue(args):
    key_type = KEY_TYPES[args.alg]
    issuer_key = JWK.generate(**key_type)
    holder_key = JWK.generate(**key_type)
    now = int(time.time())
    issuer = SDJWTIssuer(
        user_claims(now),
        issuer_key,
        holder_key,
        sign_alg=args.alg,
        add_decoy_claims=True,
        extra_header_parameters={"typ": "dc+sd-jwt", "kid": issuer_key.thumbprint()},
    )
    holder = SDJWTHolder(issuer.sd_jwt_issuance)
    holder.create_presentation(DISCLOSE, args.nonce, args.aud, holder_key, args.alg)
    presentation = holder.sd_jwt_presentation

    # This library's own view of what it presented. Its verifier checks a KB-JWT only as ES256,
    # so for EdDSA the KB-JWT is left to the other verifier (README: incompatibilities).
    if args.alg == "ES256":
        verifier = SDJWTVerifier(presentation, lambda iss, header: issuer_key, args.aud, args.nonce)
    else:
        verifier = SDJWTVerifier(presentation, lambda iss, header: issuer_key)
    claims = verifier.get_verified_payload()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "presentation.txt").write_text(presentation)
    public = issuer_key.export_public(as_dict=True)
    public["kid"] = issuer_key.thumbprint()
    (out / "issuer.jwk.json").write_text(json.dumps(public))
    (out / "claims.json").write_text(json.dumps(claims, ensure_ascii=False, sort_keys=True))
    return 0


def verify(args):
    issuer_key = JWK.from_json(Path(args.issuer_jwk).read_text())
    if args.presentation in (None, "-"):
        presentation = sys.stdin.read()
    else:
        presentation = Path(args.presentation).read_text()
    presentation = presentation.strip()
    try:
        verifier = SDJWTVerifier(
            presentation,
            lambda iss, header: issuer_key,
            expected_aud=args.aud,
            expected_nonce=args.nonce,
        )
        claims = verifier.get_verified_payload()
    except Exception as e:  # the library raises ValueError, KeyError, jwcrypto errors, ...
        print(f"rejected: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(claims, ensure_ascii=False, sort_keys=True))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("issue")
    p.add_argument("--alg", choices=sorted(KEY_TYPES), required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--nonce", required=True)
    p.add_argument("--aud", required=True)
    p.set_defaults(run=issue)
    p = sub.add_parser("verify")
    p.add_argument("--issuer-jwk", required=True)
    p.add_argument("--nonce", required=True)
    p.add_argument("--aud", required=True)
    p.add_argument("--presentation")
    p.set_defaults(run=verify)
    args = parser.parse_args()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
