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
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A stored value could not be decoded into its model.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}
