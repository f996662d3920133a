//! The [`Keeper`] of a person's Vault login (`--vault-login
//! userpass|ldap|oidc`): its Vault token in the store `--cache auto` picks
//! (the OS keyring where one answers; [`LoginStore`]), whatever store the
//! entry itself names; the password asked on the terminal, or the browser
//! started, only when this call may prompt (`AdminSession::may_prompt`: not
//! in the background, and with a terminal). The store is opened on the
//! first use only: a Vault token from the environment or a machine login
//! never touches it.

use std::cell::OnceCell;

use crate::cache::LoginStore;
use crate::kube_api::vault_login::{Keeper, KeptToken};
use crate::options::{VaultLoginMethod, VaultRef};
use crate::secret::Password;

pub struct VaultKeeper {
    /// The server, namespace, mount, method and user of the login; `None`
    /// for a login that keeps nothing.
    login: Option<[String; 5]>,
    store: OnceCell<Option<LoginStore>>,
    may_prompt: bool,
}

impl VaultKeeper {
    /// For `v`'s login; `may_prompt`: whether this call may ask the person.
    pub fn new(v: &VaultRef, may_prompt: bool) -> VaultKeeper {
        let login = v.login.as_ref().filter(|l| l.method.is_person()).map(|l| {
            let who = match &l.method {
                VaultLoginMethod::Password { username, .. } => username.clone(),
                VaultLoginMethod::Oidc { role } => role.clone().unwrap_or_default(),
                _ => String::new(),
            };
            [
                v.address.clone(),
                v.namespace.clone().unwrap_or_default(),
                l.mount.clone(),
                l.method.name().to_string(),
                who,
            ]
        });
        VaultKeeper {
            login,
            store: OnceCell::new(),
            may_prompt,
        }
    }

    fn store(&self) -> Option<&LoginStore> {
        self.store
            .get_or_init(|| {
                let parts = self.login.as_ref()?;
                let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
                LoginStore::open(&parts)
                    .inspect_err(|e| {
                        tracing::warn!(
                            "the Vault login cannot be kept ({e}): each mint asks the person again"
                        )
                    })
                    .ok()
            })
            .as_ref()
    }
}

impl Keeper for VaultKeeper {
    fn load(&self) -> Option<KeptToken> {
        let bytes = match self.store()?.read() {
            Ok(found) => found?,
            Err(e) => {
                tracing::warn!("cannot read the kept Vault login ({e}): logging in again");
                return None;
            }
        };
        serde_json::from_slice(&bytes)
            .inspect_err(|_| tracing::warn!("the kept Vault login is damaged: logging in again"))
            .ok()
    }

    fn save(&self, kept: &KeptToken) {
        let Some(store) = self.store() else {
            return;
        };
        let bytes = serde_json::to_vec(kept).expect("a kept token serializes");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let lifetime = (kept.expires_at > 0).then(|| kept.expires_at.saturating_sub(now));
        match store.write(&bytes, lifetime) {
            Ok(()) => tracing::info!("kept the Vault login in the {} store", store.kind()),
            Err(e) => tracing::warn!(
                "the Vault login could not be kept ({e}): the next mint asks the person again"
            ),
        }
    }

    fn forget(&self) {
        if let Some(Err(e)) = self.store().map(LoginStore::remove) {
            tracing::warn!("cannot remove the kept Vault login: {e}");
        }
    }

    fn may_prompt(&self) -> bool {
        self.may_prompt && self.login.is_some()
    }

    fn open(&self, url: &str) {
        if !super::browser::open(url) {
            eprintln!("(no browser could be started: open the URL above yourself)");
        }
    }

    fn password(&self, prompt: &str) -> Option<Password> {
        if !self.may_prompt() {
            return None;
        }
        match rpassword::prompt_password(prompt) {
            Ok(p) => Some(Password::new(p)),
            Err(e) => {
                tracing::warn!("cannot read the password from the terminal: {e}");
                None
            }
        }
    }
}
