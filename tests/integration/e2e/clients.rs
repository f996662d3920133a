//! Clients beyond kubectl that run exec plugins: the Python `kubernetes`
//! client (the classic way this tool replaces was written with it) and a
//! kube-rs client, with v1 and v1beta1 exec entries, with and without
//! `provideClusterInfo`.

use super::admin_contexts::{cert_user, kubeconfig};
use super::*;

/// The Python interpreter of the venv tests/run.sh makes (target/py), or
/// KUBE_SA_TOKEN_TEST_PYTHON.
pub(super) fn python() -> PathBuf {
    let p = std::env::var_os("KUBE_SA_TOKEN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/py/bin/python"));
    assert!(
        p.exists(),
        "{} is missing: tests/run.sh creates it (python3 -m venv target/py && target/py/bin/pip install -r tests/clients/requirements.txt)",
        p.display()
    );
    p
}

/// The Python client as context "sa": prints the username, then the
/// ServiceAccounts of `ns`.
pub(crate) fn python_client(env: &TestEnv, ns: &str) -> Out {
    let mut py = Command::new(python());
    py.args(["-c", PYTHON_CLIENT]).arg(&env.kubeconfig).arg(ns);
    env.isolate(&mut py);
    Out::from(py.output().unwrap())
}

const PYTHON_CLIENT: &str = r#"
import sys
from kubernetes import client, config
cfg = client.Configuration()
config.load_kube_config(config_file=sys.argv[1], context="sa", client_configuration=cfg)
api = client.ApiClient(cfg)
review = client.AuthenticationV1Api(api).create_self_subject_review(client.V1SelfSubjectReview())
print(review.status.user_info.username)
names = [s.metadata.name for s in client.CoreV1Api(api).list_namespaced_service_account(sys.argv[2]).items]
print(",".join(names))
"#;

/// The username a kube-rs client gets for context "sa", and the
/// ServiceAccounts it can list in `ns`. kube-rs runs the exec plugin with the
/// test process's environment plus the entry's `env`, so the entry carries
/// the env's isolation.
pub(crate) fn kube_rs_client(env: &TestEnv, ns: &str) -> Result<(String, Vec<String>), String> {
    use k8s_openapi::api::authentication::v1::SelfSubjectReview;
    use k8s_openapi::api::core::v1::ServiceAccount;
    use kube::api::{Api, ListParams, PostParams};
    use kube::config::{KubeConfigOptions, Kubeconfig};

    let mut kc = Kubeconfig::read_from(&env.kubeconfig).unwrap();
    let isolation = [
        ("HOME", env.home.clone()),
        ("XDG_CACHE_HOME", env.home.join(".cache")),
        ("XDG_CONFIG_HOME", env.home.join(".config")),
        ("XDG_DATA_HOME", env.home.join(".local/share")),
        ("KUBECONFIG", env.kubeconfig.clone()),
    ];
    for user in &mut kc.auth_infos {
        if let Some(exec) = user.auth_info.as_mut().and_then(|a| a.exec.as_mut()) {
            let vars = exec.env.get_or_insert_with(Vec::new);
            for (k, v) in &isolation {
                vars.push(
                    [("name", k.to_string()), ("value", v.display().to_string())]
                        .into_iter()
                        .map(|(a, b)| (a.to_string(), b))
                        .collect(),
                );
            }
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let opts = KubeConfigOptions {
            context: Some("sa".into()),
            ..Default::default()
        };
        let err = |e: kube::Error| e.to_string();
        let config = kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| e.to_string())?;
        let client = kube::Client::try_from(config).map_err(err)?;
        let review = Api::<SelfSubjectReview>::all(client.clone())
            .create(&PostParams::default(), &SelfSubjectReview::default())
            .await
            .map_err(err)?;
        let sas = Api::<ServiceAccount>::namespaced(client, ns)
            .list(&ListParams::default())
            .await
            .map_err(err)?;
        Ok((
            review
                .status
                .and_then(|s| s.user_info)
                .and_then(|u| u.username)
                .unwrap_or_default(),
            sas.items
                .into_iter()
                .filter_map(|s| s.metadata.name)
                .collect(),
        ))
    })
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn python_and_kube_rs_clients_authenticate_as_the_sa() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-clients");
    let sa = sa(&ns);
    let args = entry(&sa, "file");
    let cluster = format!(
        "{{server: \"{}\", certificate-authority: \"{}\"}}",
        c.server,
        c.ca().display()
    );
    let expected = format!("system:serviceaccount:{ns}:viewer");
    let before = c.token_requests_settled();
    for version in ["v1", "v1beta1"] {
        for provide in [true, false] {
            let yaml = kubeconfig(&cluster, &cert_user(&c), &cluster, version, &args).replace(
                "provideClusterInfo: true",
                &format!("provideClusterInfo: {provide}"),
            );
            let env = TestEnv::builder().kubeconfig(yaml).build();
            let case = format!("{version}, provideClusterInfo: {provide}");

            let out = python_client(&env, &ns);
            assert_eq!(out.code, 0, "Python client, {case}: {}", out.stderr);
            let lines: Vec<&str> = out.stdout.lines().collect();
            assert_eq!(lines[0], expected, "Python client, {case}");
            assert!(
                lines[1].split(',').any(|n| n == "viewer"),
                "Python client, {case}"
            );

            let (who, sas) = kube_rs_client(&env, &ns).unwrap();
            assert_eq!(who, expected, "kube-rs client, {case}");
            assert!(sas.iter().any(|n| n == "viewer"), "kube-rs client, {case}");
        }
    }
    assert_eq!(
        c.token_requests_settled() - before,
        4,
        "one TokenRequest per fresh cache; every other call of both clients was a hit"
    );
}
