//! Lowers a parsed Rust file into the concurrency model.
//!
//! Two passes. `collect` walks every item (modules, `use` declarations, structs and their field
//! types, statics including `lazy_static!`/`thread_local!`, functions and methods, type
//! aliases). `lower` then walks each function body once, in order, with a lexical environment
//! that knows what each binding is (its type as far as it matters, and its identity: a struct
//! field of `self`, a static, a parameter, a local), and emits scopes and events. Guards follow
//! the compiler's drop rules: a temporary guard is released at the end of its temporary scope
//! (statement, `if`/`while` condition, match arm), a bound one at the end of its block or at
//! `drop(guard)`.

use std::collections::{HashMap, HashSet};

use proc_macro2::Span as TokenSpan;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{BinOp, Block, Expr, FnArg, Pat, Stmt, Token, Type, UseTree};
use threadlint_rules::model::{
    AcquireHow, BlockingKind, BranchInfo, Condition, Event, EventKind, ExitKind, FileModel, Flavor,
    FnId, Function, Language, LoopInfo, LoopKind, Node, ObjId, ObjKey, ObjKind, Read, Scope,
    ScopeKind, Span, SyncObject, ThreadEntry, WaitKind,
};

use super::macros::{self, Body as MacroBody};
use super::names::{self, KnownFn, KnownType, LockMethod};
use super::positions::Positions;
use super::spans;
use super::Edition;

mod escape;

/// Deeper nesting than this is not descended into: the model keeps what is above it.
const MAX_DEPTH: usize = 150;
/// At most this many macro bodies are parsed per file.
const MAX_MACROS: usize = 50_000;
/// Glob imports followed in a row when resolving a name (`use super::*` of `use std::sync::*`).
const GLOB_HOPS: u8 = 3;

// ------------------------------------------------------------------------------ values

/// What the lowering knows about a value's type, as far as concurrency goes. Smart pointers
/// (`Arc`, `Box`, `LazyLock`) are transparent: `Arc<Mutex<T>>` is a `Lock`.
#[derive(Clone, Debug, Default, PartialEq)]
enum Ty {
    #[default]
    Unknown,
    /// A lock and the type of the data it protects.
    Lock(ObjKind, Box<Ty>),
    Sync(ObjKind),
    /// A struct of this file, by name.
    Struct(String),
    Tuple(Vec<Ty>),
    Seq(Box<Ty>),
    Opt(Box<Ty>),
    Once(Box<Ty>),
    Iter(Box<Ty>),
    /// A guard of a known lock (or of some lock), and the protected data's type.
    Guard(Option<ObjId>, Box<Ty>),
    /// `lock.raw()`: locked and unlocked by hand.
    Raw(ObjId),
    /// `m.lock()` on an async lock: a future that acquires when awaited.
    LockFuture {
        obj: ObjId,
        how: AcquireHow,
        /// A read guard (`read()`), which other read guards may share.
        shared: bool,
        inner: Box<Ty>,
        call: Span,
        receiver: Span,
    },
    /// `tokio::time::sleep(..)`: a future that sleeps (suspending the task) where it is
    /// awaited; the span is the call that made it.
    SleepFuture(Span),
    /// A reading of the clock (`Instant::now()`, `start.elapsed()`): a condition comparing with
    /// it is a deadline.
    Clock,
    /// The scope handed to `thread::scope(|s| ..)`.
    ThreadScope,
    ThreadBuilder,
    /// A closure, an async block, or a function item of this file (callable, spawnable).
    Callable(FnId),
}

/// Where a value lives: what makes two expressions the same object.
#[derive(Clone, Debug, PartialEq)]
enum Place {
    /// `self` inside a method of `class`.
    SelfValue(String),
    Key(ObjKey),
}

fn project(place: &Place, member: &str) -> Place {
    Place::Key(match place {
        Place::SelfValue(class) => ObjKey::Member {
            class: class.clone(),
            attr: member.to_string(),
        },
        Place::Key(ObjKey::Member { class, attr }) => ObjKey::Member {
            class: class.clone(),
            attr: format!("{attr}.{member}"),
        },
        Place::Key(ObjKey::Param {
            function,
            index,
            path,
        }) => {
            let mut path = path.clone();
            path.push(member.to_string());
            ObjKey::Param {
                function: *function,
                index: *index,
                path,
            }
        }
        Place::Key(ObjKey::Local { function, name }) => ObjKey::Local {
            function: *function,
            name: format!("{name}.{member}"),
        },
        Place::Key(ObjKey::Global(name)) => ObjKey::Global(format!("{name}.{member}")),
        Place::Key(ObjKey::Imported { module, name }) => ObjKey::Imported {
            module: module.clone(),
            name: format!("{name}.{member}"),
        },
        Place::Key(ObjKey::Other(text)) => ObjKey::Other(format!("{text}.{member}")),
    })
}

/// A guard produced by an expression that is not bound yet.
#[derive(Clone, Copy, Debug, PartialEq)]
struct TempRef {
    id: usize,
    /// The value is the guard itself (through `unwrap()`, `?`, `.await`), not data inside it.
    direct: bool,
    /// Borrowed (`&guard.field`): a `let` extends the temporary to its block.
    borrowed: bool,
}

#[derive(Clone, Debug, Default)]
struct Value {
    place: Option<Place>,
    ty: Ty,
    temp: Option<TempRef>,
    /// The `ThreadStart` event that created this thread handle.
    spawn: Option<Span>,
    /// Where the object is created.
    def: Option<Span>,
    /// A constructor call made the object (`Mutex::new(..)`, `Arc::new(Mutex::new(..))`): it
    /// is private to the function until it escapes (see `escape.rs`).
    fresh: bool,
}

impl Value {
    fn of(ty: Ty) -> Self {
        Value {
            ty,
            ..Value::default()
        }
    }
    /// The value as read back from a binding: fresh-value markers do not travel.
    fn settled(&self) -> Self {
        Value {
            place: self.place.clone(),
            ty: self.ty.clone(),
            temp: None,
            spawn: None,
            def: self.def,
            fresh: self.fresh,
        }
    }
}

struct Temp {
    obj: ObjId,
    span: Span,
    done: bool,
}

#[derive(Clone, Copy, Debug)]
struct GuardState {
    obj: ObjId,
    /// The binding's block does not release it by itself (an `if let` guard, a `try_lock`).
    release_at_end: bool,
    released: bool,
}

#[derive(Clone, Debug)]
struct Binding {
    name: String,
    value: Value,
    guard: Option<GuardState>,
}

#[derive(Default)]
struct Frame {
    bindings: Vec<Binding>,
}

// ------------------------------------------------------------------------------ items

#[derive(Default)]
struct Module<'a> {
    parent: Option<usize>,
    children: HashMap<String, usize>,
    imports: HashMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
    structs: HashSet<String>,
    statics: HashSet<String>,
    consts: HashSet<String>,
    fns: HashMap<String, FnId>,
    aliases: HashMap<String, &'a Type>,
}

struct StructInfo<'a> {
    module: usize,
    fields: Vec<(String, &'a Type, Span)>,
    types: HashMap<String, (Ty, Span)>,
}

struct StaticInfo<'a> {
    module: usize,
    ty: &'a Type,
    span: Span,
    resolved: Ty,
}

#[derive(Clone, Copy)]
enum FnBody<'a> {
    None,
    Block(&'a Block),
    Closure(&'a syn::ExprClosure),
    Async(&'a syn::ExprAsync),
}

#[derive(Clone, Copy)]
enum Input<'a> {
    SelfParam,
    Typed(&'a Pat, Option<&'a Type>),
}

struct FnInfo<'a> {
    name: String,
    class: Option<String>,
    module: usize,
    body: FnBody<'a>,
    inputs: Vec<Input<'a>>,
    /// Types known for the inputs from where a closure is used (`thread::scope(|s| ..)`).
    hints: Vec<Ty>,
    ret: Option<&'a Type>,
    is_async: bool,
    span: Span,
    name_span: Span,
    /// The bindings a closure captures.
    env: Vec<Binding>,
}

enum Res {
    External(String),
    Struct(String),
    Static(String),
    Const,
    Fn(FnId),
    Assoc(String, String),
    Module(usize),
    Alias(usize, String),
    Unknown,
}

/// Parsed macro bodies, by the offset of the macro's opening delimiter. Built before the
/// lowering so that the lowering can hold references into them for the whole pass.
#[derive(Default)]
pub struct MacroArena {
    bodies: Vec<MacroBody>,
    statics: Vec<Vec<macros::StaticDecl>>,
    index: HashMap<u32, usize>,
    static_index: HashMap<u32, usize>,
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
                let decls = macros::static_decls(&tokens);
                for decl in &decls {
                    finder.visit_expr(&decl.init);
                }
                arena.static_index.insert(key, arena.statics.len());
                arena.statics.push(decls);
            } else {
                let body = macros::body(&name, &tokens);
                match &body {
                    MacroBody::Exprs(list) => list.iter().for_each(|e| finder.visit_expr(e)),
                    MacroBody::Stmts(list) => list.iter().for_each(|s| finder.visit_stmt(s)),
                    MacroBody::Repeat(a, b) => {
                        finder.visit_expr(a);
                        finder.visit_expr(b);
                    }
                    MacroBody::First(e) => finder.visit_expr(e),
                    MacroBody::Select(arms) => {
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
                    MacroBody::Nothing => {}
                }
                arena.index.insert(key, arena.bodies.len());
                arena.bodies.push(body);
            }
            work.append(&mut finder.found);
        }
        arena
    }
}

// ------------------------------------------------------------------------------ the lowerer

