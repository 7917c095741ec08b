use crate::declare_rule;
use crate::diagnostic::{Applicability, Edit, Finding, Fix};
use crate::held::handoff_locks;
use crate::model::{bodies, AcquireHow, Event, EventKind, FileModel, Node, ObjId, Scope, ScopeKind};
use crate::registry::{Check, Context};
use crate::source::{
    indent_lines, indent_unit, indentation, line_end_inclusive, line_start, may_hold_multiline_string,
    only_trivia_between, stands_alone, text,
};

declare_rule! {
    /// ## What it does
    /// Checks for `acquire()` calls on a lock, semaphore or condition that are not protected by
    /// `with` or by a `try:` block, right after the acquisition, whose `finally:` releases it.
    ///
    /// ## Why is this bad?
    /// If any statement between `acquire()` and `release()` raises, the release never runs and
    /// the lock stays held: every other thread that needs it blocks forever. `with lock:`
    /// releases on every path out of the block, exceptions included.
    ///
    /// Not reported: `if lock.acquire(timeout=t):` (or `if not lock.acquire(...): raise ...`)
    /// followed by `try:`/`finally: lock.release()`, which is the correct way to take a lock
    /// with a timeout; and an acquisition whose release is in another method of the same class
    /// (a check-out/return protocol such as a connection pool's semaphore).
    ///
    /// ## Example
    /// ```python
    /// lock.acquire()
    /// balance += amount
    /// lock.release()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// with lock:
    ///     balance += amount
    /// ```
    ///
    /// With a timeout:
    /// ```python
    /// if not lock.acquire(timeout=5):
    ///     raise TimeoutError("lock busy")
    /// try:
    ///     balance += amount
    /// finally:
    ///     lock.release()
    /// ```
    ///
    /// ## Fix
    /// `acquire()`, statements, then `try:` ... `finally: release()` becomes one `with` block
    /// (safe: the only difference is that the lock is also released when the statements before
    /// the `try` raise). A straight-line `acquire(); ...; release()` becomes a `with` block too,
    /// but that fix is unsafe: the lock is then released when the block raises, which changes
    /// what other threads can observe after an error.
    ///
    /// ## References
    /// - [Python docs: Using locks, conditions, and semaphores in the `with` statement](https://docs.python.org/3/library/threading.html#with-locks)
    pub static RULE = {
        code: "TL001",
        name: "bare-acquire",
        severity: Warning,
        languages: [Python],
        summary: "`acquire()` without `with` or `try`/`finally`: an exception leaves the lock held.",
        check: Check::File(check),
    };
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    let handoff = handoff_locks(model);
    for function in &model.functions {
        // Locks this function releases itself: an acquisition meant to outlive the function
        // (`__enter__`, `checkout()`) is a protocol with another function, not this rule's
        // concern.
        let mut released_here = Vec::new();
        crate::model::events(&function.body, &mut |event, _| {
            if let EventKind::Release { obj } = &event.kind {
                released_here.push(model.lock_of(*obj));
            }
        });
        bodies(&function.body, &mut |body, scopes| {
            for (position, node) in body.iter().enumerate() {
                let Node::Event(event) = node else { continue };
                let EventKind::Acquire { obj, how, receiver, .. } = &event.kind else { continue };
                if matches!(how, AcquireHow::Scoped | AcquireHow::Temporary) {
                    continue;
                }
                let lock = model.lock_of(*obj);
                if !model.object(*obj).kind.is_lock_like()
                    || is_protected(cx.source, model, body, position, lock, event, scopes)
                    || is_protected_after_branch(cx.source, model, &function.body, body, position, lock, event, scopes)
                    || !released_here.contains(&lock)
                    || handoff.contains(&lock)
                    || returns_holding(model, &body[position + 1..], lock)
                {
                    continue;
                }
                let name = text(cx.source, *receiver);
                let kind = model.object(*obj).kind.describe(model.language);
                let message = format!(
                    "`{name}.acquire()` is not released on every path: if the code after it raises, the {kind} stays held and other threads block forever"
                );
                let fix = event
                    .statement
                    .and_then(|_| build_fix(cx, body, position, lock, name));
                findings.push(
                    Finding::new(
                        "TL001",
                        event.span,
                        message,
                        format!("Use `with {name}:`, or follow the acquisition at once with `try:` ... `finally: {name}.release()`"),
                    )
                    .with_fix(fix),
                );
            }
        });
    }
    findings
}

fn releases(scope: &Scope, lock: ObjId, model: &FileModel) -> bool {
    let mut found = false;
    crate::model::events(&scope.body, &mut |event, _| {
        if let EventKind::Release { obj } = &event.kind {
            found |= model.lock_of(*obj) == lock;
        }
    });
    found
}

/// A `try` statement whose `finally:` releases `lock`.
fn try_releasing<'a>(node: Option<&'a Node>, lock: ObjId, model: &FileModel) -> Option<&'a Scope> {
    match node? {
        Node::Scope(scope) if finally_releases(scope, lock, model) => Some(scope),
        _ => None,
    }
}

