//! The use cases, one file per command: each turns plain inputs
//! ([`crate::options`]) into output.

mod admin_session;
mod background;
mod backoff;
mod broker_cluster;
mod broker_conn;
mod broker_issue;
mod broker_minter;
mod broker_rules;
mod broker_setup;
mod browser;
mod cache_adapter;
mod cache_check;
mod cache_cmd;
mod cache_list;
mod defaults;
mod doctor;
mod exec;
mod exec_command;
mod get;
mod get_token;
mod identity;
mod inspect;
mod kube_minter;
mod kubeconfig_export;
mod logout;
mod mint;
mod ports;
mod refresh_ahead;
mod reinvoked;
mod request;
mod rights;
mod serve;
mod serve_start;
mod setup;
mod setup_remove;
mod token_cmd;
mod vault_keeper;
mod vault_minter;
mod verdict;
mod whoami;

use std::io::Write;

pub use defaults::FromKubeconfig;
pub use exec_command::FULL;
pub use get::cached;
pub use identity::contexts_running_us;

use crate::clock::SystemClock;
use crate::error::Error;
use crate::options::Command;

/// Runs one command, writing its output to `out`.
pub fn dispatch(cmd: Command, out: &mut dyn Write) -> Result<(), Error> {
    let clock = SystemClock;
    match cmd {
        Command::Get(opts) => {
            let json = get::get(&opts, &clock)?;
            writeln!(out, "{json}")?;
        }
        Command::Refresh(opts) => get::refresh(&opts, &clock)?,
        Command::Serve(opts) => serve::serve(&opts)?,
        Command::Rules { broker, format } => broker_rules::rules(&broker, format, out)?,
        Command::Setup {
            opts,
            context_name,
            dry_run,
            remove: true,
            ..
        } => setup_remove::remove(&opts, context_name.as_deref(), dry_run, out)?,
        Command::Setup {
            opts,
            context_name,
            dry_run,
            print_rbac,
            use_context,
            remove: false,
        } => setup::setup(
            &opts,
            context_name.as_deref(),
            dry_run,
            print_rbac,
            use_context,
            out,
        )?,
        Command::Kubeconfig {
            who,
            embed_token,
            context_name,
            output,
            format,
        } => kubeconfig_export::export(
            &identity::options_of(&who)?,
            embed_token,
            context_name.as_deref(),
            (output.as_deref(), format),
            out,
        )?,
        Command::Inspect {
            input,
            kubeconfig,
            admin_context,
            verify,
            format,
        } => inspect::inspect(
            inspect::Request {
                input: &input,
                kubeconfig: kubeconfig.as_deref(),
                admin_context: admin_context.as_deref(),
                verify,
                format,
            },
            &clock,
            out,
        )?,
        Command::Token { who, ca_file } => token_cmd::token(&who, ca_file.as_deref(), &clock, out)?,
        Command::Whoami { who, format } => whoami::whoami(&who, format, &clock, out)?,
        Command::Exec {
            who,
            command,
            allow_nested,
        } => {
            let opts = identity::options_of(&who)?;
            let code = if command.is_empty() {
                exec::shell(&opts, allow_nested, &clock)?
            } else {
                exec::exec(&opts, &command, allow_nested, &clock)?
            };
            out.flush()?;
            // COMMAND's status is ours (the kubeconfig is already removed).
            std::process::exit(code);
        }
        Command::ExecEnv { who } => exec::print_env(&identity::options_of(&who)?, &clock, out)?,
        Command::ExecClean => exec::clean(out)?,
        Command::CacheList {
            format,
            wide,
            check,
            parse_get,
        } => cache_list::list(format, wide, check, parse_get, &clock, out)?,
        Command::CacheClear { target, parse_get } => {
            cache_cmd::clear(target.as_deref(), parse_get, out)?
        }
        Command::Logout { who } => logout::logout(&identity::options_of(&who)?, &clock, out)?,
        Command::Doctor {
            kubeconfig,
            admin_context,
            namespace,
            cache,
            parse_get,
            format,
        } => doctor::doctor(
            doctor::Request {
                kubeconfig: kubeconfig.as_deref(),
                admin_context: admin_context.as_deref(),
                namespace: &namespace,
                cache,
                parse_get,
                format,
            },
            out,
        )?,
    }
    out.flush()?;
    Ok(())
}
