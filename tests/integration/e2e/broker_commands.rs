//! Issue 23: the day after, on a broker's context. The commands a person
//! types (`whoami`, `token --ca-file`, `cache list --check`, `kubeconfig
//! --embed-token`, `inspect`, `logout`) work for an identity that comes
//! from the broker, with no admin context on the client.

use super::broker::{Client, policy};
use super::*;
use crate::support::broker::Broker;
use crate::support::user::ordinary_user;

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn the_day_after_commands_work_on_a_brokers_context() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-broker-day");
    let user = ordinary_user();
    let broker = Broker::start(&c, "day", &policy(&ns, &user));
    let client = Client::new(&c, user, "broker-day", &broker);
    let out = client.run(
        &[("NS", &ns), ("SERVER", &c.server)],
        r#"
"$BIN" setup --broker "$SOCK" "$NS/viewer" >/dev/null 2>&1 || echo "setup failed"
CTX="$NS/viewer@$CLUSTER"
echo "whoami=$("$BIN" whoami --context "$CTX" -o json | tr -d ' \n')"
"$BIN" token --context "$CTX" --ca-file ca.crt >token.txt
echo "curl=$(curl -s -o /dev/null -w '%{http_code}' --cacert ca.crt -H "Authorization: Bearer $(cat token.txt)" "$SERVER/apis/authentication.k8s.io/v1/selfsubjectreviews" -X POST -H 'Content-Type: application/json' -d '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}')"
echo "check=$("$BIN" cache list --check | grep "$NS/")"
"$BIN" kubeconfig --context "$CTX" --embed-token --output-file embedded.kubeconfig 2>/dev/null
echo "embedded=$("$KUBECTL" --kubeconfig embedded.kubeconfig auth whoami -o jsonpath='{.status.userInfo.username}')"
echo "--- verify" >&2
"$BIN" inspect --context "$CTX" --verify >/dev/null; echo "verify=$?"
echo "--- logout" >&2
"$BIN" logout --context "$CTX"
echo "after=$("$BIN" cache list | grep -c "$NS/")"
echo "--- remove" >&2
"$BIN" setup "$NS/viewer" --broker "$SOCK" --remove >&2
echo "left=$(grep -c -e "$CTX" -e "$CLUSTER" "$KUBECONFIG")"
"#,
    );
    let sa = format!("system:serviceaccount:{ns}:viewer");
    let line = |name: &str| {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name}= in {}\n{}", out.stdout, out.stderr))
            .to_string()
    };
    assert!(!out.stdout.contains("setup failed"), "{}", out.stderr);
    assert!(
        line("whoami").contains(&format!("\"username\":\"{sa}\"")),
        "{}",
        out.stdout
    );
    assert_eq!(
        line("curl"),
        "201",
        "the token and CA `token --ca-file` gave work with curl"
    );
    let check = line("check");
    assert!(
        check.contains(&format!("broker:{}", broker.socket.display())),
        "{check}"
    );
    assert!(check.contains(&format!("ok ({sa})")), "{check}");
    assert_eq!(line("embedded"), sa);
    assert_eq!(line("verify"), "2");
    assert!(
        out.stderr.contains("comes from the broker at"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains(&format!("removed the cached token of {ns}/viewer")),
        "{}",
        out.stdout
    );
    assert_eq!(line("after"), "0");
    // Issue 33: setup undone, the broker's cluster entry with it.
    assert!(
        out.stderr.contains(&format!(
            "removed user \"{ns}/viewer@broker:test\", context \"{ns}/viewer@broker:test\", cluster \"broker:test\" from"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(line("left"), "0", "{}", out.stderr);
    assert!(!out.stderr.contains("eyJ"), "{}", out.stderr);
}
