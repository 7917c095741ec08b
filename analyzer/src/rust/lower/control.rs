//! Control flow: `if` (and `if let` by edition), `match`, `while`, `for` and their conditions,
//! lowered into branch and loop scopes.

use proc_macro2::Span as TokenSpan;
use syn::spanned::Spanned;
use syn::{Expr, Pat};
use threadlint_rules::model::{
    AcquireHow, BlockingKind, BranchInfo, Condition, Event, EventKind, LoopInfo, LoopKind, Node,
    ObjId, ObjKind, Read, Scope, ScopeKind, Span, StateTestKind,
};

use crate::rust::names;
use crate::rust::Edition;

use super::resolve::Res;
use super::syntax::{
    assigned_names, block_exit, contains_let, expr_exit, is_comparison, loop_assignments,
};
use super::values::{Ty, Value};
use super::{Lowerer, MAX_DEPTH};

impl<'a> Lowerer<'a> {
    pub(super) fn condition(&self, expr: &Expr) -> Condition {
        let mut reads = Vec::new();
        self.condition_reads(expr, &mut reads, 0);
        Condition {
            reads,
            span: Some(self.expr_span(expr)),
        }
    }

    pub(super) fn condition_reads(&self, expr: &Expr, reads: &mut Vec<Read>, depth: usize) {
        if depth > 50 {
            return;
        }
        match expr {
            Expr::Path(path) => {
                let text = self.expr_text(expr);
                if path.path.segments.len() == 1 {
                    if let Some(binding) = self.lookup(&text) {
                        // `let ready = READY.load(o);` then `if !ready`: a test of `READY`.
                        if let Some(tests) = &binding.tests {
                            reads.extend(tests.iter().cloned());
                            return;
                        }
                        // `let now = Instant::now();` then `if now >= deadline`.
                        reads.push(match binding.value.ty {
                            Ty::Clock => Read::Clock,
                            _ => Read::Local(text),
                        });
                        return;
                    }
                }
                let segments = self.segments_here(&path.path);
                match self.resolve(self.current_module(), &segments, 0) {
                    Res::Static(_) => reads.push(Read::Shared(text)),
                    _ => reads.push(Read::Constant),
                }
            }
            Expr::Field(_) => reads.push(Read::Shared(self.expr_text(expr))),
            // `start.elapsed()`: the time since an instant, a deadline test.
            Expr::MethodCall(call) if call.method == "elapsed" && call.args.is_empty() => {
                reads.push(Read::Clock);
            }
            Expr::MethodCall(call) => {
                let receiver = self.expr_text(&call.receiver);
                reads.push(Read::Call(format!("{receiver}.{}", call.method)));
            }
            Expr::Call(call) => {
                let clock = match &*call.func {
                    Expr::Path(path) if path.qself.is_none() => {
                        let segments = self.segments_here(&path.path);
                        matches!(
                            self.resolve(self.current_module(), &segments, 0),
                            Res::External(full) if names::is_clock(&full)
                        )
                    }
                    _ => false,
                };
                reads.push(if clock {
                    Read::Clock
                } else {
                    Read::Call(self.expr_text(&call.func))
                });
            }
            Expr::Macro(mac) => {
                let name = mac
                    .mac
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default();
                reads.push(Read::Call(format!("{name}!")));
            }
            Expr::Unary(unary) => self.condition_reads(&unary.expr, reads, depth + 1),
            Expr::Paren(paren) => self.condition_reads(&paren.expr, reads, depth + 1),
            Expr::Group(group) => self.condition_reads(&group.expr, reads, depth + 1),
            Expr::Reference(reference) => self.condition_reads(&reference.expr, reads, depth + 1),
            Expr::Cast(cast) => self.condition_reads(&cast.expr, reads, depth + 1),
            Expr::Await(awaited) => self.condition_reads(&awaited.base, reads, depth + 1),
            Expr::Try(tried) => self.condition_reads(&tried.expr, reads, depth + 1),
            // A comparison with the clock is a deadline test: what it compares against is the
            // deadline, not state another thread changes.
            Expr::Binary(binary) if is_comparison(&binary.op) => {
                let mut compared = Vec::new();
                self.condition_reads(&binary.left, &mut compared, depth + 1);
                self.condition_reads(&binary.right, &mut compared, depth + 1);
                if compared.contains(&Read::Clock) {
                    reads.push(Read::Clock);
                } else {
                    reads.extend(compared);
                }
            }
            Expr::Binary(binary) => {
                self.condition_reads(&binary.left, reads, depth + 1);
                self.condition_reads(&binary.right, reads, depth + 1);
            }
            Expr::Index(index) => {
                self.condition_reads(&index.expr, reads, depth + 1);
                self.condition_reads(&index.index, reads, depth + 1);
            }
            Expr::Let(let_expr) => self.condition_reads(&let_expr.expr, reads, depth + 1),
            Expr::Lit(_) => reads.push(Read::Constant),
            // `{ let r = shutdown.load(o); r }`: what the block's value is made from.
            Expr::Block(block) if block.label.is_none() => match block_value(&block.block) {
                Some(value) => self.condition_reads(value, reads, depth + 1),
                None => reads.push(Read::Shared(self.expr_text(expr))),
            },
            _ => reads.push(Read::Shared(self.expr_text(expr))),
        }
    }

