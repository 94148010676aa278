//! How long to wait before asking a registry again: `Retry-After` when the
//! registry says, otherwise exponential back-off with full jitter, so many
//! refit replicas (or scans) do not retry in lockstep.

use std::time::{Duration, SystemTime};

/// Retry policy for 429 and 503 answers and connection failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Base of the exponential wait.
    pub base: Duration,
    /// No single wait is longer than this; a `Retry-After` beyond it makes
    /// the request fail instead of holding a scan.
    pub max_wait: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            max_retries: 4,
            base: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The wait before retry number `retry` (0-based): the registry's
    /// `Retry-After` if given, else a random wait in `[0, base · 2^retry]`.
    /// `None` when the registry asks for longer than `max_wait`.
    pub fn wait(&self, retry: u32, retry_after: Option<Duration>, random: f64) -> Option<Duration> {
        if let Some(asked) = retry_after {
            return (asked <= self.max_wait).then_some(asked);
        }
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(retry.min(16)))
            .min(self.max_wait);
        Some(ceiling.mul_f64(random.clamp(0.0, 1.0)))
    }
}

/// Reads a `Retry-After` header: delay-seconds or an HTTP date (a date in
/// the past means now).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(date.timestamp()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        let date = chrono::DateTime::from_timestamp(1_795_000_030, 0)
            .expect("valid")
            .to_rfc2822();
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
        let past = chrono::DateTime::from_timestamp(1_794_000_000, 0)
            .expect("valid")
            .to_rfc2822();
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn the_registrys_retry_after_wins_unless_it_is_too_long() {
        let backoff = Backoff::default();
        assert_eq!(
            backoff.wait(3, Some(Duration::from_secs(2)), 0.9),
            Some(Duration::from_secs(2))
        );
        assert_eq!(backoff.wait(0, Some(Duration::from_secs(3600)), 0.9), None);
    }

    #[test]
    fn waits_grow_exponentially_up_to_the_cap() {
        let backoff = Backoff::default();
        assert_eq!(backoff.wait(0, None, 1.0), Some(Duration::from_millis(500)));
        assert_eq!(backoff.wait(2, None, 1.0), Some(Duration::from_secs(2)));
        assert_eq!(backoff.wait(10, None, 1.0), Some(Duration::from_secs(60)));
        assert_eq!(backoff.wait(2, None, 0.5), Some(Duration::from_secs(1)));
    }

    proptest! {
        #[test]
        fn a_wait_never_exceeds_the_cap(retry in 0u32..100, random in 0.0f64..=1.0) {
            let backoff = Backoff::default();
            let wait = backoff.wait(retry, None, random).expect("no Retry-After, always a wait");
            prop_assert!(wait <= backoff.max_wait);
        }
    }
}
