use crate::declare_rule;
use crate::diagnostic::{Applicability, Edit, Finding, Fix, FixAvailability, Violation};
use std::collections::HashSet;

use crate::model::{
    events, Event, EventKind, ExitKind, FileModel, FnId, Function, Language, LoopKind, Node, Read,
    Scope, ScopeKind, WaitKind,
};
use crate::registry::{Check, Context};
use crate::source::text;

declare_rule! {
    /// ## What it does
    /// Checks for condition waits (`Condition.wait()`, Rust `Condvar::wait` and
    /// `wait_timeout`) that are not inside a loop re-checking the predicate they wait for:
    /// waits guarded by `if`, or not guarded at all. A loop re-checks only when it comes round
    /// after the wait: a wait followed by a `break`, `return` or `raise` out of the loop
    /// (`while True: ... if not done: cond.wait()` then `break`) runs once and is reported.
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
    /// A wrapper that returns the wait's result (`def wait(self, timeout): return
    /// self._cond.wait(timeout)`) leaves the re-check to its callers. It is followed to its
    /// calls in the file (and through callers that return its result again): a call outside
    /// a loop that re-checks is reported there, naming the wait it reaches; when every call is
    /// in such a loop nothing is reported. A wrapper the file never calls has callers it does
    /// not show, and is reported itself.
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
        violation: WaitNotInLoop,
        name: "wait-not-in-loop",
        severity: Warning,
        languages: [Python, Rust],
        summary: "A condition wait under `if` (or unguarded) instead of a `while` loop that re-checks the predicate.",
        check: Check::File(check),
    };
}

/// A condition wait that nothing re-checks.
pub enum WaitNotInLoop {
    /// The wait itself, guarded by an `if` arm or outside any loop.
    Wait {
        call: String,
        guarded: bool,
        language: Language,
    },
    /// A call of a wrapper that returns the wait's result, made where nothing re-checks.
    Wrapper {
        call: String,
        wait: String,
        guarded: bool,
    },
}

impl Violation for WaitNotInLoop {
    const FIX: FixAvailability = FixAvailability::Sometimes;

    fn message(&self) -> String {
        match self {
            WaitNotInLoop::Wait { call, guarded: true, .. } => format!("`{call}` is guarded by `if`, not `while`: after a spurious or stolen wake-up the code goes on although the condition is still false"),
            WaitNotInLoop::Wait { call, guarded: false, .. } => format!("`{call}` is not inside a loop that re-checks a predicate: a spurious or stolen wake-up returns while the awaited state is not there"),
            WaitNotInLoop::Wrapper { call, wait, guarded: true } => format!("`{call}` returns the result of `{wait}` and is guarded by `if`, not `while`: after a spurious or stolen wake-up the code goes on although the condition is still false"),
            WaitNotInLoop::Wrapper { call, wait, guarded: false } => format!("`{call}` returns the result of `{wait}` and is not inside a loop that re-checks a predicate: a spurious or stolen wake-up returns while the awaited state is not there"),
        }
    }

