//! When is an input finished? Rhai's own parser decides: an input whose parse error is
//! "something is missing at the end" (an open brace, an unfinished expression, an open
//! backtick string) continues on the next line; any other error is shown after Enter.

use rhai::{Engine, LexError, ParseErrorType};

/// A parser-only engine: no functions, no limits beyond Rhai's defaults, no strict
/// variables (the validator must not care whether a name exists).
pub fn parser() -> Engine {
    Engine::new_raw()
}

/// True when `input` is an unfinished statement that more lines can complete. An empty
/// line entered twice (the input ends in two newlines) always finishes it, so a typo can
/// never trap the user in continuation lines.
pub fn is_incomplete(parser: &Engine, input: &str) -> bool {
    let tail: String = input
        .chars()
        .rev()
        .filter(|c| *c != ' ' && *c != '\t')
        .take(2)
        .collect();
    tail != "\n\n" && is_incomplete_script(parser, input)
}

/// The same for lines read from a pipe: no escape by empty lines (a script may hold
/// them anywhere); the end of the input ends the last statement.
pub fn is_incomplete_script(parser: &Engine, input: &str) -> bool {
    if input.trim().is_empty() || input.trim_start().starts_with(':') {
        return false;
    }
    let Err(err) = parser.compile(input) else {
        return false;
    };
    let pos = err.position();
    let (Some(line), Some(col)) = (pos.line(), pos.position()) else {
        return matches!(err.err_type(), ParseErrorType::UnexpectedEOF);
    };
    match err.err_type() {
        // A backtick string may span lines; a "…" string may not.
        ParseErrorType::BadInput(LexError::UnterminatedString) => {
            char_at(input, line, col) == Some('`')
        }
        ParseErrorType::UnexpectedEOF => true,
        ParseErrorType::MissingToken(..)
        | ParseErrorType::MissingSymbol(_)
        | ParseErrorType::ExprExpected(_)
        | ParseErrorType::PropertyExpected
        | ParseErrorType::VariableExpected
        | ParseErrorType::FnMissingParams(_)
        | ParseErrorType::FnMissingBody(_) => after_last_token(input, line, col),
        _ => false,
    }
}

/// The character at a 1-based line and column.
fn char_at(input: &str, line: usize, col: usize) -> Option<char> {
    input.lines().nth(line - 1)?.chars().nth(col - 1)
}

/// Is (line, col) past the last non-blank character of `input`?
fn after_last_token(input: &str, line: usize, col: usize) -> bool {
    let mut last = (0, 0);
    for (l, text) in input.lines().enumerate() {
        if let Some((c, _)) = text
            .chars()
            .enumerate()
            .filter(|(_, ch)| !ch.is_whitespace())
            .last()
        {
            last = (l + 1, c + 1);
        }
    }
    (line, col) > last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_statements_continue() {
        let p = parser();
        for s in [
            "for i in 0..3 {",
            "for i in 0..3 {\n  print(i);",
            "let x = ",
            "foo(1,",
            "1 +",
            "if x",
            "fn f(a) {",
            "let m = #{ a: 1,",
            "[1, 2",
            "x.",
            "fn f(",
            "try { 1 } catch (e)",
            "let s = `multi",
            "let s = `a ${x",
            "kea().dhcp4\n  .",
        ] {
            assert!(is_incomplete(&p, s), "{s:?} should continue");
        }
    }

    #[test]
    fn finished_or_wrong_statements_do_not() {
        let p = parser();
        for s in [
            "",
            "   ",
            "let x = 5",
            "let x = 5;",
            "for i in 0..3 { print(i) }",
            "foo(1 2)",
            "1 2",
            "let = 3",
            "}",
            "\"abc",
            "let x = 1 +;",
            ":help",
            ":load {",
            "undefined_variable + 1",
            // Two empty lines end a continuation whatever it holds.
            "for i in 0..3 {\n\n",
        ] {
            assert!(!is_incomplete(&p, s), "{s:?} should not continue");
        }
        assert!(is_incomplete_script(&p, "for i in 0..3 {\n\n"));
    }
}
