use std::io::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map};

use credential::b64;
use credential::jose::{sign_compact, SigningKey};

/// A credential's entry in a status list (Token Status List section 6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReference {
    /// Index in the list.
    pub idx: u32,
    /// The status-list token's URI.
    pub uri: String,
}

/// A two-bit status list (Token Status List section 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bytes: Vec<u8>,
}

impl StatusList {
    /// `len` entries, all VALID.
    pub fn new(len: usize) -> StatusList {
        StatusList {
            bytes: vec![0; len.div_ceil(4)],
        }
    }

    /// Sets entry `idx` to `value` (two bits). Out-of-range indexes are ignored.
    pub fn set(&mut self, idx: usize, value: u8) {
        if let Some(byte) = self.bytes.get_mut(idx / 4) {
            let shift = (idx % 4) * 2;
            *byte = (*byte & !(0b11 << shift)) | ((value & 0b11) << shift);
        }
    }

    /// `{"bits": 2, "lst": base64url(zlib(bytes))}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing into a Vec cannot fail.
        let _ = z.write_all(&self.bytes);
        let compressed = z.finish().unwrap_or_default();
        json!({"bits": 2, "lst": b64::encode(compressed)})
    }
}

/// Signs a status-list token (`typ: statuslist+jwt`, section 5.1).
pub fn sign_status_list_token(
    list: &StatusList,
    uri: &str,
    issued_at: i64,
    expires_at: i64,
    ttl: i64,
    key: &SigningKey,
) -> String {
    let mut header = Map::new();
    header.insert("typ".into(), json!("statuslist+jwt"));
    header.insert("kid".into(), json!(key.kid()));
    let payload = json!({
        "sub": uri,
        "iat": issued_at,
        "exp": expires_at,
        "ttl": ttl,
        "status_list": list.to_json(),
    });
    sign_compact(header, payload.to_string().as_bytes(), key)
}
