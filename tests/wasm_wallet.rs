//! One journey, two wallets: the offline hotel journey run with the Rust `wallet` binary and,
//! with the same script and the same checks, with the wasm wallet under Node
//! (`node web/wallet/host-node.mjs`), against a real `issuer serve` on a loopback port and the
//! real `verifier` CLI. Enrol, init, receive with the tx_code, `verifier request` (hotel),
//! `present --yes`, `verifier verify` accepts with exactly the requested claims and refuses the
//! same answer shown again; a wrong passphrase, a wrong tx_code, an offer over plain http off
//! loopback and a `--data` that is not a wallet fail the same way in both. Then the Node host's
//! own data directory is attacked: a tampered sealed record, the directory of the Rust wallet.
//!
//! The binaries are the workspace's debug builds (`cargo build -p issuer -p wallet -p
//! verifier`, which `cargo test --workspace` does). The Node half needs `node` (20 or later)
//! and the wasm package (`web/build.sh` builds `web/dist/wallet-pkg`, or `WALLET_PKG` names
//! it); without them it skips with one line, unless `CI_REQUIRE_WEB=1`, when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{root, say, workspace_binaries};

const PASSPHRASE: &str = "correct horse battery staple";
/// The citizen's `id_number` in `examples/claims/citizen-high.json`.
const ID_NUMBER: &str = "110105199205179985";
/// What the hotel profile (`verifier/profiles/hotel.toml`) asks for, and all the answer may
/// disclose.
const HOTEL_CLAIMS: [&str; 3] = ["family_name", "given_name", "id_number"];

/// One of the two wallets, as a command line.
struct Wallet {
    name: &'static str,
    program: PathBuf,
    /// Arguments before the subcommand (the script, for Node).
    prefix: Vec<PathBuf>,
}

/// What a command did.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn from(output: Output) -> Ran {
        Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not json ({e}):\n{}\n{}", self.stdout, self.stderr))
    }

    /// Asserts a failure with one line on stderr: the exit code and the line's beginning.
    fn assert_failed(&self, what: &str, code: i32, prefix: &str, names: &str) {
        assert_eq!(
            self.code, code,
            "{what}: exit code\n{}\n{}",
            self.stdout, self.stderr
        );
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "{what}: one line on stderr:\n{}",
            self.stderr
        );
        assert!(
            self.stderr.starts_with(prefix) && self.stderr.contains(names),
            "{what}: expected `{prefix}...{names}...`, got {}",
            self.stderr
        );
    }
}

impl Wallet {
    fn rust(bin: &Path) -> Wallet {
        Wallet {
            name: "rust",
            program: bin.join("wallet"),
            prefix: Vec::new(),
        }
    }

    /// The Node host, or `None` (after one line on stderr) when node or the package is
    /// missing and `CI_REQUIRE_WEB` is not `1`.
    fn node(test: &str) -> Option<Wallet> {
        let pkg = std::env::var_os("WALLET_PKG")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("web/dist/wallet-pkg"));
        let node = Command::new("node").arg("--version").output();
        let missing = match node {
            Err(_) => Some("node is not installed".to_owned()),
            Ok(out) => {
                let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                let major: u32 = version
                    .trim_start_matches('v')
                    .split('.')
                    .next()
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(0);
                if major < 20 {
                    Some(format!("node {version} is older than 20"))
                } else if !pkg.join("wallet_wasm_bg.wasm").is_file() {
                    Some(format!(
                        "the wasm wallet is not built in {} (run web/build.sh)",
                        pkg.display()
                    ))
                } else {
                    None
                }
            }
        };
        match missing {
            None => Some(Wallet {
                name: "node",
                program: PathBuf::from("node"),
                prefix: vec![root().join("web/wallet/host-node.mjs")],
            }),
            Some(why) if std::env::var("CI_REQUIRE_WEB").as_deref() == Ok("1") => {
                panic!("CI_REQUIRE_WEB=1 but {why}")
            }
            Some(why) => {
                say(&format!(
                    "skipped: {test} (the wasm wallet under Node): {why}"
                ));
                None
            }
        }
    }

    /// `receive --json` with the right passphrase and tx_code, which must succeed: its JSON.
    fn receive(&self, cwd: &Path, data: &str, offer: &str, tx_code: &str) -> Value {
        let args = [
            "receive",
            "--data",
            data,
            offer,
            "--tx-code",
            tx_code,
            "--json",
        ];
        let received = self.run(cwd, PASSPHRASE, &args);
        assert_eq!(
            received.code, 0,
            "{}: receive: {}",
            self.name, received.stderr
        );
        received.json()
    }

    /// Runs `wallet ARGS` with `WALLET_PASSPHRASE=passphrase`, in `cwd`, stdin not a terminal.
    fn run(&self, cwd: &Path, passphrase: &str, args: &[&str]) -> Ran {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.prefix)
            .args(args)
            .current_dir(cwd)
            .env("WALLET_PASSPHRASE", passphrase)
            .stdin(Stdio::null());
        Ran::from(cmd.output().unwrap())
    }
}

