//! Futures whose outcome nobody looks at (TL016): the loop variable of
//! `for f in as_completed(fs):` when the body never asks it for its result or exception and
//! never hands it on.

use ruff_python_ast::visitor::walk_stmt;

use super::*;

impl<'a> Lowerer<'a> {
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
