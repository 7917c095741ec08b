//! Syntax helpers over the AST: attribute paths, child bodies, exits, assigned names.

use super::*;

/// Reduces a kind to what an unknown receiver with that attribute name can be assumed to be.
pub(super) fn generic_kind(kind: ObjKind) -> ObjKind {
    match kind {
        // The lock a condition shares is known only through the defining class.
        ObjKind::Condition { .. } => ObjKind::Condition { lock: None },
        other => other,
    }
}

/// `a.b.c` -> `("a", ["b", "c"])`.
pub(super) fn attribute_path(expr: &Expr) -> Option<(&str, Vec<&str>)> {
    let mut path = Vec::new();
    let mut current = expr;
    loop {
        match current {
            Expr::Attribute(attr) => {
                path.push(attr.attr.id.as_str());
                current = &attr.value;
            }
            Expr::Name(name) => {
                path.reverse();
                return Some((name.id.as_str(), path));
            }
            _ => return None,
        }
    }
}

/// The statement bodies nested in a compound statement (not function or class bodies).
pub(super) fn child_bodies(stmt: &Stmt) -> Vec<&[Stmt]> {
    match stmt {
        Stmt::If(s) => {
            let mut bodies = vec![&s.body[..]];
            bodies.extend(s.elif_else_clauses.iter().map(|c| &c.body[..]));
            bodies
        }
        Stmt::While(s) => vec![&s.body[..], &s.orelse[..]],
        Stmt::For(s) => vec![&s.body[..], &s.orelse[..]],
        Stmt::With(s) => vec![&s.body[..]],
        Stmt::Try(s) => {
            let mut bodies = vec![&s.body[..]];
            bodies.extend(
                s.handlers
                    .iter()
                    .map(|ExceptHandler::ExceptHandler(h)| &h.body[..]),
            );
            bodies.push(&s.orelse[..]);
            bodies.push(&s.finalbody[..]);
            bodies
        }
        Stmt::Match(s) => s.cases.iter().map(|c| &c.body[..]).collect(),
        _ => Vec::new(),
    }
}

pub(super) fn is_constant_true(expr: &Expr) -> bool {
    match expr {
        Expr::BooleanLiteral(b) => b.value,
        Expr::NumberLiteral(n) => matches!(&n.value, Number::Int(i) if i.as_u64() != Some(0)),
        _ => false,
    }
}

pub(super) fn is_false_literal(expr: &Expr) -> bool {
    match expr {
        Expr::BooleanLiteral(b) => !b.value,
        Expr::NumberLiteral(n) => matches!(&n.value, Number::Int(i) if i.as_u64() == Some(0)),
        _ => false,
    }
}

/// The value of every `return` of a body (`None` for a bare `return`), not descending into
/// nested functions or classes.
pub(super) fn collect_returns<'a>(body: &'a [Stmt], out: &mut Vec<Option<&'a Expr>>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for stmt in body {
        match stmt {
            Stmt::Return(ret) => out.push(ret.value.as_deref()),
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            other => {
                for child in child_bodies(other) {
                    collect_returns(child, out, depth + 1);
                }
            }
        }
    }
}

pub(super) fn exit(kind: ExitKind, range: TextRange) -> Node {
    Node::Event(Event {
        kind: EventKind::Exit(kind),
        span: span(range),
        statement: Some(span(range)),
    })
}

/// How a suite ends, when its last statement leaves the enclosing block.
pub(super) fn exits(body: &[Stmt]) -> Option<ExitKind> {
    body.iter().find_map(|stmt| match stmt {
        Stmt::Break(_) => Some(ExitKind::Break),
        Stmt::Continue(_) => Some(ExitKind::Continue),
        Stmt::Return(_) => Some(ExitKind::Return),
        Stmt::Raise(_) => Some(ExitKind::Raise),
        _ => None,
    })
}

pub(super) fn suite_range(suite: &[Stmt], fallback: TextRange) -> TextRange {
    match (suite.first(), suite.last()) {
        (Some(first), Some(last)) => TextRange::new(first.range().start(), last.range().end()),
        _ => fallback,
    }
}

