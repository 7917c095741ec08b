//! The bodies of common macros that hold ordinary Rust: `lazy_static!` and `thread_local!`
//! declarations, `tokio::select!` arms, and argument lists (`assert!`, `vec!`, `println!`).
//! Anything that does not parse is left out, silently.

use proc_macro2::TokenStream;
use std::collections::HashMap;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;

use syn::visit::Visit;
use syn::{Attribute, Block, Expr, Ident, Pat, Stmt, Token, Type, Visibility};

use super::lower::MAX_DEPTH;
use super::positions::Positions;

/// One `static [ref] NAME: Type = init;` of `lazy_static!` or `thread_local!`.
pub struct StaticDecl {
    pub name: Ident,
    pub ty: Type,
    pub init: Expr,
}

pub struct StaticDecls(pub Vec<StaticDecl>);

impl Parse for StaticDecls {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut decls = Vec::new();
        while !input.is_empty() {
            input.call(Attribute::parse_outer)?;
            input.parse::<Visibility>()?;
            input.parse::<Token![static]>()?;
            if input.peek(Token![ref]) {
                input.parse::<Token![ref]>()?;
            }
            let name: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            let ty: Type = input.parse()?;
            input.parse::<Token![=]>()?;
            if input.peek(Token![const]) && input.peek2(syn::token::Brace) {
                input.parse::<Token![const]>()?;
            }
            let init: Expr = input.parse()?;
            if input.peek(Token![;]) {
                input.parse::<Token![;]>()?;
            }
            decls.push(StaticDecl { name, ty, init });
        }
        Ok(StaticDecls(decls))
    }
}

/// One arm of `tokio::select!` / `futures::select!`: `pattern = future [, if cond] => handler`,
/// or `else => handler` (`default`/`complete` in futures) with no future.
pub struct SelectArm {
    pub pat: Option<Pat>,
    pub future: Option<Expr>,
    pub guard: Option<Expr>,
    pub handler: Expr,
}

pub struct SelectArms(pub Vec<SelectArm>);

/// `=> handler`, and the comma after it (optional after a block, and after the last arm).
fn arm_handler(input: ParseStream) -> syn::Result<Expr> {
    input.parse::<Token![=>]>()?;
    let handler: Expr = input.parse()?;
    let needs_comma = !matches!(handler, Expr::Block(_));
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    } else if needs_comma && !input.is_empty() {
        return Err(input.error("expected `,`"));
    }
    Ok(handler)
}

impl Parse for SelectArms {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut arms = Vec::new();
        if input.peek(Ident) && input.peek2(Token![;]) {
            // `biased;`
            input.parse::<Ident>()?;
            input.parse::<Token![;]>()?;
        }
        while !input.is_empty() {
            let fork = input.fork();
            let is_else = (fork.peek(Token![else]) || fork.peek(Ident)) && {
                let _ = fork.parse::<proc_macro2::TokenTree>();
                fork.peek(Token![=>])
            };
            let (pat, future, guard) = if is_else {
                input.parse::<proc_macro2::TokenTree>()?;
                (None, None, None)
            } else {
                let pat = Pat::parse_multi_with_leading_vert(input)?;
                input.parse::<Token![=]>()?;
                let future = input.call(Expr::parse_without_eager_brace)?;
                let guard = if input.peek(Token![,]) && input.peek2(Token![if]) {
                    input.parse::<Token![,]>()?;
                    input.parse::<Token![if]>()?;
                    Some(input.parse::<Expr>()?)
                } else {
                    None
                };
                (Some(pat), Some(future), guard)
            };
            let handler = arm_handler(input)?;
            arms.push(SelectArm {
                pat,
                future,
                guard,
                handler,
            });
        }
        Ok(SelectArms(arms))
    }
}

/// crossbeam's `select!`: `recv(rx) -> msg => handler`, `send(tx, value) -> res => handler`,
/// `default => handler` (a try: nothing blocks) or `default(timeout) => handler`.
pub struct ChannelSelect {
    pub arms: Vec<SelectArm>,
    /// The channels and values the operations name, in order.
    pub operands: Vec<Expr>,
    /// No bare `default` arm: the macro waits until an operation is ready.
    pub blocking: bool,
}

impl Parse for ChannelSelect {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut arms = Vec::new();
        let mut operands = Vec::new();
        let mut blocking = true;
        while !input.is_empty() {
            let operation: Ident = input.parse()?;
            let pat = match operation.to_string().as_str() {
                "recv" | "send" => {
                    let content;
                    syn::parenthesized!(content in input);
                    let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
                    operands.extend(parser(&content)?);
                    input.parse::<Token![->]>()?;
                    Some(Pat::parse_multi_with_leading_vert(input)?)
                }
                "default" => {
                    if input.peek(syn::token::Paren) {
                        let content;
                        syn::parenthesized!(content in input);
                        operands.push(content.parse::<Expr>()?);
                    } else {
                        blocking = false;
                    }
                    None
                }
                _ => return Err(syn::Error::new(operation.span(), "not a channel operation")),
            };
            let handler = arm_handler(input)?;
            arms.push(SelectArm {
                pat,
                future: None,
                guard: None,
                handler,
            });
        }
        Ok(ChannelSelect {
            arms,
            operands,
            blocking,
        })
    }
}

