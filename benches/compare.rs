//! `cargo bench --bench compare`: keascript against its baselines, side by side, measured in
//! the same run on real Kea labs started here (issue 8). Prints the machine, then one table
//! of medians and ratios. Results and a reading of them: `benches/RESULTS.md`.
//!
//! Cases (run a subset with `cargo bench --bench compare -- 1 3`):
//! 1. per-command overhead: 2,000 `status-get`, keascript vs a reqwest keep-alive loop, a raw
//!    UNIX-socket loop and `kea-shell`;
//! 2. adding one subnet to 1,000 / 10,000 subnets: keascript vs `curl | jq | curl`, and vs
//!    Kea's own time for the commands;
//! 3. walking 100,000 leases: keascript's iterator vs a raw `lease4-get-page` loop; peak RSS;
//! 4. a `global` class on 1, 4 and 8 servers;
//! 5. file saved → `config-reload` received by Kea (`keascript daemon`), minus the debounce;
//! 6. start-up: `keascript run` of an empty script, `keascript repl` to its first prompt;
//! 7. (Kea 3.0) the hook path beside the config path;
//! 8. importing 10,000 reservations from a CSV file vs `config-get | jq | config-set`;
//! 9. a fleet run: `add_class` on 1, 8 and 32 dhcp4-only labs with `--parallel 8`, vs a raw
//!    parallel client sending the same commands to the same servers;
//! 10. a change with 5,000 finished journal records in the state folder vs none, and the scan
//!     for changes in flight vs reading every record (what that scan did before `inflight/`).
//!
//! Only 127.0.0.1 is used; every process is started here and stopped by its PID.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use keascript::lab::{Lab, LabOptions};
use serde_json::{Value, json};

/// The keascript binary under test: the one cargo built for this bench, or
/// `$KEASCRIPT_BENCH_BIN` (to compare another build in the same harness). Case 9 also runs
/// `$KEASCRIPT_BENCH_BASE`, when set, alternately with it (an A/B in the same minutes).
fn ks_bin() -> String {
    std::env::var("KEASCRIPT_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_keascript").into())
}
const BENCHES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches");

// ---------------------------------------------------------------------------------------
// Statistics and the table

#[derive(Clone, Copy, Debug)]
struct Stat {
    med: f64,
    min: f64,
    max: f64,
    n: usize,
}

fn stat(v: &[f64]) -> Stat {
    assert!(!v.is_empty(), "no samples");
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    let med = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Stat {
        med,
        min: s[0],
        max: s[n - 1],
        n,
    }
}

/// Seconds as a readable duration.
fn dur(s: f64) -> String {
    let us = s * 1e6;
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 10_000.0 {
        format!("{:.3} ms", us / 1000.0)
    } else if us < 1_000_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{:.2} s", s)
    }
}

fn mib(kb: f64) -> String {
    format!("{:.1} MiB", kb / 1024.0)
}

fn ratio(a: f64, b: f64, of: &str) -> String {
    format!("{:.2}× {of}", a / b)
}

struct Table {
    rows: Vec<[String; 5]>,
}

impl Table {
    /// One row: case, what, median, spread (min–max, n), ratio.
    fn row(&mut self, case: &str, what: &str, s: Stat, fmt: fn(f64) -> String, ratio: String) {
        let spread = if s.n > 1 {
            format!("{}–{} (n={})", fmt(s.min), fmt(s.max), s.n)
        } else {
            "n=1".into()
        };
        let r = [
            case.to_string(),
            what.to_string(),
            fmt(s.med),
            spread,
            ratio,
        ];
        eprintln!("  {} | {} | {} | {} | {}", r[0], r[1], r[2], r[3], r[4]);
        self.rows.push(r);
    }

    fn text(&mut self, case: &str, what: &str, value: &str) {
        let r = [
            case.to_string(),
            what.to_string(),
            value.to_string(),
            String::new(),
            String::new(),
        ];
        eprintln!("  {} | {} | {}", r[0], r[1], r[2]);
        self.rows.push(r);
    }

