//! Lowers a parsed Rust file into the concurrency model.
//!
//! Two passes. *Collection* (`items.rs`) walks every item (modules, `use` declarations, structs
//! and their field types, statics including `lazy_static!`/`thread_local!`, functions and
//! methods, type aliases); *resolution* (`resolve.rs`) then answers what a path, a type or a
//! field is. *Lowering* walks each function body once, in order, with a lexical environment
//! that knows what each binding is (its type as far as it matters, and its identity: a struct
//! field of `self`, a static, a parameter, a local), and emits scopes and events: statements and
//! patterns (`stmt.rs`), control flow (`control.rs`), expressions and macro bodies (`expr.rs`),
//! calls of paths (`call.rs`) and methods (`method.rs`). Guards follow the compiler's drop
//! rules (`guards.rs`): a temporary guard is released at the end of its temporary scope
//! (statement, `if`/`while` condition, match arm), a bound one at the end of its block or at
//! `drop(guard)`. `escape.rs` finds the fresh objects that leave their function.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use proc_macro2::Span as TokenSpan;
use syn::visit::Visit;
use syn::Expr;
use threadlint_rules::model::{
    AsyncThread, Event, EventKind, FileModel, FnId, Function, Language, Node, ObjId, ObjKey,
    ObjKind, Span, SyncObject, ThreadEntry,
};

use super::macros::MacroArena;
use super::positions::Positions;
use super::spans;
use super::Edition;
use syntax::TestRuntime;
use threadlint_rules::model::{type_text, CallSyntax, ModuleInfo};
use threadlint_rules::project::ProjectIndex;

mod call;
mod control;
mod escape;
mod expr;
mod guards;
mod items;
mod method;
mod resolve;
mod stmt;
mod syntax;
mod values;

use guards::{Frame, Temp};
use items::{Collector, FnBody, FnInfo, Input, Module, StaticInfo, StructInfo};
use syntax::pattern_name;
use values::{Place, Value};

