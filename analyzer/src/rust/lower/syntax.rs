//! Syntax helpers: names of members and patterns, the call a statement consists of, how a block
//! exits, the names a loop assigns.

use proc_macro2::Span as TokenSpan;
use syn::visit::Visit;
use syn::{BinOp, Block, Expr, Pat, Stmt};
use threadlint_rules::model::{Event, EventKind, ExitKind, Node, Span};

use super::method::guard_wrapper;
use super::MAX_DEPTH;

pub(super) fn signature_start(sig: &syn::Signature) -> TokenSpan {
    sig.constness
        .map(|t| t.span)
        .or(sig.asyncness.map(|t| t.span))
        .or(sig.unsafety.map(|t| t.span))
        .or(sig.abi.as_ref().map(|a| a.extern_token.span))
        .unwrap_or(sig.fn_token.span)
}

pub(super) fn member_name(member: &syn::Member) -> String {
    match member {
        syn::Member::Named(ident) => ident.to_string(),
        syn::Member::Unnamed(index) => index.index.to_string(),
    }
}

pub(super) fn single_ident(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(path)
            if path.qself.is_none()
                && path.path.segments.len() == 1
                && path.path.leading_colon.is_none() =>
        {
            Some(path.path.segments[0].ident.to_string())
        }
        Expr::Paren(paren) => single_ident(&paren.expr),
        Expr::Reference(reference) => single_ident(&reference.expr),
        _ => None,
    }
}

pub(super) fn pattern_name(pat: &Pat) -> Option<String> {
    match pat {
        Pat::Ident(ident) => Some(ident.ident.to_string()),
        Pat::Type(typed) => pattern_name(&typed.pat),
        Pat::Reference(reference) => pattern_name(&reference.pat),
        _ => None,
    }
}

/// The call a statement consists of, under `let`, assignment, `unwrap()`, `?` and `.await`.
pub(super) fn core_call(expr: &Expr) -> Option<&Expr> {
    let mut current = expr;
    for _ in 0..64 {
        current = match current {
            Expr::Assign(assign) => &assign.right,
            Expr::MethodCall(call) if guard_wrapper(&call.method.to_string()) => &call.receiver,
            Expr::Try(tried) => &tried.expr,
            Expr::Await(awaited) => &awaited.base,
            Expr::Paren(paren) => &paren.expr,
            Expr::Reference(reference) => &reference.expr,
            Expr::MethodCall(_) | Expr::Call(_) | Expr::Macro(_) => return Some(current),
            _ => return None,
        };
    }
    None
}

/// The `handle.join()` call whose result `expr`, a statement's value that is thrown away,
/// discards: `handle.join()`, `handle.join().ok()`, `_ = handle.join()`,
/// `drop(handle.join())`, `handle.join().unwrap_or_default()`.
pub(super) fn discarded_join(expr: &Expr) -> Option<&Expr> {
    let mut current = expr;
    for _ in 0..16 {
        current = match current {
            Expr::Assign(assign) if matches!(&*assign.left, Expr::Infer(_)) => &assign.right,
            Expr::Paren(paren) => &paren.expr,
            Expr::Call(call) if call.args.len() == 1 => match &*call.func {
                Expr::Path(path) if path.qself.is_none() && is_drop(&path.path) => &call.args[0],
                _ => return None,
            },
            Expr::MethodCall(call) if call.method == "join" && call.args.is_empty() => {
                return Some(current)
            }
            Expr::MethodCall(call)
                if matches!(
                    call.method.to_string().as_str(),
                    "ok" | "err" | "is_ok" | "is_err" | "unwrap_or_default" | "unwrap_or"
                ) =>
            {
                &call.receiver
            }
            _ => return None,
        };
    }
    None
}

