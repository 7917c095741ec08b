use crate::declare_rule;
use crate::diagnostic::{Finding, FixAvailability, Related, Violation};
use crate::model::{AcquireHow, Language, ObjKey};
use crate::registry::{Check, Context};

declare_rule! {
    /// ## What it does
    /// Checks for a non-reentrant lock acquired again by the thread that already holds it:
    /// nested `with self._lock:` on the same `Lock`, or a method that holds `self._lock` and
    /// calls another method of the same class that acquires it. A `Condition` built over a
    /// lock shares that lock, so `with self._cond:` while holding `self._lock` re-acquires it.
    /// In Rust: a second `.lock()` or `.write()` on the same `Mutex`/`RwLock` while the first
    /// guard is alive, directly or through a method call.
    ///
    /// Not reported: `RLock` (and a default `Condition()`, which wraps an `RLock`),
    /// non-blocking or timed attempts (`acquire(blocking=False)`, `try_lock`), the same
    /// attribute of two different objects (`src.lock` and `dst.lock` are two locks), and a lock
    /// used as a signal between threads: one that some function releases without acquiring it
    /// (`done.acquire()` waiting for a worker's `done.release()`). Two read guards of one
    /// `RwLock` are not reported either: readers share the lock (though a writer queued
    /// between them can still block the second read on some implementations). Nor is a lock
    /// taken in code that runs elsewhere or later: the body of a closure or `async` block
    /// given to `thread::spawn`, `tokio::spawn` or a pool, a `move` closure handed to any
    /// function or method (it owns its captures, to be kept or sent; not one given to a
    /// standard combinator that calls it at once, such as `map`, `and_then` or
    /// `or_insert_with`), or an `async` block stored for later. A borrowing closure given to
    /// a function still counts as running here. Before
    /// edition 2024, the guard of `if let Ok(g) = m.lock()` is alive in the `else` too.
    ///
    /// ## Why is this bad?
    /// `threading.Lock` and `std::sync::Mutex` do not know which thread holds them: the
    /// second acquisition waits for a release that the same thread would do later. The thread
    /// deadlocks on itself (Rust's `Mutex` may also panic), every time this path runs.
    ///
    /// ## Example
    /// ```python
    /// class Counter:
    ///     def __init__(self):
    ///         self._lock = threading.Lock()
    ///         self._n = 0
    ///
    ///     def increment(self):
    ///         with self._lock:
    ///             self._n += 1
    ///
    ///     def increment_twice(self):
    ///         with self._lock:
    ///             self.increment()  # deadlock
    ///             self.increment()
    /// ```
    ///
    /// Use instead: a locked public method and an unlocked private helper.
    /// ```python
    ///     def _increment_locked(self):
    ///         self._n += 1
    ///
    ///     def increment(self):
    ///         with self._lock:
    ///             self._increment_locked()
    ///
    ///     def increment_twice(self):
    ///         with self._lock:
    ///             self._increment_locked()
    ///             self._increment_locked()
    /// ```
    ///
    /// or `threading.RLock()` where re-entry is by design. In Rust, pass the guard (or `&mut`
    /// to the data) to the helper, or drop the guard before calling it.
    ///
    /// ## References
    /// - [Python docs: RLock objects](https://docs.python.org/3/library/threading.html#rlock-objects)
    /// - [Rust docs: `Mutex::lock`](https://doc.rust-lang.org/std/sync/struct.Mutex.html#method.lock)
    pub static RULE = {
        violation: NonreentrantReacquire,
        name: "nonreentrant-reacquire",
        severity: Error,
        languages: [Python, Rust],
        summary: "A non-reentrant lock acquired again by the thread that holds it: self-deadlock.",
        guards_fixes: true,
        check: Check::File(check),
    };
}

/// A non-reentrant lock acquired again by the thread that holds it.
pub enum NonreentrantReacquire {
    /// In this file: nested, or through a call (`through_call`) of a function of the file.
    /// `shared` names the lock two objects share (a `Condition` over a `Lock`), says "the same
    /// lock" when the two sites write it differently, or is empty.
    Local {
        inner: String,
        outer: String,
        shared: String,
        kind: &'static str,
        through_call: bool,
        language: Language,
    },
    /// Through a call into another file (`file`), whose callee is named `callee`.
    ThroughFile {
        callee: String,
        inner: String,
        outer: String,
        file: String,
    },
}

