//! Pass 3, statements: scopes (loops, branches, `with`, `try`) and the events of assignments.

use super::*;

impl<'a> Lowerer<'a> {
    pub(super) fn lower_body(
        &mut self,
        function: FnId,
        body: &'a [Stmt],
        depth: usize,
    ) -> Vec<Node> {
        let mut nodes = Vec::new();
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return nodes;
        }
        for stmt in body {
            let before = nodes.len();
            self.lower_stmt(function, stmt, depth, &mut nodes);
            if function.0 == 0 && !self.module_started_threads {
                self.module_started_threads = starts_threads(&nodes[before..]);
            }
        }
        nodes
    }

    pub(super) fn scope(
        &mut self,
        kind: ScopeKind,
        whole: TextRange,
        keyword: Span,
        body: Vec<Node>,
        statements: usize,
    ) -> Node {
        Node::Scope(Scope {
            kind,
            span: span(whole),
            keyword,
            statements: statements as u32,
            body,
        })
    }

    pub(super) fn keyword_span(&self, start: TextRange, keyword: &str) -> Span {
        let start = start.start().to_u32();
        Span::new(start, start + keyword.len() as u32)
    }

    pub(super) fn lower_stmt(
        &mut self,
        function: FnId,
        stmt: &'a Stmt,
        depth: usize,
        out: &mut Vec<Node>,
    ) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::Expr(expr_stmt) => {
                let statement = Some(span(expr_stmt.range));
                self.lower_expr(function, &expr_stmt.value, statement, out);
                self.note_awaited_futures(function, &expr_stmt.value);
                if self.is_process_exit(&expr_stmt.value) {
                    out.push(exit(ExitKind::Raise, expr_stmt.range));
                }
            }
            Stmt::Assign(assign) => {
                self.lower_expr(function, &assign.value, None, out);
                if let [Expr::Name(name)] = assign.targets.as_slice() {
                    self.local_values
                        .insert((function, name.id.to_string()), &assign.value);
                }
                self.note_awaited_futures(function, &assign.value);
                for target in &assign.targets {
                    self.forget_awaited_future(function, target);
                    self.lower_thread_binding(function, target, span(assign.range), out);
                    self.lower_write(
                        function,
                        target,
                        Some(&assign.value),
                        span(assign.range),
                        out,
                    );
                }
            }
            Stmt::AnnAssign(assign) => {
                if let Some(value) = &assign.value {
                    self.lower_expr(function, value, None, out);
                    self.lower_write(
                        function,
                        &assign.target,
                        Some(value),
                        span(assign.range),
                        out,
                    );
                }
            }
            Stmt::AugAssign(assign) => {
                self.lower_expr(function, &assign.value, None, out);
                // `time_left -= 0.5`: the local no longer holds what it was set from (a
                // countdown started from `self._timeout` is the loop's own count).
                if let Expr::Name(name) = &*assign.target {
                    self.local_values.remove(&(function, name.id.to_string()));
                }
                self.lower_write(function, &assign.target, None, span(assign.range), out);
            }
            Stmt::Return(ret) => {
                if let Some(value) = &ret.value {
                    self.lower_expr(function, value, None, out);
                }
                out.push(exit(ExitKind::Return, ret.range));
            }
            Stmt::Raise(raise) => {
                if let Some(exc) = &raise.exc {
                    self.lower_expr(function, exc, None, out);
                }
                out.push(exit(ExitKind::Raise, raise.range));
            }
            Stmt::Break(b) => out.push(exit(ExitKind::Break, b.range)),
            Stmt::Continue(c) => out.push(exit(ExitKind::Continue, c.range)),
            Stmt::If(if_stmt) => self.lower_if(function, if_stmt, depth, out),
            Stmt::While(while_stmt) => {
                let mut body = Vec::new();
                let infinite = is_constant_true(&while_stmt.test);
                if !infinite {
                    self.lower_expr(function, &while_stmt.test, None, &mut body);
                    self.lower_state_tests(function, &while_stmt.test, &mut body);
                }
                self.repeats += 1;
                self.while_assigned
                    .push(assigned_names(&while_stmt.body).into_iter().collect());
                self.while_bodies.push(&while_stmt.body);
                body.extend(self.lower_body(function, &while_stmt.body, depth + 1));
                self.repeats -= 1;
                let condition = if infinite {
                    Condition::default()
                } else {
                    self.condition(function, &while_stmt.test)
                };
                self.while_assigned.pop();
                self.while_bodies.pop();
                let mut assigned = assignments(&while_stmt.body);
                assigned.extend(self.closure_writes(function, &while_stmt.body));
                assigned.extend(self.private_mutations(function, &while_stmt.body));
                let counted = counted_names(&while_stmt.body);
                let (timed, backoff) = self.loop_sleeps(&while_stmt.body, &body, &counted);
                let info = LoopInfo {
                    kind: if infinite {
                        LoopKind::Infinite
                    } else {
                        LoopKind::While
                    },
                    condition,
                    assigned: assigned.iter().map(|(name, _)| name.clone()).collect(),
                    assigned_at: assigned.iter().map(|&(_, at)| at).collect(),
                    timed,
                    backoff,
                    counted,
                };
                let keyword = self.keyword_span(while_stmt.range, "while");
                let node = self.scope(
                    ScopeKind::Loop(info),
                    while_stmt.range,
                    keyword,
                    body,
                    while_stmt.body.len(),
                );
                out.push(node);
                out.extend(self.lower_body(function, &while_stmt.orelse, depth + 1));
            }
            Stmt::For(for_stmt) => {
                self.lower_expr(function, &for_stmt.iter, None, out);
                self.lower_unchecked_futures(function, for_stmt, out);
                self.repeats += 1;
                let body = self.lower_body(function, &for_stmt.body, depth + 1);
                self.repeats -= 1;
                let info = LoopInfo {
                    kind: LoopKind::For,
                    condition: Condition::default(),
                    assigned: assigned_names(&for_stmt.body),
                    assigned_at: Vec::new(),
                    counted: Vec::new(),
                    timed: Vec::new(),
                    backoff: false,
                };
                let keyword = self.keyword_span(
                    for_stmt.range,
                    if for_stmt.is_async {
                        "async for"
                    } else {
                        "for"
                    },
                );
                if for_stmt.is_async {
                    // Each step of an `async for` awaits the iterator.
                    out.push(Node::Event(Event {
                        kind: EventKind::Await,
                        span: keyword,
                        statement: None,
                    }));
                }
                let node = self.scope(
                    ScopeKind::Loop(info),
                    for_stmt.range,
                    keyword,
                    body,
                    for_stmt.body.len(),
                );
                out.push(node);
                out.extend(self.lower_body(function, &for_stmt.orelse, depth + 1));
            }
            Stmt::With(with) => {
                let mut body = Vec::new();
                for item in &with.items {
                    self.lower_with_item(function, item, with.is_async, &mut body);
                }
                body.extend(self.lower_body(function, &with.body, depth + 1));
                // `with pytest.raises(Timeout): lock.acquire(timeout=0.1)`: the last statement
                // is expected to raise; a lock it takes is expected not to be taken.
                if let Some(last) = with.body.last() {
                    if self.expects_raise(function, with) {
                        let last = span(last.range());
                        body.retain(|node| {
                            !matches!(node, Node::Event(Event {
                                kind: EventKind::Acquire { .. },
                                span: at,
                                ..
                            }) if last.contains(*at))
                        });
                    }
                }
                self.shut_down_with_items(function, with, &mut body);
                let keyword = self.keyword_span(
                    with.range,
                    if with.is_async { "async with" } else { "with" },
                );
                let node = self.scope(ScopeKind::With, with.range, keyword, body, with.body.len());
                out.push(node);
            }
            Stmt::Try(try_stmt) => {
                let mut parts = Vec::new();
                let keyword = self.keyword_span(try_stmt.range, "try");
                let body = self.lower_body(function, &try_stmt.body, depth + 1);
                parts.push(self.scope(
                    ScopeKind::Try,
                    suite_range(&try_stmt.body, try_stmt.range),
                    keyword,
                    body,
                    try_stmt.body.len(),
                ));
                for ExceptHandler::ExceptHandler(handler) in &try_stmt.handlers {
                    let body = self.lower_body(function, &handler.body, depth + 1);
                    let keyword = self.keyword_span(handler.range, "except");
                    let info = self.except_info(function, &try_stmt.body, handler);
                    parts.push(self.scope(
                        ScopeKind::Except(info),
                        handler.range,
                        keyword,
                        body,
                        handler.body.len(),
                    ));
                }
                if !try_stmt.orelse.is_empty() {
                    let body = self.lower_body(function, &try_stmt.orelse, depth + 1);
                    let range = suite_range(&try_stmt.orelse, try_stmt.range);
                    let keyword = Span::new(range.start().to_u32(), range.start().to_u32());
                    parts.push(self.scope(
                        ScopeKind::TryElse,
                        range,
                        keyword,
                        body,
                        try_stmt.orelse.len(),
                    ));
                }
                if !try_stmt.finalbody.is_empty() {
                    let body = self.lower_body(function, &try_stmt.finalbody, depth + 1);
                    let range = suite_range(&try_stmt.finalbody, try_stmt.range);
                    let keyword = self.finally_keyword(range);
                    let whole = TextRange::new((keyword.start).into(), range.end());
                    parts.push(self.scope(
                        ScopeKind::Finally,
                        whole,
                        keyword,
                        body,
                        try_stmt.finalbody.len(),
                    ));
                }
                let node = self.scope(ScopeKind::TryStatement, try_stmt.range, keyword, parts, 1);
                out.push(node);
            }
            Stmt::Match(match_stmt) => {
                self.lower_expr(function, &match_stmt.subject, None, out);
                for (index, case) in match_stmt.cases.iter().enumerate() {
                    let body = self.lower_body(function, &case.body, depth + 1);
                    let info = BranchInfo {
                        first: index == 0,
                        has_else: match_stmt.cases.len() > 1,
                        condition: Condition::default(),
                        exits: self.body_exits(&case.body),
                        acquire_test: None,
                        handles_failure: false,
                        if_statement: false,
                    };
                    let keyword = self.keyword_span(case.range, "case");
                    let node = self.scope(
                        ScopeKind::Branch(info),
                        case.range,
                        keyword,
                        body,
                        case.body.len(),
                    );
                    out.push(node);
                }
            }
            Stmt::Assert(assert) => self.lower_expr(function, &assert.test, None, out),
            Stmt::Delete(_)
            | Stmt::Pass(_)
            | Stmt::Import(_)
            | Stmt::ImportFrom(_)
            | Stmt::Global(_)
            | Stmt::Nonlocal(_)
            | Stmt::TypeAlias(_)
            | Stmt::IpyEscapeCommand(_) => {}
        }
    }

    /// The span of the `finally` keyword that precedes a `finally:` suite.
    pub(super) fn finally_keyword(&self, suite: TextRange) -> Span {
        let before = &self.source[..suite.start().to_usize()];
        match before.rfind("finally") {
            Some(pos) => Span::new(pos as u32, (pos + "finally".len()) as u32),
            None => Span::new(suite.start().to_u32(), suite.start().to_u32()),
        }
    }

    /// The body of a branch whose `test` may tell that a future is the one known to be done
    /// (`if f is first:` in an `as_completed` loop): that future is done in the body only.
    fn lower_narrowed(
        &mut self,
        function: FnId,
        test: &'a Expr,
        body: &'a [Stmt],
        depth: usize,
    ) -> Vec<Node> {
        let narrowed = self.same_as_done(function, test);
        if let Some(future) = narrowed {
            self.done_futures.insert(future);
        }
        let nodes = self.lower_body(function, body, depth);
        if let Some(future) = narrowed {
            self.done_futures.remove(&future);
        }
        nodes
    }

    pub(super) fn lower_if(
        &mut self,
        function: FnId,
        if_stmt: &'a ast::StmtIf,
        depth: usize,
        out: &mut Vec<Node>,
    ) {
        self.lower_expr(function, &if_stmt.test, None, out);
        self.lower_state_tests(function, &if_stmt.test, out);
        let has_else = !if_stmt.elif_else_clauses.is_empty();
        let acquire_test = self.acquire_test(function, &if_stmt.test);
        let body = self.lower_narrowed(function, &if_stmt.test, &if_stmt.body, depth + 1);
        let body_end = if_stmt
            .body
            .last()
            .map_or(if_stmt.range.end(), |s| s.range().end());
        let info = BranchInfo {
            first: true,
            has_else,
            condition: self.condition(function, &if_stmt.test),
            exits: self.body_exits(&if_stmt.body),
            acquire_test,
            handles_failure: false,
            if_statement: true,
        };
        let keyword = self.keyword_span(if_stmt.range, "if");
        let node = self.scope(
            ScopeKind::Branch(info),
            TextRange::new(if_stmt.range.start(), body_end),
            keyword,
            body,
            if_stmt.body.len(),
        );
        out.push(node);
        for clause in &if_stmt.elif_else_clauses {
            let mut body = Vec::new();
            if let Some(test) = &clause.test {
                self.lower_expr(function, test, None, &mut body);
                self.lower_state_tests(function, test, &mut body);
            }
            body.extend(match &clause.test {
                Some(test) => self.lower_narrowed(function, test, &clause.body, depth + 1),
                None => self.lower_body(function, &clause.body, depth + 1),
            });
            let condition = match &clause.test {
                Some(test) => self.condition(function, test),
                None => Condition::default(),
            };
            let info = BranchInfo {
                first: false,
                has_else: true,
                condition,
                exits: self.body_exits(&clause.body),
                acquire_test: None,
                handles_failure: false,
                if_statement: true,
            };
            let word = if clause.test.is_some() {
                "elif"
            } else {
                "else"
            };
            let keyword = self.keyword_span(clause.range, word);
            let node = self.scope(
                ScopeKind::Branch(info),
                clause.range,
                keyword,
                body,
                clause.body.len(),
            );
            out.push(node);
        }
    }

    /// `if lock.acquire(...)` / `if not lock.acquire(...)`.
    pub(super) fn acquire_test(&mut self, function: FnId, test: &Expr) -> Option<(ObjId, bool)> {
        let (call, negated) = match test {
            Expr::UnaryOp(unary) if unary.op == UnaryOp::Not => (&*unary.operand, true),
            other => (other, false),
        };
        let Expr::Call(call) = call else { return None };
        let Expr::Attribute(method) = &*call.func else {
            return None;
        };
        if method.attr.id.as_str() != "acquire" {
            return None;
        }
        let obj = self.resolve(function, &method.value)?;
        self.objects[obj.0 as usize]
            .kind
            .is_lock_like()
            .then_some((obj, negated))
    }

    /// `sys.exit(..)`, `os._exit(..)`: a call that does not come back.
    fn is_process_exit(&self, expr: &Expr) -> bool {
        let Expr::Call(call) = expr else {
            return false;
        };
        self.qualified_name(&call.func)
            .is_some_and(|q| names::is_process_exit(&q))
    }

    /// How a suite ends: `break`, `continue`, `return`, `raise`, or a call that does not
    /// come back (`sys.exit()`, `os._exit()`), which leaves like a `raise`.
    fn body_exits(&self, body: &[Stmt]) -> Option<ExitKind> {
        exits(body).or_else(|| {
            body.iter()
                .any(|stmt| matches!(stmt, Stmt::Expr(e) if self.is_process_exit(&e.value)))
                .then_some(ExitKind::Raise)
        })
    }

    pub(super) fn condition(&mut self, function: FnId, test: &Expr) -> Condition {
        let mut reads = Vec::new();
        self.condition_reads(function, test, &mut reads, 0);
        Condition {
            reads,
            span: Some(span(test.range())),
        }
    }

    pub(super) fn condition_reads(
        &mut self,
        function: FnId,
        expr: &Expr,
        reads: &mut Vec<Read>,
        depth: usize,
    ) {
        if depth > 50 {
            return;
        }
        match expr {
            Expr::Name(name) => {
                let id = name.id.to_string();
                let info = &self.functions[function.0 as usize];
                let is_local = function.0 != 0
                    && !info.globals.contains(&id)
                    && (info.params.iter().any(|(p, _)| *p == id)
                        || self.assigned_in(function).contains(&id));
                // A local set just before from a test of shared state (`done =
                // self.flag.is_set(); if done:`) re-checks that state.
                // Only a value that reads nothing but shared state is followed: the result of
                // a call or of the loop's own locals (`ok = try_connect()`, `done = n > 3`)
                // stays the loop's own state.
                if let Some(value) = self.local_values.get(&(function, id.clone())).copied() {
                    // A test or a read of state, not a new container or a literal.
                    let test = matches!(
                        value,
                        Expr::Attribute(_)
                            | Expr::Call(_)
                            | Expr::Compare(_)
                            | Expr::BoolOp(_)
                            | Expr::UnaryOp(_)
                            | Expr::Subscript(_)
                    );
                    if is_local && test {
                        let mut value_reads = Vec::new();
                        self.condition_reads(function, value, &mut value_reads, depth + 1);
                        // A local the loop sets to the current time (`now = time.monotonic()`)
                        // is the clock: a deadline, not the loop's own count. Set once before
                        // the loop, it is a fixed instant (`start`), and stays a local.
                        let now = self
                            .while_assigned
                            .last()
                            .is_some_and(|assigned| assigned.contains(&id));
                        let shared = value_reads.iter().any(|read| {
                            matches!(read, Read::Shared(_) | Read::Query { .. })
                                || (now && *read == Read::Clock)
                        }) && value_reads.iter().all(|read| {
                            matches!(
                                read,
                                Read::Shared(_) | Read::Query { .. } | Read::Constant | Read::Clock
                            )
                        });
                        if shared {
                            reads.extend(value_reads);
                            return;
                        }
                    }
                }
                reads.push(if is_local {
                    Read::Local(id)
                } else {
                    Read::Shared(id)
                });
            }
            Expr::Attribute(attr) => {
                // A property of the function's own class (`self.is_locked`): what its getter
                // returns is read (`self._fd is not None`).
                if let Some((getter, value)) = self.own_property(function, attr) {
                    self.condition_reads(getter, value, reads, depth + 1);
                    return;
                }
                reads.push(Read::Shared(self.text(expr.range()).to_string()));
            }
            Expr::Subscript(sub) => {
                self.condition_reads(function, &sub.value, reads, depth + 1);
                self.condition_reads(function, &sub.slice, reads, depth + 1);
            }
            Expr::Call(call) => {
                // A local bound to a lambda, or to `functools.partial` of one (`condition =
                // partial(lambda start, timeout: time.time() - start <= timeout, ..)`): the call
                // reads what the lambda's body reads.
                if let Some(body) = self.local_lambda(function, &call.func) {
                    self.condition_reads(function, body, reads, depth + 1);
                    return;
                }
                // A query of an object the function made itself and keeps to itself (`timer =
                // Timeout(t)`, then `while not timer.expired()`): no other thread can change
                // it; it changes with time or through this function's own calls, a deadline
                // or the loop's own state.
                if let Expr::Attribute(method) = &*call.func {
                    if let Expr::Name(receiver) = &*method.value {
                        if self.private_instance(function, receiver.id.as_str()) {
                            reads.push(Read::Clock);
                            return;
                        }
                    }
                }
                // A query of a known object's state (`stop.is_set()`), the clock, or any call.
                if let Expr::Attribute(method) = &*call.func {
                    if let Some(obj) = self.resolve(function, &method.value) {
                        let name = method.attr.id.as_str();
                        if names::is_state_query(self.objects[obj.0 as usize].kind, name) {
                            reads.push(Read::Query {
                                obj,
                                method: name.to_string(),
                            });
                            return;
                        }
                    }
                }
                if self
                    .qualified_name(&call.func)
                    .is_some_and(|q| names::is_clock(&q))
                {
                    reads.push(Read::Clock);
                    return;
                }
                // A function whose value depends on its arguments alone, applied to values the
                // loop assigns itself (`len(self.data)`, `running(self.info)`, fetched again
                // each pass): a test of the loop's own state. Other calls keep their text, which
                // names what is polled.
                if let Expr::Name(callee) = &*call.func {
                    let simple = |arg: &Expr| {
                        matches!(
                            arg,
                            Expr::Name(_)
                                | Expr::Attribute(_)
                                | Expr::Subscript(_)
                                | Expr::NumberLiteral(_)
                                | Expr::StringLiteral(_)
                        )
                    };
                    if !call.arguments.args.is_empty()
                        && call.arguments.keywords.is_empty()
                        && call.arguments.args.iter().all(simple)
                        && call.arguments.args.iter().all(|arg| self.loop_assigns(arg))
                        && self.applies_to_arguments(function, callee.id.as_str())
                    {
                        for arg in &call.arguments.args {
                            self.condition_reads(function, arg, reads, depth + 1);
                        }
                        return;
                    }
                }
                // A function applied to the state (`len(self.lines)`) is named with its
                // arguments, which hold the state; a method (`handler.done()`) by its callee.
                let text = match &*call.func {
                    Expr::Name(_) if !call.arguments.is_empty() => self.text(call.range()),
                    _ => self.text(call.func.range()),
                };
                reads.push(Read::Call(text.to_string()));
                // The locals its arguments read (`all(w.done for w in workflows)`): when the
                // loop assigns them, the test is of the loop's own state.
                let mut names = ArgumentNames::default();
                for arg in &call.arguments.args {
                    names.visit_expr(arg);
                }
                for keyword in &call.arguments.keywords {
                    names.visit_expr(&keyword.value);
                }
                let assigned = self.assigned_in(function);
                for name in names.names {
                    if function.0 != 0 && assigned.contains(&name) {
                        reads.push(Read::Local(name));
                    }
                }
            }
            Expr::BoolOp(op) => {
                for value in &op.values {
                    self.condition_reads(function, value, reads, depth + 1);
                }
            }
            Expr::UnaryOp(op) => self.condition_reads(function, &op.operand, reads, depth + 1),
            Expr::Compare(cmp) => {
                let mut compared = Vec::new();
                self.condition_reads(function, &cmp.left, &mut compared, depth + 1);
                for c in &cmp.comparators {
                    self.condition_reads(function, c, &mut compared, depth + 1);
                }
                // A comparison with the clock is a deadline test: what it compares against is
                // the deadline, not state another thread changes.
                if compared.contains(&Read::Clock) {
                    reads.push(Read::Clock);
                } else {
                    reads.extend(compared);
                }
            }
            Expr::BinOp(op) => {
                self.condition_reads(function, &op.left, reads, depth + 1);
                self.condition_reads(function, &op.right, reads, depth + 1);
            }
            Expr::Named(named) => self.condition_reads(function, &named.value, reads, depth + 1),
            // `await self.poll()`: what the awaited call reads.
            Expr::Await(awaited) => {
                self.condition_reads(function, &awaited.value, reads, depth + 1);
            }
            Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_) => reads.push(Read::Constant),
            _ => reads.push(Read::Shared(self.text(expr.range()).to_string())),
        }
    }

    /// The body of the lambda a local name is bound to, directly or through
    /// `functools.partial(lambda ..: .., ..)`.
    fn local_lambda(&self, function: FnId, callee: &Expr) -> Option<&'a Expr> {
        let Expr::Name(name) = callee else {
            return None;
        };
        let value = *self.local_values.get(&(function, name.id.to_string()))?;
        let lambda = match value {
            Expr::Lambda(lambda) => lambda,
            Expr::Call(call)
                if self
                    .qualified_name(&call.func)
                    .is_some_and(|q| q == "functools.partial") =>
            {
                match call.arguments.find_positional(0)? {
                    Expr::Lambda(lambda) => lambda,
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(&lambda.body)
    }

    /// The end of `with ThreadPoolExecutor() as ex:` (or `with ex:`) shuts the executor down
    /// and waits for its tasks. The events close the block's body; their span is the `with`
    /// keyword (the block's end is the last statement's end, which belongs to that statement).
    pub(super) fn shut_down_with_items(
        &mut self,
        function: FnId,
        with: &'a ast::StmtWith,
        out: &mut Vec<Node>,
    ) {
        let keyword = self.keyword_span(
            with.range,
            if with.is_async { "async with" } else { "with" },
        );
        for item in &with.items {
            let target = item
                .optional_vars
                .as_deref()
                .and_then(|t| self.resolve(function, t));
            let context = self.resolve(function, &item.context_expr);
            for obj in [target, context].into_iter().flatten() {
                if self.objects[obj.0 as usize].kind == ObjKind::Executor {
                    for kind in [EventKind::Shutdown { obj }, EventKind::Synchronize] {
                        out.push(Node::Event(Event {
                            kind,
                            span: keyword,
                            statement: None,
                        }));
                    }
                }
            }
        }
    }

    pub(super) fn lower_with_item(
        &mut self,
        function: FnId,
        item: &'a ast::WithItem,
        is_async: bool,
        out: &mut Vec<Node>,
    ) {
        let context = &item.context_expr;
        // Calls inside the context expression happen first (`with pool.get_lock():`,
        // `async with await trio.wrap_file(open(path)):`).
        if !matches!(context, Expr::Name(_) | Expr::Attribute(_)) {
            self.lower_expr(function, context, None, out);
        }
        if is_async {
            out.push(Node::Event(Event {
                kind: EventKind::Await,
                span: span(item.range),
                statement: None,
            }));
        }
        if let Some(obj) = self.resolve(function, context) {
            if self.objects[obj.0 as usize].kind.is_lock_like() {
                out.push(Node::Event(Event {
                    kind: EventKind::Acquire {
                        obj,
                        how: AcquireHow::Scoped,
                        receiver: span(context.range()),
                        shared: false,
                    },
                    span: span(context.range()),
                    statement: None,
                }));
            }
        }
    }

    /// `t.daemon = value` on a thread (`self.daemon` in a `Thread` subclass), or a name or
    /// attribute that holds a thread bound again (`t = Thread(...)` in a loop):
    /// [`EventKind::ThreadControl`] events for TL013.
    pub(super) fn lower_thread_binding(
        &mut self,
        function: FnId,
        target: &Expr,
        statement: Span,
        out: &mut Vec<Node>,
    ) {
        let is_thread = |lowerer: &Self, id: ObjId| {
            matches!(lowerer.objects[id.0 as usize].kind, ObjKind::Thread { .. })
        };
        if let Expr::Attribute(attr) = target {
            if attr.attr.id.as_str() == "daemon" {
                let thread = match self.own_thread(function, &attr.value) {
                    Some(this) => Some(this),
                    None => self
                        .resolve(function, &attr.value)
                        .filter(|&id| is_thread(self, id)),
                };
                if let Some(obj) = thread {
                    out.push(Node::Event(Event {
                        kind: EventKind::ThreadControl {
                            obj,
                            action: ThreadAction::SetDaemon,
                            name: span(attr.attr.range()),
                        },
                        span: statement,
                        statement: Some(statement),
                    }));
                }
                return;
            }
        }
        let Some((key, _)) = self.target_key(function, target) else {
            return;
        };
        if let Some(&obj) = self
            .object_by_key
            .get(&key)
            .filter(|&&id| is_thread(self, id))
        {
            out.push(Node::Event(Event {
                kind: EventKind::ThreadControl {
                    obj,
                    action: ThreadAction::Rebind,
                    name: span(target.range()),
                },
                span: statement,
                statement: Some(statement),
            }));
        }
    }

    /// A write to `target`; `value` is the assigned value (`None` for augmented assignment).
    pub(super) fn lower_write(
        &mut self,
        function: FnId,
        target: &Expr,
        value: Option<&Expr>,
        stmt: Span,
        out: &mut Vec<Node>,
    ) {
        let read_modify_write = match value {
            None => true,
            Some(value) => reads_expression(value, target),
        };
        let shared = match target {
            // Module code's own names are shared once it has started a thread.
            Expr::Name(_) if function.0 == 0 => self.module_started_threads,
            Expr::Name(name) => self.functions[function.0 as usize]
                .globals
                .contains(name.id.as_str()),
            Expr::Attribute(_) => {
                let root = attribute_path(target).map(|(root, _)| root);
                root.is_some_and(|root| {
                    Some(root) == self.self_name(function)
                        || self.functions[function.0 as usize].globals.contains(root)
                        || self.is_module_global(function, root)
                })
            }
            Expr::Subscript(sub) => match &*sub.value {
                Expr::Name(name) => {
                    let info = &self.functions[function.0 as usize];
                    function.0 != 0
                        && (info.globals.contains(name.id.as_str())
                            || self.is_module_global(function, name.id.as_str()))
                }
                Expr::Attribute(_) => attribute_path(&sub.value)
                    .is_some_and(|(root, _)| Some(root) == self.self_name(function)),
                _ => false,
            },
            _ => false,
        };
        if shared && (function.0 != 0 || matches!(target, Expr::Name(_))) {
            let obj = match target {
                // A name module code assigns is an object only if something made it one.
                Expr::Name(name) if function.0 == 0 => self
                    .object_by_key
                    .get(&ObjKey::Global(name.id.to_string()))
                    .copied(),
                _ => self.written_object(function, target),
            };
            let key = match target {
                Expr::Subscript(sub) => Some(self.item_key(&sub.slice)),
                _ => None,
            };
            out.push(Node::Event(Event {
                kind: EventKind::SharedWrite {
                    target: self.text(target.range()).to_string(),
                    obj,
                    read_modify_write,
                    key,
                    atomic: None,
                },
                span: stmt,
                statement: Some(stmt),
            }));
        }
    }

    /// A container key as [`EventKind::SharedWrite::key`] and [`EventKind::StateTest::key`]
    /// write it: its text without whitespace, so `d[a, b]` and `(a,b) in d` do not differ
    /// by spacing (parentheses of a tuple key are dropped).
    pub(super) fn item_key(&self, key: &Expr) -> String {
        let text: String = self
            .text(key.range())
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        match key {
            Expr::Tuple(tuple) if tuple.parenthesized => text
                .strip_prefix('(')
                .and_then(|t| t.strip_suffix(')'))
                .map_or(text.clone(), str::to_string),
            _ => text,
        }
    }

    /// The object a shared write changes: a global, a `self` attribute (a class member), or
    /// the container of an item write (`d` in `d[k] += 1`).
    pub(super) fn written_object(&mut self, function: FnId, target: &Expr) -> Option<ObjId> {
        let place = match target {
            Expr::Subscript(sub) => &*sub.value,
            other => other,
        };
        let display = self.text(place.range()).to_string();
        let key = match place {
            Expr::Name(name) => ObjKey::Global(name.id.to_string()),
            Expr::Attribute(_) => {
                let (root, path) = attribute_path(place)?;
                if Some(root) == self.self_name(function) {
                    self.target_key(function, place)?.0
                } else {
                    ObjKey::Global(format!("{root}.{}", path.join(".")))
                }
            }
            _ => return None,
        };
        Some(self.intern(key, display))
    }

    /// A module-level name read (not assigned) inside `function`.
    pub(super) fn is_module_global(&self, function: FnId, name: &str) -> bool {
        let info = &self.functions[function.0 as usize];
        if info.params.iter().any(|(p, _)| p == name) || self.assigned_in(function).contains(name) {
            return false;
        }
        self.assigned_in(FnId(0)).contains(name)
    }

    /// The names `function`'s body assigns (cached).
    pub(super) fn assigned_in(&self, function: FnId) -> &HashSet<String> {
        let info = &self.functions[function.0 as usize];
        info.assigned
            .get_or_init(|| assigned_names(info.body).into_iter().collect())
    }
}

/// Whether an expression holds one equal to `target` (50 levels deep).
struct Finds<'e> {
    target: ComparableExpr<'e>,
    found: bool,
    depth: usize,
}

