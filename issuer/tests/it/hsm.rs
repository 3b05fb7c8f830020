//! The issuer's signing keys in SoftHSM2 over PKCS#11, against the real binary: credentials
//! signed in the token verify with the verifier library against the root-signed trust bundle,
//! rotation keeps the old key published, the database and data directory hold no private key
//! material, each failure to use the HSM is its own error, and the PIN is never printed.
//!
//! Each test makes its own token in a temporary directory (`SOFTHSM2_CONF` pointing at a
//! config there, `softhsm2-util --init-token`) and runs `issuer` as a child process with that
//! environment, so tokens never meet across tests. Skips with one line when SoftHSM2 is not
//! installed, unless `CI_REQUIRE_HSM=1` (set by `.ci/run` after `.ci/install`).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use credential::jose::{Jws, PublicJwk, SigningKey};
use credential::sd_jwt::{add_key_binding, ClaimPath, Limits, SdJwt};
use serde_json::{json, Value};
use verifier::bundle::BundleLimits;
use verifier::{TrustState, VerifiedBundle};

use crate::client::*;

const BIN: &str = env!("CARGO_BIN_EXE_issuer");

/// Where Debian and Ubuntu install SoftHSM2's PKCS#11 module.
const MODULES: [&str; 2] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
];

/// The user PIN of every test token: distinctive, so a scan for it means something.
const PIN: &str = "pin-7c41e9-hsm";
const SO_PIN: &str = "so-pin-5521";
/// The environment variable the test bureaus read the PIN from (`hsm_pin_env`).
const PIN_VAR: &str = "ISSUER_TEST_HSM_PIN";

/// A SoftHSM2 token store of its own: the config, the token directory, the module.
struct SoftHsm {
    dir: tempfile::TempDir,
    module: PathBuf,
}

