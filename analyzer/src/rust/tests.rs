//! The lowering, case by case: each test renders a function's tree as compact text
//! (`acq:scoped:m` is `Acquire { how: Scoped }` of the object displayed as `m`).

use threadlint_rules::model::{
    EventKind, FileModel, Flavor, LoopKind, Node, ObjKey, ObjKind, Read, ScopeKind,
};

use super::{lower, Edition};
use crate::model_dump::render_body;

fn model(source: &str, edition: Edition) -> FileModel {
    let lowered = lower(source, edition);
    assert!(
        lowered.syntax_errors.is_empty(),
        "{:?}",
        lowered.syntax_errors
    );
    lowered.model.expect("a model")
}

/// The rendered body of the function named `name`.
fn body(source: &str, name: &str, edition: Edition) -> String {
    let model = model(source, edition);
    let function = model
        .functions
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no function {name}"));
    let mut out = Vec::new();
    render_body(&model, source, &function.body, &mut out);
    out.join(" ")
}

fn body21(source: &str, name: &str) -> String {
    body(source, name, Edition::E2021)
}

const PRELUDE: &str = "use std::sync::{Arc, Mutex, Condvar, RwLock};\nuse std::thread;\n";

fn with_prelude(code: &str) -> String {
    format!("{PRELUDE}{code}")
}

#[test]
fn let_guard_lives_to_the_end_of_its_block() {
    let src = with_prelude(
        "fn f(m: &Mutex<i32>, n: &Mutex<i32>) {
            { let g = m.lock().unwrap(); work(); }
            let h = n.lock().unwrap();
        }",
    );
    assert_eq!(body21(&src, "f"), "block{acq:scoped:m} acq:scoped:n");
}

#[test]
fn temporary_guard_is_released_at_the_end_of_its_statement() {
    let src = with_prelude(
        "fn f(m: &Mutex<Vec<i32>>) {
            m.lock().unwrap().push(1);
            let n = m.lock().unwrap().len();
        }",
    );
    assert_eq!(body21(&src, "f"), "acq:temp:m rel:m acq:temp:m rel:m");
}

#[test]
fn match_scrutinee_guard_lives_through_the_match() {
    let src = with_prelude(
        "fn f(m: &Mutex<Vec<i32>>, other: &Mutex<i32>) {
            match m.lock().unwrap().first() {
                Some(_) => { other.lock().unwrap(); }
                None => {}
            }
        }",
    );
    assert_eq!(
        body21(&src, "f"),
        "acq:temp:m branch{acq:temp:other rel:other} branch{} rel:m"
    );
}

#[test]
fn if_let_scrutinee_reaches_the_else_before_2024_only() {
    let src = with_prelude(
        "fn f(m: &Mutex<Vec<i32>>, a: &Mutex<i32>) {
            if let Some(x) = m.lock().unwrap().pop() {
                a.lock().unwrap();
            } else {
                a.lock().unwrap();
            }
        }",
    );
    assert_eq!(
        body(&src, "f", Edition::E2021),
        "acq:temp:m branch{acq:temp:a rel:a} branch{acq:temp:a rel:a} rel:m"
    );
    assert_eq!(
        body(&src, "f", Edition::E2024),
        "acq:temp:m branch{acq:temp:a rel:a} rel:m branch{acq:temp:a rel:a}"
    );
}

#[test]
fn if_let_bound_guard_reaches_the_else_before_2024_only() {
    // The guard is moved into `items` when the pattern matches; otherwise the scrutinee (an
    // `Err` holding the poisoned guard) lives through the `else` before edition 2024.
    let src = with_prelude(
        "fn f(m: &Mutex<Vec<i32>>) {
            if let Ok(mut items) = m.lock() {
                items.push(1);
            } else {
                m.lock().unwrap().clear();
            }
        }",
    );
    assert_eq!(
        body(&src, "f", Edition::E2021),
        "acq:scoped:m branch{} branch{acq:temp:m rel:m} rel:m"
    );
    assert_eq!(
        body(&src, "f", Edition::E2024),
        "acq:scoped:m branch{rel:m} branch{acq:temp:m rel:m}"
    );
}

