use crate::declare_rule;
use crate::diagnostic::{Applicability, Edit, Finding, Fix, FixAvailability, Violation};
use crate::model::{
    bodies, AcquireHow, Event, EventKind, ExitKind, FileModel, FnId, Language, Node, ObjId, Scope,
    ScopeKind, Span,
};
use crate::registry::{Check, Context};
use crate::source::{
    indent_lines, indentation, line_end_inclusive, line_start, may_hold_multiline_string,
    only_trivia_between, short, stands_alone, text,
};

/// How wide a Rust lock or call may be quoted in a message.
const ONE_LINE_WIDTH: usize = 50;

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
    /// (a check-out/return protocol such as a connection pool's semaphore). That method must give
    /// back what another took: a release after its own acquisition of the lock ends its own
    /// critical section, and does not make a protocol of an acquisition elsewhere that is
    /// never released. (A lock a plain or nested function releases is often a signal handed
    /// between threads, and is left alone.)
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
    /// In Rust a guard releases the lock on every path, panics included, so the rule reports
    /// the ways around it: a guard leaked with `std::mem::forget(guard)` or
    /// `MutexGuard::leak(guard)` (the lock stays held, or is released later by hand with
    /// parking_lot's `force_unlock`, which a panic or an early `return` in between skips), and a
    /// raw lock (`m.raw().lock()`) that is not unlocked on every path out of the function. A
    /// leak or a raw lock whose unlock is in another function of the file (a lock held across
    /// calls on purpose) is a protocol, not reported; so is a guard forgotten and unlocked by
    /// hand at once, with nothing in between (`mem::forget(guard); unsafe { m.force_unlock() }`),
    /// which unlocks where a drop would.
    ///
    /// ```rust
    /// let guard = state.lock();
    /// std::mem::forget(guard);
    /// update(&state)?;
    /// unsafe { state.force_unlock() };
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// let mut guard = state.lock();
    /// update_locked(&mut guard)?;
    /// ```
    ///
    /// ## Fix
    /// `acquire()`, statements, then `try:` ... `finally: release()` becomes one `with` block
    /// (safe: the only difference is that the lock is also released when the statements before
    /// the `try` raise). A straight-line `acquire(); ...; release()` becomes a `with` block too,
    /// but that fix is unsafe: the lock is then released when the block raises, which changes
    /// what other threads can observe after an error.
    ///
    /// There is no fix when the acquisition has a timeout or does not block (`acquire(timeout=5)`,
    /// `acquire(False)`: a `with` block would wait forever), nor when the lock is released
    /// early on another path in between (`if done: lock.release(); return`), which the `with`
    /// block would release a second time.
    ///
    /// ## References
    /// - [Python docs: Using locks, conditions, and semaphores in the `with` statement](https://docs.python.org/3/library/threading.html#with-locks)
    /// - [Rust docs: `std::mem::forget`](https://doc.rust-lang.org/std/mem/fn.forget.html)
    /// - [lock_api docs: `Mutex::force_unlock`](https://docs.rs/lock_api/latest/lock_api/struct.Mutex.html#method.force_unlock)
    pub static RULE = {
        violation: BareAcquire,
        name: "bare-acquire",
        severity: Warning,
        languages: [Python, Rust],
        summary: "`acquire()` without `with` or `try`/`finally`: an exception leaves the lock held.",
        supersedes: [crate::rules::tl005_missing_timeout::MissingTimeout],
        check: Check::File(check),
    };
}

/// A lock taken where it is not released on every path.
pub enum BareAcquire {
    /// Python: `acquire()` without `with` or `try`/`finally`.
    Acquire { name: String, kind: &'static str },
    /// Rust: a guard leaked (`mem::forget`), unlocked later by hand or never.
    LeakedGuard {
        call: String,
        name: String,
        kind: &'static str,
        unlocked_later: bool,
    },
    /// Rust: a raw lock (`raw().lock()`) not unlocked on every path, or never.
    RawLock {
        call: String,
        name: String,
        kind: &'static str,
        unlocked_later: bool,
    },
}

impl Violation for BareAcquire {
    const FIX: FixAvailability = FixAvailability::Sometimes;