    fn print(&self) {
        println!("| # | measurement | median | min–max | ratio |");
        println!("|---|---|---:|---|---|");
        for r in &self.rows {
            println!("| {} | {} | {} | {} | {} |", r[0], r[1], r[2], r[3], r[4]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Processes

/// One finished child process.
struct Run {
    wall: f64,
    /// user + system CPU seconds of the child (and of what it waited for).
    cpu: f64,
    /// Peak RSS from polling `VmHWM` in `/proc/PID/status` (KiB; 0 if not polled).
    hwm_kb: f64,
    out: String,
    err: String,
}

impl Run {
    /// A `key=value` the script printed.
    fn value(&self, key: &str) -> f64 {
        let prefix = format!("{key}=");
        self.out
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&prefix))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key}= in the output:\n{}\n{}", self.out, self.err))
    }
}

fn read_hwm(path: &str) -> Option<u64> {
    let s = std::fs::read_to_string(path).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `cmd` to its end (stdin from `stdin` or /dev/null), reaping it with `wait4` for its
/// own CPU time (and, with `poll_hwm`, polling its peak RSS). Panics, with its output, when
/// it fails.
fn run(cmd: &mut Command, stdin: Option<&[u8]>, poll_hwm: bool) -> Run {
    let mut out = tempfile::tempfile().expect("temp file");
    let mut err = tempfile::tempfile().expect("temp file");
    let input = match stdin {
        Some(data) => {
            let mut f = tempfile::tempfile().expect("temp file");
            f.write_all(data).expect("write stdin");
            f.rewind().expect("rewind");
            Stdio::from(f)
        }
        None => Stdio::null(),
    };
    cmd.stdin(input)
        .stdout(out.try_clone().expect("dup"))
        .stderr(err.try_clone().expect("dup"));
    let t0 = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let pid = child.id() as i32;
    let stop = Arc::new(AtomicBool::new(false));
    let hwm = Arc::new(AtomicU64::new(0));
    let poller = poll_hwm.then(|| {
        let (stop, hwm) = (stop.clone(), hwm.clone());
        std::thread::spawn(move || {
            let path = format!("/proc/{pid}/status");
            while !stop.load(Ordering::Relaxed) {
                if let Some(kb) = read_hwm(&path) {
                    hwm.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    });
    let mut status = 0;
    // SAFETY: plain FFI call on our own child's PID with valid out-pointers.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    if let Some(p) = poller {
        let _ = p.join();
    }
    drop(child); // reaped above; dropping a std Child does not wait
    assert_eq!(r, pid, "wait4 failed: {}", std::io::Error::last_os_error());
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let read = |f: &mut File| {
        let mut s = String::new();
        f.rewind().expect("rewind");
        f.read_to_string(&mut s).expect("read output");
        s
    };
    let run = Run {
        wall,
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        hwm_kb: hwm.load(Ordering::Relaxed) as f64,
        out: read(&mut out),
        err: read(&mut err),
    };
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    assert!(
        ok,
        "{cmd:?} failed (wait status {status}):\n--- stdout\n{}\n--- stderr\n{}",
        run.out, run.err
    );
    run
}

/// `keascript --config INVENTORY ARGS…` with its own state directory.
fn ks(b: &Bench, inventory: &Path, args: &[&str]) -> Command {
    ks_of(ks_bin(), b, inventory, args)
}

/// [`ks`] with another keascript binary.
fn ks_of(bin: impl AsRef<std::ffi::OsStr>, b: &Bench, inventory: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.env_remove("KEASCRIPT_CONFIG")
        .env_remove("KEASCRIPT_LOG")
        .env_remove("JOURNAL_STREAM")
        .env("KEASCRIPT_STATE_DIR", b.dir.path().join("state"))
        .env("NO_COLOR", "1")
        .arg("--config")
        .arg(inventory)
        .args(args);
    c
}

// ---------------------------------------------------------------------------------------
// Raw clients: the floors

/// One command over a UNIX control socket: connect, send, read to EOF, parse.
fn unix_cmd(path: &Path, body: &[u8]) -> Value {
    let mut s = UnixStream::connect(path).expect("connect to the control socket");
    s.write_all(body).expect("send");
    let mut buf = Vec::with_capacity(64 * 1024);
    s.read_to_end(&mut buf).expect("read the answer");
    serde_json::from_slice(&buf).expect("JSON answer")
}

async fn http_cmd(client: &reqwest::Client, url: &str, body: &[u8]) -> Value {
    let r = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .expect("POST to the agent");
    let bytes = r.bytes().await.expect("read the answer");
    let v: Value = serde_json::from_slice(&bytes).expect("JSON answer");
    v.get(0).cloned().unwrap_or(v)
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(600))
        .build()
        .expect("reqwest client")
}

/// `n` status-get through keascript's own transport (the library, no script engine),
/// driven by `block_on` from this thread, as a script drives it. Seconds per command.
fn ks_transport_loop(rt: &tokio::runtime::Runtime, address: &str, daemon: bool, n: usize) -> f64 {
    use keascript::transport::{Endpoint, Request, Transport, TransportOptions};
    let ep = Endpoint::parse(address, daemon).expect("endpoint");
    let t = Transport::new(ep, TransportOptions::default()).expect("transport");
    let req = Request::new("status-get").service(Some("dhcp4"));
    let once = || {
        let a = rt.block_on(t.send(&req)).expect("status-get");
        assert_eq!(a.result, 0);
    };
    once();
    let start = Instant::now();
    for _ in 0..n {
        once();
    }
    start.elapsed().as_secs_f64() / n as f64
}

fn result(v: &Value) -> i64 {
    v["result"].as_i64().unwrap_or(-1)
}

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("JSON")
}

// ---------------------------------------------------------------------------------------
// The bench

struct Bench {
    rt: tokio::runtime::Runtime,
    /// A current-thread runtime for the reqwest floors (the cheapest way to drive reqwest).
    floor_rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    table: Table,
}

impl Bench {
    fn lab(&self, options: LabOptions) -> Lab {
        let t = Instant::now();
        let lab = self
            .rt
            .block_on(Lab::start(options.clone()))
            .unwrap_or_else(|e| panic!("cannot start a Kea lab: {e}"));
        eprintln!(
            "  (lab up in {} at {}: {} extra subnets, {} leases)",
            dur(t.elapsed().as_secs_f64()),
            lab.url(),
            options.extra_subnets4,
            options.leases4
        );
        lab
    }

    fn script(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write script");
        p
    }
}

const STATUS_RHAI: &str = r#"
let n = parse_int(args[0]);
let v4 = kea().dhcp4;
v4.status();
let t = timestamp();
for i in 0..n { v4.status(); }
print(`elapsed_s=${t.elapsed}`);
"#;

const ADD_SUBNET_RHAI: &str = r#"
let p = args[0];
kea().dhcp4.add_subnet(#{ subnet: `${p}.0/24`, pools: [`${p}.10-${p}.200`] });
"#;

const LEASES_RHAI: &str = r#"
let t = timestamp();
let n = 0;
for l in kea().dhcp4.leases() { n += 1; }
print(`elapsed_s=${t.elapsed} n=${n}`);
"#;

const GLOBAL_CLASS_RHAI: &str = r#"
kea().dhcp4.add_class(#{ name: args[0], test: "option[93].exists", global: true });
"#;

/// Case 7: one subnet added to 10,000 on a real Kea 3.0 with the subnet_cmds hook: the hook
/// path (`subnet4-add` + `config-write`) beside the config path (`config-set` +
/// `config-write`, `config_path_only = true`) on the same server, in the same run. The Kea
/// 3.0 folder is `$KEASCRIPT_KEA3_BIN_DIR`, else the one `contrib/kea3/prepare.sh` makes.
fn case7(b: &mut Bench) {
    eprintln!("case 7: add one subnet to 10,000 on Kea 3.0, hook path vs config path");
    let bin = std::env::var_os("KEASCRIPT_KEA3_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/keascript/kea-3.0/keascript-bin"));
    if !bin.join("kea-dhcp4").is_file() {
        b.table.text(
            "7",
            "Kea 3.0 hook path vs config path",
            "skipped: no Kea 3.0 (run contrib/kea3/prepare.sh)",
        );
        return;
    }
    let before = std::env::var_os("KEASCRIPT_KEA_BIN_DIR");
    // SAFETY: set while no other thread of this process reads the environment (the lab
    // reads it right here, on this thread).
    unsafe { std::env::set_var("KEASCRIPT_KEA_BIN_DIR", &bin) };
    let lab = b.lab(LabOptions {
        extra_subnets4: 10_000,
        ..Default::default()
    });
    match before {
        // SAFETY: as above.
        Some(v) => unsafe { std::env::set_var("KEASCRIPT_KEA_BIN_DIR", v) },
        None => unsafe { std::env::remove_var("KEASCRIPT_KEA_BIN_DIR") },
    }
    // The lab's `lab` entry (its daemons' own HTTP sockets), twice: once as it is, once with
    // the hooks forbidden.
    let text = std::fs::read_to_string(lab.inventory()).expect("lab inventory");
    let entry: String = text
        .split("\n[")
        .find(|sec| sec.starts_with("servers.lab]"))
        .expect("the lab entry")
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect();
    let inv = b.dir.path().join("kea3-paths.toml");
    std::fs::write(
        &inv,
        format!(
            "default = \"hook\"\n[servers.hook]\n{entry}\n[servers.config]\n{entry}config_path_only = true\n"
        ),
    )
    .expect("inventory");
    let script = b.script("add-subnet.rhai", ADD_SUBNET_RHAI);
    let (mut hook, mut hook_cpu, mut config, mut config_cpu) = (vec![], vec![], vec![], vec![]);
    for j in 0..3 {
        for (server, prefix, wall, cpu) in [
            ("hook", format!("100.70.{j}"), &mut hook, &mut hook_cpu),
            (
                "config",
                format!("100.71.{j}"),
                &mut config,
                &mut config_cpu,
            ),
        ] {
            let r = run(
                &mut ks(
                    b,
                    &inv,
                    &[
                        "run",
                        "--server",
                        server,
                        script.to_str().unwrap(),
                        "--",
                        &prefix,
                    ],
                ),
                None,
                false,
            );
            wall.push(r.wall);
            cpu.push(r.cpu);
        }
    }
    let (h, c) = (stat(&hook), stat(&config));
    let ratio_hc = ratio(h.med, c.med, "the config path");
    let t = &mut b.table;
    t.row(
        "7 (Kea 3.0, 10k)",
        "hook path: subnet4-add + config-write, wall",
        h,
        dur,
        ratio_hc,
    );
    t.row(
        "7 (Kea 3.0, 10k)",
        "config path: config-set + config-write, wall",
        c,
        dur,
        String::new(),
    );
    t.row(
        "7 (Kea 3.0, 10k)",
        "keascript CPU, hook path / config path",
        stat(&hook_cpu),
        dur,
        ratio(
            stat(&hook_cpu).med,
            stat(&config_cpu).med,
            "the config path's",
        ),
    );
}

/// Case 1: 2,000 sequential `status-get`.
fn case1(b: &mut Bench) {
    eprintln!("case 1: per-command overhead (2,000 status-get)");
    const N: usize = 2000;
    let lab = b.lab(LabOptions::default());
    let inv = lab.inventory().to_path_buf();
    let script = b.script("status.rhai", STATUS_RHAI);
    let n = N.to_string();
    let url = lab.url();
    let sock = lab.socket("dhcp4");

    // Through the Control Agent.
    let (mut ks_in, mut ks_proc, mut floor) = (vec![], vec![], vec![]);
    for _ in 0..3 {
        let r = run(
            &mut ks(b, &inv, &["run", script.to_str().unwrap(), "--", &n]),
            None,
            false,
        );
        ks_in.push(r.value("elapsed_s") / N as f64);
        ks_proc.push(r.wall);
        let req = body(&json!({"command": "status-get", "service": ["dhcp4"]}));
        let t = b.floor_rt.block_on(async {
            let client = http_client();
            assert_eq!(result(&http_cmd(&client, &url, &req).await), 0);
            let t = Instant::now();
            for _ in 0..N {
                let v = http_cmd(&client, &url, &req).await;
                assert_eq!(result(&v), 0);
            }
            t.elapsed().as_secs_f64()
        });
        floor.push(t / N as f64);
    }
    // Where the difference goes: keascript's transport alone, on a runtime like the one
    // `keascript run` builds (2 workers, block_on from the script's thread), and on a
    // current-thread runtime.
    let (mut lib_mt, mut lib_ct) = (vec![], vec![]);
    for _ in 0..3 {
        lib_mt.push(ks_transport_loop(&b.rt, &url, false, N));
        lib_ct.push(ks_transport_loop(&b.floor_rt, &url, false, N));
    }
    let mut shell = vec![];
    let port = lab.ca_port.to_string();
    for _ in 0..30 {
        let r = run(
            Command::new("kea-shell").args([
                "--host",
                "127.0.0.1",
                "--port",
                &port,
                "--service",
                "dhcp4",
                "status-get",
            ]),
            None,
            false,
        );
        assert!(r.out.contains("\"result\": 0"), "kea-shell: {}", r.out);
        shell.push(r.wall);
    }
    let (k, f, s) = (stat(&ks_in), stat(&floor), stat(&shell));
    let t = &mut b.table;
    t.row(
        "1",
        "CA: keascript script loop, per command",
        k,
        dur,
        ratio(k.med, f.med, "floor"),
    );
    t.row(
        "1",
        "CA: reqwest keep-alive loop, per command (floor)",
        f,
        dur,
        String::new(),
    );
    t.row(
        "1",
        "CA: kea-shell, per command (30 calls)",
        s,
        dur,
        ratio(s.med, k.med, "keascript"),
    );
    let (lm, lc) = (stat(&lib_mt), stat(&lib_ct));
    t.row(
        "1",
        "CA: keascript transport (library, no script), 2-worker runtime, per command",
        lm,
        dur,
        ratio(lm.med, f.med, "floor"),
    );
    t.row(
        "1",
        "CA: keascript transport (library, no script), current-thread runtime, per command",
        lc,
        dur,
        ratio(lc.med, f.med, "floor"),
    );
    let kp = stat(&ks_proc);
    t.row(
        "1",
        "CA: keascript whole process, 2,000 commands",
        kp,
        dur,
        ratio(kp.med, f.med * N as f64, "floor loop"),
    );

    // Over the UNIX socket.
    let (mut ks_in, mut ks_proc, mut floor) = (vec![], vec![], vec![]);
    let req = body(&json!({"command": "status-get"}));
    for _ in 0..5 {
        let r = run(
            &mut ks(
                b,
                &inv,
                &[
                    "run",
                    "--server",
                    "lab-unix",
                    script.to_str().unwrap(),
                    "--",
                    &n,
                ],
            ),
            None,
            false,
        );
        ks_in.push(r.value("elapsed_s") / N as f64);
        ks_proc.push(r.wall);
        assert_eq!(result(&unix_cmd(&sock, &req)), 0);
        let t = Instant::now();
        for _ in 0..N {
            assert_eq!(result(&unix_cmd(&sock, &req)), 0);
        }
        floor.push(t.elapsed().as_secs_f64() / N as f64);
    }
    let (k, f, kp) = (stat(&ks_in), stat(&floor), stat(&ks_proc));
    let t = &mut b.table;
    t.row(
        "1",
        "UNIX: keascript script loop, per command",
        k,
        dur,
        ratio(k.med, f.med, "floor"),
    );
    t.row(
        "1",
        "UNIX: raw socket loop (connection per command), per command (floor)",
        f,
        dur,
        String::new(),
    );
    let address = format!("unix:{}", sock.display());
    let (mut lib_mt, mut lib_ct) = (vec![], vec![]);
    for _ in 0..5 {
        lib_mt.push(ks_transport_loop(&b.rt, &address, true, N));
        lib_ct.push(ks_transport_loop(&b.floor_rt, &address, true, N));
    }
    let (lm, lc) = (stat(&lib_mt), stat(&lib_ct));
    let t = &mut b.table;
    t.row(
        "1",
        "UNIX: keascript transport (library, no script), 2-worker runtime, per command",
        lm,
        dur,
        ratio(lm.med, f.med, "floor"),
    );
    t.row(
        "1",
        "UNIX: keascript transport (library, no script), current-thread runtime, per command",
        lc,
        dur,
        ratio(lc.med, f.med, "floor"),
    );
    t.row(
        "1",
        "UNIX: keascript whole process, 2,000 commands",
        kp,
        dur,
        ratio(kp.med, f.med * N as f64, "floor loop"),
    );
}

/// Kea's own time for `config-get`, `config-set` (of that configuration plus one subnet)
/// and `config-write`, by a raw client: over the UNIX socket and through the agent.
struct KeaTimes {
    get: f64,
    set: f64,
    write: f64,
    size: usize,
}

fn raw_edit_unix(sock: &Path, prefix: &str) -> KeaTimes {
    let t = Instant::now();
    let mut s = UnixStream::connect(sock).expect("connect");
    s.write_all(br#"{"command": "config-get"}"#).expect("send");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    let got: Value = serde_json::from_slice(&buf).expect("JSON");
    let get = t.elapsed().as_secs_f64();
    let cfg = with_subnet(got["arguments"].clone(), prefix);
    let set_body = body(&json!({"command": "config-set", "arguments": cfg}));
    let t = Instant::now();
    let v = unix_cmd(sock, &set_body);
    let set = t.elapsed().as_secs_f64();
    assert_eq!(result(&v), 0, "config-set: {v}");
    let t = Instant::now();
    let v = unix_cmd(sock, br#"{"command": "config-write"}"#);
    let write = t.elapsed().as_secs_f64();
    assert_eq!(result(&v), 0, "config-write: {v}");
    KeaTimes {
        get,
        set,
        write,
        size: buf.len(),
    }
}

fn raw_edit_ca(b: &Bench, url: &str, prefix: &str) -> KeaTimes {
    b.floor_rt.block_on(async {
        let client = http_client();
        let t = Instant::now();
        let got = http_cmd(
            &client,
            url,
            br#"{"command": "config-get", "service": ["dhcp4"]}"#,
        )
        .await;
        let get = t.elapsed().as_secs_f64();
        let cfg = with_subnet(got["arguments"].clone(), prefix);
        let set_body =
            body(&json!({"command": "config-set", "service": ["dhcp4"], "arguments": cfg}));
        let t = Instant::now();
        let v = http_cmd(&client, url, &set_body).await;
        let set = t.elapsed().as_secs_f64();
        assert_eq!(result(&v), 0, "config-set: {v}");
        let t = Instant::now();
        let v = http_cmd(
            &client,
            url,
            br#"{"command": "config-write", "service": ["dhcp4"]}"#,
        )
        .await;
        let write = t.elapsed().as_secs_f64();
        assert_eq!(result(&v), 0, "config-write: {v}");
        KeaTimes {
            get,
            set,
            write,
            size: set_body.len(),
        }
    })
}

/// The configuration with one more subnet `PREFIX.0/24` (next free id), `hash` removed.
fn with_subnet(mut cfg: Value, prefix: &str) -> Value {
    if let Some(m) = cfg.as_object_mut() {
        m.remove("hash");
    }
    let subnets = cfg["Dhcp4"]["subnet4"].as_array_mut().expect("subnet4");
    let id = subnets
        .iter()
        .filter_map(|s| s["id"].as_u64())
        .max()
        .unwrap_or(0)
        + 1;
    subnets.push(json!({
        "id": id, "subnet": format!("{prefix}.0/24"),
        "pools": [{ "pool": format!("{prefix}.10-{prefix}.200") }]
    }));
    cfg
}

/// Case 2: add one subnet to a configuration of 1,000 and 10,000 subnets.
fn case2(b: &mut Bench) {
    eprintln!("case 2: add one subnet to a big configuration");
    let script = b.script("add-subnet.rhai", ADD_SUBNET_RHAI);
    let by_hand = Path::new(BENCHES).join("add-subnet-by-hand.sh");
    for (size, reps) in [(1000usize, 5usize), (10_000, 3)] {
        let lab = b.lab(LabOptions {
            extra_subnets4: size,
            ..Default::default()
        });
        let inv = lab.inventory().to_path_buf();
        let url = lab.url();
        let sock = lab.socket("dhcp4");
        let (mut ks_ca, mut ks_ca_cpu, mut ks_ux, mut ks_ux_cpu, mut ks_rss) =
            (vec![], vec![], vec![], vec![], vec![]);
        let (mut hand, mut hand_cpu) = (vec![], vec![]);
        let (mut ux, mut ca) = (vec![], vec![]);
        for j in 0..reps {
            let r = run(
                &mut ks(
                    b,
                    &inv,
                    &[
                        "run",
                        script.to_str().unwrap(),
                        "--",
                        &format!("100.64.{j}"),
                    ],
                ),
                None,
                true,
            );
            ks_ca.push(r.wall);
            ks_ca_cpu.push(r.cpu);
            ks_rss.push(r.hwm_kb);
            let r = run(
                Command::new("bash")
                    .arg(&by_hand)
                    .arg(&url)
                    .arg(format!("100.65.{j}")),
                None,
                false,
            );
            hand.push(r.wall);
            hand_cpu.push(r.cpu);
            let r = run(
                &mut ks(
                    b,
                    &inv,
                    &[
                        "run",
                        "--server",
                        "lab-unix",
                        script.to_str().unwrap(),
                        "--",
                        &format!("100.66.{j}"),
                    ],
                ),
                None,
                true,
            );
            ks_ux.push(r.wall);
            ks_ux_cpu.push(r.cpu);
            ks_rss.push(r.hwm_kb);
            ux.push(raw_edit_unix(&sock, &format!("100.67.{j}")));
            ca.push(raw_edit_ca(b, &url, &format!("100.68.{j}")));
        }
        let kb = ux[0].size as f64 / 1000.0;
        let c = format!("2 ({size})");
        let col =
            |v: &[KeaTimes], f: fn(&KeaTimes) -> f64| stat(&v.iter().map(f).collect::<Vec<_>>());
        let sum = |k: &KeaTimes| k.get + k.set + k.write;
        let (kca, h, kux) = (stat(&ks_ca), stat(&hand), stat(&ks_ux));
        let (ca_sum, ux_sum) = (col(&ca, sum), col(&ux, sum));
        let (ux_set, ca_set) = (col(&ux, |k| k.set), col(&ca, |k| k.set));
        let t = &mut b.table;
        t.row(
            &c,
            "CA: keascript `run` add_subnet, wall",
            kca,
            dur,
            ratio(kca.med, h.med, "by hand"),
        );
        t.row(
            &c,
            "CA: by hand, curl config-get → jq → curl config-set → curl config-write, wall",
            h,
            dur,
            String::new(),
        );
        t.row(
            &c,
            "CA: raw Rust client, config-get + config-set + config-write (floor)",
            ca_sum,
            dur,
            format!("keascript = {}", ratio(kca.med, ca_sum.med, "floor")),
        );
        t.row(
            &c,
            "UNIX: keascript `run` add_subnet, wall",
            kux,
            dur,
            ratio(kux.med, h.med, "by hand (CA)"),
        );
        t.row(
            &c,
            "UNIX: raw Rust client, config-get + config-set + config-write (floor)",
            ux_sum,
            dur,
            format!("keascript = {}", ratio(kux.med, ux_sum.med, "floor")),
        );
        let (cpu_ca, cpu_ux) = (stat(&ks_ca_cpu), stat(&ks_ux_cpu));
        t.row(
            &c,
            "keascript CPU (user+sys), CA run",
            cpu_ca,
            dur,
            ratio(cpu_ca.med, ux_set.med, "Kea's config-set (UNIX)"),
        );
        t.row(
            &c,
            "keascript CPU (user+sys), UNIX run",
            cpu_ux,
            dur,
            ratio(cpu_ux.med, ux_set.med, "Kea's config-set (UNIX)"),
        );
        let hc = stat(&hand_cpu);
        t.row(
            &c,
            "by hand CPU (bash + curl + jq, user+sys)",
            hc,
            dur,
            String::new(),
        );
        t.row(
            &c,
            &format!("Kea config-get, UNIX ({kb:.0} kB answer)"),
            col(&ux, |k| k.get),
            dur,
            String::new(),
        );
        t.row(&c, "Kea config-set, UNIX", ux_set, dur, String::new());
        t.row(
            &c,
            "Kea config-write, UNIX",
            col(&ux, |k| k.write),
            dur,
            String::new(),
        );
        t.row(
            &c,
            "Kea config-get, CA",
            col(&ca, |k| k.get),
            dur,
            String::new(),
        );
        t.row(&c, "Kea config-set, CA", ca_set, dur, String::new());
        t.row(
            &c,
            "Kea config-write, CA",
            col(&ca, |k| k.write),
            dur,
            String::new(),
        );
        t.row(
            &c,
            "keascript peak RSS (VmHWM polled every 2 ms)",
            stat(&ks_rss),
            mib,
            String::new(),
        );
        // What keascript sent: count the commands Kea received during one keascript run.
        let log = lab.dir().join("kea-dhcp4.log");
        let before = log_lines(&log);
        run(
            &mut ks(
                b,
                &inv,
                &[
                    "run",
                    "--server",
                    "lab-unix",
                    script.to_str().unwrap(),
                    "--",
                    "100.69.0",
                ],
            ),
            None,
            false,
        );
        let cmds = commands_logged_after(&log, before);
        b.table.text(
            &c,
            "commands keascript sent for one add_subnet",
            &cmds.join(", "),
        );
    }
}

/// How many lines a Kea log has now.
fn log_lines(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .count()
}

/// The commands a Kea daemon logged as received after its log's first `before` lines.
fn commands_logged_after(log: &Path, before: usize) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .skip(before)
        .filter_map(|l| l.split("Received command '").nth(1))
        .map(|r| r.trim_end_matches('\'').to_string())
        .collect()
}

/// Walks every lease with `lease4-get-page` (limit 1000, `from` = last address).
fn raw_walk(send: &mut dyn FnMut(&[u8]) -> Value) -> usize {
    let mut from = "start".to_string();
    let mut n = 0;
    loop {
        let req = body(&json!({"command": "lease4-get-page", "service": ["dhcp4"],
                              "arguments": {"from": from, "limit": 1000}}));
        let v = send(&req);
        if result(&v) == 3 {
            break;
        }
        assert_eq!(result(&v), 0, "lease4-get-page: {v}");
        let leases = v["arguments"]["leases"].as_array().expect("leases");
        n += leases.len();
        match leases.last().and_then(|l| l["ip-address"].as_str()) {
            Some(ip) if leases.len() == 1000 => from = ip.to_string(),
            _ => break,
        }
    }
    n
}

/// Case 3: walk 100,000 leases; peak RSS at 10,000 and 100,000.
fn case3(b: &mut Bench) {
    eprintln!("case 3: lease iteration");
    let script = b.script("leases.rhai", LEASES_RHAI);
    for (count, reps) in [(10_000usize, 3usize), (100_000, 3)] {
        let lab = b.lab(LabOptions {
            leases4: count,
            ..Default::default()
        });
        let inv = lab.inventory().to_path_buf();
        let c = format!("3 ({count})");
        let mut hwm = vec![];
        for (label, server) in [("UNIX", "lab-unix"), ("CA", "lab")] {
            if count < 100_000 && server == "lab" {
                continue;
            }
            let (mut ks_in, mut ks_proc, mut floor) = (vec![], vec![], vec![]);
            for _ in 0..reps {
                let r = run(
                    &mut ks(
                        b,
                        &inv,
                        &["run", "--server", server, script.to_str().unwrap()],
                    ),
                    None,
                    true,
                );
                assert_eq!(r.value("n") as usize, count, "keascript saw every lease");
                ks_in.push(r.value("elapsed_s"));
                ks_proc.push(r.wall);
                hwm.push(r.hwm_kb);
                let t = Instant::now();
                let n = if server == "lab" {
                    let url = lab.url();
                    let rt = &b.floor_rt;
                    let client = http_client();
                    raw_walk(&mut |req| rt.block_on(http_cmd(&client, &url, req)))
                } else {
                    let sock = lab.socket("dhcp4");
                    raw_walk(&mut |req| unix_cmd(&sock, req))
                };
                floor.push(t.elapsed().as_secs_f64());
                assert_eq!(n, count, "the raw loop saw every lease");
            }
            let (k, f, kp) = (stat(&ks_in), stat(&floor), stat(&ks_proc));
            let t = &mut b.table;
            t.row(
                &c,
                &format!("{label}: keascript `for l in leases()`, in script"),
                k,
                dur,
                ratio(k.med, f.med, "floor"),
            );
            t.row(
                &c,
                &format!("{label}: raw lease4-get-page loop, limit 1000 (floor)"),
                f,
                dur,
                String::new(),
            );
            t.row(
                &c,
                &format!("{label}: keascript whole process"),
                kp,
                dur,
                String::new(),
            );
        }
        if count == 100_000 {
            lease_attribution(b, &lab, &c, reps);
        }
        // Cross-check: the kernel's own peak, under a small wrapper process.
        let wrapped = rss_of(&mut ks(
            b,
            &inv,
            &["run", "--server", "lab-unix", script.to_str().unwrap()],
        ));
        let t = &mut b.table;
        t.row(
            &c,
            "keascript peak RSS, VmHWM polled every 2 ms (all runs above)",
            stat(&hwm),
            mib,
            String::new(),
        );
        t.row(
            &c,
            "keascript peak RSS, ru_maxrss under a wrapper (UNIX run)",
            stat(&[wrapped]),
            mib,
            String::new(),
        );
    }
}

/// Where the iterator's time goes, with keascript's library over the UNIX socket on a
/// 2-worker runtime like `keascript run`'s: the pager alone in one `block_on`; one
/// `block_on` per lease (as `LeaseWalk::next` does); and the per-lease conversion to Rhai.
fn lease_attribution(b: &mut Bench, lab: &Lab, c: &str, reps: usize) {
    use keascript::kea::leases::LeasePager;
    use keascript::kea::{Server, Service};
    let server = Server::connect(
        &format!("unix:{}", lab.socket("dhcp4").display()),
        Some("dhcp4"),
        keascript::transport::TransportOptions::default(),
    )
    .expect("server");
    let svc = Service::new(Arc::new(server), "dhcp4").expect("service");
    let (mut whole, mut per_lease, mut converted, mut direct) = (vec![], vec![], vec![], vec![]);
    for _ in 0..reps {
        let mut pager = LeasePager::new(svc.clone(), None);
        let t = Instant::now();
        let n = b.rt.block_on(async {
            let mut n = 0usize;
            while pager.next().await.expect("page").is_some() {
                n += 1;
            }
            n
        });
        whole.push(t.elapsed().as_secs_f64());
        assert_eq!(n, 100_000);
        let mut pager = LeasePager::new(svc.clone(), None);
        let t = Instant::now();
        while b.rt.block_on(pager.next()).expect("page").is_some() {}
        per_lease.push(t.elapsed().as_secs_f64());
        let mut pager = LeasePager::new(svc.clone(), None);
        let t = Instant::now();
        let mut n = 0usize;
        b.rt.block_on(async {
            while let Some(l) = pager.next().await.expect("page") {
                let d = rhai::serde::to_dynamic(keascript::kea::config::to_script_keys(&l))
                    .expect("to Rhai");
                n += usize::from(d.is_map());
            }
        });
        converted.push(t.elapsed().as_secs_f64());
        assert_eq!(n, 100_000);
        let mut pager = LeasePager::new(svc.clone(), None);
        let t = Instant::now();
        let mut n = 0usize;
        b.rt.block_on(async {
            while let Some(l) = pager.next().await.expect("page") {
                n += usize::from(snake_dynamic(&l, true).is_map());
            }
        });
        direct.push(t.elapsed().as_secs_f64());
        assert_eq!(n, 100_000);
    }
    let w = stat(&whole);
    let t = &mut b.table;
    t.row(
        c,
        "UNIX: keascript LeasePager (library), whole walk in one block_on",
        w,
        dur,
        String::new(),
    );
    let p = stat(&per_lease);
    t.row(
        c,
        "UNIX: … one block_on per lease (as the script iterator does)",
        p,
        dur,
        ratio(p.med, w.med, "one block_on"),
    );
    let v = stat(&converted);
    t.row(
        c,
        "UNIX: … one block_on, plus to_script_keys + to_dynamic per lease",
        v,
        dur,
        ratio(v.med, w.med, "one block_on"),
    );
    let d = stat(&direct);
    t.row(
        c,
        "UNIX: … one block_on, plus a one-pass JSON → Rhai conversion (proposed fix, prototyped in the bench)",
        d,
        dur,
        ratio(d.med, w.med, "one block_on"),
    );
}

/// JSON → Rhai in one pass, keys in snake_case except inside `user-context` and
/// `parameters` (what `to_dynamic(&to_script_keys(v))` gives, without the intermediate
/// copy and serde's generic serializer).
fn snake_dynamic(v: &Value, rename: bool) -> rhai::Dynamic {
    use rhai::Dynamic;
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(x) => Dynamic::from_bool(*x),
        Value::Number(x) => match x.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(x.as_f64().unwrap_or(0.0)),
        },
        Value::String(x) => Dynamic::from(x.clone()),
        Value::Array(a) => {
            Dynamic::from_array(a.iter().map(|x| snake_dynamic(x, rename)).collect())
        }
        Value::Object(m) => {
            let mut out = rhai::Map::new();
            for (k, x) in m {
                let opaque = matches!(k.as_str(), "user-context" | "user_context" | "parameters");
                let key = if rename && k.contains('-') {
                    k.replace('-', "_").into()
                } else {
                    k.as_str().into()
                };
                out.insert(key, snake_dynamic(x, rename && !opaque));
            }
            Dynamic::from_map(out)
        }
    }
}

/// Case 4: one `global` class on 1, 4 and 8 servers.
fn case4(b: &mut Bench) {
    eprintln!("case 4: fan-out of a global class");
    let labs: Vec<Lab> = (0..8).map(|_| b.lab(LabOptions::default())).collect();
    let script = b.script("global-class.rhai", GLOBAL_CLASS_RHAI);
    let mut base = 0.0;
    for n in [1usize, 4, 8] {
        let inv = b.dir.path().join(format!("fanout-{n}.toml"));
        let mut text = String::from("default = \"s1\"\n");
        for (i, lab) in labs.iter().take(n).enumerate() {
            text.push_str(&format!(
                "\n[servers.s{}]\nurl = \"{}\"\n",
                i + 1,
                lab.url()
            ));
        }
        std::fs::write(&inv, text).expect("inventory");
        let pids: Vec<u32> = labs.iter().take(n).flat_map(|l| l.pids()).collect();
        let kea_cpu_before: f64 = pids.iter().map(|p| proc_cpu(*p)).sum();
        let (mut walls, mut cpu) = (vec![], vec![]);
        for j in 0..5 {
            let r = run(
                &mut ks(
                    b,
                    &inv,
                    &[
                        "run",
                        script.to_str().unwrap(),
                        "--",
                        &format!("fan-{n}-{j}"),
                    ],
                ),
                None,
                false,
            );
            walls.push(r.wall);
            cpu.push(r.cpu);
        }
        let kea_cpu = (pids.iter().map(|p| proc_cpu(*p)).sum::<f64>() - kea_cpu_before) / 5.0;
        // Every server got the class.
        for lab in labs.iter().take(n) {
            let v = unix_cmd(&lab.socket("dhcp4"), br#"{"command": "config-get"}"#);
            let classes = v["arguments"]["Dhcp4"]["client-classes"].to_string();
            assert!(
                classes.contains(&format!("fan-{n}-4")),
                "class missing on {}",
                lab.url()
            );
        }
        let s = stat(&walls);
        if n == 1 {
            base = s.med;
        }
        b.table.row(
            "4",
            &format!("keascript add_class(global) on {n} server(s), wall"),
            s,
            dur,
            if n == 1 {
                String::new()
            } else {
                ratio(s.med, base, "1 server")
            },
        );
        b.table.row(
            "4",
            &format!("… keascript CPU (user+sys) on {n} server(s)"),
            stat(&cpu),
            dur,
            String::new(),
        );
        b.table.text(
            "4",
            &format!(
                "… Kea CPU (all {} daemons of the {n} lab(s), user+sys), mean per run",
                3 * n
            ),
            &dur(kea_cpu),
        );
    }
    let url = labs[0].url();
    transport_setup(b, &url);
}

/// Where keascript's CPU per server goes: building the HTTP transport of an `http://`
/// endpoint (reqwest + rustls set up a platform verifier, which reads the system's CA
/// certificates), against the same client given a ready rustls configuration.
fn transport_setup(b: &mut Bench, url: &str) {
    use keascript::transport::{Endpoint, Transport, TransportOptions};
    let (mut now, mut fixed) = (vec![], vec![]);
    for _ in 0..21 {
        let t = Instant::now();
        let ep = Endpoint::parse(url, false).expect("endpoint");
        let tr = Transport::new(ep, TransportOptions::default()).expect("transport");
        now.push(t.elapsed().as_secs_f64());
        drop(tr);
        let t = Instant::now();
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        let c = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(4)
            .http1_only()
            .tls_backend_preconfigured(cfg)
            .build()
            .expect("client");
        fixed.push(t.elapsed().as_secs_f64());
        drop(c);
    }
    let (n, f) = (stat(&now), stat(&fixed));
    b.table.row(
        "4",
        "… keascript Transport::new for one http:// endpoint (library)",
        n,
        dur,
        String::new(),
    );
    b.table.row(
        "4",
        "… the same reqwest client with a ready rustls config, no system CA store (proposed fix)",
        f,
        dur,
        format!("{:.0}× less", n.med / f.med),
    );
}

/// user + system CPU seconds a process has used so far (`/proc/PID/stat`).
fn proc_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based).
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i)?.parse::<f64>().ok())
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / hz
}

