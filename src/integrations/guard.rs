//! The guard on calls to partner-configured URLs (webhooks, Esabora,
//! Zapier): a server-side request forgery (SSRF) barrier.
//!
//! A territory admin types these URLs. Without a guard the worker would
//! call whatever they point at (the loopback interface, the private
//! network, the cloud metadata service at 169.254.169.254) and the
//! "Interconnexions" page would show the answer back. The guard:
//! - accepts `https` only ([`Policy::AllowPrivate`], for tests with local
//!   fake servers, also accepts `http` and private addresses);
//! - refuses names that are internal by construction: single labels
//!   (`redis`, `metadata`, resolved through search domains), `localhost`,
//!   `*.internal`, `*.local`, ... ([`check_name`]);
//! - checks literal IP hosts itself: reqwest dials them without calling
//!   the resolver;
//! - resolves names through [`GuardedResolver`] (reqwest's
//!   `dns_resolver`), which refuses the whole answer when one address is
//!   not public ([`is_public`]). The check runs at connect time, on the
//!   very addresses dialled, so DNS rebinding (public when the admin saved
//!   the URL, 127.0.0.1 when the worker calls) is refused too.
//!
//! The client that uses it (`Http::send_to_partner`) follows no redirect
//! (a 3xx to `http://127.0.0.1` is just an error status), ignores proxy
//! variables (a proxy would resolve the name on its side, out of the
//! guard's reach) and caps the answer's size.

use std::{
    fmt,
    future::Future,
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    pin::Pin,
    sync::Arc,
};

use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
};

/// What the guard lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Production: `https` to public addresses only.
    PublicOnly,
    /// Tests whose fake partner servers listen on 127.0.0.1 over plain
    /// `http` (`OUTBOUND_ALLOW_PRIVATE`, refused in production).
    AllowPrivate,
}

/// Why a URL or an address is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not an absolute URL with a host.
    Invalid,
    /// Another scheme than `https`.
    Scheme,
    /// A host name internal by construction.
    Name(String),
    /// An address that is not public (literal, or what a name resolved to).
    Address(IpAddr),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Invalid => f.write_str("adresse refusée : URL invalide"),
            Refused::Scheme => f.write_str("adresse refusée : https uniquement"),
            Refused::Name(name) => write!(f, "adresse refusée : nom interne {name}"),
            Refused::Address(ip) => write!(f, "adresse refusée : {ip} n'est pas publique"),
        }
    }
}

impl std::error::Error for Refused {}

impl Refused {
    /// The message shown next to the form field.
    pub fn form_message(&self) -> &'static str {
        match self {
            Refused::Invalid => "Indiquez une adresse https://… valide.",
            Refused::Scheme => "L’adresse doit commencer par https://.",
            Refused::Name(_) => {
                "Ce nom désigne un réseau interne : indiquez l’adresse publique du service (https://…)."
            }
            Refused::Address(_) => {
                "Cette adresse IP n’est pas publique (boucle locale, réseau privé ou réservé) : indiquez l’adresse publique du service."
            }
        }
    }
}

/// Whether an address may be called: globally routable unicast only.
///
/// IPv4: refuses 0.0.0.0/8, 10/8, 100.64/10 (CGNAT, also Alibaba's
/// metadata), 127/8, 169.254/16 (link-local, cloud metadata), 172.16/12,
/// 192.0.0/24, 192.0.2/24, 192.88.99/24, 192.168/16, 198.18/15,
/// 198.51.100/24, 203.0.113/24, 224/4 (multicast), 240/4 and broadcast.
/// IPv6: only 2000::/3 is public, minus 2001::/23 (Teredo, ORCHID...),
/// 2001:db8::/32 and 3fff::/20 (documentation); the IPv4 embedded in
/// `::ffff:a.b.c.d` (mapped), `64:ff9b::/96` (NAT64) and `2002::/16`
/// (6to4) must itself be public.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const NOT_PUBLIC: [([u8; 4], u32); 16] = [
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([100, 64, 0, 0], 10),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 24),
        ([192, 0, 2, 0], 24),
        ([192, 88, 99, 0], 24),
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15),
        ([198, 51, 100, 0], 24),
        ([203, 0, 113, 0], 24),
        ([224, 0, 0, 0], 4),
        ([240, 0, 0, 0], 4),
        ([255, 255, 255, 255], 32),
    ];
    !NOT_PUBLIC
        .iter()
        .any(|(net, prefix)| in_v4(ip, *net, *prefix))
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    (u128::from(ip) & mask) == (u128::from(Ipv6Addr::from(net)) & mask)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let bits = u128::from(ip);
    // NAT64 (RFC 6052) and 6to4 (RFC 3056) carry an IPv4 address that a
    // gateway will dial: it must be public itself.
    if in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return is_public_v4(Ipv4Addr::from((bits & 0xffff_ffff) as u32));
    }
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        return is_public_v4(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    // Global unicast only: this also refuses ::, ::1, the IPv4-compatible
    // ::/96, fc00::/7 (unique local), fe80::/10 (link-local), fec0::/10,
    // ff00::/8 (multicast), 64:ff9b:1::/48 and 100::/64.
    in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3)
        && !in_v6(ip, [0x2001, 0, 0, 0, 0, 0, 0, 0], 23)
        && !in_v6(ip, [0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32)
        && !in_v6(ip, [0x3fff, 0, 0, 0, 0, 0, 0, 0], 20)
}

