//! The broker's policy: which callers may obtain which credentials, for how
//! long and for which audiences. Default deny: a request no rule allows is
//! refused, with the reason. Read from a YAML file (docs/broker.md has the
//! reference); checked whole when loaded, so a rule with a typo never
//! half-applies.

use std::time::Duration;

use serde::Deserialize;

pub use super::callers::Caller;
use super::callers::Callers;
use super::pattern::glob;
use super::wire::Grant;
use crate::duration;
use crate::names;

/// The credential a caller asks for, as the policy judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted<'a> {
    ServiceAccount { namespace: &'a str, name: &'a str },
    User { name: &'a str, groups: &'a [String] },
}

/// A request, as the policy judges it.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    pub wanted: Wanted<'a>,
    pub audiences: &'a [String],
    pub source: &'a str,
    pub duration: Option<Duration>,
}

/// The policy's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by the rule named; the duration to mint with (capped when
    /// the rule says so).
    Allow {
        rule: String,
        duration: Option<Duration>,
        capped: bool,
    },
    Deny(String),
}

/// Requests per caller: a bucket of `burst` refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub burst: u32,
    pub per_minute: u32,
}

pub const DEFAULT_RATE: RateLimit = RateLimit {
    burst: 30,
    per_minute: 60,
};

/// A loaded, checked policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub rules: Vec<Rule>,
    pub rate: RateLimit,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    callers: Callers,
    service_accounts: Vec<String>,
    x509_users: Vec<String>,
    x509_groups: Vec<String>,
    max_duration: Option<Duration>,
    cap: bool,
    audiences: Vec<String>,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct File {
    version: u32,
    #[serde(default)]
    rate_limit: Option<RateFile>,
    #[serde(default)]
    rules: Vec<RuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RateFile {
    burst: u32,
    per_minute: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RuleFile {
    name: String,
    callers: Callers,
    #[serde(default)]
    service_accounts: Vec<String>,
    #[serde(default)]
    x509_users: Vec<String>,
    #[serde(default)]
    x509_groups: Vec<String>,
    #[serde(default)]
    max_duration: Option<String>,
    #[serde(default)]
    over_max_duration: Option<String>,
    #[serde(default)]
    audiences: Vec<String>,
    #[serde(default)]
    sources: Option<Vec<String>>,
}

const SOURCES: [&str; 2] = ["token-request", "secret"];

impl Policy {
    /// Parses and checks a policy file's text; the error says what to fix
    /// (where serde_yaml can, at which line), never quoting values.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let file: File = serde_yaml::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
                .unwrap_or_default();
            // serde_yaml names the field or kind that is wrong, not the
            // value: "unknown field `x`, expected one of ...".
            let what = e.to_string();
            let what = what.split(" at line ").next().unwrap_or_default();
            format!("{what}{at}")
        })?;
        if file.version != 1 {
            return Err(format!(
                "version {} is not known to this release: write `version: 1`",
                file.version
            ));
        }
        let rate = match file.rate_limit {
            None => DEFAULT_RATE,
            Some(r) if r.burst == 0 || r.per_minute == 0 => {
                return Err("rateLimit: burst and perMinute must be at least 1".into());
            }
            Some(r) => RateLimit {
                burst: r.burst,
                per_minute: r.per_minute,
            },
        };
        let mut rules: Vec<Rule> = Vec::new();
        for (i, r) in file.rules.into_iter().enumerate() {
            let rule = Rule::check(r).map_err(|e| format!("rule {}: {e}", i + 1))?;
            if rules.iter().any(|o| o.name == rule.name) {
                return Err(format!(
                    "rule {}: the name {:?} is used twice",
                    i + 1,
                    rule.name
                ));
            }
            rules.push(rule);
        }
        Ok(Policy { rules, rate })
    }

    /// The rules whose callers include `caller`.
    pub fn rules_for<'p>(&'p self, caller: &Caller) -> Vec<&'p Rule> {
        self.rules
            .iter()
            .filter(|r| r.callers.include(caller))
            .collect()
    }

    /// Whether `caller` may have what `ask` names: the first rule that
    /// allows it, else the reason none does.
    pub fn decide(&self, caller: &Caller, ask: &Ask<'_>) -> Decision {
        if let Wanted::User { name, groups } = &ask.wanted
            && let Some(s) = std::iter::once(*name)
                .chain(groups.iter().map(String::as_str))
                .find(|s| s.starts_with("system:"))
        {
            return Decision::Deny(format!(
                "{s:?} is a system: name: the broker never issues certificates for the API server's own users and groups"
            ));
        }
        let mine = self.rules_for(caller);
        if mine.is_empty() {
            return Decision::Deny(format!(
                "no rule of the policy names {} (or its groups)",
                caller.describe()
            ));
        }
        let what = ask.wanted.describe();
        let matching: Vec<&Rule> = mine
            .iter()
            .copied()
            .filter(|r| r.covers(&ask.wanted))
            .collect();
        if matching.is_empty() {
            let names: Vec<&str> = mine.iter().map(|r| r.name.as_str()).collect();
            return Decision::Deny(format!(
                "no rule for {} allows {what} (its rules: {})",
                caller.describe(),
                names.join(", ")
            ));
        }
        let mut first_reason = None;
        for rule in matching {
            match rule.limits(ask) {
                Ok((duration, capped)) => {
                    return Decision::Allow {
                        rule: rule.name.clone(),
                        duration,
                        capped,
                    };
                }
                Err(why) => {
                    first_reason.get_or_insert(format!("rule {:?}: {why}", rule.name));
                }
            }
        }
        Decision::Deny(first_reason.unwrap_or_default())
    }
}

