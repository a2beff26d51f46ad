/// What a repository call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness or state constraint refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database answered with an error (or failed in a way that is not
    /// its being away: see [`StoreError::Unavailable`]).
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database cannot be reached right now (refused, reset, shutting
    /// down, no connection free within the pool's timeout): nothing was
    /// done, and the same call may succeed in a moment. Answered 503 with
    /// `Retry-After`, never 500.
    #[error("{0}")]
    Unavailable(#[source] Unavailable),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A stored value could not be decoded into its model.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The database is away: `cause` says how (for the log).
    pub fn unavailable(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable(Unavailable(cause.into()))
    }

    /// Whether this is the database being away (see [`StoreError::Unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// The cause of a [`StoreError::Unavailable`]. It is a type of its own so
/// that it can be found in any error's source chain (see
/// [`is_unavailable`]), whatever wraps it: `#[error(transparent)]` wrappers
/// hide the `StoreError` itself from the chain, never its source.
#[derive(Debug, thiserror::Error)]
#[error("database unavailable: {0}")]
pub struct Unavailable(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Whether `e`, or an error in its source chain, is the database being
/// away ([`StoreError::Unavailable`]): how every layer above the store tells
/// "try again in a moment" (503) from a fault (500) without knowing which
/// error type wraps the store's.
pub fn is_unavailable(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<Unavailable>() || e.downcast_ref::<StoreError>().is_some_and(StoreError::is_unavailable) {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Wrapper {
        #[error(transparent)]
        Store(StoreError),
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Wrapper);

    #[test]
    fn unavailability_names_its_cause() {
        let e = StoreError::unavailable(std::io::Error::other("connection refused"));
        assert_eq!(e.to_string(), "database unavailable: connection refused");
    }

    #[test]
    fn unavailability_is_found_through_transparent_wrappers() {
        let e = StoreError::unavailable(std::io::Error::other("refused"));
        assert!(is_unavailable(&e));
        let e = Outer(Wrapper::Store(StoreError::unavailable("reset")));
        assert!(is_unavailable(&e), "a transparent wrapper hides the StoreError, not its source");
        let e = Outer(Wrapper::Store(StoreError::Backend("syntax error".into())));
        assert!(!is_unavailable(&e));
        assert!(!is_unavailable(&StoreError::NotFound));
    }
}
