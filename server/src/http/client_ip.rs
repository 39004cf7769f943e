//! The client's IP address, for rate limits and the audit log. One rule
//! (`client_ip`) for both: the socket's peer, or, behind a proxy
//! (PORTAL_TRUST_PROXY=true) whose address is in PORTAL_TRUSTED_PROXIES,
//! the rightmost X-Forwarded-For entry that is not a trusted proxy. Entries
//! to its left were written by the client and are never believed.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Request};
use portal_core::net::TrustedProxies;
use portal_core::Config;
use tower_governor::governor::SharedRateLimiter;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::GovernorError;

use super::AppState;

/// The client behind `peer`: `peer` itself unless proxies are trusted and
/// `peer` is one; then X-Forwarded-For is walked from the right, over
/// trusted hops, to the first address that is not one. An unreadable entry
/// stops the walk at the last address read; if every entry is a trusted
/// hop, the leftmost is the client.
pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    trusted: Option<&TrustedProxies>,
) -> Option<IpAddr> {
    let mut client = peer?.to_canonical();
    let Some(trusted) = trusted else {
        return Some(client);
    };
    if !trusted.contains(client) {
        return Some(client);
    }
    // Several X-Forwarded-For lines are one list, in order.
    for line in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(line) = line.to_str() else {
            return Some(client);
        };
        for entry in line.rsplit(',') {
            let Some(ip) = forwarded_ip(entry.trim()) else {
                return Some(client);
            };
            client = ip;
            if !trusted.contains(ip) {
                return Some(ip);
            }
        }
    }
    Some(client)
}

/// One X-Forwarded-For entry: `203.0.113.9`, `203.0.113.9:4711`,
/// `2001:db8::1` or `[2001:db8::1]:4711`.
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    let ip = if let Some(rest) = entry.strip_prefix('[') {
        rest.split_once(']')?.0.parse().ok()?
    } else if let Ok(ip) = entry.parse::<IpAddr>() {
        ip
    } else {
        entry.parse::<SocketAddr>().ok()?.ip()
    };
    Some(ip.to_canonical())
}

/// What a rate limit counts: the address, or an IPv6 client's /64 (one
/// host is usually given a whole /64, and can rotate addresses inside it).
pub fn rate_limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u64::MAX as u128))),
        v4 => v4,
    }
}

fn trusted(config: &Config) -> Option<&TrustedProxies> {
    config.trust_proxy.then_some(&config.trusted_proxies)
}

fn peer(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The rate limiter's key: `rate_limit_key(client_ip(..))`.
#[derive(Clone, Debug)]
pub struct ClientIpKey {
    trusted: Option<Arc<TrustedProxies>>,
}

impl ClientIpKey {
    pub fn new(config: &Config) -> Self {
        ClientIpKey {
            trusted: trusted(config).cloned().map(Arc::new),
        }
    }
}

impl KeyExtractor for ClientIpKey {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        client_ip(
            req.headers(),
            peer(req.extensions()),
            self.trusted.as_deref(),
        )
        .map(rate_limit_key)
        .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// Drops the limiter's keys whose budget is full again, every minute, so
/// its map holds only recent clients; stops when the limiter is dropped.
pub fn prune_stale_keys<M>(limiter: &SharedRateLimiter<IpAddr, M>)
where
    M: governor::middleware::RateLimitingMiddleware<governor::clock::QuantaInstant>
        + Send
        + Sync
        + 'static,
{
    let weak: Weak<_> = Arc::downgrade(limiter);
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(limiter) = weak.upgrade() else {
                return;
            };
            let before = limiter.len();
            limiter.retain_recent();
            limiter.shrink_to_fit();
            tracing::debug!(before, after = limiter.len(), "rate limiter pruned");
        }
    });
}

/// Extractor: `ClientIp(Some("203.0.113.9"))`, the full address (not the
/// /64) for the audit log and the sessions list.
#[derive(Clone, Debug)]
pub struct ClientIp(pub Option<String>);

