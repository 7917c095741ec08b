//! What `except` handlers catch: the "not yet" of a non-blocking take from shared state
//! (`try: item = q.get_nowait()` / `except queue.Empty:`), which makes the handler the arm of a
//! test of that state, not the failure of the pass's own attempt ([`ExceptInfo::not_yet`]);
//! and every exception a function could raise (a task that logs its own failures).

use threadlint_rules::model::ExceptInfo;

use super::*;

/// What a take raises when there is nothing to take yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NotYet {
    /// `queue.Empty`: `get_nowait()`, `get(block=False)`.
    Empty,
    /// `queue.Full`: `put_nowait(x)`, `put(x, block=False)`.
    Full,
    /// `KeyError` or `IndexError`: a lookup or a pop of an item of a container.
    Lookup,
}

impl Lowerer<'_> {
    /// What the handler catches, given the body of its `try`.
    pub(super) fn except_info(
        &mut self,
        function: FnId,
        body: &[Stmt],
        handler: &ast::ExceptHandlerExceptHandler,
    ) -> ExceptInfo {
        let mut info = ExceptInfo::default();
        let mut takes = Vec::new();
        collect_takes(body, &mut takes, 0);
        for value in takes {
            let Some((raises, condition)) = self.take(function, value) else {
                continue;
            };
            if self.catches(handler.type_.as_deref(), Some(raises)) {
                info.not_yet = Some(condition);
                break;
            }
        }
        info
    }

    /// A non-blocking take from shared state: what it raises when there is nothing yet, and
    /// the state it reads.
    fn take(&mut self, function: FnId, value: &Expr) -> Option<(NotYet, Condition)> {
        let whole = Some(span(value.range()));
        match value {
            Expr::Call(call) => {
                let Expr::Attribute(method) = &*call.func else {
                    return None;
                };
                let name = method.attr.id.as_str();
                let queue = self.resolve(function, &method.value).filter(|obj| {
                    matches!(self.objects[obj.0 as usize].kind, ObjKind::Queue { .. })
                });
                if let Some(obj) = queue {
                    // `get(False)`, `put(x, False)`, or `block=False`.
                    let non_blocking = |position: usize| {
                        call.arguments
                            .find_argument_value("block", position)
                            .is_some_and(|v| matches!(v, Expr::BooleanLiteral(b) if !b.value))
                    };
                    let raises = match name {
                        "get_nowait" => NotYet::Empty,
                        "get" if non_blocking(0) => NotYet::Empty,
                        "put_nowait" => NotYet::Full,
                        "put" if non_blocking(1) => NotYet::Full,
                        _ => return None,
                    };
                    let condition = Condition {
                        reads: vec![Read::Query {
                            obj,
                            method: name.to_string(),
                        }],
                        span: whole,
                    };
                    return Some((raises, condition));
                }
                // `self.pending.pop(key)`, `self.ready.popleft()`: an item of a container.
                if !matches!(name, "pop" | "popleft" | "popitem") {
                    return None;
                }
                let condition = self.shared_state(function, &method.value)?;
                Some((NotYet::Lookup, condition))
            }
            Expr::Subscript(subscript) => {
                let condition = self.shared_state(function, &subscript.value)?;
                Some((NotYet::Lookup, condition))
            }
            _ => None,
        }
    }

    /// A container that other threads can reach (an attribute, a global), as a condition that
    /// reads it.
    fn shared_state(&mut self, function: FnId, container: &Expr) -> Option<Condition> {
        if !matches!(container, Expr::Attribute(_) | Expr::Name(_)) {
            return None;
        }
        let mut reads = Vec::new();
        self.condition_reads(function, container, &mut reads, 0);
        (!reads.is_empty() && reads.iter().all(|read| matches!(read, Read::Shared(_)))).then(|| {
            Condition {
                reads,
                span: Some(span(container.range())),
            }
        })
    }

    /// The handler's types catch what the take raises (`None`: any exception): the exception
    /// itself, a base class of it (`LookupError`, `Exception`), or everything (a bare
    /// `except:`).
    fn catches(&self, types: Option<&Expr>, raises: Option<NotYet>) -> bool {
        let Some(types) = types else {
            return true;
        };
        let one = |expr: &Expr| {
            let Some(name) = self.exception_name(expr) else {
                return false;
            };
            let caught = match name.as_str() {
                "Exception" | "BaseException" => return true,
                "queue.Empty" | "multiprocessing.queues.Empty" => NotYet::Empty,
                "queue.Full" | "multiprocessing.queues.Full" => NotYet::Full,
                "KeyError" | "IndexError" | "LookupError" => NotYet::Lookup,
                _ => return false,
            };
            raises == Some(caught)
        };
        match types {
            Expr::Tuple(tuple) => tuple.elts.iter().any(one),
            expr => one(expr),
        }
    }

    /// The function handles its own failures: its work is in a `try` whose handler catches
    /// `Exception` (or a base, or everything) and raises nothing, beside simple statements
    /// (assignments, calls, `if`s that raise nothing: the logging and unpacking around it), or
    /// it only calls functions of the file that do. A task that does so logs its own
    /// failures: its future never holds one.
    pub(super) fn catches_everything(&self, function: FnId, depth: usize) -> bool {
        if depth > 3 {
            return false;
        }
        let body = super::syntax::after_docstring(self.functions[function.0 as usize].body);
        let guarded = body.iter().find_map(|stmt| match stmt {
            Stmt::Try(try_stmt) => Some(try_stmt),
            _ => None,
        });
        let simple = |stmt: &Stmt| {
            matches!(
                stmt,
                Stmt::Assign(_)
                    | Stmt::AnnAssign(_)
                    | Stmt::Expr(_)
                    | Stmt::If(_)
                    | Stmt::Return(_)
                    | Stmt::Pass(_)
            ) && !raises(stmt)
        };
        let beside = |try_stmt: &ast::StmtTry| {
            body.iter().all(|stmt| match stmt {
                Stmt::Try(other) => std::ptr::eq(other, try_stmt),
                stmt => simple(stmt),
            })
        };
        match guarded {
            Some(try_stmt) if beside(try_stmt) => {
                !try_stmt.finalbody.iter().any(raises)
                    && try_stmt.handlers.iter().any(|handler| {
                        let ExceptHandler::ExceptHandler(handler) = handler;
                        self.catches(handler.type_.as_deref(), None)
                            && !handler.body.iter().any(raises)
                    })
                    && try_stmt.orelse.is_empty()
            }
            Some(_) => false,
            None if body.is_empty() => false,
            None => body.iter().all(|stmt| {
                let Stmt::Expr(ast::StmtExpr { value, .. }) = stmt else {
                    return false;
                };
                let Expr::Call(call) = &**value else {
                    return false;
                };
                self.resolve_function(function, &call.func)
                    .is_some_and(|callee| {
                        callee != function && self.catches_everything(callee, depth + 1)
                    })
            }),
        }
    }

    /// The absolute name of an exception class: as imported (`queue.Empty`, `Empty` from
    /// `queue`), or a builtin that the module does not redefine (`KeyError`).
    fn exception_name(&self, expr: &Expr) -> Option<String> {
        if let Some(name) = self.qualified_name(expr) {
            return Some(name);
        }
        let Expr::Name(name) = expr else {
            return None;
        };
        let id = name.id.as_str();
        let defined = self.module_functions.contains_key(id)
            || self.class_by_name.contains_key(id)
            || self.assigned_in(FnId(0)).contains(id);
        (!defined).then(|| id.to_string())
    }
}

/// The values of the statements a `try` body runs on every pass, in order, `with` blocks
/// included: `item = q.get_nowait()`, `return self.pending.pop(k)`.
fn collect_takes<'a>(body: &'a [Stmt], out: &mut Vec<&'a Expr>, depth: usize) {
    if depth > 8 {
        return;
    }
    for stmt in body {
        match stmt {
            Stmt::Expr(s) => out.push(&s.value),
            Stmt::Assign(s) => out.push(&s.value),
            Stmt::AnnAssign(ast::StmtAnnAssign {
                value: Some(value), ..
            }) => out.push(value),
            Stmt::Return(ast::StmtReturn {
                value: Some(value), ..
            }) => out.push(value),
            Stmt::With(with) if !with.is_async => collect_takes(&with.body, out, depth + 1),
            _ => {}
        }
    }
}

/// The statement raises, or holds a `raise` (nested functions and classes left out).
fn raises(stmt: &Stmt) -> bool {
    let mut found = false;
    walk_own_body(std::slice::from_ref(stmt), |visited| {
        found |= matches!(visited, Visited::Stmt(Stmt::Raise(_)));
    });
    found
}
