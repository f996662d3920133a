//! `rules`: what the local broker lets this account have, as its status
//! answer says (each rule naming the caller, with the credentials it
//! covers and its limits), so a client need not guess or ask the operator.

use std::io::Write;

use crate::broker::client;
use crate::broker::wire::Grant;
use crate::error::Error;
use crate::options::{BrokerRef, Format};

use super::broker_cluster::STATUS_TIMEOUT;

/// `kube-sa-token rules [--broker SOCKET] [-o json]`.
pub fn rules(b: &BrokerRef, format: Format, out: &mut dyn Write) -> Result<(), Error> {
    let (version, status) = client::status(&b.socket, b.owner.as_deref(), STATUS_TIMEOUT)?;
    if format != Format::Text {
        let v = serde_json::json!({
            "broker": b.socket,
            "version": version,
            "server": status.server,
            "clusterName": status.cluster_name,
            "rules": status.your_grants,
        });
        format.write_document(&v, out)?;
        return Ok(());
    }
    writeln!(
        out,
        "broker {} (kube-sa-token {version}) for {}{}",
        b.socket.display(),
        status.server,
        status
            .cluster_name
            .map(|c| format!(" (cluster {c})"))
            .unwrap_or_default()
    )?;
    // A broker of an older release names the rules, not what is in them.
    if status.your_grants.is_empty() {
        writeln!(out, "rules naming you: {}", status.your_rules.join(", "))?;
        return Ok(());
    }
    for g in &status.your_grants {
        write!(out, "{}", describe(g))?;
    }
    Ok(())
}

/// One rule as a block of lines.
fn describe(g: &Grant) -> String {
    let mut lines = vec![format!("rule {}:", g.rule)];
    let mut row = |what: &str, v: String| lines.push(format!("  {what:<16} {v}"));
    if !g.service_accounts.is_empty() {
        row("ServiceAccounts", g.service_accounts.join(", "));
    }
    if !g.x509_users.is_empty() {
        row("X.509 users", g.x509_users.join(", "));
        let groups = if g.x509_groups.is_empty() {
            "none".into()
        } else {
            g.x509_groups.join(", ")
        };
        row("X.509 groups", groups);
    }
    row(
        "longest",
        match &g.max_duration {
            Some(d) if g.capped => format!("{d} (a longer request is cut to it)"),
            Some(d) => format!("{d} (a longer request is refused)"),
            None => "no maximum".into(),
        },
    );
    row(
        "audiences",
        if g.audiences.is_empty() {
            "the API server's only".into()
        } else {
            g.audiences.join(", ")
        },
    );
    if !g.service_accounts.is_empty() {
        row("sources", g.sources.join(", "));
    }
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_reads_as_what_it_allows() {
        let g = Grant {
            rule: "agents-view".into(),
            service_accounts: vec!["team/viewer".into(), "ci-*/deployer".into()],
            max_duration: Some("1h".into()),
            audiences: vec!["vault".into()],
            sources: vec!["token-request".into()],
            ..Grant::default()
        };
        assert_eq!(
            describe(&g),
            "rule agents-view:\n  ServiceAccounts  team/viewer, ci-*/deployer\n  longest          1h (a longer request is refused)\n  audiences        vault\n  sources          token-request\n"
        );
    }
}
