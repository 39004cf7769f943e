//! Configuration from the environment (and `.env` when present). Every
//! variable has a default that runs the portal locally on SQLite; bad values
//! stop start-up with one line naming the variable.

use std::time::Duration;

use url::Url;

use crate::domain::EmailAddress;

#[derive(Clone, Debug)]
pub struct Config {
    /// `sqlite://…` (embedded default) or `postgres://…`.
    pub database_url: String,
    /// Public URL used in every link we send (emails, redirects).
    pub base_url: Url,
    /// `smtp://host:port`, `smtps://…`; `None` keeps mail in the dev mailbox.
    pub smtp_url: Option<String>,
    pub production: bool,
    pub seller_name: String,
    pub seller_address: String,
    /// Where the PDF fonts are (`PORTAL_PDF_FONT_DIRS`, `:`-separated).
    pub pdf_font_dirs: String,
    pub mail_from: EmailAddress,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub magic_link_ttl: Duration,
    /// Sign-in links one email address may request per window.
    pub sign_in_per_email: u32,
    pub sign_in_email_window: Duration,
    /// Sign-in requests one IP address may make in a burst, and the seconds
    /// it takes to earn one more.
    pub sign_in_ip_burst: u32,
    pub sign_in_ip_refill_secs: u64,
    /// Read the client IP from X-Forwarded-For (behind a proxy only).
    pub trust_proxy: bool,
    /// With `trust_proxy`: the hops whose X-Forwarded-For entries are
    /// believed; the client is the rightmost address not in this list.
    pub trusted_proxies: crate::net::TrustedProxies,
    /// Invoice links in emails work until this many days after the due date.
    pub invoice_link_days_after_due: i64,
    /// Stripe secret key; `None` runs the built-in sandbox gateway.
    pub stripe_secret_key: Option<String>,
    /// The signing secret of the webhook endpoint (`whsec_…`). Required with
    /// a Stripe key; the sandbox makes up a random one per process if unset.
    pub stripe_webhook_secret: String,
    /// Stripe's API root; tests point it at a local fake.
    pub stripe_api_base: String,
    /// The origin of the gateway's hosted checkout (`https://checkout.stripe.com`),
    /// serialized (`scheme://host[:port]`): the page CSP's `form-action`
    /// allows it, as "Pay" redirects there after its form POST.
    pub stripe_checkout_origin: String,
    /// How long the sandbox takes to settle or fail an ACH debit.
    pub sandbox_ach_delay: Duration,
    /// How long a checkout stays open (Stripe allows 30 minutes to 24 hours).
    pub checkout_minutes: i64,
    /// How long a request may take until its response starts (a streamed
    /// download's body is not cut); then 503.
    pub request_timeout: Duration,
    /// Heavy downloads (zip, CSV, statement PDF) prepared at once; more wait
    /// briefly, then get 503 with Retry-After.
    pub heavy_downloads: usize,
    /// Seller API (issue 14): requests per second each API key may make
    /// (`PORTAL_API_RATE_PER_SECOND`, default 100), and how many it may
    /// make at once above that pace (`PORTAL_API_RATE_BURST`, default 200).
    /// Counted per instance: N instances allow up to N times as much.
    pub api_rate_per_second: u32,
    pub api_rate_burst: u32,
    /// Serve in development mode on a network address anyway (dangerous).
    pub allow_dev_on_network: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

impl Config {
    /// Reads the process environment after loading `.env` if one exists.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Builds the configuration from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let production = match get("PORTAL_ENV")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("development") | Some("dev") => false,
            Some("production") | Some("prod") => true,
            Some(other) => {
                return Err(err(
                    "PORTAL_ENV",
                    format!("expected `development` or `production`, got `{other}`"),
                ))
            }
        };

        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| "sqlite://.portal/portal.db".into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(err(
                "DATABASE_URL",
                "expected a `sqlite://path` or `postgres://…` URL",
            ));
        }

        let base_raw = get("PORTAL_BASE_URL").unwrap_or_else(|| "http://127.0.0.1:3000".into());
        let base_url = Url::parse(&base_raw)
            .map_err(|e| err("PORTAL_BASE_URL", format!("not a URL ({e})")))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.host_str().is_none() {
            return Err(err(
                "PORTAL_BASE_URL",
                "expected an absolute http:// or https:// URL",
            ));
        }
        if production && base_url.scheme() != "https" {
            return Err(err(
                "PORTAL_BASE_URL",
                "must be https:// when PORTAL_ENV=production",
            ));
        }

        let smtp_url = get("SMTP_URL");
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(err(
                    "SMTP_URL",
                    "expected smtp://host:port or smtps://host:port",
                ));
            }
        } else if production {
            return Err(err(
                "SMTP_URL",
                "must be set when PORTAL_ENV=production (the dev mailbox is off)",
            ));
        }

        let mail_from_raw =
            get("PORTAL_MAIL_FROM").unwrap_or_else(|| "billing@seller.example".into());
        let mail_from = EmailAddress::parse(&mail_from_raw)
            .map_err(|_| err("PORTAL_MAIL_FROM", "not an email address"))?;

        let minutes = |var: &'static str, default: u64| -> Result<Duration, ConfigError> {
            positive(&get, var, default).map(|m| Duration::from_secs(m * 60))
        };

        let stripe_secret_key = get("STRIPE_SECRET_KEY");
        if let Some(key) = &stripe_secret_key {
            if !(key.starts_with("sk_") || key.starts_with("rk_")) {
                return Err(err(
                    "STRIPE_SECRET_KEY",
                    "expected a secret key (sk_live_…, sk_test_…) or restricted key (rk_…)",
                ));
            }
        } else if production {
            return Err(err(
                "STRIPE_SECRET_KEY",
                "must be set when PORTAL_ENV=production (the sandbox gateway takes no real money)",
            ));
        }
        let stripe_webhook_secret =
            match (get("STRIPE_WEBHOOK_SECRET"), &stripe_secret_key) {
                (Some(secret), _) if secret.starts_with("whsec_") => secret,
                (Some(_), _) => {
                    return Err(err(
                        "STRIPE_WEBHOOK_SECRET",
                        "expected the endpoint's signing secret (whsec_…)",
                    ))
                }
                (None, Some(_)) => return Err(err(
                    "STRIPE_WEBHOOK_SECRET",
                    "must be set with STRIPE_SECRET_KEY (Dashboard → Webhooks → signing secret)",
                )),
                // Sandbox: nobody outside this process needs to know it.
                (None, None) => format!("whsec_sandbox_{:032x}", rand::random::<u128>()),
            };
        let stripe_api_base =
            get("STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com/".into());
        if Url::parse(&stripe_api_base).is_err() {
            return Err(err("STRIPE_API_BASE", "not a URL"));
        }
        let stripe_checkout_origin = checkout_origin(
            &get("STRIPE_CHECKOUT_ORIGIN").unwrap_or_else(|| "https://checkout.stripe.com".into()),
            production,
        )
        .map_err(|message| err("STRIPE_CHECKOUT_ORIGIN", message))?;
        let sandbox_ach_delay = Duration::from_secs(
            get("PORTAL_SANDBOX_ACH_DELAY_SECONDS")
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| {
                        err(
                            "PORTAL_SANDBOX_ACH_DELAY_SECONDS",
                            "expected whole seconds (0 or more)",
                        )
                    })
                })
                .transpose()?
                .unwrap_or(60),
        );
        let checkout_minutes = positive(&get, "PORTAL_CHECKOUT_MINUTES", 30)? as i64;
        if !(30..=24 * 60).contains(&checkout_minutes) {
            return Err(err(
                "PORTAL_CHECKOUT_MINUTES",
                "Stripe keeps a checkout open between 30 and 1440 minutes",
            ));
        }

        Ok(Config {
            database_url,
            base_url,
            smtp_url,
            production,
            seller_name: get("PORTAL_SELLER_NAME").unwrap_or_else(|| "Acme Supply Co.".into()),
            seller_address: get("PORTAL_SELLER_ADDRESS")
                .unwrap_or_else(|| "100 Market Street, Springfield, USA".into()),
            pdf_font_dirs: get(crate::pdf::fonts::FONT_DIRS_VAR)
                .unwrap_or_else(|| crate::pdf::fonts::DEFAULT_FONT_DIRS.into()),
            mail_from,
            session_idle: minutes("PORTAL_SESSION_IDLE_MINUTES", 30)?,
            session_absolute: minutes("PORTAL_SESSION_ABSOLUTE_MINUTES", 12 * 60)?,
            magic_link_ttl: minutes("PORTAL_MAGIC_LINK_MINUTES", 10)?,
            sign_in_per_email: positive(&get, "PORTAL_SIGN_IN_PER_EMAIL", 5)? as u32,
            sign_in_email_window: minutes("PORTAL_SIGN_IN_EMAIL_WINDOW_MINUTES", 15)?,
            sign_in_ip_burst: positive(&get, "PORTAL_SIGN_IN_IP_BURST", 20)? as u32,
            sign_in_ip_refill_secs: positive(&get, "PORTAL_SIGN_IN_IP_REFILL_SECONDS", 6)?,
            trust_proxy: flag(&get, "PORTAL_TRUST_PROXY")?,
            trusted_proxies: crate::net::TrustedProxies::parse(
                get("PORTAL_TRUSTED_PROXIES")
                    .as_deref()
                    .unwrap_or(crate::net::TrustedProxies::DEFAULT),
            )
            .map_err(|message| err("PORTAL_TRUSTED_PROXIES", message))?,
            invoice_link_days_after_due: positive(&get, "PORTAL_INVOICE_LINK_DAYS_AFTER_DUE", 30)?
                as i64,
            stripe_secret_key,
            stripe_webhook_secret,
            stripe_api_base,
            stripe_checkout_origin,
            sandbox_ach_delay,
            checkout_minutes,
            request_timeout: Duration::from_secs(positive(
                &get,
                "PORTAL_REQUEST_TIMEOUT_SECONDS",
                30,
            )?),
            heavy_downloads: positive(&get, "PORTAL_HEAVY_DOWNLOADS", 4)? as usize,
            api_rate_per_second: positive(&get, "PORTAL_API_RATE_PER_SECOND", 100)?
                .min(u32::MAX as u64) as u32,
            api_rate_burst: positive(&get, "PORTAL_API_RATE_BURST", 200)?.min(u32::MAX as u64)
                as u32,
            allow_dev_on_network: flag(&get, "PORTAL_ALLOW_DEV_ON_NETWORK")?,
        })
    }

    /// Cookies are Secure in production and whenever the public URL is https.
    /// Whether gateway objects must be live-mode ones: a live key takes
    /// real money; a test key and the sandbox never do.
    pub fn stripe_livemode(&self) -> bool {
        self.stripe_secret_key
            .as_deref()
            .is_some_and(|key| key.starts_with("sk_live_") || key.starts_with("rk_live_"))
    }

    pub fn secure_cookies(&self) -> bool {
        self.production || self.base_url.scheme() == "https"
    }

    /// Dev-only pages (the mailbox) exist only outside production.
    pub fn dev_pages(&self) -> bool {
        !self.production
    }

    /// Development mode serves the dev mailbox (every sign-in link, staff
    /// ones too) and the sandbox checkout (marks invoices paid): refuse to
    /// serve it on anything but loopback, or behind a public URL, unless
    /// PORTAL_ALLOW_DEV_ON_NETWORK=true. `listen` is the address the server
    /// binds (LEPTOS_SITE_ADDR).
    pub fn check_serving(&self, listen: std::net::SocketAddr) -> Result<(), ConfigError> {
        if self.production || self.allow_dev_on_network {
            return Ok(());
        }
        let why = "PORTAL_ENV is development, whose dev mailbox shows every sign-in link and whose sandbox checkout marks invoices paid";
        let choices = "set PORTAL_ENV=production (with SMTP_URL and Stripe keys), or PORTAL_ALLOW_DEV_ON_NETWORK=true to accept that risk";
        if !is_loopback_ip(listen.ip()) {
            return Err(err(
                "LEPTOS_SITE_ADDR",
                format!("{listen} is reachable from the network, but {why}; listen on loopback (LEPTOS_SITE_ADDR=127.0.0.1:{}), {choices}", listen.port()),
            ));
        }
        let host_is_loopback = match self.base_url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => is_loopback_ip(ip.into()),
            Some(url::Host::Ipv6(ip)) => is_loopback_ip(ip.into()),
            None => false,
        };
        if self.base_url.scheme() == "https" || !host_is_loopback {
            return Err(err(
                "PORTAL_BASE_URL",
                format!("{} is a public address, but {why}; use http://127.0.0.1:{} for local development, {choices}", self.base_url, listen.port()),
            ));
        }
        Ok(())
    }

    /// An absolute link to a path of this portal.
    pub fn link(&self, path_and_query: &str) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        format!("{base}{path_and_query}")
    }
}