impl<'a> Visitor<'a> for Finds<'_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.found || self.depth > 50 {
            return;
        }
        if ComparableExpr::from(expr) == self.target {
            self.found = true;
            return;
        }
        self.depth += 1;
        walk_expr(self, expr);
        self.depth -= 1;
    }
}

/// The plain names an expression reads, lambdas left out (at most 32 names, 50 levels deep).
#[derive(Default)]
struct ArgumentNames {
    names: Vec<String>,
    depth: usize,
}

impl<'a> Visitor<'a> for ArgumentNames {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth > 50 {
            return;
        }
        match expr {
            Expr::Lambda(_) => {}
            Expr::Name(name) => {
                if self.names.len() < 32 && !self.names.iter().any(|n| n == name.id.as_str()) {
                    self.names.push(name.id.to_string());
                }
            }
            _ => {
                self.depth += 1;
                walk_expr(self, expr);
                self.depth -= 1;
            }
        }
    }
}

/// The nodes start a thread or submit work somewhere inside.
fn starts_threads(nodes: &[Node]) -> bool {
    nodes.iter().any(|node| match node {
        Node::Event(event) => matches!(
            event.kind,
            EventKind::ThreadStart { .. } | EventKind::Submit { .. }
        ),
        Node::Scope(scope) => starts_threads(&scope.body),
    })
}

