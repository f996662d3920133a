//! kube-sa-token: a client-go ExecCredential plugin that hands kubectl a
//! ServiceAccount token, minted once and kept in the OS keyring.

fn main() {
    let code = kube_sa_token::run(std::env::args_os());
    std::process::exit(code as i32);
}
