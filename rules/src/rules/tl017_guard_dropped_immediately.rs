use crate::declare_rule;
use crate::diagnostic::{Applicability, Edit, Finding, Fix, FixAvailability, Violation};
use crate::model::{
    bodies, events, AcquireHow, Event, EventKind, FileModel, Flavor, Node, ObjId, ObjKind, Span,
};
use crate::registry::{Check, Context};
use crate::source::text;

declare_rule! {
    /// ## What it does
    /// Checks for a lock guard that is dropped in the statement that takes it: `let _ =
    /// m.lock();` (`_` is not a binding, so the guard is dropped at once), or
    /// `m.lock().unwrap();` on its own as a statement. Read and write guards of an `RwLock`
    /// (`let _ = rw.write();`) and guards of `parking_lot`, `spin` and `ReentrantMutex` locks
    /// are reported alike. So is a guard matched by a `_` inside a tuple or struct pattern
    /// (`let (_, n) = (m.lock(), 1);`, or the destructuring assignment `(_, n) = (m.lock(),
    /// 1);`), which is dropped at the end of the statement too, as rustc's
    /// `let_underscore_lock` also reports (no fix is offered there).
    ///
    /// Not reported:
    /// - a guard bound to a name, even one starting with an underscore (`let _guard =
    ///   m.lock();` lives to the end of its block);
    /// - a temporary guard that the statement uses (`m.lock().unwrap().push(1);` pushes while
    ///   the lock is held), and a guard that is the value of its block (returned);
    /// - `drop(m.lock())`: an explicit, visible drop, the idiom for waiting until the current
    ///   holder lets go;
    /// - `let _ = m.try_lock();` and the timed `try_lock_for`: whether the lock was taken is
    ///   thrown away with the guard, so the code cannot have meant to rely on holding it (it
    ///   probes the lock, or only wants to know whether another thread holds it);
    /// - `x.lock().unwrap();` on a value whose type is not known: `lock()` may take a lock
    ///   without a guard (`std::fs::File::lock` holds the file lock until `unlock()`);
    /// - guards of async locks (`let _ = m.lock().await;` on a `tokio::sync::Mutex`): in async
    ///   code taking and releasing the lock at once is how a task waits for the task holding
    ///   it to finish its critical section.
    ///
    /// ## Why is this bad?
    /// The lock is released before the next statement runs, so what follows is not protected
    /// at all: two threads run the "critical section" at the same time. The code reads as if
    /// the lock were held, which makes the race hard to spot. A `Mutex<()>` that serialises
    /// access to something outside it (a file, a test fixture, a global setting) is where this
    /// happens most: the data of a `Mutex<T>` can only be reached through the guard, but the
    /// outside resource can be used without it.
    ///
    /// ## Example
    /// ```rust
    /// static ENV_LOCK: Mutex<()> = Mutex::new(());
    ///
    /// fn with_env_var(value: &str) {
    ///     let _ = ENV_LOCK.lock().unwrap();
    ///     std::env::set_var("MODE", value);
    ///     run();
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// fn with_env_var(value: &str) {
    ///     let _guard = ENV_LOCK.lock().unwrap();
    ///     std::env::set_var("MODE", value);
    ///     run();
    /// }
    /// ```
    ///
    /// If the intent is only to wait until another thread releases the lock, say so with
    /// `drop(ENV_LOCK.lock())`.
    ///
    /// ## Fix
    /// `let _ = ...` becomes `let _guard = ...`; a guard discarded as a statement
    /// (`m.lock().unwrap();`) gets `let _guard = ` in front. Either way the guard then lives to
    /// the end of the enclosing block, which changes when the lock is released (later code in
    /// the block now runs under the lock, and locking the same mutex again there deadlocks), so
    /// the fix is unsafe: check the extent of the block, and add a `{ }` or a `drop(_guard)`
    /// where the critical section ends. When the rest of the block locks the same mutex again
    /// (a second `let _ = m.lock();`), there is no fix: two live guards would deadlock.
    ///
    /// ## References
    /// - [Rust lint `let_underscore_lock`](https://doc.rust-lang.org/rustc/lints/listing/deny-by-default.html#let-underscore-lock)
    /// - [Rust reference: temporary scopes](https://doc.rust-lang.org/reference/destructors.html#temporary-scopes)
    /// - [Rust docs: `MutexGuard`](https://doc.rust-lang.org/std/sync/struct.MutexGuard.html)
    pub static RULE = {
        violation: GuardDroppedImmediately,
        name: "guard-dropped-immediately",
        severity: Error,
        languages: [Rust],
        summary: "A lock guard bound to `_` or discarded as a statement: the lock is released at once and protects nothing.",
        check: Check::File(check),
    };
}

