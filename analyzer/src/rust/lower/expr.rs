//! Expressions: paths, fields, operators, blocks, closures, assignments and macro bodies.

use syn::Expr;
use threadlint_rules::model::{
    BranchInfo, Condition, Event, EventKind, ExitKind, FnId, LoopInfo, LoopKind, Node, ObjKey,
    ObjKind, Scope, ScopeKind, Span,
};

use crate::rust::macros::{Body as MacroBody, MacroArena};
use crate::rust::spans;

use super::guards::GuardState;
use super::items::{FnBody, FnInfo, Input};
use super::method::{lock_hint, Hint};
use super::resolve::Res;
use super::syntax::{
    exit_node, expr_exit, is_panic_macro, loop_assignments, member_name, single_ident,
};
use super::values::{project, Place, TempRef, Ty, Value};
use super::{Lowerer, MAX_DEPTH};

impl<'a> Lowerer<'a> {
    /// Registers a closure or async block as a function of its own (it runs later or
    /// elsewhere), capturing the current bindings.
    pub(super) fn new_closure(&mut self, expr: &'a Expr, hints: Vec<Ty>) -> Option<FnId> {
        let parent = &self.fns[self.current.0 as usize];
        let parent_name = match &parent.class {
            Some(class) => format!("{class}.{}", parent.name),
            None => parent.name.clone(),
        };
        let (body, inputs, is_async, name, name_span) = match expr {
            Expr::Closure(c) => (
                FnBody::Closure(c),
                c.inputs.iter().map(|p| Input::Typed(p, None)).collect(),
                c.asyncness.is_some(),
                format!("{parent_name}::{{closure}}"),
                self.span(c.or1_token.spans[0]),
            ),
            Expr::Async(a) => (
                FnBody::Async(a),
                Vec::new(),
                true,
                format!("{parent_name}::{{async block}}"),
                self.span(a.async_token.span),
            ),
            _ => return None,
        };
        let module = parent.module;
        let id = FnId(self.fns.len() as u32);
        let env = self.snapshot();
        self.fns.push(FnInfo {
            name,
            class: None,
            module,
            body,
            inputs,
            hints,
            ret: None,
            is_async,
            exclusive_receiver: false,
            span: self.expr_span(expr),
            name_span,
            env,
            paused_clock: None,
            test_runtime: None,
            spawns_tasks: false,
        });
        Some(id)
    }

    // -------------------------------------------------------------------------- functions