/// Deeper nesting than this is not descended into: the model keeps what is above it.
pub(super) const MAX_DEPTH: usize = 150;
/// Glob imports followed in a row when resolving a name (`use super::*` of `use std::sync::*`).
const GLOB_HOPS: u8 = 3;

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
    /// How each call event is written ([`FileModel::calls`]).
    calls: HashMap<Span, CallSyntax>,
    depth_exceeded: bool,
    // Per function being lowered.
    current: FnId,
    frames: Vec<Frame>,
    temps: Vec<Temp>,
    temp_scopes: Vec<Vec<usize>>,
    /// Inside a loop or a closure that may run several times.
    repetition: usize,
    /// The capacity of the bounded channel the statement being lowered makes
    /// (`bounded(4)`), until its `let` binds the sender.
    pending_room: Option<u32>,
    /// Senders of bounded channels made in the function being lowered, with the number of
    /// messages that still fit before a `send` can wait: none has been received, and no
    /// other sender (a clone) or loop has sent since.
    room: HashMap<ObjKey, u32>,
    /// Locals of the function being lowered that hold a new collection nothing reads: only
    /// pushed to ([`syntax::unread_collections`]).
    unread: Vec<String>,
    /// Objects made by a constructor or a spawn (`fresh`), objects also reached through a
    /// value that was not (`stale`), and the places that escape their function.
    fresh: HashSet<ObjId>,
    stale: HashSet<ObjId>,
    escaped: HashSet<ObjKey>,
    /// For each closure lowered in place, the index of its first frame: bindings below it are
    /// captured.
    closure_floors: Vec<usize>,
    /// The crate (name) and module path (`my_crate::a::b`) of the file, when known.
    crate_name: Option<String>,
    module_path: Option<String>,
    /// The package's library crate, for a file of another target of the package (a test, an
    /// example, a binary), which names it by the package name.
    library: Option<String>,
    /// What other files of the project define.
    index: Option<&'a ProjectIndex>,
    /// The type of each `impl` block, where it is written (`impl Pool`, `impl<T> Pool<T>`).
    impls: Vec<(String, &'a syn::Type, usize)>,
    /// `impl` blocks of types that another file of the crate defines: the type's short name
    /// and its absolute path (`Pool` -> `my_crate::pool::Pool`).
    foreign_impls: HashMap<String, String>,
    /// `impl Trait for Type` blocks with a `type Target = ..;`: (type, trait path, target,
    /// module), kept for [`Self::derefs`] once paths resolve.
    deref_candidates: Vec<(String, Vec<String>, &'a syn::Type, usize)>,
    /// Types of this file that dereference to another (`impl Deref for Links { type Target =
    /// Arc<Mutex<..>>; }`): the target and the module it is written in.
    derefs: HashMap<String, (&'a syn::Type, usize)>,
    /// Items of other files of the crate the file uses (`my_crate::locks.LOCK`): what a
    /// project index may resolve for it.
    lookups: std::cell::RefCell<std::collections::BTreeSet<String>>,
    /// Paths of this file to fields of other files' structs, with the identity those files
    /// give them (`SyncObject::project_key`).
    project_keys: std::cell::RefCell<HashMap<ObjKey, ObjKey>>,
    /// Every atomic `load` lowered, by the span of its call, with the atomic it reads: what a
    /// condition tests (TL015) and what a `store` computes its value from (TL006).
    atomic_loads: Vec<(Span, ObjId)>,
}

impl<'a> Lowerer<'a> {
    /// Places the file in its crate (see [`super::lower_in`]).
    pub fn in_project(
        mut self,
        place: Option<&super::modules::CrateFile>,
        index: Option<&'a ProjectIndex>,
    ) -> Self {
        if let Some(place) = place {
            self.crate_name = Some(place.crate_name.clone());
            self.library = (!place.in_library).then(|| place.package.clone());
            self.module_path = Some(place.module.join("::"));
            self.index = index.filter(|index| !index.is_empty());
        }
        self
    }

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
            structs: HashMap::default(),
            statics: HashMap::default(),
            fns: Vec::new(),
            methods: HashMap::default(),
            objects: Vec::new(),
            object_by_key: HashMap::default(),
            thread_entries: Vec::new(),
            calls: HashMap::default(),
            depth_exceeded: false,
            current: FnId(0),
            frames: Vec::new(),
            temps: Vec::new(),
            temp_scopes: Vec::new(),
            repetition: 0,
            pending_room: None,
            room: HashMap::default(),
            unread: Vec::new(),
            fresh: HashSet::default(),
            stale: HashSet::default(),
            escaped: HashSet::default(),
            closure_floors: Vec::new(),
            crate_name: None,
            module_path: None,
            library: None,
            index: None,
            impls: Vec::new(),
            foreign_impls: HashMap::default(),
            deref_candidates: Vec::new(),
            derefs: HashMap::default(),
            lookups: std::cell::RefCell::default(),
            project_keys: std::cell::RefCell::default(),
            atomic_loads: Vec::new(),
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
            exclusive_receiver: false,
            span: Span::new(0, self.source.len() as u32),
            name_span: Span::new(0, 0),
            env: Vec::new(),
            paused_clock: None,
            test_runtime: None,
            spawns_tasks: false,
        });
        let mut collector = Collector {
            lw: &mut self,
            module: 0,
            class: None,
            depth: 0,
        };
        collector.visit_file(file);
        self.resolve_item_types();
        self.resolve_impls();
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
                param_types: info
                    .inputs
                    .iter()
                    .map(|input| match input {
                        Input::SelfParam => None,
                        Input::Typed(_, ty) => {
                            ty.map(|ty| type_text(self.text(self.span_of(ty)), Language::Rust))
                        }
                    })
                    .collect(),
                is_async: info.is_async,
                is_abstract: false,
                exclusive_receiver: info.exclusive_receiver,
                span: info.span,
                name_span: info.name_span,
                body,
                paused_clock: info.paused_clock,
                async_thread: match info.test_runtime {
                    Some(TestRuntime::OwnThread) => AsyncThread::Alone,
                    Some(TestRuntime::CurrentThread) if info.spawns_tasks => {
                        AsyncThread::TestThread
                    }
                    Some(TestRuntime::CurrentThread) => AsyncThread::Alone,
                    None => AsyncThread::Runtime,
                },
            })
            .collect();
        self.finish_escapes();
        self.mark_owned_fields();
        let project_keys = self.project_keys.take();
        for object in &mut self.objects {
            object.project_key = project_keys.get(&object.key).cloned();
        }
        // Cloned, not taken: resolving the re-exports needs the file's module path.
        let module = self.module_path.clone().map(|path| {
            self.intern_statics();
            ModuleInfo {
                imports: self.reexports(&path),
                path,
                method_owners: self.method_owners(),
                inline_modules: self
                    .fns
                    .iter()
                    .enumerate()
                    .filter(|(_, info)| info.module != 0)
                    .map(|(index, info)| (index as u32, self.modules[info.module].path.join(".")))
                    .collect(),
                classes: self.class_summaries(),
                sleepers: self.sleepers(),
                lookups: self.lookups.take().into_iter().collect(),
                ..ModuleInfo::default()
            }
        });
        let model = FileModel {
            language: Language::Rust,
            module,
            objects: self.objects,
            functions,
            thread_entries: self.thread_entries,
            calls: self.calls,
            module_imports: Vec::new(),
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
    // -------------------------------------------------------------------------- objects

    fn intern(&mut self, key: ObjKey, display: String, kind: ObjKind, def: Option<Span>) -> ObjId {
        let id = if let Some(&id) = self.object_by_key.get(&key) {
            id
        } else {
            let id = ObjId(self.objects.len() as u32);
            self.objects.push(SyncObject::new(key.clone(), display));
            self.object_by_key.insert(key, id);
            id
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

    /// Records how the call at `span` is written (its callee, and a method call's receiver and
    /// method name) when the events pushed since `before` include one of the call itself, or
    /// when `before` is `None`: a call whose event comes later (a sleep's future, at its
    /// `.await`).
    fn record_call<'e>(
        &mut self,
        out: &[Node],
        before: Option<usize>,
        span: Span,
        (callee, method): (Span, Option<(Span, Span)>),
        args: impl IntoIterator<Item = &'e Expr>,
    ) {
        if let Some(before) = before {
            if !out[before.min(out.len())..]
                .iter()
                .any(|node| matches!(node, Node::Event(event) if event.span == span))
            {
                return;
            }
        }
        let mut args = args.into_iter();
        let first = args.next();
        let last = args.last().or(first);
        let arguments = first
            .zip(last)
            .map(|(first, last)| self.join(spans::first(first), spans::last(last)));
        let first_argument = first.map(|first| self.expr_span(first));
        let variable = |expr: &Expr| match expr {
            Expr::Path(path) if path.qself.is_none() && path.path.get_ident().is_some() => {
                Some(self.expr_span(expr))
            }
            _ => None,
        };
        let first_variable = first.and_then(|first| match first {
            Expr::Reference(reference) => variable(&reference.expr),
            other => variable(other),
        });
        self.calls.insert(
            span,
            CallSyntax {
                callee,
                receiver: method.map(|(receiver, _)| receiver),
                method: method.map(|(_, method)| method),
                arguments,
                first_argument,
                first_variable,
            },
        );
    }

    fn push(&self, out: &mut Vec<Node>, kind: EventKind, span: Span) {
        out.push(Node::Event(Event {
            kind,
            span,
            statement: None,
        }));
    }
}
