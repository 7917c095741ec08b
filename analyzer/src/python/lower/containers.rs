//! Containers filled one element at a time: `self._threads.add(t)` in one method, `for t in
//! self._threads: t.join()` in another. A container (a variable or attribute) whose every
//! addition is an object of one kind has elements of that kind, as a list built whole from
//! such objects has (`element_kinds`, filled by the define pass); the loops over it then bind
//! their variable to an object of that kind.
//!
//! Additions are `append`, `appendleft`, `add`, `insert` and `d[k] = x`. One addition of
//! anything else (an unknown value, an object of another kind), or a binding of the container
//! to anything but an empty container or a list made of such objects, makes its elements
//! unknown. Locks and conditions stay out, as in `element_kind`: one object standing for
//! several locks would look re-entered.

use std::mem::discriminant;

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;
use rustc_hash::FxHashMap as HashMap;
use threadlint_rules::model::{FnId, ObjKey, ObjKind};

use super::{child_bodies, span, Lowerer, MAX_DEPTH};

/// What the additions to one container were.
#[derive(Clone, Copy)]
enum Elements {
    Of(ObjKind),
    Mixed,
}

impl Lowerer<'_> {
    /// Finds the containers filled one element at a time with objects of one kind, then types
    /// the variables of the loops over them.
    pub(super) fn find_container_elements(&mut self) {
        let mut found: HashMap<ObjKey, Elements> = HashMap::default();
        for index in 0..self.functions.len() {
            let body = self.functions[index].body;
            self.note_additions(FnId(index as u32), body, &mut found, 0);
        }
        for (key, elements) in found {
            match (elements, self.element_kinds.get(&key).copied()) {
                (Elements::Of(kind), None) => {
                    self.element_kinds.insert(key, kind);
                }
                (Elements::Of(kind), Some(built))
                    if discriminant(&kind) == discriminant(&built) => {}
                _ => {
                    self.element_kinds.remove(&key);
                }
            }
        }
        if self.element_kinds.is_empty() {
            return;
        }
        for index in 0..self.functions.len() {
            let body = self.functions[index].body;
            self.type_loop_variables(FnId(index as u32), body, 0);
        }
    }

    fn note_additions(
        &mut self,
        function: FnId,
        body: &[Stmt],
        found: &mut HashMap<ObjKey, Elements>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        for stmt in body {
            match stmt {
                Stmt::Expr(statement) => {
                    if let Some((container, value)) = addition(&statement.value) {
                        self.note_addition(function, container, value, found);
                    }
                }
                Stmt::Assign(assign) => {
                    for target in &assign.targets {
                        if let Expr::Subscript(subscript) = target {
                            self.note_addition(function, &subscript.value, &assign.value, found);
                        } else if !is_empty_container(&assign.value) {
                            // Bound to something else than a new, empty container: a list
                            // built whole is typed by the define pass, anything else is not.
                            if let Some((key, _)) = self.target_key(function, target) {
                                if !self.element_kinds.contains_key(&key) {
                                    found.insert(key, Elements::Mixed);
                                }
                            }
                        }
                    }
                }
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                _ => {
                    for child in child_bodies(stmt) {
                        self.note_additions(function, child, found, depth + 1);
                    }
                }
            }
        }
    }

    fn note_addition(
        &mut self,
        function: FnId,
        container: &Expr,
        value: &Expr,
        found: &mut HashMap<ObjKey, Elements>,
    ) {
        let Some((key, _)) = self.target_key(function, container) else {
            return;
        };
        let kind = match value {
            // Made in the call: what it makes, without creating an object for it here.
            Expr::Call(call) if self.submits_to_pool(function, call) => Some(ObjKind::Future),
            Expr::Call(call) => self
                .qualified_name(&call.func)
                .and_then(|q| self.constructed_kind(function, &q, &call.arguments)),
            _ => self
                .resolve(function, value)
                .map(|id| self.objects[id.0 as usize].kind),
        }
        .filter(|kind| is_element_kind(*kind));
        let merged = match (found.get(&key), kind) {
            (_, None) | (Some(Elements::Mixed), _) => Elements::Mixed,
            (None, Some(kind)) => Elements::Of(kind),
            (Some(Elements::Of(seen)), Some(kind)) => {
                if discriminant(seen) != discriminant(&kind) {
                    Elements::Mixed
                } else if let (ObjKind::Thread { daemon: a }, ObjKind::Thread { daemon: b }) =
                    (seen, kind)
                {
                    // Daemon only when every thread added is one.
                    Elements::Of(ObjKind::Thread { daemon: *a && b })
                } else {
                    Elements::Of(*seen)
                }
            }
        };
        found.insert(key, merged);
    }

    /// `for t in self._threads` (or over `list(..)`, `.copy()`, `.values()` of it), and `for
    /// k, t in self._threads.items()`: `t` is an element.
    fn type_loop_variables(&mut self, function: FnId, body: &[Stmt], depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for stmt in body {
            if let Stmt::For(for_stmt) = stmt {
                let (container, items) = iterated_container(&for_stmt.iter);
                let kind = self
                    .target_key(function, container)
                    .and_then(|(key, _)| self.element_kinds.get(&key).copied());
                let target = match &*for_stmt.target {
                    Expr::Tuple(tuple) if items && tuple.elts.len() == 2 => Some(&tuple.elts[1]),
                    target if !items => Some(target),
                    _ => None,
                };
                if let (Some(kind), Some(target @ Expr::Name(_))) = (kind, target) {
                    if let Some((key, display)) = self.target_key(function, target) {
                        let id = self.intern(key, display);
                        self.set_kind(id, kind, span(target.range()));
                    }
                }
            }
            if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                for child in child_bodies(stmt) {
                    self.type_loop_variables(function, child, depth + 1);
                }
            }
        }
    }
}