    /// The body of a `match` or `select!` arm, in the frame the caller pushed (which this
    /// pops): its temporaries end with it. How many statements it holds, and where it ends.
    pub(super) fn arm_body(
        &mut self,
        handler: &'a Expr,
        body: &mut Vec<Node>,
        depth: usize,
    ) -> (usize, u32) {
        let end = self.expr_span(handler).end;
        self.temp_scopes.push(Vec::new());
        let statements = match handler {
            Expr::Block(block) if block.label.is_none() => {
                self.block_stmts(&block.block.stmts, body, depth + 1);
                block.block.stmts.len()
            }
            other => {
                self.expr(other, body, depth + 1);
                1
            }
        };
        self.end_temps(body, end);
        self.pop_frame(body, end);
        (statements, end)
    }

    /// `let name = init;` where `init` reads shared state alone (an atomic `load`, a field, a
    /// static, a query of a synchronisation object, constants, the clock): a condition that
    /// tests `name` tests that state, as though `init` were written there. Any other `let` in
    /// a loop (`let inserted = cache.insert(..)`) is the result of the pass's own attempt.
    pub(super) fn note_let_test(&mut self, pat: &Pat, init: &Expr, loads_before: usize) {
        let pat = match pat {
            Pat::Type(typed) => &*typed.pat,
            other => other,
        };
        let Pat::Ident(ident) = pat else { return };
        let name = ident.ident.to_string();
        // The binding just made: the innermost of its name.
        let Some(binding) = self.lookup(&name) else {
            return;
        };
        let guarded = match (&binding.value.ty, &binding.guard) {
            (Ty::Guard(Some(obj), _), _) => Some(*obj),
            (_, Some(guard)) => Some(guard.obj),
            _ => None,
        };
        let tests = if let Some(obj) = guarded {
            // `let guard = m.lock().unwrap();`: what the guard reads is the data under the
            // lock, which other threads write.
            vec![Read::Shared(self.objects[obj.0 as usize].display.clone())]
        } else {
            let span = self.expr_span(init);
            let loads = self.atomic_loads[loads_before.min(self.atomic_loads.len())..]
                .iter()
                .filter(|(load, _)| span.contains(*load))
                .count();
            let reads = self.condition(init).reads;
            let calls = reads
                .iter()
                .filter(|read| matches!(read, Read::Call(_)))
                .count();
            let state = loads > 0
                || reads
                    .iter()
                    .any(|read| matches!(read, Read::Shared(_) | Read::Query { .. }));
            // Every call it makes is one of its atomic loads, and it reads no local.
            let only_state =
                calls <= loads && !reads.iter().any(|read| matches!(read, Read::Local(_)));
            if !(state && only_state) {
                return;
            }
            reads
        };
        if let Some(binding) = self.lookup_mut(&name) {
            binding.tests = Some(tests);
        }
    }

    /// A [`EventKind::StateTest`] for each atomic `load` in a condition (lowered just
    /// before): the value the branch or loop goes on to act on.
    pub(super) fn state_tests(&mut self, condition: Option<Span>, out: &mut Vec<Node>) {
        let Some(condition) = condition else { return };
        let loads: Vec<(Span, ObjId)> = self
            .atomic_loads
            .iter()
            .rev()
            .take_while(|(load, _)| load.start >= condition.start)
            .filter(|(load, _)| condition.contains(*load))
            .copied()
            .collect();
        for (load, obj) in loads.into_iter().rev() {
            self.push(
                out,
                EventKind::StateTest {
                    obj,
                    test: StateTestKind::AtomicLoad,
                    key: None,
                },
                load,
            );
        }
    }

