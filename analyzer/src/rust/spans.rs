//! The first and last token of syn nodes, found by walking the syntax tree's edges. syn's
//! `Spanned` re-tokenizes the whole node (linear in its size, recursive in its depth); these
//! walks follow only the leftmost or rightmost branch, iteratively.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, Path, PathArguments, RangeLimits, Stmt, UnOp};

fn label(label: Option<&syn::Label>) -> Option<Span> {
    label.map(|l| l.name.apostrophe)
}

fn range_limits(limits: &RangeLimits) -> Span {
    match limits {
        RangeLimits::HalfOpen(t) => t.spans[0],
        RangeLimits::Closed(t) => t.spans[0],
    }
}

pub fn path_first(path: &Path) -> Span {
    match (&path.leading_colon, path.segments.first()) {
        (Some(colon), _) => colon.spans[0],
        (None, Some(segment)) => segment.ident.span(),
        (None, None) => Span::call_site(),
    }
}

pub fn path_last(path: &Path) -> Span {
    match path.segments.last() {
        Some(segment) => match &segment.arguments {
            PathArguments::AngleBracketed(args) => args.gt_token.spans[0],
            PathArguments::Parenthesized(args) => match &args.output {
                syn::ReturnType::Type(_, ty) => ty.span(),
                syn::ReturnType::Default => args.paren_token.span.close(),
            },
            PathArguments::None => segment.ident.span(),
        },
        None => Span::call_site(),
    }
}

pub fn closure_first(e: &syn::ExprClosure) -> Span {
    e.lifetimes
        .as_ref()
        .map(|l| l.for_token.span)
        .or(e.constness.map(|t| t.span))
        .or(e.movability.map(|t| t.span))
        .or(e.asyncness.map(|t| t.span))
        .or(e.capture.map(|t| t.span))
        .unwrap_or(e.or1_token.spans[0])
}

pub fn first(mut expr: &Expr) -> Span {
    loop {
        expr = match expr {
            Expr::Array(e) => return e.bracket_token.span.open(),
            Expr::Assign(e) => &e.left,
            Expr::Async(e) => return e.async_token.span,
            Expr::Await(e) => &e.base,
            Expr::Binary(e) => &e.left,
            Expr::Block(e) => {
                return label(e.label.as_ref()).unwrap_or(e.block.brace_token.span.open())
            }
            Expr::Break(e) => return e.break_token.span,
            Expr::Call(e) => &e.func,
            Expr::Cast(e) => &e.expr,
            Expr::Closure(e) => return closure_first(e),
            Expr::Const(e) => return e.const_token.span,
            Expr::Continue(e) => return e.continue_token.span,
            Expr::Field(e) => &e.base,
            Expr::ForLoop(e) => return label(e.label.as_ref()).unwrap_or(e.for_token.span),
            Expr::Group(e) => &e.expr,
            Expr::If(e) => return e.if_token.span,
            Expr::Index(e) => &e.expr,
            Expr::Infer(e) => return e.underscore_token.spans[0],
            Expr::Let(e) => return e.let_token.span,
            Expr::Lit(e) => return e.lit.span(),
            Expr::Loop(e) => return label(e.label.as_ref()).unwrap_or(e.loop_token.span),
            Expr::Macro(e) => return path_first(&e.mac.path),
            Expr::Match(e) => return e.match_token.span,
            Expr::MethodCall(e) => &e.receiver,
            Expr::Paren(e) => return e.paren_token.span.open(),
            Expr::Path(e) => {
                return match &e.qself {
                    Some(q) => q.lt_token.spans[0],
                    None => path_first(&e.path),
                }
            }
            Expr::Range(e) => match &e.start {
                Some(start) => start,
                None => return range_limits(&e.limits),
            },
            Expr::RawAddr(e) => return e.and_token.spans[0],
            Expr::Reference(e) => return e.and_token.spans[0],
            Expr::Repeat(e) => return e.bracket_token.span.open(),
            Expr::Return(e) => return e.return_token.span,
            Expr::Struct(e) => {
                return match &e.qself {
                    Some(q) => q.lt_token.spans[0],
                    None => path_first(&e.path),
                }
            }
            Expr::Try(e) => &e.expr,
            Expr::TryBlock(e) => return e.try_token.span,
            Expr::Tuple(e) => return e.paren_token.span.open(),
            Expr::Unary(e) => {
                return match &e.op {
                    UnOp::Deref(t) => t.spans[0],
                    UnOp::Not(t) => t.spans[0],
                    UnOp::Neg(t) => t.spans[0],
                    _ => Span::call_site(),
                }
            }
            Expr::Unsafe(e) => return e.unsafe_token.span,
            Expr::Verbatim(tokens) => {
                return tokens
                    .clone()
                    .into_iter()
                    .next()
                    .map_or(Span::call_site(), |t| t.span())
            }
            Expr::While(e) => return label(e.label.as_ref()).unwrap_or(e.while_token.span),
            Expr::Yield(e) => return e.yield_token.span,
            _ => return Span::call_site(),
        };
    }
}