pub struct Lowerer<'a> {
    source: &'a str,
    positions: &'a Positions<'a>,
    edition: Edition,
    macros: &'a MacroArena,
    modules: Vec<Module<'a>>,
    structs: HashMap<String, StructInfo<'a>>,
    statics: HashMap<String, StaticInfo<'a>>,
    fns: Vec<FnInfo<'a>>,
    methods: HashMap<(String, String), FnId>,
    objects: Vec<SyncObject>,
    object_by_key: HashMap<ObjKey, ObjId>,
    thread_entries: Vec<ThreadEntry>,
    depth_exceeded: bool,
    // Per function being lowered.
    current: FnId,
    frames: Vec<Frame>,
    temps: Vec<Temp>,
    temp_scopes: Vec<Vec<usize>>,
    /// Inside a loop or a closure that may run several times.
    repetition: usize,
    /// Objects made by a constructor or a spawn (`fresh`), objects also reached through a
    /// value that was not (`stale`), and the places that escape their function.
    fresh: HashSet<ObjId>,
    stale: HashSet<ObjId>,
    escaped: HashSet<ObjKey>,
    /// For each closure lowered in place, the index of its first frame: bindings below it are
    /// captured.
    closure_floors: Vec<usize>,
}

impl<'a> Lowerer<'a> {
    pub fn new(
        source: &'a str,
        positions: &'a Positions<'a>,
        edition: Edition,
        macros: &'a MacroArena,
    ) -> Self {
        Lowerer {
            source,
            positions,
            edition,
            macros,
            modules: vec![Module::default()],
            structs: HashMap::new(),
            statics: HashMap::new(),
            fns: Vec::new(),
            methods: HashMap::new(),
            objects: Vec::new(),
            object_by_key: HashMap::new(),
            thread_entries: Vec::new(),
            depth_exceeded: false,
            current: FnId(0),
            frames: Vec::new(),
            temps: Vec::new(),
            temp_scopes: Vec::new(),
            repetition: 0,
            fresh: HashSet::new(),
            stale: HashSet::new(),
            escaped: HashSet::new(),
            closure_floors: Vec::new(),
        }
    }

    pub fn lower(mut self, file: &'a syn::File) -> (FileModel, bool) {
        self.fns.push(FnInfo {
            name: "<module>".into(),
            class: None,
            module: 0,
            body: FnBody::None,
            inputs: Vec::new(),
            hints: Vec::new(),
            ret: None,
            is_async: false,
            span: Span::new(0, self.source.len() as u32),
            name_span: Span::new(0, 0),
            env: Vec::new(),
        });
        let mut collector = Collector {
            lw: &mut self,
            module: 0,
            class: None,
            depth: 0,
        };
        collector.visit_file(file);
        self.resolve_item_types();
        let mut bodies = Vec::new();
        let mut index = 0;
        while index < self.fns.len() {
            let nodes = self.lower_function(FnId(index as u32));
            bodies.push(nodes);
            index += 1;
        }
        let functions = self
            .fns
            .iter()
            .zip(bodies)
            .map(|(info, body)| Function {
                name: info.name.clone(),
                class: info.class.clone(),
                params: info
                    .inputs
                    .iter()
                    .map(|input| match input {
                        Input::SelfParam => "self".to_string(),
                        Input::Typed(pat, _) => pattern_name(pat).unwrap_or_else(|| "_".into()),
                    })
                    .collect(),
                is_async: info.is_async,
                span: info.span,
                name_span: info.name_span,
                body,
            })
            .collect();
        self.finish_escapes();
        let model = FileModel {
            language: Language::Rust,
            module: None,
            objects: self.objects,
            functions,
            thread_entries: self.thread_entries,
        };
        (model, self.depth_exceeded)
    }

    // -------------------------------------------------------------------------- spans

    fn span(&self, span: TokenSpan) -> Span {
        self.positions.span(span)
    }

    fn join(&self, first: TokenSpan, last: TokenSpan) -> Span {
        self.positions.join(first, last)
    }

    fn expr_span(&self, expr: &Expr) -> Span {
        self.join(spans::first(expr), spans::last(expr))
    }

