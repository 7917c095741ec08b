//! The whole-program lock-order graph (rule TL004's engine), and re-acquisition through calls
//! into other files (TL007's whole-program half).
//!
//! Each file contributes a [`LockSummary`]: its nested acquisitions (lock `b` taken while `a`
//! is held, directly or through a call to a function of the same file) with their sites, and,
//! when the front-end knows the file's module, what its functions acquire and which functions
//! they call with which locks held. The summaries of every file are joined into one graph: calls
//! resolve across files by absolute name (following re-exports), what each function acquires
//! through calls reaches a fixed point, and each strongly connected component with more than one
//! lock is a potential deadlock, every edge inside it reported.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeMap;

use crate::diagnostic::{Finding, Related, StepKind, Trace, TraceStep, Violation};
use crate::held::walk_held;
use crate::model::{EventKind, FileModel, FnId, ObjId, ObjKey, Span};
use crate::project::{ExportedObject, ProjectIndex};
use crate::registry::Context;
use crate::rules::tl004_lock_order_inversion::LockOrderInversion;
use crate::rules::tl007_nonreentrant_reacquire::NonreentrantReacquire;

/// A lock's identity across the whole program.
pub type LockName = String;

/// `inner` acquired while `outer` is held.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LockEdge {
    pub outer: LockName,
    pub inner: LockName,
    pub outer_display: String,
    pub inner_display: String,
    /// Where `inner` is taken (or the call that leads to it) in the holding function.
    pub site: Span,
    /// Where `outer` is taken.
    pub outer_site: Span,
    /// For an acquisition inside a callee: where the callee takes `inner`.
    pub callee_site: Option<Span>,
    /// The file of `callee_site` when it is not the file of the edge.
    #[serde(default)]
    pub callee_file: Option<String>,
    /// Both locks come from parameters of the holding function, by the same attribute path
    /// (`a.lock`, `b.lock`): their order depends on the arguments.
    pub parameter_order: bool,
    /// For an acquisition through calls: the function called at `site`.
    #[serde(default)]
    pub callee: Option<String>,
    /// For an acquisition through calls across files: the calls after the one at `site`, in
    /// order, that lead to `callee_site`.
    #[serde(default)]
    pub chain: Vec<ChainStep>,
}

/// A call on the way from a holding function to the acquisition it leads to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainStep {
    /// The file of the call, when not the edge's file.
    pub file: Option<String>,
    pub site: Span,
    /// The function called there.
    pub callee: String,
}

/// A lock as one function of the summary uses it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockUse {
    pub lock: LockName,
    pub display: String,
    /// Where it is acquired.
    pub site: Span,
    /// Taking it again while holding it does not block (`RLock`, a bare `Condition`).
    pub reentrant: bool,
    /// A read guard, which other read guards may share.
    pub shared: bool,
}

/// A call from one function of the file, with the locks held at it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CallSite {
    /// The callee's absolute name (`pkg.jobs.run`, `pkg.jobs.Worker.step`).
    pub callee: String,
    pub site: Span,
    pub held: Vec<LockUse>,
    /// The callee is in another module (as opposed to a function of this file).
    pub external: bool,
}

/// What one function does with locks, for the whole-program pass.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FunctionEffects {
    /// Absolute name (`pkg.jobs.run`, `pkg.jobs.Worker.step`).
    pub name: String,
    /// Locks it acquires itself that other functions can name too (module-level objects and
    /// members), not those taken through calls.
    pub acquires: Vec<LockUse>,
    pub calls: Vec<CallSite>,
}

/// What one file contributes to the whole-program pass.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct LockSummary {
    pub edges: Vec<LockEdge>,
    /// The file's module path, when the front-end knows it.
    #[serde(default)]
    pub module: Option<String>,
    /// Its module-level objects, for the project index.
    #[serde(default)]
    pub exports: Vec<ExportedObject>,
    /// Names it binds by importing them: `(local name, absolute name)`.
    #[serde(default)]
    pub imports: Vec<(String, String)>,
    /// Its functions that acquire locks or make calls.
    #[serde(default)]
    pub functions: Vec<FunctionEffects>,
    /// Its classes, for subclasses and users in other modules.
    #[serde(default)]
    pub classes: Vec<crate::model::ClassSummary>,
    /// Names of other modules it uses objects, classes or factories of.
    #[serde(default)]
    pub lookups: Vec<String>,
    /// The language of the file.
    #[serde(default)]
    pub language: Option<crate::model::Language>,
}