/// Milliseconds since the epoch of a Kea log line (`2026-11-29 00:41:43.610 INFO ...`, local time).
fn kea_log_ms(line: &str) -> Option<f64> {
    use chrono::TimeZone;
    let ts = line.get(..23)?;
    let naive = chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.3f").ok()?;
    let local = chrono::Local.from_local_datetime(&naive).single()?;
    Some(local.timestamp_millis() as f64)
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
        * 1000.0
}

/// Case 5: file saved → `config-reload` received by Kea, through `keascript daemon`.
fn case5(b: &mut Bench) {
    eprintln!("case 5: trigger latency (keascript daemon)");
    let help = Command::new(ks_bin()).args(["daemon", "--help"]).output();
    if !help.is_ok_and(|o| o.status.success()) {
        b.table.text(
            "5",
            "file saved → config-reload",
            "n/a (daemon not available)",
        );
        return;
    }
    const SAVES: usize = 50;
    const DEBOUNCE_MS: f64 = 300.0;
    let lab = b.lab(LabOptions::default());
    let file = lab.config_file("dhcp4");
    let kea_log = lab.dir().join("kea-dhcp4.log");
    let daemon_log = b.dir.path().join("daemon.log");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/reload-on-change.rhai");
    let mut child = ks(
        b,
        lab.inventory(),
        &["daemon", "--debounce", "300ms", "--log", "info"],
    )
    .arg(&example)
    .arg("--")
    .arg(&file)
    .arg("dhcp4")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(File::create(&daemon_log).expect("daemon log"))
    .spawn()
    .expect("start keascript daemon");
    let pid = child.id() as i32;
    let wait = |what: &str, f: &mut dyn FnMut() -> bool| {
        let until = Instant::now() + Duration::from_secs(20);
        while !f() {
            assert!(
                Instant::now() < until,
                "timed out waiting for {what}; daemon log:\n{}",
                std::fs::read_to_string(&daemon_log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    wait("the daemon to start", &mut || {
        std::fs::read_to_string(&daemon_log).is_ok_and(|l| l.contains("daemon started"))
    });
    let received = |command: &str| -> Vec<f64> {
        let needle = format!("Received command '{command}'");
        std::fs::read_to_string(&kea_log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&needle))
            .filter_map(kea_log_ms)
            .collect()
    };
    let mut cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("config")).expect("JSON");
    let (mut lat, mut to_test, mut test_to_reload) = (vec![], vec![], vec![]);
    for i in 0..SAVES {
        let (seen, tests) = (
            received("config-reload").len(),
            received("config-test").len(),
        );
        cfg["Dhcp4"]["valid-lifetime"] = json!(4001 + i);
        let text = serde_json::to_string_pretty(&cfg).expect("JSON");
        std::fs::write(&file, text).expect("save");
        let saved = now_ms();
        let mut got = None;
        wait("config-reload in Kea's log", &mut || {
            let r = received("config-reload");
            if r.len() > seen {
                got = Some(r[seen]);
                true
            } else {
                false
            }
        });
        let reload = got.expect("reload time");
        lat.push((reload - saved - DEBOUNCE_MS) / 1000.0);
        if let Some(test) = received("config-test").get(tests) {
            to_test.push((test - saved - DEBOUNCE_MS) / 1000.0);
            test_to_reload.push((reload - test) / 1000.0);
        }
        // Let the reload finish, and vary the phase of the next save against the
        // debouncer's clock (it checks every debounce/4 = 75 ms): 150–249 ms.
        std::thread::sleep(Duration::from_millis(150 + (i as u64 * 37) % 100));
    }
    // SIGTERM to the daemon we started, then reap it.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let until = Instant::now() + Duration::from_secs(15);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let s = stat(&lat);
    let max = dur(s.max);
    b.table.row(
        "5",
        &format!(
            "file saved → config-reload received by Kea, minus the 300 ms debounce ({SAVES} saves; max {max})"
        ),
        s,
        dur,
        String::new(),
    );
    if !to_test.is_empty() {
        b.table.row(
            "5",
            "… of which: saved → config-test received, minus the debounce (debouncer tick, file read)",
            stat(&to_test),
            dur,
            String::new(),
        );
        b.table.row(
            "5",
            "… of which: config-test received → config-reload received (Kea's test, round trips)",
            stat(&test_to_reload),
            dur,
            String::new(),
        );
    }
}

/// Case 6: start-up.
fn case6(b: &mut Bench) {
    eprintln!("case 6: start-up");
    let lab = b.lab(LabOptions::default());
    let inv = lab.inventory().to_path_buf();
    let empty = b.script("empty.rhai", "// nothing\n");
    let mut walls = vec![];
    for _ in 0..21 {
        let r = run(
            &mut ks(b, &inv, &["run", empty.to_str().unwrap()]),
            None,
            false,
        );
        walls.push(r.wall);
    }
    let rss: Vec<f64> = (0..5)
        .map(|_| rss_of(&mut ks(b, &inv, &["run", empty.to_str().unwrap()])))
        .collect();
    b.table.row(
        "6",
        "`keascript run` of an empty script, wall",
        stat(&walls),
        dur,
        String::new(),
    );
    b.table.row(
        "6",
        "`keascript run` of an empty script, peak RSS (ru_maxrss under a wrapper)",
        stat(&rss),
        mib,
        String::new(),
    );

    let help = Command::new(ks_bin()).args(["repl", "--help"]).output();
    if !help.is_ok_and(|o| o.status.success()) {
        b.table.text(
            "6",
            "`keascript repl` to the first prompt",
            "n/a (repl not available)",
        );
        return;
    }
    let mut piped = vec![];
    for _ in 0..21 {
        let r = run(&mut ks(b, &inv, &["repl"]), Some(b"\n"), false);
        piped.push(r.wall);
    }
    let mut pty = vec![];
    for _ in 0..21 {
        let mut cmd = ks(b, &inv, &["repl"]);
        cmd.env("TERM", "xterm");
        pty.push(pty_until(cmd, "kea> "));
    }
    b.table.row(
        "6",
        "`keascript repl` under a pty, spawn → first prompt",
        stat(&pty),
        dur,
        String::new(),
    );
    b.table.row(
        "6",
        "`keascript repl` with stdin piped (one empty line), whole process",
        stat(&piped),
        dur,
        String::new(),
    );
}

/// Starts `cmd` on a new pseudo-terminal and returns the seconds until it printed `wanted`
/// (answering a cursor-position query if the line editor sends one); then sends Ctrl-D and
/// reaps it (SIGTERM after 5 s).
fn pty_until(mut cmd: Command, wanted: &str) -> f64 {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let (mut master, mut slave) = (0, 0);
    let ws = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty fills two fds that we then own.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    let (mut master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    cmd.stdin(Stdio::from(slave.try_clone().expect("dup")))
        .stdout(Stdio::from(slave.try_clone().expect("dup")))
        .stderr(Stdio::from(slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY as _, 0);
            Ok(())
        });
    }
    let t = Instant::now();
    let mut child = cmd.spawn().expect("spawn under a pty");
    drop(cmd); // closes our copies of the slave side
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    let elapsed = loop {
        let n = master.read(&mut chunk).unwrap_or_else(|e| {
            panic!(
                "the pty closed before {wanted:?}: {e}; output: {}",
                String::from_utf8_lossy(&seen)
            )
        });
        assert!(
            n > 0,
            "EOF before {wanted:?}: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&chunk[..n]);
        if seen.windows(4).any(|w| w == b"\x1b[6n") {
            seen.clear();
            master
                .write_all(b"\x1b[1;1R")
                .expect("answer the cursor query");
            continue;
        }
        if String::from_utf8_lossy(&seen).contains(wanted) {
            break t.elapsed().as_secs_f64();
        }
    };
    let _ = master.write_all(b"\x04");
    let until = Instant::now() + Duration::from_secs(5);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > until {
            // SAFETY: our own child.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    elapsed
}

/// Peak RSS (KiB) of `cmd`, from `ru_maxrss` taken by a fresh, small copy of this bench
/// (`--rss-of`) that runs it: a child inherits its parent's high-water mark until exec, and
/// this process is big after case 2.
fn rss_of(cmd: &mut Command) -> f64 {
    let me = std::env::current_exe().expect("current exe");
    let mut w = Command::new(me);
    w.arg("--rss-of")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => w.env(k, v),
            None => w.env_remove(k),
        };
    }
    let r = run(&mut w, None, false);
    r.err
        .lines()
        .find_map(|l| l.strip_prefix("bench-maxrss-kb="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss from the wrapper: {}", r.err))
}

/// `compare --rss-of PROGRAM ARGS…`: runs it, prints its `ru_maxrss` on stderr, exits with
/// its status.
fn rss_wrapper(args: &[String]) -> ! {
    let child = Command::new(&args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut status = 0;
    // SAFETY: our own child, valid out-pointers.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert!(r > 0, "wait4");
    eprintln!("bench-maxrss-kb={}", ru.ru_maxrss);
    std::process::exit(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        1
    });
}

const FLEET_CLASS_RHAI: &str = r#"
kea().dhcp4.add_class(#{ name: args[0], test: "option[60].text == 'bench'" });
"#;

/// What a raw client sends to add a class to one server over its UNIX socket: config-get,
/// config-test, config-set, config-write (keascript's commands for `add_class` with a
/// test expression).
fn raw_add_class(sock: &Path, name: &str) {
    let got = unix_cmd(sock, br#"{"command": "config-get"}"#);
    assert_eq!(result(&got), 0, "config-get: {got}");
    let mut cfg = got["arguments"].clone();
    if let Some(o) = cfg["Dhcp4"].as_object_mut() {
        o.remove("hash");
    }
    let classes = cfg["Dhcp4"]
        .as_object_mut()
        .expect("Dhcp4")
        .entry("client-classes")
        .or_insert(json!([]));
    classes
        .as_array_mut()
        .expect("client-classes")
        .push(json!({ "name": name, "test": "option[60].text == 'bench'" }));
    for cmd in ["config-test", "config-set"] {
        let v = unix_cmd(sock, &body(&json!({"command": cmd, "arguments": cfg})));
        assert_eq!(result(&v), 0, "{cmd}: {v}");
    }
    let v = unix_cmd(sock, br#"{"command": "config-write"}"#);
    assert_eq!(result(&v), 0, "config-write: {v}");
}

/// The raw client over `socks`, `parallel` threads taking servers from one queue.
fn raw_fleet(socks: &[PathBuf], parallel: usize, name: &str) -> f64 {
    let queue = std::sync::Mutex::new(socks.iter().collect::<Vec<_>>());
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..parallel.min(socks.len()) {
            s.spawn(|| {
                loop {
                    let Some(sock) = queue.lock().expect("queue").pop() else {
                        break;
                    };
                    raw_add_class(sock, name);
                }
            });
        }
    });
    t.elapsed().as_secs_f64()
}

fn case9(b: &mut Bench) {
    eprintln!("case 9: a fleet run (add_class on 1, 8 and 32 servers, --parallel 8)");
    let t = Instant::now();
    let opts = LabOptions {
        dhcp4_only: true,
        ..Default::default()
    };
    let labs: Vec<Lab> =
        b.rt.block_on(futures::future::join_all(
            (0..32).map(|_| Lab::start(opts.clone())),
        ))
        .into_iter()
        .map(|l| l.unwrap_or_else(|e| panic!("cannot start a Kea lab: {e}")))
        .collect();
    eprintln!(
        "  (32 dhcp4-only labs up in {})",
        dur(t.elapsed().as_secs_f64())
    );
    let script = b.script("fleet-class.rhai", FLEET_CLASS_RHAI);
    // Another build run alternately in the same run (an A/B on the same machine minutes).
    let base_bin = std::env::var_os("KEASCRIPT_BENCH_BASE");
    for n in [1usize, 8, 32] {
        let inv = b.dir.path().join(format!("fleet-{n}.toml"));
        let mut text = String::from("default = \"f1\"\n");
        for (i, lab) in labs.iter().take(n).enumerate() {
            text.push_str(&format!(
                "\n[servers.f{}]\ndhcp4 = \"unix:{}\"\n",
                i + 1,
                lab.socket("dhcp4").display()
            ));
        }
        std::fs::write(&inv, text).expect("inventory");
        let socks: Vec<PathBuf> = labs.iter().take(n).map(|l| l.socket("dhcp4")).collect();
        let reps = if n == 32 { 3 } else { 5 };
        let (mut ks_walls, mut raw_walls, mut cpu) = (vec![], vec![], vec![]);
        let (mut base_walls, mut base_cpu) = (vec![], vec![]);
        let fleet_run = |cmd: &mut Command, name: &str| {
            cmd.args([
                "run",
                "--all",
                "--parallel",
                "8",
                "--output",
                "json",
                script.to_str().unwrap(),
                "--",
                name,
            ]);
            let r = run(cmd, None, false);
            let changed = r
                .out
                .lines()
                .filter(|l| l.contains("\"outcome\":\"changed\""))
                .count();
            assert_eq!(changed, n, "every server changed:\n{}\n{}", r.out, r.err);
            r
        };
        // Alternate keascript (and the base build) and the raw client so that all see the
        // same machine.
        for j in 0..reps {
            let r = fleet_run(&mut ks(b, &inv, &[]), &format!("ks-{n}-{j}"));
            ks_walls.push(r.wall);
            cpu.push(r.cpu);
            if let Some(base) = &base_bin {
                let r = fleet_run(&mut ks_of(base, b, &inv, &[]), &format!("base-{n}-{j}"));
                base_walls.push(r.wall);
                base_cpu.push(r.cpu);
            }
            raw_walls.push(raw_fleet(&socks, 8, &format!("raw-{n}-{j}")));
        }
        for sock in &socks {
            let v = unix_cmd(sock, br#"{"command": "config-get"}"#);
            let classes = v["arguments"]["Dhcp4"]["client-classes"].to_string();
            assert!(classes.contains(&format!("ks-{n}-{}", reps - 1)));
            assert!(classes.contains(&format!("raw-{n}-{}", reps - 1)));
        }
        let (k, r) = (stat(&ks_walls), stat(&raw_walls));
        b.table.row(
            "9",
            &format!("keascript run --all --parallel 8, add_class on {n} server(s), wall"),
            k,
            dur,
            ratio(k.med, r.med, "raw client"),
        );
        b.table.row(
            "9",
            &format!("raw parallel client (8 threads, UNIX) on {n} server(s), wall (floor)"),
            r,
            dur,
            String::new(),
        );
        b.table.row(
            "9",
            &format!("… keascript CPU (user+sys) on {n} server(s)"),
            stat(&cpu),
            dur,
            String::new(),
        );
        if !base_walls.is_empty() {
            let bw = stat(&base_walls);
            b.table.row(
                "9",
                &format!("base build ($KEASCRIPT_BENCH_BASE) on {n} server(s), wall"),
                bw,
                dur,
                ratio(bw.med, r.med, "raw client"),
            );
            b.table.row(
                "9",
                &format!("… base build CPU (user+sys) on {n} server(s)"),
                stat(&base_cpu),
                dur,
                String::new(),
            );
        }
    }
    // What keascript sent to one server during one fleet run.
    let inv = b.dir.path().join("fleet-1.toml");
    let log = labs[0].dir().join("kea-dhcp4.log");
    let before = log_lines(&log);
    run(
        &mut ks(
            b,
            &inv,
            &[
                "run",
                "--all",
                script.to_str().unwrap(),
                "--",
                "ks-commands",
            ],
        ),
        None,
        false,
    );
    let cmds = commands_logged_after(&log, before);
    b.table.text(
        "9",
        "commands keascript sent to one server in a fleet run",
        &cmds.join(", "),
    );
}

fn machine(version: &str) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']))
        })
        .unwrap_or("?")
        .to_string();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next()?.parse::<f64>().ok())
        .map_or("?".into(), |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0));
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc = Command::new(rustc)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "?".into());
    let date = chrono::Local::now().format("%Y-%m-%d %H:%M %Z");
    format!(
        "- machine: {nproc} CPUs ({cpu}), {mem} RAM\n- Kea {version}; {rustc}\n- date: {date}\n- command: `cargo bench --bench compare`"
    )
}

