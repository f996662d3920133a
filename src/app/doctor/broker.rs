//! `doctor`'s check of the brokers that exec entries ask (`--broker`): is
//! it there, served by whom it should be, which release, and its policy's
//! state (an invalid change it did not take shows here).

use crate::broker::client;
use crate::options::BrokerRef;

use super::super::broker_cluster::STATUS_TIMEOUT;
use super::entries::Entry;
use super::report::Report;

pub(super) fn check_entry_brokers(entries: &[Entry], r: &mut Report) {
    let mut brokers: Vec<&BrokerRef> = entries
        .iter()
        .filter_map(|e| e.opts.spec.broker.as_ref())
        .collect();
    brokers.sort_by(|a, b| (&a.socket, &a.owner).cmp(&(&b.socket, &b.owner)));
    brokers.dedup();
    for b in brokers {
        let of_it: Vec<String> = entries
            .iter()
            .filter(|e| e.opts.spec.broker.as_ref() == Some(b))
            .map(Entry::named)
            .collect();
        let at = b.socket.display();
        match client::status(&b.socket, b.owner.as_deref(), STATUS_TIMEOUT) {
            Err(e) => r.fail(format!("{e} (used by {})", of_it.join(", "))),
            Ok((version, s)) => {
                r.ok(format!(
                    "broker {at}: kube-sa-token {version} for {}, policy {} ({}, loaded {}); rules naming you: {} (`kube-sa-token rules` lists what they allow)",
                    s.server,
                    s.policy_file,
                    crate::wording::counted(s.policy_rules, "rule"),
                    s.policy_loaded,
                    if s.your_rules.is_empty() { "none".into() } else { s.your_rules.join(", ") }
                ));
                if version != env!("CARGO_PKG_VERSION") {
                    r.warn(format!(
                        "broker {at} runs kube-sa-token {version}, this is {}; keep both at one release",
                        env!("CARGO_PKG_VERSION")
                    ));
                }
                if let Some(why) = s.policy_error {
                    r.warn(format!(
                        "broker {at}: the newest change to its policy {} is invalid ({why}); it keeps the one loaded {}",
                        s.policy_file, s.policy_loaded
                    ));
                }
            }
        }
    }
}
