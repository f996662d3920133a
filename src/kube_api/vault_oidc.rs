//! A person's OIDC login to Vault (`--vault-login oidc`), as `vault login
//! -method=oidc` makes it: Vault gives the IdP's URL for a redirect to
//! `http://localhost:8250/oidc/callback` (what Vault roles allow for the
//! CLI), the browser signs the person in, the IdP sends the browser back to
//! that loopback listener, and its code and state go to Vault, which
//! answers with the Vault token. Only the listener's own path is served;
//! it listens on the loopback address only, for one login, for at most
//! [`WAIT`].

use std::time::Duration;

use http::Method;
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::vault::{Answer, VaultClient, v1};
use super::vault_error::VaultError;
use crate::options::VaultLogin;

/// The listener's port and the redirect Vault roles allow for the CLI
/// (`allowed_redirect_uris`).
pub const PORT: u16 = 8250;
pub const REDIRECT_URI: &str = "http://localhost:8250/oidc/callback";
/// How long the browser has to come back.
const WAIT: Duration = Duration::from_secs(180);
/// The most of a request the listener reads.
const MAX_REQUEST: usize = 16 * 1024;

#[derive(Deserialize)]
struct AuthUrl {
    #[serde(default)]
    auth_url: String,
}

/// Logs in through the browser (`open` shows it the URL, which is
/// printed too); `finish` reads Vault's answer to the callback.
pub async fn log_in<T>(
    client: &VaultClient,
    login: &VaultLogin,
    role: Option<&str>,
    open: &dyn Fn(&str),
    finish: impl FnOnce(&[u8]) -> Result<T, VaultError>,
) -> Result<T, VaultError> {
    let failed = |detail: String| VaultError::LoginInput {
        address: client.address.clone(),
        detail,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", PORT))
        .await
        .map_err(|e| {
            failed(format!(
                "cannot listen on localhost:{PORT} for the OIDC login's callback ({e}): is another login (`bao login -method=oidc`) waiting there?"
            ))
        })?;
    let nonce = nonce();
    let action = format!("start the oidc login (auth/{}/oidc/auth_url)", login.mount);
    let mut body = json!({ "redirect_uri": REDIRECT_URI, "client_nonce": nonce });
    if let Some(role) = role {
        body["role"] = role.into();
    }
    let path = v1(&format!("auth/{}", login.mount), &["oidc", "auth_url"]);
    let (code, answer) = client.call(Method::POST, &path, None, Some(body)).await?;
    if !code.is_success() {
        return Err(refused(client, login, &answer));
    }
    let url = client
        .decode::<Answer<AuthUrl>>(&action, &answer)?
        .data
        .map(|d| d.auth_url)
        .unwrap_or_default();
    if url.is_empty() {
        return Err(failed(format!(
            "the oidc role at auth/{}/ gave no URL: it must allow the redirect {REDIRECT_URI} (its allowed_redirect_uris)",
            login.mount
        )));
    }
    eprintln!("Complete the Vault login in your browser:\n  {url}");
    open(&url);
    let (state, code, reply) = tokio::time::timeout(WAIT, callback(&listener))
        .await
        .map_err(|_| {
            failed(format!(
                "the browser did not come back to localhost:{PORT} within {}s; run the command again",
                WAIT.as_secs()
            ))
        })?
        .map_err(|e| failed(format!("the OIDC callback failed: {e}")))?;
    let path = format!(
        "{}?{}",
        v1(&format!("auth/{}", login.mount), &["oidc", "callback"]),
        query(&[("state", &state), ("code", &code), ("client_nonce", &nonce)])
    );
    let (status, answer) = client.call(Method::GET, &path, None, None).await?;
    let outcome = if status.is_success() {
        finish(&answer)
    } else {
        Err(refused(client, login, &answer))
    };
    let page = match &outcome {
        Ok(_) => "Signed in to Vault for kube-sa-token. You can close this window.",
        Err(_) => "Vault refused the login: kube-sa-token says why in the terminal.",
    };
    reply.send(page).await;
    outcome
}

fn refused(client: &VaultClient, login: &VaultLogin, answer: &[u8]) -> VaultError {
    VaultError::LoginRefused {
        address: client.address.clone(),
        method: "oidc",
        mount: login.mount.clone(),
        message: super::vault_error::message(answer),
    }
}

/// 16 random bytes in hex: the client nonce Vault binds the login to.
fn nonce() -> String {
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    crate::hex::hex(&bytes)
}

fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The browser's connection, to answer once Vault has.
struct Reply(tokio::net::TcpStream);

impl Reply {
    async fn send(mut self, text: &str) {
        let page = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
        let _ = self.0.write_all(page.as_bytes()).await;
        let _ = self.0.shutdown().await;
    }
}

/// Waits for the browser's request of `/oidc/callback`: its state and
/// code. Other requests (a favicon) get a 404; an IdP's error ends the
/// login.
async fn callback(listener: &tokio::net::TcpListener) -> Result<(String, String, Reply), String> {
    loop {
        let (mut stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let Some(target) = request_target(&mut stream).await else {
            continue;
        };
        match parse_callback(&target) {
            Callback::Other => {
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
            }
            Callback::Error(e) => {
                Reply(stream)
                    .send("The identity provider refused the login: kube-sa-token says why in the terminal.")
                    .await;
                return Err(format!("the identity provider answered {e}"));
            }
            Callback::Code { state, code } => return Ok((state, code, Reply(stream))),
        }
    }
}

/// The request line's target (`/oidc/callback?...`), read within bounds;
/// `None` for anything that is not a GET request.
async fn request_target(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_REQUEST {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = buf.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => Some(target.to_string()),
        _ => None,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Callback {
    Code { state: String, code: String },
    Error(String),
    Other,
}

/// What the browser brought back on `target`.
fn parse_callback(target: &str) -> Callback {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/oidc/callback" {
        return Callback::Other;
    }
    let mut state = None;
    let mut code = None;
    let mut error = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_encoding::percent_decode_str(&v.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        match k {
            "state" => state = Some(v),
            "code" => code = Some(v),
            "error" => error = Some(v),
            "error_description" => {
                error = Some(format!("{} ({v})", error.unwrap_or_default()));
            }
            _ => {}
        }
    }
    match (error, state, code) {
        (Some(e), ..) => Callback::Error(e.chars().filter(|c| !c.is_control()).take(200).collect()),
        (None, Some(state), Some(code)) if !state.is_empty() && !code.is_empty() => {
            Callback::Code { state, code }
        }
        _ => Callback::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callback_brings_a_state_and_a_code_or_an_error() {
        assert_eq!(
            parse_callback("/oidc/callback?code=c%2Fd&state=st_1"),
            Callback::Code {
                state: "st_1".into(),
                code: "c/d".into()
            }
        );
        assert_eq!(parse_callback("/favicon.ico"), Callback::Other);
        assert_eq!(parse_callback("/oidc/callback?state=s"), Callback::Other);
        assert_eq!(
            parse_callback("/oidc/callback?error=access_denied&error_description=no+way%0A"),
            Callback::Error("access_denied (no way)".into())
        );
        assert_eq!(
            query(&[("state", "a b"), ("code", "x/y")]),
            "state=a%20b&code=x%2Fy"
        );
    }
}
