//! The protocol end to end: real relying-party libraries (the `openidconnect`
//! crate, panva's `openid-client`, `oidc-client-ts` in a single-page app),
//! the negative rules, back-channel logout, CORS for browser-based apps.

mod backchannel;
mod browser;
mod client_cache;
mod cors;
mod device;
mod flows;
mod negative;
mod openid_client;
mod spa;
mod token_state_cache;
