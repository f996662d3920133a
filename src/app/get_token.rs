//! The `get` use case, top to bottom in [`GetToken::run`]: read exec info →
//! cache lookup → cluster binding and freshness → recursion guard → lock →
//! look again → mint → save → the ExecCredential. A cache hit does no network
//! I/O and builds no client. The use case sees its collaborators through
//! ports ([`TokenCache`], [`Minter`], [`Clock`]), so it is tested without an
//! API server or a keyring.

use time::OffsetDateTime;

use crate::cache::{CacheKey, Entry, Served};
use crate::clock::Clock;
use crate::cluster_identity::ClusterIdentity;
use crate::credential::Credential;
use crate::error::Error;
use crate::options::GetOptions;
use crate::parent::Parent;
use crate::protocol::ExecInfo;

use super::background::BACKGROUND_DEADLINE;
use super::ports::{Background, FailedMints, Locked, Minter, Review, TokenCache, TryLock};
use super::request::recursion_chain;
use super::verdict::{Verdict, judge, still_valid_until};
use super::{backoff, mint, refresh_ahead, reinvoked};
use crate::clock::after;

/// How long a call waits for the lock held by a background refresh before it
/// serves the still-valid credential or mints itself.
const BACKGROUND_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A credential ready to hand out.
pub struct Issued {
    pub credential: Credential,
    /// When the client must come back (`status.expirationTimestamp`), in
    /// local time.
    pub expires: OffsetDateTime,
    /// The cluster it was minted on (and so may be sent to).
    pub cluster: ClusterIdentity,
}

/// The `get` use case over its ports.
pub struct GetToken<'a> {
    pub cache: &'a dyn TokenCache,
    pub minter: &'a dyn Minter,
    pub clock: &'a dyn Clock,
    /// The process that runs the plugin (kubectl), if known.
    pub parent: Option<Parent>,
    /// Starts refresh-ahead; `None` in the background refresh itself.
    pub background: Option<&'a dyn Background>,
    /// Failed mints, so a storm of callers does not repeat one.
    pub failures: &'a dyn FailedMints,
}

enum Lookup {
    Hit(Issued),
    Miss,
    /// The server rejected the cached token: drop it, then mint.
    Dead(Box<Entry>),
}

