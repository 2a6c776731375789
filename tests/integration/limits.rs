//! The engine's limits through the binary: each one ends a script with status 1 and a
//! message that names it, never a native crash (status 134); and the command-line checks
//! around them (`--max-operations 0`, `--max-memory`, `--log`, a directory as the script).
//! None of these needs Kea.

use predicates::prelude::*;

use crate::support::{keascript, script};

/// Builds `v`, a value nested `levels` deep (`[[…]]`, or `#{a: #{a: …}}` with `map`).
/// `take` moves the value instead of copying it, so building costs what Rhai's assignment
/// walk costs (20,000 levels: about two seconds in a debug build).
fn nested(levels: usize, map: bool) -> String {
    let wrap = if map { "#{a: v.take()}" } else { "[v.take()]" };
    format!("let v = 1;\nfor i in 0..{levels} {{ v = {wrap}; }}\n")
}

/// A script run that must end with status 1 and `needles` in its message.
fn refused(dir: &std::path::Path, name: &str, text: &str, needles: &[&str]) {
    let s = script(dir, name, text);
    let mut a = keascript().arg("run").arg(&s).assert().code(1);
    for n in needles {
        a = a.stderr(predicate::str::contains(*n));
    }
}

#[test]
fn values_nested_past_the_limit_are_refused_wherever_they_become_text() {
    let dir = tempfile::tempdir().unwrap();
    let limit = "nested more than 1000 levels deep (the nesting limit)";
    // The crashes of issue 11: printing 20,000 levels of arrays, and of maps.
    for map in [false, true] {
        refused(
            dir.path(),
            "print.rhai",
            &format!(
                "{}print(v);\nprint(\"not reached\");\n",
                nested(20_000, map)
            ),
            &["cannot print", limit, "print.rhai:3"],
        );
    }
    // Every other way to text goes through the same check.
    let deep = nested(1500, false);
    for (name, tail, what) in [
        ("debug.rhai", "debug(v);", "cannot debug"),
        (
            "interpolation.rhai",
            "let s = `${v}`;\nprint(s);",
            "cannot turn into text",
        ),
        (
            "plus.rhai",
            "let s = \"v is \" + v;\nprint(s);",
            "cannot turn into text",
        ),
        // The last statement: nothing runs after it, the run still fails.
        (
            "last.rhai",
            "let s = v.to_string();",
            "cannot turn into text",
        ),
        (
            "json.rhai",
            "let m = #{ v: v };\nprint(m.to_json());",
            "cannot write as JSON",
        ),
    ] {
        let s = script(dir.path(), name, &format!("{deep}{tail}\n"));
        keascript()
            .arg("run")
            .arg(&s)
            .assert()
            .code(1)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(what))
            .stderr(predicate::str::contains(limit));
    }
    // At the limit, values print as Rhai prints them.
    let s = script(
        dir.path(),
        "at_limit.rhai",
        &format!(
            "{}print(v);\nprint([1, \"a\", #{{ b: [2.5, ()] }}, 'c']);\nprint(`${{#{{ x: [1] }}}}`);\n",
            nested(999, false)
        ),
    );
    let out = keascript().arg("run").arg(&s).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("{}1{}", "[".repeat(999), "]".repeat(999)));
    // As Rhai's own printed them (a char in an array is written bare).
    assert_eq!(lines[1], "[1, \"a\", #{\"b\": [2.5, ()]}, c]");
    assert_eq!(lines[2], "#{\"x\": [1]}");
}

#[test]
fn the_repl_refuses_to_show_a_value_nested_past_the_limit() {
    let text = format!("{}v\n", nested(20_000, false).replace('\n', " "));
    keascript()
        .arg("repl")
        .write_stdin(text)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot show a value nested more than 1000 levels deep (the nesting limit)",
        ));
}

#[test]
fn import_cycles_and_deep_import_chains_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let me = script(d, "self.rhai", "import \"self\" as s;\nprint(1);\n");
    keascript()
        .arg("run")
        .arg(&me)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("import cycle: "))
        .stderr(predicate::str::contains(
            "self.rhai imports \"self\", which is itself",
        ));
    script(d, "b.rhai", "import \"a\" as a;\nfn hello() { 1 }\n");
    let a = script(d, "a.rhai", "import \"b\" as b;\nprint(1);\n");
    keascript()
        .arg("run")
        .arg(&a)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "a.rhai imports \"b\" imports \"a\", which is ",
        ));
    // A chain of 40 modules passes the limit of 32; one of 20 is fine.
    for i in 0..40 {
        script(
            d,
            &format!("m{i}.rhai"),
            &format!("import \"m{}\" as m;\n", i + 1),
        );
    }
    script(d, "m40.rhai", "fn bottom() { 40 }\n");
    let top = script(d, "top40.rhai", "import \"m0\" as m;\n");
    keascript()
        .arg("run")
        .arg(&top)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "imports nested more than 32 deep (the import limit)",
        ));
    script(d, "m20.rhai", "fn bottom() { 20 }\n");
    let top = script(d, "top20.rhai", "import \"m1\" as m;\nprint(\"ok\");\n");
    keascript()
        .arg("run")
        .arg(&top)
        .assert()
        .success()
        .stdout("ok\n");
    // The daemon loads its script the same way.
    keascript()
        .args(["daemon"])
        .arg(&me)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("import cycle"));
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

#[test]
fn zero_means_no_limit_for_operations_memory_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "count.rhai",
        "let n = 0;\nfor i in 0..200000 { n += 1; }\nprint(n);\n",
    );
    keascript()
        .args(["run", "--max-operations", "10000"])
        .arg(&s)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("after 10000 operations"));
    keascript()
        .args([
            "run",
            "--max-operations",
            "0",
            "--max-memory",
            "0",
            "--timeout",
            "0",
        ])
        .arg(&s)
        .assert()
        .success()
        .stdout("200000\n");
    let help = keascript().args(["run", "--help"]).assert().success();
    let help = String::from_utf8_lossy(&help.get_output().stdout).to_string();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(help.matches("0 = no limit").count(), 2, "{help}");
    assert!(help.contains("0 = none"), "{help}");
    keascript()
        .args(["run", "--max-memory", "lots"])
        .arg(&s)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--max-memory"));
}

#[test]
fn a_bad_log_filter_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "ok.rhai", "print(\"ran\");\n");
    for bad in ["verbose", "keascript=loud", "warn,[x"] {
        keascript()
            .args(["--log", bad, "run"])
            .arg(&s)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(format!("{bad:?}")));
    }
    keascript()
        .env("KEASCRIPT_LOG", "chatty")
        .arg("run")
        .arg(&s)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("KEASCRIPT_LOG"))
        .stderr(predicate::str::contains("\"chatty\""));
    for good in [
        "debug",
        "WARN",
        "warn,keascript=debug",
        "keascript",
        "reqwest=trace",
    ] {
        keascript()
            .args(["--log", good, "run"])
            .arg(&s)
            .assert()
            .success()
            .stdout("ran\n");
    }
}

#[test]
fn a_directory_as_the_script_is_named_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["run", "daemon"] {
        keascript()
            .arg(cmd)
            .arg(dir.path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "script {} is a directory",
                dir.path().display()
            )));
        keascript()
            .arg(cmd)
            .arg(dir.path().join("missing.rhai"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("missing.rhai not found"));
    }
}
