//! Who is asking: the client IP (the TCP peer, or `X-Forwarded-For` when the
//! peer is a trusted proxy) and the user agent.

use actix_web::HttpRequest;
use actix_web::http::header::USER_AGENT;
use portcullis_authn::RequestInfo;
use std::net::IpAddr;

/// User agents longer than this are cut (they only go to the audit log).
const MAX_USER_AGENT: usize = 256;

/// The client address: the peer, unless the peer is a trusted proxy, in
/// which case the right-most `X-Forwarded-For` entry it appended.
pub(crate) fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let last = forwarded.and_then(|v| v.rsplit(',').next()).and_then(|s| s.trim().parse().ok());
    Some(last.unwrap_or(peer))
}

/// The request facts the audit log keeps.
pub(crate) fn request_info(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> RequestInfo {
    let user_agent = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| {
        let cut: String = ua.chars().take(MAX_USER_AGENT).collect();
        cut
    });
    RequestInfo { ip: client_ip(req, trusted_proxies).map(|ip| ip.to_string()), user_agent }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(peer.parse().expect("addr"));
        if let Some(value) = forwarded {
            req = req.insert_header(("x-forwarded-for", value));
        }
        req.to_http_request()
    }

    #[test]
    fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let spoofed = request("192.0.2.9:5000", Some("203.0.113.7"));
        assert_eq!(client_ip(&spoofed, &[proxy]), Some("192.0.2.9".parse().expect("ip")));
        let proxied = request("10.0.0.1:5000", Some("198.51.100.1, 203.0.113.7"));
        assert_eq!(client_ip(&proxied, &[proxy]), Some("203.0.113.7".parse().expect("ip")));
        let garbled = request("10.0.0.1:5000", Some("not an address"));
        assert_eq!(client_ip(&garbled, &[proxy]), Some(proxy));
    }

    #[test]
    fn user_agents_are_cut() {
        let req = TestRequest::default().insert_header((USER_AGENT, "x".repeat(1000))).to_http_request();
        assert_eq!(request_info(&req, &[]).user_agent.map(|ua| ua.len()), Some(MAX_USER_AGENT));
    }
}
