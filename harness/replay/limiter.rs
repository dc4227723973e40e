//! The client-side limiter: `[load] limit = "9/s"` (with `limit_burst`) holds the harness's write
//! calls to the contract's rate before the vendor has to throttle them, as a well-behaved
//! integration does. A token bucket from `governor`; on a compressed clock its period is scaled
//! to real time, so the limit holds on the run's clock.

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use syncproof_mocks::Clock;

use crate::units::Rate;

/// Paces write calls to at most `rate`, with bursts of `burst`.
pub struct ClientLimiter {
    limiter: DefaultDirectRateLimiter,
    rate: Rate,
    burst: u32,
}

impl std::fmt::Debug for ClientLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientLimiter")
            .field("rate", &self.rate)
            .field("burst", &self.burst)
            .finish()
    }
}

impl ClientLimiter {
    /// `None` when the numbers cannot make a quota (a zero period or burst).
    pub fn new(rate: Rate, burst: u32, clock: &Clock) -> Option<ClientLimiter> {
        let quota = Quota::with_period(clock.to_real(rate.interval()))?
            .allow_burst(NonZeroU32::new(burst)?);
        Some(ClientLimiter {
            limiter: RateLimiter::direct(quota),
            rate,
            burst,
        })
    }

    /// Waits until one more call is allowed.
    pub async fn wait(&self) {
        self.limiter.until_ready().await;
    }
}
