//! The issuer's clock, a parameter of the [`crate::service::Issuer`] as `credential` takes
//! `now` as a parameter of every check: the service reads time only through it, so a test can
//! run the issuer at a fixed or advanced time.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Seconds since the Unix epoch.
    fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// The operating system's clock (the server and the command line).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// A clock that stands still until it is set or advanced (tests).
#[derive(Debug, Default)]
pub struct FixedClock {
    ms: AtomicI64,
}

impl FixedClock {
    /// A clock standing at `secs` seconds since the Unix epoch.
    pub fn at(secs: i64) -> FixedClock {
        FixedClock {
            ms: AtomicI64::new(secs.saturating_mul(1000)),
        }
    }

    /// Sets it to `secs` seconds since the Unix epoch.
    pub fn set(&self, secs: i64) {
        self.ms.store(secs.saturating_mul(1000), Ordering::Relaxed);
    }

    /// Moves it forward by `secs` seconds.
    pub fn advance(&self, secs: i64) {
        self.ms
            .fetch_add(secs.saturating_mul(1000), Ordering::Relaxed);
    }
}

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_set_or_advanced() {
        let clock = FixedClock::at(1_000);
        assert_eq!((clock.now(), clock.now_ms()), (1_000, 1_000_000));
        clock.advance(60);
        assert_eq!(clock.now(), 1_060);
        clock.set(5);
        assert_eq!(clock.now(), 5);
    }

    #[test]
    fn the_system_clock_agrees_in_seconds_and_milliseconds() {
        let clock = SystemClock;
        let (s, ms) = (clock.now(), clock.now_ms());
        assert!((ms / 1000 - s).abs() <= 1, "{s} s vs {ms} ms");
        assert!(s > 1_700_000_000);
    }
}
