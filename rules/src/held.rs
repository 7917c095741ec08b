//! Which locks are held at each event of a function, and which locks a function acquires
//! (directly or through calls to functions of the same file).
//!
//! The walk is a single forward pass over the tree: a `with` acquisition (or a Rust guard bound
//! with `let`) is held until its scope ends; a manual `acquire()` until a `release()` of the same
//! lock anywhere later in the function. Branches are not merged: a release in one arm counts for
//! what follows, which errs towards fewer findings.

use rustc_hash::FxHashSet as HashSet;

use crate::model::{
    AcquireHow, Event, EventKind, ExitKind, FileModel, FnId, Node, ObjId, ObjKey, Scope, ScopeKind,
    Span,
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
    /// Order of acquisition within the walk: increases along the held list.
    serial: u64,
}

impl Held {
    /// Holdings that mean the same to every rule: the same lock, written the same way,
    /// acquired the same way. A function that takes one lock a thousand times holds one such
    /// class, not a thousand.
    fn same_class(&self, other: &Held) -> bool {
        self.lock == other.lock
            && self.obj == other.obj
            && self.how == other.how
            && self.shared == other.shared
    }
}

/// What [`walk_held`] calls for each event: the event, the locks held just before it, and the
/// enclosing scopes.
pub type HeldVisitor<'a, 'v> = dyn FnMut(&'a Event, &[Held], &[&'a Scope]) + 'v;

/// Calls `visit` for every event of `function` with the locks held just before it.
pub fn walk_held<'a>(model: &'a FileModel, function: FnId, visit: &mut HeldVisitor<'a, '_>) {
    walk_distinct(model, function, &mut |event, held, _, scopes| {
        visit(event, held, scopes);
    });
}

/// [`walk_held`] that also passes the first holding of each class ([`Held::same_class`]), in
/// order of acquisition. Pairing an event with these instead of every holding keeps the pairs
/// linear in the events when one lock is taken many times.
type DistinctVisitor<'a, 'v> = dyn FnMut(&'a Event, &[Held], &[Held], &[&'a Scope]) + 'v;

fn walk_distinct<'a>(model: &'a FileModel, function: FnId, visit: &mut DistinctVisitor<'a, '_>) {
    let mut state = HeldState::default();
    let mut scopes = Vec::new();
    walk_body(
        model,
        &model.function(function).body,
        &mut state,
        &mut scopes,
        visit,
    );
}

/// The held locks, with the first holding of each class and how many of the class are held.
#[derive(Default)]
struct HeldState {
    held: Vec<Held>,
    distinct: Vec<Held>,
    counts: Vec<usize>,
    next_serial: u64,
}

impl HeldState {
    fn push(&mut self, mut held: Held) {
        held.serial = self.next_serial;
        self.next_serial += 1;
        if let Some(class) = self.distinct.iter().position(|d| d.same_class(&held)) {
            self.counts[class] += 1;
        } else {
            self.distinct.push(held.clone());
            self.counts.push(1);
        }
        self.held.push(held);
    }

    /// Forgets `removed`, which just left `held`. The holdings of a class leave latest first,
    /// so the first of a class stays its representative while any of the class is held.
    fn forget(&mut self, removed: &Held) {
        if let Some(class) = self.distinct.iter().position(|d| d.same_class(removed)) {
            self.counts[class] -= 1;
            if self.counts[class] == 0 {
                self.distinct.remove(class);
                self.counts.remove(class);
            }
        }
    }

    fn remove_at(&mut self, position: usize) {
        let removed = self.held.remove(position);
        self.forget(&removed);
    }

    /// Ends the scoped holdings taken at `depth` or deeper since `serial`. They sit at the end
    /// of the list (later acquisitions come after them), so only that tail is looked at.
    /// Ends every holding taken since `serial`, manual ones included.
    fn end_since(&mut self, serial: u64) {
        while self.held.last().is_some_and(|h| h.serial >= serial) {
            let position = self.held.len() - 1;
            self.remove_at(position);
        }
    }

    fn end_scope(&mut self, depth: usize, serial: u64) {
        let tail = self
            .held
            .iter()
            .rposition(|h| h.serial < serial)
            .map_or(0, |p| p + 1);
        let mut kept = Vec::new();
        let ended: Vec<Held> = self.held.drain(tail..).collect();
        for h in ended {
            if h.depth >= depth && is_scoped(h.how) {
                self.forget(&h);
            } else {
                kept.push(h);
            }
        }
        self.held.extend(kept);
    }
}

fn walk_body<'a>(
    model: &'a FileModel,
    body: &'a [Node],
    state: &mut HeldState,
    scopes: &mut Vec<&'a Scope>,
    visit: &mut DistinctVisitor<'a, '_>,
) {
    for node in body {
        match node {
            Node::Event(event) => {
                visit(event, &state.held, &state.distinct, scopes);
                apply(model, event, state, scopes.len());
            }
            Node::Scope(scope) => {
                let serial = state.next_serial;
                scopes.push(scope);
                walk_body(model, &scope.body, state, scopes, visit);
                // Scoped acquisitions end with the scope that holds them.
                state.end_scope(scopes.len(), serial);
                // An arm that ends in `return` or `raise` (or `sys.exit()`, `os._exit()`)
                // does not reach what follows the `if`: what it acquired is not held there.
                if diverges(scope) {
                    state.end_since(serial);
                }
                scopes.pop();
            }
        }
    }
}

