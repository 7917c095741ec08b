//! Locks of classes the model cannot type, found by their use. An object on which one function
//! calls `acquire()` with a lock's arguments (none, `blocking`, `timeout`) and `release()` with
//! none is used the way only a lock or a semaphore is: a connection pool's `release(conn)`
//! takes what it gives back, a file or a socket has no `acquire`. Such an object becomes an
//! [`ObjKind::UntypedLock`], and so does every other result of the call that made it
//! (`w = rw.gen_wlock()` in each of several thread functions, one of which acquires and releases
//! its `w`, the others entering it with `with w:`): one callee, one kind of result.

use super::*;

/// What one function body does with the lock protocol.
#[derive(Default)]
struct LockUses<'a> {
    /// Receivers of `r.acquire(..)` called with a lock's arguments.
    acquired: Vec<&'a Expr>,
    /// Receivers of `r.release()` called with no argument.
    released: Vec<&'a Expr>,
    /// `name = f(..)`: the name and the callee `f`.
    produced: Vec<(&'a str, &'a Expr)>,
    /// Calls that are awaited.
    awaited: Vec<TextRange>,
}

impl<'a> LockUses<'a> {
    fn of(body: &'a [Stmt]) -> Self {
        let mut uses = LockUses::default();
        walk_own_body(body, |visited| match visited {
            Visited::Stmt(stmt) => uses.statement(stmt),
            Visited::Expr(expr) => uses.expression(expr),
        });
        uses
    }

    fn statement(&mut self, stmt: &'a Stmt) {
        let assigned = match stmt {
            Stmt::Assign(assign) if assign.targets.len() == 1 => {
                Some((&assign.targets[0], &*assign.value))
            }
            Stmt::AnnAssign(assign) => assign.value.as_deref().map(|v| (&*assign.target, v)),
            _ => None,
        };
        if let Some((Expr::Name(name), Expr::Call(call))) = assigned {
            self.produced.push((name.id.as_str(), &call.func));
        }
    }

    fn expression(&mut self, expr: &'a Expr) {
        // `await lock.acquire()`: an asyncio primitive, whose class is known but not modelled.
        if let Expr::Await(awaited) = expr {
            if let Expr::Call(call) = &*awaited.value {
                self.awaited.push(call.range());
            }
        }
        let Expr::Call(call) = expr else { return };
        let Expr::Attribute(method) = &*call.func else {
            return;
        };
        let receiver = &*method.value;
        if self.awaited.contains(&call.range())
            || !matches!(receiver, Expr::Name(_) | Expr::Attribute(_))
        {
            return;
        }
        match method.attr.id.as_str() {
            "acquire" if lock_acquire_arguments(&call.arguments) => self.acquired.push(receiver),
            "release" if call.arguments.is_empty() => self.released.push(receiver),
            _ => {}
        }
    }
}

/// The arguments `Lock.acquire` (and `Semaphore.acquire`) takes: `blocking` and `timeout`,
/// by position or keyword (`block` in `multiprocessing`).
fn lock_acquire_arguments(arguments: &Arguments) -> bool {
    arguments.args.len() <= 2
        && !arguments.args.iter().any(Expr::is_starred_expr)
        && arguments.keywords.iter().all(|keyword| {
            matches!(
                keyword.arg.as_ref().map(ast::Identifier::as_str),
                Some("blocking" | "timeout" | "block")
            )
        })
}

/// Where a callee expression means the same thing: within one class (its methods) or one
/// module-level function (with the functions nested in it).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Family {
    Class(usize),
    Function(FnId),
}

