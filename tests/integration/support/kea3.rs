//! A stand-in for a Kea **3.2** daemon's own HTTP control socket, kept only for what the real
//! Kea 3.0.4 of the suite's Kea 3.0 pass answers differently (see
//! `reference/kea3/debian-kea-3.0.md`): Kea 3.2 refuses a `service` other than its own over
//! a daemon socket (3.0.4 answers normally), and lists commands 3.0.4 lacks. Everything else
//! (the hook path, authentication, result codes, transport faults) is tested on real Kea
//! through `fault_proxy` (`hook_path.rs`, `daemon_http.rs`).
//!
//! It answers like the real Kea 3.2 recorded in `tests/fixtures/kea3-transcript.json` (a copy
//! of `reference/kea3/transcript-kea-3.2.json`), checking a request in Kea's order:
//!
//! 1. a body that is not a JSON object → HTTP 400, bare map `{ "result": 400, "text": "Bad Request" }`;
//! 2. missing or wrong basic-auth credentials → HTTP 401, bare map `{ "result": 401, "text": "Unauthorized" }`;
//! 3. a `service` other than its own → `[ { "result": 1, "text": "unsupported service 'x', expected 'dhcp4'" } ]`;
//! 4. otherwise the first answer recorded for the same `command` and `arguments` (`service`
//!    ignored); a command Kea 3.2 does not have → result 2.
//!
//! Answers are one-element JSON arrays with HTTP 200, written the way Kea writes JSON
//! (`{ "a": 1, "b": [ 2 ] }`, keys sorted). Every request is recorded
//! ([`Kea3Double::requests`]). The double listens on `127.0.0.1:0` inside [`super::rt`] and
//! stops when dropped.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::task::JoinSet;

/// The recorded transcript, as the test binary was built with it.
const TRANSCRIPT: &str = include_str!("../../fixtures/kea3-transcript.json");

/// How to start a [`Kea3Double`].
#[derive(Debug, Clone)]
pub struct Kea3Options {
    /// The daemon it plays: `dhcp4` (replays the `http4` recording) or `dhcp6` (`http6`).
    pub service: &'static str,
    /// Basic-auth user; `None` accepts requests without credentials.
    pub user: Option<String>,
    /// Basic-auth password (empty when `None` and a user is set).
    pub password: Option<String>,
}

impl Default for Kea3Options {
    fn default() -> Self {
        Self {
            service: "dhcp4",
            user: None,
            password: None,
        }
    }
}

impl Kea3Options {
    /// A `dhcp4` daemon without authentication.
    pub fn dhcp4() -> Self {
        Self::default()
    }

    /// A `dhcp6` daemon without authentication.
    pub fn dhcp6() -> Self {
        Self {
            service: "dhcp6",
            ..Self::default()
        }
    }

    /// Requires basic authentication with these credentials.
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.user = Some(user.to_string());
        self.password = Some(password.to_string());
        self
    }
}

/// One request as the double received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// The body as text (lossy UTF-8).
    pub raw: String,
    /// The body parsed as JSON, when it was JSON.
    pub body: Option<Value>,
    /// True when an `Authorization` header was sent (right or wrong).
    pub authorization: bool,
    /// The user of a well-formed `Basic` authorization header.
    pub user: Option<String>,
}

impl Received {
    /// The `command` of the body, if any.
    pub fn command(&self) -> Option<&str> {
        self.body.as_ref()?.get("command")?.as_str()
    }

    /// True when the body is a map with a `service` key.
    pub fn has_service(&self) -> bool {
        self.body
            .as_ref()
            .is_some_and(|b| b.get("service").is_some())
    }
}

