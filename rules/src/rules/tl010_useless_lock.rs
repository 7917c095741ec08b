use std::collections::HashSet;

use crate::declare_rule;
use crate::diagnostic::{Finding, FixAvailability, Related, Violation};
use crate::held::walk_held;
use crate::model::{
    events, AcquireHow, EventKind, FileModel, Flavor, FnId, Function, Language, ObjId, ObjKey,
    ObjKind,
};
use crate::registry::{Check, Context};
use crate::source::{short, NAME_WIDTH};

declare_rule! {
    /// ## What it does
    /// Checks for locks that no other thread can ever acquire, so they protect nothing:
    /// - a lock created and acquired in the same expression: `with threading.Lock():`,
    ///   `threading.Lock().acquire()`, Rust `Mutex::new(..).lock()`;
    /// - a lock created as a local variable of a function and acquired there, which never
    ///   leaves that function: it is not passed to a call (`Thread(args=(lock,))`,
    ///   `Arc::new(m)`, `worker(&m)`), not returned, not stored in an attribute, a field or a
    ///   container, and not captured by a nested function, a lambda or a closure (a thread's
    ///   target, a `thread::scope` spawn, a rayon closure).
    ///
    /// The same goes for the other lock-like objects (`RLock`, `Condition`, `Semaphore`,
    /// `RwLock`).
    ///
    /// Not reported:
    /// - a lock whose own behaviour the function exercises, as the tests of a lock type do:
    ///   it tries to acquire it without blocking or with a timeout (`try_lock()`,
    ///   `acquire(blocking=False)`), leaks a guard of it, or acquires it while already holding
    ///   it;
    /// - in Rust, a lock whose guard the function hands on by value
    ///   (`ReadView::new(lock.read().unwrap())`): the code that takes the guard holds the lock,
    ///   which leaves the function with it (a guard lent as `&mut guard` does not);
    /// - an object that is not one of the known lock types, even if it has a `lock()` method
    ///   (a crate's own lock type, `std::fs::File`).
    ///
    /// ## Why is this bad?
    /// Mutual exclusion works only between threads that acquire the *same* lock object. A lock
    /// made inside the function is a new object on every call: two threads running the
    /// function each lock their own, and the code under it runs concurrently anyway. The lock
    /// gives a false sense of safety, and usually means the author meant a shared lock (a
    /// module-level lock, an attribute, a `static`, an `Arc` cloned into each thread) and the
    /// shared state it guards is in fact unprotected.
    ///
    /// ## Example
    /// ```python
    /// def record(item):
    ///     with threading.Lock():
    ///         results.append(item)
    ///
    /// def bump(self):
    ///     lock = threading.Lock()
    ///     with lock:
    ///         self.count += 1
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// _results_lock = threading.Lock()
    ///
    /// def record(item):
    ///     with _results_lock:
    ///         results.append(item)
    ///
    /// def bump(self):
    ///     with self._lock:  # created once, in __init__
    ///         self.count += 1
    /// ```
    ///
    /// In Rust, `Mutex::new(data).lock()` locks a temporary; share one
    /// `Arc<Mutex<T>>` (or a `static Mutex`) between the threads and lock that.
    ///
    /// ## References
    /// - [Python docs: Lock objects](https://docs.python.org/3/library/threading.html#lock-objects)
    /// - [Rust docs: `std::sync::Mutex`](https://doc.rust-lang.org/std/sync/struct.Mutex.html)
    pub static RULE = {
        violation: UselessLock,
        name: "useless-lock",
        severity: Warning,
        languages: [Python, Rust],
        summary: "A lock that no other thread can acquire (created in place, or a local that never leaves its function): it protects nothing.",
        check: Check::File(check),
    };
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut reported = HashSet::new();
    let mut findings = Vec::new();
    for (index, function) in model.functions.iter().enumerate() {
        let id = FnId(index as u32);
        let tested = locks_under_test(model, id);
        events(&function.body, &mut |event, _| {
            let EventKind::Acquire { obj, .. } = &event.kind else {
                return;
            };
            if !is_private_lock(model, id, *obj) || tested.contains(obj) || !reported.insert(*obj) {
                return;
            }
            findings.push(report(model, function, *obj, event.span));
        });
    }
    findings
}