impl LockSummary {
    /// Whether the whole-program pass can report anything in this file: it nests locks, takes
    /// a lock another file can name, or calls out while holding one.
    pub fn takes_locks(&self) -> bool {
        !self.edges.is_empty()
            || self.functions.iter().any(|function| {
                !function.acquires.is_empty() || function.calls.iter().any(|c| !c.held.is_empty())
            })
    }
}

/// The identity of `key` across files. Module-level objects and members are the same object in
/// every file once the module is known; locals, parameters and temporaries belong to one file.
fn lock_name(file: &str, module: Option<&str>, key: &ObjKey) -> LockName {
    match (key, module) {
        (ObjKey::Imported { module, name }, _) => format!("{module}.{name}"),
        (ObjKey::Global(name), Some(module)) => format!("{module}.{name}"),
        (ObjKey::Member { class, attr }, Some(module)) => format!("{module}.{class}.{attr}"),
        (ObjKey::Local { function, name }, _) => format!("{file}::fn{}::{name}", function.0),
        (
            ObjKey::Param {
                function,
                index,
                path,
            },
            _,
        ) => {
            format!("{file}::fn{}::param{index}.{}", function.0, path.join("."))
        }
        (other, _) => format!("{file}::{other}"),
    }
}

/// The same value can be passed as either of two parameters: their types are written alike,
/// or one of them has none written (Python). `transfer(a: &Account, b: &Account)` can be
/// called with the accounts swapped; `listen(code: &Mutex<Code>, storage: &Mutex<Store>)`
/// cannot.
fn swappable(model: &crate::model::FileModel, function: FnId, a: u32, b: u32) -> bool {
    let types = &model.function(function).param_types;
    match (types.get(a as usize), types.get(b as usize)) {
        (Some(Some(a)), Some(Some(b))) => a == b,
        _ => true,
    }
}

