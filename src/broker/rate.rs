//! Per-caller rate limits: a token bucket per uid, `burst` deep, refilled
//! at `per_minute`. A caller over its limit is answered at once (and
//! audited); others are not slowed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::policy::RateLimit;

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<u32, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes one request of `uid` at `now`; `false` when over the limit.
    pub fn take(&self, uid: u32, limit: RateLimit, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let burst = f64::from(limit.burst);
        let (tokens, at) = buckets.entry(uid).or_insert((burst, now));
        let refill =
            now.saturating_duration_since(*at).as_secs_f64() * f64::from(limit.per_minute) / 60.0;
        *tokens = (*tokens + refill).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bursts_then_refills_per_caller() {
        let r = RateLimiter::default();
        let limit = RateLimit {
            burst: 3,
            per_minute: 60,
        };
        let t0 = Instant::now();
        assert!((0..3).all(|_| r.take(1, limit, t0)));
        assert!(!r.take(1, limit, t0));
        // Another caller has its own bucket.
        assert!(r.take(2, limit, t0));
        // One a second comes back.
        assert!(r.take(1, limit, t0 + Duration::from_millis(1000)));
        assert!(!r.take(1, limit, t0 + Duration::from_millis(1001)));
        // Never more than the burst.
        let later = t0 + Duration::from_secs(3600);
        assert!((0..3).all(|_| r.take(1, limit, later)));
        assert!(!r.take(1, limit, later));
    }
}
