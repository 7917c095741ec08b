use std::collections::HashSet;

use crate::declare_rule;
use crate::diagnostic::{Finding, Related};
use crate::model::{events, EventKind, FileModel, FnId, Function, Language, ObjId, ObjKey};
use crate::registry::{Check, Context};

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
        code: "TL010",
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
        events(&function.body, &mut |event, _| {
            let EventKind::Acquire { obj, .. } = &event.kind else {
                return;
            };
            if !is_private_lock(model, id, *obj) || !reported.insert(*obj) {
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
    created_here && !object.escapes && object.kind.is_lock_like()
}

fn report(model: &FileModel, function: &Function, obj: ObjId, site: crate::model::Span) -> Finding {
    let object = model.object(obj);
    let kind = object.kind.describe(model.language);
    let (message, related) = match &object.key {
        ObjKey::Other(_) => (
            format!(
                "`{}` creates a new {kind} and acquires it at once: no other thread can ever acquire the same {kind}, so it protects nothing",
                short(&object.display)
            ),
            Vec::new(),
        ),
        _ => (
            format!(
                "`{}` is {} {kind} created in `{}` that never leaves it: every call makes its own {kind}, which no other thread can acquire, so it protects nothing",
                name_of(object),
                article(kind),
                function.qualified_name()
            ),
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
    let help = match model.language {
        Language::Python => format!(
            "Create the {kind} once where every thread can reach it (a module-level `threading.{kind}()`, or an attribute set in `__init__`) and acquire that one; if nothing is shared, remove the lock"
        ),
        Language::Rust => format!(
            "Share one {kind} between the threads (a `static`, a struct field, or an `Arc<{kind}<_>>` cloned into each thread) and lock that one; if nothing is shared, remove the lock"
        ),
    };
    Finding::new("TL010", site, message, help).with_related(related)
}

/// `a Lock`, `an RLock`.
fn article(kind: &str) -> &'static str {
    match kind {
        "RLock" | "RwLock" => "an",
        _ => "a",
    }
}

/// How the object is named in messages: a local by its variable, anything else as written.
fn name_of(object: &crate::model::SyncObject) -> String {
    match &object.key {
        ObjKey::Local { name, .. } => short(name),
        _ => short(&object.display),
    }
}

/// The first line of a name, shortened for a one-line message.
fn short(name: &str) -> String {
    let line = name.lines().next().unwrap_or("").trim();
    if line.chars().count() > 40 || name.trim().contains('\n') {
        let cut: String = line.chars().take(37).collect();
        format!("{cut}...")
    } else {
        line.to_string()
    }
}
