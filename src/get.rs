//! The `get` use case, top to bottom: read exec info → find the cache entry →
//! freshness and cluster binding → (lock → look again → mint) → save → write
//! the ExecCredential. A cache hit does no network I/O and builds no client.

use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::commands::runtime;
use crate::error::Error;
use crate::freshness::{self, Fresh, Stale, Want};
use crate::guard;
use crate::kubeconfig::{Kubeconfigs, normalize_server};
use crate::protocol::{ExecInfo, exec_credential};
use crate::source::{Admin, Minted, SourceError, TokenClient};
use crate::store::index::{Index, Record};
use crate::store::lock::FileLock;
use crate::store::{self, CacheChoice, CacheKey, Entry, KeyParts, Store, StoreError, paths};
use crate::token::Token;

/// Where a token comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    TokenRequest,
    Secret,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::TokenRequest => "token-request",
            SourceKind::Secret => "secret",
        }
    }
}

/// Which token: everything that identifies a cache entry except the server.
#[derive(Debug, Clone)]
pub struct EntrySpec {
    pub kubeconfig: Option<PathBuf>,
    pub admin_context: String,
    pub namespace: String,
    pub service_account: String,
    pub source: SourceKind,
    pub audiences: Vec<String>,
    pub bind_secret: bool,
}

impl EntrySpec {
    pub fn key(&self, server: &str) -> CacheKey {
        CacheKey::new(&KeyParts {
            server,
            admin_context: &self.admin_context,
            namespace: &self.namespace,
            service_account: &self.service_account,
            source: self.source.as_str(),
            audiences: &self.audiences,
            bind_secret: self.bind_secret,
        })
    }

    pub fn want(&self) -> Want<'_> {
        Want {
            namespace: &self.namespace,
            service_account: &self.service_account,
            audiences: &self.audiences,
        }
    }

    pub fn subject(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace, self.service_account
        )
    }

    /// The admin context's server from the kubeconfig (no client built).
    pub fn admin_server(&self) -> Result<String, Error> {
        let kc = Kubeconfigs::load(self.kubeconfig.as_deref())?;
        Ok(normalize_server(&kc.server_of(&self.admin_context)?))
    }

    /// The name of the Secret `--bind-secret` tokens are bound to.
    pub fn bound_secret_name(&self, key: &CacheKey) -> String {
        let sa: String = self.service_account.chars().take(200).collect();
        format!("kube-sa-token-{sa}-{}", &key.as_str()[..10])
    }
}

/// All inputs of `get`.
#[derive(Debug, Clone)]
pub struct GetOptions {
    pub spec: EntrySpec,
    pub duration: Duration,
    pub cache: CacheChoice,
    pub create_secret: bool,
    /// Legacy tokens are re-checked with the server when older than this.
    pub revalidate: Duration,
    pub secret_wait: Duration,
    pub lock_wait: Duration,
}

/// Opens the store for `--cache` (`None` for `--cache none`).
pub fn open_store(choice: CacheChoice) -> Result<Option<Box<dyn Store>>, StoreError> {
    let kind = match choice {
        CacheChoice::None => return Ok(None),
        CacheChoice::Auto => {
            let (s, why) = store::auto()?;
            tracing::debug!(store = %why.kind, "cache auto: {}", why.why);
            return Ok(Some(s));
        }
        CacheChoice::Keyring => store::StoreKind::Keyring,
        CacheChoice::Keyutils => store::StoreKind::Keyutils,
        CacheChoice::File => store::StoreKind::File,
    };
    store::open(kind).map(Some)
}

/// What to do with a cached entry.
enum Verdict {
    /// Emit it until this instant.
    Serve(OffsetDateTime),
    /// A legacy token due for a check with the server.
    Revalidate,
    /// Mint a new one.
    Mint(String),
}

fn judge(
    entry: &Entry,
    opts: &GetOptions,
    server: &str,
    now: OffsetDateTime,
) -> Result<Verdict, Error> {
    // Cluster binding: the key contains the server, so this only trips on a
    // damaged or foreign entry; it is the last line before a token leaves.
    if normalize_server(&entry.server) != server {
        return Err(Error::Refused(format!(
            "cluster binding: the cached token was minted for {} but kubectl is talking to {server}; refusing to send it there",
            entry.server
        )));
    }
    match freshness::check(&entry.token, &opts.spec.want(), now) {
        Ok(Fresh::Until(t)) => Ok(Verdict::Serve(t)),
        Ok(Fresh::NoExpiry) => {
            let due = entry.checked_at + opts.revalidate.as_secs() as i64;
            if now.unix_timestamp() < due {
                Ok(Verdict::Serve(
                    OffsetDateTime::from_unix_timestamp(due).unwrap_or(now),
                ))
            } else {
                Ok(Verdict::Revalidate)
            }
        }
        Err(why) => Ok(Verdict::Mint(describe_stale(&why, "cached token"))),
    }
}

