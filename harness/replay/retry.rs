//! The retry policy and the classification of responses. A retried request is not a lost one;
//! a throttled request waits exactly as long as the server asked (`Retry-After`), and other
//! transient failures back off exponentially with full jitter, capped.

use std::time::Duration;

use rand::Rng;

use crate::measure::Outcome;

/// Classifies an HTTP status (0 = no response) into an [`Outcome`].
pub fn classify(status: u16) -> Outcome {
    match status {
        0 => Outcome::Transport,
        200..=206 | 208..=299 => Outcome::Ok,
        // A multi-status batch: some inputs failed. Upserts are idempotent, so the whole batch
        // is retried.
        207 => Outcome::Transient,
        429 => Outcome::Throttled,
        408 | 423 | 500..=599 => Outcome::Transient,
        _ => Outcome::Rejected,
    }
}

/// Classifies a whole response: its status, and the vendor signals a status alone hides
/// (Salesforce throttles with 403 `REQUEST_LIMIT_EXCEEDED`, not 429).
pub fn classify_response(response: &super::CallResponse) -> Outcome {
    if response.status == 403 && response.body.value().is_some_and(is_request_limit) {
        return Outcome::Throttled;
    }
    classify(response.status)
}

/// A Salesforce error body (`[{"errorCode": "REQUEST_LIMIT_EXCEEDED", ...}]`) saying the org's
/// API allocation or concurrency limit refused the call.
fn is_request_limit(body: &serde_json::Value) -> bool {
    let code = |e: &serde_json::Value| {
        e.get("errorCode").and_then(serde_json::Value::as_str) == Some("REQUEST_LIMIT_EXCEEDED")
    };
    match body {
        serde_json::Value::Array(errors) => errors.iter().any(code),
        other => code(other),
    }
}

/// How many times and how patiently a failed call is retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Wait what `Retry-After` says when the server says it.
    pub honor_retry_after: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            honor_retry_after: true,
        }
    }
}

impl RetryPolicy {
    /// The policy of the harness's own verification calls (read-back is paced by its poll, the
    /// final reconciliation retries with this): the plan's back-off, but at least 8 attempts and
    /// always honouring `Retry-After`. The plan's `[retry]` describes the client under test; a
    /// plan that tries writes once must not make the measuring instrument give up on one 5xx.
    pub fn for_verification(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.max(8),
            honor_retry_after: true,
            ..self.clone()
        }
    }

    /// The wait before attempt `failed_attempt + 1`, or `None` when the record should give up.
    pub fn next_delay<R: Rng + ?Sized>(
        &self,
        failed_attempt: u32,
        outcome: Outcome,
        retry_after: Option<Duration>,
        rng: &mut R,
    ) -> Option<Duration> {
        if !outcome.is_retryable() || failed_attempt >= self.max_attempts {
            return None;
        }
        if self.honor_retry_after
            && let Some(wait) = retry_after
        {
            return Some(wait);
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (failed_attempt - 1).min(20))
            .min(self.max_delay);
        // Full jitter, but never less than a tenth of the base, so retries do not stampede.
        let floor = self.base_delay / 10;
        Some(floor + exp.saturating_sub(floor).mul_f64(rng.random::<f64>()))
    }
}

#[cfg(test)]
mod tests {
    use super::RetryPolicy as Policy;

    #[test]
    fn verification_keeps_the_back_off_but_never_tries_once() {
        let once = Policy {
            max_attempts: 1,
            honor_retry_after: false,
            ..Policy::default()
        };
        let v = once.for_verification();
        assert_eq!(v.max_attempts, 8);
        assert!(v.honor_retry_after);
        assert_eq!(
            (v.base_delay, v.max_delay),
            (once.base_delay, once.max_delay)
        );
        let many = Policy {
            max_attempts: 12,
            ..Policy::default()
        };
        assert_eq!(many.for_verification().max_attempts, 12);
    }

    use super::*;
    use rand::SeedableRng;

    #[test]
    fn statuses_are_classified_like_a_careful_client_would() {
        assert_eq!(classify(200), Outcome::Ok);
        assert_eq!(classify(201), Outcome::Ok);
        assert_eq!(classify(207), Outcome::Transient);
        assert_eq!(classify(429), Outcome::Throttled);
        assert_eq!(classify(503), Outcome::Transient);
        assert_eq!(classify(0), Outcome::Transport);
        assert_eq!(classify(400), Outcome::Rejected);
        assert_eq!(classify(401), Outcome::Rejected);
    }

    #[test]
    fn a_salesforce_request_limit_is_throttling_not_a_rejection() {
        let response = |status, body: serde_json::Value| crate::replay::CallResponse {
            status,
            body: body.into(),
            retry_after: None,
            quota_used: None,
            limits: crate::replay::RateHeaders::default(),
            error: None,
        };
        let limit = serde_json::json!([{ "errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded." }]);
        assert_eq!(classify_response(&response(403, limit)), Outcome::Throttled);
        let denied = serde_json::json!([{ "errorCode": "INSUFFICIENT_ACCESS", "message": "no" }]);
        assert_eq!(classify_response(&response(403, denied)), Outcome::Rejected);
        assert_eq!(
            classify_response(&response(429, serde_json::Value::Null)),
            Outcome::Throttled
        );
    }

    #[test]
    fn retry_after_is_honoured_exactly_and_backoff_is_capped() {
        let policy = RetryPolicy::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        assert_eq!(
            policy.next_delay(
                1,
                Outcome::Throttled,
                Some(Duration::from_secs(2)),
                &mut rng
            ),
            Some(Duration::from_secs(2))
        );
        for attempt in 1..policy.max_attempts {
            let d = policy
                .next_delay(attempt, Outcome::Transient, None, &mut rng)
                .unwrap();
            assert!(
                d <= policy.max_delay && d >= policy.base_delay / 10,
                "{d:?}"
            );
            let cap = policy.base_delay * (1 << (attempt - 1));
            assert!(d <= cap.min(policy.max_delay), "attempt {attempt}: {d:?}");
        }
        assert_eq!(
            policy.next_delay(6, Outcome::Transient, None, &mut rng),
            None
        );
        assert_eq!(
            policy.next_delay(1, Outcome::Rejected, None, &mut rng),
            None
        );
    }
}