    pub(super) fn lower_if(
        &mut self,
        first_if: &'a syn::ExprIf,
        out: &mut Vec<Node>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        // An `else if` chain is lowered iteratively: long chains must not recurse.
        let mut current = first_if;
        let mut first = true;
        // Before edition 2024, the scrutinee of an `if let` with an `else` lives to the end of
        // the whole `if`/`else` (in the `else` it is the value that did not match, such as
        // the `Err` holding a poisoned guard): the guards its pattern bound are released there.
        let mut deferred: Vec<ObjId> = Vec::new();
        loop {
            let has_let = contains_let(&current.cond);
            let keyword = self.span(current.if_token.span);
            let arm_start = if first {
                keyword.start
            } else {
                self.else_before(current.if_token.span)
            };
            self.push_frame();
            // A plain condition drops its temporaries before the body runs; an `if let`
            // scrutinee's live through the body (and the `else`, before edition 2024).
            let own_temps = !has_let || self.edition >= Edition::E2024;
            if own_temps {
                self.temp_scopes.push(Vec::new());
            }
            let mut cond_nodes = Vec::new();
            self.expr(&current.cond, &mut cond_nodes, depth + 1);
            let keep_to_the_end = has_let && !own_temps && current.else_branch.is_some();
            if keep_to_the_end {
                // Only a blocking acquisition: the `else` of `if let Ok(g) = m.try_lock()`
                // mostly means another thread holds the lock, and this one holds nothing.
                let blocking: Vec<ObjId> = cond_nodes
                    .iter()
                    .filter_map(|node| match node {
                        Node::Event(Event {
                            kind:
                                EventKind::Acquire {
                                    obj,
                                    how: AcquireHow::Scoped,
                                    ..
                                },
                            ..
                        }) => Some(*obj),
                        _ => None,
                    })
                    .collect();
                if let Some(frame) = self.frames.last_mut() {
                    for binding in &mut frame.bindings {
                        if let Some(guard) = binding.guard.as_mut() {
                            if guard.release_at_end
                                && !guard.released
                                && blocking.contains(&guard.obj)
                            {
                                guard.released = true;
                                deferred.push(guard.obj);
                            }
                        }
                    }
                }
            }
            if !has_let {
                let cond_end = self.expr_span(&current.cond).end;
                self.end_temps(&mut cond_nodes, cond_end);
            }
            let condition = self.condition(&current.cond);
            self.state_tests(condition.span, &mut cond_nodes);
            // The first arm's condition runs before the `if`; an `else if` arm's inside it.
            let mut body = Vec::new();
            if first {
                out.append(&mut cond_nodes);
            } else {
                body.append(&mut cond_nodes);
            }
            let then_end = self.span(current.then_branch.brace_token.span.close());
            self.block_stmts(&current.then_branch.stmts, &mut body, depth + 1);
            self.pop_frame(&mut body, then_end.start);
            out.push(Node::Scope(Scope {
                kind: ScopeKind::Branch(BranchInfo {
                    first,
                    has_else: current.else_branch.is_some() || !first,
                    condition,
                    exits: block_exit(&current.then_branch),
                    acquire_test: None,
                    handles_failure: false,
                    if_statement: true,
                }),
                span: Span::new(arm_start, then_end.end),
                keyword,
                statements: current.then_branch.stmts.len() as u32,
                body,
            }));
            if has_let && own_temps {
                self.end_temps(out, then_end.end);
            }
            if let Some((else_token, otherwise)) = &current.else_branch {
                match &**otherwise {
                    Expr::If(next) => {
                        current = next;
                        first = false;
                    }
                    Expr::Block(block) => {
                        let keyword = self.span(else_token.span);
                        let close = self.span(block.block.brace_token.span.close());
                        let mut body = Vec::new();
                        self.push_frame();
                        self.block_stmts(&block.block.stmts, &mut body, depth + 1);
                        self.pop_frame(&mut body, close.start);
                        out.push(Node::Scope(Scope {
                            kind: ScopeKind::Branch(BranchInfo {
                                first: false,
                                has_else: true,
                                condition: Condition::default(),
                                exits: block_exit(&block.block),
                                acquire_test: None,
                                handles_failure: false,
                                if_statement: true,
                            }),
                            span: Span::new(keyword.start, close.end),
                            keyword,
                            statements: block.block.stmts.len() as u32,
                            body,
                        }));
                        self.release_deferred(&mut deferred, close.end, out);
                        break;
                    }
                    other => {
                        self.expr(other, out, depth + 1);
                        let end = self.expr_span(other).end;
                        self.release_deferred(&mut deferred, end, out);
                        break;
                    }
                }
            } else {
                self.release_deferred(&mut deferred, then_end.end, out);
                break;
            }
        }
    }

