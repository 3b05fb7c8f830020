//! Every example of RFC 9901 in `tests/vectors/sd-jwt/rfc9901-examples`, read as data:
//! verification of the issued and presented forms, digests, issuance from the examples'
//! `!sd`-tagged claims, and holder selection.

use std::collections::{BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use credential::jose::{PublicJwk, SigningKey};
use credential::sd_jwt::{
    ClaimPath, KeyBinding, PathSegment, SaltSource, SdJwt, SdJwtBuilder, VerifyOptions,
};
use serde_json::{Map, Value};

const NONCE: &str = "1234567890";
const AUD: &str = "https://verifier.example.org";
const KB_IAT: i64 = 1_748_537_243;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sd-jwt/rfc9901-examples")
}

fn examples() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root())
        .expect("vectors in credential/tests/vectors")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 11, "expected every RFC 9901 example");
    dirs
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn yaml(path: &Path) -> serde_yaml::Value {
    serde_yaml::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn yaml_to_json(v: &serde_yaml::Value) -> Value {
    serde_json::to_value(v).unwrap()
}

/// The issuer keys (private JWKs, with their `kid`s): the example's override, else the common
/// settings.
fn issuer_jwks(dir: &Path) -> Vec<Value> {
    let spec = yaml(&dir.join("specification.yml"));
    let settings = yaml(&root().join("settings.yml"));
    let keys = spec
        .get("settings_override")
        .and_then(|s| s.get("key_settings"))
        .unwrap_or_else(|| settings.get("key_settings").unwrap())
        .get("issuer_keys")
        .unwrap()
        .clone();
    keys.as_sequence()
        .unwrap()
        .iter()
        .map(yaml_to_json)
        .collect()
}

fn issuer_keys(dir: &Path) -> Vec<SigningKey> {
    issuer_jwks(dir)
        .iter()
        .map(|k| SigningKey::from_private_jwk(&k.to_string()).unwrap())
        .collect()
}

fn public_keys(dir: &Path) -> Vec<PublicJwk> {
    issuer_jwks(dir)
        .into_iter()
        .map(|mut k| {
            k.as_object_mut().unwrap().remove("d");
            PublicJwk::from_value(&k).unwrap()
        })
        .collect()
}

fn holder_key() -> SigningKey {
    let settings = yaml(&root().join("settings.yml"));
    let k = settings
        .get("key_settings")
        .unwrap()
        .get("holder_key")
        .unwrap();
    SigningKey::from_private_jwk(&yaml_to_json(k).to_string()).unwrap()
}

fn has_kb(dir: &Path) -> bool {
    dir.join("kb_jwt_serialized.txt").exists()
}

fn read_sd_jwt(dir: &Path, stem: &str) -> String {
    let txt = dir.join(format!("{stem}.txt"));
    if txt.exists() {
        fs::read_to_string(txt).unwrap().trim().to_owned()
    } else {
        fs::read_to_string(dir.join(format!("{stem}.json"))).unwrap()
    }
}

fn options(key_binding: KeyBinding) -> VerifyOptions {
    // The examples were issued at 1683000000 and bound at 1748537243; verify as of then.
    VerifyOptions::new(KB_IAT, key_binding)
}

#[test]
fn presentations_verify_to_verified_contents() {
    for dir in examples() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let text = read_sd_jwt(&dir, "sd_jwt_presentation");
        let sd_jwt = SdJwt::parse(&text, &Default::default())
            .unwrap_or_else(|e| panic!("{name}: parse: {e}"));
        let kb = if has_kb(&dir) {
            KeyBinding::Required {
                nonce: NONCE.into(),
                aud: AUD.into(),
                max_age: 300,
            }
        } else {
            KeyBinding::NotRequired
        };
        let verified = sd_jwt
            .verify(public_keys(&dir).as_slice(), &options(kb))
            .unwrap_or_else(|e| panic!("{name}: verify: {e}"));
        assert_eq!(
            Value::Object(verified.claims),
            json(&dir.join("verified_contents.json")),
            "{name}"
        );
        if has_kb(&dir) {
            let kb = verified.key_binding.expect("kb verified");
            assert_eq!(kb.nonce, NONCE);
            assert_eq!(
                sd_jwt.kb_jwt().unwrap(),
                fs::read_to_string(dir.join("kb_jwt_serialized.txt"))
                    .unwrap()
                    .trim()
            );
        }
    }
}