    fn text(&self, span: Span) -> &'a str {
        let source: &'a str = self.source;
        source.get(span.range()).unwrap_or("")
    }

    fn expr_text(&self, expr: &Expr) -> String {
        self.text(self.expr_span(expr)).to_string()
    }

    // -------------------------------------------------------------------------- items

    fn resolve_item_types(&mut self) {
        let names: Vec<String> = self.structs.keys().cloned().collect();
        for name in names {
            let (module, fields) = {
                let info = &self.structs[&name];
                (info.module, info.fields.clone())
            };
            let types = fields
                .iter()
                .map(|(field, ty, span)| {
                    (
                        field.clone(),
                        (self.ty_of(ty, module, Some(&name), 0), *span),
                    )
                })
                .collect();
            if let Some(info) = self.structs.get_mut(&name) {
                info.types = types;
            }
        }
        let names: Vec<String> = self.statics.keys().cloned().collect();
        for name in names {
            let (module, ty) = (self.statics[&name].module, self.statics[&name].ty);
            let resolved = self.ty_of(ty, module, None, 0);
            if let Some(info) = self.statics.get_mut(&name) {
                info.resolved = resolved;
            }
        }
    }

    /// Resolves a path (`Mutex`, `sync::Mutex`, `crate::state::LOCK`, `Self::new`) as seen
    /// from `module`.
    fn resolve(&self, module: usize, segments: &[String], depth: usize) -> Res {
        self.resolve_with(module, segments, depth, GLOB_HOPS)
    }

    /// `globs`: how many glob imports (`use super::*`) may still be followed; each hop fans out
    /// over every glob of a module, so the chain is kept short.
    fn resolve_with(&self, module: usize, segments: &[String], depth: usize, globs: u8) -> Res {
        if depth > 16 || segments.is_empty() {
            return Res::Unknown;
        }
        let rest = &segments[1..];
        // A path into the crate that this file does not define lives in another file of it;
        // a `sync` module there re-exports `std::sync` (or loom's copy) by convention.
        let crate_local = |res: Res| match res {
            Res::External(path) => {
                Res::External(names::crate_shim(&path).unwrap_or_else(|| format!("crate::{path}")))
            }
            other => other,
        };
        match segments[0].as_str() {
            "crate" => crate_local(self.resolve_in(0, rest, depth + 1, globs)),
            "self" if !rest.is_empty() => {
                crate_local(self.resolve_in(module, rest, depth + 1, globs))
            }
            "super" => {
                let parent = self.modules[module].parent.unwrap_or(0);
                if rest.first().is_some_and(|s| s == "super") {
                    self.resolve_with(parent, rest, depth + 1, globs)
                } else {
                    crate_local(self.resolve_in(parent, rest, depth + 1, globs))
                }
            }
            _ => self.resolve_in(module, segments, depth, globs),
        }
    }

    fn resolve_in(&self, module: usize, segments: &[String], depth: usize, globs: u8) -> Res {
        if depth > 16 {
            return Res::Unknown;
        }
        let Some(first) = segments.first() else {
            return Res::Module(module);
        };
        let rest = &segments[1..];
        let m = &self.modules[module];
        if let Some(&child) = m.children.get(first) {
            return self.resolve_in(child, rest, depth + 1, globs);
        }
        if rest.is_empty() {
            if m.structs.contains(first) {
                return Res::Struct(first.clone());
            }
            if m.statics.contains(first) {
                return Res::Static(first.clone());
            }
            if m.consts.contains(first) {
                return Res::Const;
            }
            if let Some(&id) = m.fns.get(first) {
                return Res::Fn(id);
            }
            if m.aliases.contains_key(first) {
                return Res::Alias(module, first.clone());
            }
        } else if rest.len() == 1 && m.structs.contains(first) {
            return Res::Assoc(first.clone(), rest[0].clone());
        }
        if let Some(target) = m.imports.get(first) {
            let mut full = target.clone();
            full.extend(rest.iter().cloned());
            return self.resolve_with(module, &full, depth + 1, globs);
        }
        if globs > 0 {
            for glob in &m.globs {
                match self.resolve_with(module, glob, depth + 1, 0) {
                    Res::Module(target) if target != module => {
                        let found = self.resolve_in(target, segments, depth + 1, globs - 1);
                        if !matches!(found, Res::External(_) | Res::Unknown) {
                            return found;
                        }
                    }
                    Res::External(prefix) => {
                        let full = names::normalize(&format!("{prefix}::{}", segments.join("::")));
                        if is_known_path(&full) {
                            return Res::External(full);
                        }
                    }
                    _ => {}
                }
            }
        }
        // Edition 2015 paths are relative to the crate root.
        if module != 0 && self.modules[0].children.contains_key(first) {
            return self.resolve_in(0, segments, depth + 1, globs);
        }
        Res::External(names::normalize(&segments.join("::")))
    }

    fn ty_of(&self, ty: &Type, module: usize, class: Option<&str>, depth: usize) -> Ty {
        if depth > 24 {
            return Ty::Unknown;
        }
        match ty {
            Type::Path(path) if path.qself.is_none() => {
                let Some(last) = path.path.segments.last() else {
                    return Ty::Unknown;
                };
                let argument = match &last.arguments {
                    syn::PathArguments::AngleBracketed(args) => {
                        args.args.iter().find_map(|a| match a {
                            syn::GenericArgument::Type(t) => Some(t),
                            _ => None,
                        })
                    }
                    _ => None,
                };
                let inner =
                    || argument.map_or(Ty::Unknown, |t| self.ty_of(t, module, class, depth + 1));
                let segments = path_segments(&path.path);
                if segments.len() == 1 && segments[0] == "Self" {
                    return class.map_or(Ty::Unknown, |c| Ty::Struct(c.to_string()));
                }
                match self.resolve(module, &segments, 0) {
                    Res::Struct(name) => Ty::Struct(name),
                    Res::Alias(alias_module, name) => {
                        match self.modules[alias_module].aliases.get(&name) {
                            Some(target) => self.ty_of(target, alias_module, class, depth + 1),
                            None => Ty::Unknown,
                        }
                    }
                    Res::External(full) => match names::known_type(&full) {
                        Some(KnownType::Lock(kind)) => Ty::Lock(kind, Box::new(inner())),
                        Some(KnownType::Sync(kind)) => Ty::Sync(kind),
                        Some(KnownType::Transparent) => inner(),
                        Some(KnownType::Once) => Ty::Once(Box::new(inner())),
                        Some(KnownType::Option) => Ty::Opt(Box::new(inner())),
                        Some(KnownType::Seq) => Ty::Seq(Box::new(inner())),
                        Some(KnownType::Guard) => Ty::Guard(None, Box::new(inner())),
                        Some(KnownType::ThreadBuilder) => Ty::ThreadBuilder,
                        None => Ty::Unknown,
                    },
                    _ => Ty::Unknown,
                }
            }
            Type::Reference(r) => self.ty_of(&r.elem, module, class, depth + 1),
            Type::Ptr(p) => self.ty_of(&p.elem, module, class, depth + 1),
            Type::Paren(p) => self.ty_of(&p.elem, module, class, depth + 1),
            Type::Group(g) => self.ty_of(&g.elem, module, class, depth + 1),
            Type::Tuple(t) => Ty::Tuple(
                t.elems
                    .iter()
                    .map(|e| self.ty_of(e, module, class, depth + 1))
                    .collect(),
            ),
            Type::Array(a) => Ty::Seq(Box::new(self.ty_of(&a.elem, module, class, depth + 1))),
            Type::Slice(s) => Ty::Seq(Box::new(self.ty_of(&s.elem, module, class, depth + 1))),
            _ => Ty::Unknown,
        }
    }

    /// The type, in the current function's context.
    fn ty_here(&self, ty: &Type) -> Ty {
        let info = &self.fns[self.current.0 as usize];
        self.ty_of(ty, info.module, info.class.as_deref(), 0)
    }

    fn current_module(&self) -> usize {
        self.fns[self.current.0 as usize].module
    }

    fn current_class(&self) -> Option<String> {
        self.fns[self.current.0 as usize].class.clone()
    }

    /// Path segments with `Self` replaced by the current impl type.
    fn segments_here(&self, path: &syn::Path) -> Vec<String> {
        let mut segments = path_segments(path);
        if segments.first().is_some_and(|s| s == "Self") {
            if let Some(class) = self.current_class() {
                segments[0] = class;
            }
        }
        segments
    }

    fn return_value(&self, callee: FnId) -> Value {
        let info = &self.fns[callee.0 as usize];
        match info.ret {
            Some(ty) => Value::of(self.ty_of(ty, info.module, info.class.as_deref(), 0)),
            None => Value::default(),
        }
    }

    fn method_of(&self, class: &str, name: &str) -> Option<FnId> {
        self.methods
            .get(&(class.to_string(), name.to_string()))
            .copied()
    }

    // -------------------------------------------------------------------------- objects

    fn intern(&mut self, key: ObjKey, display: String, kind: ObjKind, def: Option<Span>) -> ObjId {
        let id = match self.object_by_key.get(&key) {
            Some(&id) => id,
            None => {
                let id = ObjId(self.objects.len() as u32);
                self.objects.push(SyncObject {
                    key: key.clone(),
                    kind: ObjKind::Unknown,
                    display,
                    def: None,
                    escapes: true,
                    guarded_by: None,
                    inferred: false,
                });
                self.object_by_key.insert(key, id);
                id
            }
        };
        let object = &mut self.objects[id.0 as usize];
        if object.kind == ObjKind::Unknown && kind != ObjKind::Unknown {
            object.kind = kind;
            object.def = def;
        }
        id
    }

    /// The object a value denotes; `expr` names it in messages.
    fn object(&mut self, value: &Value, at: Span, kind: ObjKind) -> ObjId {
        let display = self.text(at).to_string();
        let key = match &value.place {
            Some(Place::Key(key)) => key.clone(),
            Some(Place::SelfValue(class)) => ObjKey::Member {
                class: class.clone(),
                attr: "self".into(),
            },
            None => ObjKey::Other(format!("{display}@{}", at.start)),
        };
        let local = matches!(key, ObjKey::Local { .. } | ObjKey::Other(_));
        let id = self.intern(key, display, kind, value.def.or(Some(at)));
        if local {
            self.note_fresh(id, value);
        }
        id
    }

    // -------------------------------------------------------------------------- events

    fn push(&self, out: &mut Vec<Node>, kind: EventKind, span: Span) {
        out.push(Node::Event(Event {
            kind,
            span,
            statement: None,
        }));
    }

    /// Emits an acquisition whose guard is a temporary until something binds it.
    fn acquire(
        &mut self,
        out: &mut Vec<Node>,
        obj: ObjId,
        (how, shared): (AcquireHow, bool),
        span: Span,
        receiver: Span,
    ) -> TempRef {
        self.push(
            out,
            EventKind::Acquire {
                obj,
                how,
                receiver,
                shared,
            },
            span,
        );
        let id = self.temps.len();
        self.temps.push(Temp {
            obj,
            span,
            done: false,
        });
        if let Some(scope) = self.temp_scopes.last_mut() {
            scope.push(id);
        }
        TempRef {
            id,
            direct: true,
            borrowed: false,
        }
    }

    /// Ends the innermost temporary scope: its unbound guards are dropped here.
    fn end_temps(&mut self, out: &mut Vec<Node>, at: u32) {
        let Some(scope) = self.temp_scopes.pop() else {
            return;
        };
        for id in scope.into_iter().rev() {
            let temp = &mut self.temps[id];
            if !temp.done {
                temp.done = true;
                let obj = temp.obj;
                self.push(out, EventKind::Release { obj }, Span::new(at, at));
            }
        }
    }

    fn push_frame(&mut self) {
        self.frames.push(Frame::default());
    }

    /// Ends the innermost block: guards it must release by hand are released.
    fn pop_frame(&mut self, out: &mut Vec<Node>, at: u32) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        for binding in frame.bindings.iter().rev() {
            if let Some(guard) = binding.guard {
                if guard.release_at_end && !guard.released {
                    self.push(
                        out,
                        EventKind::Release { obj: guard.obj },
                        Span::new(at, at),
                    );
                }
            }
        }
    }

    fn lookup(&self, name: &str) -> Option<&Binding> {
        self.frames
            .iter()
            .rev()
            .flat_map(|frame| frame.bindings.iter().rev())
            .find(|binding| binding.name == name)
    }

    fn lookup_mut(&mut self, name: &str) -> Option<&mut Binding> {
        self.frames
            .iter_mut()
            .rev()
            .flat_map(|frame| frame.bindings.iter_mut().rev())
            .find(|binding| binding.name == name)
    }

    /// A temporary guard gets a name: it lives to the end of the binding's block now.
    fn bind_temp(&mut self, temp: TempRef, out: &mut [Node], release_at_end: bool) -> GuardState {
        let record = &mut self.temps[temp.id];
        record.done = true;
        let (obj, span) = (record.obj, record.span);
        let mut how = AcquireHow::Scoped;
        for node in out.iter_mut().rev() {
            if let Node::Event(Event {
                kind: EventKind::Acquire { obj: o, how: h, .. },
                span: s,
                ..
            }) = node
            {
                if *o == obj && *s == span {
                    if *h == AcquireHow::Temporary {
                        *h = AcquireHow::Scoped;
                    }
                    how = *h;
                    break;
                }
            }
        }
        GuardState {
            obj,
            release_at_end: release_at_end || how != AcquireHow::Scoped,
            released: false,
        }
    }

    fn snapshot(&self) -> Vec<Binding> {
        self.frames
            .iter()
            .flat_map(|frame| frame.bindings.iter())
            .map(|binding| Binding {
                name: binding.name.clone(),
                value: binding.value.settled(),
                guard: None,
            })
            .collect()
    }

    /// Registers a closure or async block as a function of its own (it runs later or
    /// elsewhere), capturing the current bindings.
    fn new_closure(&mut self, expr: &'a Expr, hints: Vec<Ty>) -> Option<FnId> {
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
            span: self.expr_span(expr),
            name_span,
            env,
        });
        Some(id)
    }

    // -------------------------------------------------------------------------- functions

    fn lower_function(&mut self, id: FnId) -> Vec<Node> {
        self.current = id;
        self.repetition = 0;
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
                                ty: Ty::Struct(class.clone()),
                                ..Value::default()
                            },
                            guard: None,
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
                    self.block_stmts(&block.block.stmts, &mut out, 0)
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

    fn block_stmts(&mut self, stmts: &'a [Stmt], out: &mut Vec<Node>, depth: usize) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        for stmt in stmts {
            self.stmt(stmt, out, depth);
        }
    }

    /// A `{ }` block as a scope of `kind`.
    fn block_scope(
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

    fn stmt(&mut self, stmt: &'a Stmt, out: &mut Vec<Node>, depth: usize) {
        let Some((first, last)) = spans::stmt(stmt) else {
            return;
        };
        let whole = self.join(first, last);
        let start = out.len();
        self.temp_scopes.push(Vec::new());
        match stmt {
            Stmt::Local(local) => {
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
                self.bind_pattern(&local.pat, value, out, false, depth);
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
    }

    /// The event of the call a statement consists of (`m.lock().unwrap();`,
    /// `let g = m.lock().unwrap();`, `g = cvar.wait(g).unwrap();`) records the statement.
    /// A guard that is the value of its block (a tail expression without `;`, returned to the
    /// caller) is not a statement of its own: its acquisition records none.
    fn mark_statement(&self, out: &mut [Node], start: usize, stmt: &Stmt, whole: Span) {
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

    fn bind_pattern(
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
                    value.place = Some(Place::Key(ObjKey::Local {
                        function: self.current,
                        name: name.clone(),
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
                    frame.bindings.push(Binding { name, value, guard });
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
                self.bind_pattern(&reference.pat, value, out, release_at_end, depth + 1)
            }
            Pat::Paren(paren) => {
                self.bind_pattern(&paren.pat, value, out, release_at_end, depth + 1)
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

    fn field(&self, base: &Value, member: &str) -> Value {
        let (ty, def) = match &base.ty {
            Ty::Struct(name) => match self.structs.get(name).and_then(|s| s.types.get(member)) {
                Some((ty, span)) => (ty.clone(), Some(*span)),
                None => (Ty::Unknown, None),
            },
            Ty::Tuple(items) => (
                member
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .unwrap_or_default(),
                None,
            ),
            Ty::Guard(_, inner) => {
                // Data inside a lock: no identity of its own.
                let data = Value {
                    ty: (**inner).clone(),
                    temp: base.temp.map(|t| TempRef { direct: false, ..t }),
                    ..Value::default()
                };
                return self.field(&data, member);
            }
            _ => (Ty::Unknown, None),
        };
        Value {
            place: base.place.as_ref().map(|p| project(p, member)),
            ty,
            temp: base.temp.map(|t| TempRef { direct: false, ..t }),
            spawn: None,
            def,
            fresh: false,
        }
    }

    // -------------------------------------------------------------------------- expressions

    fn expr(&mut self, expr: &'a Expr, out: &mut Vec<Node>, depth: usize) -> Value {
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
                if let Ty::SleepFuture(call) = value.ty {
                    self.push(out, EventKind::Sleep, call);
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
                self.inline_closure(closure, &[], out, depth);
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
                out.push(Node::Scope(Scope {
                    kind: ScopeKind::Loop(LoopInfo {
                        kind: LoopKind::Infinite,
                        condition: Condition::default(),
                        assigned: assigned_names(&loop_expr.body),
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

    fn path_value(&mut self, path: &'a syn::ExprPath) -> Value {
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
            Res::Fn(id) => Value::of(Ty::Callable(id)),
            Res::Assoc(class, name) => match self.method_of(&class, &name) {
                Some(id) => Value::of(Ty::Callable(id)),
                None => Value::default(),
            },
            _ => Value::default(),
        }
    }

    fn assign(&mut self, assign: &'a syn::ExprAssign, out: &mut Vec<Node>, depth: usize) {
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
                        })
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

    fn inline_closure(
        &mut self,
        closure: &'a syn::ExprClosure,
        hints: &[Ty],
        out: &mut Vec<Node>,
        depth: usize,
    ) {
        let mut body = Vec::new();
        self.push_frame();
        self.closure_floors.push(self.frames.len() - 1);
        for (index, input) in closure.inputs.iter().enumerate() {
            let value = Value::of(hints.get(index).cloned().unwrap_or_default());
            self.bind_pattern(input, value, &mut body, false, depth + 1);
        }
        let whole = self.expr_span(&closure.body);
        let statements = match &*closure.body {
            Expr::Block(block) if block.label.is_none() => {
                self.block_stmts(&block.block.stmts, &mut body, depth + 1);
                block.block.stmts.len()
            }
            other => {
                self.temp_scopes.push(Vec::new());
                let value = self.expr(other, &mut body, depth + 1);
                self.escape(&value);
                self.end_temps(&mut body, whole.end);
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
    }

    /// The function a spawned argument runs: a closure, an async block, a function of the file.
    fn spawn_target(
        &mut self,
        arg: &'a Expr,
        hints: Vec<Ty>,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Option<FnId> {
        match arg {
            Expr::Closure(_) | Expr::Async(_) => self.new_closure(arg, hints),
            other => match self.expr(other, out, depth + 1).ty {
                Ty::Callable(id) => Some(id),
                _ => None,
            },
        }
    }

    /// Hands `arg` to another thread; `pooled` when a pool or runtime may run it on several
    /// threads (and the caller may hand it over again).
    fn spawn(
        &mut self,
        arg: Option<&'a Expr>,
        site: Span,
        hints: Vec<Ty>,
        pooled: bool,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Option<FnId> {
        let target = arg.and_then(|arg| self.spawn_target(arg, hints, out, depth));
        if let Some(function) = target {
            let repeated = self.repetition > 0 || pooled;
            self.thread_entries.push(ThreadEntry {
                function,
                site,
                repeated,
            });
        }
        target
    }

    /// The arguments of a call: they are handed to the callee, so what they denote escapes.
    fn args(
        &mut self,
        args: &'a Punctuated<Expr, Token![,]>,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Vec<Value> {
        let values = self.args_in_place(args, out, depth);
        self.escape_all(&values);
        values
    }

    /// Arguments that stay what they are (`Arc::clone(&m)` is `m`).
    fn args_in_place(
        &mut self,
        args: &'a Punctuated<Expr, Token![,]>,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Vec<Value> {
        args.iter()
            .map(|arg| self.expr(arg, out, depth + 1))
            .collect()
    }

    fn call(&mut self, call: &'a syn::ExprCall, out: &mut Vec<Node>, depth: usize) -> Value {
        let span = self.join(spans::first(&call.func), call.paren_token.span.close());
        let Expr::Path(path) = &*call.func else {
            self.expr(&call.func, out, depth + 1);
            self.args(&call.args, out, depth);
            return Value::default();
        };
        if path.qself.is_some() {
            self.args(&call.args, out, depth);
            return Value::default();
        }
        // A closure bound to a local name.
        if path.path.segments.len() == 1 && path.path.leading_colon.is_none() {
            let name = path.path.segments[0].ident.to_string();
            if let Some(binding) = self.lookup(&name) {
                let ty = binding.value.ty.clone();
                let values = self.args(&call.args, out, depth);
                if let Ty::Callable(callee) = ty {
                    self.hand_over(call.args.iter(), &values, out);
                    return self.call_local(callee, span, out);
                }
                return Value::default();
            }
        }
        let segments = self.segments_here(&path.path);
        match self.resolve(self.current_module(), &segments, 0) {
            Res::Fn(callee) => {
                let values = self.args(&call.args, out, depth);
                self.hand_over(call.args.iter(), &values, out);
                self.call_local(callee, span, out)
            }
            Res::Assoc(class, name) => {
                let callee = self.method_of(&class, &name);
                let values = self.args(&call.args, out, depth);
                match callee {
                    Some(callee) => {
                        self.hand_over(call.args.iter(), &values, out);
                        self.call_local(callee, span, out)
                    }
                    None if names::is_constructor(&name) => Value::of(Ty::Struct(class)),
                    None => Value::default(),
                }
            }
            Res::Struct(name) => {
                self.args(&call.args, out, depth);
                Value::of(Ty::Struct(name))
            }
            Res::External(full) => self.call_external(&full, call, span, out, depth),
            _ => {
                self.args(&call.args, out, depth);
                Value::default()
            }
        }
    }

    /// Guards passed by value to a function of this file are the callee's now: it decides
    /// when they are dropped, so the caller no longer holds them around the call.
    fn hand_over<'e>(
        &mut self,
        exprs: impl Iterator<Item = &'e Expr>,
        values: &[Value],
        out: &mut Vec<Node>,
    ) {
        for (expr, value) in exprs.zip(values) {
            let span = self.expr_span(expr);
            if let Some(temp) = value.temp.filter(|t| t.direct && !t.borrowed) {
                let record = &mut self.temps[temp.id];
                if !record.done {
                    record.done = true;
                    let obj = record.obj;
                    self.push(out, EventKind::Release { obj }, span);
                }
                continue;
            }
            let Expr::Path(_) = expr else { continue };
            let Some(name) = single_ident(expr) else {
                continue;
            };
            let released = self.lookup_mut(&name).and_then(|binding| {
                let guard = binding.guard.as_mut().filter(|g| !g.released)?;
                guard.released = true;
                Some(guard.obj)
            });
            if let Some(obj) = released {
                self.push(out, EventKind::Release { obj }, span);
            }
        }
    }

    /// A call to a function of this file. Calling an async function only builds its future:
    /// its body runs where the future is awaited or spawned.
    fn call_local(&mut self, callee: FnId, span: Span, out: &mut Vec<Node>) -> Value {
        if self.fns[callee.0 as usize].is_async {
            return Value::of(Ty::Callable(callee));
        }
        self.push(out, EventKind::Call { callee }, span);
        self.return_value(callee)
    }

    fn call_external(
        &mut self,
        full: &str,
        call: &'a syn::ExprCall,
        span: Span,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Value {
        let first = call.args.first();
        if let Some(known) = names::known_fn(full) {
            match known {
                KnownFn::ThreadSpawn => {
                    self.spawn(first, span, Vec::new(), false, out, depth);
                    self.push(out, EventKind::ThreadStart { obj: None }, span);
                    return Value {
                        ty: Ty::Sync(ObjKind::Thread { daemon: false }),
                        spawn: Some(span),
                        def: Some(span),
                        fresh: true,
                        ..Value::default()
                    };
                }
                KnownFn::TaskSpawn => {
                    let target = self.spawn(first, span, Vec::new(), true, out, depth);
                    for arg in call.args.iter().skip(1) {
                        self.expr(arg, out, depth + 1);
                    }
                    self.push(out, EventKind::Submit { target }, span);
                    return Value::of(Ty::Sync(ObjKind::Future));
                }
                KnownFn::ThreadScope => {
                    for arg in &call.args {
                        match arg {
                            Expr::Closure(closure) => {
                                self.inline_closure(closure, &[Ty::ThreadScope], out, depth)
                            }
                            other => {
                                self.expr(other, out, depth + 1);
                            }
                        }
                    }
                    // Every thread spawned in the scope is joined when it returns.
                    self.push(out, EventKind::Synchronize, span);
                    return Value::default();
                }
                KnownFn::Sleep => {
                    self.args(&call.args, out, depth);
                    self.push(out, EventKind::Sleep, span);
                    return Value::default();
                }
                KnownFn::AsyncSleep => {
                    self.args(&call.args, out, depth);
                    return Value::of(Ty::SleepFuture(span));
                }
                KnownFn::Drop | KnownFn::Forget => {
                    let value = first
                        .map(|arg| self.expr(arg, out, depth + 1))
                        .unwrap_or_default();
                    self.end_guard(&value, first, known == KnownFn::Forget, span, out);
                    return Value::default();
                }
                KnownFn::Channel { receiver } => {
                    self.args(&call.args, out, depth);
                    let rx = if receiver {
                        Ty::Sync(ObjKind::Receiver)
                    } else {
                        Ty::Unknown
                    };
                    return Value::of(Ty::Tuple(vec![Ty::Unknown, rx]));
                }
                KnownFn::LockConstructor(kind) => {
                    let inner = self
                        .args(&call.args, out, depth)
                        .into_iter()
                        .next()
                        .unwrap_or_default();
                    return Value {
                        ty: Ty::Lock(kind, Box::new(inner.ty)),
                        def: Some(span),
                        fresh: true,
                        ..Value::default()
                    };
                }
            }
        }
        if names::is_clock(full) {
            self.args(&call.args, out, depth);
            return Value::of(Ty::Clock);
        }
        // `futures::executor::block_on(fut)`: runs the future to completion on this thread,
        // waiting for whatever it waits for (a message, another thread's signal).
        if full.rsplit("::").next() == Some("block_on") {
            self.args(&call.args, out, depth);
            self.push(out, EventKind::Synchronize, span);
            return Value::default();
        }
        // `Some(x)`
        if full == "Some" {
            let inner = self
                .args(&call.args, out, depth)
                .into_iter()
                .next()
                .unwrap_or_default();
            return Value {
                ty: Ty::Opt(Box::new(inner.ty)),
                ..inner
            };
        }
        if full == "Ok" {
            return self
                .args(&call.args, out, depth)
                .into_iter()
                .next()
                .unwrap_or_default();
        }
        // `Type::function(..)`.
        let Some((owner, name)) = full.rsplit_once("::") else {
            self.args(&call.args, out, depth);
            return Value::default();
        };
        let Some(owner) = names::known_type(owner) else {
            self.args(&call.args, out, depth);
            return Value::default();
        };
        match owner {
            KnownType::Lock(kind) | KnownType::Sync(kind) if !names::is_constructor(name) => {
                // `Mutex::lock(&m)`: a method called by its path.
                let receiver = first
                    .map(|arg| self.expr(arg, out, depth + 1))
                    .unwrap_or_default();
                let receiver_span = first.map_or(span, |arg| self.expr_span(arg));
                let ty = match owner {
                    KnownType::Lock(_) => match receiver.ty {
                        Ty::Lock(..) => receiver.ty.clone(),
                        _ => Ty::Lock(kind, Box::default()),
                    },
                    _ => Ty::Sync(kind),
                };
                let receiver = Value { ty, ..receiver };
                let rest: Vec<&'a Expr> = call.args.iter().skip(1).collect();
                self.method_semantics(receiver, name, &rest, span, receiver_span, None, out, depth)
            }
            KnownType::Lock(kind) => {
                let inner = self
                    .args(&call.args, out, depth)
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                Value {
                    ty: Ty::Lock(kind, Box::new(inner.ty)),
                    def: Some(span),
                    fresh: true,
                    ..Value::default()
                }
            }
            KnownType::Sync(kind) => {
                self.args(&call.args, out, depth);
                Value {
                    ty: Ty::Sync(kind),
                    def: Some(span),
                    fresh: true,
                    ..Value::default()
                }
            }
            KnownType::Transparent => {
                let args = if name == "clone" {
                    self.args_in_place(&call.args, out, depth)
                } else {
                    self.args(&call.args, out, depth)
                };
                let value = args.into_iter().next().unwrap_or_default();
                if name == "clone" {
                    // `Arc::clone(&m)` is `m`.
                    value.settled()
                } else if names::is_constructor(name) || matches!(name, "pin" | "new_uninit") {
                    Value {
                        place: None,
                        def: value.def.or(Some(span)),
                        ..value.settled()
                    }
                } else {
                    Value::default()
                }
            }
            KnownType::Guard if matches!(name, "leak") => {
                let value = first
                    .map(|arg| self.expr(arg, out, depth + 1))
                    .unwrap_or_default();
                self.end_guard(&value, first, true, span, out);
                Value::default()
            }
            KnownType::Guard if matches!(name, "map" | "try_map" | "filter_map" | "map_split") => {
                let value = first
                    .map(|arg| self.expr(arg, out, depth + 1))
                    .unwrap_or_default();
                for arg in call.args.iter().skip(1) {
                    self.expr(arg, out, depth + 1);
                }
                value
            }
            KnownType::Once if names::is_constructor(name) => {
                self.args(&call.args, out, depth);
                Value::of(Ty::Once(Box::default()))
            }
            KnownType::Seq if names::is_constructor(name) => {
                self.args(&call.args, out, depth);
                Value::of(Ty::Seq(Box::default()))
            }
            KnownType::ThreadBuilder => {
                self.args(&call.args, out, depth);
                Value::of(Ty::ThreadBuilder)
            }
            _ => {
                self.args(&call.args, out, depth);
                Value::default()
            }
        }
    }

    /// `drop(guard)` releases; `mem::forget(guard)` leaks the lock.
    fn end_guard(
        &mut self,
        value: &Value,
        arg: Option<&Expr>,
        leak: bool,
        span: Span,
        out: &mut Vec<Node>,
    ) {
        let obj = if let Some(temp) = value.temp.filter(|t| t.direct) {
            let record = &mut self.temps[temp.id];
            if record.done {
                return;
            }
            record.done = true;
            Some(record.obj)
        } else {
            let name = arg.and_then(single_ident);
            let from_binding =
                name.as_deref()
                    .and_then(|n| self.lookup_mut(n))
                    .and_then(|binding| {
                        let guard = binding.guard.as_mut()?;
                        if guard.released {
                            return None;
                        }
                        guard.released = true;
                        Some(guard.obj)
                    });
            from_binding.or(match value.ty {
                Ty::Guard(Some(obj), _) => Some(obj),
                _ => None,
            })
        };
        if let Some(obj) = obj {
            let kind = if leak {
                EventKind::GuardLeak { obj }
            } else {
                EventKind::Release { obj }
            };
            self.push(out, kind, span);
        }
    }

    fn method_call(
        &mut self,
        call: &'a syn::ExprMethodCall,
        hint: Option<Hint>,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Value {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return Value::default();
        }
        let name = call.method.to_string();
        // `x.lock().unwrap()`: the receiver's shape tells a std lock even when its type is not
        // known here.
        let receiver = match (&*call.receiver, guard_wrapper(&name)) {
            (Expr::MethodCall(inner), true) => match lock_hint(&call.receiver, Hint::LockResult) {
                Some(inner_hint) => self.method_call(inner, Some(inner_hint), out, depth + 1),
                None => self.expr(&call.receiver, out, depth + 1),
            },
            _ => self.expr(&call.receiver, out, depth + 1),
        };
        let span = self.join(spans::first(&call.receiver), call.paren_token.span.close());
        let receiver_span = self.expr_span(&call.receiver);
        let args: Vec<&'a Expr> = call.args.iter().collect();
        self.method_semantics(
            receiver,
            &name,
            &args,
            span,
            receiver_span,
            hint,
            out,
            depth,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn method_semantics(
        &mut self,
        receiver: Value,
        name: &str,
        args: &[&'a Expr],
        span: Span,
        receiver_span: Span,
        hint: Option<Hint>,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Value {
        let lower_args = |this: &mut Self, out: &mut Vec<Node>| -> Vec<Value> {
            args.iter()
                .map(|arg| this.expr(arg, out, depth + 1))
                .collect()
        };
        let mut receiver = receiver;
        // A receiver of unknown type used the way only a lock is.
        let mut guessed = false;
        if receiver.ty == Ty::Unknown && args.is_empty() {
            if let Some(hint) = hint {
                let flavor = match hint {
                    Hint::LockResult => Flavor::Std,
                    Hint::Async => Flavor::Async,
                };
                let kind = match name {
                    "lock" | "try_lock" => Some(ObjKind::Lock { flavor }),
                    "read" | "write" | "try_read" | "try_write" => Some(ObjKind::RwLock { flavor }),
                    _ => None,
                };
                if let Some(kind) = kind {
                    receiver.ty = Ty::Lock(kind, Box::default());
                    guessed = true;
                }
            }
        }
        match receiver.ty.clone() {
            Ty::Lock(kind, inner) => {
                // `.lock().await` compiles only on an async lock, whatever the type looked like
                // (a crate's own `sync::Mutex` read as `std::sync::Mutex`).
                let kind = match (hint, kind) {
                    (Some(Hint::Async), ObjKind::Lock { .. }) if name == "lock" => ObjKind::Lock {
                        flavor: Flavor::Async,
                    },
                    (Some(Hint::Async), ObjKind::RwLock { .. })
                        if matches!(name, "read" | "write") =>
                    {
                        ObjKind::RwLock {
                            flavor: Flavor::Async,
                        }
                    }
                    _ => kind,
                };
                if let Some(method) = names::lock_method(kind, name) {
                    lower_args(self, out);
                    // Known before as something (or nothing): only a new kind is a guess.
                    let unknown_before = guessed && {
                        let id = self.object(&receiver, receiver_span, ObjKind::Unknown);
                        self.objects[id.0 as usize].kind == ObjKind::Unknown
                    };
                    let obj = self.object(&receiver, receiver_span, kind);
                    if unknown_before {
                        self.objects[obj.0 as usize].inferred = true;
                    }
                    if hint == Some(Hint::Async) {
                        self.objects[obj.0 as usize].kind = kind;
                    }
                    return match method {
                        LockMethod::Blocking | LockMethod::NonBlocking | LockMethod::Timeout => {
                            let how = match method {
                                LockMethod::Blocking => AcquireHow::Temporary,
                                LockMethod::NonBlocking => AcquireHow::NonBlocking,
                                _ => AcquireHow::Timeout,
                            };
                            let future = matches!(
                                kind,
                                ObjKind::Lock {
                                    flavor: Flavor::Async
                                } | ObjKind::RwLock {
                                    flavor: Flavor::Async
                                }
                            ) && method == LockMethod::Blocking
                                && !name.starts_with("blocking_");
                            if future {
                                // tokio's `lock()` builds a future: it locks where awaited.
                                return Value::of(Ty::LockFuture {
                                    obj,
                                    how,
                                    shared: is_shared_guard(name),
                                    inner,
                                    call: span,
                                    receiver: receiver_span,
                                });
                            }
                            let temp = self.acquire(
                                out,
                                obj,
                                (how, is_shared_guard(name)),
                                span,
                                receiver_span,
                            );
                            Value {
                                ty: Ty::Guard(Some(obj), inner),
                                temp: Some(temp),
                                ..Value::default()
                            }
                        }
                        LockMethod::ForceUnlock => {
                            self.push(out, EventKind::Release { obj }, span);
                            Value::default()
                        }
                        LockMethod::Raw => Value::of(Ty::Raw(obj)),
                    };
                }
            }
            Ty::Raw(obj) => {
                lower_args(self, out);
                match name {
                    "lock" | "lock_exclusive" | "lock_shared" | "lock_upgradable" => {
                        let receiver = receiver_span;
                        self.push(
                            out,
                            EventKind::Acquire {
                                obj,
                                how: AcquireHow::Manual,
                                receiver,
                                shared: name == "lock_shared",
                            },
                            span,
                        );
                    }
                    "try_lock" | "try_lock_exclusive" | "try_lock_shared" => {
                        let receiver = receiver_span;
                        self.push(
                            out,
                            EventKind::Acquire {
                                obj,
                                how: AcquireHow::NonBlocking,
                                receiver,
                                shared: name == "try_lock_shared",
                            },
                            span,
                        );
                    }
                    "unlock" | "unlock_fair" | "unlock_exclusive" | "unlock_shared"
                    | "unlock_upgradable" => {
                        self.push(out, EventKind::Release { obj }, span);
                    }
                    _ => {}
                }
                return Value::default();
            }
            Ty::Sync(kind @ ObjKind::Condvar { .. }) => {
                if let Some((predicate, timeout)) = names::condvar_wait(name) {
                    let values = lower_args(self, out);
                    let obj = self.object(&receiver, receiver_span, kind);
                    let kind = if predicate {
                        WaitKind::ConditionPredicate
                    } else {
                        WaitKind::Condition
                    };
                    self.push(out, EventKind::Wait { obj, kind, timeout }, span);
                    // The guard comes back: the same lock, held again.
                    let guard = values.into_iter().next().unwrap_or_default();
                    let guard = match guard.ty {
                        Ty::Guard(..) => Value {
                            ty: guard.ty,
                            temp: guard.temp.filter(|t| t.direct),
                            ..Value::default()
                        },
                        _ => Value::default(),
                    };
                    return if timeout && name.starts_with("wait_timeout") {
                        Value::of(Ty::Tuple(vec![guard.ty.clone(), Ty::Unknown]))
                            .with_temp(guard.temp)
                    } else {
                        guard
                    };
                }
                if matches!(name, "notify_one" | "notify_all") {
                    lower_args(self, out);
                    let obj = self.object(&receiver, receiver_span, kind);
                    self.push(out, EventKind::Notify { obj }, span);
                    return Value::default();
                }
            }
            Ty::Sync(kind @ ObjKind::Barrier { .. }) if name == "wait" => {
                let obj = self.object(&receiver, receiver_span, kind);
                self.push(
                    out,
                    EventKind::Wait {
                        obj,
                        kind: WaitKind::Barrier,
                        timeout: false,
                    },
                    span,
                );
                return Value::default();
            }
            Ty::Sync(ObjKind::Receiver)
                if matches!(name, "recv" | "recv_timeout" | "recv_deadline") =>
            {
                lower_args(self, out);
                let obj = self.object(&receiver, receiver_span, ObjKind::Receiver);
                let timeout = name != "recv";
                let what = format!("{name}()");
                self.push(
                    out,
                    EventKind::Blocking {
                        kind: BlockingKind::Recv,
                        obj: Some(obj),
                        timeout,
                        what,
                    },
                    span,
                );
                self.push(out, EventKind::Synchronize, span);
                return Value::default();
            }
            Ty::Sync(kind @ ObjKind::Thread { .. }) if name == "join" => {
                let obj = self.object(&receiver, receiver_span, kind);
                if let Some(site) = receiver.spawn {
                    // `thread::spawn(..).join()`: the handle of that start.
                    escape::link_spawn(out, site, obj);
                }
                let what = "join()".to_string();
                self.push(
                    out,
                    EventKind::Blocking {
                        kind: BlockingKind::Join,
                        obj: Some(obj),
                        timeout: false,
                        what,
                    },
                    span,
                );
                self.push(out, EventKind::Synchronize, span);
                return Value::default();
            }
            Ty::ThreadBuilder => match name {
                "spawn" | "spawn_unchecked" => {
                    self.spawn(args.first().copied(), span, Vec::new(), false, out, depth);
                    self.push(out, EventKind::ThreadStart { obj: None }, span);
                    return Value {
                        ty: Ty::Sync(ObjKind::Thread { daemon: false }),
                        spawn: Some(span),
                        def: Some(span),
                        fresh: true,
                        ..Value::default()
                    };
                }
                "spawn_scoped" => {
                    let values: Vec<&'a Expr> = args.to_vec();
                    if let Some(scope) = values.first() {
                        self.expr(scope, out, depth + 1);
                    }
                    let target =
                        self.spawn(values.get(1).copied(), span, Vec::new(), false, out, depth);
                    self.push(out, EventKind::Submit { target }, span);
                    return Value::of(Ty::Sync(ObjKind::Thread { daemon: false }));
                }
                _ => {
                    lower_args(self, out);
                    return Value::of(Ty::ThreadBuilder);
                }
            },
            Ty::ThreadScope if name == "spawn" => {
                let target = self.spawn(
                    args.first().copied(),
                    span,
                    vec![Ty::ThreadScope],
                    false,
                    out,
                    depth,
                );
                self.push(out, EventKind::Submit { target }, span);
                return Value::of(Ty::Sync(ObjKind::Thread { daemon: false }));
            }
            // `flag.store(true, ..)`: a write other threads see (a signal, a counter).
            Ty::Sync(ObjKind::Atomic) if names::is_atomic_write(name) => {
                lower_args(self, out);
                let obj = self.object(&receiver, receiver_span, ObjKind::Atomic);
                let target = self.text(receiver_span).to_string();
                self.push(
                    out,
                    EventKind::SharedWrite {
                        target,
                        obj: Some(obj),
                        read_modify_write: false,
                    },
                    span,
                );
                return Value::default();
            }
            Ty::Struct(class) => {
                if let Some(callee) = self.method_of(&class, name) {
                    let values = lower_args(self, out);
                    self.escape_all(&values);
                    self.hand_over(args.iter().copied(), &values, out);
                    return self.call_local(callee, span, out);
                }
            }
            // Methods of the protected data (`guard.push(x)`): auto-deref.
            Ty::Guard(lock, inner) if !guard_wrapper(name) => {
                let data = Value::of(*inner);
                let value =
                    self.method_semantics(data, name, args, span, receiver_span, None, out, depth);
                // An object the call made of the data (a `Receiver` it blocks on) is the lock's.
                let display = self.text(receiver_span);
                let key = ObjKey::Other(format!("{display}@{}", receiver_span.start));
                if let (Some(lock), Some(&id)) = (lock, self.object_by_key.get(&key)) {
                    self.objects[id.0 as usize].guarded_by = Some(lock);
                }
                return value;
            }
            _ => {}
        }
        // Work handed to a pool or runtime runs elsewhere (`pool.spawn(..)`, `rt.spawn(..)`).
        if matches!(
            name,
            "spawn" | "spawn_blocking" | "spawn_local" | "spawn_fifo" | "execute"
        ) && args
            .first()
            .is_some_and(|a| matches!(a, Expr::Closure(_) | Expr::Async(_)))
        {
            let target = self.spawn(args.first().copied(), span, Vec::new(), true, out, depth);
            for arg in args.iter().skip(1) {
                self.expr(arg, out, depth + 1);
            }
            self.push(out, EventKind::Submit { target }, span);
            return Value::default();
        }
        // Closures given to iterator adaptors and friends run here, now.
        let element = match (&receiver.ty, name) {
            (Ty::Seq(t) | Ty::Iter(t) | Ty::Opt(t), _) => Some((**t).clone()),
            (ty, "with" | "with_borrow" | "with_borrow_mut") => Some(ty.clone()),
            _ => None,
        };
        let mut values = Vec::new();
        for arg in args {
            match arg {
                Expr::Closure(closure) => {
                    let hints = element.clone().map(|t| vec![t]).unwrap_or_default();
                    // An adaptor's closure may run once per item.
                    self.repetition += 1;
                    self.inline_closure(closure, &hints, out, depth);
                    self.repetition -= 1;
                    values.push(Value::default());
                }
                other => values.push(self.expr(other, out, depth + 1)),
            }
        }
        self.escape_all(&values);
        if matches!(
            name,
            "elapsed" | "duration_since" | "saturating_duration_since"
        ) {
            return Value::of(Ty::Clock);
        }
        if name == "block_on" {
            // `runtime.block_on(fut)`, like `futures::executor::block_on(fut)`.
            self.push(out, EventKind::Synchronize, span);
        }
        transform(&receiver, name)
    }

    // -------------------------------------------------------------------------- control flow

    fn condition(&self, expr: &Expr) -> Condition {
        let mut reads = Vec::new();
        self.condition_reads(expr, &mut reads, 0);
        Condition {
            reads,
            span: Some(self.expr_span(expr)),
        }
    }

    fn condition_reads(&self, expr: &Expr, reads: &mut Vec<Read>, depth: usize) {
        if depth > 50 {
            return;
        }
        match expr {
            Expr::Path(path) => {
                let text = self.expr_text(expr);
                if path.path.segments.len() == 1 {
                    if let Some(binding) = self.lookup(&text) {
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
                reads.push(Read::Clock)
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
            _ => reads.push(Read::Shared(self.expr_text(expr))),
        }
    }

    fn lower_if(&mut self, first_if: &'a syn::ExprIf, out: &mut Vec<Node>, depth: usize) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        // An `else if` chain is lowered iteratively: long chains must not recurse.
        let mut current = first_if;
        let mut first = true;
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
            if !has_let {
                let cond_end = self.expr_span(&current.cond).end;
                self.end_temps(&mut cond_nodes, cond_end);
            }
            let condition = self.condition(&current.cond);
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
                }),
                span: Span::new(arm_start, then_end.end),
                keyword,
                statements: current.then_branch.stmts.len() as u32,
                body,
            }));
            if has_let && own_temps {
                self.end_temps(out, then_end.end);
            }
            match &current.else_branch {
                Some((else_token, otherwise)) => match &**otherwise {
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
                            }),
                            span: Span::new(keyword.start, close.end),
                            keyword,
                            statements: block.block.stmts.len() as u32,
                            body,
                        }));
                        break;
                    }
                    other => {
                        self.expr(other, out, depth + 1);
                        break;
                    }
                },
                None => break,
            }
        }
    }

    /// The offset of the `else` keyword that precedes an `else if`.
    fn else_before(&self, if_token: TokenSpan) -> u32 {
        let at = self.span(if_token).start as usize;
        let before = self.source.get(..at).unwrap_or("");
        match before.trim_end().strip_suffix("else") {
            Some(rest) => rest.len() as u32,
            None => at as u32,
        }
    }

    fn lower_match(&mut self, m: &'a syn::ExprMatch, out: &mut Vec<Node>, depth: usize) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        // The scrutinee's temporaries live through the whole match.
        let scrutinee = self.expr(&m.expr, out, depth + 1);
        let arms = m.arms.len();
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
            let end = self.expr_span(&arm.body).end;
            self.temp_scopes.push(Vec::new());
            let statements = match &*arm.body {
                Expr::Block(block) if block.label.is_none() => {
                    self.block_stmts(&block.block.stmts, &mut body, depth + 1);
                    block.block.stmts.len()
                }
                other => {
                    self.expr(other, &mut body, depth + 1);
                    1
                }
            };
            self.end_temps(&mut body, end);
            self.pop_frame(&mut body, end);
            let pattern = self.span_of(&arm.pat);
            out.push(Node::Scope(Scope {
                kind: ScopeKind::Branch(BranchInfo {
                    first: index == 0,
                    has_else: arms > 1,
                    condition: Condition::default(),
                    exits: expr_exit(&arm.body),
                    acquire_test: None,
                }),
                span: Span::new(pattern.start, end),
                keyword: pattern,
                statements: statements as u32,
                body,
            }));
        }
    }

    fn span_of(&self, node: &impl Spanned) -> Span {
        self.span(node.span())
    }

    fn lower_while(&mut self, w: &'a syn::ExprWhile, out: &mut Vec<Node>, depth: usize) {
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
            assigned: assigned_names(&w.body),
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

    fn lower_for(&mut self, f: &'a syn::ExprForLoop, out: &mut Vec<Node>, depth: usize) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        // The iterator's temporaries live for the whole loop (they stay pending in the
        // enclosing statement).
        let iterable = self.expr(&f.expr, out, depth + 1);
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
            }),
            span: whole,
            keyword: self.span(f.for_token.span),
            statements: f.body.stmts.len() as u32,
            body,
        }));
    }

    // -------------------------------------------------------------------------- macros

    fn lower_macro(&mut self, mac: &'a syn::Macro, out: &mut Vec<Node>, depth: usize) -> Value {
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
                for (i, item) in list.iter().enumerate() {
                    let v = self.expr(item, out, depth + 1);
                    self.escape(&v);
                    match v.ty {
                        Ty::Callable(id) => callables.push(id),
                        Ty::SleepFuture(call) if matches!(name.as_str(), "join" | "try_join") => {
                            self.push(out, EventKind::Sleep, call)
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
                for arm in arms {
                    if let Some(future) = &arm.future {
                        match self.expr(future, out, depth + 1).ty {
                            Ty::Callable(callee) => {
                                self.push(out, EventKind::Call { callee }, span)
                            }
                            Ty::SleepFuture(call) => self.push(out, EventKind::Sleep, call),
                            _ => {}
                        }
                    }
                }
                self.push(out, EventKind::Await, span);
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
                    let end = self.expr_span(&arm.handler).end;
                    self.temp_scopes.push(Vec::new());
                    let statements = match &arm.handler {
                        Expr::Block(block) if block.label.is_none() => {
                            self.block_stmts(&block.block.stmts, &mut body, depth + 1);
                            block.block.stmts.len()
                        }
                        other => {
                            self.expr(other, &mut body, depth + 1);
                            1
                        }
                    };
                    self.end_temps(&mut body, end);
                    self.pop_frame(&mut body, end);
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
                        }),
                        span: Span::new(start, end),
                        keyword: Span::new(start, start),
                        statements: statements as u32,
                        body,
                    }));
                }
            }
            MacroBody::Nothing => {}
        }
        if is_panic_macro(&name) {
            out.push(exit_node(ExitKind::Raise, span));
        }
        value
    }
}

impl Value {
    fn with_temp(mut self, temp: Option<TempRef>) -> Self {
        self.temp = temp;
        self
    }
}

// ------------------------------------------------------------------------------ collect

struct Collector<'l, 'a> {
    lw: &'l mut Lowerer<'a>,
    module: usize,
    class: Option<String>,
    depth: usize,
}

impl<'a> Collector<'_, 'a> {
    fn register(
        &mut self,
        sig: &'a syn::Signature,
        body: &'a Block,
        class: Option<String>,
        first: TokenSpan,
    ) -> FnId {
        let id = FnId(self.lw.fns.len() as u32);
        let inputs = sig
            .inputs
            .iter()
            .map(|input| match input {
                FnArg::Receiver(_) => Input::SelfParam,
                FnArg::Typed(typed) => Input::Typed(&typed.pat, Some(&typed.ty)),
            })
            .collect();
        let ret = match &sig.output {
            syn::ReturnType::Type(_, ty) => Some(&**ty),
            syn::ReturnType::Default => None,
        };
        let span = self.lw.join(first, body.brace_token.span.close());
        let name_span = self.lw.span(sig.ident.span());
        self.lw.fns.push(FnInfo {
            name: sig.ident.to_string(),
            class,
            module: self.module,
            body: FnBody::Block(body),
            inputs,
            hints: Vec::new(),
            ret,
            is_async: sig.asyncness.is_some(),
            span,
            name_span,
            env: Vec::new(),
        });
        id
    }

    fn add_static(&mut self, name: String, ty: &'a Type, span: Span) {
        self.lw.modules[self.module].statics.insert(name.clone());
        self.lw.statics.entry(name).or_insert(StaticInfo {
            module: self.module,
            ty,
            span,
            resolved: Ty::Unknown,
        });
    }
}

fn signature_start(sig: &syn::Signature) -> TokenSpan {
    sig.constness
        .map(|t| t.span)
        .or(sig.asyncness.map(|t| t.span))
        .or(sig.unsafety.map(|t| t.span))
        .or(sig.abi.as_ref().map(|a| a.extern_token.span))
        .unwrap_or(sig.fn_token.span)
}

fn flatten_use(tree: &UseTree, prefix: &mut Vec<String>, module: &mut Module) {
    match tree {
        UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            flatten_use(&path.tree, prefix, module);
            prefix.pop();
        }
        UseTree::Name(name) => {
            let ident = name.ident.to_string();
            if ident == "self" {
                if let Some(last) = prefix.last() {
                    module.imports.insert(last.clone(), prefix.clone());
                }
            } else {
                let mut full = prefix.clone();
                full.push(ident.clone());
                module.imports.insert(ident, full);
            }
        }
        UseTree::Rename(rename) => {
            let ident = rename.ident.to_string();
            let mut full = prefix.clone();
            if ident != "self" {
                full.push(ident);
            }
            if rename.rename != "_" {
                module.imports.insert(rename.rename.to_string(), full);
            }
        }
        UseTree::Glob(_) => module.globs.push(prefix.clone()),
        UseTree::Group(group) => {
            for item in &group.items {
                flatten_use(item, prefix, module);
            }
        }
    }
}