fn finally_releases(statement: &Scope, lock: ObjId, model: &FileModel) -> bool {
    matches!(statement.kind, ScopeKind::TryStatement)
        && statement
            .part(|k| matches!(k, ScopeKind::Finally))
            .is_some_and(|finally| releases(finally, lock, model))
}

fn is_protected(
    source: &str,
    model: &FileModel,
    body: &[Node],
    position: usize,
    lock: ObjId,
    event: &Event,
    scopes: &[&Scope],
) -> bool {
    // Released at once (`lock.acquire(); lock.release()`, a wait for another thread): nothing
    // in between can raise.
    let releases_first = |nodes: &[Node]| {
        matches!(nodes.first(), Some(Node::Event(Event { kind: EventKind::Release { obj }, .. })) if model.lock_of(*obj) == lock)
    };
    if event.statement.is_some() && releases_first(&body[position + 1..]) {
        if let Some(Node::Event(next)) = body.get(position + 1) {
            if let (Some(a), Some(b)) = (event.statement, next.statement) {
                if only_trivia_between(source, a.end, b.start) {
                    return true;
                }
            }
        }
    }
    // `acquire()` at once followed by `try:` ... `finally: release()`.
    if let (Some(statement), Some(next)) = (event.statement, try_releasing(body.get(position + 1), lock, model)) {
        if only_trivia_between(source, statement.end, next.span.start) {
            return true;
        }
    }
    // `if lock.acquire(...):` / `if not lock.acquire(...):`: the arm where the lock is held
    // must release it in a `finally:`.
    if let Some(Node::Scope(branch)) = body.get(position + 1) {
        if let ScopeKind::Branch(info) = &branch.kind {
            if let Some((tested, negated)) = info.acquire_test {
                if model.lock_of(tested) == lock {
                    let guarded = |scope: &Scope| {
                        scope.body.iter().any(|n| try_releasing(Some(n), lock, model).is_some())
                    };
                    if !negated {
                        return guarded(branch) || releases_first(&branch.body);
                    }
                    let arms: Vec<&Scope> = body[position + 1..]
                        .iter()
                        .map_while(|n| match n {
                            Node::Scope(s) if matches!(&s.kind, ScopeKind::Branch(b) if !b.first) || std::ptr::eq(s, branch) => Some(s),
                            _ => None,
                        })
                        .collect();
                    if arms.iter().skip(1).any(|arm| guarded(arm)) {
                        return true;
                    }
                    // The `if not` arm exits: what follows the `if` statement must protect it.
                    return info.exits.is_some()
                        && try_releasing(body.get(position + 1 + arms.len()), lock, model).is_some();
                }
            }
        }
    }
    // Inside a `try:` whose `finally:` releases it (the acquisition is the first thing in it).
    let inside_protected_try = scopes.windows(2).any(|pair| {
        matches!(pair[1].kind, ScopeKind::Try) && finally_releases(pair[0], lock, model)
    });
    if inside_protected_try {
        return true;
    }
    // A result that is stored or tested elsewhere (`ok = lock.acquire(timeout=1)`): we cannot
    // see how it is used, so stay quiet rather than guess.
    event.statement.is_none()
}

/// The acquisition is the last statement of an `if` arm (`if lock is not None:
/// lock.acquire()`) and the statement after the whole `if` is a `try:` whose `finally:`
/// releases it: a conditional lock, correctly protected.
#[allow(clippy::too_many_arguments)]
fn is_protected_after_branch(
    source: &str,
    model: &FileModel,
    function_body: &[Node],
    body: &[Node],
    position: usize,
    lock: ObjId,
    event: &Event,
    scopes: &[&Scope],
) -> bool {
    if position + 1 != body.len() || event.statement.is_none() {
        return false;
    }
    let Some((branch, outer)) = scopes.split_last() else { return false };
    if !matches!(branch.kind, ScopeKind::Branch(_)) {
        return false;
    }
    let parent: &[Node] = outer.last().map_or(function_body, |scope| &scope.body);
    let Some(index) = parent
        .iter()
        .position(|n| matches!(n, Node::Scope(s) if std::ptr::eq(s, *branch)))
    else {
        return false;
    };
    // The `if` statement's other arms follow the first; then the statement after it.
    let after = index
        + 1
        + parent[index + 1..]
            .iter()
            .take_while(|n| matches!(n, Node::Scope(s) if matches!(&s.kind, ScopeKind::Branch(b) if !b.first)))
            .count();
    let Some(next) = try_releasing(parent.get(after), lock, model) else { return false };
    let Node::Scope(last_arm) = &parent[after - 1] else { return false };
    only_trivia_between(source, last_arm.span.end, next.span.start)
}

