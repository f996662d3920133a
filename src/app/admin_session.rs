//! One admin client per process: the admin context is read, its exec plugin
//! run (a cloud login can take seconds) and its client built at most once,
//! when first needed, however many requests the command makes.

use std::cell::OnceCell;
use std::future::Future;
use std::path::Path;
use std::time::Instant;

use tokio::runtime::Runtime;

use crate::cluster_identity::ClusterIdentity;
use crate::credential::Credential;
use crate::error::Error;
use crate::guard;
use crate::kube_api::{Admin, TokenClient};
use crate::kubeconfig::Kubeconfigs;
use crate::runtime::runtime;

pub struct AdminSession<'a> {
    kubeconfig: Option<&'a Path>,
    context: &'a str,
    runtime: OnceCell<Runtime>,
    admin: OnceCell<Admin>,
    /// Nobody watches (a background refresh, the broker): no admin login
    /// that may prompt, and a plugin is ended at this deadline.
    headless: Option<Instant>,
}

impl<'a> AdminSession<'a> {
    /// A session for `context` of the kubeconfig `--kubeconfig` names (else
    /// KUBECONFIG, else ~/.kube/config). Nothing is read until first use.
    pub fn new(kubeconfig: Option<&'a Path>, context: &'a str) -> AdminSession<'a> {
        AdminSession {
            kubeconfig,
            context,
            runtime: OnceCell::new(),
            admin: OnceCell::new(),
            headless: None,
        }
    }

    /// A session nobody watches (a background refresh, the broker): an
    /// admin exec plugin that may prompt is refused instead of run, and one
    /// still running at `deadline` is ended with its process group.
    pub fn headless(mut self, deadline: Instant) -> AdminSession<'a> {
        self.headless = Some(deadline);
        self
    }

    /// Whether a login may prompt here: not in the background, and with a
    /// terminal on stdin (kubectl hands its terminal to an exec plugin
    /// whose entry says interactiveMode: IfAvailable, when it has one).
    pub fn may_prompt(&self) -> bool {
        self.headless.is_none() && terminal()
    }

    fn runtime(&self) -> Result<&Runtime, Error> {
        if let Some(rt) = self.runtime.get() {
            return Ok(rt);
        }
        let rt = runtime()?;
        Ok(self.runtime.get_or_init(|| rt))
    }

    /// Enters the session's runtime, for building clients outside `block_on`.
    pub fn enter(&self) -> Result<tokio::runtime::EnterGuard<'_>, Error> {
        Ok(self.runtime()?.enter())
    }

    /// Runs `f` to completion on the session's runtime.
    pub fn block_on<F: Future>(&self, f: F) -> Result<F::Output, Error> {
        Ok(self.runtime()?.block_on(f))
    }

    /// The admin client, connected on first use. `chain` is the recursion
    /// chain a mint hands to the admin's exec plugin; without one, the
    /// inherited chain is passed on unchanged.
    pub fn admin(&self, chain: Option<&str>) -> Result<&Admin, Error> {
        if let Some(a) = self.admin.get() {
            return Ok(a);
        }
        let inherited = std::env::var(guard::CHAIN_ENV).ok();
        let chain = chain.or(inherited.as_deref());
        let ctx = Kubeconfigs::load(self.kubeconfig)?.resolve(self.context)?;
        let _entered = self.enter()?;
        let admin = Admin::connect(&ctx, chain, self.headless)?;
        Ok(self.admin.get_or_init(|| admin))
    }

    /// A client for the admin context's cluster that authenticates with
    /// `credential`, minted on `bound`, instead (`who` names it in errors).
    /// Refused, before anything is sent, when the binding forbids it.
    pub fn token_client(
        &self,
        credential: &Credential,
        bound: &ClusterIdentity,
        who: &str,
    ) -> Result<TokenClient, Error> {
        let admin = self.admin(None)?;
        let _entered = self.enter()?;
        Ok(admin.with_credential(credential, bound, who)?)
    }
}

/// Whether stdin is a terminal: a person may be asked (a command run in
/// the foreground; kubectl hands its terminal to an exec plugin whose
/// entry says interactiveMode: IfAvailable).
pub(super) fn terminal() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stdin())
}
