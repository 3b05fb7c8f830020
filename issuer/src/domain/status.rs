//! Status changes as records: the outcome of a change, the status-change log's entries and
//! bounds, and the rules of status-list shards (drawing an index, closing a full shard).

use rand_core::RngCore;
use serde::Serialize;

/// The outcome of a status change.
#[derive(Debug, Clone, Serialize)]
pub struct StatusChange {
    /// Credentials whose status changed.
    pub changed: Vec<String>,
    /// The status they now have.
    pub status: &'static str,
}

/// The published forms of one shard, built from one read of its 2-bit state.
#[derive(Debug, Clone)]
pub struct ShardLists {
    /// The `statuslist+jwt` (draft-ietf-oauth-status-list section 5.1).
    pub token: String,
    /// The W3C `BitstringStatusListCredential` with `statusPurpose: revocation`, as a `vc+jwt`:
    /// bit set where the 2-bit status is 1.
    pub revocation: String,
    /// The same with `statusPurpose: suspension`: bit set where the 2-bit status is 2.
    pub suspension: String,
    /// The status-change log's high-water mark read before the shard's state: these lists
    /// reflect every change up to it (`status_changes`).
    pub status_seq: i64,
}

/// One logged change: entry `idx` of shard `shard` now has 2-bit value `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedChange {
    /// Shard.
    pub shard: i64,
    /// Index in the shard.
    pub idx: i64,
    /// The new 2-bit value (0 valid, 1 revoked, 2 suspended).
    pub status: i64,
}

/// What the log holds, for deciding whether a delta since `since` can be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBounds {
    /// The newest `seq` (0 when the log is empty).
    pub latest: i64,
    /// The oldest `seq` still in the log, if any.
    pub oldest: Option<i64>,
    /// When change `since` was made, if it is in the log.
    pub since_at: Option<i64>,
}

/// `(shard, size)` of every shard.
pub type ShardSizes = Vec<(i64, i64)>;

/// A uniform random index below `size`, by rejection sampling from `rng`.
pub(crate) fn draw_index(rng: &mut impl RngCore, size: u32) -> u32 {
    let size = size.max(1);
    let limit = u32::MAX - u32::MAX % size;
    loop {
        let v = rng.next_u32();
        if v < limit {
            return v % size;
        }
    }
}

/// Whether taking one more entry (after `allocated`) closes a shard of `size` entries: at three
/// quarters full, so a random probe still finds a free index in a few tries.
pub(crate) fn closes_shard(allocated: i64, size: i64) -> bool {
    (allocated + 1) * 4 >= size * 3
}
