//! A stand-in for a Kea 3.2 daemon's own HTTP control socket (`kea-dhcp4`/`kea-dhcp6` with
//! basic authentication), for what Debian's Kea 2.2 cannot run here.
//!
//! It answers like the real Kea 3.2 recorded in `tests/fixtures/kea3-transcript.json` (a copy
//! of `reference/kea3/transcript-kea-3.2.json`), checking a request in Kea's order:
//!
//! 1. a body that is not a JSON object → HTTP 400, bare map `{ "result": 400, "text": "Bad Request" }`;
//! 2. missing or wrong basic-auth credentials → HTTP 401, bare map `{ "result": 401, "text": "Unauthorized" }`;
//! 3. a `service` other than its own → `[ { "result": 1, "text": "unsupported service 'x', expected 'dhcp4'" } ]`;
//! 4. otherwise the answer recorded for the same `command` and `arguments` (`service` ignored),
//!    the first one when several were recorded; `config-get` is synthesised (the recording
//!    only kept a summary of it); a command Kea 3.2 does not have → result 2.
//!
//! Answers are one-element JSON arrays with HTTP 200, written the way Kea writes JSON
//! (`{ "a": 1, "b": [ 2 ] }`, keys sorted). Faults ([`Fault`]) replace or disturb the answer
//! for transport tests. Every request is recorded ([`Kea3Double::requests`]).
//!
//! The double listens on `127.0.0.1:0` inside [`super::rt`] and stops when dropped.
//!
//! **Stateful mode** ([`Kea3Options::stateful`], dhcp4 only): the daemon keeps a running
//! configuration, seeded from the recorded `config-set without hash` request, and answers
//! the configuration commands (`config-get`, `config-hash-get`, `config-set`, `config-test`,
//! `config-write`), the `subnet_cmds` commands (`subnet4-*`, `network4-*`) and the
//! `class_cmds` commands (`class-*`) from it, with Kea 3.2's texts, result codes and shapes
//! (see [`state`]). Every other command is still replayed. What the recording does not show
//! follows Kea's own source (`subnet_cmds.cc`, `class_cmds.cc`) and `reference/kea-api.md`.

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
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// The recorded transcript, as the test binary was built with it.
const TRANSCRIPT: &str = include_str!("../../fixtures/kea3-transcript.json");

/// Something that goes wrong on the way, for transport tests. A fault applies to every
/// request until it is changed with [`Kea3Double::set_fault`].
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer like Kea.
    None,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// HTTP 200 with the normal answer, padded with JSON whitespace to at least this many
    /// bytes (still valid JSON).
    Oversized(usize),
    /// HTTP 500 with a plain-text body.
    Status500,
    /// Sleep this long, then answer normally.
    Delay(Duration),
    /// Read the request, then close the connection without answering.
    Drop,
    /// HTTP 200 with `[]`.
    EmptyArray,
}

/// How to start a [`Kea3Double`].
#[derive(Debug, Clone)]
pub struct Kea3Options {
    /// The daemon it plays: `dhcp4` (replays the `http4` recording) or `dhcp6` (`http6`).
    pub service: &'static str,
    /// Basic-auth user; `None` accepts requests without credentials.
    pub user: Option<String>,
    /// Basic-auth password (empty when `None` and a user is set).
    pub password: Option<String>,
    pub fault: Fault,
    /// Keep a running configuration and answer the config, subnet and class commands from
    /// it (dhcp4 only).
    pub stateful: bool,
    /// The `subnet_cmds` and `class_cmds` hooks are loaded (listed by `list-commands`);
    /// without them their commands are unsupported (result 2).
    pub hooks: bool,
}

impl Default for Kea3Options {
    fn default() -> Self {
        Self {
            service: "dhcp4",
            user: None,
            password: None,
            fault: Fault::None,
            stateful: false,
            hooks: true,
        }
    }
}

impl Kea3Options {
    /// A `dhcp4` daemon without authentication and without faults.
    pub fn dhcp4() -> Self {
        Self::default()
    }

    /// A `dhcp6` daemon without authentication and without faults.
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