/// Two members of one class told apart by the instance they are reached through (`lock` of
/// `self`, `lock#other` of the parameter `other`; the front-end names a second instance so) are
/// the same lock of two instances that both come from the caller: `self` of a method, or a
/// parameter. `a.transfer(b)` and `b.transfer(a)` take them in opposite orders. An instance
/// reached another way (`self.parent`) may follow an order the program keeps (parent before
/// child).
fn instances_from_parameters(model: &FileModel, function: FnId, a: &str, b: &str) -> bool {
    let function = model.function(function);
    let from_caller = |attr: &str| -> Option<String> {
        match attr.split_once('#') {
            Some((base, instance)) => function
                .params
                .iter()
                .any(|p| p == instance)
                .then(|| base.to_string()),
            None => function.class.is_some().then(|| attr.to_string()),
        }
    };
    match (from_caller(a), from_caller(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// What one file contributes to the whole-program pass: its nested acquisitions as edges
/// between lock names, and, when its module is known, its exports, imports and the lock effects
/// of its functions.
pub fn summarize(cx: &Context, file: &str) -> LockSummary {
    let model = cx.model;
    let module = model.module.as_ref().map(|m| m.path.as_str());
    let mut edges = Vec::new();
    // Locks used as signals between threads are waited on, not held around other locks.
    let handoff = cx.handoff_locks();
    let nested_all = cx.nested_acquisitions();
    // Re-taking a lock the thread already holds (a reentrant one, by design) waits for nothing:
    // it orders nothing after the other locks held at that moment.
    let reentered: HashSet<(Span, ObjId)> = nested_all
        .iter()
        .filter(|n| n.outer.lock == n.inner_lock)
        .map(|n| (n.site, n.inner_lock))
        .collect();
    for nested in nested_all {
        if handoff.contains(&nested.outer.lock) || handoff.contains(&nested.inner_lock) {
            continue;
        }
        let outer = &model.object(nested.outer.lock);
        let inner = &model.object(nested.inner_lock);
        if nested.outer.lock == nested.inner_lock
            || reentered.contains(&(nested.site, nested.inner_lock))
            || model.uncontended(nested.function, nested.outer.lock)
            || !outer.kind.is_mutex()
            || !inner.kind.is_mutex()
        {
            continue;
        }
        let parameter_order = match (&outer.key, &inner.key) {
            (
                ObjKey::Param {
                    function: f1,
                    index: i1,
                    path: p1,
                },
                ObjKey::Param {
                    function: f2,
                    index: i2,
                    path: p2,
                },
            ) => f1 == f2 && i1 != i2 && p1 == p2 && swappable(model, *f1, *i1, *i2),
            (
                ObjKey::Member {
                    class: c1,
                    attr: a1,
                },
                ObjKey::Member {
                    class: c2,
                    attr: a2,
                },
            ) => c1 == c2 && a1 != a2 && instances_from_parameters(model, nested.function, a1, a2),
            // Rust: a field of `self` and the same field of a parameter of its type (`fn
            // link(&self, other: &Node)` taking `self.links`, then `other.links`): `a.link(b)`
            // and `b.link(a)` at once deadlock. Not when the method has `self` to itself: then
            // no other thread can hold it to pass as the argument.
            (ObjKey::Member { class, .. }, ObjKey::Param { function, .. })
            | (ObjKey::Param { function, .. }, ObjKey::Member { class, .. }) => {
                let method = model.function(*function);
                let (member, parameter) = match &outer.key {
                    ObjKey::Member { .. } => (outer, inner),
                    _ => (inner, outer),
                };
                *function == nested.function
                    && method.class.as_ref() == Some(class)
                    && !method.exclusive_receiver
                    && parameter.project_key() == &member.key
            }
            _ => false,
        };
        // Two parameters in argument order are told apart by position, whatever lock of the
        // project each stands for elsewhere; two instances of one class by the names the
        // function gives them.
        let (outer_name, inner_name) = if parameter_order {
            let name = |key: &ObjKey| match key {
                ObjKey::Member { attr, .. } => {
                    format!("{file}::fn{}::{attr}", nested.function.0)
                }
                key => lock_name(file, module, key),
            };
            (name(&outer.key), name(&inner.key))
        } else {
            (
                lock_name(file, module, outer.project_key()),
                lock_name(file, module, inner.project_key()),
            )
        };
        // Two paths of this file to one lock of another file's struct (two instances): no
        // order between locks.
        if outer_name == inner_name {
            continue;
        }
        edges.push(LockEdge {
            outer: outer_name,
            inner: inner_name,
            outer_display: model.name_at(cx.source, nested.outer.obj, nested.outer.site),
            inner_display: model.name_at(
                cx.source,
                nested.inner_obj,
                nested.through.as_ref().map_or(nested.site, |t| t.site),
            ),
            site: nested.site,
            outer_site: nested.outer.site,
            callee_site: nested.through.as_ref().map(|t| t.site),
            callee_file: None,
            parameter_order,
            callee: nested
                .through
                .as_ref()
                .map(|t| model.functions[t.function.0 as usize].qualified_name()),
            chain: Vec::new(),
        });
    }
    let Some(info) = &model.module else {
        return LockSummary {
            edges,
            language: Some(model.language),
            ..LockSummary::default()
        };
    };
    LockSummary {
        edges,
        module: Some(info.path.clone()),
        exports: crate::project::exports(model),
        imports: info.imports.clone(),
        functions: function_effects(model, file, &info.path, handoff),
        classes: with_waiting_methods(model, &info.classes),
        lookups: info.lookups.clone(),
        language: Some(model.language),
    }
}

/// The file's classes, each with the methods that wait for another thread, and those that
/// start one and leave it running.
fn with_waiting_methods(
    model: &FileModel,
    classes: &[crate::model::ClassSummary],
) -> Vec<crate::model::ClassSummary> {
    let waiting = crate::waits::waiting_functions(model);
    let starting = crate::waits::starting_functions(model, &waiting);
    let methods = |class: &str, flags: &[bool]| {
        let mut names: Vec<String> = model
            .functions
            .iter()
            .zip(flags)
            .filter(|(function, &flag)| flag && function.class.as_deref() == Some(class))
            .map(|(function, _)| function.name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    classes
        .iter()
        .map(|class| {
            let mut class = class.clone();
            class.waiting = methods(&class.name, &waiting);
            class.starting = methods(&class.name, &starting);
            class
        })
        .collect()
}

/// The absolute name of each function other modules can call: module functions and methods
/// (not functions nested in another, nor the module's own top-level code). A method of a class
/// that another module declares is named after that module; a function of a module written
/// inside the file, after that module (`pkg::a.inner.f`).
fn function_names(model: &FileModel, module: &str) -> Vec<Option<String>> {
    let owners: HashMap<&str, &str> = model
        .module
        .iter()
        .flat_map(|info| &info.method_owners)
        .map(|(class, owner)| (class.as_str(), owner.as_str()))
        .collect();
    let inline: HashMap<usize, &str> = model
        .module
        .iter()
        .flat_map(|info| &info.inline_modules)
        .map(|(index, path)| (*index as usize, path.as_str()))
        .collect();
    let mut order: Vec<usize> = (1..model.functions.len()).collect();
    order.sort_by_key(|&i| {
        let span = model.functions[i].span;
        (span.start, std::cmp::Reverse(span.end))
    });
    let mut names = vec![None; model.functions.len()];
    let mut open: Vec<Span> = Vec::new();
    for index in order {
        let function = &model.functions[index];
        while open
            .last()
            .is_some_and(|outer| !outer.contains(function.span))
        {
            open.pop();
        }
        if open.is_empty() {
            let module = function
                .class
                .as_deref()
                .and_then(|class| owners.get(class))
                .copied()
                .unwrap_or(module);
            let owned = function
                .class
                .as_deref()
                .is_some_and(|class| owners.contains_key(class));
            names[index] = Some(match inline.get(&index).filter(|_| !owned) {
                Some(path) => format!("{module}.{path}.{}", function.qualified_name()),
                None => format!("{module}.{}", function.qualified_name()),
            });
        }
        open.push(function.span);
    }
    names
}

fn function_effects(
    model: &FileModel,
    file: &str,
    module: &str,
    handoff: &std::collections::HashSet<ObjId>,
) -> Vec<FunctionEffects> {
    let names = function_names(model, module);
    let lock_use = |obj: ObjId, site: Span, shared: bool| {
        let lock = model.lock_of(obj);
        let object = model.object(lock);
        (object.kind.is_mutex() && !handoff.contains(&lock)).then(|| LockUse {
            lock: lock_name(file, Some(module), object.project_key()),
            display: model.object(obj).display.clone(),
            site,
            reentrant: model.is_reentrant(lock),
            shared,
        })
    };
    let mut effects = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let Some(name) = name else { continue };
        let mut acquires: Vec<LockUse> = Vec::new();
        let mut calls = Vec::new();
        let function = FnId(index as u32);
        walk_held(model, function, &mut |event, held, _| {
            // A lock no other thread can want while this function holds it orders nothing.
            let held_uses = || -> Vec<LockUse> {
                held.iter()
                    .filter(|h| !model.uncontended(function, h.obj))
                    .filter_map(|h| lock_use(h.obj, h.site, h.shared))
                    .collect()
            };
            match &event.kind {
                EventKind::Acquire { obj, shared, .. } => {
                    let travels = matches!(
                        model.object(model.lock_of(*obj)).project_key(),
                        ObjKey::Global(_) | ObjKey::Imported { .. } | ObjKey::Member { .. }
                    );
                    if let Some(used) = lock_use(*obj, event.span, *shared).filter(|_| travels) {
                        if !acquires.iter().any(|a| a.lock == used.lock) {
                            acquires.push(used);
                        }
                    }
                }
                EventKind::ExternalCall { callee } => calls.push(CallSite {
                    callee: callee.clone(),
                    site: event.span,
                    held: held_uses(),
                    external: true,
                }),
                EventKind::Call { callee } => {
                    if let Some(Some(callee)) = names.get(callee.0 as usize) {
                        calls.push(CallSite {
                            callee: callee.clone(),
                            site: event.span,
                            held: held_uses(),
                            external: false,
                        });
                    }
                }
                _ => {}
            }
        });
        if !acquires.is_empty() || !calls.is_empty() {
            effects.push(FunctionEffects {
                name: name.clone(),
                acquires,
                calls,
            });
        }
    }
    effects
}

/// An edge with the index and path of the file it is in.
type FileEdge<'a> = (usize, &'a str, LockEdge);

/// Every edge of the project: each file's own, and those through calls into other files; with
/// the TL007 findings met on the way.
fn joined_edges<'a>(
    summaries: &[(usize, &'a str, &'a LockSummary)],
) -> (Vec<FileEdge<'a>>, Vec<(usize, Finding)>) {
    let mut findings = Vec::new();
    let ambiguous = ambiguous_modules(summaries.iter().map(|s| s.2));
    let index = ProjectIndex::new(summaries.iter().map(|s| s.2));
    let mut all: Vec<(usize, &str, LockEdge)> = Vec::new();
    for &(file, path, summary) in summaries {
        let own_module = summary.module.as_deref().filter(|m| ambiguous.contains(*m));
        for edge in &summary.edges {
            let mut edge = edge.clone();
            if let Some(module) = own_module {
                // Two files claim this module path: their objects are told apart by file.
                edge.outer = scope_to_file(edge.outer, module, path);
                edge.inner = scope_to_file(edge.inner, module, path);
            }
            all.push((file, path, edge));
        }
    }
    all.extend(edges_through_calls(
        summaries,
        &index,
        &ambiguous,
        &mut findings,
    ));
    (all, findings)
}

/// TL004 (and TL007 through calls into other files) findings over the summaries of every
/// file, given as `(file index, path, summary)`: `(file index, finding)`.
pub fn check(summaries: &[(usize, &str, &LockSummary)]) -> Vec<(usize, Finding)> {
    let (all, mut findings) = joined_edges(summaries);
    // Deterministic node numbering.
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, edge) in &all {
        names.entry(&edge.outer).or_insert(0);
        names.entry(&edge.inner).or_insert(0);
    }
    for (i, value) in names.values_mut().enumerate() {
        *value = i;
    }
    let mut graph: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for (_, _, edge) in &all {
        let (a, b) = (names[edge.outer.as_str()], names[edge.inner.as_str()]);
        if !graph[a].contains(&b) {
            graph[a].push(b);
        }
    }
    let component = strongly_connected_components(&graph);
    let mut sizes: HashMap<usize, usize> = HashMap::default();
    for &c in &component {
        *sizes.entry(c).or_default() += 1;
    }
    // Every edge inside a cycle, grouped by cycle.
    let mut cycles: BTreeMap<usize, Vec<(usize, &str, &LockEdge)>> = BTreeMap::new();
    for (file, path, edge) in &all {
        let (a, b) = (names[edge.outer.as_str()], names[edge.inner.as_str()]);
        if component[a] == component[b] && sizes[&component[a]] > 1 {
            cycles
                .entry(component[a])
                .or_default()
                .push((*file, path, edge));
        }
    }
    for sites in cycles.values() {
        for (index, &(file, path, edge)) in sites.iter().enumerate() {
            // Two locks written alike (`self._lock` of two classes) are named by their owner.
            let (inner_display, outer_display) = distinct_names(edge);
            let mut related = Vec::new();
            related.push(Related {
                file: None,
                span: edge.outer_site,
                message: format!("`{}` acquired first here", edge.outer_display),
            });
            if let Some(callee_site) = edge.callee_site {
                related.push(Related {
                    file: edge.callee_file.clone(),
                    span: callee_site,
                    message: format!("`{inner_display}` acquired inside the called function here"),
                });
            }
            for (other_index, &(other_file, other_path, other)) in sites.iter().enumerate() {
                if other_index == index {
                    continue;
                }
                let (other_inner, other_outer) = distinct_names(other);
                related.push(Related {
                    file: (other_file != file).then(|| other_path.to_string()),
                    span: other.site,
                    message: format!("`{other_inner}` acquired while holding `{other_outer}` here"),
                });
            }
            let reversed = sites
                .iter()
                .any(|(_, _, other)| other.outer == edge.inner && other.inner == edge.outer);
            let edge = &LockEdge {
                outer_display,
                inner_display,
                ..edge.clone()
            };
            let violation = LockOrderInversion::Cycle {
                inner: edge.inner_display.clone(),
                outer: edge.outer_display.clone(),
                through_call: edge.callee_site.is_some(),
                chain: if reversed {
                    None
                } else {
                    cycle_back(sites, edge)
                },
            };
            findings.push((
                file,
                violation
                    .at(edge.site)
                    .with_related(related)
                    .with_traces(cycle_traces(sites, index, edge, path)),
            ));
        }
    }
    // Locks taken from parameters in argument order: `transfer(a, b)` and `transfer(b, a)`
    // running at once deadlock, whatever the rest of the program does.
    for (file, _, edge) in &all {
        if edge.parameter_order {
            let (a, b) = (names[edge.outer.as_str()], names[edge.inner.as_str()]);
            if component[a] == component[b] && sizes[&component[a]] > 1 {
                continue;
            }
            let rust = summaries
                .iter()
                .find(|s| s.0 == *file)
                .is_some_and(|s| s.2.language == Some(crate::model::Language::Rust));
            let violation = LockOrderInversion::ParameterOrder {
                inner: edge.inner_display.clone(),
                outer: edge.outer_display.clone(),
                rust,
            };
            findings.push((
                *file,
                violation.at(edge.site).with_related(vec![Related {
                    file: None,
                    span: edge.outer_site,
                    message: format!("`{}` acquired first here", edge.outer_display),
                }]),
            ));
        }
    }
    // The same site can close a cycle through several held locks (a reentrant lock held twice):
    // report it once.
    findings.sort_by(|(fa, a), (fb, b)| (fa, a.span, &a.message).cmp(&(fb, b.span, &b.message)));
    findings.dedup_by(|(fa, a), (fb, b)| fa == fb && a.span == b.span && a.message == b.message);
    findings
}

/// The displays of an edge's two locks, told apart when the code writes two different locks
/// alike (`self._lock` of two classes): then each is named by the end of its identity
/// (`Registry._lock`, `Sensor._lock`).
fn distinct_names(edge: &LockEdge) -> (String, String) {
    if edge.inner_display != edge.outer_display || edge.inner == edge.outer {
        return (edge.inner_display.clone(), edge.outer_display.clone());
    }
    let short = |name: &str| {
        let name = name.rsplit("::").next().unwrap_or(name);
        let parts: Vec<&str> = name.rsplitn(3, '.').collect();
        match parts.as_slice() {
            [attr, owner, ..] => format!("{owner}.{attr}"),
            _ => name.to_string(),
        }
    };
    (short(&edge.inner), short(&edge.outer))
}

/// The shortest way back from `edge.inner` to `edge.outer` over the other edges of its cycle,
/// as the order the code takes them in: `` `B` -> `C` -> `A` `` for an edge from `A` to `B`.
fn cycle_back(sites: &[(usize, &str, &LockEdge)], edge: &LockEdge) -> Option<String> {
    let mut previous: HashMap<&str, &LockEdge> = HashMap::default();
    let mut queue = std::collections::VecDeque::from([edge.inner.as_str()]);
    while let Some(lock) = queue.pop_front() {
        if lock == edge.outer {
            break;
        }
        for (_, _, other) in sites {
            if other.outer == lock
                && other.inner != edge.inner
                && !previous.contains_key(other.inner.as_str())
            {
                previous.insert(&other.inner, other);
                queue.push_back(&other.inner);
            }
        }
    }
    let mut chain = vec![format!("`{}`", edge.outer_display)];
    let mut current = edge.outer.as_str();
    while current != edge.inner {
        let step = previous.get(current)?;
        chain.push(format!("`{}`", step.outer_display));
        current = &step.outer;
        if chain.len() > sites.len() + 1 {
            return None;
        }
    }
    chain.reverse();
    Some(chain.join(" -> "))
}

fn scope_to_file(name: LockName, module: &str, path: &str) -> LockName {
    if name.starts_with(module) && name[module.len()..].starts_with('.') {
        format!("{path}::{name}")
    } else {
        name
    }
}

/// How many functions' acquisitions through calls are followed before the rest is dropped: the
/// sets only grow, and a bound keeps a pathological call graph linear.
const MAX_LOCKS_PER_FUNCTION: usize = 64;

/// One lock a function acquires, directly or in a callee, with the file that takes it.
#[derive(Clone, Copy)]
struct Reached<'a> {
    file: usize,
    path: &'a str,
    lock: &'a LockUse,
    /// The callee it is reached through (`None`: the function takes it itself).
    via: Option<usize>,
}

