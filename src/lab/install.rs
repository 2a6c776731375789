//! Finding Kea's binaries and hook libraries on this machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::LabError;

/// What to do when Kea is missing.
pub const INSTALL_HINT: &str = "Kea is not installed. On Debian or Ubuntu:\n  sudo apt-get update && sudo apt-get install -y kea-dhcp4-server kea-dhcp6-server kea-ctrl-agent";

/// Kea's programs and hooks directory.
#[derive(Debug, Clone)]
pub struct KeaInstall {
    pub dhcp4: PathBuf,
    pub dhcp6: PathBuf,
    pub agent: PathBuf,
    pub hooks_dir: PathBuf,
    pub version: String,
}

impl KeaInstall {
    /// Looks in `$KEASCRIPT_KEA_BIN_DIR` (only there, when it is set), else `$PATH`,
    /// `/usr/sbin`, `/usr/local/sbin` for the programs, and in `$KEASCRIPT_KEA_HOOKS_DIR` or the usual library directories for
    /// `libdhcp_lease_cmds.so`.
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
        let hooks_dir = hook_dirs()
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
            version,
        })
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

fn hook_dirs() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(d) = std::env::var_os("KEASCRIPT_KEA_HOOKS_DIR") {
        v.push(PathBuf::from(d));
    }
    for base in ["/usr/lib", "/usr/local/lib", "/usr/lib64"] {
        if let Ok(entries) = std::fs::read_dir(base) {
            for e in entries.flatten() {
                v.push(e.path().join("kea/hooks"));
            }
        }
        v.push(Path::new(base).join("kea/hooks"));
    }
    v
}

fn version_of(bin: &Path) -> String {
    Command::new(bin)
        .arg("-v")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