    pub(super) fn expr(&mut self, expr: &'a Expr, out: &mut Vec<Node>, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return Value::default();
        }
        match expr {
            Expr::Path(path) => self.path_value(path),
            Expr::Field(field) => {
                let base = self.expr(&field.base, out, depth + 1);
                self.field(&base, &member_name(&field.member))
            }
            Expr::MethodCall(call) => self.method_call(call, None, out, depth),
            Expr::Call(call) => self.call(call, out, depth),
            Expr::Await(awaited) => {
                let hint = lock_hint(&awaited.base, Hint::Async);
                let value = match (&*awaited.base, hint) {
                    (Expr::MethodCall(call), Some(hint)) => {
                        self.method_call(call, Some(hint), out, depth + 1)
                    }
                    _ => self.expr(&awaited.base, out, depth + 1),
                };
                let span = self.expr_span(expr);
                // A sleep future made earlier (`let s = sleep(d); s.await`) sleeps here; its
                // statement is this await, which tells it from a thread's sleep before it.
                if let Ty::SleepFuture(call) = value.ty {
                    out.push(Node::Event(Event {
                        kind: EventKind::Sleep,
                        span: call,
                        statement: Some(span),
                    }));
                }
                if let Ty::Callable(callee) = value.ty {
                    self.push(out, EventKind::Call { callee }, span);
                }
                self.push(out, EventKind::Await, span);
                if let Ty::LockFuture {
                    obj,
                    how,
                    shared,
                    inner,
                    call,
                    receiver,
                } = value.ty
                {
                    let temp = self.acquire(out, obj, (how, shared), call, receiver);
                    return Value {
                        ty: Ty::Guard(Some(obj), inner),
                        temp: Some(temp),
                        ..Value::default()
                    };
                }
                match value.ty {
                    Ty::Sync(ObjKind::Future) => {
                        self.push(out, EventKind::Synchronize, span);
                        Value::default()
                    }
                    Ty::Callable(_) => Value::default(),
                    _ => value,
                }
            }
            Expr::Try(tried) => {
                let hint = lock_hint(&tried.expr, Hint::LockResult);
                match (&*tried.expr, hint) {
                    (Expr::MethodCall(call), Some(hint)) => {
                        self.method_call(call, Some(hint), out, depth + 1)
                    }
                    _ => self.expr(&tried.expr, out, depth + 1),
                }
            }
            Expr::Unary(unary) => {
                let value = self.expr(&unary.expr, out, depth + 1);
                match unary.op {
                    syn::UnOp::Deref(_) => match value.ty {
                        Ty::Guard(_, inner) => Value {
                            ty: *inner,
                            temp: value.temp.map(|t| TempRef { direct: false, ..t }),
                            ..Value::default()
                        },
                        _ => value,
                    },
                    _ => Value::default(),
                }
            }
            Expr::Reference(reference) => {
                let mut value = self.expr(&reference.expr, out, depth + 1);
                if let Some(temp) = &mut value.temp {
                    temp.borrowed = true;
                }
                value
            }
            Expr::RawAddr(raw) => self.expr(&raw.expr, out, depth + 1),
            Expr::Paren(paren) => self.expr(&paren.expr, out, depth + 1),
            Expr::Group(group) => self.expr(&group.expr, out, depth + 1),
            Expr::Cast(cast) => {
                self.expr(&cast.expr, out, depth + 1);
                Value::default()
            }
            Expr::Binary(binary) => {
                self.expr(&binary.left, out, depth + 1);
                self.expr(&binary.right, out, depth + 1);
                Value::default()
            }
            Expr::Assign(assign) => {
                self.assign(assign, out, depth);
                Value::default()
            }
            Expr::Block(block) => {
                let keyword = match &block.label {
                    Some(label) => self.span(label.name.apostrophe),
                    None => self.span(block.block.brace_token.span.open()),
                };
                let whole = self.expr_span(expr);
                self.block_scope(&block.block, ScopeKind::Block, keyword, whole, out, depth);
                Value::default()
            }
            Expr::Unsafe(block) => {
                let keyword = self.span(block.unsafe_token.span);
                let whole = self.expr_span(expr);
                self.block_scope(&block.block, ScopeKind::Block, keyword, whole, out, depth);
                Value::default()
            }
            Expr::TryBlock(block) => {
                let keyword = self.span(block.try_token.span);
                let whole = self.expr_span(expr);
                self.block_scope(&block.block, ScopeKind::Block, keyword, whole, out, depth);
                Value::default()
            }
            Expr::Const(_) => Value::default(),
            Expr::Async(_) => match self.new_closure(expr, Vec::new()) {
                Some(id) => Value::of(Ty::Callable(id)),
                None => Value::default(),
            },
            Expr::Closure(closure) => {
                let _ = self.inline_closure(closure, &[], out, depth);
                Value::default()
            }
            Expr::If(if_expr) => {
                self.lower_if(if_expr, out, depth);
                Value::default()
            }
            Expr::Match(match_expr) => {
                self.lower_match(match_expr, out, depth);
                Value::default()
            }
            Expr::While(while_expr) => {
                self.lower_while(while_expr, out, depth);
                Value::default()
            }
            Expr::ForLoop(for_loop) => {
                self.lower_for(for_loop, out, depth);
                Value::default()
            }
            Expr::Loop(loop_expr) => {
                let mut body = Vec::new();
                self.push_frame();
                self.repetition += 1;
                self.block_stmts(&loop_expr.body.stmts, &mut body, depth + 1);
                self.repetition -= 1;
                let end = self.span(loop_expr.body.brace_token.span.close()).start;
                self.pop_frame(&mut body, end);
                let (assigned, counted) = loop_assignments(&loop_expr.body);
                out.push(Node::Scope(Scope {
                    kind: ScopeKind::Loop(LoopInfo {
                        kind: LoopKind::Infinite,
                        condition: Condition::default(),
                        assigned,
                        assigned_at: Vec::new(),
                        counted,
                        timed: Vec::new(),
                        backoff: false,
                    }),
                    span: self.expr_span(expr),
                    keyword: self.span(loop_expr.loop_token.span),
                    statements: loop_expr.body.stmts.len() as u32,
                    body,
                }));
                Value::default()
            }
            Expr::Let(let_expr) => {
                // In an `if`/`while` condition: the binding lives in the frame the caller opened.
                let value = self.expr(&let_expr.expr, out, depth + 1);
                self.bind_pattern(&let_expr.pat, value, out, true, depth + 1);
                Value::default()
            }
            Expr::Return(ret) => {
                if let Some(value) = &ret.expr {
                    let value = self.expr(value, out, depth + 1);
                    self.escape(&value);
                }
                let span = self.expr_span(expr);
                out.push(exit_node(ExitKind::Return, span));
                Value::default()
            }
            Expr::Break(brk) => {
                if let Some(value) = &brk.expr {
                    let value = self.expr(value, out, depth + 1);
                    self.escape(&value);
                }
                let span = self.expr_span(expr);
                out.push(exit_node(ExitKind::Break, span));
                Value::default()
            }
            Expr::Continue(_) => {
                let span = self.expr_span(expr);
                out.push(exit_node(ExitKind::Continue, span));
                Value::default()
            }
            Expr::Macro(mac) => self.lower_macro(&mac.mac, out, depth + 1),
            Expr::Struct(structure) => {
                for field in &structure.fields {
                    let value = self.expr(&field.expr, out, depth + 1);
                    self.escape(&value);
                }
                if let Some(rest) = &structure.rest {
                    self.expr(rest, out, depth + 1);
                }
                let segments = self.segments_here(&structure.path);
                match self.resolve(self.current_module(), &segments, 0) {
                    Res::Struct(name) => Value::of(Ty::Struct(name)),
                    _ => Value::default(),
                }
            }
            Expr::Tuple(tuple) => {
                let values: Vec<Value> = tuple
                    .elems
                    .iter()
                    .map(|e| self.expr(e, out, depth + 1))
                    .collect();
                self.escape_all(&values);
                Value::of(Ty::Tuple(values.into_iter().map(|v| v.ty).collect()))
            }
            Expr::Array(array) => {
                let mut element = Ty::Unknown;
                for (index, item) in array.elems.iter().enumerate() {
                    let value = self.expr(item, out, depth + 1);
                    self.escape(&value);
                    if index == 0 {
                        element = value.ty;
                    }
                }
                Value::of(Ty::Seq(Box::new(element)))
            }
            Expr::Repeat(repeat) => {
                let value = self.expr(&repeat.expr, out, depth + 1);
                self.expr(&repeat.len, out, depth + 1);
                Value::of(Ty::Seq(Box::new(value.ty)))
            }
            Expr::Index(index) => {
                let base = self.expr(&index.expr, out, depth + 1);
                self.expr(&index.index, out, depth + 1);
                let element = match &base.ty {
                    Ty::Seq(inner) => (**inner).clone(),
                    _ => Ty::Unknown,
                };
                let place = match &*index.index {
                    Expr::Lit(_) | Expr::Path(_) => {
                        let text = format!("[{}]", self.expr_text(&index.index));
                        base.place.as_ref().map(|p| project(p, &text))
                    }
                    _ => None,
                };
                Value {
                    place,
                    ty: element,
                    temp: base.temp.map(|t| TempRef { direct: false, ..t }),
                    ..Value::default()
                }
            }
            Expr::Range(range) => {
                if let Some(start) = &range.start {
                    self.expr(start, out, depth + 1);
                }
                if let Some(end) = &range.end {
                    self.expr(end, out, depth + 1);
                }
                Value::default()
            }
            Expr::Yield(y) => {
                if let Some(value) = &y.expr {
                    self.expr(value, out, depth + 1);
                }
                Value::default()
            }
            _ => Value::default(),
        }
    }

    pub(super) fn path_value(&mut self, path: &'a syn::ExprPath) -> Value {
        if path.qself.is_none()
            && path.path.leading_colon.is_none()
            && path.path.segments.len() == 1
        {
            let name = path.path.segments[0].ident.to_string();
            self.note_capture(&name);
            if let Some(binding) = self.lookup(&name) {
                return binding.value.settled();
            }
        }
        if path.qself.is_some() {
            return Value::default();
        }
        let segments = self.segments_here(&path.path);
        match self.resolve(self.current_module(), &segments, 0) {
            Res::Static(name) => {
                let (ty, span) = self
                    .statics
                    .get(&name)
                    .map(|s| (s.resolved.clone(), Some(s.span)))
                    .unwrap_or_default();
                Value {
                    place: Some(Place::Key(ObjKey::Global(name))),
                    ty,
                    def: span,
                    ..Value::default()
                }
            }
            Res::External(path) => match self.imported_static(&path, "") {
                Some((key, ty)) => Value {
                    place: Some(Place::Key(key)),
                    ty,
                    ..Value::default()
                },
                None => Value::default(),
            },
            Res::Fn(id) => Value::of(Ty::Callable(id)),
            Res::Assoc(class, name) => match self.method_of(&class, &name) {
                Some(id) => Value::of(Ty::Callable(id)),
                None => Value::default(),
            },
            _ => Value::default(),
        }
    }

    pub(super) fn assign(
        &mut self,
        assign: &'a syn::ExprAssign,
        out: &mut Vec<Node>,
        depth: usize,
    ) {
        let value = self.expr(&assign.right, out, depth + 1);
        self.escape(&value);
        let Some(name) = single_ident(&assign.left) else {
            self.expr(&assign.left, out, depth + 1);
            return;
        };
        let fresh = value.temp.filter(|t| t.direct && !self.temps[t.id].done);
        if let Some(temp) = fresh {
            // `g = m.lock().unwrap()`: the old guard is dropped, the new one bound.
            let old = self
                .lookup(&name)
                .and_then(|b| b.guard)
                .filter(|g| !g.released);
            if let Some(old) = old {
                let span = self.expr_span(&assign.left);
                self.push(out, EventKind::Release { obj: old.obj }, span);
            }
            let state = self.bind_temp(temp, out, false);
            if let Some(binding) = self.lookup_mut(&name) {
                binding.guard = Some(state);
                binding.value.ty = value.ty;
            }
        } else if let Ty::Guard(Some(obj), _) = value.ty {
            // `guard = cvar.wait(guard).unwrap()`: the same lock, held again.
            if let Some(binding) = self.lookup_mut(&name) {
                binding.value.ty = value.ty.clone();
                match &mut binding.guard {
                    Some(state) => {
                        state.obj = obj;
                        state.released = false;
                    }
                    None => {
                        binding.guard = Some(GuardState {
                            obj,
                            release_at_end: false,
                            released: false,
                        });
                    }
                }
            }
        } else if value.ty != Ty::Unknown {
            if let Some(binding) = self.lookup_mut(&name) {
                if binding.value.ty == Ty::Unknown {
                    binding.value.ty = value.ty;
                }
            }
        }
    }

    pub(super) fn inline_closure(
        &mut self,
        closure: &'a syn::ExprClosure,
        hints: &[Ty],
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Ty {
        let mut body = Vec::new();
        self.push_frame();
        self.closure_floors.push(self.frames.len() - 1);
        // What an expression body gives back (`|_| thread::spawn(..)`: a handle).
        let mut returned = Ty::Unknown;
        for (index, input) in closure.inputs.iter().enumerate() {
            let value = Value::of(hints.get(index).cloned().unwrap_or_default());
            self.bind_pattern(input, value, &mut body, false, depth + 1);
        }
        let whole = self.expr_span(&closure.body);
        let statements = match &*closure.body {
            // A block that ends in a handle it gives back (`|_| { setup(); thread::spawn(..) }`).
            Expr::Block(block)
                if block.label.is_none()
                    && matches!(block.block.stmts.last(), Some(syn::Stmt::Expr(tail, None))
                        if matches!(tail, Expr::Call(_) | Expr::MethodCall(_))) =>
            {
                let stmts = &block.block.stmts;
                self.block_stmts(&stmts[..stmts.len() - 1], &mut body, depth + 1);
                if let Some(syn::Stmt::Expr(tail, None)) = stmts.last() {
                    returned = self.closure_value(tail, whole.end, &mut body, depth);
                }
                stmts.len()
            }
            Expr::Block(block) if block.label.is_none() => {
                self.block_stmts(&block.block.stmts, &mut body, depth + 1);
                block.block.stmts.len()
            }
            other => {
                returned = self.closure_value(other, whole.end, &mut body, depth);
                1
            }
        };
        self.closure_floors.pop();
        self.pop_frame(&mut body, whole.end);
        let span = Span::new(self.span(spans::closure_first(closure)).start, whole.end);
        out.push(Node::Scope(Scope {
            kind: ScopeKind::Block,
            span,
            keyword: self.span(closure.or1_token.spans[0]),
            statements: statements as u32,
            body,
        }));
        returned
    }

    /// The value a closure gives back (its expression body, or its block's tail): it leaves
    /// the closure, and its temporaries end with the body at `end`.
    fn closure_value(
        &mut self,
        value: &'a Expr,
        end: u32,
        body: &mut Vec<Node>,
        depth: usize,
    ) -> Ty {
        self.temp_scopes.push(Vec::new());
        let value = self.expr(value, body, depth + 1);
        self.escape(&value);
        self.end_temps(body, end);
        value.ty
    }

    pub(super) fn lower_macro(
        &mut self,
        mac: &'a syn::Macro,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Value {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return Value::default();
        }
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let span = self.join(spans::path_first(&mac.path), mac.delimiter.span().close());
        let key = self.positions.offset(mac.delimiter.span().open().start());
        let macros: &'a MacroArena = self.macros;
        let Some(&index) = macros.index.get(&key) else {
            self.escape_macro_tokens(&mac.tokens);
            return Value::default();
        };
        let body: &'a MacroBody = &macros.bodies[index];
        if matches!(body, MacroBody::Nothing) {
            self.escape_macro_tokens(&mac.tokens);
        }
        let mut value = Value::default();
        match body {
            MacroBody::Exprs(list) => {
                let mut callables = Vec::new();
                // `assert!(cond, "..", args)` is `if !cond { panic!(.., args) }`: the
                // temporaries of the condition (a guard) are dropped before the message's
                // arguments are evaluated.
                let condition_first = matches!(name.as_str(), "assert" | "debug_assert");
                for (i, item) in list.iter().enumerate() {
                    if i == 0 && condition_first {
                        self.temp_scopes.push(Vec::new());
                        let v = self.expr(item, out, depth + 1);
                        self.escape(&v);
                        self.end_temps(out, self.expr_span(item).end);
                        continue;
                    }
                    let v = self.expr(item, out, depth + 1);
                    self.escape(&v);
                    match v.ty {
                        Ty::Callable(id) => callables.push(id),
                        Ty::SleepFuture(call) if matches!(name.as_str(), "join" | "try_join") => {
                            self.push(out, EventKind::Sleep, call);
                        }
                        // `join!(a.lock(), b.lock())` polls `a`'s acquisition first: when both
                        // are free it holds `a` while it takes `b`, as two awaits in a row would.
                        // (The guards are a tuple; they are taken as temporaries of the
                        // statement.)
                        Ty::LockFuture {
                            obj,
                            how,
                            shared,
                            call,
                            receiver,
                            ..
                        } if name == "join" => {
                            self.acquire(out, obj, (how, shared), call, receiver);
                        }
                        _ => {}
                    }
                    if i == 0 && name == "vec" {
                        value = Value::of(Ty::Seq(Box::new(v.ty)));
                    }
                }
                if matches!(name.as_str(), "join" | "try_join") {
                    for callee in callables {
                        self.push(out, EventKind::Call { callee }, span);
                    }
                    self.push(out, EventKind::Await, span);
                }
            }
            MacroBody::Repeat(item, count) => {
                let v = self.expr(item, out, depth + 1);
                self.expr(count, out, depth + 1);
                value = Value::of(Ty::Seq(Box::new(v.ty)));
            }
            MacroBody::First(item) => {
                self.expr(item, out, depth + 1);
            }
            MacroBody::Stmts(stmts) => {
                let mut body = Vec::new();
                self.push_frame();
                self.block_stmts(stmts, &mut body, depth + 1);
                self.pop_frame(&mut body, span.end);
                out.push(Node::Scope(Scope {
                    kind: ScopeKind::Block,
                    span,
                    keyword: Span::new(span.start, span.start),
                    statements: stmts.len() as u32,
                    body,
                }));
            }
            MacroBody::Select(arms) => {
                // A sleep raced against another future is that wait's timeout
                // (`select! { _ = rx.recv() => .., _ = sleep(d) => .. }`), not a sleep.
                let mut sleeps = Vec::new();
                let mut waits = false;
                for arm in arms {
                    if let Some(future) = &arm.future {
                        match self.expr(future, out, depth + 1).ty {
                            Ty::Callable(callee) => {
                                waits = true;
                                self.push(out, EventKind::Call { callee }, span);
                            }
                            Ty::SleepFuture(call) => sleeps.push(call),
                            _ => waits = true,
                        }
                    }
                }
                if !waits {
                    for call in sleeps {
                        self.push(out, EventKind::Sleep, call);
                    }
                }
                self.push(out, EventKind::Await, span);
                self.lower_select_arms(arms, out, depth);
            }
            // crossbeam's `select! { recv(rx) -> msg => .., default(d) => .. }`: blocks until
            // an operation is ready, unless a bare `default` arm makes it a try.
            MacroBody::ChannelSelect(select) => {
                for operand in &select.operands {
                    let value = self.expr(operand, out, depth + 1);
                    self.escape(&value);
                }
                if select.blocking {
                    self.push(out, EventKind::Synchronize, span);
                }
                self.lower_select_arms(&select.arms, out, depth);
            }
            MacroBody::Nothing => {}
        }
        if is_panic_macro(&name) {
            out.push(exit_node(ExitKind::Raise, span));
        }
        value
    }

    /// The arms of a `select!`, each a branch of its own (one of them runs).
    fn lower_select_arms(
        &mut self,
        arms: &'a [crate::rust::macros::SelectArm],
        out: &mut Vec<Node>,
        depth: usize,
    ) {
        let count = arms.len();
        for (index, arm) in arms.iter().enumerate() {
            let mut body = Vec::new();
            self.push_frame();
            if let Some(pat) = &arm.pat {
                self.bind_pattern(pat, Value::default(), &mut body, false, depth + 1);
            }
            if let Some(guard) = &arm.guard {
                self.expr(guard, &mut body, depth + 1);
            }
            let (statements, end) = self.arm_body(&arm.handler, &mut body, depth);
            let start = match &arm.pat {
                Some(pat) => self.span_of(pat).start,
                None => self.expr_span(&arm.handler).start,
            };
            out.push(Node::Scope(Scope {
                kind: ScopeKind::Branch(BranchInfo {
                    first: index == 0,
                    has_else: count > 1,
                    condition: Condition::default(),
                    exits: expr_exit(&arm.handler),
                    acquire_test: None,
                    handles_failure: false,
                    if_statement: false,
                }),
                span: Span::new(start, end),
                keyword: Span::new(start, start),
                statements: statements as u32,
                body,
            }));
        }
    }
}
