//! `keascript repl`: an interactive Rhai session with the whole script API.
//! (Being written.)
