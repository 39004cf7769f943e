//! Development-only routes answer this machine only. The dev mailbox shows
//! every sign-in link (staff ones too) and the sandbox checkout marks
//! invoices paid: even when development mode was forced onto the network
//! (PORTAL_ALLOW_DEV_ON_NETWORK), another machine gets 404 for them, the
//! same as in production. The peer is the socket's address (ConnectInfo),
//! never a forwarded header, which any client can write.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use portal_core::config::is_loopback_ip;

use super::plain_page::not_found;

/// The dev mailbox page and its server function (and any future `/dev/…`
/// page or `dev_…` server function), and the sandbox's hosted checkout.
pub fn is_dev_only_path(path: &str) -> bool {
    path == "/dev"
        || path.starts_with("/dev/")
        || path.starts_with("/api/dev_")
        || path.starts_with("/sandbox/")
}

/// Whether a request came from this machine. No socket address (a request
/// made inside the process) is not proof of that.
pub fn from_loopback(peer: Option<SocketAddr>) -> bool {
    peer.is_some_and(|addr| is_loopback_ip(addr.ip()))
}

pub async fn loopback_only(request: Request, next: Next) -> Response {
    if is_dev_only_path(request.uri().path()) {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        if !from_loopback(peer) {
            return not_found();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_paths_are_the_mailbox_its_server_function_and_the_sandbox() {
        for path in [
            "/dev/mailbox",
            "/dev",
            "/api/dev_mailbox",
            "/sandbox/checkout/cs_sandbox_1",
        ] {
            assert!(is_dev_only_path(path), "{path}");
        }
        for path in [
            "/",
            "/developer",
            "/api/site_info",
            "/accounts/1/invoices",
            "/sign-in",
        ] {
            assert!(!is_dev_only_path(path), "{path}");
        }
    }

    #[test]
    fn only_a_loopback_peer_is_this_machine() {
        let peer = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        for p in [
            "127.0.0.1:5000",
            "127.0.0.2:5000",
            "[::1]:5000",
            "[::ffff:127.0.0.1]:5000",
        ] {
            assert!(from_loopback(peer(p)), "{p}");
        }
        for p in [
            "192.168.1.20:5000",
            "10.0.0.5:5000",
            "203.0.113.9:5000",
            "[::ffff:192.168.1.20]:5000",
            "[fe80::1]:5000",
            "0.0.0.0:5000",
        ] {
            assert!(!from_loopback(peer(p)), "{p}");
        }
        assert!(!from_loopback(None), "no socket address");
    }
}