/// The kinds a container's elements may have (see the module comment).
fn is_element_kind(kind: ObjKind) -> bool {
    matches!(
        kind,
        ObjKind::Future
            | ObjKind::Event
            | ObjKind::Queue { .. }
            | ObjKind::Barrier { .. }
            | ObjKind::Thread { .. }
    )
}

/// `c.append(x)`, `c.appendleft(x)`, `c.add(x)`, `c.insert(i, x)`: (`c`, `x`).
fn addition(expr: &Expr) -> Option<(&Expr, &Expr)> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Attribute(method) = &*call.func else {
        return None;
    };
    let position = match method.attr.id.as_str() {
        "append" | "appendleft" | "add" => 0,
        "insert" => 1,
        _ => return None,
    };
    if call.arguments.args.len() != position + 1 || !call.arguments.keywords.is_empty() {
        return None;
    }
    Some((&method.value, &call.arguments.args[position]))
}

/// `[]`, `set()`, `{}`, `list()`, `dict()`, `collections.deque()`, `weakref.WeakSet()` and the
/// like, with no argument.
fn is_empty_container(value: &Expr) -> bool {
    match value {
        Expr::List(list) => list.elts.is_empty(),
        Expr::Dict(dict) => dict.is_empty(),
        Expr::Call(call) if call.arguments.is_empty() => {
            let name = match &*call.func {
                Expr::Name(name) => name.id.as_str(),
                Expr::Attribute(attr) => attr.attr.id.as_str(),
                _ => return false,
            };
            matches!(
                name,
                "list"
                    | "set"
                    | "dict"
                    | "deque"
                    | "WeakSet"
                    | "WeakValueDictionary"
                    | "OrderedDict"
            )
        }
        _ => false,
    }
}

/// The container a `for` loop iterates over, through copies (`list(c)`, `tuple(c)`,
/// `sorted(c)`, `c.copy()`) and views (`c.values()`; `c.items()`, which yields pairs: the
/// second element of the result says so).
fn iterated_container(iter: &Expr) -> (&Expr, bool) {
    match iter {
        Expr::Call(call) if call.arguments.keywords.is_empty() => match &*call.func {
            Expr::Name(name)
                if call.arguments.args.len() == 1
                    && matches!(name.id.as_str(), "list" | "tuple" | "sorted" | "set") =>
            {
                iterated_container(&call.arguments.args[0])
            }
            Expr::Attribute(method) if call.arguments.args.is_empty() => {
                match method.attr.id.as_str() {
                    "copy" | "values" => (&method.value, false),
                    "items" => (&method.value, true),
                    _ => (iter, false),
                }
            }
            _ => (iter, false),
        },
        _ => (iter, false),
    }
}
