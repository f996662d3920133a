//! The `get` use case, top to bottom in [`GetToken::run`]: read exec info →
//! cache lookup → freshness and cluster binding → recursion guard → lock →
//! look again → mint → save → the ExecCredential. A cache hit does no network
//! I/O and builds no client. The use case sees its collaborators through
//! ports ([`TokenCache`], [`Minter`], [`Clock`]), so it is tested without an
//! API server or a keyring.

use std::time::Duration;

use time::OffsetDateTime;

use crate::cache::{Cache, CacheError, CacheKey, Entry, FileLock, Record, StoreKind};
use crate::clock::Clock;
use crate::error::Error;
use crate::guard;
use crate::jwt::{self, Fresh, Want};
use crate::kube_api::{KubeApiError, Minted};
use crate::kubeconfig::normalize_server;
use crate::options::{GetOptions, SourceKind};
use crate::protocol::{ExecInfo, exec_credential};
use crate::token::Token;

use super::admin_session::AdminSession;
use super::minter::KubeMinter;

/// Where tokens are kept, as `get` sees it ([`Cache`] in production).
pub trait TokenCache {
    fn kind(&self) -> Option<StoreKind>;
    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError>;
    /// Stores a new entry with its index record.
    fn put(&self, key: &CacheKey, entry: &Entry, record: Record) -> Result<(), CacheError>;
    /// Replaces an entry (a revalidation).
    fn update(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError>;
    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError>;
    /// The entry's lock, held through a mint; `None` where nothing is shared.
    fn lock(&self, key: &CacheKey, wait: Duration) -> Result<Option<FileLock>, CacheError>;
}

/// Where tokens come from, as `get` sees it ([`KubeMinter`] in production).
pub trait Minter {
    /// Mints a token for `opts` on `server`, the server kubectl talks to;
    /// `chain` is the recursion chain to hand to the admin's exec plugins.
    fn mint(
        &self,
        opts: &GetOptions,
        server: &str,
        key: &CacheKey,
        chain: &str,
    ) -> Result<Minted, Error>;
    /// The username the server gives `entry`'s token (SelfSubjectReview).
    /// A rejected token is `Err(Error::KubeApi(KubeApiError::Unauthorized))`.
    /// `chain` as for [`Minter::mint`]: the admin context may be asked.
    fn username(
        &self,
        entry: &Entry,
        info: &ExecInfo,
        chain: &str,
    ) -> Result<Option<String>, Error>;
}

impl TokenCache for Cache {
    fn kind(&self) -> Option<StoreKind> {
        Cache::kind(self)
    }
    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
        Cache::load(self, key)
    }
    fn put(&self, key: &CacheKey, entry: &Entry, record: Record) -> Result<(), CacheError> {
        Cache::put(self, key, entry, record)
    }
    fn update(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
        Cache::update(self, key, entry)
    }
    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError> {
        Cache::remove(self, key)
    }
    fn lock(&self, key: &CacheKey, wait: Duration) -> Result<Option<FileLock>, CacheError> {
        Cache::lock(key, wait).map(Some)
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

/// `kube-sa-token get`: the ExecCredential JSON for stdout.
pub fn get(opts: &GetOptions, clock: &dyn Clock) -> Result<String, Error> {
    let info = ExecInfo::from_env()?;
    let admin = AdminSession::new(opts.spec.kubeconfig.as_deref(), &opts.spec.admin_context);
    let issued = obtain(opts, &info, clock, &admin)?;
    Ok(exec_credential(
        info.api_version,
        &issued.token,
        issued.expires,
    ))
}

/// The token for `opts`, from the real cache, or minted through `admin`.
pub fn obtain(
    opts: &GetOptions,
    info: &ExecInfo,
    clock: &dyn Clock,
    admin: &AdminSession<'_>,
) -> Result<Issued, Error> {
    let server = target_server(opts, info)?;
    let cache = Cache::open(opts.cache)?;
    GetToken {
        cache: &cache,
        minter: &KubeMinter { session: admin },
        clock,
    }
    .run(opts, info, &server)
}

/// The server kubectl talks to: from the exec info, else the admin context's.
fn target_server(opts: &GetOptions, info: &ExecInfo) -> Result<String, Error> {
    Ok(match &info.cluster {
        Some(c) => normalize_server(&c.server),
        None => super::admin_server(&opts.spec)?,
    })
}

/// The `get` use case over its ports.
pub struct GetToken<'a> {
    pub cache: &'a dyn TokenCache,
    pub minter: &'a dyn Minter,
    pub clock: &'a dyn Clock,
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

enum Lookup {
    Hit(Issued),
    Miss,
    /// The server rejected the cached (legacy) token: drop it, then mint.
    Dead,
}

impl GetToken<'_> {
    /// The token for `opts` on `server`: from the cache when fresh, else
    /// minted (once, under the entry's lock) and cached.
    pub fn run(&self, opts: &GetOptions, info: &ExecInfo, server: &str) -> Result<Issued, Error> {
        let key = CacheKey::for_token(&opts.spec, server);
        tracing::debug!(key = %key, store = ?self.cache.kind(), server = %server, "cache lookup");
        if let Lookup::Hit(out) = self.lookup(&key, opts, server, info)? {
            return Ok(out);
        }

        // Minting from here on. Refuse loops before waiting on our own lock.
        let spec = &opts.spec;
        let chain = recursion_chain(opts)?;
        let _lock = self.cache.lock(&key, opts.lock_wait)?;
        // Look again under the lock: another process may have minted meanwhile.
        match self.lookup(&key, opts, server, info)? {
            Lookup::Hit(out) => {
                tracing::debug!("another process minted while we waited");
                return Ok(out);
            }
            Lookup::Dead => {
                self.cache.remove(&key)?;
            }
            Lookup::Miss => {}
        }

        let minted = self.minter.mint(opts, server, &key, &chain)?;
        let now = self.clock.now();
        if let Some(exp) = minted.expires {
            let granted = (exp - now).whole_seconds();
            if spec.source == SourceKind::TokenRequest
                && granted + 60 < opts.duration.as_secs() as i64
            {
                tracing::info!(
                    "the server shortened the token lifetime to {granted}s (asked for {}s)",
                    opts.duration.as_secs()
                );
            }
        }
        let (_, claims) = jwt::decode(&minted.token)?;
        let expires = match jwt::check_claims(&claims, &Want::of(spec), now) {
            Ok(Fresh::Until(t)) => t,
            Ok(Fresh::NoExpiry) => now + opts.revalidate,
            Err(why) => {
                return Err(Error::CheckFailed(format!(
                    "the server returned a token that cannot be used: {}; check --service-account, --audience and --duration",
                    why.describe("the new token")
                )));
            }
        };
        let entry = Entry {
            token: minted.token,
            server: server.to_string(),
            namespace: spec.namespace.clone(),
            service_account: spec.service_account.clone(),
            minted_at: now.unix_timestamp(),
            checked_at: now.unix_timestamp(),
            secret: minted.secret,
        };
        if let Some(store) = self.cache.kind() {
            let record = Record {
                namespace: entry.namespace.clone(),
                service_account: entry.service_account.clone(),
                server: server.to_string(),
                admin_context: spec.admin_context.clone(),
                kubeconfig: spec.kubeconfig.as_ref().map(|p| p.display().to_string()),
                source: spec.source.as_str().into(),
                audiences: spec.audiences.clone(),
                store,
                minted_at: entry.minted_at,
                expires_at: claims.exp,
                bound_secret: entry.secret.clone().filter(|_| spec.bind_secret),
                token_secret: entry
                    .secret
                    .clone()
                    .filter(|_| spec.source == SourceKind::Secret),
            };
            self.cache.put(&key, &entry, record)?;
        }
        Ok(Issued {
            token: entry.token,
            expires,
            server: server.to_string(),
        })
    }

    fn lookup(
        &self,
        key: &CacheKey,
        opts: &GetOptions,
        server: &str,
        info: &ExecInfo,
    ) -> Result<Lookup, Error> {
        let entry = match self.cache.load(key) {
            Ok(Some(e)) => e,
            Ok(None) => return Ok(Lookup::Miss),
            Err(CacheError::Corrupt(why)) => {
                tracing::warn!("ignoring a corrupt cache entry ({why}); minting a new token");
                return Ok(Lookup::Miss);
            }
            Err(e) => return Err(e.into()),
        };
        let now = self.clock.now();
        let hit = |token: Token, until: OffsetDateTime| {
            Ok(Lookup::Hit(Issued {
                token,
                expires: until,
                server: server.into(),
            }))
        };
        match judge(&entry, opts, server, now)? {
            Verdict::Serve(until) => {
                tracing::debug!("cache hit");
                hit(entry.token, until)
            }
            Verdict::Mint(why) => {
                tracing::debug!("cache miss: {why}");
                Ok(Lookup::Miss)
            }
            Verdict::Revalidate => {
                tracing::debug!("legacy token due for revalidation");
                match self.revalidate(&entry, opts, info) {
                    Ok(()) => {
                        let mut entry = entry;
                        entry.checked_at = now.unix_timestamp();
                        // Only the check time changes; the token is good either way,
                        // so a failed (or racing) write costs one more check later.
                        if let Err(e) = self.cache.update(key, &entry) {
                            tracing::warn!("could not record the revalidation: {e}");
                        }
                        hit(entry.token, now + opts.revalidate)
                    }
                    Err(Error::KubeApi(KubeApiError::Unauthorized { .. })) => {
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

    /// Asks the server who the cached token is; a token that is not the
    /// ServiceAccount's any more counts as rejected.
    fn revalidate(&self, entry: &Entry, opts: &GetOptions, info: &ExecInfo) -> Result<(), Error> {
        let username = self.minter.username(entry, info, &recursion_chain(opts)?)?;
        let expected = opts.spec.subject();
        if username.as_deref() != Some(expected.as_str()) {
            return Err(Error::KubeApi(KubeApiError::Unauthorized {
                who: format!(
                    "the cached token of {}/{}",
                    entry.namespace, entry.service_account
                ),
                server: entry.server.clone(),
                hint: format!(
                    "the server says it belongs to {:?}",
                    username.unwrap_or_default()
                ),
            }));
        }
        Ok(())
    }
}

/// The recursion chain for anything that may run the admin's credentials
/// (see [`guard`]); a loop is refused here, before any lock is taken.
fn recursion_chain(opts: &GetOptions) -> Result<String, Error> {
    let spec = &opts.spec;
    let me = guard::identity(&spec.admin_context, &spec.namespace, &spec.service_account);
    Ok(guard::enter(
        std::env::var(guard::CHAIN_ENV).ok().as_deref(),
        &me,
    )?)
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
    match jwt::check(&entry.token, &Want::of(&opts.spec), now) {
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
        Err(why) => Ok(Verdict::Mint(why.describe("cached token"))),
    }
}

#[cfg(test)]
#[path = "get_token_tests.rs"]
mod tests;
