//! Which objects escape the function that creates them. A `Mutex::new(..)` or a
//! `thread::spawn(..)` handle bound in a function is private to that call until it is passed
//! to a call, returned (or left as a block's value), stored in a field, a tuple, an array or a
//! collection, assigned elsewhere, or captured by a closure or an async block. Rules read the
//! result as [`SyncObject::escapes`](threadlint_rules::model::SyncObject::escapes).

use threadlint_rules::model::{Event, EventKind, Node, ObjKey, ObjKind, Span};

use super::values::{Place, Ty, Value};
use super::Lowerer;

impl Lowerer<'_> {
    /// The value leaves the place where it is used: whatever object it denotes escapes.
    pub(super) fn escape(&mut self, value: &Value) {
        if let Some(Place::Key(key @ (ObjKey::Local { .. } | ObjKey::Other(_)))) = &value.place {
            self.escaped.insert(key.clone());
        }
    }

    /// A guard handed to a call by value (`ValueRef::new(guard, v)`, not `f(&mut guard)`): the
    /// code that now holds it holds the lock, which leaves the function with it.
    pub(super) fn escape_moved_guards<'e>(
        &mut self,
        args: impl IntoIterator<Item = &'e syn::Expr>,
        values: &[Value],
    ) {
        for (arg, value) in args.into_iter().zip(values) {
            if matches!(arg, syn::Expr::Reference(_)) {
                continue;
            }
            if let Ty::Guard(Some(lock), _) = &value.ty {
                let key = self.objects[lock.0 as usize].key.clone();
                if matches!(key, ObjKey::Local { .. } | ObjKey::Other(_)) {
                    self.escaped.insert(key);
                }
            }
        }
    }

    pub(super) fn escape_all(&mut self, values: &[Value]) {
        for value in values {
            self.escape(value);
        }
    }

    /// A binding read by name: read from inside a closure (an async block, a function of its
    /// own, or a closure lowered in place) that did not bind it, its object is captured.
    pub(super) fn note_capture(&mut self, name: &str) {
        let found = self
            .frames
            .iter()
            .enumerate()
            .rev()
            .find_map(|(index, frame)| {
                frame
                    .bindings
                    .iter()
                    .rev()
                    .find(|b| b.name == name)
                    .map(|b| (index, b.value.place.clone()))
            });
        let Some((frame, Some(Place::Key(key @ ObjKey::Local { function, .. })))) = found else {
            return;
        };
        let in_place_closure = self
            .closure_floors
            .last()
            .is_some_and(|&floor| frame < floor);
        if function != self.current || in_place_closure {
            self.escaped.insert(key);
        }
    }

    /// A new object for a value that holds a fresh object but has no place yet (a temporary).
    pub(super) fn note_fresh(&mut self, id: threadlint_rules::model::ObjId, value: &Value) {
        if value.fresh || value.spawn.is_some() {
            self.fresh.insert(id);
        } else {
            self.stale.insert(id);
        }
    }

    /// A spawned thread's handle thrown away where it is made (`thread::spawn(..);`,
    /// `let _ = thread::spawn(..)`): the thread is detached. The handle becomes an object of
    /// its own that nothing can join.
    pub(super) fn discard(&mut self, value: &Value, out: &mut [Node]) {
        self.detach(value, None, out);
    }

    /// A spawned thread's handle pushed into a collection that nothing reads
    /// (`handles.push(thread::spawn(..))`, `handles` only ever pushed to): it is dropped with
    /// the collection at the end of the function, which detaches the thread. The handle
    /// becomes an element of the collection (`handles[]`) that nothing joins.
    pub(super) fn discard_into(&mut self, value: &Value, collection: &str, out: &mut [Node]) {
        self.detach(value, Some(collection), out);
    }

    /// The new handle in `value` (one no place holds) as an object of its own that nothing
    /// joins: named by its call, or as an element of the collection it went into.
    fn detach(&mut self, value: &Value, collection: Option<&str>, out: &mut [Node]) {
        let Some(site) = value.spawn else { return };
        if value.place.is_some() {
            return;
        }
        let (name, display) = if let Some(collection) = collection {
            (format!("{collection}[]"), collection.to_string())
        } else {
            let display = crate::display::temporary(self.text(site));
            (display.clone(), display)
        };
        let key = ObjKey::Other(format!("{name}@{}", site.start));
        let kind = ObjKind::Thread { daemon: false };
        let id = self.intern(key, display, kind, Some(site));
        self.fresh.insert(id);
        link_spawn(out, site, id);
    }

    /// Sets `escapes` on every object, once the file is lowered.
    pub(super) fn finish_escapes(&mut self) {
        for (index, object) in self.objects.iter_mut().enumerate() {
            let id = threadlint_rules::model::ObjId(index as u32);
            let fresh = self.fresh.contains(&id) && !self.stale.contains(&id);
            object.escapes = !fresh || self.escaped.contains(&object.key);
        }
    }
}

/// Records which object the handle of the thread started at `site` is.
pub(super) fn link_spawn(out: &mut [Node], site: Span, obj: threadlint_rules::model::ObjId) {
    for node in out.iter_mut().rev() {
        if let Node::Event(Event {
            kind: EventKind::ThreadStart { obj: slot @ None },
            span,
            ..
        }) = node
        {
            if *span == site {
                *slot = Some(obj);
                return;
            }
        }
    }
}

impl Lowerer<'_> {
    /// A macro whose body the lowering does not read may use any binding it names: those
    /// escape.
    pub(super) fn escape_macro_tokens(&mut self, tokens: &proc_macro2::TokenStream) {
        let mut stack = vec![tokens.clone()];
        let mut budget = 10_000usize;
        while let Some(stream) = stack.pop() {
            for tree in stream {
                budget = budget.saturating_sub(1);
                if budget == 0 {
                    return;
                }
                match tree {
                    proc_macro2::TokenTree::Ident(ident) => {
                        let name = ident.to_string();
                        self.note_capture(&name);
                        if let Some(value) = self.lookup(&name).map(|b| b.value.clone()) {
                            self.escape(&value);
                        }
                    }
                    proc_macro2::TokenTree::Group(group) => stack.push(group.stream()),
                    _ => {}
                }
            }
        }
    }
}