impl SoftHsm {
    /// A fresh token store with one token `label`; `None` (after one line) when SoftHSM2 is
    /// not installed and `CI_REQUIRE_HSM` is not `1`.
    fn with_token(label: &str) -> Option<SoftHsm> {
        let module = MODULES.iter().map(PathBuf::from).find(|p| p.is_file());
        let util = Command::new("softhsm2-util").arg("--version").output();
        let (Some(module), Ok(_)) = (module, util) else {
            assert!(
                std::env::var("CI_REQUIRE_HSM").as_deref() != Ok("1"),
                "CI_REQUIRE_HSM=1 but softhsm2 (module and softhsm2-util) is not installed"
            );
            eprintln!("skipping: softhsm2 is not installed (apt-get install softhsm2)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tokens")).unwrap();
        std::fs::write(
            dir.path().join("softhsm2.conf"),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.path().join("tokens").display()
            ),
        )
        .unwrap();
        let hsm = SoftHsm { dir, module };
        hsm.init_token(label);
        Some(hsm)
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    /// Initializes another token in this store (same PINs).
    fn init_token(&self, label: &str) {
        let out = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", label])
            .args(["--so-pin", SO_PIN, "--pin", PIN])
            .env("SOFTHSM2_CONF", self.conf())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A data directory whose `issuer.toml` puts the keys in token `label`, with `extra` lines.
    fn bureau(&self, label: &str, extra: &str) -> tempfile::TempDir {
        let data = tempfile::tempdir().unwrap();
        write_toml(data.path(), &self.module, label, extra);
        data
    }

    /// The `issuer` binary with this store's environment and the PIN in [`PIN_VAR`].
    fn issuer(&self, data: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .arg("--data")
            .arg(data)
            .env("SOFTHSM2_CONF", self.conf())
            .env(PIN_VAR, PIN)
            .env("RUST_LOG", "warn");
        cmd
    }

    /// Runs an `issuer` command to completion.
    fn run(&self, data: &Path, args: &[&str]) -> Output {
        self.issuer(data, args).output().unwrap()
    }
}

fn write_toml(data: &Path, module: &Path, label: &str, extra: &str) {
    std::fs::write(
        data.join("issuer.toml"),
        format!(
            "hsm_module = {module:?}\nhsm_token_label = {label:?}\nhsm_pin_env = {PIN_VAR:?}\n{extra}"
        ),
    )
    .unwrap();
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `cmd`, which must fail with exit code 1; returns its stderr and stdout.
fn refused(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    (
        stderr(&out),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `issuer serve` on loopback with the keys in the token; its log (debug level) goes to
/// `log`.
struct Served {
    child: Child,
    url: String,
    root_fingerprint: String,
}

impl Served {
    /// Kills the service (its files are then complete on disk).
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A bureau served with its keys in a fresh token `bureau`: the service, an admin token, the
/// service's log, the data directory and the token store.
struct Bureau {
    served: Served,
    admin: String,
    log: PathBuf,
    data: tempfile::TempDir,
    _logs: tempfile::TempDir,
    hsm: SoftHsm,
}

fn start_bureau() -> Option<Bureau> {
    let hsm = SoftHsm::with_token("bureau")?;
    let data = hsm.bureau("bureau", "");
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("serve.log");
    let admin = admin_token(&hsm, data.path());
    let served = serve(&hsm, data.path(), &log);
    Some(Bureau {
        served,
        admin,
        log,
        data,
        _logs: logs,
        hsm,
    })
}

fn serve(hsm: &SoftHsm, data: &Path, log: &Path) -> Served {
    let mut child = hsm
        .issuer(data, &["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = listening_url(&mut lines);
    let _issuer_url = lines.next().unwrap().unwrap();
    let root_fingerprint = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("root key fingerprint: ")
        .unwrap()
        .to_owned();
    Served {
        child,
        url,
        root_fingerprint,
    }
}

fn admin_token(hsm: &SoftHsm, data: &Path) -> String {
    let out = hsm.run(
        data,
        &[
            "officers", "add", "--name", "admin", "--role", "admin", "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

/// Enrols citizen `serial` and receives one copy: the holder key and the credential.
async fn receive(b: &Bureau, serial: u32) -> (SigningKey, String) {
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/enrol/high", b.served.url))
        .bearer_auth(&b.admin)
        .json(&json!({"claims": high_claims(serial)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let offer: Value = r.json().await.unwrap();
    let mut wallet = Wallet::new(u64::from(serial));
    let redeemed = wallet.redeem_offer(&offer).await;
    let (mut keys, mut creds) = wallet
        .credentials(&redeemed, "citizen_id_high_dc_sd_jwt", 1)
        .await;
    (keys.remove(0), creds.remove(0))
}

/// The trust bundle, verified against the root key pinned by the fingerprint `issuer serve`
/// printed, as a verifier's trust state.
async fn trust_state(s: &Served) -> TrustState {
    let text =
        testkit::http::get_text(&reqwest::Client::new(), &format!("{}/trust-bundle", s.url)).await;
    let jws = Jws::parse(text.trim()).unwrap();
    let header: Value = {
        let b64 = text.split('.').next().unwrap();
        serde_json::from_slice(&credential::b64::decode(b64).unwrap()).unwrap()
    };
    assert_eq!(
        jws.header().kid.as_deref(),
        Some(s.root_fingerprint.as_str())
    );
    let root = PublicJwk::from_value(&header["jwk"]).unwrap();
    assert_eq!(root.thumbprint(), s.root_fingerprint, "the pinned root key");
    TrustState::from_bundle(
        VerifiedBundle::verify(&text, &root, now(), &BundleLimits::default()).unwrap(),
    )
}

/// Presents `credential` (family name disclosed, bound to `holder`) to the verifier library
/// with the trust and status of `state`.
fn present(
    state: &TrustState,
    credential: &str,
    holder: &SigningKey,
) -> Result<verifier::VerifiedPresentation, verifier::VerifierError> {
    let parsed = SdJwt::parse(credential, &Limits::default()).unwrap();
    let presentation = parsed
        .select(&[ClaimPath::parse_dotted("family_name")])
        .unwrap();
    let presentation = add_key_binding(&presentation, holder, "n-hsm", "https://rp.example", now());
    let (trust, status) = state.clone().into_stores();
    let policy = verifier::Policy {
        required_claims: vec![ClaimPath::parse_dotted("family_name")],
        ..Default::default()
    };
    verifier::Verifier::new(trust, status, policy).verify(
        &presentation,
        "n-hsm",
        "https://rp.example",
        now(),
    )
}

fn kid_of(credential: &str) -> String {
    let jws = Jws::parse(credential.split('~').next().unwrap()).unwrap();
    jws.header().kid.clone().unwrap()
}

/// A `signing_keys` row as the tests look at it.
#[derive(Debug)]
struct KeyRowView {
    kid: String,
    state: String,
    purpose: String,
    sealed: bool,
    file: String,
    hsm_key: Option<String>,
    public_jwk: Option<String>,
}

fn key_rows(data: &Path) -> Vec<KeyRowView> {
    let db = rusqlite::Connection::open(data.join("issuer.sqlite3")).unwrap();
    let mut s = db
        .prepare(
            "SELECT json_object('kid', kid, 'state', state, 'purpose', purpose,
                                'sealed', sealed_jwk IS NOT NULL, 'file', file,
                                'hsm_key', hsm_key, 'public_jwk', public_jwk)
             FROM signing_keys ORDER BY not_before, kid",
        )
        .unwrap();
    let rows: Vec<String> = s
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.iter()
        .map(|text| {
            let v: Value = serde_json::from_str(text).unwrap();
            let opt = |name: &str| v[name].as_str().map(str::to_owned);
            KeyRowView {
                kid: opt("kid").unwrap(),
                state: opt("state").unwrap(),
                purpose: opt("purpose").unwrap(),
                sealed: v["sealed"] == 1,
                file: opt("file").unwrap(),
                hsm_key: opt("hsm_key"),
                public_jwk: opt("public_jwk"),
            }
        })
        .collect()
}

/// Every row's private key is in the token: a `pkcs11:` reference and a public JWK without
/// `d`, no sealed JWK, no key file.
fn assert_rows_hold_no_private_key(rows: &[KeyRowView]) {
    assert!(!rows.is_empty());
    for row in rows {
        let kid = &row.kid;
        assert!(!row.sealed, "key {kid} has a sealed private key");
        assert_eq!(row.file, "", "key {kid} names a key file");
        let reference = row.hsm_key.as_deref().unwrap();
        assert!(reference.starts_with("pkcs11:token="), "{reference}");
        let jwk: Value = serde_json::from_str(row.public_jwk.as_deref().unwrap()).unwrap();
        assert!(jwk.get("d").is_none());
        assert_eq!(PublicJwk::from_value(&jwk).unwrap().thumbprint(), kid);
    }
}

/// The DER prefix of an unencrypted PKCS#8 P-256 private key (RFC 5208/5915): version 0,
/// id-ecPublicKey with prime256v1, then the ECPrivateKey OCTET STRING.
const PKCS8_P256_PREFIX: [u8; 26] = [
    0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d,
];

/// Files under `dir` (recursively) containing a private JWK member `d`, PKCS#8 key bytes, a
/// PEM private key, or `needle`.
fn files_with_secrets(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let has = |pat: &[u8]| bytes.windows(pat.len()).any(|w| w == pat);
            if has(b"\"d\":\"")
                || has(b"\"d\": \"")
                || has(&PKCS8_P256_PREFIX)
                || has(b"PRIVATE KEY")
                || has(needle.as_bytes())
            {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_signed_in_softhsm_verify_against_the_trust_bundle_and_no_private_key_is_stored(
) {
    let Some(mut b) = start_bureau() else {
        return;
    };

    let (holder, credential) = receive(&b, 1).await;
    let state = trust_state(&b.served).await;
    let verified = present(&state, &credential, &holder).expect("verifies against the bundle");
    assert_eq!(
        verified.claims["family_name"],
        high_claims(1)["family_name"]
    );
    assert!(matches!(
        verified.status,
        verifier::StatusOutcome::Valid { .. }
    ));
    b.served.stop();

    let rows = key_rows(b.data.path());
    assert_eq!(rows.len(), 2, "one credential key and one root key");
    assert_rows_hold_no_private_key(&rows);
    assert!(rows
        .iter()
        .any(|r| r.kid == kid_of(&credential) && r.purpose == "credential"));
    assert_eq!(
        files_with_secrets(b.data.path(), PIN),
        Vec::<PathBuf>::new()
    );
    // The log of a whole run at debug level never carries the PIN.
    let logged = std::fs::read_to_string(&b.log).unwrap();
    assert!(!logged.contains(PIN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sealed_key_store_stays_the_default_and_its_rows_fail_the_no_private_key_check() {
    // The contrast to the test above: without hsm_module the keys are sealed in the database,
    // which the row check refuses.
    let Some(hsm) = SoftHsm::with_token("unused") else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let out = hsm.run(data.path(), &["keys", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = key_rows(data.path());
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert!(row.sealed, "key {} is sealed in the database", row.kid);
        assert_eq!(row.hsm_key, None);
        assert_eq!(row.public_jwk, None);
    }
    let refused = std::panic::catch_unwind(|| assert_rows_hold_no_private_key(&rows));
    assert!(refused.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_in_softhsm_keeps_the_old_key_published_and_both_credentials_verify() {
    let Some(mut b) = start_bureau() else {
        return;
    };
    let (old_holder, old) = receive(&b, 2).await;

    let r = reqwest::Client::new()
        .post(format!("{}/admin/keys/rotate", b.served.url))
        .bearer_auth(&b.admin)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rotated: Value = r.json().await.unwrap();
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, kid_of(&old));

    let (new_holder, new) = receive(&b, 3).await;
    assert_eq!(kid_of(&new), new_kid);
    let state = trust_state(&b.served).await;
    let published: Vec<&str> = state.keys.iter().map(|k| k.kid.as_str()).collect();
    assert!(published.contains(&new_kid.as_str()));
    assert!(published.contains(&kid_of(&old).as_str()));
    present(&state, &old, &old_holder).expect("the retired key's credential verifies");
    present(&state, &new, &new_holder).expect("the new key's credential verifies");
    b.served.stop();

    let rows = key_rows(b.data.path());
    assert_eq!(rows.len(), 3);
    assert_rows_hold_no_private_key(&rows);
    let states: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.kid.as_str(), r.state.as_str()))
        .collect();
    assert!(states.contains(&(kid_of(&old).as_str(), "retired")));
    assert!(states.contains(&(new_kid.as_str(), "active")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_from_the_command_line_reaches_the_running_service_with_the_key_in_the_hsm() {
    // Two processes share the token: `issuer keys rotate` generates the key, the running
    // service finds it there when it next checks its keys, and signs with it.
    let Some(b) = start_bureau() else {
        return;
    };
    let (_, before) = receive(&b, 4).await;
    let out = b.hsm.run(b.data.path(), &["keys", "rotate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let new_kid = String::from_utf8_lossy(&out.stdout)
        .strip_prefix("active key: ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert_ne!(new_kid, kid_of(&before));
    // The service compares the database's active kid with its own at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (holder, after) = receive(&b, 5).await;
    assert_eq!(kid_of(&after), new_kid);
    present(&trust_state(&b.served).await, &after, &holder).expect("verifies against the bundle");
}

#[test]
fn a_wrong_hsm_pin_is_refused_as_login_failed_and_not_printed() {
    let Some(hsm) = SoftHsm::with_token("bureau") else {
        return;
    };
    let data = hsm.bureau("bureau", "");
    let wrong = "wrong-pin-0e1f";
    let (err, out) = refused(
        hsm.issuer(data.path(), &["keys", "list"])
            .env(PIN_VAR, wrong)
            .env("RUST_LOG", "trace"),
    );
    assert!(err.contains("hsm login failed: pin incorrect"), "{err}");
    assert!(!err.contains(wrong) && !err.contains(PIN), "{err}");
    assert!(!out.contains(wrong));
}

#[test]
fn an_unset_hsm_pin_variable_is_refused_as_pin_unavailable() {
    let Some(hsm) = SoftHsm::with_token("bureau") else {
        return;
    };
    let data = hsm.bureau("bureau", "");
    let (err, _) = refused(
        hsm.issuer(data.path(), &["keys", "list"])
            .env_remove(PIN_VAR),
    );
    assert!(
        err.contains(&format!(
            "hsm pin cannot be read from environment variable {PIN_VAR}"
        )),
        "{err}"
    );
}

#[test]
fn a_missing_pkcs11_module_is_refused_as_module_missing() {
    // Needs no SoftHSM2: the module is not there.
    let data = tempfile::tempdir().unwrap();
    write_toml(
        data.path(),
        Path::new("/nonexistent/libpkcs11.so"),
        "bureau",
        "",
    );
    let (err, _) = refused(
        Command::new(BIN)
            .args(["keys", "list", "--data"])
            .arg(data.path())
            .env(PIN_VAR, PIN),
    );
    assert!(
        err.contains("pkcs#11 module /nonexistent/libpkcs11.so cannot be loaded"),
        "{err}"
    );
}

#[test]
fn an_unknown_token_label_is_refused_as_token_not_found() {
    let Some(hsm) = SoftHsm::with_token("bureau") else {
        return;
    };
    let data = hsm.bureau("elsewhere", "");
    let (err, _) = refused(&mut hsm.issuer(data.path(), &["keys", "list"]));
    assert!(
        err.contains("hsm token not found: label \"elsewhere\""),
        "{err}"
    );
}

#[test]
fn a_key_missing_from_the_token_is_refused_as_key_not_found() {
    let Some(hsm) = SoftHsm::with_token("bureau") else {
        return;
    };
    let data = hsm.bureau("bureau", "");
    let out = hsm.run(data.path(), &["keys", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let active: Vec<String> = key_rows(data.path())
        .into_iter()
        .filter(|r| r.state == "active")
        .map(|r| r.kid)
        .collect();
    assert_eq!(active.len(), 2);
    // The same bureau pointed at another token, which holds none of its keys.
    hsm.init_token("spare");
    let toml = std::fs::read_to_string(data.path().join("issuer.toml")).unwrap();
    std::fs::write(
        data.path().join("issuer.toml"),
        toml.replace(
            "hsm_token_label = \"bureau\"",
            "hsm_token_label = \"spare\"",
        ),
    )
    .unwrap();
    let (err, _) = refused(&mut hsm.issuer(data.path(), &["keys", "list"]));
    assert!(err.contains("hsm key not found: "), "{err}");
    assert!(active.iter().any(|kid| err.contains(kid.as_str())), "{err}");
}

#[test]
fn an_eddsa_key_in_the_hsm_is_refused_as_mechanism_unsupported() {
    let Some(hsm) = SoftHsm::with_token("bureau") else {
        return;
    };
    let data = hsm.bureau("bureau", "key_alg = \"EdDSA\"\n");
    let (err, _) = refused(&mut hsm.issuer(data.path(), &["keys", "list"]));
    assert!(err.contains("hsm mechanism unsupported: EdDSA"), "{err}");
}