    fn message(&self) -> String {
        match self {
            BareAcquire::Acquire { name, kind } => format!(
                "`{name}.acquire()` is not released on every path: if the code after it raises, the {kind} stays held and other threads block forever"
            ),
            BareAcquire::LeakedGuard { call, name, kind, unlocked_later: false } => format!("`{call}` leaks the guard of `{name}`: the {kind} stays locked, no drop will unlock it, and every later attempt to lock it blocks forever"),
            BareAcquire::LeakedGuard { call, name, kind, unlocked_later: true } => format!("`{call}` leaks the guard of `{name}` and unlocks it later by hand: a panic or an early return in between leaves the {kind} locked forever"),
            BareAcquire::RawLock { call, name, kind, unlocked_later: false } => format!("raw `{call}` locks `{name}` and this function never unlocks it: the {kind} stays locked and every later attempt to lock it blocks forever"),
            BareAcquire::RawLock { call, name, unlocked_later: true, .. } => format!("raw `{call}` is not unlocked on every path: a panic, an early return or a branch that skips the `unlock()` leaves `{name}` locked forever"),
        }
    }

    fn help(&self) -> String {
        match self {
            BareAcquire::Acquire { name, .. } => format!("Use `with {name}:`, or follow the acquisition at once with `try:` ... `finally: {name}.release()`"),
            BareAcquire::LeakedGuard { name, unlocked_later: false, .. } => format!("Let the guard go out of scope (or `drop(guard)`) to unlock `{name}`; to hold it across calls, keep the guard in a struct field instead of forgetting it"),
            BareAcquire::LeakedGuard { name, unlocked_later: true, .. } => format!("Keep the guard alive until the work is done and let its drop unlock `{name}` on every path, panics included, instead of `mem::forget` and `force_unlock`"),
            BareAcquire::RawLock { name, unlocked_later: false, .. } => format!("Use `{name}.lock()` and its guard, which unlocks on every path; or call `unlock()` before every return"),
            BareAcquire::RawLock { name, unlocked_later: true, .. } => format!("Use `{name}.lock()` and its guard, which unlocks on every path, panics included"),
        }
    }
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    if model.language == Language::Rust {
        return check_rust(cx);
    }
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
                    || returns_holding(model, &body[position + 1..], lock)
                {
                    continue;
                }
                let name = text(cx.source, *receiver);
                let kind = model.object(*obj).kind.describe(model.language);
                // `with` blocks without a timeout: only an acquisition that does the same can
                // become one (`acquire(timeout=5)` or `acquire(False)` would then wait forever).
                let fix = event
                    .statement
                    .filter(|_| *how == AcquireHow::Manual)
                    .and_then(|_| build_fix(cx, body, position, lock, name));
                let violation = BareAcquire::Acquire {
                    name: name.to_string(),
                    kind,
                };
                findings.push(violation.at_with_fix(event.span, fix));
            }
        });
    }
    findings
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
                    if !negated {
                        return guarded(branch) || releases_first(&branch.body);
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

/// Rust: leaked guards and raw locks not unlocked on every path.
fn check_rust(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    // The functions that release each lock by hand (`force_unlock`, raw `unlock`).
    let mut releasers: std::collections::HashMap<ObjId, Vec<FnId>> =
        std::collections::HashMap::new();
    for (index, function) in model.functions.iter().enumerate() {
        crate::model::events(&function.body, &mut |event, _| {
            if let EventKind::Release { obj } = &event.kind {
                releasers
                    .entry(model.lock_of(*obj))
                    .or_default()
                    .push(FnId(index as u32));
            }
        });
    }
    let mut findings = Vec::new();
    for (index, function) in model.functions.iter().enumerate() {
        let id = FnId(index as u32);
        let mut visit = |event: &Event, continuation: &[&[Node]]| {
            let (obj, leak) = match &event.kind {
                EventKind::GuardLeak { obj } => (*obj, true),
                EventKind::Acquire {
                    obj,
                    how: AcquireHow::Manual,
                    ..
                } => (*obj, false),
                _ => return,
            };
            let lock = model.lock_of(obj);
            let by = releasers.get(&lock);
            let released_here = by.is_some_and(|f| f.contains(&id));
            if !released_here && by.is_some_and(|f| f.iter().any(|f| *f != id)) {
                // Held across calls on purpose: locked here, unlocked by another function.
                return;
            }
            let unlock = if released_here {
                unlock_on_every_path(model, continuation, lock)
            } else {
                Unlock::Never
            };
            // `mem::forget(guard)` and at once `force_unlock()`: unlocked right there, as a
            // drop would; nothing runs between that could panic or return.
            if leak && unlocks_next(model, continuation, lock) {
                return;
            }
            if leak || unlock != Unlock::Always {
                findings.push(rust_finding(cx, event, lock, leak, unlock));
            }
        };
        visit_with_continuation(&function.body, &mut Vec::new(), &mut visit);
    }
    findings
}

/// The next event on the path (through plain blocks such as `unsafe { .. }`) unlocks `lock`.
fn unlocks_next(model: &FileModel, continuation: &[&[Node]], lock: ObjId) -> bool {
    fn first(nodes: &[Node]) -> Option<&Event> {
        match nodes.first()? {
            Node::Event(event) => Some(event),
            Node::Scope(scope) if matches!(scope.kind, ScopeKind::Block) => first(&scope.body),
            Node::Scope(_) => None,
        }
    }
    continuation
        .iter()
        .find(|nodes| !nodes.is_empty())
        .and_then(|nodes| first(nodes))
        .is_some_and(|event| {
            matches!(&event.kind, EventKind::Release { obj } if model.lock_of(*obj) == lock)
        })
}

/// Calls `visit` for every event with what runs after it on the same path: the rest of its
/// block, then the rest of the enclosing blocks while they are plain blocks (`unsafe { .. }`);
/// a branch or a loop ends the path.
fn visit_with_continuation<'a>(
    body: &'a [Node],
    outer: &mut Vec<&'a [Node]>,
    visit: &mut dyn FnMut(&'a Event, &[&'a [Node]]),
) {
    for (position, node) in body.iter().enumerate() {
        let rest = &body[position + 1..];
        match node {
            Node::Event(event) => {
                let mut continuation = vec![rest];
                continuation.extend(outer.iter().rev());
                visit(event, &continuation);
            }
            Node::Scope(scope) if matches!(scope.kind, ScopeKind::Block) => {
                outer.push(rest);
                visit_with_continuation(&scope.body, outer, visit);
                outer.pop();
            }
            Node::Scope(scope) => {
                let mut inner = Vec::new();
                visit_with_continuation(&scope.body, &mut inner, visit);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unlock {
    /// On the straight path after the lock, with no way out in between.
    Always,
    /// Only in some branch, or after a `return` or a panic that skips it.
    SomePaths(Option<Span>),
    Never,
}

/// Whether the code after a lock (or a leak) reaches an unlock of `lock` on every path.
fn unlock_on_every_path(model: &FileModel, continuation: &[&[Node]], lock: ObjId) -> Unlock {
    let mut exit = None;
    for nodes in continuation {
        if reaches_unlock(model, nodes, lock, &mut exit) {
            return match exit {
                None => Unlock::Always,
                Some(span) => Unlock::SomePaths(Some(span)),
            };
        }
    }
    Unlock::SomePaths(exit)
}

/// An unlock of `lock` on the straight path through `nodes` (plain blocks included); records
/// the first way out met before it.
fn reaches_unlock(model: &FileModel, nodes: &[Node], lock: ObjId, exit: &mut Option<Span>) -> bool {
    for node in nodes {
        match node {
            Node::Event(Event {
                kind: EventKind::Release { obj },
                ..
            }) if model.lock_of(*obj) == lock => {
                return true;
            }
            Node::Event(Event {
                kind: EventKind::Exit(kind),
                span,
                ..
            }) if *kind != ExitKind::Continue => {
                exit.get_or_insert(*span);
            }
            Node::Scope(scope)
                if matches!(scope.kind, ScopeKind::Block)
                    && reaches_unlock(model, &scope.body, lock, exit) =>
            {
                return true;
            }
            Node::Scope(scope) if matches!(scope.kind, ScopeKind::Block) => {}
            Node::Scope(scope) => {
                crate::model::events(&scope.body, &mut |event, _| {
                    if matches!(
                        event.kind,
                        EventKind::Exit(ExitKind::Return | ExitKind::Raise)
                    ) {
                        exit.get_or_insert(event.span);
                    }
                });
            }
            _ => {}
        }
    }
    false
}

fn rust_finding(cx: &Context, event: &Event, lock: ObjId, leak: bool, unlock: Unlock) -> Finding {
    let model = cx.model;
    let object = model.object(lock);
    let name = short(&object.display, ONE_LINE_WIDTH);
    let kind = object.kind.describe(model.language);
    let call = short(text(cx.source, event.span), ONE_LINE_WIDTH);
    let unlocked_later = !matches!(unlock, Unlock::Never);
    let violation = if leak {
        BareAcquire::LeakedGuard {
            call,
            name: name.clone(),
            kind,
            unlocked_later,
        }
    } else {
        BareAcquire::RawLock {
            call,
            name: name.clone(),
            kind,
            unlocked_later,
        }
    };
    let related = match unlock {
        Unlock::SomePaths(Some(exit)) => vec![crate::diagnostic::Related {
            file: None,
            span: exit,
            message: format!("this way out skips the unlock of `{name}`"),
        }],
        _ => Vec::new(),
    };
    violation.at(event.span).with_related(related)
}
