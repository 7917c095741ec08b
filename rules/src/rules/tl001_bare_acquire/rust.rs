//! TL001 in Rust: see [`super`].

use super::*;

/// Rust: leaked guards and raw locks not unlocked on every path.
pub(super) fn check(cx: &Context) -> Vec<Finding> {
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
