//! Which objects escape the function that creates them: a lock, thread or executor made by a
//! constructor call in a function is private to that call until the function passes it to a
//! call, returns it, stores it (in an attribute, a container, a global) or lets a nested
//! function, lambda or class body capture it. Rules read the result as
//! [`SyncObject::escapes`](threadlint_rules::model::SyncObject::escapes).

use ruff_python_ast::visitor::{walk_expr, Visitor};
use ruff_python_ast::{ExceptHandler, Expr, Stmt};
use threadlint_rules::model::{FnId, ObjId, ObjKey, ObjKind};

use super::{Lowerer, MAX_DEPTH};

impl Lowerer<'_> {
    /// Marks every fresh object that escapes, then sets `escapes` on every object.
    pub(super) fn find_escapes(&mut self) {
        let mut escaped = Vec::new();
        for index in 1..self.functions.len() {
            if !self.may_hold_fresh(FnId(index as u32)) {
                continue;
            }
            let body = self.functions[index].body;
            let mut walker = Walker {
                lowerer: self,
                function: FnId(index as u32),
                captured: false,
                escaped: Vec::new(),
                depth: 0,
            };
            walker.stmts(body);
            escaped.extend(walker.escaped);
        }
        self.escaped.extend(escaped);
        // A thread whose code keeps the thread itself is stored by it.
        if !self.self_storing_threads.is_empty() {
            for (index, object) in self.objects.iter().enumerate() {
                if matches!(object.kind, ObjKind::Thread { .. })
                    && object
                        .def
                        .is_some_and(|def| self.self_storing_threads.contains(&def))
                {
                    self.escaped.insert(ObjId(index as u32));
                }
            }
        }
        for (index, object) in self.objects.iter_mut().enumerate() {
            let id = ObjId(index as u32);
            object.escapes = !self.fresh.contains(&id) || self.escaped.contains(&id);
        }
    }

    /// Whether `function` or a function it is nested in creates a fresh object (only those
    /// can mention one).
    fn may_hold_fresh(&self, function: FnId) -> bool {
        let mut current = Some(function);
        let mut depth = 0;
        while let Some(f) = current {
            if self.fresh_in.contains(&f) {
                return true;
            }
            depth += 1;
            if depth > MAX_DEPTH {
                return true;
            }
            current = self.functions[f.0 as usize].parent;
        }
        false
    }

    /// The fresh object a plain name denotes in `function`: a local of it or of an enclosing
    /// function (a closure variable), unless a nearer scope rebinds the name.
    /// `any_path`: also when the name is bound to another object on some path (a read of
    /// the name may read the new one).
    fn fresh_object(&self, function: FnId, name: &str, any_path: bool) -> Option<ObjId> {
        let mut current = Some(function);
        while let Some(f) = current {
            if f.0 == 0 {
                return None;
            }
            let info = &self.functions[f.0 as usize];
            if info.globals.contains(name) {
                return None;
            }
            let key = ObjKey::Local {
                function: f,
                name: name.to_string(),
            };
            // A name bound to a new object on one path (and to some other object on another)
            // hands that object on wherever it escapes.
            if let (true, Some(&id)) = (any_path, self.object_by_key.get(&key)) {
                if self.fresh.contains(&id) {
                    return Some(id);
                }
            }
            if let Some(&id) = info
                .locals
                .get(name)
                .or_else(|| self.object_by_key.get(&key))
            {
                return self.fresh.contains(&id).then_some(id);
            }
            if info.params.iter().any(|(p, _)| p == name) || self.assigned_in(f).contains(name) {
                return None;
            }
            current = info.parent;
        }
        None
    }

    /// `value` creates a new object (`threading.Lock()`, `Thread(...)`).
    fn is_constructor_call(&self, value: &Expr) -> bool {
        let Expr::Call(call) = value else {
            return false;
        };
        self.qualified_name(&call.func).is_some_and(|q| {
            super::names::constructor_kind(&q).is_some()
                || self
                    .class_by_name
                    .get(&q)
                    .is_some_and(|&c| self.is_thread_class(c, 0))
        })
    }
}

