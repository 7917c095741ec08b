//! Functions, blocks, statements and patterns: the frames that bindings live in and the
//! temporary scopes that statements end.

use syn::{Block, Expr, Pat, Stmt};
use threadlint_rules::model::{
    AcquireHow, BlockingKind, BranchInfo, Condition, Event, EventKind, FnId, Node, ObjKey, ObjKind,
    Scope, ScopeKind, Span,
};

use crate::rust::spans;

use super::guards::{Binding, Frame, GuardState};
use super::items::{FnBody, Input};
use super::syntax::{
    block_exit, core_call, discarded_join, expr_exit, is_wildcard, member_name, unread_collections,
};
use super::values::{element_of, Place, Ty, Value};
use super::{Lowerer, MAX_DEPTH};

impl<'a> Lowerer<'a> {
    pub(super) fn lower_function(&mut self, id: FnId) -> Vec<Node> {
        self.current = id;
        self.repetition = 0;
        self.room.clear();
        self.unread = match self.fns[id.0 as usize].body {
            FnBody::Block(block) => unread_collections(block),
            FnBody::Async(block) => unread_collections(&block.block),
            _ => Vec::new(),
        };
        self.frames = vec![Frame::default()];
        self.temps.clear();
        self.temp_scopes = vec![Vec::new()];
        let info = &mut self.fns[id.0 as usize];
        let env = std::mem::take(&mut info.env);
        let body = info.body;
        let inputs = info.inputs.clone();
        let hints = info.hints.clone();
        let class = info.class.clone();
        let end = info.span.end;
        self.frames[0].bindings.extend(env);
        let mut out = Vec::new();
        for (index, input) in inputs.iter().enumerate() {
            match input {
                Input::SelfParam => {
                    if let Some(class) = &class {
                        self.frames[0].bindings.push(Binding {
                            name: "self".into(),
                            value: Value {
                                place: Some(Place::SelfValue(class.clone())),
                                // An `impl` of a type defined in another file of the crate.
                                ty: self.foreign_impls.get(class).map_or_else(
                                    || Ty::Struct(class.clone()),
                                    |owner| Ty::Project(owner.clone()),
                                ),
                                ..Value::default()
                            },
                            guard: None,
                            tests: None,
                        });
                    }
                }
                Input::Typed(pat, ty) => {
                    let ty = match ty {
                        Some(ty) => self.ty_here(ty),
                        None => hints.get(index).cloned().unwrap_or_default(),
                    };
                    let value = Value {
                        place: Some(Place::Key(ObjKey::Param {
                            function: id,
                            index: index as u32,
                            path: Vec::new(),
                        })),
                        ty,
                        ..Value::default()
                    };
                    self.bind_pattern(pat, value, &mut out, false, 0);
                }
            }
        }
        match body {
            FnBody::None => {}
            FnBody::Block(block) => self.block_stmts(&block.stmts, &mut out, 0),
            FnBody::Async(block) => self.block_stmts(&block.block.stmts, &mut out, 0),
            FnBody::Closure(closure) => match &*closure.body {
                Expr::Block(block) if block.label.is_none() => {
                    self.block_stmts(&block.block.stmts, &mut out, 0);
                }
                body => {
                    self.temp_scopes.push(Vec::new());
                    let value = self.expr(body, &mut out, 1);
                    self.escape(&value);
                    self.end_temps(&mut out, end);
                }
            },
        }
        while !self.temp_scopes.is_empty() {
            self.end_temps(&mut out, end);
        }
        while !self.frames.is_empty() {
            self.pop_frame(&mut out, end);
        }
        out
    }