#[test]
fn underscore_parts_of_a_pattern_drop_their_guard_with_the_statement() {
    let src = with_prelude(
        "fn f(m: &Mutex<i32>, n: &Mutex<i32>) {
            let (_, k) = (m.lock(), 1);
            (_, _) = (n.lock(), k);
        }",
    );
    let model = model(&src, Edition::E2021);
    let f = model.functions.iter().find(|f| f.name == "f").unwrap();
    let statements: Vec<bool> = f
        .body
        .iter()
        .filter_map(|node| match node {
            Node::Event(event) if matches!(event.kind, EventKind::Acquire { .. }) => {
                Some(event.statement.is_some())
            }
            _ => None,
        })
        .collect();
    assert_eq!(statements, vec![true, true]);
}

#[test]
fn plain_if_condition_drops_its_temporaries_before_the_body() {
    let src = with_prelude(
        "fn f(m: &Mutex<Vec<i32>>) {
            if m.lock().unwrap().is_empty() { work(); }
        }",
    );
    assert_eq!(body21(&src, "f"), "acq:temp:m rel:m branch{}");
}

#[test]
fn let_underscore_drops_at_once_but_underscore_name_does_not() {
    let src = with_prelude(
        "fn f(m: &Mutex<i32>) { let _ = m.lock(); }
         fn g(m: &Mutex<i32>) { let _g = m.lock(); }",
    );
    assert_eq!(body21(&src, "f"), "acq:temp:m rel:m");
    assert_eq!(body21(&src, "g"), "acq:scoped:m");
    // The whole statement is the acquisition (what TL017 looks for).
    let model = model(&src, Edition::E2021);
    let f = model.functions.iter().find(|f| f.name == "f").unwrap();
    let Node::Event(event) = &f.body[0] else {
        panic!()
    };
    assert!(event.statement.is_some());
}

#[test]
fn drop_releases_and_forget_leaks() {
    let src = with_prelude(
        "fn f(m: &Mutex<i32>, n: &Mutex<i32>) {
            let g = m.lock().unwrap();
            drop(g);
            let h = n.lock().unwrap();
            std::mem::forget(h);
        }",
    );
    assert_eq!(body21(&src, "f"), "acq:scoped:m rel:m acq:scoped:n leak:n");
}

#[test]
fn condvar_waits() {
    let src = with_prelude(
        "fn f(pair: Arc<(Mutex<bool>, Condvar)>) {
            let (lock, cvar) = &*pair;
            let mut ready = lock.lock().unwrap();
            if !*ready { ready = cvar.wait(ready).unwrap(); }
            while !*ready { ready = cvar.wait(ready).unwrap(); }
            let g = cvar.wait_while(lock.lock().unwrap(), |r| !*r).unwrap();
            let (g, t) = cvar.wait_timeout(g, std::time::Duration::from_secs(1)).unwrap();
            cvar.notify_all();
        }",
    );
    assert_eq!(
        body21(&src, "f"),
        "acq:scoped:lock branch{wait:cond:cvar} while{wait:cond:cvar} acq:scoped:lock block{} wait:pred:cvar wait:cond:timeout:cvar notify:cvar"
    );
    // The TL002 fix needs the wait to be the whole statement.
    let model = model(&src, Edition::E2021);
    let f = model.functions.iter().find(|f| f.name == "f").unwrap();
    let Node::Scope(branch) = &f.body[1] else {
        panic!()
    };
    let Node::Event(wait) = &branch.body[0] else {
        panic!()
    };
    assert!(wait.statement.is_some());
    assert_eq!(branch.statements, 1);
}

