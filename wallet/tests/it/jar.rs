//! Signed request objects (JAR, `typ: oauth-authz-req+jwt`) and client id prefixes: the
//! verifier library signs, the wallet verifies offline and shows who asks.

use credential::jose::{sign_compact, Alg, SigningKey};
use rand_core::SeedableRng;
use serde_json::{json, Map, Value};
use verifier::request::{
    did_jwk_client_id, redirect_uri_client_id, PresentationRequest, ResponseMode as RpMode,
};
use wallet::present::RequestRef;
use wallet::{AuthorizationRequest, ClientIdentity, PresentationError};

fn key(seed: u64) -> SigningKey {
    SigningKey::generate(
        Alg::Es256,
        &mut rand_chacha::ChaCha20Rng::seed_from_u64(seed),
    )
}

fn rp(client_id: &str, mode: RpMode) -> PresentationRequest {
    PresentationRequest {
        client_id: client_id.into(),
        nonce: "n-jar-1".into(),
        dcql_query: json!({"credentials": [{"id": "hotel", "format": "dc+sd-jwt",
            "claims": [{"path": ["family_name"]}]}]}),
        response_mode: mode,
        state: None,
    }
}

fn parse(uri: &str) -> Result<AuthorizationRequest, PresentationError> {
    match AuthorizationRequest::parse_uri(uri)? {
        RequestRef::ByValue(r) => Ok(*r),
        RequestRef::ByReference { .. } => panic!("by value expected"),
    }
}

/// A request object signed by `signer` with these header and claims, beside `outer`.
fn forged(signer: &SigningKey, header: Value, claims: Value, outer: &str) -> String {
    let header: Map<String, Value> = header.as_object().unwrap().clone();
    let jwt = sign_compact(header, claims.to_string().as_bytes(), signer);
    format!(
        "openid4vp://?{}",
        serde_urlencoded::to_string([("client_id", outer), ("request", jwt.as_str())]).unwrap()
    )
}

fn claims(client_id: &str) -> Value {
    json!({"client_id": client_id, "response_type": "vp_token", "nonce": "n",
           "dcql_query": {"credentials": [{"id": "a", "format": "dc+sd-jwt"}]},
           "aud": "https://self-issued.me/v2"})
}