/// Suffixes of names that only ever designate internal hosts.
const INTERNAL_SUFFIXES: [&str; 9] = [
    "localhost",
    "localdomain",
    "local",
    "internal",
    "intranet",
    "lan",
    "home.arpa",
    "in-addr.arpa",
    "ip6.arpa",
];

/// Refuses host names that are internal by construction, before any DNS
/// query: `localhost` and `*.localhost`, `*.internal` (GCP
/// `metadata.google.internal`, AWS `instance-data.ec2.internal`),
/// `*.local`, `*.lan`, ..., and single-label names (`metadata`, `redis`),
/// which the system resolver completes with the machine's search domains.
pub fn check_name(host: &str) -> Result<(), Refused> {
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if let Ok(ip) = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return if is_public(ip) {
            Ok(())
        } else {
            Err(Refused::Address(ip))
        };
    }
    let internal = !name.contains('.')
        || INTERNAL_SUFFIXES
            .iter()
            .any(|s| name == *s || name.ends_with(&format!(".{s}")));
    if internal {
        Err(Refused::Name(name))
    } else {
        Ok(())
    }
}

/// Checks a URL as typed by an admin or read from the database: scheme,
/// host name, literal address. Names are checked again, on their resolved
/// addresses, when the call is made ([`GuardedResolver`]).
pub fn check_url(policy: Policy, raw: &str) -> Result<Url, Refused> {
    let url = Url::parse(raw.trim()).map_err(|_| Refused::Invalid)?;
    let allowed_scheme = match policy {
        Policy::PublicOnly => url.scheme() == "https",
        Policy::AllowPrivate => matches!(url.scheme(), "https" | "http"),
    };
    if !allowed_scheme {
        return Err(Refused::Scheme);
    }
    // The url crate normalises every IPv4 spelling (`2130706433`,
    // `0x7f.1`, `127.1`) into `Host::Ipv4`.
    let host = url.host().ok_or(Refused::Invalid)?;
    if policy == Policy::AllowPrivate {
        return Ok(url);
    }
    match host {
        url::Host::Ipv4(ip) if !is_public_v4(ip) => Err(Refused::Address(IpAddr::V4(ip))),
        url::Host::Ipv6(ip) if !is_public_v6(ip) => Err(Refused::Address(IpAddr::V6(ip))),
        url::Host::Domain(name) => check_name(name).map(|()| url.clone()),
        _ => Ok(url.clone()),
    }
}

/// A future of resolved addresses.
pub type Lookup = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// How names become addresses: the system resolver in production; tests
/// plug a table of their own (a name that resolves to 127.0.0.1, a name
/// whose answer changes between two calls).
pub trait Resolver: Send + Sync + 'static {
    fn lookup(&self, host: String) -> Lookup;
}