const IMPORT_RHAI: &str = r#"
let c = kea().dhcp4.import_reservations(args[0], #{ subnet: parse_int(args[1]) });
if c.added != 10000 { throw `imported ${c.added}`; }
"#;

/// A CSV of 10,000 reservations in `10.<a>.0.0/16`.
fn reservations_csv(path: &Path, a: usize) {
    let mut text = String::from("hw_address,ip_address,hostname\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "02:{a:02x}:00:00:{:02x}:{:02x},10.{a}.{}.{},h{i}\n",
            i / 256,
            i % 256,
            i / 250,
            i % 250 + 1
        ));
    }
    std::fs::write(path, text).expect("write csv");
}

/// Case 8: importing 10,000 reservations (one CSV file) into a subnet, keascript's
/// `import_reservations` (every row checked, one change) vs the hand pipeline
/// `curl config-get | jq | curl config-set` (no checks), each into a fresh subnet.
fn case8(b: &mut Bench) {
    eprintln!("case 8: import 10,000 reservations");
    let script = b.script("import.rhai", IMPORT_RHAI);
    let by_hand = Path::new(BENCHES).join("import-reservations-by-hand.sh");
    let lab = b.lab(LabOptions::default());
    let inv = lab.inventory().to_path_buf();
    let url = lab.url();
    let reps = 3;
    // Fresh subnets for every run: 10.(100+j)/16 for keascript, 10.(150+j)/16 by hand.
    let mut add = String::new();
    for j in 0..reps {
        for base in [100, 150] {
            add.push_str(&format!(
                "kea().dhcp4.add_subnet(#{{ id: {id}, subnet: \"10.{a}.0.0/16\" }});\n",
                id = base + j,
                a = base + j
            ));
        }
    }
    let setup = b.script("import-setup.rhai", &add);
    run(
        &mut ks(b, &inv, &["run", setup.to_str().unwrap()]),
        None,
        false,
    );
    let (mut kw, mut kc, mut krss, mut hw, mut hc) = (vec![], vec![], vec![], vec![], vec![]);
    for j in 0..reps {
        let (ka, ha) = (100 + j, 150 + j);
        let kcsv = b.dir.path().join(format!("k{j}.csv"));
        let hcsv = b.dir.path().join(format!("h{j}.csv"));
        reservations_csv(&kcsv, ka);
        reservations_csv(&hcsv, ha);
        let r = run(
            &mut ks(
                b,
                &inv,
                &[
                    "run",
                    script.to_str().unwrap(),
                    "--",
                    kcsv.to_str().unwrap(),
                    &ka.to_string(),
                ],
            ),
            None,
            true,
        );
        kw.push(r.wall);
        kc.push(r.cpu);
        krss.push(r.hwm_kb);
        let r = run(
            Command::new("bash")
                .arg(&by_hand)
                .arg(&url)
                .arg(&hcsv)
                .arg(ha.to_string()),
            None,
            false,
        );
        hw.push(r.wall);
        hc.push(r.cpu);
    }
    let (k, h) = (stat(&kw), stat(&hw));
    let t = &mut b.table;
    t.row(
        "8 (10k rows)",
        "keascript import_reservations (every row checked, one config-set), wall",
        k,
        dur,
        ratio(k.med, h.med, "by hand"),
    );
    t.row(
        "8 (10k rows)",
        "by hand: jq CSV→JSON, curl config-get → jq → curl config-set → config-write (no checks), wall",
        h,
        dur,
        String::new(),
    );
    let (kcs, hcs) = (stat(&kc), stat(&hc));
    t.row(
        "8 (10k rows)",
        "CPU (user+sys): keascript",
        kcs,
        dur,
        ratio(kcs.med, hcs.med, "by hand's (curl + jq)"),
    );
    t.row(
        "8 (10k rows)",
        "keascript peak RSS",
        stat(&krss),
        mib,
        String::new(),
    );
}