fn rejected(uri: &str) -> &'static str {
    match parse(uri) {
        Err(PresentationError::InvalidRequestObject { reason }) => reason,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_did_jwk_signed_request_verifies_offline_and_names_its_key() {
    let k = key(1);
    let client_id = did_jwk_client_id(k.public_jwk());
    assert!(client_id.starts_with("decentralized_identifier:did:jwk:"));
    let uri = rp(&client_id, RpMode::Shown).to_signed_uri(&k, 1_760_000_000, 600);
    let request = parse(&uri).unwrap();
    assert_eq!(request.client_id, client_id);
    assert_eq!(request.nonce, "n-jar-1");
    assert_eq!(
        request.client_identity,
        ClientIdentity::Did {
            did: client_id
                .strip_prefix("decentralized_identifier:")
                .unwrap()
                .to_owned(),
            key_thumbprint: k.public_jwk().thumbprint().to_owned(),
        }
    );
    assert_eq!(request.dcql_query.credentials[0].id, "hotel");
    // Direct post works signed too.
    let uri = rp(
        &client_id,
        RpMode::DirectPost {
            response_uri: "https://hotel.example/vp".into(),
        },
    )
    .to_signed_uri(&k, 1_760_000_000, 600);
    assert!(matches!(
        parse(&uri).unwrap().response_mode,
        wallet::ResponseMode::DirectPost { .. }
    ));
}

#[test]
fn every_request_object_check_has_its_rejection() {
    let k = key(2);
    let cid = did_jwk_client_id(k.public_jwk());
    let did = cid
        .strip_prefix("decentralized_identifier:")
        .unwrap()
        .to_owned();
    let good_header = json!({"typ": "oauth-authz-req+jwt", "kid": format!("{did}#0")});
    // Sanity: the forging helper makes an acceptable one.
    parse(&forged(&k, good_header.clone(), claims(&cid), &cid)).unwrap();

    // Signed by another key than the DID's.
    assert_eq!(
        rejected(&forged(&key(3), good_header.clone(), claims(&cid), &cid)),
        "signature does not verify"
    );
    // Tampered after signing.
    let uri = rp(&cid, RpMode::Shown).to_signed_uri(&k, 1_760_000_000, 600);
    let tampered = uri.replacen("request=eyJ", "request=eyK", 1);
    assert!(matches!(
        parse(&tampered),
        Err(PresentationError::InvalidRequestObject { .. })
    ));
    assert_eq!(
        rejected(&forged(&k, json!({"typ": "JWT"}), claims(&cid), &cid)),
        "typ must be oauth-authz-req+jwt"
    );
    assert_eq!(
        rejected(&forged(&k, json!({}), claims(&cid), &cid)),
        "typ must be oauth-authz-req+jwt"
    );
    assert_eq!(
        rejected(&forged(&k, good_header.clone(), claims(&cid), "other")),
        "client_id differs from the one beside the request"
    );
    let jwt = sign_compact(
        good_header.as_object().unwrap().clone(),
        claims(&cid).to_string().as_bytes(),
        &k,
    );
    let no_outer = format!(
        "openid4vp://?{}",
        serde_urlencoded::to_string([("request", jwt.as_str())]).unwrap()
    );
    assert_eq!(
        rejected(&no_outer),
        "client_id must be given beside the request"
    );
    assert_eq!(
        rejected(&forged(
            &k,
            json!({"typ": "oauth-authz-req+jwt", "kid": "did:jwk:other#0"}),
            claims(&cid),
            &cid
        )),
        "kid is not the did:jwk verification method"
    );
    let mut wrong_aud = claims(&cid);
    wrong_aud["aud"] = json!("https://someone.else");
    assert_eq!(
        rejected(&forged(&k, good_header.clone(), wrong_aud, &cid)),
        "aud is not https://self-issued.me/v2"
    );
    // A DID holding a private key is not used.
    let private: Value = serde_json::from_str(&k.to_private_jwk()).unwrap();
    let leaky = format!(
        "decentralized_identifier:did:jwk:{}",
        credential::b64::encode(private.to_string())
    );
    assert_eq!(
        rejected(&forged(
            &k,
            json!({"typ": "oauth-authz-req+jwt"}),
            claims(&leaky),
            &leaky
        )),
        "did:jwk does not hold a public key"
    );
    // alg none does not parse as a JWS.
    let none_header = credential::b64::encode(r#"{"alg":"none","typ":"oauth-authz-req+jwt"}"#);
    let none_payload = credential::b64::encode(claims(&cid).to_string());
    let none = format!(
        "openid4vp://?{}",
        serde_urlencoded::to_string([
            ("client_id", cid.as_str()),
            ("request", &format!("{none_header}.{none_payload}.")),
        ])
        .unwrap()
    );
    assert_eq!(rejected(&none), "not a JWS with an allowed alg");
    // redirect_uri client ids may not sign.
    let ru = "redirect_uri:https://hotel.example/vp";
    assert_eq!(
        rejected(&forged(
            &k,
            json!({"typ": "oauth-authz-req+jwt"}),
            claims(ru),
            ru
        )),
        "a redirect_uri client id cannot sign"
    );
}

#[test]
fn prefixes_this_wallet_cannot_authenticate_are_named() {
    let k = key(4);
    for (client_id, prefix) in [
        (
            "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk",
            "x509_hash",
        ),
        ("x509_san_dns:hotel.example", "x509_san_dns"),
        (
            "decentralized_identifier:did:web:hotel.example",
            "decentralized_identifier:did:web",
        ),
        (
            "openid_federation:https://hotel.example",
            "openid_federation",
        ),
        ("https://hotel.example", "pre-registered"),
    ] {
        let uri = forged(
            &k,
            json!({"typ": "oauth-authz-req+jwt"}),
            claims(client_id),
            client_id,
        );
        assert_eq!(
            parse(&uri).unwrap_err(),
            PresentationError::UnsupportedClientIdPrefix {
                prefix: prefix.into()
            },
            "{client_id}"
        );
    }
}

#[test]
fn unsigned_requests_say_what_was_not_verified() {
    let plain = parse(&rp("https://hotel.example", RpMode::Shown).to_uri()).unwrap();
    assert_eq!(plain.client_identity, ClientIdentity::Unverified);
    let response_uri = "https://hotel.example/vp";
    let cid = redirect_uri_client_id(response_uri);
    let ok = parse(
        &rp(
            &cid,
            RpMode::DirectPost {
                response_uri: response_uri.into(),
            },
        )
        .to_uri(),
    )
    .unwrap();
    assert_eq!(
        ok.client_identity,
        ClientIdentity::RedirectUri {
            uri: response_uri.into()
        }
    );
    // The redirect_uri client id must be the response URI, and needs one.
    for mode in [
        RpMode::DirectPost {
            response_uri: "https://elsewhere.example/vp".into(),
        },
        RpMode::Shown,
    ] {
        assert!(matches!(
            parse(&rp(&cid, mode).to_uri()),
            Err(PresentationError::InvalidRequest { .. })
        ));
    }
}

#[tokio::test]
async fn a_signed_request_object_by_reference() {
    let k = key(5);
    let client_id = did_jwk_client_id(k.public_jwk());
    let uri = rp(&client_id, RpMode::Shown).to_signed_uri(&k, 1_760_000_000, 600);
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.split_once('?').unwrap().1).unwrap();
    let jwt = pairs[1].1.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/request.jwt",
        axum::routing::get(move || {
            let jwt = jwt.clone();
            async move { ([("content-type", "application/oauth-authz-req+jwt")], jwt) }
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let by_ref = |cid: &str| {
        format!(
            "openid4vp://?{}",
            serde_urlencoded::to_string([
                ("client_id", cid.to_owned()),
                ("request_uri", format!("{base}/request.jwt")),
            ])
            .unwrap()
        )
    };
    let request = wallet::resolve_request(&http, &by_ref(&client_id))
        .await
        .unwrap();
    assert!(matches!(
        request.client_identity,
        ClientIdentity::Did { .. }
    ));
    assert_eq!(request.nonce, "n-jar-1");
    // The client_id beside request_uri must be the object's.
    assert!(matches!(
        wallet::resolve_request(&http, &by_ref("https://hotel.example")).await,
        Err(PresentationError::InvalidRequestObject { .. })
    ));
    server.abort();
}

#[test]
fn a_signed_request_carries_its_expiry_and_a_malformed_exp_is_refused() {
    let k = key(9);
    let cid = did_jwk_client_id(k.public_jwk());
    let uri = rp(&cid, RpMode::Shown).to_signed_uri(&k, 1_760_000_000, 600);
    assert_eq!(parse(&uri).unwrap().expires_at, Some(1_760_000_600));
    let mut c = claims(&cid);
    c["exp"] = json!("tomorrow");
    let uri = forged(
        &k,
        json!({"alg": "ES256", "typ": "oauth-authz-req+jwt"}),
        c,
        &cid,
    );
    assert_eq!(rejected(&uri), "exp is not a number of seconds");
    // An unsigned request has no expiry of its own.
    let plain = parse(&rp("https://hotel.example", RpMode::Shown).to_uri()).unwrap();
    assert_eq!(plain.expires_at, None);
}