/// A lock-like object that only this call of `function` can reach: created in it and never
/// handed out.
fn is_private_lock(model: &FileModel, function: FnId, obj: ObjId) -> bool {
    let object = model.object(obj);
    let created_here = match &object.key {
        ObjKey::Local {
            function: owner, ..
        } => *owner == function,
        ObjKey::Other(_) => true,
        _ => false,
    };
    // A kind guessed from a method name (`x.lock()` on a value of unknown type) may be any
    // type with such a method: only a known lock type is reported.
    created_here && !object.escapes && !object.inferred && object.kind.is_lock_like()
}

/// The locks whose own behaviour the function exercises, as a test of a lock type does: it
/// tries to acquire one without blocking or with a timeout (on a lock nobody else can hold,
/// the outcome depends only on the function itself), leaks a guard, or acquires one while
/// already holding it.
fn locks_under_test(model: &FileModel, function: FnId) -> HashSet<ObjId> {
    let mut tested = HashSet::new();
    walk_held(model, function, &mut |event, held, _| match event.kind {
        EventKind::Acquire { obj, how, .. } => {
            let lock = model.lock_of(obj);
            if matches!(how, AcquireHow::NonBlocking | AcquireHow::Timeout)
                || held.iter().any(|h| h.lock == lock)
            {
                tested.insert(obj);
                tested.insert(lock);
            }
        }
        EventKind::GuardLeak { obj } => {
            tested.insert(obj);
            tested.insert(model.lock_of(obj));
        }
        _ => {}
    });
    tested
}

/// What the object is, as resolved: the kind, and for Rust whether it is an async lock (which
/// runtime's is not known, so none is named).
fn kind_name(kind: ObjKind, language: Language) -> &'static str {
    match (kind, language) {
        (
            ObjKind::Lock {
                flavor: Flavor::Async,
            },
            Language::Rust,
        ) => "async Mutex",
        (
            ObjKind::RwLock {
                flavor: Flavor::Async,
            },
            Language::Rust,
        ) => "async RwLock",
        (ObjKind::Lock { .. }, Language::Rust) => "Mutex",
        _ => kind.describe(language),
    }
}

/// A lock no other thread can acquire.
pub struct UselessLock {
    /// The lock as written (a local by its variable).
    pub name: String,
    pub kind: &'static str,
    /// The function that creates it for each call; `None` for a temporary acquired at once.
    pub created_in: Option<String>,
    pub language: Language,
}

impl Violation for UselessLock {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        let UselessLock { name, kind, .. } = self;
        match &self.created_in {
            None => format!(
                "`{name}` creates a new {kind} and acquires it at once: no other thread can ever acquire the same {kind}, so it protects nothing"
            ),
            Some(function) => format!(
                "`{name}` is {} {kind} created in `{function}` that never leaves it: every call makes its own {kind}, which no other thread can acquire, so it protects nothing",
                article(kind),
            ),
        }
    }

    fn help(&self) -> String {
        let kind = self.kind;
        // The type as written in code (`Arc<Mutex<_>>`), without the async qualifier.
        let type_name = kind.trim_start_matches("async ");
        match self.language {
            Language::Python => format!(
                "Create the {kind} once where every thread can reach it (a module-level `threading.{kind}()`, or an attribute set in `__init__`) and acquire that one; if nothing is shared, remove the lock"
            ),
            Language::Rust => format!(
                "Share one {kind} between the threads (a `static`, a struct field, or an `Arc<{type_name}<_>>` cloned into each thread) and lock that one; if nothing is shared, remove the lock"
            ),
        }
    }
}