impl<'a> Visit<'a> for Collector<'_, 'a> {
    fn visit_item_mod(&mut self, item: &'a syn::ItemMod) {
        let index = self.lw.modules.len();
        self.lw.modules.push(Module {
            parent: Some(self.module),
            ..Module::default()
        });
        self.lw.modules[self.module]
            .children
            .insert(item.ident.to_string(), index);
        if let Some((_, items)) = &item.content {
            let saved = (self.module, self.class.take());
            self.module = index;
            for item in items {
                self.visit_item(item);
            }
            self.module = saved.0;
            self.class = saved.1;
        }
    }

    fn visit_item_use(&mut self, item: &'a syn::ItemUse) {
        let mut prefix = Vec::new();
        if item.leading_colon.is_some() {
            // `use ::std::..`: an external crate.
        }
        let module = &mut self.lw.modules[self.module];
        flatten_use(&item.tree, &mut prefix, module);
    }

    fn visit_item_struct(&mut self, item: &'a syn::ItemStruct) {
        let name = item.ident.to_string();
        self.lw.modules[self.module].structs.insert(name.clone());
        let fields = item
            .fields
            .iter()
            .enumerate()
            .map(|(index, field)| {
                let name = field
                    .ident
                    .as_ref()
                    .map_or_else(|| index.to_string(), |i| i.to_string());
                let span = self.lw.span_of(field);
                (name, &field.ty, span)
            })
            .collect();
        self.lw.structs.entry(name).or_insert(StructInfo {
            module: self.module,
            fields,
            types: HashMap::new(),
        });
    }

