//! Proxies the tests start on loopback, like the ones on corporate networks
//! and at the end of `ssh -D`: an HTTP CONNECT proxy and a SOCKS5 proxy
//! (no authentication, remote name resolution). Both count the tunnels they
//! opened and record their targets, and resolve the names in `aliases` to
//! 127.0.0.1 themselves: a cluster behind a name only the proxy knows is
//! reachable through the proxy and nowhere else.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    HttpConnect,
    Socks5,
}

pub struct Proxy {
    pub kind: Kind,
    pub port: u16,
    targets: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Starts a proxy; names in `aliases` resolve to 127.0.0.1.
    pub fn start(kind: Kind, aliases: &[&str]) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let aliases: Arc<Vec<String>> = Arc::new(aliases.iter().map(|a| a.to_string()).collect());
        let t = targets.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (t, aliases) = (t.clone(), aliases.clone());
                std::thread::spawn(move || {
                    let _ = match kind {
                        Kind::HttpConnect => http_connect(stream, &t, &aliases),
                        Kind::Socks5 => socks5(stream, &t, &aliases),
                    };
                });
            }
        });
        Proxy {
            kind,
            port,
            targets,
        }
    }

    /// The URL to configure: `http://127.0.0.1:P` or `socks5://127.0.0.1:P`.
    pub fn url(&self) -> String {
        let scheme = match self.kind {
            Kind::HttpConnect => "http",
            Kind::Socks5 => "socks5",
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The `host:port` of every tunnel opened so far.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

fn dial(
    host: &str,
    port: u16,
    targets: &Mutex<Vec<String>>,
    aliases: &[String],
) -> std::io::Result<TcpStream> {
    targets.lock().unwrap().push(format!("{host}:{port}"));
    let host = if aliases.iter().any(|a| a == host) {
        "127.0.0.1"
    } else {
        host
    };
    TcpStream::connect((host, port))
}

/// Copies both ways until both sides are done.
fn splice(client: TcpStream, upstream: TcpStream) -> std::io::Result<()> {
    let (mut c_read, mut u_write) = (client.try_clone()?, upstream.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut u_write);
        let _ = u_write.shutdown(Shutdown::Write);
    });
    let (mut u_read, mut c_write) = (upstream, client);
    let _ = std::io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}

fn http_connect(
    stream: TcpStream,
    targets: &Mutex<Vec<String>>,
    aliases: &[String],
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut writer = stream;
    let target = match line.split_whitespace().collect::<Vec<_>>()[..] {
        ["CONNECT", target, _] => target.to_string(),
        _ => {
            writer.write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")?;
            return Ok(());
        }
    };
    let (host, port) = target.rsplit_once(':').unwrap_or((&target, "443"));
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match dial(host, port.parse().unwrap_or(443), targets, aliases) {
        Ok(upstream) => {
            writer.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            splice(writer, upstream)
        }
        Err(_) => writer.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n"),
    }
}

fn socks5(
    mut stream: TcpStream,
    targets: &Mutex<Vec<String>>,
    aliases: &[String],
) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head)?;
    let mut methods = vec![0u8; head[1] as usize];
    stream.read_exact(&mut methods)?;
    if head[0] != 5 || !methods.contains(&0) {
        stream.write_all(&[5, 0xff])?;
        return Ok(());
    }
    stream.write_all(&[5, 0])?;
    let mut req = [0u8; 4];
    stream.read_exact(&mut req)?;
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            stream.read_exact(&mut a)?;
            std::net::Ipv4Addr::from(a).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            stream.read_exact(&mut len)?;
            let mut name = vec![0u8; len[0] as usize];
            stream.read_exact(&mut name)?;
            String::from_utf8_lossy(&name).into_owned()
        }
        4 => {
            let mut a = [0u8; 16];
            stream.read_exact(&mut a)?;
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => return Ok(()),
    };
    let mut port = [0u8; 2];
    stream.read_exact(&mut port)?;
    let port = u16::from_be_bytes(port);
    if req[1] != 1 {
        stream.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0])?;
        return Ok(());
    }
    match dial(&host, port, targets, aliases) {
        Ok(upstream) => {
            stream.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])?;
            splice(stream, upstream)
        }
        Err(_) => stream.write_all(&[5, 4, 0, 1, 0, 0, 0, 0, 0, 0]),
    }
}

/// A TCP port forwarder on 127.0.0.1 whose target can be changed: an SSH
/// tunnel or `kubectl port-forward` re-pointed at another cluster.
pub struct Forwarder {
    pub port: u16,
    target: Arc<Mutex<u16>>,
}

impl Forwarder {
    pub fn start(target_port: u16) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Arc::new(Mutex::new(target_port));
        let t = target.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let to = *t.lock().unwrap();
                std::thread::spawn(move || {
                    if let Ok(upstream) = TcpStream::connect(("127.0.0.1", to)) {
                        let _ = splice(client, upstream);
                    }
                });
            }
        });
        Forwarder { port, target }
    }

    /// New connections go to `port` from now on.
    pub fn point_at(&self, port: u16) {
        *self.target.lock().unwrap() = port;
    }
}

/// An impostor API server (support/impostor.py): TLS with a self-signed
/// certificate for 127.0.0.1, 401 to every request, and a log of every
/// Authorization header it received. Stopped when dropped.
pub struct Impostor {
    pub port: u16,
    log: std::path::PathBuf,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Impostor {
    pub fn start() -> Impostor {
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let ok = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-days", "2", "-subj", "/CN=impostor"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "openssl req");
        let log = dir.path().join("requests.log");
        let portfile = dir.path().join("port");
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/integration/support/impostor.py");
        let child = Command::new("python3")
            .arg(script)
            .args([&cert, &key, &log, &portfile])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut port = None;
        assert!(
            super::cluster::eventually(std::time::Duration::from_secs(20), || {
                port = std::fs::read_to_string(&portfile)
                    .ok()
                    .and_then(|p| p.parse().ok());
                port.is_some()
            }),
            "the impostor did not start"
        );
        Impostor {
            port: port.unwrap(),
            log,
            child,
            _dir: dir,
        }
    }

    /// Every request it received: "METHOD PATH AUTHORIZATION" ("-": none).
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Requests that carried a credential.
    pub fn credentials_received(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| !r.ends_with(" -"))
            .collect()
    }
}

impl Drop for Impostor {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
