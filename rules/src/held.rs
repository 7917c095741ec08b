//! Which locks are held at each event of a function, and which locks a function acquires
//! (directly or through calls to functions of the same file).
//!
//! The walk is a single forward pass over the tree: a `with` acquisition (or a Rust guard bound
//! with `let`) is held until its scope ends; a manual `acquire()` until a `release()` of the same
//! lock anywhere later in the function. Branches are not merged: a release in one arm counts for
//! what follows, which errs towards fewer findings.

use crate::model::{
    AcquireHow, Event, EventKind, FileModel, FnId, Node, ObjId, ObjKey, Scope, Span,
};

/// A lock held at some point.
#[derive(Clone, Debug)]
pub struct Held {
    /// The lock actually held (`Condition(lock)` resolved to `lock`).
    pub lock: ObjId,
    /// The object as written at the acquisition.
    pub obj: ObjId,
    pub site: Span,
    pub how: AcquireHow,
    /// A read guard, which other read guards may share.
    pub shared: bool,
    depth: usize,
}

/// What [`walk_held`] calls for each event: the event, the locks held just before it, and the
/// enclosing scopes.
pub type HeldVisitor<'a, 'v> = dyn FnMut(&'a Event, &[Held], &[&'a Scope]) + 'v;

/// Calls `visit` for every event of `function` with the locks held just before it.
pub fn walk_held<'a>(model: &'a FileModel, function: FnId, visit: &mut HeldVisitor<'a, '_>) {
    let mut held = Vec::new();
    let mut scopes = Vec::new();
    walk_body(
        model,
        &model.function(function).body,
        &mut held,
        &mut scopes,
        visit,
    );
}

fn walk_body<'a>(
    model: &'a FileModel,
    body: &'a [Node],
    held: &mut Vec<Held>,
    scopes: &mut Vec<&'a Scope>,
    visit: &mut HeldVisitor<'a, '_>,
) {
    for node in body {
        match node {
            Node::Event(event) => {
                visit(event, held, scopes);
                apply(model, event, held, scopes.len());
            }
            Node::Scope(scope) => {
                scopes.push(scope);
                walk_body(model, &scope.body, held, scopes, visit);
                let depth = scopes.len();
                // Scoped acquisitions end with the scope that holds them.
                held.retain(|h| !(h.depth >= depth && is_scoped(h.how)));
                scopes.pop();
            }
        }
    }
}

fn is_scoped(how: AcquireHow) -> bool {
    matches!(how, AcquireHow::Scoped | AcquireHow::Temporary)
}

fn apply(model: &FileModel, event: &Event, held: &mut Vec<Held>, depth: usize) {
    match &event.kind {
        EventKind::Acquire {
            obj, how, shared, ..
        } => held.push(Held {
            lock: model.lock_of(*obj),
            obj: *obj,
            site: event.span,
            how: *how,
            shared: *shared,
            depth,
        }),
        EventKind::Release { obj } => {
            let lock = model.lock_of(*obj);
            if let Some(pos) = held.iter().rposition(|h| h.lock == lock) {
                held.remove(pos);
            }
        }
        _ => {}
    }
}

/// A lock a function acquires, possibly inside a callee.
#[derive(Clone, Debug)]
pub struct Acquisition {
    pub lock: ObjId,
    pub obj: ObjId,
    /// The acquisition itself (in the callee, for one reached through calls).
    pub site: Span,
    /// The function whose body holds `site`.
    pub function: FnId,
    pub how: AcquireHow,
    pub shared: bool,
}

