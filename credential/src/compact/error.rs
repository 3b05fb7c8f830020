//! Why a compact text does not decode.

/// Why a compact text does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompactError {
    /// The text does not start with a `VP<n>:` prefix.
    #[error("not a compact answer (no VP1: or VP2: prefix)")]
    Prefix,
    /// A `VP<n>:` prefix of a version this decoder does not read.
    #[error("unknown compact form version {version}")]
    UnknownVersion {
        /// The version the prefix names.
        version: u16,
    },
    /// A `VP2:` answer packed with a preset dictionary this decoder does not know.
    #[error("unknown compact form dictionary {id}")]
    Dictionary {
        /// The dictionary id of the answer.
        id: u8,
    },
    /// The packed form ends before its structure or its raw parts do.
    #[error("compact answer truncated")]
    Truncated,
    /// Bytes are left after everything the packed form describes.
    #[error("trailing bytes after the compact answer")]
    TrailingBytes,
    /// A character outside the base45 alphabet, a bad length, or a value out of range.
    #[error("invalid base45")]
    Base45,
    /// The deflate stream is corrupt or its checksum fails.
    #[error("invalid compressed data")]
    Inflate,
    /// The decompressed text would exceed the caller's limit.
    #[error("decompressed answer larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The records are malformed, or the result is not UTF-8.
    #[error("invalid records")]
    Records,
}