/// A lock guard bound to `_` or discarded as a statement.
pub struct GuardDroppedImmediately {
    /// The locking call as written, and the lock.
    pub call: String,
    pub object: String,
    /// Bound to `_` (`let _ = m.lock();`) rather than discarded as a statement.
    pub bound_to_underscore: bool,
}

impl Violation for GuardDroppedImmediately {
    const FIX: FixAvailability = FixAvailability::Sometimes;

    fn message(&self) -> String {
        let GuardDroppedImmediately { call, object, .. } = self;
        if self.bound_to_underscore {
            format!("The guard of `{call}` is bound to `_`, which does not keep it: `{object}` is unlocked again before the next statement, so nothing after it is protected")
        } else {
            format!("The guard of `{call}` is discarded at the end of this statement: `{object}` is unlocked again at once, so nothing after it is protected")
        }
    }

    fn help(&self) -> String {
        let GuardDroppedImmediately { call, object, .. } = self;
        format!("Bind the guard to a name (`let _guard = ...`) so `{object}` stays locked to the end of the block; to wait for the current holder only, write `drop({call})`")
    }
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    for function in &model.functions {
        bodies(&function.body, &mut |body, _| {
            for (position, node) in body.iter().enumerate() {
                let Node::Event(event) = node else { continue };
                let EventKind::Acquire {
                    obj,
                    how: AcquireHow::Temporary,
                    shared,
                    ..
                } = event.kind
                else {
                    continue;
                };
                // The acquisition is the whole statement: its guard is bound to `_` or discarded.
                let Some(statement) = event.statement else {
                    continue;
                };
                let kind = model.object(obj).kind;
                // A guessed kind (`file.lock().unwrap();` on a value of unknown type) may be a lock
                // that has no guard, such as `std::fs::File::lock`.
                if !kind.is_mutex() || is_async(kind) || model.object(obj).inferred {
                    continue;
                }
                let object = &model.object(obj).display;
                let call = shown(cx.source, event.span, object);
                let bound_to_underscore = statement.start < event.span.start;
                // A guard kept to the end of the block while the block locks the same mutex again
                // would deadlock: no fix then.
                let lock = model.lock_of(obj);
                let fix = if locked_again(model, &body[position + 1..], lock, shared) {
                    None
                } else {
                    fix(cx.source, event, statement, bound_to_underscore)
                };
                let violation = GuardDroppedImmediately {
                    call,
                    object: object.clone(),
                    bound_to_underscore,
                };
                findings.push(violation.at_with_fix(event.span, fix));
            }
        });
    }
    findings
}

/// Whether `rest` (what follows in the block) acquires `lock` again, other than as one more
/// read guard beside a read guard.
fn locked_again(model: &FileModel, rest: &[Node], lock: ObjId, shared: bool) -> bool {
    let mut again = false;
    let mut visit = |event: &Event| {
        if let EventKind::Acquire {
            obj,
            shared: other_shared,
            ..
        } = event.kind
        {
            again |= model.lock_of(obj) == lock && !(shared && other_shared);
        }
    };
    for node in rest {
        match node {
            Node::Event(event) => visit(event),
            Node::Scope(scope) => events(&scope.body, &mut |event, _| visit(event)),
        }
    }
    again
}

fn is_async(kind: ObjKind) -> bool {
    matches!(
        kind,
        ObjKind::Lock {
            flavor: Flavor::Async
        } | ObjKind::RwLock {
            flavor: Flavor::Async
        }
    )
}

/// The acquiring call as written, when it is short enough to quote.
fn shown(source: &str, span: Span, object: &str) -> String {
    let call = text(source, span);
    if call.is_empty() || call.contains('\n') || call.len() > 60 {
        format!("{object}.lock()")
    } else {
        call.to_string()
    }
}

/// `let _ = ...` -> `let _guard = ...`; a bare statement gets `let _guard = ` in front.
fn fix(source: &str, event: &Event, statement: Span, bound_to_underscore: bool) -> Option<Fix> {
    let edit = if bound_to_underscore {
        let head = text(source, Span::new(statement.start, event.span.start));
        let rest = head.strip_prefix("let")?;
        let pattern = rest.len() - rest.trim_start().len();
        let after = rest.trim_start().strip_prefix('_')?;
        if !after.starts_with(|c: char| c.is_whitespace() || c == '=' || c == ':') {
            return None;
        }
        let at = statement.start + 3 + pattern as u32;
        Edit {
            span: Span::new(at, at + 1),
            content: "_guard".into(),
        }
    } else {
        Edit {
            span: Span::new(statement.start, statement.start),
            content: "let _guard = ".into(),
        }
    };
    Some(Fix {
        applicability: Applicability::Unsafe,
        message: "Bind the guard to `_guard`, so the lock is held to the end of the block".into(),
        edits: vec![edit],
    })
}