/// A running double. Dropping it stops the listener and every open connection.
pub struct Kea3Double {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Kea3Double {
    /// Starts a double on a free loopback port. Callable from inside or outside the runtime.
    pub fn start(options: Kea3Options) -> Self {
        assert!(
            matches!(options.service, "dhcp4" | "dhcp6"),
            "the Kea 3.2 double plays dhcp4 or dhcp6, not {}",
            options.service
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let credentials = options
            .user
            .map(|u| (u, options.password.unwrap_or_default()));
        let shared = Arc::new(Shared {
            service: options.service,
            credentials,
            received: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        let task = super::rt().spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            // Dropping the set (when this task is aborted) aborts every connection.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            connections.spawn(serve(stream, s.clone()));
                        }
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Self { addr, shared, task }
    }

    /// The URL to give keascript, e.g. `http://127.0.0.1:40123/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service it plays.
    pub fn service(&self) -> &'static str {
        self.shared.service
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// The commands received so far, in order (`?` for a body without one).
    pub fn commands(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.command().unwrap_or("?").to_string())
            .collect()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.shared.received.lock().unwrap().clear();
    }

    /// Sends one raw HTTP/1.1 request (`body` as is) and returns the status and the body.
    pub fn post_raw(&self, body: &str, credentials: Option<(&str, &str)>) -> (u16, String) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(self.addr).expect("connect to the double");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let auth = credentials.map_or(String::new(), |(u, p)| {
            format!(
                "Authorization: Basic {}\r\n",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        });
        write!(
            s,
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read the answer");
        let (head, body) = out.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("a status code");
        (status, body.to_string())
    }
}

impl Drop for Kea3Double {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One entry of the transcript.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub case: String,
    pub via: String,
    pub request: Value,
    pub http_status: Option<u16>,
    pub response: Value,
}

/// The whole transcript, in recording order.
pub fn transcript() -> &'static [Recorded] {
    static T: OnceLock<Vec<Recorded>> = OnceLock::new();
    T.get_or_init(|| {
        let v: Value = serde_json::from_str(TRANSCRIPT).expect("the transcript is JSON");
        v.as_array()
            .expect("the transcript is an array")
            .iter()
            .map(|e| Recorded {
                case: e["case"].as_str().expect("case").to_string(),
                via: e["via"].as_str().expect("via").to_string(),
                request: e["request"].clone(),
                http_status: e["http_status"].as_u64().map(|s| s as u16),
                response: e["response"].clone(),
            })
            .collect()
    })
}

/// The recorded entry of a case, by its name (panics when there is none).
pub fn recorded(case: &str) -> &'static Recorded {
    transcript()
        .iter()
        .find(|e| e.case == case)
        .unwrap_or_else(|| panic!("no case {case:?} in the Kea 3.2 transcript"))
}

/// The `arguments` of a recorded request (panics when it has none).
pub fn recorded_arguments(case: &str) -> Value {
    recorded(case)
        .request
        .get("arguments")
        .cloned()
        .unwrap_or_else(|| panic!("case {case:?} has no arguments"))
}

/// The hash Kea 3.2 reported for its startup configuration.
pub fn recorded_hash() -> &'static str {
    recorded("config-get keys").response["hash"]
        .as_str()
        .expect("a recorded hash")
}

/// The `text` of the first element of a recorded answer.
pub fn recorded_text(case: &str) -> &'static str {
    let r = &recorded(case).response;
    r.get(0).unwrap_or(r)["text"].as_str().expect("a text")
}

/// The commands the recorded dhcp4 daemon listed.
pub fn recorded_commands() -> &'static BTreeSet<String> {
    static C: OnceLock<BTreeSet<String>> = OnceLock::new();
    C.get_or_init(|| {
        recorded("list-commands").response[0]["arguments"]
            .as_array()
            .expect("a command list")
            .iter()
            .map(|c| c.as_str().expect("a command name").to_string())
            .collect()
    })
}

/// Kea's `Element::str()` rendering: `{ "a": 1, "b": [ 2, 3 ] }`, map keys sorted.
pub fn kea_json(v: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Array(items) => {
                out.push_str("[ ");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(item, out);
                }
                out.push_str(" ]");
            }
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push_str("{ ");
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push_str(": ");
                    write(&m[k], out);
                }
                out.push_str(" }");
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

struct Shared {
    service: &'static str,
    credentials: Option<(String, String)>,
    received: Mutex<Vec<Received>>,
}

/// What the double sends back: an HTTP status and a JSON body.
struct Reply {
    status: StatusCode,
    body: Value,
}

impl Reply {
    /// A normal answer: HTTP 200 and a one-element array.
    fn answer(element: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Value::Array(vec![element]),
        }
    }
}

