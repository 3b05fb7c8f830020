//! The size limits of parsing and verifying: below both, importing nothing.

/// Size limits checked before any parsing cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum length of the whole serialization, in bytes.
    pub max_bytes: usize,
    /// Maximum number of disclosures.
    pub max_disclosures: usize,
    /// Maximum JSON nesting depth of the payload and of any disclosed value.
    pub max_depth: usize,
}

impl Default for Limits {
    /// 256 KiB (a high-level credential with its portrait fits), 256 disclosures, depth 16.
    fn default() -> Limits {
        Limits {
            max_bytes: 256 * 1024,
            max_disclosures: 256,
            max_depth: 16,
        }
    }
}
