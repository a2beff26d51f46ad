//! The device's polls at the token endpoint (RFC 8628 §3.4–3.5), decided
//! from the stored row alone: pure, and tested without a store.

use portcullis_store::{DeviceAuthorizationRow, DeviceStatus};
use time::{Duration, OffsetDateTime};

use crate::OAuthError;

/// How much the interval grows at each `slow_down` (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP_SECS: i64 = 5;

/// What a poll gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// Refused without being recorded (another client's device code, an
    /// expired one).
    Refused(OAuthError, &'static str),
    /// The device code was already exchanged: a replay, which revokes its grant.
    Replayed,
    /// A poll to record (with the interval from now on), answered `answer`.
    Answer {
        /// The interval the row keeps (grown on `slow_down`).
        interval_secs: i64,
        /// The answer once the poll is recorded.
        answer: Answer,
    },
}

/// The answer to a recorded poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `authorization_pending`: the user has not decided.
    Pending,
    /// `slow_down`: this poll came sooner than the interval after the last.
    SlowDown,
    /// `access_denied`: the user denied.
    Denied,
    /// The user approved: redeem the device code for tokens.
    Approved,
}

/// Decides a poll of `row` by `client_id` at `now`, in the order of the
/// rules: the device code is bound to its client; used once; void after
/// `expires_at` (`expired_token`); a poll sooner than `interval_secs`
/// after the previous one is `slow_down` and grows the interval by 5 s
/// (§3.5); then the user's decision.
pub fn poll(row: &DeviceAuthorizationRow, client_id: &str, now: OffsetDateTime) -> Poll {
    if row.client_id != client_id {
        return Poll::Refused(OAuthError::InvalidGrant, "the device code was issued to another client");
    }
    if row.redeemed_at.is_some() {
        return Poll::Replayed;
    }
    if now >= row.expires_at {
        return Poll::Refused(OAuthError::ExpiredToken, "the device code expired");
    }
    let too_soon = row.last_polled_at.is_some_and(|last| now < last + Duration::seconds(row.interval_secs));
    if too_soon {
        let interval_secs = row.interval_secs.saturating_add(SLOW_DOWN_STEP_SECS);
        return Poll::Answer { interval_secs, answer: Answer::SlowDown };
    }
    let answer = match row.status {
        DeviceStatus::Pending => Answer::Pending,
        DeviceStatus::Denied => Answer::Denied,
        DeviceStatus::Approved => Answer::Approved,
    };
    Poll::Answer { interval_secs: row.interval_secs, answer }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

    fn row() -> DeviceAuthorizationRow {
        DeviceAuthorizationRow {
            device_code_hash: "d".into(),
            user_code_hash: "u".into(),
            client_id: "tv".into(),
            scopes: vec!["openid".into()],
            status: DeviceStatus::Pending,
            grant_id: None,
            interval_secs: 5,
            last_polled_at: None,
            created_at: T0,
            expires_at: T0 + Duration::seconds(600),
            decided_at: None,
            redeemed_at: None,
        }
    }

    fn at(secs: i64) -> OffsetDateTime {
        T0 + Duration::seconds(secs)
    }

    #[test]
    fn pending_until_the_user_decides() {
        assert_eq!(poll(&row(), "tv", at(1)), Poll::Answer { interval_secs: 5, answer: Answer::Pending });
        let denied = DeviceAuthorizationRow { status: DeviceStatus::Denied, ..row() };
        assert_eq!(poll(&denied, "tv", at(1)), Poll::Answer { interval_secs: 5, answer: Answer::Denied });
        let approved = DeviceAuthorizationRow { status: DeviceStatus::Approved, ..row() };
        assert_eq!(poll(&approved, "tv", at(1)), Poll::Answer { interval_secs: 5, answer: Answer::Approved });
    }

    #[test]
    fn polling_sooner_than_the_interval_slows_down_by_five_seconds() {
        let polled = DeviceAuthorizationRow { last_polled_at: Some(at(10)), ..row() };
        assert_eq!(poll(&polled, "tv", at(14)), Poll::Answer { interval_secs: 10, answer: Answer::SlowDown });
        assert_eq!(poll(&polled, "tv", at(10)), Poll::Answer { interval_secs: 10, answer: Answer::SlowDown });
        assert_eq!(poll(&polled, "tv", at(15)), Poll::Answer { interval_secs: 5, answer: Answer::Pending });
        // The grown interval holds from then on.
        let slowed = DeviceAuthorizationRow { last_polled_at: Some(at(14)), interval_secs: 10, ..row() };
        assert_eq!(poll(&slowed, "tv", at(20)), Poll::Answer { interval_secs: 15, answer: Answer::SlowDown });
        assert_eq!(poll(&slowed, "tv", at(24)), Poll::Answer { interval_secs: 10, answer: Answer::Pending });
        // Even an approved code is not redeemed by a poll that comes too soon.
        let approved = DeviceAuthorizationRow { status: DeviceStatus::Approved, ..polled };
        assert_eq!(
            poll(&approved, "tv", at(11)),
            Poll::Answer { interval_secs: 10, answer: Answer::SlowDown }
        );
    }

    #[test]
    fn an_expired_code_is_expired_token_whatever_its_status() {
        for status in [DeviceStatus::Pending, DeviceStatus::Approved, DeviceStatus::Denied] {
            let r = DeviceAuthorizationRow { status, ..row() };
            assert_eq!(
                poll(&r, "tv", at(600)),
                Poll::Refused(OAuthError::ExpiredToken, "the device code expired")
            );
            assert!(matches!(poll(&r, "tv", at(599)), Poll::Answer { .. }));
        }
    }

    #[test]
    fn the_device_code_is_bound_to_its_client_and_used_once() {
        assert!(matches!(poll(&row(), "other", at(1)), Poll::Refused(OAuthError::InvalidGrant, _)));
        let redeemed =
            DeviceAuthorizationRow { status: DeviceStatus::Approved, redeemed_at: Some(at(3)), ..row() };
        assert_eq!(poll(&redeemed, "tv", at(30)), Poll::Replayed);
        assert!(matches!(poll(&redeemed, "other", at(30)), Poll::Refused(OAuthError::InvalidGrant, _)));
    }
}
