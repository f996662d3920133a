//! Opening a URL in the person's browser (a Vault OIDC login): the
//! commands `$BROWSER` lists (separated by ':', as xdg-utils reads it; `%s`
//! stands for the URL, else it goes last), else the platform's opener
//! (`xdg-open`, `open`, `rundll32 url.dll,FileProtocolHandler`). Only
//! http(s) URLs; no shell. The browser runs on its own: one that stays
//! open never holds the login up.

use std::process::{Command, Stdio};

/// Starts a browser on `url`; `false` when none could be started.
pub fn open(url: &str) -> bool {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return false;
    }
    let listed = std::env::var("BROWSER").ok();
    commands(listed.as_deref(), url)
        .into_iter()
        .any(|argv| start(&argv))
}

/// The command lines to try, in order.
fn commands(browser: Option<&str>, url: &str) -> Vec<Vec<String>> {
    let separator = if cfg!(windows) { ';' } else { ':' };
    let listed: Vec<Vec<String>> = browser
        .unwrap_or("")
        .split(separator)
        .map(|c| c.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|c| !c.is_empty())
        .map(|mut c| {
            if c.iter().any(|a| a.contains("%s")) {
                c.iter_mut().for_each(|a| *a = a.replace("%s", url));
            } else {
                c.push(url.to_string());
            }
            c
        })
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    let opener: &[&str] = if cfg!(windows) {
        &["rundll32", "url.dll,FileProtocolHandler"]
    } else if cfg!(target_os = "macos") {
        &["open"]
    } else {
        &["xdg-open"]
    };
    vec![
        opener
            .iter()
            .map(|s| s.to_string())
            .chain([url.to_string()])
            .collect(),
    ]
}

/// Starts `argv` detached from our terminal's streams, reaped by a thread
/// of its own.
fn start(argv: &[String]) -> bool {
    let Some((program, args)) = argv.split_first() else {
        return false;
    };
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
            true
        }
        Err(e) => {
            tracing::debug!("cannot start {program}: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_lists_each_command_with_the_url_where_it_goes() {
        let url = "https://idp.example/authorize?state=a b";
        let separator = if cfg!(windows) { ";" } else { ":" };
        let listed = format!("firefox --new-window{separator}chromium --app=%s --x");
        assert_eq!(
            commands(Some(&listed), url),
            vec![
                vec!["firefox".to_string(), "--new-window".into(), url.into()],
                vec!["chromium".to_string(), format!("--app={url}"), "--x".into()],
            ]
        );
        let fallback = commands(Some(""), url);
        assert_eq!(fallback.len(), 1);
        assert_eq!(fallback[0].last().map(String::as_str), Some(url));
        assert!(!open("file:///etc/passwd"), "http(s) only");
    }
}
