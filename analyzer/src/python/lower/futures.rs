//! Futures whose outcome nobody looks at (TL016): the loop variable of
//! `for f in as_completed(fs):` when the body never asks it for its result or exception and
//! never hands it on. And futures known to be done where their result is asked for.

use ruff_python_ast::visitor::walk_stmt;

use super::*;

impl<'a> Lowerer<'a> {
    /// The functions of this file handed to a future's `add_done_callback`, as a decorator
    /// (`@future.add_done_callback`) or an argument (`future.add_done_callback(on_done)`,
    /// `pool.submit(task).add_done_callback(self._on_done)`): each runs once its future is
    /// done, and gets that future. The receiver must be a future (or a submit's result); an
    /// `add_done_callback` of anything else registers nothing known.
    pub(super) fn find_done_callbacks(&mut self) {
        let registered = |expr: &'a Expr| match expr {
            Expr::Attribute(a) if a.attr.id.as_str() == "add_done_callback" => Some(&*a.value),
            _ => None,
        };
        // (callback, the function the registration is written in, the receiver).
        let mut candidates: Vec<(FnId, FnId, &'a Expr)> = Vec::new();
        for (index, info) in self.functions.iter().enumerate() {
            let function = FnId(index as u32);
            if let Some(def) = info.def {
                for decorator in &def.decorator_list {
                    if let Some(receiver) = registered(&decorator.expression) {
                        candidates.push((function, info.parent.unwrap_or(FnId(0)), receiver));
                    }
                }
            }
            walk_own_body(info.body, |visited| {
                let Visited::Expr(Expr::Call(call)) = visited else {
                    return;
                };
                let Some(receiver) = registered(&call.func) else {
                    return;
                };
                let callback = match call.arguments.find_positional(0) {
                    Some(Expr::Name(name)) => self
                        .nested_functions
                        .get(&(function, name.id.to_string()))
                        .or_else(|| self.module_functions.get(name.id.as_str()))
                        .copied(),
                    Some(Expr::Attribute(method)) if matches!(&*method.value, Expr::Name(n) if Some(n.id.as_str()) == self.self_name(function)) => {
                        info.class
                            .and_then(|class| {
                                self.classes[class].methods.get(method.attr.id.as_str())
                            })
                            .copied()
                    }
                    _ => None,
                };
                if let Some(callback) = callback {
                    candidates.push((callback, function, receiver));
                }
            });
        }
        for (callback, function, receiver) in candidates {
            let future = match receiver {
                Expr::Call(call) => self.submits_to_pool(function, call),
                receiver => self
                    .resolve(function, receiver)
                    .is_some_and(|obj| self.objects[obj.0 as usize].kind == ObjKind::Future),
            };
            if future {
                self.done_callbacks.insert(callback);
            }
        }
    }

    /// A statement of a coroutine that awaits a call given a future (`await
    /// asyncio.wrap_future(f)`, `await asyncio.wait([f])`, `await shield(wait_for(f))`):
    /// once it returns, the future is done, and its `result()` returns at once, until the
    /// name is bound again (`self._request = Future()`).
    pub(super) fn note_awaited_futures(&mut self, function: FnId, value: &Expr) {
        if !self.functions[function.0 as usize]
            .def
            .is_some_and(|def| def.is_async)
        {
            return;
        }
        let Expr::Await(awaited) = value else {
            return;
        };
        let mut given = Vec::new();
        collect_arguments(&awaited.value, &mut given, 0);
        for argument in given {
            if let Some(obj) = self.resolve(function, argument) {
                if self.objects[obj.0 as usize].kind == ObjKind::Future {
                    self.awaited_futures.insert((function, obj));
                }
            }
        }
    }

    /// `target` is bound again: a future it held is no longer known to be done.
    pub(super) fn forget_awaited_future(&mut self, function: FnId, target: &Expr) {
        if self.awaited_futures.is_empty() {
            return;
        }
        if let Some(obj) = self.resolve(function, target) {
            self.awaited_futures.remove(&(function, obj));
        }
    }

    /// Whether the future `obj` is known to be done where `function` uses it: finished
    /// earlier ([`Self::done_futures`]), awaited earlier in the coroutine
    /// ([`Self::note_awaited_futures`]), or the future a done callback is given.
    pub(super) fn is_done(&self, function: FnId, obj: ObjId) -> bool {
        if self.done_futures.contains(&obj) || self.awaited_futures.contains(&(function, obj)) {
            return true;
        }
        let ObjKey::Param {
            function,
            index,
            path,
        } = &self.objects[obj.0 as usize].key
        else {
            return false;
        };
        let first = u32::from(self.self_name(*function).is_some());
        path.is_empty() && *index == first && self.done_callbacks.contains(function)
    }

