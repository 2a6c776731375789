//! A fault-injection proxy between keascript and a real Kea HTTP endpoint (the Control
//! Agent, or a Kea ≥ 2.7 daemon's own socket): every request passes through unchanged,
//! except the ones a test picks by command name and occurrence, which meet a fault — the
//! answer lost after Kea carried the command out, the request dropped before Kea saw it, a
//! hang, garbage, HTTP 500, a truncated answer, a reset, a delay.
//!
//! Plain threads and blocking sockets: one thread accepts, one serves each connection
//! (keep-alive: several requests per connection). It stops when dropped.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Kea gets it and answers; the answer never reaches the client (connection closed).
    LoseAnswer,
    /// Kea never sees it; the connection is closed.
    DropRequest,
    /// Kea gets it; the client waits for an answer that never comes.
    Hang,
    /// Kea gets it; the client reads `200 OK` with a body that is not JSON.
    Garbage,
    /// Kea gets it; the client reads HTTP 500.
    Http500,
    /// Kea gets it; the client reads half of the answer, then the connection closes.
    Truncate,
    /// Kea gets it; the connection is reset (RST) instead of answered.
    Reset,
    /// Kea gets it after this many milliseconds; the answer then passes.
    Delay(u64),
    /// Kea gets it; the client reads `200 OK` with this body instead of Kea's answer (an
    /// answer no real Kea sends, e.g. `[]`).
    Answer(&'static str),
}

/// An action run before a request reaches Kea: `(command, occurrence, action)`.
type Before = (String, usize, Box<dyn FnOnce() + Send>);

#[derive(Default)]
struct Rules {
    /// `(command, occurrence (1-based; 0 = every one), fault)`.
    faults: Vec<(String, usize, Fault)>,
    seen: HashMap<String, usize>,
    /// Every command that passed, in order, with the fault it met.
    log: Vec<(String, Option<Fault>)>,
    /// The body of every request, in order.
    bodies: Vec<serde_json::Value>,
    /// Actions run before the `nth` `command` is passed to Kea (another writer, say).
    before: Vec<Before>,
    /// `(command, occurrence)` whose answer is lost, after which the endpoint is down.
    down_from: Option<(String, usize)>,
    /// Every request is dropped (the endpoint went down).
    down: bool,
}

