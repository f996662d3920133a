//! `doctor`: one line per finding, each with a fix.

mod admin;
mod broker;
mod entries;
mod report;
mod run;
mod store;
mod vault;

pub use run::{Request, doctor};
