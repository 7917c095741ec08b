//! Which functions of a file wait for another thread: a join, a message, a wait on a
//! condition, an event or a barrier, a future's result, directly or through the functions of
//! the file they call; and which start a thread they leave running. Thread-leak and
//! sleep-synchronisation checks read them, and the project summary exports them per method so
//! that a call from another module is a wait, or a start, too.

use crate::model::{events, EventKind, FileModel, FnId, Language, Span};

/// The event blocks until another thread does something: a join, a message, a wait on a
/// condition variable, an event or a barrier, a future's result; in Rust an awaited future. Not
/// a subprocess, the network or input, which wait for the world outside.
pub(crate) fn waits_for_other_thread(language: Language, kind: &EventKind) -> bool {
    match kind {
        EventKind::Synchronize | EventKind::Wait { .. } => true,
        EventKind::Await => language == Language::Rust,
        EventKind::Blocking { kind, .. } => !kind.waits_outside(),
        _ => false,
    }
}

/// For each function of the file, whether it blocks until another thread does something,
/// directly or through the functions of the file it calls (a crate's own synchronisation
/// primitive: `latch.wait()` whose method waits on a `Condvar`).
pub(crate) fn waiting_functions(model: &FileModel) -> Vec<bool> {
    let count = model.functions.len();
    let mut waits = vec![false; count];
    let mut calls: Vec<Vec<FnId>> = vec![Vec::new(); count];
    for (index, function) in model.functions.iter().enumerate() {
        let mut sleeps: Vec<Span> = Vec::new();
        events(&function.body, &mut |event, _| {
            if matches!(event.kind, EventKind::Sleep) {
                sleeps.push(event.statement.unwrap_or(event.span));
            }
            let sleeping = matches!(event.kind, EventKind::Await)
                && sleeps.iter().any(|s| s.contains(event.span));
            match event.kind {
                EventKind::Call { callee } => calls[index].push(callee),
                ref kind if waits_for_other_thread(model.language, kind) && !sleeping => {
                    waits[index] = true;
                }
                _ => {}
            }
        });
    }
    through_calls(&mut waits, &calls);
    waits
}

/// For each function of the file, whether it starts a thread or hands work to one and returns
/// while it may still run: a start or a submission, directly or through the functions of the
/// file it calls, in a function that waits for no other thread (a server's `start()` that
/// spawns its loop; not one that starts a thread and joins it, or waits until it is ready).
pub(crate) fn starting_functions(model: &FileModel, waiting: &[bool]) -> Vec<bool> {
    let count = model.functions.len();
    let mut starts = vec![false; count];
    let mut calls: Vec<Vec<FnId>> = vec![Vec::new(); count];
    for (index, function) in model.functions.iter().enumerate() {
        events(&function.body, &mut |event, _| match event.kind {
            EventKind::Call { callee } => calls[index].push(callee),
            EventKind::ThreadStart { .. } | EventKind::Submit { .. } => starts[index] = true,
            _ => {}
        });
    }
    through_calls(&mut starts, &calls);
    for (start, &waits) in starts.iter_mut().zip(waiting) {
        *start &= !waits;
    }
    starts
}

/// Sets the flag of every function that calls, directly or through others, a function whose
/// flag is set: a fixed point over the file's call graph (flags only turn true, so it ends).
fn through_calls(flags: &mut [bool], calls: &[Vec<FnId>]) {
    loop {
        let mut changed = false;
        for index in 0..flags.len() {
            if !flags[index] && calls[index].iter().any(|c| flags[c.0 as usize]) {
                flags[index] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}