#[test]
fn spawned_closure_shares_the_tuple_lock() {
    let src = with_prelude(
        "fn main() {
            let pair = Arc::new((Mutex::new(false), Condvar::new()));
            let pair2 = Arc::clone(&pair);
            let h = thread::spawn(move || {
                let (lock, cvar) = &*pair2;
                *lock.lock().unwrap() = true;
                cvar.notify_one();
            });
            let (lock, cvar) = &*pair;
            let mut started = lock.lock().unwrap();
            while !*started { started = cvar.wait(started).unwrap(); }
            h.join().unwrap();
        }",
    );
    let model = model(&src, Edition::E2021);
    assert_eq!(model.thread_entries.len(), 1);
    let locks: Vec<_> = model
        .objects
        .iter()
        .filter(|o| matches!(o.kind, ObjKind::Lock { .. }))
        .collect();
    assert_eq!(locks.len(), 1, "{:?}", model.objects);
    assert!(matches!(&locks[0].key, ObjKey::Local { name, .. } if name == "pair.0"));
    assert_eq!(
        body21(&src, "main"),
        "start:h acq:scoped:lock while{wait:cond:cvar} block:join() sync"
    );
    assert_eq!(
        body21(&src, "main::{closure}"),
        "acq:temp:lock rel:lock notify:cvar"
    );
}

#[test]
fn struct_fields_are_members_of_the_impl_type() {
    let src = "use std::sync::{Mutex as M, RwLock};
        use parking_lot::Mutex as PlMutex;
        struct Store { inner: M<Vec<u8>>, index: std::sync::Arc<RwLock<u8>>, fast: PlMutex<u8> }
        impl Store {
            fn put(&self) {
                let a = self.inner.lock().unwrap();
                let b = self.index.write().unwrap();
                self.fast.lock();
                self.helper();
            }
            fn helper(&self) { self.inner.lock().unwrap(); }
        }";
    let model = model(src, Edition::E2021);
    let keys: Vec<String> = model.objects.iter().map(|o| o.key.to_string()).collect();
    assert_eq!(keys, vec!["Store.inner", "Store.index", "Store.fast"]);
    assert_eq!(
        model.objects[2].kind,
        ObjKind::Lock {
            flavor: Flavor::ParkingLot
        }
    );
    assert_eq!(
        model.objects[1].kind,
        ObjKind::RwLock {
            flavor: Flavor::Std
        }
    );
    let put = model.functions.iter().find(|f| f.name == "put").unwrap();
    assert_eq!(put.class.as_deref(), Some("Store"));
    assert_eq!(
        body21(src, "put"),
        "acq:scoped:self.inner acq:scoped:self.index acq:temp:self.fast rel:self.fast call:helper"
    );
}

#[test]
fn statics_lazy_statics_and_once_locks() {
    let src = "use std::sync::{Mutex, LazyLock, OnceLock};
        use lazy_static::lazy_static;
        static A: Mutex<u8> = Mutex::new(0);
        static B: LazyLock<Mutex<u8>> = LazyLock::new(|| Mutex::new(0));
        static C: OnceLock<Mutex<u8>> = OnceLock::new();
        lazy_static! { static ref D: Mutex<u8> = Mutex::new(0); }
        fn f() {
            let a = A.lock().unwrap();
            let b = B.lock().unwrap();
            let c = C.get_or_init(|| Mutex::new(0)).lock().unwrap();
            let d = D.lock().unwrap();
        }";
    let out = body21(src, "f");
    assert_eq!(
        out,
        "acq:scoped:A acq:scoped:B block{} acq:scoped:C.get_or_init(|| Mutex::new(0)) acq:scoped:D"
    );
    let model = model(src, Edition::E2021);
    let keys: Vec<String> = model.objects.iter().map(|o| o.key.to_string()).collect();
    assert_eq!(keys, vec!["A", "B", "C", "D"]);
}

