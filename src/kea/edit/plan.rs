//! Dry runs as a plan (issue 16): under `--dry-run` each daemon keeps a staged configuration
//! — what it would run after the changes so far — so that every later read and change of the
//! run sees the earlier ones, exactly as a real run would. At the end, one plan per
//! server/service: the steps and the commands each would send, the combined diff, Kea's
//! `config-test` verdict on the staged configuration, and a summary
//! (`2 to add, 1 to change, 0 to delete on lab/dhcp4`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::Edit;
use super::prepare::shown_diff;
use crate::kea::config::{ConfigDoc, echo_inherited};
use crate::kea::identity::DaemonId;

/// One mutation of the plan, on one server/service.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What it does, as the audit names it (`add subnet 10.50.0.0/24`).
    pub what: String,
    /// The commands it would send, in order (none when it changes nothing).
    pub commands: Vec<String>,
    /// Each edit's kind, key and action (`subnet`, `10.50.0.0/24`, `add`), when it changes
    /// something.
    pub changes: Vec<(String, String, String)>,
}

impl Step {
    /// The step of `edits`, sending `commands` (empty: it changes nothing).
    pub fn of(edits: &[Edit], commands: Vec<String>) -> Self {
        let what = edits
            .iter()
            .map(|e| {
                let t = e.target();
                format!("{} {} {}", t.action, t.kind, t.key)
                    .trim()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("; ");
        let changes = if commands.is_empty() {
            Vec::new()
        } else {
            edits
                .iter()
                .map(|e| {
                    let t = e.target();
                    (t.kind.to_string(), t.key, t.action.to_string())
                })
                .collect()
        };
        Self {
            what,
            commands,
            changes,
        }
    }
}

/// The plan of one server/service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePlan {
    /// `server/service`.
    pub label: String,
    pub steps: Vec<Step>,
    /// The combined diff of every step (secrets redacted); empty when nothing changes.
    pub diff: String,
    /// Kea's `config-test` verdict on the staged configuration, when it was asked.
    pub verdict: Option<String>,
    pub add: usize,
    pub change: usize,
    pub delete: usize,
}

impl ServicePlan {
    /// Whether anything would change: the configuration, or (reservations kept in a hosts
    /// database) a step's commands.
    pub fn changes(&self) -> bool {
        !self.diff.is_empty() || self.add + self.change + self.delete > 0
    }

    /// `2 to add, 1 to change, 0 to delete on lab/dhcp4`.
    pub fn summary(&self) -> String {
        format!(
            "{} to add, {} to change, {} to delete on {}",
            self.add, self.change, self.delete, self.label
        )
    }
}

/// Whether any plan would change something (`--detailed-exitcode`: 2).
pub fn pending(plans: &[ServicePlan]) -> bool {
    plans.iter().any(ServicePlan::changes)
}

/// The plans as text: per server/service its steps, its diff, Kea's verdict and its
/// summary. Not coloured (a caller on a terminal paints the diff lines).
pub fn render(plans: &[ServicePlan]) -> String {
    let mut out = String::new();
    for p in plans {
        for s in &p.steps {
            if s.commands.is_empty() {
                out.push_str(&format!(
                    "[dry run] {}: {}: changes nothing; nothing would be sent\n",
                    p.label, s.what
                ));
            } else {
                out.push_str(&format!(
                    "[dry run] {}: {}: would send {}\n",
                    p.label,
                    s.what,
                    s.commands.join(", then ")
                ));
            }
        }
        out.push_str(&p.diff);
        if let Some(v) = &p.verdict {
            out.push_str(&format!(
                "[dry run] {}: Kea's config-test says: {v}\n",
                p.label
            ));
        }
        out.push_str(&format!("Plan: {}.\n", p.summary()));
    }
    out
}

/// The net effect on each object (kind and key) of the steps: added then changed is added,
/// added then deleted is nothing, deleted then added is changed.
fn counts(steps: &[Step]) -> (usize, usize, usize) {
    #[derive(Clone, Copy, PartialEq)]
    enum Net {
        Add,
        Change,
        Delete,
    }
    let mut net: BTreeMap<(String, String), Option<Net>> = BTreeMap::new();
    for (kind, key, action) in steps.iter().flat_map(|s| &s.changes) {
        let next = match action.as_str() {
            "add" => Net::Add,
            "delete" => Net::Delete,
            _ => Net::Change,
        };
        let slot = net.entry((kind.clone(), key.clone())).or_insert(None);
        *slot = match (*slot, next) {
            (None, n) => Some(n),
            (Some(Net::Add), Net::Delete) => None,
            (Some(Net::Add), _) => Some(Net::Add),
            (Some(Net::Delete), Net::Add) => Some(Net::Change),
            (Some(Net::Delete), _) => Some(Net::Delete),
            (Some(Net::Change), n) => Some(if n == Net::Delete {
                Net::Delete
            } else {
                Net::Change
            }),
        };
    }
    let n = |w: Net| net.values().filter(|v| **v == Some(w)).count();
    (n(Net::Add), n(Net::Change), n(Net::Delete))
}

/// One daemon's staged configuration.
#[derive(Debug)]
struct Staged {
    daemon: DaemonId,
    label: String,
    /// As it was first read (inherited values left out).
    base: ConfigDoc,
    /// After every change so far.
    current: ConfigDoc,
    steps: Vec<Step>,
    verdict: Option<String>,
}

impl Staged {
    fn plan(self) -> ServicePlan {
        let diff = shown_diff(&self.base, &self.current, &self.label);
        let (add, change, delete) = counts(&self.steps);
        ServicePlan {
            label: self.label,
            steps: self.steps,
            diff,
            verdict: self.verdict,
            add,
            change,
            delete,
        }
    }
}

/// The staged configurations of one run (or one trigger run, or a REPL session until
/// `:dry-run off`), and the plans already closed.
#[derive(Debug, Default)]
pub struct Stage {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    staged: Vec<Staged>,
    closed: Vec<ServicePlan>,
}

impl Stage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no daemon has a staged configuration.
    pub fn is_empty(&self) -> bool {
        self.inner.lock().expect("stage lock").staged.is_empty()
    }