    /// Releases, at `at`, the guards an `if let` scrutinee kept alive through its `else`.
    fn release_deferred(&mut self, deferred: &mut Vec<ObjId>, at: u32, out: &mut Vec<Node>) {
        for obj in deferred.drain(..).rev() {
            self.push(out, EventKind::Release { obj }, Span::new(at, at));
        }
    }

    /// The offset of the `else` keyword that precedes an `else if`.
    pub(super) fn else_before(&self, if_token: TokenSpan) -> u32 {
        let at = self.span(if_token).start as usize;
        let before = self.source.get(..at).unwrap_or("");
        match before.trim_end().strip_suffix("else") {
            Some(rest) => rest.len() as u32,
            None => at as u32,
        }
    }

    pub(super) fn lower_match(&mut self, m: &'a syn::ExprMatch, out: &mut Vec<Node>, depth: usize) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        // The scrutinee's temporaries live through the whole match.
        let before = out.len();
        let scrutinee = self.expr(&m.expr, out, depth + 1);
        self.state_tests(Some(self.expr_span(&m.expr)), out);
        // A non-blocking test of another thread's state (`try_lock()`, a state test) is not
        // an attempt whose failure an `Err` arm handles: it is "not yet".
        let attempt = !out[before..].iter().any(|node| {
            matches!(
                node,
                Node::Event(Event {
                    kind: EventKind::Acquire {
                        how: AcquireHow::NonBlocking,
                        ..
                    } | EventKind::StateTest { .. },
                    ..
                })
            )
        });
        let arms = m.arms.len();
        // On a non-blocking test, each arm tests the scrutinee as `if let` does (`match
        // m.try_lock() { Ok(g) => break g, Err(_) => sleep(..) }`). The arms of an attempt
        // (`match connect()`) handle its outcome: the pass's own result, not another thread's
        // state.
        let tested = if attempt {
            Condition::default()
        } else {
            self.condition(&m.expr)
        };
        for (index, arm) in m.arms.iter().enumerate() {
            let mut body = Vec::new();
            self.push_frame();
            self.bind_pattern(&arm.pat, scrutinee.clone(), &mut body, true, depth + 1);
            if let Some((_, guard)) = &arm.guard {
                self.temp_scopes.push(Vec::new());
                self.expr(guard, &mut body, depth + 1);
                let end = self.expr_span(guard).end;
                self.end_temps(&mut body, end);
            }
            let (statements, end) = self.arm_body(&arm.body, &mut body, depth);
            let pattern = self.span_of(&arm.pat);
            out.push(Node::Scope(Scope {
                kind: ScopeKind::Branch(BranchInfo {
                    first: index == 0,
                    has_else: arms > 1,
                    condition: tested.clone(),
                    exits: expr_exit(&arm.body),
                    acquire_test: None,
                    handles_failure: attempt && any_error(&arm.pat),
                    if_statement: false,
                }),
                span: Span::new(pattern.start, end),
                keyword: pattern,
                statements: statements as u32,
                body,
            }));
        }
    }

    pub(super) fn span_of(&self, node: &impl Spanned) -> Span {
        self.span(node.span())
    }