/// Some path after the acquisition returns while the lock is still held (a `return` in a
/// branch that has not released it): the function means to hand the held lock over (a
/// barrier, a check-out), so releasing it in a `with` block would break the protocol.
fn returns_holding(model: &FileModel, rest: &[Node], lock: ObjId) -> bool {
    for node in rest {
        match node {
            Node::Event(Event { kind: EventKind::Release { obj }, .. }) if model.lock_of(*obj) == lock => return false,
            Node::Event(Event { kind: EventKind::Exit(crate::model::ExitKind::Return), .. }) => return true,
            Node::Scope(scope) => {
                let mut released = false;
                let mut returned = false;
                crate::model::events(&scope.body, &mut |event, _| match &event.kind {
                    EventKind::Release { obj } if model.lock_of(*obj) == lock => released = true,
                    EventKind::Exit(crate::model::ExitKind::Return) if !released => returned = true,
                    _ => {}
                });
                if returned {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// `acquire(); stmts; try: body finally: release()` (safe) or `acquire(); stmts; release()`
/// (unsafe), rewritten as `with lock:`.
fn build_fix(cx: &Context, body: &[Node], position: usize, lock: ObjId, name: &str) -> Option<Fix> {
    let source = cx.source;
    let Node::Event(acquire) = &body[position] else { return None };
    let acquire_stmt = acquire.statement?;
    if !stands_alone(source, acquire_stmt, true) {
        return None;
    }
    let indent = indentation(source, acquire_stmt.start);
    let unit = indent_unit(source, indent);
    let header = Edit { span: acquire_stmt, content: format!("with {name}:") };
    let region_start = line_end_inclusive(source, acquire_stmt.end);

    for node in &body[position + 1..] {
        match node {
            // The first release of the lock in the same block: straight-line code.
            Node::Event(Event { kind: EventKind::Release { obj }, statement: Some(release), .. })
                if cx.model.lock_of(*obj) == lock =>
            {
                let region_end = line_start(source, release.start);
                if region_end <= region_start
                    || !stands_alone(source, *release, false)
                    || may_hold_multiline_string(text(source, crate::model::Span::new(region_start, region_end)))
                {
                    return None;
                }
                let mut edits = vec![header];
                edits.extend(indent_lines(source, region_start, region_end, &unit));
                edits.push(Edit {
                    span: crate::model::Span::new(region_end, line_end_inclusive(source, release.end)),
                    content: String::new(),
                });
                return Some(Fix {
                    applicability: Applicability::Unsafe,
                    message: format!("Replace `acquire()`/`release()` with `with {name}:`"),
                    edits,
                });
            }
            Node::Scope(scope) if matches!(scope.kind, ScopeKind::TryStatement) => {
                let try_statement = try_releasing(Some(node), lock, cx.model)?;
                return try_finally_fix(cx, try_statement, header, region_start, &unit, name, lock);
            }
            _ => {}
        }
    }
    None
}

fn try_finally_fix(
    cx: &Context,
    statement: &Scope,
    header: Edit,
    region_start: u32,
    unit: &str,
    name: &str,
    lock: ObjId,
) -> Option<Fix> {
    let source = cx.source;
    // Only `try:` + `finally:` whose only statement is the release.
    if statement.body.len() != 2 {
        return None;
    }
    let try_body = statement.part(|k| matches!(k, ScopeKind::Try))?;
    let finally = statement.part(|k| matches!(k, ScopeKind::Finally))?;
    let only_release = finally.statements == 1
        && finally.body.len() == 1
        && matches!(&finally.body[0], Node::Event(Event { kind: EventKind::Release { obj }, statement: Some(_), .. }) if cx.model.lock_of(*obj) == lock);
    if !only_release {
        return None;
    }
    let try_line = line_start(source, statement.span.start);
    let body_line = line_start(source, try_body.span.start);
    if body_line == try_line || source.get(try_line as usize..body_line as usize)?.trim() != "try:" {
        return None;
    }
    let intermediate = crate::model::Span::new(region_start, try_line);
    if may_hold_multiline_string(text(source, intermediate)) {
        return None;
    }
    // Everything after the body down to the end of the `finally:` suite is the `finally:`
    // line and the release: nothing else (no comment) may be lost.
    let tail = crate::model::Span::new(
        line_end_inclusive(source, try_body.span.end),
        line_end_inclusive(source, finally.span.end),
    );
    let tail_text = text(source, tail);
    let release_text = match &finally.body[0] {
        Node::Event(event) => text(source, event.statement?),
        _ => return None,
    };
    if tail_text.replacen("finally:", "", 1).replacen(release_text, "", 1).trim() != "" {
        return None;
    }
    let mut edits = vec![header];
    edits.extend(indent_lines(source, region_start, try_line, unit));
    edits.push(Edit { span: crate::model::Span::new(try_line, body_line), content: String::new() });
    edits.push(Edit { span: tail, content: String::new() });
    Some(Fix {
        applicability: Applicability::Safe,
        message: format!("Replace `acquire()` and `try`/`finally` with `with {name}:`"),
        edits,
    })
}
