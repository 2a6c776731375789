//! One Kea daemon process started by the lab, stopped by its PID.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub(super) struct Daemon {
    pub name: String,
    pub pid: u32,
    child: Option<Child>,
    output: std::path::PathBuf,
}

impl Daemon {
    /// Starts `bin -c config` in `run`, with Kea's folder variables pointing there (Kea 3
    /// only opens sockets, logs and lease files in its folders; Kea 2.2 ignores them).
    pub fn spawn(
        name: &str,
        bin: &Path,
        config: &Path,
        run: &Path,
        install: &super::KeaInstall,
    ) -> std::io::Result<Self> {
        let program = name.rsplit('/').next().unwrap_or(name);
        let output = run.join(format!("{program}.out"));
        let out = std::fs::File::create(&output)?;
        let err = out.try_clone()?;
        use std::os::unix::process::CommandExt;
        // Their own process group: a Ctrl-C at the terminal reaches keascript, which stops
        // them by PID, and not the daemons directly.
        let child = Command::new(bin)
            .process_group(0)
            .arg("-c")
            .arg(config)
            .env("KEA_PIDFILE_DIR", run)
            .env("KEA_LOCKFILE_DIR", run)
            .env("KEA_CONTROL_SOCKET_DIR", run)
            .env("KEA_LOG_FILE_DIR", run)
            .env("KEA_DHCP_DATA_DIR", run)
            .env("KEA_HOOKS_PATH", &install.hooks_dir)
            .envs(install.lfc.iter().map(|l| ("KEA_LFC_EXECUTABLE", l)))
            .current_dir(run)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()?;
        Ok(Self {
            name: name.to_string(),
            pid: child.id(),
            child: Some(child),
            output,
        })
    }

    /// `Some(status)` once the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// The last lines the daemon printed.
    pub fn tail_output(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.output).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM, then SIGKILL after 3 s; reaps the process.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        let pid = nix::unistd::Pid::from_raw(self.pid as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