    /// The staged configuration of `daemon`, as the pipeline takes it (inherited values
    /// left out).
    pub fn config(&self, daemon: &DaemonId) -> Option<ConfigDoc> {
        let inner = self.inner.lock().expect("stage lock");
        inner
            .staged
            .iter()
            .find(|s| s.daemon == *daemon)
            .map(|s| s.current.clone())
    }

    /// The staged configuration of `daemon` as Kea would answer `config-get` for it
    /// (inherited values echoed into the scopes), for the readers of a dry run.
    pub fn answer(&self, daemon: &DaemonId) -> Option<ConfigDoc> {
        let mut doc = self.config(daemon)?;
        echo_inherited(&mut doc);
        Some(doc)
    }

    /// Records a step on `daemon` (`label`): its configuration is now `new`; `base` is what
    /// it ran before the first step.
    pub fn record(
        &self,
        daemon: &DaemonId,
        label: &str,
        base: ConfigDoc,
        new: ConfigDoc,
        step: Step,
        verdict: Option<String>,
    ) {
        let mut inner = self.inner.lock().expect("stage lock");
        match inner.staged.iter_mut().find(|s| s.daemon == *daemon) {
            Some(s) => {
                s.current = new;
                s.steps.push(step);
                if verdict.is_some() {
                    s.verdict = verdict;
                }
            }
            None => inner.staged.push(Staged {
                daemon: daemon.clone(),
                label: label.to_string(),
                base,
                current: new,
                steps: vec![step],
                verdict,
            }),
        }
    }

    /// Ends the staging (a dry run switched off): the plans are kept for [`Stage::take`], the
    /// configurations are dropped (later reads see the servers again).
    pub fn close(&self) {
        let mut inner = self.inner.lock().expect("stage lock");
        let staged = std::mem::take(&mut inner.staged);
        inner.closed.extend(staged.into_iter().map(Staged::plan));
    }

    /// Every plan so far (closing the staging), in the order the services were first
    /// changed; the stage starts empty again.
    pub fn take(&self) -> Vec<ServicePlan> {
        self.close();
        std::mem::take(&mut self.inner.lock().expect("stage lock").closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::config::Family;
    use serde_json::{Map, json};

    fn m(v: serde_json::Value) -> Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn steps_add_up_to_one_plan_with_a_net_summary() {
        let base = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"valid-lifetime": 4000, "subnet4": []}}),
        )
        .unwrap();
        let mut new = base.clone();
        new.root_mut().insert(
            "subnet4".into(),
            json!([{"id": 1, "subnet": "10.50.0.0/24"}]),
        );
        let stage = Stage::new();
        let d = DaemonId::from_text("local:dhcp4:/x");
        assert!(stage.is_empty() && stage.config(&d).is_none());
        let add = Edit::AddSubnet(m(json!({"subnet": "10.50.0.0/24"})));
        stage.record(
            &d,
            "lab/dhcp4",
            base.clone(),
            new.clone(),
            Step::of(std::slice::from_ref(&add), vec!["config-set".into()]),
            None,
        );
        let mut newer = new.clone();
        newer
            .root_mut()
            .insert("valid-lifetime".into(), json!(7200));
        let set = Edit::Set(m(json!({"valid-lifetime": 7200})));
        stage.record(
            &d,
            "lab/dhcp4",
            new.clone(),
            newer.clone(),
            Step::of(&[set], vec!["config-set".into()]),
            Some("sane".into()),
        );
        let noop = Edit::Set(m(json!({"valid-lifetime": 7200})));
        stage.record(
            &d,
            "lab/dhcp4",
            newer.clone(),
            newer.clone(),
            Step::of(&[noop], vec![]),
            None,
        );
        assert_eq!(stage.config(&d).unwrap(), newer);
        let plans = stage.take();
        assert!(stage.is_empty());
        assert_eq!(plans.len(), 1);
        let p = &plans[0];
        assert_eq!(
            p.summary(),
            "1 to add, 1 to change, 0 to delete on lab/dhcp4"
        );
        assert!(pending(&plans));
        let text = render(&plans);
        assert!(
            text.contains("[dry run] lab/dhcp4: add subnet 10.50.0.0/24: would send config-set\n"),
            "{text}"
        );
        assert!(
            text.contains("set settings valid_lifetime: changes nothing; nothing would be sent"),
            "{text}"
        );
        assert!(text.contains("+    \"valid-lifetime\": 7200"), "{text}");
        assert!(text.contains("Kea's config-test says: sane"), "{text}");
        assert!(
            text.ends_with("Plan: 1 to add, 1 to change, 0 to delete on lab/dhcp4.\n"),
            "{text}"
        );
        // Added, then deleted: nothing to add.
        let del = Edit::DeleteSubnet(crate::kea::config::SubnetKey::Prefix(
            crate::kea::config::net::Prefix::parse("10.50.0.0/24", Family::V4, "subnet").unwrap(),
        ));
        let steps = [
            Step::of(&[add], vec!["x".into()]),
            Step::of(&[del], vec!["x".into()]),
        ];
        assert_eq!(counts(&steps), (0, 0, 0));
        assert!(!pending(&[]));
    }
}
