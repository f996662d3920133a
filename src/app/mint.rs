//! Minting and keeping a token, the tail of the `get` use case (and of a
//! background refresh): the server's clock, the new token's checks, the
//! entry and its index record.

use time::OffsetDateTime;

use crate::cache::{CacheKey, Entry, Record};
use crate::cluster_identity::ClusterIdentity;
use crate::error::Error;
use crate::jwt::{self, Fresh, Want};
use crate::options::{GetOptions, SourceKind};

use super::get_token::GetToken;
use super::verdict::{MAX_OFFSET_SECS, after, shift};

impl GetToken<'_> {
    /// Mints a token for `opts` and keeps it; returns the entry, when the
    /// client must come back (local time), and the time of the mint.
    pub(super) fn mint_and_keep(
        &self,
        opts: &GetOptions,
        target: &ClusterIdentity,
        key: &CacheKey,
        chain: &str,
    ) -> Result<(Entry, OffsetDateTime, OffsetDateTime), Error> {
        let spec = &opts.spec;
        let minted = self.minter.mint(opts, target, key, chain)?;
        let now = self.clock.now();
        let (_, claims) = jwt::decode(&minted.token)?;
        // The server's clock, from its answer (else from the token's own iat):
        // the token's times are in server time, kubectl compares in local time.
        let offset = minted
            .clock_offset
            .or_else(|| {
                claims
                    .iat
                    .map(|iat| iat.saturating_sub(now.unix_timestamp()))
            })
            .unwrap_or(0)
            .clamp(-MAX_OFFSET_SECS, MAX_OFFSET_SECS);
        if offset.abs() > jwt::SKEW_SECS {
            tracing::info!(
                "this machine's clock is {}s {} the API server's; token times are judged in server time",
                offset.abs(),
                if offset > 0 { "behind" } else { "ahead of" }
            );
        }
        if let (Some(exp), Some(iat)) = (claims.exp, claims.iat)
            && spec.source == SourceKind::TokenRequest
            && exp.saturating_sub(iat) + 60 < opts.duration.as_secs() as i64
        {
            tracing::info!(
                "the server shortened the token lifetime to {}s (asked for {}s)",
                exp.saturating_sub(iat),
                opts.duration.as_secs()
            );
        }
        // A token the server has just issued is valid by the server's clock:
        // its iat/nbf are not held against it.
        let expires = match jwt::check_new(&claims, &Want::of(spec), shift(now, offset)) {
            Ok(Fresh::Until(t)) => shift(t, -offset),
            Ok(Fresh::NoExpiry) => after(now, opts.revalidate),
            Err(why) => {
                return Err(Error::CheckFailed(format!(
                    "the server returned a token that cannot be used: {}; check --service-account, --audience and --duration",
                    why.describe("the new token")
                )));
            }
        };
        let entry = Entry {
            token: minted.token,
            cluster: target.clone(),
            clock_offset: offset,
            namespace: spec.namespace.clone(),
            service_account: spec.service_account.clone(),
            minted_at: now.unix_timestamp(),
            checked_at: now.unix_timestamp(),
            secret: minted.secret,
        };
        if self.cache.keeps() {
            let record = |store| Record {
                namespace: entry.namespace.clone(),
                service_account: entry.service_account.clone(),
                server: target.server.clone(),
                admin_context: spec.admin_context.clone(),
                kubeconfig: spec.kubeconfig.as_ref().map(|p| p.display().to_string()),
                source: spec.source.as_str().into(),
                audiences: spec.audiences.clone(),
                store,
                also_in: Vec::new(),
                minted_at: entry.minted_at,
                expires_at: claims.exp.map(|exp| exp.saturating_sub(offset)),
                bound_secret: entry.secret.clone().filter(|_| spec.bind_secret),
                token_secret: entry
                    .secret
                    .clone()
                    .filter(|_| spec.source == SourceKind::Secret),
            };
            // The token is good whether or not it can be kept: a full disk, a
            // key quota, a keyring locked since the read must not fail kubectl.
            if let Err(e) = self.cache.put(key, &entry, &record) {
                tracing::warn!(
                    "the new token works but could not be cached, so the next call mints again: {e}"
                );
            }
        }
        Ok((entry, expires, now))
    }
}