    /// `a is b` (or `b is a`) where `a` is a future known to be done: `b`, which is then the
    /// same future, in the branch the test guards.
    pub(super) fn same_as_done(&mut self, function: FnId, test: &'a Expr) -> Option<ObjId> {
        let Expr::Compare(compare) = test else {
            return None;
        };
        let ([ast::CmpOp::Is], [right]) = (&*compare.ops, &*compare.comparators) else {
            return None;
        };
        let left = self.resolve(function, &compare.left)?;
        let right = self.resolve(function, right)?;
        let future = |id: ObjId| self.objects[id.0 as usize].kind == ObjKind::Future;
        match (self.is_done(function, left), self.is_done(function, right)) {
            (true, false) if future(right) => Some(right),
            (false, true) if future(left) => Some(left),
            _ => None,
        }
    }

    /// Before the loop `for_stmt`: an [`EventKind::UncheckedFuture`] when it iterates
    /// `as_completed(...)` and its body leaves each future unchecked.
    pub(super) fn lower_unchecked_futures(
        &mut self,
        function: FnId,
        for_stmt: &'a ast::StmtFor,
        out: &mut Vec<Node>,
    ) {
        let (Expr::Call(call), Expr::Name(target)) = (&*for_stmt.iter, &*for_stmt.target) else {
            return;
        };
        if self.qualified_name(&call.func).as_deref() != Some("concurrent.futures.as_completed") {
            return;
        }
        let mut uses = FutureUses {
            name: target.id.as_str(),
            observed: false,
            depth: 0,
        };
        for stmt in &for_stmt.body {
            uses.visit_stmt(stmt);
        }
        if uses.observed || uses.depth > MAX_DEPTH {
            return;
        }
        let future = self.resolve(function, &for_stmt.target);
        out.push(Node::Event(Event {
            kind: EventKind::UncheckedFuture {
                executor: None,
                future,
            },
            span: span(call.range()),
            statement: None,
        }));
    }
}

/// Whether a loop body looks at the future bound to `name`: any use except a state query
/// (`f.done()`, `f.cancelled()`, `f.running()`) and a lookup keyed by it (`pending[f]`). Asking
/// for the result or exception, adding a done-callback, passing it to a call, storing,
/// returning or yielding it all count.
struct FutureUses<'n> {
    name: &'n str,
    observed: bool,
    depth: usize,
}

impl FutureUses<'_> {
    fn is_future(&self, expr: &Expr) -> bool {
        matches!(expr, Expr::Name(n) if n.id.as_str() == self.name)
    }
}

impl<'a> Visitor<'a> for FutureUses<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.observed || self.depth > MAX_DEPTH {
            return;
        }
        self.depth += 1;
        walk_stmt(self, stmt);
        self.depth -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.observed || self.depth > MAX_DEPTH {
            return;
        }
        match expr {
            Expr::Attribute(attr)
                if self.is_future(&attr.value)
                    && matches!(attr.attr.id.as_str(), "done" | "cancelled" | "running") => {}
            Expr::Subscript(sub) if self.is_future(&sub.slice) => {
                self.depth += 1;
                self.visit_expr(&sub.value);
                self.depth -= 1;
            }
            Expr::Name(_) if self.is_future(expr) => self.observed = true,
            _ => {
                self.depth += 1;
                walk_expr(self, expr);
                self.depth -= 1;
            }
        }
    }
}

/// The arguments of a call and of the calls and containers among them (`wait_for(f)` in
/// `shield(wait_for(f))`, `f` in `wait([f])`), 8 levels deep.
fn collect_arguments<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>, depth: usize) {
    if depth > 8 {
        return;
    }
    match expr {
        Expr::Call(call) => {
            for argument in &call.arguments.args {
                out.push(argument);
                collect_arguments(argument, out, depth + 1);
            }
        }
        Expr::List(list) => list.elts.iter().for_each(|e| {
            out.push(e);
            collect_arguments(e, out, depth + 1);
        }),
        Expr::Tuple(tuple) => tuple.elts.iter().for_each(|e| {
            out.push(e);
            collect_arguments(e, out, depth + 1);
        }),
        _ => {}
    }
}