/// Edges (and TL007 re-acquisitions) that go through calls into other files: a lock held at a
/// call, and every lock the callee acquires, directly or through its own calls, in any file.
/// Calls within one file are already in that file's own edges.
fn edges_through_calls<'a>(
    summaries: &[(usize, &'a str, &'a LockSummary)],
    index: &ProjectIndex,
    ambiguous: &HashSet<&str>,
    findings: &mut Vec<(usize, Finding)>,
) -> Vec<(usize, &'a str, LockEdge)> {
    // Every function of every module, numbered.
    let mut functions: Vec<(usize, &'a str, &'a FunctionEffects)> = Vec::new();
    let mut by_name: HashMap<&'a str, usize> = HashMap::default();
    for &(file, path, summary) in summaries {
        if summary
            .module
            .as_deref()
            .is_none_or(|m| ambiguous.contains(m))
        {
            continue;
        }
        for effects in &summary.functions {
            by_name.entry(&effects.name).or_insert(functions.len());
            functions.push((file, path, effects));
        }
    }
    if functions.is_empty() {
        return Vec::new();
    }
    let resolve = |call: &CallSite| -> Option<usize> {
        if call.external {
            by_name.get(index.canonical(&call.callee).as_str()).copied()
        } else {
            by_name.get(call.callee.as_str()).copied()
        }
    };
    let callees: Vec<Vec<Option<usize>>> = functions
        .iter()
        .map(|(_, _, effects)| effects.calls.iter().map(resolve).collect())
        .collect();
    // What each function acquires through calls: a fixed point; sets only grow and are bounded.
    let mut reached: Vec<Vec<Reached<'a>>> = functions
        .iter()
        .map(|&(file, path, effects)| {
            effects
                .acquires
                .iter()
                .map(|lock| Reached {
                    file,
                    path,
                    lock,
                    via: None,
                })
                .collect()
        })
        .collect();
    // A worklist over callers: a function's set only grows (up to the bound), and each growth
    // is passed to its callers once, so a long call chain costs its length, not its square.
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); functions.len()];
    for (caller, list) in callees.iter().enumerate() {
        for &callee in list.iter().flatten() {
            if callee != caller && !callers[callee].contains(&caller) {
                callers[callee].push(caller);
            }
        }
    }
    let mut queued: Vec<bool> = reached.iter().map(|r| !r.is_empty()).collect();
    let mut queue: std::collections::VecDeque<usize> =
        (0..functions.len()).filter(|&f| queued[f]).collect();
    while let Some(callee) = queue.pop_front() {
        queued[callee] = false;
        for &caller in &callers[callee] {
            let mut grew = false;
            for index in 0..reached[callee].len() {
                if reached[caller].len() >= MAX_LOCKS_PER_FUNCTION {
                    break;
                }
                let item = reached[callee][index];
                if !reached[caller]
                    .iter()
                    .any(|r| r.lock.lock == item.lock.lock)
                {
                    reached[caller].push(Reached {
                        via: Some(callee),
                        ..item
                    });
                    grew = true;
                }
            }
            if grew && !queued[caller] {
                queued[caller] = true;
                queue.push_back(caller);
            }
        }
    }
    let mut edges = Vec::new();
    let mut reported: HashSet<(usize, Span, &str)> = HashSet::default();
    for (caller, &(file, path, effects)) in functions.iter().enumerate() {
        for (call, callee) in effects.calls.iter().zip(&callees[caller]) {
            let Some(callee) = *callee else { continue };
            if call.held.is_empty() {
                continue;
            }
            for inner in &reached[callee] {
                // Within one file, the file's own summary has these already.
                if inner.file == file && !call.external {
                    continue;
                }
                let callee_file = (inner.file != file).then(|| inner.path.to_string());
                let chain = || {
                    let steps = chain_to(&functions, &callees, &reached, callee, inner.lock);
                    steps
                        .into_iter()
                        .map(|(at, site, callee)| ChainStep {
                            file: (at != path).then(|| at.to_string()),
                            site,
                            callee: callee.to_string(),
                        })
                        .collect::<Vec<_>>()
                };
                if let Some(outer) = call.held.iter().find(|h| h.lock == inner.lock.lock) {
                    let waits = !(outer.reentrant || outer.shared && inner.lock.shared);
                    if waits && reported.insert((file, call.site, outer.lock.as_str())) {
                        findings.push((
                            file,
                            reacquired_through_call(call, outer, inner, path, &chain()),
                        ));
                    }
                    // Already held: re-taking it orders nothing after the other held locks.
                    continue;
                }
                for outer in &call.held {
                    let callee = functions[callee].2.name.clone();
                    let edge = edge_through_call(call, outer, inner, callee_file.clone(), callee);
                    edges.push((
                        file,
                        path,
                        LockEdge {
                            chain: chain(),
                            ..edge
                        },
                    ));
                }
            }
        }
    }
    edges
}