/// What a macro's tokens hold, when they parse as ordinary Rust.
pub enum Body {
    Exprs(Vec<Expr>),
    Stmts(Vec<Stmt>),
    /// `vec![value; count]`.
    Repeat(Box<Expr>, Box<Expr>),
    /// `matches!(value, pattern)`: only the value is code.
    First(Box<Expr>),
    Select(Vec<SelectArm>),
    /// crossbeam's `select!`.
    ChannelSelect(ChannelSelect),
    Nothing,
}

fn exprs(tokens: TokenStream) -> syn::Result<Vec<Expr>> {
    let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
    Ok(parser.parse2(tokens)?.into_iter().collect())
}

fn first_expr(tokens: TokenStream) -> syn::Result<Expr> {
    let parser = |input: ParseStream| {
        let expr: Expr = input.parse()?;
        let _rest: TokenStream = input.parse()?;
        Ok(expr)
    };
    parser.parse2(tokens)
}

fn repeat(tokens: TokenStream) -> syn::Result<(Expr, Expr)> {
    let parser = |input: ParseStream| {
        let value: Expr = input.parse()?;
        input.parse::<Token![;]>()?;
        let count: Expr = input.parse()?;
        Ok((value, count))
    };
    parser.parse2(tokens)
}

fn stmts(tokens: TokenStream) -> syn::Result<Vec<Stmt>> {
    Block::parse_within.parse2(tokens)
}

/// Parses the body of the macro named `name` (the last segment of its path).
pub fn body(name: &str, tokens: &TokenStream) -> Body {
    match name {
        "select" | "select_biased" => match syn::parse2::<SelectArms>(tokens.clone()) {
            Ok(arms) => Body::Select(arms.0),
            Err(_) => syn::parse2::<ChannelSelect>(tokens.clone())
                .map_or(Body::Nothing, Body::ChannelSelect),
        },
        "matches" | "assert_matches" | "debug_assert_matches" => {
            first_expr(tokens.clone()).map_or(Body::Nothing, |e| Body::First(Box::new(e)))
        }
        "macro_rules" | "lazy_static" | "thread_local" | "cfg_if" => Body::Nothing,
        _ => {
            if let Ok(list) = exprs(tokens.clone()) {
                return Body::Exprs(list);
            }
            if name == "vec" {
                if let Ok((value, count)) = repeat(tokens.clone()) {
                    return Body::Repeat(Box::new(value), Box::new(count));
                }
            }
            match stmts(tokens.clone()) {
                Ok(list) => Body::Stmts(list),
                Err(_) => Body::Nothing,
            }
        }
    }
}

pub fn static_decls(tokens: &TokenStream) -> Vec<StaticDecl> {
    syn::parse2::<StaticDecls>(tokens.clone()).map_or_else(|_| Vec::new(), |d| d.0)
}

/// At most this many macro bodies are parsed per file.
const MAX_MACROS: usize = 50_000;

/// Parsed macro bodies, by the offset of the macro's opening delimiter. Built before the
/// lowering so that the lowering can hold references into them for the whole pass.
#[derive(Default)]
pub struct MacroArena {
    pub(super) bodies: Vec<Body>,
    pub(super) statics: Vec<Vec<StaticDecl>>,
    pub(super) index: HashMap<u32, usize>,
    pub(super) static_index: HashMap<u32, usize>,
}

struct MacroFinder<'p> {
    positions: &'p Positions<'p>,
    found: Vec<(u32, String, proc_macro2::TokenStream)>,
    depth: usize,
}

impl<'ast> Visit<'ast> for MacroFinder<'_> {
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let key = self.positions.offset(mac.delimiter.span().open().start());
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        self.found.push((key, name, mac.tokens.clone()));
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

impl MacroArena {
    pub fn build(file: &syn::File, positions: &Positions) -> Self {
        let mut arena = MacroArena::default();
        let mut finder = MacroFinder {
            positions,
            found: Vec::new(),
            depth: 0,
        };
        finder.visit_file(file);
        let mut work = std::mem::take(&mut finder.found);
        let mut processed = 0;
        while let Some((key, name, tokens)) = work.pop() {
            processed += 1;
            if processed > MAX_MACROS {
                break;
            }
            if matches!(name.as_str(), "lazy_static" | "thread_local") {
                let decls = static_decls(&tokens);
                for decl in &decls {
                    finder.visit_expr(&decl.init);
                }
                arena.static_index.insert(key, arena.statics.len());
                arena.statics.push(decls);
            } else {
                let body = body(&name, &tokens);
                match &body {
                    Body::Exprs(list) => list.iter().for_each(|e| finder.visit_expr(e)),
                    Body::Stmts(list) => list.iter().for_each(|s| finder.visit_stmt(s)),
                    Body::Repeat(a, b) => {
                        finder.visit_expr(a);
                        finder.visit_expr(b);
                    }
                    Body::First(e) => finder.visit_expr(e),
                    Body::Select(arms) => {
                        for arm in arms {
                            if let Some(f) = &arm.future {
                                finder.visit_expr(f);
                            }
                            if let Some(g) = &arm.guard {
                                finder.visit_expr(g);
                            }
                            finder.visit_expr(&arm.handler);
                        }
                    }
                    Body::ChannelSelect(select) => {
                        for operand in &select.operands {
                            finder.visit_expr(operand);
                        }
                        for arm in &select.arms {
                            finder.visit_expr(&arm.handler);
                        }
                    }
                    Body::Nothing => {}
                }
                arena.index.insert(key, arena.bodies.len());
                arena.bodies.push(body);
            }
            work.append(&mut finder.found);
        }
        arena
    }
}