#[test]
fn issuances_verify_to_processed_payload() {
    for dir in examples() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let text = read_sd_jwt(&dir, "sd_jwt_issuance");
        let sd_jwt = SdJwt::parse(&text, &Default::default()).unwrap();
        let verified = sd_jwt
            .verify(
                public_keys(&dir).as_slice(),
                &options(KeyBinding::NotRequired),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            Value::Object(verified.claims),
            json(&dir.join("issuance_processed_payload.json")),
            "{name}"
        );
        // Every disclosure of an issuance lands somewhere.
        assert_eq!(verified.disclosed.len(), sd_jwt.disclosures().len());
    }
}

#[test]
fn disclosure_digests_match() {
    for dir in examples() {
        let path = dir.join("disclosures.json");
        if !path.exists() {
            continue;
        }
        for entry in json(&path).as_array().unwrap() {
            let d = credential::sd_jwt::Disclosure::parse(
                entry["disclosure"].as_str().unwrap(),
                Default::default(),
            )
            .unwrap();
            assert_eq!(d.digest(), entry["sha256_digest"].as_str().unwrap());
            let decoded = entry["decoded"].as_array().unwrap();
            assert_eq!(d.salt(), decoded[0].as_str().unwrap());
            assert_eq!(d.value(), decoded.last().unwrap());
            if decoded.len() == 3 {
                assert_eq!(d.name(), decoded[1].as_str());
            }
        }
    }
}

/// Salts replayed from the example's `disclosures.json`, in order.
struct FixedSalts(VecDeque<String>);

impl SaltSource for FixedSalts {
    fn salt(&mut self) -> String {
        self.0.pop_front().expect("enough salts")
    }
    fn decoy_count(&mut self, _: usize, _: usize) -> usize {
        0
    }
    fn decoy_digest(&mut self) -> String {
        unreachable!("no decoys requested")
    }
}

/// Splits YAML claims with `!sd` tags into plain JSON claims and the disclosable paths.
fn untag(v: &serde_yaml::Value, path: &mut Vec<PathSegment>, sd: &mut Vec<ClaimPath>) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Tagged(t) => {
            assert_eq!(t.tag, "!sd");
            sd.push(ClaimPath(path.clone()));
            untag(&t.value, path, sd)
        }
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::Tagged(t) => {
                        let name = t.value.as_str().unwrap().to_owned();
                        sd.push(ClaimPath({
                            let mut p = path.clone();
                            p.push(PathSegment::Key(name.clone()));
                            p
                        }));
                        name
                    }
                    Y::String(s) => s.clone(),
                    other => yaml_to_json(other).to_string(),
                };
                path.push(PathSegment::Key(key.clone()));
                out.insert(key, untag(v, path, sd));
                path.pop();
            }
            Value::Object(out)
        }
        Y::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    path.push(PathSegment::Index(i));
                    let v = untag(item, path, sd);
                    path.pop();
                    v
                })
                .collect(),
        ),
        other => yaml_to_json(other),
    }
}