/// The system resolver (`getaddrinfo`, on tokio's blocking pool).
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup(&self, host: String) -> Lookup {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// The policy and the resolver of the partner client.
#[derive(Clone)]
pub struct Guard {
    policy: Policy,
    resolver: Arc<dyn Resolver>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard on the system resolver.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            resolver: Arc::new(SystemResolver),
        }
    }

    /// The guard the configuration asks for.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self::new(if config.outbound_allow_private {
            Policy::AllowPrivate
        } else {
            Policy::PublicOnly
        })
    }

    /// The same guard over another resolver (tests).
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolver>) -> Self {
        self.resolver = resolver;
        self
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// See [`check_url`].
    pub fn check_url(&self, raw: &str) -> Result<Url, Refused> {
        check_url(self.policy, raw)
    }

    /// The resolver to give reqwest's `dns_resolver`.
    pub fn dns_resolver(&self) -> GuardedResolver {
        GuardedResolver {
            policy: self.policy,
            resolver: self.resolver.clone(),
        }
    }
}

/// reqwest's resolver for partner calls: the name is checked, resolved,
/// and refused unless every address is public. reqwest dials only what
/// this returns, so the check and the connection see the same addresses.
pub struct GuardedResolver {
    policy: Policy,
    resolver: Arc<dyn Resolver>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let policy = self.policy;
        let resolver = self.resolver.clone();
        Box::pin(async move {
            if policy == Policy::PublicOnly {
                check_name(&host)?;
            }
            let addresses = resolver.lookup(host).await?;
            if addresses.is_empty() {
                return Err(io::Error::new(io::ErrorKind::NotFound, "no address").into());
            }
            if policy == Policy::PublicOnly {
                // One private address is enough to refuse: a name that mixes
                // public and private answers is not a partner's service.
                if let Some(bad) = addresses.iter().find(|ip| !is_public(**ip)) {
                    return Err(Refused::Address(*bad).into());
                }
            }
            let addrs: Addrs = Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// The refusal behind a reqwest error, if the guard caused it.
pub fn refusal<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_globally_routable_addresses_are_public() {
        for refused in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.10",
            "198.51.100.7",
            "203.0.113.5",
            "198.18.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2001:db8::1",
            "2001::1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "3fff::1",
            "100::1",
        ] {
            assert!(!is_public(ip(refused)), "{refused} must be refused");
        }
        for public in [
            "93.184.215.14",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2a01:e0a:1::1",
            "2606:4700::1111",
            "::ffff:93.184.215.14",
            "64:ff9b::5db8:d70e",
            "2002:5db8:d70e::1",
        ] {
            assert!(is_public(ip(public)), "{public} is public");
        }
    }

    #[test]
    fn urls_are_https_to_public_hosts() {
        let check = |u: &str| check_url(Policy::PublicOnly, u);
        assert!(check("https://esabora.partenaire.fr/ws/rest").is_ok());
        assert!(check("https://93.184.215.14/hook").is_ok());
        assert_eq!(
            check("http://esabora.partenaire.fr/").unwrap_err(),
            Refused::Scheme
        );
        assert_eq!(check("file:///etc/passwd").unwrap_err(), Refused::Scheme);
        assert_eq!(check("gopher://x.fr/").unwrap_err(), Refused::Scheme);
        assert_eq!(check("pas une url").unwrap_err(), Refused::Invalid);
        for literal in [
            "https://127.0.0.1/",
            "https://127.1/",
            "https://2130706433/",
            "https://0x7f.0.0.1/",
            "https://0177.0.0.1/",
            "https://[::1]/",
            "https://[::ffff:7f00:1]/",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.8:8443/",
            "https://[fe80::1]/",
            "https://0.0.0.0/",
        ] {
            assert!(
                matches!(check(literal), Err(Refused::Address(_))),
                "{literal}"
            );
        }
        for name in [
            "https://localhost/",
            "https://LOCALHOST./",
            "https://x.localhost/",
            "https://metadata.google.internal/computeMetadata/v1/",
            "https://instance-data.ec2.internal/",
            "https://metadata/",
            "https://redis:6379/",
            "https://nas.local/",
            "https://box.home.arpa/",
        ] {
            assert!(matches!(check(name), Err(Refused::Name(_))), "{name}");
        }
        // Tests talk to fake servers on 127.0.0.1 over http.
        assert!(check_url(Policy::AllowPrivate, "http://127.0.0.1:4000/x").is_ok());
        assert_eq!(
            check_url(Policy::AllowPrivate, "ftp://127.0.0.1/").unwrap_err(),
            Refused::Scheme
        );
    }
}
