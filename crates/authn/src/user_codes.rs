//! Guesses of device user codes (RFC 8628 §5.1): a user code is short
//! enough to type, so looking one up on `/device` is a credential check
//! like a password's — reserved on its own counters before the lookup
//! (per signed-in user, `code:<user id>`, and per client IP,
//! `code:ip:<address>`), refused unchecked while either backs off, kept
//! when wrong (a back-off it starts is audited as `signin.lockout`, scope
//! `user_code`), given back when right. Nothing but time clears them.

use portcullis_store::StoreError;
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::RequestInfo;
use crate::interaction::Interaction;
use crate::signin::lockouts_started;
use crate::throttle::{Admission, reserve, user_code_ip_key, user_code_key};

/// How a guess went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guess<T> {
    /// The check found something: the reservations were given back.
    Right(T),
    /// The check found nothing: the guess counts.
    Wrong,
    /// A counter is backing off: nothing was checked.
    Refused {
        /// Until when.
        until: OffsetDateTime,
    },
}

impl Interaction<'_> {
    /// Runs `check` (a lookup by user code) as one guess of `user_id` from
    /// `request`: `Some` is right, `None` wrong. An error of the check
    /// keeps the reservation.
    #[tracing::instrument(skip_all, fields(%user_id))]
    pub async fn guess_user_code<T, E: From<StoreError>>(
        &self,
        user_id: Uuid,
        request: &RequestInfo,
        check: impl Future<Output = Result<Option<T>, E>>,
    ) -> Result<Guess<T>, E> {
        let now = self.clock.now();
        let mut counters = vec![(user_code_key(user_id), &self.lockouts.user_code)];
        counters.extend(request.ip.as_deref().map(|ip| (user_code_ip_key(ip), &self.lockouts.ip)));
        let attempt = match reserve(self.hot, &counters, now).await? {
            Admission::Admitted(attempt) => attempt,
            Admission::Refused { until } => {
                tracing::info!(%until, "user code refused unchecked: backing off");
                return Ok(Guess::Refused { until });
            }
        };
        match check.await? {
            Some(found) => {
                attempt.succeeded(&[]).await?;
                Ok(Guess::Right(found))
            }
            None => {
                lockouts_started(self.store, attempt.failed(), Some(user_id), request, now).await;
                Ok(Guess::Wrong)
            }
        }
    }
}