impl<'a> Lowerer<'a> {
    /// Gives the [`ObjKind::UntypedLock`] kind to the objects used as locks whose class is not
    /// known (see the module comment).
    pub(super) fn find_untyped_locks(&mut self) {
        // No `acquire` anywhere: nothing to find, and no body worth walking again.
        if !self.source.contains("acquire") {
            return;
        }
        let uses: Vec<LockUses<'a>> = (0..self.functions.len())
            .map(|index| LockUses::of(self.functions[index].body))
            .collect();
        // The receivers used with the whole protocol in one function, and the callees that
        // made them.
        let mut protocol: Vec<(FnId, &'a Expr)> = Vec::new();
        let mut producers: Vec<(Family, ComparableExpr<'a>)> = Vec::new();
        for (index, here) in uses.iter().enumerate() {
            let function = FnId(index as u32);
            for &receiver in &here.acquired {
                let comparable = ComparableExpr::from(receiver);
                if !here
                    .released
                    .iter()
                    .any(|&r| ComparableExpr::from(r) == comparable)
                    || protocol
                        .iter()
                        .any(|&(f, r)| f == function && ComparableExpr::from(r) == comparable)
                {
                    continue;
                }
                if self.typed_elsewhere(function, receiver, &here.produced) {
                    continue;
                }
                protocol.push((function, receiver));
                if let Expr::Name(name) = receiver {
                    for &(bound, callee) in &here.produced {
                        if bound == name.id.as_str() {
                            producers.push((self.family(function), ComparableExpr::from(callee)));
                        }
                    }
                }
            }
        }
        for (function, receiver) in protocol {
            self.mark_untyped_lock(function, receiver);
        }
        if producers.is_empty() {
            return;
        }
        for (index, here) in uses.iter().enumerate() {
            let function = FnId(index as u32);
            let family = self.family(function);
            for &(bound, made) in &here.produced {
                let callee = ComparableExpr::from(made);
                if producers.iter().any(|(f, c)| *f == family && *c == callee) {
                    self.mark_name(function, bound, span(made.range()));
                }
            }
        }
    }

    /// The receiver's class is known, though not as a lock: `self` (the class whose method
    /// this is), or a name bound to a call of a library's class or function (`asyncio.Lock()`,
    /// whose `acquire` is a coroutine).
    fn typed_elsewhere(&self, function: FnId, receiver: &Expr, produced: &[(&str, &Expr)]) -> bool {
        let Expr::Name(name) = receiver else {
            return false;
        };
        let name = name.id.as_str();
        Some(name) == self.self_name(function)
            || name == "cls"
            || produced
                .iter()
                .any(|&(bound, callee)| bound == name && self.qualified_name(callee).is_some())
    }

    /// The class or module-level function `function` belongs to.
    fn family(&self, function: FnId) -> Family {
        let mut current = function;
        loop {
            let info = &self.functions[current.0 as usize];
            if let Some(class) = info.class {
                return Family::Class(class);
            }
            match info.parent {
                Some(parent) if parent.0 != 0 => current = parent,
                _ => return Family::Function(current),
            }
        }
    }

    fn mark_untyped_lock(&mut self, function: FnId, receiver: &'a Expr) {
        let at = span(receiver.range());
        if let Expr::Name(name) = receiver {
            self.mark_name(function, name.id.as_str(), at);
        } else if let Some(id) = self.resolve(function, receiver) {
            self.set_kind(id, ObjKind::UntypedLock, at);
        }
    }

    /// The name `name` as read in `function`: the object it is bound to, or a new one of the
    /// function (enclosing function, module) that assigns it.
    fn mark_name(&mut self, function: FnId, name: &str, at: Span) {
        let id = if let Some(id) = self.resolve_name(function, name, TextRange::default()) {
            id
        } else {
            let mut owner = Some(function);
            while let Some(f) = owner {
                if self.functions[f.0 as usize].globals.contains(name) {
                    owner = Some(FnId(0));
                    break;
                }
                if self.assigned_in(f).contains(name) {
                    break;
                }
                owner = self.functions[f.0 as usize].parent;
            }
            let key = match owner {
                Some(f) if f.0 != 0 => ObjKey::Local {
                    function: f,
                    name: name.to_string(),
                },
                _ => ObjKey::Global(name.to_string()),
            };
            self.intern(key, name.to_string())
        };
        self.set_kind(id, ObjKind::UntypedLock, at);
    }
}