impl Shared {
    /// `http4` or `http6`: the part of the transcript this double replays.
    fn via(&self) -> &'static str {
        if self.service == "dhcp6" {
            "http6"
        } else {
            "http4"
        }
    }

    fn authorized(&self, header: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = &self.credentials else {
            return true;
        };
        let expected =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        header
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Basic "))
            .is_some_and(|given| given.trim() == expected)
    }

    /// Kea's HTTP handling of one request body.
    fn reply(&self, body: Option<&Value>, authorization: Option<&HeaderValue>) -> Reply {
        // The HTTP layer parses the body before the command layer checks credentials.
        let Some(Value::Object(request)) = body else {
            let r = recorded("garbage body");
            return Reply {
                status: StatusCode::from_u16(r.http_status.expect("a status")).expect("status"),
                body: r.response.clone(),
            };
        };
        if !self.authorized(authorization) {
            let r = recorded("no credentials");
            return Reply {
                status: StatusCode::from_u16(r.http_status.expect("a status")).expect("status"),
                body: r.response.clone(),
            };
        }
        if let Some(refusal) = self.check_service(request.get("service")) {
            return Reply::answer(refusal);
        }
        let Some(command) = request.get("command").and_then(Value::as_str) else {
            // Not recorded; Kea's command parser refuses a map without `command`.
            return Reply::answer(json!({
                "result": 1,
                "text": "Invalid answer specified, does not contain mandatory 'command'"
            }));
        };
        Reply::answer(self.command_answer(command, request.get("arguments")))
    }

    /// Kea 3.2 accepts no `service`, an empty list, or a list naming its own service only.
    fn check_service(&self, service: Option<&Value>) -> Option<Value> {
        let refuse = |given: &str| {
            json!({
                "result": 1,
                "text": format!("unsupported service '{given}', expected '{}'", self.service)
            })
        };
        match service {
            None => None,
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .find(|s| s != self.service || items.len() > 1)
                .map(|s| refuse(&s)),
            Some(other) => Some(refuse(&other.to_string())),
        }
    }

    /// The answer object (one array element) for a command.
    fn command_answer(&self, command: &str, arguments: Option<&Value>) -> Value {
        if command == "config-get" && self.service == "dhcp4" {
            return config_get_answer();
        }
        if let Some(answer) = self.replay(command, arguments) {
            return answer;
        }
        // version-get does not depend on the daemon: the dhcp6 recording does not repeat it.
        if command == "version-get" && self.service == "dhcp6" {
            return recorded("version-get").response[0].clone();
        }
        if !recorded_commands().contains(command) {
            return json!({"result": 2, "text": format!("'{command}' command not supported.")});
        }
        json!({
            "result": 1,
            "text": format!(
                "the Kea 3.2 test double has no recorded answer for {command} with arguments {}",
                arguments.map_or("none".to_string(), Value::to_string)
            )
        })
    }

    /// The first recorded answer to the same command and arguments (`service` ignored).
    fn replay(&self, command: &str, arguments: Option<&Value>) -> Option<Value> {
        transcript()
            .iter()
            .filter(|e| e.via == self.via() && e.http_status == Some(200))
            .filter(|e| e.request.get("command").and_then(Value::as_str) == Some(command))
            .filter(|e| e.request.get("arguments") == arguments)
            .find_map(|e| e.response.as_array()?.first().cloned())
    }
}

/// A real `config-get` answer: the configuration the recorded daemon accepted with
/// `config-set` (its startup configuration), and the hash it reported for it.
fn config_get_answer() -> Value {
    let dhcp4 = recorded_arguments("config-set without hash")["Dhcp4"].clone();
    json!({
        "arguments": {"Dhcp4": dhcp4, "hash": recorded_hash()},
        "result": 0
    })
}

fn response(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

async fn serve(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let service = service_fn(move |req| handle(req, shared.clone()));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let authorization = req.headers().get(AUTHORIZATION).cloned();
    let bytes = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let body: Option<Value> = serde_json::from_slice(&bytes).ok();
    let user = authorization
        .as_ref()
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(u, _)| u.to_string()));
    shared.received.lock().unwrap().push(Received {
        method,
        path,
        raw: String::from_utf8_lossy(&bytes).into_owned(),
        body: body.clone(),
        authorization: authorization.is_some(),
        user,
    });
    let reply = shared.reply(body.as_ref(), authorization.as_ref());
    let mut r = response(reply.status, "application/json", kea_json(&reply.body));
    if reply.status == StatusCode::UNAUTHORIZED {
        // The realm of the recorded daemon's configuration.
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"kea\""),
        );
    }
    Ok(r)
}
