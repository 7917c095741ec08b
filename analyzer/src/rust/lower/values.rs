//! What the lowering knows about a value: its type as far as concurrency goes (`Ty`), where it
//! lives (`Place`, what makes two expressions the same object), and the unbound guard it may
//! carry (`TempRef`).

use threadlint_rules::model::{AcquireHow, FnId, ObjId, ObjKey, ObjKind, Span};

/// What the lowering knows about a value's type, as far as concurrency goes. Smart pointers
/// (`Arc`, `Box`, `LazyLock`) are transparent: `Arc<Mutex<T>>` is a `Lock`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) enum Ty {
    #[default]
    Unknown,
    /// A lock and the type of the data it protects.
    Lock(ObjKind, Box<Ty>),
    Sync(ObjKind),
    /// A struct of this file, by name.
    Struct(String),
    /// An item of another file of the project, by its absolute path (`my_crate::pool::Pool`):
    /// its fields and methods are known only through the project index.
    Project(String),
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
    /// The messages of a channel's receiver, as `rx.iter()` yields them: consumed to the end,
    /// they wait until every sender is dropped.
    Drain(ObjId),
}

/// Where a value lives: what makes two expressions the same object.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Place {
    /// `self` inside a method of `class`.
    SelfValue(String),
    Key(ObjKey),
}

pub(super) fn project(place: &Place, member: &str) -> Place {
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
pub(super) struct TempRef {
    pub(super) id: usize,
    /// The value is the guard itself (through `unwrap()`, `?`, `.await`), not data inside it.
    pub(super) direct: bool,
    /// Borrowed (`&guard.field`): a `let` extends the temporary to its block.
    pub(super) borrowed: bool,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Value {
    pub(super) place: Option<Place>,
    pub(super) ty: Ty,
    pub(super) temp: Option<TempRef>,
    /// The `ThreadStart` event that created this thread handle.
    pub(super) spawn: Option<Span>,
    /// Where the object is created.
    pub(super) def: Option<Span>,
    /// A constructor call made the object (`Mutex::new(..)`, `Arc::new(Mutex::new(..))`): it
    /// is private to the function until it escapes (see `escape.rs`).
    pub(super) fresh: bool,
}

impl Value {
    pub(super) fn of(ty: Ty) -> Self {
        Value {
            ty,
            ..Value::default()
        }
    }
    /// The handle of a thread started at `site`: a new object whose start is that event.
    pub(super) fn new_thread(site: Span) -> Self {
        Value {
            ty: Ty::Sync(ObjKind::Thread { daemon: false }),
            spawn: Some(site),
            def: Some(site),
            fresh: true,
            ..Value::default()
        }
    }
    /// The value as read back from a binding: fresh-value markers do not travel.
    pub(super) fn settled(&self) -> Self {
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

impl Value {
    pub(super) fn with_temp(mut self, temp: Option<TempRef>) -> Self {
        self.temp = temp;
        self
    }
}

pub(super) fn element_of(value: &Value, index: usize) -> Value {
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
