//! The [`Minter`] of `get --broker`: asks the local broker on a miss; the
//! client keeps its own cache, so hits never touch the socket. Cached
//! credentials are still checked with the API server by the client itself
//! (with the credential, on kubectl's cluster: no admin needed).

use std::cell::RefCell;
use std::time::Duration;

use crate::broker::client;
use crate::broker::wire::{self, Op, Request, ServiceAccountRef, UserRef};
use crate::cache::{CacheKey, Entry};
use crate::cluster_identity::ClusterIdentity;
use crate::error::Error;
use crate::kube_api::Minted;
use crate::options::{BrokerRef, GetOptions, Principal, SourceKind};
use crate::protocol::ExecInfo;

use super::admin_session::AdminSession;
use super::kube_minter::KubeMinter;
use super::ports::{Minter, Review};

/// How much longer than the lock wait a client waits for the broker's
/// answer: the broker may wait as long for its own lock, then mint.
const ANSWER_SLACK: Duration = Duration::from_secs(30);

pub struct BrokerMinter<'s> {
    pub broker: &'s BrokerRef,
    /// A runtime for the client's own checks with the API server; it never
    /// connects an admin context (the exec info names the cluster).
    pub session: &'s AdminSession<'s>,
    /// A background refresh: the broker mints the successor if its copy is
    /// due.
    pub refresh: bool,
    /// The fingerprint of a cached credential the server rejected, for the
    /// broker to check and replace its own copy.
    rejected: RefCell<Option<String>>,
}

impl<'s> BrokerMinter<'s> {
    pub fn new(broker: &'s BrokerRef, session: &'s AdminSession<'s>, refresh: bool) -> Self {
        BrokerMinter {
            broker,
            session,
            refresh,
            rejected: RefCell::new(None),
        }
    }
}

/// The request for `opts` on `target`.
pub(super) fn request(
    opts: &GetOptions,
    target: &ClusterIdentity,
    refresh: bool,
    rejected: Option<String>,
) -> Request {
    let spec = &opts.spec;
    let (service_account, user) = match &spec.principal {
        Principal::ServiceAccount(name) => (
            Some(ServiceAccountRef {
                namespace: spec.namespace.clone(),
                name: name.clone(),
            }),
            None,
        ),
        Principal::User { name, groups } => (
            None,
            Some(UserRef {
                name: name.clone(),
                groups: groups.clone(),
            }),
        ),
    };
    Request {
        v: wire::VERSION,
        op: Op::Credential,
        service_account,
        user,
        source: (spec.source != SourceKind::default()).then(|| spec.source.as_str().into()),
        audiences: spec.audiences.clone(),
        duration_secs: opts.asks_duration().then_some(opts.duration.as_secs()),
        cluster: Some(target.clone()),
        refresh,
        rejected,
    }
}

impl Minter for BrokerMinter<'_> {
    fn mint(
        &self,
        opts: &GetOptions,
        target: &ClusterIdentity,
        _: &CacheKey,
        _: &str,
    ) -> Result<Minted, Error> {
        tracing::debug!(broker = %self.broker.socket.display(), "asking the broker");
        let req = request(opts, target, self.refresh, self.rejected.take());
        let resp = client::ask(
            &self.broker.socket,
            self.broker.owner.as_deref(),
            &req,
            opts.lock_wait + ANSWER_SLACK,
        )?;
        let Some(credential) = resp.credential else {
            return Err(crate::broker::BrokerError::Broken {
                path: self.broker.socket.clone(),
                detail: "it answered without a credential".into(),
            }
            .into());
        };
        Ok(Minted {
            credential,
            secret: resp.secret,
            ca_crt: None,
            clock_offset: resp.clock_offset,
            lease: None,
        })
    }

    fn review(&self, entry: &Entry, info: &ExecInfo, chain: &str) -> Result<Review, Error> {
        // `info` names kubectl's cluster (a broker's `get` refuses to run
        // without it), so the check needs no admin context.
        let review = KubeMinter {
            session: self.session,
        }
        .review(entry, info, chain)?;
        if matches!(review, Review::Rejected) {
            *self.rejected.borrow_mut() = Some(wire::fingerprint(&entry.credential));
        }
        Ok(review)
    }

    fn why_rejected(&self, _: &Entry, _: &str) -> String {
        "the API server no longer accepts it; the broker was told, and checked its own copy".into()
    }
}