    fn visit_item_static(&mut self, item: &'a syn::ItemStatic) {
        let span = self
            .lw
            .join(item.static_token.span, item.semi_token.spans[0]);
        self.add_static(item.ident.to_string(), &item.ty, span);
        syn::visit::visit_item_static(self, item);
    }

    fn visit_item_const(&mut self, item: &'a syn::ItemConst) {
        self.lw.modules[self.module]
            .consts
            .insert(item.ident.to_string());
        syn::visit::visit_item_const(self, item);
    }

    fn visit_item_type(&mut self, item: &'a syn::ItemType) {
        self.lw.modules[self.module]
            .aliases
            .insert(item.ident.to_string(), &item.ty);
    }

    fn visit_item_fn(&mut self, item: &'a syn::ItemFn) {
        let id = self.register(&item.sig, &item.block, None, signature_start(&item.sig));
        self.lw.modules[self.module]
            .fns
            .entry(item.sig.ident.to_string())
            .or_insert(id);
        let saved = self.class.take();
        self.visit_block(&item.block);
        self.class = saved;
    }

    fn visit_item_impl(&mut self, item: &'a syn::ItemImpl) {
        let Some(class) = type_name(&item.self_ty) else {
            return;
        };
        let saved = self.class.replace(class.clone());
        for impl_item in &item.items {
            if let syn::ImplItem::Fn(method) = impl_item {
                let first = method
                    .defaultness
                    .map(|t| t.span)
                    .unwrap_or_else(|| signature_start(&method.sig));
                let id = self.register(&method.sig, &method.block, Some(class.clone()), first);
                self.lw
                    .methods
                    .entry((class.clone(), method.sig.ident.to_string()))
                    .or_insert(id);
                self.visit_block(&method.block);
            }
        }
        self.class = saved;
    }