    pub(super) fn lower_while(&mut self, w: &'a syn::ExprWhile, out: &mut Vec<Node>, depth: usize) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        let has_let = contains_let(&w.cond);
        let infinite =
            matches!(&*w.cond, Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(b), .. }) if b.value);
        let mut body = Vec::new();
        self.push_frame();
        self.temp_scopes.push(Vec::new());
        self.expr(&w.cond, &mut body, depth + 1);
        self.state_tests(Some(self.expr_span(&w.cond)), &mut body);
        if !has_let {
            let end = self.expr_span(&w.cond).end;
            self.end_temps(&mut body, end);
            self.temp_scopes.push(Vec::new());
        }
        self.repetition += 1;
        self.block_stmts(&w.body.stmts, &mut body, depth + 1);
        self.repetition -= 1;
        let end = self.span(w.body.brace_token.span.close()).start;
        self.pop_frame(&mut body, end);
        // A `while let` scrutinee's temporaries live through each iteration's body.
        self.end_temps(&mut body, end);
        let (assigned, counted) = loop_assignments(&w.body);
        let info = LoopInfo {
            kind: if infinite {
                LoopKind::Infinite
            } else {
                LoopKind::While
            },
            condition: if infinite {
                Condition::default()
            } else {
                self.condition(&w.cond)
            },
            assigned,
            assigned_at: Vec::new(),
            counted,
            timed: Vec::new(),
            backoff: false,
        };
        out.push(Node::Scope(Scope {
            kind: ScopeKind::Loop(info),
            span: Span::new(
                self.span(
                    w.label
                        .as_ref()
                        .map_or(w.while_token.span, |l| l.name.apostrophe),
                )
                .start,
                self.span(w.body.brace_token.span.close()).end,
            ),
            keyword: self.span(w.while_token.span),
            statements: w.body.stmts.len() as u32,
            body,
        }));
    }

    pub(super) fn lower_for(&mut self, f: &'a syn::ExprForLoop, out: &mut Vec<Node>, depth: usize) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        // The iterator's temporaries live for the whole loop (they stay pending in the
        // enclosing statement).
        let iterable = self.expr(&f.expr, out, depth + 1);
        // `for msg in &rx`, `for msg in rx.iter()`: each pass receives, until every sender is
        // dropped.
        let at = self.expr_span(&f.expr);
        match iterable.ty {
            Ty::Sync(ObjKind::Receiver) => {
                let obj = self.object(&iterable, at, ObjKind::Receiver);
                self.receive_all(obj, at, out);
            }
            Ty::Drain(obj) => self.receive_all(obj, at, out),
            _ => {}
        }
        let element = match iterable.ty {
            Ty::Seq(t) | Ty::Iter(t) | Ty::Opt(t) => *t,
            _ => Ty::Unknown,
        };
        let mut body = Vec::new();
        self.push_frame();
        self.bind_pattern(&f.pat, Value::of(element), &mut body, false, depth + 1);
        self.repetition += 1;
        self.block_stmts(&f.body.stmts, &mut body, depth + 1);
        self.repetition -= 1;
        let end = self.span(f.body.brace_token.span.close()).start;
        self.pop_frame(&mut body, end);
        let whole = Span::new(
            self.span(f.for_token.span).start,
            self.span(f.body.brace_token.span.close()).end,
        );
        out.push(Node::Scope(Scope {
            kind: ScopeKind::Loop(LoopInfo {
                kind: LoopKind::For,
                condition: Condition::default(),
                assigned: assigned_names(&f.body),
                assigned_at: Vec::new(),
                counted: Vec::new(),
                timed: Vec::new(),
                backoff: false,
            }),
            span: whole,
            keyword: self.span(f.for_token.span),
            statements: f.body.stmts.len() as u32,
            body,
        }));
    }

    /// Every message received from `obj` at `at`: the receiving goes on until every sender is
    /// dropped, which waits for the threads that hold them.
    pub(super) fn receive_all(&self, obj: ObjId, at: Span, out: &mut Vec<Node>) {
        let what = "iter()".to_string();
        self.push(
            out,
            EventKind::Blocking {
                kind: BlockingKind::Recv,
                obj: Some(obj),
                timeout: false,
                what,
            },
            at,
        );
        self.push(out, EventKind::Synchronize, at);
    }

    // -------------------------------------------------------------------------- macros
}

/// `Err(_)`, `Err(e)`, `Err(ref e)`, `Err(e @ _)`: a pattern that takes any error of a `Result`.
fn any_error(pat: &syn::Pat) -> bool {
    let syn::Pat::TupleStruct(tuple) = pat else {
        return false;
    };
    if tuple.path.segments.last().is_none_or(|s| s.ident != "Err") || tuple.elems.len() != 1 {
        return false;
    }
    match &tuple.elems[0] {
        syn::Pat::Wild(_) => true,
        syn::Pat::Ident(ident) => ident
            .subpat
            .as_ref()
            .is_none_or(|(_, sub)| matches!(&**sub, syn::Pat::Wild(_))),
        _ => false,
    }
}

/// The expression a block's value comes from: its tail expression, or, when the tail is a name
/// that a `let` of the block binds (`{ let r = x.load(o); r }`), that `let`'s initializer.
fn block_value(block: &syn::Block) -> Option<&Expr> {
    let Some(syn::Stmt::Expr(tail, None)) = block.stmts.last() else {
        return None;
    };
    let Expr::Path(path) = tail else {
        return Some(tail);
    };
    let Some(name) = path.path.get_ident() else {
        return Some(tail);
    };
    let bound = block.stmts.iter().rev().find_map(|stmt| match stmt {
        syn::Stmt::Local(local) => match &local.pat {
            Pat::Ident(ident) if ident.ident == *name => Some(local),
            _ => None,
        },
        _ => None,
    });
    match bound {
        Some(local) => local.init.as_ref().map(|init| &*init.expr),
        None => Some(tail),
    }
}