impl ClientIp {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = client_ip(
            &parts.headers,
            peer(&parts.extensions),
            trusted(&state.services.config),
        );
        Ok(ClientIp(ip.map(|ip| ip.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    fn choose(lines: &[&str], peer: &str, trusted: &str) -> Option<IpAddr> {
        let trusted = TrustedProxies::parse(trusted).unwrap();
        client_ip(&xff(lines), Some(ip(peer)), Some(&trusted))
    }

    const LOOPBACK: &str = TrustedProxies::DEFAULT;

    #[test]
    fn spoofed_leftmost_entries_are_ignored() {
        // The proxy on loopback appended the address it saw (203.0.113.7).
        for spoof in [
            "198.51.100.1",
            "10.0.0.1",
            "127.0.0.1",
            "::1",
            "garbage",
            "",
        ] {
            let line = format!("{spoof}, 203.0.113.7");
            assert_eq!(
                choose(&[&line], "127.0.0.1", LOOPBACK),
                Some(ip("203.0.113.7")),
                "{line}"
            );
        }
        // The client's own header line, then the proxy's.
        assert_eq!(
            choose(&["198.51.100.1", "203.0.113.7"], "127.0.0.1", LOOPBACK),
            Some(ip("203.0.113.7"))
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        // Client -> CDN edge (10.1.0.5, trusted) -> load balancer (10.2.0.1, trusted) -> portal.
        let line = "198.51.100.1, 203.0.113.7, 10.1.0.5";
        assert_eq!(
            choose(&[line], "10.2.0.1", "10.0.0.0/8"),
            Some(ip("203.0.113.7"))
        );
        // Only trusted hops: the leftmost of them.
        assert_eq!(
            choose(&["10.1.0.5, 10.3.0.1"], "10.2.0.1", "10.0.0.0/8"),
            Some(ip("10.1.0.5"))
        );
        // No header: the proxy itself.
        assert_eq!(choose(&[], "10.2.0.1", "10.0.0.0/8"), Some(ip("10.2.0.1")));
        // An unreadable entry on the right stops the walk at the last hop read.
        assert_eq!(
            choose(
                &["203.0.113.7, 10.9.9.9, nonsense"],
                "10.2.0.1",
                "10.0.0.0/8"
            ),
            Some(ip("10.2.0.1"))
        );
        // Ports and brackets, as some proxies write them.
        assert_eq!(
            choose(&["203.0.113.7:4711"], "127.0.0.1", LOOPBACK),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            choose(&["[2001:db8::5]:443"], "127.0.0.1", LOOPBACK),
            Some(ip("2001:db8::5"))
        );
        assert_eq!(
            choose(&["::ffff:203.0.113.7"], "::1", LOOPBACK),
            Some(ip("203.0.113.7"))
        );
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client() {
        // Straight from the internet: its header is its own invention.
        assert_eq!(
            choose(&["198.51.100.1"], "203.0.113.7", LOOPBACK),
            Some(ip("203.0.113.7"))
        );
        // Proxies not trusted at all (PORTAL_TRUST_PROXY=false).
        assert_eq!(
            client_ip(&xff(&["198.51.100.1"]), Some(ip("127.0.0.1")), None),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(client_ip(&xff(&[]), None, None), None);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let key = |s: &str| rate_limit_key(ip(s));
        assert_eq!(key("2001:db8:a:b::1"), ip("2001:db8:a:b::"));
        assert_eq!(
            key("2001:db8:a:b:ffff:ffff:ffff:ffff"),
            ip("2001:db8:a:b::")
        );
        assert_ne!(key("2001:db8:a:c::1"), key("2001:db8:a:b::1"));
        assert_eq!(key("203.0.113.7"), ip("203.0.113.7"));
        assert_eq!(key("::ffff:203.0.113.7"), ip("203.0.113.7"));
    }
}
