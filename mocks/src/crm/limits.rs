//! HubSpot's three request limits: a rolling burst window per app (bearer token), a daily count
//! per account, and a per-second search limit per account that is exempt from the other two.
//!
//! Only admitted requests count against a window, as at HubSpot. Time is `tokio::time::Instant`
//! so tests move the clock with `tokio::time::pause`/`advance` instead of sleeping. The daily
//! counter resets every 24 h from the mock's start (HubSpot resets at the account's midnight;
//! a run is too short for the difference to matter).
//!
//! A mock that accepts any bearer token meets as many apps as clients care to invent, so the
//! per-app windows are swept: a window with nothing left in it admits exactly as a missing one,
//! and is dropped. A sweep runs when a new app arrives and the map has doubled since the last
//! one (at least [`SWEEP_FLOOR`] apps), so it costs O(1) a new app, amortised, and the map holds
//! at most about twice the apps with a request in the last window width (or the floor): memory
//! follows the request rate, never the number of requests or tokens served.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const SEARCH_WINDOW: Duration = Duration::from_secs(1);

/// Limit values as configured; 0 disables a limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) burst_max: u32,
    pub(crate) burst_window: Duration,
    pub(crate) daily_max: u64,
    pub(crate) search_per_second: u32,
    /// Requests already counted against the first day (the `quota-edge` overlay).
    pub(crate) daily_used_at_start: u64,
}

/// What the `X-HubSpot-RateLimit-*` headers report for one app after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateView {
    /// `(max, remaining, interval)` of the burst window; `None` when it is disabled.
    pub(crate) burst: Option<(u32, u32, Duration)>,
    /// `(max, remaining)` of the daily limit; `None` when it is disabled.
    pub(crate) daily: Option<(u64, u64)>,
}

/// The limit that refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    Burst,
    Daily,
    Search,
}

/// The limiter's answer to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Admitted,
    /// Refused; `retry_after` is when the limit will next admit a request.
    Throttled {
        limit: Exceeded,
        retry_after: Duration,
    },
}

/// Admitted requests closer together than this share one entry of a window, so a window holds
/// at most `width / GRAIN` entries however many requests it counts.
const GRAIN: Duration = Duration::from_millis(1);

/// Admitted requests inside a window of `width`, as runs: `(first, last, count)` of requests
/// admitted within [`GRAIN`] of the run's first. A run leaves the window when its last request
/// does, so a request is never released early (at most `GRAIN` late).
#[derive(Debug, Default)]
struct Window {
    runs: VecDeque<(Instant, Instant, u32)>,
    count: usize,
}

impl Window {
    fn expire(&mut self, now: Instant, width: Duration) {
        while let Some(&(_, last, n)) = self.runs.front() {
            if now.duration_since(last) >= width {
                self.runs.pop_front();
                self.count -= n as usize;
            } else {
                break;
            }
        }
    }

    fn admit(&mut self, now: Instant) {
        self.count += 1;
        if let Some((first, last, n)) = self.runs.back_mut()
            && now.saturating_duration_since(*first) < GRAIN
            && *n < u32::MAX
        {
            *last = (*last).max(now);
            *n += 1;
            return;
        }
        self.runs.push_back((now, now, 1));
    }

    /// How long until the oldest admitted request leaves the window.
    fn wait(&self, now: Instant, width: Duration) -> Duration {
        self.runs
            .front()
            .map(|&(_, last, _)| (last + width).saturating_duration_since(now))
            .unwrap_or_default()
    }
}

/// Apps tracked before the first sweep of empty windows.
const SWEEP_FLOOR: usize = 1_024;

#[derive(Debug)]
pub(crate) struct Limiter {
    limits: Limits,
    per_app: crate::FastMap<String, Window>,
    /// The number of tracked apps at which the next new app sweeps empty windows first.
    sweep_at: usize,
    day_started: Instant,
    day_count: u64,
    /// Day boundaries passed since the limiter started: the daily quota reset this many times.
    pub(crate) daily_resets: u64,
    search: Window,
}

impl Limiter {
    /// A limiter whose first day starts at `now` (a reading of the CRM's clock).
    pub(crate) fn new(limits: Limits, now: Instant) -> Self {
        Limiter {
            limits,
            per_app: crate::FastMap::default(),
            sweep_at: SWEEP_FLOOR,
            day_started: now,
            day_count: limits.daily_used_at_start,
            daily_resets: 0,
            search: Window::default(),
        }
    }

