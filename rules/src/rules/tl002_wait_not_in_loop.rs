use crate::declare_rule;
use crate::diagnostic::{Applicability, Edit, Finding, Fix};
use crate::model::{events, EventKind, Language, LoopKind, Node, Read, ScopeKind, WaitKind};
use crate::registry::{Check, Context};
use crate::source::text;

declare_rule! {
    /// ## What it does
    /// Checks for condition waits (`Condition.wait()`, Rust `Condvar::wait` and
    /// `wait_timeout`) that are not inside a loop re-checking the predicate they wait for:
    /// waits guarded by `if`, or not guarded at all.
    ///
    /// ## Why is this bad?
    /// A wait can return while the predicate is still false. Wake-ups can be spurious, and
    /// between `notify()` and this thread re-acquiring the lock another thread may run first
    /// and consume the item or reset the flag (a stolen wake-up). Code after an `if`-guarded
    /// wait then works on a state it did not check: an empty queue, a missing result.
    ///
    /// `Event.wait()` is not a condition wait and is not reported; neither are
    /// `Condition.wait_for(predicate)` and `Condvar::wait_while`, which loop themselves.
    ///
    /// ## Example
    /// ```python
    /// with self._cond:
    ///     if not self._items:
    ///         self._cond.wait()
    ///     item = self._items.pop()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// with self._cond:
    ///     while not self._items:
    ///         self._cond.wait()
    ///     item = self._items.pop()
    /// ```
    ///
    /// or `self._cond.wait_for(lambda: self._items)`. In Rust, loop on the predicate
    /// (`while !*ready { ready = cvar.wait(ready).unwrap(); }`) or use `Condvar::wait_while`.
    ///
    /// ## Fix
    /// When the `if` has no `else` and its body is only the wait (without a timeout), `if`
    /// becomes `while`. The fix is safe when the condition reads only shared state (globals,
    /// attributes, the data behind the guard the wait takes), which the notifying thread
    /// changes. When it calls something, or also reads a local, re-evaluating it on every
    /// wake-up is usually intended but not certain, so the fix is unsafe. A condition on locals
    /// and parameters alone gets no fix: no other thread can change it, so the loop would wait
    /// forever.
    ///
    /// ## References
    /// - [Python docs: Condition objects](https://docs.python.org/3/library/threading.html#condition-objects)
    /// - [Rust docs: `Condvar::wait`](https://doc.rust-lang.org/std/sync/struct.Condvar.html#method.wait)
    pub static RULE = {
        code: "TL002",
        name: "wait-not-in-loop",
        severity: Warning,
        languages: [Python, Rust],
        summary: "A condition wait under `if` (or unguarded) instead of a `while` loop that re-checks the predicate.",
        check: Check::File(check),
    };
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    for function in &model.functions {
        events(&function.body, &mut |event, scopes| {
            let EventKind::Wait {
                obj,
                kind: WaitKind::Condition,
                timeout,
            } = &event.kind
            else {
                return;
            };
            let in_predicate_loop = scopes.iter().any(
                |scope| matches!(&scope.kind, ScopeKind::Loop(info) if info.kind != LoopKind::For),
            );
            if in_predicate_loop {
                return;
            }
            let object = model.object(*obj);
            // The method as written (`wait`, `wait_timeout`, `wait_for`), with the arguments
            // elided.
            let written = text(cx.source, event.span);
            let method = written
                .split('(')
                .next()
                .and_then(|callee| callee.rsplit('.').next())
                .filter(|m| !m.is_empty() && m.chars().all(|c| c.is_alphanumeric() || c == '_'))
                .unwrap_or("wait");
            let call = match model.language {
                Language::Python if written.ends_with("()") => {
                    format!("{}.{method}()", object.display)
                }
                _ => format!("{}.{method}(..)", object.display),
            };
            // The innermost enclosing scope, if it is an `if` arm.
            let guard = scopes
                .last()
                .filter(|scope| matches!(scope.kind, ScopeKind::Branch(_)));
            let (message, help) = match guard {
                Some(_) => (
                    format!("`{call}` is guarded by `if`, not `while`: after a spurious or stolen wake-up the code goes on although the condition is still false"),
                    match model.language {
                        Language::Python => "Re-check the predicate in a loop: replace `if` with `while`, or use `wait_for(predicate)`".to_string(),
                        Language::Rust => "Re-check the predicate in a loop: replace `if` with `while`, or use `Condvar::wait_while`".to_string(),
                    },
                ),
                None => (
                    format!("`{call}` is not inside a loop that re-checks a predicate: a spurious or stolen wake-up returns while the awaited state is not there"),
                    match model.language {
                        Language::Python => "Wait in `while not <predicate>:` or use `wait_for(predicate)`".to_string(),
                        Language::Rust => "Wait in `while !<predicate> { .. }` or use `Condvar::wait_while`".to_string(),
                    },
                ),
            };
            let fix = guard.and_then(|scope| {
                let ScopeKind::Branch(info) = &scope.kind else { return None };
                let only_the_wait = scope.statements == 1
                    && event.statement.is_some()
                    && scope
                        .body
                        .iter()
                        .filter(|n| matches!(n, Node::Event(e) if !matches!(e.kind, EventKind::Call { .. } | EventKind::ExternalCall { .. })))
                        .count()
                        == 1;
                if !info.first || info.has_else || *timeout || !only_the_wait || text(cx.source, scope.keyword) != "if" {
                    return None;
                }
                let applicability = loop_applicability(&info.condition.reads, guard_passed(written))?;
                Some(Fix {
                    applicability,
                    message: "Replace `if` with `while`".into(),
                    edits: vec![Edit { span: scope.keyword, content: "while".into() }],
                })
            });
            findings.push(Finding::new("TL002", event.span, message, help).with_fix(fix));
        });
    }
    findings
}

/// How safe `if` -> `while` is for a predicate that reads `reads`. Only state another thread
/// can change ends the loop: a predicate on locals and parameters alone (`if not ready:`) would
/// wait again after every wake-up, forever, so it gets no fix. `guard` is the Rust guard the
/// wait takes (`cvar.wait(ready)`): reading through it (`!*ready`) reads the shared data.
fn loop_applicability(reads: &[Read], guard: Option<&str>) -> Option<Applicability> {
    let shared = |read: &Read| match read {
        Read::Shared(_) | Read::Query { .. } => true,
        Read::Local(name) => guard == Some(name.as_str()),
        _ => false,
    };
    if !reads
        .iter()
        .any(|read| shared(read) || matches!(read, Read::Call(_)))
    {
        return None;
    }
    // A call may or may not read shared state; a local beside shared state may keep the loop
    // going on its own (`if not self._items or force:`).
    let only_shared = reads
        .iter()
        .all(|read| shared(read) || matches!(read, Read::Constant));
    Some(if only_shared {
        Applicability::Safe
    } else {
        Applicability::Unsafe
    })
}

/// The variable a wait call is given as its first argument (`ready` in `cvar.wait(ready)`,
/// `items` in `cv.wait(&mut items)`).
fn guard_passed(call: &str) -> Option<&str> {
    let (_, arguments) = call.split_once('(')?;
    let first = arguments.split([',', ')']).next()?.trim();
    let name = first.strip_prefix("&mut ").unwrap_or(first).trim();
    (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')).then_some(name)
}
