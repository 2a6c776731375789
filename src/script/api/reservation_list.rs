//! `v4.reservations()` / `v4.reservations(scope)`: a lazy list of reservations. A `for`
//! loop reads them one at a time: from a hosts database a page at a time
//! (`reservation-get-page`, 500 hosts a page, the next page asked only when the loop gets
//! there), from the configuration one view at a time over the document already read. It
//! also has `len()` (counted page by page, nothing kept), `is_empty()` and `to_array()`
//! (every reservation in an array, for `filter`, `map`, indexing).

use std::collections::VecDeque;
use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult};
use serde_json::Value;

use crate::kea::Service;
use crate::kea::config::reservations::{self as rv, ResvAt};
use crate::kea::config::{ConfigDoc, to_script_keys};
use crate::kea::hosts;
use crate::script::RunContext;
use crate::script::convert::to_dynamic;

type R<T> = Result<T, Box<EvalAltResult>>;

/// Where the reservations come from.
#[derive(Clone)]
enum Source {
    /// The configuration, read once: the places of the reservations in it.
    Config {
        doc: Arc<ConfigDoc>,
        at: Arc<Vec<ResvAt>>,
    },
    /// A hosts database (through host_cmds): the subnet ids to page through (0: global).
    Database { svc: Service, ids: Arc<Vec<u64>> },
}

/// The lazy list a script gets.
#[derive(Clone)]
pub struct Reservations {
    source: Source,
    ctx: Arc<RunContext>,
    /// `server/service` and the scope, for printing.
    label: String,
}

impl Reservations {
    /// Reservations kept in the configuration `doc` (of `scope`, or all).
    pub fn from_config(
        ctx: Arc<RunContext>,
        doc: ConfigDoc,
        scope: Option<&rv::ResvScope>,
        label: String,
    ) -> Result<Self, crate::kea::KeaError> {
        let at = rv::all(&doc, scope)?;
        Ok(Self {
            source: Source::Config {
                doc: Arc::new(doc),
                at: Arc::new(at),
            },
            ctx,
            label,
        })
    }

    /// Reservations of subnets `ids` (0: global) as host_cmds answers for `svc`.
    pub fn from_database(ctx: Arc<RunContext>, svc: Service, ids: Vec<u64>, label: String) -> Self {
        Self {
            source: Source::Database {
                svc,
                ids: Arc::new(ids),
            },
            ctx,
            label,
        }
    }

    /// How many there are: counted a page at a time for a database (nothing kept).
    fn len(&self) -> R<i64> {
        match &self.source {
            Source::Config { at, .. } => Ok(at.len() as i64),
            Source::Database { .. } => {
                let mut n = 0i64;
                let mut it = self.clone().into_iter();
                while let Some(page) = it.next_page()? {
                    n += page as i64;
                    it.buffer.clear();
                }
                Ok(n)
            }
        }
    }

    fn to_array(&self) -> R<Array> {
        self.clone().into_iter().collect()
    }
}

/// Reading a [`Reservations`] one at a time.
pub struct Iter {
    list: Reservations,
    /// Config: the next index. Database: the index of the subnet id being paged.
    pos: usize,
    buffer: VecDeque<Value>,
    /// The cursor of the next page of the current subnet; `None` with `started` false: its
    /// first page; `None` with `started` true: it is done.
    next: Option<Value>,
    started: bool,
    failed: bool,
}

impl Iter {
    /// Reads the next page of a database into the buffer; `Some(n)` hosts read, `None` when
    /// every subnet is done.
    fn next_page(&mut self) -> R<Option<usize>> {
        let Source::Database { svc, ids } = &self.list.source else {
            return Ok(None);
        };
        loop {
            let Some(&id) = ids.get(self.pos) else {
                return Ok(None);
            };
            if self.started && self.next.is_none() {
                self.pos += 1;
                self.started = false;
                continue;
            }
            let (svc, from) = (svc.clone(), self.next.take());
            let (hosts, next) = self
                .list
                .ctx
                .block(async move { hosts::page(&svc, id, from.as_ref()).await })?;
            self.started = true;
            self.next = next;
            let n = hosts.len();
            self.buffer
                .extend(hosts.iter().map(|h| to_script_keys(&hosts::view(id, h))));
            if n > 0 {
                return Ok(Some(n));
            }
        }
    }
}

impl Iterator for Iter {
    type Item = R<Dynamic>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if let Source::Config { doc, at } = &self.list.source {
            let a = *at.get(self.pos)?;
            self.pos += 1;
            return Some(to_dynamic(&to_script_keys(&rv::view(doc, a))));
        }
        if self.buffer.is_empty() {
            match self.next_page() {
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        self.buffer.pop_front().map(|v| to_dynamic(&v))
    }
}

impl IntoIterator for Reservations {
    type Item = R<Dynamic>;
    type IntoIter = Iter;

    fn into_iter(self) -> Iter {
        Iter {
            list: self,
            pos: 0,
            buffer: VecDeque::new(),
            next: None,
            started: false,
            failed: false,
        }
    }
}

pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Reservations>("Reservations")
        .register_iterator_result::<Reservations, Dynamic>()
        .register_fn("len", |r: &mut Reservations| r.len())
        .register_fn("is_empty", |r: &mut Reservations| {
            Ok::<_, Box<EvalAltResult>>(r.clone().into_iter().next().transpose()?.is_none())
        })
        .register_fn("to_array", |r: &mut Reservations| r.to_array())
        .register_fn("to_string", |r: &mut Reservations| {
            format!(
                "reservations of {} (a lazy list: for r in …, len(), to_array())",
                r.label
            )
        })
        .register_fn("to_debug", |r: &mut Reservations| {
            format!("Reservations({})", r.label)
        });
}