    pub(crate) fn roll_day(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.day_started);
        if elapsed >= DAY {
            let days = (elapsed.as_secs() / DAY.as_secs()) as u32;
            self.day_started += DAY * days;
            self.day_count = 0;
            self.daily_resets += u64::from(days);
        }
    }

    /// Admits or refuses a non-search request from `app`, counting it when admitted.
    pub(crate) fn admit(&mut self, app: &str, now: Instant) -> Admission {
        let Limits {
            burst_max,
            burst_window,
            daily_max,
            ..
        } = self.limits;
        self.roll_day(now);
        if burst_max > 0 {
            // Look up before inserting: no key allocation once the app has a window.
            if !self.per_app.contains_key(app) {
                if self.per_app.len() >= self.sweep_at {
                    self.sweep(now);
                }
                self.per_app.insert(app.to_string(), Window::default());
            }
            let Some(window) = self.per_app.get_mut(app) else {
                return Admission::Admitted;
            };
            window.expire(now, burst_window);
            if window.count >= burst_max as usize {
                return Admission::Throttled {
                    limit: Exceeded::Burst,
                    retry_after: window.wait(now, burst_window),
                };
            }
        }
        if daily_max > 0 && self.day_count >= daily_max {
            return Admission::Throttled {
                limit: Exceeded::Daily,
                retry_after: (self.day_started + DAY).saturating_duration_since(now),
            };
        }
        if burst_max > 0
            && let Some(window) = self.per_app.get_mut(app)
        {
            window.admit(now);
        }
        self.day_count += 1;
        Admission::Admitted
    }

    /// Drops the windows with nothing left in them at `now`, and sets the next sweep's size.
    fn sweep(&mut self, now: Instant) {
        let width = self.limits.burst_window;
        self.per_app.retain(|_, window| {
            window.expire(now, width);
            window.count > 0
        });
        self.sweep_at = (self.per_app.len() * 2).max(SWEEP_FLOOR);
        self.per_app.shrink_to(self.sweep_at);
    }

    /// How many apps have a window now (swept or not).
    #[cfg(test)]
    pub(crate) fn tracked_apps(&self) -> usize {
        self.per_app.len()
    }

    /// Admits or refuses a search request (per account, one-second window).
    pub(crate) fn admit_search(&mut self, now: Instant) -> Admission {
        let max = self.limits.search_per_second;
        if max == 0 {
            return Admission::Admitted;
        }
        self.search.expire(now, SEARCH_WINDOW);
        if self.search.count >= max as usize {
            return Admission::Throttled {
                limit: Exceeded::Search,
                retry_after: self.search.wait(now, SEARCH_WINDOW),
            };
        }
        self.search.admit(now);
        Admission::Admitted
    }

    /// The header values for `app` as of `now` (after any admission just made).
    pub(crate) fn view(&mut self, app: Option<&str>, now: Instant) -> RateView {
        let Limits {
            burst_max,
            burst_window,
            daily_max,
            ..
        } = self.limits;
        self.roll_day(now);
        let burst = (burst_max > 0).then(|| {
            let used = app
                .and_then(|app| self.per_app.get_mut(app))
                .map(|window| {
                    window.expire(now, burst_window);
                    window.count
                })
                .unwrap_or(0);
            let remaining = (burst_max as usize).saturating_sub(used) as u32;
            (burst_max, remaining, burst_window)
        });
        let daily = (daily_max > 0).then(|| (daily_max, daily_max.saturating_sub(self.day_count)));
        RateView { burst, daily }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst_max: u32, daily_max: u64) -> Limiter {
        Limiter::new(
            Limits {
                burst_max,
                burst_window: Duration::from_secs(10),
                daily_max,
                search_per_second: 5,
                daily_used_at_start: 0,
            },
            Instant::now(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_holds_runs_not_requests_and_never_releases_early() {
        let mut limiter = limiter(1_000_000, 0);
        let start = Instant::now();
        // 100,000 requests over 100 ms, one every microsecond.
        for i in 0..100_000u64 {
            let now = start + Duration::from_micros(i);
            assert_eq!(limiter.admit("app", now), Admission::Admitted);
        }
        let window = &limiter.per_app["app"];
        assert_eq!(window.count, 100_000);
        assert_eq!(window.runs.len(), 100, "one run a millisecond");
        // The first run's last request came at 999 µs: it leaves at 10 s + 999 µs, not before.
        let view = |l: &mut Limiter, at| l.view(Some("app"), start + at).burst.unwrap().1;
        let before = Duration::from_secs(10) + Duration::from_micros(998);
        assert_eq!(view(&mut limiter, before), 1_000_000 - 100_000);
        let after = Duration::from_secs(10) + Duration::from_micros(999);
        assert_eq!(view(&mut limiter, after), 1_000_000 - 99_000);
        assert_eq!(limiter.per_app["app"].runs.len(), 99);
    }

    #[tokio::test(start_paused = true)]
    async fn burst_window_rolls_per_app() {
        let mut l = limiter(3, 0);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(
                l.admit("a", t0 + Duration::from_secs(i)),
                Admission::Admitted
            );
        }
        let at = t0 + Duration::from_millis(3_500);
        assert_eq!(
            l.admit("a", at),
            Admission::Throttled {
                limit: Exceeded::Burst,
                retry_after: Duration::from_millis(6_500)
            }
        );
        // Another app has its own window; refused requests did not count.
        assert_eq!(l.admit("b", at), Admission::Admitted);
        assert_eq!(
            l.view(Some("a"), at).burst,
            Some((3, 0, Duration::from_secs(10)))
        );
        // The first request leaves the window at exactly t0 + 10 s.
        assert_eq!(
            l.admit("a", t0 + Duration::from_secs(10)),
            Admission::Admitted
        );
        assert!(matches!(
            l.admit("a", t0 + Duration::from_secs(10)),
            Admission::Throttled { .. }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn daily_limit_is_per_account_and_resets() {
        let mut l = limiter(0, 2);
        let t0 = Instant::now();
        assert_eq!(l.admit("a", t0), Admission::Admitted);
        assert_eq!(l.admit("b", t0), Admission::Admitted);
        assert_eq!(
            l.admit("c", t0 + Duration::from_secs(1)),
            Admission::Throttled {
                limit: Exceeded::Daily,
                retry_after: DAY - Duration::from_secs(1)
            }
        );
        assert_eq!(l.view(None, t0).daily, Some((2, 0)));
        assert_eq!(l.view(None, t0).burst, None);
        assert_eq!(l.admit("a", t0 + DAY), Admission::Admitted);
        assert_eq!(l.daily_resets, 1);
        assert_eq!(l.admit("a", t0 + DAY * 4), Admission::Admitted);
        assert_eq!(l.daily_resets, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn search_window_is_one_second() {
        let mut l = limiter(1, 1);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(l.admit_search(t0), Admission::Admitted);
        }
        assert!(matches!(
            l.admit_search(t0 + Duration::from_millis(999)),
            Admission::Throttled {
                limit: Exceeded::Search,
                ..
            }
        ));
        assert_eq!(
            l.admit_search(t0 + Duration::from_secs(1)),
            Admission::Admitted
        );
        // Search is exempt from the burst and daily limits, and does not use them up.
        assert_eq!(l.admit("a", t0), Admission::Admitted);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_apps_are_swept_so_many_tokens_stay_bounded_and_windows_still_hold() {
        let mut l = limiter(3, 0);
        let t0 = Instant::now();
        let step = Duration::from_millis(20);
        // 50,000 tokens, one request each, 20 ms apart: 500 of them inside any 10 s window.
        // "steady" spends its 3 requests at the start of every 12 s and is probed after sweeps.
        let (mut max_tracked, mut probes, mut previous) = (0, 0, 0);
        for i in 0..50_000u32 {
            let now = t0 + step * i;
            if i % 600 == 0 {
                for _ in 0..3 {
                    assert_eq!(l.admit("steady", now), Admission::Admitted, "at {i}");
                }
            }
            assert_eq!(l.admit(&format!("app-{i}"), now), Admission::Admitted);
            let tracked = l.tracked_apps();
            let swept = tracked < previous;
            previous = tracked;
            max_tracked = max_tracked.max(tracked);
            // Right after a sweep, inside steady's window: still throttled (refusals do not count).
            if swept && i % 600 < 490 {
                probes += 1;
                assert!(
                    matches!(l.admit("steady", now), Admission::Throttled { .. }),
                    "steady admitted a 4th request after a sweep at {i}"
                );
            }
        }
        assert!(
            probes >= 10,
            "only {probes} sweeps fell inside steady's window"
        );
        // 500 active apps sweep at the floor: never more than the floor (+ steady).
        assert!(max_tracked <= SWEEP_FLOOR + 1, "tracked {max_tracked} apps");
        // An app whose window emptied and was swept starts afresh, as it would have anyway.
        let late = t0 + step * 50_000;
        assert_eq!(l.admit("app-0", late), Admission::Admitted);
        assert_eq!(
            l.view(Some("app-0"), late).burst,
            Some((3, 2, Duration::from_secs(10)))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_sweep_keeps_every_app_with_requests_in_its_window() {
        let mut l = limiter(2, 0);
        let t0 = Instant::now();
        // 2,000 apps inside one window: nothing can be dropped, so the map grows to hold them.
        for i in 0..2_000u32 {
            assert_eq!(l.admit(&format!("app-{i}"), t0), Admission::Admitted);
            assert_eq!(l.admit(&format!("app-{i}"), t0), Admission::Admitted);
        }
        assert_eq!(l.tracked_apps(), 2_000);
        for i in 0..2_000u32 {
            assert!(matches!(
                l.admit(&format!("app-{i}"), t0 + Duration::from_secs(9)),
                Admission::Throttled { .. }
            ));
        }
    }
}
