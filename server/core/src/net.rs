//! Address ranges for PORTAL_TRUSTED_PROXIES: which hops in front of the
//! portal may tell it, in X-Forwarded-For, whom they are forwarding.

use std::fmt;
use std::net::IpAddr;

/// One address or CIDR range (`10.0.0.0/8`, `::1`, `2001:db8::/32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    pub fn parse(text: &str) -> Result<IpNetwork, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{text}` is not an IP address or CIDR range"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(format!("`{text}`: the prefix length must be 0 to {max}")),
            },
        };
        Ok(IpNetwork { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The proxies whose X-Forwarded-For entries are believed. Default:
/// loopback (a reverse proxy on the same machine).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNetwork>);

impl TrustedProxies {
    pub const DEFAULT: &'static str = "127.0.0.0/8,::1";

    /// A comma-separated list of addresses and CIDR ranges.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let networks = text
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .map(IpNetwork::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies(networks))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }
}

impl Default for TrustedProxies {
    fn default() -> Self {
        TrustedProxies::parse(Self::DEFAULT).expect("valid default")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_contain_their_addresses() {
        let list = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7, 2001:db8::/32").unwrap();
        for inside in [
            "10.0.0.1",
            "10.255.255.255",
            "192.168.1.7",
            "2001:db8:1::5",
            "::ffff:10.1.2.3",
        ] {
            assert!(list.contains(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.1", "192.168.1.8", "2001:db9::1", "::1", "127.0.0.1"] {
            assert!(!list.contains(ip(outside)), "{outside}");
        }
        assert!(TrustedProxies::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("203.0.113.9")));
        assert!(!TrustedProxies::parse("").unwrap().contains(ip("127.0.0.1")));
    }

    #[test]
    fn the_default_is_loopback() {
        let list = TrustedProxies::default();
        for inside in ["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"] {
            assert!(list.contains(ip(inside)), "{inside}");
        }
        for outside in ["10.0.0.1", "203.0.113.9", "::2", "fe80::1"] {
            assert!(!list.contains(ip(outside)), "{outside}");
        }
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "proxy.example",
            "10.0.0.0/x",
            "1.2.3",
        ] {
            let e = TrustedProxies::parse(bad).unwrap_err();
            assert!(e.contains(bad.split('/').next().unwrap()), "{bad}: {e}");
        }
    }
}