    pub(super) fn block_stmts(&mut self, stmts: &'a [Stmt], out: &mut Vec<Node>, depth: usize) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        for stmt in stmts {
            self.stmt(stmt, out, depth);
        }
    }

    /// A `{ }` block as a scope of `kind`.
    pub(super) fn block_scope(
        &mut self,
        block: &'a Block,
        kind: ScopeKind,
        keyword: Span,
        whole: Span,
        out: &mut Vec<Node>,
        depth: usize,
    ) {
        let mut body = Vec::new();
        self.push_frame();
        self.block_stmts(&block.stmts, &mut body, depth + 1);
        let end = self.span(block.brace_token.span.close()).start;
        self.pop_frame(&mut body, end);
        out.push(Node::Scope(Scope {
            kind,
            span: whole,
            keyword,
            statements: block.stmts.len() as u32,
            body,
        }));
    }

    pub(super) fn stmt(&mut self, stmt: &'a Stmt, out: &mut Vec<Node>, depth: usize) {
        let Some((first, last)) = spans::stmt(stmt) else {
            return;
        };
        let whole = self.join(first, last);
        let start = out.len();
        self.temp_scopes.push(Vec::new());
        self.pending_room = None;
        match stmt {
            Stmt::Local(local) => {
                let loads_before = self.atomic_loads.len();
                let value = match &local.init {
                    Some(init) => match &*init.expr {
                        // A closure bound to a name runs when called, maybe on another thread.
                        closure @ (Expr::Closure(_) | Expr::Async(_)) => {
                            match self.new_closure(closure, Vec::new()) {
                                Some(id) => Value::of(Ty::Callable(id)),
                                None => Value::default(),
                            }
                        }
                        expr => self.expr(expr, out, depth + 1),
                    },
                    None => Value::default(),
                };
                let room = self.pending_room.take();
                self.bind_pattern(&local.pat, value, out, false, depth);
                // `let (tx, rx) = bounded(4)`: `tx` may send four messages without waiting.
                if let (Some(room), Pat::Tuple(tuple)) = (room, &local.pat) {
                    if let Some(Pat::Ident(sender)) = tuple.elems.first() {
                        let key =
                            self.lookup(&sender.ident.to_string()).and_then(
                                |binding| match &binding.value.place {
                                    Some(Place::Key(key)) => Some(key.clone()),
                                    _ => None,
                                },
                            );
                        if let Some(key) = key {
                            self.room.insert(key, room);
                        }
                    }
                }
                if let Some(init) = &local.init {
                    self.note_let_test(&local.pat, &init.expr, loads_before);
                }
                if let Some((else_token, diverge)) =
                    local.init.as_ref().and_then(|i| i.diverge.as_ref())
                {
                    let keyword = self.span(else_token.span);
                    let mut body = Vec::new();
                    self.push_frame();
                    let (statements, exits) = match &**diverge {
                        Expr::Block(block) => {
                            self.block_stmts(&block.block.stmts, &mut body, depth + 1);
                            (block.block.stmts.len(), block_exit(&block.block))
                        }
                        other => {
                            self.expr(other, &mut body, depth + 1);
                            (1, expr_exit(other))
                        }
                    };
                    self.pop_frame(&mut body, whole.end);
                    let span = Span::new(keyword.start, self.expr_span(diverge).end);
                    out.push(Node::Scope(Scope {
                        kind: ScopeKind::Branch(BranchInfo {
                            first: true,
                            has_else: false,
                            condition: Condition::default(),
                            exits,
                            acquire_test: None,
                            handles_failure: false,
                            if_statement: false,
                        }),
                        span,
                        keyword,
                        statements: statements as u32,
                        body,
                    }));
                }
            }
            Stmt::Expr(expr, semi) => {
                let value = self.expr(expr, out, depth + 1);
                match semi {
                    // The value is dropped at the end of the statement.
                    Some(_) => self.discard(&value, out),
                    // The value of the block: it goes wherever the block's value goes.
                    None => self.escape(&value),
                }
            }
            Stmt::Macro(m) => {
                self.lower_macro(&m.mac, out, depth + 1);
            }
            Stmt::Item(_) => {}
        }
        self.end_temps(out, whole.end);
        self.mark_statement(out, start, stmt, whole);
        self.mark_discarded_parts(out, start, stmt, whole);
        self.discarded_join(out, start, stmt, whole);
    }

    /// A guard matched by a `_` inside a tuple or struct pattern (`let (_, n) = (m.lock(), 1);`,
    /// `(_, n) = (m.lock(), 1);`) is dropped at the end of the statement, as with `let _ =`:
    /// its acquisition records the statement, as rustc's `let_underscore_lock` sees it.
    fn mark_discarded_parts(&self, out: &mut [Node], start: usize, stmt: &Stmt, whole: Span) {
        let mut discarded = Vec::new();
        match stmt {
            // A `_` at the top (`let _ = ..`) is `mark_statement`'s: only parts are looked at.
            Stmt::Local(local) => {
                if let Some(init) = &local.init {
                    discarded_by_pattern(&local.pat, &init.expr, &mut discarded, 0);
                }
            }
            Stmt::Expr(Expr::Assign(assign), Some(_)) => {
                discarded_by_target(&assign.left, &assign.right, &mut discarded, 0);
            }
            _ => {}
        }
        if discarded.is_empty() {
            return;
        }
        let spans: Vec<Span> = discarded
            .iter()
            .filter_map(|expr| core_call(expr))
            .map(|core| self.expr_span(core))
            .collect();
        for node in out.iter_mut().skip(start) {
            if let Node::Event(event) = node {
                if matches!(
                    event.kind,
                    EventKind::Acquire {
                        how: AcquireHow::Temporary,
                        ..
                    }
                ) && spans.contains(&event.span)
                {
                    event.statement = Some(whole);
                }
            }
        }
    }

    /// A statement that throws away the result of joining a thread the lowering resolved
    /// (`let _ = handle.join();`, `handle.join().ok();`) swallows the thread's panic.
    fn discarded_join(&self, out: &mut Vec<Node>, start: usize, stmt: &Stmt, whole: Span) {
        let discarded = match stmt {
            Stmt::Local(local) if is_wildcard(&local.pat) => local
                .init
                .as_ref()
                .filter(|init| init.diverge.is_none())
                .and_then(|init| discarded_join(&init.expr)),
            Stmt::Expr(expr, Some(_)) => discarded_join(expr),
            _ => None,
        };
        let Some(join) = discarded else { return };
        let span = self.expr_span(join);
        let joined = out[start..].iter().find_map(|node| match node {
            Node::Event(Event {
                kind:
                    EventKind::Blocking {
                        kind: BlockingKind::Join,
                        obj: Some(obj),
                        ..
                    },
                span: at,
                ..
            }) if *at == span => Some(*obj),
            _ => None,
        });
        if let Some(obj) = joined {
            out.push(Node::Event(Event {
                kind: EventKind::JoinDiscarded { obj },
                span: whole,
                statement: Some(whole),
            }));
        }
    }

    /// The event of the call a statement consists of (`m.lock().unwrap();`,
    /// `let g = m.lock().unwrap();`, `g = cvar.wait(g).unwrap();`) records the statement.
    /// A guard that is the value of its block (a tail expression without `;`, returned to the
    /// caller) is not a statement of its own: its acquisition records none.
    pub(super) fn mark_statement(&self, out: &mut [Node], start: usize, stmt: &Stmt, whole: Span) {
        let core = match stmt {
            Stmt::Local(local) => local.init.as_ref().and_then(|init| core_call(&init.expr)),
            Stmt::Expr(expr, _) => core_call(expr),
            Stmt::Macro(_) | Stmt::Item(_) => None,
        };
        let Some(core) = core else { return };
        let tail = matches!(stmt, Stmt::Expr(_, None));
        let span = self.expr_span(core);
        for node in out.iter_mut().skip(start) {
            if let Node::Event(event) = node {
                let guard_value = tail
                    && matches!(
                        event.kind,
                        EventKind::Acquire {
                            how: AcquireHow::Temporary,
                            ..
                        }
                    );
                if event.span == span
                    && !matches!(event.kind, EventKind::Release { .. })
                    && !guard_value
                {
                    event.statement = Some(whole);
                }
            }
        }
    }

    // -------------------------------------------------------------------------- patterns

    pub(super) fn bind_pattern(
        &mut self,
        pat: &'a Pat,
        value: Value,
        out: &mut Vec<Node>,
        release_at_end: bool,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        match pat {
            Pat::Ident(ident) => {
                let name = ident.ident.to_string();
                let mut value = value;
                let mut guard = None;
                if let Some(temp) = value.temp {
                    if (temp.direct || temp.borrowed) && !self.temps[temp.id].done {
                        guard = Some(self.bind_temp(temp, out, release_at_end));
                    }
                } else if let Ty::Guard(Some(obj), _) = value.ty {
                    guard = Some(GuardState {
                        obj,
                        release_at_end: false,
                        released: false,
                    });
                }
                if value.place.is_none() {
                    // A binding that shadows one of the same name is another object
                    // (`let m = m.lock()..; let m = Arc::new(Mutex::new(..));`).
                    let current = self.current;
                    let shadows = self.lookup(&name).is_some_and(|b| {
                        matches!(&b.value.place,
                            Some(Place::Key(ObjKey::Local { function, .. })) if *function == current)
                    });
                    let key_name = if shadows {
                        format!("{name}@{}", self.span(ident.ident.span()).start)
                    } else {
                        name.clone()
                    };
                    value.place = Some(Place::Key(ObjKey::Local {
                        function: current,
                        name: key_name,
                    }));
                }
                if let Some(site) = value.spawn {
                    let obj = self.object(
                        &value,
                        self.span(ident.ident.span()),
                        ObjKind::Thread { daemon: false },
                    );
                    for node in out.iter_mut().rev() {
                        if let Node::Event(Event {
                            kind: EventKind::ThreadStart { obj: slot },
                            span,
                            ..
                        }) = node
                        {
                            if *span == site {
                                *slot = Some(obj);
                                break;
                            }
                        }
                    }
                }
                let value = Value {
                    temp: None,
                    spawn: None,
                    ..value
                };
                if let Some(frame) = self.frames.last_mut() {
                    frame.bindings.push(Binding {
                        name,
                        value,
                        guard,
                        tests: None,
                    });
                }
            }
            Pat::Type(typed) => {
                let mut value = value;
                let annotated = self.ty_here(&typed.ty);
                if annotated != Ty::Unknown && value.ty == Ty::Unknown {
                    value.ty = annotated;
                }
                self.bind_pattern(&typed.pat, value, out, release_at_end, depth + 1);
            }
            Pat::Tuple(tuple) => {
                for (index, element) in tuple.elems.iter().enumerate() {
                    let item = element_of(&value, index);
                    self.bind_pattern(element, item, out, release_at_end, depth + 1);
                }
            }
            Pat::TupleStruct(tuple) => {
                if tuple.elems.len() == 1 {
                    // `Some(x)`, `Ok(guard)`: the wrapped value.
                    let inner = match &value.ty {
                        Ty::Opt(inner) => Value {
                            ty: (**inner).clone(),
                            ..value.clone()
                        },
                        _ => value.clone(),
                    };
                    self.bind_pattern(&tuple.elems[0], inner, out, release_at_end, depth + 1);
                } else {
                    for (index, element) in tuple.elems.iter().enumerate() {
                        let item = element_of(&value, index);
                        self.bind_pattern(element, item, out, release_at_end, depth + 1);
                    }
                }
            }
            Pat::Reference(reference) => {
                self.bind_pattern(&reference.pat, value, out, release_at_end, depth + 1);
            }
            Pat::Paren(paren) => {
                self.bind_pattern(&paren.pat, value, out, release_at_end, depth + 1);
            }
            Pat::Struct(structure) => {
                for field in &structure.fields {
                    let member = member_name(&field.member);
                    let item = self.field(&value, &member);
                    self.bind_pattern(&field.pat, item, out, release_at_end, depth + 1);
                }
            }
            Pat::Or(or) => {
                if let Some(first) = or.cases.first() {
                    self.bind_pattern(first, value, out, release_at_end, depth + 1);
                }
            }
            Pat::Slice(slice) => {
                let element = match &value.ty {
                    Ty::Seq(inner) => (**inner).clone(),
                    _ => Ty::Unknown,
                };
                for item in &slice.elems {
                    self.bind_pattern(
                        item,
                        Value::of(element.clone()),
                        out,
                        release_at_end,
                        depth + 1,
                    );
                }
            }
            // `let _ = thread::spawn(..)`: the handle is dropped at once.
            Pat::Wild(_) => self.discard(&value, out),
            _ => {}
        }
    }
}

