//! `keascript lab`: a local Kea lab that stays up until Ctrl-C.

use clap::Args;

use crate::lab::{Lab, LabOptions};

#[derive(Debug, Args)]
pub struct LabArgs {
    /// Also load this many extra IPv4 subnets (a big configuration to experiment with)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub extra_subnets: usize,
}

pub fn lab(runtime: &tokio::runtime::Runtime, args: LabArgs) -> u8 {
    let options = LabOptions {
        extra_subnets4: args.extra_subnets,
        ..Default::default()
    };
    let lab = match runtime.block_on(Lab::start(options)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    println!("Kea lab is up: Kea {}", lab.version);
    println!("  directory      {}", lab.dir().display());
    println!("  Control Agent  {}", lab.url());
    println!("  dhcp4 socket   unix:{}", lab.socket("dhcp4").display());
    println!("  dhcp6 socket   unix:{}", lab.socket("dhcp6").display());
    println!("  inventory      {}", lab.inventory().display());
    println!();
    println!("Use it from another shell:");
    println!("  export KEASCRIPT_CONFIG={}", lab.inventory().display());
    println!("  keascript run scripts/tour.rhai");
    println!(
        "(`kea()` is the lab through its Control Agent; `kea(\"lab-unix\")` uses the UNIX sockets.)"
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