#[test]
fn issuing_from_the_specification_reproduces_the_disclosures() {
    for dir in examples() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let spec = yaml(&dir.join("specification.yml"));
        let Some(disclosures_path) = Some(dir.join("disclosures.json")).filter(|p| p.exists())
        else {
            continue;
        };
        let expected = json(&disclosures_path);
        let expected = expected.as_array().unwrap();
        let mut sd = Vec::new();
        let claims = untag(spec.get("user_claims").unwrap(), &mut Vec::new(), &mut sd);
        let mut claims = claims.as_object().unwrap().clone();
        // The reference issuer adds iss, iat, exp and cnf around the user claims.
        let payload = json(&dir.join("sd_jwt_payload.json"));
        for name in ["iss", "iat", "exp", "cnf"] {
            if let Some(v) = payload.get(name) {
                claims.entry(name).or_insert(v.clone());
            }
        }
        let salts = expected
            .iter()
            .map(|e| e["decoded"][0].as_str().unwrap().to_owned())
            .collect();
        let mut builder = SdJwtBuilder::new(claims);
        for path in &sd {
            builder = builder.disclosable(path);
        }
        let key = &issuer_keys(&dir)[0];
        let issued = builder
            .issue(key, &mut FixedSalts(salts))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Same salts, names and values, in the same order as the reference issuer made them.
        let ours: Vec<Value> = issued
            .disclosures
            .iter()
            .map(|d| {
                let mut v = vec![Value::from(d.salt())];
                v.extend(d.name().map(Value::from));
                v.push(strip_digests(d.value()));
                Value::Array(v)
            })
            .collect();
        let theirs: Vec<Value> = expected
            .iter()
            .map(|e| strip_digests(&e["decoded"]))
            .collect();
        assert_eq!(ours, theirs, "{name}");
        // And all of it verifies back to the processed payload (minus the example's cnf).
        let sd_jwt = SdJwt::parse(&issued.to_compact(), &Default::default()).unwrap();
        let verified = sd_jwt
            .verify(key.public_jwk(), &options(KeyBinding::NotRequired))
            .unwrap();
        let expected_claims = json(&dir.join("issuance_processed_payload.json"));
        assert_eq!(Value::Object(verified.claims), expected_claims, "{name}");
    }
}

/// A value without `_sd` members and `{"...": d}` elements: digests inside disclosed values
/// depend on how the reference issuer spaced its JSON (RFC 9901 allows any serialization).
fn strip_digests(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "_sd")
                .map(|(k, v)| (k.clone(), strip_digests(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|i| !(i.is_object() && i.get("...").is_some()))
                .map(strip_digests)
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `holder_disclosed_claims` as claim paths: `true` leaves, and list positions.
fn selection(v: &serde_yaml::Value, path: &mut Vec<PathSegment>, out: &mut Vec<ClaimPath>) {
    use serde_yaml::Value as Y;
    match v {
        Y::Bool(true) => out.push(ClaimPath(path.clone())),
        Y::Mapping(m) => {
            for (k, v) in m {
                path.push(PathSegment::Key(match k {
                    Y::String(s) => s.clone(),
                    other => yaml_to_json(other).to_string(),
                }));
                selection(v, path, out);
                path.pop();
            }
        }
        Y::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(PathSegment::Index(i));
                selection(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[test]
fn holder_selection_matches_the_presentation() {
    for dir in examples() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let spec = yaml(&dir.join("specification.yml"));
        let mut requested = Vec::new();
        selection(
            spec.get("holder_disclosed_claims").unwrap(),
            &mut Vec::new(),
            &mut requested,
        );
        let issued =
            SdJwt::parse(&read_sd_jwt(&dir, "sd_jwt_issuance"), &Default::default()).unwrap();
        let presented = SdJwt::parse(
            &read_sd_jwt(&dir, "sd_jwt_presentation"),
            &Default::default(),
        )
        .unwrap();
        let ours: BTreeSet<&str> = issued
            .disclosures_for(&requested)
            .unwrap()
            .into_iter()
            .map(|d| d.as_str())
            .collect();
        let theirs: BTreeSet<&str> = presented.disclosures().iter().map(|d| d.as_str()).collect();
        assert_eq!(ours, theirs, "{name}");
        // Bind our own selection and verify it end to end.
        let presentation = issued.select(&requested).unwrap();
        let bound =
            credential::sd_jwt::add_key_binding(&presentation, &holder_key(), NONCE, AUD, KB_IAT);
        let kb = KeyBinding::Required {
            nonce: NONCE.into(),
            aud: AUD.into(),
            max_age: 300,
        };
        let parsed = SdJwt::parse(&bound, &Default::default()).unwrap();
        // The compact form carries no unprotected kid: verify with the first issuer key.
        let result = parsed.verify(&public_keys(&dir)[0], &options(kb));
        if issued.payload().contains_key("cnf") {
            let verified = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                Value::Object(verified.claims),
                json(&dir.join("verified_contents.json")),
                "{name}"
            );
        } else {
            // No holder key in the credential: key binding cannot be verified.
            assert_eq!(
                result.unwrap_err(),
                credential::sd_jwt::VerifyError::MissingHolderKey
            );
        }
    }
}