    fn visit_item_trait(&mut self, item: &'a syn::ItemTrait) {
        let class = item.ident.to_string();
        let saved = self.class.replace(class.clone());
        for trait_item in &item.items {
            if let syn::TraitItem::Fn(method) = trait_item {
                if let Some(block) = &method.default {
                    let id = self.register(
                        &method.sig,
                        block,
                        Some(class.clone()),
                        signature_start(&method.sig),
                    );
                    self.lw
                        .methods
                        .entry((class.clone(), method.sig.ident.to_string()))
                        .or_insert(id);
                    self.visit_block(block);
                }
            }
        }
        self.class = saved;
    }

    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        let key = self
            .lw
            .positions
            .offset(mac.delimiter.span().open().start());
        let macros: &'a MacroArena = self.lw.macros;
        if let Some(&index) = macros.static_index.get(&key) {
            for decl in macros.statics[index].iter() {
                let span = self.lw.span_of(&decl.name);
                self.add_static(decl.name.to_string(), &decl.ty, span);
            }
        }
        if let Some(&index) = macros.index.get(&key) {
            // Items and nested functions inside statement-like macro bodies.
            if let MacroBody::Stmts(stmts) = &macros.bodies[index] {
                for stmt in stmts {
                    self.visit_stmt(stmt);
                }
            }
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth > MAX_DEPTH {
            self.lw.depth_exceeded = true;
            return;
        }
        self.depth += 1;
        syn::visit::visit_expr(self, expr);
        self.depth -= 1;
    }
}

