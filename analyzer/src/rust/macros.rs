//! The bodies of common macros that hold ordinary Rust: `lazy_static!` and `thread_local!`
//! declarations, `tokio::select!` arms, and argument lists (`assert!`, `vec!`, `println!`).
//! Anything that does not parse is left out, silently.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Attribute, Block, Expr, Ident, Pat, Stmt, Token, Type, Visibility};

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
            input.parse::<Token![=>]>()?;
            let handler: Expr = input.parse()?;
            let needs_comma = !matches!(handler, Expr::Block(_));
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            } else if needs_comma && !input.is_empty() {
                return Err(input.error("expected `,`"));
            }
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

/// What a macro's tokens hold, when they parse as ordinary Rust.
pub enum Body {
    Exprs(Vec<Expr>),
    Stmts(Vec<Stmt>),
    /// `vec![value; count]`.
    Repeat(Box<Expr>, Box<Expr>),
    /// `matches!(value, pattern)`: only the value is code.
    First(Box<Expr>),
    Select(Vec<SelectArm>),
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
            Err(_) => Body::Nothing,
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
