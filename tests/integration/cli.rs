//! The command line itself: usage errors, help, the inventory lookup order.

use predicates::prelude::*;

use crate::support::{keascript, script};

#[test]
fn usage_errors_exit_2() {
    keascript().arg("frobnicate").assert().code(2);
    keascript().args(["run"]).assert().code(2);
    keascript()
        .args(["run", "--no-such-flag", "x.rhai"])
        .assert()
        .code(2);
    keascript()
        .args(["run", "/nonexistent/script.rhai"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/script.rhai"));
    keascript()
        .args(["run", "--timeout", "soon", "x.rhai"])
        .assert()
        .code(2);
}

#[test]
fn help_lists_the_commands() {
    keascript()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("run"))
        .stdout(predicate::str::contains("lab"));
    keascript()
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--lab"))
        .stdout(predicate::str::contains("--timeout"));
}

#[test]
fn inventory_comes_from_config_then_the_environment_then_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.toml");
    let b = dir.path().join("b.toml");
    std::fs::write(&a, "[servers.alpha]\nurl = \"http://127.0.0.1:1\"\n").unwrap();
    std::fs::write(&b, "[servers.beta]\nurl = \"http://127.0.0.1:2\"\n").unwrap();
    let s = script(
        dir.path(),
        "who.rhai",
        "print(`${kea().name} ${kea().url}`);\n",
    );
    keascript()
        .arg("--config")
        .arg(&a)
        .env("KEASCRIPT_CONFIG", &b)
        .arg("run")
        .arg(&s)
        .assert()
        .success()
        .stdout(predicate::str::contains("alpha http://127.0.0.1:1/"));
    keascript()
        .env("KEASCRIPT_CONFIG", &b)
        .arg("run")
        .arg(&s)
        .assert()
        .success()
        .stdout(predicate::str::contains("beta http://127.0.0.1:2/"));
    // No file anywhere: the Control Agent on localhost:8000.
    keascript()
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .arg("run")
        .arg(&s)
        .assert()
        .success()
        .stdout(predicate::str::contains("default http://127.0.0.1:8000/"));
    // --server picks another inventory entry; an unknown one is a usage error.
    let both = dir.path().join("both.toml");
    std::fs::write(
        &both,
        "default = \"alpha\"\n[servers.alpha]\nurl = \"http://127.0.0.1:1\"\n[servers.beta]\nurl = \"http://127.0.0.1:2\"\n",
    )
    .unwrap();
    keascript()
        .arg("--config")
        .arg(&both)
        .args(["run", "--server", "beta"])
        .arg(&s)
        .assert()
        .success()
        .stdout(predicate::str::contains("beta"));
    keascript()
        .arg("--config")
        .arg(&both)
        .args(["run", "--server", "gamma"])
        .arg(&s)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gamma"));
    // A broken inventory names the file and the problem.
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[servers.x]\nurl = 5\n").unwrap();
    keascript()
        .arg("--config")
        .arg(&broken)
        .arg("run")
        .arg(&s)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.toml"));
}

#[test]
fn exit_n_ends_the_run_with_status_n_and_a_dash_reads_the_script_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let s = crate::support::script(
        dir.path(),
        "e.rhai",
        "print(\"a\");\nexit(3);\nprint(\"b\");\n",
    );
    keascript()
        .args(["run"])
        .arg(&s)
        .assert()
        .code(3)
        .stdout("a\n");
    let s = crate::support::script(
        dir.path(),
        "f.rhai",
        "fn f() { exit(4); }\nf();\nprint(\"b\");\n",
    );
    keascript().arg("run").arg(&s).assert().code(4).stdout("");
    let s = crate::support::script(dir.path(), "g.rhai", "exit(256);\n");
    keascript()
        .arg("run")
        .arg(&s)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("0 to 255"));
    keascript()
        .args(["run", "-", "--", "x"])
        .write_stdin("print(`args ${args}`);\nexit(2);\n")
        .assert()
        .code(2)
        .stdout("args [\"x\"]\n");
    keascript()
        .args(["run", "-"])
        .write_stdin("let x = ;\n")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("stdin:1:"));
}
