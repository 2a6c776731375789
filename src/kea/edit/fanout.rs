//! One change on several servers at once (a `global` client class goes to every server of
//! the inventory): all of them or none of them.

use serde_json::Value;

use super::{CommitOptions, CommitReport, Edit, commit};
use crate::kea::{ErrorKind, KeaError, Service};

/// The outcome on one server.
#[derive(Debug, Clone)]
pub struct ServerOutcome {
    pub server: String,
    pub result: Result<CommitReport, KeaError>,
}

/// Commits `edits` on every service concurrently. When one fails, the others are put back
/// to their previous configuration; the error names every server's outcome.
pub async fn commit_everywhere(
    services: &[Service],
    edits: &[Edit],
    opts: &CommitOptions,
) -> Result<Vec<ServerOutcome>, KeaError> {
    let runs = services.iter().map(|svc| async move {
        ServerOutcome {
            server: svc.server.name().to_string(),
            result: commit(svc, edits, opts).await,
        }
    });
    let outcomes: Vec<ServerOutcome> = futures::future::join_all(runs).await;
    if outcomes.iter().all(|o| o.result.is_ok()) {
        return Ok(outcomes);
    }
    // Undo where it worked.
    let mut lines = Vec::new();
    let mut undo_failed = false;
    for (svc, o) in services.iter().zip(&outcomes) {
        match &o.result {
            Err(e) => lines.push(format!("{}: failed: {}", o.server, e.message)),
            Ok(r) if !r.changed || r.dry_run => {
                lines.push(format!("{}: nothing to undo", o.server));
            }
            Ok(r) => match undo(svc, r.before.as_ref()).await {
                Ok(()) => lines.push(format!("{}: changed, then put back", o.server)),
                Err(e) => {
                    undo_failed = true;
                    lines.push(format!(
                        "{}: changed, and putting it back FAILED: {}",
                        o.server, e.message
                    ));
                }
            },
        }
    }
    let first = outcomes
        .iter()
        .find_map(|o| o.result.as_ref().err())
        .cloned()
        .expect("one failed");
    Err(KeaError {
        kind: if undo_failed {
            ErrorKind::Partial
        } else {
            first.kind
        },
        message: format!(
            "the change could not be made on every server, so it was made on none{}: {}",
            if undo_failed {
                " (except where putting it back failed)"
            } else {
                ""
            },
            lines.join("; ")
        ),
        server: first.server.clone(),
        ..first
    })
}

async fn undo(svc: &Service, before: Option<&Value>) -> Result<(), KeaError> {
    let Some(before) = before else {
        return Ok(());
    };
    svc.set(before).await?;
    svc.write().await?;
    Ok(())
}
