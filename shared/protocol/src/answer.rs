//! What a server answer means to a client: the one table every client reads.
//!
//! The core's sync (`shared/core`), the native runtime and the web shell all ask
//! [`classify_answer`] what an HTTP status means, so they cannot drift apart:
//!
//! | status | class | the client |
//! | --- | --- | --- |
//! | 2xx | [`AnswerClass::Success`] | reads the body |
//! | 401 | [`AnswerClass::SignInAgain`] | asks the user to sign in; keeps the outbox |
//! | 426 | [`AnswerClass::UpdateApp`] | asks for an app update; keeps the outbox |
//! | 408, 425, 429, 5xx | [`AnswerClass::Retry`] | tries again later (after `Retry-After`) |
//! | other 4xx | [`AnswerClass::Permanent`] | gives the request up |
//! | 1xx, 3xx, anything else | [`AnswerClass::Retry`] | not a verdict: a redirect nobody followed, a proxy |
//!
//! Where an endpoint reads an answer differently it says so next to its own code. The upload
//! protocol (`kvits-upload`) does in three places, all because the photo is not at fault:
//! `404`/`405` to `POST /v1/uploads` means there is no upload endpoint at that address (a wrong
//! server URL, a captive portal), so "try later", not "give the photo up"; a `404` to `PATCH` or
//! `HEAD /v1/uploads/{id}` means the upload went away (expired and swept) and it starts over;
//! and [`AnswerClass::UpdateApp`] fails the upload as transient, since the core's upload errors
//! have no "update the app" kind and the photo must be kept.

use crate::ErrorBody;

/// What a status code means for the request that got it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerClass {
    /// 2xx: the request did what it asked.
    Success,
    /// Nothing is wrong with the request itself: send it again later, not before
    /// `retry_after_ms` when the server said so.
    Retry { retry_after_ms: Option<u64> },
    /// The session is no longer valid (401): sign in again; nothing is given up.
    SignInAgain,
    /// The server no longer speaks this client's protocol (426): update the app; nothing is
    /// given up.
    UpdateApp,
    /// The server refused this request for good: sending it again gets the same answer.
    Permanent,
}

/// The class of an answer with HTTP `status` and the `Retry-After` header's value, if any (only
/// the delay-seconds form is read; an HTTP date is ignored).
pub fn classify_answer(status: u16, retry_after: Option<&str>) -> AnswerClass {
    match status {
        200..=299 => AnswerClass::Success,
        401 => AnswerClass::SignInAgain,
        426 => AnswerClass::UpdateApp,
        408 | 425 | 429 | 500..=599 => AnswerClass::Retry {
            retry_after_ms: retry_after.and_then(retry_after_ms),
        },
        400..=499 => AnswerClass::Permanent,
        _ => AnswerClass::Retry {
            retry_after_ms: None,
        },
    }
}

/// `Retry-After: <seconds>` in milliseconds (saturating); `None` for anything else.
fn retry_after_ms(value: &str) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: a parse error can only be overflow.
    Some(
        value
            .parse::<u64>()
            .unwrap_or(u64::MAX)
            .saturating_mul(1000),
    )
}

/// The sentence an error answer's body carries for people: the `message` of a
/// `{code, message}` body, else a short plain-text body (at most 200 characters). `None` for
/// an empty body, an HTML page (a proxy's) or bytes that are not text.
pub fn answer_message(body: &[u8]) -> Option<String> {
    if let Ok(error) = serde_json::from_slice::<ErrorBody>(body) {
        return Some(error.message);
    }
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() || text.starts_with('<') {
        return None;
    }
    Some(text.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(ms: Option<u64>) -> AnswerClass {
        AnswerClass::Retry { retry_after_ms: ms }
    }

    #[test]
    fn every_success_is_success() {
        for status in 200..=299 {
            assert_eq!(classify_answer(status, Some("5")), AnswerClass::Success);
        }
    }

    #[test]
    fn sign_in_and_update_keep_the_work() {
        assert_eq!(classify_answer(401, None), AnswerClass::SignInAgain);
        assert_eq!(classify_answer(426, Some("10")), AnswerClass::UpdateApp);
    }

    #[test]
    fn slow_busy_and_broken_servers_are_retried() {
        for status in [408, 425, 429, 500, 502, 503, 504, 599] {
            assert_eq!(classify_answer(status, None), retry(None), "{status}");
        }
        assert_eq!(classify_answer(503, Some("30")), retry(Some(30_000)));
        assert_eq!(classify_answer(429, Some(" 2 ")), retry(Some(2_000)));
    }

    #[test]
    fn retry_after_is_read_only_as_seconds() {
        assert_eq!(classify_answer(503, Some("soon")), retry(None));
        assert_eq!(classify_answer(503, Some("-3")), retry(None));
        assert_eq!(classify_answer(503, Some("1.5")), retry(None));
        assert_eq!(classify_answer(503, Some("")), retry(None));
        assert_eq!(
            classify_answer(503, Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            retry(None)
        );
        assert_eq!(
            classify_answer(503, Some("99999999999999999999999")),
            retry(Some(u64::MAX))
        );
    }

    #[test]
    fn other_client_errors_are_permanent() {
        for status in (400..=499).filter(|s| ![401, 408, 425, 426, 429].contains(s)) {
            assert_eq!(
                classify_answer(status, None),
                AnswerClass::Permanent,
                "{status}"
            );
        }
    }

    #[test]
    fn answers_that_are_no_verdict_are_retried() {
        for status in [0, 100, 101, 199, 300, 301, 302, 304, 399, 600, 999] {
            assert_eq!(classify_answer(status, Some("1")), retry(None), "{status}");
        }
    }

    #[test]
    fn the_message_of_an_answer() {
        let json = br#"{"code":"too_large","message":"the photo is too large"}"#;
        assert_eq!(
            answer_message(json).as_deref(),
            Some("the photo is too large")
        );
        assert_eq!(
            answer_message(b"  upstream timed out \n").as_deref(),
            Some("upstream timed out")
        );
        assert_eq!(answer_message(b"<html><body>portal</body></html>"), None);
        assert_eq!(answer_message(b"   "), None);
        assert_eq!(answer_message(&[0xff, 0xfe, 0x00]), None);
        let long = "x".repeat(500);
        assert_eq!(answer_message(long.as_bytes()).map(|m| m.len()), Some(200));
    }
}
