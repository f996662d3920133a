//! Which proxy a connection to the API server goes through, decided exactly as
//! client-go (and so kubectl) decides it:
//!
//! - the cluster's `proxy-url` wins, whatever the environment says;
//! - else Go's `http.ProxyFromEnvironment`: `HTTPS_PROXY`/`https_proxy` for an
//!   https server (`HTTP_PROXY`/`http_proxy` for http, not under CGI), unless
//!   the server is `localhost` or a loopback IP, or `NO_PROXY`/`no_proxy`
//!   matches it (`*`, IPs, CIDRs, domain names with their subdomains,
//!   `.domain` for subdomains only, each optionally with `:port`).
//!
//! kube-rs's own environment handling differs (it matches NO_PROXY against the
//! proxy instead of the server, applies it to `proxy-url` too, and fails on
//! entries Go ignores), so the tool decides here and hands kube the result.

use std::net::IpAddr;

use http::Uri;

/// A proxy setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The URL does not parse, or has a scheme no client supports.
    #[error(
        "the proxy {shown} from {origin} is not a usable proxy URL ({why}); use http://, https:// or socks5:// with a host"
    )]
    Invalid {
        /// The URL without any user:password.
        shown: String,
        origin: &'static str,
        why: String,
    },
}

/// The proxy variables of the environment, read once.
#[derive(Debug, Default, Clone)]
pub struct ProxyEnv {
    pub https_proxy: Option<String>,
    pub http_proxy: Option<String>,
    pub no_proxy: Option<String>,
    /// Running as a CGI script (`REQUEST_METHOD` set): `HTTP_PROXY` is ignored.
    pub cgi: bool,
}

fn env_any(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

impl ProxyEnv {
    pub fn from_env() -> ProxyEnv {
        ProxyEnv {
            https_proxy: env_any(&["HTTPS_PROXY", "https_proxy"]),
            http_proxy: env_any(&["HTTP_PROXY", "http_proxy"]),
            no_proxy: env_any(&["NO_PROXY", "no_proxy"]),
            cgi: env_any(&["REQUEST_METHOD"]).is_some(),
        }
    }
}

/// The proxy for connections to `server`; `None` for a direct connection.
pub fn select(
    cluster_proxy_url: Option<&str>,
    server: &Uri,
    env: &ProxyEnv,
) -> Result<Option<Uri>, ProxyError> {
    if let Some(p) = cluster_proxy_url.filter(|p| !p.trim().is_empty()) {
        return parse_proxy(p, "the cluster's proxy-url").map(Some);
    }
    let (value, origin) = match server.scheme_str() {
        Some("https") => (env.https_proxy.as_deref(), "HTTPS_PROXY"),
        Some("http") if !env.cgi => (env.http_proxy.as_deref(), "HTTP_PROXY"),
        _ => (None, ""),
    };
    let Some(value) = value else { return Ok(None) };
    let Some(host) = server.host() else {
        return Ok(None);
    };
    let port = server
        .port_u16()
        .unwrap_or(if server.scheme_str() == Some("http") {
            80
        } else {
            443
        });
    if !use_proxy(host, port, env.no_proxy.as_deref().unwrap_or("")) {
        return Ok(None);
    }
    parse_proxy(value, origin).map(Some)
}

/// Go's `parseProxy`: a value without a scheme means http.
fn parse_proxy(value: &str, origin: &'static str) -> Result<Uri, ProxyError> {
    let value = value.trim();
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    let invalid = |why: String| ProxyError::Invalid {
        shown: redact(&with_scheme),
        origin,
        why,
    };
    let uri: Uri = with_scheme
        .parse()
        .map_err(|e: http::uri::InvalidUri| invalid(e.to_string()))?;
    match uri.scheme_str() {
        Some("http" | "https" | "socks5") => {}
        other => {
            return Err(invalid(format!(
                "scheme {:?} is not supported",
                other.unwrap_or_default()
            )));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("no host".into()));
    }
    Ok(uri)
}

/// A proxy URL for messages and logs: no user:password.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Go's `useProxy`: false for loopback servers and NO_PROXY matches.
fn use_proxy(host: &str, port: u16, no_proxy: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if host == "localhost" {
        return false;
    }
    let ip: Option<IpAddr> = host.parse().ok();
    if ip.is_some_and(|ip| ip.is_loopback()) {
        return false;
    }
    !no_proxy
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .any(|p| matches(&p, &host, ip, port))
}

/// Does one NO_PROXY entry match the server?
fn matches(entry: &str, host: &str, ip: Option<IpAddr>, port: u16) -> bool {
    if entry == "*" {
        return true;
    }
    if let Some((net, bits)) = entry.split_once('/')
        && let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u8>())
    {
        return ip.is_some_and(|ip| in_cidr(ip, net, bits));
    }
    let (entry_host, entry_port) = split_host_port(entry);
    if entry_host.is_empty() {
        return false;
    }
    let port_ok = entry_port.is_none_or(|p| p == port);
    if let Ok(entry_ip) = entry_host.parse::<IpAddr>() {
        return ip == Some(entry_ip) && port_ok;
    }
    // foo.com matches foo.com and its subdomains; .foo.com and *.foo.com
    // match the subdomains only.
    let (suffix, match_host) = match entry_host.strip_prefix("*.") {
        Some(rest) => (format!(".{rest}"), false),
        None if entry_host.starts_with('.') => (entry_host.to_string(), false),
        None => (format!(".{entry_host}"), true),
    };
    (host.ends_with(&suffix) || (match_host && host == &suffix[1..])) && port_ok
}

