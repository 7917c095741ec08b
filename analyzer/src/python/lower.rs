//! Lowers a parsed Python module into the concurrency model.
//!
//! Three passes over the AST: `collect` finds functions, classes and imports; `define` resolves
//! what each variable and attribute is (`self._lock = threading.Lock()`, aliases, annotations);
//! `stmt` and `calls` turn each function body into scopes and events with every object
//! resolved. Resolution (what a name, attribute or call denotes, through imports and the project
//! index) lives in `resolve`; `escape` and `daemon` are later analyses over the result; `syntax`
//! holds helpers over the AST.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use ruff_python_ast::comparable::ComparableExpr;
use ruff_python_ast::visitor::{walk_expr, Visitor};
use ruff_python_ast::{
    self as ast, Arguments, ExceptHandler, Expr, Number, Stmt, StmtFunctionDef, UnaryOp,
};
use ruff_text_size::{Ranged, TextRange};
use threadlint_rules::model::{
    AcquireHow, AsyncThread, BlockingKind, BranchInfo, ClientTimeout, Condition, Event, EventKind,
    ExitKind, FileModel, FnId, Function, Language, LoopInfo, LoopKind, Node, ObjId, ObjKey,
    ObjKind, Read, Scope, ScopeKind, Span, SyncObject, ThreadAction, ThreadEntry, WaitKind,
};

use super::modules::{self, ModulePath};
use super::names;
use threadlint_rules::model::{CallSyntax, ClassSummary, ModuleInfo};
use threadlint_rules::project::{ProjectIndex, Sleeper};

mod alone;
mod calls;
mod collect;
mod containers;
mod daemon;
mod define;
mod escape;
mod futures;
mod handshake;
mod not_yet;
mod params;
mod protocol;
mod pure;
mod resolve;
mod state_tests;
mod stmt;
mod syntax;

use syntax::*;

/// Deeper nesting than this is not descended into: the model keeps what is above it.
const MAX_DEPTH: usize = 150;

fn span(range: TextRange) -> Span {
    Span::new(range.start().to_u32(), range.end().to_u32())
}

struct FnInfo<'a> {
    name: String,
    class: Option<usize>,
    parent: Option<FnId>,
    def: Option<&'a StmtFunctionDef>,
    body: &'a [Stmt],
    params: Vec<(String, Option<&'a Expr>)>,
    /// Names declared `global` (or `nonlocal`, which we treat alike: shared beyond the call).
    globals: HashSet<String>,
    /// Local names bound to objects (`lock = self._lock`, `t = Thread(...)`).
    locals: HashMap<String, ObjId>,
    /// Every name the body assigns, computed once on first use.
    assigned: std::cell::OnceCell<HashSet<String>>,
    /// The kind of object every `return` creates, for factories; computed once on first use.
    returns: std::cell::OnceCell<Option<ObjKind>>,
}

struct ClassInfo {
    name: String,
    bases: Vec<String>,
    methods: HashMap<String, FnId>,
}