/// A branch arm whose body leaves the function: control never comes out of its end.
fn diverges(scope: &Scope) -> bool {
    matches!(scope.kind, ScopeKind::Branch(_))
        && scope.body.iter().any(|node| {
            matches!(
                node,
                Node::Event(Event {
                    kind: EventKind::Exit(ExitKind::Return | ExitKind::Raise),
                    ..
                })
            )
        })
}

fn is_scoped(how: AcquireHow) -> bool {
    matches!(how, AcquireHow::Scoped | AcquireHow::Temporary)
}

fn apply(model: &FileModel, event: &Event, state: &mut HeldState, depth: usize) {
    match &event.kind {
        EventKind::Acquire {
            obj, how, shared, ..
        } => state.push(Held {
            lock: model.lock_of(*obj),
            obj: *obj,
            site: event.span,
            how: *how,
            shared: *shared,
            depth,
            serial: 0,
        }),
        EventKind::Release { obj } => {
            let lock = model.lock_of(*obj);
            if let Some(pos) = state.held.iter().rposition(|h| h.lock == lock) {
                state.remove_at(pos);
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
        let mut called = HashSet::default();
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
            EventKind::Call { callee } if called.insert(*callee) => callees[index].push(*callee),
            _ => {}
        });
    }
    // A worklist over the call graph: when a function's list grows, its callers take the
    // new entries (each call edge reads a callee's list once, from where it stopped), so the
    // cost is the call edges times the locks, not that times the length of a call chain.
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut edges: Vec<(usize, usize, usize)> = Vec::new(); // (caller, callee, entries read)
    for (caller, list) in callees.iter().enumerate() {
        for callee in list {
            let callee = callee.0 as usize;
            if callee != caller && callee < count {
                callers[callee].push(edges.len());
                edges.push((caller, callee, 0));
            }
        }
    }
    let mut result = direct;
    let mut locks: Vec<HashSet<ObjId>> = result
        .iter()
        .map(|list| list.iter().map(|a| a.lock).collect())
        .collect();
    let mut queue: std::collections::VecDeque<usize> = (0..count).collect();
    let mut queued = vec![true; count];
    while let Some(callee) = queue.pop_front() {
        queued[callee] = false;
        for &edge in &callers[callee] {
            let (caller, _, read) = edges[edge];
            let mut grew = false;
            for index in read..result[callee].len() {
                if locks[caller].insert(result[callee][index].lock) {
                    let acquisition = result[callee][index].clone();
                    result[caller].push(acquisition);
                    grew = true;
                }
            }
            edges[edge].2 = result[callee].len();
            if grew && !queued[caller] {
                queued[caller] = true;
                queue.push_back(caller);
            }
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

/// At most this many nested acquisitions are derived per function. Pairs grow with the
/// product of the locks held and the acquisitions made under them; past this budget the rest
/// of the function is left out (and reported), so that memory stays bounded.
pub const MAX_NESTED_PER_FUNCTION: usize = 20_000;

/// Every nested acquisition of a file, and the functions that exceeded
/// [`MAX_NESTED_PER_FUNCTION`] (their nested acquisitions past the budget are left out).
#[derive(Debug, Default)]
pub struct NestedAcquisitions {
    pub pairs: Vec<NestedAcquisition>,
    pub over_budget: Vec<FnId>,
}

/// Every nested acquisition of every function of the file. Each acquisition is paired with
/// the first holding of each class of held locks ([`Held::same_class`]): the later holdings of
/// a class would only repeat the same pair.
pub fn nested_acquisitions(model: &FileModel) -> NestedAcquisitions {
    let through_calls = acquisitions_through_calls(model);
    let mut result = NestedAcquisitions::default();
    for index in 0..model.functions.len() {
        let function = FnId(index as u32);
        let start = result.pairs.len();
        let mut over = false;
        let nested = &mut result.pairs;
        walk_distinct(model, function, &mut |event, _, held, _| {
            if over {
                return;
            }
            let inner: Vec<(ObjId, ObjId, Option<&Acquisition>, AcquireHow, bool)> =
                match &event.kind {
                    EventKind::Acquire {
                        obj, how, shared, ..
                    } => vec![(model.lock_of(*obj), *obj, None, *how, *shared)],
                    EventKind::Call { callee } => through_calls[callee.0 as usize]
                        .iter()
                        .map(|a| (a.lock, a.obj, Some(a), a.how, a.shared))
                        .collect(),
                    _ => return,
                };
            if nested.len() - start + inner.len() * held.len() > MAX_NESTED_PER_FUNCTION {
                over = true;
                return;
            }
            for (inner_lock, inner_obj, through, inner_how, inner_shared) in inner {
                for outer in held {
                    nested.push(NestedAcquisition {
                        function,
                        outer: outer.clone(),
                        inner_lock,
                        inner_obj,
                        site: event.span,
                        through: through.cloned(),
                        inner_how,
                        inner_shared,
                    });
                }
            }
        });
        if over {
            result.over_budget.push(function);
        }
    }
    result
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
                released.entry(model.lock_of(*obj)).or_default().push(index);
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