/// "host:port", "[v6]:port", or a bare host (a bare IPv6 address included).
fn split_host_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(p) => (h, Some(p)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(https: Option<&str>, no_proxy: Option<&str>) -> ProxyEnv {
        ProxyEnv {
            https_proxy: https.map(Into::into),
            http_proxy: Some("http://plain:3128".into()),
            no_proxy: no_proxy.map(Into::into),
            cgi: false,
        }
    }

    fn pick(cluster: Option<&str>, server: &str, env: &ProxyEnv) -> Option<String> {
        select(cluster, &server.parse().unwrap(), env)
            .unwrap()
            .map(|u| u.to_string())
    }

    #[test]
    fn cluster_proxy_url_wins_over_the_environment_and_no_proxy() {
        let e = env(Some("http://env:3128"), Some("*"));
        assert_eq!(
            pick(Some("socks5://127.0.0.1:1080"), "https://api.corp:6443", &e).as_deref(),
            Some("socks5://127.0.0.1:1080/")
        );
        // Even for a loopback server: kubectl sends it through the proxy too.
        assert!(pick(Some("http://p:1"), "https://127.0.0.1:6443", &e).is_some());
    }

    #[test]
    fn environment_by_scheme() {
        let e = env(Some("http://env:3128"), None);
        assert_eq!(
            pick(None, "https://api.corp:6443", &e).as_deref(),
            Some("http://env:3128/")
        );
        assert_eq!(
            pick(None, "http://api.corp:8080", &e).as_deref(),
            Some("http://plain:3128/")
        );
        let cgi = ProxyEnv { cgi: true, ..e };
        assert_eq!(pick(None, "http://api.corp:8080", &cgi), None);
        assert_eq!(pick(None, "https://api.corp:6443", &env(None, None)), None);
    }

    #[test]
    fn a_value_without_scheme_is_http() {
        let e = env(Some("proxy.corp:3128"), None);
        assert_eq!(
            pick(None, "https://api.corp", &e).as_deref(),
            Some("http://proxy.corp:3128/")
        );
    }

    #[test]
    fn loopback_servers_never_use_the_environment() {
        let e = env(Some("http://env:3128"), None);
        for s in [
            "https://127.0.0.1:6443",
            "https://127.1.2.3:6443",
            "https://localhost:6443",
            "https://[::1]:6443",
        ] {
            assert_eq!(pick(None, s, &e), None, "{s}");
        }
    }

    #[test]
    fn no_proxy_matches_like_go() {
        let cases: &[(&str, &str, bool)] = &[
            // (NO_PROXY, server, proxied?)
            ("api.corp", "https://api.corp:6443", false),
            ("api.corp", "https://x.api.corp:6443", false),
            ("api.corp", "https://otherapi.corp:6443", true),
            (".corp", "https://api.corp", false),
            (".api.corp", "https://api.corp", true),
            ("*.api.corp", "https://api.corp", true),
            ("*.api.corp", "https://a.api.corp", false),
            ("api.corp:6443", "https://api.corp:6443", false),
            ("api.corp:443", "https://api.corp:6443", true),
            ("api.corp:443", "https://api.corp", false),
            ("10.0.0.0/8", "https://10.1.2.3:6443", false),
            ("10.0.0.0/8", "https://11.1.2.3:6443", true),
            ("10.1.2.3", "https://10.1.2.3:6443", false),
            ("10.1.2.3:6443", "https://10.1.2.3:6443", false),
            ("10.1.2.3:1", "https://10.1.2.3:6443", true),
            ("fd00::/8", "https://[fd00::1]:6443", false),
            ("[fd00::1]:6443", "https://[fd00::1]:6443", false),
            ("*", "https://anything:1", false),
            (" other , API.CORP ", "https://api.corp", false),
            (",,,", "https://api.corp", true),
            ("not a : valid [ entry", "https://api.corp", true),
        ];
        for (no_proxy, server, proxied) in cases {
            let e = env(Some("http://env:3128"), Some(no_proxy));
            assert_eq!(
                pick(None, server, &e).is_some(),
                *proxied,
                "NO_PROXY={no_proxy:?} server={server}"
            );
        }
    }

    #[test]
    fn bad_proxies_are_errors_without_credentials() {
        let err = select(
            Some("ftp://user:secret@proxy:21"),
            &"https://a".parse().unwrap(),
            &ProxyEnv::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("\"ftp\"") && err.contains("proxy-url"),
            "{err}"
        );
        assert!(!err.contains("secret"), "{err}");
        assert_eq!(redact("http://u:p@proxy:3128/x"), "http://***@proxy:3128/x");
        assert_eq!(redact("http://proxy:3128"), "http://proxy:3128");
    }
}