    fn help(&self) -> String {
        match self {
            WaitNotInLoop::Wait {
                guarded: true,
                language,
                ..
            } => format!(
                "Re-check the predicate in a loop: replace `if` with `while`, or use {}",
                language.syntax().predicate_wait()
            ),
            WaitNotInLoop::Wait {
                guarded: false,
                language,
                ..
            } => format!(
                "Wait in {} or use {}",
                language.syntax().wait_loop(),
                language.syntax().predicate_wait()
            ),
            WaitNotInLoop::Wrapper { guarded: true, .. } => "Call it in a loop that re-checks the predicate: replace `if` with `while`, or have the wrapper use `wait_for(predicate)`".to_string(),
            WaitNotInLoop::Wrapper { guarded: false, .. } => "Call it in `while not <predicate>:`, or have the wrapper use `wait_for(predicate)`".to_string(),
        }
    }
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    let mut reported = HashSet::new();
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
            if in_predicate_loop(scopes, event) {
                return;
            }
            let object = model.object(*obj);
            // The method as written (`wait`, `wait_timeout`, `wait_for`), with the arguments
            // elided.
            let syntax = model.call(event.span);
            // The guard passed to a `Condvar` wait (`cv.wait(&mut items)`), as the front-end
            // resolved the argument.
            let passed_guard = syntax
                .and_then(|call| call.first_variable)
                .map(|variable| text(cx.source, variable));
            let method = syntax
                .and_then(|call| call.method)
                .map_or("wait", |method| text(cx.source, method));
            let call = if syntax.is_some_and(|call| call.arguments.is_none()) {
                format!("{}.{method}()", object.display)
            } else {
                format!("{}.{method}(..)", object.display)
            };
            // A wrapper that returns the wait's result (`def wait(self, timeout): return
            // self._cond.wait(timeout)`) leaves the re-check to its callers: judged where the
            // file calls it, or here when the file never does.
            if returns_result(function, event) {
                let mut uses = Vec::new();
                let open = callers_outside_loops(model, function_id(model, function), &mut uses);
                for (caller, guarded) in &uses {
                    if reported.insert(caller.span) {
                        findings.push(caller_finding(cx, caller, *guarded, &call));
                    }
                }
                if !open || !uses.is_empty() {
                    return;
                }
            }
            // The innermost enclosing scope, if it is an `if` arm.
            let guard = scopes.last().filter(
                |scope| matches!(&scope.kind, ScopeKind::Branch(info) if info.if_statement),
            );
            let violation = WaitNotInLoop::Wait {
                call,
                guarded: guard.is_some(),
                language: model.language,
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
                if !info.first || info.has_else || *timeout || !only_the_wait || !info.if_statement {
                    return None;
                }
                let applicability = loop_applicability(&info.condition.reads, passed_guard)?;
                Some(Fix {
                    applicability,
                    message: "Replace `if` with `while`".into(),
                    edits: vec![Edit { span: scope.keyword, content: "while".into() }],
                })
            });
            findings.push(violation.at_with_fix(event.span, fix));
        });
    }
    findings
}

/// The wait runs inside a loop that is not a `for` over items, and after the wait the loop
/// comes round again: the loop re-checks. A wait followed, on every path, by a `break`, a
/// `return` or a `raise` out of that loop (`while True: with c: if not ready: c.wait()` then
/// `break`) runs once: the loop does not re-check.
fn in_predicate_loop(scopes: &[&Scope], event: &Event) -> bool {
    let Some(at) = scopes.iter().rposition(
        |scope| matches!(&scope.kind, ScopeKind::Loop(info) if info.kind != LoopKind::For),
    ) else {
        return false;
    };
    // From the wait outwards to the loop's body: the statements that follow at each level.
    let mut inner: Option<&Scope> = None;
    for (level, scope) in scopes[at..].iter().enumerate().rev() {
        let position = scope.body.iter().position(|node| match (node, inner) {
            (Node::Scope(s), Some(child)) => std::ptr::eq(s, child),
            (Node::Event(e), None) => std::ptr::eq(e, event),
            _ => false,
        });
        let Some(position) = position else {
            return true;
        };
        // A `break` inside an inner `for` loop ends that loop only.
        let inner_loop = level > 0 && matches!(scope.kind, ScopeKind::Loop(_));
        let leaves = scope.body[position + 1..].iter().any(|node| {
            matches!(node, Node::Event(Event { kind: EventKind::Exit(exit), .. })
                if matches!(exit, ExitKind::Return | ExitKind::Raise)
                    || *exit == ExitKind::Break && !inner_loop)
        });
        if leaves {
            return false;
        }
        inner = Some(scope);
    }
    true
}

