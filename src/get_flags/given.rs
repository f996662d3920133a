//! The values a command line gave `get`'s flags ([`Given`]), whichever
//! parser found them, and the one conversion into [`GetOptions`]: defaults,
//! `NS/NAME`, users' names and groups, and the combinations that make no
//! sense.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

use super::table::{FLAGS, find};
use crate::duration;
use crate::error::Error;
use crate::names;
use crate::options::{
    self, BrokerRef, CacheChoice, GetOptions, Principal, SourceKind, TokenSpec, VaultRef,
};

/// The values given to each flag of [`FLAGS`] (a switch: one empty value).
#[derive(Debug, Clone)]
pub struct Given {
    values: Vec<Vec<OsString>>,
}

impl Default for Given {
    fn default() -> Given {
        Given {
            values: vec![Vec::new(); FLAGS.len()],
        }
    }
}

/// A flag of the table, by name; a name not in it is a bug of this file.
fn index(long: &str) -> usize {
    find(long)
        .unwrap_or_else(|| panic!("--{long} is not in the flag table"))
        .0
}

impl Given {
    /// Adds a value of the flag in row `row`.
    pub fn push(&mut self, row: usize, value: impl Into<OsString>) {
        self.values[row].push(value.into());
    }

    /// Whether the flag in row `row` was given.
    pub fn has(&self, row: usize) -> bool {
        !self.values[row].is_empty()
    }

    /// Sets `--long` to `value` (a command's own flag of the same meaning).
    pub fn set(&mut self, long: &str, value: impl Into<OsString>) {
        self.values[index(long)] = vec![value.into()];
    }

    fn raw(&self, long: &str) -> Option<&OsStr> {
        self.values[index(long)].last().map(OsString::as_os_str)
    }

    /// The value of `--long` (the parsers accept UTF-8 only, but paths).
    fn one(&self, long: &str) -> Option<String> {
        self.raw(long).map(|v| v.to_string_lossy().into_owned())
    }

    fn many(&self, long: &str) -> Vec<String> {
        self.values[index(long)]
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect()
    }

    /// `--kubeconfig`, for commands that read it besides the options.
    pub fn kubeconfig(&self) -> Option<PathBuf> {
        self.raw("kubeconfig").map(PathBuf::from)
    }

