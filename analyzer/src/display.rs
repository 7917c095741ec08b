//! How the front-ends name an object that no variable holds (a thread started and dropped in
//! one statement, a client made inline): by the call that made it, as it reads, cut to its
//! callee when it spans lines or is long, so that rules quote it without taking text apart.

/// Calls up to this many characters, on one line, are named as written.
const WIDTH: usize = 40;

/// `thread::spawn(move || work())` as written; a long or multi-line one as its callee:
/// `thread::spawn(..)`, `thread::Builder::new(..)...spawn(..)` for a builder chain.
pub(crate) fn temporary(call: &str) -> String {
    let call = call.trim();
    if call.chars().count() <= WIDTH && !call.contains('\n') {
        return call.to_string();
    }
    let Some(open) = call.find('(') else {
        return call.lines().next().unwrap_or_default().trim().to_string();
    };
    let callee = call[..open].trim();
    if chained_spawn(&call[open..]) {
        format!("{callee}(..)...spawn(..)")
    } else {
        format!("{callee}(..)")
    }
}

/// A `.spawn` call in the chain itself (`Builder::new().name(..).spawn(..)`), outside the
/// arguments of its calls: not one in the body of a closure given to the first call.
fn chained_spawn(rest: &str) -> bool {
    let mut depth = 0usize;
    for (at, c) in rest.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '.' if depth == 0 && rest[at..].starts_with(".spawn") => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::temporary;

    #[test]
    fn short_calls_as_written_long_ones_by_their_callee() {
        assert_eq!(temporary(" thread::spawn(work) "), "thread::spawn(work)");
        assert_eq!(
            temporary("thread::spawn(move || {\n    work();\n})"),
            "thread::spawn(..)"
        );
        assert_eq!(
            temporary(
                "thread::Builder::new()\n    .name(\"worker\".into())\n    .spawn(move || work())"
            ),
            "thread::Builder::new(..)...spawn(..)"
        );
        assert_eq!(
            temporary("threading.Thread(target=self._serve_forever_in_background, daemon=True)"),
            "threading.Thread(..)"
        );
        // A `spawn` inside the closure is not part of the chain.
        assert_eq!(
            temporary("thread::spawn(move || {\n    pool.spawn(Box::new(|| {}));\n})"),
            "thread::spawn(..)"
        );
    }
}