fn report(model: &FileModel, function: &Function, obj: ObjId, site: crate::model::Span) -> Finding {
    let object = model.object(obj);
    let kind = kind_name(object.kind, model.language);
    let (created_in, related) = match &object.key {
        ObjKey::Other(_) => (None, Vec::new()),
        _ => (
            Some(function.qualified_name()),
            object
                .def
                .filter(|def| *def != site)
                .map(|def| Related {
                    file: None,
                    span: def,
                    message: format!("`{}` is created here", name_of(object)),
                })
                .into_iter()
                .collect(),
        ),
    };
    let violation = UselessLock {
        name: match created_in {
            None => short(&object.display, NAME_WIDTH),
            Some(_) => name_of(object),
        },
        kind,
        created_in,
        language: model.language,
    };
    violation.at(site).with_related(related)
}

/// `a Lock`, `an RLock`.
fn article(kind: &str) -> &'static str {
    match kind {
        "RLock" | "RwLock" | "async Mutex" | "async RwLock" => "an",
        _ => "a",
    }
}

/// How the object is named in messages: a local by its variable, anything else as written.
fn name_of(object: &crate::model::SyncObject) -> String {
    match &object.key {
        ObjKey::Local { name, .. } => short(crate::model::written_name(name), NAME_WIDTH),
        _ => short(&object.display, NAME_WIDTH),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AsyncThread, Event, Node, Span, SyncObject};
    use crate::registry::RuleSettings;

    /// One async function that creates a lock of `kind` and acquires it once.
    fn model_with_local_lock(kind: ObjKind) -> FileModel {
        let acquire = Event {
            kind: EventKind::Acquire {
                obj: ObjId(0),
                how: AcquireHow::Scoped,
                receiver: Span::new(40, 41),
                shared: false,
            },
            span: Span::new(40, 48),
            statement: None,
        };
        FileModel {
            language: Language::Rust,
            module: None,
            objects: vec![SyncObject {
                key: ObjKey::Local {
                    function: FnId(0),
                    name: "m".into(),
                },
                kind,
                display: "m".into(),
                def: Some(Span::new(20, 30)),
                escapes: false,
                project_key: None,
                guarded_by: None,
                inferred: false,
                owned: false,
            }],
            functions: vec![Function {
                name: "update".into(),
                class: None,
                params: Vec::new(),
                param_types: Vec::new(),
                is_abstract: false,
                exclusive_receiver: false,
                is_async: true,
                span: Span::new(0, 60),
                name_span: Span::new(9, 15),
                body: vec![Node::Event(acquire)],
                paused_clock: None,
                async_thread: AsyncThread::Runtime,
            }],
            thread_entries: Vec::new(),
            calls: rustc_hash::FxHashMap::default(),
            module_imports: Vec::new(),
        }
    }

    fn messages(model: &FileModel) -> Vec<(String, String)> {
        let source = " ".repeat(60);
        let settings = RuleSettings::default();
        check(&Context::new(model, &source, &settings))
            .into_iter()
            .map(|f| (f.message, f.help))
            .collect()
    }

    #[test]
    fn async_lock_is_named_as_resolved_not_after_one_runtime() {
        let model = model_with_local_lock(ObjKind::Lock {
            flavor: Flavor::Async,
        });
        let found = messages(&model);
        assert_eq!(found.len(), 1);
        let (message, help) = &found[0];
        assert!(
            message.contains("is an async Mutex created in `update`"),
            "{message}"
        );
        assert!(!message.contains("tokio"), "{message}");
        assert!(help.contains("`Arc<Mutex<_>>`"), "{help}");
    }

    #[test]
    fn lock_whose_kind_is_guessed_from_a_method_name_is_not_reported() {
        let mut model = model_with_local_lock(ObjKind::Lock {
            flavor: Flavor::Std,
        });
        assert_eq!(messages(&model).len(), 1);
        model.objects[0].inferred = true;
        assert!(messages(&model).is_empty());
    }
}