/// For each function of the file, the locks it acquires directly or through calls to functions
/// of the same file. Only identities that mean the same thing in the callee and the caller
/// travel through calls (globals and `self` members), not locals or parameters.
pub fn acquisitions_through_calls(model: &FileModel) -> Vec<Vec<Acquisition>> {
    let count = model.functions.len();
    let mut direct: Vec<Vec<Acquisition>> = vec![Vec::new(); count];
    let mut callees: Vec<Vec<FnId>> = vec![Vec::new(); count];
    for (index, function) in model.functions.iter().enumerate() {
        crate::model::events(&function.body, &mut |event, _| match &event.kind {
            EventKind::Acquire {
                obj, how, shared, ..
            } => {
                let lock = model.lock_of(*obj);
                if travels(&model.object(lock).key) {
                    direct[index].push(Acquisition {
                        lock,
                        obj: *obj,
                        site: event.span,
                        function: FnId(index as u32),
                        how: *how,
                        shared: *shared,
                    });
                }
            }
            EventKind::Call { callee } if !callees[index].contains(callee) => {
                callees[index].push(*callee)
            }
            _ => {}
        });
    }
    // Fixed point over the call graph; each function's set only grows and is bounded by the
    // number of distinct locks, so this terminates.
    let mut result = direct;
    loop {
        let mut changed = false;
        for index in 0..count {
            for callee in callees[index].clone() {
                if callee.0 as usize == index {
                    continue;
                }
                let incoming = result[callee.0 as usize].clone();
                for acquisition in incoming {
                    if !result[index].iter().any(|a| a.lock == acquisition.lock) {
                        result[index].push(acquisition);
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    result
}

fn travels(key: &ObjKey) -> bool {
    matches!(
        key,
        ObjKey::Global(_) | ObjKey::Imported { .. } | ObjKey::Member { .. }
    )
}

/// A lock acquired while another is held: one edge of the lock-order graph, or a re-acquisition
/// when `outer == inner`.
#[derive(Clone, Debug)]
pub struct NestedAcquisition {
    pub function: FnId,
    pub outer: Held,
    pub inner_lock: ObjId,
    pub inner_obj: ObjId,
    /// Where the inner lock is taken in `function`: the acquisition, or the call that leads to it.
    pub site: Span,
    /// For one reached through a call: the acquisition inside the callee.
    pub through: Option<Acquisition>,
    pub inner_how: AcquireHow,
    pub inner_shared: bool,
}

/// Every nested acquisition of every function of the file.
pub fn nested_acquisitions(model: &FileModel) -> Vec<NestedAcquisition> {
    let through_calls = acquisitions_through_calls(model);
    let mut nested = Vec::new();
    for index in 0..model.functions.len() {
        let function = FnId(index as u32);
        walk_held(model, function, &mut |event, held, _| match &event.kind {
            EventKind::Acquire {
                obj, how, shared, ..
            } => {
                let inner = model.lock_of(*obj);
                for outer in held {
                    nested.push(NestedAcquisition {
                        function,
                        outer: outer.clone(),
                        inner_lock: inner,
                        inner_obj: *obj,
                        site: event.span,
                        through: None,
                        inner_how: *how,
                        inner_shared: *shared,
                    });
                }
            }
            EventKind::Call { callee } => {
                for acquisition in &through_calls[callee.0 as usize] {
                    for outer in held {
                        nested.push(NestedAcquisition {
                            function,
                            outer: outer.clone(),
                            inner_lock: acquisition.lock,
                            inner_obj: acquisition.obj,
                            site: event.span,
                            through: Some(acquisition.clone()),
                            inner_how: acquisition.how,
                            inner_shared: acquisition.shared,
                        });
                    }
                }
            }
            _ => {}
        });
    }
    nested
}

/// Locks handed between threads: released by a function that never acquires them (a worker
/// that signals `done.release()` to a waiting `done.acquire()`, a `checkin()` matching a
/// `checkout()`). Acquiring such a lock while holding it waits for the other thread, by
/// design; it is not a self-deadlock, and its acquire/release pairs span functions.
pub fn handoff_locks(model: &FileModel) -> std::collections::HashSet<ObjId> {
    let mut released = std::collections::HashMap::<ObjId, Vec<usize>>::new();
    let mut acquired = std::collections::HashSet::<(ObjId, usize)>::new();
    for (index, function) in model.functions.iter().enumerate() {
        crate::model::events(&function.body, &mut |event, _| match &event.kind {
            EventKind::Release { obj } => {
                released.entry(model.lock_of(*obj)).or_default().push(index)
            }
            EventKind::Acquire { obj, .. } => {
                acquired.insert((model.lock_of(*obj), index));
            }
            _ => {}
        });
    }
    released
        .into_iter()
        .filter(|(lock, functions)| functions.iter().any(|f| !acquired.contains(&(*lock, *f))))
        .map(|(lock, _)| lock)
        .collect()
}
