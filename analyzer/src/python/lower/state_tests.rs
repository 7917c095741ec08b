//! The tests of shared state a condition makes (`q.empty()`, `lock.locked()`, `key in d`), as
//! [`EventKind::StateTest`] events, for the check-then-act rule (TL015).

use ruff_python_ast::CmpOp;

use super::*;
use threadlint_rules::model::StateTestKind;

impl Lowerer<'_> {
    /// Pushes a `StateTest` for each test of a known object's state in `test`, the condition
    /// of a branch or a loop.
    pub(super) fn lower_state_tests(&mut self, function: FnId, test: &Expr, out: &mut Vec<Node>) {
        self.state_tests(function, test, out, 0);
    }

    fn state_tests(&mut self, function: FnId, expr: &Expr, out: &mut Vec<Node>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match expr {
            Expr::BoolOp(op) => {
                for value in &op.values {
                    self.state_tests(function, value, out, depth + 1);
                }
            }
            Expr::UnaryOp(op) => self.state_tests(function, &op.operand, out, depth + 1),
            Expr::Named(named) => self.state_tests(function, &named.value, out, depth + 1),
            Expr::Compare(cmp) => {
                self.state_tests(function, &cmp.left, out, depth + 1);
                let mut left = &*cmp.left;
                for (op, right) in cmp.ops.iter().zip(cmp.comparators.iter()) {
                    if matches!(op, CmpOp::In | CmpOp::NotIn) {
                        if let Some(obj) = self.shared_container(function, right) {
                            let key = self.item_key(left);
                            self.push_state_test(
                                obj,
                                StateTestKind::Contains,
                                Some(key),
                                cmp.range(),
                                out,
                            );
                        }
                    } else {
                        self.state_tests(function, right, out, depth + 1);
                    }
                    left = right;
                }
            }
            Expr::Call(call) => {
                let Expr::Attribute(method) = &*call.func else {
                    return;
                };
                let Some(obj) = self.resolve(function, &method.value) else {
                    return;
                };
                let kind = self.objects[obj.0 as usize].kind;
                let test = match (kind, method.attr.id.as_str()) {
                    (ObjKind::Queue { .. }, "empty" | "qsize" | "full") => StateTestKind::QueueSize,
                    (kind, "locked") if kind.is_lock_like() => StateTestKind::Locked,
                    _ => return,
                };
                self.push_state_test(obj, test, None, call.range(), out);
            }
            _ => {}
        }
    }

    fn push_state_test(
        &mut self,
        obj: ObjId,
        test: StateTestKind,
        key: Option<String>,
        range: TextRange,
        out: &mut Vec<Node>,
    ) {
        out.push(Node::Event(Event {
            kind: EventKind::StateTest { obj, test, key },
            span: span(range),
            statement: None,
        }));
    }

    /// A container other threads can reach, as [`Lowerer::lower_write`] sees an item write's
    /// container: a module global, or an attribute of `self`. The same object an item write
    /// into it names.
    pub(super) fn shared_container(&mut self, function: FnId, expr: &Expr) -> Option<ObjId> {
        if function.0 == 0 {
            return None;
        }
        let shared = match expr {
            Expr::Name(name) => {
                let info = &self.functions[function.0 as usize];
                info.globals.contains(name.id.as_str())
                    || self.is_module_global(function, name.id.as_str())
            }
            Expr::Attribute(_) => {
                attribute_path(expr).is_some_and(|(root, _)| Some(root) == self.self_name(function))
            }
            _ => false,
        };
        if !shared {
            return None;
        }
        self.written_object(function, expr)
    }
}
