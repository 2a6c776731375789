//! The engine's limits through the binary: each one ends a script with status 1 and a
//! message that names it. None of these needs Kea.

use predicates::prelude::*;

use crate::support::{keascript, script};

/// A script run that must end with status 1 and `needles` in its message.
fn refused(dir: &std::path::Path, name: &str, text: &str, needles: &[&str]) {
    let s = script(dir, name, text);
    let mut a = keascript().arg("run").arg(&s).assert().code(1);
    for n in needles {
        a = a.stderr(predicate::str::contains(*n));
    }
}

#[test]
fn a_growing_map_stops_at_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    // Rhai never checks a map that grows by `m[key] = value`: it reached 9 million keys.
    let s = script(
        dir.path(),
        "grow.rhai",
        "let m = #{};\nlet i = 0;\nloop { m[`k${i}`] = i; i += 1; }\n",
    );
    keascript()
        .args(["run", "--max-memory", "32M"])
        .arg(&s)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "more than its limit of 32 MiB (raise it with --max-memory; 0 = no limit)",
        ))
        .stderr(predicate::str::contains("grow.rhai:3"));
    // An array and a string, too; and the limit cannot be caught.
    for (name, text) in [
        (
            "array.rhai",
            "let a = [];\nloop { a.push(\"some text\"); }\n",
        ),
        (
            "string.rhai",
            "let s = \"x\";\ntry { loop { s += s; } } catch (e) { print(\"caught\"); }\n",
        ),
    ] {
        let s = script(dir.path(), name, text);
        keascript()
            .args(["run", "--max-memory", "32M"])
            .arg(&s)
            .assert()
            .code(1)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("more than its limit of 32 MiB"));
    }
}

#[test]
fn one_call_cannot_allocate_past_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, what) in [
        (
            "pad.rhai",
            "let a = [];\na.pad(100000000000, 0);\n",
            "padding an array to 100000000000 items needs about",
        ),
        (
            "pad_string.rhai",
            "let s = \"\";\ns.pad(100000000000, \"ab\");\n",
            "padding a string to 100000000000 characters needs about",
        ),
        (
            "blob.rhai",
            "let b = blob(100000000000);\n",
            "a BLOB of 100000000000 bytes needs about",
        ),
    ] {
        refused(
            dir.path(),
            name,
            text,
            &[
                what,
                "of its memory limit of 1 GiB (raise it with --max-memory)",
            ],
        );
    }
    // Within the limit they behave as Rhai's own.
    let s = script(
        dir.path(),
        "small.rhai",
        "let a = [1];\na.pad(3, 0);\nlet s = \"ab\";\ns.pad(5, \"xy\");\nlet t = \"a\";\nt.pad(3, '-');\nt.pad(9, \"\");\nprint(`${a} ${s} ${t} ${blob(2, 255)}`);\n",
    );
    keascript()
        .arg("run")
        .arg(&s)
        .assert()
        .success()
        .stdout("[1, 0, 0] abxyx a-- [ffff]\n");
}

#[test]
fn pushing_a_million_items_is_linear() {
    // Rhai's size check walked the whole array after every push: a million pushes ran into
    // the 10-minute deadline. They take about a second now; the deadline is 100 times that.
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "push.rhai",
        "let a = [];\nfor i in 0..1000000 { a.push(i); }\nlet m = #{};\nfor i in 0..100000 { m[`k${i}`] = a[i]; }\nprint(`${a.len()} ${m.len()} ${a[999999]}`);\n",
    );
    keascript()
        .args(["run", "--timeout", "120s"])
        .arg(&s)
        .assert()
        .success()
        .stdout("1000000 100000 999999\n");
}
