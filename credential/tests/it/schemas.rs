//! The JSON Schemas and SD-JWT VC type metadata in `schemas/` against processed payloads built
//! from the sample claim files, the layout of `docs/credential-format.md` and the Rust claim
//! constants.

use std::collections::BTreeSet;
use std::path::PathBuf;

use base64::Engine as _;
use credential::citizen::{
    Level, ADDRESS_MEMBERS, AGE_THRESHOLDS, BASIC_CLAIMS, HIGH_ONLY_CLAIMS, ID_CARD_MEMBERS,
    VCDM_V2_CONTEXT, VCT_BASIC, VCT_HIGH, VC_TYPE,
};
use credential::jose::{Alg, SigningKey};
use rand_chacha::rand_core::SeedableRng;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use time::macros::date;

use crate::support::sample_claims;

const ISSUER: &str = "https://citizen-id.example";
const IAT: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const EXP: i64 = 1_924_992_000; // 2031-01-01T00:00:00Z

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn load(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Schema {
    name: &'static str,
    validator: jsonschema::Validator,
}

impl Schema {
    fn new(name: &'static str) -> Schema {
        let schema = load(&format!("schemas/{name}"));
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        Schema { name, validator }
    }

    fn accepts(&self, payload: &Value) {
        let errors: Vec<String> = self
            .validator
            .iter_errors(payload)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{} rejected: {errors:#?}", self.name);
    }

    fn rejects(&self, payload: &Value, why: &str) {
        assert!(
            !self.validator.is_valid(payload),
            "{} accepted a payload with {why}",
            self.name
        );
    }
}

fn basic_schema() -> Schema {
    Schema::new("citizen-id-basic.schema.json")
}
fn high_schema() -> Schema {
    Schema::new("citizen-id-high.schema.json")
}
fn vc_schema() -> Schema {
    Schema::new("vcdm-citizen-id.schema.json")
}

fn holder_jwk(alg: Alg) -> Value {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    SigningKey::generate(alg, &mut rng)
        .public_jwk()
        .to_bare_value()
}

/// The processed `dc+sd-jwt` payload with every disclosure presented.
fn dc_payload(level: Level) -> Value {
    let mut payload = Map::new();
    payload.insert("iss".into(), json!(ISSUER));
    payload.insert("iat".into(), json!(IAT));
    payload.insert("exp".into(), json!(EXP));
    payload.insert("vct".into(), json!(level.vct()));
    payload.insert("cnf".into(), json!({ "jwk": holder_jwk(Alg::Es256) }));
    payload.insert(
        "status".into(),
        json!({"status_list": {"idx": 412_771, "uri": "https://citizen-id.example/status/3"}}),
    );
    payload.extend(sample_claims(level).disclosable_claims(date!(2026 - 01 - 01)));
    Value::Object(payload)
}

/// The processed `vc+sd-jwt` payload with every disclosure presented.
fn vc_payload(level: Level) -> Value {
    let method = match level {
        Level::Basic => "remote_face_match",
        _ => "in_person_card_read",
    };
    json!({
        "@context": [VCDM_V2_CONTEXT],
        "type": ["VerifiableCredential", VC_TYPE, level.vct()],
        "issuer": ISSUER,
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2031-01-01T00:00:00Z",
        "credentialSubject": sample_claims(level).disclosable_claims(date!(2026 - 01 - 01)),
        "credentialStatus": [
            {
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "412771",
                "statusListCredential": "https://citizen-id.example/status/3/revocation"
            },
            {
                "type": "BitstringStatusListEntry",
                "statusPurpose": "suspension",
                "statusListIndex": "412771",
                "statusListCredential": "https://citizen-id.example/status/3/suspension"
            }
        ],
        "credentialSchema": {
            "id": "https://citizen-id.example/schemas/vcdm-citizen-id.schema.json",
            "type": "JsonSchema"
        },
        "evidence": [{"type": "CitizenIdProofing", "proofingMethod": method}],
        "cnf": {"jwk": holder_jwk(Alg::EdDsa)}
    })
}

/// `payload` with `f` applied to the object at the JSON pointer `at`.
fn edit(mut payload: Value, at: &str, f: impl FnOnce(&mut Map<String, Value>)) -> Value {
    f(payload.pointer_mut(at).unwrap().as_object_mut().unwrap());
    payload
}

fn set(payload: Value, at: &str, name: &str, value: Value) -> Value {
    edit(payload, at, |o| {
        o.insert(name.into(), value);
    })
}

fn remove(payload: Value, at: &str, name: &str) -> Value {
    edit(payload, at, |o| {
        o.remove(name);
    })
}

// ---- the schemas themselves ----------------------------------------------------------------

#[test]
fn schemas_are_valid_draft_2020_12() {
    for name in [
        "citizen-id-basic.schema.json",
        "citizen-id-high.schema.json",
        "vcdm-citizen-id.schema.json",
    ] {
        let schema = load(&format!("schemas/{name}"));
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        jsonschema::draft202012::meta::validate(&schema).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(schema["$id"].as_str().unwrap().ends_with(name));
    }
}

#[test]
fn shared_definitions_do_not_drift() {
    let basic = load("schemas/citizen-id-basic.schema.json");
    let high = load("schemas/citizen-id-high.schema.json");
    let vc = load("schemas/vcdm-citizen-id.schema.json");
    let high_defs = high["$defs"].as_object().unwrap();
    for (name, def) in basic["$defs"].as_object().unwrap() {
        assert_eq!(Some(def), high_defs.get(name), "$defs/{name} differs");
    }
    for (name, def) in high_defs {
        if name != "status" {
            assert_eq!(Some(def), vc["$defs"].get(name), "$defs/{name} differs");
        }
    }
    // The subject definitions of the VC form list the same claims as the dc form.
    for (schema, subject) in [(&basic, "basicSubject"), (&high, "highSubject")] {
        for (name, def) in vc["$defs"][subject]["properties"].as_object().unwrap() {
            assert_eq!(
                Some(def),
                schema["properties"].get(name),
                "{subject}.{name}"
            );
        }
    }
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

fn set_of<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    names.into_iter().map(str::to_owned).collect()
}

#[test]
fn schemas_list_exactly_the_rust_claims() {
    let registered = set_of(["iss", "iat", "nbf", "exp", "vct", "cnf", "status"]);
    let basic = load("schemas/citizen-id-basic.schema.json");
    let high = load("schemas/citizen-id-high.schema.json");
    let vc = load("schemas/vcdm-citizen-id.schema.json");

    let basic_claims = set_of(BASIC_CLAIMS);
    let high_claims = set_of(BASIC_CLAIMS.into_iter().chain(HIGH_ONLY_CLAIMS));
    assert_eq!(
        keys(&basic["properties"]),
        &registered | &basic_claims,
        "basic"
    );
    assert_eq!(
        keys(&high["properties"]),
        &registered | &high_claims,
        "high"
    );
    assert_eq!(
        keys(&vc["$defs"]["basicSubject"]["properties"]),
        basic_claims
    );
    assert_eq!(keys(&vc["$defs"]["highSubject"]["properties"]), high_claims);

    assert_eq!(
        keys(&high["$defs"]["address"]["properties"]),
        set_of(ADDRESS_MEMBERS)
    );
    assert_eq!(
        keys(&high["$defs"]["idCard"]["properties"]),
        set_of(ID_CARD_MEMBERS)
    );
    let ages: BTreeSet<String> = AGE_THRESHOLDS.iter().map(u8::to_string).collect();
    let schema_ages: BTreeSet<String> = basic["$defs"]["ageEqualOrOver"]["propertyNames"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(schema_ages, ages);

    // Every personal claim is optional (selective disclosure); the always-visible members are
    // required.
    let required = |s: &Value| -> BTreeSet<String> {
        s["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let always = set_of(["iss", "iat", "exp", "vct", "cnf", "status"]);
    assert_eq!(required(&basic), always);
    assert_eq!(required(&high), always);
}

// ---- dc+sd-jwt -----------------------------------------------------------------------------

#[test]
fn full_dc_payloads_pass() {
    basic_schema().accepts(&dc_payload(Level::Basic));
    high_schema().accepts(&dc_payload(Level::High));
    // With nbf, with an Ed25519 holder key, with a long-term card.
    let p = set(dc_payload(Level::Basic), "", "nbf", json!(IAT));
    basic_schema().accepts(&p);
    let p = set(
        dc_payload(Level::High),
        "",
        "cnf",
        json!({"jwk": holder_jwk(Alg::EdDsa)}),
    );
    high_schema().accepts(&p);
    let p = set(
        dc_payload(Level::High),
        "/id_card",
        "valid_until",
        json!("long-term"),
    );
    high_schema().accepts(&p);
}

#[test]
fn partial_disclosures_pass() {
    let high = high_schema();
    let full = dc_payload(Level::High);
    // Nothing disclosed.
    let mut bare = full.clone();
    for name in BASIC_CLAIMS.iter().chain(&HIGH_ONLY_CLAIMS) {
        bare = remove(bare, "", name);
    }
    high.accepts(&bare);
    basic_schema().accepts(&set(bare.clone(), "", "vct", json!(VCT_BASIC)));
    // Each claim on its own.
    for name in BASIC_CLAIMS.iter().chain(&HIGH_ONLY_CLAIMS) {
        high.accepts(&set(bare.clone(), "", name, full[name].clone()));
    }
    // The hotel: name and id number. The age gate: one age key.
    let hotel = ["family_name", "given_name", "id_number"]
        .iter()
        .fold(bare.clone(), |p, n| set(p, "", n, full[n].clone()));
    high.accepts(&hotel);
    high.accepts(&set(
        bare.clone(),
        "",
        "age_equal_or_over",
        json!({"18": true}),
    ));
    // Containers disclosed with some or none of their members.
    high.accepts(&set(
        bare.clone(),
        "",
        "address",
        json!({"locality": "朝阳区"}),
    ));
    high.accepts(&set(bare.clone(), "", "address", json!({})));
    high.accepts(&set(bare.clone(), "", "age_equal_or_over", json!({})));
    high.accepts(&set(
        bare,
        "",
        "id_card",
        json!({"valid_until": "2042-08-20"}),
    ));
}

#[test]
fn bad_id_number_fails() {
    for schema in [basic_schema(), high_schema()] {
        let level = if schema.name.contains("basic") {
            Level::Basic
        } else {
            Level::High
        };
        for bad in [
            "11010519920517998x",
            "11010519920517998",
            "1101051992051799855",
            "11010519920517998A",
            "1101051992O517998X",
        ] {
            schema.rejects(
                &set(dc_payload(level), "", "id_number", json!(bad)),
                &format!("id_number {bad}"),
            );
        }
        schema.rejects(
            &set(
                dc_payload(level),
                "",
                "id_number",
                json!(110105199205179985u64),
            ),
            "a numeric id_number",
        );
    }
}

#[test]
fn wrong_vct_fails() {
    let basic = basic_schema();
    let high = high_schema();
    for vct in [
        "urn:cn:citizen-id:basic:2",
        "urn:eudi:pid:1",
        "basic",
        VCT_HIGH,
    ] {
        basic.rejects(
            &set(dc_payload(Level::Basic), "", "vct", json!(vct)),
            &format!("vct {vct}"),
        );
    }
    high.rejects(
        &set(dc_payload(Level::High), "", "vct", json!(VCT_BASIC)),
        "the basic vct",
    );
    // A basic payload is not a high one, and a high payload is not a basic one.
    high.rejects(&dc_payload(Level::Basic), "the basic vct");
    basic.rejects(&dc_payload(Level::High), "high-only claims");
    // A high payload relabelled basic still fails on its high-only claims.
    basic.rejects(
        &set(dc_payload(Level::High), "", "vct", json!(VCT_BASIC)),
        "high-only claims under the basic vct",
    );
}

#[test]
fn missing_always_visible_members_fail() {
    for name in ["iss", "iat", "exp", "vct", "cnf", "status"] {
        basic_schema().rejects(
            &remove(dc_payload(Level::Basic), "", name),
            &format!("no {name}"),
        );
        high_schema().rejects(
            &remove(dc_payload(Level::High), "", name),
            &format!("no {name}"),
        );
    }
}

#[test]
fn malformed_members_fail() {
    let basic = basic_schema();
    let high = high_schema();
    let b = || dc_payload(Level::Basic);
    let h = || dc_payload(Level::High);
    let cases: Vec<(Value, &str)> = vec![
        (
            set(b(), "", "iss", json!("http://citizen-id.example")),
            "http iss",
        ),
        (set(b(), "", "iat", json!("1767225600")), "string iat"),
        (set(b(), "", "exp", json!(-1)), "negative exp"),
        (
            set(b(), "", "sub", json!("someone")),
            "an unknown member sub",
        ),
        (
            set(b(), "", "_sd_alg", json!("sha-256")),
            "an unprocessed _sd_alg",
        ),
        (set(b(), "", "_sd", json!([])), "an unprocessed _sd"),
        (
            set(b(), "", "birth_date", json!("1992-05-17")),
            "a misspelt claim",
        ),
        (set(b(), "", "sex", json!(0)), "sex 0"),
        (set(b(), "", "sex", json!("female")), "sex as text"),
        (
            set(b(), "", "birthdate", json!("1992-5-17")),
            "a short birthdate",
        ),
        (
            set(b(), "", "birthdate", json!("1992-02-30")),
            "an impossible birthdate",
        ),
        (
            set(b(), "", "nationality", json!("CHN")),
            "alpha-3 nationality",
        ),
        (set(b(), "", "family_name", json!("")), "an empty name"),
        (set(b(), "", "family_name", json!(" 李")), "a leading space"),
        (set(b(), "", "given_name", json!("雪\n梅")), "a newline"),
        (
            set(b(), "", "given_name", json!("梅".repeat(201))),
            "a long name",
        ),
        (
            set(b(), "", "age_equal_or_over", json!({"21": true})),
            "an unknown age threshold",
        ),
        (
            set(b(), "", "age_equal_or_over", json!({"18": "yes"})),
            "a non-boolean age",
        ),
        (
            set(b(), "/cnf/jwk", "d", json!("AAAA")),
            "private key material in cnf",
        ),
        (set(b(), "/cnf/jwk", "kid", json!("k1")), "a kid in cnf.jwk"),
        (
            set(
                b(),
                "/cnf",
                "jwk",
                json!({"kty": "RSA", "n": "x", "e": "AQAB"}),
            ),
            "an RSA holder key",
        ),
        (
            set(b(), "/status/status_list", "idx", json!(-1)),
            "a negative status index",
        ),
        (
            remove(b(), "/status/status_list", "uri"),
            "a status without uri",
        ),
    ];
    for (payload, why) in &cases {
        basic.rejects(payload, why);
    }
    let cases: Vec<(Value, &str)> = vec![
        (
            set(
                h(),
                "",
                "portrait",
                json!("data:image/png;base64,iVBORw0KGgo="),
            ),
            "a png portrait",
        ),
        (
            set(h(), "", "portrait", json!("data:image/jpeg;base64,/9j/AA")),
            "unpadded base64",
        ),
        (
            set(
                h(),
                "",
                "portrait",
                json!(format!("data:image/jpeg;base64,/9j/{}", "A".repeat(87_384))),
            ),
            "an oversized portrait",
        ),
        (
            set(h(), "/address", "country", json!("cn")),
            "a lowercase country",
        ),
        (
            set(h(), "/address", "house", json!("1")),
            "an unknown address member",
        ),
        (
            set(h(), "/id_card", "valid_until", json!("长期")),
            "valid_until in Chinese",
        ),
        (
            set(h(), "/id_card", "valid_from", json!("2022-08-20")),
            "valid_from",
        ),
        (set(h(), "", "ethnicity", json!(1)), "a numeric ethnicity"),
    ];
    for (payload, why) in &cases {
        high.rejects(payload, why);
    }
}

// ---- vc+sd-jwt -----------------------------------------------------------------------------

#[test]
fn full_vc_payloads_pass() {
    let vc = vc_schema();
    vc.accepts(&vc_payload(Level::Basic));
    vc.accepts(&vc_payload(Level::High));
    // A second context after the base one; type entries in another order.
    let p = set(
        vc_payload(Level::High),
        "",
        "@context",
        json!([VCDM_V2_CONTEXT, "https://citizen-id.example/contexts/v1"]),
    );
    vc.accepts(&p);
    let p = set(
        vc_payload(Level::Basic),
        "",
        "type",
        json!([VCT_BASIC, "VerifiableCredential", VC_TYPE]),
    );
    vc.accepts(&p);
    // Nothing disclosed under credentialSubject.
    vc.accepts(&set(
        vc_payload(Level::High),
        "",
        "credentialSubject",
        json!({}),
    ));
    vc.accepts(&set(
        vc_payload(Level::Basic),
        "",
        "credentialSubject",
        json!({"age_equal_or_over": {"18": true}}),
    ));
}

#[test]
fn vc_level_comes_from_type() {
    let vc = vc_schema();
    // High claims under a basic type.
    let p = set(
        vc_payload(Level::High),
        "",
        "type",
        json!(["VerifiableCredential", VC_TYPE, VCT_BASIC]),
    );
    vc.rejects(&p, "high claims under the basic type");
    // Evidence must fit the level.
    let p = set(
        vc_payload(Level::Basic),
        "/evidence/0",
        "proofingMethod",
        json!("in_person_card_read"),
    );
    vc.rejects(&p, "in-person evidence on a basic credential");
    let p = set(
        vc_payload(Level::High),
        "/evidence/0",
        "proofingMethod",
        json!("remote_face_match"),
    );
    vc.rejects(&p, "remote evidence on a high credential");
    for (types, why) in [
        (json!(["VerifiableCredential", VC_TYPE]), "no level type"),
        (
            json!(["VerifiableCredential", VCT_BASIC, VCT_HIGH]),
            "two level types",
        ),
        (
            json!(["VerifiableCredential", VC_TYPE, "urn:cn:citizen-id:high:2"]),
            "an unknown level type",
        ),
        (json!([VC_TYPE, VCT_HIGH]), "no VerifiableCredential"),
        (
            json!(["VerifiableCredential", VC_TYPE, VCT_HIGH, VCT_HIGH]),
            "a repeated type",
        ),
        (json!("VerifiableCredential"), "a type string"),
    ] {
        vc.rejects(&set(vc_payload(Level::High), "", "type", types), why);
    }
}

#[test]
fn vc_malformed_members_fail() {
    let vc = vc_schema();
    let b = || vc_payload(Level::Basic);
    for name in [
        "@context",
        "type",
        "issuer",
        "validFrom",
        "validUntil",
        "credentialSubject",
        "credentialStatus",
        "credentialSchema",
        "evidence",
        "cnf",
    ] {
        vc.rejects(&remove(b(), "", name), &format!("no {name}"));
    }
    let cases: Vec<(Value, &str)> = vec![
        (
            set(
                b(),
                "",
                "@context",
                json!(["https://www.w3.org/2018/credentials/v1"]),
            ),
            "the VCDM 1.1 context",
        ),
        (
            set(
                b(),
                "",
                "@context",
                json!(["https://citizen-id.example/c", VCDM_V2_CONTEXT]),
            ),
            "the base context not first",
        ),
        (
            set(b(), "", "iss", json!(ISSUER)),
            "a JWT iss beside issuer",
        ),
        (
            set(b(), "", "exp", json!(EXP)),
            "a JWT exp beside validUntil",
        ),
        (
            set(b(), "", "vct", json!(VCT_BASIC)),
            "a vct in the VC form",
        ),
        (
            set(b(), "", "validFrom", json!("2026-01-01T08:00:00+08:00")),
            "a non-UTC validFrom",
        ),
        (
            set(b(), "", "validUntil", json!(EXP)),
            "a numeric validUntil",
        ),
        (
            set(
                b(),
                "/credentialSubject",
                "id_number",
                json!("11010519920517998x"),
            ),
            "a lowercase x",
        ),
        (
            set(b(), "/credentialSubject", "address", json!({})),
            "an address on a basic credential",
        ),
        (
            set(b(), "/credentialSubject", "id", json!("did:example:1")),
            "a subject id",
        ),
        (
            set(
                b(),
                "/credentialSchema",
                "type",
                json!("JsonSchemaCredential"),
            ),
            "another credentialSchema type",
        ),
        (
            set(
                b(),
                "/credentialStatus/1",
                "statusPurpose",
                json!("revocation"),
            ),
            "two revocation entries",
        ),
        (
            set(
                b(),
                "/credentialStatus/0",
                "statusListIndex",
                json!(412_771),
            ),
            "a numeric statusListIndex",
        ),
        (
            set(
                b(),
                "/credentialStatus/0",
                "type",
                json!("TokenStatusListEntry"),
            ),
            "another status type",
        ),
        (
            set(
                b(),
                "",
                "credentialStatus",
                json!({"status_list": {"idx": 1, "uri": ISSUER}}),
            ),
            "a token status list reference",
        ),
        (
            set(b(), "/evidence/0", "officer", json!("A123")),
            "officer data in evidence",
        ),
        (
            set(b(), "/cnf/jwk", "d", json!("AAAA")),
            "private key material",
        ),
    ];
    for (payload, why) in &cases {
        vc.rejects(payload, why);
    }
}

// ---- SD-JWT VC type metadata ---------------------------------------------------------------

fn paths(meta: &Value) -> Vec<Vec<String>> {
    meta["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["path"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

fn has_both_locales(display: &Value) -> bool {
    let locales: BTreeSet<&str> = display
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["locale"].as_str().unwrap())
        .collect();
    locales == BTreeSet::from(["zh-CN", "en"])
}

#[test]
fn type_metadata_matches_schemas() {
    let basic = load("schemas/citizen-id-basic.vct.json");
    let high = load("schemas/citizen-id-high.vct.json");
    let basic_schema = load("schemas/citizen-id-basic.schema.json");
    let high_schema = load("schemas/citizen-id-high.schema.json");
    assert_eq!(basic["vct"], VCT_BASIC);
    assert_eq!(high["vct"], VCT_HIGH);
    assert_eq!(basic_schema["properties"]["vct"]["const"], VCT_BASIC);
    assert_eq!(high_schema["properties"]["vct"]["const"], VCT_HIGH);
    assert_eq!(high["extends"], VCT_BASIC);
    assert!(basic.get("extends").is_none());

    for meta in [&basic, &high] {
        assert!(has_both_locales(&meta["display"]), "{}", meta["vct"]);
        for c in meta["claims"].as_array().unwrap() {
            assert_eq!(c["sd"], "always", "{}", c["path"]);
            assert!(has_both_locales(&c["display"]), "{}", c["path"]);
            for d in c["display"].as_array().unwrap() {
                assert!(!d["label"].as_str().unwrap().is_empty());
            }
        }
    }

    // Every path names something the schema defines, and every personal claim (and every member
    // of address, id_card and age_equal_or_over) has metadata: basic's own, high's inherited
    // through `extends` plus its own.
    let expected = |schema: &Value| -> BTreeSet<Vec<String>> {
        let registered = ["iss", "iat", "nbf", "exp", "vct", "cnf", "status"];
        let mut out = BTreeSet::new();
        for name in keys(&schema["properties"]) {
            if registered.contains(&name.as_str()) {
                continue;
            }
            out.insert(vec![name.clone()]);
            let members: Vec<String> = match name.as_str() {
                "address" => keys(&schema["$defs"]["address"]["properties"])
                    .into_iter()
                    .collect(),
                "id_card" => keys(&schema["$defs"]["idCard"]["properties"])
                    .into_iter()
                    .collect(),
                "age_equal_or_over" => schema["$defs"]["ageEqualOrOver"]["propertyNames"]["enum"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect(),
                _ => vec![],
            };
            for m in members {
                out.insert(vec![name.clone(), m]);
            }
        }
        out
    };
    let basic_paths: BTreeSet<Vec<String>> = paths(&basic).into_iter().collect();
    assert_eq!(
        basic_paths.len(),
        paths(&basic).len(),
        "repeated basic path"
    );
    assert_eq!(basic_paths, expected(&basic_schema));
    let high_own: BTreeSet<Vec<String>> = paths(&high).into_iter().collect();
    assert_eq!(high_own.len(), paths(&high).len(), "repeated high path");
    assert!(high_own.is_disjoint(&basic_paths), "high overrides basic");
    let high_paths: BTreeSet<Vec<String>> = &basic_paths | &high_own;
    assert_eq!(high_paths, expected(&high_schema));
}

#[test]
fn extends_integrity_matches_basic_metadata() {
    let high = load("schemas/citizen-id-high.vct.json");
    let bytes = std::fs::read(root().join("schemas/citizen-id-basic.vct.json")).unwrap();
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
    assert_eq!(
        high["extends#integrity"].as_str().unwrap(),
        format!("sha256-{digest}"),
        "update extends#integrity in citizen-id-high.vct.json after editing the basic metadata"
    );
}

// ---- docs/credential-format.md -------------------------------------------------------------

/// Every ```json block preceded by `<!-- validate: NAME -->` in the format document validates
/// against schema NAME, so the document and the schemas cannot drift apart.
#[test]
fn format_document_examples_validate() {
    let doc = read("docs/credential-format.md");
    let marker = "<!-- validate: ";
    let mut checked = 0;
    let mut rest = doc.as_str();
    while let Some(start) = rest.find(marker) {
        rest = &rest[start + marker.len()..];
        let end = rest.find(" -->").unwrap();
        let name = &rest[..end];
        let block_start = rest.find("```json\n").unwrap() + "```json\n".len();
        let block_end = block_start + rest[block_start..].find("```").unwrap();
        let payload: Value = serde_json::from_str(&rest[block_start..block_end])
            .unwrap_or_else(|e| panic!("example for {name}: {e}"));
        let schema = Schema::new(match name {
            "citizen-id-basic.schema.json" => "citizen-id-basic.schema.json",
            "citizen-id-high.schema.json" => "citizen-id-high.schema.json",
            "vcdm-citizen-id.schema.json" => "vcdm-citizen-id.schema.json",
            other => panic!("unknown schema {other}"),
        });
        schema.accepts(&payload);
        // The examples are the sample citizen, with a valid id number.
        let subject = payload.get("credentialSubject").unwrap_or(&payload);
        if let Some(id) = subject.get("id_number") {
            credential::citizen::IdNumber::parse(id.as_str().unwrap()).unwrap();
        }
        // A fully disclosed high example carries exactly what the Rust claims produce on the
        // issuance day.
        if subject.get("portrait").is_some() {
            let issued = sample_claims(Level::High).disclosable_claims(date!(2026 - 01 - 01));
            for (name, value) in &issued {
                assert_eq!(
                    subject.get(name),
                    Some(value),
                    "{name} in an example for {}",
                    schema.name
                );
            }
        }
        checked += 1;
        rest = &rest[block_end..];
    }
    assert_eq!(checked, 4);
}
