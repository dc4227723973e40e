//! How long the relay waits before retrying: the vendor's word on a 429, else exponential
//! backoff with jitter on 5xx and transport errors.
//!
//! A 429 names its own wait (`Retry-After` seconds, else HubSpot's
//! `X-HubSpot-RateLimit-Interval-Milliseconds`); retrying sooner only burns quota. Backoff starts
//! at 100 ms, doubles, caps at 5 s, and draws "equal jitter" (half fixed, half random) so
//! concurrent clients spread out without ever retrying instantly.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(5);
/// The wait when a 429 names none.
const THROTTLE_FALLBACK: Duration = Duration::from_secs(1);

/// The wait before retry number `attempt + 1` after a transient failure.
pub(crate) fn backoff<R: Rng + ?Sized>(attempt: u32, rng: &mut R) -> Duration {
    let ceiling = BACKOFF_START
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(BACKOFF_CAP);
    let half = ceiling / 2;
    half + half.mul_f64(rng.random::<f64>())
}

/// The wait a 429 asks for.
pub(crate) fn throttle_wait(headers: &HeaderMap) -> Duration {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    if let Some(secs) = number(RETRY_AFTER.as_str()) {
        return Duration::from_secs(secs);
    }
    number("x-hubspot-ratelimit-interval-milliseconds")
        .map(Duration::from_millis)
        .unwrap_or(THROTTLE_FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_and_caps() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (attempt, ceiling_ms) in [(0, 100), (1, 200), (3, 800), (6, 5_000), (40, 5_000)] {
            let ceiling = Duration::from_millis(ceiling_ms);
            for _ in 0..100 {
                let d = backoff(attempt, &mut rng);
                assert!(d >= ceiling / 2 && d <= ceiling, "attempt {attempt}: {d:?}");
            }
        }
    }

    #[test]
    fn throttle_wait_prefers_retry_after() {
        let mut headers = HeaderMap::new();
        assert_eq!(throttle_wait(&headers), THROTTLE_FALLBACK);
        headers.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            HeaderValue::from_static("10000"),
        );
        assert_eq!(throttle_wait(&headers), Duration::from_secs(10));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(throttle_wait(&headers), Duration::from_secs(3));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(throttle_wait(&headers), Duration::from_secs(10));
    }
}
