//! One module per user-facing command; each turns plain inputs into output.

use std::io::Write;

use crate::cli::Command;
use crate::clock::SystemClock;
use crate::error::Error;

pub fn dispatch(cmd: Command, out: &mut dyn Write) -> Result<(), Error> {
    match cmd {
        Command::Get(opts) => {
            let json = crate::get::get(&opts, &SystemClock)?;
            writeln!(out, "{json}")?;
            out.flush()?;
            Ok(())
        }
        Command::Completions(shell) => {
            crate::cli::completions(shell);
            Ok(())
        }
        _ => Err(Error::Usage("not yet".into())),
    }
}
