//! Finding Kea's binaries and hook libraries on this machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::LabError;
use crate::kea::KeaVersion;

/// What to do when Kea is missing.
pub const INSTALL_HINT: &str = "Kea is not installed. On Debian or Ubuntu:\n  sudo apt-get update && sudo apt-get install -y kea-dhcp4-server kea-dhcp6-server kea-ctrl-agent";

/// Kea's programs and hooks directory.
#[derive(Debug, Clone)]
pub struct KeaInstall {
    pub dhcp4: PathBuf,
    pub dhcp6: PathBuf,
    pub agent: PathBuf,
    pub hooks_dir: PathBuf,
    /// `kea-lfc` beside the daemons, when there is one (Kea 3 checks `KEA_LFC_EXECUTABLE`).
    pub lfc: Option<PathBuf>,
    pub version: String,
}

impl KeaInstall {
    /// Looks in `$KEASCRIPT_KEA_BIN_DIR` (only there, when it is set), else `$PATH`,
    /// `/usr/sbin`, `/usr/local/sbin` for the programs. Hooks: `$KEASCRIPT_KEA_HOOKS_DIR`;
    /// else, with `$KEASCRIPT_KEA_BIN_DIR`, the folder its `hooks-dir` file names (written
    /// by `contrib/kea3/prepare.sh`) — never the system Kea's hooks for another Kea; else
    /// the usual library directories, for `libdhcp_lease_cmds.so`.
    pub fn find() -> Result<Self, LabError> {
        let mut missing = Vec::new();
        let mut find = |name: &str| {
            let found = bin_dirs()
                .into_iter()
                .map(|d| d.join(name))
                .find(|p| p.is_file());
            if found.is_none() {
                missing.push(name.to_string());
            }
            found.unwrap_or_default()
        };
        let dhcp4 = find("kea-dhcp4");
        let dhcp6 = find("kea-dhcp6");
        let agent = find("kea-ctrl-agent");
        if !missing.is_empty() {
            return Err(LabError::NotInstalled(format!(
                "{INSTALL_HINT}\n(missing: {})",
                missing.join(", ")
            )));
        }
        let lfc = bin_dirs()
            .into_iter()
            .map(|d| d.join("kea-lfc"))
            .find(|p| p.is_file());
        let hooks_dir = hook_dirs()?
            .into_iter()
            .find(|d| d.join("libdhcp_lease_cmds.so").is_file())
            .ok_or_else(|| {
                LabError::NotInstalled(format!(
                    "{INSTALL_HINT}\n(the hook library libdhcp_lease_cmds.so was not found; set KEASCRIPT_KEA_HOOKS_DIR)"
                ))
            })?;
        let version = version_of(&dhcp4);
        Ok(Self {
            dhcp4,
            dhcp6,
            agent,
            hooks_dir,
            lfc,
            version,
        })
    }

    /// The version of these programs (`kea-dhcp4 -v`), or 0.0.0 when it cannot be read.
    pub fn kea_version(&self) -> KeaVersion {
        KeaVersion::parse(&self.version).unwrap_or_default()
    }
}

fn bin_dirs() -> Vec<PathBuf> {
    // An explicit directory is the only place looked at.
    if let Some(d) = std::env::var_os("KEASCRIPT_KEA_BIN_DIR") {
        return vec![PathBuf::from(d)];
    }
    let mut v = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        v.extend(std::env::split_paths(&path));
    }
    v.push("/usr/sbin".into());
    v.push("/usr/local/sbin".into());
    v
}

fn hook_dirs() -> Result<Vec<PathBuf>, LabError> {
    if let Some(d) = std::env::var_os("KEASCRIPT_KEA_HOOKS_DIR") {
        return Ok(vec![PathBuf::from(d)]);
    }
    if let Some(bin) = std::env::var_os("KEASCRIPT_KEA_BIN_DIR") {
        let record = Path::new(&bin).join("hooks-dir");
        return match std::fs::read_to_string(&record) {
            Ok(t) => Ok(vec![PathBuf::from(t.trim())]),
            Err(_) => Err(LabError::NotInstalled(format!(
                "KEASCRIPT_KEA_BIN_DIR is set but {} does not say where that Kea's hooks are: set KEASCRIPT_KEA_HOOKS_DIR too",
                record.display()
            ))),
        };
    }
    let mut v = Vec::new();
    for base in ["/usr/lib", "/usr/local/lib", "/usr/lib64"] {
        if let Ok(entries) = std::fs::read_dir(base) {
            for e in entries.flatten() {
                v.push(e.path().join("kea/hooks"));
            }
        }
        v.push(Path::new(base).join("kea/hooks"));
    }
    Ok(v)
}

fn version_of(bin: &Path) -> String {
    Command::new(bin)
        .arg("-v")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