fn describe_stale(s: &Stale, what: &str) -> String {
    match s {
        Stale::WrongSubject(sub) => format!("{what} is for {sub:?}"),
        Stale::MissingAudience(a) => format!("{what} lacks audience {a:?}"),
        Stale::Expiring { secs_left, margin } => {
            format!("{what} has {secs_left}s left (margin {margin}s)")
        }
        Stale::NotYetValid => format!("{what} is not yet valid (clock skew?)"),
        Stale::Undecodable => format!("{what} is not a decodable JWT"),
    }
}

/// A token ready to hand out.
pub struct Issued {
    pub token: Token,
    /// When the client must come back (`status.expirationTimestamp`).
    pub expires: OffsetDateTime,
    /// The server it was minted on.
    pub server: String,
}

/// `kube-sa-token get`: returns the ExecCredential JSON for stdout.
pub fn get(opts: &GetOptions, clock: &dyn Clock) -> Result<String, Error> {
    let info = ExecInfo::from_env()?;
    let issued = obtain(opts, &info, clock)?;
    Ok(exec_credential(
        info.api_version,
        &issued.token,
        issued.expires,
    ))
}

/// The token for `opts`: from the cache when fresh, else minted and cached.
pub fn obtain(opts: &GetOptions, info: &ExecInfo, clock: &dyn Clock) -> Result<Issued, Error> {
    let server = match &info.cluster {
        Some(c) => normalize_server(&c.server),
        None => opts.spec.admin_server()?,
    };
    let key = opts.spec.key(&server);
    let store = open_store(opts.cache)?;
    tracing::debug!(key = %key, store = ?store.as_ref().map(|s| s.kind()), server = %server, "cache lookup");

    if let Some(store) = &store
        && let Lookup::Hit(out) = lookup(store.as_ref(), &key, opts, &server, info, clock)?
    {
        return Ok(out);
    }

    // Minting from here on. Refuse loops before waiting on our own lock.
    let me = guard::identity(
        &opts.spec.admin_context,
        &opts.spec.namespace,
        &opts.spec.service_account,
    );
    let chain = guard::enter(std::env::var(guard::CHAIN_ENV).ok().as_deref(), &me)?;

    let lock_path = paths::cache_dir()?
        .join("locks")
        .join(format!("{key}.lock"));
    let _lock = FileLock::acquire(&lock_path, opts.lock_wait)?;
    // Look again under the lock: another process may have minted meanwhile.
    if let Some(store) = &store {
        match lookup(store.as_ref(), &key, opts, &server, info, clock)? {
            Lookup::Hit(out) => {
                tracing::debug!("another process minted while we waited");
                return Ok(out);
            }
            Lookup::Dead => {
                store.remove(&key)?;
                let _ = Index::open().and_then(|i| i.remove(&key));
            }
            Lookup::Miss => {}
        }
    }

    let minted = runtime()?.block_on(mint(opts, &server, &key, &chain))?;
    let now = clock.now();
    if let Some(exp) = minted.expires {
        let granted = (exp - now).whole_seconds();
        if opts.spec.source == SourceKind::TokenRequest
            && granted + 60 < opts.duration.as_secs() as i64
        {
            tracing::info!(
                "the server shortened the token lifetime to {granted}s (asked for {}s)",
                opts.duration.as_secs()
            );
        }
    }
    let (_, claims) = freshness::decode(&minted.token)?;
    let expires = match freshness::check_claims(&claims, &opts.spec.want(), now) {
        Ok(Fresh::Until(t)) => t,
        Ok(Fresh::NoExpiry) => now + opts.revalidate,
        Err(why) => {
            return Err(Error::CheckFailed(format!(
                "the server returned a token that cannot be used: {}; check --service-account, --audience and --duration",
                describe_stale(&why, "the new token")
            )));
        }
    };
    let entry = Entry {
        token: minted.token,
        server: server.clone(),
        namespace: opts.spec.namespace.clone(),
        service_account: opts.spec.service_account.clone(),
        minted_at: now.unix_timestamp(),
        checked_at: now.unix_timestamp(),
        secret: minted.secret.clone(),
    };
    if let Some(store) = &store {
        store.save(&key, &entry)?;
        let record = Record {
            namespace: entry.namespace.clone(),
            service_account: entry.service_account.clone(),
            server: server.clone(),
            admin_context: opts.spec.admin_context.clone(),
            kubeconfig: opts
                .spec
                .kubeconfig
                .as_ref()
                .map(|p| p.display().to_string()),
            source: opts.spec.source.as_str().into(),
            audiences: opts.spec.audiences.clone(),
            store: store.kind(),
            minted_at: entry.minted_at,
            expires_at: claims.exp,
            bound_secret: if opts.spec.bind_secret {
                minted.secret.clone()
            } else {
                None
            },
            token_secret: if opts.spec.source == SourceKind::Secret {
                minted.secret.clone()
            } else {
                None
            },
        };
        if let Err(e) = Index::open().and_then(|i| i.put(&key, record)) {
            tracing::warn!("token cached, but the entry index could not be updated: {e}");
        }
    }
    Ok(Issued {
        token: entry.token,
        expires,
        server,
    })
}