// ------------------------------------------------------------------------------ helpers

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hint {
    /// `.lock().unwrap()`: a `LockResult`, so a std lock.
    LockResult,
    /// `.lock().await`: an async lock.
    Async,
}

/// `x.lock()` / `x.read()` / `x.write()` with no arguments.
fn lock_hint(expr: &Expr, hint: Hint) -> Option<Hint> {
    match expr {
        Expr::MethodCall(call)
            if call.args.is_empty()
                && matches!(
                    call.method.to_string().as_str(),
                    "lock" | "read" | "write" | "try_lock" | "try_read" | "try_write"
                ) =>
        {
            Some(hint)
        }
        _ => None,
    }
}

/// Methods that pass a guard through (`LockResult` / `Option` unwrapping).
fn guard_wrapper(name: &str) -> bool {
    matches!(
        name,
        "unwrap"
            | "expect"
            | "unwrap_or_else"
            | "unwrap_unchecked"
            | "ok"
            | "into_ok"
            | "unwrap_or_default"
    )
}

/// What a method that is not a concurrency operation gives back.
fn transform(receiver: &Value, name: &str) -> Value {
    let keep = || Value {
        place: receiver.place.clone(),
        ty: receiver.ty.clone(),
        temp: receiver.temp,
        spawn: None,
        def: receiver.def,
        fresh: receiver.fresh,
    };
    let unwrap = |inner: &Ty| Value {
        place: receiver.place.clone(),
        ty: inner.clone(),
        def: receiver.def,
        ..Value::default()
    };
    match (&receiver.ty, name) {
        (_, _)
            if guard_wrapper(name)
                && (receiver.temp.is_some() || matches!(receiver.ty, Ty::Guard(..))) =>
        {
            keep()
        }
        (Ty::Opt(inner), "unwrap" | "expect" | "unwrap_unchecked") => unwrap(inner),
        // `Builder::spawn(..).unwrap()`: the handle of that start.
        (Ty::Sync(ObjKind::Thread { .. }), _)
            if guard_wrapper(name) && receiver.spawn.is_some() =>
        {
            Value {
                spawn: receiver.spawn,
                ..keep()
            }
        }
        (
            Ty::Opt(_),
            "take" | "as_ref" | "as_mut" | "as_deref" | "as_deref_mut" | "clone" | "cloned"
            | "copied" | "replace",
        ) => Value {
            temp: None,
            ..keep()
        },
        (Ty::Once(inner), "get" | "get_mut") => Value {
            ty: Ty::Opt(inner.clone()),
            ..unwrap(inner)
        },
        (Ty::Once(inner), "get_or_init" | "get_or_try_init" | "wait" | "force") => unwrap(inner),
        (
            Ty::Seq(inner) | Ty::Iter(inner),
            "iter" | "iter_mut" | "into_iter" | "drain" | "rev" | "skip" | "take" | "filter"
            | "chain" | "by_ref",
        ) => Value::of(Ty::Iter(inner.clone())),
        (
            Ty::Seq(inner) | Ty::Iter(inner),
            "first" | "last" | "get" | "get_mut" | "pop" | "pop_front" | "pop_back" | "next"
            | "first_mut" | "last_mut",
        ) => Value::of(Ty::Opt(inner.clone())),
        (Ty::Seq(inner), "remove" | "swap_remove") => Value::of((**inner).clone()),
        (
            Ty::Lock(..) | Ty::Sync(_) | Ty::Struct(_) | Ty::Tuple(_) | Ty::Seq(_) | Ty::Once(_),
            "clone" | "as_ref" | "borrow" | "deref" | "to_owned" | "as_deref" | "by_ref",
        ) => Value {
            temp: None,
            ..keep()
        },
        _ => Value::default(),
    }
}

