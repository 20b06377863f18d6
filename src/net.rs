//! Addresses and networks (`10.0.0.0/8`, `::1`) for `--auth-proxy-trusted`, parsed with the
//! `ipnet` crate; a bare address is a one-address network.

use std::net::IpAddr;
use std::str::FromStr;

/// The shortest IPv4 prefix trusted without `--auth-proxy-trust-wide-networks`: a /8 is
/// already 16 million addresses, and anything wider is "the internet" by mistake.
pub const NARROWEST_WIDE_V4: u8 = 8;
/// The shortest IPv6 prefix trusted without `--auth-proxy-trust-wide-networks` (a /32 is
/// a whole provider's allocation).
pub const NARROWEST_WIDE_V6: u8 = 32;

/// An IP network: an address and a prefix length. IPv4-mapped IPv6 networks
/// (`::ffff:10.0.0.0/104`) are kept as the IPv4 network they denote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet(ipnet::IpNet);

impl IpNet {
    /// Whether `ip` lies in this network. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, as
    /// a dual-stack listener reports IPv4 peers) match IPv4 networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.contains(&ip)
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.0.prefix_len()
    }

    /// Whether the network is wider than anyone's proxy fleet: an IPv4 prefix shorter than
    /// [`NARROWEST_WIDE_V4`] or an IPv6 prefix shorter than [`NARROWEST_WIDE_V6`]
    /// (`0.0.0.0/0`, `::/0`, ...).
    pub fn is_wide(&self) -> bool {
        match self.0 {
            ipnet::IpNet::V4(n) => n.prefix_len() < NARROWEST_WIDE_V4,
            ipnet::IpNet::V6(n) => n.prefix_len() < NARROWEST_WIDE_V6,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let net = if s.contains('/') {
            s.parse::<ipnet::IpNet>().map_err(|_| {
                let max = if s.contains(':') { 128 } else { 32 };
                format!(
                    "{s:?} is not an IP address or CIDR network (the prefix length must be 0 to {max})"
                )
            })?
        } else {
            let addr: IpAddr = s
                .parse()
                .map_err(|_| format!("{s:?} is not an IP address or CIDR network"))?;
            ipnet::IpNet::from(addr)
        };
        // `::ffff:a.b.c.d/n` (n >= 96) is the IPv4 network a.b.c.d/(n - 96): peers are
        // compared as IPv4, so keep it as one (and judge its width as one).
        let net = match net {
            ipnet::IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
                Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                    .map(ipnet::IpNet::V4)
                    .unwrap_or(net),
                None => net,
            },
            other => other,
        };
        Ok(IpNet(net))
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn networks_match() {
        assert!(net("10.0.0.0/8").contains("10.1.2.3".parse().unwrap()));
        assert!(!net("10.0.0.0/8").contains("11.0.0.1".parse().unwrap()));
        assert!(net("127.0.0.1").contains("127.0.0.1".parse().unwrap()));
        assert!(!net("127.0.0.1").contains("127.0.0.2".parse().unwrap()));
        assert!(net("::1").contains("::1".parse().unwrap()));
        assert!(net("127.0.0.1/32").contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(net("0.0.0.0/0").contains("8.8.8.8".parse().unwrap()));
        assert!(!net("::1").contains("127.0.0.1".parse().unwrap()));
        // Host bits are allowed and ignored, as before.
        assert!(net("10.1.2.3/8").contains("10.9.9.9".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("::/129".parse::<IpNet>().is_err());
        assert!("evil".parse::<IpNet>().is_err());
        assert!("10.0.0.0/x".parse::<IpNet>().is_err());
        assert_eq!(net(" 10.0.0.0/8 ").to_string(), "10.0.0.0/8");
        assert_eq!(net("::1").to_string(), "::1/128");
    }

    #[test]
    fn mapped_networks_are_ipv4() {
        let mapped = net("::ffff:10.0.0.0/104");
        assert_eq!(mapped.to_string(), "10.0.0.0/8");
        assert!(mapped.contains("10.2.3.4".parse().unwrap()));
        assert!(mapped.contains("::ffff:10.2.3.4".parse().unwrap()));
        assert!(net("::ffff:0.0.0.0/96").is_wide());
    }

    #[test]
    fn wide_networks_are_recognized() {
        for wide in [
            "0.0.0.0/0",
            "10.0.0.0/7",
            "::/0",
            "2001:db8::/31",
            "128.0.0.0/1",
        ] {
            assert!(net(wide).is_wide(), "{wide}");
        }
        for narrow in [
            "10.0.0.0/8",
            "127.0.0.1",
            "2001:db8::/32",
            "::1",
            "fd00::/48",
        ] {
            assert!(!net(narrow).is_wide(), "{narrow}");
        }
    }
}
