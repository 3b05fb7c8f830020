//! The size limits of decoding: below the list, its encoding and the token, importing nothing.

/// Size limits applied before and during decoding, so hostile input costs bounded memory and
/// time (draft-ietf-oauth-status-list section 11.1; STYLE: limits before parsing).
///
/// Start from [`Limits::default`] and change fields as needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest compact Status List Token accepted, in bytes. Default 8 MiB.
    pub max_token_bytes: usize,
    /// The largest compressed byte array (`lst` after base64url decoding) accepted, in bytes.
    /// Checked from the text length before decoding. Default 4 MiB.
    pub max_compressed_bytes: usize,
    /// The largest uncompressed byte array accepted, in bytes. Inflation stops as soon as the
    /// output would exceed it. Default 16 MiB (2^27 one-bit entries, 2^26 two-bit entries).
    pub max_decompressed_bytes: usize,
}

impl Limits {
    /// The default limits, as a constant.
    pub const DEFAULT: Limits = Limits {
        max_token_bytes: 8 << 20,
        max_compressed_bytes: 4 << 20,
        max_decompressed_bytes: 16 << 20,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}
