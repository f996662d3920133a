//! Whose credential a command is about: `--context`, or `get`'s flags and
//! the ServiceAccount; and the commands that run something as that
//! identity (`exec`, `shell`).

use std::ffi::OsString;

use clap::Args;

use super::table_args::{MINTS_OR_CONTEXT, TableArgs};

/// `--context`: whose credential, by the kubeconfig context `setup` wrote.
#[derive(Args, Debug, Clone)]
pub(super) struct ContextArg {
    /// The identity of this kubeconfig context's exec entry (one `setup`
    /// wrote), with all its options; the default without --admin-context:
    /// the current context.
    #[arg(long, value_name = "NAME")]
    pub(super) context: Option<String>,
}

/// Whose credential a command that shows or forgets one is about:
/// `--context`, or `get`'s flags of `SET` and the ServiceAccount.
#[derive(Args, Debug)]
pub(super) struct IdentityArgs<const SET: u8> {
    #[command(flatten)]
    pub(super) context: ContextArg,
    #[command(flatten)]
    pub(super) flags: TableArgs<SET>,
    /// The ServiceAccount (NAME or NS/NAME; NS:NAME too), if not given with --service-account.
    #[arg(value_name = "SA")]
    pub(super) sa: Option<String>,
}

/// `exec`: an identity and the command to run as it.
#[derive(Args, Debug)]
pub(super) struct ExecArgs {
    #[command(flatten)]
    pub(super) who: IdentityArgs<MINTS_OR_CONTEXT>,
    /// Run even inside another `exec` (or `shell`) of another identity.
    #[arg(long)]
    pub(super) allow_nested: bool,
    /// Instead of running a command: print the shell lines that set
    /// KUBECONFIG to the identity's own kubeconfig, for `eval` (kept in
    /// memory until `exec --clean` or reboot).
    #[arg(long, conflicts_with = "clean")]
    pub(super) print_env: bool,
    /// Remove the kubeconfigs --print-env left.
    #[arg(long, conflicts_with_all = ["print_env", "allow_nested"])]
    pub(super) clean: bool,
    /// The command and its arguments, after --.
    #[arg(
        last = true,
        required_unless_present_any = ["print_env", "clean"],
        conflicts_with_all = ["print_env", "clean"],
        value_name = "COMMAND"
    )]
    pub(super) command: Vec<OsString>,
}

/// `shell`: an identity; the shell is $SHELL.
#[derive(Args, Debug)]
pub(super) struct ShellArgs {
    #[command(flatten)]
    pub(super) who: IdentityArgs<MINTS_OR_CONTEXT>,
    /// Start it even inside another `exec` (or `shell`) of another identity.
    #[arg(long)]
    pub(super) allow_nested: bool,
}