/// How deep tuple and struct patterns are followed for `_` parts.
const MAX_PATTERN_DEPTH: usize = 16;

/// The parts of `expr` that a `_` in `pat` matches, where the two have the same tuple or struct
/// shape (`let (_, n) = (m.lock(), 1)`, `let Pair { a: _, b } = Pair { a: m.lock(), b: 2 }`).
fn discarded_by_pattern<'e>(pat: &Pat, expr: &'e Expr, out: &mut Vec<&'e Expr>, depth: usize) {
    if depth > MAX_PATTERN_DEPTH {
        return;
    }
    match (pat, expr) {
        (Pat::Wild(_), expr) if depth > 0 => out.push(expr),
        (Pat::Paren(paren), expr) => discarded_by_pattern(&paren.pat, expr, out, depth),
        (pat, Expr::Paren(paren)) => discarded_by_pattern(pat, &paren.expr, out, depth),
        (Pat::Tuple(tuple), Expr::Tuple(values)) if tuple.elems.len() == values.elems.len() => {
            for (part, value) in tuple.elems.iter().zip(values.elems.iter()) {
                discarded_by_pattern(part, value, out, depth + 1);
            }
        }
        (Pat::Struct(pattern), Expr::Struct(value)) => {
            for field in &pattern.fields {
                if let Some(init) = value.fields.iter().find(|f| f.member == field.member) {
                    discarded_by_pattern(&field.pat, &init.expr, out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The same for a destructuring assignment, whose target is an expression (`(_, n) = ..`).
fn discarded_by_target<'e>(target: &Expr, expr: &'e Expr, out: &mut Vec<&'e Expr>, depth: usize) {
    if depth > MAX_PATTERN_DEPTH {
        return;
    }
    match (target, expr) {
        (Expr::Infer(_), expr) if depth > 0 => out.push(expr),
        (Expr::Paren(paren), expr) => discarded_by_target(&paren.expr, expr, out, depth),
        (target, Expr::Paren(paren)) => discarded_by_target(target, &paren.expr, out, depth),
        (Expr::Tuple(targets), Expr::Tuple(values))
            if targets.elems.len() == values.elems.len() =>
        {
            for (part, value) in targets.elems.iter().zip(values.elems.iter()) {
                discarded_by_target(part, value, out, depth + 1);
            }
        }
        (Expr::Struct(targets), Expr::Struct(values)) => {
            for field in &targets.fields {
                if let Some(init) = values.fields.iter().find(|f| f.member == field.member) {
                    discarded_by_target(&field.expr, &init.expr, out, depth + 1);
                }
            }
        }
        _ => {}
    }
}
