//! The inverse of parsing: the `get` arguments that reproduce a set of
//! options, for the exec entries `setup` and `kubeconfig` write and for the
//! background refresh, written row by row from the flag table. Held equal to
//! the parsers by the property `parse(exec_args(o)) == o` (`cli/tests.rs`).

use super::flag::Takes;
use super::table::FLAGS;
use crate::options::GetOptions;

/// The `get` arguments that reproduce `opts` (defaults left out): what
/// `setup` and `kubeconfig` write into an exec entry.
pub fn exec_args(opts: &GetOptions) -> Vec<String> {
    let mut a = vec!["get".to_string()];
    for flag in FLAGS {
        for value in (flag.write)(opts) {
            let name = format!("--{}", flag.long);
            match flag.takes {
                Takes::Switch => a.push(name),
                // A value that starts with '-' would read as a flag of its
                // own: it is attached (`--user=-alice`), the one form that
                // parses back to it.
                Takes::One(_) | Takes::Many(_) if value.starts_with('-') => {
                    a.push(format!("{name}={value}"));
                }
                Takes::One(_) | Takes::Many(_) => a.extend([name, value]),
            }
        }
    }
    a
}
