//! A deadline for reading each request body: a client that sends the head
//! of a request and then its body a byte at a time (a "slow POST") would
//! otherwise hold a connection and a handler for as long as it likes.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage};
use futures_util::Stream;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Middleware: the whole body of a request must arrive within `timeout` of
/// its head. If it has not, reading it fails, and whatever the handler made
/// of that failure is replaced by `408 Request Timeout` with
/// `Connection: close` (the rest of the body is never read). Requests
/// without a body are passed through untouched, timer-free.
pub async fn body_read_deadline<B: MessageBody>(
    mut req: ServiceRequest,
    next: Next<B>,
    timeout: Duration,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    }
    let expired = Rc::new(Cell::new(false));
    let deadline = Deadline {
        inner: payload,
        deadline: Instant::now() + timeout,
        sleep: None,
        expired: expired.clone(),
    };
    req.set_payload(Payload::Stream { payload: Box::pin(deadline) });
    let res = next.call(req).await?;
    if !expired.get() {
        return Ok(res.map_into_left_body());
    }
    tracing::info!(timeout_secs = timeout.as_secs(), "request body not received in time: 408");
    let (req, _) = res.into_parts();
    let timed_out = actix_web::HttpResponse::RequestTimeout().force_close().finish();
    Ok(ServiceResponse::new(req, timed_out).map_into_right_body())
}

/// The request's payload, failing once the deadline has passed.
struct Deadline {
    inner: Payload,
    deadline: Instant,
    /// Armed the first time the body is not all there yet (most bodies
    /// arrive with the head and never need it).
    sleep: Option<Pin<Box<Sleep>>>,
    /// Set when the deadline failed the read.
    expired: Rc<Cell<bool>>,
}

impl Deadline {
    fn expire(&self) -> Poll<Option<Result<Bytes, PayloadError>>> {
        self.expired.set(true);
        let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "request body not received in time");
        Poll::Ready(Some(Err(PayloadError::Io(e))))
    }
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.expired.get() {
            return Poll::Ready(None);
        }
        // Checked before reading, so a body trickling in never outlasts it.
        if let Some(sleep) = &mut this.sleep
            && sleep.as_mut().poll(cx).is_ready()
        {
            return this.expire();
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(item) => Poll::Ready(item),
            Poll::Pending => {
                let sleep =
                    this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(this.deadline)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => this.expire(),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}
