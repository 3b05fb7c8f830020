//! The OpenID4VCI 1.0 (and RFC 8414) examples in `tests/vectors/oid4vci`, read as data: each
//! parses into its `credential::oid4vci` type, and writing it back gives the example again,
//! less only the members the type does not model (listed per example in `manifest.json`).
//! Secrets read from an example come back unchanged and never show in `Debug`.

use std::fs;
use std::path::{Path, PathBuf};

use credential::oid4vci::{
    AuthorizationServerMetadata, ClaimPathElement, ConfigurationMap, CredentialIssuerMetadata,
    CredentialOffer, CredentialRequest, CredentialResponse, ErrorResponse, NonceResponse,
    SigningAlg, TokenResponse, PRE_AUTH_GRANT,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/oid4vci")
}

fn json(name: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(root().join(name)).unwrap()).unwrap()
}

/// Reads `value` as `T` and writes it back.
fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(&typed).unwrap())
}

fn round_trip_as(message: &str, value: &Value) -> Result<Value, String> {
    match message {
        "CredentialOffer" => round_trip::<CredentialOffer>(value),
        "CredentialIssuerMetadata" => round_trip::<CredentialIssuerMetadata>(value),
        "ConfigurationMap" => round_trip::<ConfigurationMap>(value),
        "AuthorizationServerMetadata" => round_trip::<AuthorizationServerMetadata>(value),
        "TokenResponse" => round_trip::<TokenResponse>(value),
        "NonceResponse" => round_trip::<NonceResponse>(value),
        "CredentialRequest" => round_trip::<CredentialRequest>(value),
        "CredentialResponse" => round_trip::<CredentialResponse>(value),
        "ErrorResponse" => round_trip::<ErrorResponse>(value),
        other => panic!("manifest names an unknown message type {other}"),
    }
}

/// Removes the member a JSON pointer names (`/a/b`).
fn remove(value: &mut Value, pointer: &str) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let parent = if parent.is_empty() {
        Some(&mut *value)
    } else {
        value.pointer_mut(parent)
    };
    let removed = parent
        .and_then(Value::as_object_mut)
        .and_then(|o| o.remove(last));
    assert!(removed.is_some(), "{pointer} is not in the example");
}