struct Walker<'l, 'a> {
    lowerer: &'l Lowerer<'a>,
    function: FnId,
    /// Inside a lambda or a class body: every mention of an outer local is a capture.
    captured: bool,
    escaped: Vec<ObjId>,
    depth: usize,
}

impl Walker<'_, '_> {
    fn stmts(&mut self, body: &[Stmt]) {
        if self.depth > MAX_DEPTH {
            return;
        }
        self.depth += 1;
        for stmt in body {
            self.stmt(stmt);
        }
        self.depth -= 1;
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Expr(s) => self.expr(&s.value, true),
            Stmt::Assign(s) => {
                // `alias = lock` keeps the same object in this function.
                let alias = matches!(&*s.value, Expr::Name(_))
                    && s.targets.iter().all(|t| self.is_local_name(t));
                self.expr(&s.value, alias);
                for target in &s.targets {
                    self.target(target, Some(&s.value));
                }
            }
            Stmt::AnnAssign(s) => {
                if let Some(value) = &s.value {
                    let alias = matches!(&**value, Expr::Name(_)) && self.is_local_name(&s.target);
                    self.expr(value, alias);
                    self.target(&s.target, Some(value));
                }
            }
            Stmt::AugAssign(s) => {
                self.expr(&s.value, false);
                self.expr(&s.target, true);
            }
            Stmt::Return(s) => {
                if let Some(value) = &s.value {
                    self.expr(value, false);
                }
            }
            Stmt::Raise(s) => {
                for e in s.exc.iter().chain(s.cause.iter()) {
                    self.expr(e, false);
                }
            }
            Stmt::Assert(s) => {
                self.expr(&s.test, true);
                if let Some(msg) = &s.msg {
                    self.expr(msg, false);
                }
            }
            Stmt::Delete(s) => s.targets.iter().for_each(|t| self.expr(t, true)),
            Stmt::If(s) => {
                self.expr(&s.test, true);
                self.stmts(&s.body);
                for clause in &s.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.expr(test, true);
                    }
                    self.stmts(&clause.body);
                }
            }
            Stmt::While(s) => {
                self.expr(&s.test, true);
                self.stmts(&s.body);
                self.stmts(&s.orelse);
            }
            Stmt::For(s) => {
                self.expr(&s.iter, false);
                self.target(&s.target, None);
                self.stmts(&s.body);
                self.stmts(&s.orelse);
            }
            Stmt::With(s) => {
                for item in &s.items {
                    self.expr(&item.context_expr, true);
                    if let Some(target) = &item.optional_vars {
                        self.target(target, Some(&item.context_expr));
                    }
                }
                self.stmts(&s.body);
            }
            Stmt::Try(s) => {
                self.stmts(&s.body);
                for ExceptHandler::ExceptHandler(handler) in &s.handlers {
                    if let Some(kind) = &handler.type_ {
                        self.expr(kind, true);
                    }
                    self.stmts(&handler.body);
                }
                self.stmts(&s.orelse);
                self.stmts(&s.finalbody);
            }
            Stmt::Match(s) => {
                self.expr(&s.subject, true);
                for case in &s.cases {
                    if let Some(guard) = &case.guard {
                        self.expr(guard, true);
                    }
                    self.stmts(&case.body);
                }
            }
            // A nested function's body is a function of its own; what it evaluates here are
            // its decorators and default values, which it keeps.
            Stmt::FunctionDef(def) => {
                for decorator in &def.decorator_list {
                    self.expr(&decorator.expression, false);
                }
                for parameter in def.parameters.iter_non_variadic_params() {
                    if let Some(default) = parameter.default() {
                        self.expr(default, false);
                    }
                }
            }
            Stmt::ClassDef(def) => {
                for decorator in &def.decorator_list {
                    self.expr(&decorator.expression, false);
                }
                if let Some(arguments) = &def.arguments {
                    arguments.args.iter().for_each(|a| self.expr(a, false));
                    arguments
                        .keywords
                        .iter()
                        .for_each(|k| self.expr(&k.value, false));
                }
                let captured = std::mem::replace(&mut self.captured, true);
                self.stmts(&def.body);
                self.captured = captured;
            }
            Stmt::Global(_)
            | Stmt::Nonlocal(_)
            | Stmt::Pass(_)
            | Stmt::Break(_)
            | Stmt::Continue(_)
            | Stmt::Import(_)
            | Stmt::ImportFrom(_)
            | Stmt::TypeAlias(_)
            | Stmt::IpyEscapeCommand(_) => {}
        }
    }

    /// A name bound in this function (not declared `global`/`nonlocal`).
    fn is_local_name(&self, target: &Expr) -> bool {
        let Expr::Name(name) = target else {
            return false;
        };
        self.function.0 != 0
            && !self.lowerer.functions[self.function.0 as usize]
                .globals
                .contains(name.id.as_str())
    }

    /// An assignment target. A fresh object's name bound to something else (`lock = other`)
    /// no longer denotes one object: it is not private any more.
    fn target(&mut self, target: &Expr, value: Option<&Expr>) {
        match target {
            Expr::Name(name) => {
                let Some(id) = self
                    .lowerer
                    .fresh_object(self.function, name.id.as_str(), false)
                else {
                    return;
                };
                let same = match value {
                    Some(Expr::Name(source)) => {
                        self.lowerer
                            .fresh_object(self.function, source.id.as_str(), false)
                            == Some(id)
                    }
                    Some(value) => self.lowerer.is_constructor_call(value),
                    None => false,
                };
                if !same || self.captured {
                    self.escaped.push(id);
                }
            }
            Expr::Tuple(t) => t.elts.iter().for_each(|e| self.target(e, None)),
            Expr::List(l) => l.elts.iter().for_each(|e| self.target(e, None)),
            Expr::Starred(s) => self.target(&s.value, None),
            other => self.expr(other, true),
        }
    }

    /// Walks an expression; `benign`: its value is only used in place (a method receiver, a
    /// `with` item, a test), so a fresh object there stays private.
    fn expr(&mut self, expr: &Expr, benign: bool) {
        if self.depth > MAX_DEPTH {
            return;
        }
        self.depth += 1;
        match expr {
            Expr::Name(name) => {
                if let Some(id) = self
                    .lowerer
                    .fresh_object(self.function, name.id.as_str(), true)
                {
                    let owner = match &self.lowerer.objects[id.0 as usize].key {
                        ObjKey::Local { function, .. } => Some(*function),
                        _ => None,
                    };
                    if !benign || self.captured || owner != Some(self.function) {
                        self.escaped.push(id);
                    }
                }
            }
            // `lock.acquire()` uses the object in place; `cleanup(thread.join)` hands out a
            // bound method, and the object with it.
            Expr::Attribute(attr) => self.expr(&attr.value, benign),
            Expr::Call(call) => {
                self.expr(&call.func, true);
                call.arguments.args.iter().for_each(|a| self.expr(a, false));
                call.arguments
                    .keywords
                    .iter()
                    .for_each(|k| self.expr(&k.value, false));
            }
            Expr::Compare(compare) => {
                self.expr(&compare.left, true);
                compare.comparators.iter().for_each(|c| self.expr(c, true));
            }
            Expr::UnaryOp(unary) => self.expr(&unary.operand, true),
            Expr::Lambda(lambda) => {
                if let Some(parameters) = &lambda.parameters {
                    for parameter in parameters.iter_non_variadic_params() {
                        if let Some(default) = parameter.default() {
                            self.expr(default, false);
                        }
                    }
                }
                let captured = std::mem::replace(&mut self.captured, true);
                self.expr(&lambda.body, false);
                self.captured = captured;
            }
            _ => walk_expr(self, expr),
        }
        self.depth -= 1;
    }
}

impl<'e> Visitor<'e> for Walker<'_, '_> {
    fn visit_expr(&mut self, expr: &'e Expr) {
        self.expr(expr, false);
    }
    // Statements inside expressions do not exist in Python; nothing else to override.
    fn visit_stmt(&mut self, _: &'e Stmt) {}
}