/// Local names a body assigns (not descending into nested functions or classes).
pub(super) fn assigned_names(body: &[Stmt]) -> Vec<String> {
    assignments(body)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// The names a body assigns that it only counts up or down (`time_left -= 0.5`: every
/// assignment of them is an augmented one).
pub(super) fn counted_names(body: &[Stmt]) -> Vec<String> {
    let all = assignments(body);
    let mut counted: Vec<String> = Vec::new();
    walk_own_body(body, |visited| {
        if let Visited::Stmt(Stmt::AugAssign(a)) = visited {
            if let Expr::Name(name) = &*a.target {
                let at = a.range.start().to_u32();
                let name = name.id.to_string();
                // Assigned by this statement alone, everywhere it is assigned.
                if all.iter().all(|(n, start)| *n != name || *start == at) {
                    counted.push(name);
                }
            }
        }
    });
    counted.sort();
    counted.dedup();
    counted
}

/// The names a body assigns, each with where the assigning statement starts, in source order.
pub(super) fn assignments(body: &[Stmt]) -> Vec<(String, u32)> {
    fn target_names(target: &Expr, at: u32, out: &mut Vec<(String, u32)>) {
        match target {
            Expr::Name(name) => out.push((name.id.to_string(), at)),
            Expr::Tuple(t) => t.elts.iter().for_each(|e| target_names(e, at, out)),
            Expr::List(l) => l.elts.iter().for_each(|e| target_names(e, at, out)),
            Expr::Starred(s) => target_names(&s.value, at, out),
            _ => {}
        }
    }
    fn go(body: &[Stmt], out: &mut Vec<(String, u32)>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for stmt in body {
            let at = stmt.range().start().to_u32();
            match stmt {
                Stmt::Assign(a) => a.targets.iter().for_each(|t| target_names(t, at, out)),
                Stmt::AugAssign(a) => target_names(&a.target, at, out),
                Stmt::AnnAssign(a) if a.value.is_some() => target_names(&a.target, at, out),
                Stmt::For(f) => target_names(&f.target, at, out),
                Stmt::With(w) => w
                    .items
                    .iter()
                    .filter_map(|i| i.optional_vars.as_deref())
                    .for_each(|t| target_names(t, at, out)),
                _ => {}
            }
            for child in child_bodies(stmt) {
                go(child, out, depth + 1);
            }
        }
    }
    let mut out = Vec::new();
    go(body, &mut out, 0);
    out
}

/// Whether `value` reads `target` (`self.n = self.n + 1`), comparing expressions structurally.
pub(super) fn reads_expression(value: &Expr, target: &Expr) -> bool {
    let wanted = ComparableExpr::from(target);
    any_part(value, |expr| {
        matches!(
            expr,
            Expr::Name(_) | Expr::Attribute(_) | Expr::Subscript(_)
        ) && ComparableExpr::from(expr) == wanted
    })
}

/// Whether `value` names `name` anywhere in it (a lambda's body included).
pub(super) fn mentions_name(value: &Expr, name: &str) -> bool {
    any_part(
        value,
        |expr| matches!(expr, Expr::Name(n) if n.id.as_str() == name),
    )
}

/// Whether `found` holds for `value` or any expression inside it, down to the depth limit.
fn any_part(value: &Expr, found: impl Fn(&Expr) -> bool) -> bool {
    struct Finder<F> {
        found: F,
        hit: bool,
        depth: usize,
    }
    impl<'a, F: Fn(&Expr) -> bool> Visitor<'a> for Finder<F> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.hit || self.depth > MAX_DEPTH {
                return;
            }
            if (self.found)(expr) {
                self.hit = true;
                return;
            }
            self.depth += 1;
            walk_expr(self, expr);
            self.depth -= 1;
        }
    }
    let mut finder = Finder {
        found,
        hit: false,
        depth: 0,
    };
    finder.visit_expr(value);
    finder.hit
}

/// A statement or an expression of one function's own body, as [`walk_own_body`] meets it.
pub(super) enum Visited<'a> {
    Stmt(&'a Stmt),
    Expr(&'a Expr),
}

/// Calls `visit` on every statement and expression of a function's own body, in order, down to
/// the depth limit: nested functions and classes are other functions of the model, left out.
pub(super) fn walk_own_body<'a>(body: &'a [Stmt], visit: impl FnMut(Visited<'a>)) {
    struct Walker<F> {
        visit: F,
        depth: usize,
    }
    impl<'a, F: FnMut(Visited<'a>)> Visitor<'a> for Walker<F> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if self.depth > MAX_DEPTH || matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                return;
            }
            (self.visit)(Visited::Stmt(stmt));
            self.depth += 1;
            ruff_python_ast::visitor::walk_stmt(self, stmt);
            self.depth -= 1;
        }

        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.depth > MAX_DEPTH {
                return;
            }
            (self.visit)(Visited::Expr(expr));
            self.depth += 1;
            walk_expr(self, expr);
            self.depth -= 1;
        }
    }
    let mut walker = Walker { visit, depth: 0 };
    for stmt in body {
        walker.visit_stmt(stmt);
    }
}

/// A function's body without its docstring.
pub(super) fn after_docstring(body: &[Stmt]) -> &[Stmt] {
    match body {
        [Stmt::Expr(doc), rest @ ..] if matches!(&*doc.value, Expr::StringLiteral(_)) => rest,
        body => body,
    }
}
