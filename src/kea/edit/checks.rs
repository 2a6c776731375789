//! What the pipeline asks Kea before and right before it changes a target: how the change is
//! sent (hook commands or `config-set`), Kea's verdict where keascript cannot judge alone
//! (class test expressions, Kea 3's path rules, every HA peer), and whether anybody changed
//! the target since it was read.

use serde_json::Value;

use super::Edit;
use super::hooks::{self, HookCommand};
use crate::kea::config::classes::new_test_expressions;
use crate::kea::config::{ConfigDoc, normalize_inherited, paths};
use crate::kea::{Capabilities, ErrorKind, KeaError, KeaVersion, Service, redact};

pub(super) fn context(e: KeaError, svc: &Service, command: &str) -> KeaError {
    e.with_server(svc.server.name())
        .with_service(Some(&svc.name))
        .with_command(command)
}

/// How a target was read: what tells later whether it is still the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMark<'a> {
    /// Kea's hash of it (Kea ≥ 2.4: `config-hash-get` answers it again).
    Hash(&'a str),
    /// The digest of `config-get`'s answer bytes (Kea 2.2 has no hash).
    Digest(u64),
    /// Read from a dry run's staged configuration: nothing to compare.
    Staged,
}

/// Fails with `conflict` when the target's configuration is no longer the one read: by
/// Kea's hash where it has one (2.4 and later), else by the digest of a second `config-get`'s
/// bytes (the configuration itself is not read again: a large one is megabytes). Only when
/// the bytes differ is it read and compared as keascript reads it (`base`, inherited values
/// left out), so an answer that is merely written differently is not a conflict. Kea has no
/// compare-and-set; this makes the window between check and send as small as one round
/// trip.
pub async fn unchanged_since_read(
    svc: &Service,
    mark: ReadMark<'_>,
    base: &ConfigDoc,
) -> Result<(), KeaError> {
    let (same, command) = match mark {
        ReadMark::Staged => return Ok(()),
        ReadMark::Hash(h) => (
            svc.config_hash().await?.as_deref() == Some(h),
            "config-hash-get",
        ),
        ReadMark::Digest(d) => {
            if svc.config_digest().await? == d {
                (true, "config-get")
            } else {
                let again = ConfigDoc::new(base.family, svc.config().await?)
                    .map_err(|e| context(e, svc, "config-get"))?;
                let mut again = again.with_version(base.version);
                normalize_inherited(&mut again);
                (again.value == base.value, "config-get")
            }
        }
    };
    if same {
        return Ok(());
    }
    Err(context(
        KeaError::new(
            ErrorKind::Conflict,
            "the configuration changed on the server while this change was being prepared (another tool or person wrote it); nothing was sent, try again",
        ),
        svc,
        command,
    ))
}

/// Kea's verdict (`config-test`) before anything changes, when one is needed: always when
/// several targets change together (`together` names this one: every peer is tested before
/// any is changed), and for a new class test expression or new paths under Kea 3's rules
/// (only Kea judges those). A refusal names what was refused, in Kea's words.
pub async fn verdict(
    svc: &Service,
    version: KeaVersion,
    base: &ConfigDoc,
    new: &ConfigDoc,
    together: Option<&str>,
) -> Result<Option<String>, KeaError> {
    let expressions = new_test_expressions(base, new);
    let new_paths = version.path_rules() && paths::paths_changed(base, new);
    if together.is_none() && expressions.is_empty() && !new_paths {
        return Ok(None);
    }
    match svc.test(&new.value).await {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind == ErrorKind::Kea && !expressions.is_empty() => {
            let (name, expr) = expressions
                .iter()
                .find(|(_, t)| e.message.contains(t.as_str()))
                .unwrap_or(&expressions[0]);
            Err(context(
                KeaError::invalid(format!(
                    "client class \"{name}\": Kea refuses its test expression {expr:?}: {}; nothing was changed",
                    e.message
                )),
                svc,
                "config-test",
            ))
        }
        Err(e) if new_paths => Err(path_refusal(e, version, "config-test", base, new)),
        Err(e) => match together {
            Some(who) => Err(KeaError {
                message: format!(
                    "{who} rejects the change, so nothing was changed anywhere: {}",
                    e.message
                ),
                ..e
            }),
            None => Err(e),
        },
    }
}

/// Kea's refusal of a configuration with new paths, its own text quoted.
pub fn path_refusal(
    e: KeaError,
    version: KeaVersion,
    command: &str,
    base: &ConfigDoc,
    new: &ConfigDoc,
) -> KeaError {
    if e.kind != ErrorKind::Kea || !version.path_rules() || !paths::paths_changed(base, new) {
        return e;
    }
    KeaError {
        message: format!(
            "Kea {version} refuses the new paths ({command}): \"{}\"; nothing was changed, it runs its previous configuration",
            e.message
        ),
        ..e
    }
}

/// The hook commands for a single subnet or class edit, when the server has the hooks and
/// the inventory allows them; `None` means the config path.
pub async fn hook_plan(
    svc: &Service,
    edits: &[Edit],
    base: &ConfigDoc,
    new: &ConfigDoc,
    results: &[Value],
) -> Result<Option<Vec<HookCommand>>, KeaError> {
    let [edit] = edits else {
        // Several changes are one configuration change: one config-set.
        return Ok(None);
    };
    if svc.server.config_path_only() || !hooks::only_subnets_and_classes_differ(base, new) {
        return Ok(None);
    }
    let all = Capabilities {
        subnet_cmds: true,
        class_cmds: true,
        ..Default::default()
    };
    // Ask the server only when a hook command exists for this edit.
    if hooks::plan(edit, &all, base, new, &results[0]).is_none() {
        return Ok(None);
    }
    let caps = svc.capabilities_cached().await?;
    Ok(hooks::plan(edit, &caps, base, new, &results[0]))
}

/// One command as people read it: `NAME (SERVICE) ARGUMENTS`, secrets redacted.
pub(super) fn command_line(svc: &Service, command: &str, arguments: &serde_json::Value) -> String {
    format!("{command} ({}) {}", svc.name, redact::value(arguments))
}

/// The commands that change a target, as people read them (secrets redacted).
pub fn commands(svc: &Service, plan: Option<&[HookCommand]>) -> Vec<String> {
    let mut out: Vec<String> = match plan {
        Some(plan) => plan
            .iter()
            .map(|c| command_line(svc, &c.command, &c.arguments))
            .collect(),
        None => vec![format!("config-set ({}, whole configuration)", svc.name)],
    };
    out.push(format!("config-write ({})", svc.name));
    out
}
