//! A local broker that mints through Vault (`serve --vault-role`): the
//! broker's account holds the Vault token, an ordinary user asks it, and
//! `exec` works through it too.

use super::vault::ROLE;
use super::*;
use crate::support::vault::Bao;

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_broker_mints_through_vault_for_an_ordinary_user() {
    use crate::support::broker::Broker;
    use crate::support::user::ordinary_user;
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let ns = c.namespace("e2e-vault-broker");
    bao.role(ROLE, &ns, "viewer");
    let token = bao.user_token(ROLE);
    let user = ordinary_user();
    let policy = super::broker::policy(&ns, &user);
    // The broker's account holds the Vault token; no admin kubeconfig.
    let broker = Broker::start_vault(
        "vault",
        &policy,
        &["--vault-role", ROLE, "--vault-addr", &bao.address],
        &[("VAULT_TOKEN", &token)],
    );
    assert!(
        broker.log().contains(&format!("for Vault role \"{ROLE}\"")),
        "{}",
        broker.log()
    );
    let client = super::broker::Client::new(&c, user, "broker-vault", &broker);
    let out = client.run(
        &[("NS", &ns)],
        r#"
"$BIN" setup --broker "$SOCK" "$NS/viewer" >/dev/null; echo "setup=$?"
CTX=$("$KUBECTL" config current-context)
echo "user=$("$KUBECTL" --context "$CTX" auth whoami -o jsonpath='{.status.userInfo.username}')"
"$KUBECTL" --context "$CTX" auth whoami -o jsonpath='{.status.userInfo.username}' >/dev/null; echo "again=$?"
"$BIN" get --broker "$SOCK" --service-account "$NS/viewer" --source secret >/dev/null; echo "secret=$?"
echo "exec=$("$BIN" exec "$NS/viewer" --broker "$SOCK" -- "$KUBECTL" auth whoami -o jsonpath='{.status.userInfo.username}')"
"#,
    );
    let said = |what: &str| out.stdout.lines().any(|l| l == what);
    assert!(
        said("setup=0"),
        "{}\n{}\n{}",
        out.stdout,
        out.stderr,
        broker.log()
    );
    assert!(
        said(&format!("user=system:serviceaccount:{ns}:viewer")),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(said("again=0"), "{}", out.stdout);
    // exec through the broker: the same credential, no kubeconfig touched.
    assert!(
        said(&format!("exec=system:serviceaccount:{ns}:viewer")),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(!said("secret=0"), "{}", out.stdout);
    // One credential through Vault for setup and both kubectl calls.
    assert_eq!(bao.requests(&format!("kubernetes/creds/{ROLE}")), 1);
}