    pub fn fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }

    /// Keeps a running configuration (see [`state`]): subnets, pools, options and classes
    /// change with the commands that change them. dhcp4 only.
    pub fn stateful(mut self) -> Self {
        self.stateful = true;
        self
    }

    /// A daemon without the `subnet_cmds` and `class_cmds` hook libraries.
    pub fn without_hooks(mut self) -> Self {
        self.hooks = false;
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
        assert!(
            !options.stateful || options.service == "dhcp4",
            "the stateful Kea 3.2 double plays dhcp4 only"
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
            fault: Mutex::new(options.fault),
            received: Mutex::new(Vec::new()),
            state: options.stateful.then(|| Mutex::new(state::State::seed())),
            hooks: options.hooks,
            behind_our_back: Mutex::new(None),
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

    /// Makes `command` (with `arguments`) change the state just before the next
    /// `config-hash-get` is answered: another admin changing the server while keascript
    /// prepares its change.
    pub fn change_before_next_hash_get(&self, command: &str, arguments: Value) {
        *self.shared.behind_our_back.lock().unwrap() = Some((command.to_string(), arguments));
    }

    /// Changes the fault for the next requests.
    pub fn set_fault(&self, fault: Fault) {
        *self.shared.fault.lock().unwrap() = fault;
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

    /// Answers a command the way the daemon would, without HTTP and without recording it
    /// (to look at the double's state from a test). Returns the answer object.
    pub fn direct(&self, command: &str, arguments: Option<Value>) -> Value {
        let mut request = json!({ "command": command });
        if let Some(a) = &arguments {
            request["arguments"] = a.clone();
        }
        let raw = request.to_string();
        self.shared
            .command_answer(command, arguments.as_ref(), &raw)
    }

    fn with_state<T>(&self, f: impl FnOnce(&state::State) -> T) -> T {
        let state = self
            .shared
            .state
            .as_ref()
            .expect("this double is not stateful (Kea3Options::stateful)");
        f(&state.lock().unwrap())
    }

    /// The running configuration as stored: `{"Dhcp4": …}` with only what was configured
    /// (no echoed inherited values, no defaults). Stateful doubles only.
    pub fn stored_config(&self) -> Value {
        self.with_state(|s| json!({ "Dhcp4": s.dhcp4 }))
    }

    /// The running configuration as `config-get` shows it (`{"Dhcp4": …}`, without `hash`).
    pub fn running_config(&self) -> Value {
        self.with_state(state::State::rendered)
    }

    /// A subnet as `subnet4-get` shows it, or `None`.
    pub fn subnet(&self, id: u64) -> Option<Value> {
        self.with_state(|s| s.shown_subnet(id))
    }

    /// A subnet as stored (what was configured for it), or `None`.
    pub fn stored_subnet(&self, id: u64) -> Option<Value> {
        self.with_state(|s| s.stored_subnet(id))
    }

    /// A class as `class-get` shows it, or `None`.
    pub fn class(&self, name: &str) -> Option<Value> {
        self.with_state(|s| s.shown_class(name))
    }

    /// The configurations `config-write` wrote, in order.
    pub fn written(&self) -> Vec<Value> {
        self.with_state(|s| s.written.clone())
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
    fault: Mutex<Fault>,
    received: Mutex<Vec<Received>>,
    /// The running configuration, in stateful mode.
    state: Option<Mutex<state::State>>,
    /// The subnet and class hooks are loaded.
    hooks: bool,
    /// A change someone else makes just before the next `config-hash-get` is answered.
    behind_our_back: Mutex<Option<(String, Value)>>,
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

    /// Kea's HTTP handling of one request body (after the transport-level faults).
    fn reply(&self, raw: &str, body: Option<&Value>, authorization: Option<&HeaderValue>) -> Reply {
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
        Reply::answer(self.command_answer(command, request.get("arguments"), raw))
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

    /// The answer object (one array element) for a command. `raw` is the request as it was
    /// sent (Kea's error texts give positions in it).
    fn command_answer(&self, command: &str, arguments: Option<&Value>, raw: &str) -> Value {
        if command == "config-hash-get"
            && let Some((c, a)) = self.behind_our_back.lock().unwrap().take()
            && let Some(state) = &self.state
        {
            let raw = json!({ "command": c, "arguments": a }).to_string();
            state.lock().unwrap().handle(&c, Some(&a), &raw);
        }
        if !self.hooks {
            if is_hook_command(command) {
                return json!({"result": 2, "text": format!("'{command}' command not supported.")});
            }
            if command == "list-commands" {
                let mut answer = self
                    .replay(command, arguments)
                    .expect("a recorded list-commands");
                if let Some(list) = answer["arguments"].as_array_mut() {
                    list.retain(|c| !c.as_str().is_some_and(is_hook_command));
                }
                return answer;
            }
        }
        if let Some(state) = &self.state
            && let Some(answer) = state.lock().unwrap().handle(command, arguments, raw)
        {
            return answer;
        }
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

/// A command of the `subnet_cmds` or `class_cmds` hook library.
fn is_hook_command(command: &str) -> bool {
    ["subnet4-", "subnet6-", "network4-", "network6-", "class-"]
        .iter()
        .any(|p| command.starts_with(p))
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
    let hang_up = Arc::new(Notify::new());
    let h = hang_up.clone();
    let service = service_fn(move |req| handle(req, shared.clone(), h.clone()));
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        // Dropping the connection closes the socket without an answer.
        _ = hang_up.notified() => {}
    }
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    hang_up: Arc<Notify>,
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
    let fault = shared.fault.lock().unwrap().clone();
    match fault {
        Fault::Garbage => {
            return Ok(response(
                StatusCode::OK,
                "application/json",
                "<html><body>this is not JSON</body></html>".into(),
            ));
        }
        Fault::Status500 => {
            return Ok(response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                "Internal Server Error".into(),
            ));
        }
        Fault::EmptyArray => {
            return Ok(response(StatusCode::OK, "application/json", "[]".into()));
        }
        Fault::Drop => {
            hang_up.notify_one();
            std::future::pending::<()>().await;
        }
        Fault::Delay(d) => tokio::time::sleep(d).await,
        Fault::None | Fault::Oversized(_) => {}
    }
    let reply = shared.reply(
        &String::from_utf8_lossy(&bytes),
        body.as_ref(),
        authorization.as_ref(),
    );
    let mut text = kea_json(&reply.body);
    if let Fault::Oversized(n) = fault {
        // JSON whitespace: the answer stays valid.
        text.push_str(&" ".repeat(n.saturating_sub(text.len())));
    }
    let mut r = response(reply.status, "application/json", text);
    if reply.status == StatusCode::UNAUTHORIZED {
        // The realm of the recorded daemon's configuration.
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"kea\""),
        );
    }
    Ok(r)
}

/// The text of a recorded request as the recording client sent it (Python's `json.dumps`:
/// keys in their recorded order, `", "` and `": "` separators). Kea's error texts give
/// positions in the request text, so a replay must send these exact bytes.
pub fn recorded_request_text(case: &str) -> String {
    let index = transcript()
        .iter()
        .position(|e| e.case == case)
        .unwrap_or_else(|| panic!("no case {case:?} in the Kea 3.2 transcript"));
    let (start, end) = jsonpos::span(
        TRANSCRIPT,
        &[jsonpos::Seg::Index(index), jsonpos::Seg::Key("request")],
    )
    .expect("the request of a recorded case");
    jsonpos::python_style(&TRANSCRIPT[start..end])
}

/// Where a value sits in a JSON text, the way Kea's JSON parser reports it.
pub mod jsonpos {
    /// One step of a path into a JSON document.
    #[derive(Debug, Clone, Copy)]
    pub enum Seg<'a> {
        Key(&'a str),
        Index(usize),
    }

    fn ws(b: &[u8], mut i: usize) -> usize {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    }

    /// The end of the string starting at `i` (its opening quote), after the closing quote.
    fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
        i += 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    }

    /// The end of the value starting at `i`.
    fn value_end(b: &[u8], i: usize) -> Option<usize> {
        match *b.get(i)? {
            b'"' => string_end(b, i),
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                let mut j = ws(b, i + 1);
                if b.get(j) == Some(&close) {
                    return Some(j + 1);
                }
                loop {
                    if open == b'{' {
                        j = string_end(b, j)?;
                        j = ws(b, j);
                        if b.get(j) != Some(&b':') {
                            return None;
                        }
                        j = ws(b, j + 1);
                    }
                    j = ws(b, value_end(b, j)?);
                    match b.get(j)? {
                        b',' => j = ws(b, j + 1),
                        c if *c == close => return Some(j + 1),
                        _ => return None,
                    }
                }
            }
            _ => {
                let mut j = i;
                while j < b.len()
                    && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\n' | b'\t' | b'\r')
                {
                    j += 1;
                }
                Some(j)
            }
        }
    }

    /// The byte range of the value at `path` in the JSON `text`.
    pub fn span(text: &str, path: &[Seg]) -> Option<(usize, usize)> {
        let b = text.as_bytes();
        let mut i = ws(b, 0);
        for seg in path {
            match (seg, b.get(i)?) {
                (Seg::Key(want), b'{') => {
                    let mut j = ws(b, i + 1);
                    loop {
                        if b.get(j)? != &b'"' {
                            return None;
                        }
                        let key_end = string_end(b, j)?;
                        let key = &text[j + 1..key_end - 1];
                        j = ws(b, key_end);
                        if b.get(j)? != &b':' {
                            return None;
                        }
                        j = ws(b, j + 1);
                        if key == *want {
                            break;
                        }
                        j = ws(b, value_end(b, j)?);
                        if b.get(j)? != &b',' {
                            return None;
                        }
                        j = ws(b, j + 1);
                    }
                    i = j;
                }
                (Seg::Index(want), b'[') => {
                    let mut j = ws(b, i + 1);
                    for _ in 0..*want {
                        j = ws(b, value_end(b, j)?);
                        if b.get(j)? != &b',' {
                            return None;
                        }
                        j = ws(b, j + 1);
                    }
                    i = j;
                }
                _ => return None,
            }
        }
        Some((i, value_end(b, i)?))
    }

    /// Kea's position of the value at `path` in the request text: `<string>:LINE:COL`.
    /// Kea counts from 1 and has consumed the opening `{`/`[` of a map or list when it
    /// records its position (so a map at column 54 is reported at 55), but not the first
    /// character of a string or a number.
    pub fn kea_position(text: &str, path: &[Seg]) -> String {
        let Some((offset, _)) = span(text, path) else {
            return "<string>:0:0".to_string();
        };
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let mut col = offset - line_start + 1;
        if matches!(text.as_bytes()[offset], b'{' | b'[') {
            col += 1;
        }
        format!("<string>:{line}:{col}")
    }

    /// Rewrites a JSON text the way Python's `json.dumps` writes it (`", "`, `": "`, no
    /// other whitespace), keeping its key order and string escapes.
    pub fn python_style(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    out.push('"');
                    while let Some(s) = chars.next() {
                        out.push(s);
                        if s == '\\' {
                            out.extend(chars.next());
                        } else if s == '"' {
                            break;
                        }
                    }
                }
                ' ' | '\n' | '\t' | '\r' => {}
                ',' => out.push_str(", "),
                ':' => out.push_str(": "),
                other => out.push(other),
            }
        }
        out
    }
}

/// SHA-256 (FIPS 180-4), for Kea's configuration hash: upper-case hex of the digest of the
/// configuration's JSON text.
pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08X}")).collect()
}

/// The running configuration of a stateful double, and the configuration, `subnet_cmds` and
/// `class_cmds` commands answered from it.
///
/// The configuration is stored as it was configured: a subnet keeps only what was sent for
/// it. What Kea 3.2 shows is rendered from that: every subnet and shared network echoes the
/// lifetimes and timers it inherits ([`ECHOED`]; `min-`/`max-valid-lifetime` follow the
/// scope's own `valid-lifetime` when it has one), the defaults Kea fills in (`4o6-*`,
/// `relay`, empty `option-data`), options in full (`code`, `name`, `space`, `csv-format`,
/// `always-send`, `never-send`), pools as Kea prints them (a range that is a prefix as
/// `a.b.c.d/len`), `client-class` as the `client-classes` list of Kea ≥ 2.7.5, and
/// `reservations: []` in each subnet of `config-get` (not in `subnet4-get`). A global change
/// therefore reaches every scope that does not set the value itself, as in real Kea.
///
/// Texts, result codes and shapes are the recorded ones; where the recording is silent
/// they follow Kea's `subnet_cmds.cc` / `class_cmds.cc`, and `config-test`'s success text is
/// the one `reference/kea-lab.md` recorded. Error positions (`<string>:LINE:COL`) are
/// computed from the request text as Kea's JSON parser counts them.
pub mod state {
    use std::net::Ipv4Addr;
    use std::sync::OnceLock;

    use serde_json::{Map, Value, json};

    use super::jsonpos::{Seg, kea_position};
    use super::{kea_json, recorded_arguments, recorded_hash, sha256_hex};

    /// What Kea 3.2 echoes into each subnet and shared network that does not set it.
    pub const ECHOED: &[&str] = &[
        "allocator",
        "cache-max-age",
        "cache-threshold",
        "calculate-tee-times",
        "rebind-timer",
        "renew-timer",
        "store-extended-info",
        "t1-percent",
        "t2-percent",
        "valid-lifetime",
    ];

    /// Lifetime bounds: the scope's own, else its own `valid-lifetime`, else its parent's.
    const BOUNDS: &[&str] = &["min-valid-lifetime", "max-valid-lifetime"];

    /// Kea's `config-test` success text (`reference/kea-lab.md` §1; the 3.2 recording only
    /// has a refusal).
    pub const CONFIG_TEST_OK: &str = "Configuration seems sane. Control-socket, hook-libraries, and D2 configuration were sanity checked, but not applied.";

    const STARTUP_FILE: &str = "<RUN_DIR>/kea-dhcp4.json";
    /// The size `config-write` reported for the startup configuration.
    const STARTUP_SIZE: usize = 4364;
    const SUBNET_ID_MAX: u64 = 4_294_967_294;

    /// Standard DHCPv4 options the double knows by name (enough for the tests; others keep
    /// what was sent).
    const V4_OPTIONS: &[(u64, &str)] = &[
        (1, "subnet-mask"),
        (2, "time-offset"),
        (3, "routers"),
        (4, "time-servers"),
        (5, "name-servers"),
        (6, "domain-name-servers"),
        (7, "log-servers"),
        (12, "host-name"),
        (15, "domain-name"),
        (19, "ip-forwarding"),
        (23, "default-ip-ttl"),
        (26, "interface-mtu"),
        (28, "broadcast-address"),
        (42, "ntp-servers"),
        (43, "vendor-encapsulated-options"),
        (44, "netbios-name-servers"),
        (51, "dhcp-lease-time"),
        (60, "vendor-class-identifier"),
        (66, "tftp-server-name"),
        (67, "boot-file-name"),
        (119, "domain-search"),
        (121, "classless-static-route"),
    ];