#[test]
fn every_specification_example_reads_and_writes_back_as_printed() {
    let manifest = json("manifest.json");
    let vectors = manifest["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 17, "expected every listed example");
    for v in vectors {
        let file = v["file"].as_str().unwrap();
        let message = v["message"].as_str().unwrap();
        let whole = json(file);
        let example = match v["pointer"].as_str() {
            Some(p) => whole.pointer(p).unwrap().clone(),
            None => whole,
        };
        let result = round_trip_as(message, &example);
        if let Some(reason) = v["refused"].as_str() {
            let err = result.expect_err(file);
            assert!(err.contains(reason), "{file}: {err}");
            continue;
        }
        let written = result.unwrap_or_else(|e| panic!("{file} as {message}: {e}"));
        let mut expected = example.clone();
        for pointer in v["not_modelled"].as_array().unwrap() {
            remove(&mut expected, pointer.as_str().unwrap());
        }
        assert_eq!(written, expected, "{file} ({})", v["source"]);
        // What is written reads back to the same.
        assert_eq!(round_trip_as(message, &written).unwrap(), written, "{file}");
    }
}

/// The two offers passed by value in section 4.1.2, percent-decoded from the printed URIs.
#[test]
fn the_offers_passed_by_value_read_from_their_uris() {
    let text = fs::read_to_string(root().join("offer_by_value.txt")).unwrap();
    let offers: Vec<CredentialOffer> = text
        .lines()
        .map(|line| {
            let (_, encoded) = line.split_once("credential_offer=").unwrap();
            let decoded = percent_decode(encoded);
            let value: Value = serde_json::from_str(&decoded).unwrap();
            assert_eq!(round_trip::<CredentialOffer>(&value).unwrap(), value);
            serde_json::from_value(value).unwrap()
        })
        .collect();
    assert_eq!(offers.len(), 2);
    for offer in &offers {
        let grant = offer.pre_authorized().unwrap();
        assert_eq!(grant.pre_authorized_code.expose(), "oaKazRN8I0IbtZ0C7JuMn5");
        assert!(
            grant.tx_code.is_some(),
            "a tx_code object, even empty, asks for one"
        );
        assert!(!format!("{offer:?}").contains("oaKazRN8I0IbtZ0C7JuMn5"));
    }
    let tx = offers[1]
        .pre_authorized()
        .unwrap()
        .tx_code
        .as_ref()
        .unwrap();
    assert_eq!(tx.input_mode.as_deref(), Some("text"));
    assert_eq!(tx.length, None);
    assert_eq!(
        tx.description.as_deref(),
        Some("Please enter the serial number of your physical drivers license")
    );
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn the_examples_fields_land_in_the_typed_members() {
    let offer: CredentialOffer =
        serde_json::from_value(json("offer_multiple_credentials.json")).unwrap();
    assert_eq!(
        offer.credential_issuer,
        "https://credential-issuer.example.com"
    );
    assert_eq!(offer.credential_configuration_ids.len(), 2);
    let tx = offer.pre_authorized().unwrap().tx_code.clone().unwrap();
    assert_eq!(
        (tx.length, tx.input_mode.as_deref()),
        (Some(4), Some("numeric"))
    );

    let authz: CredentialOffer =
        serde_json::from_value(json("offer_authorization_code.json")).unwrap();
    assert!(authz.pre_authorized().is_none());
    let grants = authz.grants.unwrap();
    assert_eq!(
        grants.authorization_code.unwrap().issuer_state.as_deref(),
        Some("eyJhbGciOiJSU0Et...FYUaBy")
    );

    let meta: CredentialIssuerMetadata =
        serde_json::from_value(json("issuer_metadata_sd_jwt.json")).unwrap();
    assert_eq!(
        meta.nonce_endpoint.as_deref(),
        Some("https://credential-issuer.example.com/nonce")
    );
    assert_eq!(meta.batch_credential_issuance.unwrap().batch_size, 10);
    let config = meta
        .credential_configurations_supported
        .get("SD_JWT_VC_example_in_OpenID4VCI")
        .unwrap();
    assert_eq!(config.format, "dc+sd-jwt");
    assert_eq!(
        config.vct.as_deref(),
        Some("SD_JWT_VC_example_in_OpenID4VCI")
    );
    let jwt = &config.proof_types_supported.as_ref().unwrap()["jwt"];
    assert_eq!(
        jwt.proof_signing_alg_values_supported,
        [SigningAlg::Name("ES256".into())]
    );
    let claims = config
        .credential_metadata
        .as_ref()
        .unwrap()
        .claims
        .as_ref()
        .unwrap();
    assert_eq!(
        claims[5].path,
        [
            ClaimPathElement::Name("address".into()),
            ClaimPathElement::Name("street_address".into())
        ]
    );

    let token: TokenResponse = serde_json::from_value(json("token_response.json")).unwrap();
    assert_eq!(
        token.access_token.expose(),
        "eyJhbGciOiJSUzI1NiIsInR5cCI6Ikp..sHQ"
    );
    assert_eq!(
        (token.token_type.as_str(), token.expires_in),
        ("Bearer", Some(86400))
    );
    assert!(token.refresh_token.is_none());
    assert!(!format!("{token:?}").contains("sHQ"));

    let request: CredentialRequest =
        serde_json::from_value(json("credential_request_identifier.json")).unwrap();
    assert_eq!(
        request.credential_identifier.as_deref(),
        Some("CivilEngineeringDegree-2023")
    );
    assert_eq!(request.proofs.unwrap().jwt.len(), 2);

    let deferred: CredentialResponse =
        serde_json::from_value(json("credential_response_deferred.json")).unwrap();
    assert_eq!(
        (deferred.transaction_id.as_deref(), deferred.interval),
        (Some("8xLOxBtZp8"), Some(3600))
    );
    let issued: CredentialResponse =
        serde_json::from_value(json("credential_response_sd_jwt_vc.json")).unwrap();
    let sd_jwt = issued.credentials.unwrap()[0].as_str().unwrap().to_owned();
    assert!(
        credential::sd_jwt::SdJwt::parse(&sd_jwt, &credential::sd_jwt::Limits::default()).is_ok()
    );

    let grant_types: AuthorizationServerMetadata =
        serde_json::from_value(json("as_metadata_rfc8414.json")).unwrap();
    assert_eq!(
        grant_types.token_endpoint,
        "https://server.example.com/token"
    );
    assert!(grant_types.grant_types_supported.is_none());
    assert_ne!(PRE_AUTH_GRANT, "");
}
