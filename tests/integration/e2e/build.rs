//! The binary users install: install.sh links it statically against glibc
//! (static-pie) on x86_64 Linux. The other end-to-end tests run that build;
//! these check its shape and what static linking could have broken (host
//! names resolved through /etc/hosts).

use super::admin_contexts::{ca, cert_user, cluster_body, kubeconfig};
use super::*;

/// The ELF facts that matter: the file type (2 fixed address, 3 position
/// independent) and whether it asks for a program interpreter (PT_INTERP,
/// the dynamic loader).
fn elf_shape(path: &str) -> (u16, bool) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..4], b"\x7fELF", "{path} is not an ELF file");
    assert_eq!(b[4], 2, "64-bit ELF");
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(54) as usize, u16_at(56) as usize);
    let interp = (0..phnum).any(|i| u32_at(phoff + i * phentsize) == 3);
    (u16_at(16), interp)
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
#[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
fn the_installed_build_is_a_static_position_independent_executable() {
    let bin = std::env::var("KUBE_SA_TOKEN_TEST_BIN")
        .expect("tests/run.sh names the binary install.sh builds in KUBE_SA_TOKEN_TEST_BIN");
    // Position independent: the program holding credentials keeps
    // address-space randomization; no loader: nothing to load per call.
    assert_eq!(elf_shape(&bin), (3, false), "{bin}: static-pie expected");
    // The shape check itself tells the two kinds apart.
    assert!(elf_shape("/bin/sh").1, "/bin/sh asks for the loader");
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_server_named_by_a_host_name_is_resolved_through_the_hosts_file() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-resolve");
    let sa = sa(&ns);
    let args = entry(&sa, "file");
    // "localhost" comes from /etc/hosts (NSS "files", built into a static
    // glibc); the serving certificate names it.
    let server = format!("https://localhost:{}", c.port());
    let cluster = cluster_body(&server, &ca(&c));
    let env = TestEnv::builder()
        .kubeconfig(kubeconfig(&cluster, &cert_user(&c), &cluster, "v1", &args))
        .build();
    let before = c.token_requests_settled();
    assert_eq!(
        username(&c.kubectl(&env, &whoami_args())),
        format!("system:serviceaccount:{ns}:viewer")
    );
    assert_eq!(c.token_requests_settled() - before, 1);
}
