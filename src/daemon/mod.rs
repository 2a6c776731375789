//! `keascript daemon`: runs a script's triggers (file changes, timers) until stopped.
//! (Being written.)
