//! Salesforce's request limits: the rolling-24-hour API allocation per org and the concurrency
//! limit on long-running requests (those in flight for 20 s or more), plus session tokens that
//! expire after a time to live without use.
//!
//! The allocation keeps per-minute buckets rather than a timestamp per request, so its memory is
//! bounded (1,440 buckets) whatever the allocation; a request leaves the window between 23 h 59 min
//! and 24 h after it was counted. Every method takes `now` from the engine's one clock.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

pub(crate) const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const BUCKET: Duration = Duration::from_secs(60);

/// Requests counted in the last 24 hours.
#[derive(Debug)]
pub(crate) struct Allocation {
    pub(crate) max: u64,
    /// (bucket start, requests counted in it), oldest first.
    buckets: VecDeque<(Instant, u64)>,
    used: u64,
}

impl Allocation {
    pub(crate) fn new(max: u64, used_at_start: u64, now: Instant) -> Self {
        let mut buckets = VecDeque::new();
        if used_at_start > 0 {
            buckets.push_back((now, used_at_start));
        }
        Allocation {
            max,
            buckets,
            used: used_at_start,
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(start, n)) = self.buckets.front() {
            if now.saturating_duration_since(start) < DAY {
                break;
            }
            self.buckets.pop_front();
            self.used -= n;
        }
    }

    /// Counts one request if the allocation has room; `false` when it is used up (0 = no limit).
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        self.expire(now);
        if self.max > 0 && self.used >= self.max {
            return false;
        }
        match self.buckets.back_mut() {
            Some((start, n)) if now.saturating_duration_since(*start) < BUCKET => *n += 1,
            _ => self.buckets.push_back((now, 1)),
        }
        self.used += 1;
        true
    }

    /// Requests counted in the 24 hours before `now`.
    pub(crate) fn used(&mut self, now: Instant) -> u64 {
        self.expire(now);
        self.used
    }
}

/// Requests in flight and when each started.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    next: u64,
    started: BTreeMap<u64, Instant>,
}

impl InFlight {
    /// How many in-flight requests have run for `after` or longer.
    pub(crate) fn long_running(&self, now: Instant, after: Duration) -> usize {
        self.started
            .values()
            .filter(|s| now.saturating_duration_since(**s) >= after)
            .count()
    }

    pub(crate) fn len(&self) -> usize {
        self.started.len()
    }

    pub(crate) fn start(&mut self, now: Instant) -> u64 {
        self.next += 1;
        self.started.insert(self.next, now);
        self.next
    }

    pub(crate) fn end(&mut self, ticket: u64) {
        self.started.remove(&ticket);
    }
}

/// The cap on remembered sessions; past it, expired ones are forgotten first.
const MAX_SESSIONS: usize = 10_000;

/// Session tokens and when each was last used.
#[derive(Debug)]
pub(crate) struct Sessions {
    ttl: Duration,
    /// Empty: any bearer token opens a session on first use.
    fixed: Vec<String>,
    last_used: HashMap<String, Instant>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    Unknown,
    Expired,
}

impl Sessions {
    pub(crate) fn new(ttl: Duration, fixed: Vec<String>, now: Instant) -> Self {
        let last_used = fixed.iter().map(|t| (t.clone(), now)).collect();
        Sessions {
            ttl,
            fixed,
            last_used,
        }
    }

    /// Registers a token issued by the token endpoint.
    pub(crate) fn issue(&mut self, token: String, now: Instant) {
        if self.last_used.len() >= MAX_SESSIONS {
            let ttl = self.ttl;
            self.last_used
                .retain(|_, used| now.saturating_duration_since(*used) < ttl);
        }
        if self.last_used.len() < MAX_SESSIONS {
            self.last_used.insert(token, now);
        }
    }

    /// Accepts `token` if its session is alive, extending it (Salesforce's session timeout
    /// counts from the last activity).
    pub(crate) fn check(&mut self, token: &str, now: Instant) -> Result<(), Refused> {
        match self.last_used.get_mut(token) {
            Some(used) if now.saturating_duration_since(*used) >= self.ttl => Err(Refused::Expired),
            Some(used) => {
                *used = now;
                Ok(())
            }
            None if self.fixed.is_empty() => {
                self.issue(token.to_string(), now);
                Ok(())
            }
            None => Err(Refused::Unknown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn allocation_rolls_over_24_hours() {
        let t0 = Instant::now();
        let mut a = Allocation::new(3, 1, t0);
        assert!(a.admit(t0));
        assert!(a.admit(t0 + Duration::from_secs(3600)));
        assert!(!a.admit(t0 + Duration::from_secs(7200)));
        assert_eq!(a.used(t0 + Duration::from_secs(7200)), 3);
        // The first two (counted at t0) leave at t0 + 24 h; the one at 1 h stays.
        assert_eq!(a.used(t0 + DAY), 1);
        assert!(a.admit(t0 + DAY));
        assert!(a.admit(t0 + DAY));
        assert!(!a.admit(t0 + DAY));
        let mut unlimited = Allocation::new(0, 0, t0);
        assert!((0..1000).all(|_| unlimited.admit(t0)));
    }

    #[tokio::test(start_paused = true)]
    async fn long_running_counts_only_requests_past_the_threshold() {
        let t0 = Instant::now();
        let mut f = InFlight::default();
        let a = f.start(t0);
        f.start(t0 + Duration::from_secs(5));
        let twenty = Duration::from_secs(20);
        assert_eq!(f.long_running(t0 + Duration::from_secs(19), twenty), 0);
        assert_eq!(f.long_running(t0 + twenty, twenty), 1);
        assert_eq!(f.long_running(t0 + Duration::from_secs(25), twenty), 2);
        f.end(a);
        assert_eq!(f.long_running(t0 + Duration::from_secs(25), twenty), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_expire_after_idle_ttl() {
        let t0 = Instant::now();
        let ttl = Duration::from_secs(7200);
        let mut s = Sessions::new(ttl, vec!["fixed".into()], t0);
        assert_eq!(s.check("other", t0), Err(Refused::Unknown));
        s.issue("issued".into(), t0);
        // Use extends a session; idleness for the whole TTL ends it.
        assert_eq!(s.check("fixed", t0 + Duration::from_secs(7000)), Ok(()));
        assert_eq!(s.check("fixed", t0 + Duration::from_secs(14_000)), Ok(()));
        assert_eq!(s.check("issued", t0 + ttl), Err(Refused::Expired));
        let mut open = Sessions::new(ttl, Vec::new(), t0);
        assert_eq!(open.check("any", t0), Ok(()));
        assert_eq!(open.check("any", t0 + ttl), Err(Refused::Expired));
    }
}