impl Wanted<'_> {
    pub fn describe(&self) -> String {
        match self {
            Wanted::ServiceAccount { namespace, name } => {
                format!("ServiceAccount {namespace}/{name}")
            }
            Wanted::User { name, groups: [] } => format!("user {name}"),
            Wanted::User { name, groups } => format!("user {name} in {}", groups.join(", ")),
        }
    }
}

impl Rule {
    /// What the rule lets its callers have, for them to see.
    pub fn grant(&self) -> Grant {
        Grant {
            rule: self.name.clone(),
            service_accounts: self.service_accounts.clone(),
            x509_users: self.x509_users.clone(),
            x509_groups: self.x509_groups.clone(),
            max_duration: self.max_duration.map(duration::flag),
            capped: self.cap,
            audiences: self.audiences.clone(),
            sources: self.sources.clone(),
        }
    }

    /// The namespace parts of its ServiceAccount patterns.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.service_accounts
            .iter()
            .filter_map(|p| p.split_once('/').map(|(ns, _)| ns))
    }

    /// Whether it allows X.509 users (certificates from CSRs).
    pub fn issues_certificates(&self) -> bool {
        !self.x509_users.is_empty()
    }

    fn check(r: RuleFile) -> Result<Rule, String> {
        if r.name.trim().is_empty() {
            return Err("every rule needs a name (it is logged with each decision)".into());
        }
        if r.callers.is_empty() {
            return Err(format!(
                "rule {:?} names no callers: give callers.uids, users, gids or groups",
                r.name
            ));
        }
        if r.service_accounts.is_empty() && r.x509_users.is_empty() {
            return Err(format!(
                "rule {:?} allows nothing: give serviceAccounts (NS/NAME patterns) or x509Users",
                r.name
            ));
        }
        for p in &r.service_accounts {
            let ok = p
                .split_once('/')
                .is_some_and(|(ns, n)| !ns.is_empty() && !n.is_empty() && !n.contains('/'));
            if !ok {
                return Err(format!(
                    "rule {:?}: serviceAccounts entries are NAMESPACE/NAME patterns ('*' matches any characters), not {p:?}",
                    r.name
                ));
            }
        }
        for p in r.x509_users.iter().chain(&r.x509_groups) {
            if p.is_empty()
                || p.starts_with("system:")
                || "system:".starts_with(p.trim_end_matches('*')) && p.ends_with('*')
            {
                return Err(format!(
                    "rule {:?}: {p:?} would allow system: users or groups (the API server's own identities), which the broker never issues",
                    r.name
                ));
            }
        }
        if !r.x509_groups.is_empty() && r.x509_users.is_empty() {
            return Err(format!("rule {:?}: x509Groups needs x509Users", r.name));
        }
        let max_duration = r
            .max_duration
            .as_deref()
            .map(duration::parse)
            .transpose()
            .map_err(|e| format!("rule {:?}: maxDuration: {e}", r.name))?;
        let cap = match r.over_max_duration.as_deref() {
            None | Some("refuse") => false,
            Some("cap") => true,
            Some(_) => {
                return Err(format!(
                    "rule {:?}: overMaxDuration is `refuse` (the default) or `cap`",
                    r.name
                ));
            }
        };
        if let Some(max) = max_duration
            && max < names::MIN_LIFETIME
        {
            return Err(format!(
                "rule {:?}: maxDuration {} is below the API server's minimum lifetime {}",
                r.name,
                duration::flag(max),
                duration::flag(names::MIN_LIFETIME)
            ));
        }
        let sources = r.sources.unwrap_or_else(|| vec!["token-request".into()]);
        if let Some(s) = sources.iter().find(|s| !SOURCES.contains(&s.as_str())) {
            return Err(format!(
                "rule {:?}: sources are token-request and secret, not {s:?}",
                r.name
            ));
        }
        // A legacy Secret token never expires: no maximum can hold it.
        if max_duration.is_some() && sources.iter().any(|s| s == "secret") {
            return Err(format!(
                "rule {:?}: maxDuration cannot hold source secret (legacy Secret tokens never expire); give secret a rule of its own without maxDuration",
                r.name
            ));
        }
        Ok(Rule {
            name: r.name,
            callers: r.callers,
            service_accounts: r.service_accounts,
            x509_users: r.x509_users,
            x509_groups: r.x509_groups,
            max_duration,
            cap,
            audiences: r.audiences,
            sources,
        })
    }

    /// Whether the rule names the credential (who, not how long). A
    /// ServiceAccount pattern's namespace part matches the namespace and
    /// its name part the name: no '*' reaches across the '/'.
    fn covers(&self, wanted: &Wanted<'_>) -> bool {
        match wanted {
            Wanted::ServiceAccount { namespace, name } => self.service_accounts.iter().any(|p| {
                p.split_once('/')
                    .is_some_and(|(ns, n)| glob(ns, namespace) && glob(n, name))
            }),
            Wanted::User { name, groups } => {
                self.x509_users.iter().any(|p| glob(p, name))
                    && groups
                        .iter()
                        .all(|g| self.x509_groups.iter().any(|p| glob(p, g)))
            }
        }
    }

    /// The duration to mint with (and whether it was capped), or why the
    /// rule refuses the request's audiences, source or duration.
    fn limits(&self, ask: &Ask<'_>) -> Result<(Option<Duration>, bool), String> {
        if let Some(a) = ask.audiences.iter().find(|a| !self.audiences.contains(a)) {
            return Err(format!(
                "audience {a:?} is not allowed (allowed: {})",
                if self.audiences.is_empty() {
                    "only the API server's own".into()
                } else {
                    self.audiences.join(", ")
                }
            ));
        }
        if matches!(ask.wanted, Wanted::ServiceAccount { .. })
            && !self.sources.iter().any(|s| s == ask.source)
        {
            return Err(format!(
                "source {} is not allowed (allowed: {})",
                ask.source,
                self.sources.join(", ")
            ));
        }
        // A legacy token has no lifetime: a maximum forbids it, whatever
        // the request says (a policy with both does not load either).
        let secret = matches!(ask.wanted, Wanted::ServiceAccount { .. }) && ask.source == "secret";
        match (ask.duration, self.max_duration) {
            (_, Some(max)) if secret => Err(format!(
                "legacy Secret tokens never expire, and this rule allows at most {}",
                duration::flag(max)
            )),
            (_, _) if secret => Ok((None, false)),
            (Some(d), Some(max)) if d > max && self.cap => Ok((Some(max), true)),
            (Some(d), Some(max)) if d > max => Err(format!(
                "duration {} is above the maximum {}; ask for --duration {} or less",
                duration::flag(d),
                duration::flag(max),
                duration::flag(max)
            )),
            // Asked for nothing: the rule's maximum, not a longer default.
            (None, Some(max)) => Ok((Some(max), false)),
            (d, _) => Ok((d, false)),
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