/// TL007 for a non-reentrant lock held at a call whose callee, in another file, takes it again.
fn reacquired_through_call(
    call: &CallSite,
    outer: &LockUse,
    inner: &Reached,
    path: &str,
    chain: &[ChainStep],
) -> Finding {
    NonreentrantReacquire::ThroughFile {
        callee: short_name(&call.callee).to_string(),
        inner: inner.lock.display.clone(),
        outer: outer.display.clone(),
        file: inner.path.to_string(),
    }
    .at(call.site)
    .with_related(vec![
        Related {
            file: None,
            span: outer.site,
            message: format!("`{}` first acquired here", outer.display),
        },
        Related {
            file: Some(inner.path.to_string()),
            span: inner.lock.site,
            message: format!("`{}` acquired again here", inner.lock.display),
        },
    ])
    .with_traces(vec![Trace {
        message: format!(
            "`{}` is taken, then taken again through calls",
            outer.display
        ),
        ..side(
            &LockEdge {
                chain: chain.to_vec(),
                ..edge_through_call(
                    call,
                    outer,
                    inner,
                    (inner.path != path).then(|| inner.path.to_string()),
                    call.callee.clone(),
                )
            },
            path,
            path,
        )
    }])
}

/// The edge from `outer`, held at `call`, to `inner`, which the callee reaches (its chain of
/// calls left to the caller).
fn edge_through_call(
    call: &CallSite,
    outer: &LockUse,
    inner: &Reached,
    callee_file: Option<String>,
    callee: String,
) -> LockEdge {
    LockEdge {
        outer: outer.lock.clone(),
        inner: inner.lock.lock.clone(),
        outer_display: outer.display.clone(),
        inner_display: inner.lock.display.clone(),
        site: call.site,
        outer_site: outer.site,
        callee_site: Some(inner.lock.site),
        callee_file,
        parameter_order: false,
        callee: Some(callee),
        chain: Vec::new(),
    }
}