/// Case 10: what the journal's history costs a change.
fn case10(b: &mut Bench) {
    use keascript::kea::edit::journal;
    eprintln!("case 10: a change with 5,000 finished journal records vs none");
    let lab = b.lab(LabOptions::default());
    // No retention in the way: all 5,000 records stay for the whole case.
    let inv = b.dir.path().join("inv-journal.toml");
    let text = std::fs::read_to_string(lab.inventory()).expect("the lab's inventory")
        + "\n[journal]\nkeep = 100000\n";
    std::fs::write(&inv, text).expect("write the inventory");
    let empty = b.dir.path().join("state-j0");
    let full = b.dir.path().join("state-j5000");
    let dir = journal::dir_in(&full);
    std::fs::create_dir_all(&dir).expect("journal folder");
    let t0 = 0x19000000000u64;
    for n in 0..5000u64 {
        let mut e = journal::Entry::new(vec![journal::Target {
            daemon: "local:dhcp4:/old/kea-dhcp4.conf".into(),
            url: "http://127.0.0.1:8000/".into(),
            server: "old".into(),
            service: "dhcp4".into(),
            before: None,
            before_snapshot: None,
            after: None,
        }]);
        e.id = format!("{:011x}-{n:06x}", t0 + n);
        e.phase = journal::Phase::Written;
        std::fs::write(
            dir.join(format!("{}.json", e.id)),
            serde_json::to_vec(&e).expect("JSON"),
        )
        .expect("write a record");
    }
    // The scan for changes in flight beside reading every record, on the same folder.
    let (mut scan, mut all) = (vec![], vec![]);
    for _ in 0..11 {
        let t = Instant::now();
        assert!(journal::in_flight_in(&full).is_empty());
        scan.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        assert_eq!(journal::entries_in(&full).len(), 5000);
        all.push(t.elapsed().as_secs_f64());
    }
    // A real change (`add_subnet` over the agent), alternating an empty state folder and
    // the one with 5,000 records.
    let (mut w0, mut w5, mut c0, mut c5) = (vec![], vec![], vec![], vec![]);
    for i in 0..7 {
        for (state, k, wall, cpu) in [
            (&empty, 210, &mut w0, &mut c0),
            (&full, 211, &mut w5, &mut c5),
        ] {
            let s = b.script(
                &format!("j{k}-{i}.rhai"),
                &format!("kea().dhcp4.add_subnet(#{{ subnet: \"10.{k}.{i}.0/24\" }});\n"),
            );
            let mut cmd = ks(b, &inv, &["run", s.to_str().unwrap()]);
            cmd.env("KEASCRIPT_STATE_DIR", state);
            let r = run(&mut cmd, None, false);
            wall.push(r.wall);
            cpu.push(r.cpu);
        }
    }
    assert_eq!(
        std::fs::read_dir(&dir)
            .expect("journal folder")
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count(),
        5007,
        "every record stayed (keep = 100000)"
    );
    let (s, a) = (stat(&scan), stat(&all));
    let ratio_scan = ratio(s.med, a.med, "of reading every record");
    b.table.row(
        "10",
        "scan for changes in flight, 5,000 finished records",
        s,
        dur,
        ratio_scan,
    );
    b.table.row(
        "10",
        "reading every record (the scan before inflight/)",
        a,
        dur,
        String::new(),
    );
    let (s0, s5) = (stat(&w0), stat(&w5));
    let r = ratio(s5.med, s0.med, "of no records");
    b.table.row(
        "10",
        "add_subnet, wall, no journal records",
        s0,
        dur,
        String::new(),
    );
    b.table
        .row("10", "add_subnet, wall, 5,000 finished records", s5, dur, r);
    let (k0, k5) = (stat(&c0), stat(&c5));
    let r = ratio(k5.med, k0.med, "of no records");
    b.table.row(
        "10",
        "add_subnet, keascript CPU, no journal records",
        k0,
        dur,
        String::new(),
    );
    b.table.row(
        "10",
        "add_subnet, keascript CPU, 5,000 finished records",
        k5,
        dur,
        r,
    );
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--rss-of") {
        rss_wrapper(&argv[2..]);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let wanted: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let want = |n: u32| wanted.is_empty() || wanted.contains(&n);
    let mut b = Bench {
        rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime"),
        floor_rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
        dir: tempfile::Builder::new()
            .prefix("keascript-bench-")
            .tempdir()
            .expect("temp dir"),
        table: Table { rows: vec![] },
    };
    let version = match keascript::lab::KeaInstall::find() {
        Ok(k) => k.version,
        Err(e) => {
            eprintln!("the benchmarks need Kea: {e}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    type Case = fn(&mut Bench);
    let cases: [(u32, Case); 10] = [
        (1, case1),
        (2, case2),
        (3, case3),
        (4, case4),
        (5, case5),
        (6, case6),
        (7, case7),
        (8, case8),
        (9, case9),
        (10, case10),
    ];
    for (n, f) in cases {
        if want(n) {
            let t = Instant::now();
            f(&mut b);
            eprintln!("  (case {n}: {})", dur(t.elapsed().as_secs_f64()));
        }
    }
    println!();
    println!("{}", machine(&version));
    println!("- bench time: {}", dur(started.elapsed().as_secs_f64()));
    println!();
    b.table.print();
}