/// The event is the value of a `return` of `function` (`return self._cond.wait(timeout)`).
fn returns_result(function: &Function, event: &Event) -> bool {
    let mut found = false;
    events(&function.body, &mut |other, _| {
        if matches!(other.kind, EventKind::Exit(ExitKind::Return))
            && other.span.start <= event.span.start
            && event.span.end <= other.span.end
            && other.span != event.span
        {
            found = true;
        }
    });
    found
}

fn function_id(model: &FileModel, function: &Function) -> FnId {
    let index = model
        .functions
        .iter()
        .position(|f| std::ptr::eq(f, function))
        .unwrap_or(0);
    FnId(index as u32)
}

/// Some function of the file calls `callee`.
fn called_in_file(model: &FileModel, callee: FnId) -> bool {
    let mut found = false;
    for function in &model.functions {
        events(&function.body, &mut |event, _| {
            found |= matches!(event.kind, EventKind::Call { callee: c } if c == callee);
        });
    }
    found
}

/// How far calls that hand a wait's result on are followed.
const MAX_FORWARDS: usize = 8;

/// The calls of `callee` in the file that use a forwarded wait outside a loop that re-checks,
/// following callers that forward the result again (`return self._wait(t)`); with whether
/// the call is guarded by an `if`. Returns whether some function of that chain has no caller
/// in the file (its callers are elsewhere, unknown).
fn callers_outside_loops<'a>(
    model: &'a FileModel,
    callee: FnId,
    uses: &mut Vec<(&'a Event, bool)>,
) -> bool {
    let mut seen = HashSet::new();
    let mut pending = vec![(callee, 0usize)];
    while let Some((callee, depth)) = pending.pop() {
        if !seen.insert(callee) || depth > MAX_FORWARDS {
            continue;
        }
        for (index, function) in model.functions.iter().enumerate() {
            events(&function.body, &mut |event, scopes| {
                if !matches!(event.kind, EventKind::Call { callee: c } if c == callee) {
                    return;
                }
                if in_predicate_loop(scopes, event) {
                    return;
                }
                if returns_result(function, event) {
                    pending.push((FnId(index as u32), depth + 1));
                    return;
                }
                let guarded = scopes
                    .last()
                    .is_some_and(|scope| matches!(scope.kind, ScopeKind::Branch(_)));
                uses.push((event, guarded));
            });
        }
    }
    // A wrapper (or a caller that forwards again) that nobody in the file calls has callers
    // this file does not show.
    seen.iter()
        .any(|&forwarder| !called_in_file(model, forwarder))
}

/// A call of a wrapper that returns a condition wait, made where nothing re-checks.
fn caller_finding(cx: &Context, caller: &Event, guarded: bool, wait: &str) -> Finding {
    let call = match cx.model.call(caller.span) {
        Some(call) => {
            let callee = text(cx.source, call.callee);
            match call.arguments {
                None => format!("{callee}()"),
                Some(_) => format!("{callee}(..)"),
            }
        }
        None => text(cx.source, caller.span).to_string(),
    };
    WaitNotInLoop::Wrapper {
        call,
        wait: wait.to_string(),
        guarded,
    }
    .at(caller.span)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn help(guarded: bool, language: Language) -> String {
        WaitNotInLoop::Wait {
            call: "c.wait()".into(),
            guarded,
            language,
        }
        .help()
    }

    #[test]
    fn help_names_each_languages_predicate_wait_and_loop() {
        assert_eq!(
            help(true, Language::Python),
            "Re-check the predicate in a loop: replace `if` with `while`, or use `wait_for(predicate)`"
        );
        assert_eq!(
            help(true, Language::Rust),
            "Re-check the predicate in a loop: replace `if` with `while`, or use `Condvar::wait_while`"
        );
        assert_eq!(
            help(false, Language::Python),
            "Wait in `while not <predicate>:` or use `wait_for(predicate)`"
        );
        assert_eq!(
            help(false, Language::Rust),
            "Wait in `while !<predicate> { .. }` or use `Condvar::wait_while`"
        );
    }
}