impl Violation for NonreentrantReacquire {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        match self {
            NonreentrantReacquire::Local { inner, outer, shared, kind, through_call: true, .. } => format!("This call acquires `{inner}` while `{outer}` is already held by this thread{shared}: `{kind}` is not reentrant, so the thread deadlocks on itself"),
            NonreentrantReacquire::Local { inner, outer, shared, kind, language: Language::Python, .. } => format!("`{inner}` is acquired while `{outer}` is already held by this thread{shared}: `{kind}` is not reentrant, so the thread deadlocks on itself"),
            NonreentrantReacquire::Local { inner, outer, shared, kind, language: Language::Rust, .. } => format!("`{inner}` is locked again while a guard of `{outer}` is alive{shared}: `{kind}` is not reentrant, so the thread deadlocks (or panics)"),
            NonreentrantReacquire::ThroughFile { callee, inner, outer, file } => format!("This call to `{callee}` acquires `{inner}` (in {file}) while `{outer}` is already held by this thread: the lock is not reentrant, so the thread deadlocks on itself"),
        }
    }

    fn help(&self) -> String {
        match self {
            NonreentrantReacquire::Local { through_call: true, language: Language::Python, .. } => "Move the locked work into a helper that expects the lock held, call that here; or use `threading.RLock()` if re-entry is by design",
            NonreentrantReacquire::Local { through_call: true, language: Language::Rust, .. } => "Pass the guard (or `&mut` to the data) to the helper instead of locking again, or drop the guard before the call",
            NonreentrantReacquire::Local { language: Language::Python, .. } => "Remove the inner acquisition, or use `threading.RLock()` if re-entry is by design",
            NonreentrantReacquire::Local { language: Language::Rust, .. } => "Use the guard you already hold, or drop it before locking again",
            NonreentrantReacquire::ThroughFile { .. } => "Move the locked work into a helper that expects the lock held and call that here, or release the lock before the call; use `threading.RLock()` only if re-entry is by design",
        }
        .to_string()
    }
}

/// `lock.acquire()` twice in a row on a lock local to the function: a local lock is only of use
/// if it was handed to another thread, which is expected to release it; the second acquisition
/// waits for that.
fn is_signal_wait(
    model: &crate::model::FileModel,
    nested: &crate::held::NestedAcquisition,
) -> bool {
    nested.through.is_none()
        && nested.outer.how == AcquireHow::Manual
        && nested.inner_how == AcquireHow::Manual
        && matches!(
            model.object(nested.inner_lock).key,
            ObjKey::Local { .. } | ObjKey::Param { .. }
        )
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    let handoff = cx.handoff_locks();
    for nested in cx.nested_acquisitions() {
        if nested.outer.lock != nested.inner_lock
            || model.is_reentrant(nested.inner_lock)
            || handoff.contains(&nested.inner_lock)
            || is_signal_wait(model, nested)
            || (nested.outer.shared && nested.inner_shared)
            || matches!(
                nested.inner_how,
                AcquireHow::NonBlocking | AcquireHow::Timeout
            )
        {
            continue;
        }
        let outer = &model.name_at(cx.source, nested.outer.obj, nested.outer.site);
        let inner_site = nested.through.as_ref().map_or(nested.site, |t| t.site);
        let inner = &model.name_at(cx.source, nested.inner_obj, inner_site);
        let lock = model.object(nested.inner_lock);
        let kind = lock.kind.describe(model.language);
        let shared =
            if nested.inner_obj != nested.inner_lock || nested.outer.obj != nested.outer.lock {
                format!(" (both are `{}`)", lock.display)
            } else if inner != outer {
                // Written differently at the two sites (`ledger._lock` here, `self._lock` in
                // the method called).
                " (the same lock)".to_string()
            } else {
                String::new()
            };
        let violation = NonreentrantReacquire::Local {
            inner: inner.clone(),
            outer: outer.clone(),
            shared,
            kind,
            through_call: nested.through.is_some(),
            language: model.language,
        };
        let mut related = vec![Related {
            file: None,
            span: nested.outer.site,
            message: format!("`{outer}` first acquired here"),
        }];
        if let Some(through) = &nested.through {
            related.push(Related {
                file: None,
                span: through.site,
                message: format!(
                    "`{inner}` acquired again here, inside `{}`",
                    model.function(through.function).qualified_name()
                ),
            });
        }
        findings.push(violation.at(nested.site).with_related(related));
    }
    findings.sort_by_key(|f| (f.span.start, f.span.end));
    findings.dedup_by(|a, b| a.span == b.span);
    findings
}
