//! Every plugin library exports the same entry points (`export_plugin!`: abi_stable's
//! root-module symbol, the samples extension) for the host to find by name when it
//! loads it. A fuzz target that links two plugins as rlibs holds two copies, which the
//! targets never call; let the linker keep the first instead of failing.

fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,--allow-multiple-definition");
}
