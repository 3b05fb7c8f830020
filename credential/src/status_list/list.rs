use super::error::StatusListError;
use super::limits::Limits;
use super::status::{Bits, Status};

/// A decoded Status List: a byte array of entries of [`Bits`] bits each
/// (draft-ietf-oauth-status-list section 4.1).
///
/// Entry `i` sits in byte `i * bits / 8` at bit offset `(i * bits) % 8`, packed from the least
/// significant bit up (section 4.1 step 3, section 11.1). The number of entries is fixed when
/// the list is made; a list decoded from `lst` has `bytes * 8 / bits` entries, because the
/// byte array does not record how many of its trailing entries are in use.
///
/// The JSON form (section 4.2) lives in [`StatusList::to_json`] and [`StatusList::from_json`].
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: Bits,
    len: u64,
    bytes: Vec<u8>,
    aggregation_uri: Option<String>,
}

impl StatusList {
    /// A list of `len` entries, all 0x00 (`VALID`, the recommended default of section 13.3).
    ///
    /// # Errors
    /// [`StatusListError::EmptyList`] when `len` is 0; [`StatusListError::ListTooLarge`] when the
    /// byte array would exceed [`Limits::DEFAULT`]'s `max_decompressed_bytes`, since no verifier
    /// with default limits could read such a list.
    pub fn new(bits: Bits, len: u64) -> Result<StatusList, StatusListError> {
        if len == 0 {
            return Err(StatusListError::EmptyList);
        }
        let max = Limits::DEFAULT.max_decompressed_bytes;
        let total_bits = len.checked_mul(u64::from(bits.as_u8()));
        let byte_len = total_bits.map(|b| b.div_ceil(8));
        let byte_len = match byte_len.and_then(|n| usize::try_from(n).ok()) {
            Some(n) if n <= max => n,
            _ => {
                return Err(StatusListError::ListTooLarge {
                    bytes: byte_len.unwrap_or(u64::MAX),
                    max,
                })
            }
        };
        Ok(StatusList {
            bits,
            len,
            bytes: vec![0; byte_len],
            aggregation_uri: None,
        })
    }

    /// Wraps an uncompressed byte array (as stored by an issuer, or inflated from `lst`). The
    /// list has `bytes.len() * 8 / bits` entries.
    ///
    /// # Errors
    /// [`StatusListError::EmptyList`] when `bytes` is empty.
    pub fn from_bytes(bits: Bits, bytes: Vec<u8>) -> Result<StatusList, StatusListError> {
        if bytes.is_empty() {
            return Err(StatusListError::EmptyList);
        }
        // usize is at most 64 bits on every supported target, so the cast is lossless; a Vec
        // never holds 2^61 bytes, so the product does not saturate in practice.
        let len = (bytes.len() as u64).saturating_mul(8) / u64::from(bits.as_u8());
        Ok(StatusList {
            bits,
            len,
            bytes,
            aggregation_uri: None,
        })
    }

    /// The bits per entry.
    pub fn bits(&self) -> Bits {
        self.bits
    }

    /// The number of entries.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the list has no entries. Never true for a list built by this crate; present for
    /// symmetry with [`StatusList::len`].
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The uncompressed byte array (section 4.1 steps 2 and 3).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The `aggregation_uri` of the JSON form (section 4.2, section 9.2), if any.
    pub fn aggregation_uri(&self) -> Option<&str> {
        self.aggregation_uri.as_deref()
    }

    /// Sets or clears the `aggregation_uri` written by [`StatusList::to_json`].
    pub fn set_aggregation_uri(&mut self, uri: Option<String>) {
        self.aggregation_uri = uri;
    }

    /// The raw value of entry `idx` (section 4.1, section 8.3 step 6).
    ///
    /// # Errors
    /// [`StatusListError::IndexOutOfRange`] when `idx >= len()`.
    pub fn get(&self, idx: u64) -> Result<u8, StatusListError> {
        let (byte, shift) = self.locate(idx)?;
        Ok((self.bytes[byte] >> shift) & self.bits.max_value())
    }

    /// The typed status of entry `idx` (section 7.1).
    ///
    /// # Errors
    /// [`StatusListError::IndexOutOfRange`] when `idx >= len()`.
    pub fn status(&self, idx: u64) -> Result<Status, StatusListError> {
        self.get(idx).map(Status::from_raw)
    }

    /// Sets entry `idx` to the raw `value` (pass a [`Status`] with `.into()`).
    ///
    /// # Errors
    /// [`StatusListError::IndexOutOfRange`] when `idx >= len()`;
    /// [`StatusListError::ValueTooWide`] when `value` does not fit the list's bits (0x02
    /// `SUSPENDED` in a 1-bit list, say).
    pub fn set(&mut self, idx: u64, value: u8) -> Result<(), StatusListError> {
        let mask = self.bits.max_value();
        if value > mask {
            return Err(StatusListError::ValueTooWide {
                value,
                bits: self.bits.as_u8(),
            });
        }
        let (byte, shift) = self.locate(idx)?;
        let cell = &mut self.bytes[byte];
        *cell = (*cell & !(mask << shift)) | (value << shift);
        Ok(())
    }

