//! Keyring errors in words a user can act on, never quoting stored bytes.

/// Describes a keyring error without ever formatting stored bytes (some
/// variants carry the secret they failed to decode).
pub fn describe(e: &keyring::Error) -> String {
    match e {
        keyring::Error::BadEncoding(_) | keyring::Error::BadDataFormat(..) => {
            "the stored item is not in the expected format".into()
        }
        keyring::Error::NoStorageAccess(inner) => {
            format!("the keyring is locked or not reachable ({inner})")
        }
        keyring::Error::NoDefaultStore => match keyring::Entry::store_status() {
            Err(e) if !matches!(e, keyring::Error::NoDefaultStore) => {
                format!("no keyring service ({})", describe(e))
            }
            _ => "no keyring service is available".into(),
        },
        keyring::Error::PlatformFailure(inner) => plain(&inner.to_string()),
        other => other.to_string(),
    }
}

/// Why no Secret Service can answer, when no session bus is there.
pub const NO_BUS: &str = "no D-Bus session bus (no desktop session: DBUS_SESSION_BUS_ADDRESS is unset or its socket is gone)";

/// A platform failure in words a user can act on. The library's own chain
/// (zbus: addresses, D-Bus error names) goes to -vv only.
fn plain(raw: &str) -> String {
    tracing::debug!("keyring platform failure: {raw}");
    if raw.contains("Failed to connect to address")
        || raw.contains("DBUS_SESSION_BUS_ADDRESS")
        || raw.contains("autolaunch")
    {
        NO_BUS.into()
    } else if raw.contains("org.freedesktop.secrets") || raw.contains("ServiceUnknown") {
        "no Secret Service on the session bus (gnome-keyring, KWallet or KeePassXC is not running)"
            .into()
    } else {
        // The first clause, without the libraries' prefixes.
        let first = raw
            .split(": ")
            .find(|c| !c.ends_with(" error"))
            .unwrap_or(raw);
        format!("the keyring service failed: {first}")
    }
}