/// `issuer serve` on a free loopback port, stopped on drop.
struct Issuer {
    child: Child,
    url: String,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bureau and the hotel's verifier in a temporary directory: the issuer serving, the hotel's
/// verifier pinned to the bureau's root.
struct Journey {
    // Dropped first: the issuer stops before its directory is removed.
    issuer: Issuer,
    bin: PathBuf,
    work: tempfile::TempDir,
}

impl Journey {
    fn start() -> Journey {
        let bin = workspace_binaries();
        let work = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let log = work.path().join("bureau.log");
        let child = Command::new(bin.join("issuer"))
            .args(["serve", "--data", "bureau", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["--public-url", &url])
            .current_dir(work.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(work.path().join("bureau.err")).unwrap())
            .spawn()
            .unwrap();
        let issuer = Issuer { child, url };
        let started = Instant::now();
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("root key fingerprint")
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "issuer serve did not start: {}",
                std::fs::read_to_string(work.path().join("bureau.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let journey = Journey { issuer, bin, work };
        journey.tool(
            "issuer",
            &[
                "trust-bundle",
                "--data",
                "bureau",
                "--root-jwk",
                "root.jwk",
                "--out",
                "bundle.jwt",
            ],
        );
        journey.tool("verifier", &["trust", "pin", "--data", "hotel", "root.jwk"]);
        journey
    }

    fn dir(&self) -> &Path {
        self.work.path()
    }

    /// Runs `issuer` or `verifier` in the work directory.
    fn run_tool(&self, tool: &str, args: &[&str]) -> Ran {
        Ran::from(
            Command::new(self.bin.join(tool))
                .args(args)
                .current_dir(self.dir())
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .output()
                .unwrap(),
        )
    }

    /// Runs `issuer` or `verifier` and asserts success.
    fn tool(&self, tool: &str, args: &[&str]) -> Ran {
        let ran = self.run_tool(tool, args);
        assert_eq!(
            ran.code, 0,
            "{tool} {args:?}\n{}\n{}",
            ran.stdout, ran.stderr
        );
        ran
    }

    /// A citizen enrolled at the counter (high): the offer URI and the tx_code.
    fn enrol(&self) -> (String, String) {
        let claims = root().join("examples/claims/citizen-high.json");
        let out = self
            .tool(
                "issuer",
                &[
                    "enroll",
                    "--data",
                    "bureau",
                    "--level",
                    "high",
                    "--claims",
                    claims.to_str().unwrap(),
                    "--json",
                ],
            )
            .json();
        (
            out["offer_uri"].as_str().unwrap().to_owned(),
            out["tx_code"].as_str().unwrap().to_owned(),
        )
    }

    /// The hotel syncs the bureau's trust bundle (keys and status lists), after the issuance.
    fn sync_hotel(&self) {
        self.tool("verifier", &["sync", "--data", "hotel", &self.issuer.url]);
    }

    /// A hotel request (`verifier request --profile hotel`): the `openid4vp://` URI.
    fn hotel_request(&self) -> String {
        let out = self.tool(
            "verifier",
            &["request", "--data", "hotel", "--profile", "hotel"],
        );
        out.stdout
            .lines()
            .find(|l| l.starts_with("openid4vp://"))
            .unwrap()
            .to_owned()
    }

    /// `wallet init` and `wallet receive` of a fresh enrolment into `data`: the receive JSON.
    fn wallet_with_credentials(&self, wallet: &Wallet, data: &str) -> Value {
        let (offer, tx_code) = self.enrol();
        let init = wallet.run(self.dir(), PASSPHRASE, &["init", "--data", data]);
        assert_eq!(init.code, 0, "{}: init: {}", wallet.name, init.stderr);
        wallet.receive(self.dir(), data, &offer, &tx_code)
    }
}

/// `list --json` as (format, unused copies), by format.
fn unused_by_format(listed: &Value) -> Vec<(&str, u64)> {
    let mut out: Vec<(&str, u64)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["format"].as_str().unwrap(), b["unused"].as_u64().unwrap()))
        .collect();
    out.sort_unstable();
    out
}

/// The journey, the same for both wallets. `data` is the wallet directory's name.
fn hotel_journey(wallet: &Wallet) {
    let j = Journey::start();
    let data = "wallet-data";
    let (offer, tx_code) = j.enrol();
    let w = |pass: &str, args: &[&str]| wallet.run(j.dir(), pass, args);
    let name = wallet.name;

    // init, and a second init on the same directory is refused.
    let init = w(PASSPHRASE, &["init", "--data", data]);
    assert_eq!(init.code, 0, "{name}: init: {}", init.stderr);
    assert_eq!(init.stdout, format!("wallet created in {data}\n"), "{name}");
    w(PASSPHRASE, &["init", "--data", data]).assert_failed(
        &format!("{name}: init twice"),
        2,
        "error: ",
        "already holds a wallet",
    );

    // A wrong passphrase: refused before anything is sent or read.
    w(
        "not the passphrase",
        &["receive", "--data", data, &offer, "--tx-code", &tx_code],
    )
    .assert_failed(
        &format!("{name}: wrong passphrase"),
        1,
        "refused: ",
        "wrong storage key",
    );
    // A wrong tx_code: the issuer's invalid_grant; nothing stored.
    w(
        PASSPHRASE,
        &["receive", "--data", data, &offer, "--tx-code", "000000"],
    )
    .assert_failed(
        &format!("{name}: wrong tx_code"),
        1,
        "refused: ",
        "invalid_grant",
    );
    let empty = w(PASSPHRASE, &["list", "--data", data, "--json"]);
    assert_eq!(
        empty.json(),
        serde_json::json!([]),
        "{name}: nothing stored"
    );
    // An offer over plain http to a host that is not loopback: refused before it is fetched.
    w(
        PASSPHRASE,
        &[
            "receive",
            "--data",
            data,
            "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fid.example.cn%2Foffers%2Fx",
        ],
    )
    .assert_failed(
        &format!("{name}: plain http offer"),
        1,
        "refused: ",
        "is not https",
    );
    // A --data that is not a wallet.
    std::fs::create_dir_all(j.dir().join("not-a-wallet")).unwrap();
    std::fs::write(j.dir().join("not-a-wallet/notes.txt"), "hello").unwrap();
    w(PASSPHRASE, &["list", "--data", "not-a-wallet"]).assert_failed(
        &format!("{name}: not a wallet"),
        2,
        "error: ",
        "no wallet in not-a-wallet",
    );

    // Receive with the tx_code: both configurations, every copy verified.
    let received = wallet.receive(j.dir(), data, &offer, &tx_code);
    assert_eq!(received["issuer"], j.issuer.url.as_str(), "{name}");
    let batches = received["batches"].as_array().unwrap();
    let formats: Vec<&str> = batches
        .iter()
        .map(|b| b["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["dc+sd-jwt", "vc+sd-jwt"], "{name}: {received}");
    for b in batches {
        assert_eq!(b["level"], "high", "{name}");
        assert_eq!(b["vct"], "urn:cn:citizen-id:high:1", "{name}");
        assert_eq!(b["copies"], 10, "{name}: the default batch");
        assert!(b["batch_id"].as_str().is_some_and(|id| !id.is_empty()));
    }
    let listed = w(PASSPHRASE, &["list", "--data", data, "--json"]).json();
    assert_eq!(
        unused_by_format(&listed),
        [("dc+sd-jwt", 10), ("vc+sd-jwt", 10)],
        "{name}: {listed}"
    );
    // The card opens: the claims as issued, sealed at rest.
    let batch_id = batches[0]["batch_id"].as_str().unwrap();
    let card = w(PASSPHRASE, &["show", batch_id, "--data", data, "--json"]);
    assert_eq!(card.code, 0, "{name}: show: {}", card.stderr);
    let card = card.json();
    assert_eq!(card["credential"]["batch_id"], batch_id, "{name}");
    assert_eq!(card["claims"]["id_number"], ID_NUMBER, "{name}");
    let stored = std::fs::read_dir(j.dir().join(data))
        .unwrap()
        .fold(Vec::new(), |mut all, f| {
            all.extend(std::fs::read(f.unwrap().path()).unwrap());
            all
        });
    assert!(
        !stored
            .windows(ID_NUMBER.len())
            .any(|w| w == ID_NUMBER.as_bytes()),
        "{name}: the id number is not stored in clear"
    );

    // The hotel syncs, then works offline: its request; the wallet answers after consent
    // (--yes) with an answer QR code.
    j.sync_hotel();
    let request = j.hotel_request();
    let presented = w(
        PASSPHRASE,
        &[
            "present",
            "--data",
            data,
            &request,
            "--yes",
            "--png",
            "answer.png",
            "--json",
        ],
    );
    assert_eq!(presented.code, 0, "{name}: present: {}", presented.stderr);
    assert_eq!(
        presented.stderr, "",
        "{name}: --json --yes prints only JSON"
    );
    let presented = presented.json();
    let consent = &presented["consent"];
    assert_eq!(
        consent["client_id"], "redirect_uri:https://offline.invalid/hotel.example",
        "{name}"
    );
    assert_eq!(consent["asker"], "hotel.example", "{name}");
    assert_eq!(consent["response_uri"], Value::Null, "{name}: offline");
    let asked: Vec<&str> = consent["items"][0]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        asked, HOTEL_CLAIMS,
        "{name}: the consent lists what is asked"
    );
    let answer = presented["answer"].as_str().unwrap();
    assert!(
        answer.starts_with("VP2:"),
        "{name}: the compact offline form"
    );
    assert_eq!(presented["copies_used"].as_array().unwrap().len(), 1);
    std::fs::write(j.dir().join("answer.txt"), answer).unwrap();

    // The desk reads the answer's QR code (the PNG) and accepts exactly what was asked.
    let verified = j.tool(
        "verifier",
        &["verify", "--data", "hotel", "--json", "answer.png"],
    );
    let verified = verified.json();
    assert_eq!(verified["accepted"], true, "{name}: {verified}");
    assert_eq!(verified["level"], "high", "{name}");
    assert_eq!(verified["profile"], "hotel", "{name}");
    let mut disclosed: Vec<&str> = verified["disclosed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    disclosed.sort_unstable();
    assert_eq!(
        disclosed, HOTEL_CLAIMS,
        "{name}: exactly the requested claims"
    );
    assert!(verified["claims"].get("birthdate").is_none(), "{name}");
    assert!(verified["claims"].get("address").is_none(), "{name}");
    // The same answer shown again is refused.
    let again = j.run_tool(
        "verifier",
        &["verify", "--data", "hotel", "--json", "answer.txt"],
    );
    assert_eq!(again.code, 1, "{name}: replay: {}", again.stdout);
    assert_eq!(again.json()["error"], "nonce_unknown_or_used", "{name}");
    // The copy shown is used up, in the store.
    let listed = w(PASSPHRASE, &["list", "--data", data, "--json"]).json();
    assert_eq!(
        unused_by_format(&listed),
        [("dc+sd-jwt", 9), ("vc+sd-jwt", 10)],
        "{name}: {listed}"
    );
}

#[test]
fn the_rust_wallet_passes_the_offline_hotel_journey() {
    hotel_journey(&Wallet::rust(&workspace_binaries()));
}

#[test]
fn the_wasm_wallet_under_node_passes_the_same_offline_hotel_journey() {
    let Some(node) =
        Wallet::node("the_wasm_wallet_under_node_passes_the_same_offline_hotel_journey")
    else {
        return;
    };
    hotel_journey(&node);
}

/// Reads the Node host's `wallet.records`, lets `edit` change the records, writes it back.
fn edit_records(data: &Path, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let path = data.join("wallet.records");
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(file["records"].as_object_mut().unwrap());
    std::fs::write(&path, file.to_string()).unwrap();
}

#[test]
fn the_node_host_fails_closed_on_a_tampered_sealed_record() {
    let Some(node) = Wallet::node("the_node_host_fails_closed_on_a_tampered_sealed_record") else {
        return;
    };
    let j = Journey::start();
    j.wallet_with_credentials(&node, "wallet-data");
    // One bit of one sealed credential record flipped (its authentication tag).
    edit_records(&j.dir().join("wallet-data"), |records| {
        let (_, value) = records
            .iter_mut()
            .find(|(k, _)| k.as_str() != "meta:key_check")
            .unwrap();
        let mut sealed = credential::b64::decode(value.as_str().unwrap()).unwrap();
        *sealed.last_mut().unwrap() ^= 1;
        *value = Value::from(credential::b64::encode(&sealed));
    });
    node.run(
        j.dir(),
        PASSPHRASE,
        &["list", "--data", "wallet-data", "--json"],
    )
    .assert_failed("tampered record", 2, "error: ", "corrupted");
}

#[test]
fn the_node_host_refuses_a_data_dir_sealed_under_another_passphrase() {
    let Some(node) =
        Wallet::node("the_node_host_refuses_a_data_dir_sealed_under_another_passphrase")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let init = node.run(dir.path(), "the first passphrase", &["init", "--data", "w"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    node.run(dir.path(), "another passphrase", &["list", "--data", "w"])
        .assert_failed("another passphrase", 1, "refused: ", "wrong storage key");
    // The right one still opens it: the refusal wrote nothing.
    let listed = node.run(
        dir.path(),
        "the first passphrase",
        &["list", "--data", "w", "--json"],
    );
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(listed.json(), serde_json::json!([]));
}

#[test]
fn the_node_host_refuses_the_rust_wallets_directory() {
    let Some(node) = Wallet::node("the_node_host_refuses_the_rust_wallets_directory") else {
        return;
    };
    let bin = workspace_binaries();
    let dir = tempfile::tempdir().unwrap();
    let rust = Wallet::rust(&bin);
    let init = rust.run(dir.path(), PASSPHRASE, &["init", "--data", "w"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    node.run(dir.path(), PASSPHRASE, &["list", "--data", "w"])
        .assert_failed(
            "the Rust wallet's directory",
            2,
            "error: ",
            "holds a wallet of the Rust `wallet` CLI",
        );
}

#[test]
fn the_node_host_refuses_a_records_file_that_is_not_one() {
    let Some(node) = Wallet::node("the_node_host_refuses_a_records_file_that_is_not_one") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let init = node.run(dir.path(), PASSPHRASE, &["init", "--data", "w"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    std::fs::write(dir.path().join("w/wallet.records"), "[1, 2, 3]").unwrap();
    node.run(dir.path(), PASSPHRASE, &["list", "--data", "w"])
        .assert_failed(
            "records file not a records file",
            2,
            "error: ",
            "wallet.records is not a wallet record file: not a json object",
        );
}

/// One copy, shown once: a second answer is refused until `present --refresh` gets a fresh
/// batch from the issuer, which the hotel then accepts. The same for both wallets.
fn single_copy_journey(wallet: &Wallet) {
    let j = Journey::start();
    let name = wallet.name;
    let (offer, tx_code) = j.enrol();
    let w = |args: &[&str]| wallet.run(j.dir(), PASSPHRASE, args);
    assert_eq!(w(&["init", "--data", "w"]).code, 0, "{name}: init");
    let received = w(&[
        "receive",
        "--data",
        "w",
        &offer,
        "--tx-code",
        &tx_code,
        "--copies",
        "1",
        "--configuration",
        "citizen_id_high_dc_sd_jwt",
        "--json",
    ]);
    assert_eq!(received.code, 0, "{name}: receive: {}", received.stderr);
    let received = received.json();
    assert_eq!(received["batches"].as_array().unwrap().len(), 1, "{name}");
    assert_eq!(received["batches"][0]["copies"], 1, "{name}");
    j.sync_hotel();

    let answer_and_verify = |extra: &[&str]| {
        let request = j.hotel_request();
        let mut args = vec![
            "present",
            "--data",
            "w",
            request.as_str(),
            "--yes",
            "--json",
        ];
        args.extend_from_slice(extra);
        let presented = w(&args);
        assert_eq!(presented.code, 0, "{name}: present: {}", presented.stderr);
        let answer = presented.json()["answer"].as_str().unwrap().to_owned();
        std::fs::write(j.dir().join("answer.txt"), answer).unwrap();
        let verified = j.tool(
            "verifier",
            &["verify", "--data", "hotel", "--json", "answer.txt"],
        );
        assert_eq!(verified.json()["accepted"], true, "{name}");
        presented
    };
    answer_and_verify(&[]);
    // The only copy was shown: no second answer with it unless asked to reuse or refresh.
    let request = j.hotel_request();
    w(&["present", "--data", "w", &request, "--yes", "--json"]).assert_failed(
        &format!("{name}: the copy was shown"),
        1,
        "refused: ",
        "every copy of a requested credential was shown before",
    );
    let refreshed = answer_and_verify(&["--refresh"]);
    assert!(
        refreshed.stderr.contains("refreshed"),
        "{name}: says it refreshed: {}",
        refreshed.stderr
    );
}

#[test]
fn the_rust_wallet_shows_a_copy_once_then_refreshes() {
    single_copy_journey(&Wallet::rust(&workspace_binaries()));
}

#[test]
fn the_wasm_wallet_under_node_shows_a_copy_once_then_refreshes() {
    let Some(node) = Wallet::node("the_wasm_wallet_under_node_shows_a_copy_once_then_refreshes")
    else {
        return;
    };
    single_copy_journey(&node);
}

#[test]
fn the_node_host_refuses_an_oversized_records_file_before_reading_it() {
    let Some(node) =
        Wallet::node("the_node_host_refuses_an_oversized_records_file_before_reading_it")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let init = node.run(dir.path(), PASSPHRASE, &["init", "--data", "w"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    // Sparse: the size says 256 MiB and one byte; nothing is written or read.
    std::fs::File::create(dir.path().join("w/wallet.records"))
        .unwrap()
        .set_len(256 * 1024 * 1024 + 1)
        .unwrap();
    node.run(dir.path(), PASSPHRASE, &["list", "--data", "w"])
        .assert_failed(
            "oversized records file",
            2,
            "error: ",
            "wallet.records is larger than 268435456 bytes",
        );
}

#[test]
fn the_node_host_refuses_an_edited_kdf_file_before_deriving() {
    let Some(node) = Wallet::node("the_node_host_refuses_an_edited_kdf_file_before_deriving")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let init = node.run(dir.path(), PASSPHRASE, &["init", "--data", "w"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let path = dir.path().join("w/kdf.json");
    let mut kdf: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    kdf["m_cost"] = Value::from(4_294_967_295_u64);
    std::fs::write(&path, kdf.to_string()).unwrap();
    node.run(dir.path(), PASSPHRASE, &["list", "--data", "w"])
        .assert_failed(
            "edited kdf.json",
            2,
            "error: ",
            "kdf.json: m_cost = 4294967295 is not the 19456 this host derives with",
        );
}
