//! Daemon threads: `Thread(daemon=True)` is read where the thread is constructed; this module
//! finds the other ways to make one, `t.daemon = True` / `t.setDaemon(True)` on a thread
//! object, and `Thread` subclasses that make themselves daemons (`self.daemon = True`,
//! `super().__init__(daemon=True)`). Also threads whose code keeps the thread itself
//! (`self._thread = threading.current_thread()`), for its owner to join.

use ruff_python_ast::{Expr, ExprCall, Stmt};
use threadlint_rules::model::{FnId, ObjKind};

use super::{child_bodies, is_false_literal, walk_own_body, Lowerer, Visited, MAX_DEPTH};

impl Lowerer<'_> {
    /// `t.daemon = value` (`value` given) or `t.setDaemon(value)` in `function`: the thread
    /// `t` is a daemon unless the value is `False`.
    pub(super) fn note_daemon(&mut self, function: FnId, stmt: &Stmt) {
        let Some((receiver, value)) = daemon_setting(stmt) else {
            return;
        };
        if is_false_literal(value) {
            return;
        }
        if let Some(id) = self.resolve(function, receiver) {
            let object = &mut self.objects[id.0 as usize];
            if let ObjKind::Thread { daemon } = &mut object.kind {
                *daemon = true;
            }
        }
    }

    /// The target of the `Thread(...)` call `thread` (a function of the file, or a lambda
    /// that calls one) stores the running thread in an attribute or a global (`self._thread =
    /// threading.current_thread()`): the thread is kept, where the code that owns that
    /// attribute can join it.
    pub(super) fn stores_itself(&self, function: FnId, thread: &ExprCall) -> bool {
        let Some(target) = thread.arguments.find_argument_value("target", 1) else {
            return false;
        };
        let target = match target {
            Expr::Lambda(lambda) => match &*lambda.body {
                Expr::Call(call) => &*call.func,
                _ => return false,
            },
            target => target,
        };
        let Some(target) = self.resolve_function(function, target) else {
            return false;
        };
        let mut stores = false;
        walk_own_body(self.functions[target.0 as usize].body, |visited| {
            let Visited::Stmt(Stmt::Assign(assign)) = visited else {
                return;
            };
            let Expr::Call(value) = &*assign.value else {
                return;
            };
            let current = self.qualified_name(&value.func).is_some_and(|q| {
                matches!(
                    q.as_str(),
                    "threading.current_thread" | "threading.currentThread"
                )
            });
            stores |= current
                && assign
                    .targets
                    .iter()
                    .any(|t| matches!(t, Expr::Attribute(_)));
        });
        stores
    }

    /// A `Thread` subclass of this file (or one of its bases of this file) that makes its
    /// instances daemons.
    pub(super) fn is_daemon_class(&self, class: usize) -> bool {
        self.ancestry(class).any(|c| {
            self.classes[c].methods.values().any(|method| {
                let info = &self.functions[method.0 as usize];
                let self_name = info.params.first().map(|(n, _)| n.as_str());
                makes_daemon(info.body, self_name, 0)
            })
        })
    }
}

/// `x.daemon = value` or `x.setDaemon(value)`: (`x`, `value`).
fn daemon_setting(stmt: &Stmt) -> Option<(&Expr, &Expr)> {
    match stmt {
        Stmt::Assign(assign) => match assign.targets.as_slice() {
            [Expr::Attribute(attr)] if attr.attr.id.as_str() == "daemon" => {
                Some((&attr.value, &assign.value))
            }
            _ => None,
        },
        Stmt::Expr(expr) => {
            let Expr::Call(call) = &*expr.value else {
                return None;
            };
            let Expr::Attribute(method) = &*call.func else {
                return None;
            };
            if method.attr.id.as_str() != "setDaemon" {
                return None;
            }
            Some((
                &method.value,
                call.arguments.find_argument_value("daemonic", 0)?,
            ))
        }
        _ => None,
    }
}

/// A method body that sets its own `daemon` flag, or passes `daemon=` (not `False`) to an
/// `__init__` of a base class.
fn makes_daemon(body: &[Stmt], self_name: Option<&str>, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    body.iter().any(|stmt| {
        if let Some((receiver, value)) = daemon_setting(stmt) {
            let on_self = matches!(receiver, Expr::Name(n) if Some(n.id.as_str()) == self_name);
            if on_self && !is_false_literal(value) {
                return true;
            }
        }
        if let Stmt::Expr(expr) = stmt {
            if let Expr::Call(call) = &*expr.value {
                let init =
                    matches!(&*call.func, Expr::Attribute(a) if a.attr.id.as_str() == "__init__");
                let daemon = call.arguments.find_keyword("daemon");
                if init && daemon.is_some_and(|k| !is_false_literal(&k.value)) {
                    return true;
                }
            }
        }
        child_bodies(stmt)
            .into_iter()
            .any(|child| makes_daemon(child, self_name, depth + 1))
    })
}