/// The calls inside `callee` (and on) through which it reaches `lock`: `(path of the calling
/// file, call site, function called)`, in order, up to the function that takes it.
fn chain_to<'a>(
    functions: &[(usize, &'a str, &'a FunctionEffects)],
    callees: &[Vec<Option<usize>>],
    reached: &[Vec<Reached<'a>>],
    callee: usize,
    lock: &LockUse,
) -> Vec<(&'a str, Span, &'a str)> {
    let mut steps = Vec::new();
    let mut current = callee;
    // Each function's entry for a lock points to a callee that had it first: the walk ends.
    while steps.len() < MAX_CHAIN {
        let Some(next) = reached[current]
            .iter()
            .find(|r| r.lock.lock == lock.lock)
            .and_then(|r| r.via)
        else {
            break;
        };
        let (_, path, effects) = functions[current];
        let Some(call) = effects
            .calls
            .iter()
            .zip(&callees[current])
            .find_map(|(call, to)| (*to == Some(next)).then_some(call))
        else {
            break;
        };
        steps.push((path, call.site, functions[next].2.name.as_str()));
        current = next;
    }
    steps
}

/// Calls followed at most when a chain is written out.
const MAX_CHAIN: usize = 32;

/// The last component of a function's absolute name (`pkg.jobs.run`, `my_crate::jobs.run`).
fn short_name(name: &str) -> &str {
    name.rsplit(['.', ':']).next().unwrap_or(name)
}

