//! What one signed-in person's devices may make the server do at once: requests per second
//! (a token bucket per user) and long polls held open. Both answer `429 rate_limited` with
//! `Retry-After`, which every client reads as "try again then" (see `classify_answer`).
//!
//! These counts live in this process: behind several instances each one holds a person to its
//! own share, which is what a bound on one instance's work needs. Sign-in attempts, which must
//! hold across instances and restarts, are counted in the database instead (`auth`).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use kvits_protocol::{ErrorCode, UserId};

use crate::error::{ApiError, ApiResult};

/// A person's request budget: `burst` at once, refilled at `per_second`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRate {
    pub per_second: u32,
    pub burst: u32,
}

impl RequestRate {
    /// Enough for a phone sending a backlog of photos in chunks and a browser opening the
    /// desk, far below what one script could otherwise ask.
    pub const DEFAULT: RequestRate = RequestRate {
        per_second: 20,
        burst: 400,
    };
}

/// Long polls one person may hold open at once (their phone, laptop and a few tabs).
pub const DEFAULT_LONG_POLLS_PER_USER: usize = 8;

/// The per-user bounds of one server process.
#[derive(Debug)]
pub struct UserLimits {
    requests: Option<DefaultKeyedRateLimiter<UserId>>,
    long_polls: Mutex<HashMap<UserId, usize>>,
    max_long_polls: usize,
}

impl UserLimits {
    /// `rate: None` counts no requests (benchmarks that are the only user).
    pub fn new(rate: Option<RequestRate>, max_long_polls: usize) -> UserLimits {
        let requests = rate.and_then(|r| {
            let per_second = NonZeroU32::new(r.per_second)?;
            let burst = NonZeroU32::new(r.burst.max(r.per_second)).unwrap_or(per_second);
            Some(governor::RateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            ))
        });
        UserLimits {
            requests,
            long_polls: Mutex::new(HashMap::new()),
            max_long_polls: max_long_polls.max(1),
        }
    }

    /// Takes one request from `user`'s budget, or says when there will be one.
    pub fn request(&self, user: UserId) -> ApiResult<()> {
        let Some(limiter) = &self.requests else {
            return Ok(());
        };
        limiter.check_key(&user).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            too_many(
                "too many requests from this account; slow down and try again shortly",
                wait.as_secs() + 1,
            )
        })
    }

    /// Holds one of `user`'s long polls until the returned slot is dropped.
    pub fn long_poll(self: &Arc<Self>, user: UserId) -> ApiResult<LongPoll> {
        let mut open = self
            .long_polls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(user).or_insert(0);
        if *count >= self.max_long_polls {
            return Err(too_many(
                "this account already waits for changes on many devices; try again shortly",
                5,
            ));
        }
        *count += 1;
        Ok(LongPoll {
            limits: Arc::clone(self),
            user,
        })
    }

    /// Forgets the people whose budget is full again (their next request starts a new one);
    /// run now and then so the table does not keep everyone who ever signed in.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.requests {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Long polls `user` holds open now.
    pub fn long_polls_of(&self, user: UserId) -> usize {
        self.long_polls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&user)
            .copied()
            .unwrap_or(0)
    }
}

/// One long poll held open; gives its place back when dropped (the answer sent, or the
/// client gone).
#[derive(Debug)]
pub struct LongPoll {
    limits: Arc<UserLimits>,
    user: UserId,
}

impl Drop for LongPoll {
    fn drop(&mut self) {
        let mut open = self
            .limits
            .long_polls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

fn too_many(message: &str, retry_after_secs: u64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RateLimited,
        message,
    )
    .with_header("retry-after", retry_after_secs.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limits = UserLimits::new(
            Some(RequestRate {
                per_second: 1,
                burst: 3,
            }),
            2,
        );
        let (anna, emma) = (UserId(uuid::Uuid::new_v4()), UserId(uuid::Uuid::new_v4()));
        for _ in 0..3 {
            assert!(limits.request(anna).is_ok());
        }
        let refused = limits.request(anna).unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            refused
                .headers
                .iter()
                .any(|(n, v)| *n == "retry-after" && v == "1")
        );
        assert!(
            limits.request(emma).is_ok(),
            "each person has their own budget"
        );
    }

    #[test]
    fn long_polls_are_counted_until_their_slot_is_dropped() {
        let limits = Arc::new(UserLimits::new(None, 2));
        let anna = UserId(uuid::Uuid::new_v4());
        let first = limits.long_poll(anna).unwrap();
        let _second = limits.long_poll(anna).unwrap();
        assert_eq!(
            limits.long_poll(anna).unwrap_err().code,
            ErrorCode::RateLimited
        );
        assert!(limits.long_poll(UserId(uuid::Uuid::new_v4())).is_ok());
        drop(first);
        assert_eq!(limits.long_polls_of(anna), 1);
        assert!(limits.long_poll(anna).is_ok());
    }
}