/// `drop`, `mem::drop`, `std::mem::drop`, `core::mem::drop`.
fn is_drop(path: &syn::Path) -> bool {
    idents_match(path.segments.iter(), |names| {
        matches!(
            names,
            ["drop"] | ["mem", "drop"] | ["std" | "core", "mem", "drop"]
        )
    })
}

/// `test` applied to the identifiers of the segments, as a slice of `&str` to match on.
fn idents_match<'p>(
    segments: impl Iterator<Item = &'p syn::PathSegment>,
    test: impl FnOnce(&[&str]) -> bool,
) -> bool {
    let names: Vec<String> = segments.map(|s| s.ident.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    test(&names)
}

/// A `let` pattern that binds nothing: `_`, `_: T`.
pub(super) fn is_wildcard(pat: &syn::Pat) -> bool {
    match pat {
        syn::Pat::Wild(_) => true,
        syn::Pat::Type(typed) => is_wildcard(&typed.pat),
        _ => false,
    }
}

pub(super) fn contains_let(expr: &Expr) -> bool {
    let mut stack = vec![expr];
    while let Some(expr) = stack.pop() {
        match expr {
            Expr::Let(_) => return true,
            Expr::Binary(binary) if matches!(binary.op, BinOp::And(_)) => {
                stack.push(&binary.left);
                stack.push(&binary.right);
            }
            Expr::Paren(paren) => stack.push(&paren.expr),
            Expr::Group(group) => stack.push(&group.expr),
            _ => {}
        }
    }
    false
}

pub(super) fn is_panic_macro(name: &str) -> bool {
    matches!(name, "panic" | "unreachable" | "todo" | "unimplemented")
}

pub(super) fn expr_exit(expr: &Expr) -> Option<ExitKind> {
    match expr {
        Expr::Return(_) => Some(ExitKind::Return),
        Expr::Break(_) => Some(ExitKind::Break),
        Expr::Continue(_) => Some(ExitKind::Continue),
        Expr::Macro(mac)
            if mac
                .mac
                .path
                .segments
                .last()
                .is_some_and(|s| is_panic_macro(&s.ident.to_string())) =>
        {
            Some(ExitKind::Raise)
        }
        Expr::Block(block) => block_exit(&block.block),
        _ => None,
    }
}

/// How a block ends, when its last statement leaves the enclosing construct.
pub(super) fn block_exit(block: &Block) -> Option<ExitKind> {
    match block.stmts.last()? {
        Stmt::Expr(expr, _) => expr_exit(expr),
        Stmt::Macro(m)
            if m.mac
                .path
                .segments
                .last()
                .is_some_and(|s| is_panic_macro(&s.ident.to_string())) =>
        {
            Some(ExitKind::Raise)
        }
        _ => None,
    }
}

pub(super) fn exit_node(kind: ExitKind, span: Span) -> Node {
    Node::Event(Event {
        kind: EventKind::Exit(kind),
        span,
        statement: Some(span),
    })
}

/// Local names a loop body assigns (`i += 1`, `done = true`).
pub(super) fn assigned_names(block: &Block) -> Vec<String> {
    loop_assignments(block).0
}

/// Local names a loop body assigns, and those of them it only counts (`left -= step`: every
/// assignment a compound one), each sorted.
pub(super) fn loop_assignments(block: &Block) -> (Vec<String>, Vec<String>) {
    struct Finder {
        names: Vec<String>,
        /// Names assigned other than by a compound assignment.
        set: Vec<String>,
        depth: usize,
    }
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            if self.depth > MAX_DEPTH {
                return;
            }
            match expr {
                Expr::Assign(assign) => {
                    if let Some(name) = single_ident(&assign.left) {
                        self.set.push(name.clone());
                        self.names.push(name);
                    }
                }
                Expr::Binary(binary) if is_compound_assignment(&binary.op) => {
                    if let Some(name) = single_ident(&binary.left) {
                        self.names.push(name);
                    }
                }
                Expr::Closure(_) | Expr::Async(_) => return,
                _ => {}
            }
            self.depth += 1;
            syn::visit::visit_expr(self, expr);
            self.depth -= 1;
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
        // A `let` in the body binds a new value on every pass: the loop's own (the result of
        // the pass's attempt), unless it only reads shared state, which the condition then
        // reads through it (see `note_let_test`).
        fn visit_local(&mut self, local: &'ast syn::Local) {
            pattern_names(&local.pat, &mut self.names, 0);
            pattern_names(&local.pat, &mut self.set, 0);
            syn::visit::visit_local(self, local);
        }
    }
    fn pattern_names(pat: &Pat, names: &mut Vec<String>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match pat {
            Pat::Ident(ident) => names.push(ident.ident.to_string()),
            Pat::Type(typed) => pattern_names(&typed.pat, names, depth + 1),
            Pat::Tuple(tuple) => tuple
                .elems
                .iter()
                .for_each(|p| pattern_names(p, names, depth + 1)),
            Pat::TupleStruct(tuple) => tuple
                .elems
                .iter()
                .for_each(|p| pattern_names(p, names, depth + 1)),
            Pat::Reference(reference) => pattern_names(&reference.pat, names, depth + 1),
            _ => {}
        }
    }
    let mut finder = Finder {
        names: Vec::new(),
        set: Vec::new(),
        depth: 0,
    };
    finder.visit_block(block);
    finder.names.sort();
    finder.names.dedup();
    let counted = finder
        .names
        .iter()
        .filter(|name| !finder.set.contains(name))
        .cloned()
        .collect();
    (finder.names, counted)
}