/// Module paths that more than one file of the run claims (two scripts named `worker.py` in
/// different folders): their objects are not one object.
pub fn ambiguous_modules<'a>(
    summaries: impl IntoIterator<Item = &'a LockSummary>,
) -> HashSet<&'a str> {
    let mut seen = HashSet::default();
    let mut ambiguous = HashSet::default();
    for summary in summaries {
        if let Some(module) = summary.module.as_deref() {
            if !seen.insert(module) {
                ambiguous.insert(module);
            }
        }
    }
    ambiguous
}

/// Tarjan's algorithm, iterative (graphs from real code can be deep). Returns the component of
/// each node.
fn strongly_connected_components(graph: &[Vec<usize>]) -> Vec<usize> {
    let n = graph.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut component = vec![usize::MAX; n];
    let mut next_index = 0;
    let mut next_component = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (node, ref mut child)) = work.last_mut() {
            if *child == 0 && index[node] == usize::MAX {
                index[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&next) = graph[node].get(*child) {
                *child += 1;
                if index[next] == usize::MAX {
                    work.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index[next]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component[member] = next_component;
                    if member == node {
                        break;
                    }
                }
                next_component += 1;
            }
        }
    }
    component
}

mod graph;
mod traces;

pub use graph::{graph, GraphEdge, GraphLock, LockGraph};
use traces::{cycle_traces, side};

#[cfg(test)]
mod tests {
    use super::strongly_connected_components;

    #[test]
    fn finds_cycles() {
        let graph = vec![vec![1], vec![2], vec![0], vec![0]];
        let c = strongly_connected_components(&graph);
        assert_eq!(c[0], c[1]);
        assert_eq!(c[1], c[2]);
        assert_ne!(c[3], c[0]);
    }
}