impl Lowerer<'_> {
    /// What a loop's sleeps say about the names it changes: the names of `counted` that it
    /// counts by the amount a sleep waits (`sleep(step)` and `left -= step`, the same
    /// expression: the time waited, [`LoopInfo::timed`]), and whether it sleeps for a variable
    /// or attribute it grows from its own value (`sleep(delay)` and `delay = min(2 * delay,
    /// 30)` or `delay *= 2`: a back-off between attempts, [`LoopInfo::backoff`]).
    fn loop_sleeps(
        &self,
        body: &[Stmt],
        lowered: &[Node],
        counted: &[String],
    ) -> (Vec<String>, bool) {
        // The sleeps' spans (an awaited one's may cover its `await`).
        let mut sleeps: Vec<Span> = Vec::new();
        threadlint_rules::model::events(lowered, &mut |event, _| {
            if matches!(event.kind, EventKind::Sleep) {
                sleeps.push(event.span);
            }
        });
        if sleeps.is_empty() {
            return (Vec::new(), false);
        }
        let is_sleep = |call: &ast::ExprCall| {
            let call = span(call.range());
            sleeps
                .iter()
                .any(|sleep| sleep.contains(call) && sleep.end == call.end)
        };
        let mut amounts: Vec<ComparableExpr> = Vec::new();
        let mut steps: Vec<(&str, ComparableExpr)> = Vec::new();
        let mut grown: Vec<ComparableExpr> = Vec::new();
        walk_own_body(body, |visited| match visited {
            Visited::Expr(Expr::Call(call)) if is_sleep(call) && call.arguments.args.len() == 1 => {
                amounts.push(ComparableExpr::from(&call.arguments.args[0]));
            }
            Visited::Stmt(Stmt::AugAssign(step)) => {
                if let Expr::Name(name) = &*step.target {
                    steps.push((name.id.as_str(), ComparableExpr::from(&*step.value)));
                }
                grown.push(ComparableExpr::from(&*step.target));
            }
            Visited::Stmt(Stmt::Assign(assign)) => {
                if let [target] = assign.targets.as_slice() {
                    let mut finds = Finds {
                        target: ComparableExpr::from(target),
                        found: false,
                        depth: 0,
                    };
                    finds.visit_expr(&assign.value);
                    if finds.found {
                        grown.push(finds.target);
                    }
                }
            }
            _ => {}
        });
        let timed = counted
            .iter()
            .filter(|name| {
                steps
                    .iter()
                    .any(|(target, step)| target == name && amounts.contains(step))
            })
            .cloned()
            .collect();
        // An interval is a plain variable or attribute the loop grows.
        let backoff = amounts.iter().any(|amount| {
            matches!(
                amount,
                ComparableExpr::Name(_) | ComparableExpr::Attribute(_)
            ) && grown.contains(amount)
        });
        (timed, backoff)
    }
}