    /// The flags given, by name.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        FLAGS
            .iter()
            .zip(&self.values)
            .filter(|(_, v)| !v.is_empty())
            .map(|(f, _)| f.long)
    }

    /// Whether the switch `--long` is on.
    pub fn on(&self, long: &str) -> bool {
        self.has(index(long))
    }

    fn duration(&self, long: &str, default: Duration) -> Result<Duration, Error> {
        match self.one(long) {
            None => Ok(default),
            Some(v) => duration::parse(&v).map_err(|e| Error::Usage(format!("--{long}: {e}"))),
        }
    }

    fn source(&self) -> SourceKind {
        match self.one("source").as_deref() {
            Some("secret") => SourceKind::Secret,
            Some("vault" | "openbao") => SourceKind::Vault,
            _ => SourceKind::TokenRequest,
        }
    }

    fn cache(&self) -> CacheChoice {
        match self.one("cache").as_deref() {
            Some("keyring") => CacheChoice::Keyring,
            Some("keyutils") => CacheChoice::Keyutils,
            Some("file") => CacheChoice::File,
            Some("tmpfs") => CacheChoice::Tmpfs,
            Some("none") => CacheChoice::None,
            _ => CacheChoice::Auto,
        }
    }

    /// The options these values give, with `positional`, the ServiceAccount
    /// some commands take as an argument. Flags a command does not take are
    /// absent, so their options are the defaults. `get` guesses nothing:
    /// no admin context, namespace "default" ([`Fixed`]).
    pub fn options(&self, positional: Option<String>) -> Result<GetOptions, Error> {
        self.options_with(positional, &Fixed)
    }

    /// [`Given::options`], with `defaults` for what the command line left
    /// out, as kubectl would take it (the commands a person types).
    pub fn options_with(
        &self,
        positional: Option<String>,
        defaults: &dyn Defaults,
    ) -> Result<GetOptions, Error> {
        let spec = self.spec(positional, defaults)?;
        let no_approve = self.on("no-approve");
        let csr_wait = self.duration("csr-timeout", options::DEFAULT_CSR_WAIT)?;
        let duration = self.duration("duration", options::DEFAULT_DURATION)?;
        let create_secret = self.on("create-secret");
        names::lifetime(duration).map_err(|e| Error::Usage(format!("--{e}")))?;
        if matches!(spec.principal, Principal::ServiceAccount(_))
            && (no_approve || csr_wait != options::DEFAULT_CSR_WAIT)
        {
            return Err(Error::Usage(
                "--no-approve and --csr-timeout work with --user only".into(),
            ));
        }
        if create_secret && spec.source != SourceKind::Secret {
            return Err(Error::Usage(
                "--create-secret works with --source secret only".into(),
            ));
        }
        Ok(GetOptions {
            spec,
            duration,
            cache: self.cache(),
            create_secret,
            revalidate: self
                .duration("revalidate-interval", options::DEFAULT_REVALIDATE)?
                .max(Duration::from_secs(1)),
            secret_wait: self.duration("secret-timeout", options::DEFAULT_SECRET_WAIT)?,
            lock_wait: self.duration("lock-timeout", options::DEFAULT_LOCK_WAIT)?,
            refresh_ahead: !self.on("no-refresh-ahead"),
            approve: !no_approve,
            csr_wait,
        })
    }

    /// `--broker` and `--broker-owner`.
    fn broker(&self) -> Result<Option<BrokerRef>, Error> {
        let Some(socket) = self.raw("broker").map(PathBuf::from) else {
            return Ok(None);
        };
        if !socket.is_absolute() {
            return Err(Error::Usage(format!(
                "--broker {}: give the socket's absolute path (for the default socket, $KUBE_SA_TOKEN_BROKER else {}, put --broker last or before another flag)",
                socket.display(),
                super::table::SYSTEM_BROKER_SOCKET
            )));
        }
        Ok(Some(BrokerRef {
            socket,
            owner: self.one("broker-owner").filter(|o| !o.is_empty()),
        }))
    }

    /// `--source vault`'s role, server and login ([`super::given_vault`]);
    /// `None` for the other sources.
    fn vault(&self, defaults: &dyn Defaults) -> Result<Option<VaultRef>, Error> {
        let raw = |long: &str| self.raw(long).map(OsStr::to_os_string);
        super::given_vault::vault(
            &raw,
            self.source() == SourceKind::Vault,
            (
                &|| defaults.vault_address(),
                &|| defaults.vault_ca(),
                &|| defaults.vault_namespace(),
            ),
        )
    }

    /// `serve`'s Vault role (`--vault-role` and the rest), if given.
    pub fn serve_vault(&self, defaults: &dyn Defaults) -> Result<Option<VaultRef>, Error> {
        let raw = |long: &str| self.raw(long).map(OsStr::to_os_string);
        super::given_vault::vault(
            &raw,
            self.raw("vault-role").is_some(),
            (
                &|| defaults.vault_address(),
                &|| defaults.vault_ca(),
                &|| defaults.vault_namespace(),
            ),
        )
    }

    /// Resolves `--namespace`, `--service-account NS/NAME` and a positional
    /// SA, or `--user` and its groups.
    fn spec(
        &self,
        positional: Option<String>,
        defaults: &dyn Defaults,
    ) -> Result<TokenSpec, Error> {
        let kubeconfig = self.raw("kubeconfig").map(PathBuf::from);
        let broker = self.broker()?;
        let vault = self.vault(defaults)?;
        // Neither a broker nor a Vault role has an admin context here.
        let remote = broker.is_some() || vault.is_some();
        let admin_context = match self.one("admin-context") {
            _ if remote => String::new(),
            Some(a) => a,
            None => defaults.admin_context(kubeconfig.as_deref())?,
        };
        if admin_context.is_empty() && !remote {
            return Err(Error::Usage("--admin-context must not be empty".into()));
        }
        let default_namespace = || {
            if remote {
                return options::DEFAULT_NAMESPACE.into();
            }
            defaults
                .namespace(kubeconfig.as_deref(), &admin_context)
                .unwrap_or_else(|| options::DEFAULT_NAMESPACE.into())
        };
        let namespace = self.one("namespace");
        if let Some(name) = self.one("user") {
            let namespace = namespace.unwrap_or_else(default_namespace);
            let mut spec =
                self.user_spec(admin_context, kubeconfig, name, namespace, positional)?;
            spec.broker = broker;
            return Ok(spec);
        }
        let sa = match (self.one("service-account"), positional) {
            (Some(_), Some(_)) => {
                return Err(Error::Usage(
                    "give the ServiceAccount once: either --service-account or the SA argument"
                        .into(),
                ));
            }
            (Some(s), None) | (None, Some(s)) => s,
            // A Vault role that generates its ServiceAccounts.
            (None, None) if self.source() == SourceKind::Vault => {
                let ns = namespace.clone().unwrap_or_else(default_namespace);
                format!("{ns}/{}", options::GENERATED_SA)
            }
            (None, None) => {
                return Err(Error::Usage(
                    "which ServiceAccount? pass --service-account NAME (or NS/NAME)".into(),
                ));
            }
        };
        let (ns, name) = match split_sa(&sa) {
            Some((ns, name)) => {
                if let Some(flag) = namespace.as_ref().filter(|f| f.as_str() != ns) {
                    return Err(Error::Usage(format!(
                        "--namespace {flag} contradicts --service-account {sa}; give the namespace once"
                    )));
                }
                (ns.to_string(), name.to_string())
            }
            None => (namespace.unwrap_or_else(default_namespace), sa),
        };
        names::namespace(&ns).map_err(|e| Error::Usage(e.quoting(&ns)))?;
        if name != options::GENERATED_SA || self.source() != SourceKind::Vault {
            names::service_account(&name).map_err(|e| Error::Usage(e.quoting(&name)))?;
        }
        let audiences = self.many("audience");
        for a in &audiences {
            names::audience(a).map_err(|e| Error::Usage(e.quoting(a)))?;
        }
        let source = self.source();
        let bind_secret = self.on("bind-secret");
        if bind_secret && source == SourceKind::Secret {
            return Err(Error::Usage(
                "--bind-secret works with --source token-request only".into(),
            ));
        }
        Ok(TokenSpec {
            kubeconfig,
            admin_context,
            broker,
            vault,
            namespace: ns,
            principal: Principal::ServiceAccount(name),
            source,
            audiences,
            bind_secret,
        })
    }

    /// An X.509 user: a name and groups the API server reads from the
    /// certificate as they are; the token-only flags do not apply.
    fn user_spec(
        &self,
        admin_context: String,
        kubeconfig: Option<PathBuf>,
        name: String,
        namespace: String,
        positional: Option<String>,
    ) -> Result<TokenSpec, Error> {
        let groups = self.many("group");
        if positional.is_some() {
            return Err(Error::Usage(
                "give either --user or a ServiceAccount, not both".into(),
            ));
        }
        for (what, v) in
            std::iter::once(("user name", &name)).chain(groups.iter().map(|g| ("group", g)))
        {
            names::x509(what, v).map_err(|e| Error::Usage(e.quoting(v)))?;
        }
        if name.starts_with("system:") {
            return Err(Error::Usage(format!(
                "--user {name:?}: names starting with \"system:\" are reserved for Kubernetes components; for a ServiceAccount use --service-account"
            )));
        }
        // system:masters bypasses RBAC altogether, system:authenticated is
        // added by the server: neither tests anything.
        if let Some(g) = groups.iter().find(|g| g.starts_with("system:")) {
            return Err(Error::Usage(format!(
                "--group {g:?}: groups starting with \"system:\" are Kubernetes' own (system:masters bypasses RBAC, system:authenticated is added by the server); test RBAC with your own group names"
            )));
        }
        if self.source() != SourceKind::default() || self.on("audience") || self.on("bind-secret") {
            return Err(Error::Usage(
                "--source, --audience and --bind-secret are for ServiceAccount tokens, not --user"
                    .into(),
            ));
        }
        names::namespace(&namespace).map_err(|e| Error::Usage(e.quoting(&namespace)))?;
        Ok(TokenSpec {
            kubeconfig,
            admin_context,
            broker: None,
            vault: None,
            namespace,
            principal: Principal::User { name, groups },
            source: SourceKind::default(),
            audiences: Vec::new(),
            bind_secret: false,
        })
    }
}

