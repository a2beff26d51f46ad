//! Redis-backed sessions, rate-limit counters and the revocation list, for
//! deployments where several instances share state. Filled in by the issue
//! that introduces Redis.
