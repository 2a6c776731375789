//! `keascript lab`: a local Kea lab that stays up until Ctrl-C.

use clap::Args;

use crate::lab::{HaMode, Lab, LabOptions};

#[derive(Debug, Args)]
pub struct LabArgs {
    /// Also load this many extra IPv4 subnets (a big configuration to experiment with)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub extra_subnets: usize,

    /// Start a real HA pair (server1 and server2) in this mode
    #[arg(long, value_name = "MODE", value_parser = parse_ha)]
    pub ha: Option<HaMode>,
}

fn parse_ha(s: &str) -> Result<HaMode, String> {
    HaMode::parse(s)
        .ok_or_else(|| format!("\"{s}\" is not an HA mode: use hot-standby or load-balancing"))
}

pub fn lab(runtime: &tokio::runtime::Runtime, args: LabArgs) -> u8 {
    let options = LabOptions {
        extra_subnets4: args.extra_subnets,
        ha: args.ha,
        ..Default::default()
    };
    let what = match options.ha {
        Some(mode) => format!(
            "starting a Kea HA pair ({}) and waiting for it to settle…",
            mode.as_str()
        ),
        None => "starting the Kea lab…".to_string(),
    };
    let progress = crate::term::Progress::spinner(&what);
    let started = runtime.block_on(Lab::start(options));
    progress.finish();
    let lab = match started {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    match lab.ha_mode() {
        Some(mode) => println!(
            "Kea lab is up: an HA pair in {} mode, Kea {}",
            mode.as_str(),
            lab.version
        ),
        None => println!("Kea lab is up: Kea {}", lab.version),
    }
    println!("  directory      {}", lab.dir().display());
    for (i, node) in lab.nodes().iter().enumerate() {
        let who = if lab.nodes().len() > 1 {
            format!("{}: ", node.name)
        } else {
            String::new()
        };
        println!("  {who}Control Agent  {}", lab.url_of(i));
        println!(
            "  {who}dhcp4 socket   unix:{}",
            lab.socket_of(i, "dhcp4").display()
        );
        println!(
            "  {who}dhcp6 socket   unix:{}",
            lab.socket_of(i, "dhcp6").display()
        );
    }
    println!("  inventory      {}", lab.inventory().display());
    println!();
    println!("Use it from another shell:");
    println!("  export KEASCRIPT_CONFIG={}", lab.inventory().display());
    println!("  keascript run scripts/tour.rhai");
    let first = &lab.nodes()[0].name;
    println!(
        "(`kea()` is {first} through its Control Agent; `kea(\"{first}-unix\")` uses its UNIX sockets.)"
    );
    println!();
    println!("Press Ctrl-C to stop the lab.");
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
    eprintln!("stopping the lab");
    drop(lab);
    0
}
