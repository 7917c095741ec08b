//! Guard liveness as the compiler sees it: acquisitions leave a temporary guard that dies at the
//! end of its temporary scope unless a binding takes it, bound guards die at the end of their
//! block, and `drop`, `mem::forget` or a call that takes the guard by value end them earlier.

use syn::Expr;
use threadlint_rules::model::{AcquireHow, Event, EventKind, Node, ObjId, Span};

use super::syntax::single_ident;
use super::values::{TempRef, Ty, Value};
use super::Lowerer;

pub(super) struct Temp {
    pub(super) obj: ObjId,
    pub(super) span: Span,
    pub(super) done: bool,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct GuardState {
    pub(super) obj: ObjId,
    /// The binding's block does not release it by itself (an `if let` guard, a `try_lock`).
    pub(super) release_at_end: bool,
    pub(super) released: bool,
}

#[derive(Clone, Debug)]
pub(super) struct Binding {
    pub(super) name: String,
    pub(super) value: Value,
    pub(super) guard: Option<GuardState>,
    /// A `let` of shared state alone (`let ready = READY.load(o);`): what a condition that
    /// tests the name reads.
    pub(super) tests: Option<Vec<threadlint_rules::model::Read>>,
}

#[derive(Default)]
pub(super) struct Frame {
    pub(super) bindings: Vec<Binding>,
}

impl Lowerer<'_> {
    /// Emits an acquisition whose guard is a temporary until something binds it.
    pub(super) fn acquire(
        &mut self,
        out: &mut Vec<Node>,
        obj: ObjId,
        (how, shared): (AcquireHow, bool),
        span: Span,
        receiver: Span,
    ) -> TempRef {
        self.push(
            out,
            EventKind::Acquire {
                obj,
                how,
                receiver,
                shared,
            },
            span,
        );
        let id = self.temps.len();
        self.temps.push(Temp {
            obj,
            span,
            done: false,
        });
        if let Some(scope) = self.temp_scopes.last_mut() {
            scope.push(id);
        }
        TempRef {
            id,
            direct: true,
            borrowed: false,
        }
    }

    /// Ends the innermost temporary scope: its unbound guards are dropped here.
    pub(super) fn end_temps(&mut self, out: &mut Vec<Node>, at: u32) {
        let Some(scope) = self.temp_scopes.pop() else {
            return;
        };
        for id in scope.into_iter().rev() {
            let temp = &mut self.temps[id];
            if !temp.done {
                temp.done = true;
                let obj = temp.obj;
                self.push(out, EventKind::Release { obj }, Span::new(at, at));
            }
        }
    }

    pub(super) fn push_frame(&mut self) {
        self.frames.push(Frame::default());
    }

    /// Ends the innermost block: guards it must release by hand are released.
    pub(super) fn pop_frame(&mut self, out: &mut Vec<Node>, at: u32) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        for binding in frame.bindings.iter().rev() {
            if let Some(guard) = binding.guard {
                if guard.release_at_end && !guard.released {
                    self.push(
                        out,
                        EventKind::Release { obj: guard.obj },
                        Span::new(at, at),
                    );
                }
            }
        }
    }

    pub(super) fn lookup(&self, name: &str) -> Option<&Binding> {
        self.frames
            .iter()
            .rev()
            .flat_map(|frame| frame.bindings.iter().rev())
            .find(|binding| binding.name == name)
    }

    pub(super) fn lookup_mut(&mut self, name: &str) -> Option<&mut Binding> {
        self.frames
            .iter_mut()
            .rev()
            .flat_map(|frame| frame.bindings.iter_mut().rev())
            .find(|binding| binding.name == name)
    }

    /// A temporary guard gets a name: it lives to the end of the binding's block now.
    pub(super) fn bind_temp(
        &mut self,
        temp: TempRef,
        out: &mut [Node],
        release_at_end: bool,
    ) -> GuardState {
        let record = &mut self.temps[temp.id];
        record.done = true;
        let (obj, span) = (record.obj, record.span);
        let mut how = AcquireHow::Scoped;
        for node in out.iter_mut().rev() {
            if let Node::Event(Event {
                kind: EventKind::Acquire { obj: o, how: h, .. },
                span: s,
                ..
            }) = node
            {
                if *o == obj && *s == span {
                    if *h == AcquireHow::Temporary {
                        *h = AcquireHow::Scoped;
                    }
                    how = *h;
                    break;
                }
            }
        }
        GuardState {
            obj,
            release_at_end: release_at_end || how != AcquireHow::Scoped,
            released: false,
        }
    }

    pub(super) fn snapshot(&self) -> Vec<Binding> {
        self.frames
            .iter()
            .flat_map(|frame| frame.bindings.iter())
            .map(|binding| Binding {
                name: binding.name.clone(),
                value: binding.value.settled(),
                guard: None,
                tests: binding.tests.clone(),
            })
            .collect()
    }

    /// Guards passed by value to a function of this file are the callee's now: it decides
    /// when they are dropped, so the caller no longer holds them around the call.
    pub(super) fn hand_over<'e>(
        &mut self,
        exprs: impl Iterator<Item = &'e Expr>,
        values: &[Value],
        out: &mut Vec<Node>,
    ) {
        for (expr, value) in exprs.zip(values) {
            let span = self.expr_span(expr);
            if let Some(temp) = value.temp.filter(|t| t.direct && !t.borrowed) {
                let record = &mut self.temps[temp.id];
                if !record.done {
                    record.done = true;
                    let obj = record.obj;
                    self.push(out, EventKind::Release { obj }, span);
                }
                continue;
            }
            let Expr::Path(_) = expr else { continue };
            let Some(name) = single_ident(expr) else {
                continue;
            };
            let released = self.lookup_mut(&name).and_then(|binding| {
                let guard = binding.guard.as_mut().filter(|g| !g.released)?;
                guard.released = true;
                Some(guard.obj)
            });
            if let Some(obj) = released {
                self.push(out, EventKind::Release { obj }, span);
            }
        }
    }

    /// `drop(guard)` releases; `mem::forget(guard)` leaks the lock.
    pub(super) fn end_guard(
        &mut self,
        value: &Value,
        arg: Option<&Expr>,
        leak: bool,
        span: Span,
        out: &mut Vec<Node>,
    ) {
        let obj = if let Some(temp) = value.temp.filter(|t| t.direct) {
            let record = &mut self.temps[temp.id];
            if record.done {
                return;
            }
            record.done = true;
            Some(record.obj)
        } else {
            let name = arg.and_then(single_ident);
            let from_binding =
                name.as_deref()
                    .and_then(|n| self.lookup_mut(n))
                    .and_then(|binding| {
                        let guard = binding.guard.as_mut()?;
                        if guard.released {
                            return None;
                        }
                        guard.released = true;
                        Some(guard.obj)
                    });
            from_binding.or(match value.ty {
                Ty::Guard(Some(obj), _) => Some(obj),
                _ => None,
            })
        };
        if let Some(obj) = obj {
            let kind = if leak {
                EventKind::GuardLeak { obj }
            } else {
                EventKind::Release { obj }
            };
            self.push(out, kind, span);
        }
    }
}

/// Methods that take a shared (read) guard of a readers-writer lock.
pub(super) fn is_shared_guard(method: &str) -> bool {
    method.contains("read")
}
