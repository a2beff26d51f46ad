//! `portcullis healthcheck`: asks the server configured like this process
//! whether it is ready (`GET /readyz` on `listen`), so a container's health
//! check needs no `curl` in the image. Plain HTTP/1.1 over a std socket with
//! short timeouts: no async runtime, no TLS, no extra dependency.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// How long connecting, writing and reading may each take.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Why the server is not healthy. Each message is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HealthcheckError {
    /// `listen` has port 0: no fixed address to ask.
    #[error("listen = {0} has port 0: no fixed address to check")]
    NoPort(SocketAddr),
    /// Nothing answered (refused, timed out, reset).
    #[error("cannot reach http://{addr}/readyz: {source}")]
    Unreachable {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// An answer that is not HTTP.
    #[error("http://{addr}/readyz answered something that is not HTTP")]
    NotHttp {
        /// Where.
        addr: SocketAddr,
    },
    /// An HTTP status other than 200.
    #[error("http://{addr}/readyz answered {status}")]
    NotReady {
        /// Where.
        addr: SocketAddr,
        /// The status line after the version, e.g. `503 Service Unavailable`.
        status: String,
    },
}

/// The address to connect to for a server listening on `listen`: a wildcard
/// (`0.0.0.0`, `[::]`) becomes the loopback address of its family.
pub fn target(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from((Ipv4Addr::LOCALHOST, listen.port())),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::from((Ipv6Addr::LOCALHOST, listen.port())),
        _ => listen,
    }
}

/// `GET /readyz` on the server listening on `listen`: `Ok` on 200.
pub fn check(listen: SocketAddr, timeout: Duration) -> Result<(), HealthcheckError> {
    if listen.port() == 0 {
        return Err(HealthcheckError::NoPort(listen));
    }
    let addr = target(listen);
    let unreachable = |source| HealthcheckError::Unreachable { addr, source };
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(unreachable)?;
    stream.set_read_timeout(Some(timeout)).map_err(unreachable)?;
    stream.set_write_timeout(Some(timeout)).map_err(unreachable)?;
    let host = match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    };
    let request = format!(
        "GET /readyz HTTP/1.1\r\nHost: {host}\r\nUser-Agent: portcullis-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(unreachable)?;
    // The status line is all that matters; read until its end (or 1 KiB).
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 1024 {
        match stream.read(&mut buf).map_err(unreachable)? {
            0 => break,
            n => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end().splitn(2, ' ');
    match (parts.next(), parts.next()) {
        (Some(version), Some(status)) if version.starts_with("HTTP/1.") => {
            if status == "200" || status.starts_with("200 ") {
                Ok(())
            } else {
                Err(HealthcheckError::NotReady { addr, status: status.to_owned() })
            }
        }
        _ => Err(HealthcheckError::NotHttp { addr }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listen_address_is_checked_on_loopback() {
        let v4: SocketAddr = "0.0.0.0:8080".parse().expect("addr");
        assert_eq!(target(v4), "127.0.0.1:8080".parse().expect("addr"));
        let v6: SocketAddr = "[::]:8080".parse().expect("addr");
        assert_eq!(target(v6), "[::1]:8080".parse().expect("addr"));
        let fixed: SocketAddr = "10.0.0.5:8080".parse().expect("addr");
        assert_eq!(target(fixed), fixed);
    }

    #[test]
    fn port_zero_is_an_error_not_a_connection() {
        let err = check("127.0.0.1:0".parse().expect("addr"), TIMEOUT).expect_err("port 0");
        assert!(err.to_string().contains("port 0"), "{err}");
    }
}