fn element_of(value: &Value, index: usize) -> Value {
    match &value.ty {
        Ty::Tuple(items) => Value {
            place: value.place.as_ref().map(|p| project(p, &index.to_string())),
            ty: items.get(index).cloned().unwrap_or_default(),
            temp: value
                .temp
                .filter(|_| matches!(items.get(index), Some(Ty::Guard(..)))),
            spawn: None,
            def: value.def,
            fresh: false,
        },
        _ => Value::default(),
    }
}

fn path_segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

fn is_known_path(full: &str) -> bool {
    names::known_type(full).is_some()
        || names::known_fn(full).is_some()
        || full
            .rsplit_once("::")
            .is_some_and(|(owner, _)| names::known_type(owner).is_some())
}

fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        _ => None,
    }
}

fn member_name(member: &syn::Member) -> String {
    match member {
        syn::Member::Named(ident) => ident.to_string(),
        syn::Member::Unnamed(index) => index.index.to_string(),
    }
}

fn single_ident(expr: &Expr) -> Option<String> {
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

fn pattern_name(pat: &Pat) -> Option<String> {
    match pat {
        Pat::Ident(ident) => Some(ident.ident.to_string()),
        Pat::Type(typed) => pattern_name(&typed.pat),
        Pat::Reference(reference) => pattern_name(&reference.pat),
        _ => None,
    }
}

/// The call a statement consists of, under `let`, assignment, `unwrap()`, `?` and `.await`.
fn core_call(expr: &Expr) -> Option<&Expr> {
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

fn contains_let(expr: &Expr) -> bool {
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

fn is_panic_macro(name: &str) -> bool {
    matches!(name, "panic" | "unreachable" | "todo" | "unimplemented")
}

fn expr_exit(expr: &Expr) -> Option<ExitKind> {
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
fn block_exit(block: &Block) -> Option<ExitKind> {
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

fn exit_node(kind: ExitKind, span: Span) -> Node {
    Node::Event(Event {
        kind: EventKind::Exit(kind),
        span,
        statement: Some(span),
    })
}

/// Local names a loop body assigns (`i += 1`, `done = true`).
fn assigned_names(block: &Block) -> Vec<String> {
    struct Finder {
        names: Vec<String>,
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
    }
    let mut finder = Finder {
        names: Vec::new(),
        depth: 0,
    };
    finder.visit_block(block);
    finder.names.sort();
    finder.names.dedup();
    finder.names
}

fn is_compound_assignment(op: &BinOp) -> bool {
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

fn is_comparison(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_) | BinOp::Eq(_) | BinOp::Ne(_)
    )
}

/// Methods that take a shared (read) guard of a readers-writer lock.
fn is_shared_guard(method: &str) -> bool {
    method.contains("read")
}