/// Loopback, IPv4-mapped IPv6 included (`::ffff:127.0.0.1`, as a
/// dual-stack socket reports IPv4 peers). Unspecified (0.0.0.0, ::) is not.
pub fn is_loopback_ip(ip: std::net::IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// An origin and nothing else (it goes into a CSP source list as it is):
/// `https://host[:port]`, `http://` only outside production; returned in
/// its serialized form (lower case, no default port, no trailing slash).
fn checkout_origin(raw: &str, production: bool) -> Result<String, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
    let only_origin = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    if !only_origin {
        return Err(format!(
            "expected an origin like https://checkout.stripe.com (scheme, host, optional port; no path), got `{raw}`"
        ));
    }
    if production && url.scheme() != "https" {
        return Err("must be https:// when PORTAL_ENV=production".into());
    }
    Ok(url.origin().ascii_serialization())
}

fn positive(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(err(
                var,
                format!("expected a whole number above 0, got `{v}`"),
            )),
        },
    }
}

fn flag(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<bool, ConfigError> {
    match get(var).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("0") | Some("false") | Some("no") => Ok(false),
        Some("1") | Some("true") | Some("yes") => Ok(true),
        Some(other) => Err(err(var, format!("expected true or false, got `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_run_locally_on_sqlite() {
        let c = config(&[]).unwrap();
        assert!(c.database_url.starts_with("sqlite:"));
        assert!(!c.production && !c.secure_cookies() && c.dev_pages());
        assert_eq!(c.link("/sign-in"), "http://127.0.0.1:3000/sign-in");
        assert_eq!(c.magic_link_ttl, Duration::from_secs(600));
    }

    #[test]
    fn production_demands_https_and_smtp() {
        assert_eq!(
            config(&[("PORTAL_ENV", "production")]).unwrap_err().var,
            "PORTAL_BASE_URL"
        );
        let e = config(&[
            ("PORTAL_ENV", "production"),
            ("PORTAL_BASE_URL", "https://billing.example.com"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "SMTP_URL");
        let production = [
            ("PORTAL_ENV", "production"),
            ("PORTAL_BASE_URL", "https://billing.example.com"),
            ("SMTP_URL", "smtps://mail.example.com:465"),
        ];
        // No real money through the sandbox gateway.
        assert_eq!(config(&production).unwrap_err().var, "STRIPE_SECRET_KEY");
        let with_key = [&production[..], &[("STRIPE_SECRET_KEY", "sk_live_x")]].concat();
        assert_eq!(config(&with_key).unwrap_err().var, "STRIPE_WEBHOOK_SECRET");
        let c = config(&[&with_key[..], &[("STRIPE_WEBHOOK_SECRET", "whsec_x")]].concat()).unwrap();
        assert!(c.secure_cookies() && !c.dev_pages());
    }

    #[test]
    fn the_checkout_origin_is_an_origin() {
        let origin =
            |v: &str| config(&[("STRIPE_CHECKOUT_ORIGIN", v)]).map(|c| c.stripe_checkout_origin);
        assert_eq!(
            config(&[]).unwrap().stripe_checkout_origin,
            "https://checkout.stripe.com"
        );
        assert_eq!(
            origin("https://checkout.stripe.com/").unwrap(),
            "https://checkout.stripe.com"
        );
        assert_eq!(
            origin("HTTPS://Checkout.Example:443").unwrap(),
            "https://checkout.example"
        );
        assert_eq!(
            origin("http://127.0.0.1:3103").unwrap(),
            "http://127.0.0.1:3103"
        );
        for bad in [
            "checkout.stripe.com",
            "https://checkout.stripe.com/c/pay",
            "https://checkout.stripe.com/?x=1",
            "https://user@checkout.stripe.com",
            "https://checkout.stripe.com; script-src *",
            "javascript:alert(1)",
            "ftp://checkout.stripe.com",
        ] {
            assert_eq!(
                origin(bad).unwrap_err().var,
                "STRIPE_CHECKOUT_ORIGIN",
                "{bad}"
            );
        }
        let production = [
            ("PORTAL_ENV", "production"),
            ("PORTAL_BASE_URL", "https://billing.example.com"),
            ("SMTP_URL", "smtps://mail.example.com:465"),
            ("STRIPE_SECRET_KEY", "sk_live_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
        ];
        let http = [
            &production[..],
            &[("STRIPE_CHECKOUT_ORIGIN", "http://127.0.0.1:3103")],
        ]
        .concat();
        assert_eq!(config(&http).unwrap_err().var, "STRIPE_CHECKOUT_ORIGIN");
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(
            config(&[("DATABASE_URL", "mysql://x")]).unwrap_err().var,
            "DATABASE_URL"
        );
        assert_eq!(
            config(&[("PORTAL_BASE_URL", "not a url")]).unwrap_err().var,
            "PORTAL_BASE_URL"
        );
        assert_eq!(
            config(&[("SMTP_URL", "http://x")]).unwrap_err().var,
            "SMTP_URL"
        );
        assert_eq!(
            config(&[("PORTAL_SESSION_IDLE_MINUTES", "0")])
                .unwrap_err()
                .var,
            "PORTAL_SESSION_IDLE_MINUTES"
        );
        let e = config(&[("PORTAL_ENV", "staging")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("configuration error: PORTAL_ENV:"),
            "{e}"
        );
    }

    #[test]
    fn development_mode_refuses_to_serve_on_the_network() {
        let at = |addr: &str| addr.parse::<std::net::SocketAddr>().unwrap();
        let dev = config(&[]).unwrap();
        for listen in [
            "0.0.0.0:3000",
            "[::]:3000",
            "192.168.1.20:3000",
            "10.0.0.5:8080",
            "[fe80::1]:3000",
        ] {
            let e = dev.check_serving(at(listen)).unwrap_err();
            assert_eq!(e.var, "LEPTOS_SITE_ADDR", "{listen}");
            let message = e.to_string();
            for hint in [
                "LEPTOS_SITE_ADDR=127.0.0.1:",
                "PORTAL_ENV=production",
                "PORTAL_ALLOW_DEV_ON_NETWORK=true",
            ] {
                assert!(message.contains(hint), "{listen}: {message}");
            }
        }
        for listen in ["127.0.0.1:3000", "127.0.0.2:3000", "[::1]:3000"] {
            assert_eq!(dev.check_serving(at(listen)), Ok(()), "{listen}");
        }
        // A public URL in development mode means someone else reaches it
        // (a TLS proxy on this machine forwards from loopback).
        for base in [
            "https://billing.example.com",
            "https://127.0.0.1:3000",
            "http://billing.example.com",
            "http://192.168.1.20:3000",
        ] {
            let c = config(&[("PORTAL_BASE_URL", base)]).unwrap();
            let e = c.check_serving(at("127.0.0.1:3000")).unwrap_err();
            assert_eq!(e.var, "PORTAL_BASE_URL", "{base}");
            assert!(e.to_string().contains("PORTAL_ALLOW_DEV_ON_NETWORK=true"));
        }
        for base in ["http://localhost:3000", "http://[::1]:3000"] {
            let c = config(&[("PORTAL_BASE_URL", base)]).unwrap();
            assert_eq!(c.check_serving(at("127.0.0.1:3000")), Ok(()), "{base}");
        }
        // Forced: the operator accepted the risk.
        let forced = config(&[
            ("PORTAL_ALLOW_DEV_ON_NETWORK", "true"),
            ("PORTAL_BASE_URL", "https://billing.example.com"),
        ])
        .unwrap();
        assert_eq!(forced.check_serving(at("0.0.0.0:3000")), Ok(()));
        // Production has no dev mailbox or sandbox.
        let production = config(&[
            ("PORTAL_ENV", "production"),
            ("PORTAL_BASE_URL", "https://billing.example.com"),
            ("SMTP_URL", "smtps://mail.example.com:465"),
            ("STRIPE_SECRET_KEY", "sk_live_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
        ])
        .unwrap();
        assert_eq!(production.check_serving(at("0.0.0.0:3000")), Ok(()));
    }

    #[test]
    fn loopback_means_this_machine_only() {
        for ip in [
            "127.0.0.1",
            "127.0.0.2",
            "127.255.255.254",
            "::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_loopback_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "0.0.0.0",
            "::",
            "192.168.1.20",
            "10.0.0.5",
            "172.17.0.1",
            "203.0.113.9",
            "::ffff:192.168.1.20",
            "fe80::1",
            "2001:db8::1",
        ] {
            assert!(!is_loopback_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn limits_have_defaults_and_can_be_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.heavy_downloads, 4);
        assert!(!c.allow_dev_on_network);
        let c = config(&[
            ("PORTAL_REQUEST_TIMEOUT_SECONDS", "120"),
            ("PORTAL_HEAVY_DOWNLOADS", "1"),
        ])
        .unwrap();
        assert_eq!(c.request_timeout, Duration::from_secs(120));
        assert_eq!(c.heavy_downloads, 1);
        for var in ["PORTAL_REQUEST_TIMEOUT_SECONDS", "PORTAL_HEAVY_DOWNLOADS"] {
            assert_eq!(config(&[(var, "0")]).unwrap_err().var, var);
        }
    }

    #[test]
    fn trusted_proxies_default_to_loopback_and_bad_ones_are_named() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let c = config(&[]).unwrap();
        assert!(!c.trust_proxy);
        assert!(
            c.trusted_proxies.contains(ip("127.0.0.1")) && c.trusted_proxies.contains(ip("::1"))
        );
        assert!(!c.trusted_proxies.contains(ip("10.0.0.1")));
        let c = config(&[("PORTAL_TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::1")]).unwrap();
        assert!(
            c.trusted_proxies.contains(ip("10.1.2.3"))
                && !c.trusted_proxies.contains(ip("127.0.0.1"))
        );
        let e = config(&[("PORTAL_TRUSTED_PROXIES", "10.0.0.0/40")]).unwrap_err();
        assert_eq!(e.var, "PORTAL_TRUSTED_PROXIES");
    }
}