impl GetToken<'_> {
    /// The token for `opts` on `target` under `key`: from the cache when
    /// fresh, else minted (once, under the entry's lock) and cached.
    pub fn run(
        &self,
        opts: &GetOptions,
        info: &ExecInfo,
        target: &ClusterIdentity,
        key: &CacheKey,
    ) -> Result<Issued, Error> {
        tracing::debug!(key = %key, server = %target.server, "cache lookup");
        let mut dead = match self.lookup(key, opts, target, info, true)? {
            Lookup::Hit(out) => return Ok(out),
            Lookup::Dead(entry) => Some(entry),
            Lookup::Miss => None,
        };

        // Minting from here on. Refuse loops before waiting on our own
        // lock, and answer at once while a failure's window runs.
        let chain = recursion_chain(opts)?;
        backoff::backed_off(self.failures, self.clock, key, self.parent)?;
        let _lock = match self.lock_for_mint(key, opts)? {
            Some(lock) => lock,
            // A background refresh holds the entry for longer than kubectl
            // waits for one: the still-valid token, else a mint of our own.
            None => {
                if let Some(out) = self.still_valid(key, opts, target) {
                    return Ok(out);
                }
                tracing::warn!(
                    "a background refresh of {} has not finished yet (`kube-sa-token doctor` shows why one failed); minting in the foreground",
                    opts.spec.label()
                );
                None
            }
        };
        // Look again under the lock: another process may have minted meanwhile
        // (and replaced a dead token: then that one is served).
        let still_dead = |d: &Entry| matches!(self.cache.load(key), Ok(Some(e)) if e.credential.same_as(&d.credential));
        if !dead.as_deref().is_some_and(still_dead) {
            match self.lookup(key, opts, target, info, false)? {
                Lookup::Hit(out) => {
                    tracing::debug!("another process minted while we waited");
                    return Ok(out);
                }
                Lookup::Dead(entry) => dead = Some(entry),
                Lookup::Miss => dead = None,
            }
        }
        // A caller that waited for the lock while another's mint failed
        // takes that failure: concurrent callers share one attempt.
        let previous = backoff::backed_off(self.failures, self.clock, key, self.parent)?;
        if dead.is_some()
            && let Err(e) = self.cache.remove(key)
        {
            tracing::warn!("could not drop the rejected token from the cache: {e}");
        }

        let (entry, expires, now) = match self.mint_and_keep(opts, target, key, &chain) {
            Ok(minted) => minted,
            Err(e) => {
                return Err(backoff::failed(
                    self.failures,
                    self.clock,
                    key,
                    previous,
                    e,
                    self.parent,
                ));
            }
        };
        if previous.is_some() {
            self.failures.clear(key);
        }
        if let Some(d) = &dead {
            // kubectl shows the plugin's stderr: say why its last command failed.
            tracing::warn!(
                "the server rejected the cached {} of {} ({}); a new one was minted",
                d.credential.kind(),
                d.label(),
                self.minter.why_rejected(d, &chain)
            );
        }
        self.note_served(key, now, expires, dead.is_some(), None);
        Ok(Issued {
            credential: entry.credential,
            expires,
            cluster: entry.cluster,
        })
    }

    /// A cache hit, served as [`GetToken::run`] serves it; `None` where
    /// `run` would go on to mint.
    pub fn cached(
        &self,
        opts: &GetOptions,
        info: &ExecInfo,
        target: &ClusterIdentity,
        key: &CacheKey,
    ) -> Result<Option<Issued>, Error> {
        Ok(match self.lookup(key, opts, target, info, true)? {
            Lookup::Hit(out) => Some(out),
            Lookup::Dead(_) | Lookup::Miss => None,
        })
    }

    /// The background refresh itself: mints the successor under the entry's
    /// lock, unless another process holds it or the entry is not due any
    /// more. `Ok(true)` when a token was minted.
    pub fn refresh_now(
        &self,
        opts: &GetOptions,
        target: &ClusterIdentity,
        key: &CacheKey,
        chain: &str,
    ) -> Result<bool, Error> {
        let _lock = match self.cache.try_lock(key) {
            Ok(TryLock::Taken(lock)) => lock,
            // Another process mints; or the entry was logged out since this
            // refresh started: it must not come back.
            Ok(TryLock::Busy | TryLock::Cleared) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let due = match self.cache.load(key) {
            Ok(Some(entry)) => matches!(
                judge(&entry, opts, target, self.clock.now())?,
                Verdict::Serve {
                    refresh_due: true,
                    ..
                } | Verdict::Mint(_)
            ),
            Ok(None) => true,
            Err(e) => return Err(e.into()),
        };
        if !due {
            return Ok(false);
        }
        self.mint_and_keep(opts, target, key, chain)?;
        Ok(true)
    }

    /// Mints for `opts` and keeps the credential, through this use case's
    /// ports ([`mint::mint_and_keep`]).
    fn mint_and_keep(
        &self,
        opts: &GetOptions,
        target: &ClusterIdentity,
        key: &CacheKey,
        chain: &str,
    ) -> Result<(Entry, OffsetDateTime, OffsetDateTime), Error> {
        mint::mint_and_keep(
            self.cache,
            self.minter,
            self.clock,
            opts,
            target,
            key,
            chain,
        )
    }

    /// The cached entry's fate. With `first`, a caller that comes back
    /// before its credential expired (a client re-running the plugin after
    /// a 401) gets the token checked with the server first.
    fn lookup(
        &self,
        key: &CacheKey,
        opts: &GetOptions,
        target: &ClusterIdentity,
        info: &ExecInfo,
        first: bool,
    ) -> Result<Lookup, Error> {
        let entry = match self.cache.load(key) {
            Ok(Some(e)) => e,
            Ok(None) => return Ok(Lookup::Miss),
            Err(e) => return Err(e.into()),
        };
        let now = self.clock.now();
        let bound = entry.cluster.clone();
        let hit = |credential: Credential, until: OffsetDateTime| {
            Ok(Lookup::Hit(Issued {
                credential,
                expires: until,
                cluster: bound.clone(),
            }))
        };
        match judge(&entry, opts, target, now)? {
            Verdict::Serve { until, refresh_due } => {
                let last = self.last_served(key);
                let check = first && self.reinvoked(last, now);
                if check {
                    tracing::debug!(
                        "the same caller again before its expiry: a 401? asking the server"
                    );
                    match self.revalidate(&entry, opts, info) {
                        Ok(Review::Accepted(_)) => {}
                        Ok(Review::Rejected) => return Ok(Lookup::Dead(Box::new(entry))),
                        // Not known to be dead: the cached token stays.
                        Ok(Review::Unknown(e)) => {
                            tracing::debug!("could not check the cached token: {e}")
                        }
                        Err(Error::Guard(e)) => return Err(e.into()),
                        Err(e) => tracing::debug!("could not check the cached token: {e}"),
                    }
                }
                tracing::debug!("cache hit");
                if first
                    && refresh_due
                    && opts.refresh_ahead
                    && let Some(background) = self.background
                {
                    refresh_ahead::start(self.cache, background, opts, key, now.unix_timestamp());
                }
                self.note_served(key, now, until, check, last);
                hit(entry.credential, until)
            }
            Verdict::Mint(why) => {
                tracing::debug!("cache miss: {why}");
                Ok(Lookup::Miss)
            }
            Verdict::Revalidate => {
                tracing::debug!("legacy token due for revalidation");
                match self.revalidate(&entry, opts, info) {
                    Ok(Review::Accepted(_)) => {
                        let mut entry = entry;
                        entry.checked_at = now.unix_timestamp();
                        entry.revalidate_secs = Some(opts.revalidate.as_secs());
                        // Only the check time changes; the token is good either way,
                        // so a failed (or racing) write costs one more check later.
                        if let Err(e) = self.cache.update(key, &entry) {
                            tracing::warn!("could not record the revalidation: {e}");
                        }
                        let until = after(now, opts.revalidate);
                        self.note_served(key, now, until, false, self.last_served(key));
                        hit(entry.credential, until)
                    }
                    Ok(Review::Rejected) => Ok(Lookup::Dead(Box::new(entry))),
                    // The server could not be asked (offline, timed out, an
                    // old server): keep serving, up to 4 intervals after the
                    // last confirmation.
                    Ok(Review::Unknown(e)) => {
                        let unconfirmed = now.unix_timestamp().saturating_sub(entry.checked_at);
                        let limit = opts.revalidate.as_secs().saturating_mul(4) as i64;
                        if unconfirmed >= limit {
                            return Err(Error::Unconfirmed {
                                what: format!("the cached legacy token of {}", entry.label()),
                                secs: unconfirmed,
                                source: Box::new(e),
                            });
                        }
                        tracing::warn!(
                            "serving the cached legacy token unconfirmed for {}s (the server could not be asked: {e})",
                            unconfirmed
                        );
                        let until = after(now, opts.revalidate).min(
                            OffsetDateTime::from_unix_timestamp(
                                entry.checked_at.saturating_add(limit),
                            )
                            .unwrap_or(now),
                        );
                        hit(entry.credential, until)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// The entry's lock for a mint. While a background refresh may hold it
    /// (one started within its deadline), the wait is short: `Ok(None)` when
    /// it is still held then.
    fn lock_for_mint(
        &self,
        key: &CacheKey,
        opts: &GetOptions,
    ) -> Result<Option<Option<crate::cache::FileLock>>, Error> {
        let now = self.clock.now().unix_timestamp();
        let background = self.cache.last_refresh(key).is_some_and(|t| {
            t <= now && now.saturating_sub(t) <= BACKGROUND_DEADLINE.as_secs() as i64
        });
        let wait = if background {
            BACKGROUND_WAIT.min(opts.lock_wait)
        } else {
            opts.lock_wait
        };
        match self.cache.lock(key, wait)? {
            Locked::Taken(lock) => Ok(Some(lock)),
            Locked::TimedOut(_) if background => Ok(None),
            Locked::TimedOut(e) => Err(e.into()),
        }
    }

    /// The cached credential past its serve window but not expired, served
    /// (with a warning) while a background refresh is late.
    fn still_valid(
        &self,
        key: &CacheKey,
        opts: &GetOptions,
        target: &ClusterIdentity,
    ) -> Option<Issued> {
        let entry = self.cache.load(key).ok()??;
        let until = still_valid_until(&entry, opts, target, self.clock.now())?;
        tracing::warn!(
            "a background refresh of {} has not finished yet (`kube-sa-token doctor` shows why one failed); serving the cached {}, valid until {}",
            opts.spec.label(),
            entry.credential.kind(),
            crate::clock::rfc3339(until)
        );
        Some(Issued {
            credential: entry.credential,
            expires: until,
            cluster: entry.cluster,
        })
    }

    /// The last serve of `key`, when the caller is known.
    fn last_served(&self, key: &CacheKey) -> Option<Served> {
        self.parent.and(self.cache.last_served(key))
    }

    /// Did the caller get this entry before, and must it be checked?
    fn reinvoked(&self, last: Option<Served>, now: OffsetDateTime) -> bool {
        reinvoked::reinvoked(self.parent, last, now)
    }

    /// Records who was served until when ([`reinvoked::serve`]).
    fn note_served(
        &self,
        key: &CacheKey,
        now: OffsetDateTime,
        until: OffsetDateTime,
        checked: bool,
        last: Option<Served>,
    ) {
        if let Some(parent) = self.parent {
            let served = reinvoked::serve(parent, now, until, checked, last);
            self.cache.record_served(key, &served);
        }
    }

    /// Asks the server about the cached credential; one it accepts as
    /// someone else than the ServiceAccount (or the user) counts as rejected.
    fn revalidate(
        &self,
        entry: &Entry,
        opts: &GetOptions,
        info: &ExecInfo,
    ) -> Result<Review, Error> {
        Ok(
            match self.minter.review(entry, info, &recursion_chain(opts)?)? {
                Review::Accepted(user) if user.as_deref() != Some(opts.spec.subject().as_str()) => {
                    tracing::debug!(
                        "the server says the cached credential belongs to {:?}",
                        user.unwrap_or_default()
                    );
                    Review::Rejected
                }
                other => other,
            },
        )
    }
}

#[cfg(test)]
#[path = "get_token_tests/mod.rs"]
mod tests;
