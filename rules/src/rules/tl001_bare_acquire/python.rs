//! TL001 in Python: see [`super`].

use super::*;

/// Python: a lock acquired by hand and not released on every way out of the block, unless a
/// `try`/`finally` (or a protocol with another function) releases it.
pub(super) fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    let handoff = cx.handoff_locks();
    let returned = returned_elsewhere(model);
    for (index, function) in model.functions.iter().enumerate() {
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
                let EventKind::Acquire {
                    obj, how, receiver, ..
                } = &event.kind
                else {
                    continue;
                };
                if matches!(how, AcquireHow::Scoped | AcquireHow::Temporary) {
                    continue;
                }
                // `x.acquire(False)` on an object known to be a lock only by its use: as likely
                // a semaphore whose token is taken on purpose (`_flag.acquire(False)` clearing
                // an event made of one) as a lock.
                if *how == AcquireHow::NonBlocking
                    && model.object(*obj).kind == crate::model::ObjKind::UntypedLock
                {
                    continue;
                }
                let lock = model.lock_of(*obj);
                if !model.object(*obj).kind.is_lock_like()
                    || is_protected(cx.source, model, body, position, lock, event, scopes)
                    || is_protected_after_branch(
                        cx.source,
                        model,
                        &function.body,
                        body,
                        position,
                        lock,
                        event,
                        scopes,
                    )
                    || (!released_here.contains(&lock)
                        && !released_only_by_acquirers(model, &returned, lock, index))
                    || handoff.contains(&lock)
                    // It released the caller's hold first and takes the lock again (a
                    // condition's `wait`): the caller's protocol, restored.
                    || returned[index].contains(&lock)
                    // Taken back inside a `with` block of the same lock, which released it
                    // for a while (around an `await`): the block's end releases it.
                    || inside_with_of(model, scopes, lock)
                    || returns_holding(model, &body[position + 1..], lock)
                {
                    continue;
                }
                let name = text(cx.source, *receiver);
                let kind = model.object(*obj).kind.describe(model.language);
                // `with` blocks without a timeout: only an acquisition that does the same can
                // become one (`acquire(timeout=5)` or `acquire(False)` would then wait forever).
                // An object known only by its `acquire()`/`release()` (a manager's proxy, a
                // project's own lock) may not be a context manager: `with` could raise.
                let with_statement = model.object(lock).kind != crate::model::ObjKind::UntypedLock;
                let fix = event
                    .statement
                    .filter(|_| *how == AcquireHow::Manual && with_statement)
                    .and_then(|_| build_fix(cx, body, position, lock, name));
                let call = text(cx.source, event.span);
                let violation = BareAcquire::Acquire {
                    name: name.to_string(),
                    call: if call.len() <= SNIPPET_WIDTH && !call.contains('\n') {
                        call.to_string()
                    } else {
                        format!("{name}.acquire(...)")
                    },
                    kind,
                    waits: *how == AcquireHow::Manual,
                    with_statement,
                };
                findings.push(violation.at_with_fix(event.span, fix));
            }
        });
    }
    findings
}

/// One of the scopes around an event is a `with` block that holds `lock` (its acquisitions are
/// the block's first events).
fn inside_with_of(model: &FileModel, scopes: &[&Scope], lock: ObjId) -> bool {
    scopes.iter().any(|scope| {
        matches!(scope.kind, ScopeKind::With)
            && scope.has_direct_event(|kind| {
                matches!(kind, EventKind::Acquire { obj, how: AcquireHow::Scoped, .. }
                    if model.lock_of(*obj) == lock)
            })
    })
}