#[test]
fn flavors_from_paths() {
    let src = "async fn f(m: &tokio::sync::Mutex<u8>, p: &parking_lot::RwLock<u8>) {
            let g = m.lock().await;
            let r = p.read();
            work().await;
        }
        async fn work() {}";
    let model = model(src, Edition::E2021);
    assert_eq!(
        model.objects[0].kind,
        ObjKind::Lock {
            flavor: Flavor::Async
        }
    );
    assert_eq!(
        model.objects[1].kind,
        ObjKind::RwLock {
            flavor: Flavor::ParkingLot
        }
    );
    assert_eq!(
        body21(src, "f"),
        "await acq:scoped:m acq:scoped:p call:work await"
    );
}

#[test]
fn async_lock_futures_lock_where_awaited() {
    let src = "use tokio::sync::RwLock;
        async fn f(lock: &RwLock<u8>) {
            let w = lock.write().await;
            let pending = tokio::spawn(lock.read());
        }";
    assert_eq!(body21(src, "f"), "await acq:scoped:lock submit");
}

#[test]
fn guards_passed_by_value_belong_to_the_callee() {
    let src = "use std::sync::{Mutex, MutexGuard};
        struct S { m: Mutex<u8> }
        impl S {
            fn f(&self) {
                self.consume(self.m.lock().unwrap());
                let g = self.m.lock().unwrap();
                self.consume(g);
            }
            fn consume(&self, g: MutexGuard<'_, u8>) { drop(g); self.m.lock().unwrap(); }
        }";
    assert_eq!(
        body21(src, "f"),
        "acq:temp:self.m rel:self.m call:consume acq:scoped:self.m rel:self.m call:consume"
    );
}

#[test]
fn unknown_receiver_locked_like_a_std_lock() {
    let src = "fn f(state: &State) { let s = state.lock().unwrap(); }";
    assert_eq!(body21(src, "f"), "acq:scoped:state");
}

#[test]
fn sleep_polling_loop_reads_a_call() {
    let src = "use std::sync::atomic::{AtomicBool, Ordering};
        use std::{thread, time::Duration};
        fn f(flag: &AtomicBool) {
            while !flag.load(Ordering::Acquire) { thread::sleep(Duration::from_millis(10)); }
        }";
    let model = model(src, Edition::E2021);
    let f = model.functions.iter().find(|f| f.name == "f").unwrap();
    let Node::Scope(scope) = &f.body[0] else {
        panic!()
    };
    let ScopeKind::Loop(info) = &scope.kind else {
        panic!()
    };
    assert_eq!(info.kind, LoopKind::While);
    assert_eq!(info.condition.reads, vec![Read::Call("flag.load".into())]);
    // The loop tests the atomic at the top of each pass (a `StateTest`, for TL015).
    assert_eq!(body21(src, "f"), "while{test:flag sleep}");
}

#[test]
fn discarded_join_results_are_events_only_on_thread_handles() {
    let src = "use std::thread;
        struct Task;
        impl Task { fn join(&self) -> Result<(), ()> { Ok(()) } }
        fn f(t: Task) {
            let h = thread::spawn(|| ());
            let _ = h.join();
            let _ = t.join();
        }";
    assert_eq!(
        body21(src, "f"),
        "start:h block:join() sync join-discarded:h call:join"
    );
}

#[test]
fn macro_bodies_that_parse_are_lowered() {
    let src = with_prelude(
        "fn f(m: &Mutex<Vec<u8>>) {
            assert!(m.lock().unwrap().is_empty(), \"not empty\");
            println!(\"{:?}\", m.lock().unwrap());
            let v = vec![m.lock().unwrap().len(); 3];
            my_macro!(@weird => tokens ; here);
            panic!(\"done\");
        }",
    );
    assert_eq!(
        body21(&src, "f"),
        "acq:temp:m rel:m acq:temp:m rel:m acq:temp:m rel:m exit:raise"
    );
}

#[test]
fn select_arms_are_branches() {
    let src = "use tokio::sync::mpsc;
        async fn f(rx: &mut mpsc::Receiver<u8>, m: &std::sync::Mutex<u8>) {
            tokio::select! {
                v = rx.recv() => { m.lock().unwrap(); }
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            }
        }";
    // The sleep raced against the receive is its timeout, not a sleep; the receive waits for
    // another task's send.
    assert_eq!(
        body21(src, "f"),
        "sync await branch{acq:temp:m rel:m} branch{}"
    );
}

#[test]
fn spawned_async_blocks_and_scoped_threads() {
    let src = with_prelude(
        "fn f(m: &Mutex<u8>) {
            tokio::spawn(async move { work().await; });
            thread::scope(|s| {
                s.spawn(|| { m.lock().unwrap(); });
            });
        }
        async fn work() {}",
    );
    assert_eq!(
        body21(&src, "f"),
        "submit:f::{async block} block{submit:f::{closure}} sync"
    );
    let model = model(&src, Edition::E2021);
    assert_eq!(model.thread_entries.len(), 2);
}

#[test]
fn while_let_scrutinee_lives_through_the_body() {
    let src = "use std::sync::{Mutex, mpsc::Receiver};
        fn f(rx: &Mutex<Receiver<u8>>) {
            while let Ok(job) = rx.lock().unwrap().recv() { run(job); }
        }";
    // The receiver stays locked while `recv()` blocks and while the job runs.
    assert_eq!(
        body21(src, "f"),
        "while{acq:temp:rx block:recv() sync rel:rx}"
    );
}

#[test]
fn try_lock_in_if_let_is_released_at_the_end_of_the_branch() {
    let src = with_prelude(
        "fn f(m: &Mutex<u8>) {
            if let Ok(g) = m.try_lock() { work(); } else { other(); }
        }",
    );
    assert_eq!(body21(&src, "f"), "acq:try:m branch{rel:m} branch{}");
}

#[test]
fn syntax_errors_are_located_and_do_not_panic() {
    let lowered = lower("fn f( {\n", Edition::E2021);
    assert!(lowered.model.is_none());
    assert_eq!(lowered.syntax_errors.len(), 1);
    let lowered = lower("fn f() { let x = ; }", Edition::E2021);
    assert_eq!(lowered.syntax_errors.len(), 1);
    assert!(
        lowered.syntax_errors[0].message.contains("expected"),
        "{}",
        lowered.syntax_errors[0].message
    );
    assert_eq!(lowered.syntax_errors[0].span.start, 17);
}

#[test]
fn deep_nesting_is_refused_without_overflowing() {
    let deep = format!(
        "fn f() {{ let x = {}1{}; }}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let lowered = lower(&deep, Edition::E2021);
    assert!(lowered.depth_exceeded);
    let chain = format!("fn f() {{ let x = a{}; }}", ".b()".repeat(400));
    let lowered = lower(&chain, Edition::E2021);
    assert!(lowered.model.is_some());
    assert!(lowered.depth_exceeded);
}

#[test]
fn spans_are_byte_offsets_past_non_ascii_text() {
    let src = "use std::sync::Mutex;\nfn f(m: &Mutex<u8>) { let s = \"héllo wörld\"; let g = m.lock().unwrap(); }";
    let model = model(src, Edition::E2021);
    let f = model.functions.iter().find(|f| f.name == "f").unwrap();
    let Node::Event(event) = &f.body[0] else {
        panic!()
    };
    assert_eq!(&src[event.span.range()], "m.lock()");
    let bom = format!("\u{feff}{src}");
    let model = super::lower(&bom, Edition::E2021).model.unwrap();
    let f = model.functions.iter().find(|f| f.name == "f").unwrap();
    let Node::Event(event) = &f.body[0] else {
        panic!()
    };
    assert_eq!(&bom[event.span.range()], "m.lock()");
}

#[test]
fn comments_are_collected() {
    let src = "fn f() { let s = \"// not\"; } // noqa: TL002\n/* block */ // second";
    let lowered = lower(src, Edition::E2021);
    let texts: Vec<&str> = lowered.comments.iter().map(|c| &src[c.range()]).collect();
    assert_eq!(texts, vec!["// noqa: TL002", "// second"]);
}

#[test]
fn edition_is_read_from_the_nearest_manifest() {
    let dir = std::env::temp_dir().join(format!("threadlint-edition-{}", std::process::id()));
    let crate_dir = dir.join("member");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[workspace]\nmembers=[\"member\"]\n[workspace.package]\nedition = \"2024\"\n",
    )
    .unwrap();
    std::fs::write(
        crate_dir.join("Cargo.toml"),
        "[package]\nname=\"m\"\nedition.workspace = true\n",
    )
    .unwrap();
    assert_eq!(
        super::edition_for(&crate_dir.join("src/lib.rs")),
        Edition::E2024
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn join_under_an_if_let_scrutinee_guard() {
    let src = "use std::sync::Mutex;
        use std::thread::JoinHandle;
        struct Worker { handle: Mutex<Option<JoinHandle<()>>> }
        impl Worker {
            fn stop(&self) {
                if let Some(h) = self.handle.lock().unwrap().take() { h.join().unwrap(); }
            }
        }";
    // Before edition 2024 the guard is still alive while the thread is joined.
    assert_eq!(
        body21(src, "stop"),
        "acq:temp:self.handle branch{block:join() sync} rel:self.handle"
    );
}

#[test]
fn names_resolve_through_glob_imports_of_the_parent_module() {
    let src = "use std::sync::{Condvar, Mutex};
        struct Gate { open: Mutex<bool>, cv: Condvar }
        #[cfg(test)]
        mod tests {
            use super::*;
            fn wait(gate: &Gate) {
                let open = gate.open.lock().unwrap();
                let _open = gate.cv.wait(open).unwrap();
            }
        }";
    assert_eq!(
        body21(src, "wait"),
        "acq:scoped:gate.open wait:cond:gate.cv"
    );
}

#[test]
fn a_guard_returned_from_its_block_is_not_a_statement() {
    let src = with_prelude(
        "fn f(m: &Mutex<i32>) -> std::sync::MutexGuard<'_, i32> { m.lock().unwrap() }",
    );
    let model = model(&src, Edition::E2021);
    let f = model.functions.iter().find(|f| f.name == "f").unwrap();
    let Node::Event(event) = &f.body[0] else {
        panic!()
    };
    assert!(matches!(event.kind, EventKind::Acquire { .. }));
    assert!(event.statement.is_none());
}

#[test]
fn an_awaited_lock_is_an_async_lock_whatever_its_type_looked_like() {
    // A crate's own `sync::Mutex` reads as `std::sync::Mutex` by the shim convention.
    let src = "use crate::sync::Mutex;\nstruct S { m: Mutex<i32> }\nimpl S { async fn f(&self) { let g = self.m.lock().await; } }";
    let model = model(src, Edition::E2021);
    let m = model
        .objects
        .iter()
        .find(|o| o.display == "self.m")
        .unwrap();
    assert_eq!(
        m.kind,
        ObjKind::Lock {
            flavor: Flavor::Async
        }
    );
}

#[test]
fn a_receiver_inside_a_mutex_is_guarded_by_it() {
    let src = with_prelude(
        "fn f(rx: Arc<Mutex<std::sync::mpsc::Receiver<i32>>>) { let v = rx.lock().unwrap().recv(); }",
    );
    let model = model(&src, Edition::E2021);
    let lock = model
        .objects
        .iter()
        .position(|o| o.display == "rx")
        .unwrap();
    let receiver = model
        .objects
        .iter()
        .find(|o| o.kind == ObjKind::Receiver)
        .unwrap();
    assert_eq!(receiver.guarded_by.map(|id| id.0 as usize), Some(lock));
}

#[test]
fn a_lock_guessed_from_its_use_is_marked_inferred() {
    let src = with_prelude(
        "fn f(file: std::fs::File, m: &Mutex<i32>) { file.lock().unwrap(); m.lock().unwrap(); }",
    );
    let model = model(&src, Edition::E2021);
    let inferred = |name: &str| {
        model
            .objects
            .iter()
            .find(|o| o.display == name)
            .unwrap()
            .inferred
    };
    assert!(inferred("file"));
    assert!(!inferred("m"));
}

#[test]
fn an_async_sleep_sleeps_where_it_is_awaited() {
    let src = with_prelude(
        "async fn f() { tokio::time::sleep(d).await; let t = tokio::time::sleep(d); }",
    );
    assert_eq!(body21(&src, "f"), "sleep await");
}

#[test]
fn statics_are_keyed_by_the_module_that_defines_them() {
    let src = "use std::sync::Mutex;
        mod a {
            pub static M: std::sync::Mutex<u8> = std::sync::Mutex::new(0);
            pub mod inner {
                use super::M as Renamed;
                pub fn g() { let x = super::M.lock().unwrap(); let y = Renamed.lock().unwrap(); }
            }
        }
        mod b { pub static M: std::sync::Mutex<u8> = std::sync::Mutex::new(0); }
        use a::M as AM;
        fn f() {
            let x = crate::a::M.lock().unwrap();
            let y = b::M.lock().unwrap();
            let z = AM.lock().unwrap();
        }";
    let model = model(src, Edition::E2021);
    let mut keys: Vec<String> = model.objects.iter().map(|o| o.key.to_string()).collect();
    keys.sort();
    // One object per static, whatever path names it; two statics named `M`, two objects.
    assert_eq!(keys, vec!["a::M", "b::M"]);
    // `a::M` is displayed as first named (in `g`, lowered before `f`).
    assert_eq!(
        body21(src, "f"),
        "acq:scoped:super::M acq:scoped:b::M acq:scoped:super::M"
    );
}

/// Each call with events as its call table entry gives it: `callee|arguments`, then
/// `|receiver|method` for a method call (once per call).
fn call_syntax(source: &str) -> Vec<String> {
    crate::model_dump::render_calls(&model(source, Edition::E2021), source)
}

#[test]
fn call_events_carry_their_callee_and_arguments() {
    let source = "use std::sync::{mpsc, Condvar, Mutex};
use std::time::Duration;

fn wait(pair: &(Mutex<bool>, Condvar), rx: mpsc::Receiver<u8>) {
    std::thread::sleep(Duration::from_millis( 10 ));
    let guard = pair.0.lock().unwrap();
    let _guard = pair
        .1
        .wait(guard)
        .unwrap();
    rx.recv::<>().unwrap();
}

async fn nap() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}
";
    assert_eq!(
        call_syntax(source),
        [
            "std::thread::sleep|Duration::from_millis( 10 )",
            "pair.0.lock||pair.0|lock",
            "pair\n        .1\n        .wait|guard|pair\n        .1|wait",
            "rx.recv::<>||rx|recv",
            "tokio::time::sleep|Duration::from_millis(5)",
        ]
    );
}

#[test]
fn a_call_records_the_variable_its_first_argument_is() {
    let source = "use std::sync::{Condvar, Mutex};

fn waits(m: &Mutex<Vec<u8>>, cv: &Condvar, other: &parking_lot::Condvar, pm: &parking_lot::Mutex<u8>) {
    let guard = m.lock().unwrap();
    let _guard = cv.wait(guard).unwrap();
    let mut items = pm.lock();
    other.wait(&mut items);
    let _again = cv.wait(m.lock().unwrap());
}
";
    let model = model(source, Edition::E2021);
    let mut variables = Vec::new();
    let function = model
        .functions
        .iter()
        .find(|f| f.name == "waits")
        .expect("waits");
    threadlint_rules::model::events(&function.body, &mut |event, _| {
        if let Some(call) = model
            .call(event.span)
            .filter(|c| c.first_argument.is_some())
        {
            variables.push(call.first_variable.map_or("-", |s| &source[s.range()]));
        }
    });
    variables.dedup();
    assert_eq!(variables, ["guard", "items", "-"]);
}