pub struct Lowerer<'a> {
    source: &'a str,
    /// The file's module, when its package layout names it.
    module: Option<ModulePath>,
    /// What other files of the project define, for imported names.
    index: Option<&'a ProjectIndex>,
    /// Local name -> absolute name, for every import of the file.
    imports: HashMap<String, String>,
    /// The same, in source order (for the model's [`ModuleInfo`]).
    import_list: Vec<(String, String)>,
    /// `import m` / `import m as n` at the top level: (bound name, module).
    module_imports: Vec<(String, String)>,
    functions: Vec<FnInfo<'a>>,
    classes: Vec<ClassInfo>,
    class_by_name: HashMap<String, usize>,
    /// Module-level functions by name.
    module_functions: HashMap<String, FnId>,
    /// Functions nested in another function, by (enclosing function, name).
    nested_functions: HashMap<(FnId, String), FnId>,
    objects: Vec<SyncObject>,
    object_by_key: HashMap<ObjKey, ObjId>,
    /// Attribute name -> kind, where every class of the file that defines the attribute agrees;
    /// used for receivers whose class is not known (`account.lock` with `account` a parameter).
    attribute_kinds: HashMap<String, Option<ObjKind>>,
    /// Whether a class's methods assign an attribute (`self.attr = ...`), by (class, attr):
    /// read once per pair.
    class_assigns_memo: HashMap<(usize, String), bool>,
    /// Module code has started a thread or submitted work: its writes to its own names are
    /// shared state from then on.
    module_started_threads: bool,
    /// Variables and attributes bound to an instance of a class of another module of the
    /// project (`self.pool = Pool()`): the class's absolute name.
    instance_types: HashMap<ObjKey, String>,
    /// Variables and attributes bound to an instance of a class of this file (`self._parent =
    /// parent` with `parent: Queue`, `q = Queue()`, `parent = self._parent`): the class.
    file_instances: HashMap<ObjKey, usize>,
    /// Absolute names of other modules' objects, classes and factories the file uses: with a
    /// project index they may resolve (the file is then lowered again with it).
    lookups: std::cell::RefCell<std::collections::BTreeSet<String>>,
    thread_entries: Vec<ThreadEntry>,
    /// How each call event is written ([`FileModel::calls`]).
    calls: HashMap<Span, CallSyntax>,
    /// Futures known to be finished (`for f in as_completed(...)`).
    done_futures: HashSet<ObjId>,
    /// Futures a coroutine has awaited, by function: done from there until bound again.
    awaited_futures: HashSet<(FnId, ObjId)>,
    /// Functions handed to a future's `add_done_callback`: their future parameter is done.
    done_callbacks: HashSet<FnId>,
    /// Executors whose tasks run in other processes (`ProcessPoolExecutor`): what they run is
    /// not a thread entry.
    process_pools: HashSet<ObjId>,
    /// How many loops (or comprehensions) enclose the code being lowered: a hand-off to a
    /// thread there happens repeatedly.
    repeats: usize,
    /// Instantiations of the file's `Thread` subclasses: (class, inside a loop).
    thread_instantiations: Vec<(usize, bool)>,
    /// Objects a constructor call of the function that holds them creates (locals and
    /// temporaries), and those of them that escape it: see `escape.rs`.
    fresh: HashSet<ObjId>,
    /// The functions that create a fresh object: only they and the functions nested in them
    /// can let one escape.
    fresh_in: HashSet<FnId>,
    escaped: HashSet<ObjId>,
    /// `Thread(...)` calls whose target keeps the running thread itself (`self._thread =
    /// threading.current_thread()`): the thread is stored, where its owner can join it.
    self_storing_threads: HashSet<Span>,
    /// Local names bound to a library function (`s = time.sleep`): (function, name) -> the
    /// function's qualified name.
    callable_aliases: HashMap<(FnId, String), String>,
    /// The value of the latest plain assignment to a local lowered so far (`done =
    /// self.flag.is_set()`): a test of the local (`if done:`) reads what the value reads.
    local_values: HashMap<(FnId, String), &'a Expr>,
    /// The calls of the expression being lowered whose value is a coroutine (see
    /// `lower_expr`).
    coroutine_calls: HashSet<TextRange>,
    /// The names assigned in the bodies of the `while` loops being lowered, innermost last.
    while_assigned: Vec<HashSet<String>>,
    /// The bodies of the `while` loops being lowered, innermost last.
    while_bodies: Vec<&'a [Stmt]>,
    depth_exceeded: bool,
    /// The class whose body's attributes are being defined: a bare name there is an
    /// attribute defined above it.
    class_body: Option<String>,
    /// Where the calls awaited at once start (`await asyncio.sleep(1)`).
    awaited_calls: HashSet<u32>,
    /// Locals of untyped objects that a thread the function starts signals on, and that the
    /// function only waits on (see `handshake.rs`): (function, name).
    handshakes: HashSet<(FnId, String)>,
    /// Locals of untyped objects that a thread the function starts waits on and the function
    /// signals: (function, name) -> whether its `release()` is a signal (the function does not
    /// take it itself).
    wakeups: HashMap<(FnId, String), bool>,
    /// Sockets given a timeout (`sock.settimeout(5)`) or made non-blocking.
    timed_sockets: HashSet<ObjId>,
    /// Containers built whole from objects of one kind (`[pool.submit(f, x) for x in xs]`,
    /// `[Event() for _ in range(n)]`): the kind of their elements.
    element_kinds: HashMap<ObjKey, ObjKind>,
    /// `socket.setdefaulttimeout(t)` is called in the file: its sockets time out.
    default_socket_timeout: bool,
    /// Processes a function has seen end, in source order: after `p.wait()` without timeout
    /// or `p.kill()`, a later `p.wait()` / `p.communicate()` of that function returns at once.
    ended_processes: HashSet<(FnId, ObjId)>,
}

impl<'a> Lowerer<'a> {
    pub fn new(
        source: &'a str,
        module: Option<ModulePath>,
        index: Option<&'a ProjectIndex>,
    ) -> Self {
        Lowerer {
            source,
            module,
            index: index.filter(|index| !index.is_empty()),
            imports: HashMap::default(),
            import_list: Vec::new(),
            module_imports: Vec::new(),
            functions: Vec::new(),
            classes: Vec::new(),
            class_by_name: HashMap::default(),
            module_functions: HashMap::default(),
            nested_functions: HashMap::default(),
            objects: Vec::new(),
            object_by_key: HashMap::default(),
            attribute_kinds: HashMap::default(),
            class_assigns_memo: HashMap::default(),
            module_started_threads: false,
            instance_types: HashMap::default(),
            file_instances: HashMap::default(),
            lookups: std::cell::RefCell::default(),
            thread_entries: Vec::new(),
            calls: HashMap::default(),
            done_futures: HashSet::default(),
            awaited_futures: HashSet::default(),
            done_callbacks: HashSet::default(),
            process_pools: HashSet::default(),
            repeats: 0,
            thread_instantiations: Vec::new(),
            fresh: HashSet::default(),
            fresh_in: HashSet::default(),
            escaped: HashSet::default(),
            self_storing_threads: HashSet::default(),
            callable_aliases: HashMap::default(),
            local_values: HashMap::default(),
            coroutine_calls: HashSet::default(),
            while_assigned: Vec::new(),
            while_bodies: Vec::new(),
            depth_exceeded: false,
            class_body: None,
            awaited_calls: HashSet::default(),
            handshakes: HashSet::default(),
            wakeups: HashMap::default(),
            timed_sockets: HashSet::default(),
            element_kinds: HashMap::default(),
            default_socket_timeout: false,
            ended_processes: HashSet::default(),
        }
    }