/// A running proxy; its address replaces the endpoint's in an inventory.
pub struct FaultProxy {
    pub addr: SocketAddr,
    rules: Arc<Mutex<Rules>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Proxies 127.0.0.1:<free port> → `upstream`.
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let rules = Arc::new(Mutex::new(Rules::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (rules.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, s) = (r.clone(), s.clone());
                std::thread::spawn(move || serve(conn, upstream, &r, &s));
            }
        });
        Self { addr, rules, stop }
    }

    /// The proxy's URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `nth` `command` (1-based; 0 = every one from now on) meets `fault`.
    pub fn fail(&self, command: &str, nth: usize, fault: Fault) {
        let mut r = self.rules.lock().unwrap();
        let seen = r.seen.get(command).copied().unwrap_or(0);
        let at = if nth == 0 { 0 } else { seen + nth };
        r.faults.push((command.to_string(), at, fault));
    }

    /// Runs `action` right before the `nth` `command` (1-based, counted from now) reaches
    /// Kea: what another writer does between keascript's read and its send.
    pub fn before(&self, command: &str, nth: usize, action: impl FnOnce() + Send + 'static) {
        let mut r = self.rules.lock().unwrap();
        let at = r.seen.get(command).copied().unwrap_or(0) + nth;
        r.before.push((command.to_string(), at, Box::new(action)));
    }

    /// Every `command` from the `nth` one on (1-based, counted from now) meets `fault`.
    pub fn fail_from(&self, command: &str, nth: usize, fault: Fault) {
        for k in nth..nth + 200 {
            self.fail(command, k, fault);
        }
    }

    /// The `nth` `command` (1-based, counted from now) reaches Kea, its answer is lost,
    /// and from then on every request is dropped (the endpoint went down right after Kea
    /// carried it out), whichever command it is, until [`FaultProxy::heal`].
    pub fn lose_answer_then_down(&self, command: &str, nth: usize) {
        let mut r = self.rules.lock().unwrap();
        let at = r.seen.get(command).copied().unwrap_or(0) + nth;
        r.down_from = Some((command.to_string(), at));
    }

    /// Every request passes again.
    pub fn heal(&self) {
        let mut r = self.rules.lock().unwrap();
        r.faults.clear();
        r.down_from = None;
        r.down = false;
    }

    /// The commands seen so far, with the fault each met.
    pub fn log(&self) -> Vec<(String, Option<Fault>)> {
        self.rules.lock().unwrap().log.clone()
    }

    /// The commands seen so far, in order.
    pub fn commands(&self) -> Vec<String> {
        self.log().into_iter().map(|(c, _)| c).collect()
    }

    /// The commands seen so far that change a configuration or its file, in order.
    pub fn mutating(&self) -> Vec<String> {
        self.commands()
            .into_iter()
            .filter(|c| super::is_mutating(c))
            .collect()
    }

    /// The `arguments` of every request of `command` so far, in order.
    pub fn sent(&self, command: &str) -> Vec<serde_json::Value> {
        self.requests(command)
            .into_iter()
            .map(|b| b["arguments"].clone())
            .collect()
    }

    /// Every request of `command` so far (the whole body: `command`, `service`,
    /// `arguments`), in order.
    pub fn requests(&self, command: &str) -> Vec<serde_json::Value> {
        self.rules
            .lock()
            .unwrap()
            .bodies
            .iter()
            .filter(|b| b["command"] == command)
            .cloned()
            .collect()
    }

    /// Forgets the commands seen so far (faults still count from the start).
    pub fn clear(&self) {
        let mut r = self.rules.lock().unwrap();
        r.log.clear();
        r.bodies.clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Reads one HTTP message (headers and a Content-Length body); `None` at the end.
fn read_message(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    buf.extend_from_slice(&body);
    Some(buf)
}

fn body_of(request: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(request);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_default()
}

/// The name that stands for whichever command changes the running configuration:
/// `config-set`, or on Kea with the subnet/class hooks the hook command of a single change.
pub const MUTATE: &str = "MUTATE";

fn is_mutating(command: &str) -> bool {
    command == "config-set"
        || ["subnet4-", "subnet6-", "network4-", "network6-", "class-"]
            .iter()
            .any(|p| command.starts_with(p))
            && !command.ends_with("-get")
            && !command.ends_with("-list")
}

fn pick(rules: &Mutex<Rules>, body: serde_json::Value) -> Option<Fault> {
    let command = body["command"].as_str().unwrap_or_default().to_string();
    let command = command.as_str();
    let mut r = rules.lock().unwrap();
    r.bodies.push(body);
    let mut bump = |k: &str| {
        let e = r.seen.entry(k.to_string()).or_insert(0);
        *e += 1;
        *e
    };
    let n = bump(command);
    let m = if is_mutating(command) {
        bump(MUTATE)
    } else {
        0
    };
    let mut fault = r
        .faults
        .iter()
        .find(|(c, at, _)| {
            (c == command && (*at == 0 || *at == n))
                || (c == MUTATE && m > 0 && (*at == 0 || *at == m))
        })
        .map(|(_, _, f)| *f);
    if r.down {
        fault = Some(Fault::DropRequest);
    } else if let Some((c, at)) = &r.down_from
        && ((c == command && *at == n) || (c == MUTATE && m > 0 && *at == m))
    {
        r.down = true;
        fault = Some(Fault::LoseAnswer);
    }
    r.log.push((command.to_string(), fault));
    fault
}

fn exchange(request: &[u8], upstream: SocketAddr) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).ok()?;
    up.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
    up.write_all(request).ok()?;
    read_message(&mut up)
}

fn serve(mut client: TcpStream, upstream: SocketAddr, rules: &Mutex<Rules>, stop: &AtomicBool) {
    while let Some(request) = read_message(&mut client) {
        let body = body_of(&request);
        let command = body["command"].as_str().unwrap_or_default().to_string();
        let fault = pick(rules, body);
        let action = {
            let mut r = rules.lock().unwrap();
            let n = r.seen.get(&command).copied().unwrap_or(0);
            r.before
                .iter()
                .position(|(c, at, _)| *c == command && *at == n)
                .map(|i| r.before.remove(i).2)
        };
        if let Some(action) = action {
            action();
        }
        if fault == Some(Fault::DropRequest) {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        if let Some(Fault::Delay(ms)) = fault {
            std::thread::sleep(Duration::from_millis(ms));
        }
        let Some(answer) = exchange(&request, upstream) else {
            let _ = client.shutdown(Shutdown::Both);
            return;
        };
        match fault {
            None | Some(Fault::Delay(_)) => {
                if client.write_all(&answer).is_err() {
                    return;
                }
            }
            Some(Fault::LoseAnswer) | Some(Fault::DropRequest) => {
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Hang) => {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return;
            }
            Some(Fault::Answer(body)) => {
                let _ = client.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            }
            Some(Fault::Garbage) => {
                let body = b"this is not JSON \x1b[2J";
                let _ = client.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                );
                let _ = client.write_all(body);
            }
            Some(Fault::Http500) => {
                let body = b"internal error";
                let _ = client.write_all(
                    format!(
                        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                );
                let _ = client.write_all(body);
            }
            Some(Fault::Truncate) => {
                let _ = client.write_all(&answer[..answer.len() / 2]);
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Reset) => {
                linger_zero(&client);
                return;
            }
        }
    }
}

/// SO_LINGER 0: closing the socket then resets the connection instead of closing it.
fn linger_zero(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: sets an option on a valid socket with a correctly sized value.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