pub fn last(mut expr: &Expr) -> Span {
    loop {
        expr = match expr {
            Expr::Array(e) => return e.bracket_token.span.close(),
            Expr::Assign(e) => &e.right,
            Expr::Async(e) => return e.block.brace_token.span.close(),
            Expr::Await(e) => return e.await_token.span,
            Expr::Binary(e) => &e.right,
            Expr::Block(e) => return e.block.brace_token.span.close(),
            Expr::Break(e) => match (&e.expr, &e.label) {
                (Some(value), _) => value,
                (None, Some(l)) => return l.ident.span(),
                (None, None) => return e.break_token.span,
            },
            Expr::Call(e) => return e.paren_token.span.close(),
            Expr::Cast(e) => return e.ty.span(),
            Expr::Closure(e) => &e.body,
            Expr::Const(e) => return e.block.brace_token.span.close(),
            Expr::Continue(e) => {
                return e
                    .label
                    .as_ref()
                    .map_or(e.continue_token.span, |l| l.ident.span())
            }
            Expr::Field(e) => {
                return match &e.member {
                    syn::Member::Named(ident) => ident.span(),
                    syn::Member::Unnamed(index) => index.span,
                }
            }
            Expr::ForLoop(e) => return e.body.brace_token.span.close(),
            Expr::Group(e) => &e.expr,
            Expr::If(e) => match &e.else_branch {
                Some((_, otherwise)) => otherwise,
                None => return e.then_branch.brace_token.span.close(),
            },
            Expr::Index(e) => return e.bracket_token.span.close(),
            Expr::Infer(e) => return e.underscore_token.spans[0],
            Expr::Let(e) => &e.expr,
            Expr::Lit(e) => return e.lit.span(),
            Expr::Loop(e) => return e.body.brace_token.span.close(),
            Expr::Macro(e) => return e.mac.delimiter.span().close(),
            Expr::Match(e) => return e.brace_token.span.close(),
            Expr::MethodCall(e) => return e.paren_token.span.close(),
            Expr::Paren(e) => return e.paren_token.span.close(),
            Expr::Path(e) => return path_last(&e.path),
            Expr::Range(e) => match &e.end {
                Some(end) => end,
                None => return range_limits(&e.limits),
            },
            Expr::RawAddr(e) => &e.expr,
            Expr::Reference(e) => &e.expr,
            Expr::Repeat(e) => return e.bracket_token.span.close(),
            Expr::Return(e) => match &e.expr {
                Some(value) => value,
                None => return e.return_token.span,
            },
            Expr::Struct(e) => return e.brace_token.span.close(),
            Expr::Try(e) => return e.question_token.spans[0],
            Expr::TryBlock(e) => return e.block.brace_token.span.close(),
            Expr::Tuple(e) => return e.paren_token.span.close(),
            Expr::Unary(e) => &e.expr,
            Expr::Unsafe(e) => return e.block.brace_token.span.close(),
            Expr::Verbatim(tokens) => {
                return tokens
                    .clone()
                    .into_iter()
                    .last()
                    .map_or(Span::call_site(), |t| t.span())
            }
            Expr::While(e) => return e.body.brace_token.span.close(),
            Expr::Yield(e) => match &e.expr {
                Some(value) => value,
                None => return e.yield_token.span,
            },
            _ => return Span::call_site(),
        };
    }
}

/// The first and last token of a statement (`None` for items, which are not lowered in place).
pub fn stmt(stmt: &Stmt) -> Option<(Span, Span)> {
    match stmt {
        Stmt::Local(local) => Some((local.let_token.span, local.semi_token.spans[0])),
        Stmt::Expr(expr, semi) => {
            Some((first(expr), semi.map_or_else(|| last(expr), |s| s.spans[0])))
        }
        Stmt::Macro(m) => Some((
            path_first(&m.mac.path),
            m.semi_token
                .map_or_else(|| m.mac.delimiter.span().close(), |s| s.spans[0]),
        )),
        Stmt::Item(_) => None,
    }
}
