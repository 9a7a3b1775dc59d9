//! Finds libtargetrt with pkg-config (honouring PKG_CONFIG_PATH, so either
//! an installed libtargetrt.pc or a libtargetrt-uninstalled.pc of a build
//! tree) and links it.

fn main() {
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    if let Err(e) = pkg_config::Config::new()
        .atleast_version("0.1.0")
        .probe("libtargetrt")
    {
        eprintln!("tasktrace: libtargetrt not found by pkg-config: {}", e);
        eprintln!("tasktrace: install libtargetrt or set PKG_CONFIG_PATH to the directory of its .pc file");
        std::process::exit(1);
    }
}