pub(super) fn is_compound_assignment(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::AddAssign(_)
            | BinOp::SubAssign(_)
            | BinOp::MulAssign(_)
            | BinOp::DivAssign(_)
            | BinOp::RemAssign(_)
            | BinOp::BitXorAssign(_)
            | BinOp::BitAndAssign(_)
            | BinOp::BitOrAssign(_)
            | BinOp::ShlAssign(_)
            | BinOp::ShrAssign(_)
    )
}

pub(super) fn is_comparison(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_) | BinOp::Eq(_) | BinOp::Ne(_)
    )
}

/// Where an async test attribute runs the test's body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TestRuntime {
    /// `#[tokio::test]`: a current-thread runtime, whose tasks run on the test's thread while
    /// the body waits.
    CurrentThread,
    /// `#[tokio::test(flavor = "multi_thread")]`, `#[async_std::test]`: the body is driven by
    /// `block_on` on the test's thread; spawned tasks run on other threads.
    OwnThread,
}

/// What a function's test attribute says of the runtime it runs the body on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct TestAttribute {
    /// `#[tokio::test(start_paused = true)]` (and any test attribute with that argument, as a
    /// runtime's test macros spell it): the test's clock stands still from its start.
    pub(super) start_paused: bool,
    /// `#[tokio::test]` (with its `flavor`) or `#[async_std::test]`.
    pub(super) runtime: Option<TestRuntime>,
}

/// The function's test attribute (`#[tokio::test(..)]`, `#[async_std::test]`), read once.
pub(super) fn test_attribute(attrs: &[syn::Attribute]) -> TestAttribute {
    let mut found = TestAttribute::default();
    for attr in attrs {
        let segments: Vec<String> = attr
            .path()
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        if segments.last().is_none_or(|last| last != "test") {
            continue;
        }
        let mut multi_thread = false;
        if let syn::Meta::List(_) = &attr.meta {
            // Arguments this does not understand are skipped, not errors.
            let _ = attr.parse_nested_meta(|meta| {
                if !meta.input.peek(syn::Token![=]) {
                    return Ok(());
                }
                let value: syn::Expr = meta.value()?.parse()?;
                let syn::Expr::Lit(syn::ExprLit { lit, .. }) = value else {
                    return Ok(());
                };
                match lit {
                    syn::Lit::Bool(flag) if meta.path.is_ident("start_paused") => {
                        found.start_paused |= flag.value;
                    }
                    syn::Lit::Str(flavor) if meta.path.is_ident("flavor") => {
                        multi_thread |= flavor.value() == "multi_thread";
                    }
                    _ => {}
                }
                Ok(())
            });
        }
        match segments.first().map(String::as_str) {
            Some("tokio") if segments.len() == 2 => {
                found.runtime = Some(if multi_thread {
                    TestRuntime::OwnThread
                } else {
                    TestRuntime::CurrentThread
                });
            }
            Some("async_std") if segments.len() == 2 => {
                found.runtime = Some(TestRuntime::OwnThread);
            }
            _ => {}
        }
    }
    found
}