/// What a command line may leave out and kubectl would take from the
/// kubeconfig: the admin context (the current context) and the namespace
/// (the admin context's).
pub trait Defaults {
    /// The admin context when --admin-context is not given.
    fn admin_context(&self, kubeconfig: Option<&std::path::Path>) -> Result<String, Error>;
    /// The namespace when neither -n nor NS/NAME says one (`None`:
    /// "default").
    fn namespace(
        &self,
        kubeconfig: Option<&std::path::Path>,
        admin_context: &str,
    ) -> Option<String>;
    /// The Vault address when --vault-addr is not given.
    fn vault_address(&self) -> Option<String> {
        ["VAULT_ADDR", "BAO_ADDR"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|a| !a.is_empty()))
    }
    /// The CA bundle of Vault's certificate when --vault-ca is not given.
    fn vault_ca(&self) -> Option<PathBuf> {
        ["VAULT_CACERT", "BAO_CACERT"]
            .iter()
            .find_map(|v| std::env::var_os(v).filter(|a| !a.is_empty()))
            .map(PathBuf::from)
    }
    /// The Vault namespace when --vault-namespace is not given.
    fn vault_namespace(&self) -> Option<String> {
        ["VAULT_NAMESPACE", "BAO_NAMESPACE"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|a| !a.is_empty()))
    }
}

/// No defaults from the kubeconfig: what `get` takes. An exec entry says
/// everything, and kubectl's current context is not the context it runs
/// the entry for, so guessing could mint for the wrong cluster or namespace.
pub struct Fixed;

impl Defaults for Fixed {
    fn admin_context(&self, _: Option<&std::path::Path>) -> Result<String, Error> {
        Err(Error::Usage(
            "--admin-context is needed: the more privileged context that mints the credential"
                .into(),
        ))
    }
    fn namespace(&self, _: Option<&std::path::Path>, _: &str) -> Option<String> {
        None
    }
    fn vault_address(&self) -> Option<String> {
        None
    }
    fn vault_ca(&self) -> Option<PathBuf> {
        None
    }
    fn vault_namespace(&self) -> Option<String> {
        None
    }
}

/// A ServiceAccount as people write it: `NAME`, `NS/NAME`, kubectl's
/// `NS:NAME` (`create rolebinding --serviceaccount`) or its user name
/// `system:serviceaccount:NS:NAME` (`auth can-i --as`). Names and
/// namespaces hold neither '/' nor ':', so no spelling is ambiguous.
fn split_sa(sa: &str) -> Option<(&str, &str)> {
    let sa = sa.strip_prefix("system:serviceaccount:").unwrap_or(sa);
    sa.split_once('/').or_else(|| sa.split_once(':'))
}