/// For each function, the locks it releases without having acquired them first itself: it
/// gives back what another function took (a pool's `checkin()`, `__exit__`). A release after
/// the function's own acquisition is the end of its own critical section instead.
fn returned_elsewhere(model: &FileModel) -> Vec<Vec<ObjId>> {
    model
        .functions
        .iter()
        .map(|function| {
            let mut acquired = Vec::new();
            let mut returned = Vec::new();
            crate::model::events(&function.body, &mut |event, _| match &event.kind {
                EventKind::Acquire { obj, .. } => acquired.push(model.lock_of(*obj)),
                EventKind::Release { obj } => {
                    let lock = model.lock_of(*obj);
                    if !acquired.contains(&lock) {
                        returned.push(lock);
                    }
                }
                _ => {}
            });
            returned
        })
        .collect()
}

/// `function` is a method, other methods of its class release `lock`, but each only after
/// acquiring it itself: none of them gives back an acquisition made in `function`, so no
/// check-out/return protocol explains why `function` does not release it.
fn released_only_by_acquirers(
    model: &FileModel,
    returned: &[Vec<ObjId>],
    lock: ObjId,
    function: usize,
) -> bool {
    // Between methods of one class; a lock released by a plain or nested function is often
    // a signal handed between threads, which is the hand-off analysis's concern.
    let class = &model.functions[function].class;
    if class.is_none() {
        return false;
    }
    let mut released_elsewhere = false;
    for (index, other) in model.functions.iter().enumerate() {
        if index == function {
            continue;
        }
        let mut releases = false;
        crate::model::events(&other.body, &mut |event, _| {
            releases |=
                matches!(&event.kind, EventKind::Release { obj } if model.lock_of(*obj) == lock);
        });
        if !releases {
            continue;
        }
        if returned[index].contains(&lock) || &other.class != class {
            return false;
        }
        released_elsewhere = true;
    }
    released_elsewhere
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

/// `scope` releases or acquires `lock` somewhere inside.
fn touches(scope: &Scope, lock: ObjId, model: &FileModel) -> bool {
    let mut found = false;
    crate::model::events(&scope.body, &mut |event, _| match &event.kind {
        EventKind::Release { obj } | EventKind::Acquire { obj, .. } => {
            found |= model.lock_of(*obj) == lock;
        }
        _ => {}
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
    let releases_first = |nodes: &[Node]| matches!(nodes.first(), Some(Node::Event(Event { kind: EventKind::Release { obj }, .. })) if model.lock_of(*obj) == lock);
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
    if let (Some(statement), Some(next)) = (
        event.statement,
        try_releasing(body.get(position + 1), lock, model),
    ) {
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
                        scope
                            .body
                            .iter()
                            .any(|n| try_releasing(Some(n), lock, model).is_some())
                    };
                    // Released by the arm's first statement: nothing in between can raise
                    // (`print(...)` or `value = db[key]` before it can).
                    let released_at_once = |scope: &Scope| {
                        releases_first(&scope.body)
                            && match (info.condition.span, scope.body.first()) {
                                (Some(test), Some(Node::Event(release))) => only_trivia_between(
                                    source,
                                    line_end_inclusive(source, test.end),
                                    release.statement.unwrap_or(release.span).start,
                                ),
                                _ => true,
                            }
                    };
                    if !negated {
                        return guarded(branch) || released_at_once(branch);
                    }
                    let arms: Vec<&Scope> = body[position + 1..]
                        .iter()
                        .map_while(|n| match n {
                            Node::Scope(s)
                                if matches!(&s.kind, ScopeKind::Branch(b) if !b.first)
                                    || std::ptr::eq(s, branch) =>
                            {
                                Some(s)
                            }
                            _ => None,
                        })
                        .collect();
                    if arms.iter().skip(1).any(|arm| guarded(arm)) {
                        return true;
                    }
                    // The `if not` arm exits: what follows the `if` statement must protect it.
                    return info.exits.is_some()
                        && try_releasing(body.get(position + 1 + arms.len()), lock, model)
                            .is_some();
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
    // `try: lock.acquire()` / `except ...:` / `else: lock.release()`: the handlers run only
    // when the acquisition itself raised (nothing else is in the `try`), and the `else:`
    // releases at once.
    if position + 1 == body.len() {
        if let [.., statement, try_body] = scopes {
            let released_in_else = statement
                .part(|k| matches!(k, ScopeKind::TryElse))
                .is_some_and(|e| releases_first(&e.body));
            if matches!(statement.kind, ScopeKind::TryStatement)
                && matches!(try_body.kind, ScopeKind::Try)
                && released_in_else
            {
                return true;
            }
        }
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
    let Some((branch, outer)) = scopes.split_last() else {
        return false;
    };
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
    let Some(next) = try_releasing(parent.get(after), lock, model) else {
        return false;
    };
    let Node::Scope(last_arm) = &parent[after - 1] else {
        return false;
    };
    only_trivia_between(source, last_arm.span.end, next.span.start)
}

/// Some path after the acquisition returns while the lock is still held (a `return` in a
/// branch that has not released it): the function means to hand the held lock over (a
/// barrier, a check-out), so releasing it in a `with` block would break the protocol.
fn returns_holding(model: &FileModel, rest: &[Node], lock: ObjId) -> bool {
    for node in rest {
        match node {
            Node::Event(Event {
                kind: EventKind::Release { obj },
                ..
            }) if model.lock_of(*obj) == lock => return false,
            Node::Event(Event {
                kind: EventKind::Exit(crate::model::ExitKind::Return),
                ..
            }) => return true,
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
    let Node::Event(acquire) = &body[position] else {
        return None;
    };
    let acquire_stmt = acquire.statement?;
    if !stands_alone(source, acquire_stmt, true) {
        return None;
    }
    let indent = indentation(source, acquire_stmt.start);
    let unit = cx.indent_unit(indent);
    let header = Edit {
        span: acquire_stmt,
        content: format!("with {name}:"),
    };
    let region_start = line_end_inclusive(source, acquire_stmt.end);

    for node in &body[position + 1..] {
        match node {
            // The first release of the lock in the same block: straight-line code.
            Node::Event(Event {
                kind: EventKind::Release { obj },
                statement: Some(release),
                ..
            }) if cx.model.lock_of(*obj) == lock => {
                let region_end = line_start(source, release.start);
                if region_end <= region_start
                    || !cx.reserve_fix_text(region_end - region_start)
                    || !stands_alone(source, *release, false)
                    || may_hold_multiline_string(text(
                        source,
                        crate::model::Span::new(region_start, region_end),
                    ))
                {
                    return None;
                }
                let mut edits = vec![header];
                edits.extend(indent_lines(source, region_start, region_end, &unit));
                edits.push(Edit {
                    span: crate::model::Span::new(
                        region_end,
                        line_end_inclusive(source, release.end),
                    ),
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
            // An early release (`if done: lock.release(); return`) would end up inside the
            // `with` block, which releases again: `RuntimeError` on that path.
            Node::Scope(scope) if touches(scope, lock, cx.model) => return None,
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
    if body_line == try_line || source.get(try_line as usize..body_line as usize)?.trim() != "try:"
    {
        return None;
    }
    let intermediate = crate::model::Span::new(region_start, try_line);
    if !cx.reserve_fix_text(try_line.saturating_sub(region_start))
        || may_hold_multiline_string(text(source, intermediate))
    {
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
    if tail_text
        .replacen("finally:", "", 1)
        .replacen(release_text, "", 1)
        .trim()
        != ""
    {
        return None;
    }
    let mut edits = vec![header];
    edits.extend(indent_lines(source, region_start, try_line, unit));
    edits.push(Edit {
        span: crate::model::Span::new(try_line, body_line),
        content: String::new(),
    });
    edits.push(Edit {
        span: tail,
        content: String::new(),
    });
    Some(Fix {
        applicability: Applicability::Safe,
        message: format!("Replace `acquire()` and `try`/`finally` with `with {name}:`"),
        edits,
    })
}
