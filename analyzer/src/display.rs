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
    match call[open..].rfind(".spawn") {
        Some(_) => format!("{callee}(..)...spawn(..)"),
        None => format!("{callee}(..)"),
    }
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
    }
}
