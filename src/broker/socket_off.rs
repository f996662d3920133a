//! Off Linux, the broker's socket stand-in: nothing listens or connects
//! (SO_PEERCRED and SO_PEERGROUPS are Linux's). Compiled and tested on Linux
//! too, so that it stays in step with `socket.rs`.

use std::io;
use std::path::Path;
use std::time::Duration;

use super::error::BrokerError;
use super::policy::Caller;

/// A connection: none ever exists here.
pub enum Conn {}

impl io::Read for Conn {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match *self {}
    }
}

impl io::Write for Conn {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        match *self {}
    }
    fn flush(&mut self) -> io::Result<()> {
        match *self {}
    }
}

impl io::Read for &Conn {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match **self {}
    }
}

impl io::Write for &Conn {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        match **self {}
    }
    fn flush(&mut self) -> io::Result<()> {
        match **self {}
    }
}

impl Conn {
    pub fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        match *self {}
    }
    pub fn set_write_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        match *self {}
    }
    pub fn set_nonblocking(&self, _: bool) -> io::Result<()> {
        match *self {}
    }
    pub fn try_clone(&self) -> io::Result<Conn> {
        match *self {}
    }
    pub fn shutdown(&self, _: std::net::Shutdown) -> io::Result<()> {
        match *self {}
    }
}

pub enum Listener {}

impl Listener {
    pub fn accept(&self) -> io::Result<Conn> {
        match *self {}
    }
    pub fn describe(&self) -> String {
        match *self {}
    }
    pub fn made(&self) -> Option<&Path> {
        match *self {}
    }
}

pub fn own_account() -> (u32, Option<String>) {
    (0, None)
}

#[cfg(unix)]
pub fn user_name(_: u32) -> Option<String> {
    None
}

pub fn closed_to_others(_: &Path) -> Option<std::path::PathBuf> {
    None
}

pub fn listen(_: &Path) -> Result<Listener, BrokerError> {
    Err(BrokerError::Unsupported)
}

pub fn connect(_: &Path, _: u32, _: Duration) -> Result<Conn, BrokerError> {
    Err(BrokerError::Unsupported)
}

pub fn owner_uid(_: Option<&str>) -> Result<u32, BrokerError> {
    Err(BrokerError::Unsupported)
}

pub fn caller(conn: &Conn) -> io::Result<Caller> {
    match *conn {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn nothing_listens_or_connects() {
        let p = std::path::Path::new("/nonexistent/broker.sock");
        assert!(super::listen(p).is_err());
        assert!(super::connect(p, 0, std::time::Duration::from_secs(1)).is_err());
    }
}
