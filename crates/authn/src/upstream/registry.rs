//! The configured upstreams (`[[upstreams]]`), each discovered at its
//! first use rather than at start: an upstream that is down when Portcullis
//! starts costs its own button, not the whole server. A failed discovery
//! is tried again at the next use.

use std::sync::Arc;
use tokio::sync::OnceCell;

use super::client::{UpstreamClient, UpstreamConfig, UpstreamError};
use super::{LinkPolicy, Rules};

/// Which ID-token claims carry the username, the address and the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// The username to give an account created at the first sign-in
    /// (default `preferred_username`).
    pub username: String,
    /// The address (default `email`; its `_verified` sibling is
    /// `email_verified` whatever it is called).
    pub email: String,
    /// The display name (default `name`).
    pub name: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self { username: "preferred_username".into(), email: "email".into(), name: "name".into() }
    }
}

/// One configured upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The button's label ("Continue with …").
    pub display_name: String,
    /// How to reach it (`config.id` is its id in URLs).
    pub config: UpstreamConfig,
    /// When an unknown identity links or creates an account.
    pub link: LinkPolicy,
    /// Take the upstream's `amr` of `mfa`/`hwk` as this side's second factor.
    pub trust_mfa: bool,
    /// The claim mapping.
    pub claims: ClaimNames,
    /// Roles and groups granted from claims at every sign-in.
    pub rules: Rules,
}

impl Upstream {
    /// Its id (`[[upstreams]]` `id`).
    pub fn id(&self) -> &str {
        &self.config.id
    }
}

#[derive(Debug)]
struct Entry {
    upstream: Upstream,
    client: OnceCell<Arc<UpstreamClient>>,
}

/// The configured upstreams, in configuration order.
#[derive(Debug, Default)]
pub struct Upstreams {
    entries: Vec<Entry>,
}

/// No upstreams (for tools and tests that sign in locally only).
pub static NONE: Upstreams = Upstreams { entries: Vec::new() };

impl Upstreams {
    /// The upstreams, each discovered at its first use.
    pub fn new(upstreams: Vec<Upstream>) -> Self {
        Self {
            entries: upstreams
                .into_iter()
                .map(|upstream| Entry { upstream, client: OnceCell::new() })
                .collect(),
        }
    }

    /// Every upstream, in order (for the sign-in page's buttons).
    pub fn iter(&self) -> impl Iterator<Item = &Upstream> {
        self.entries.iter().map(|e| &e.upstream)
    }

    /// The upstream with this id.
    pub fn get(&self, id: &str) -> Option<&Upstream> {
        self.entry(id).map(|e| &e.upstream)
    }

    /// The display name of upstream `id`; the id itself for one no longer
    /// configured (a link made through it is still listed).
    pub fn display_name(&self, id: &str) -> String {
        self.get(id).map_or_else(|| id.to_owned(), |u| u.display_name.clone())
    }

    fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.upstream.config.id == id)
    }

    /// The relying party of `id`, discovered now if it was not yet.
    pub(crate) async fn client(&self, id: &str) -> Option<Result<Arc<UpstreamClient>, UpstreamError>> {
        let entry = self.entry(id)?;
        Some(
            entry
                .client
                .get_or_try_init(|| async {
                    UpstreamClient::discover(entry.upstream.config.clone()).await.map(Arc::new)
                })
                .await
                .cloned(),
        )
    }
}