    /// Parameters `class-add` / `class-update` accept for DHCPv4
    /// (`ClientClassDefParser::checkParametersSupported`).
    const CLASS_PARAMETERS: &[&str] = &[
        "name",
        "test",
        "template-test",
        "option-data",
        "user-context",
        "only-in-additional-list",
        "only-if-required",
        "valid-lifetime",
        "min-valid-lifetime",
        "max-valid-lifetime",
        "option-def",
        "next-server",
        "server-hostname",
        "boot-file-name",
    ];

    /// Where a subnet is: at the top level, or in shared network `n`.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Loc {
        Top(usize),
        Net(usize, usize),
    }

    /// The kinds of `subnet4-update`.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Update {
        Replace,
        DeltaAdd,
        DeltaDel,
    }

    fn answer(result: i64, text: impl Into<String>) -> Value {
        json!({ "result": result, "text": text.into() })
    }

    fn with_args(result: i64, text: impl Into<String>, arguments: Value) -> Value {
        json!({ "arguments": arguments, "result": result, "text": text.into() })
    }

    fn array<'a>(m: &'a Map<String, Value>, key: &str) -> &'a [Value] {
        m.get(key)
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    fn array_mut<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Vec<Value> {
        if !m.get(key).is_some_and(Value::is_array) {
            m.insert(key.to_string(), json!([]));
        }
        m.get_mut(key)
            .and_then(Value::as_array_mut)
            .expect("an array")
    }

    fn id_of(s: &Value) -> u64 {
        s.get("id").and_then(Value::as_u64).unwrap_or(0)
    }

    fn prefix_of(s: &Map<String, Value>) -> String {
        s.get("subnet")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    }

    fn mask(len: u32) -> u32 {
        if len == 0 { 0 } else { u32::MAX << (32 - len) }
    }

    /// `a.b.c.d/len` as (network, last address, len).
    fn parse_prefix(text: &str) -> Option<(u32, u32, u32)> {
        let (a, l) = text.trim().split_once('/')?;
        let a: Ipv4Addr = a.trim().parse().ok()?;
        let l: u32 = l.trim().parse().ok().filter(|l| *l <= 32)?;
        let first = u32::from(a) & mask(l);
        Some((first, first | !mask(l), l))
    }

    /// A pool (`first-last`, `first - last` or `prefix/len`) as its first and last address.
    pub fn pool_range(text: &str) -> Option<(u32, u32)> {
        let t = text.trim();
        if t.contains('/') {
            let (first, last, l) = parse_prefix(t)?;
            return (l > 0).then_some((first, last));
        }
        let (a, b) = t.split_once('-')?;
        let a = u32::from(a.trim().parse::<Ipv4Addr>().ok()?);
        let b = u32::from(b.trim().parse::<Ipv4Addr>().ok()?);
        (a <= b).then_some((a, b))
    }

    /// A pool as Kea prints it (`Pool4::toElement`): a prefix when the range is one.
    pub fn pool_text(first: u32, last: u32) -> String {
        let prefix = (0..=32).find(|l| first & !mask(*l) == 0 && last == first | !mask(*l));
        match prefix {
            Some(l) => format!("{}/{l}", Ipv4Addr::from(first)),
            None => format!("{}-{}", Ipv4Addr::from(first), Ipv4Addr::from(last)),
        }
    }

    fn normalize_pool(text: &str) -> String {
        pool_range(text).map_or_else(|| text.to_string(), |(a, b)| pool_text(a, b))
    }

    fn pool_key(p: &Value) -> Option<String> {
        p.get("pool").and_then(Value::as_str).map(normalize_pool)
    }

    /// The lifetimes and timers a scope echoes from its parents (nearest first).
    fn echo(
        out: &mut Map<String, Value>,
        own: &Map<String, Value>,
        parents: &[&Map<String, Value>],
    ) {
        for k in ECHOED {
            if own.get(*k).is_none_or(Value::is_null)
                && let Some(v) = parents
                    .iter()
                    .find_map(|m| m.get(*k).filter(|v| !v.is_null()))
            {
                out.insert(k.to_string(), v.clone());
            }
        }
        let mut chain = vec![own];
        chain.extend_from_slice(parents);
        for b in BOUNDS {
            if own.get(*b).is_none_or(Value::is_null)
                && let Some(v) = bound(&chain, b)
            {
                out.insert(b.to_string(), v);
            }
        }
    }

    fn bound(chain: &[&Map<String, Value>], which: &str) -> Option<Value> {
        chain.iter().find_map(|m| {
            m.get(which)
                .filter(|v| !v.is_null())
                .or_else(|| m.get("valid-lifetime").filter(|v| !v.is_null()))
                .cloned()
        })
    }

    /// `client-class` (deprecated in Kea 2.7.5) is shown as the `client-classes` list, and
    /// `require-client-classes` (2.7.4) as `evaluate-additional-classes`; empty lists are
    /// not shown.
    fn classes_as_kea_shows_them(m: &mut Map<String, Value>) {
        if let Some(c) = m.remove("client-class")
            && c.as_str().is_some_and(|s| !s.is_empty())
        {
            let list = array_mut(m, "client-classes");
            if !list.contains(&c) {
                list.insert(0, c);
            }
        }
        if let Some(r) = m.remove("require-client-classes") {
            m.entry("evaluate-additional-classes").or_insert(r);
        }
        for k in ["client-classes", "evaluate-additional-classes"] {
            if m.get(k)
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
            {
                m.remove(k);
            }
        }
    }

    // --- Class test expressions -----------------------------------------------------------

    #[derive(Debug, Clone, PartialEq)]
    enum Tok {
        Str(String),
        Word(String),
        Op(&'static str),
    }

    #[derive(Debug, Clone)]
    struct Token {
        tok: Tok,
        /// Byte offsets in the expression: first, one past the last.
        begin: usize,
        end: usize,
    }

    /// A Bison location: `<string>:1.8` or `<string>:1.8-10`.
    fn location(begin: usize, end: usize) -> String {
        if end > begin + 1 {
            format!("<string>:1.{}-{}", begin + 1, end)
        } else {
            format!("<string>:1.{}", begin + 1)
        }
    }

    fn lex(e: &str) -> Result<Vec<Token>, String> {
        let b = e.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            let begin = i;
            let tok = if c.is_ascii_whitespace() {
                i += 1;
                continue;
            } else if c == b'\'' {
                let Some(n) = e[i + 1..].find('\'') else {
                    return Err(format!("{}: Invalid character: '", location(i, i + 1)));
                };
                i += n + 2;
                Tok::Str(e[begin + 1..i - 1].to_string())
            } else if c.is_ascii_alphanumeric() || c == b'_' {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'-')) {
                    i += 1;
                }
                Tok::Word(e[begin..i].to_string())
            } else if e[i..].starts_with("==") {
                i += 2;
                Tok::Op("==")
            } else {
                let op = match c {
                    b'(' => "(",
                    b')' => ")",
                    b'[' => "[",
                    b']' => "]",
                    b',' => ",",
                    b'.' => ".",
                    b'+' => "+",
                    _ => {
                        return Err(format!(
                            "{}: Invalid character: {}",
                            location(i, i + 1),
                            c as char
                        ));
                    }
                };
                i += 1;
                Tok::Op(op)
            };
            out.push(Token { tok, begin, end: i });
        }
        Ok(out)
    }

    /// The Kea built-in classes an expression may name without defining them.
    fn builtin_class(name: &str) -> bool {
        matches!(name, "ALL" | "KNOWN" | "UNKNOWN" | "BOOTP")
            || ["VENDOR_CLASS_", "HA_", "AFTER_", "EXTERNAL_"]
                .iter()
                .any(|p| name.starts_with(p))
    }

    /// The class names a test expression depends on (`member('x')`).
    fn members(test: &str) -> Vec<String> {
        let Ok(toks) = lex(test) else {
            return Vec::new();
        };
        toks.windows(3)
            .filter_map(|w| match (&w[0].tok, &w[1].tok, &w[2].tok) {
                (Tok::Word(m), Tok::Op("("), Tok::Str(n)) if m == "member" => Some(n.clone()),
                _ => None,
            })
            .collect()
    }

    /// Kea's expression parser, as far as the double needs it: unbalanced brackets, a
    /// missing right side (`option[60].hex == `), a trailing operator, an undefined class
    /// in `member()`. Returns the parser's message (`<string>:1.19: syntax error, …`).
    fn check_expression(e: &str, defined: &dyn Fn(&str) -> bool) -> Result<(), String> {
        let toks = lex(e)?;
        let eof = format!(
            "{}: syntax error, unexpected end of file",
            location(e.len(), e.len())
        );
        let mut open: Vec<&str> = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            match t.tok {
                Tok::Op(o @ ("(" | "[")) => open.push(o),
                Tok::Op(o @ (")" | "]")) => {
                    let want = if o == ")" { "(" } else { "[" };
                    if open.pop() != Some(want) {
                        return Err(format!(
                            "{}: syntax error, unexpected {o}",
                            location(t.begin, t.end)
                        ));
                    }
                    // `member('x')` is checked when its `)` is read.
                    if o == ")"
                        && i >= 3
                        && toks[i - 3].tok == Tok::Word("member".into())
                        && toks[i - 2].tok == Tok::Op("(")
                        && let Tok::Str(name) = &toks[i - 1].tok
                        && !defined(name)
                    {
                        return Err(format!(
                            "{}: Not defined client class '{name}'",
                            location(toks[i - 1].begin, toks[i - 1].end)
                        ));
                    }
                }
                _ => {}
            }
        }
        let dangling = match toks.last().map(|t| &t.tok) {
            None => true,
            Some(Tok::Op(o)) => matches!(*o, "==" | "(" | "[" | "," | "." | "+"),
            Some(Tok::Word(w)) => matches!(w.as_str(), "and" | "or" | "not"),
            Some(Tok::Str(_)) => false,
        };
        if dangling || !open.is_empty() {
            return Err(eof);
        }
        Ok(())
    }

    // --- The state --------------------------------------------------------------------------

    /// A stateful daemon's configuration.
    pub struct State {
        /// `Dhcp4` as configured (own values only).
        pub dhcp4: Map<String, Value>,
        /// What each `config-write` wrote.
        pub written: Vec<Value>,
    }

    /// The startup configuration as `config-get` showed it.
    fn seed_rendered() -> &'static Value {
        static S: OnceLock<Value> = OnceLock::new();
        S.get_or_init(|| State::seed().rendered())
    }

    impl State {
        /// The recorded daemon's startup configuration (the `config-set without hash`
        /// request, which is its `config-get` answer without the hash). Its subnet does not
        /// own the lifetimes and timers config-get echoed into it.
        pub fn seed() -> Self {
            let mut dhcp4 = recorded_arguments("config-set without hash")["Dhcp4"]
                .as_object()
                .expect("a Dhcp4 map")
                .clone();
            let global = dhcp4.clone();
            for s in array_mut(&mut dhcp4, "subnet4") {
                let m = s.as_object_mut().expect("a subnet map");
                for k in ECHOED {
                    if m.get(*k).is_some() && m.get(*k) == global.get(*k) {
                        m.remove(*k);
                    }
                }
                for b in BOUNDS {
                    let mut without = m.clone();
                    without.remove(*b);
                    if m.get(*b).is_some() && m.get(*b) == bound(&[&without, &global], b).as_ref() {
                        m.remove(*b);
                    }
                }
            }
            Self {
                dhcp4,
                written: Vec::new(),
            }
        }

        fn locs(&self) -> Vec<Loc> {
            let mut v: Vec<Loc> = (0..array(&self.dhcp4, "subnet4").len())
                .map(Loc::Top)
                .collect();
            for (n, net) in array(&self.dhcp4, "shared-networks").iter().enumerate() {
                let count = net
                    .get("subnet4")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                v.extend((0..count).map(|i| Loc::Net(n, i)));
            }
            v
        }

        fn network(&self, n: usize) -> &Map<String, Value> {
            array(&self.dhcp4, "shared-networks")[n]
                .as_object()
                .expect("a network map")
        }

        fn subnet_at(&self, loc: Loc) -> &Map<String, Value> {
            let v = match loc {
                Loc::Top(i) => &array(&self.dhcp4, "subnet4")[i],
                Loc::Net(n, i) => &array(self.network(n), "subnet4")[i],
            };
            v.as_object().expect("a subnet map")
        }

        fn subnet_at_mut(&mut self, loc: Loc) -> &mut Map<String, Value> {
            let v = match loc {
                Loc::Top(i) => &mut array_mut(&mut self.dhcp4, "subnet4")[i],
                Loc::Net(n, i) => {
                    let net = array_mut(&mut self.dhcp4, "shared-networks")[n]
                        .as_object_mut()
                        .expect("a network map");
                    &mut array_mut(net, "subnet4")[i]
                }
            };
            v.as_object_mut().expect("a subnet map")
        }

        fn remove_at(&mut self, loc: Loc) -> Map<String, Value> {
            let v = match loc {
                Loc::Top(i) => array_mut(&mut self.dhcp4, "subnet4").remove(i),
                Loc::Net(n, i) => {
                    let net = array_mut(&mut self.dhcp4, "shared-networks")[n]
                        .as_object_mut()
                        .expect("a network map");
                    array_mut(net, "subnet4").remove(i)
                }
            };
            v.as_object().cloned().unwrap_or_default()
        }

        fn find_id(&self, id: u64) -> Option<Loc> {
            self.locs()
                .into_iter()
                .find(|l| self.subnet_at(*l).get("id").and_then(Value::as_u64) == Some(id))
        }

        /// Kea compares the prefix as text (`CfgSubnets4::getByPrefix`).
        fn find_prefix(&self, prefix: &str) -> Option<Loc> {
            self.locs()
                .into_iter()
                .find(|l| prefix_of(self.subnet_at(*l)) == prefix)
        }

        fn network_index(&self, name: &str) -> Option<usize> {
            array(&self.dhcp4, "shared-networks")
                .iter()
                .position(|n| n.get("name").and_then(Value::as_str) == Some(name))
        }

        /// A subnet as stored, or `None`.
        pub fn stored_subnet(&self, id: u64) -> Option<Value> {
            self.find_id(id)
                .map(|l| Value::Object(self.subnet_at(l).clone()))
        }

        /// A subnet as `subnet4-get` shows it, or `None`.
        pub fn shown_subnet(&self, id: u64) -> Option<Value> {
            self.find_id(id).map(|l| self.render_subnet_at(l, false))
        }

        /// A class as `class-get` shows it, or `None`.
        pub fn shown_class(&self, name: &str) -> Option<Value> {
            self.class_index(name)
                .map(|i| self.render_class(&array(&self.dhcp4, "client-classes")[i]))
        }

        // --- Rendering ----------------------------------------------------------------------

        /// Every option name the daemon knows: (space, code, name).
        fn option_names(&self) -> Vec<(String, u64, String)> {
            let mut v: Vec<(String, u64, String)> = V4_OPTIONS
                .iter()
                .map(|(c, n)| ("dhcp4".to_string(), *c, n.to_string()))
                .collect();
            for d in array(&self.dhcp4, "option-def") {
                if let (Some(c), Some(n)) = (
                    d.get("code").and_then(Value::as_u64),
                    d.get("name").and_then(Value::as_str),
                ) {
                    let space = d.get("space").and_then(Value::as_str).unwrap_or("dhcp4");
                    v.push((space.to_string(), c, n.to_string()));
                }
            }
            v
        }

        /// (space, code, name) of an option-data entry, filled in from the known names.
        fn option_identity(&self, o: &Value) -> (String, Option<u64>, Option<String>) {
            let space = o
                .get("space")
                .and_then(Value::as_str)
                .unwrap_or("dhcp4")
                .to_string();
            let mut code = o.get("code").and_then(Value::as_u64);
            let mut name = o.get("name").and_then(Value::as_str).map(str::to_string);
            for (s, c, n) in self.option_names() {
                if s != space {
                    continue;
                }
                if code.is_none() && name.as_deref() == Some(n.as_str()) {
                    code = Some(c);
                }
                if name.is_none() && code == Some(c) {
                    name = Some(n);
                }
            }
            (space, code, name)
        }

        /// Kea's option match (`subnet_cmds.cc`): the same space, and the same code when
        /// both have one, else the same name.
        fn same_option(&self, a: &Value, b: &Value) -> bool {
            let (sa, ca, na) = self.option_identity(a);
            let (sb, cb, nb) = self.option_identity(b);
            sa == sb
                && match (ca, cb) {
                    (Some(x), Some(y)) => x == y,
                    _ => na.is_some() && na == nb,
                }
        }

        fn render_option(&self, o: &Value) -> Value {
            let mut m = o.as_object().cloned().unwrap_or_default();
            let (space, code, name) = self.option_identity(o);
            m.insert("space".into(), json!(space));
            if let Some(c) = code {
                m.insert("code".into(), json!(c));
            }
            if let Some(n) = name {
                m.insert("name".into(), json!(n));
            }
            m.entry("always-send").or_insert(json!(false));
            m.entry("never-send").or_insert(json!(false));
            m.entry("csv-format").or_insert(json!(true));
            m.entry("data").or_insert(json!(""));
            classes_as_kea_shows_them(&mut m);
            Value::Object(m)
        }

        fn render_options(&self, list: Option<&Value>) -> Value {
            Value::Array(
                list.and_then(Value::as_array)
                    .map(|a| a.iter().map(|o| self.render_option(o)).collect())
                    .unwrap_or_default(),
            )
        }

        fn render_pool(&self, p: &Value) -> Value {
            let mut m = p.as_object().cloned().unwrap_or_default();
            if let Some(k) = pool_key(p) {
                m.insert("pool".into(), json!(k));
            }
            m.insert(
                "option-data".into(),
                self.render_options(p.get("option-data")),
            );
            classes_as_kea_shows_them(&mut m);
            Value::Object(m)
        }

        fn render_subnet(
            &self,
            own: &Map<String, Value>,
            parents: &[&Map<String, Value>],
            for_config: bool,
        ) -> Value {
            let mut m = own.clone();
            for k in ["4o6-interface", "4o6-interface-id", "4o6-subnet"] {
                m.entry(k).or_insert(json!(""));
            }
            m.entry("relay").or_insert(json!({ "ip-addresses": [] }));
            m.insert(
                "option-data".into(),
                self.render_options(own.get("option-data")),
            );
            let pools: Vec<Value> = array(own, "pools")
                .iter()
                .map(|p| self.render_pool(p))
                .collect();
            m.insert("pools".into(), Value::Array(pools));
            classes_as_kea_shows_them(&mut m);
            echo(&mut m, own, parents);
            if for_config {
                m.entry("reservations").or_insert(json!([]));
            } else {
                m.remove("reservations");
            }
            Value::Object(m)
        }

        fn render_subnet_at(&self, loc: Loc, for_config: bool) -> Value {
            let own = self.subnet_at(loc);
            match loc {
                Loc::Top(_) => self.render_subnet(own, &[&self.dhcp4], for_config),
                Loc::Net(n, _) => {
                    self.render_subnet(own, &[self.network(n), &self.dhcp4], for_config)
                }
            }
        }

        fn render_network(&self, n: usize, for_config: bool) -> Value {
            let own = self.network(n);
            let mut m = own.clone();
            m.entry("relay").or_insert(json!({ "ip-addresses": [] }));
            m.insert(
                "option-data".into(),
                self.render_options(own.get("option-data")),
            );
            classes_as_kea_shows_them(&mut m);
            echo(&mut m, own, &[&self.dhcp4]);
            let mut subnets: Vec<&Value> = array(own, "subnet4").iter().collect();
            subnets.sort_by_key(|s| id_of(s));
            let rendered: Vec<Value> = subnets
                .into_iter()
                .map(|s| {
                    let s = s.as_object().expect("a subnet map");
                    self.render_subnet(s, &[own, &self.dhcp4], for_config)
                })
                .collect();
            m.insert("subnet4".into(), Value::Array(rendered));
            Value::Object(m)
        }

        fn render_class(&self, c: &Value) -> Value {
            let mut m = c.as_object().cloned().unwrap_or_default();
            m.entry("next-server").or_insert(json!("0.0.0.0"));
            m.entry("server-hostname").or_insert(json!(""));
            m.entry("boot-file-name").or_insert(json!(""));
            m.insert(
                "option-data".into(),
                self.render_options(c.get("option-data")),
            );
            m.entry("option-def").or_insert(json!([]));
            if let Some(v) = m.remove("only-if-required") {
                m.entry("only-in-additional-list").or_insert(v);
            }
            if m.get("test").and_then(Value::as_str) == Some("") {
                m.remove("test");
            }
            Value::Object(m)
        }

        /// The configuration as `config-get` shows it: `{"Dhcp4": …}`.
        pub fn rendered(&self) -> Value {
            let mut d = self.dhcp4.clone();
            d.insert(
                "option-data".into(),
                self.render_options(self.dhcp4.get("option-data")),
            );
            let mut top: Vec<&Value> = array(&self.dhcp4, "subnet4").iter().collect();
            top.sort_by_key(|s| id_of(s));
            let top: Vec<Value> = top
                .into_iter()
                .map(|s| {
                    let s = s.as_object().expect("a subnet map");
                    self.render_subnet(s, &[&self.dhcp4], true)
                })
                .collect();
            d.insert("subnet4".into(), Value::Array(top));
            let nets: Vec<Value> = (0..array(&self.dhcp4, "shared-networks").len())
                .map(|n| self.render_network(n, true))
                .collect();
            d.insert("shared-networks".into(), Value::Array(nets));
            let classes: Vec<Value> = array(&self.dhcp4, "client-classes")
                .iter()
                .map(|c| self.render_class(c))
                .collect();
            if classes.is_empty() {
                d.remove("client-classes");
            } else {
                d.insert("client-classes".into(), Value::Array(classes));
            }
            json!({ "Dhcp4": d })
        }

        /// Kea's configuration hash: SHA-256 of the configuration's JSON text, upper-case
        /// hex. The startup configuration reports the recorded hash (the recording replaced
        /// the lab's directories, so its text cannot be hashed again).
        pub fn hash(&self) -> String {
            let doc = self.rendered();
            if doc == *seed_rendered() {
                recorded_hash().to_string()
            } else {
                sha256_hex(kea_json(&doc).as_bytes())
            }
        }

        // --- Commands -----------------------------------------------------------------------

        /// The answer to a command this state handles, or `None` (then it is replayed).
        pub fn handle(&mut self, command: &str, args: Option<&Value>, raw: &str) -> Option<Value> {
            Some(match command {
                "config-get" => json!({
                    "arguments": { "Dhcp4": self.rendered()["Dhcp4"], "hash": self.hash() },
                    "result": 0
                }),
                "config-hash-get" => json!({ "arguments": { "hash": self.hash() }, "result": 0 }),
                "config-set" => self.config_set(args, raw, true),
                "config-test" => self.config_set(args, raw, false),
                "config-write" => self.config_write(args),
                "subnet4-list" => self.subnet_list(),
                "subnet4-get" => self.subnet_get(args),
                "subnet4-add" => self.subnet_add(args, raw),
                "subnet4-update" => self.subnet_update(command, args, raw, Update::Replace),
                "subnet4-delta-add" => self.subnet_update(command, args, raw, Update::DeltaAdd),
                "subnet4-delta-del" => self.subnet_update(command, args, raw, Update::DeltaDel),
                "subnet4-del" => self.subnet_del(args),
                "network4-list" => self.network_list(),
                "network4-get" => self.network_get(args),
                "network4-add" => self.network_add(args, raw),
                "network4-del" => self.network_del(args),
                "network4-subnet-add" => self.network_subnet(command, args, true),
                "network4-subnet-del" => self.network_subnet(command, args, false),
                "class-list" => self.class_list(),
                "class-get" => self.class_get(args),
                "class-add" => self.class_add(args, raw),
                "class-update" => self.class_update(args, raw),
                "class-del" => self.class_del(args),
                _ => return None,
            })
        }

        /// `config-set` (`apply`) or `config-test`.
        fn config_set(&mut self, args: Option<&Value>, raw: &str, apply: bool) -> Value {
            let Some(a) = args.and_then(Value::as_object) else {
                return answer(1, "Missing mandatory 'arguments' parameter.");
            };
            if a.contains_key("hash") {
                return answer(1, "Unsupported 'hash' parameter.");
            }
            let Some(d) = a.get("Dhcp4").and_then(Value::as_object) else {
                return answer(1, "Missing mandatory 'Dhcp4' parameter.");
            };
            for (i, h) in array(d, "hooks-libraries").iter().enumerate() {
                let Some(lib) = h.get("library").and_then(Value::as_str) else {
                    continue;
                };
                if let Some(slash) = lib.rfind('/') {
                    let dir = if slash == 0 { "/" } else { &lib[..slash] };
                    if dir != "<HOOKS_DIR>" {
                        let pos = kea_position(
                            raw,
                            &[
                                Seg::Key("arguments"),
                                Seg::Key("Dhcp4"),
                                Seg::Key("hooks-libraries"),
                                Seg::Index(i),
                                Seg::Key("library"),
                            ],
                        );
                        return answer(
                            1,
                            format!(
                                "hooks library configuration error: invalid path specified: '{dir}', supported path is '<HOOKS_DIR>' ({pos})"
                            ),
                        );
                    }
                }
            }
            if !apply {
                return answer(0, CONFIG_TEST_OK);
            }
            self.dhcp4 = d.clone();
            with_args(
                0,
                "Configuration successful.",
                json!({ "hash": self.hash() }),
            )
        }

        fn config_write(&mut self, args: Option<&Value>) -> Value {
            let path = match args.and_then(|a| a.get("filename")).and_then(Value::as_str) {
                None => STARTUP_FILE.to_string(),
                Some(f) if !f.contains('/') => format!("<RUN_DIR>/{f}"),
                Some(f) => f.to_string(),
            };
            let beside = path
                .strip_prefix("<RUN_DIR>/")
                .is_some_and(|rest| !rest.contains('/'));
            if !beside {
                return answer(
                    1,
                    format!(
                        "not allowed to write config into {path}: file {path} must be in the same directory as the config file ({STARTUP_FILE})"
                    ),
                );
            }
            let doc = self.rendered();
            let size = if doc == *seed_rendered() {
                STARTUP_SIZE
            } else {
                serde_json::to_string_pretty(&doc).map_or(0, |t| t.len())
            };
            self.written.push(doc);
            with_args(
                0,
                format!("Configuration written to {path} successful"),
                json!({ "filename": path, "size": size }),
            )
        }

        fn subnet_list(&self) -> Value {
            let mut items: Vec<(u64, Value)> = self
                .locs()
                .into_iter()
                .map(|l| {
                    let s = self.subnet_at(l);
                    let net = match l {
                        Loc::Top(_) => Value::Null,
                        Loc::Net(n, _) => {
                            self.network(n).get("name").cloned().unwrap_or(Value::Null)
                        }
                    };
                    let id = s.get("id").and_then(Value::as_u64).unwrap_or(0);
                    (
                        id,
                        json!({ "id": id, "shared-network-name": net, "subnet": prefix_of(s) }),
                    )
                })
                .collect();
            items.sort_by_key(|(id, _)| *id);
            let n = items.len();
            let text = format!("{n} IPv4 subnet{} found", if n == 1 { "" } else { "s" });
            let list: Vec<Value> = items.into_iter().map(|(_, v)| v).collect();
            with_args(if n == 0 { 3 } else { 0 }, text, json!({ "subnets": list }))
        }

        fn subnet_get(&self, args: Option<&Value>) -> Value {
            let command = "subnet4-get";
            let a = match args {
                None => {
                    return answer(
                        1,
                        format!("no arguments specified for the '{command}' command"),
                    );
                }
                Some(Value::Object(a)) => a,
                Some(_) => {
                    return answer(
                        1,
                        format!("arguments specified for the '{command}' command are not a map"),
                    );
                }
            };
            if a.len() != 1 {
                return answer(
                    1,
                    format!(
                        "invalid number of arguments {} for the '{command}' command. Expecting 'id' or 'subnet'",
                        a.len()
                    ),
                );
            }
            let loc = if let Some(p) = a.get("subnet") {
                let Some(p) = p.as_str() else {
                    return answer(1, "'subnet' parameter must be a string");
                };
                match self.find_prefix(p) {
                    Some(l) => l,
                    None => return answer(3, format!("No {p} subnet found")),
                }
            } else if let Some(id) = a.get("id") {
                let Some(id) = id.as_i64() else {
                    return answer(1, "'id' parameter must be an integer");
                };
                match u64::try_from(id).ok().and_then(|i| self.find_id(i)) {
                    Some(l) => l,
                    None => return answer(3, format!("No subnet with id {id} found")),
                }
            } else {
                return answer(1, "'id' or 'subnet' parameter required");
            };
            let s = self.subnet_at(loc);
            with_args(
                0,
                format!(
                    "Info about IPv4 subnet {} (id {}) returned",
                    prefix_of(s),
                    id_of(&Value::Object(s.clone()))
                ),
                json!({ "subnet4": [self.render_subnet_at(loc, false)] }),
            )
        }

        /// The one subnet map of a `subnet4-add`/`-update`/`-delta-*` command.
        fn subnet_argument<'a>(
            command: &str,
            args: Option<&'a Value>,
        ) -> Result<&'a Map<String, Value>, String> {
            let a = match args {
                None => {
                    return Err(format!(
                        "no arguments specified for the '{command}' command"
                    ));
                }
                Some(Value::Object(a)) => a,
                Some(_) => {
                    return Err(format!(
                        "arguments specified for the '{command}' command are not a map"
                    ));
                }
            };
            if a.len() != 1 {
                return Err(format!(
                    "invalid number of arguments {} for the '{command}' command. Expecting 'subnet4' list",
                    a.len()
                ));
            }
            let list = match a.get("subnet4") {
                None => {
                    return Err(format!(
                        "missing 'subnet4' argument for the '{command}' command"
                    ));
                }
                Some(Value::Array(l)) => l,
                Some(_) => {
                    return Err(format!(
                        "'subnet4' argument specified for the '{command}' command is not a list"
                    ));
                }
            };
            if list.len() != 1 {
                return Err(format!(
                    "invalid number of subnets specified for the '{command}' command. Expected one subnet"
                ));
            }
            let Some(s) = list[0].as_object() else {
                // Sic: Kea's text has no space before the command name.
                return Err(format!(
                    "invalid subnet information specified for the'{command}' command. Expected a map"
                ));
            };
            if s.contains_key("reservations") {
                return Err(if command == "subnet4-add" {
                    format!(
                        "must not specify host reservations with '{command}'. Use 'reservation-add' to add a reservation to a subnet"
                    )
                } else {
                    format!("must not specify host reservations with '{command}'.")
                });
            }
            Ok(s)
        }

        /// Kea's subnet parser, as far as the double needs it: an id in range, a prefix,
        /// pools inside it. Returns the subnet with its pools as Kea prints them.
        fn parse_subnet(
            s: &Map<String, Value>,
            raw: &str,
            path: &[Seg],
        ) -> Result<Map<String, Value>, String> {
            let pos = kea_position(raw, path);
            let fail = |what: String| Err(format!("subnet configuration failed: {what} ({pos})"));
            let Some(id) = s.get("id") else {
                return fail("missing parameter 'id'".into());
            };
            if id.as_u64().is_none_or(|i| i == 0 || i > SUBNET_ID_MAX) {
                return fail(format!(
                    "The 'id' value ({id}) is not within expected range: (1 - {SUBNET_ID_MAX})"
                ));
            }
            let Some(text) = s.get("subnet").and_then(Value::as_str) else {
                return fail("missing parameter 'subnet'".into());
            };
            let Some((first, last, _)) = parse_prefix(text) else {
                return fail(format!(
                    "Invalid subnet syntax (prefix/len expected):{text}"
                ));
            };
            let mut out = s.clone();
            for p in array_mut(&mut out, "pools") {
                let Some(t) = p.get("pool").and_then(Value::as_str).map(str::to_string) else {
                    return fail("missing parameter 'pool'".into());
                };
                let Some((a, b)) = pool_range(&t) else {
                    return fail(format!("Failed to create pool defined by: {t}"));
                };
                if a < first || b > last {
                    return fail(format!(
                        "a pool of type V4, with the following address range: {}-{} does not match the prefix of a subnet: {text} to which it is being added",
                        Ipv4Addr::from(a),
                        Ipv4Addr::from(b)
                    ));
                }
                p["pool"] = json!(pool_text(a, b));
            }
            Ok(out)
        }

        fn subnet_add(&mut self, args: Option<&Value>, raw: &str) -> Value {
            let s = match Self::subnet_argument("subnet4-add", args) {
                Ok(s) => s,
                Err(t) => return answer(1, t),
            };
            let path = [Seg::Key("arguments"), Seg::Key("subnet4"), Seg::Index(0)];
            let s = match Self::parse_subnet(s, raw, &path) {
                Ok(s) => s,
                Err(t) => return answer(1, t),
            };
            if let Err(t) = self.check_new_subnet(&s) {
                return answer(1, t);
            }
            let id = s["id"].clone();
            let prefix = prefix_of(&s);
            array_mut(&mut self.dhcp4, "subnet4").push(Value::Object(s));
            with_args(
                0,
                "IPv4 subnet added",
                json!({ "subnets": [{ "id": id, "subnet": prefix }] }),
            )
        }

        /// `CfgSubnets4::add`: a used id or a used prefix is refused; an overlapping prefix
        /// is not.
        fn check_new_subnet(&self, s: &Map<String, Value>) -> Result<(), String> {
            let id = s.get("id").and_then(Value::as_u64).unwrap_or(0);
            if self.find_id(id).is_some() {
                return Err(format!(
                    "ID of the new IPv4 subnet '{id}' is already in use"
                ));
            }
            let prefix = prefix_of(s);
            if self.find_prefix(&prefix).is_some() {
                return Err(format!(
                    "subnet with the prefix of '{prefix}' already exists"
                ));
            }
            Ok(())
        }

        fn subnet_update(
            &mut self,
            command: &str,
            args: Option<&Value>,
            raw: &str,
            kind: Update,
        ) -> Value {
            let s = match Self::subnet_argument(command, args) {
                Ok(s) => s,
                Err(t) => return answer(1, t),
            };
            let Some(id) = s.get("id") else {
                return answer(
                    1,
                    format!("must specify subnet id with '{command}' command."),
                );
            };
            let Some(id) = id.as_u64().filter(|i| (1..=SUBNET_ID_MAX).contains(i)) else {
                return answer(
                    1,
                    format!(
                        "The 'id' value ({id}) is not within expected range: (1 - {SUBNET_ID_MAX})"
                    ),
                );
            };
            let Some(loc) = self.find_id(id) else {
                return answer(1, format!("Can't find subnet '{id}' to update"));
            };
            let mut delta = Value::Object(s.clone());
            for p in delta
                .get_mut("pools")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(k) = pool_key(p) {
                    p["pool"] = json!(k);
                }
            }
            let merged = match kind {
                Update::Replace => delta,
                Update::DeltaAdd => {
                    let mut old = Value::Object(self.subnet_at(loc).clone());
                    self.merge_add(&mut old, &delta, "subnet", 0);
                    old
                }
                Update::DeltaDel => {
                    let mut old = Value::Object(self.subnet_at(loc).clone());
                    self.merge_del(&mut old, &delta, "subnet", 0);
                    old
                }
            };
            let path = [Seg::Key("arguments"), Seg::Key("subnet4"), Seg::Index(0)];
            let new = match Self::parse_subnet(merged.as_object().expect("a map"), raw, &path) {
                Ok(s) => s,
                Err(t) => return answer(1, t),
            };
            let prefix = prefix_of(&new);
            *self.subnet_at_mut(loc) = new;
            with_args(
                0,
                "IPv4 subnet updated",
                json!({ "subnets": [{ "id": id, "subnet": prefix }] }),
            )
        }

        /// Kea's configuration hierarchy for subnet deltas: which lists hold entities that
        /// are matched by key (level 0 the subnet, 1 its pools and options, 2 pool options).
        fn described(key: &str, level: usize) -> bool {
            matches!(
                (level, key),
                (0, "subnet") | (1, "pools" | "pd-pools" | "option-data") | (2, "option-data")
            )
        }

        fn same_entity(&self, key: &str, a: &Value, b: &Value) -> bool {
            match key {
                "subnet" => id_of(a) == id_of(b),
                "pools" => pool_key(a).is_some() && pool_key(a) == pool_key(b),
                "pd-pools" => ["prefix", "prefix-len", "delegated-len"]
                    .iter()
                    .all(|k| a.get(*k) == b.get(*k)),
                "option-data" => self.same_option(a, b),
                _ => false,
            }
        }

        /// Only the keys that name the entity (then `delta-del` removes it whole).
        fn names_only(key: &str, v: &Value) -> bool {
            let keys: &[&str] = match key {
                "subnet" => &["id", "subnet"],
                "pools" => &["pool"],
                "pd-pools" => &["prefix", "prefix-len", "delegated-len"],
                "option-data" => &["code", "name", "space"],
                _ => return false,
            };
            v.as_object().is_some_and(|m| {
                m.iter().all(|(k, x)| {
                    keys.contains(&k.as_str())
                        || (k == "option-data"
                            && key != "option-data"
                            && x.as_array().is_some_and(Vec::is_empty))
                })
            })
        }

        fn is_key(key: &str, k: &str) -> bool {
            match key {
                "subnet" => matches!(k, "id" | "subnet"),
                "pools" => k == "pool",
                "pd-pools" => matches!(k, "prefix" | "prefix-len" | "delegated-len"),
                "option-data" => matches!(k, "code" | "name" | "space"),
                _ => false,
            }
        }

        /// `mergeDiffAdd` (Kea's `data.cc`).
        fn merge_add(&self, element: &mut Value, other: &Value, key: &str, level: usize) {
            match (element, other) {
                (Value::Array(left), Value::Array(right)) => {
                    let mut new = Vec::new();
                    for r in right {
                        if Self::described(key, level) {
                            let mut found = false;
                            for l in left.iter_mut() {
                                if self.same_entity(key, l, r) {
                                    found = true;
                                    self.merge_add(l, r, key, level);
                                }
                            }
                            if !found {
                                new.push(r.clone());
                            }
                        } else {
                            new.push(r.clone());
                        }
                    }
                    left.extend(new);
                }
                (Value::Object(left), Value::Object(right)) => {
                    for (k, v) in right {
                        if v.is_null() {
                            continue;
                        }
                        match left.get_mut(k) {
                            Some(cur) if v.is_object() || v.is_array() => {
                                self.merge_add(cur, v, k, level + 1);
                            }
                            _ => {
                                left.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
                (e, o) => *e = o.clone(),
            }
        }

        /// `mergeDiffDel` (Kea's `data.cc`).
        fn merge_del(&self, element: &mut Value, other: &Value, key: &str, level: usize) {
            let empty = |v: &Value| match v {
                Value::Array(a) => a.is_empty(),
                Value::Object(m) => m.is_empty(),
                _ => false,
            };
            match element {
                Value::Array(left) => {
                    for r in other.as_array().into_iter().flatten() {
                        let mut i = 0;
                        while i < left.len() {
                            let mut removed = false;
                            if Self::described(key, level) {
                                if self.same_entity(key, &left[i], r) {
                                    if Self::names_only(key, r) {
                                        left.remove(i);
                                        removed = true;
                                    } else {
                                        self.merge_del(&mut left[i], r, key, level);
                                        if empty(&left[i]) {
                                            left.remove(i);
                                            removed = true;
                                        }
                                    }
                                }
                            } else if left[i] == *r {
                                left.remove(i);
                                removed = true;
                            }
                            if !removed {
                                i += 1;
                            }
                        }
                    }
                }
                Value::Object(left) => {
                    for (k, v) in other.as_object().into_iter().flatten() {
                        if v.is_null() {
                            continue;
                        }
                        let Some(cur) = left.get_mut(k) else {
                            continue;
                        };
                        if cur.is_object() || cur.is_array() {
                            self.merge_del(cur, v, k, level + 1);
                            if empty(cur) {
                                left.remove(k);
                            }
                        } else if !(Self::described(key, level) && Self::is_key(key, k)) {
                            left.remove(k);
                        }
                    }
                }
                _ => {}
            }
        }

        fn subnet_del(&mut self, args: Option<&Value>) -> Value {
            let command = "subnet4-del";
            let a = match args {
                None => {
                    return answer(
                        1,
                        format!("no arguments specified for the '{command}' command"),
                    );
                }
                Some(Value::Object(a)) => a,
                Some(_) => {
                    return answer(
                        1,
                        format!("arguments specified for the '{command}' command are not a map"),
                    );
                }
            };
            if a.len() != 1 {
                // Sic: Kea's text lacks the closing quote.
                return answer(
                    1,
                    format!(
                        "invalid number of arguments specified for the '{command} command. Expected subnet identifier"
                    ),
                );
            }
            let Some(id) = a.get("id") else {
                return answer(
                    1,
                    format!("subnet identifier is required for the '{command}' command"),
                );
            };
            let Some(id) = id.as_u64() else {
                return answer(
                    1,
                    format!("subnet identifier specified for the '{command}' is not a number"),
                );
            };
            let Some(loc) = self.find_id(id) else {
                return answer(3, format!("no subnet with id {id} found"));
            };
            let s = self.remove_at(loc);
            let prefix = prefix_of(&s);
            with_args(
                0,
                format!("IPv4 subnet {prefix} (id {id}) deleted"),
                json!({ "subnets": [{ "id": id, "subnet": prefix }] }),
            )
        }

        fn network_list(&self) -> Value {
            let names: Vec<Value> = array(&self.dhcp4, "shared-networks")
                .iter()
                .map(|n| json!({ "name": n.get("name").cloned().unwrap_or(Value::Null) }))
                .collect();
            let n = names.len();
            let text = format!("{n} IPv4 network{} found", if n == 1 { "" } else { "s" });
            with_args(
                if n == 0 { 3 } else { 0 },
                text,
                json!({ "shared-networks": names }),
            )
        }

        fn name_argument<'a>(
            command: &str,
            args: Option<&'a Value>,
        ) -> Result<&'a Map<String, Value>, String> {
            match args {
                None => Err(format!(
                    "no arguments specified for the '{command}' command"
                )),
                Some(Value::Object(a)) => Ok(a),
                Some(_) => Err(format!(
                    "arguments specified for the '{command}' command are not a map"
                )),
            }
        }

        fn network_get(&self, args: Option<&Value>) -> Value {
            let command = "network4-get";
            let a = match Self::name_argument(command, args) {
                Ok(a) => a,
                Err(t) => return answer(1, t),
            };
            let name = match a.get("name") {
                None => {
                    return answer(
                        1,
                        format!("invalid '{command}': missing mandatory 'name' parameter"),
                    );
                }
                Some(Value::String(n)) => n,
                Some(_) => return answer(1, "'name' parameter must be a string"),
            };
            match self.network_index(name) {
                Some(n) => with_args(
                    0,
                    format!("Info about IPv4 shared network '{name}' returned"),
                    json!({ "shared-networks": [self.render_network(n, false)] }),
                ),
                None => answer(3, format!("No '{name}' shared network found")),
            }
        }

        fn network_add(&mut self, args: Option<&Value>, raw: &str) -> Value {
            let command = "network4-add";
            let a = match Self::name_argument(command, args) {
                Ok(a) => a,
                Err(t) => return answer(1, t),
            };
            let list = match a.get("shared-networks") {
                None => {
                    return answer(
                        1,
                        format!("missing 'shared-networks' argument for the '{command}' command"),
                    );
                }
                Some(Value::Array(l)) => l,
                Some(_) => {
                    return answer(
                        1,
                        format!(
                            "'shared-networks' argument specified for the '{command}' command is not a list"
                        ),
                    );
                }
            };
            if list.len() != 1 {
                return answer(
                    1,
                    format!(
                        "invalid number of networks specified for the '{command}' command. Expected one network"
                    ),
                );
            }
            let Some(net) = list[0].as_object() else {
                return answer(
                    1,
                    format!(
                        "invalid network information specified for the'{command}' command. Expected a map"
                    ),
                );
            };
            let Some(name) = net.get("name").and_then(Value::as_str) else {
                let pos = kea_position(
                    raw,
                    &[
                        Seg::Key("arguments"),
                        Seg::Key("shared-networks"),
                        Seg::Index(0),
                    ],
                );
                return answer(1, format!("missing parameter 'name' ({pos})"));
            };
            if self.network_index(name).is_some() {
                return answer(
                    1,
                    format!("a shared network with name '{name}' already exists"),
                );
            }
            let mut stored = net.clone();
            let mut subnets = Vec::new();
            for (j, s) in array(net, "subnet4").iter().enumerate() {
                let Some(s) = s.as_object() else {
                    return answer(1, "a subnet of the shared network is not a map");
                };
                let path = [
                    Seg::Key("arguments"),
                    Seg::Key("shared-networks"),
                    Seg::Index(0),
                    Seg::Key("subnet4"),
                    Seg::Index(j),
                ];
                let s = match Self::parse_subnet(s, raw, &path) {
                    Ok(s) => s,
                    Err(t) => return answer(1, t),
                };
                if let Err(t) = self.check_new_subnet(&s) {
                    return answer(1, t);
                }
                subnets.push(Value::Object(s));
            }
            stored.insert("subnet4".into(), Value::Array(subnets));
            array_mut(&mut self.dhcp4, "shared-networks").push(Value::Object(stored));
            with_args(
                0,
                format!("A new IPv4 shared network '{name}' added"),
                json!({ "shared-networks": [{ "name": name }] }),
            )
        }

        fn network_del(&mut self, args: Option<&Value>) -> Value {
            let command = "network4-del";
            let a = match Self::name_argument(command, args) {
                Ok(a) => a,
                Err(t) => return answer(1, t),
            };
            let name = match a.get("name") {
                None => {
                    return answer(
                        1,
                        format!("network name ('name') is required for the '{command}' command"),
                    );
                }
                Some(Value::String(n)) => n.clone(),
                Some(_) => {
                    return answer(
                        1,
                        format!(
                            "network name ('name') specified for the '{command}' is not a string"
                        ),
                    );
                }
            };
            let delete = match a.get("subnets-action") {
                None => false,
                Some(Value::String(s)) if s == "keep" => false,
                Some(Value::String(s)) if s == "delete" => true,
                Some(Value::String(s)) => {
                    return answer(
                        1,
                        format!(
                            "Invalid value for subnets-action parameter: {s}, Supported values: 'keep' and 'delete'."
                        ),
                    );
                }
                Some(_) => {
                    return answer(
                        1,
                        format!(
                            "subnets-action parameter for {command} command must be a string. Supported values are: 'keep' and 'delete'."
                        ),
                    );
                }
            };
            let Some(n) = self.network_index(&name) else {
                return answer(3, format!("no shared network with name '{name}' found"));
            };
            let net = array_mut(&mut self.dhcp4, "shared-networks").remove(n);
            if !delete {
                let subnets = array(net.as_object().expect("a network map"), "subnet4").to_vec();
                array_mut(&mut self.dhcp4, "subnet4").extend(subnets);
            }
            with_args(
                0,
                format!("IPv4 shared network '{name}' deleted"),
                json!({ "shared-networks": [{ "name": name }] }),
            )
        }

        /// `network4-subnet-add` (`join`) / `network4-subnet-del`.
        fn network_subnet(&mut self, command: &str, args: Option<&Value>, join: bool) -> Value {
            let a = match Self::name_argument(command, args) {
                Ok(a) => a,
                Err(t) => return answer(1, t),
            };
            let name = match a.get("name") {
                None => {
                    return answer(
                        1,
                        format!("missing 'name' argument for the '{command}' command"),
                    );
                }
                Some(Value::String(n)) => n.clone(),
                Some(_) => {
                    return answer(
                        1,
                        format!(
                            "'name' argument specified for the '{command}' command is not a string"
                        ),
                    );
                }
            };
            let id = match a.get("id") {
                None => {
                    return answer(
                        1,
                        format!("missing 'id' argument for the '{command}' command"),
                    );
                }
                Some(v) => match v.as_u64() {
                    Some(i) => i,
                    // Sic: Kea names 'name' here.
                    None => {
                        return answer(
                            1,
                            format!(
                                "'name' argument specified for the '{command}' command is not an integer"
                            ),
                        );
                    }
                },
            };
            let Some(n) = self.network_index(&name) else {
                return answer(
                    3,
                    format!("no IPv4 shared network with name '{name}' found"),
                );
            };
            if join {
                let Some(loc) = self.find_id(id) else {
                    return answer(3, format!("no IPv4 subnet with id '{id}' found"));
                };
                if matches!(loc, Loc::Net(..)) {
                    return answer(
                        1,
                        format!(
                            "subnet {id} being added to a shared network already belongs to a shared network"
                        ),
                    );
                }
                let s = self.remove_at(loc);
                let prefix = prefix_of(&s);
                let net = array_mut(&mut self.dhcp4, "shared-networks")[n]
                    .as_object_mut()
                    .expect("a network map");
                array_mut(net, "subnet4").push(Value::Object(s));
                answer(
                    0,
                    format!(
                        "IPv4 subnet {prefix} (id {id}) is now part of shared network '{name}'"
                    ),
                )
            } else {
                let inside = self.locs().into_iter().find(|l| {
                    matches!(l, Loc::Net(m, _) if *m == n)
                        && self.subnet_at(*l).get("id").and_then(Value::as_u64) == Some(id)
                });
                let Some(loc) = inside else {
                    return answer(
                        3,
                        format!(
                            "The IPv4 subnet with id {id} is not part of the shared network with name '{name}' found"
                        ),
                    );
                };
                let s = self.remove_at(loc);
                let prefix = prefix_of(&s);
                array_mut(&mut self.dhcp4, "subnet4").push(Value::Object(s));
                answer(
                    0,
                    format!(
                        "IPv4 subnet {prefix} (id {id}) is now removed from shared network '{name}'"
                    ),
                )
            }
        }

        // --- Classes ------------------------------------------------------------------------

        fn class_index(&self, name: &str) -> Option<usize> {
            array(&self.dhcp4, "client-classes")
                .iter()
                .position(|c| c.get("name").and_then(Value::as_str) == Some(name))
        }

        fn class_names(&self) -> Vec<String> {
            array(&self.dhcp4, "client-classes")
                .iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        }

        fn class_list(&self) -> Value {
            let names: Vec<Value> = self
                .class_names()
                .into_iter()
                .map(|n| json!({ "name": n }))
                .collect();
            let n = names.len();
            let text = format!("{n} class{} found", if n == 1 { "" } else { "es" });
            with_args(
                if n == 0 { 3 } else { 0 },
                text,
                json!({ "client-classes": names }),
            )
        }

        fn class_name_argument(command: &str, args: Option<&Value>) -> Result<String, String> {
            let a = Self::name_argument(command, args)?;
            if a.len() != 1 {
                return Err(format!(
                    "invalid number of arguments {} for the '{command}' command. Expecting 'name' string",
                    a.len()
                ));
            }
            match a.get("name") {
                None => Err(format!(
                    "missing 'name' argument for the '{command}' command"
                )),
                Some(Value::String(n)) => Ok(n.clone()),
                Some(_) => Err(format!(
                    "'name' argument specified for the '{command}' command is not a string"
                )),
            }
        }

        fn class_get(&self, args: Option<&Value>) -> Value {
            let name = match Self::class_name_argument("class-get", args) {
                Ok(n) => n,
                Err(t) => return answer(1, t),
            };
            match self.class_index(&name) {
                Some(i) => with_args(
                    0,
                    format!("Class '{name}' definition returned"),
                    json!({
                        "client-classes": [self.render_class(&array(&self.dhcp4, "client-classes")[i])]
                    }),
                ),
                None => answer(3, format!("Class '{name}' not found")),
            }
        }

        /// The one class map of a `class-add` / `class-update` command.
        fn class_argument<'a>(
            command: &str,
            args: Option<&'a Value>,
        ) -> Result<&'a Map<String, Value>, String> {
            let a = Self::name_argument(command, args)?;
            if a.len() != 1 {
                return Err(format!(
                    "invalid number of arguments {} for the '{command}' command. Expecting 'client-classes' list",
                    a.len()
                ));
            }
            let list = match a.get("client-classes") {
                None => {
                    return Err(format!(
                        "missing 'client-classes' argument for the '{command}' command"
                    ));
                }
                Some(Value::Array(l)) => l,
                Some(_) => {
                    return Err(format!(
                        "'client-classes' argument specified for the '{command}' command is not a list"
                    ));
                }
            };
            if list.len() != 1 {
                return Err(format!(
                    "invalid number of classes specified for the '{command}' command. Expected one class"
                ));
            }
            list[0].as_object().ok_or_else(|| {
                format!(
                    "invalid class definition specified for the '{command}' command. Expected a map"
                )
            })
        }

        fn check_parameters(c: &Map<String, Value>) -> Result<(), String> {
            match c.keys().find(|k| !CLASS_PARAMETERS.contains(&k.as_str())) {
                Some(k) => Err(format!("unsupported client class parameter '{k}'")),
                None => Ok(()),
            }
        }

        /// Kea's class parser: a name, and a `test` that parses with the classes defined
        /// before this one.
        fn parse_class(
            c: &Map<String, Value>,
            raw: &str,
            known: &[String],
        ) -> Result<String, String> {
            let class_path = [
                Seg::Key("arguments"),
                Seg::Key("client-classes"),
                Seg::Index(0),
            ];
            let Some(name) = c.get("name").and_then(Value::as_str) else {
                return Err(format!(
                    "missing parameter 'name' ({})",
                    kea_position(raw, &class_path)
                ));
            };
            if let Some(test) = c.get("test").and_then(Value::as_str)
                && !test.is_empty()
            {
                let defined = |n: &str| builtin_class(n) || known.iter().any(|k| k == n);
                if let Err(e) = check_expression(test, &defined) {
                    let pos = kea_position(
                        raw,
                        &[
                            Seg::Key("arguments"),
                            Seg::Key("client-classes"),
                            Seg::Index(0),
                            Seg::Key("test"),
                        ],
                    );
                    return Err(format!("expression: [{test}] error: {e} at ({pos})"));
                }
            }
            Ok(name.to_string())
        }

        fn class_add(&mut self, args: Option<&Value>, raw: &str) -> Value {
            let c = match Self::class_argument("class-add", args) {
                Ok(c) => c,
                Err(t) => return answer(1, t),
            };
            if let Err(t) = Self::check_parameters(c) {
                return answer(1, t);
            }
            let name = match Self::parse_class(c, raw, &self.class_names()) {
                Ok(n) => n,
                Err(t) => return answer(1, t),
            };
            if self.class_index(&name).is_some() {
                return answer(
                    1,
                    format!("Can't add class: Client Class: {name} has already been defined"),
                );
            }
            array_mut(&mut self.dhcp4, "client-classes").push(Value::Object(c.clone()));
            answer(0, format!("Class '{name}' added"))
        }

        fn class_update(&mut self, args: Option<&Value>, raw: &str) -> Value {
            let c = match Self::class_argument("class-update", args) {
                Ok(c) => c,
                Err(t) => return answer(1, t),
            };
            let Some(name) = c.get("name").and_then(Value::as_str) else {
                return answer(
                    1,
                    "the first class definition is missing a mandatory 'name' parameter",
                );
            };
            if let Err(t) = Self::check_parameters(c) {
                return answer(1, t);
            }
            let Some(i) = self.class_index(name) else {
                return answer(3, format!("Class '{name}' is not found"));
            };
            let before: Vec<String> = self.class_names().into_iter().take(i).collect();
            if let Err(t) = Self::parse_class(c, raw, &before) {
                return answer(1, t);
            }
            let name = name.to_string();
            array_mut(&mut self.dhcp4, "client-classes")[i] = Value::Object(c.clone());
            answer(0, format!("Class '{name}' updated"))
        }

        /// `class-del`: refused while another class's test names it (`member('x')`); a pool
        /// or subnet that still names it does not stop it (Kea 3.2 checks only classes).
        fn class_del(&mut self, args: Option<&Value>) -> Value {
            let name = match Self::class_name_argument("class-del", args) {
                Ok(n) => n,
                Err(t) => return answer(1, t),
            };
            let Some(i) = self.class_index(&name) else {
                return answer(3, format!("Class '{name}' not found"));
            };
            let user = array(&self.dhcp4, "client-classes").iter().find_map(|c| {
                let other = c.get("name").and_then(Value::as_str)?;
                let test = c.get("test").and_then(Value::as_str).unwrap_or("");
                (other != name && members(test).contains(&name)).then(|| other.to_string())
            });
            if let Some(other) = user {
                return answer(1, format!("Class '{name}' is used by class '{other}'"));
            }
            array_mut(&mut self.dhcp4, "client-classes").remove(i);
            answer(0, format!("Class '{name}' deleted"))
        }
    }
}