/// Locals bound to a new, empty collection (`let mut handles = Vec::new();`,
/// `Vec::with_capacity(n)`, `VecDeque::new()`, `vec![]`) that the block never mentions again
/// but as the receiver of `push`/`push_back`: nothing ever reads what goes in, and the
/// collection drops it at the end of the function.
pub(super) fn unread_collections(block: &Block) -> Vec<String> {
    #[derive(Default)]
    struct Scan {
        made: Vec<String>,
        read: Vec<String>,
        depth: usize,
    }
    fn empty_collection(expr: &Expr) -> bool {
        match expr {
            Expr::Call(call) if call.args.len() <= 1 => {
                let Expr::Path(path) = &*call.func else {
                    return false;
                };
                // `Vec::new()`, `VecDeque::with_capacity(n)`: the last two segments, reversed.
                idents_match(
                    path.path.segments.iter().rev().take(2),
                    |names| match names {
                        [method @ ("new" | "with_capacity"), "Vec" | "VecDeque"] => {
                            (*method == "with_capacity") == (call.args.len() == 1)
                        }
                        _ => false,
                    },
                )
            }
            Expr::Macro(mac) => mac.mac.path.is_ident("vec") && mac.mac.tokens.is_empty(),
            _ => false,
        }
    }
    impl<'ast> Visit<'ast> for Scan {
        fn visit_local(&mut self, local: &'ast syn::Local) {
            if let (Pat::Ident(binding), Some(init)) = (&local.pat, &local.init) {
                let name = binding.ident.to_string();
                if binding.mutability.is_some()
                    && init.diverge.is_none()
                    && empty_collection(&init.expr)
                    && !self.made.contains(&name)
                {
                    self.made.push(name);
                    return;
                }
                // Bound again: not the same collection.
                self.read.push(name);
            }
            syn::visit::visit_local(self, local);
        }
        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            let method = call.method.to_string();
            let pushed = matches!(method.as_str(), "push" | "push_back")
                && matches!(&*call.receiver, Expr::Path(p) if p.path.get_ident().is_some());
            if !pushed {
                self.visit_expr(&call.receiver);
            }
            for arg in &call.args {
                self.visit_expr(arg);
            }
        }
        fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
            if let Some(ident) = path.path.get_ident() {
                self.read.push(ident.to_string());
            }
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            // What a macro does with a name is not known: it may read it.
            let mut stack = vec![mac.tokens.clone()];
            while let Some(tokens) = stack.pop() {
                for tree in tokens {
                    match tree {
                        proc_macro2::TokenTree::Ident(ident) => self.read.push(ident.to_string()),
                        proc_macro2::TokenTree::Group(group) => stack.push(group.stream()),
                        _ => {}
                    }
                }
            }
        }
        fn visit_expr(&mut self, expr: &'ast Expr) {
            if self.depth > MAX_DEPTH {
                return;
            }
            self.depth += 1;
            syn::visit::visit_expr(self, expr);
            self.depth -= 1;
        }
    }
    let mut scan = Scan::default();
    scan.visit_block(block);
    scan.made
        .into_iter()
        .filter(|name| !scan.read.contains(name))
        .collect()
}