enum Lookup {
    Hit(Issued),
    Miss,
    /// The server rejected the cached (legacy) token: drop it, then mint.
    Dead,
}

fn lookup(
    store: &dyn Store,
    key: &CacheKey,
    opts: &GetOptions,
    server: &str,
    info: &ExecInfo,
    clock: &dyn Clock,
) -> Result<Lookup, Error> {
    let entry = match store.load(key) {
        Ok(Some(e)) => e,
        Ok(None) => return Ok(Lookup::Miss),
        Err(StoreError::Corrupt(why)) => {
            tracing::warn!("ignoring a corrupt cache entry ({why}); minting a new token");
            return Ok(Lookup::Miss);
        }
        Err(e) => return Err(e.into()),
    };
    let now = clock.now();
    match judge(&entry, opts, server, now)? {
        Verdict::Serve(until) => {
            tracing::debug!("cache hit");
            Ok(Lookup::Hit(Issued {
                token: entry.token,
                expires: until,
                server: server.into(),
            }))
        }
        Verdict::Mint(why) => {
            tracing::debug!("cache miss: {why}");
            Ok(Lookup::Miss)
        }
        Verdict::Revalidate => {
            tracing::debug!("legacy token due for revalidation");
            match runtime()?.block_on(revalidate(&entry, opts, info)) {
                Ok(()) => {
                    let mut entry = entry;
                    entry.checked_at = now.unix_timestamp();
                    // Only the check time changes; the token is good either way,
                    // so a failed (or racing) write costs one more check later.
                    if let Err(e) = store.save(key, &entry) {
                        tracing::warn!("could not record the revalidation: {e}");
                    }
                    let until = now + opts.revalidate;
                    Ok(Lookup::Hit(Issued {
                        token: entry.token,
                        expires: until,
                        server: server.into(),
                    }))
                }
                Err(Error::Source(SourceError::Unauthorized { .. })) => {
                    tracing::info!(
                        "the server rejected the cached legacy token; minting a new one"
                    );
                    Ok(Lookup::Dead)
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// Asks the server who the cached token is (SelfSubjectReview), using the
/// cluster info kubectl sent, or the admin context's server and CA.
async fn revalidate(entry: &Entry, opts: &GetOptions, info: &ExecInfo) -> Result<(), Error> {
    let who = format!(
        "the cached token of {}/{}",
        entry.namespace, entry.service_account
    );
    let client = match &info.cluster {
        Some(c) => {
            use base64::Engine;
            let ca = match &c.certificate_authority_data {
                Some(b64) => Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .map_err(|e| {
                            Error::Protocol(crate::protocol::ProtocolError::Malformed(format!(
                                "certificate-authority-data: {e}"
                            )))
                        })?,
                ),
                None => None,
            };
            TokenClient::new(
                &c.server,
                ca.as_deref(),
                c.tls_server_name.as_deref(),
                c.insecure_skip_tls_verify,
                &entry.token,
                &who,
            )?
        }
        None => Admin::connect(opts.spec.kubeconfig.as_deref(), &opts.spec.admin_context)
            .await?
            .as_token(&entry.token, &who)?,
    };
    let user = client.whoami().await?;
    let expected = opts.spec.subject();
    if user.username.as_deref() != Some(expected.as_str()) {
        return Err(Error::Source(SourceError::Unauthorized {
            who,
            server: entry.server.clone(),
            hint: format!(
                "the server says it belongs to {:?}",
                user.username.unwrap_or_default()
            ),
        }));
    }
    Ok(())
}

/// Mints a token through the admin context, for `server` only.
async fn mint(
    opts: &GetOptions,
    server: &str,
    key: &CacheKey,
    chain: &str,
) -> Result<Minted, Error> {
    let spec = &opts.spec;
    tracing::debug!(context = %spec.admin_context, source = spec.source.as_str(), "minting");
    let admin =
        Admin::connect_minting(spec.kubeconfig.as_deref(), &spec.admin_context, Some(chain))
            .await?;
    if admin.server() != server {
        return Err(Error::Refused(format!(
            "cluster binding: kubectl wants a token for {server}, but admin context {:?} mints on {}; a token is only sent to the server it was minted on: give the exec entry's context the admin context's cluster, or pick an --admin-context for {server}",
            spec.admin_context,
            admin.server()
        )));
    }
    let minted = match spec.source {
        SourceKind::TokenRequest => {
            let bound = if spec.bind_secret {
                Some(
                    admin
                        .bind_secret(&spec.namespace, &spec.bound_secret_name(key))
                        .await?,
                )
            } else {
                None
            };
            let bound_ref = bound.as_ref().map(|(n, u)| (n.as_str(), u.as_str()));
            admin
                .token_request(
                    &spec.namespace,
                    &spec.service_account,
                    opts.duration,
                    &spec.audiences,
                    bound_ref,
                )
                .await?
        }
        SourceKind::Secret => {
            admin
                .secret_token(
                    &spec.namespace,
                    &spec.service_account,
                    opts.create_secret,
                    opts.secret_wait,
                )
                .await?
        }
    };
    Ok(minted)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::freshness::tests::{bound, mint as mint_jwt};

    /// Options for the team/viewer SA through context "admin", for tests.
    pub(crate) fn opts() -> GetOptions {
        GetOptions {
            spec: EntrySpec {
                kubeconfig: None,
                admin_context: "admin".into(),
                namespace: "team".into(),
                service_account: "viewer".into(),
                source: SourceKind::TokenRequest,
                audiences: vec![],
                bind_secret: false,
            },
            duration: Duration::from_secs(3600),
            cache: CacheChoice::None,
            create_secret: false,
            revalidate: Duration::from_secs(600),
            secret_wait: Duration::from_secs(30),
            lock_wait: Duration::from_secs(30),
        }
    }

    fn entry(token: Token, server: &str, checked_at: i64) -> Entry {
        Entry {
            token,
            server: server.into(),
            namespace: "team".into(),
            service_account: "viewer".into(),
            minted_at: checked_at,
            checked_at,
            secret: None,
        }
    }

    #[test]
    fn fresh_entry_is_served_until_exp_minus_margin() {
        let clock = FakeClock::at_unix(1_000_000);
        let e = entry(
            bound("team", "viewer", &[], 1_000_000, 1_003_600),
            "https://a:6443",
            1_000_000,
        );
        match judge(&e, &opts(), "https://a:6443", clock.now()).unwrap() {
            Verdict::Serve(t) => assert_eq!(t.unix_timestamp(), 1_003_600 - 720),
            _ => panic!("expected a hit"),
        }
    }

    #[test]
    fn entry_for_another_server_is_refused() {
        let clock = FakeClock::at_unix(1_000_000);
        let e = entry(
            bound("team", "viewer", &[], 1_000_000, 1_003_600),
            "https://a:6443",
            1_000_000,
        );
        let err = judge(&e, &opts(), "https://evil:6443", clock.now())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("https://a:6443") && err.contains("https://evil:6443"),
            "{err}"
        );
    }

    #[test]
    fn legacy_entry_is_revalidated_after_the_interval() {
        let clock = FakeClock::at_unix(1_000_000);
        let t = mint_jwt(
            serde_json::json!({"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:team:viewer"}),
        );
        let e = entry(t, "https://a:6443", 1_000_000);
        match judge(&e, &opts(), "https://a:6443", clock.now()).unwrap() {
            Verdict::Serve(t) => assert_eq!(t.unix_timestamp(), 1_000_600),
            _ => panic!("expected a hit"),
        }
        clock.advance(600);
        assert!(matches!(
            judge(&e, &opts(), "https://a:6443", clock.now()).unwrap(),
            Verdict::Revalidate
        ));
    }

    #[test]
    fn expiring_entry_is_minted_again() {
        let clock = FakeClock::at_unix(1_003_000);
        let e = entry(
            bound("team", "viewer", &[], 1_000_000, 1_003_600),
            "https://a:6443",
            1_000_000,
        );
        assert!(matches!(
            judge(&e, &opts(), "https://a:6443", clock.now()).unwrap(),
            Verdict::Mint(_)
        ));
    }
}