    /// Lowers `module` into a model. `depth_exceeded` in the result tells that some deeply
    /// nested code was left out.
    pub fn lower(mut self, module: &'a [Stmt]) -> (FileModel, bool) {
        self.functions.push(FnInfo {
            name: "<module>".into(),
            class: None,
            parent: None,
            def: None,
            body: module,
            params: Vec::new(),
            globals: HashSet::default(),
            locals: HashMap::default(),
            assigned: std::cell::OnceCell::new(),
            returns: std::cell::OnceCell::new(),
        });
        self.collect(module, None, FnId(0), 0);
        for index in 0..self.functions.len() {
            let body = self.functions[index].body;
            self.define_body(FnId(index as u32), body, 0);
        }
        self.find_container_elements();
        self.index_attribute_kinds();
        for (index, info) in self.functions.iter().enumerate() {
            if let (Some(parent), None) = (info.parent, info.class) {
                self.nested_functions
                    .entry((parent, info.name.clone()))
                    .or_insert(FnId(index as u32));
            }
        }
        self.find_done_callbacks();
        self.find_thread_classes();
        self.find_untyped_locks();
        self.type_parameters_from_callers();
        self.find_handshakes();
        let alone = self.coroutines_run_alone();
        let mut functions = Vec::with_capacity(self.functions.len());
        for index in 0..self.functions.len() {
            let id = FnId(index as u32);
            let body = self.functions[index].body;
            let nodes = self.lower_body(id, body, 0);
            let info = &self.functions[index];
            let (fn_span, name_span, is_async) = match info.def {
                Some(def) => (span(def.range), span(def.name.range), def.is_async),
                None => (
                    Span::new(0, self.source.len() as u32),
                    Span::new(0, 0),
                    false,
                ),
            };
            functions.push(Function {
                name: info.name.clone(),
                class: info.class.map(|c| self.classes[c].name.clone()),
                params: info.params.iter().map(|(n, _)| n.clone()).collect(),
                param_types: info
                    .params
                    .iter()
                    .map(|(_, annotation)| {
                        annotation.map(|a| {
                            threadlint_rules::model::type_text(
                                self.text(a.range()),
                                Language::Python,
                            )
                        })
                    })
                    .collect(),
                is_async,
                is_abstract: info.def.is_some_and(|def| self.is_abstract(def)),
                exclusive_receiver: false,
                span: fn_span,
                name_span,
                body: nodes,
                paused_clock: None,
                async_thread: if alone.contains(&id) {
                    AsyncThread::Alone
                } else {
                    AsyncThread::Runtime
                },
            });
        }
        self.mark_repeated_thread_classes();
        self.find_escapes();
        let mut factories: Vec<(String, ObjKind)> = self
            .module_functions
            .iter()
            .filter_map(|(name, &id)| Some((name.clone(), self.returned_kind(id)?)))
            .collect();
        factories.sort_by(|a, b| a.0.cmp(&b.0));
        let mut sleepers: Vec<(String, Sleeper)> = self
            .module_functions
            .iter()
            .filter_map(|(name, &id)| Some((name.clone(), self.local_sleeper(id)?)))
            .collect();
        sleepers.sort_by(|a, b| a.0.cmp(&b.0));
        let classes = self.class_summaries();
        // Base classes from other modules are looked up too.
        for class in &classes {
            let mut lookups = self.lookups.borrow_mut();
            lookups.extend(
                class
                    .bases
                    .iter()
                    .filter(|b| !names::is_standard_library(b))
                    .cloned(),
            );
        }
        let lookups = self.lookups.take().into_iter().collect();
        let module = self.module.take().map(|module| ModuleInfo {
            path: module.name,
            imports: std::mem::take(&mut self.import_list),
            factories,
            sleepers,
            classes,
            lookups,
            method_owners: Vec::new(),
            inline_modules: Vec::new(),
        });
        let model = FileModel {
            language: Language::Python,
            module,
            objects: self.objects,
            functions,
            thread_entries: self.thread_entries,
            calls: self.calls,
            module_imports: self.module_imports,
        };
        (model, self.depth_exceeded)
    }
}