    /// The byte and bit offset of entry `idx`, after the range check. Every index below `len`
    /// lands inside `bytes`: `len * bits <= bytes.len() * 8` by construction.
    fn locate(&self, idx: u64) -> Result<(usize, u32), StatusListError> {
        let out_of_range = StatusListError::IndexOutOfRange { idx, len: self.len };
        if idx >= self.len {
            return Err(out_of_range);
        }
        let bit = idx
            .checked_mul(u64::from(self.bits.as_u8()))
            .ok_or_else(|| out_of_range.clone())?;
        let byte = usize::try_from(bit / 8).map_err(|_| out_of_range.clone())?;
        if byte >= self.bytes.len() {
            return Err(out_of_range);
        }
        // bit % 8 < 8, so it fits.
        Ok((byte, (bit % 8) as u32))
    }
}

impl std::fmt::Debug for StatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusList")
            .field("bits", &self.bits.as_u8())
            .field("len", &self.len)
            .field("bytes", &self.bytes.len())
            .field("aggregation_uri", &self.aggregation_uri)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Section 4.1, first example: 16 entries of 1 bit are 0xB9 0xA3.
    #[test]
    fn section_4_1_one_bit_example() {
        let statuses = [1u8, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
        let mut list = StatusList::new(Bits::One, 16).unwrap();
        for (i, s) in statuses.iter().enumerate() {
            list.set(i as u64, *s).unwrap();
        }
        assert_eq!(list.as_bytes(), [0xb9, 0xa3]);
        let back = StatusList::from_bytes(Bits::One, vec![0xb9, 0xa3]).unwrap();
        assert_eq!(back.len(), 16);
        for (i, s) in statuses.iter().enumerate() {
            assert_eq!(back.get(i as u64).unwrap(), *s);
        }
    }

    /// Section 4.1, second example: 12 entries of 2 bits are 0xC9 0x44 0xF9.
    #[test]
    fn section_4_1_two_bit_example() {
        let statuses = [1u8, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
        let mut list = StatusList::new(Bits::Two, 12).unwrap();
        for (i, s) in statuses.iter().enumerate() {
            list.set(i as u64, *s).unwrap();
        }
        assert_eq!(list.as_bytes(), [0xc9, 0x44, 0xf9]);
        assert_eq!(list.status(1).unwrap(), Status::Suspended);
        assert_eq!(list.status(3).unwrap(), Status::ApplicationSpecific(3));
    }

    #[test]
    fn set_overwrites_only_its_entry() {
        for bits in Bits::ALL {
            let mut list = StatusList::new(bits, 64).unwrap();
            let max = bits.max_value();
            for i in 0..64 {
                list.set(i, max).unwrap();
            }
            list.set(5, 0).unwrap();
            for i in 0..64 {
                assert_eq!(list.get(i).unwrap(), if i == 5 { 0 } else { max }, "{bits}");
            }
        }
    }

    #[test]
    fn rejects_index_out_of_range() {
        let mut list = StatusList::new(Bits::Two, 12).unwrap();
        assert_eq!(
            list.get(12),
            Err(StatusListError::IndexOutOfRange { idx: 12, len: 12 })
        );
        assert_eq!(
            list.set(u64::MAX, 1),
            Err(StatusListError::IndexOutOfRange {
                idx: u64::MAX,
                len: 12
            })
        );
    }

    #[test]
    fn rejects_value_too_wide() {
        let mut list = StatusList::new(Bits::One, 8).unwrap();
        assert_eq!(
            list.set(0, Status::Suspended.into()),
            Err(StatusListError::ValueTooWide { value: 2, bits: 1 })
        );
        let mut list = StatusList::new(Bits::Four, 8).unwrap();
        assert_eq!(
            list.set(0, 0x10),
            Err(StatusListError::ValueTooWide { value: 16, bits: 4 })
        );
    }

    #[test]
    fn sizes() {
        // 2^20 entries of 2 bits: 256 KiB, the citizen-ID shard size.
        let list = StatusList::new(Bits::Two, 1 << 20).unwrap();
        assert_eq!(list.as_bytes().len(), 1 << 18);
        // A partial last byte rounds up.
        assert_eq!(StatusList::new(Bits::One, 9).unwrap().as_bytes().len(), 2);
        assert_eq!(
            StatusList::new(Bits::One, 0),
            Err(StatusListError::EmptyList)
        );
        assert!(matches!(
            StatusList::new(Bits::Eight, u64::MAX),
            Err(StatusListError::ListTooLarge { .. })
        ));
        assert!(matches!(
            StatusList::new(Bits::Eight, 16 * 1024 * 1024 + 1),
            Err(StatusListError::ListTooLarge { .. })
        ));
        assert_eq!(
            StatusList::from_bytes(Bits::One, Vec::new()),
            Err(StatusListError::EmptyList)
        );
    }
}
