//! The `wallet` binary end to end against the real issuer: init, a wrong passphrase, receive,
//! list, show, present (offline, with and without consent), delete.

use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::support::*;

fn wallet(dir: &std::path::Path, pass: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wallet"))
        .args(args)
        .arg("--data")
        .arg(dir)
        .env("WALLET_PASSPHRASE", pass)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_journey() {
    let t = start_issuer().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let pass = "correct horse battery staple";

    let o = wallet(&dir, pass, &["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(wallet(&dir, pass, &["init"]).status.code(), Some(2));
    let o = wallet(&dir, "wrong", &["list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("wrong storage key"), "{}", stderr(&o));

    let offer = t.enrol_high(&high_claims(20)).await;
    let uri = offer["offer_uri"].as_str().unwrap().to_owned();
    let tx = offer["tx_code"].as_str().unwrap().to_owned();
    let o = wallet(
        &dir,
        pass,
        &[
            "receive",
            &uri,
            "--tx-code",
            &tx,
            "--copies",
            "2",
            "--configuration",
            "citizen_id_high_dc_sd_jwt",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let received: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let batch = received["batches"][0]["batch_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(received["batches"][0]["copies"], 2);

    let o = wallet(&dir, pass, &["list", "--json"]);
    let list: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(list[0]["batch_id"], batch.as_str());
    assert_eq!(list[0]["level"], "high");
    assert_eq!(list[0]["unused"], 2);

    let o = wallet(&dir, pass, &["show", &batch]);
    assert!(o.status.success(), "{}", stderr(&o));
    let card = stdout(&o);
    assert!(card.contains("level high"), "{card}");
    assert!(card.contains("ID number"), "{card}");
    assert!(card.contains(&id_number(20)), "{card}");

    let dcql = json!({"credentials": [{"id": "hotel", "format": "dc+sd-jwt",
        "claims": [{"path": ["given_name"]}, {"path": ["id_number"]}]}]});
    let request = vp_request("hotel.example", "n-cli", &dcql);
    // No terminal and no --yes: no consent, nothing shown.
    let o = wallet(&dir, pass, &["present", &request]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no consent"), "{}", stderr(&o));
    let png = tmp.path().join("answer.png");
    let o = wallet(
        &dir,
        pass,
        &[
            "present",
            &request,
            "--yes",
            "--json",
            "--png",
            png.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let compact = out["answer"].as_str().unwrap();
    assert!(compact.starts_with("VP2:"), "{compact}");
    let plain = credential::compact::decode(compact, 1 << 20).unwrap();
    assert!(plain.starts_with("{\"hotel\":[\"ey"), "{plain}");
    assert_eq!(out["answer_json_bytes"], plain.len());
    assert!(out["qr_version"].as_i64().unwrap() <= 40);
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");

    // The second copy, then none left: refused, with the way out named.
    let o = wallet(&dir, pass, &["present", &request, "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = wallet(&dir, pass, &["present", &request, "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--refresh"), "{}", stderr(&o));
    let o = wallet(&dir, pass, &["list"]);
    assert!(
        stdout(&o).contains("0/2 unused (refreshable)"),
        "{}",
        stdout(&o)
    );
    // --refresh: a fresh batch from the issuer, then the answer.
    let o = wallet(&dir, pass, &["present", &request, "--yes", "--refresh"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("refreshed"), "{}", stderr(&o));
    let o = wallet(&dir, pass, &["refresh", &batch, "--copies", "3", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(out["copies"], 3);
    let o = wallet(&dir, pass, &["refresh", "nope"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    // A claim the citizen does not have.
    let missing = request.replace("id_number", "email");
    let o = wallet(&dir, pass, &["present", &missing, "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("email"), "{}", stderr(&o));

    let o = wallet(&dir, pass, &["delete", &batch]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = wallet(&dir, pass, &["list", "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&o)).unwrap(),
        json!([])
    );
    t.stop().await;
}

/// Runs `wallet keygen` with `args` (no data directory).
fn keygen(args: &[&str]) -> Output {
    testkit::cli::keygen(env!("CARGO_BIN_EXE_wallet"), args)
}

#[test]
fn keygen_checks_both_outputs_before_writing_anything() {
    let tmp = testkit::cli::keygen_checks_both_outputs_before_writing_anything(
        env!("CARGO_BIN_EXE_wallet"),
        2,
    );
    let fresh = tmp.path().join("fresh.jwk");
    // Public key to stdout; `es256` is P-256.
    let o = keygen(&["--alg", "es256", "--out", fresh.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let jwk: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(jwk["crv"], "P-256");
    // The old spelling is gone.
    let o = keygen(&["--eddsa", "--out", tmp.path().join("x").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn receive_names_the_url_it_could_not_reach() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let pass = "correct horse battery staple";
    assert!(wallet(&dir, pass, &["init"]).status.success());
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{port}");
    // By reference: the offer's URL is named by its origin only (its path names the offer).
    let uri = format!(
        "openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Foffers%2Fsecret-offer-id"
    );
    let o = wallet(&dir, pass, &["receive", &uri, "--tx-code", "123456"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("credential_offer_uri at {issuer}: cannot connect")),
        "{err}"
    );
    assert!(!err.contains("secret-offer-id"), "{err}");
    // By value: the issuer's metadata URL is named whole.
    let offer = json!({
        "credential_issuer": issuer,
        "credential_configuration_ids": ["citizen_id_basic_dc_sd_jwt"],
        "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "c"}},
    });
    let uri = format!(
        "openid-credential-offer://?{}",
        serde_urlencoded::to_string([("credential_offer", offer.to_string())]).unwrap()
    );
    let o = wallet(&dir, pass, &["receive", &uri]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "at {issuer}/.well-known/openid-credential-issuer: cannot connect"
        )),
        "{}",
        stderr(&o)
    );
}

/// An edited `kdf.json` asking Argon2 for 4 TiB of memory (or 2^32 passes, or 2^24 lanes) is
/// refused with one line naming the parameter and exit 2, never an abort.
#[test]
fn cli_refuses_an_edited_kdf_file_with_huge_costs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let pass = "correct horse battery staple";
    let o = wallet(&dir, pass, &["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let path = dir.join("kdf.json");
    let original: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (name, huge) in [
        ("m_cost", json!(4_294_967_295u64)),
        ("t_cost", json!(4_294_967_295u64)),
        ("p_cost", json!(16_777_215u64)),
    ] {
        let mut edited = original.clone();
        edited[name] = huge;
        std::fs::write(&path, edited.to_string()).unwrap();
        let o = wallet(&dir, pass, &["list"]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("kdf.json: {name} = ")) && err.contains("outside the accepted"),
            "{name}: {err}"
        );
    }
    // The original parameters still open the wallet.
    std::fs::write(&path, original.to_string()).unwrap();
    assert!(wallet(&dir, pass, &["list"]).status.success());
}
