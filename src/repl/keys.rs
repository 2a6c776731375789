//! Ctrl-C while a statement runs.
//!
//! The terminal's own Ctrl-C would send SIGINT to the whole foreground process group, and
//! the Kea daemons of `repl --lab` are in it. So for the whole session the terminal's signal
//! keys are off ([`TermState::signal_keys_off`]); at the prompt the line editor reads Ctrl-C
//! as a key, and while a statement runs a thread reads the keys ([`KeyWatch`]): Ctrl-C
//! cancels the statement (`RunContext::cancel`), anything else typed meanwhile is kept for
//! the next prompt.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

const CTRL_C: u8 = 0x03;
const POLL: Duration = Duration::from_millis(50);

/// Saved terminal settings of standard input.
#[derive(Clone, Copy)]
pub struct TermState(libc::termios);

impl TermState {
    /// The settings of standard input now, if it is a terminal.
    pub fn save() -> Option<Self> {
        // SAFETY: isatty and tcgetattr only read the descriptor's state into `t`.
        unsafe {
            if libc::isatty(libc::STDIN_FILENO) != 1 {
                return None;
            }
            let mut t: libc::termios = std::mem::zeroed();
            (libc::tcgetattr(libc::STDIN_FILENO, &mut t) == 0).then_some(Self(t))
        }
    }

    /// Turns the terminal's signal keys off (Ctrl-C, Ctrl-\\, Ctrl-Z send no signal; the
    /// line editor and [`KeyWatch`] read them as keys). [`TermState::restore`] undoes it.
    pub fn signal_keys_off(&self) {
        let mut t = self.0;
        t.c_lflag &= !libc::ISIG;
        // SAFETY: sets standard input's attributes from a copy of its own.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t);
        }
    }

    /// Puts these settings back.
    pub fn restore(&self) {
        // SAFETY: sets the terminal attributes from a valid termios read by `save`.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.0);
        }
    }
}

/// Watches the keyboard while a statement runs.
pub struct KeyWatch {
    saved: TermState,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<u8>>>,
}

impl KeyWatch {
    /// Starts watching; `None` when standard input is not a terminal.
    pub fn start(on_ctrl_c: impl Fn() + Send + 'static) -> Option<Self> {
        let saved = TermState::save()?;
        let mut t = saved.0;
        t.c_lflag &= !(libc::ISIG | libc::ICANON | libc::ECHO | libc::IEXTEN);
        t.c_cc[libc::VMIN] = 1;
        t.c_cc[libc::VTIME] = 0;
        // SAFETY: sets standard input's attributes from a copy of its own.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) } != 0 {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("repl-keys".into())
            .spawn(move || read_keys(&stop2, on_ctrl_c))
            .ok();
        if thread.is_none() {
            saved.restore();
            return None;
        }
        Some(Self {
            saved,
            stop,
            thread,
        })
    }

    /// Stops watching, puts the terminal back, and returns what was typed meanwhile (up to
    /// the first line end or control key), for the next prompt.
    pub fn finish(mut self) -> String {
        let typed = self.stop_thread();
        self.saved.restore();
        type_ahead(&typed)
    }

    fn stop_thread(&mut self) -> Vec<u8> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for KeyWatch {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop_thread();
            self.saved.restore();
        }
    }
}

fn read_keys(stop: &AtomicBool, on_ctrl_c: impl Fn()) -> Vec<u8> {
    let mut typed = Vec::new();
    let mut buf = [0u8; 256];
    while !stop.load(Ordering::SeqCst) {
        let mut pfd = libc::pollfd {
            fd: libc::STDIN_FILENO,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, POLL.as_millis() as libc::c_int) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if n == 0 {
            continue;
        }
        if pfd.revents & libc::POLLIN == 0 {
            // Hung up or closed.
            std::thread::sleep(POLL);
            continue;
        }
        // SAFETY: reads into a buffer of the given length.
        let r = unsafe { libc::read(libc::STDIN_FILENO, buf.as_mut_ptr().cast(), buf.len()) };
        if r <= 0 {
            std::thread::sleep(POLL);
            continue;
        }
        for &b in &buf[..r as usize] {
            if b == CTRL_C {
                on_ctrl_c();
                typed.clear();
            } else {
                typed.push(b);
            }
        }
    }
    typed
}

/// The printable text typed ahead, up to the first line end or control key.
fn type_ahead(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.chars().take_while(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_ahead_stops_at_the_first_control_key() {
        assert_eq!(type_ahead(b"kea().ver"), "kea().ver");
        assert_eq!(type_ahead(b"1 + 1\rmore"), "1 + 1");
        assert_eq!(type_ahead(b"\x1b[A"), "");
        assert_eq!(type_ahead("ünï".as_bytes()), "ünï");
    }
}
