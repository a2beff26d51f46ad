//! The protocol end to end: real relying-party libraries (the `openidconnect`
//! crate, panva's `openid-client`, `oidc-client-ts` in a single-page app),
//! the negative rules, back-channel logout, CORS for browser-based apps.

mod backchannel;
mod browser;
mod client_cache;
mod cors;
mod flows;
mod negative;
mod oauth4webapi;
mod openid_client;
mod par;
mod resource;
mod spa;
mod token_state_cache;
