//! The protocol end to end: real relying-party libraries (the `openidconnect`
//! crate, panva's `openid-client`, `oidc-client-ts` in a single-page app),
//! the negative rules, back-channel logout, CORS for browser-based apps.

mod backchannel;
mod browser;
mod client_cache;
mod cors;
mod device;
mod dpop;
mod flows;
mod negative;
mod oauth4webapi_dpop;
mod oauth4webapi_par;
mod openid_client;
mod par;
mod refresh_grace;
mod resource;
mod spa;
mod token_state_cache;
